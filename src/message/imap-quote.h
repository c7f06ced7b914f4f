#ifndef TERN_IMAP_QUOTE_H
#define TERN_IMAP_QUOTE_H

#include "buf.h"

/*
 * Writing IMAP strings (RFC 3501 4.3 and 9, RFC 9051 4.3 and 9):
 *   nstring = string / "NIL";  string = quoted / literal
 *   quoted  = DQUOTE *QUOTED-CHAR DQUOTE, with \" and \\ escaped;
 *             QUOTED-CHAR excludes CR, LF and NUL and (RFC 3501) 8-bit bytes;
 *             RFC 9051 / RFC 6855 (UTF8=ACCEPT) allow valid UTF-8 in quoted.
 *   literal = "{" number "}" CRLF *CHAR8 (CHAR8 excludes NUL).
 * A quoted string is used whenever the bytes allow; otherwise a literal.
 * NUL bytes cannot be sent in any IMAP string: they are replaced by 0x80
 * (which forces a literal), as Dovecot does for header values.
 */

enum imap_quote_flags {
	/* the client enabled UTF8=ACCEPT (RFC 6855 / RFC 9051): valid UTF-8
	   may go in a quoted string */
	IMAP_QUOTE_FLAG_UTF8 = 1 << 0,
	/* for header field values in ENVELOPE and BODYSTRUCTURE: CR and LF are
	   removed, and replaced by one space when the next byte is not
	   already SP or HTAB (Dovecot's imap_append_nstring_nolf), so that a
	   header value never needs a literal only for its line breaks */
	IMAP_QUOTE_FLAG_NOLF = 1 << 1,
	/* text for humans (ENVELOPE subject and display names), as Dovecot
	   writes it: runs of SP, HTAB, CR and LF collapse into one space and
	   leading/trailing ones go; a string that had to change this way, or
	   that holds quoted-specials (" and \), is sent as a literal */
	IMAP_QUOTE_FLAG_HUMAN = 1 << 2,
};

/* Append `data` (len bytes) as an IMAP string. Returns 0, or -1 when the
   buffer's maximum is hit (then the buffer is unchanged). */
int imap_append_string(buf_t *dest, const void *data, size_t len,
		       unsigned int flags) ATTR_WARN_UNUSED;
/* The same for a NUL-terminated string; NULL writes NIL. */
int imap_append_nstring(buf_t *dest, const char *str, unsigned int flags) ATTR_WARN_UNUSED;
/* An nstring for a header value: NULL writes NIL, CR/LF folded (NOLF). */
int imap_append_nstring_nolf(buf_t *dest, const char *str, unsigned int flags) ATTR_WARN_UNUSED;

/* Whether `data` can be sent as an IMAP atom (RFC 3501 9 ATOM-CHAR). */
bool imap_is_atom(const void *data, size_t len);

#endif
