#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "smtp-command.h"
#include "arena.h"

#include <stdio.h>

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

static int parse(const char *line, struct smtp_command *cmd, struct smtp_parse_error *err)
{
	return smtp_command_parse(arena, (const unsigned char *)line, strlen(line), cmd, err);
}

static void expect_error(const char *line, unsigned int code, const char *enhanced)
{
	struct smtp_command cmd;
	struct smtp_parse_error err;

	if (parse(line, &cmd, &err) == 0)
		fail_msg("accepted: %s", line);
	if (err.code != code || strcmp(err.enhanced, enhanced) != 0)
		fail_msg("%s: got %u %s, wanted %u %s", line, err.code, err.enhanced, code, enhanced);
}

static void test_verbs(void **state)
{
	static const struct {
		const char *line;
		enum smtp_verb verb;
	} cases[] = {
		{ "EHLO client.example", SMTP_VERB_EHLO },
		{ "helo client", SMTP_VERB_HELO },
		{ "DATA", SMTP_VERB_DATA },
		{ "data  ", SMTP_VERB_DATA },
		{ "RSET", SMTP_VERB_RSET },
		{ "NOOP", SMTP_VERB_NOOP },
		{ "NOOP anything goes", SMTP_VERB_NOOP },
		{ "QUIT", SMTP_VERB_QUIT },
		{ "VRFY bob", SMTP_VERB_VRFY },
		{ "EXPN list", SMTP_VERB_EXPN },
		{ "HELP", SMTP_VERB_HELP },
		{ "HELP MAIL", SMTP_VERB_HELP },
		{ "STARTTLS", SMTP_VERB_STARTTLS },
		{ "SEND FROM:<a@b>", SMTP_VERB_SEND },
		{ "SOML", SMTP_VERB_SOML },
		{ "SAML", SMTP_VERB_SAML },
		{ "TURN", SMTP_VERB_TURN },
	};
	struct smtp_command cmd;
	struct smtp_parse_error err;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		assert_int_equal(parse(cases[i].line, &cmd, &err), 0);
		assert_int_equal(cmd.verb, cases[i].verb);
	}
	assert_int_equal(parse("EHLO  client.example", &cmd, &err), -1);
	assert_int_equal(parse("ehlo client.example", &cmd, &err), 0);
	assert_string_equal(cmd.helo, "client.example");
	assert_int_equal(parse("EHLO [192.0.2.1]", &cmd, &err), 0);
	assert_string_equal(cmd.helo, "[192.0.2.1]");
}

static void test_bad_lines(void **state)
{
	expect_error("", 500, "5.5.1");
	expect_error("FOO bar", 500, "5.5.1");
	expect_error("MAILFROM:<a@b>", 500, "5.5.1");
	expect_error("GET / HTTP/1.0", 500, "5.5.1");
	expect_error("EHLO", 501, "5.5.4");
	expect_error("HELO ", 501, "5.5.4");
	expect_error("DATA x", 501, "5.5.4");
	expect_error("QUIT now", 501, "5.5.4");
	expect_error("RSET x", 501, "5.5.4");
	expect_error("STARTTLS x", 501, "5.5.4");
	expect_error("VRFY", 501, "5.5.4");
	expect_error("MAIL", 501, "5.5.4");
	expect_error("MAIL TO:<a@b>", 501, "5.5.4");
	expect_error("RCPT FROM:<a@b>", 501, "5.5.4");
	expect_error("BDAT", 501, "5.5.4");
	expect_error("BDAT x", 501, "5.5.4");
	expect_error("BDAT 10 FIRST", 501, "5.5.4");
	expect_error("BDAT 99999999999999999999", 501, "5.5.4");
	expect_error("AUTH", 501, "5.5.4");
	expect_error("AUTH PL@IN", 501, "5.5.4");
	expect_error("AUTH PLAIN a b", 501, "5.5.4");
}

static void test_nul_and_8bit(void **state)
{
	struct smtp_command cmd;
	struct smtp_parse_error err;
	static const unsigned char nul_line[] = "NOOP a\0b";

	assert_int_equal(smtp_command_parse(arena, nul_line, sizeof(nul_line) - 1, &cmd, &err), -1);
	assert_int_equal(err.code, 500);
	assert_string_equal(err.enhanced, "5.5.2");
	/* invalid UTF-8 */
	expect_error("MAIL FROM:<j\xe9r\xf4me@example.test>", 500, "5.5.2");
	/* valid UTF-8 but in a command that takes none */
	expect_error("NOOP gr\xc3\xbc\xc3\x9f", 500, "5.5.2");
	expect_error("VRFY j\xc3\xa9r\xc3\xb4me", 500, "5.5.2");
	/* valid UTF-8 in a path: parsed, flagged */
	assert_int_equal(parse("MAIL FROM:<j\xc3\xa9r\xc3\xb4me@example.test> SMTPUTF8", &cmd, &err), 0);
	assert_true(cmd.path.utf8);
	assert_true(cmd.mail.smtputf8);
	assert_int_equal(parse("RCPT TO:<user@b\xc3\xbc\x63her.example>", &cmd, &err), 0);
	assert_true(cmd.path.utf8);
	assert_int_equal(parse("RCPT TO:<user@example.test>", &cmd, &err), 0);
	assert_false(cmd.path.utf8);
}

static void test_mail_paths(void **state)
{
	struct smtp_command cmd;
	struct smtp_parse_error err;

	assert_int_equal(parse("MAIL FROM:<alice@example.test>", &cmd, &err), 0);
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	assert_string_equal(cmd.path.address, "alice@example.test");
	assert_string_equal(cmd.path.local_part, "alice");
	assert_string_equal(cmd.path.domain, "example.test");
	assert_false(cmd.path.null);

	assert_int_equal(parse("MAIL FROM:<>", &cmd, &err), 0);
	assert_true(cmd.path.null);
	assert_string_equal(cmd.path.address, "");

	/* lenient: space after the colon, lower case, no brackets */
	assert_int_equal(parse("mail from: <alice@example.test>", &cmd, &err), 0);
	assert_string_equal(cmd.path.address, "alice@example.test");
	assert_int_equal(parse("MAIL FROM:alice@example.test", &cmd, &err), 0);
	assert_string_equal(cmd.path.address, "alice@example.test");
	assert_int_equal(parse("MAIL FROM:alice@example.test SIZE=10", &cmd, &err), 0);
	assert_true(cmd.mail.size_given);

	/* source route dropped (RFC 5321 4.1.1.3, appendix C) */
	assert_int_equal(parse("RCPT TO:<@relay.example,@other.example:bob@remote.example>", &cmd, &err), 0);
	assert_string_equal(cmd.path.address, "bob@remote.example");
	assert_string_equal(cmd.path.domain, "remote.example");

	/* quoted local parts */
	assert_int_equal(parse("RCPT TO:<\"john doe\"@example.test>", &cmd, &err), 0);
	assert_string_equal(cmd.path.local_part, "john doe");
	assert_string_equal(cmd.path.address, "\"john doe\"@example.test");
	assert_true(cmd.path.quoted);
	assert_int_equal(parse("RCPT TO:<\"john\"@example.test>", &cmd, &err), 0);
	assert_string_equal(cmd.path.address, "john@example.test");
	assert_int_equal(parse("RCPT TO:<\"bob@evil.example\"@example.test>", &cmd, &err), 0);
	assert_string_equal(cmd.path.local_part, "bob@evil.example");
	assert_string_equal(cmd.path.domain, "example.test");
	assert_string_equal(cmd.path.address, "\"bob@evil.example\"@example.test");
	assert_int_equal(parse("RCPT TO:<\"a\\\"b\\\\c\"@example.test>", &cmd, &err), 0);
	assert_string_equal(cmd.path.local_part, "a\"b\\c");
	assert_string_equal(cmd.path.address, "\"a\\\"b\\\\c\"@example.test");

	/* address tricks stay in the local part; the domain is the last one */
	assert_int_equal(parse("RCPT TO:<bob%evil.example@example.test>", &cmd, &err), 0);
	assert_string_equal(cmd.path.domain, "example.test");
	assert_string_equal(cmd.path.local_part, "bob%evil.example");
	assert_int_equal(parse("RCPT TO:<evil.example!bob@example.test>", &cmd, &err), 0);
	assert_string_equal(cmd.path.domain, "example.test");

	/* address literals */
	assert_int_equal(parse("RCPT TO:<bob@[192.0.2.7]>", &cmd, &err), 0);
	assert_string_equal(cmd.path.domain, "[192.0.2.7]");
	assert_int_equal(parse("RCPT TO:<bob@[IPv6:2001:db8::1]>", &cmd, &err), 0);

	/* postmaster without a domain (RFC 5321 4.1.1.3) */
	assert_int_equal(parse("RCPT TO:<Postmaster>", &cmd, &err), 0);
	assert_true(cmd.path.postmaster);
	expect_error("MAIL FROM:<Postmaster>", 501, "5.1.7");

	/* lenient on dots in local parts; kept quoted in the address */
	assert_int_equal(parse("RCPT TO:<a..b@example.test>", &cmd, &err), 0);
	assert_string_equal(cmd.path.address, "\"a..b\"@example.test");
}

static void test_bad_paths(void **state)
{
	expect_error("MAIL FROM:<alice>", 501, "5.1.7");
	expect_error("MAIL FROM:<alice@>", 501, "5.1.7");
	expect_error("MAIL FROM:<@example.test>", 501, "5.1.7");
	expect_error("MAIL FROM:<alice@example.test", 501, "5.1.7");
	expect_error("MAIL FROM:<alice@example..test>", 501, "5.1.7");
	expect_error("MAIL FROM:<alice@.example.test>", 501, "5.1.7");
	expect_error("MAIL FROM:<alice@example.test.>", 501, "5.1.7");
	expect_error("MAIL FROM:<alice@-example.test>", 501, "5.1.7");
	expect_error("MAIL FROM:<a b@example.test>", 501, "5.1.7");
	expect_error("MAIL FROM:<\"unterminated@example.test>", 501, "5.1.7");
	expect_error("MAIL FROM:<alice@example.test>x", 501, "5.1.7");
	expect_error("MAIL FROM:", 501, "5.1.7");
	expect_error("RCPT TO:<>", 501, "5.1.3");
	expect_error("RCPT TO:<bob@[]>", 501, "5.1.3");
	expect_error("RCPT TO:<bob@[1.2.3.4>", 501, "5.1.3");
	expect_error("RCPT TO:<@relay.example>", 501, "5.1.3");
	expect_error("RCPT TO:<@relay.example:>", 501, "5.1.3");
	expect_error("RCPT TO:<a@b@c>", 501, "5.1.3");
	expect_error("RCPT TO:<\"a\x01\"@example.test>", 501, "5.1.3");
	{
		/* a local part over 64 octets */
		char line[200];

		snprintf(line, sizeof(line), "RCPT TO:<%s@example.test>",
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		expect_error(line, 501, "5.1.3");
	}
}

static void test_mail_params(void **state)
{
	struct smtp_command cmd;
	struct smtp_parse_error err;

	assert_int_equal(parse("MAIL FROM:<a@example.test> SIZE=12345 BODY=8BITMIME "
			       "RET=HDRS ENVID=QQ+2B123 AUTH=alice+40example.test SMTPUTF8",
			       &cmd, &err), 0);
	assert_true(cmd.mail.size_given);
	assert_int_equal(cmd.mail.size, 12345);
	assert_int_equal(cmd.mail.body, SMTP_BODY_8BITMIME);
	assert_int_equal(cmd.mail.ret, SMTP_RET_HDRS);
	assert_string_equal(cmd.mail.envid, "QQ+123");
	assert_string_equal(cmd.mail.auth, "alice@example.test");
	assert_true(cmd.mail.smtputf8);

	assert_int_equal(parse("MAIL FROM:<a@example.test> body=7bit ret=full AUTH=<>", &cmd, &err), 0);
	assert_int_equal(cmd.mail.body, SMTP_BODY_7BIT);
	assert_int_equal(cmd.mail.ret, SMTP_RET_FULL);
	assert_string_equal(cmd.mail.auth, "<>");

	expect_error("MAIL FROM:<a@example.test> FOO=bar", 555, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> NOTIFY=NEVER", 555, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> SIZE=abc", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> SIZE", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> SIZE=", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> SIZE=1 SIZE=2", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> BODY=BINARYMIME", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> RET=ALL", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> ENVID=a+zz", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> ENVID=a+2", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> SMTPUTF8=yes", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> =x", 501, "5.5.4");
	expect_error("MAIL FROM:<a@example.test> SIZE=1=2", 501, "5.5.4");
}

static void test_rcpt_params(void **state)
{
	struct smtp_command cmd;
	struct smtp_parse_error err;

	assert_int_equal(parse("RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE "
			       "ORCPT=rfc822;b+2Bx@example.test", &cmd, &err), 0);
	assert_int_equal(cmd.rcpt.notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE);
	assert_string_equal(cmd.rcpt.orcpt, "rfc822;b+x@example.test");
	assert_int_equal(parse("RCPT TO:<b@example.test> NOTIFY=never", &cmd, &err), 0);
	assert_int_equal(cmd.rcpt.notify, SMTP_NOTIFY_NEVER);
	assert_int_equal(parse("RCPT TO:<b@example.test> NOTIFY=DELAY", &cmd, &err), 0);
	assert_int_equal(cmd.rcpt.notify, SMTP_NOTIFY_DELAY);

	expect_error("RCPT TO:<b@example.test> NOTIFY=NEVER,SUCCESS", 501, "5.5.4");
	expect_error("RCPT TO:<b@example.test> NOTIFY=SOMETIMES", 501, "5.5.4");
	expect_error("RCPT TO:<b@example.test> NOTIFY=SUCCESS,", 501, "5.5.4");
	expect_error("RCPT TO:<b@example.test> ORCPT=b@example.test", 501, "5.5.4");
	expect_error("RCPT TO:<b@example.test> ORCPT=;b@example.test", 501, "5.5.4");
	expect_error("RCPT TO:<b@example.test> ORCPT=rfc822;", 501, "5.5.4");
	expect_error("RCPT TO:<b@example.test> SIZE=1", 555, "5.5.4");
}

static void test_bdat_auth(void **state)
{
	struct smtp_command cmd;
	struct smtp_parse_error err;

	assert_int_equal(parse("BDAT 1000", &cmd, &err), 0);
	assert_int_equal(cmd.chunk_size, 1000);
	assert_false(cmd.last);
	assert_int_equal(parse("bdat 0 last", &cmd, &err), 0);
	assert_int_equal(cmd.chunk_size, 0);
	assert_true(cmd.last);
	/* a bad end marker after a valid size: the size is still known */
	assert_int_equal(parse("BDAT 42 LASTLY", &cmd, &err), -1);
	assert_int_equal(err.verb, SMTP_VERB_BDAT);
	assert_true(err.chunk_size_valid);
	assert_int_equal(err.chunk_size, 42);

	assert_int_equal(parse("AUTH PLAIN", &cmd, &err), 0);
	assert_string_equal(cmd.mech, "PLAIN");
	assert_null(cmd.initial_response);
	assert_int_equal(parse("AUTH plain AGFsaWNlAHB3", &cmd, &err), 0);
	assert_string_equal(cmd.mech, "plain");
	assert_string_equal(cmd.initial_response, "AGFsaWNlAHB3");
	assert_int_equal(parse("AUTH LOGIN =", &cmd, &err), 0);
	assert_string_equal(cmd.initial_response, "=");
}

static void test_xtext(void **state)
{
	assert_string_equal(smtp_xtext_decode(arena, "abc", 3, false), "abc");
	assert_string_equal(smtp_xtext_decode(arena, "a+20b", 5, false), "a b");
	assert_string_equal(smtp_xtext_decode(arena, "a+2b", 4, false), "a+");
	assert_null(smtp_xtext_decode(arena, "a+", 2, false));
	assert_null(smtp_xtext_decode(arena, "a+g0", 4, false));
	assert_null(smtp_xtext_decode(arena, "a+00", 4, false));
	assert_null(smtp_xtext_decode(arena, "a=b", 3, false));
	assert_null(smtp_xtext_decode(arena, "a b", 3, false));
	assert_null(smtp_xtext_decode(arena, "\xc3\xa9", 2, false));
	assert_string_equal(smtp_xtext_decode(arena, "\xc3\xa9", 2, true), "\xc3\xa9");
	assert_string_equal(smtp_xtext_decode(arena, "a+20b+2Bc+3Dd", 13, false), "a b+c=d");
}

static void test_dot_string(void **state)
{
	assert_true(smtp_is_dot_string("a.b", 3));
	assert_true(smtp_is_dot_string("a+tag", 5));
	assert_false(smtp_is_dot_string(".a", 2));
	assert_false(smtp_is_dot_string("a.", 2));
	assert_false(smtp_is_dot_string("a..b", 4));
	assert_false(smtp_is_dot_string("a b", 3));
	assert_false(smtp_is_dot_string("", 0));
}

/* Every prefix and every single-byte corruption of valid lines must parse
   or fail cleanly (ASan/UBSan builds catch overreads). */
static void test_hostile_prefixes(void **state)
{
	static const char *const lines[] = {
		"MAIL FROM:<@a,@b:\"q\\\"x\"@[IPv6:::1]> SIZE=1 BODY=8BITMIME ENVID=a+2B AUTH=<>",
		"RCPT TO:<\"a b\"@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;x+40y",
		"BDAT 123 LAST",
		"AUTH LOGIN dXNlcg==",
		"EHLO [192.0.2.1]",
	};
	unsigned int i;
	size_t len, j;

	for (i = 0; i < N_ELEMENTS(lines); i++) {
		size_t full = strlen(lines[i]);
		unsigned char *copy = malloc(full);

		for (len = 0; len <= full; len++) {
			struct smtp_command cmd;
			struct smtp_parse_error err;
			unsigned char *exact = malloc(len + 1);

			memcpy(exact, lines[i], len);
			(void)smtp_command_parse(arena, exact, len, &cmd, &err);
			free(exact);
		}
		for (j = 0; j < full; j++) {
			static const unsigned char subst[] = { 0, ' ', '<', '>', '"', '\\', '@', ':', '=', '+', 0xff };
			unsigned int k;

			for (k = 0; k < sizeof(subst); k++) {
				struct smtp_command cmd;
				struct smtp_parse_error err;

				memcpy(copy, lines[i], full);
				copy[j] = subst[k];
				(void)smtp_command_parse(arena, copy, full, &cmd, &err);
			}
		}
		free(copy);
		arena_clear(arena);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_nul_and_8bit),
		cmocka_unit_test(test_mail_paths),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_rcpt_params),
		cmocka_unit_test(test_bdat_auth),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_dot_string),
		cmocka_unit_test(test_hostile_prefixes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
