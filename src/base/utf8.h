#ifndef TERN_UTF8_H
#define TERN_UTF8_H

#include "buf.h"

/*
 * UTF-8 validation, decoding and repair (RFC 3629). Valid means: no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */

#define UTF8_REPLACEMENT_CHAR 0xfffdU

/* True if all len bytes are valid UTF-8 (an empty input is valid). */
bool utf8_is_valid(const void *data, size_t len);

/* Append data to dest with every invalid sequence replaced by U+FFFD: one
   replacement per maximal ill-formed subpart (Unicode 15 3.9, as browsers
   do), so a truncated 3-byte character gives one U+FFFD, a stray byte one.
   Returns 0, or -1 when dest's max would be exceeded (dest then holds a
   valid prefix of the output). */
int utf8_sanitize(const void *data, size_t len, buf_t *dest);

/* Append cp encoded as UTF-8; surrogates and values above U+10FFFF are
   written as U+FFFD. Returns 0 or -1 (dest max). */
int utf8_append_codepoint(buf_t *dest, uint32_t cp);

/* Write cp as UTF-8 into out (room for 4 bytes) and return the length
   (1-4); invalid code points give U+FFFD. */
size_t utf8_encode_char(uint32_t cp, unsigned char out[4]);

/* Decode one code point at data (len >= 1 bytes); returns its byte length
   (>= 1) and sets *cp_r. An invalid or truncated sequence gives U+FFFD with
   length 1. */
size_t utf8_decode_char(const unsigned char *data, size_t len, uint32_t *cp_r);

/* Length of the longest prefix of data[0..len) that does not end inside a
   (so far valid) multi-byte sequence: streaming callers keep the rest for
   the next piece. Returns len when the data ends on a character boundary or
   in an invalid sequence. */
size_t utf8_complete_prefix(const void *data, size_t len);

/* Number of code points in valid UTF-8 text (invalid bytes count one each). */
size_t utf8_strlen(const void *data, size_t len);

#endif
