/* Pollers: functions the loop calls every turn (the dataplane's RX). */
#include <errno.h>

#include "tn_internal.h"

int tn_poller_register(struct tn_sched *s, tn_poll_fn fn, void *arg)
{
	unsigned i;

	tn__check_owner(s);
	for (i = 0; i < TN_MAX_POLLERS; i++) {
		if (!s->pollers[i].fn) {
			s->pollers[i].fn = fn;
			s->pollers[i].arg = arg;
			if (i >= s->npollers)
				s->npollers = i + 1;
			return (int)i;
		}
	}
	return -ENOSPC;
}

int tn_poller_unregister(struct tn_sched *s, int id)
{
	tn__check_owner(s);
	if (id < 0 || id >= TN_MAX_POLLERS || !s->pollers[id].fn)
		return -ENOENT;
	s->pollers[id].fn = NULL;
	while (s->npollers && !s->pollers[s->npollers - 1].fn)
		s->npollers--;
	return 0;
}

bool tn_sched_run_pollers(struct tn_sched *s)
{
	bool did = false;
	unsigned i;

	for (i = 0; i < s->npollers; i++)
		if (s->pollers[i].fn)
			did |= s->pollers[i].fn(s->pollers[i].arg);
	return did;
}
