#ifndef TERN_ADDRESS_H
#define TERN_ADDRESS_H

#include "lib.h"

struct arena;

/*
 * RFC 5322 3.4 address lists (with RFC 6532 UTF-8 and the obsolete syntax of
 * 4.4: routes, missing commas, CFWS everywhere), parsed leniently: whatever
 * cannot be parsed still yields an entry flagged invalid rather than being
 * dropped. Groups appear as a start entry (group name in `mailbox`, no domain)
 * followed by the members and an end entry (everything NULL), exactly the
 * shape IMAP ENVELOPE needs (RFC 3501 7.4.2).
 */
struct msg_address {
	struct msg_address *next;
	/* Display name with quotes/escapes removed and whitespace folded, but
	   encoded words NOT decoded (IMAP sends it so). NULL when absent. */
	const char *name;
	/* The display name decoded (RFC 2047) to UTF-8. NULL when absent.
	   For a group start entry: the group name decoded (name is NULL). */
	const char *name_decoded;
	const char *route;       /* obsolete source route "@a,@b", or NULL */
	const char *mailbox;     /* local part, unquoted; group start: group name; group end: NULL */
	const char *domain;      /* NULL for group start/end, and when the address has no domain */
	bool group_start;
	bool group_end;
	bool invalid;            /* could not be parsed cleanly; mailbox/domain are best guesses */
};
/* Notes on the shapes produced:
   - an address without a domain ("root", "a@") has domain NULL and is
     invalid; IMAP ENVELOPE should send "" (not NIL) as its host so that it
     is not read as a group start;
   - "<>" (a null path) gives mailbox "" and domain NULL, not invalid;
   - with no display name, a comment in the address becomes the name
     ("a@b (Name)"), as Dovecot does;
   - nested groups are not allowed (RFC 5322 3.4): an inner "name:" gives
     an invalid entry with the name in mailbox;
   - all strings live in the arena given to msg_address_parse(). */

/* Parse an address-list field value (From, To, Cc, Reply-To, ...), as
   unfolded by the header parser (leftover CR/LF count as whitespace).
   At most TERN_ADDRESS_MAX_COUNT entries (group ends may pass it by one so
   groups stay balanced); the rest of the value is ignored.
   Returns the first entry (NULL for an empty list); never fails. */
struct msg_address *msg_address_parse(struct arena *arena, const char *value, size_t len);

/* "mailbox@domain" with the local part quoted when RFC 5322 needs it
   (3.4.1: anything but a dot-atom, RFC 6532 UTF-8 counting as atext);
   "mailbox" alone when there is no domain (quoted when needed, "" for "<>");
   for group start/end entries the group name / "". Allocated in arena. */
const char *msg_address_spec(struct arena *arena, const struct msg_address *addr);

/* Format an address for a header: `Name <local@domain>`, the name
   RFC 2047-encoded (phrase rules, folded with "\r\n ") when it is not
   ASCII, quoted when it has specials; `local@domain` alone when name_utf8 is
   NULL or "". The local part is quoted when needed; domain may be NULL.
   Allocated in arena. */
const char *msg_address_format(struct arena *arena, const char *name_utf8,
			       const char *mailbox, const char *domain);

#endif
