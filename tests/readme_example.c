/* The example program of README.md, kept here so that it is compiled. */
#include <stdio.h>
#include <tern/coro.h>

static struct tn_queue q;

static intptr_t producer(void *arg)
{
	for (intptr_t i = 1; i <= 10; i++) {
		tn_queue_put(&q, i);            /* waits while the queue is full */
		tn_sleep(1 * TN_NS_PER_MS);
	}
	tn_queue_close(&q);
	return 0;
}

static intptr_t consumer(void *arg)
{
	intptr_t item, sum = 0;

	while (tn_queue_get(&q, &item) == 0) /* -EPIPE once closed and drained */
		sum += item;
	return sum;
}

static intptr_t main_task(void *arg)
{
	intptr_t sum = 0;

	tn_queue_init(&q, 4);
	struct tn_future *p = tn_task_join(tn_task_spawn(producer, NULL));
	struct tn_future *c = tn_task_join(tn_task_spawn(consumer, NULL));
	int err = tn_await(p, NULL);                          /* the producer's result */
	int err2 = tn_wait_for(c, 1 * TN_NS_PER_S, &sum);     /* at most 1 s */
	tn_queue_fini(&q);
	printf("sum=%ld (%s)\n", (long)sum, tn_strerror(err ? err : err2));
	return err ? err : err2;
}

int main(void)
{
	return tn_run(main_task, NULL, NULL, NULL) == 0 ? 0 : 1;
}
