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

	/* HUMAN (Dovecot's ENVELOPE subject and names): whitespace collapsed,
	   a changed string or one with quoted-specials as a literal */
	assert_string_equal(quote("a b", 3, IMAP_QUOTE_FLAG_HUMAN), "\"a b\"");
	assert_string_equal(quote(" a \t\r\n b ", 9, IMAP_QUOTE_FLAG_HUMAN), "{3}\r\na b");
	assert_string_equal(quote("a\"b", 3, IMAP_QUOTE_FLAG_HUMAN), "{3}\r\na\"b");
	assert_string_equal(quote("a\\b", 3, IMAP_QUOTE_FLAG_HUMAN), "{3}\r\na\\b");
	assert_string_equal(quote("", 0, IMAP_QUOTE_FLAG_HUMAN), "\"\"");

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
		"({14}\r\nB \"Bee\" Person NIL \"b\" \"x.test\")(NIL NIL NIL NIL)"
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

	/* folded value unfolded, and a literal for its quoted-specials (as
	   Dovecot); both From fields' addresses; an address without a domain
	   gets MISSING_DOMAIN; the obsolete route is the adl */
	assert_string_equal(envelope(msg, 0),
		"(\"Mon, 23 Nov 2026 10:00:00 +0100\" "
		"{31}\r\na \"quoted\" \\ back slash, folded "
		"((NIL NIL \"root\" \"MISSING_DOMAIN\")(NIL NIL \"second\" \"x.test\")) "
		"((NIL NIL \"root\" \"MISSING_DOMAIN\")(NIL NIL \"second\" \"x.test\")) "
		"((NIL NIL \"root\" \"MISSING_DOMAIN\")(NIL NIL \"second\" \"x.test\")) "
		"((NIL \"@a.test,@b.test\" \"joe\" \"c.test\")) "
		"NIL NIL NIL NIL)");
}

static void test_envelope_repeated(void **state)
{
	/* as Dovecot 2.3 sends it: the last Date, Subject, In-Reply-To and
	   Message-ID; the addresses of every To; empty Sender and Reply-To
	   default to From (RFC 3501 7.4.2) */
	const char *msg =
		"Subject: first\r\n"
		"Subject: second\r\n"
		"Date: d1\r\n"
		"Date: d2\r\n"
		"Message-ID: <a@b>\r\n"
		"Message-ID: <c@d>\r\n"
		"In-Reply-To: <x@y>\r\n"
		"In-Reply-To: <z@w>\r\n"
		"To: a@b\r\n"
		"To: c@d\r\n"
		"Sender:\r\n"
		"Reply-To:  \r\n"
		"From: \"\" <e@f>, =?utf-8?q?x?= <g@h>\r\n"
		"\r\n"
		"x\r\n";

	assert_string_equal(envelope(msg, 0),
		"(\"d2\" \"second\" "
		"((NIL NIL \"e\" \"f\")(\"=?utf-8?q?x?=\" NIL \"g\" \"h\")) "
		"((NIL NIL \"e\" \"f\")(\"=?utf-8?q?x?=\" NIL \"g\" \"h\")) "
		"((NIL NIL \"e\" \"f\")(\"=?utf-8?q?x?=\" NIL \"g\" \"h\")) "
		"((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) NIL NIL "
		"\"<z@w>\" \"<c@d>\")");
}

static void test_envelope_for_humans(void **state)
{
	/* checked against Dovecot 2.3.19: subject and names collapse their
	   whitespace (then go as literals); date and ids keep theirs, quoted */
	const char *msg =
		"Subject: a\r\n"
		"  b \r\n"
		"From: \" x\ty \" <a@b>\r\n"
		"Date: a  b\t\"c\"\r\n"
		"Message-ID: <a\\b@c>\r\n"
		"\r\n";

	assert_string_equal(envelope(msg, 0),
		"(\"a  b\t\\\"c\\\"\" {3}\r\na b "
		"(({3}\r\nx y NIL \"a\" \"b\")) (({3}\r\nx y NIL \"a\" \"b\")) "
		"(({3}\r\nx y NIL \"a\" \"b\")) NIL NIL NIL NIL \"<a\\\\b@c>\")");
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
		cmocka_unit_test(test_envelope_repeated),
		cmocka_unit_test(test_envelope_for_humans),
		cmocka_unit_test(test_envelope_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
