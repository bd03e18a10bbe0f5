/* Await-based synchronisation between tasks of one core: mutex,
 * semaphore, event, condition.  All waits are FIFO and are await points:
 * they return 0 or -ECANCELED.  When a wakeup and a cancellation race,
 * the wakeup wins (the lock/permit is never lost) and the cancellation
 * is delivered at the next await.  None of them may be shared across
 * cores.  All are plain structs: initialise, use, no destroy needed once
 * no task waits on them.
 */
#ifndef TERN_SYNC_H
#define TERN_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tn_task;

/* A waiting task, on its own stack while it waits. */
struct tn_waiter {
	struct tn_waiter *next, *prev;
	struct tn_task *task;
	intptr_t data;  /* item handed over (queues) */
	int status;     /* 1 while waiting; 0 or -errno once woken */
};

/* FIFO of waiting tasks; the building block of every primitive here. */
struct tn_waitq {
	struct tn_waiter *head, *tail;
};

struct tn_mutex {
	struct tn_waitq waiters;
	struct tn_task *owner;
	bool locked;
};

struct tn_sem {
	struct tn_waitq waiters;
	unsigned long count;
};

struct tn_event {
	struct tn_waitq waiters;
	bool set;
};

struct tn_cond {
	struct tn_waitq waiters;
};

void tn_mutex_init(struct tn_mutex *m);
int tn_mutex_lock(struct tn_mutex *m);
/* 0, or -EBUSY if it is held. */
int tn_mutex_trylock(struct tn_mutex *m);
/* Hands the lock to the first waiter, if any.  Unlocking a mutex the
 * current task does not hold asserts. */
void tn_mutex_unlock(struct tn_mutex *m);

void tn_sem_init(struct tn_sem *s, unsigned long count);
int tn_sem_acquire(struct tn_sem *s);
int tn_sem_tryacquire(struct tn_sem *s);
void tn_sem_release(struct tn_sem *s);

void tn_event_init(struct tn_event *e);
/* Wakes every waiter; later waits return at once until cleared. */
void tn_event_set(struct tn_event *e);
void tn_event_clear(struct tn_event *e);
bool tn_event_is_set(const struct tn_event *e);
int tn_event_wait(struct tn_event *e);

void tn_cond_init(struct tn_cond *c);
/* Releases m (which the task must hold), waits for a notify, re-acquires
 * m before returning, also when it returns -ECANCELED. */
int tn_cond_wait(struct tn_cond *c, struct tn_mutex *m);
void tn_cond_notify(struct tn_cond *c, unsigned n);
void tn_cond_notify_all(struct tn_cond *c);

/* Internal-grade building blocks, public for other modules (stack/):
 * wait on q until woken (returns the waker's status) or cancelled. */
void tn_waitq_init(struct tn_waitq *q);
bool tn_waitq_empty(const struct tn_waitq *q);
int tn_waitq_wait(struct tn_waitq *q, struct tn_waiter *w);
/* Wakes the first waiter with status (0 or -errno) and data; returns it
 * or NULL if none waits. */
struct tn_waiter *tn_waitq_wake_one(struct tn_waitq *q, int status, intptr_t data);
/* Wakes all waiters with status; returns how many. */
unsigned tn_waitq_wake_all(struct tn_waitq *q, int status);

#ifdef __cplusplus
}
#endif
#endif
