/* The per-core scheduler: creation, the loop's phases, tn_run. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "tn_internal.h"

__thread struct tn_sched *tn__self __attribute__((tls_model("initial-exec")));

void tn__panic(const char *file, int line, const char *cond, const char *msg)
{
	fprintf(stderr, "tern: %s:%d: %s (%s)\n", file, line, msg, cond);
	fflush(stderr);
	abort();
}

static uint64_t monotonic_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TN_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void find_thread_stack(struct tn_sched *s)
{
	/* Once per thread: on the main thread glibc answers by parsing
	 * /proc/self/maps, milliseconds in a DPDK process, and tests and
	 * fuzzers make a scheduler per case. */
	static __thread void *bottom;
	static __thread size_t size;
	pthread_attr_t attr;
	void *addr;
	size_t sz;

	if (!size && pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &sz) == 0) {
			bottom = addr;
			size = sz;
		}
		pthread_attr_destroy(&attr);
	}
	s->loop_stack_bottom = bottom;
	s->loop_stack_size = size;
}

struct tn_sched *tn_sched_create(const struct tn_sched_config *cfg)
{
	struct tn_sched_config def = {0};
	struct tn_sched *s;

	if (tn__self) {
		errno = EEXIST;
		return NULL;
	}
	if (!cfg)
		cfg = &def;
	s = aligned_alloc(64, (sizeof(*s) + 63) & ~(size_t)63);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->stack_size = cfg->stack_size ? cfg->stack_size : 64 * 1024;
	s->stack_cls = tn__stack_class(s->stack_size);
	s->batch = cfg->batch ? cfg->batch : 64;
	s->idle = cfg->idle;
	s->idle_sleep_max = cfg->idle_sleep_max ? cfg->idle_sleep_max : TN_NS_PER_MS;
	s->clock = cfg->clock ? cfg->clock : monotonic_ns;
	s->clock_real = !cfg->clock || cfg->clock_real;
	s->clock_arg = cfg->clock_arg;
	tn__pool_init(&s->task_pool, sizeof(struct tn_task), 256);
	tn__pool_init(&s->future_pool, 128, 256);
	tn__pool_init(&s->ctx_pool, 256, 64);
	tn__stack_pool_init(&s->stacks);
	s->now = s->clock(s->clock_arg);
	tn__wheel_init(&s->wheel, s->now);
	find_thread_stack(s);
	tn__self = s;
	return s;
}

struct tn_sched *tn_sched_self(void)
{
	return tn__self;
}

static void report_leaks(struct tn_sched *s)
{
	struct tn_sched_stats st;
	bool leak;

	tn_sched_get_stats(s, &st);
	leak = st.live_tasks || st.live_futures || st.live_timers || st.stacks_in_use;

	if (!leak)
		return;
	fprintf(stderr,
		"tern: scheduler destroyed with live objects: %llu tasks "
		"(%llu running), %llu futures, %llu timers, %llu stacks\n",
		(unsigned long long)st.live_tasks,
		(unsigned long long)s->running_tasks,
		(unsigned long long)st.live_futures,
		(unsigned long long)st.live_timers,
		(unsigned long long)st.stacks_in_use);
#ifdef TN_DEBUG
	TN_ASSERT(!leak, "leaked tasks, futures, timers or stacks");
#endif
}

void tn_sched_destroy(struct tn_sched *s)
{
	if (!s)
		return;
	tn__check_owner(s);
	TN_ASSERT(!s->current, "tn_sched_destroy from inside a task");
	report_leaks(s);
	tn__ctx_unref(s, s->root_ctx);
	tn__stack_pool_fini(&s->stacks);
	tn__pool_fini(&s->task_pool);
	tn__pool_fini(&s->future_pool);
	tn__pool_fini(&s->ctx_pool);
	tn__self = NULL;
	free(s);
}

uint64_t tn_now(void)
{
	return tn__sched()->now;
}

uint64_t tn_sched_update_clock(struct tn_sched *s)
{
	uint64_t now = s->clock(s->clock_arg);

	/* Loop time never runs backwards, whatever the clock does. */
	if (now > s->now)
		s->now = now;
	return s->now;
}

bool tn_sched_run_timers(struct tn_sched *s)
{
	tn__check_owner(s);
	/* Most turns of a busy loop have nothing due: no call for those. */
	if (tn__wheel_quiet(&s->wheel, s->now))
		return false;
	return tn__wheel_expire(&s->wheel, s->now) != 0;
}

uint64_t tn_sched_next_deadline(const struct tn_sched *s)
{
	return tn__wheel_next_deadline(&s->wheel);
}

bool tn_sched_has_ready(const struct tn_sched *s)
{
	return s->ready_head != NULL;
}

bool tn_sched_idle(struct tn_sched *s)
{
	uint64_t next, wait;
	struct timespec ts;

	if (s->ready_head)
		return false;
	if (s->npollers && s->idle == TN_IDLE_POLL)
		return false;
	/* A virtual clock does not move by sleeping: just jump the loop to
	 * the next deadline's turn. */
	if (!s->clock_real)
		return false;
	next = tn__wheel_next_deadline(&s->wheel);
	if (next <= s->now)
		return false;
	wait = next - s->now;
	if (wait > s->idle_sleep_max)
		wait = s->idle_sleep_max;
	ts.tv_sec = (time_t)(wait / TN_NS_PER_S);
	ts.tv_nsec = (long)(wait % TN_NS_PER_S);
	nanosleep(&ts, NULL);
	s->idle_sleeps++;
	return true;
}

bool tn_sched_run_once(struct tn_sched *s)
{
	bool did;

	tn__check_owner(s);
	s->loop_turns++;
	tn_sched_update_clock(s);
	did = tn_sched_run_pollers(s);
	did |= tn_sched_run_timers(s);
	did |= tn_sched_run_ready(s);
	if (!did)
		tn_sched_idle(s);
	return did;
}

void tn_sched_get_stats(const struct tn_sched *s, struct tn_sched_stats *st)
{
	/* Tasks that run or whose handle is held; a task struct kept only for
	 * its unconsumed join future counts as that future. */
	st->live_tasks = s->running_tasks + s->done_held;
	st->live_futures = s->future_pool.live + s->live_joins;
	st->live_timers = s->wheel.count;
	st->stacks_in_use = s->stacks.in_use;
	st->stacks_cached = s->stacks.cached;
	st->switches = s->switches;
	st->loop_turns = s->loop_turns;
	st->idle_sleeps = s->idle_sleeps;
}

/* Nothing can ever wake the remaining tasks. */
static bool stuck(const struct tn_sched *s)
{
	return !s->ready_head && !s->wheel.count && !s->npollers;
}

int tn_run(intptr_t (*fn)(void *arg), void *arg, intptr_t *result,
	   const struct tn_sched_config *cfg)
{
	struct tn_sched *s = tn_sched_create(cfg);
	struct tn_future *main_f;
	struct tn_task *main_t;
	intptr_t v = 0;
	bool deadlock;
	int err;

	if (!s)
		return -errno;
	main_t = tn_task_spawn_opts(fn, arg, &(struct tn_task_opts){.name = "main"});
	if (!main_t) {
		err = -errno;
		tn_sched_destroy(s);
		return err;
	}
	main_f = tn_task_join(main_t);
	while (!tn_future_done(main_f) && !stuck(s))
		tn_sched_run_once(s);
	deadlock = !tn_future_done(main_f);
	/* asyncio.run: cancel what is left and let it unwind. */
	tn__task_cancel_all(s);
	while (s->running_tasks && !stuck(s))
		tn_sched_run_once(s);
	if (tn_future_done(main_f)) {
		err = tn__future_take(main_f, &v);
	} else {
		tn_future_detach(main_f);
		err = -EDEADLK;
	}
	if (deadlock)
		err = -EDEADLK;
	tn_sched_destroy(s);
	if (result)
		*result = v;
	return err;
}
