#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "qp.h"

static void decode_steps(const char *in, size_t len, size_t step, bool header, buf_t *out)
{
	struct qp_decoder dec;
	size_t i, n;

	buf_init(out, BUF_MAX_UNLIMITED);
	qp_decoder_init(&dec, header);
	for (i = 0; i < len; i += n) {
		n = I_MIN(step, len - i);
		assert_int_equal(qp_decode_more(&dec, in + i, n, out), 0);
	}
	assert_int_equal(qp_decode_finish(&dec, out), 0);
}

/* decoding in one call and in pieces of every size from 1 byte gives the
   expected output */
static void assert_decodes_mode(const char *in, const char *expected, size_t expected_len,
				bool header)
{
	size_t len = strlen(in), step;
	buf_t all, part;

	buf_init(&all, BUF_MAX_UNLIMITED);
	assert_int_equal(qp_decode(in, len, &all, header), 0);
	if (all.used != expected_len || memcmp(all.data, expected, expected_len) != 0)
		fail_msg("decoding \"%s\" gave \"%s\"", in, buf_str(&all));
	for (step = 1; step <= len + 1; step++) {
		decode_steps(in, len, step, header, &part);
		assert_int_equal(part.used, all.used);
		assert_memory_equal(part.data, all.data, all.used);
		buf_free(&part);
	}
	buf_free(&all);
}

static void assert_decodes(const char *in, const char *expected)
{
	assert_decodes_mode(in, expected, strlen(expected), false);
}

static void test_decode_basic(void **state)
{
	assert_decodes("", "");
	assert_decodes("plain text", "plain text");
	assert_decodes("caf=C3=A9", "caf\xc3\xa9");
	assert_decodes("caf=c3=a9", "caf\xc3\xa9");                 /* lower-case hex */
	assert_decodes("a=3Db", "a=b");
	assert_decodes("=41=42=43", "ABC");
	assert_decodes_mode("=00x", "\0x", 2, false);
	assert_decodes("line one\r\nline two\r\n", "line one\r\nline two\r\n");
	assert_decodes("line one\nline two\n", "line one\nline two\n");
	assert_decodes("under_score", "under_score");
}

static void test_decode_soft_breaks(void **state)
{
	assert_decodes("long=\r\nline", "longline");
	assert_decodes("long=\nline", "longline");
	assert_decodes("long=  \r\nline", "longline");              /* '=' + whitespace */
	assert_decodes("long=\t \nline", "longline");
	assert_decodes("long =\r\nline", "long line");              /* space before '=' kept */
	assert_decodes("end=", "end");                              /* final soft break */
	assert_decodes("end=  ", "end");
	assert_decodes("end=\r", "end");
	assert_decodes("a=\rb", "ab");                              /* CR-only soft break */
	assert_decodes("=\r\n=\r\n", "");
	assert_decodes("x=4=\r\n1", "x=41");
}

static void test_decode_invalid(void **state)
{
	assert_decodes("a=b", "a=b");
	assert_decodes("a=4g", "a=4g");
	assert_decodes("a=", "a");
	assert_decodes("100%=", "100%");
	assert_decodes("a==41", "a=A");
	assert_decodes("a= b", "a= b");                             /* '=' + ws + text */
	assert_decodes("a=4", "a=4");
	assert_decodes("a=4\r\nb", "a=4\r\nb");
	assert_decodes("a=\xff", "a=\xff");
	assert_decodes("8bit \xe9t\xe9", "8bit \xe9t\xe9");
}

static void test_decode_trailing_ws(void **state)
{
	/* RFC 2045 6.7 rule 3: trailing whitespace is removed */
	assert_decodes("text   \r\nmore", "text\r\nmore");
	assert_decodes("text \t \nmore", "text\nmore");
	assert_decodes("text  ", "text");
	assert_decodes("in  between words", "in  between words");
	assert_decodes("tail=20\r\n", "tail \r\n");                 /* encoded: kept */
	assert_decodes("a \rb", "a \rb");                            /* lone CR is text */
	assert_decodes("a \r", "a\r");
}

static void test_decode_long_ws(void **state)
{
	char in[400], expected[400];

	/* a run longer than what is held back passes through from the
	   start; the rest is still dropped at the line end */
	memset(in, ' ', 300);
	memcpy(in + 300, "x\r\n", 4);
	assert_decodes(in, in);
	memset(in, 'a', 1);
	memset(in + 1, ' ', 300);
	memcpy(in + 301, "\r\n", 3);
	memset(expected, 'a', 1);
	memset(expected + 1, ' ', 256);
	memcpy(expected + 257, "\r\n", 3);
	assert_decodes(in, expected);
}

static void test_decode_header_mode(void **state)
{
	assert_decodes_mode("Caf=C3=A9_au_lait", "Caf\xc3\xa9 au lait", 13, true);
	assert_decodes_mode("a_b=5Fc", "a b_c", 5, true);
	assert_decodes_mode("trail  ", "trail  ", 7, true);
}

static void test_decode_split_points(void **state)
{
	/* the brief's cases: "=\r\n" and "=4" + "1" split across calls */
	static const char *const pieces[][3] = {
		{ "ab=", "\r\n", "cd" },
		{ "ab=\r", "\ncd", "" },
		{ "ab=4", "1cd", "" },
		{ "ab=", "4", "1cd" },
		{ "ab  ", "  \r", "\ncd" },
	};
	static const char *const expected[] = { "abcd", "abcd", "abAcd", "abAcd", "ab\r\ncd" };
	struct qp_decoder dec;
	size_t i, j;
	buf_t b;

	for (i = 0; i < N_ELEMENTS(pieces); i++) {
		buf_init(&b, BUF_MAX_UNLIMITED);
		qp_decoder_init(&dec, false);
		for (j = 0; j < 3; j++)
			assert_int_equal(qp_decode_more(&dec, pieces[i][j], strlen(pieces[i][j]), &b), 0);
		assert_int_equal(qp_decode_finish(&dec, &b), 0);
		assert_string_equal(buf_str(&b), expected[i]);
		buf_free(&b);
	}
}

/* every output line <= 76 characters and CRLF-terminated (but the last) */
static void check_encoded(const buf_t *b)
{
	const char *p = (const char *)b->data, *end = p + b->used, *nl;
	size_t i;

	for (i = 0; i < b->used; i++) {
		unsigned char c = b->data[i];

		assert_true((c >= 32 && c < 127) || c == '\r' || c == '\n' || c == '\t');
		if (c == '\r')
			assert_true(i + 1 < b->used && b->data[i + 1] == '\n');
		if (c == '\n')
			assert_true(i > 0 && b->data[i - 1] == '\r');
	}
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end + 1;
		if ((size_t)(nl - 1 - p) > QP_LINE_MAX)
			fail_msg("line of %zu chars", (size_t)(nl - 1 - p));
		/* no trailing whitespace on a line */
		if (nl - 1 > p && nl <= end) {
			assert_true(nl[-2] != ' ' && nl[-2] != '\t');
		}
		p = nl + 1;
	}
	if (b->used > 0)
		assert_true(end[-1] != ' ' && end[-1] != '\t');
}

static void roundtrip(const void *data, size_t len, unsigned int flags, const void *expected,
		      size_t expected_len)
{
	buf_t enc, dec;

	buf_init(&enc, BUF_MAX_UNLIMITED);
	assert_int_equal(qp_encode(data, len, &enc, flags), 0);
	check_encoded(&enc);
	buf_init(&dec, BUF_MAX_UNLIMITED);
	assert_int_equal(qp_decode(enc.data, enc.used, &dec, false), 0);
	assert_int_equal(dec.used, expected_len);
	assert_memory_equal(dec.data, expected, expected_len);
	buf_free(&enc);
	buf_free(&dec);
}

static void assert_encodes(const char *in, unsigned int flags, const char *expected)
{
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(qp_encode(in, strlen(in), &b, flags), 0);
	assert_string_equal(buf_str(&b), expected);
	buf_free(&b);
}

static void test_encode(void **state)
{
	assert_encodes("", 0, "");
	assert_encodes("hello", 0, "hello");
	assert_encodes("a=b", 0, "a=3Db");
	assert_encodes("caf\xc3\xa9", 0, "caf=C3=A9");
	assert_encodes("tail \n", 0, "tail=20\r\n");
	assert_encodes("tail\t\r\nx ", 0, "tail=09\r\nx=20");
	assert_encodes("mid space", 0, "mid space");
	assert_encodes("a\rb", 0, "a=0Db");
	assert_encodes("a\r\nb\nc", 0, "a\r\nb\r\nc");
	assert_encodes("a\r\nb", QP_ENCODE_BINARY, "a=0D=0Ab");
	assert_encodes("From here\n.\nFrom\n", QP_ENCODE_FROM_DOT, "=46rom here\r\n=2E\r\nFrom\r\n");
	assert_encodes("From here", 0, "From here");
	assert_encodes("\x01\x7f", 0, "=01=7F");
}

static void test_encode_line_lengths(void **state)
{
	unsigned char data[3000];
	char line[200];
	size_t i, len;
	buf_t b;

	/* exactly 76 characters fit on one line; 77 do not */
	memset(line, 'x', 76);
	line[76] = '\0';
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(qp_encode(line, 76, &b, 0), 0);
	assert_string_equal(buf_str(&b), line);
	buf_reset(&b);
	line[76] = 'y';
	line[77] = '\0';
	assert_int_equal(qp_encode(line, 77, &b, 0), 0);
	check_encoded(&b);
	assert_non_null(strstr(buf_str(&b), "=\r\n"));
	buf_free(&b);

	/* all sorts of bytes, long lines, whitespace at soft-break points */
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)((i * 37) ^ (i >> 2));
	for (len = 0; len < sizeof(data); len += 97) {
		roundtrip(data, len, QP_ENCODE_BINARY, data, len);
		roundtrip(data, len, QP_ENCODE_BINARY | QP_ENCODE_FROM_DOT, data, len);
	}
	for (i = 0; i < sizeof(data); i++)
		data[i] = (i % 5 == 0) ? ' ' : (i % 11 == 0) ? '=' : (i % 13 == 0) ? '\t' :
			(unsigned char)('a' + i % 26);
	for (len = 0; len < sizeof(data); len += 89)
		roundtrip(data, len, QP_ENCODE_FROM_DOT, data, len);
	/* text with hard line breaks (LF in, CRLF out) */
	roundtrip("one \ntwo\t\n\nthree  ", 18, 0, "one \r\ntwo\t\r\n\r\nthree  ", 21);
	roundtrip("From me\r\n.\r\n", 12, QP_ENCODE_FROM_DOT, "From me\r\n.\r\n", 12);
}

static void test_encode_limit(void **state)
{
	buf_t b;

	buf_init(&b, 8);
	assert_int_equal(qp_encode("a=b=c=d", 7, &b, 0), -1);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(qp_encode("abc", 3, &b, 0), 0);
	assert_string_equal(buf_str(&b), "abc");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_basic),
		cmocka_unit_test(test_decode_soft_breaks),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_decode_trailing_ws),
		cmocka_unit_test(test_decode_long_ws),
		cmocka_unit_test(test_decode_header_mode),
		cmocka_unit_test(test_decode_split_points),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_encode_line_lengths),
		cmocka_unit_test(test_encode_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
