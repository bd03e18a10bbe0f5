/* Shutdown support for loops that run the scheduler's phases themselves
 * (the dataplane): cancel every live task, as tn_run does at its end. */
#include "tn_internal.h"

void tn_sched_cancel_all(struct tn_sched *s)
{
	tn__check_owner(s);
	tn__task_cancel_all(s);
}
