/* apps/latency_hist.h: quantiles within a bucket's precision, and
 * tn_hist_merge (per-core histograms merged by one core, tern-load on
 * several lcores) giving what one histogram of every sample gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "latency_hist.h"

static struct tn_hist a, b, all;

static void test_quantiles(void **state)
{
	(void)state;
	tn_hist_reset(&all);
	assert_int_equal(tn_hist_quantile(&all, 0.5), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		tn_hist_record(&all, v * 1000);
	assert_int_equal(all.count, 1000);
	assert_int_equal(all.max, 1000000);
	/* About 1.5 % below the true value at most (a bucket's floor). */
	assert_in_range(tn_hist_quantile(&all, 0.5), 492000, 501000);
	assert_in_range(tn_hist_quantile(&all, 0.99), 975000, 991000);
	assert_int_equal(tn_hist_quantile(&all, 1.0), 1000000 - 1000000 % 8192); /* 2^19 ..: 8192 wide */
}

static void test_merge(void **state)
{
	uint64_t x = 12345;

	(void)state;
	tn_hist_reset(&a);
	tn_hist_reset(&b);
	tn_hist_reset(&all);
	for (unsigned i = 0; i < 100000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t v = (x >> 33) % (i % 3 ? 50000 : 5000000); /* two populations */

		tn_hist_record(i % 2 ? &a : &b, v);
		tn_hist_record(&all, v);
	}
	tn_hist_merge(&a, &b);
	assert_int_equal(a.count, all.count);
	assert_int_equal(a.sum, all.sum);
	assert_int_equal(a.max, all.max);
	assert_memory_equal(a.b, all.b, sizeof(all.b));
	for (double q = 0; q <= 1.0; q += 0.05)
		assert_int_equal(tn_hist_quantile(&a, q), tn_hist_quantile(&all, q));
	/* Merging an empty one changes nothing; into an empty one copies. */
	tn_hist_reset(&b);
	tn_hist_merge(&a, &b);
	assert_memory_equal(&a, &all, sizeof(all));
	tn_hist_merge(&b, &all);
	assert_memory_equal(&b, &all, sizeof(all));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
