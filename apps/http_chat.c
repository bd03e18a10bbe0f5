/* /ws/chat across cores: a line a core's member sends reaches the
 * members of every other core through the dataplane's cross-core calls
 * (tn_submit_to).
 *
 * The sender's core copies the line once (struct chat_line) and submits
 * one call per other core with the copy as the argument; the call runs
 * as a task on the target core and queues the line on that core's
 * members (http_ws_chat_deliver; wslay copies it into each member's
 * queue, so the call keeps nothing).  The copy stays the sender core's:
 * only it allocates, counts the replies and frees it when the last one
 * is back (a then-callback on its own future), so no reference count is
 * shared between cores and nothing needs an atomic or a lock.  The
 * target only reads the copy, between the ring's enqueue (which
 * publishes it) and its reply.
 *
 * Why malloc: a line's length is up to --max-body, and queueing it on a
 * member already costs wslay a malloc per member; one more per line, on
 * the sender's core, is no new kind of cost.  A line that cannot be
 * copied is counted (ws_xcore_lost) and heard on its own core only.
 *
 * Order: the calls from one core to another travel in one SPSC ring,
 * are started in ring order as tasks on the target, and the ready queue
 * is FIFO; the call never awaits, so lines from one sender reach the
 * target's members in the order they were sent.  A full ring is not a
 * loss: http_ws.c's reader hands the line on (line_send again) before it
 * reads the member's next one, so a sender faster than the rings drain
 * is slowed down, and order holds.
 *
 * Known limit: a call still in a ring when the process stops may never
 * be answered; its copy is then reported by the scheduler's leak check. */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tern/coro.h>
#include <tern/dataplane.h>

struct chat_line {
	unsigned refs;  /* the sender's, plus one per call not yet answered */
	unsigned next;  /* the next core to hand it to */
	int opcode;
	size_t len;
	uint8_t data[];
};

/* Each core's room, written by that core (http_chat_join) and read only
 * by it (chat_remote runs there). */
static struct http_server *rooms[TN_MAX_CORES];

static void line_put(void *p)
{
	struct chat_line *l = p;

	if (--l->refs == 0)
		free(l);
}

static void *line_new(int opcode, const void *msg, size_t len)
{
	struct chat_line *l = malloc(sizeof(*l) + len);

	if (!l)
		return NULL;
	l->refs = 1;
	l->next = 0;
	l->opcode = opcode;
	l->len = len;
	if (len)
		memcpy(l->data, msg, len);
	return l;
}

/* On the target core. */
static intptr_t chat_remote(void *arg)
{
	const struct chat_line *l = arg;
	struct http_server *srv = rooms[tn_core_id(tn_core_self())];

	if (srv)
		http_ws_chat_deliver(srv, l->opcode, l->data, l->len);
	return 0;
}

/* Back on the sender's core: that core's call is done with the copy. */
static void chat_replied(void *arg, int err, intptr_t value)
{
	(void)err;
	(void)value;
	line_put(arg);
}

static int line_send(void *p)
{
	struct chat_line *l = p;
	unsigned self = tn_core_id(tn_core_self()), n = tn_core_count();

	for (; l->next < n; l->next++) {
		struct tn_future *f;

		if (l->next == self)
			continue;
		if (!(f = tn_submit_to(l->next, chat_remote, l)))
			return -errno; /* -ENOBUFS: the ring is full, again later */
		l->refs++;
		tn_future_then(f, chat_replied, l);
	}
	return 0;
}

static const struct http_chat_ops xcore_ops = {
	.line_new = line_new,
	.line_send = line_send,
	.line_put = line_put,
};

void http_chat_join(struct http_server *srv)
{
	rooms[tn_core_id(tn_core_self())] = srv;
	if (tn_core_count() > 1)
		srv->chat_out = &xcore_ops;
}
