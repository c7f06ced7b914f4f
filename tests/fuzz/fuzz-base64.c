/*
 * Base64 (src/base/base64.c, RFC 4648 4 as MIME uses it, RFC 2045 6.8) on
 * arbitrary bytes: the streaming decoder fed in pieces whose sizes come
 * from the input must give exactly what one base64_decode() call gives;
 * the output is at most 3/4 of the input; a decode into a buffer with a
 * small maximum fails with a prefix of the full output; and encoding,
 * whole or streaming, with or without line breaks (at most 76 characters a
 * line), decodes back to the bytes encoded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base64.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz-base64: %s\n", what);
	abort();
}

static bool buf_equal(const buf_t *a, const buf_t *b)
{
	return a->used == b->used && (a->used == 0 || memcmp(a->data, b->data, a->used) == 0);
}

static size_t next_piece(uint32_t *seed, size_t left)
{
	size_t n;

	*seed = *seed * 1103515245u + 12345u;
	n = (*seed >> 16) % 8 == 0 ? (*seed >> 8) % 512 : (*seed >> 16) % 5;
	return n < left ? n : left;
}

static void check_decode(const uint8_t *data, size_t size, uint32_t seed)
{
	struct base64_decoder dec;
	buf_t whole, split, small;
	size_t pos = 0, n;

	buf_init(&whole, BUF_MAX_UNLIMITED);
	buf_init(&split, BUF_MAX_UNLIMITED);
	if (base64_decode(data, size, &whole) < 0)
		fail("decode into an unlimited buffer failed");
	if (whole.used > size / 4 * 3 + 2)
		fail("decoded more than 3/4 of the input");

	base64_decoder_init(&dec);
	while (pos < size) {
		n = next_piece(&seed, size - pos);
		if (base64_decode_more(&dec, data + pos, n, &split) < 0)
			fail("streaming decode failed");
		pos += n;
	}
	(void)base64_decode_finish(&dec, &split);
	if (!buf_equal(&whole, &split))
		fail("whole and split decodes differ");

	if (whole.used > 1) {
		buf_init(&small, whole.used / 2);
		if (base64_decode(data, size, &small) == 0)
			fail("decode past the buffer maximum succeeded");
		if (small.used > whole.used ||
		    (small.used > 0 && memcmp(small.data, whole.data, small.used) != 0))
			fail("a limited decode is not a prefix");
		buf_free(&small);
	}
	buf_free(&whole);
	buf_free(&split);
}

static void check_lines(const buf_t *enc, size_t line_len)
{
	size_t i, col = 0;

	for (i = 0; i < enc->used; i++) {
		if (enc->data[i] == '\r') {
			if (line_len == 0 || i + 1 >= enc->used || enc->data[i + 1] != '\n')
				fail("stray CR in the encoding");
			i++;
			col = 0;
			continue;
		}
		if (++col > (line_len == 0 ? (size_t)-1 : line_len))
			fail("encoded line too long");
	}
	if (line_len > 0 && enc->used > 0 &&
	    (enc->used < 2 || enc->data[enc->used - 2] != '\r' || enc->data[enc->used - 1] != '\n'))
		fail("encoding with lines does not end in CRLF");
}

static void check_encode(const uint8_t *data, size_t size, size_t line_len, uint32_t seed)
{
	struct base64_encoder enc;
	buf_t whole, split, back;
	size_t pos = 0, n;

	buf_init(&whole, BUF_MAX_UNLIMITED);
	buf_init(&split, BUF_MAX_UNLIMITED);
	buf_init(&back, BUF_MAX_UNLIMITED);
	if (base64_encode_lines(data, size, &whole, line_len) < 0)
		fail("encode failed");
	if (line_len == 0 && whole.used != BASE64_ENCODED_SIZE(size))
		fail("encoded size");
	check_lines(&whole, line_len);
	base64_encoder_init(&enc, line_len);
	while (pos < size) {
		n = next_piece(&seed, size - pos);
		if (base64_encode_more(&enc, data + pos, n, &split) < 0)
			fail("streaming encode failed");
		pos += n;
	}
	if (base64_encode_finish(&enc, &split) < 0)
		fail("streaming encode finish failed");
	if (!buf_equal(&whole, &split))
		fail("whole and streaming encodings differ");
	if (base64_decode(whole.data, whole.used, &back) < 0 || back.used != size ||
	    (size > 0 && memcmp(back.data, data, size) != 0))
		fail("round trip differs");
	buf_free(&whole);
	buf_free(&split);
	buf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 2166136261u;
	size_t i;

	for (i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[i]) * 16777619u;
	check_decode(data, size, seed);
	check_encode(data, size, 0, seed);
	check_encode(data, size, BASE64_MIME_LINE_LEN, seed ^ 1);
	check_encode(data, size, size > 0 ? 1 + data[0] % 100 : 4, seed ^ 2);
	return 0;
}
