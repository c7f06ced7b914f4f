/* Unit tests for the POP3 command line parser (src/pop3/pop3-command.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "buf.h"
#include "pop3-command.h"

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

static struct pop3_command parse_ok(const char *line)
{
	struct pop3_command cmd;
	enum pop3_parse_error err;
	const char *text = NULL;

	if (pop3_command_parse(arena, (const unsigned char *)line, strlen(line), &cmd, &err,
			       &text) < 0)
		fail_msg("'%s' did not parse: %s", line, text);
	return cmd;
}

static enum pop3_parse_error parse_fail(const void *line, size_t len)
{
	struct pop3_command cmd;
	enum pop3_parse_error err;
	const char *text = NULL;

	assert_int_equal(pop3_command_parse(arena, line, len, &cmd, &err, &text), -1);
	assert_non_null(text);
	assert_true(strlen(text) > 0);
	return err;
}

static enum pop3_parse_error parse_fail_str(const char *line)
{
	return parse_fail(line, strlen(line));
}

static void test_keywords(void **state)
{
	static const struct {
		const char *line;
		enum pop3_verb verb;
	} cases[] = {
		{ "USER a", POP3_VERB_USER }, { "pass x", POP3_VERB_PASS },
		{ "Apop a 0123456789abcdef0123456789ABCDEF", POP3_VERB_APOP },
		{ "AUTH", POP3_VERB_AUTH }, { "stls", POP3_VERB_STLS }, { "CAPA", POP3_VERB_CAPA },
		{ "QUIT", POP3_VERB_QUIT }, { "STAT", POP3_VERB_STAT }, { "LIST", POP3_VERB_LIST },
		{ "RETR 1", POP3_VERB_RETR }, { "DELE 1", POP3_VERB_DELE }, { "NOOP", POP3_VERB_NOOP },
		{ "RSET", POP3_VERB_RSET }, { "TOP 1 0", POP3_VERB_TOP }, { "UIDL", POP3_VERB_UIDL },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pop3_command cmd = parse_ok(cases[i].line);

		assert_int_equal(cmd.verb, cases[i].verb);
		assert_string_equal(cmd.name, pop3_verb_name(cases[i].verb));
	}
}

static void test_unknown(void **state)
{
	assert_int_equal(parse_fail_str(""), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse_fail_str("HELO x"), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse_fail_str("STATUS"), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse_fail_str("RETRIEVE 1"), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse_fail_str(" STAT"), POP3_PARSE_UNKNOWN);
	assert_int_equal(parse_fail_str("ST"), POP3_PARSE_UNKNOWN);
	/* XTND, LAST: RFC 1725's and others' obsolete commands */
	assert_int_equal(parse_fail_str("LAST"), POP3_PARSE_UNKNOWN);
}

static void test_bad_chars(void **state)
{
	assert_int_equal(parse_fail("STAT\0", 5), POP3_PARSE_BAD_CHARS);
	assert_int_equal(parse_fail("USER a\0b", 8), POP3_PARSE_BAD_CHARS);
	assert_int_equal(parse_fail_str("RETR \x01"), POP3_PARSE_BAD_CHARS);
	assert_int_equal(parse_fail_str("NOOP\x7f"), POP3_PARSE_BAD_CHARS);
	assert_int_equal(parse_fail_str("STAT\r"), POP3_PARSE_BAD_CHARS);
}

static void test_numbers(void **state)
{
	struct pop3_command cmd;

	cmd = parse_ok("RETR 17");
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 17);
	cmd = parse_ok("retr 007");
	assert_int_equal(cmd.msg, 7);
	cmd = parse_ok("DELE 0");
	assert_int_equal(cmd.msg, 0);
	cmd = parse_ok("RETR 4294967294");
	assert_int_equal(cmd.msg, 4294967294u);
	/* past 32 bits: a number no maildrop holds, not a syntax error */
	cmd = parse_ok("RETR 4294967295");
	assert_int_equal(cmd.msg, POP3_MSG_TOO_BIG);
	cmd = parse_ok("RETR 99999999999999999999999999");
	assert_int_equal(cmd.msg, POP3_MSG_TOO_BIG);
	cmd = parse_ok("LIST");
	assert_false(cmd.has_msg);
	cmd = parse_ok("UIDL 3");
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 3);

	assert_int_equal(parse_fail_str("RETR"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("RETR x"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("RETR -1"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("RETR +1"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("RETR 1x"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("RETR 1 2"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("DELE"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("LIST 1 2"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("LIST a"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("UIDL 1.5"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("RETR\t1"), POP3_PARSE_UNKNOWN);
}

static void test_top(void **state)
{
	struct pop3_command cmd;

	cmd = parse_ok("TOP 2 10");
	assert_int_equal(cmd.msg, 2);
	assert_int_equal(cmd.lines, 10);
	cmd = parse_ok("TOP 1 0");
	assert_int_equal(cmd.lines, 0);
	cmd = parse_ok("TOP 1 123456789012345");
	assert_int_equal(cmd.lines, UINT32_MAX);
	assert_int_equal(parse_fail_str("TOP 1"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("TOP"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("TOP 1 -1"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("TOP 1 2 3"), POP3_PARSE_SYNTAX);
}

static void test_spaces(void **state)
{
	struct pop3_command cmd;

	/* lenient: runs of spaces and a trailing space */
	cmd = parse_ok("STAT ");
	assert_int_equal(cmd.verb, POP3_VERB_STAT);
	cmd = parse_ok("RETR  5 ");
	assert_int_equal(cmd.msg, 5);
	cmd = parse_ok("TOP   5   3  ");
	assert_int_equal(cmd.lines, 3);
	assert_int_equal(parse_fail_str("STAT 1"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("QUIT now"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("CAPA x"), POP3_PARSE_SYNTAX);
}

static void test_user_pass(void **state)
{
	struct pop3_command cmd;
	char longarg[POP3_MAX_ARG + 16];

	cmd = parse_ok("USER alice@example.test");
	assert_string_equal(cmd.arg, "alice@example.test");
	cmd = parse_ok("user  Alice@Example.Test ");
	assert_string_equal(cmd.arg, "Alice@Example.Test");
	assert_int_equal(parse_fail_str("USER"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("USER a b"), POP3_PARSE_SYNTAX);
	/* RFC 1939 7: the password is the rest of the line, spaces kept */
	cmd = parse_ok("PASS  two words ");
	assert_string_equal(cmd.arg, " two words ");
	cmd = parse_ok("PASS p\xc3\xa4ss\tword");
	assert_string_equal(cmd.arg, "p\xc3\xa4ss\tword");
	cmd = parse_ok("PASS ");
	assert_string_equal(cmd.arg, "");
	assert_int_equal(parse_fail_str("PASS"), POP3_PARSE_SYNTAX);

	memset(longarg, 'a', sizeof(longarg));
	memcpy(longarg, "USER ", 5);
	longarg[sizeof(longarg) - 1] = '\0';
	assert_int_equal(parse_fail_str(longarg), POP3_PARSE_SYNTAX);
}

static void test_apop(void **state)
{
	struct pop3_command cmd;

	/* the RFC 1939 7 example */
	cmd = parse_ok("APOP mrose c4c9334bac560ecc979e58001b3e22fb");
	assert_string_equal(cmd.arg, "mrose");
	assert_string_equal(cmd.arg2, "c4c9334bac560ecc979e58001b3e22fb");
	cmd = parse_ok("APOP mrose C4C9334BAC560ECC979E58001B3E22FB");
	assert_string_equal(cmd.arg2, "c4c9334bac560ecc979e58001b3e22fb");
	assert_int_equal(parse_fail_str("APOP mrose"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("APOP mrose c4c9334bac560ecc979e58001b3e22f"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("APOP mrose c4c9334bac560ecc979e58001b3e22fbb"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("APOP mrose g4c9334bac560ecc979e58001b3e22fb"), POP3_PARSE_SYNTAX);
	assert_int_equal(parse_fail_str("APOP a b c"), POP3_PARSE_SYNTAX);
}

static void test_auth(void **state)
{
	struct pop3_command cmd;
	buf_t line;
	size_t i;

	cmd = parse_ok("AUTH");
	assert_null(cmd.arg);
	assert_null(cmd.arg2);
	cmd = parse_ok("AUTH plain");
	assert_string_equal(cmd.arg, "PLAIN");
	assert_null(cmd.arg2);
	cmd = parse_ok("AUTH PLAIN AGFsaWNlAHB3");
	assert_string_equal(cmd.arg2, "AGFsaWNlAHB3");
	assert_int_equal(cmd.arg2_len, 12);
	/* RFC 5034 4: "=" is an empty initial response */
	cmd = parse_ok("AUTH PLAIN =");
	assert_string_equal(cmd.arg2, "=");
	assert_int_equal(parse_fail_str("AUTH PLAIN a b"), POP3_PARSE_SYNTAX);

	/* an initial response may be long, up to SASL_MAX_RESPONSE */
	buf_init(&line, SASL_MAX_RESPONSE + 64);
	assert_int_equal(buf_append_str(&line, "AUTH PLAIN "), 0);
	for (i = 0; i < SASL_MAX_RESPONSE; i++)
		assert_int_equal(buf_append_c(&line, 'A'), 0);
	cmd = parse_ok(buf_str(&line));
	assert_int_equal(cmd.arg2_len, SASL_MAX_RESPONSE);
	assert_int_equal(buf_append_c(&line, 'A'), 0);
	assert_int_equal(parse_fail_str(buf_str(&line)), POP3_PARSE_SYNTAX);
	buf_free(&line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_bad_chars),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_spaces),
		cmocka_unit_test(test_user_pass),
		cmocka_unit_test(test_apop),
		cmocka_unit_test(test_auth),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
