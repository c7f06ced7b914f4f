#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "auth-throttle.h"
#include "tern-limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const struct auth_throttle_settings test_set = {
	.window = 160,          /* 16 buckets of 10 s */
	.delay_after = 3,
	.block_after = 6,
	.block_time = 100,
	.account_limit = 10,
};

static struct sockaddr_storage addr4(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage addr6(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static enum auth_throttle_verdict check(struct auth_throttle *th, struct sockaddr_storage *ss,
					const char *account, time_t now, unsigned int *delay_r)
{
	unsigned int delay;

	enum auth_throttle_verdict v = auth_throttle_check(th, SA(*ss), account, now, &delay);
	if (delay_r != NULL)
		*delay_r = delay;
	return v;
}

static void test_clean_address_never_held(void **state)
{
	struct auth_throttle *th = auth_throttle_new(&test_set);
	struct sockaddr_storage a = addr4("192.0.2.1");
	unsigned int delay = 99;

	assert_int_equal(check(th, &a, "alice@example.test", 1000, &delay), AUTH_THROTTLE_OK);
	assert_int_equal(delay, 0);
	auth_throttle_free(&th);
	assert_null(th);
}

static void test_delay_then_block(void **state)
{
	struct auth_throttle *th = auth_throttle_new(&test_set);
	struct sockaddr_storage a = addr4("192.0.2.1");
	unsigned int i, delay, prev = 0;
	time_t now = 1000;

	/* below delay_after: no wait */
	for (i = 0; i < test_set.delay_after; i++) {
		assert_int_equal(check(th, &a, "x", now, &delay), AUTH_THROTTLE_OK);
		assert_int_equal(auth_throttle_failure(th, SA(a), "x", now), i + 1);
	}
	/* then a growing wait before each check */
	for (; i < test_set.block_after; i++) {
		assert_int_equal(check(th, &a, "x", now, &delay), AUTH_THROTTLE_DELAY);
		assert_true(delay >= 1000 && delay > prev);
		assert_true(delay <= AUTH_THROTTLE_MAX_DELAY_SECS * 1000);
		prev = delay;
		auth_throttle_failure(th, SA(a), "x", now);
	}
	/* then refused, even with another account name */
	assert_int_equal(check(th, &a, "bob", now, NULL), AUTH_THROTTLE_REFUSE);
	assert_int_equal(check(th, &a, NULL, now + 99, NULL), AUTH_THROTTLE_REFUSE);
	/* the block ends block_time after the last failure; the failures are
	   still in the window, so attempts wait again */
	assert_int_equal(check(th, &a, "x", now + 101, NULL), AUTH_THROTTLE_DELAY);
	/* and once the window has passed, the address is clean */
	assert_int_equal(check(th, &a, "x", now + 200, &delay), AUTH_THROTTLE_OK);
	assert_int_equal(auth_throttle_addr_failures(th, SA(a), now + 200), 0);
	auth_throttle_free(&th);
}

static void test_window_slides(void **state)
{
	struct auth_throttle *th = auth_throttle_new(&test_set);
	struct sockaddr_storage a = addr4("192.0.2.7");

	/* one failure every 60 s never piles up to delay_after within 160 s */
	for (time_t t = 0; t < 1200; t += 60) {
		assert_int_equal(check(th, &a, "x", 5000 + t, NULL), AUTH_THROTTLE_OK);
		assert_true(auth_throttle_failure(th, SA(a), "x", 5000 + t) <= 3);
	}
	/* failures in quick succession do */
	auth_throttle_failure(th, SA(a), "x", 7000);
	auth_throttle_failure(th, SA(a), "x", 7001);
	auth_throttle_failure(th, SA(a), "x", 7002);
	assert_int_equal(check(th, &a, "x", 7003, NULL), AUTH_THROTTLE_DELAY);
	auth_throttle_free(&th);
}

static void test_other_addresses_unaffected(void **state)
{
	struct auth_throttle *th = auth_throttle_new(&test_set);
	struct sockaddr_storage bad = addr4("198.51.100.9"), good = addr4("198.51.100.10");
	unsigned int i;

	for (i = 0; i < 50; i++)
		auth_throttle_failure(th, SA(bad), "alice@example.test", 1000);
	assert_int_equal(check(th, &bad, "alice@example.test", 1000, NULL), AUTH_THROTTLE_REFUSE);
	/* the account is under attack, but a clean address still gets in:
	   no lockout a stranger can cause */
	assert_int_equal(check(th, &good, "alice@example.test", 1000, NULL), AUTH_THROTTLE_OK);
	auth_throttle_free(&th);
}

static void test_account_limit_refuses_failing_addresses(void **state)
{
	struct auth_throttle *th = auth_throttle_new(&test_set);
	char ip[32];
	unsigned int i;
	struct sockaddr_storage a, once = addr4("203.0.113.200");

	/* a distributed guesser: many addresses, one failure each */
	for (i = 0; i < test_set.account_limit; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%u", i + 1);
		a = addr4(ip);
		auth_throttle_failure(th, SA(a), "Alice@Example.test", 2000);
	}
	assert_int_equal(auth_throttle_account_failures(th, "alice@example.test", 2000),
			 test_set.account_limit);
	/* an address that failed before is refused for that account... */
	auth_throttle_failure(th, SA(once), "someone-else", 2000);
	assert_int_equal(check(th, &once, "alice@example.test", 2001, NULL), AUTH_THROTTLE_REFUSE);
	/* ...but not for another */
	assert_int_equal(check(th, &once, "bob@example.test", 2001, NULL), AUTH_THROTTLE_OK);
	/* and a clean address is never refused */
	a = addr4("192.0.2.55");
	assert_int_equal(check(th, &a, "alice@example.test", 2001, NULL), AUTH_THROTTLE_OK);
	auth_throttle_free(&th);
}

static void test_ipv6_per_64(void **state)
{
	struct auth_throttle *th = auth_throttle_new(&test_set);
	struct sockaddr_storage a = addr6("2001:db8:1:2::1"), b = addr6("2001:db8:1:2:ffff::7"),
		other = addr6("2001:db8:1:3::1"), mapped = addr6("::ffff:192.0.2.1"),
		v4 = addr4("192.0.2.1");
	unsigned int i;

	for (i = 0; i < test_set.block_after; i++)
		auth_throttle_failure(th, SA(a), "x", 3000);
	/* the whole /64 is one client */
	assert_int_equal(check(th, &b, "x", 3000, NULL), AUTH_THROTTLE_REFUSE);
	assert_int_equal(check(th, &other, "x", 3000, NULL), AUTH_THROTTLE_OK);
	/* an IPv4-mapped address is its IPv4 address */
	for (i = 0; i < test_set.block_after; i++)
		auth_throttle_failure(th, SA(mapped), "x", 3000);
	assert_int_equal(check(th, &v4, "x", 3000, NULL), AUTH_THROTTLE_REFUSE);
	auth_throttle_free(&th);
}

static void test_memory_bounded(void **state)
{
	struct auth_throttle *th = auth_throttle_new(&test_set);
	struct sockaddr_storage a, first = addr6("2001:db8::1"), last;
	unsigned int i, n = AUTH_THROTTLE_MAX_ENTRIES + 1000;
	char ip[64];

	/* more distinct failing addresses than the table holds, all recent:
	   the oldest are forgotten, the newest kept */
	for (i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
		a = addr6(ip);
		if (i == 0)
			first = a;
		auth_throttle_failure(th, SA(a), NULL, 10000 + (time_t)i / 1000);
		last = a;
	}
	assert_int_equal(auth_throttle_addr_failures(th, SA(first), 10000 + n / 1000), 0);
	assert_int_equal(auth_throttle_addr_failures(th, SA(last), 10000 + n / 1000), 1);
	auth_throttle_free(&th);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_address_never_held),
		cmocka_unit_test(test_delay_then_block),
		cmocka_unit_test(test_window_slides),
		cmocka_unit_test(test_other_addresses_unaffected),
		cmocka_unit_test(test_account_limit_refuses_failing_addresses),
		cmocka_unit_test(test_ipv6_per_64),
		cmocka_unit_test(test_memory_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
