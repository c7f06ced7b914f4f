#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mutf7.h"

#include <string.h>

static void check_pair(const char *utf8, const char *mutf7)
{
	buf_t b;

	buf_init(&b, 4096);
	assert_int_equal(mutf7_encode(utf8, strlen(utf8), &b), 0);
	assert_string_equal(buf_str(&b), mutf7);
	buf_reset(&b);
	assert_int_equal(mutf7_decode(mutf7, strlen(mutf7), &b), 0);
	assert_string_equal(buf_str(&b), utf8);
	buf_free(&b);
}

static void test_rfc_examples(void **state)
{
	/* RFC 3501 5.1.3 */
	check_pair("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		   "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	check_pair("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	check_pair("A&B", "A&-B");
	check_pair("&", "&-");
	check_pair("", "");
	check_pair("plain ASCII ~!", "plain ASCII ~!");
	/* outside the BMP: a surrogate pair */
	check_pair("\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail");
}

static void test_long_run(void **state)
{
	char in[3 * 500 + 1];
	buf_t enc, dec;

	for (int i = 0; i < 500; i++)
		memcpy(in + 3 * i, "\xe2\x82\xac", 3);   /* EURO SIGN */
	in[sizeof(in) - 1] = '\0';
	buf_init(&enc, 1 << 20);
	buf_init(&dec, 1 << 20);
	assert_int_equal(mutf7_encode(in, strlen(in), &enc), 0);
	assert_int_equal(enc.data[0], '&');
	assert_int_equal(enc.data[enc.used - 1], '-');
	assert_null(memchr(enc.data + 1, '&', enc.used - 1));
	assert_int_equal(mutf7_decode((const char *)enc.data, enc.used, &dec), 0);
	assert_string_equal(buf_str(&dec), in);
	buf_free(&enc);
	buf_free(&dec);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"&U,BTFw",          /* unterminated */
		"&-&U,BTFw-x&",     /* dangling & */
		"&AGE-",            /* printable ASCII 'a' shifted */
		"&2D0-",            /* lone high surrogate */
		"&3ec-",            /* lone low surrogate */
		"&U,BTFw-&ZeVnLIqe-", /* two adjacent shifts: must be one */
		"&U,B-",            /* non-zero padding bits / truncated unit */
		"a\x01",            /* control */
		"\xc3\xbc",         /* 8-bit outside a shift */
		"&*-",              /* not base64 */
	};
	buf_t b;

	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&b);
		if (mutf7_decode(bad[i], strlen(bad[i]), &b) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_false(mutf7_is_valid(bad[i], strlen(bad[i])));
	}
	/* invalid UTF-8 cannot be encoded */
	buf_reset(&b);
	assert_int_equal(mutf7_encode("\xff", 1, &b), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_long_run),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
