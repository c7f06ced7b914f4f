/* SRS: forward and reverse, SRS1 for a second forwarder, forged and stale
   addresses refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "srs.h"

#define DAY 86400
static const struct srs srs = {
	(const unsigned char *)"0123456789abcdef", 16, "fwd.example.net", 21
};
static const struct srs other = {
	(const unsigned char *)"another secret", 14, "second.example", 21
};

static void test_roundtrip(void **state)
{
	struct arena *arena = arena_new(0);
	time_t now = 1800000000;
	const char *fwd, *orig, *error;
	char *lower;

	fwd = srs_forward(arena, &srs, "alice=x@example.org", now);
	assert_non_null(fwd);
	assert_true(strncmp(fwd, "SRS0=", 5) == 0);
	assert_non_null(strstr(fwd, "=example.org=alice=x@fwd.example.net"));
	assert_int_equal(srs_reverse(arena, &srs, fwd, now + 3 * DAY, &orig, &error), 1);
	assert_string_equal(orig, "alice=x@example.org");
	/* a system that lowercases the address on the way back */
	lower = arena_strdup(arena, fwd);
	i_str_lower(lower);
	assert_int_equal(srs_reverse(arena, &srs, lower, now, &orig, &error), 1);
	/* too old, forged, other secret */
	assert_int_equal(srs_reverse(arena, &srs, fwd, now + 30 * DAY, &orig, &error), -1);
	assert_string_equal(error, "SRS address too old");
	lower[5] = lower[5] == 'a' ? 'b' : 'a';
	assert_int_equal(srs_reverse(arena, &srs, lower, now, &orig, &error), -1);
	assert_int_equal(srs_reverse(arena, &srs, "SRS0=AAAAAA=AA=evil.test=x@fwd.example.net",
				     now, &orig, &error), -1);
	assert_int_equal(srs_reverse(arena, &srs, "SRS0=broken@fwd.example.net", now, &orig,
				     &error), -1);
	/* not SRS, or not ours */
	assert_int_equal(srs_reverse(arena, &srs, "bob@fwd.example.net", now, &orig, &error), 0);
	assert_int_equal(srs_reverse(arena, &srs, fwd, now, &orig, &error), 1);
	assert_int_equal(srs_reverse(arena, &other, fwd, now, &orig, &error), 0);
	/* nothing to do for the null sender and our own domain */
	assert_null(srs_forward(arena, &srs, "", now));
	assert_null(srs_forward(arena, &srs, "bob@FWD.example.net", now));
	arena_free(&arena);
}

static void test_srs1(void **state)
{
	struct arena *arena = arena_new(0);
	time_t now = 1800000000;
	const char *first, *second, *third, *back, *error;

	/* forwarded twice: the second forwarder makes SRS1 pointing at the first */
	first = srs_forward(arena, &srs, "alice@example.org", now);
	second = srs_forward(arena, &other, first, now);
	assert_true(strncmp(second, "SRS1=", 5) == 0);
	assert_non_null(strstr(second, "=fwd.example.net==")) ;
	/* and a third keeps the first forwarder's host */
	third = srs_forward(arena, &srs, second, now);
	assert_non_null(strstr(third, "=fwd.example.net=="));
	/* the bounce goes back to the first forwarder, which undoes its SRS0 */
	assert_int_equal(srs_reverse(arena, &other, second, now, &back, &error), 1);
	assert_string_equal(back, first);
	assert_int_equal(srs_reverse(arena, &srs, back, now, &back, &error), 1);
	assert_string_equal(back, "alice@example.org");
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_srs1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
