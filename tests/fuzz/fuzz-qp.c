/*
 * Quoted-printable (src/base/qp.c, RFC 2045 6.7 and RFC 2047 4.2 Q) on
 * arbitrary bytes: the streaming decoder fed in pieces whose sizes come
 * from the input must give exactly what one qp_decode() call gives, in
 * body and header mode; decoding never grows the data; a decode into a
 * buffer with a small maximum fails with a prefix of the full output; and
 * the encoder's output has lines of at most 76 characters (rule 5) and
 * decodes back to what was encoded (exactly for binary; for text with
 * every line break as CRLF).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "qp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const buf_t *a, const buf_t *b)
{
	fprintf(stderr, "fuzz-qp: %s\n", what);
	if (a != NULL)
		fprintf(stderr, "  a (%zu): [%.*s]\n", a->used, (int)a->used, (const char *)a->data);
	if (b != NULL)
		fprintf(stderr, "  b (%zu): [%.*s]\n", b->used, (int)b->used, (const char *)b->data);
	abort();
}

static bool buf_equal(const buf_t *a, const buf_t *b)
{
	return a->used == b->used && (a->used == 0 || memcmp(a->data, b->data, a->used) == 0);
}

/* piece sizes from the input itself: mostly tiny, sometimes large */
static size_t next_piece(uint32_t *seed, size_t left)
{
	size_t n;

	*seed = *seed * 1103515245u + 12345u;
	n = (*seed >> 16) % 8 == 0 ? (*seed >> 8) % 512 : (*seed >> 16) % 4;
	return n < left ? n : left;
}

static void check_decode(const uint8_t *data, size_t size, bool header_mode, uint32_t seed)
{
	struct qp_decoder dec;
	buf_t whole, split, small;
	size_t pos = 0, n;

	buf_init(&whole, BUF_MAX_UNLIMITED);
	buf_init(&split, BUF_MAX_UNLIMITED);
	if (qp_decode(data, size, &whole, header_mode) < 0)
		fail("decode into an unlimited buffer failed", NULL, NULL);
	if (whole.used > size)
		fail("decoding made the data larger", &whole, NULL);

	qp_decoder_init(&dec, header_mode);
	while (pos < size) {
		n = next_piece(&seed, size - pos);
		if (qp_decode_more(&dec, data + pos, n, &split) < 0)
			fail("streaming decode failed", NULL, NULL);
		pos += n;
	}
	if (qp_decode_finish(&dec, &split) < 0)
		fail("streaming finish failed", NULL, NULL);
	if (!buf_equal(&whole, &split))
		fail(header_mode ? "Q: whole and split decodes differ" :
		     "QP: whole and split decodes differ", &whole, &split);

	/* a maximum below the output: -1, and what is there is a prefix */
	if (whole.used > 1) {
		buf_init(&small, whole.used / 2);
		if (qp_decode(data, size, &small, header_mode) == 0)
			fail("decode past the buffer maximum succeeded", &whole, &small);
		if (small.used > whole.used ||
		    (small.used > 0 && memcmp(small.data, whole.data, small.used) != 0))
			fail("a limited decode is not a prefix", &whole, &small);
		buf_free(&small);
	}
	buf_free(&whole);
	buf_free(&split);
}

/* Every encoded line at most QP_LINE_MAX characters, CRLF excluded, and
   nothing but printable ASCII, space and tab besides CRLF. */
static void check_lines(const buf_t *enc)
{
	size_t i, col = 0;

	for (i = 0; i < enc->used; i++) {
		unsigned char c = enc->data[i];

		if (c == '\r') {
			if (i + 1 >= enc->used || enc->data[i + 1] != '\n')
				fail("bare CR in encoded output", enc, NULL);
			i++;
			col = 0;
			continue;
		}
		if (c == '\n')
			fail("bare LF in encoded output", enc, NULL);
		if (c != '\t' && (c < 0x20 || c > 0x7e))   /* RFC 2045 6.7 rules 2, 3 */
			fail("unencoded byte in output", enc, NULL);
		if (++col > QP_LINE_MAX)
			fail("encoded line longer than 76", enc, NULL);
	}
}

/* text mode: LF and CRLF are both hard breaks, written CRLF */
static void crlf_lines(const uint8_t *data, size_t size, buf_t *out)
{
	size_t i;

	for (i = 0; i < size; i++) {
		if ((data[i] == '\n' && (i == 0 || data[i - 1] != '\r') &&
		     buf_append_c(out, '\r') < 0) || buf_append_c(out, (char)data[i]) < 0)
			fail("out of memory", NULL, NULL);
	}
}

static void check_encode(const uint8_t *data, size_t size, unsigned int flags)
{
	buf_t enc, back, want;

	buf_init(&enc, BUF_MAX_UNLIMITED);
	buf_init(&back, BUF_MAX_UNLIMITED);
	buf_init(&want, BUF_MAX_UNLIMITED);
	if (qp_encode(data, size, &enc, flags) < 0)
		fail("encode into an unlimited buffer failed", NULL, NULL);
	check_lines(&enc);
	if (qp_decode(enc.data, enc.used, &back, false) < 0)
		fail("decode of the encoding failed", NULL, NULL);
	if ((flags & QP_ENCODE_BINARY) != 0) {
		if (buf_append(&want, data, size) < 0)
			fail("out of memory", NULL, NULL);
	} else
		crlf_lines(data, size, &want);
	if (!buf_equal(&want, &back))
		fail((flags & QP_ENCODE_BINARY) != 0 ? "binary round trip differs" :
		     "text round trip differs", &want, &back);
	buf_free(&enc);
	buf_free(&back);
	buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 2166136261u;
	size_t i;

	for (i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[i]) * 16777619u;
	check_decode(data, size, false, seed);
	check_decode(data, size, true, seed ^ 0x5bd1e995u);
	check_encode(data, size, QP_ENCODE_BINARY);
	check_encode(data, size, QP_ENCODE_BINARY | QP_ENCODE_FROM_DOT);
	check_encode(data, size, 0);
	check_encode(data, size, QP_ENCODE_FROM_DOT);
	return 0;
}
