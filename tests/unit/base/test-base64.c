#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base64.h"

static void decode_all(const char *in, size_t len, buf_t *out)
{
	buf_init(out, BUF_MAX_UNLIMITED);
	assert_int_equal(base64_decode(in, len, out), 0);
}

/* the same input fed in pieces of `step` bytes */
static void decode_steps(const char *in, size_t len, size_t step, buf_t *out)
{
	struct base64_decoder dec;
	size_t i, n;

	buf_init(out, BUF_MAX_UNLIMITED);
	base64_decoder_init(&dec);
	for (i = 0; i < len; i += n) {
		n = I_MIN(step, len - i);
		assert_int_equal(base64_decode_more(&dec, in + i, n, out), 0);
	}
	assert_int_equal(base64_decode_finish(&dec, out), 0);
}

static void assert_decodes(const char *in, const void *expected, size_t expected_len)
{
	size_t len = strlen(in), step;
	buf_t all, part;

	decode_all(in, len, &all);
	assert_int_equal(buf_len(&all), expected_len);
	assert_memory_equal(all.data, expected, expected_len);
	for (step = 1; step <= 9; step++) {
		decode_steps(in, len, step, &part);
		assert_int_equal(buf_len(&part), buf_len(&all));
		assert_memory_equal(part.data, all.data, buf_len(&all));
		buf_free(&part);
	}
	buf_free(&all);
}

static void test_rfc4648_vectors(void **state)
{
	/* RFC 4648 10 */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	size_t i;
	buf_t b;

	for (i = 0; i < N_ELEMENTS(plain); i++) {
		buf_init(&b, BUF_MAX_UNLIMITED);
		assert_int_equal(base64_encode(plain[i], strlen(plain[i]), &b), 0);
		assert_string_equal(buf_str(&b), enc[i]);
		buf_free(&b);
		assert_decodes(enc[i], plain[i], strlen(plain[i]));
	}
}

static void test_lenient_decode(void **state)
{
	/* whitespace and line breaks anywhere */
	assert_decodes("Zm9v\r\nYmFy\r\n", "foobar", 6);
	assert_decodes(" Z m 9 v Y\tm\nF y ", "foobar", 6);
	/* garbage outside the alphabet skipped */
	assert_decodes("Zm9v!!YmFy*", "foobar", 6);
	/* missing padding: whole bytes of the last quantum */
	assert_decodes("Zm9vYg", "foob", 4);
	assert_decodes("Zm9vYmE", "fooba", 5);
	assert_decodes("Zm9vY", "foo", 3);
	/* padding ends the data */
	assert_decodes("Zg==Zm9v", "f", 1);
	assert_decodes("Zm8=\r\nignored", "fo", 2);
	assert_decodes("Zg=", "f", 1);
	/* '=' where it cannot be padding is noise */
	assert_decodes("=Zm9v", "foo", 3);
	assert_decodes("Z=m9v", "foo", 3);
	/* binary output */
	assert_decodes("AP8A/w==", "\x00\xff\x00\xff", 4);
	assert_decodes("-_", "", 0);
}

static void test_streaming_split(void **state)
{
	unsigned char data[1000];
	buf_t enc, all, part;
	size_t i, step;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + (i >> 3));
	buf_init(&enc, BUF_MAX_UNLIMITED);
	assert_int_equal(base64_encode_lines(data, sizeof(data), &enc, 76), 0);
	decode_all((const char *)enc.data, enc.used, &all);
	assert_int_equal(all.used, sizeof(data));
	assert_memory_equal(all.data, data, sizeof(data));
	for (step = 1; step < 80; step += 3) {
		decode_steps((const char *)enc.data, enc.used, step, &part);
		assert_int_equal(part.used, sizeof(data));
		assert_memory_equal(part.data, data, sizeof(data));
		buf_free(&part);
	}
	buf_free(&all);
	buf_free(&enc);
}

static void check_lines(const buf_t *b, size_t line_len)
{
	const char *p = (const char *)b->data, *end = p + b->used, *nl;

	if (b->used == 0)
		return;
	assert_true(b->used >= 2 && end[-2] == '\r' && end[-1] == '\n');
	while (p < end) {
		nl = strstr(p, "\r\n");
		assert_non_null(nl);
		assert_true((size_t)(nl - p) <= line_len);
		assert_true(nl - p > 0);
		if (nl + 2 < end)
			assert_int_equal((size_t)(nl - p), line_len);
		p = nl + 2;
	}
}

static void test_encode_lines(void **state)
{
	unsigned char data[600];
	size_t len, i, line_len;
	static const size_t line_lens[] = { 76, 4, 5, 7, 64, 1 };
	buf_t b, d;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(255 - i);
	for (i = 0; i < N_ELEMENTS(line_lens); i++) {
		line_len = line_lens[i];
		for (len = 0; len < sizeof(data); len += 1 + len / 3) {
			buf_init(&b, BUF_MAX_UNLIMITED);
			assert_int_equal(base64_encode_lines(data, len, &b, line_len), 0);
			check_lines(&b, line_len);
			decode_all((const char *)b.data, b.used, &d);
			assert_int_equal(d.used, len);
			assert_memory_equal(d.data, data, len);
			buf_free(&d);
			buf_free(&b);
		}
	}
	/* exactly one full line: no empty line after it */
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(base64_encode_lines(data, 57, &b, 76), 0);
	assert_int_equal(b.used, 78);
	buf_free(&b);
}

static void test_streaming_encoder(void **state)
{
	unsigned char data[500];
	struct base64_encoder enc;
	size_t i, step, n;
	buf_t whole, part;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31);
	buf_init(&whole, BUF_MAX_UNLIMITED);
	assert_int_equal(base64_encode_lines(data, sizeof(data), &whole, 76), 0);
	for (step = 1; step < 100; step += 7) {
		buf_init(&part, BUF_MAX_UNLIMITED);
		base64_encoder_init(&enc, 76);
		for (i = 0; i < sizeof(data); i += n) {
			n = I_MIN(step, sizeof(data) - i);
			assert_int_equal(base64_encode_more(&enc, data + i, n, &part), 0);
		}
		assert_int_equal(base64_encode_finish(&enc, &part), 0);
		assert_int_equal(part.used, whole.used);
		assert_memory_equal(part.data, whole.data, whole.used);
		buf_free(&part);
	}
	/* no line breaks */
	buf_init(&part, BUF_MAX_UNLIMITED);
	base64_encoder_init(&enc, 0);
	assert_int_equal(base64_encode_more(&enc, "fo", 2, &part), 0);
	assert_int_equal(base64_encode_more(&enc, "ob", 2, &part), 0);
	assert_int_equal(base64_encode_finish(&enc, &part), 0);
	assert_string_equal(buf_str(&part), "Zm9vYg==");
	buf_free(&part);
	buf_free(&whole);
}

static void test_limits(void **state)
{
	buf_t b;
	char in[4000];

	buf_init(&b, 7);
	assert_int_equal(base64_encode("foobar", 6, &b), -1);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
	buf_init(&b, 8);
	assert_int_equal(base64_encode("foobar", 6, &b), 0);
	buf_free(&b);

	/* mostly whitespace: the output fits though the estimate does not */
	memset(in, ' ', sizeof(in));
	memcpy(in + 2000, "Zm9vYmFy", 8);
	buf_init(&b, 6);
	assert_int_equal(base64_decode(in, sizeof(in), &b), 0);
	assert_string_equal(buf_str(&b), "foobar");
	buf_free(&b);
	buf_init(&b, 5);
	assert_int_equal(base64_decode(in, sizeof(in), &b), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_lenient_decode),
		cmocka_unit_test(test_streaming_split),
		cmocka_unit_test(test_encode_lines),
		cmocka_unit_test(test_streaming_encoder),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
