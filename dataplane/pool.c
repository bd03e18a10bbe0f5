/* Tern's mbuf pool, shaped for the ports that use it.
 *
 * net_af_xdp (DPDK 22.11, zero-copy mode) registers the pool itself as
 * the umem: from the page of the pool's first memory chunk, populated
 * size x object size bytes.  That assumes the objects lie back to back,
 * which a default pool does not promise: an object never crosses a page
 * (the pool wants IOVA-contiguous objects), so without hugepages each
 * 2,368-byte mbuf takes a 4 KiB page of its own and 16,383 of them span
 * 67 MB for a 39 MB umem.  The mbufs past the umem's end are "invalid
 * descriptors" to the kernel: their frames are dropped without a word
 * and the buffers never come back, from the TX ring as from the fill
 * ring.  A TCP transfer long enough to cycle through the pool stalls for
 * good (tests/dp_echo_tcp_test.sh over af_xdp did, tens of MB in).
 *
 * So for af_xdp every object is exactly a page (4 KiB, which also
 * divides every hugepage size) and memory channel spreading, which
 * would pad it, is off: the objects tile their memory with no gap and
 * never cross a page, and the umem covers them all. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memzone.h>
#include <rte_mempool.h>

#include "tn_dp_internal.h"

#define POOL_CACHE 256

struct umem_span {
	uintptr_t start, end;
	bool ok;
};

static void obj_in_span(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct umem_span *u = arg;
	uintptr_t o = (uintptr_t)obj;

	(void)idx;
	if (o - mp->header_size < u->start || o + mp->elt_size + mp->trailer_size > u->end)
		u->ok = false;
}

bool tn__pool_fits_umem(struct rte_mempool *mp)
{
	const struct rte_mempool_memhdr *h = STAILQ_FIRST(&mp->mem_list);
	size_t osz = rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL);
	struct umem_span u = { .ok = h != NULL };

	if (!u.ok)
		return false;
	/* As xdp_umem_configure computes it. */
	u.start = (uintptr_t)h->addr & ~((uintptr_t)getpagesize() - 1);
	u.end = (uintptr_t)h->addr + (size_t)mp->populated_size * osz;
	rte_mempool_obj_iter(mp, obj_in_span, &u);
	return u.ok;
}

static void mz_free(struct rte_mempool_memhdr *h, void *mz)
{
	(void)h;
	rte_memzone_free(mz);
}

/* rte_pktmbuf_pool_create with page-sized objects (and
 * RTE_MEMPOOL_F_NO_SPREAD, which it cannot take) on page-aligned memory
 * of our own: the default population starts the first object at the
 * page after a memzone that need not be page-aligned, leaving the last
 * one past the umem. */
static struct rte_mempool *page_pool(const char *name, unsigned n, int socket)
{
	struct rte_pktmbuf_pool_private priv = { 0 };
	const struct rte_memzone *mz = NULL;
	size_t page = (size_t)getpagesize();
	char mz_name[RTE_MEMZONE_NAMESIZE];
	struct rte_mempool_objsz sz;
	struct rte_mempool *mp;
	unsigned elt;
	int got;

	/* The header and trailer do not depend on the element's size. */
	rte_mempool_calc_obj_size(RTE_CACHE_LINE_SIZE, RTE_MEMPOOL_F_NO_SPREAD, &sz);
	elt = (unsigned)page - sz.header_size - sz.trailer_size;
	priv.mbuf_data_room_size = (uint16_t)(elt - sizeof(struct rte_mbuf));
	mp = rte_mempool_create_empty(name, n, elt, POOL_CACHE, sizeof(priv), socket,
				      RTE_MEMPOOL_F_NO_SPREAD);
	if (!mp)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL) != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	snprintf(mz_name, sizeof(mz_name), "%s_mem", name);
	mz = rte_memzone_reserve_aligned(mz_name, (size_t)n * page, socket, 0, page);
	if (!mz)
		goto fail;
	got = rte_mempool_populate_virt(mp, mz->addr, (size_t)n * page, page, mz_free,
					(void *)(uintptr_t)mz);
	if (got != (int)n) {
		if (mp->nb_mem_chunks == 0)
			rte_memzone_free(mz); /* else freeing mp frees it */
		goto fail;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = ENOMEM;
	return NULL;
}

struct rte_mempool *tn__pool_create(const char *name, unsigned n, int socket, bool af_xdp)
{
	struct rte_mempool *mp;

	if (!af_xdp)
		return rte_pktmbuf_pool_create(name, n, POOL_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					       socket);
	mp = page_pool(name, n, socket);
	if (mp && !tn__pool_fits_umem(mp)) {
		/* Memory in pieces: a second chunk lies elsewhere. */
		rte_mempool_free(mp);
		rte_errno = EFAULT;
		return NULL;
	}
	return mp;
}
