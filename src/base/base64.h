#ifndef TERN_BASE64_H
#define TERN_BASE64_H

#include "buf.h"

/*
 * Base64 (RFC 4648 4) as MIME uses it (RFC 2045 6.8). Encoding is exact;
 * decoding is lenient as mail readers are.
 */

/* Exact encoded size of len bytes without line breaks. */
#define BASE64_ENCODED_SIZE(len) (((len) + 2) / 3 * 4)
/* RFC 2045 6.8: encoded lines are at most 76 characters. */
#define BASE64_MIME_LINE_LEN 76

/* Append the encoding of src, without line breaks. 0, or -1 when dest's
   max would be exceeded (dest unchanged). */
int base64_encode(const void *src, size_t len, buf_t *dest);
/* Append the encoding with "\r\n" after every line_len encoded characters
   and after the last line (non-empty output always ends in CRLF; empty
   input gives nothing). line_len 0 means no breaks. 0 or -1 (dest max). */
int base64_encode_lines(const void *src, size_t len, buf_t *dest, size_t line_len);

/* Lenient decode, as mail readers do: characters outside the alphabet
   (whitespace, line breaks, garbage) are skipped; '=' after the 2nd or 3rd
   character of a quantum ends the data (the rest is ignored); a '=' elsewhere
   is skipped; a trailing partial quantum gives its whole bytes. Appends to
   dest; 0, or -1 only when dest's max is exceeded (dest then holds a prefix
   of the output). */
int base64_decode(const void *src, size_t len, buf_t *dest);

/* Streaming decoder with the same rules: feeding the input in pieces of any
   size, even one byte at a time, gives byte-identical output. */
struct base64_decoder {
	uint32_t acc;       /* bits not yet output */
	unsigned int bits;  /* how many: 0, 6, 4 or 2 (position in the quantum) */
	bool done;          /* padding seen: ignore the rest */
};
void base64_decoder_init(struct base64_decoder *dec);
/* 0, or -1 when dest's max is exceeded. */
int base64_decode_more(struct base64_decoder *dec, const void *src, size_t len, buf_t *dest);
/* End of input: leftover bits (fewer than 8) are dropped. Always 0 (kept
   as int for symmetry). The decoder may be reused after base64_decoder_init. */
int base64_decode_finish(struct base64_decoder *dec, buf_t *dest);

/* Streaming encoder: line_len 0 = no line breaks, else "\r\n" after every
   line_len characters and at the end (as base64_encode_lines). */
struct base64_encoder {
	unsigned char pending[3];
	unsigned int npending;
	size_t line_len;
	size_t col;
};
void base64_encoder_init(struct base64_encoder *enc, size_t line_len);
/* 0, or -1 when dest's max is exceeded. */
int base64_encode_more(struct base64_encoder *enc, const void *src, size_t len, buf_t *dest);
int base64_encode_finish(struct base64_encoder *enc, buf_t *dest);

#endif
