#ifndef TERN_RFC2047_H
#define TERN_RFC2047_H

#include "lib.h"

struct arena;

/*
 * RFC 2047 encoded words ("=?charset?B?...?=", "=?charset?Q?...?=").
 * Decoding is lenient as mail readers are: B and Q, any charset iconv knows
 * (RFC 2231 language suffix "*lang" ignored), whitespace between adjacent
 * encoded words dropped (6.2), encoded words inside words tolerated, bad
 * base64 salvaged; raw 8-bit bytes that are not valid UTF-8 are taken as
 * Latin-1/Windows-1252. The result is always valid UTF-8
 * (undecodable bytes become U+FFFD), holds no CR or LF (fold remnants and
 * "=0D=0A" in words are dropped) and no NUL (it becomes U+FFFD).
 */

/* Decode an unstructured header value (Subject, Comments, a display name).
   Whitespace outside encoded words is kept as is (see
   msg_hv_decode_unstructured() for display folding). Allocated in arena. */
const char *rfc2047_decode(struct arena *arena, const char *value, size_t len);

enum rfc2047_context {
	RFC2047_TEXT,    /* unstructured text (Subject): 5.(1) */
	RFC2047_PHRASE,  /* a display name: 5.(3), stricter character set */
};
/* Encode UTF-8 text for a header when it needs it (non-ASCII, or text that
   looks like an encoded word); otherwise return it unchanged. Encoded words
   are at most 75 bytes, separated by folding whitespace ("\r\n ") so the
   result can be placed in a header as is; first_line_used is how many
   columns the field name already took. Chooses Q or B, whichever is shorter;
   never splits a UTF-8 character across words. */
const char *rfc2047_encode(struct arena *arena, const char *utf8, enum rfc2047_context ctx,
			   size_t first_line_used);

#endif
