#include "base64.h"

#define INVALID 0xff
#define PAD 0xfe

/* output bytes a decode chunk can produce at most from CHUNK input bytes */
#define DECODE_CHUNK 1024

static size_t decode_block(struct base64_decoder *dec, const unsigned char *src,
			   size_t len, unsigned char *out);
static size_t encode_block(const unsigned char *src, size_t len, unsigned char *out);
static size_t encode_tail(const unsigned char *src, size_t len, unsigned char *out);
static size_t put_chars(struct base64_encoder *enc, const unsigned char *c, size_t n,
			unsigned char *out);

static const char b64_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 table 1; INVALID for everything outside it, PAD for '=' */
static const unsigned char b64_values[256] = {
#define X INVALID
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, PAD, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};

/* Encode whole 3-byte groups of src (len a multiple of 3). */
static size_t encode_block(const unsigned char *src, size_t len, unsigned char *out)
{
	unsigned char *o = out;
	size_t i;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1] << 8) | src[i + 2];
		o[0] = (unsigned char)b64_alphabet[v >> 18];
		o[1] = (unsigned char)b64_alphabet[(v >> 12) & 0x3f];
		o[2] = (unsigned char)b64_alphabet[(v >> 6) & 0x3f];
		o[3] = (unsigned char)b64_alphabet[v & 0x3f];
		o += 4;
	}
	return (size_t)(o - out);
}

/* Encode a final group of 1 or 2 bytes with '=' padding (RFC 4648 4). */
static size_t encode_tail(const unsigned char *src, size_t len, unsigned char *out)
{
	uint32_t v;

	if (len == 0)
		return 0;
	v = (uint32_t)src[0] << 16;
	if (len > 1)
		v |= (uint32_t)src[1] << 8;
	out[0] = (unsigned char)b64_alphabet[v >> 18];
	out[1] = (unsigned char)b64_alphabet[(v >> 12) & 0x3f];
	out[2] = len > 1 ? (unsigned char)b64_alphabet[(v >> 6) & 0x3f] : '=';
	out[3] = '=';
	return 4;
}

int base64_encode(const void *src, size_t len, buf_t *dest)
{
	const unsigned char *s = src;
	size_t whole = len - len % 3, n;
	unsigned char *out;

	if (len > BUF_MAX_UNLIMITED / 2)
		return -1;
	out = buf_reserve(dest, BASE64_ENCODED_SIZE(len));
	if (out == NULL)
		return -1;
	n = encode_block(s, whole, out);
	n += encode_tail(s + whole, len - whole, out + n);
	buf_commit(dest, n);
	return 0;
}

int base64_encode_lines(const void *src, size_t len, buf_t *dest, size_t line_len)
{
	struct base64_encoder enc;
	size_t old_len = dest->used;

	base64_encoder_init(&enc, line_len);
	if (base64_encode_more(&enc, src, len, dest) < 0 ||
	    base64_encode_finish(&enc, dest) < 0) {
		buf_truncate(dest, old_len);
		return -1;
	}
	return 0;
}

void base64_encoder_init(struct base64_encoder *enc, size_t line_len)
{
	memset(enc, 0, sizeof(*enc));
	enc->line_len = line_len;
}

/* Write n encoded characters with CRLF inserted before a character that
   would pass the line length (breaks are lazy, so the end of the data never
   leaves an empty line). */
static size_t put_chars(struct base64_encoder *enc, const unsigned char *c, size_t n,
			unsigned char *out)
{
	size_t o = 0, i;

	for (i = 0; i < n; i++) {
		if (enc->line_len != 0 && enc->col == enc->line_len) {
			out[o++] = '\r';
			out[o++] = '\n';
			enc->col = 0;
		}
		out[o++] = c[i];
		enc->col++;
	}
	return o;
}

int base64_encode_more(struct base64_encoder *enc, const void *src, size_t len, buf_t *dest)
{
	const unsigned char *s = src;
	unsigned char tmp[4], *out;
	size_t groups, enc_len, o, g, room;

	if (len > BUF_MAX_UNLIMITED / 4)
		return -1;
	/* input that completes the pending group, then whole groups */
	groups = (enc->npending + len) / 3;
	enc_len = groups * 4;
	/* worst case: a CRLF per line_len characters, plus one */
	out = buf_reserve(dest, enc->line_len == 0 ? enc_len :
			  enc_len + 2 * (enc_len / enc->line_len + 1));
	if (out == NULL)
		return -1;
	o = 0;
	if (groups > 0 && enc->npending > 0) {
		size_t fill = 3 - enc->npending;

		memcpy(enc->pending + enc->npending, s, fill);
		s += fill;
		len -= fill;
		encode_block(enc->pending, 3, tmp);
		o += put_chars(enc, tmp, 4, out + o);
		enc->npending = 0;
		groups--;
	}
	if (enc->line_len == 0) {
		o += encode_block(s, groups * 3, out + o);
		s += groups * 3;
		len -= groups * 3;
		groups = 0;
	}
	while (groups > 0) {
		if (enc->col == enc->line_len) {
			out[o++] = '\r';
			out[o++] = '\n';
			enc->col = 0;
		}
		room = enc->line_len - enc->col;
		g = I_MIN(room / 4, groups);
		if (g > 0) {
			o += encode_block(s, g * 3, out + o);
			enc->col += g * 4;
		} else {
			/* a group straddles the line end */
			g = 1;
			encode_block(s, 3, tmp);
			o += put_chars(enc, tmp, 4, out + o);
		}
		s += g * 3;
		len -= g * 3;
		groups -= g;
	}
	buf_commit(dest, o);
	memcpy(enc->pending + enc->npending, s, len);
	enc->npending += (unsigned int)len;
	return 0;
}

int base64_encode_finish(struct base64_encoder *enc, buf_t *dest)
{
	unsigned char tmp[4], *out;
	size_t n, o;

	n = encode_tail(enc->pending, enc->npending, tmp);
	/* worst case: a break before each char plus the final CRLF */
	out = buf_reserve(dest, n * 3 + 2);
	if (out == NULL)
		return -1;
	o = put_chars(enc, tmp, n, out);
	if (enc->line_len != 0 && enc->col > 0) {
		out[o++] = '\r';
		out[o++] = '\n';
		enc->col = 0;
	}
	buf_commit(dest, o);
	enc->npending = 0;
	return 0;
}

void base64_decoder_init(struct base64_decoder *dec)
{
	memset(dec, 0, sizeof(*dec));
}

/* Decode src into out, which has room for len * 3 / 4 + 3 bytes; returns
   the bytes written. The state machine works one character at a time, with
   a fast path for clean 4-character quanta. */
static size_t decode_block(struct base64_decoder *dec, const unsigned char *src,
			   size_t len, unsigned char *out)
{
	const unsigned char *s = src, *end = src + len;
	unsigned char *o = out;
	uint32_t acc = dec->acc;
	unsigned int bits = dec->bits;
	unsigned char a, b, c, d;

	while (s < end && !dec->done) {
		if (bits == 0) {
			/* fast path: whole clean quanta */
			while (end - s >= 4) {
				a = b64_values[s[0]];
				b = b64_values[s[1]];
				c = b64_values[s[2]];
				d = b64_values[s[3]];
				if (((a | b | c | d) & 0xc0) != 0)
					break;
				acc = ((uint32_t)a << 18) | ((uint32_t)b << 12) |
					((uint32_t)c << 6) | d;
				o[0] = (unsigned char)(acc >> 16);
				o[1] = (unsigned char)(acc >> 8);
				o[2] = (unsigned char)acc;
				o += 3;
				s += 4;
			}
			acc = 0;
			if (s == end)
				break;
		}
		a = b64_values[*s++];
		if (a == INVALID)
			continue;
		if (a == PAD) {
			/* '=' after 2 or 3 characters ends the data; anywhere
			   else it is noise */
			if (bits == 4 || bits == 2)
				dec->done = true;
			continue;
		}
		acc = (acc << 6) | a;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	dec->acc = acc;
	dec->bits = bits;
	return (size_t)(o - out);
}

int base64_decode_more(struct base64_decoder *dec, const void *src, size_t len, buf_t *dest)
{
	const unsigned char *s = src;
	unsigned char *out, tmp[DECODE_CHUNK / 4 * 3 + 3];
	size_t n, chunk;

	if (dec->done || len == 0)
		return 0;
	/* len / 4 * 3 + 3 bounds the output: at most one byte per 8 bits */
	out = len < BUF_MAX_UNLIMITED ? buf_reserve(dest, len / 4 * 3 + 3) : NULL;
	if (out != NULL) {
		n = decode_block(dec, s, len, out);
		buf_commit(dest, n);
		return 0;
	}
	/* close to dest's max: decode in chunks so input that is mostly
	   whitespace still fits */
	while (len > 0 && !dec->done) {
		chunk = I_MIN(len, (size_t)DECODE_CHUNK);
		n = decode_block(dec, s, chunk, tmp);
		if (buf_append(dest, tmp, n) < 0)
			return -1;
		s += chunk;
		len -= chunk;
	}
	return 0;
}

int base64_decode_finish(struct base64_decoder *dec, buf_t *dest)
{
	/* fewer than 8 bits left: no whole byte, nothing to output */
	dec->acc = 0;
	dec->bits = 0;
	dec->done = true;
	return 0;
}

int base64_decode(const void *src, size_t len, buf_t *dest)
{
	struct base64_decoder dec;

	base64_decoder_init(&dec);
	if (base64_decode_more(&dec, src, len, dest) < 0)
		return -1;
	return base64_decode_finish(&dec, dest);
}
