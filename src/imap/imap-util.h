#ifndef TERN_IMAP_UTIL_H
#define TERN_IMAP_UTIL_H

#include "lib.h"
#include "buf.h"

#include <time.h>

/*
 * Small pieces several IMAP commands share: flag lists, date-time,
 * mailbox names as the client writes them, LIST patterns. Pure functions
 * (unit-tested in tests/unit/imap/test-imap-util.c).
 */
struct arena;
struct imap_arg;

/* The hierarchy delimiter of tern's one namespace (RFC 9051 5.1.1). */
#define IMAP_HIERARCHY_SEP '/'

/* A flag list as STORE, APPEND and the flag responses use it. */
struct imap_flags {
	unsigned int system;          /* IMAP_FLAG_* of imap-search.h */
	const char **keywords;        /* as given (case kept) */
	unsigned int keyword_count;
};

/* Parse flags from a list (or, for STORE, a single flag or a list):
   "\Seen", "\Answered", "\Flagged", "\Deleted", "\Draft" (any case) and
   keywords (atoms not starting with "\"). \Recent and other "\" flags are
   errors (RFC 9051 2.3.2: they cannot be set). 0, or -1 with *error_r. */
int imap_flags_parse(struct arena *arena, const struct imap_arg *args, unsigned int count,
		     struct imap_flags *flags_r, const char **error_r);
/* Append "(\Seen $Work)"-style text (without the parentheses when
   parens is false). recent: add \Recent. */
int imap_flags_write(buf_t *dest, unsigned int system, const char *const *keywords,
		     unsigned int keyword_count, bool recent, bool parens) ATTR_WARN_UNUSED;

/* RFC 9051 9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " 7").
   0 with the time and the zone offset in seconds, or -1. */
int imap_datetime_parse(const char *text, time_t *t_r, int *tz_offset_r);
/* Format t at the zone offset (seconds) as an IMAP date-time, quoted:
   "\"07-Feb-2026 10:00:00 +0100\"". out needs IMAP_DATETIME_SIZE. */
#define IMAP_DATETIME_SIZE 80
void imap_datetime_format(time_t t, int tz_offset, char out[IMAP_DATETIME_SIZE]);

/* A mailbox name from the client into tern's form (UTF-8, "/" separated,
   INBOX in capitals when it names the inbox, RFC 9051 5.1): utf8 when the
   client uses UTF-8 names (UTF8=ACCEPT or IMAP4rev2), else modified UTF-7
   is decoded (RFC 3501 5.1.3). Empty names, empty levels ("a//b", "a/"),
   control characters and invalid encodings are errors. Returns an arena
   string or NULL with *error_r. */
const char *imap_mailbox_from_client(struct arena *arena, const char *name, bool utf8,
				     const char **error_r);
/* tern's name to what the client sees (mUTF-7 unless utf8). */
const char *imap_mailbox_to_client(struct arena *arena, const char *name, bool utf8);

/* LIST pattern matching (RFC 9051 6.3.9): "*" matches anything, "%"
   anything but the hierarchy delimiter; the rest compares exactly, except
   that INBOX matches case-insensitively. Both in tern's UTF-8 form. */
bool imap_list_match(const char *pattern, const char *name);
/* Could a name under `name` + "/" still match the pattern (for \HasChildren
   parents and LIST-EXTENDED RECURSIVEMATCH)? */
bool imap_list_match_prefix(const char *pattern, const char *name);

#endif
