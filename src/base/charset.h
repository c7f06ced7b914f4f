#ifndef TERN_CHARSET_H
#define TERN_CHARSET_H

#include "buf.h"
#include "tern-limits.h"

/*
 * Conversion of text in a MIME charset (RFC 2045 5.1, RFC 2046 4.1.2) to
 * UTF-8, through glibc iconv, leniently as mail readers do:
 * - names are matched case-insensitively, an RFC 2231 "*language" suffix is
 *   ignored, and the aliases real mail uses map to the superset readers
 *   decode with: iso-8859-1 and latin1 are decoded as Windows-1252 (the
 *   WHATWG Encoding Standard does the same), gb2312/gbk
 *   as GB18030, ks_c_5601-1987/euc-kr as CP949, shift_jis/x-sjis as CP932,
 *   iso-2022-jp as ISO-2022-JP-2, big5 as BIG5-HKSCS, iso-8859-8-i as
 *   ISO-8859-8, unicode-1-1-utf-7 as UTF-7, tis-620 as CP874, win-125x as
 *   windows-125x;
 * - us-ascii (and its aliases), x-unknown, unknown-8bit and an empty name
 *   mean "take valid UTF-8 as is, other bytes as Windows-1252": 8-bit bytes
 *   in mail labelled ASCII are mostly UTF-8, else Windows-1252;
 * - undecodable bytes become U+FFFD: the output is always valid UTF-8.
 * Descriptors are cached per thread, so conversion is thread-safe.
 */

/* Names longer than CHARSET_NAME_MAX (tern-limits.h) are not charsets. */

/*
 * Append src converted from charset to UTF-8 to dest. Returns 0; or -1 when
 * the charset is unknown (dest then holds the input taken as UTF-8, with
 * the bytes that are not valid UTF-8 decoded as Windows-1252); or -2 when
 * dest's max is exceeded (dest then holds a prefix of the output).
 */
int charset_to_utf8(const char *charset, const void *src, size_t len, buf_t *dest);

/* True for utf-8 and its spellings (utf8, UTF_8). */
bool charset_is_utf8(const char *charset);
/* True when charset_to_utf8() would return 0 for this name. */
bool charset_is_known(const char *charset);

/* A streaming conversion for large bodies: partial multi-byte sequences
   (and shift states) are kept across calls, so any split of decodable input
   gives the same output as one call. After an undecodable sequence (one
   U+FFFD out, one byte skipped) a stateful converter resumes from a state
   that can depend on where the input was cut (glibc's UTF-7 inside a
   base64 run): the text differs there, valid UTF-8 either way
   (tests/fuzz/fuzz-part-text.c checks both). */
struct charset_translation;

/* NULL when the charset is unknown (see charset_translation_new_fallback). */
struct charset_translation *charset_translation_new(const char *charset);
/* The x-unknown conversion: valid UTF-8 kept, other bytes as Windows-1252.
   Never NULL. */
struct charset_translation *charset_translation_new_fallback(void);
/* Convert more input, appending to dest. 0, or -2 when dest's max is
   exceeded. */
int charset_translate_more(struct charset_translation *t, const void *src, size_t len,
			   buf_t *dest);
/* End of input: a sequence left unfinished becomes U+FFFD, shift states
   are closed. 0 or -2. The translation can then convert a new text. */
int charset_translate_finish(struct charset_translation *t, buf_t *dest);
void charset_translation_free(struct charset_translation **t);

#endif
