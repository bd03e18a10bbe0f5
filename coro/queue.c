/* Bounded FIFO channel of intptr_t (asyncio.Queue with maxsize).
 *
 * Items move directly between tasks whenever possible: a put hands its
 * item to the first waiting getter, and a get that frees a slot pulls the
 * first waiting putter's item into the ring at once.  So getters wait
 * only while the ring is empty and no putter waits, putters only while
 * the ring is full and no getter waits, and FIFO order holds across the
 * ring and the waiting putters.  With capacity 0 the ring is never used
 * and every put is a rendezvous with a get. */
#include <errno.h>
#include <stdlib.h>

#include "tn_internal.h"

int tn_queue_init(struct tn_queue *q, size_t capacity)
{
	tn_waitq_init(&q->getters);
	tn_waitq_init(&q->putters);
	q->items = NULL;
	q->cap = capacity;
	q->head = q->len = 0;
	q->closed = false;
	if (capacity == 0)
		return 0;
	if (capacity > SIZE_MAX / sizeof(*q->items))
		return -ENOMEM;
	q->items = malloc(capacity * sizeof(*q->items));
	return q->items ? 0 : -ENOMEM;
}

void tn_queue_fini(struct tn_queue *q)
{
	TN_ASSERT(tn_waitq_empty(&q->getters) && tn_waitq_empty(&q->putters),
		  "tn_queue_fini while tasks wait on the queue");
	free(q->items);
	q->items = NULL;
	q->len = 0;
}

static void ring_push(struct tn_queue *q, intptr_t item)
{
	size_t tail = q->head + q->len;

	if (tail >= q->cap)
		tail -= q->cap;
	q->items[tail] = item;
	q->len++;
}

static intptr_t ring_pop(struct tn_queue *q)
{
	intptr_t item = q->items[q->head];

	if (++q->head == q->cap)
		q->head = 0;
	q->len--;
	return item;
}

/* A put that needs no wait: 0, -EPIPE, or -EAGAIN when it would wait. */
static int put_now(struct tn_queue *q, intptr_t item)
{
	if (q->closed)
		return -EPIPE;
	if (tn_waitq_wake_one(&q->getters, 0, item))
		return 0;
	if (q->len < q->cap) {
		ring_push(q, item);
		return 0;
	}
	return -EAGAIN;
}

/* A get that needs no wait: 0, -EPIPE, or -EAGAIN when it would wait. */
static int get_now(struct tn_queue *q, intptr_t *item)
{
	struct tn_waiter *p = q->putters.head;

	if (q->len > 0) {
		*item = ring_pop(q);
		/* The freed slot goes to the first waiting putter. */
		if (p) {
			ring_push(q, p->data);
			tn_waitq_wake_one(&q->putters, 0, p->data);
		}
		return 0;
	}
	if (p) { /* capacity 0, or a full ring just drained by gets */
		*item = p->data;
		tn_waitq_wake_one(&q->putters, 0, p->data);
		return 0;
	}
	return q->closed ? -EPIPE : -EAGAIN;
}

int tn_queue_put(struct tn_queue *q, intptr_t item)
{
	struct tn_task *t;
	struct tn_waiter w;
	int err;

	if ((err = tn__await_enter(&t)))
		return err;
	if ((err = put_now(q, item)) != -EAGAIN)
		return err;
	/* A getter takes w.data and wakes us with 0; close wakes us with
	 * -EPIPE and the item stays ours. */
	w.data = item;
	return tn_waitq_wait(&q->putters, &w);
}

int tn_queue_get(struct tn_queue *q, intptr_t *item)
{
	struct tn_task *t;
	struct tn_waiter w;
	int err;

	if ((err = tn__await_enter(&t)))
		return err;
	if ((err = get_now(q, item)) != -EAGAIN)
		return err;
	w.data = 0;
	err = tn_waitq_wait(&q->getters, &w);
	if (err == 0)
		*item = w.data;
	return err;
}

int tn_queue_try_put(struct tn_queue *q, intptr_t item)
{
	return put_now(q, item);
}

int tn_queue_try_get(struct tn_queue *q, intptr_t *item)
{
	return get_now(q, item);
}

void tn_queue_close(struct tn_queue *q)
{
	q->closed = true;
	/* Getters wait only while the ring is empty, so none can drain. */
	tn_waitq_wake_all(&q->putters, -EPIPE);
	tn_waitq_wake_all(&q->getters, -EPIPE);
}

size_t tn_queue_len(const struct tn_queue *q)
{
	return q->len;
}
