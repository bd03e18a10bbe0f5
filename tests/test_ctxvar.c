/* Context variables: defaults, task-local values, copies inherited at
 * spawn (never shared writes), the root context, reset, large contexts
 * and many tasks sharing one context. */
#include <errno.h>
#include <stdio.h>

#include "tn_test.h"

static struct tn_ctxvar var_a = TN_CTXVAR_INIT("a", 7);
static struct tn_ctxvar var_b = TN_CTXVAR_INIT("b", -1);
static struct tn_ctxvar var_c = TN_CTXVAR_INIT("c", 0);

/* ---- defaults and set/get ---- */

static intptr_t set_get_main(void *arg)
{
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	assert_int_equal(tn_ctxvar_get(&var_b), -1);
	assert_int_equal(tn_ctxvar_set(&var_a, 42), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 42);
	assert_int_equal(tn_ctxvar_get(&var_b), -1); /* others untouched */
	assert_int_equal(tn_ctxvar_set(&var_a, 43), 0);
	assert_int_equal(tn_ctxvar_set(&var_b, INTPTR_MIN), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 43);
	assert_int_equal(tn_ctxvar_get(&var_b), INTPTR_MIN);
	/* Values survive awaits. */
	assert_int_equal(tn_yield(), 0);
	assert_int_equal(tn_sleep(TN_NS_PER_MS), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 43);
	return 0;
}

static void test_default_and_set(void **state)
{
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	assert_int_equal(tn_ctxvar_get(&var_c), 0);
	assert_int_equal(tn_test_run(set_get_main, NULL, NULL), 0);
	/* The task's values stayed in the task. */
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	assert_int_equal(tn_ctxvar_get(&var_b), -1);
}

/* Two tasks interleaving at awaits each see their own values. */
static intptr_t own_value(void *arg)
{
	intptr_t me = (intptr_t)arg;

	assert_int_equal(tn_ctxvar_set(&var_a, me), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(tn_yield(), 0);
		assert_int_equal(tn_ctxvar_get(&var_a), me);
		assert_int_equal(tn_ctxvar_set(&var_a, me), 0);
	}
	return tn_ctxvar_get(&var_a);
}

static intptr_t interleave_main(void *arg)
{
	struct tn_future *fs[2];
	intptr_t v[2];

	fs[0] = tn_task_join(tn_task_spawn(own_value, (void *)100));
	fs[1] = tn_task_join(tn_task_spawn(own_value, (void *)200));
	assert_int_equal(tn_gather(fs, 2, v, NULL), 0);
	assert_int_equal(v[0], 100);
	assert_int_equal(v[1], 200);
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	return 0;
}

static void test_tasks_are_isolated(void **state)
{
	assert_int_equal(tn_test_run(interleave_main, NULL, NULL), 0);
}

/* ---- inheritance ---- */

static intptr_t child_sees;
static intptr_t child_after_parent_set;

static intptr_t child(void *arg)
{
	child_sees = tn_ctxvar_get(&var_a);
	/* Let the parent set after our spawn. */
	assert_int_equal(tn_yield(), 0);
	child_after_parent_set = tn_ctxvar_get(&var_a);
	assert_int_equal(tn_ctxvar_set(&var_a, 2), 0);
	assert_int_equal(tn_ctxvar_set(&var_b, 3), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 2);
	return tn_ctxvar_get(&var_c);
}

static intptr_t inherit_main(void *arg)
{
	struct tn_future *f;
	intptr_t v;

	assert_int_equal(tn_ctxvar_set(&var_a, 1), 0);
	assert_int_equal(tn_ctxvar_set(&var_c, 9), 0);
	f = tn_task_join(tn_task_spawn(child, NULL));
	/* After the spawn, before the child ran. */
	assert_int_equal(tn_ctxvar_set(&var_a, 5), 0);
	assert_int_equal(tn_yield(), 0);
	assert_int_equal(tn_ctxvar_set(&var_a, 6), 0);
	assert_int_equal(tn_await(f, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(child_sees, 1);
	assert_int_equal(child_after_parent_set, 1);
	/* The child's sets stayed in the child. */
	assert_int_equal(tn_ctxvar_get(&var_a), 6);
	assert_int_equal(tn_ctxvar_get(&var_b), -1);
	return 0;
}

static void test_child_inherits_copy(void **state)
{
	child_sees = child_after_parent_set = 0;
	assert_int_equal(tn_test_run(inherit_main, NULL, NULL), 0);
}

/* A child spawned from a task that never set anything sees defaults, and
 * a child's values do not leak into its parent's later children. */
static intptr_t setter_child(void *arg)
{
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	return tn_ctxvar_set(&var_a, 11);
}

static intptr_t reader_child(void *arg)
{
	return tn_ctxvar_get(&var_a);
}

static intptr_t siblings_main(void *arg)
{
	intptr_t v;

	assert_int_equal(tn_await(tn_task_join(tn_task_spawn(setter_child, NULL)), NULL), 0);
	assert_int_equal(tn_await(tn_task_join(tn_task_spawn(reader_child, NULL)), &v), 0);
	assert_int_equal(v, 7);
	return 0;
}

static void test_siblings_independent(void **state)
{
	assert_int_equal(tn_test_run(siblings_main, NULL, NULL), 0);
}

/* Three generations. */
static intptr_t grandchild(void *arg)
{
	/* Both ancestors' values, as of our spawn. */
	assert_int_equal(tn_ctxvar_get(&var_a), 10);
	assert_int_equal(tn_ctxvar_get(&var_b), 20);
	assert_int_equal(tn_ctxvar_get(&var_c), 0);
	assert_int_equal(tn_ctxvar_set(&var_c, 30), 0);
	assert_int_equal(tn_ctxvar_set(&var_a, 31), 0);
	return tn_ctxvar_get(&var_a) + tn_ctxvar_get(&var_c);
}

static intptr_t middle(void *arg)
{
	struct tn_future *f;
	intptr_t v;

	assert_int_equal(tn_ctxvar_get(&var_a), 10);
	assert_int_equal(tn_ctxvar_set(&var_b, 20), 0);
	f = tn_task_join(tn_task_spawn(grandchild, NULL));
	assert_int_equal(tn_ctxvar_set(&var_b, 21), 0); /* after the spawn */
	assert_int_equal(tn_await(f, &v), 0);
	assert_int_equal(v, 61);
	assert_int_equal(tn_ctxvar_get(&var_a), 10);
	assert_int_equal(tn_ctxvar_get(&var_b), 21);
	assert_int_equal(tn_ctxvar_get(&var_c), 0);
	return 0;
}

static intptr_t generations_main(void *arg)
{
	assert_int_equal(tn_ctxvar_set(&var_a, 10), 0);
	assert_int_equal(tn_await(tn_task_join(tn_task_spawn(middle, NULL)), NULL), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 10);
	assert_int_equal(tn_ctxvar_get(&var_b), -1);
	assert_int_equal(tn_ctxvar_get(&var_c), 0);
	return 0;
}

static void test_grandchildren(void **state)
{
	assert_int_equal(tn_test_run(generations_main, NULL, NULL), 0);
}

/* ---- the root context ---- */

static intptr_t root_child(void *arg)
{
	assert_int_equal(tn_ctxvar_get(&var_a), 100);
	assert_int_equal(tn_ctxvar_set(&var_a, 101), 0);
	return tn_ctxvar_get(&var_a);
}

static intptr_t timer_saw;

static void read_in_timer(struct tn_timer *t, void *arg)
{
	timer_saw = tn_ctxvar_get(&var_a);
}

static void test_root_context(void **state)
{
	struct tn_timer tm;
	intptr_t v;

	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	assert_int_equal(tn_ctxvar_set(&var_a, 100), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 100);
	/* Tasks spawned outside tasks inherit the root context. */
	assert_int_equal(tn_test_run(root_child, NULL, &v), 0);
	assert_int_equal(v, 101);
	assert_int_equal(tn_ctxvar_get(&var_a), 100);
	/* Timer callbacks run in the loop: the root context. */
	timer_saw = 0;
	tn_timer_init(&tm, read_in_timer, NULL);
	tn_timer_start(&tm, tn_test_clock_ns + TN_NS_PER_US);
	tn_test_advance(2 * TN_NS_PER_US);
	assert_int_equal(timer_saw, 100);
	/* Set again after a child took a reference. */
	assert_int_equal(tn_ctxvar_set(&var_a, 102), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 102);
	assert_int_equal(tn_ctxvar_reset(&var_a), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
}

/* A fresh scheduler starts with an empty root context: run twice, the
 * second run must not see the first one's value. */
static void test_root_context_fresh(void **state)
{
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	assert_int_equal(tn_ctxvar_set(&var_a, 55), 0);
}

static void test_root_context_fresh_again(void **state)
{
	test_root_context_fresh(state);
}

/* ---- reset ---- */

static intptr_t reset_child(void *arg)
{
	assert_int_equal(tn_ctxvar_get(&var_a), 1);
	assert_int_equal(tn_ctxvar_reset(&var_a), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	assert_int_equal(tn_ctxvar_get(&var_b), 2); /* the others stay */
	return 0;
}

static intptr_t reset_main(void *arg)
{
	assert_int_equal(tn_ctxvar_reset(&var_a), 0); /* never set */
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	assert_int_equal(tn_ctxvar_set(&var_a, 1), 0);
	assert_int_equal(tn_ctxvar_set(&var_b, 2), 0);
	assert_int_equal(tn_ctxvar_set(&var_c, 3), 0);
	/* A child's reset does not touch the parent. */
	assert_int_equal(tn_await(tn_task_join(tn_task_spawn(reset_child, NULL)), NULL), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 1);
	/* Reset in the parent, with and without a child sharing it. */
	assert_int_equal(tn_ctxvar_reset(&var_a), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 7);
	assert_int_equal(tn_ctxvar_get(&var_b), 2);
	assert_int_equal(tn_ctxvar_get(&var_c), 3);
	assert_int_equal(tn_ctxvar_reset(&var_a), 0); /* twice */
	assert_int_equal(tn_ctxvar_reset(&var_c), 0);
	assert_int_equal(tn_ctxvar_get(&var_c), 0);
	assert_int_equal(tn_ctxvar_get(&var_b), 2);
	/* Set after reset. */
	assert_int_equal(tn_ctxvar_set(&var_a, 8), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 8);
	assert_int_equal(tn_ctxvar_reset(&var_b), 0);
	assert_int_equal(tn_ctxvar_get(&var_a), 8);
	assert_int_equal(tn_ctxvar_get(&var_b), -1);
	return 0;
}

static void test_reset(void **state)
{
	assert_int_equal(tn_test_run(reset_main, NULL, NULL), 0);
}

/* ---- more variables than fit the pooled context ---- */

#define NVARS 40

static struct tn_ctxvar many[NVARS];

static void init_many(void)
{
	static char names[NVARS][8];

	for (int i = 0; i < NVARS; i++) {
		snprintf(names[i], sizeof(names[i]), "v%d", i);
		many[i].name = names[i];
		many[i].dflt = -1000 - i;
	}
}

static void check_many(int n, intptr_t bias)
{
	for (int i = 0; i < NVARS; i++) {
		intptr_t want = i < n ? bias + i : -1000 - i;

		if (tn_ctxvar_get(&many[i]) != want)
			fail_msg("var %d: %ld, expected %ld", i, (long)tn_ctxvar_get(&many[i]),
				 (long)want);
	}
}

static intptr_t big_child(void *arg)
{
	check_many(NVARS, 0);
	/* Changing one copies the large context. */
	assert_int_equal(tn_ctxvar_set(&many[3], 333), 0);
	assert_int_equal(tn_ctxvar_get(&many[3]), 333);
	assert_int_equal(tn_ctxvar_reset(&many[NVARS - 1]), 0);
	assert_int_equal(tn_ctxvar_get(&many[NVARS - 1]), -1000 - (NVARS - 1));
	assert_int_equal(tn_ctxvar_get(&many[NVARS - 2]), NVARS - 2);
	return 0;
}

static intptr_t big_main(void *arg)
{
	/* Grow one variable at a time, checking all each time: crosses the
	 * pooled size (14) and the following reallocations. */
	for (int n = 1; n <= NVARS; n++) {
		assert_int_equal(tn_ctxvar_set(&many[n - 1], n - 1), 0);
		check_many(n, 0);
	}
	assert_int_equal(tn_await(tn_task_join(tn_task_spawn(big_child, NULL)), NULL), 0);
	check_many(NVARS, 0);
	/* Overwrite all in place. */
	for (int i = 0; i < NVARS; i++)
		assert_int_equal(tn_ctxvar_set(&many[i], 5000 + i), 0);
	check_many(NVARS, 5000);
	/* Reset them all, from the middle out. */
	for (int i = NVARS / 2; i < NVARS; i++)
		assert_int_equal(tn_ctxvar_reset(&many[i]), 0);
	check_many(NVARS / 2, 5000);
	for (int i = 0; i < NVARS / 2; i++)
		assert_int_equal(tn_ctxvar_reset(&many[i]), 0);
	check_many(0, 0);
	return 0;
}

static void test_many_variables(void **state)
{
	init_many();
	assert_int_equal(tn_test_run(big_main, NULL, NULL), 0);
}

/* Exactly the pooled size, shared with a child when the 15th arrives. */
static intptr_t fourteen_child(void *arg)
{
	check_many(14, 0);
	assert_int_equal(tn_ctxvar_set(&many[14], 14), 0);
	check_many(15, 0);
	assert_int_equal(tn_ctxvar_set(&many[0], 77), 0);
	assert_int_equal(tn_ctxvar_get(&many[0]), 77);
	return 0;
}

static intptr_t fourteen_main(void *arg)
{
	struct tn_future *f;

	for (int i = 0; i < 14; i++)
		assert_int_equal(tn_ctxvar_set(&many[i], i), 0);
	f = tn_task_join(tn_task_spawn(fourteen_child, NULL));
	assert_int_equal(tn_await(f, NULL), 0);
	check_many(14, 0);
	/* And unshared: the 15th in the parent itself. */
	assert_int_equal(tn_ctxvar_set(&many[14], 14), 0);
	check_many(15, 0);
	return 0;
}

static void test_fourteen_then_fifteen(void **state)
{
	init_many();
	assert_int_equal(tn_test_run(fourteen_main, NULL, NULL), 0);
}

/* ---- many tasks sharing one context ---- */

#define NSHARE 10000

static intptr_t sharer(void *arg)
{
	intptr_t i = (intptr_t)arg;

	assert_int_equal(tn_ctxvar_get(&var_a), 1);
	assert_int_equal(tn_ctxvar_get(&var_b), 2);
	if (i % 2) {
		assert_int_equal(tn_ctxvar_set(&var_a, 1000 + i), 0);
		assert_int_equal(tn_yield(), 0); /* the others run meanwhile */
		assert_int_equal(tn_ctxvar_get(&var_a), 1000 + i);
		assert_int_equal(tn_ctxvar_get(&var_b), 2);
	} else {
		assert_int_equal(tn_yield(), 0);
		assert_int_equal(tn_ctxvar_get(&var_a), 1);
	}
	return tn_ctxvar_get(&var_a);
}

static intptr_t share_main(void *arg)
{
	static struct tn_future *fs[NSHARE];
	static intptr_t vals[NSHARE];

	assert_int_equal(tn_ctxvar_set(&var_a, 1), 0);
	assert_int_equal(tn_ctxvar_set(&var_b, 2), 0);
	for (intptr_t i = 0; i < NSHARE; i++) {
		struct tn_task *t = tn_task_spawn_opts(sharer, (void *)i,
					&(struct tn_task_opts){.stack_size = 16384});

		assert_non_null(t);
		fs[i] = tn_task_join(t);
	}
	/* Setting while NSHARE children share our context copies it. */
	assert_int_equal(tn_ctxvar_set(&var_b, 3), 0);
	assert_int_equal(tn_gather(fs, NSHARE, vals, NULL), 0);
	for (intptr_t i = 0; i < NSHARE; i++)
		assert_int_equal(vals[i], i % 2 ? 1000 + i : 1);
	assert_int_equal(tn_ctxvar_get(&var_a), 1);
	assert_int_equal(tn_ctxvar_get(&var_b), 3);
	return 0;
}

static void test_many_tasks_share(void **state)
{
	assert_int_equal(tn_test_run(share_main, NULL, NULL), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tn_test_setup, tn_test_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_default_and_set),
		T(test_tasks_are_isolated),
		T(test_child_inherits_copy),
		T(test_siblings_independent),
		T(test_grandchildren),
		T(test_root_context),
		T(test_root_context_fresh),
		T(test_root_context_fresh_again),
		T(test_reset),
		T(test_many_variables),
		T(test_fourteen_then_fifteen),
		T(test_many_tasks_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
