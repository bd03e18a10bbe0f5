/* A bounded FIFO channel of intptr_t items between tasks of one core
 * (asyncio.Queue with maxsize).  put awaits while full, get while empty;
 * a capacity of 0 makes every put a rendezvous with a get. */
#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tn_queue {
	struct tn_waitq getters, putters;
	intptr_t *items;
	size_t cap, head, len;
	bool closed;
};

/* 0 or -ENOMEM. Allocates the ring once. */
int tn_queue_init(struct tn_queue *q, size_t capacity);
/* Frees the ring; no task may be waiting. */
void tn_queue_fini(struct tn_queue *q);

/* 0, -ECANCELED, or -EPIPE once closed. */
int tn_queue_put(struct tn_queue *q, intptr_t item);
/* 0 with *item, -ECANCELED, or -EPIPE once closed and drained. */
int tn_queue_get(struct tn_queue *q, intptr_t *item);
/* Non-blocking forms: -EAGAIN instead of waiting. */
int tn_queue_try_put(struct tn_queue *q, intptr_t item);
int tn_queue_try_get(struct tn_queue *q, intptr_t *item);
/* Wakes every waiter: puts fail with -EPIPE, gets drain what is left. */
void tn_queue_close(struct tn_queue *q);
size_t tn_queue_len(const struct tn_queue *q);

#ifdef __cplusplus
}
#endif
#endif
