#ifndef TERN_IMAP_ENVELOPE_H
#define TERN_IMAP_ENVELOPE_H

#include "buf.h"
#include "header.h"

struct arena;
struct msg_address;

/*
 * IMAP ENVELOPE (RFC 3501 7.4.2, RFC 9051 7.5.2) from a message header:
 *   (date subject from sender reply-to to cc bcc in-reply-to message-id)
 * - date, subject, in-reply-to and message-id are the raw field values
 *   (unfolded; RFC 2047 encoded words NOT decoded; CR/LF folded to spaces),
 *   NIL when the field is absent, "" when it is empty.
 * - address lists are ((name adl mailbox host) ...), NIL when the field is
 *   absent or holds no address. Groups (RFC 3501 7.4.2, RFC 5322 3.4):
 *   (NIL NIL "group" NIL) members... (NIL NIL NIL NIL).
 *   An address without a domain gets host "MISSING_DOMAIN" and one without
 *   a local part mailbox "MISSING_MAILBOX" (as Dovecot sends), because a
 *   NIL host would announce group syntax to the client.
 * - sender and reply-to default to from when absent or empty (RFC 3501
 *   7.4.2: "the server MUST default ... to be the same as the from field").
 * - When a field occurs more than once, as Dovecot: the last date,
 *   subject, in-reply-to and message-id count, and the addresses of every
 *   From (To, Cc, ...) field are listed one after the other.
 * Strings with 8-bit bytes are sent as literals unless `quote_flags` has
 * IMAP_QUOTE_FLAG_UTF8 and they are valid UTF-8 (see imap-quote.h). The
 * subject and display names are written "for humans" as Dovecot does
 * (IMAP_QUOTE_FLAG_HUMAN: whitespace runs collapsed, then a literal when
 * that changed anything or when " or \ occur).
 * Temporary parse results go in `arena`.
 */

/* Append the envelope, parentheses included. Returns 0, or -1 when the
   buffer's maximum was hit (the buffer then holds a partial envelope). */
int imap_envelope_write(buf_t *dest, struct arena *arena, const struct msg_header *hdr,
			unsigned int quote_flags) ATTR_WARN_UNUSED;

/* Append one address list as ENVELOPE sends it: "(" addresses ")" or NIL
   for an empty list. */
int imap_envelope_write_addresses(buf_t *dest, const struct msg_address *addr,
				  unsigned int quote_flags) ATTR_WARN_UNUSED;

#endif
