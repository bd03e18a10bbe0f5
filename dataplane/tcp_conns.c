/* /tern/tcp/conns[,CORE]: the TCP connections of the cores' stacks in
 * DPDK telemetry, each with its state, RTT, congestion window,
 * retransmissions and bytes (tn_tcp_conns).
 *
 * A stack's connections may be touched only by its core, so the
 * telemetry thread asks: it hands the core a request (a buffer it owns)
 * through an atomic pointer, and the core fills it in its stack phase
 * and marks it done.  The data path pays one relaxed load per turn; no
 * lock is taken there.  Requests are serialised by a mutex on the
 * telemetry side (DPDK runs a thread per telemetry client).  A core that
 * does not answer within a second (its loop has stopped) leaves the
 * request withdrawn and the command fails.
 *
 * The reply is a dict: "fields" names the numbers of every connection,
 * "states" the state numbers, "count" the connections the cores have,
 * "shown" how many follow, and one key per connection,
 * "A_B_C_D_LPORT/E_F_G_H_RPORT" (A.B.C.D our address, E.F.G.H the
 * peer's: telemetry's names have no '.' or ':'), with its numbers in the order of "fields".
 * At most TN_CONNS_SHOWN are shown (DPDK's reply is at most 16 KiB). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_telemetry.h>

#include <tern/tcp.h>

#include "tn_dp_internal.h"

#define TN_CONNS_SHOWN 32 /* 19 numbers of up to 20 digits each: fits */

struct tn_conns_req {
	struct tn_tcp_conn_entry *buf;
	unsigned max;
	unsigned count; /* filled by the core */
	int done;       /* set (release) by the core once buf is filled */
};

void tn__tcp_conns_serve(struct tn_core *c)
{
	/* Taking the request with an exchange: a withdrawing reader either
	 * gets it back first (and the core never touches it) or sees it
	 * gone and waits for done. */
	struct tn_conns_req *r = __atomic_exchange_n(&c->conns_req, NULL, __ATOMIC_ACQUIRE);

	if (!r)
		return;
	r->count = c->stack ? tn_tcp_conns(c->stack, r->buf, r->max) : 0;
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

/* Asks core c for up to max connections; their total count or -errno. */
static int ask_core(struct tn_core *c, struct tn_tcp_conn_entry *buf, unsigned max)
{
	struct tn_conns_req r = { .buf = buf, .max = max };
	struct tn_conns_req *expect = NULL;
	const struct timespec ms = { 0, 1000000 };
	unsigned i;

	if (!__atomic_compare_exchange_n(&c->conns_req, &expect, &r, false, __ATOMIC_RELEASE,
					 __ATOMIC_RELAXED))
		return -EBUSY; /* (only this file's mutex holder asks) */
	for (i = 0; i < 1000 && !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE); i++)
		nanosleep(&ms, NULL);
	if (__atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
		return (int)r.count;
	expect = &r;
	if (__atomic_compare_exchange_n(&c->conns_req, &expect, NULL, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
		return -ETIMEDOUT; /* withdrawn: the core never saw it */
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
		nanosleep(&ms, NULL); /* the core is filling it right now */
	return (int)r.count;
}

static const char *const fields[] = {
	"core", "state", "srtt_us", "rttvar_us", "rto_ms", "cwnd", "ssthresh", "mss",
	"snd_wnd", "rcv_wnd", "unacked", "retransmits", "fast_retransmits", "rto_expiries",
	"bytes_sent", "bytes_acked", "bytes_received", "segs_out", "segs_in",
};

static void add_conn(struct rte_tel_data *d, unsigned core, const struct tn_tcp_conn_entry *e)
{
	const struct tn_tcp_info *i = &e->info;
	const uint64_t v[] = {
		core, i->state, i->srtt_ns / 1000, i->rttvar_ns / 1000, i->rto_ns / 1000000,
		i->cwnd, i->ssthresh, i->mss, i->snd_wnd, i->rcv_wnd, i->unacked, i->retransmits,
		i->fast_retransmits, i->rto_expiries, i->bytes_sent, i->bytes_acked,
		i->bytes_received, i->segs_out, i->segs_in,
	};
	struct rte_tel_data *a = rte_tel_data_alloc();
	uint32_t la = rte_be_to_cpu_32(e->laddr), ra = rte_be_to_cpu_32(e->raddr);
	char key[RTE_TEL_MAX_STRING_LEN];
	size_t k;

	_Static_assert(RTE_DIM(v) == RTE_DIM(fields), "a field without a name");
	if (!a)
		return;
	rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
	for (k = 0; k < RTE_DIM(v); k++)
		rte_tel_data_add_array_u64(a, v[k]);
	/* (Telemetry's names allow only letters, digits, '_' and '/'.) */
	snprintf(key, sizeof(key), "%u_%u_%u_%u_%u/%u_%u_%u_%u_%u", la >> 24, (la >> 16) & 255,
		 (la >> 8) & 255, la & 255, e->lport, ra >> 24, (ra >> 16) & 255, (ra >> 8) & 255,
		 ra & 255, e->rport);
	if (rte_tel_data_add_dict_container(d, key, a, 0) != 0)
		rte_tel_data_free(a);
}

static int tel_conns(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct tn_tcp_conn_entry buf[TN_CONNS_SHOWN];
	struct tn_runtime *rt = tn__rt;
	unsigned lo = 0, hi, core, shown = 0, total = 0;
	struct rte_tel_data *names, *states;
	int n, err = 0;

	(void)cmd;
	if (!rt)
		return -EINVAL;
	hi = rt->ncores;
	if (params && *params) {
		char *end;
		unsigned long v = strtoul(params, &end, 10);

		if (*end || v >= rt->ncores)
			return -EINVAL;
		lo = (unsigned)v;
		hi = lo + 1;
	}
	names = rte_tel_data_alloc();
	states = rte_tel_data_alloc();
	if (!names || !states) {
		rte_tel_data_free(names);
		rte_tel_data_free(states);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_start_array(names, RTE_TEL_STRING_VAL);
	for (size_t k = 0; k < RTE_DIM(fields); k++)
		rte_tel_data_add_array_string(names, fields[k]);
	rte_tel_data_add_dict_container(d, "fields", names, 0);
	rte_tel_data_start_array(states, RTE_TEL_STRING_VAL);
	for (int st = TN_TCP_CLOSED; st <= TN_TCP_TIME_WAIT; st++)
		rte_tel_data_add_array_string(states, tn_tcp_state_name(st));
	rte_tel_data_add_dict_container(d, "states", states, 0);
	pthread_mutex_lock(&lock);
	for (core = lo; core < hi && !err; core++) {
		struct tn_core *c = rt->cores[core];

		if (!c || !__atomic_load_n(&c->stack, __ATOMIC_ACQUIRE))
			continue; /* no stack (no --ip), or it has ended */
		n = ask_core(c, buf, TN_CONNS_SHOWN - shown);
		if (n < 0) {
			err = n;
			break;
		}
		total += (unsigned)n;
		for (int k = 0; k < n && shown < TN_CONNS_SHOWN; k++, shown++)
			add_conn(d, core, &buf[k]);
	}
	pthread_mutex_unlock(&lock);
	if (err)
		return err;
	rte_tel_data_add_dict_u64(d, "count", total);
	rte_tel_data_add_dict_u64(d, "shown", shown);
	return 0;
}

void tn__tcp_conns_register(void)
{
	rte_telemetry_register_cmd("/tern/tcp/conns", tel_conns,
				   "Tern TCP connections: state, RTT, cwnd, retransmits, bytes. "
				   "Parameters: int core (one core's)");
}
