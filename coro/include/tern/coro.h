/* Tern's coroutine runtime: include this for all of coro/. */
#ifndef TERN_CORO_H
#define TERN_CORO_H

#include "ctxvar.h"
#include "error.h"
#include "future.h"
#include "queue.h"
#include "sched.h"
#include "scope.h"
#include "sync.h"
#include "task.h"
#include "timer.h"

#endif
