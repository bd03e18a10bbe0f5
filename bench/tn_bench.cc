// Micro-benchmarks of the coroutine runtime (coro/), Google Benchmark.
//
// How the timing loops are built.  Most benchmarks here measure things
// that only make sense from inside a task (await, yield, spawn+join), so
// their `for (auto _ : state)` loop runs inside a task: the benchmark
// function creates this thread's scheduler, spawns a "bench main" task
// that runs the loop, drives tn_sched_run_once until that task is done,
// checks that no task, future, timer or stack leaked, and destroys the
// scheduler.  benchmark::State is only ever touched from this one thread;
// that it is touched from a coroutine stack is invisible to it.
//
// The switch benchmarks (BM_coro_switch, BM_swapcontext) want one
// reported iteration to be exactly one context switch.  A range-for in
// one task would count a round trip (two switches) per iteration, so
// instead both sides of the ping-pong call state.KeepRunning() before
// each switch: A counts an iteration and switches to B, B counts one and
// switches to A, and so on.  The first side to see KeepRunning() return
// false raises a shared `done` flag; the other side checks it before it
// would call KeepRunning() again (calling it after it returned false is
// not allowed), so the peer exits without counting.  The reported time
// per iteration is then (one KeepRunning() check + one switch), the
// check being a decrement and a compare.
//
// The scheduler runs with its default configuration (batch of 64
// resumptions per loop turn), so BM_coro_switch includes, amortised, the
// trip through the loop every 64 switches; the counter switches_per_iter
// (from tn_sched_get_stats) shows what was actually executed.
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

#include <tern/coro.h>

namespace {

// ---- running a benchmark body as a task ---------------------------------

// The stack of the task that runs the benchmark loop: Google Benchmark's
// Start/FinishKeepRunning run on it too, so give it room.
constexpr size_t kMainStack = 256 * 1024;

template <class F>
struct MainTask {
	F *body;
	bool done;
};

template <class F>
intptr_t main_tramp(void *arg)
{
	auto *m = static_cast<MainTask<F> *>(arg);
	(*m->body)();
	m->done = true;
	return 0;
}

// Creates the thread's scheduler, runs body() in a task until it returns,
// then tears everything down.  Returns false (after SkipWithError) if
// something could not be set up or leaked.
template <class F>
bool run_in_task(benchmark::State &state, F &&body,
		 const tn_sched_config *cfg = nullptr)
{
	using Fn = typename std::remove_reference<F>::type;
	tn_sched *s = tn_sched_create(cfg);
	if (!s) {
		state.SkipWithError("tn_sched_create failed");
		return false;
	}
	MainTask<Fn> m{&body, false};
	tn_task_opts o{};
	o.stack_size = kMainStack;
	o.name = "bench-main";
	tn_task *t = tn_task_spawn_opts(main_tramp<Fn>, &m, &o);
	if (!t) {
		tn_sched_destroy(s);
		state.SkipWithError("tn_task_spawn failed");
		return false;
	}
	tn_task_detach(t);
	while (!m.done)
		tn_sched_run_once(s);
	// Let every task finish (the benchmark bodies join theirs, but a
	// detached task may still need a turn to unwind).
	tn_sched_stats st;
	for (int i = 0; i < 1000; i++) {
		tn_sched_get_stats(s, &st);
		if (!st.live_tasks && !st.live_timers)
			break;
		tn_sched_run_once(s);
	}
	tn_sched_get_stats(s, &st);
	bool leak = st.live_tasks || st.live_futures || st.live_timers ||
		    st.stacks_in_use;
	tn_sched_destroy(s);
	if (leak) {
		state.SkipWithError("leaked tasks/futures/timers/stacks");
		return false;
	}
	return true;
}

// Spawns fn(arg) with the default stack and returns its join future.
tn_future *spawn_joined(tn_task_fn fn, void *arg)
{
	tn_task *t = tn_task_spawn(fn, arg);
	return t ? tn_task_join(t) : nullptr;
}

// ---- BM_coro_switch -----------------------------------------------------

struct PingPong {
	benchmark::State *state;
	bool done;
};

intptr_t switch_side(void *arg)
{
	auto *p = static_cast<PingPong *>(arg);

	for (;;) {
		if (p->done)
			break;
		if (!p->state->KeepRunning()) {
			p->done = true;
			break;
		}
		tn_yield();
	}
	return 0;
}

void BM_task_yield(benchmark::State &state)
{
	tn_sched *s = tn_sched_create(nullptr);
	if (!s) {
		state.SkipWithError("tn_sched_create failed");
		return;
	}
	PingPong p{&state, false};
	tn_future *a = spawn_joined(switch_side, &p);
	tn_future *b = spawn_joined(switch_side, &p);
	if (!a || !b) {
		// Cancelling a join future cancels a task that never ran.
		for (tn_future *f : {a, b}) {
			if (!f)
				continue;
			tn_future_cancel(f);
			while (!tn_future_done(f))
				tn_sched_run_once(s);
		}
		while (tn_sched_has_ready(s))
			tn_sched_run_once(s);
		for (tn_future *f : {a, b})
			if (f)
				tn_future_detach(f);
		tn_sched_destroy(s);
		state.SkipWithError("tn_task_spawn failed");
		return;
	}
	tn_sched_stats st0, st1;
	tn_sched_get_stats(s, &st0);
	while (!tn_future_done(a) || !tn_future_done(b))
		tn_sched_run_once(s);
	tn_sched_get_stats(s, &st1);
	tn_future_detach(a);
	tn_future_detach(b);
	tn_sched_destroy(s);
	double iters = (double)state.iterations();
	if (iters > 0) {
		// Every switch the scheduler made (task->task and task<->loop),
		// start-up and shut-down included, per reported iteration.
		state.counters["switches_per_iter"] =
			(double)(st1.switches - st0.switches) / iters;
		state.counters["loop_turns_per_iter"] =
			(double)(st1.loop_turns - st0.loop_turns) / iters;
	}
}
BENCHMARK(BM_task_yield);

// ---- BM_coro_switch: the coroutine context switch itself ----------------
//
// What Boost.Context (jump_fcontext) and libaco publish: one switch
// between two coroutine stacks with the primitive every Tern task switch
// goes through (coro/switch_<arch>.S), the same ping-pong structure as
// BM_swapcontext below.  BM_task_yield above is the whole scheduler path
// (tn_yield: cancellation check, ready queue, state, this switch).

extern "C" void tn__ctx_switch(void **from_sp, void *to_sp);
extern "C" void *tn__ctx_make(void *stack_top, void (*entry)(void *), void *arg);

struct CtxPingPong {
	benchmark::State *state;
	bool done;
	void *main_sp, *a_sp, *b_sp;
};

void ctx_side(CtxPingPong *p, void **self, void **peer)
{
	for (;;) {
		if (p->done)
			break;
		if (!p->state->KeepRunning()) {
			p->done = true;
			break;
		}
		tn__ctx_switch(self, *peer);
	}
	void *dead;
	tn__ctx_switch(&dead, p->main_sp); // never resumed
}

void ctx_side_a(void *arg)
{
	auto *p = static_cast<CtxPingPong *>(arg);
	ctx_side(p, &p->a_sp, &p->b_sp);
}

void ctx_side_b(void *arg)
{
	auto *p = static_cast<CtxPingPong *>(arg);
	ctx_side(p, &p->b_sp, &p->a_sp);
}

void BM_coro_switch(benchmark::State &state)
{
	constexpr size_t kStack = 64 * 1024;
	std::vector<char> sa(kStack), sb(kStack);
	CtxPingPong p{};
	p.state = &state;
	p.a_sp = tn__ctx_make(sa.data() + kStack, ctx_side_a, &p);
	p.b_sp = tn__ctx_make(sb.data() + kStack, ctx_side_b, &p);
	tn__ctx_switch(&p.main_sp, p.a_sp);
}
BENCHMARK(BM_coro_switch);

// ---- BM_swapcontext -----------------------------------------------------

// The same ping-pong between two ucontext_t contexts: the glibc baseline.
// glibc's swapcontext saves/restores the signal mask with rt_sigprocmask,
// a system call per switch; that is what a user-space switch avoids.
struct UcPingPong {
	benchmark::State *state;
	bool done;
	ucontext_t main, a, b;
};

thread_local UcPingPong *uc_pp;

void uc_side(ucontext_t *self, ucontext_t *peer)
{
	UcPingPong *p = uc_pp;

	for (;;) {
		if (p->done)
			break;
		if (!p->state->KeepRunning()) {
			p->done = true;
			break;
		}
		swapcontext(self, peer);
	}
	// Returning follows uc_link back to main.
}

void uc_side_a() { uc_side(&uc_pp->a, &uc_pp->b); }
void uc_side_b() { uc_side(&uc_pp->b, &uc_pp->a); }

void BM_swapcontext(benchmark::State &state)
{
	constexpr size_t kStack = 256 * 1024;
	std::vector<char> sa(kStack), sb(kStack);
	UcPingPong p{};
	p.state = &state;
	uc_pp = &p;

	getcontext(&p.a);
	p.a.uc_stack.ss_sp = sa.data();
	p.a.uc_stack.ss_size = kStack;
	p.a.uc_link = &p.main;
	makecontext(&p.a, uc_side_a, 0);
	getcontext(&p.b);
	p.b.uc_stack.ss_sp = sb.data();
	p.b.uc_stack.ss_size = kStack;
	p.b.uc_link = &p.main;
	makecontext(&p.b, uc_side_b, 0);

	// Whichever side finishes first returns to main; the other one is
	// left suspended and its stack simply freed.
	swapcontext(&p.main, &p.a);
	uc_pp = nullptr;
}
BENCHMARK(BM_swapcontext);

// ---- BM_task_spawn_join -------------------------------------------------

intptr_t empty_task(void *) { return 0; }

// From a task: spawn an empty task and await its join future.  Per
// iteration: spawn (task, future and cached stack from the pools), the
// switch into the child, its completion and the switch back.
void BM_task_spawn_join(benchmark::State &state)
{
	run_in_task(state, [&] {
		for (auto _ : state) {
			tn_future *f = spawn_joined(empty_task, nullptr);
			intptr_t v;
			if (!f || tn_await(f, &v) != 0) {
				state.SkipWithError("spawn/join failed");
				break;
			}
			benchmark::DoNotOptimize(v);
		}
	});
}
BENCHMARK(BM_task_spawn_join);

// ---- BM_future_resolve --------------------------------------------------

// create + resolve + await of an already-completed future: the fast path,
// no switch.
void BM_future_resolve(benchmark::State &state)
{
	run_in_task(state, [&] {
		for (auto _ : state) {
			tn_future *f = tn_future_create();
			tn_future_resolve(f, 42);
			intptr_t v;
			tn_await(f, &v);
			benchmark::DoNotOptimize(v);
		}
	});
}
BENCHMARK(BM_future_resolve);

struct WakeBench {
	tn_future *pending;
	tn_task *resolver;
	bool done;
};

intptr_t resolver_task(void *arg)
{
	auto *w = static_cast<WakeBench *>(arg);

	for (;;) {
		if (w->pending) {
			tn_future *f = w->pending;
			w->pending = nullptr;
			tn_future_resolve(f, 7);
		}
		if (w->done)
			break;
		tn_task_suspend();
	}
	return 0;
}

// A task awaits a pending future that another task resolves: per
// iteration create + resume the resolver + await (park, switch) +
// resolve (wake) + switch back.  Two switches per iteration.
void BM_future_resolve_wake(benchmark::State &state)
{
	run_in_task(state, [&] {
		WakeBench w{nullptr, nullptr, false};
		w.resolver = tn_task_spawn(resolver_task, &w);
		if (!w.resolver) {
			state.SkipWithError("tn_task_spawn failed");
			return;
		}
		tn_yield(); // let the resolver park itself
		for (auto _ : state) {
			tn_future *f = tn_future_create();
			w.pending = f;
			tn_task_resume(w.resolver);
			intptr_t v;
			tn_await(f, &v);
			benchmark::DoNotOptimize(v);
		}
		w.done = true;
		tn_task_resume(w.resolver);
		tn_await(tn_task_join(w.resolver), nullptr);
	});
}
BENCHMARK(BM_future_resolve_wake);

// ---- BM_timer_add_cancel ------------------------------------------------

void noop_timer(tn_timer *, void *) {}

// tn_timer_start + tn_timer_cancel on a wheel that already holds 10,000
// timers at random deadlines, as a busy core would (retransmit, keepalive
// and delay timers).  Deadlines of the background and of the measured
// timer are uniform in [1 ms, 10 s) from now.  The wheel's clock does not
// advance during the loop.
void BM_timer_add_cancel(benchmark::State &state)
{
	const size_t nbg = 10000;
	tn_sched *s = tn_sched_create(nullptr);
	if (!s) {
		state.SkipWithError("tn_sched_create failed");
		return;
	}
	std::mt19937_64 rng(12345);
	std::uniform_int_distribution<uint64_t> dist(TN_NS_PER_MS, 10 * TN_NS_PER_S);
	uint64_t now = tn_now();

	std::vector<tn_timer> bg(nbg);
	for (auto &t : bg) {
		tn_timer_init(&t, noop_timer, nullptr);
		tn_timer_start(&t, now + dist(rng));
	}
	constexpr size_t kDeadlines = 4096; // power of two
	std::vector<uint64_t> dl(kDeadlines);
	for (auto &d : dl)
		d = now + dist(rng);

	tn_timer t;
	tn_timer_init(&t, noop_timer, nullptr);
	size_t i = 0;
	for (auto _ : state) {
		tn_timer_start(&t, dl[i++ & (kDeadlines - 1)]);
		benchmark::DoNotOptimize(tn_timer_cancel(&t));
	}
	for (auto &b : bg)
		tn_timer_cancel(&b);
	tn_sched_destroy(s);
}
BENCHMARK(BM_timer_add_cancel);

// ---- BM_queue_pingpong --------------------------------------------------

struct QueuePair {
	tn_queue ping, pong;
};

intptr_t queue_echo(void *arg)
{
	auto *q = static_cast<QueuePair *>(arg);
	intptr_t item;

	while (tn_queue_get(&q->ping, &item) == 0)
		if (tn_queue_put(&q->pong, item + 1) != 0)
			break;
	return 0;
}

// Two tasks exchange an item over two queues of capacity 1 (one each
// way): ns per round trip (put, get on the other side, put back, get).
void BM_queue_pingpong(benchmark::State &state)
{
	run_in_task(state, [&] {
		QueuePair q;
		if (tn_queue_init(&q.ping, 1) != 0) {
			state.SkipWithError("tn_queue_init failed");
			return;
		}
		if (tn_queue_init(&q.pong, 1) != 0) {
			tn_queue_fini(&q.ping);
			state.SkipWithError("tn_queue_init failed");
			return;
		}
		tn_future *echo = spawn_joined(queue_echo, &q);
		if (!echo) {
			state.SkipWithError("tn_task_spawn failed");
			tn_queue_fini(&q.ping);
			tn_queue_fini(&q.pong);
			return;
		}
		intptr_t i = 0;
		for (auto _ : state) {
			intptr_t r = -1;
			if (tn_queue_put(&q.ping, i) != 0 ||
			    tn_queue_get(&q.pong, &r) != 0 || r != i + 1) {
				state.SkipWithError("queue round trip failed");
				break;
			}
			i++;
		}
		tn_queue_close(&q.ping);
		tn_queue_close(&q.pong);
		tn_await(echo, nullptr);
		tn_queue_fini(&q.ping);
		tn_queue_fini(&q.pong);
	});
}
BENCHMARK(BM_queue_pingpong);

// ---- BM_sleeping_tasks_100k ---------------------------------------------

size_t rss_bytes()
{
	long pages_total = 0, pages_res = 0;
	FILE *f = std::fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (std::fscanf(f, "%ld %ld", &pages_total, &pages_res) != 2)
		pages_res = 0;
	std::fclose(f);
	return (size_t)pages_res * (size_t)sysconf(_SC_PAGESIZE);
}

intptr_t long_sleeper(void *)
{
	return tn_sleep(3600 * TN_NS_PER_S); // -ECANCELED when cancelled
}

// 100,000 tasks parked in tn_sleep (default 64 KiB stacks): the resident
// set they add, measured with /proc/self/statm once all of them have run
// to their sleep, then cancelled and joined.  The reported time is the
// whole spawn + run-to-sleep + cancel + join cycle.  rss_mib and
// bytes_per_task are the increase over the RSS before the spawns.
void BM_sleeping_tasks_100k(benchmark::State &state)
{
	const size_t n = 100000;
	double rss_delta = 0, rss_total = 0;
	long max_map = -1;

	if (FILE *f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
		if (std::fscanf(f, "%ld", &max_map) != 1)
			max_map = -1;
		std::fclose(f);
	}
	for (auto _ : state) {
		bool ok = run_in_task(state, [&] {
			std::vector<tn_task *> tasks;
			tasks.reserve(n);
			size_t before = rss_bytes();
			int spawn_errno = 0;
			for (size_t i = 0; i < n; i++) {
				tn_task *t = tn_task_spawn(long_sleeper, nullptr);
				if (!t) {
					spawn_errno = errno;
					break;
				}
				tasks.push_back(t);
			}
			// FIFO: one yield lets every spawned task run to its sleep.
			tn_yield();
			size_t after = rss_bytes();
			for (tn_task *t : tasks)
				tn_task_cancel(t);
			for (tn_task *t : tasks) {
				int err = tn_await(tn_task_join(t), nullptr);
				benchmark::DoNotOptimize(err);
			}
			if (tasks.size() < n) {
				static char msg[256];
				std::snprintf(msg, sizeof msg,
					      "spawn failed after %zu tasks (%s); each stack is "
					      "2 mappings: raise vm.max_map_count (now %ld) to "
					      ">= 250000 (scripts/setup.sh)",
					      tasks.size(), std::strerror(spawn_errno), max_map);
				state.SkipWithError(msg);
				return;
			}
			rss_delta = (double)after - (double)before;
			rss_total = (double)after;
		});
		if (!ok)
			break;
	}
	state.counters["rss_mib"] = rss_delta / (1024.0 * 1024.0);
	state.counters["rss_total_mib"] = rss_total / (1024.0 * 1024.0);
	state.counters["bytes_per_task"] = rss_delta / (double)n;
}
BENCHMARK(BM_sleeping_tasks_100k)
	->Iterations(1)
	->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
