/* The mbuf pool (dataplane/pool.c): with an af_xdp port, every mbuf must
 * lie inside the umem net_af_xdp makes of the pool (from the page of its
 * first chunk, populated size x object size bytes), or the kernel drops
 * the frames of the ones outside as invalid descriptors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "eal_test.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tn_dp_internal.h"

#define N 16383u /* tern's default --mbufs */

static int group_setup(void **state)
{
	(void)state;
	return tn_test_eal_init("tn_test_pool", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	tn_test_eal_fini();
	return 0;
}

/* Why af_xdp needs a pool of its own: without hugepages the default
 * pool puts each object on a page of its own, and the umem computed from
 * the object size ends well before the pool does. */
static void test_default_pool_overruns_umem(void **state)
{
	struct rte_mempool *mp = tn__pool_create("test_pool_d", N, SOCKET_ID_ANY, false);

	(void)state;
	assert_non_null(mp);
	assert_int_equal(rte_pktmbuf_data_room_size(mp), RTE_MBUF_DEFAULT_BUF_SIZE);
	assert_false(tn__pool_fits_umem(mp));
	rte_mempool_free(mp);
}

/* The af_xdp pool: page-sized objects, page-aligned, all inside the
 * umem; every mbuf can be taken, with the usual headroom and at least
 * the usual data room. */
static void test_af_xdp_pool_fits_umem(void **state)
{
	static struct rte_mbuf *m[N];
	struct rte_mempool *mp = tn__pool_create("test_pool_x", N, SOCKET_ID_ANY, true);
	uintptr_t page = (uintptr_t)getpagesize();
	unsigned i;

	(void)state;
	assert_non_null(mp);
	assert_true(tn__pool_fits_umem(mp));
	assert_int_equal(rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL), page);
	assert_true(rte_pktmbuf_data_room_size(mp) >= RTE_MBUF_DEFAULT_BUF_SIZE);
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, m, N), 0);
	for (i = 0; i < N; i++) {
		assert_int_equal(((uintptr_t)m[i] - mp->header_size) % page, 0);
		assert_int_equal(rte_pktmbuf_headroom(m[i]), RTE_PKTMBUF_HEADROOM);
	}
	rte_pktmbuf_free_bulk(m, N);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
	rte_mempool_free(mp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_pool_overruns_umem),
		cmocka_unit_test(test_af_xdp_pool_fits_umem),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
