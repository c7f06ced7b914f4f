#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "buf.h"
#include "header-value.h"
#include "utf8.h"

static struct arena *arena;

static int setup(void **state)
{
	arena = arena_new(0);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&arena);
	return 0;
}

static unsigned int ids(const char *s, const char ***ids_r)
{
	return msg_hv_parse_msgids(arena, s, strlen(s), ids_r);
}

static void test_hv_skip_cfws(void **state)
{
	const char *s = " \t(a (nested \\) ) b)\r\n (c) x";

	assert_int_equal(msg_hv_skip_cfws(s, strlen(s), 0), strlen(s) - 1);
	assert_int_equal(msg_hv_skip_cfws("x", 1, 0), 0);
	assert_int_equal(msg_hv_skip_cfws("  ", 2, 0), 2);
	/* unterminated comment runs to the end */
	assert_int_equal(msg_hv_skip_cfws(" (a (b) c", 9, 0), 9);
	/* escaped backslash at the end of the data */
	assert_int_equal(msg_hv_skip_cfws("(\\", 2, 0), 2);
	assert_int_equal(msg_hv_skip_wsp(" \r\n\t(x)", 7, 0), 4);
}

static void test_hv_unfold(void **state)
{
	size_t len;

	assert_string_equal(msg_hv_unfold(arena, "a\r\n b\n\tc\r", 9, &len), "a b\tc");
	assert_int_equal(len, 5);
	assert_string_equal(msg_hv_unfold(arena, "", 0, NULL), "");
}

static void test_hv_msgids(void **state)
{
	const char **v;

	assert_int_equal(ids("<id@host>", &v), 1);
	assert_string_equal(v[0], "<id@host>");
	assert_string_equal(msg_hv_first_msgid(arena, " (c) <a@b> <c@d>", 16), "<a@b>");
	assert_null(msg_hv_first_msgid(arena, "", 0));
	assert_int_equal(ids("", &v), 0);
	assert_null(v);
	/* References, folded, with comments */
	assert_int_equal(ids("<a@b>\r\n <c@d>(comment)<e@f>", &v), 3);
	assert_string_equal(v[0], "<a@b>");
	assert_string_equal(v[1], "<c@d>");
	assert_string_equal(v[2], "<e@f>");
	/* RFC 5322 4.5.4 obs-id: CFWS inside the brackets */
	assert_int_equal(ids("< a (x) @ b >", &v), 1);
	assert_string_equal(v[0], "<a@b>");
	/* RFC 5322 A.6.2 style In-Reply-To with a phrase */
	assert_int_equal(ids("Your message of \"Mon, 1 Jan 2001 10:00:00\" <1234@local.machine.example>", &v), 1);
	assert_string_equal(v[0], "<1234@local.machine.example>");
	assert_int_equal(ids("<a@b> (Joe's message of Mon) \"quoted <x@y>\"", &v), 1);
	/* ids without brackets */
	assert_int_equal(ids("a@b, c@d e@f>", &v), 3);
	assert_string_equal(v[0], "<a@b>");
	assert_string_equal(v[1], "<c@d>");
	assert_string_equal(v[2], "<e@f>");
	/* junk: words without @, "<>", a lone @ */
	assert_int_equal(ids("junk <> @ x@ @y <ok@z>", &v), 1);
	assert_string_equal(v[0], "<ok@z>");
	/* ids without @ inside brackets are kept (RFC 822 allowed them) */
	assert_int_equal(ids("<local-only>", &v), 1);
	assert_string_equal(v[0], "<local-only>");
	/* unterminated */
	assert_int_equal(ids("<a@b> <c@d", &v), 2);
	assert_string_equal(v[1], "<c@d>");
	/* nested "<" restarts */
	assert_int_equal(ids("<junk <a@b>", &v), 1);
	assert_string_equal(v[0], "<a@b>");
	/* NUL bytes and only part of the buffer */
	assert_int_equal(msg_hv_parse_msgids(arena, "<a@b>\0<c@d>", 11, &v), 2);
	assert_int_equal(msg_hv_parse_msgids(arena, "x\0y@z <c\0d@e>", 14, &v), 2);
	assert_string_equal(v[0], "<y@z>");
	assert_string_equal(v[1], "<cd@e>");
	assert_int_equal(msg_hv_parse_msgids(arena, "<a@b> <c@d>", 4, &v), 1);
	assert_string_equal(v[0], "<a@b>");
}

static void test_hv_msgids_limit(void **state)
{
	buf_t b;
	const char **v;
	unsigned int i;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = 0; i < MSG_HV_MAX_MSGIDS + 10; i++)
		assert_int_equal(buf_printf(&b, "<%u@x> ", i), 0);
	assert_int_equal(msg_hv_parse_msgids(arena, buf_str(&b), buf_len(&b), &v), MSG_HV_MAX_MSGIDS);
	assert_string_equal(v[MSG_HV_MAX_MSGIDS - 1], "<9999@x>");
	buf_free(&b);
}

static void test_hv_keywords(void **state)
{
	const char **v;
	const char *s;

	s = "tern, mail server ,\"a, b\" (c, d), , =?utf-8?q?caf=C3=A9?=  au\r\n lait";
	assert_int_equal(msg_hv_parse_keywords(arena, s, strlen(s), &v), 4);
	assert_string_equal(v[0], "tern");
	assert_string_equal(v[1], "mail server");
	assert_string_equal(v[2], "a, b");
	assert_string_equal(v[3], "caf\xc3\xa9 au lait");
	assert_int_equal(msg_hv_parse_keywords(arena, "", 0, &v), 0);
	assert_null(v);
	assert_int_equal(msg_hv_parse_keywords(arena, " , ,", 4, &v), 0);
	/* unterminated quote / comment, Latin-1 */
	s = "x, \"y, z";
	assert_int_equal(msg_hv_parse_keywords(arena, s, strlen(s), &v), 2);
	assert_string_equal(v[1], "y, z");
	s = "x (y, z";
	assert_int_equal(msg_hv_parse_keywords(arena, s, strlen(s), &v), 1);
	assert_string_equal(v[0], "x");
	s = "caf\xe9";
	assert_int_equal(msg_hv_parse_keywords(arena, s, strlen(s), &v), 1);
	assert_string_equal(v[0], "caf\xc3\xa9");
}

static void test_hv_decode_unstructured(void **state)
{
	const char *s;

	s = "  =?utf-8?q?caf=C3=A9?=   au \r\n\tlait  ";
	assert_string_equal(msg_hv_decode_unstructured(arena, s, strlen(s)), "caf\xc3\xa9 au lait");
	/* RFC 2047 8: whitespace between encoded words, even folded, goes */
	s = "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
	    "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=";
	assert_string_equal(msg_hv_decode_unstructured(arena, s, strlen(s)),
			    "If you can read this you understand the example.");
	/* spaces encoded inside a word are the sender's */
	s = "=?utf-8?q?a__b?=";
	assert_string_equal(msg_hv_decode_unstructured(arena, s, strlen(s)), "a  b");
	/* raw 8-bit: UTF-8 kept, else Windows-1252; NUL as U+FFFD */
	assert_string_equal(msg_hv_decode_unstructured(arena, "Gr\xfc\xdf" "e \x93x\x94", 9),
			    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x9cx\xe2\x80\x9d");
	s = msg_hv_decode_unstructured(arena, "a\0b", 3);
	assert_string_equal(s, "a\xef\xbf\xbd" "b");
	assert_string_equal(msg_hv_decode_unstructured(arena, "", 0), "");
	assert_string_equal(msg_hv_decode_unstructured(arena, " \r\n ", 4), "");
	/* structured fields get the same treatment */
	s = "=?utf-8?q?Zo=C3=AB?= <zoe@example.test>";
	assert_string_equal(msg_hv_decode_unstructured(arena, s, strlen(s)),
			    "Zo\xc3\xab <zoe@example.test>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hv_skip_cfws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hv_unfold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hv_msgids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hv_msgids_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hv_keywords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hv_decode_unstructured, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
