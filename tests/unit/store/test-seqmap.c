/*
 * The run-length sequence map (src/store/seqmap.c) against a plain array,
 * through random appends and removals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "seqmap.h"

#define MAXN 3000

static void check(const struct seqmap *m, const uint32_t *ref, uint32_t n)
{
	uint32_t i, probe;

	assert_int_equal(seqmap_count(m), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(seqmap_seq_to_uid(m, i + 1), ref[i]);
		assert_int_equal(seqmap_uid_to_seq(m, ref[i]), i + 1);
	}
	assert_int_equal(seqmap_seq_to_uid(m, 0), 0);
	assert_int_equal(seqmap_seq_to_uid(m, n + 1), 0);
	assert_int_equal(seqmap_last_uid(m), n == 0 ? 0 : ref[n - 1]);
	/* ceil and next for UIDs in and between */
	for (probe = 0; probe <= (n == 0 ? 3 : ref[n - 1] + 2); probe += 7) {
		uint32_t k = 0;

		while (k < n && ref[k] < probe)
			k++;
		assert_int_equal(seqmap_uid_to_seq_ceil(m, probe), k + 1);
		assert_int_equal(seqmap_next_uid(m, probe), k < n ? ref[k] : 0);
		if (k < n && ref[k] == probe)
			continue;
		if (probe > 0)
			assert_int_equal(seqmap_uid_to_seq(m, probe), 0);
	}
}

static void test_random(void **state)
{
	struct seqmap m;
	static uint32_t ref[MAXN];
	uint32_t n = 0, next = 1, round;
	unsigned int seed = 12345;

	seqmap_init(&m);
	for (round = 0; round < 4000; round++) {
		unsigned int r = (unsigned int)rand_r(&seed);

		if (n < 5 || r % 3 != 0) {
			/* mostly consecutive UIDs, sometimes a gap */
			next += r % 11 == 0 ? 1 + r % 5 : 0;
			if (n < MAXN) {
				seqmap_append(&m, next);
				ref[n++] = next++;
			}
		} else {
			uint32_t i = (uint32_t)(r / 3) % n;

			assert_int_equal(seqmap_remove(&m, ref[i]), i + 1);
			memmove(ref + i, ref + i + 1, sizeof(uint32_t) * (n - i - 1));
			n--;
			assert_int_equal(seqmap_remove(&m, 999999), 0);
		}
		if (round % 97 == 0)
			check(&m, ref, n);
	}
	check(&m, ref, n);
	while (n > 0) {
		assert_int_equal(seqmap_remove(&m, ref[n / 2]), n / 2 + 1);
		memmove(ref + n / 2, ref + n / 2 + 1, sizeof(uint32_t) * (n - n / 2 - 1));
		n--;
	}
	check(&m, ref, 0);
	seqmap_free(&m);
}

/* Consecutive UIDs cost one run whatever their number. */
static void test_small(void **state)
{
	struct seqmap m;
	uint32_t uid;

	seqmap_init(&m);
	for (uid = 1; uid <= 100000; uid++)
		seqmap_append(&m, uid);
	assert_int_equal(m.run_count, 1);
	assert_true(seqmap_memory(&m) <= 64);
	assert_int_equal(seqmap_remove(&m, 50000), 50000);
	assert_int_equal(m.run_count, 2);
	assert_int_equal(seqmap_seq_to_uid(&m, 50000), 50001);
	assert_int_equal(seqmap_uid_to_seq(&m, 100000), 99999);
	seqmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
