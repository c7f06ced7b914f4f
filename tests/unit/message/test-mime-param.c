#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mime.h"
#include "arena.h"

struct ct {
	int ret;
	const char *type, *subtype;
	struct mime_param *params;
	unsigned int count;
};

static struct ct parse_ct(struct arena *arena, const char *value)
{
	struct ct ct;

	ct.ret = mime_content_type_parse(arena, value, strlen(value), &ct.type, &ct.subtype,
					 &ct.params, &ct.count);
	return ct;
}

static const char *param(const struct ct *ct, const char *name)
{
	return mime_param_get(ct->params, ct->count, name);
}

static void test_type(void **state)
{
	struct arena *arena = arena_new(0);
	struct ct ct;

	ct = parse_ct(arena, "Text/PLAIN; Charset=\"UTF-8\"");
	assert_int_equal(ct.ret, 0);
	assert_string_equal(ct.type, "text");
	assert_string_equal(ct.subtype, "plain");
	assert_int_equal(ct.count, 1);
	assert_string_equal(ct.params[0].name, "charset");
	assert_string_equal(ct.params[0].value, "UTF-8");
	assert_string_equal(ct.params[0].raw, "UTF-8");
	assert_false(ct.params[0].extended);

	ct = parse_ct(arena, " (comment) text (c) / (c) html ( c ) ;(c) charset (c) = (c) us-ascii (c)");
	assert_int_equal(ct.ret, 0);
	assert_string_equal(ct.subtype, "html");
	assert_string_equal(param(&ct, "charset"), "us-ascii");

	/* missing subtype: guessed */
	ct = parse_ct(arena, "text");
	assert_int_equal(ct.ret, 0);
	assert_string_equal(ct.subtype, "plain");
	ct = parse_ct(arena, "multipart; boundary=x");
	assert_string_equal(ct.subtype, "mixed");
	assert_string_equal(param(&ct, "boundary"), "x");
	ct = parse_ct(arena, "application/");
	assert_string_equal(ct.subtype, "octet-stream");

	/* unparseable */
	ct = parse_ct(arena, "");
	assert_int_equal(ct.ret, -1);
	assert_null(ct.type);
	ct = parse_ct(arena, "te\"xt/plain");
	assert_int_equal(ct.ret, -1);
	ct = parse_ct(arena, "/plain; charset=x");
	assert_int_equal(ct.ret, -1);
	assert_string_equal(param(&ct, "charset"), "x");
	ct = parse_ct(arena, "text/pl@in");
	assert_int_equal(ct.ret, -1);
	arena_free(&arena);
}

static void test_params_lenient(void **state)
{
	struct arena *arena = arena_new(0);
	struct ct ct;

	/* missing semicolons */
	ct = parse_ct(arena, "text/plain charset=utf-8 format=flowed");
	assert_int_equal(ct.count, 2);
	assert_string_equal(param(&ct, "charset"), "utf-8");
	assert_string_equal(param(&ct, "format"), "flowed");
	/* unquoted specials and spaces */
	ct = parse_ct(arena, "application/octet-stream; name=a/b@c.d?e; filename=my file.pdf; x=1");
	assert_string_equal(param(&ct, "name"), "a/b@c.d?e");
	assert_string_equal(param(&ct, "filename"), "my file.pdf");
	assert_string_equal(param(&ct, "x"), "1");
	/* quoted with escapes, unterminated */
	ct = parse_ct(arena, "text/plain; a=\"q\\\"uo\\\\ted; still\"; b=\"open");
	assert_string_equal(param(&ct, "a"), "q\"uo\\ted; still");
	assert_string_equal(param(&ct, "b"), "open");
	/* duplicates: first wins; empty values; junk */
	ct = parse_ct(arena, "text/plain; charset=a; CHARSET=b;; =x; novalue; e=");
	assert_string_equal(param(&ct, "charset"), "a");
	assert_int_equal(ct.count, 2);
	assert_string_equal(param(&ct, "e"), "");
	/* spaces around '=' and comments after values */
	ct = parse_ct(arena, "multipart/mixed; boundary = \"b1\" (the boundary)");
	assert_string_equal(param(&ct, "boundary"), "b1");
	arena_free(&arena);
}

static void test_rfc2231(void **state)
{
	struct arena *arena = arena_new(0);
	struct ct ct;

	/* RFC 2231 3: continuations */
	ct = parse_ct(arena, "message/external-body; access-type=URL;\r\n"
		      " URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"");
	assert_string_equal(param(&ct, "url"),
			    "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
	assert_false(ct.params[1].extended);
	assert_string_equal(ct.params[1].raw, ct.params[1].value);

	/* RFC 2231 4: charset and language */
	ct = parse_ct(arena, "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");
	assert_string_equal(param(&ct, "title"), "This is ***fun***");
	assert_string_equal(ct.params[0].charset, "us-ascii");
	assert_string_equal(ct.params[0].language, "en-us");
	assert_true(ct.params[0].extended);
	assert_string_equal(ct.params[0].raw, "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");

	/* RFC 2231 4.1: mixed, out of order sections */
	ct = parse_ct(arena, "application/x-stuff; title*2=\"isn't it!\"; "
		      "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*0*=us-ascii'en'This%20is%20even%20more%20");
	assert_string_equal(param(&ct, "title"), "This is even more ***fun*** isn't it!");
	assert_string_equal(ct.params[0].raw,
			    "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!");

	/* charset conversion, empty language */
	ct = parse_ct(arena, "text/plain; name*=iso-8859-1''caf%E9.txt");
	assert_string_equal(param(&ct, "name"), "caf\xc3\xa9.txt");
	assert_null(ct.params[0].language);
	ct = parse_ct(arena, "text/plain; name*0*=UTF-8''%E2%82%AC; name*1*=%E2%82%AC");
	assert_string_equal(param(&ct, "name"), "\xe2\x82\xac\xe2\x82\xac");
	/* invalid UTF-8 declared as utf-8 is sanitized */
	ct = parse_ct(arena, "text/plain; name*=utf-8''%FF");
	assert_non_null(param(&ct, "name"));
	assert_string_not_equal(param(&ct, "name"), "\xff");
	/* 2231 form beats a plain fallback in any order */
	ct = parse_ct(arena, "text/plain; name=\"fallback\"; name*=utf-8''real");
	assert_int_equal(ct.count, 1);
	assert_string_equal(param(&ct, "name"), "real");
	ct = parse_ct(arena, "text/plain; name*=utf-8''real; name=\"fallback\"");
	assert_string_equal(param(&ct, "name"), "real");
	/* no charset'lang' quotes: value kept, %XX decoded */
	ct = parse_ct(arena, "text/plain; name*=a%20b");
	assert_string_equal(param(&ct, "name"), "a b");
	/* duplicate sections: the first wins; bad escapes kept */
	ct = parse_ct(arena, "text/plain; n*0=a; n*0=x; n*1*=%zz%4");
	assert_string_equal(param(&ct, "n"), "a%zz%4");
	/* a quoted extended value (invalid but common) */
	ct = parse_ct(arena, "text/plain; name*=\"utf-8''%41\"");
	assert_string_equal(param(&ct, "name"), "A");
	/* a star in the middle is just part of the name */
	ct = parse_ct(arena, "text/plain; a*b=c");
	assert_string_equal(param(&ct, "a*b"), "c");
	arena_free(&arena);
}

static void test_disposition(void **state)
{
	struct arena *arena = arena_new(0);
	const char *disp;
	struct mime_param *params;
	unsigned int count;
	const char *v = "Attachment; filename*0*=utf-8''na%C3%AF; filename*1=\"ve.pdf\";\r\n"
		"\tsize=1234; creation-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"";

	assert_int_equal(mime_disposition_parse(arena, v, strlen(v), &disp, &params, &count), 0);
	assert_string_equal(disp, "attachment");
	assert_int_equal(count, 3);
	assert_string_equal(mime_param_get(params, count, "filename"), "na\xc3\xafve.pdf");
	assert_string_equal(params[0].raw, "utf-8''na%C3%AFve.pdf");
	assert_string_equal(mime_param_get(params, count, "size"), "1234");
	assert_string_equal(mime_param_get(params, count, "creation-date"),
			    "Wed, 12 Feb 1997 16:29:51 -0500");
	v = "; filename=x";
	assert_int_equal(mime_disposition_parse(arena, v, strlen(v), &disp, &params, &count), -1);
	assert_null(disp);
	assert_string_equal(mime_param_get(params, count, "filename"), "x");
	arena_free(&arena);
}

static void test_language(void **state)
{
	struct arena *arena = arena_new(0);
	const char **langs;
	unsigned int count;
	const char *v = " en-US, (comment) fr ,,de";

	assert_int_equal(mime_language_parse(arena, v, strlen(v), &langs, &count), 0);
	assert_int_equal(count, 3);
	assert_string_equal(langs[0], "en-US");
	assert_string_equal(langs[1], "fr");
	assert_string_equal(langs[2], "de");
	assert_int_equal(mime_language_parse(arena, "", 0, &langs, &count), 0);
	assert_int_equal(count, 0);
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type),
		cmocka_unit_test(test_params_lenient),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_disposition),
		cmocka_unit_test(test_language),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
