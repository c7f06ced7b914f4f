#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "date.h"

/* 2003-07-01 10:52:37 UTC */
#define T_2003 1057056757

static void assert_parses(const char *value, time_t expected, int expected_offset)
{
	time_t t = 0;
	int off = 12345;

	if (msg_date_parse(value, strlen(value), &t, &off) < 0)
		fail_msg("\"%s\" did not parse", value);
	if (t != expected || off != expected_offset)
		fail_msg("\"%s\": got %lld %d, expected %lld %d", value, (long long)t, off,
			 (long long)expected, expected_offset);
}

static void assert_invalid(const char *value)
{
	time_t t;
	int off;

	if (msg_date_parse(value, strlen(value), &t, &off) == 0)
		fail_msg("\"%s\" parsed as %lld", value, (long long)t);
}

static void test_rfc5322_forms(void **state)
{
	assert_parses("Tue, 1 Jul 2003 10:52:37 +0000", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 12:52:37 +0200", T_2003, 120);
	assert_parses("Tue, 1 Jul 2003 12:52:37 +0200 (CEST)", T_2003, 120);
	assert_parses("Tue, 01 Jul 2003 05:22:37 -0530", T_2003, -330);
	assert_parses("1 Jul 2003 10:52:37 +0000", T_2003, 0);               /* no weekday */
	assert_parses("Tue, 1 Jul 2003 10:52 +0000", T_2003 - 37, 0);        /* no seconds */
	assert_parses("tue, 1 JUL 2003 10:52:37 +0000", T_2003, 0);
	assert_parses("Tue, 1 July 2003 10:52:37 +0000", T_2003, 0);
	assert_parses("Tuesday, 1 Jul 2003 10:52:37 +0000", T_2003, 0);
	assert_parses("Thu, 01 Jan 1970 00:00:00 +0000", 0, 0);
	assert_parses("Wed, 31 Dec 1969 23:59:59 +0000", -1, 0);
	assert_parses("Sat, 29 Feb 2020 12:00:00 +0000", 1582977600, 0);
	assert_parses("Mon, 23 Nov 2026 10:51:40 +0100", 1795427500, 60);
	assert_parses("Tue, 1 Jul 2003 10:52:60 +0000", T_2003 + 23, 0);     /* leap second */
	assert_parses("Sun, 1 Jan 2040 00:00:00 +0000", 2208988800LL, 0);    /* past 2038 */
}

static void test_obsolete_forms(void **state)
{
	/* RFC 5322 4.3: 2- and 3-digit years */
	assert_parses("Tue, 1 Jul 03 10:52:37 +0000", T_2003, 0);
	assert_parses("Thu, 1 Jul 99 10:52:37 +0000", 930826357, 0);
	assert_parses("Tue, 1 Jul 103 10:52:37 +0000", T_2003, 0);
	assert_parses("Thu, 1 Jul 49 00:00:00 +0000", 2508710400LL, 0);
	assert_parses("Fri, 1 Jul 50 00:00:00 +0000", -615513600LL, 0);
	/* obsolete zones */
	assert_parses("Tue, 1 Jul 2003 10:52:37 GMT", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 10:52:37 UT", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 10:52:37 UTC", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 06:52:37 EDT", T_2003, -240);
	assert_parses("Tue, 1 Jul 2003 05:52:37 EST", T_2003, -300);
	assert_parses("Tue, 1 Jul 2003 05:52:37 CDT", T_2003, -300);
	assert_parses("Tue, 1 Jul 2003 04:52:37 CST", T_2003, -360);
	assert_parses("Tue, 1 Jul 2003 04:52:37 MDT", T_2003, -360);
	assert_parses("Tue, 1 Jul 2003 03:52:37 MST", T_2003, -420);
	assert_parses("Tue, 1 Jul 2003 03:52:37 PDT", T_2003, -420);
	assert_parses("Tue, 1 Jul 2003 02:52:37 pst", T_2003, -480);
	/* military letters and unknown names are -0000 */
	assert_parses("Tue, 1 Jul 2003 10:52:37 A", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 10:52:37 Z", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 10:52:37 CEST", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 10:52:37", T_2003, 0);                /* no zone */
	assert_parses("Tue, 1 Jul 2003 10:52:37 -0000", T_2003, 0);
}

static void test_real_world(void **state)
{
	/* comments and folding whitespace anywhere */
	assert_parses("(comment) Tue, (x) 1 (y) Jul (z)\r\n 2003 10:52:37 +0000 (UTC)", T_2003, 0);
	assert_parses("  Tue,\r\n\t1 Jul 2003\r\n 10:52:37\r\n +0000  ", T_2003, 0);
	assert_parses("Tue,1 Jul 2003 10:52:37 +0000", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 10 : 52 : 37 +0000", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 10:52:37 (nested (comment \\) here)) +0000", T_2003, 0);
	/* separators other mailers use */
	assert_parses("Tue, 1-Jul-2003 10:52:37 +0000", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003, 10:52:37 +0000", T_2003, 0);
	assert_parses("Tue. 1 Jul 2003 10.52.37 +0000", T_2003, 0);
	/* zones written other ways */
	assert_parses("Tue, 1 Jul 2003 12:52:37 +02:00", T_2003, 120);
	assert_parses("Tue, 1 Jul 2003 12:52:37 +02", T_2003, 120);
	assert_parses("Tue, 1 Jul 2003 02:52:37 -800", T_2003, -480);
	assert_parses("Tue, 1 Jul 2003 12:52:37 GMT+0200", T_2003, 120);
	assert_parses("Tue, 1 Jul 2003 12:52:37 MET DST", T_2003 + 7200, 0);
	/* asctime */
	assert_parses("Tue Jul  1 10:52:37 2003", T_2003, 0);
	assert_parses("Tue Jul 1 12:52:37 +0200 2003", T_2003, 120);
	assert_parses("Jul 1 10:52:37 2003", T_2003, 0);
	/* trailing garbage after a valid date */
	assert_parses("Tue, 1 Jul 2003 10:52:37 +0000 garbage here", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 10:52:37 +0000; x", T_2003, 0);
	assert_parses("Tue, 1 Jul 2003 12:52:37 +0200 +0300", T_2003, 120);
	assert_parses("Tue, 1 Jul 2003 10:52:37 +0000\r\n", T_2003, 0);
	/* weekday that does not match is ignored */
	assert_parses("Fri, 1 Jul 2003 10:52:37 +0000", T_2003, 0);
}

static void test_invalid(void **state)
{
	assert_invalid("");
	assert_invalid("   ");
	assert_invalid("(just a comment)");
	assert_invalid("garbage");
	assert_invalid("Tue, 1 Jul 2003");                     /* no time */
	assert_invalid("Tue, 1 Jul 2003 10");
	assert_invalid("Tue, 1 Jul 2003 10:");
	assert_invalid("Tue, 32 Jul 2003 10:52:37 +0000");
	assert_invalid("Tue, 0 Jul 2003 10:52:37 +0000");
	assert_invalid("Tue, 1 Jux 2003 10:52:37 +0000");
	assert_invalid("Tue, 1 Ju 2003 10:52:37 +0000");
	assert_invalid("Tue, 1 Jul 2003 24:00:00 +0000");
	assert_invalid("Tue, 1 Jul 2003 10:60:00 +0000");
	assert_invalid("Tue, 1 Jul 2003 10:52:61 +0000");
	assert_invalid("Tue, 1 Jul 2003 10:52:37 +2400");
	assert_invalid("Tue, 1 Jul 2003 10:52:37 +0060");
	assert_invalid("Tue, 1 Jul 2003 10:52:37 +12345");
	assert_invalid("Tue, 1 Jul 2003 10:52:37 + 0200");
	assert_invalid("Tue, 1 Jul 20033 10:52:37 +0000");
	assert_invalid("Tue, 1 Jul 3 10:52:37 +0000");
	assert_invalid("Tue, 123 Jul 2003 10:52:37 +0000");
	assert_invalid("Tue, Jul 2003 10:52:37 +0000");
	assert_invalid("Tue, 1 Jul 2003 100:52:37 +0000");
	assert_invalid("2003-07-01T10:52:37Z");
	assert_invalid("Tue, 1 Jul 2003 99999999999999999999:52:37 +0000");
}

static void test_embedded_nul(void **state)
{
	static const char v[] = "Tue, 1 Jul 2003 10:52:37 +0000";
	time_t t;
	int off;

	/* only len bytes are looked at */
	assert_int_equal(msg_date_parse(v, 15, &t, &off), -1);
	assert_int_equal(msg_date_parse(v, 21, &t, &off), 0);
	assert_int_equal(t, T_2003 - 37);
	assert_int_equal(msg_date_parse(v, sizeof(v) - 1, &t, NULL), 0);
}

static void test_format(void **state)
{
	char buf[MSG_DATE_MAX];

	assert_string_equal(msg_date_format(T_2003, 0, buf), "Tue, 1 Jul 2003 10:52:37 +0000");
	assert_string_equal(msg_date_format(T_2003, 120, buf), "Tue, 1 Jul 2003 12:52:37 +0200");
	assert_string_equal(msg_date_format(T_2003, -330, buf), "Tue, 1 Jul 2003 05:22:37 -0530");
	assert_string_equal(msg_date_format(T_2003, -660, buf), "Mon, 30 Jun 2003 23:52:37 -1100");
	assert_string_equal(msg_date_format(1795427500, 60, buf), "Mon, 23 Nov 2026 10:51:40 +0100");
	assert_string_equal(msg_date_format(0, 0, buf), "Thu, 1 Jan 1970 00:00:00 +0000");
	assert_string_equal(msg_date_format(-1, 0, buf), "Wed, 31 Dec 1969 23:59:59 +0000");
	assert_string_equal(msg_date_format_iso8601(1795427500, 60, buf), "2026-11-23T10:51:40+01:00");
	assert_string_equal(msg_date_format_iso8601(T_2003, -330, buf), "2003-07-01T05:22:37-05:30");
	assert_string_equal(msg_date_format_imap(T_2003, 120, buf), " 1-Jul-2003 12:52:37 +0200");
	/* extreme values are clamped, not overflowed */
	assert_string_equal(msg_date_format((time_t)INT64_MAX, 0, buf), "Thu, 30 Dec 9999 00:00:00 +0000");
	msg_date_format((time_t)INT64_MIN, 0, buf);
	assert_true(strlen(buf) < MSG_DATE_MAX);
}

static void test_roundtrip(void **state)
{
	static const int offsets[] = { 0, 60, -300, 330, -720, 840, 1439, -1439 };
	char buf[MSG_DATE_MAX];
	time_t t, t2;
	int64_t step = 86400 * 37 + 3607;
	size_t i;
	int off;

	for (t = -2208988800LL; t < 4102444800LL; t += step) {
		for (i = 0; i < N_ELEMENTS(offsets); i++) {
			msg_date_format(t, offsets[i], buf);
			assert_int_equal(msg_date_parse(buf, strlen(buf), &t2, &off), 0);
			assert_int_equal(t2, t);
			assert_int_equal(off, offsets[i]);
		}
	}
}

static void test_civil(void **state)
{
	int64_t days, y;
	int m, d;

	assert_int_equal(msg_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(msg_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(msg_days_from_civil(1969, 12, 31), -1);
	for (days = -800000; days < 800000; days += 97) {
		msg_civil_from_days(days, &y, &m, &d);
		assert_int_equal(msg_days_from_civil(y, m, d), days);
	}
}

static void test_local_offset(void **state)
{
	int off = msg_date_local_offset(T_2003);

	assert_true(off > -24 * 60 && off < 24 * 60);
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(msg_date_local_offset(T_2003), 0);
	setenv("TZ", "Europe/Helsinki", 1);
	tzset();
	assert_int_equal(msg_date_local_offset(T_2003), 180);   /* EEST */
	assert_int_equal(msg_date_local_offset(1041379200), 120);   /* 2003-01-01: EET */
	unsetenv("TZ");
	tzset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5322_forms),
		cmocka_unit_test(test_obsolete_forms),
		cmocka_unit_test(test_real_world),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_local_offset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
