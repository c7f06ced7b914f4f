/* 8BITMIME downgrade (RFC 6152 3). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "outbound.h"

static bool all_7bit(const buf_t *b)
{
	size_t i;

	for (i = 0; i < b->used; i++) {
		if (b->data[i] >= 0x80)
			return false;
	}
	return true;
}

static void test_multipart(void **state)
{
	static const char msg[] =
		"From: a@x.test\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
		"preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\nd\xc3\xa9j\xc3\xa0 vu\r\n"
		"--b1\r\nContent-Type: text/plain\r\n\r\nplain ascii\r\n"
		"--b1\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
		"Subject: inner\r\nContent-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe\r\n"
		"--b1--\r\n";
	buf_t out;
	const char *error;

	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(outbound_downgrade_8bit((const unsigned char *)msg, sizeof(msg) - 1,
						 &out, &error), 0);
	assert_true(all_7bit(&out));
	assert_non_null(strstr(buf_str(&out), "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
				       "d=C3=A9j=C3=A0 vu\r\n--b1\r\n"));
	/* the unchanged part is copied as it was */
	assert_non_null(strstr(buf_str(&out), "--b1\r\nContent-Type: text/plain\r\n\r\nplain ascii\r\n--b1"));
	/* message/rfc822 becomes 7bit, its binary content base64 */
	assert_non_null(strstr(buf_str(&out), "Content-Type: message/rfc822\r\n"
				       "Content-Transfer-Encoding: 7bit\r\n\r\nSubject: inner\r\n"));
	if (strstr(buf_str(&out), "Content-Transfer-Encoding: base64\r\n\r\n//4=\r\n") == NULL) fail_msg("%s", buf_str(&out));
	assert_non_null(strstr(buf_str(&out), "--b1--\r\n"));
	buf_free(&out);
}

static void test_no_mime_headers(void **state)
{
	static const char msg[] = "Subject: x\n\nna\xc3\xafve\n";
	buf_t out;
	const char *error;

	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(outbound_downgrade_8bit((const unsigned char *)msg, sizeof(msg) - 1,
						 &out, &error), 0);
	assert_true(all_7bit(&out));
	assert_non_null(strstr(buf_str(&out), "MIME-Version: 1.0\r\n"
				       "Content-Type: text/plain; charset=utf-8\r\n"
				       "Content-Transfer-Encoding: quoted-printable\r\n\nna=C3=AFve\r\n"));
	buf_free(&out);
}

static void test_impossible(void **state)
{
	static const char partial[] =
		"MIME-Version: 1.0\r\nContent-Type: message/partial; id=\"x\"; number=1\r\n\r\n"
		"caf\xc3\xa9\r\n";
	static const char encoded[] =
		"MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n\xc3\xa9\r\n";
	buf_t out;
	const char *error;

	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(outbound_downgrade_8bit((const unsigned char *)partial,
						 sizeof(partial) - 1, &out, &error), -1);
	assert_int_equal(outbound_downgrade_8bit((const unsigned char *)encoded,
						 sizeof(encoded) - 1, &out, &error), -1);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_no_mime_headers),
		cmocka_unit_test(test_impossible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
