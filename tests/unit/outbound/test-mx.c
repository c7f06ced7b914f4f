/* MX ordering (RFC 5321 5.1) with an injected random source, null MX
   (RFC 7505), and MX lists that name this host. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dns.h"
#include "outbound.h"

static unsigned int always_zero(void *ctx, unsigned int n)
{
	return 0;
}

static unsigned int always_last(void *ctx, unsigned int n)
{
	return n - 1;
}

static void test_sort(void **state)
{
	struct dns_mx mx[] = {
		{ "c", 20 }, { "a", 10 }, { "b", 10 }, { "d", 30 }, { "e", 20 },
	};

	/* rnd = n-1 every time: Fisher-Yates keeps the sorted order */
	outbound_mx_sort(mx, 5, always_last, NULL);
	assert_int_equal(mx[0].preference, 10);
	assert_int_equal(mx[1].preference, 10);
	assert_int_equal(mx[2].preference, 20);
	assert_int_equal(mx[3].preference, 20);
	assert_string_equal(mx[4].host, "d");
	{
		const char *first = mx[0].host;

		/* rnd = 0: each run of equals is rotated; preferences stay */
		outbound_mx_sort(mx, 5, always_zero, NULL);
		assert_int_equal(mx[0].preference, 10);
		assert_int_equal(mx[2].preference, 20);
		assert_string_equal(mx[4].host, "d");
		assert_string_not_equal(mx[0].host, first);
	}
}

static void test_sort_spreads(void **state)
{
	unsigned int counts[3] = { 0, 0, 0 }, i;

	/* with random(): every host of equal preference comes first sometimes */
	srandom(1);
	for (i = 0; i < 300; i++) {
		struct dns_mx mx[] = { { "a", 5 }, { "b", 5 }, { "c", 5 }, { "z", 1 } };

		outbound_mx_sort(mx, 4, NULL, NULL);
		assert_string_equal(mx[0].host, "z");
		counts[mx[1].host[0] - 'a']++;
	}
	for (i = 0; i < 3; i++)
		assert_true(counts[i] > 50);
}

static bool self_is_me(void *ctx, const char *host)
{
	return strcmp(host, "me.test") == 0;
}

static void test_select(void **state)
{
	struct dns_mx null_mx[] = { { "", 0 } };
	struct dns_mx mixed[] = { { "", 0 }, { "mx.test", 10 } };
	struct dns_mx backup[] = { { "primary.test", 10 }, { "me.test", 20 }, { "other.test", 30 } };
	struct dns_mx best[] = { { "me.test", 10 }, { "other.test", 20 } };
	unsigned int n;

	assert_int_equal(outbound_mx_select(null_mx, 1, self_is_me, NULL, &n), OUTBOUND_MX_NULL);
	assert_int_equal(outbound_mx_select(mixed, 2, self_is_me, NULL, &n), OUTBOUND_MX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(mixed[0].host, "mx.test");
	/* we are a backup MX: only the more preferred ones remain */
	assert_int_equal(outbound_mx_select(backup, 3, self_is_me, NULL, &n), OUTBOUND_MX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(backup[0].host, "primary.test");
	/* we are the best MX of a domain that is not ours: a loop */
	assert_int_equal(outbound_mx_select(best, 2, self_is_me, NULL, &n), OUTBOUND_MX_LOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_sort_spreads),
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
