/* Event (asyncio.Event): set wakes every waiter; waits return at once
 * while it stays set.  A waiter woken by set returns 0 even if the event
 * is cleared before it runs, as in asyncio. */
#include <errno.h>

#include "tn_internal.h"

void tn_event_init(struct tn_event *e)
{
	tn_waitq_init(&e->waiters);
	e->set = false;
}

void tn_event_set(struct tn_event *e)
{
	e->set = true;
	tn_waitq_wake_all(&e->waiters, 0);
}

void tn_event_clear(struct tn_event *e)
{
	e->set = false;
}

bool tn_event_is_set(const struct tn_event *e)
{
	return e->set;
}

int tn_event_wait(struct tn_event *e)
{
	struct tn_task *t;
	struct tn_waiter w;
	int err;

	if ((err = tn__await_enter(&t)))
		return err;
	if (e->set)
		return 0;
	return tn_waitq_wait(&e->waiters, &w);
}
