#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "buf.h"
#include "mime.h"
#include "imap-quote.h"
#include "imap-envelope.h"

/* ---- imap-quote ---- */

static const char *quote(const char *data, size_t len, unsigned int flags)
{
	static buf_t b;

	buf_free(&b);
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(imap_append_string(&b, data, len, flags), 0);
	return buf_str(&b);
}

static void test_quote(void **state)
{
	buf_t b;

	assert_string_equal(quote("", 0, 0), "\"\"");
	assert_string_equal(quote("abc def", 7, 0), "\"abc def\"");
	/* RFC 3501 9: quoted-specials are escaped */
	assert_string_equal(quote("a\"b\\c", 5, 0), "\"a\\\"b\\\\c\"");
	/* CR, LF: literal */
	assert_string_equal(quote("a\r\nb", 4, 0), "{4}\r\na\r\nb");
	assert_string_equal(quote("a\nb", 3, 0), "{3}\r\na\nb");
	/* NUL can be sent in no string: becomes 0x80, in a literal */
	assert_memory_equal(quote("a\0b", 3, 0), "{3}\r\na\x80" "b", 8);
	/* 8-bit: literal, unless UTF8=ACCEPT and valid UTF-8 */
	assert_string_equal(quote("caf\xc3\xa9", 5, 0), "{5}\r\ncaf\xc3\xa9");
	assert_string_equal(quote("caf\xc3\xa9", 5, IMAP_QUOTE_FLAG_UTF8), "\"caf\xc3\xa9\"");
	assert_string_equal(quote("caf\xe9", 4, IMAP_QUOTE_FLAG_UTF8), "{4}\r\ncaf\xe9");
	assert_string_equal(quote("\xc3", 1, IMAP_QUOTE_FLAG_UTF8), "{1}\r\n\xc3");
	/* NOLF: line breaks folded, a space kept between words */
	assert_string_equal(quote("a\r\n b", 5, IMAP_QUOTE_FLAG_NOLF), "\"a b\"");
	assert_string_equal(quote("a\r\nb", 4, IMAP_QUOTE_FLAG_NOLF), "\"a b\"");
	assert_string_equal(quote("a\nb\r", 4, IMAP_QUOTE_FLAG_NOLF), "\"a b\"");
	assert_string_equal(quote("a\tb", 3, IMAP_QUOTE_FLAG_NOLF), "\"a\tb\"");

	buf_init(&b, 16);
	assert_int_equal(imap_append_nstring(&b, NULL, 0), 0);
	assert_string_equal(buf_str(&b), "NIL");
	/* over the maximum: refused, buffer unchanged */
	assert_int_equal(imap_append_nstring(&b, "0123456789abcdef", 0), -1);
	assert_int_equal(imap_append_string(&b, "0123456789\n", 11, 0), -1);
	assert_string_equal(buf_str(&b), "NIL");
	assert_int_equal(imap_append_nstring_nolf(&b, "x\ny", 0), 0);
	assert_string_equal(buf_str(&b), "NIL\"x y\"");
	buf_free(&b);

	assert_true(imap_is_atom("INBOX", 5));
	assert_false(imap_is_atom("", 0));
	assert_false(imap_is_atom("a b", 3));
	assert_false(imap_is_atom("a]", 2));
	assert_false(imap_is_atom("caf\xc3\xa9", 5));
}

/* ---- ENVELOPE ---- */

static const char *envelope(const char *msg, unsigned int flags)
{
	static buf_t b;
	struct arena *arena = arena_new(0);
	struct mime_part *root;

	buf_free(&b);
	buf_init(&b, BUF_MAX_UNLIMITED);
	root = mime_parse(arena, msg, strlen(msg), NULL);
	assert_int_equal(imap_envelope_write(&b, arena, &root->header, flags), 0);
	arena_free(&arena);
	return buf_str(&b);
}

/* RFC 3501 section 8: the example message's envelope */
static void test_envelope_rfc3501(void **state)
{
	const char *msg =
		"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
		"From: Terry Gray <gray@cac.washington.edu>\r\n"
		"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
		"To: imap@cac.washington.edu\r\n"
		"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
		"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
		"\r\n"
		"body\r\n";

	assert_string_equal(envelope(msg, 0),
		"(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
		"\"IMAP4rev1 WG mtg summary and minutes\" "
		"((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
		"((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
		"((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
		"((NIL NIL \"imap\" \"cac.washington.edu\")) "
		"((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
		"(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) "
		"NIL NIL "
		"\"<B27397-0100000@cac.washington.edu>\")");
}

static void test_envelope_groups(void **state)
{
	const char *msg =
		"From: \"Doe, Jane\" <jane@x.test>\r\n"
		"Sender: bot@x.test\r\n"
		"Reply-To: list@x.test\r\n"
		"To: Team: a@x.test, \"B \\\"Bee\\\" Person\" <b@x.test>;, c@y.test\r\n"
		"Cc: undisclosed-recipients:;\r\n"
		"Bcc: hidden@z.test\r\n"
		"In-Reply-To: <p1@x.test>\r\n"
		"Subject:\r\n"
		"\r\n";

	assert_string_equal(envelope(msg, 0),
		"(NIL \"\" "
		"((\"Doe, Jane\" NIL \"jane\" \"x.test\")) "
		"((NIL NIL \"bot\" \"x.test\")) "
		"((NIL NIL \"list\" \"x.test\")) "
		"((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"x.test\")"
		"(\"B \\\"Bee\\\" Person\" NIL \"b\" \"x.test\")(NIL NIL NIL NIL)"
		"(NIL NIL \"c\" \"y.test\")) "
		"((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
		"((NIL NIL \"hidden\" \"z.test\")) "
		"\"<p1@x.test>\" NIL)");
}

static void test_envelope_missing_from(void **state)
{
	/* no From: sender and reply-to have nothing to default to; the
	   encoded subject is sent raw (RFC 3501 7.4.2) */
	const char *msg =
		"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
		"To: a@x.test\r\n"
		"Message-ID: <m1@x.test>\r\n"
		"\r\n"
		"x\r\n";

	assert_string_equal(envelope(msg, 0),
		"(NIL \"=?utf-8?q?caf=C3=A9?=\" NIL NIL NIL "
		"((NIL NIL \"a\" \"x.test\")) NIL NIL NIL \"<m1@x.test>\")");
	/* no header at all */
	assert_string_equal(envelope("\r\nbody\r\n", 0),
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_string_equal(envelope("", 0), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

static void test_envelope_8bit(void **state)
{
	const char *msg =
		"From: Zo\xc3\xab <zoe@x.test>\r\n"
		"Subject: caf\xc3\xa9\r\n"
		"\r\n";

	assert_string_equal(envelope(msg, 0),
		"(NIL {5}\r\ncaf\xc3\xa9 "
		"(({4}\r\nZo\xc3\xab NIL \"zoe\" \"x.test\")) "
		"(({4}\r\nZo\xc3\xab NIL \"zoe\" \"x.test\")) "
		"(({4}\r\nZo\xc3\xab NIL \"zoe\" \"x.test\")) "
		"NIL NIL NIL NIL NIL)");
	/* UTF8=ACCEPT (RFC 6855 / RFC 9051): valid UTF-8 may be quoted */
	assert_string_equal(envelope(msg, IMAP_QUOTE_FLAG_UTF8),
		"(NIL \"caf\xc3\xa9\" "
		"((\"Zo\xc3\xab\" NIL \"zoe\" \"x.test\")) "
		"((\"Zo\xc3\xab\" NIL \"zoe\" \"x.test\")) "
		"((\"Zo\xc3\xab\" NIL \"zoe\" \"x.test\")) "
		"NIL NIL NIL NIL NIL)");
}

static void test_envelope_folded_and_odd(void **state)
{
	const char *msg =
		"Subject: a \"quoted\" \\ back\r\n"
		" slash, folded\r\n"
		"From: root\r\n"
		"To: <@a.test,@b.test:joe@c.test>\r\n"
		"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
		"From: second@x.test\r\n"
		"\r\n";

	/* folded value unfolded; first From wins; an address without a
	   domain gets MISSING_DOMAIN; the obsolete route is the adl */
	assert_string_equal(envelope(msg, 0),
		"(\"Mon, 23 Nov 2026 10:00:00 +0100\" "
		"\"a \\\"quoted\\\" \\\\ back slash, folded\" "
		"((NIL NIL \"root\" \"MISSING_DOMAIN\")) "
		"((NIL NIL \"root\" \"MISSING_DOMAIN\")) "
		"((NIL NIL \"root\" \"MISSING_DOMAIN\")) "
		"((NIL \"@a.test,@b.test\" \"joe\" \"c.test\")) "
		"NIL NIL NIL NIL)");
}

static void test_envelope_limit(void **state)
{
	struct arena *arena = arena_new(0);
	const char *msg = "From: a@x.test\r\nSubject: hello\r\n\r\n";
	struct mime_part *root = mime_parse(arena, msg, strlen(msg), NULL);
	buf_t b;

	buf_init(&b, 20);
	assert_int_equal(imap_envelope_write(&b, arena, &root->header, 0), -1);
	assert_true(buf_len(&b) <= 20);
	buf_free(&b);
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_envelope_rfc3501),
		cmocka_unit_test(test_envelope_groups),
		cmocka_unit_test(test_envelope_missing_from),
		cmocka_unit_test(test_envelope_8bit),
		cmocka_unit_test(test_envelope_folded_and_odd),
		cmocka_unit_test(test_envelope_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
