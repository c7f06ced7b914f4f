#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "charset.h"
#include "utf8.h"

#include <pthread.h>

#define FFFD "\xef\xbf\xbd"

/* convert in one call, then again through a translation fed one byte at a
   time and in 2- and 3-byte pieces: all must give `expected` */
static void assert_converts(const char *charset, const char *in, size_t len, const char *expected)
{
	struct charset_translation *t;
	size_t step, i, n;
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(charset_to_utf8(charset, in, len, &b), 0);
	if (strcmp(buf_str(&b), expected) != 0)
		fail_msg("%s: got \"%s\", expected \"%s\"", charset, buf_str(&b), expected);
	assert_true(utf8_is_valid(b.data, b.used));
	for (step = 1; step <= 3; step++) {
		buf_reset(&b);
		t = charset_translation_new(charset);
		assert_non_null(t);
		for (i = 0; i < len; i += n) {
			n = I_MIN(step, len - i);
			assert_int_equal(charset_translate_more(t, in + i, n, &b), 0);
		}
		assert_int_equal(charset_translate_finish(t, &b), 0);
		charset_translation_free(&t);
		assert_null(t);
		if (strcmp(buf_str(&b), expected) != 0)
			fail_msg("%s in %zu-byte steps: got \"%s\"", charset, step, buf_str(&b));
	}
	buf_free(&b);
}

#define CONV(cs, in, expected) assert_converts(cs, in, sizeof(in) - 1, expected)

static void test_latin1_cp1252(void **state)
{
	CONV("iso-8859-1", "caf\xe9", "caf\xc3\xa9");
	CONV("ISO-8859-1", "caf\xe9", "caf\xc3\xa9");
	CONV("latin1", "\xa3\xff", "\xc2\xa3\xc3\xbf");
	CONV("iso8859-1", "\xe9", "\xc3\xa9");
	CONV("ISO_8859-1:1987", "\xe9", "\xc3\xa9");
	CONV("windows-1252", "\x80 \x93quoted\x94", "\xe2\x82\xac \xe2\x80\x9cquoted\xe2\x80\x9d");
	CONV("cp1252", "\x80", "\xe2\x82\xac");
	CONV("win-1252", "\x80", "\xe2\x82\xac");
	/* 8-bit bytes in "ASCII" mail */
	CONV("us-ascii", "plain", "plain");
	CONV("us-ascii", "\x80\xe9", "\xe2\x82\xac\xc3\xa9");
	CONV("ascii", "\x81", "\xc2\x81");
	CONV("us-ascii", "\xc3\xa9 \xe9", "\xc3\xa9 \xc3\xa9");        /* UTF-8 first */
	CONV("\"iso-8859-1\"", "\xe9", "\xc3\xa9");
	CONV("utf-8*en", "\xc3\xa9", "\xc3\xa9");                  /* RFC 2231 language */
}

static void test_utf8(void **state)
{
	CONV("utf-8", "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
	CONV("UTF8", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	CONV("utf-8", "bad \xe9t\xe9", "bad " FFFD "t" FFFD);
	CONV("utf-8", "cut \xe2\x82", "cut " FFFD);
	CONV("utf-8", "\xe2\x82\xe2\x82\xac", FFFD "\xe2\x82\xac");
	CONV("utf-8", "\xed\xa0\x80", FFFD FFFD FFFD);
	assert_true(charset_is_utf8("utf-8"));
	assert_true(charset_is_utf8("UTF8"));
	assert_true(charset_is_utf8(" \"Utf_8\" "));
	assert_false(charset_is_utf8("utf-16"));
	assert_false(charset_is_utf8("us-ascii"));
	assert_false(charset_is_utf8(NULL));
}

static void test_unknown_8bit(void **state)
{
	/* valid UTF-8 kept, other bytes as windows-1252 */
	CONV("x-unknown", "caf\xc3\xa9 caf\xe9", "caf\xc3\xa9 caf\xc3\xa9");
	CONV("unknown-8bit", "\x80", "\xe2\x82\xac");
	CONV("", "\xe2\x82\xac\xe2\x82", "\xe2\x82\xac\xc3\xa2\xe2\x80\x9a");
}

static void test_cjk(void **state)
{
	CONV("iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B ok",
	     "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf ok");
	CONV("ISO-2022-JP", "a\x1b(I1\x1b(Bb", "a\xef\xbd\xb1" "b");  /* half-width kana */
	CONV("shift_jis", "\x93\xfa\x96\x7b", "\xe6\x97\xa5\xe6\x9c\xac");
	CONV("x-sjis", "\x93\xfa\x96\x7b", "\xe6\x97\xa5\xe6\x9c\xac");
	CONV("Shift-JIS", "\x87\x40", "\xe2\x91\xa0");             /* CP932 circled 1 */
	CONV("gb2312", "\xd6\xd0\xce\xc4", "\xe4\xb8\xad\xe6\x96\x87");
	CONV("GBK", "\x81\x40", "\xe4\xb8\x82");                   /* GBK-only */
	CONV("ks_c_5601-1987", "\xc7\xd1\xb1\xb9", "\xed\x95\x9c\xea\xb5\xad");
	CONV("euc-kr", "\xc7\xd1", "\xed\x95\x9c");
	CONV("big5", "\xa4\xa4", "\xe4\xb8\xad");
	CONV("euc-jp", "\xc6\xfc", "\xe6\x97\xa5");
}

static void test_others(void **state)
{
	CONV("koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4",
	     "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	/* RFC 2152 example */
	CONV("utf-7", "Hi Mom -+Jjo--!", "Hi Mom -\xe2\x98\xba-!");
	CONV("unicode-1-1-utf-7", "+AKM-1", "\xc2\xa3" "1");
	CONV("iso-8859-8-i", "\xf9", "\xd7\xa9");
	CONV("iso-8859-15", "\xa4", "\xe2\x82\xac");
	CONV("windows-1251", "\xcf", "\xd0\x9f");
	CONV("win-1251", "\xcf", "\xd0\x9f");
	CONV("cp-1250", "\x8a", "\xc5\xa0");
	CONV("iso-8859-2", "\xb1", "\xc4\x85");
	CONV("tis-620", "\xa1", "\xe0\xb8\x81");
}

static void test_invalid_bytes(void **state)
{
	/* undecodable bytes become U+FFFD, the rest is kept */
	CONV("shift_jis", "a\x81 b", "a" FFFD " b");
	CONV("shift_jis", "a\x81", "a" FFFD);                      /* cut at the end */
	CONV("gb2312", "\xd6", FFFD);
	CONV("iso-2022-jp", "\x1b$B$3", "\xe3\x81\x93");
	CONV("euc-kr", "x\xff" "y", "x" FFFD "y");
	CONV("utf-7", "+AKM", "\xc2\xa3");
}

static void test_unknown_charset(void **state)
{
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(charset_to_utf8("x-no-such-charset", "caf\xc3\xa9 caf\xe9", 10, &b), -1);
	assert_string_equal(buf_str(&b), "caf\xc3\xa9 caf\xc3\xa9");
	buf_reset(&b);
	assert_int_equal(charset_to_utf8("utf-8//IGNORE", "a", 1, &b), -1);
	assert_string_equal(buf_str(&b), "a");
	buf_reset(&b);
	assert_int_equal(charset_to_utf8("../../etc/passwd", "a", 1, &b), -1);
	buf_free(&b);
	assert_false(charset_is_known("x-no-such-charset"));
	assert_false(charset_is_known("utf-8 utf-8"));
	assert_true(charset_is_known("utf-8"));
	assert_true(charset_is_known("koi8-r"));
	assert_true(charset_is_known("ks_c_5601-1987"));
	assert_true(charset_is_known(" X-Unknown "));
	assert_null(charset_translation_new("x-no-such-charset"));
}

static void test_fallback_translation(void **state)
{
	struct charset_translation *t = charset_translation_new_fallback();
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(charset_translate_more(t, "\xe2\x82", 2, &b), 0);
	assert_int_equal(charset_translate_more(t, "\xac\xe9", 2, &b), 0);
	assert_int_equal(charset_translate_finish(t, &b), 0);
	assert_string_equal(buf_str(&b), "\xe2\x82\xac\xc3\xa9");
	charset_translation_free(&t);
	buf_free(&b);
}

static void test_limits(void **state)
{
	buf_t b;

	buf_init(&b, 4);
	assert_int_equal(charset_to_utf8("iso-8859-1", "\xe9\xe9\xe9", 3, &b), -2);
	buf_free(&b);
	buf_init(&b, 6);
	assert_int_equal(charset_to_utf8("iso-8859-1", "\xe9\xe9\xe9", 3, &b), 0);
	buf_free(&b);
	buf_init(&b, 5);
	assert_int_equal(charset_to_utf8("shift_jis", "\x93\xfa\x96\x7b", 4, &b), -2);
	buf_free(&b);
	buf_init(&b, 6);
	assert_int_equal(charset_to_utf8("shift_jis", "\x93\xfa\x96\x7b", 4, &b), 0);
	assert_string_equal(buf_str(&b), "\xe6\x97\xa5\xe6\x9c\xac");
	buf_free(&b);
	buf_init(&b, 2);
	assert_int_equal(charset_to_utf8("utf-8", "abc", 3, &b), -2);
	buf_free(&b);
}

static void test_large_streaming(void **state)
{
	/* a long body split at every 7 bytes through ISO-2022-JP */
	struct charset_translation *t;
	buf_t in, all, part;
	size_t i, n;
	int k;

	buf_init(&in, BUF_MAX_UNLIMITED);
	for (k = 0; k < 500; k++)
		assert_int_equal(buf_append_str(&in, "line \x1b$B$3$s$K$A$O\x1b(B end\r\n"), 0);
	buf_init(&all, BUF_MAX_UNLIMITED);
	assert_int_equal(charset_to_utf8("iso-2022-jp", in.data, in.used, &all), 0);
	buf_init(&part, BUF_MAX_UNLIMITED);
	t = charset_translation_new("iso-2022-jp");
	for (i = 0; i < in.used; i += n) {
		n = I_MIN((size_t)7, in.used - i);
		assert_int_equal(charset_translate_more(t, in.data + i, n, &part), 0);
	}
	assert_int_equal(charset_translate_finish(t, &part), 0);
	/* the translation can convert another text after finish */
	assert_int_equal(charset_translate_more(t, "\x1b$B$3\x1b(B", 8, &part), 0);
	assert_int_equal(charset_translate_finish(t, &part), 0);
	charset_translation_free(&t);
	assert_int_equal(part.used, all.used + 3);
	assert_memory_equal(part.data, all.data, all.used);
	buf_free(&in);
	buf_free(&all);
	buf_free(&part);
}

static int th_failed;

static void *thread_main(void *arg)
{
	int i;
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = 0; i < 2000; i++) {
		buf_reset(&b);
		if (charset_to_utf8(i % 2 ? "shift_jis" : "koi8-r", "\x93\xfa\x96\x7b", 4, &b) != 0)
			return arg;
	}
	buf_free(&b);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[4];
	void *ret;
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &th_failed), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latin1_cp1252),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_unknown_8bit),
		cmocka_unit_test(test_cjk),
		cmocka_unit_test(test_others),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_unknown_charset),
		cmocka_unit_test(test_fallback_translation),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_large_streaming),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
