#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "sasl.h"
#include "base64.h"

/* base64 of a PLAIN message built from its three parts */
static char *plain_b64(const char *authzid, const char *authcid, const char *pass)
{
	buf_t raw, enc;
	char *ret;

	buf_init(&raw, 4096);
	buf_init(&enc, 8192);
	assert_int_equal(buf_append_str(&raw, authzid), 0);
	assert_int_equal(buf_append_c(&raw, 0), 0);
	assert_int_equal(buf_append_str(&raw, authcid), 0);
	assert_int_equal(buf_append_c(&raw, 0), 0);
	assert_int_equal(buf_append_str(&raw, pass), 0);
	assert_int_equal(base64_encode(raw.data, raw.used, &enc), 0);
	ret = i_strdup(buf_str(&enc));
	buf_free(&raw);
	buf_free(&enc);
	return ret;
}

static void test_plain_initial_response(void **state)
{
	struct sasl_server *s = sasl_server_new("plain");
	char *ir = plain_b64("", "alice@example.test", "secret pw");
	const char *ch;

	assert_non_null(s);
	assert_string_equal(sasl_server_mech(s), "PLAIN");
	assert_int_equal(sasl_server_step(s, ir, strlen(ir), &ch), SASL_DONE);
	assert_string_equal(sasl_server_authcid(s), "alice@example.test");
	assert_string_equal(sasl_server_password(s), "secret pw");
	assert_true(sasl_server_authzid_ok(s));
	/* no more steps after done */
	assert_int_equal(sasl_server_step(s, ir, strlen(ir), &ch), SASL_MALFORMED);
	sasl_server_free(&s);
	assert_null(s);
	i_free(ir);
}

static void test_plain_challenge(void **state)
{
	struct sasl_server *s = sasl_server_new("PLAIN");
	char *msg = plain_b64("alice@example.test", "alice@example.test", "pw");
	const char *ch;

	assert_int_equal(sasl_server_step(s, NULL, 0, &ch), SASL_CONTINUE);
	assert_string_equal(ch, "");
	assert_int_equal(sasl_server_step(s, msg, strlen(msg), &ch), SASL_DONE);
	assert_true(sasl_server_authzid_ok(s));
	sasl_server_free(&s);
	i_free(msg);
}

static void test_plain_other_authzid(void **state)
{
	struct sasl_server *s = sasl_server_new("PLAIN");
	char *msg = plain_b64("bob@example.test", "alice@example.test", "pw");
	const char *ch;

	assert_int_equal(sasl_server_step(s, msg, strlen(msg), &ch), SASL_DONE);
	assert_false(sasl_server_authzid_ok(s));
	assert_string_equal(sasl_server_authzid(s), "bob@example.test");
	sasl_server_free(&s);
	i_free(msg);
}

static void test_plain_malformed(void **state)
{
	static const char *const bad[] = {
		"=",                 /* empty initial response: no message */
		"not base64!",
		"YWJj",              /* "abc": no NULs */
		"AGFsaWNl",          /* "\0alice": one NUL */
		"AAA=",              /* "\0\0": empty authcid and password */
		"YQBiAA==",          /* "a\0b\0": empty password */
		"YQBiAGMAZA==",      /* "a\0b\0c\0d": three NULs */
		"YWJj=",             /* bad length */
		"YW=j",              /* padding in the middle */
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(bad); i++) {
		struct sasl_server *s = sasl_server_new("PLAIN");
		const char *ch;

		assert_int_equal(sasl_server_step(s, bad[i], strlen(bad[i]), &ch), SASL_MALFORMED);
		sasl_server_free(&s);
	}
}

static void test_login(void **state)
{
	struct sasl_server *s = sasl_server_new("LOGIN");
	const char *ch;

	assert_int_equal(sasl_server_step(s, NULL, 0, &ch), SASL_CONTINUE);
	assert_string_equal(ch, "VXNlcm5hbWU6");
	/* "alice@example.test" */
	assert_int_equal(sasl_server_step(s, "YWxpY2VAZXhhbXBsZS50ZXN0", 24, &ch), SASL_CONTINUE);
	assert_string_equal(ch, "UGFzc3dvcmQ6");
	/* "hunter2" */
	assert_int_equal(sasl_server_step(s, "aHVudGVyMg==", 12, &ch), SASL_DONE);
	assert_string_equal(sasl_server_authcid(s), "alice@example.test");
	assert_string_equal(sasl_server_password(s), "hunter2");
	assert_true(sasl_server_authzid_ok(s));
	sasl_server_free(&s);
}

static void test_login_initial_response(void **state)
{
	struct sasl_server *s = sasl_server_new("login");
	const char *ch;

	assert_int_equal(sasl_server_step(s, "YWxpY2VAZXhhbXBsZS50ZXN0", 24, &ch), SASL_CONTINUE);
	assert_string_equal(ch, "UGFzc3dvcmQ6");
	assert_int_equal(sasl_server_step(s, "aHVudGVyMg==", 12, &ch), SASL_DONE);
	assert_string_equal(sasl_server_authcid(s), "alice@example.test");
	sasl_server_free(&s);
}

static void test_cancel(void **state)
{
	struct sasl_server *s = sasl_server_new("LOGIN");
	const char *ch;

	assert_int_equal(sasl_server_step(s, NULL, 0, &ch), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(s, "*", 1, &ch), SASL_CANCELLED);
	sasl_server_free(&s);

	s = sasl_server_new("PLAIN");
	assert_int_equal(sasl_server_step(s, NULL, 0, &ch), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(s, "*", 1, &ch), SASL_CANCELLED);
	sasl_server_free(&s);
}

static void test_login_bad(void **state)
{
	struct sasl_server *s = sasl_server_new("LOGIN");
	const char *ch;

	assert_int_equal(sasl_server_step(s, NULL, 0, &ch), SASL_CONTINUE);
	/* empty user name */
	assert_int_equal(sasl_server_step(s, "=", 1, &ch), SASL_MALFORMED);
	sasl_server_free(&s);

	s = sasl_server_new("LOGIN");
	assert_int_equal(sasl_server_step(s, NULL, 0, &ch), SASL_CONTINUE);
	/* "a\0b": a NUL in the name */
	assert_int_equal(sasl_server_step(s, "YQBi", 4, &ch), SASL_MALFORMED);
	sasl_server_free(&s);
}

static void test_unknown_mech(void **state)
{
	assert_null(sasl_server_new("CRAM-MD5"));
	assert_null(sasl_server_new(""));
	assert_null(sasl_server_new("PLAINX"));
}

static void test_too_long(void **state)
{
	size_t len = SASL_MAX_RESPONSE + 4;
	char *big = malloc(len);
	struct sasl_server *s = sasl_server_new("PLAIN");
	const char *ch;

	memset(big, 'A', len);
	assert_int_equal(sasl_server_step(s, big, len, &ch), SASL_MALFORMED);
	sasl_server_free(&s);
	free(big);

	/* a name over 255 octets */
	{
		char name[300];
		char *msg;

		memset(name, 'a', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		msg = plain_b64("", name, "pw");
		s = sasl_server_new("PLAIN");
		assert_int_equal(sasl_server_step(s, msg, strlen(msg), &ch), SASL_MALFORMED);
		sasl_server_free(&s);
		i_free(msg);
	}
}

static void test_strict_base64(void **state)
{
	buf_t out;

	buf_init(&out, 100);
	assert_int_equal(sasl_base64_decode_strict("", 0, &out), 0);
	assert_int_equal(sasl_base64_decode_strict("YWJj", 4, &out), 0);
	assert_string_equal(buf_str(&out), "abc");
	buf_reset(&out);
	assert_int_equal(sasl_base64_decode_strict("YQ==", 4, &out), 0);
	assert_string_equal(buf_str(&out), "a");
	assert_int_equal(sasl_base64_decode_strict("Y Q=", 4, &out), -1);
	assert_int_equal(sasl_base64_decode_strict("Y===", 4, &out), -1);
	assert_int_equal(sasl_base64_decode_strict("YQ=", 3, &out), -1);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_initial_response),
		cmocka_unit_test(test_plain_challenge),
		cmocka_unit_test(test_plain_other_authzid),
		cmocka_unit_test(test_plain_malformed),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_login_initial_response),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_login_bad),
		cmocka_unit_test(test_unknown_mech),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_strict_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
