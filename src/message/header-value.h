#ifndef TERN_HEADER_VALUE_H
#define TERN_HEADER_VALUE_H

#include "lib.h"
#include "tern-limits.h"

struct arena;

/*
 * Helpers for the values of structured and unstructured header fields
 * (RFC 5322 3.2, 3.6), lenient as readers are. Inputs are raw field values
 * (struct msg_header_field's value/value_len: unfolded, though stray CR/LF
 * are tolerated everywhere as whitespace); nothing is read past len, and
 * NUL bytes are just bytes. Results live in the arena given.
 */

/* Message-ID lists are bounded like address lists; ids past
   MSG_HV_MAX_MSGIDS (tern-limits.h) are ignored. */

/* RFC 5322 3.2.2 CFWS: whitespace, CR/LF and comments (nested, with
   quoted-pairs). Returns the offset of the first byte at or after pos
   that is not part of CFWS (len when none; an unterminated comment runs
   to the end). */
size_t msg_hv_skip_cfws(const char *value, size_t len, size_t pos);

/* Only whitespace and CR/LF (no comments). */
size_t msg_hv_skip_wsp(const char *value, size_t len, size_t pos);

/* Unfold (RFC 5322 2.2.3): every CR and LF removed, the whitespace after
   them kept. Returns a NUL-terminated copy; *len_r (may be NULL) gets its
   length (the value may contain NULs). */
const char *msg_hv_unfold(struct arena *arena, const char *value, size_t len, size_t *len_r);

/* Message-ID, In-Reply-To, References (RFC 5322 3.6.4): the msg-ids in
   order, each as "<id-left@id-right>" with CFWS inside the brackets
   removed. Lenient: ids without brackets are taken when they contain "@"
   and wrapped in "<>"; words without "@", quoted strings and comments
   between ids are skipped (4.5.4 obs-in-reply-to phrases: 'Your message
   of "Mon, 1 Jan" <a@b>'); an unterminated "<id" at the end is closed;
   "<>" is skipped. At most MSG_HV_MAX_MSGIDS ids. Returns the count and
   sets *ids_r to an arena array of that many strings (NULL when 0). */
unsigned int msg_hv_parse_msgids(struct arena *arena, const char *value, size_t len,
				 const char ***ids_r);

/* The first msg-id as above, or NULL (for Message-ID / Content-ID). */
const char *msg_hv_first_msgid(struct arena *arena, const char *value, size_t len);

/* Keywords (RFC 5322 3.6.5): comma-separated phrases, each with quotes and
   comments removed, whitespace folded and RFC 2047 decoded to UTF-8. Empty
   phrases are dropped. Commas inside quoted strings and comments do not
   split. At most MSG_HV_MAX_MSGIDS keywords. Returns the count; *keywords_r
   is an arena array (NULL when 0). */
unsigned int msg_hv_parse_keywords(struct arena *arena, const char *value, size_t len,
				   const char ***keywords_r);

/* An unstructured value (Subject, Comments, or any field shown to a human)
   as displayed: unfolded, runs of whitespace folded into one space,
   leading and trailing whitespace removed, RFC 2047 encoded words decoded
   and raw 8-bit taken as UTF-8 or else Windows-1252. Always valid UTF-8.
   This is the "decoded" of `tern msg inspect` (docs/msg-inspect.md). */
const char *msg_hv_decode_unstructured(struct arena *arena, const char *value, size_t len);

#endif
