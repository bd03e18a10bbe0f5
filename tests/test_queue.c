/* Bounded queue: FIFO order, direct handoff both ways, rendezvous at
 * capacity 0, close, and cancellation of waiting puts and gets. */
#include "tn_test.h"

#include <errno.h>

static struct tn_queue g_q;

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

static void join(struct tn_task *t)
{
	assert_int_equal(tn_await(tn_task_join(t), NULL), 0);
}

static void run(tn_task_fn fn)
{
	assert_int_equal(tn_test_run(fn, NULL, NULL), 0);
}

/* One put or get by a task, and the await after it. */
struct op {
	intptr_t item;
	int err;
	int next_err;
	bool done;
};

static intptr_t putter(void *arg)
{
	struct op *o = arg;

	o->err = tn_queue_put(&g_q, o->item);
	if (o->err == 0)
		o->next_err = tn_yield();
	o->done = true;
	return 0;
}

static intptr_t getter(void *arg)
{
	struct op *o = arg;

	o->item = -1;
	o->err = tn_queue_get(&g_q, &o->item);
	if (o->err == 0)
		o->next_err = tn_yield();
	o->done = true;
	return 0;
}

static void test_init_fini(void **state)
{
	assert_int_equal(tn_queue_init(&g_q, SIZE_MAX), -ENOMEM);
	tn_queue_fini(&g_q);
	assert_int_equal(tn_queue_init(&g_q, 0), 0);
	tn_queue_fini(&g_q);
	assert_int_equal(tn_queue_init(&g_q, 4), 0);
	assert_int_equal(tn_queue_len(&g_q), 0);
	/* Waits need a task; the non-blocking forms do not. */
	intptr_t v;
	assert_int_equal(tn_queue_put(&g_q, 1), -EPERM);
	assert_int_equal(tn_queue_get(&g_q, &v), -EPERM);
	assert_int_equal(tn_queue_try_put(&g_q, 1), 0);
	assert_int_equal(tn_queue_try_get(&g_q, &v), 0);
	assert_int_equal(v, 1);
	tn_queue_fini(&g_q);
}

static intptr_t fifo_main(void *arg)
{
	intptr_t v;

	assert_int_equal(tn_queue_init(&g_q, 3), 0);
	/* Several laps around the ring. */
	for (int lap = 0; lap < 4; lap++) {
		for (intptr_t i = 0; i < 3; i++)
			assert_int_equal(tn_queue_put(&g_q, lap * 10 + i), 0);
		assert_int_equal(tn_queue_len(&g_q), 3);
		assert_int_equal(tn_queue_try_put(&g_q, 99), -EAGAIN);
		assert_int_equal(tn_queue_get(&g_q, &v), 0);
		assert_int_equal(v, lap * 10);
		assert_int_equal(tn_queue_try_put(&g_q, lap * 10 + 3), 0);
		for (intptr_t i = 1; i < 4; i++) {
			assert_int_equal(tn_queue_try_get(&g_q, &v), 0);
			assert_int_equal(v, lap * 10 + i);
		}
		assert_int_equal(tn_queue_try_get(&g_q, &v), -EAGAIN);
	}
	tn_queue_fini(&g_q);
	return 0;
}

static void test_fifo_and_try(void **state)
{
	run(fifo_main);
}

static intptr_t putters_main(void *arg)
{
	struct op p[3] = {{.item = 10}, {.item = 20}, {.item = 30}};
	struct tn_task *t[3];
	intptr_t v;

	assert_int_equal(tn_queue_init(&g_q, 1), 0);
	assert_int_equal(tn_queue_put(&g_q, 1), 0);
	for (int i = 0; i < 3; i++)
		t[i] = spawn(putter, &p[i]);
	run_others();
	assert_false(p[0].done);
	/* A get refills the ring from the first waiting putter at once. */
	assert_int_equal(tn_queue_get(&g_q, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(tn_queue_len(&g_q), 1);
	assert_int_equal(g_q.putters.head->data, 20);
	/* A newcomer cannot slip ahead of the waiting putters. */
	assert_int_equal(tn_queue_try_put(&g_q, 77), -EAGAIN);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tn_queue_get(&g_q, &v), 0);
		assert_int_equal(v, p[i].item);
	}
	for (int i = 0; i < 3; i++) {
		join(t[i]);
		assert_int_equal(p[i].err, 0);
	}
	assert_int_equal(tn_queue_len(&g_q), 0);
	tn_queue_fini(&g_q);
	return 0;
}

static void test_put_waits_fifo(void **state)
{
	run(putters_main);
}

static intptr_t getters_main(void *arg)
{
	struct op g[3];
	struct tn_task *t[3];

	assert_int_equal(tn_queue_init(&g_q, 2), 0);
	for (int i = 0; i < 3; i++) {
		g[i] = (struct op){0};
		t[i] = spawn(getter, &g[i]);
	}
	run_others();
	assert_false(g[0].done);
	for (intptr_t i = 0; i < 3; i++) {
		/* Handed straight to the first getter: the ring stays empty. */
		assert_int_equal(tn_queue_put(&g_q, 100 + i), 0);
		assert_int_equal(tn_queue_len(&g_q), 0);
	}
	for (int i = 0; i < 3; i++) {
		join(t[i]);
		assert_int_equal(g[i].err, 0);
		assert_int_equal(g[i].item, 100 + i);
	}
	tn_queue_fini(&g_q);
	return 0;
}

static void test_get_waits_fifo(void **state)
{
	run(getters_main);
}

static intptr_t rendezvous_main(void *arg)
{
	struct op p = {.item = 5}, g = {0};
	struct tn_task *t;
	intptr_t v;

	assert_int_equal(tn_queue_init(&g_q, 0), 0);
	assert_int_equal(tn_queue_try_put(&g_q, 1), -EAGAIN);
	assert_int_equal(tn_queue_try_get(&g_q, &v), -EAGAIN);
	/* put waits for a get ... */
	t = spawn(putter, &p);
	run_others();
	assert_false(p.done);
	assert_int_equal(tn_queue_len(&g_q), 0);
	assert_int_equal(tn_queue_try_get(&g_q, &v), 0);
	assert_int_equal(v, 5);
	join(t);
	assert_int_equal(p.err, 0);
	/* ... and get for a put. */
	t = spawn(getter, &g);
	run_others();
	assert_false(g.done);
	assert_int_equal(tn_queue_try_put(&g_q, 6), 0);
	join(t);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.item, 6);
	/* Blocking on both sides. */
	p = (struct op){.item = 7};
	t = spawn(putter, &p);
	assert_int_equal(tn_queue_get(&g_q, &v), 0);
	assert_int_equal(v, 7);
	join(t);
	tn_queue_fini(&g_q);
	return 0;
}

static void test_rendezvous(void **state)
{
	run(rendezvous_main);
}

static intptr_t close_main(void *arg)
{
	struct op p = {.item = 3}, g = {0};
	struct tn_task *tp, *tg;
	intptr_t v;

	assert_int_equal(tn_queue_init(&g_q, 2), 0);
	assert_int_equal(tn_queue_put(&g_q, 1), 0);
	assert_int_equal(tn_queue_put(&g_q, 2), 0);
	tp = spawn(putter, &p);
	run_others();
	tn_queue_close(&g_q);
	join(tp);
	assert_int_equal(p.err, -EPIPE);
	assert_int_equal(tn_queue_put(&g_q, 4), -EPIPE);
	assert_int_equal(tn_queue_try_put(&g_q, 4), -EPIPE);
	/* Gets drain what was buffered (not the failed put), then fail. */
	assert_int_equal(tn_queue_get(&g_q, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(tn_queue_try_get(&g_q, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(tn_queue_get(&g_q, &v), -EPIPE);
	assert_int_equal(tn_queue_try_get(&g_q, &v), -EPIPE);
	tn_queue_fini(&g_q);

	/* Getters waiting on an empty queue are woken with -EPIPE. */
	assert_int_equal(tn_queue_init(&g_q, 2), 0);
	tg = spawn(getter, &g);
	run_others();
	tn_queue_close(&g_q);
	join(tg);
	assert_int_equal(g.err, -EPIPE);
	tn_queue_fini(&g_q);
	return 0;
}

static void test_close(void **state)
{
	run(close_main);
}

static intptr_t cancel_put_main(void *arg)
{
	struct op a = {.item = 10}, b = {.item = 20};
	struct tn_task *ta, *tb;
	intptr_t v;

	assert_int_equal(tn_queue_init(&g_q, 1), 0);
	assert_int_equal(tn_queue_put(&g_q, 1), 0);
	ta = spawn(putter, &a);
	tb = spawn(putter, &b);
	run_others();
	tn_task_cancel(ta);
	run_others();
	assert_true(a.done);
	assert_int_equal(a.err, -ECANCELED);
	assert_ptr_equal(g_q.putters.head, g_q.putters.tail);
	/* The cancelled item never enters the queue. */
	assert_int_equal(tn_queue_get(&g_q, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(tn_queue_get(&g_q, &v), 0);
	assert_int_equal(v, 20);
	assert_int_equal(tn_queue_try_get(&g_q, &v), -EAGAIN);
	join(ta);
	join(tb);
	assert_int_equal(b.err, 0);
	tn_queue_fini(&g_q);
	return 0;
}

static void test_cancel_put(void **state)
{
	run(cancel_put_main);
}

static intptr_t cancel_get_main(void *arg)
{
	struct op a = {0}, b = {0};
	struct tn_task *ta, *tb;

	assert_int_equal(tn_queue_init(&g_q, 1), 0);
	ta = spawn(getter, &a);
	tb = spawn(getter, &b);
	run_others();
	tn_task_cancel(ta);
	run_others();
	assert_true(a.done);
	assert_int_equal(a.err, -ECANCELED);
	assert_int_equal(a.item, -1);
	assert_int_equal(tn_queue_put(&g_q, 5), 0);
	join(ta);
	join(tb);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.item, 5);
	assert_true(tn_waitq_empty(&g_q.getters));
	tn_queue_fini(&g_q);
	return 0;
}

static void test_cancel_get(void **state)
{
	run(cancel_get_main);
}

static intptr_t race_main(void *arg)
{
	struct op p = {.item = 8}, g = {0};
	struct tn_task *t;
	intptr_t v;

	assert_int_equal(tn_queue_init(&g_q, 0), 0);
	/* A getter handed an item and cancelled before it runs keeps it. */
	t = spawn(getter, &g);
	run_others();
	assert_int_equal(tn_queue_put(&g_q, 7), 0);
	tn_task_cancel(t);
	join(t);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.item, 7);
	assert_int_equal(g.next_err, -ECANCELED);
	/* A putter whose item was taken, then cancelled, reports success. */
	t = spawn(putter, &p);
	run_others();
	assert_int_equal(tn_queue_get(&g_q, &v), 0);
	assert_int_equal(v, 8);
	tn_task_cancel(t);
	join(t);
	assert_int_equal(p.err, 0);
	assert_int_equal(p.next_err, -ECANCELED);
	tn_queue_fini(&g_q);
	return 0;
}

static void test_grant_beats_cancel(void **state)
{
	run(race_main);
}

static intptr_t entry_cancel_main(void *arg)
{
	intptr_t v;

	assert_int_equal(tn_queue_init(&g_q, 2), 0);
	assert_int_equal(tn_queue_put(&g_q, 1), 0);
	/* Checked at entry even when neither call would wait. */
	tn_task_cancel(tn_task_current());
	assert_int_equal(tn_queue_put(&g_q, 2), -ECANCELED);
	tn_task_cancel(tn_task_current());
	assert_int_equal(tn_queue_get(&g_q, &v), -ECANCELED);
	assert_int_equal(tn_queue_len(&g_q), 1);
	assert_int_equal(tn_queue_get(&g_q, &v), 0);
	assert_int_equal(v, 1);
	tn_queue_fini(&g_q);
	return 0;
}

static void test_cancel_at_entry(void **state)
{
	run(entry_cancel_main);
}

static intptr_t fini_waited_main(void *arg)
{
	struct op g = {0};

	assert_int_equal(tn_queue_init(&g_q, 1), 0);
	tn_task_detach(spawn(getter, &g));
	run_others();
	tn_queue_fini(&g_q);
	return 0;
}

static void fini_waited(void)
{
	run(fini_waited_main);
}

static void test_fini_with_waiters_aborts(void **state)
{
	tn_test_expect_abort(fini_waited);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tn_test_setup, tn_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_fini),
		T(test_fifo_and_try),
		T(test_put_waits_fifo),
		T(test_get_waits_fifo),
		T(test_rendezvous),
		T(test_close),
		T(test_cancel_put),
		T(test_cancel_get),
		T(test_grant_beats_cancel),
		T(test_cancel_at_entry),
		T(test_fini_with_waiters_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
