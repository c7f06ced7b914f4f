/* The SMTP client's reply parser and EHLO keyword parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "client.h"

/* Feed text (lines split at LF) and return the last reply completed. */
static struct smtp_reply *feed(struct arena *arena, const char *text, int *replies_r,
			       int *errors_r)
{
	struct smtp_reply_parser *p = smtp_reply_parser_init(arena);
	struct smtp_reply *last = NULL, *r;
	const char *error, *nl;

	*replies_r = 0;
	*errors_r = 0;
	while (*text != '\0') {
		int ret;

		nl = strchr(text, '\n');
		if (nl == NULL)
			nl = text + strlen(text);
		ret = smtp_reply_parser_line(p, text, (size_t)(nl - text), &r, &error);
		if (ret > 0) {
			last = r;
			(*replies_r)++;
		} else if (ret < 0) {
			(*errors_r)++;
		}
		text = *nl == '\0' ? nl : nl + 1;
	}
	smtp_reply_parser_deinit(&p);
	return last;
}

static void test_single_line(void **state)
{
	struct arena *arena = arena_new(0);
	int n, e;
	struct smtp_reply *r = feed(arena, "550 5.1.1 <x@y> no such user\r\n", &n, &e);

	assert_int_equal(n, 1);
	assert_int_equal(e, 0);
	assert_int_equal(r->code, 550);
	assert_string_equal(r->enhanced, "5.1.1");
	assert_int_equal(r->line_count, 1);
	assert_string_equal(r->lines[0], "<x@y> no such user");
	assert_string_equal(r->text, "550 5.1.1 <x@y> no such user");
	arena_free(&arena);
}

static void test_multi_line(void **state)
{
	struct arena *arena = arena_new(0);
	int n, e;
	struct smtp_reply *r = feed(arena, "451-4.3.0 first\r\n451-4.3.0 second\r\n451 4.3.0 third\r\n",
				    &n, &e);

	assert_int_equal(n, 1);
	assert_int_equal(r->code, 451);
	assert_string_equal(r->enhanced, "4.3.0");
	assert_int_equal(r->line_count, 3);
	assert_string_equal(r->lines[1], "second");
	assert_string_equal(r->text, "451 4.3.0 first second third");
	arena_free(&arena);
}

static void test_no_enhanced(void **state)
{
	struct arena *arena = arena_new(0);
	int n, e;
	struct smtp_reply *r;

	r = feed(arena, "250 ok\n", &n, &e);
	assert_null(r->enhanced);
	assert_string_equal(r->text, "250 ok");
	/* the class must match (RFC 2034 4) */
	r = feed(arena, "450 5.1.1 mismatch\n", &n, &e);
	assert_null(r->enhanced);
	r = feed(arena, "250 2.1234.5 x\n", &n, &e);
	assert_null(r->enhanced);
	r = feed(arena, "250\r\n", &n, &e);
	assert_int_equal(n, 1);
	assert_int_equal(r->code, 250);
	assert_string_equal(r->text, "250");
	arena_free(&arena);
}

static void test_malformed(void **state)
{
	struct arena *arena = arena_new(0);
	int n, e;

	feed(arena, "25\n", &n, &e);
	assert_int_equal(e, 1);
	feed(arena, "600 x\n199 y\n2500 z\nabc\n", &n, &e);
	assert_int_equal(e, 4);
	assert_int_equal(n, 0);
	/* the code changes inside a multi-line reply */
	feed(arena, "250-a\n251 b\n", &n, &e);
	assert_int_equal(e, 1);
	assert_int_equal(n, 0);
	/* after an error the parser starts afresh */
	feed(arena, "250-a\n251 b\n220 fresh\n", &n, &e);
	assert_int_equal(n, 1);
	arena_free(&arena);
}

static void test_limits(void **state)
{
	struct arena *arena = arena_new(0);
	struct smtp_reply_parser *p = smtp_reply_parser_init(arena);
	struct smtp_reply *r;
	const char *error;
	char *longline = malloc(SMTP_REPLY_MAX_LINE + 10);
	unsigned int i;

	memset(longline, 'x', SMTP_REPLY_MAX_LINE + 10);
	memcpy(longline, "250 ", 4);
	assert_int_equal(smtp_reply_parser_line(p, longline, SMTP_REPLY_MAX_LINE + 1, &r,
						&error), -1);
	assert_int_equal(smtp_reply_parser_line(p, longline, SMTP_REPLY_MAX_LINE, &r,
						&error), 1);
	free(longline);
	for (i = 0; i < SMTP_REPLY_MAX_LINES; i++)
		assert_int_equal(smtp_reply_parser_line(p, "250-x", 5, &r, &error), 0);
	assert_int_equal(smtp_reply_parser_line(p, "250-x", 5, &r, &error), -1);
	assert_string_equal(error, "too many reply lines");
	smtp_reply_parser_deinit(&p);
	arena_free(&arena);
}

static void test_ehlo(void **state)
{
	struct arena *arena = arena_new(0);
	int n, e;
	uint64_t size;
	unsigned int caps;
	struct smtp_reply *r = feed(arena,
		"250-mx.test greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
		"250-8bitmime\r\n250-SMTPUTF8\r\n250-DSN\r\n250-AUTH=LOGIN\r\n"
		"250-AUTH PLAIN CRAM-MD5\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n", &n, &e);

	caps = smtp_client_parse_ehlo(r, &size);
	assert_int_equal(size, 10240000);
	assert_true((caps & SMTP_CAP_PIPELINING) != 0);
	assert_true((caps & SMTP_CAP_8BITMIME) != 0);
	assert_true((caps & SMTP_CAP_SMTPUTF8) != 0);
	assert_true((caps & SMTP_CAP_DSN) != 0);
	assert_true((caps & SMTP_CAP_STARTTLS) != 0);
	assert_true((caps & SMTP_CAP_AUTH_PLAIN) != 0);
	assert_true((caps & SMTP_CAP_AUTH_LOGIN) != 0);
	assert_true((caps & SMTP_CAP_ENHANCEDSTATUSCODES) != 0);

	/* the greeting line is never a keyword */
	r = feed(arena, "250 PIPELINING\r\n", &n, &e);
	caps = smtp_client_parse_ehlo(r, &size);
	assert_int_equal(caps, SMTP_CAP_ESMTP);
	arena_free(&arena);
}

static void test_xtext(void **state)
{
	char *x = smtp_xtext_encode("a+b=c d\xc3\xa9");

	/* RFC 3461 4 */
	assert_string_equal(x, "a+2Bb+3Dc+20d+C3+A9");
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_multi_line),
		cmocka_unit_test(test_no_enhanced),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_xtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
