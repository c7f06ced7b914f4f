#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "buf.h"
#include "mime.h"
#include "part-text.h"

#define FFFD "\xef\xbf\xbd"

static const char *decoded(const char *msg)
{
	static buf_t b;
	struct arena *arena = arena_new(0);
	struct mime_part *root;

	buf_free(&b);
	buf_init(&b, BUF_MAX_UNLIMITED);
	root = mime_parse(arena, msg, strlen(msg), NULL);
	assert_int_equal(part_text_decode(root, msg, strlen(msg), &b), 0);
	arena_free(&arena);
	return buf_str(&b);
}

static void test_decode_cte_and_charset(void **state)
{
	/* quoted-printable UTF-8, soft line break, CRLF kept */
	assert_string_equal(decoded(
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"caf=C3=A9 =\r\n"
		"soft\r\n"),
		"caf\xc3\xa9 soft\r\n");
	/* base64 ISO-8859-1 */
	assert_string_equal(decoded(
		"Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"Y2Fm6Q==\r\n"),
		"caf\xc3\xa9");
	/* 7bit plain */
	assert_string_equal(decoded("\r\nHello\r\n"), "Hello\r\n");
	/* RFC 2231-style charset names and case do not matter */
	assert_string_equal(decoded(
		"Content-Type: text/plain; charset=Windows-1252\r\n\r\n\x80"),
		"\xe2\x82\xac");
}

static void test_decode_fallback(void **state)
{
	/* no charset, valid UTF-8: taken as UTF-8 */
	assert_string_equal(decoded("Subject: x\r\n\r\nna\xc3\xafve\r\n"), "na\xc3\xafve\r\n");
	/* no charset, not UTF-8: Windows-1252 */
	assert_string_equal(decoded("\r\nna\xefve \x80\r\n"), "na\xc3\xafve \xe2\x82\xac\r\n");
	/* us-ascii label with 8-bit bytes: the same fallback */
	assert_string_equal(decoded(
		"Content-Type: text/plain; charset=us-ascii\r\n\r\ncaf\xe9"), "caf\xc3\xa9");
	/* a charset nobody knows */
	assert_string_equal(decoded(
		"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\ncaf\xe9"),
		"caf\xc3\xa9");
	/* labelled UTF-8 that is not: U+FFFD */
	assert_string_equal(decoded(
		"Content-Type: text/plain; charset=utf-8\r\n\r\nab\xff" "c"), "ab" FFFD "c");
}

static void test_decode_part_in_multipart(void **state)
{
	const char *msg =
		"Content-Type: multipart/mixed; boundary=b\r\n"
		"\r\n"
		"--b\r\n"
		"Content-Type: text/plain; charset=iso-8859-15\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"=A4 5\r\n"
		"--b\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"AAEC/w==\r\n"
		"--b--\r\n";
	struct arena *arena = arena_new(0);
	struct mime_part *root = mime_parse(arena, msg, strlen(msg), NULL);
	buf_t b;

	assert_non_null(root->children);
	assert_non_null(root->children->next);
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(part_text_decode(root->children, msg, strlen(msg), &b), 0);
	/* ISO-8859-15 0xA4 is the euro sign; the CRLF before the boundary is
	   not part of the body (RFC 2046 5.1.1) */
	assert_string_equal(buf_str(&b), "\xe2\x82\xac 5");
	buf_reset(&b);
	assert_int_equal(part_text_decode_cte(root->children->next, msg, strlen(msg), &b), 0);
	assert_int_equal(buf_len(&b), 4);
	assert_memory_equal(b.data, "\x00\x01\x02\xff", 4);
	/* a buffer shorter than the message is clamped, not overrun */
	buf_reset(&b);
	assert_int_equal(part_text_decode_cte(root->children, msg, 10, &b), 0);
	assert_int_equal(buf_len(&b), 0);
	/* dest maximum */
	buf_free(&b);
	buf_init(&b, 2);
	assert_int_equal(part_text_decode(root->children, msg, strlen(msg), &b), -1);
	buf_free(&b);
	assert_string_equal(part_text_charset(root->children), "iso-8859-15");
	assert_null(part_text_charset(root));
	arena_free(&arena);
}

static const char *filename(const char *msg)
{
	static char *last;
	struct arena *arena = arena_new(0);
	struct mime_part *root = mime_parse(arena, msg, strlen(msg), NULL);
	const char *name = part_text_filename(arena, root);

	i_free(last);
	last = i_strdup(name);
	arena_free(&arena);
	return last;
}

static void test_filename(void **state)
{
	/* RFC 2231 (RFC 2183 2.3 filename) */
	assert_string_equal(filename(
		"Content-Disposition: attachment; filename*=utf-8''na%C3%AFve.pdf\r\n\r\n"),
		"na\xc3\xafve.pdf");
	/* continuations with a charset */
	assert_string_equal(filename(
		"Content-Disposition: attachment;\r\n"
		" filename*0*=iso-8859-1''caf%E9; filename*1=\".txt\"\r\n\r\n"),
		"caf\xc3\xa9.txt");
	/* RFC 2047 inside a quoted value, as many mailers send it */
	assert_string_equal(filename(
		"Content-Disposition: attachment; filename=\"=?UTF-8?B?Y2Fmw6kucGRm?=\"\r\n\r\n"),
		"caf\xc3\xa9.pdf");
	/* Content-Type name when there is no disposition filename */
	assert_string_equal(filename(
		"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
		"Content-Disposition: attachment\r\n\r\n"),
		"report.pdf");
	/* disposition filename wins over name; surrounding spaces go */
	assert_string_equal(filename(
		"Content-Type: application/pdf; name=\"a.pdf\"\r\n"
		"Content-Disposition: attachment; filename=\"  b.pdf \"\r\n\r\n"),
		"b.pdf");
	/* raw Latin-1 bytes become valid UTF-8 */
	assert_string_equal(filename(
		"Content-Disposition: attachment; filename=\"caf\xe9.txt\"\r\n\r\n"),
		"caf\xc3\xa9.txt");
	assert_null(filename("Content-Type: text/plain\r\n\r\n"));
	assert_null(filename("\r\n"));
	filename("\r\n"); /* frees the last copy */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_cte_and_charset),
		cmocka_unit_test(test_decode_fallback),
		cmocka_unit_test(test_decode_part_in_multipart),
		cmocka_unit_test(test_filename),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
