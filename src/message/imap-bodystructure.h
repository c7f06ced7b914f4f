#ifndef TERN_IMAP_BODYSTRUCTURE_H
#define TERN_IMAP_BODYSTRUCTURE_H

#include "buf.h"
#include "mime.h"

struct arena;

/*
 * IMAP BODY and BODYSTRUCTURE (RFC 3501 7.4.2, RFC 9051 7.5.2) from a MIME
 * tree, written as Dovecot writes them:
 * - single part: (type subtype (params) id description encoding size
 *   [lines for text parts] [envelope body lines for message/rfc822]
 *   [BODYSTRUCTURE only: md5 disposition language location]); message/global
 *   is a basic part, as IMAP4rev1's grammar (RFC 3501 9) and Dovecot 2.3 have it
 * - multipart: (part part ... subtype [BODYSTRUCTURE only: (params)
 *   disposition language location]), the parts with no space between them.
 * - type, subtype, encoding and disposition are sent as written in the
 *   header (original case; comments dropped); absent Content-Type gives
 *   "text" "plain"; absent Content-Transfer-Encoding gives "7bit".
 * - the Content-* fields of a message header (the root, or an
 *   encapsulated message) without MIME-Version or Content-Type are not
 *   MIME (RFC 2045 4) and are ignored, as Dovecot does.
 * - text parts always carry a charset parameter: "us-ascii" is added
 *   when the header has none (RFC 2045 5.2).
 * - parameter names keep the case they were written in; RFC 2231
 *   parameters are sent in their raw form with the name suffixed by "*"
 *   ("filename*" "utf-8''na%C3%AFve"), continuations joined, as Dovecot
 *   does (and, as Dovecot, a "charset*" alone does not stop the default
 *   "charset" "us-ascii" being added to a text part).
 * - sizes are the octets of the body's CRLF form (body_crlf_size: what
 *   FETCH BODY[n] sends, a bare LF in the file counting as CRLF, as
 *   Dovecot counts too) and lines the parser's body_lines (Dovecot counts
 *   lines as LF characters, so a body whose last line has no line break
 *   has one line fewer there).
 * - a multipart with no parts (also one without a boundary parameter,
 *   which the parser reports as text/plain) is sent with one empty
 *   text/plain part (RFC 3501 requires at least one), as Dovecot does, and a message/rfc822 whose
 *   encapsulated message was not parsed (depth limit, or a base64 or
 *   quoted-printable transfer encoding, which RFC 2046 5.2.1 forbids) with
 *   an all-NIL envelope and an empty text/plain body, so that the syntax
 *   stays what clients expect for a message/rfc822 part.
 * Strings use imap-quote.h (`quote_flags`: IMAP_QUOTE_FLAG_UTF8 after
 * ENABLE UTF8=ACCEPT). Temporary data goes in `arena`.
 */

/* Append the structure of `part` (normally the root) with its parentheses;
   extended=true gives BODYSTRUCTURE, false BODY. Returns 0, or -1 when the
   buffer's maximum was hit (the buffer then holds partial output). */
int imap_bodystructure_write(buf_t *dest, struct arena *arena, const struct mime_part *part,
			     bool extended, unsigned int quote_flags) ATTR_WARN_UNUSED;

#endif
