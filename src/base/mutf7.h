#ifndef TERN_MUTF7_H
#define TERN_MUTF7_H

#include "buf.h"

/*
 * Modified UTF-7 (RFC 3501 5.1.3, RFC 9051 5.1.3): how IMAP4rev1 clients
 * without UTF8=ACCEPT see mailbox names, and how Dovecot and Courier store
 * non-ASCII folder names in Maildir++ directory names. Printable ASCII
 * stands for itself except "&", written "&-"; everything else is UTF-16
 * in modified base64 ("," for "/") between "&" and "-".
 */

/* UTF-8 -> modified UTF-7. Invalid UTF-8 is an error. 0, or -1 (bad
   input, or dest's max hit). */
int mutf7_encode(const char *utf8, size_t len, buf_t *dest);
/* Modified UTF-7 -> UTF-8, strictly: unterminated or non-minimal shifts,
   printable ASCII or broken surrogates in a shift, bad base64, or
   non-printable ASCII outside one are errors. 0 or -1. */
int mutf7_decode(const char *mutf7, size_t len, buf_t *dest);
/* Is this valid modified UTF-7 (by the same rules)? */
bool mutf7_is_valid(const char *mutf7, size_t len);

#endif
