/* Mutex, semaphore, event and condition: FIFO order, handoff, every wait
 * point's cancellation, and the grant-versus-cancel race. */
#include "tn_test.h"

#include <errno.h>

/* Lets every ready task run until it blocks (each yield puts the caller
 * behind all of them). */
static void run_others(void)
{
	for (int i = 0; i < 8; i++)
		assert_int_equal(tn_yield(), 0);
}

static struct tn_task *spawn(tn_task_fn fn, void *arg)
{
	struct tn_task *t = tn_task_spawn(fn, arg);

	assert_non_null(t);
	return t;
}

static intptr_t join(struct tn_task *t)
{
	intptr_t v = -1;

	assert_int_equal(tn_await(tn_task_join(t), &v), 0);
	return v;
}

static intptr_t run(tn_task_fn fn)
{
	intptr_t v = -1;

	assert_int_equal(tn_test_run(fn, NULL, &v), 0);
	return v;
}

/* ---- shared worker state ---- */

struct worker {
	int id;
	int err;          /* what the wait returned */
	int next_err;     /* what the following await returned */
	bool done;
	bool owned;       /* held the mutex when the wait returned 0 */
	int *order;       /* append id here when granted */
	int *norder;
};

static struct tn_mutex g_m;
static struct tn_sem g_s;
static struct tn_event g_e;
static struct tn_cond g_c;

static void record(struct worker *w)
{
	if (w->order)
		w->order[(*w->norder)++] = w->id;
}

/* ---- mutex ---- */

static intptr_t mutex_basic_main(void *arg)
{
	tn_mutex_init(&g_m);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	assert_true(g_m.locked);
	assert_ptr_equal(g_m.owner, tn_task_current());
	assert_int_equal(tn_mutex_trylock(&g_m), -EBUSY);
	tn_mutex_unlock(&g_m);
	assert_false(g_m.locked);
	assert_null(g_m.owner);
	assert_int_equal(tn_mutex_trylock(&g_m), 0);
	assert_ptr_equal(g_m.owner, tn_task_current());
	tn_mutex_unlock(&g_m);
	return 7;
}

static void test_mutex_basic(void **state)
{
	assert_int_equal(run(mutex_basic_main), 7);
	/* Outside a task there is nobody to park. */
	tn_mutex_init(&g_m);
	assert_int_equal(tn_mutex_lock(&g_m), -EPERM);
	assert_false(g_m.locked);
}

static intptr_t mutex_worker(void *arg)
{
	struct worker *w = arg;

	w->err = tn_mutex_lock(&g_m);
	if (w->err == 0) {
		w->owned = g_m.owner == tn_task_current();
		record(w);
		/* Hold it across an await: nobody may barge in meanwhile. */
		w->next_err = tn_yield();
		tn_mutex_unlock(&g_m);
	}
	w->done = true;
	return 0;
}

static intptr_t mutex_fifo_main(void *arg)
{
	int order[4], n = 0;
	struct worker w[4] = {0};
	struct tn_task *t[4];

	tn_mutex_init(&g_m);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct worker){.id = i, .order = order, .norder = &n};
		t[i] = spawn(mutex_worker, &w[i]);
	}
	run_others();
	assert_int_equal(n, 0);
	tn_mutex_unlock(&g_m);
	/* Handed over, not released: a late task queues behind the rest. */
	assert_true(g_m.locked);
	assert_ptr_equal(g_m.owner, t[0]);
	assert_int_equal(tn_mutex_trylock(&g_m), -EBUSY);
	w[3] = (struct worker){.id = 3, .order = order, .norder = &n};
	t[3] = spawn(mutex_worker, &w[3]);
	for (int i = 0; i < 4; i++) {
		join(t[i]);
		assert_int_equal(w[i].err, 0);
		assert_int_equal(w[i].next_err, 0);
		assert_true(w[i].owned);
		assert_int_equal(order[i], i);
	}
	assert_int_equal(n, 4);
	assert_false(g_m.locked);
	assert_true(tn_waitq_empty(&g_m.waiters));
	return 0;
}

static void test_mutex_fifo_handoff(void **state)
{
	run(mutex_fifo_main);
}

static intptr_t mutex_cancel_main(void *arg)
{
	struct worker a = {.id = 1}, b = {.id = 2};
	struct tn_task *ta, *tb;

	tn_mutex_init(&g_m);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	ta = spawn(mutex_worker, &a);
	tb = spawn(mutex_worker, &b);
	run_others();
	assert_int_equal(tn_task_cancel(ta), 0);
	run_others();
	assert_true(a.done);
	assert_int_equal(a.err, -ECANCELED);
	/* Only b is left waiting and the lock is still ours. */
	assert_ptr_equal(g_m.waiters.head, g_m.waiters.tail);
	assert_ptr_equal(g_m.waiters.head->task, tb);
	assert_ptr_equal(g_m.owner, tn_task_current());
	tn_mutex_unlock(&g_m);
	join(ta);
	join(tb);
	assert_int_equal(b.err, 0);
	assert_true(b.owned);
	assert_false(g_m.locked);
	return 0;
}

static void test_mutex_cancel_waiting(void **state)
{
	run(mutex_cancel_main);
}

static intptr_t mutex_race_main(void *arg)
{
	struct worker a = {.id = 1};
	struct tn_task *ta;

	tn_mutex_init(&g_m);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	ta = spawn(mutex_worker, &a);
	run_others();
	/* Grant and cancel both land before a runs: the grant wins. */
	tn_mutex_unlock(&g_m);
	assert_int_equal(tn_task_cancel(ta), 0);
	join(ta);
	assert_int_equal(a.err, 0);
	assert_true(a.owned);
	assert_int_equal(a.next_err, -ECANCELED);
	assert_false(g_m.locked);
	return 0;
}

static void test_mutex_grant_beats_cancel(void **state)
{
	run(mutex_race_main);
}

static intptr_t self_cancel_lock(void *arg)
{
	tn_task_cancel(tn_task_current());
	return tn_mutex_lock(&g_m);
}

static intptr_t mutex_entry_cancel_main(void *arg)
{
	tn_mutex_init(&g_m);
	/* Cancellation is checked at entry even when the lock is free. */
	assert_int_equal(tn_await(tn_task_join(spawn(self_cancel_lock, NULL)), NULL),
			 -ECANCELED);
	assert_false(g_m.locked);
	return 0;
}

static void test_mutex_cancel_at_entry(void **state)
{
	run(mutex_entry_cancel_main);
}

static intptr_t mutex_spurious_main(void *arg)
{
	struct worker a = {.id = 1};
	struct tn_task *ta;

	tn_mutex_init(&g_m);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	ta = spawn(mutex_worker, &a);
	run_others();
	tn_task_resume(ta);
	run_others();
	assert_false(a.done);
	assert_ptr_equal(g_m.waiters.head->task, ta);
	tn_mutex_unlock(&g_m);
	join(ta);
	assert_int_equal(a.err, 0);
	assert_true(a.owned);
	return 0;
}

static void test_mutex_spurious_resume(void **state)
{
	run(mutex_spurious_main);
}

/* ---- misuse ---- */

static void unlock_unlocked(void)
{
	tn_mutex_init(&g_m);
	tn_mutex_unlock(&g_m);
}

static intptr_t lock_and_leave(void *arg)
{
	return tn_mutex_lock(&g_m);
}

static intptr_t unlock_foreign_main(void *arg)
{
	tn_mutex_init(&g_m);
	join(spawn(lock_and_leave, NULL));
	tn_mutex_unlock(&g_m); /* held by the finished task, not us */
	return 0;
}

static void unlock_foreign(void)
{
	run(unlock_foreign_main);
}

static intptr_t cond_unheld_main(void *arg)
{
	tn_mutex_init(&g_m);
	tn_cond_init(&g_c);
	tn_cond_wait(&g_c, &g_m);
	return 0;
}

static void cond_unheld(void)
{
	run(cond_unheld_main);
}

static void test_misuse_aborts(void **state)
{
	tn_test_expect_abort(unlock_unlocked);
	tn_test_expect_abort(unlock_foreign);
	tn_test_expect_abort(cond_unheld);
}

/* ---- semaphore ---- */

static intptr_t sem_basic_main(void *arg)
{
	tn_sem_init(&g_s, 2);
	assert_int_equal(tn_sem_acquire(&g_s), 0);
	assert_int_equal(tn_sem_tryacquire(&g_s), 0);
	assert_int_equal(tn_sem_tryacquire(&g_s), -EAGAIN);
	tn_sem_release(&g_s);
	assert_int_equal(g_s.count, 1);
	assert_int_equal(tn_sem_acquire(&g_s), 0);
	tn_sem_release(&g_s);
	tn_sem_release(&g_s);
	assert_int_equal(g_s.count, 2);
	return 0;
}

static void test_sem_basic(void **state)
{
	run(sem_basic_main);
	tn_sem_init(&g_s, 0);
	assert_int_equal(tn_sem_acquire(&g_s), -EPERM);
}

static intptr_t sem_worker(void *arg)
{
	struct worker *w = arg;

	w->err = tn_sem_acquire(&g_s);
	if (w->err == 0) {
		record(w);
		w->next_err = tn_yield();
	}
	w->done = true;
	return 0;
}

static intptr_t sem_fifo_main(void *arg)
{
	int order[3], n = 0;
	struct worker w[3];
	struct tn_task *t[3];

	tn_sem_init(&g_s, 0);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct worker){.id = i, .order = order, .norder = &n};
		t[i] = spawn(sem_worker, &w[i]);
	}
	run_others();
	assert_int_equal(n, 0);
	for (int i = 0; i < 3; i++) {
		tn_sem_release(&g_s);
		/* Handed to the waiter, not counted: nobody can steal it. */
		assert_int_equal(g_s.count, 0);
		assert_int_equal(tn_sem_tryacquire(&g_s), -EAGAIN);
		run_others();
		assert_int_equal(n, i + 1);
		assert_int_equal(order[i], i);
	}
	for (int i = 0; i < 3; i++) {
		join(t[i]);
		assert_int_equal(w[i].err, 0);
	}
	return 0;
}

static void test_sem_fifo_handoff(void **state)
{
	run(sem_fifo_main);
}

static intptr_t sem_cancel_main(void *arg)
{
	struct worker a = {.id = 1}, b = {.id = 2};
	struct tn_task *ta, *tb;

	tn_sem_init(&g_s, 0);
	ta = spawn(sem_worker, &a);
	tb = spawn(sem_worker, &b);
	run_others();
	tn_task_cancel(ta);
	run_others();
	assert_int_equal(a.err, -ECANCELED);
	assert_ptr_equal(g_s.waiters.head, g_s.waiters.tail);
	tn_sem_release(&g_s);
	join(ta);
	join(tb);
	assert_int_equal(b.err, 0);
	assert_int_equal(g_s.count, 0);
	assert_true(tn_waitq_empty(&g_s.waiters));
	return 0;
}

static void test_sem_cancel_waiting(void **state)
{
	run(sem_cancel_main);
}

static intptr_t sem_race_main(void *arg)
{
	struct worker a = {.id = 1};
	struct tn_task *ta;

	tn_sem_init(&g_s, 0);
	ta = spawn(sem_worker, &a);
	run_others();
	tn_sem_release(&g_s);
	tn_task_cancel(ta);
	join(ta);
	/* The permit reached a; the cancellation its next await. */
	assert_int_equal(a.err, 0);
	assert_int_equal(a.next_err, -ECANCELED);
	assert_int_equal(g_s.count, 0);
	return 0;
}

static void test_sem_grant_beats_cancel(void **state)
{
	run(sem_race_main);
}

/* ---- event ---- */

static intptr_t event_worker(void *arg)
{
	struct worker *w = arg;

	w->err = tn_event_wait(&g_e);
	if (w->err == 0) {
		record(w);
		w->next_err = tn_yield();
	}
	w->done = true;
	return 0;
}

static intptr_t event_main(void *arg)
{
	int order[3], n = 0;
	struct worker w[3];
	struct tn_task *t[3];

	tn_event_init(&g_e);
	assert_false(tn_event_is_set(&g_e));
	for (int i = 0; i < 3; i++) {
		w[i] = (struct worker){.id = i, .order = order, .norder = &n};
		t[i] = spawn(event_worker, &w[i]);
	}
	run_others();
	assert_int_equal(n, 0);
	tn_event_set(&g_e);
	assert_true(tn_waitq_empty(&g_e.waiters));
	/* Cleared before they run: woken waiters still return 0. */
	tn_event_clear(&g_e);
	assert_false(tn_event_is_set(&g_e));
	run_others();
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		join(t[i]);
		assert_int_equal(w[i].err, 0);
		assert_int_equal(order[i], i);
	}
	/* While set, waits return at once. */
	tn_event_set(&g_e);
	assert_int_equal(tn_event_wait(&g_e), 0);
	assert_int_equal(tn_event_wait(&g_e), 0);
	return 0;
}

static void test_event_wakes_all(void **state)
{
	run(event_main);
	tn_event_init(&g_e);
	assert_int_equal(tn_event_wait(&g_e), -EPERM);
}

static intptr_t event_cancel_main(void *arg)
{
	struct worker a = {.id = 1}, b = {.id = 2};
	struct tn_task *ta, *tb;

	tn_event_init(&g_e);
	ta = spawn(event_worker, &a);
	tb = spawn(event_worker, &b);
	run_others();
	tn_task_cancel(ta);
	run_others();
	assert_true(a.done);
	assert_int_equal(a.err, -ECANCELED);
	assert_ptr_equal(g_e.waiters.head->task, tb);
	assert_null(g_e.waiters.head->next);
	/* Grant and cancel racing: b returns 0, its next await cancels. */
	tn_event_set(&g_e);
	tn_task_cancel(tb);
	join(ta);
	join(tb);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.next_err, -ECANCELED);
	return 0;
}

static void test_event_cancel(void **state)
{
	run(event_cancel_main);
}

/* ---- condition ---- */

static int g_ready;

static intptr_t cond_worker(void *arg)
{
	struct worker *w = arg;

	assert_int_equal(tn_mutex_lock(&g_m), 0);
	while (!g_ready) {
		w->err = tn_cond_wait(&g_c, &g_m);
		/* Held again on every return, also on -ECANCELED. */
		w->owned = g_m.owner == tn_task_current();
		if (w->err)
			break;
	}
	if (w->err == 0) {
		record(w);
		g_ready--;
		w->next_err = tn_yield();
	}
	tn_mutex_unlock(&g_m);
	w->done = true;
	return 0;
}

static intptr_t cond_notify_main(void *arg)
{
	int order[3], n = 0;
	struct worker w[3];
	struct tn_task *t[3];

	tn_mutex_init(&g_m);
	tn_cond_init(&g_c);
	g_ready = 0;
	for (int i = 0; i < 3; i++) {
		w[i] = (struct worker){.id = i, .order = order, .norder = &n};
		t[i] = spawn(cond_worker, &w[i]);
	}
	run_others();
	assert_false(g_m.locked);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	g_ready = 2;
	tn_cond_notify(&g_c, 2);
	run_others();
	/* They wait for the mutex we hold. */
	assert_int_equal(n, 0);
	tn_mutex_unlock(&g_m);
	run_others();
	assert_int_equal(n, 2);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_false(w[2].done);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	g_ready = 1;
	tn_cond_notify_all(&g_c);
	tn_cond_notify(&g_c, 5); /* nobody left: no-op */
	tn_mutex_unlock(&g_m);
	for (int i = 0; i < 3; i++) {
		join(t[i]);
		assert_int_equal(w[i].err, 0);
		assert_true(w[i].owned);
	}
	assert_int_equal(order[2], 2);
	assert_false(g_m.locked);
	return 0;
}

static void test_cond_notify_fifo(void **state)
{
	run(cond_notify_main);
}

static intptr_t cond_cancel_main(void *arg)
{
	struct worker a = {.id = 1};
	struct tn_task *ta;

	tn_mutex_init(&g_m);
	tn_cond_init(&g_c);
	g_ready = 0;
	ta = spawn(cond_worker, &a);
	run_others();
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	tn_task_cancel(ta);
	run_others();
	/* Cancelled, but it cannot return before it holds the mutex. */
	assert_false(a.done);
	assert_true(tn_waitq_empty(&g_c.waiters));
	tn_mutex_unlock(&g_m);
	join(ta);
	assert_int_equal(a.err, -ECANCELED);
	assert_true(a.owned);
	assert_false(g_m.locked);
	return 0;
}

static void test_cond_cancel_reacquires(void **state)
{
	run(cond_cancel_main);
}

static intptr_t cond_relock_cancel_main(void *arg)
{
	struct worker a = {.id = 1};
	struct tn_task *ta;

	tn_mutex_init(&g_m);
	tn_cond_init(&g_c);
	g_ready = 0;
	ta = spawn(cond_worker, &a);
	run_others();
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	g_ready = 1;
	tn_cond_notify(&g_c, 1);
	run_others();
	/* Notified, now waiting for the mutex: a cancellation there does
	 * not interrupt the re-acquire and stays pending. */
	tn_task_cancel(ta);
	run_others();
	assert_false(a.done);
	tn_mutex_unlock(&g_m);
	join(ta);
	assert_int_equal(a.err, 0);
	assert_true(a.owned);
	assert_int_equal(a.next_err, -ECANCELED);
	assert_false(g_m.locked);
	return 0;
}

static void test_cond_cancel_while_relocking(void **state)
{
	run(cond_relock_cancel_main);
}

static intptr_t cond_race_main(void *arg)
{
	struct worker a = {.id = 1};
	struct tn_task *ta;

	tn_mutex_init(&g_m);
	tn_cond_init(&g_c);
	g_ready = 0;
	ta = spawn(cond_worker, &a);
	run_others();
	g_ready = 1;
	tn_cond_notify(&g_c, 1);
	tn_task_cancel(ta);
	join(ta);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.next_err, -ECANCELED);
	return 0;
}

static void test_cond_notify_beats_cancel(void **state)
{
	run(cond_race_main);
}

static intptr_t cond_entry_cancel_main(void *arg)
{
	tn_mutex_init(&g_m);
	tn_cond_init(&g_c);
	assert_int_equal(tn_mutex_lock(&g_m), 0);
	tn_task_cancel(tn_task_current());
	assert_int_equal(tn_cond_wait(&g_c, &g_m), -ECANCELED);
	assert_ptr_equal(g_m.owner, tn_task_current());
	assert_true(tn_waitq_empty(&g_c.waiters));
	tn_mutex_unlock(&g_m);
	return 0;
}

static void test_cond_cancel_at_entry(void **state)
{
	run(cond_entry_cancel_main);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tn_test_setup, tn_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mutex_basic),
		T(test_mutex_fifo_handoff),
		T(test_mutex_cancel_waiting),
		T(test_mutex_grant_beats_cancel),
		T(test_mutex_cancel_at_entry),
		T(test_mutex_spurious_resume),
		T(test_misuse_aborts),
		T(test_sem_basic),
		T(test_sem_fifo_handoff),
		T(test_sem_cancel_waiting),
		T(test_sem_grant_beats_cancel),
		T(test_event_wakes_all),
		T(test_event_cancel),
		T(test_cond_notify_fifo),
		T(test_cond_cancel_reacquires),
		T(test_cond_cancel_while_relocking),
		T(test_cond_notify_beats_cancel),
		T(test_cond_cancel_at_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
