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
#include "imap-bodystructure.h"

#define TEXT_DEFAULT "(\"charset\" \"us-ascii\")"

static const char *bs(const char *msg, bool extended)
{
	static buf_t b;
	struct arena *arena = arena_new(0);
	struct mime_part *root;

	buf_free(&b);
	buf_init(&b, BUF_MAX_UNLIMITED);
	root = mime_parse(arena, msg, strlen(msg), NULL);
	assert_int_equal(imap_bodystructure_write(&b, arena, root, extended, 0), 0);
	arena_free(&arena);
	return buf_str(&b);
}

static void test_simple_text(void **state)
{
	const char *msg =
		"From: a@x.test\r\n"
		"Subject: hi\r\n"
		"\r\n"
		"Hello\r\n"
		"World\r\n";

	assert_string_equal(bs(msg, true),
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 14 2 NIL NIL NIL NIL)");
	assert_string_equal(bs(msg, false),
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 14 2)");
	/* empty message: empty body */
	assert_string_equal(bs("", true),
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
}

/* A message stored with bare LF line ends is described as FETCH sends it:
   CRLF-form sizes, so BODYSTRUCTURE is the same as for its CRLF twin. */
static void test_bare_lf_sizes(void **state)
{
	static const char *const crlf[] = {
		"From: a@x.test\r\nSubject: hi\r\n\r\nHello\r\nWorld\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n"
		"Content-Type: text/plain\r\n\r\none\r\ntwo\r\n\r\n--b\r\n"
		"Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\ny\r\n"
		"--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\n"
		"a\r\n--c\r\nContent-Type: text/html\r\n\r\n<b>\r\n--c--\r\n--b--\r\n",
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(crlf); i++) {
		char *lf = strdup(crlf[i]), *w = lf;
		const char *r;
		char *want = strdup(bs(crlf[i], true));

		for (r = crlf[i]; *r != '\0'; r++) {
			if (*r != '\r')
				*w++ = *r;
		}
		*w = '\0';
		assert_string_equal(bs(lf, true), want);
		free(want);
		free(lf);
	}
	assert_string_equal(bs("Subject: x\n\nHello\nWorld\n", false),
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 14 2)");
}

static void test_all_fields(void **state)
{
	/* type, subtype and encoding as written; every extension field */
	const char *msg =
		"Content-Type: TEXT/Plain; CHARSET=\"UTF-8\"; format=flowed\r\n"
		"Content-Transfer-Encoding: Quoted-Printable\r\n"
		"Content-ID: <id1@x>\r\n"
		"Content-Description: the text\r\n"
		"Content-Language: en, de\r\n"
		"Content-Location: http://x.test/a\r\n"
		"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
		"Content-Disposition: INLINE; filename=x.txt\r\n"
		"\r\n"
		"caf=C3=A9\r\n";

	assert_string_equal(bs(msg, true),
		"(\"TEXT\" \"Plain\" (\"CHARSET\" \"UTF-8\" \"format\" \"flowed\") "
		"\"<id1@x>\" \"the text\" \"Quoted-Printable\" 11 1 "
		"\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"INLINE\" (\"filename\" \"x.txt\")) "
		"(\"en\" \"de\") \"http://x.test/a\")");
	assert_string_equal(bs(msg, false),
		"(\"TEXT\" \"Plain\" (\"CHARSET\" \"UTF-8\" \"format\" \"flowed\") "
		"\"<id1@x>\" \"the text\" \"Quoted-Printable\" 11 1)");
}

static void test_mixed_attachment_2231(void **state)
{
	const char *msg =
		"From: a@x.test\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
		"\r\n"
		"preamble\r\n"
		"--XX\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"\r\n"
		"Hi\r\n"
		"--XX\r\n"
		"Content-Type: application/pdf; name=\"a.pdf\"\r\n"
		"Content-Disposition: attachment;\r\n"
		" filename*=utf-8''na%C3%AFve.pdf\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"JVBERi0=\r\n"
		"--XX--\r\n"
		"epilogue\r\n";

	/* RFC 2231 parameters go out raw under "name*", as Dovecot sends them */
	assert_string_equal(bs(msg, true),
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 2 1 NIL NIL NIL NIL)"
		"(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 8 NIL "
		"(\"attachment\" (\"filename*\" \"utf-8''na%C3%AFve.pdf\")) NIL NIL) "
		"\"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)");
	assert_string_equal(bs(msg, false),
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 2 1)"
		"(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 8) \"mixed\")");
}

static void test_2231_continuations(void **state)
{
	const char *msg =
		"Content-Type: application/octet-stream;\r\n"
		" name*0=\"long\"; name*1=\"name.bin\"\r\n"
		"Content-Disposition: attachment;\r\n"
		" filename*0*=iso-8859-1'fr'caf%E9; filename*1=\".txt\"\r\n"
		"\r\n"
		"x";

	/* plain continuations are joined into the plain name; extended ones
	   keep their raw, still-encoded form */
	assert_string_equal(bs(msg, true),
		"(\"application\" \"octet-stream\" (\"name\" \"longname.bin\") NIL NIL \"7bit\" 1 NIL "
		"(\"attachment\" (\"filename*\" \"iso-8859-1'fr'caf%E9.txt\")) NIL NIL)");
}

static void test_alternative_and_rfc822(void **state)
{
	const char *msg =
		"Content-Type: multipart/mixed; boundary=outer\r\n"
		"\r\n"
		"--outer\r\n"
		"Content-Type: multipart/alternative; boundary=inner\r\n"
		"\r\n"
		"--inner\r\n"
		"\r\n"
		"plain\r\n"
		"--inner\r\n"
		"Content-Type: text/html\r\n"
		"\r\n"
		"<p>html</p>\r\n"
		"--inner--\r\n"
		"--outer\r\n"
		"Content-Type: message/rfc822\r\n"
		"\r\n"
		"From: b@y.test\r\n"
		"Subject: inner\r\n"
		"\r\n"
		"body\r\n"
		"--outer--\r\n";

	assert_string_equal(bs(msg, true),
		"(((\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
		"(\"text\" \"html\" " TEXT_DEFAULT " NIL NIL \"7bit\" 11 1 NIL NIL NIL NIL) "
		"\"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 38 "
		"(NIL \"inner\" ((NIL NIL \"b\" \"y.test\")) ((NIL NIL \"b\" \"y.test\")) "
		"((NIL NIL \"b\" \"y.test\")) NIL NIL NIL NIL NIL) "
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 4 1 NIL NIL NIL NIL) 4 "
		"NIL NIL NIL NIL) "
		"\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
	assert_string_equal(bs(msg, false),
		"(((\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 5 1)"
		"(\"text\" \"html\" " TEXT_DEFAULT " NIL NIL \"7bit\" 11 1) \"alternative\")"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 38 "
		"(NIL \"inner\" ((NIL NIL \"b\" \"y.test\")) ((NIL NIL \"b\" \"y.test\")) "
		"((NIL NIL \"b\" \"y.test\")) NIL NIL NIL NIL NIL) "
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 4 1) 4) \"mixed\")");
}

static void test_rfc822_multipart_inside(void **state)
{
	const char *msg =
		"Content-Type: message/rfc822\r\n"
		"\r\n"
		"Subject: fwd\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n"
		"\r\n"
		"--b\r\n"
		"\r\n"
		"one\r\n"
		"--b--\r\n";

	/* body: 14 + 43 + 2 + 5 + 2 + 5 + 7 = 78 bytes in 7 lines */
	assert_string_equal(bs(msg, true),
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 78 "
		"(NIL \"fwd\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"((\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL) "
		"\"mixed\" (\"boundary\" \"b\") NIL NIL NIL) 7 NIL NIL NIL NIL)");
}

static void test_rfc822_opaque(void **state)
{
	/* RFC 2046 5.2.1 forbids encoding message/rfc822: the parser keeps it
	   opaque, and the structure still has the envelope and body slots
	   clients expect for message/rfc822 */
	const char *msg =
		"Content-Type: message/rfc822\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"U3ViamVjdDogeA0KDQpi\r\n";

	assert_string_equal(bs(msg, true),
		"(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 22 "
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) 1 "
		"NIL NIL NIL NIL)");
	assert_string_equal(bs(msg, false),
		"(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 22 "
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 0 0) 1)");
}

static void test_digest(void **state)
{
	const char *msg =
		"Content-Type: multipart/digest; boundary=d\r\n"
		"\r\n"
		"--d\r\n"
		"\r\n"
		"Subject: one\r\n"
		"\r\n"
		"1\r\n"
		"--d--\r\n";

	/* RFC 2046 5.1.5: parts of a digest default to message/rfc822 */
	assert_string_equal(bs(msg, true),
		"((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 17 "
		"(NIL \"one\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 1 1 NIL NIL NIL NIL) 3 "
		"NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)");
}

static void test_empty_multipart(void **state)
{
	const char *msg =
		"Content-Type: multipart/mixed; boundary=e\r\n"
		"\r\n"
		"--e--\r\n";

	/* RFC 3501 needs at least one part: an empty text/plain stands in */
	assert_string_equal(bs(msg, true),
		"((\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
		"\"mixed\" (\"boundary\" \"e\") NIL NIL NIL)");
	assert_string_equal(bs(msg, false),
		"((\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 0 0) \"mixed\")");
	/* the boundary never appears: the same (Dovecot's choice) */
	assert_string_equal(bs("Content-Type: multipart/mixed; boundary=e\r\n\r\nno parts\r\n", true),
		"((\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
		"\"mixed\" (\"boundary\" \"e\") NIL NIL NIL)");
	/* no boundary parameter at all: still a multipart without parts */
	assert_string_equal(bs("Content-Type: multipart/Alternative\r\n\r\nno parts\r\n", true),
		"((\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
		"\"Alternative\" NIL NIL NIL NIL)");
}

static void test_multipart_extension(void **state)
{
	const char *msg =
		"Content-Type: Multipart/Related; boundary=r; type=\"text/html\"\r\n"
		"Content-Disposition: inline\r\n"
		"Content-Language: fr\r\n"
		"Content-Location: http://x.test/\r\n"
		"\r\n"
		"--r\r\n"
		"Content-Type: image/png\r\n"
		"Content-ID: <img@x>\r\n"
		"Content-Transfer-Encoding: BASE64\r\n"
		"\r\n"
		"iVBO\r\n"
		"--r--\r\n";

	assert_string_equal(bs(msg, true),
		"((\"image\" \"png\" NIL \"<img@x>\" NIL \"BASE64\" 4 NIL NIL NIL NIL) "
		"\"Related\" (\"boundary\" \"r\" \"type\" \"text/html\") (\"inline\" NIL) (\"fr\") "
		"\"http://x.test/\")");
}

static void test_names_as_written(void **state)
{
	/* parameter names keep their case (the first section's for RFC 2231
	   continuations); message/global is a basic part in IMAP4rev1 */
	const char *msg =
		"Content-Type: multipart/mixed; BOUNDARY=x; Foo*0=a; foo*1=b\r\n"
		"Content-Disposition: attachment; FileName=\"x;y\"\r\n"
		"\r\n"
		"--x\r\n"
		"Content-Type: Message/Global\r\n"
		"\r\n"
		"Subject: g\r\n"
		"\r\n"
		"b\r\n"
		"--x--\r\n";

	assert_string_equal(bs(msg, true),
		"((\"Message\" \"Global\" NIL NIL NIL \"7bit\" 15 NIL NIL NIL NIL) "
		"\"mixed\" (\"BOUNDARY\" \"x\" \"Foo\" \"ab\") (\"attachment\" (\"FileName\" \"x;y\")) "
		"NIL NIL)");
	/* a "charset*" alone: the default charset is still added (Dovecot) */
	assert_string_equal(bs("Content-Type: text/plain; Charset*=utf-8''x\r\n\r\nb", false),
		"(\"text\" \"plain\" (\"Charset*\" \"utf-8''x\" \"charset\" \"us-ascii\") "
		"NIL NIL \"7bit\" 1 1)");
}

static void test_not_mime(void **state)
{
	/* RFC 2045 4: without MIME-Version or Content-Type a message header's
	   Content-* fields are not MIME (Dovecot ignores them too) */
	assert_string_equal(bs("Content-Transfer-Encoding: 8bit\r\n"
			       "Content-Description: d\r\n"
			       "Content-Disposition: inline\r\n\r\n", true),
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	assert_string_equal(bs("MIME-Version: 1.0\r\n"
			       "Content-Description: d\r\n"
			       "Content-Language: en\r\n\r\n", true),
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL \"d\" \"7bit\" 0 0 NIL NIL (\"en\") NIL)");
	/* the same inside an encapsulated message */
	assert_string_equal(bs("Content-Type: message/rfc822\r\n\r\n"
			       "Content-ID: <x>\r\n\r\nb", false),
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 20 "
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"text\" \"plain\" " TEXT_DEFAULT " NIL NIL \"7bit\" 1 1) 3)");
}

static void test_8bit_param(void **state)
{
	const char *msg =
		"Content-Type: text/plain; name=\"caf\xc3\xa9.txt\"; charset=\"a\\\"b\"\r\n"
		"Content-Description: r\xc3\xa9sum\xc3\xa9\r\n"
		"\r\n"
		"x";
	buf_t b;
	struct arena *arena = arena_new(0);
	struct mime_part *root = mime_parse(arena, msg, strlen(msg), NULL);

	/* 8-bit bytes need a literal (RFC 3501 4.3), quotes are escaped */
	assert_string_equal(bs(msg, true),
		"(\"text\" \"plain\" (\"name\" {9}\r\ncaf\xc3\xa9.txt \"charset\" \"a\\\"b\") "
		"NIL {8}\r\nr\xc3\xa9sum\xc3\xa9 \"7bit\" 1 1 NIL NIL NIL NIL)");
	/* with UTF8=ACCEPT they may be quoted */
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(imap_bodystructure_write(&b, arena, root, false, IMAP_QUOTE_FLAG_UTF8), 0);
	assert_string_equal(buf_str(&b),
		"(\"text\" \"plain\" (\"name\" \"caf\xc3\xa9.txt\" \"charset\" \"a\\\"b\") "
		"NIL \"r\xc3\xa9sum\xc3\xa9\" \"7bit\" 1 1)");
	buf_free(&b);
	arena_free(&arena);
}

static void test_byte_at_a_time_same(void **state)
{
	const char *msg =
		"Content-Type: multipart/mixed; boundary=outer\r\n"
		"\r\n"
		"--outer\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"a\r\n"
		"--outer\r\n"
		"Content-Type: message/rfc822\r\n"
		"\r\n"
		"To: Team: a@x.test;\r\n"
		"\r\n"
		"b\r\n"
		"--outer--\r\n";
	struct arena *arena = arena_new(0);
	struct mime_parser *p = mime_parser_init(arena, NULL);
	struct mime_part *root;
	size_t i;
	buf_t b;
	char *whole = i_strdup(bs(msg, true));

	for (i = 0; msg[i] != '\0'; i++)
		mime_parser_feed(p, msg + i, 1);
	root = mime_parser_finish(&p);
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(imap_bodystructure_write(&b, arena, root, true, 0), 0);
	assert_string_equal(buf_str(&b), whole);
	buf_free(&b);
	i_free(whole);
	arena_free(&arena);
}

static void test_limit(void **state)
{
	const char *msg = "Content-Type: text/plain\r\n\r\nbody\r\n";
	struct arena *arena = arena_new(0);
	struct mime_part *root = mime_parse(arena, msg, strlen(msg), NULL);
	buf_t b;

	buf_init(&b, 30);
	assert_int_equal(imap_bodystructure_write(&b, arena, root, true, 0), -1);
	buf_free(&b);
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_text),
		cmocka_unit_test(test_all_fields),
		cmocka_unit_test(test_mixed_attachment_2231),
		cmocka_unit_test(test_2231_continuations),
		cmocka_unit_test(test_alternative_and_rfc822),
		cmocka_unit_test(test_rfc822_multipart_inside),
		cmocka_unit_test(test_rfc822_opaque),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_empty_multipart),
		cmocka_unit_test(test_multipart_extension),
		cmocka_unit_test(test_names_as_written),
		cmocka_unit_test(test_not_mime),
		cmocka_unit_test(test_8bit_param),
		cmocka_unit_test(test_byte_at_a_time_same),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_bare_lf_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
