#ifndef TERN_PART_TEXT_H
#define TERN_PART_TEXT_H

#include "buf.h"
#include "mime.h"

struct arena;

/*
 * A part's body decoded for display, and its file name.
 *
 * `msg` is the whole message the tree was parsed from (msg_size bytes);
 * the part's body is msg[body_offset .. body_offset + body_size), clamped
 * to msg_size (a tree never points past its message, but a caller may pass
 * a shorter buffer).
 */

/* Undo the Content-Transfer-Encoding (RFC 2045 6): base64 and
   quoted-printable are decoded leniently; 7bit, 8bit, binary and unknown
   encodings are copied as they are. Appends to dest. Returns 0, or -1 when
   dest's maximum was hit (dest then holds a prefix). */
int part_text_decode_cte(const struct mime_part *part, const void *msg, size_t msg_size,
			 buf_t *dest);

/* The body as UTF-8 text: transfer encoding undone, then converted from the
   Content-Type charset. Without a charset, or with us-ascii (RFC 2045 5.2
   default), unknown-8bit or a charset iconv does not know, 8-bit bytes are
   taken as UTF-8 when the whole text is valid UTF-8 and as Windows-1252
   otherwise (what real mail without a label usually is). Line breaks are
   kept as they are. The result is always valid UTF-8 (undecodable bytes
   become U+FFFD). Appends to dest. Returns 0, or -1 when dest's maximum was
   hit (dest then holds a valid-UTF-8 prefix or less). */
int part_text_decode(const struct mime_part *part, const void *msg, size_t msg_size,
		     buf_t *dest);

/* The charset parameter of the part, or NULL when absent. */
const char *part_text_charset(const struct mime_part *part);

/* The part's file name for display: the Content-Disposition "filename"
   parameter (RFC 2183 2.3), else the Content-Type "name" parameter (older
   mailers), RFC 2231-decoded by the MIME parser; RFC 2047 encoded words
   in a quoted value (a common violation) are decoded too; leading and
   trailing whitespace is removed. Always valid UTF-8, in `arena`.
   NULL when the part has neither parameter. */
const char *part_text_filename(struct arena *arena, const struct mime_part *part);

#endif
