#ifndef TERN_BUILDER_H
#define TERN_BUILDER_H

#include "buf.h"

#include <time.h>

struct arena;

/*
 * Composes a message (RFC 5322 + MIME, RFC 2045-2049) for `tern mail`
 * (send, reply, forward), delivery status notifications and `tern sendmail`.
 *
 * The caller sets header fields and body parts in any order, then calls
 * msg_builder_build(). The output is strictly valid: CRLF line ends, every
 * line at most 998 octets and folded to 78 where possible (RFC 5322 2.1.1,
 * 2.2.3), non-ASCII header text as RFC 2047 encoded words, attachment names
 * per RFC 2231 (plus an RFC 2047 `name=` for old readers, as Thunderbird
 * writes), and no 8-bit byte anywhere unless msg_builder_set_allow_8bit()
 * was called or a forwarded message is itself 8-bit (message/rfc822 may not
 * be encoded, RFC 2046 5.2.1; msg_builder_is_8bit() tells the caller to send
 * with BODY=8BITMIME).
 *
 * The body's shape follows from what was added:
 *   text and/or html          text/plain, text/html, or multipart/alternative
 *   inline images with html   the html becomes multipart/related (RFC 2387)
 *   attachments / parts       multipart/mixed around all of the above,
 *                             or multipart/report (RFC 6522) after set_report()
 *
 * Everything the builder keeps is allocated in the arena given at creation
 * (strings are copied); attachment and part *data* is NOT copied and must
 * stay valid until msg_builder_build() returns. There is no destroy
 * function: freeing the arena frees the builder.
 */

#define MSG_BUILDER_LINE_PREFERRED 78   /* RFC 5322 2.1.1 "SHOULD" */
#define MSG_BUILDER_LINE_MAX       998  /* RFC 5322 2.1.1 "MUST", CRLF excluded */

struct msg_builder;

/* A new builder. hostname is the right side of the generated Message-ID. */
struct msg_builder *msg_builder_create(struct arena *arena, const char *hostname);

/* The time for the Date field (and nothing else). Without this call the
   clock is read at build time and the local zone's offset used.
   tz_offset_min: minutes east of UTC. */
void msg_builder_set_time(struct msg_builder *b, time_t t, int tz_offset_min);
/* Allow raw UTF-8 in header fields and 8bit text bodies (RFC 6531/6532
   SMTPUTF8 contexts). Default false: 7-bit output. */
void msg_builder_set_allow_8bit(struct msg_builder *b, bool allow);
/* Keep the Bcc field in the output (for the sender's own copy). Default
   false: Bcc recipients are collected for msg_builder_recipients() but the
   field is not written (RFC 5322 3.6.3, first method). */
void msg_builder_set_keep_bcc(struct msg_builder *b, bool keep);

/* Append one address to an address field (From, Sender, Reply-To, To, Cc,
   Bcc, Resent-*; any name accepted). name_utf8 may be NULL. address is
   "local@domain" (the local part unquoted, or quoted as in RFC 5322).
   Returns 0, or -1 with *error_r (static or arena string) when the address
   or the field name is invalid; nothing is added then. */
int msg_builder_add_address(struct msg_builder *b, const char *field,
			    const char *name_utf8, const char *address,
			    const char **error_r);
/* Parse a typed address list ("Zoë <z@example.test>, bob@example.test",
   groups allowed) and append its addresses to the field. -1 with *error_r
   when an entry is not a valid address (then nothing is added). */
int msg_builder_add_address_list(struct msg_builder *b, const char *field,
				 const char *list_utf8, const char **error_r);

/* Set the Subject (UTF-8; encoded as RFC 2047 words when needed). */
void msg_builder_set_subject(struct msg_builder *b, const char *subject_utf8);

/* Set or add a header field. name: RFC 5322 field name. value: UTF-8, one
   line (no CR, LF or NUL). Address fields are parsed as with
   msg_builder_add_address_list(). Date, Message-ID, MIME-Version, Subject,
   Sender, In-Reply-To and References replace an earlier value (a given Date,
   Message-ID or MIME-Version is used instead of the generated one); any
   other field is added once per call, in call order. Unstructured fields
   (Subject, Comments, X-*, unknown) are RFC 2047-encoded when not ASCII;
   structured ones must be ASCII unless 8-bit is allowed. Content-* fields
   are refused: the builder writes them. Returns 0 or -1 with *error_r. */
int msg_builder_add_header(struct msg_builder *b, const char *name,
			   const char *value_utf8, const char **error_r);

/* Reply threading (RFC 5322 3.6.4): In-Reply-To is parent_message_id
   ("<id@host>"); References is parent_references (the parent's References
   value, may be NULL) followed by parent_message_id. -1 with *error_r when
   parent_message_id is not a "<...>" msg-id. */
int msg_builder_set_reply(struct msg_builder *b, const char *parent_message_id,
			  const char *parent_references, const char **error_r);

/* The text/plain body (UTF-8; invalid sequences become U+FFFD; any line
   ends, written as CRLF; a final line break is added when missing).
   7bit when ASCII with lines <= 998, else quoted-printable (8bit when
   allowed and possible). The text is copied. */
void msg_builder_set_text(struct msg_builder *b, const char *utf8, size_t len);
/* The text/html body, handled as the text. */
void msg_builder_set_html(struct msg_builder *b, const char *utf8, size_t len);

/* An attachment, base64-encoded (76-character lines) so its bytes are kept
   exactly. filename (UTF-8) may be NULL. content_type "type/subtype" or NULL
   to guess it from the filename (mime-types.h). -1 with *error_r when
   content_type is not a valid "type/subtype" or is multipart/ or message/. */
int msg_builder_add_attachment(struct msg_builder *b, const char *filename,
			       const char *content_type, const void *data, size_t size,
			       const char **error_r);
/* An inline image (or other resource) the html refers to as "cid:<content_id>"
   (content_id without angle brackets). With an html body it goes into a
   multipart/related with it; without one it becomes an inline attachment. */
int msg_builder_add_inline(struct msg_builder *b, const char *content_id,
			   const char *filename, const char *content_type,
			   const void *data, size_t size, const char **error_r);
/* Forward an existing message as a message/rfc822 attachment (RFC 2046
   5.2.1). Its bytes are kept, except that line ends become CRLF; an 8-bit
   message makes the part (and the multiparts around it) 8bit. A message with
   NUL bytes or lines over 998 octets cannot be carried as message/rfc822 in
   7bit or 8bit; it is then attached as application/octet-stream in base64
   (bytes exactly kept). filename (e.g. "subject.eml") may be NULL. */
void msg_builder_add_message(struct msg_builder *b, const char *filename,
			     const void *data, size_t size);
/* Any other part, in order after the body: for a DSN,
   "message/delivery-status" and "text/rfc822-headers" (message/rfc822: use
   msg_builder_add_message). content_type is "type/subtype". text/ types are
   handled as the text body; other message/ types are sent 7bit or 8bit as it is
   (line ends CRLF); anything else base64. -1 with *error_r for a bad type
   or multipart/. */
int msg_builder_add_part(struct msg_builder *b, const char *content_type,
			 const void *data, size_t size, const char **error_r);
/* Make the container multipart/report; report-type=report_type (RFC 6522)
   instead of multipart/mixed, even when no part was added. The text (or
   text+html) body is its first part, the added parts follow. */
void msg_builder_set_report(struct msg_builder *b, const char *report_type);

/* Write the whole message to out (appended). Date, Message-ID and
   MIME-Version are added unless given. Returns 0, or -1 with *error_r when
   out's maximum was reached or a header could not be written within 998
   octets (e.g. a 2000-character Message-ID). The builder may be built again
   (a new boundary each time); a generated Message-ID is kept. */
int msg_builder_build(struct msg_builder *b, buf_t *out, const char **error_r);

/* After a build: the body holds 8-bit octets (SMTP needs BODY=8BITMIME,
   RFC 6152). */
bool msg_builder_is_8bit(const struct msg_builder *b);
/* After a build: the header holds raw UTF-8 (SMTP needs SMTPUTF8, RFC 6531). */
bool msg_builder_is_utf8_header(const struct msg_builder *b);
/* The Message-ID written by the last build ("<...>"), or NULL before one. */
const char *msg_builder_message_id(const struct msg_builder *b);

/* Envelope recipients: the addr-specs of To, Cc and Bcc in order, or of
   Resent-To, Resent-Cc and Resent-Bcc instead when any of those is set
   (RFC 5322 3.6.6), duplicates removed (local part exact, domain
   case-insensitive). Group names are not recipients, their members are.
   The array is NULL-terminated and lives in the arena. */
const char *const *msg_builder_recipients(struct msg_builder *b, unsigned int *count_r);

#endif
