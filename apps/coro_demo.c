/* tern-coro-demo: a producer/consumer pipeline with a timeout and a
 * cancellation, on Tern's coroutine runtime.  `make demo` runs it until
 * the dataplane issues give the demo a network. */
#include <errno.h>
#include <stdio.h>

#include <tern/coro.h>

static struct tn_queue q;

static intptr_t producer(void *arg)
{
	long n = (long)(intptr_t)arg;

	for (long i = 1; i <= n; i++) {
		int err = tn_queue_put(&q, i);
		if (err)
			return err;
		tn_sleep(100 * TN_NS_PER_US);
	}
	tn_queue_close(&q);
	return 0;
}

static intptr_t consumer(void *arg)
{
	intptr_t item, sum = 0;

	while (tn_queue_get(&q, &item) == 0)
		sum += item;
	return sum;
}

static intptr_t sleeper(void *arg)
{
	return tn_sleep(10 * TN_NS_PER_S); /* cancelled long before */
}

static intptr_t main_task(void *arg)
{
	struct tn_future *prod, *cons, *slow;
	intptr_t sum = 0, v;
	uint64_t t0 = tn_now();
	int err;

	if (tn_queue_init(&q, 4))
		return -ENOMEM;
	prod = tn_task_join(tn_task_spawn(producer, (void *)(intptr_t)100));
	cons = tn_task_join(tn_task_spawn(consumer, NULL));
	err = tn_await(prod, NULL);
	if (!err)
		err = tn_await(cons, &sum);
	printf("pipeline: 100 items through a 4-slot queue, sum=%ld (%s) in %.2f ms\n",
	       (long)sum, tn_strerror(err), (tn_now() - t0) / 1e6);

	slow = tn_task_join(tn_task_spawn(sleeper, NULL));
	err = tn_wait_for(slow, 2 * TN_NS_PER_MS, &v);
	printf("wait_for(10 s sleep, timeout 2 ms): %s\n", tn_strerror(err));
	tn_queue_fini(&q);
	return sum == 5050 && err == -ETIMEDOUT ? 0 : -EIO;
}

int main(void)
{
	intptr_t r;
	int err = tn_run(main_task, NULL, &r, NULL);

	printf("tn_run: %s\n", tn_strerror(err));
	return err ? 1 : 0;
}
