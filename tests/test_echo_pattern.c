/* apps/echo_pattern.h: the pattern's bytes are the payload's formula
 * (seq * 131 + i * 7 mod 256, after the stamp) for every seq residue
 * and offset, so the clients' copies and comparisons are what the
 * byte loop they replace wrote and checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "echo_pattern.h"

#define SIZE 300u
#define FROM 24u

static uint8_t pat[ECHO_PATTERN_LEN(SIZE)];

static void test_formula(void **state)
{
	static const uint64_t big[] = { 1ull << 32, (1ull << 63) + 5, UINT64_MAX };

	(void)state;
	echo_pattern_init(pat, sizeof(pat));
	for (unsigned k = 0; k < 1024 + sizeof(big) / sizeof(big[0]); k++) {
		uint64_t s = k < 1024 ? k : big[k - 1024];
		const uint8_t *p = echo_pattern_at(pat, s, FROM);

		/* The last byte read stays inside the pattern. */
		assert_true(p + (SIZE - FROM) <= pat + sizeof(pat));
		for (unsigned i = FROM; i < SIZE; i++)
			assert_int_equal(p[i - FROM], (uint8_t)(s * 131 + i * 7));
	}
}

/* echo_pattern_fill writes the formula's bytes after the stamp and
 * nothing before; echo_pattern_ok accepts them and refuses any one byte
 * changed; a payload that is all stamp has nothing to check. */
static void test_fill_ok(void **state)
{
	uint8_t p[SIZE];

	(void)state;
	echo_pattern_init(pat, sizeof(pat));
	memset(p, 0xee, sizeof(p));
	echo_pattern_fill(pat, p, SIZE, 77, FROM);
	for (unsigned i = 0; i < SIZE; i++)
		assert_int_equal(p[i], i < FROM ? 0xee : (uint8_t)(77 * 131 + i * 7));
	assert_true(echo_pattern_ok(pat, p, SIZE, 77, FROM));
	assert_false(echo_pattern_ok(pat, p, SIZE, 78, FROM));
	for (unsigned i = FROM; i < SIZE; i += 37) {
		p[i] ^= 1;
		assert_false(echo_pattern_ok(pat, p, SIZE, 77, FROM));
		p[i] ^= 1;
	}
	p[0] ^= 1; /* the stamp is not the pattern's */
	assert_true(echo_pattern_ok(pat, p, SIZE, 77, FROM));
	assert_true(echo_pattern_ok(pat, p, FROM, 78, FROM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formula),
		cmocka_unit_test(test_fill_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
