#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "utf8.h"

static void assert_sanitized(const char *in, size_t len, const char *expected)
{
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(utf8_sanitize(in, len, &b), 0);
	assert_int_equal(buf_len(&b), strlen(expected));
	assert_memory_equal(b.data, expected, strlen(expected));
	assert_true(utf8_is_valid(b.data, b.used));
	buf_free(&b);
}

static void test_valid(void **state)
{
	assert_true(utf8_is_valid("", 0));
	assert_true(utf8_is_valid("plain ascii text that is long enough", 36));
	assert_true(utf8_is_valid("caf\xc3\xa9", 5));
	assert_true(utf8_is_valid("\xe2\x82\xac", 3));             /* U+20AC */
	assert_true(utf8_is_valid("\xf0\x9f\x98\x80", 4));         /* U+1F600 */
	assert_true(utf8_is_valid("\xf4\x8f\xbf\xbf", 4));         /* U+10FFFF */
	assert_true(utf8_is_valid("\xef\xbf\xbd", 3));
	assert_true(utf8_is_valid("a\0b", 3));
}

static void test_invalid(void **state)
{
	assert_false(utf8_is_valid("\x80", 1));
	assert_false(utf8_is_valid("\xc0\x80", 2));                /* overlong NUL */
	assert_false(utf8_is_valid("\xc1\xbf", 2));
	assert_false(utf8_is_valid("\xe0\x80\xaf", 3));            /* overlong */
	assert_false(utf8_is_valid("\xed\xa0\x80", 3));            /* surrogate */
	assert_false(utf8_is_valid("\xf0\x8f\xbf\xbf", 4));        /* overlong */
	assert_false(utf8_is_valid("\xf4\x90\x80\x80", 4));        /* > U+10FFFF */
	assert_false(utf8_is_valid("\xf5\x80\x80\x80", 4));
	assert_false(utf8_is_valid("\xe2\x82", 2));                /* truncated */
	assert_false(utf8_is_valid("abcdefgh\xffijklmnop", 17));
	assert_false(utf8_is_valid("caf\xe9", 4));                 /* latin-1 */
}

static void test_sanitize(void **state)
{
	assert_sanitized("hello", 5, "hello");
	assert_sanitized("caf\xe9", 4, "caf\xef\xbf\xbd");
	/* one U+FFFD per maximal ill-formed subpart */
	assert_sanitized("a\xe2\x82" "b", 4, "a\xef\xbf\xbd" "b");
	assert_sanitized("a\xe2\x82", 3, "a\xef\xbf\xbd");
	assert_sanitized("\xc0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	assert_sanitized("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_sanitized("\xf0\x9f\x98", 3, "\xef\xbf\xbd");
	assert_sanitized("\xf0\x9f\x98\x80x", 5, "\xf0\x9f\x98\x80x");
	assert_sanitized("\xff\xfe", 2, "\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_sanitize_limit(void **state)
{
	buf_t b;

	buf_init(&b, 4);
	assert_int_equal(utf8_sanitize("ab\xff", 3, &b), -1);
	buf_free(&b);
	buf_init(&b, 5);
	assert_int_equal(utf8_sanitize("ab\xff", 3, &b), 0);
	assert_string_equal(buf_str(&b), "ab\xef\xbf\xbd");
	buf_free(&b);
}

static void test_codepoints(void **state)
{
	static const uint32_t cps[] = { 0, 0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xfffd,
					0xffff, 0x10000, 0x1f600, 0x10ffff };
	unsigned char out[4];
	uint32_t cp;
	size_t i, n;
	buf_t b;

	for (i = 0; i < N_ELEMENTS(cps); i++) {
		n = utf8_encode_char(cps[i], out);
		assert_true(utf8_is_valid(out, n));
		assert_int_equal(utf8_decode_char(out, n, &cp), n);
		assert_int_equal(cp, cps[i]);
	}
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(utf8_append_codepoint(&b, 0x20ac), 0);
	assert_int_equal(utf8_append_codepoint(&b, 0xd800), 0);     /* surrogate */
	assert_int_equal(utf8_append_codepoint(&b, 0x110000), 0);   /* too big */
	assert_string_equal(buf_str(&b), "\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd");
	buf_free(&b);

	assert_int_equal(utf8_decode_char((const unsigned char *)"\xe2\x82", 2, &cp), 1);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(utf8_decode_char((const unsigned char *)"\x80", 1, &cp), 1);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(utf8_strlen("a\xc3\xa9\xe2\x82\xac", 6), 3);
}

static void test_complete_prefix(void **state)
{
	assert_int_equal(utf8_complete_prefix("abc", 3), 3);
	assert_int_equal(utf8_complete_prefix("ab\xe2", 3), 2);
	assert_int_equal(utf8_complete_prefix("ab\xe2\x82", 4), 2);
	assert_int_equal(utf8_complete_prefix("ab\xe2\x82\xac", 5), 5);
	assert_int_equal(utf8_complete_prefix("\xf0\x9f\x98", 3), 0);
	assert_int_equal(utf8_complete_prefix("ab\xe2\x41", 4), 4);    /* invalid, not waiting */
	assert_int_equal(utf8_complete_prefix("ab\xff", 3), 3);
	assert_int_equal(utf8_complete_prefix("ab\xed\xa0", 4), 4);    /* surrogate start */
	assert_int_equal(utf8_complete_prefix("", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_limit),
		cmocka_unit_test(test_codepoints),
		cmocka_unit_test(test_complete_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
