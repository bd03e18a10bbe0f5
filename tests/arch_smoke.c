/* A dependency-free smoke test of the context switch and the scheduler,
 * for architectures we only reach under emulation (scripts/cross_aarch64.sh
 * runs it under qemu-aarch64).  Exercises switches with live callee-saved
 * integer and FP registers, deep stacks, timers, futures and cancellation. */
#include <errno.h>
#include <stdio.h>

#include <tern/coro.h>

static int passed, failed;

#define CHECK(cond)                                                         \
	do {                                                                \
		if (cond) {                                                 \
			passed++;                                           \
		} else {                                                    \
			failed++;                                           \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                           \
	} while (0)

/* Keeps values in registers across yields: a switch that lost a
 * callee-saved register would corrupt these sums. */
static intptr_t regs_task(void *arg)
{
	long seed = (long)(intptr_t)arg;
	long a = seed, b = seed * 3, c = seed * 7;
	double x = (double)seed * 0.5, y = (double)seed * 0.25;

	for (int i = 0; i < 1000; i++) {
		a += i;
		b ^= a;
		c += b;
		x += 1.0;
		y *= 1.0000001;
		if (tn_yield() != 0)
			return -EIO;
	}
	return (a + b + c + (long)x + (long)y) & 0x7fffffff;
}

static long regs_expected(long seed)
{
	long a = seed, b = seed * 3, c = seed * 7;
	double x = (double)seed * 0.5, y = (double)seed * 0.25;

	for (int i = 0; i < 1000; i++) {
		a += i;
		b ^= a;
		c += b;
		x += 1.0;
		y *= 1.0000001;
	}
	return (a + b + c + (long)x + (long)y) & 0x7fffffff;
}

static __attribute__((noinline)) uintptr_t frame_misalign(void)
{
	return (uintptr_t)__builtin_frame_address(0) & 15;
}

static intptr_t sleeper(void *arg)
{
	return tn_sleep(3600 * TN_NS_PER_S);
}

static intptr_t main_task(void *arg)
{
	struct tn_future *fs[8];
	intptr_t vals[8];
	char buf[32];
	int i;

	CHECK(frame_misalign() == 0); /* the ABI's 16-byte stack alignment */
	snprintf(buf, sizeof(buf), "%.2f", 2.5);
	CHECK(buf[0] == '2' && buf[2] == '5');

	for (i = 0; i < 8; i++)
		fs[i] = tn_task_join(tn_task_spawn(regs_task, (void *)(intptr_t)(i + 1)));
	CHECK(tn_gather(fs, 8, vals, NULL) == 0);
	for (i = 0; i < 8; i++)
		CHECK(vals[i] == regs_expected(i + 1));

	uint64_t t0 = tn_now();
	CHECK(tn_sleep(2 * TN_NS_PER_MS) == 0);
	CHECK(tn_now() - t0 >= 2 * TN_NS_PER_MS);

	struct tn_future *s = tn_task_join(tn_task_spawn(sleeper, NULL));
	CHECK(tn_wait_for(s, TN_NS_PER_MS, NULL) == -ETIMEDOUT);

	struct tn_future *f = tn_future_create();
	tn_future_resolve(f, 5);
	intptr_t v = 0;
	CHECK(tn_await(f, &v) == 0 && v == 5);
	return 0;
}

int main(void)
{
	intptr_t r = -1;

	CHECK(tn_run(main_task, NULL, &r, NULL) == 0);
	CHECK(r == 0);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
