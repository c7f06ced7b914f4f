#ifndef TERN_MAIL_SEARCH_H
#define TERN_MAIL_SEARCH_H

#include "mailbox.h"

/*
 * Searching a view (RFC 3501 6.4.4, RFC 9051 6.4.4, RFC 7162 3.1.5), at
 * store level so that IMAP SEARCH and later JMAP Email/query share it. The
 * caller builds a criteria tree (IMAP parses its keys and sequence sets and
 * turns sequence sets into UID ranges); the store evaluates it over the
 * view's messages:
 * - flags, sizes, dates, MODSEQ and header criteria use the index alone
 *   (the root header is cached): no message file is opened;
 * - BODY and TEXT open the file, and only for messages the other criteria
 *   have not already decided.
 * String matching is substring, case-insensitive by i;unicode-casemap
 * (RFC 5051) as far as simple case folding goes: ASCII, Latin, Greek,
 * Cyrillic and the other scripts with one-to-one case pairs (no
 * normalization of decomposed characters). Header values are RFC 2047
 * decoded; bodies have their transfer encoding undone and are converted to
 * UTF-8 from their charset (part-text.h); only text parts (and the headers
 * of attached messages, for TEXT) are searched.
 * Work is bounded: TERN_SEARCH_MAX_DEPTH nesting, TERN_SEARCH_MAX_ARGS
 * nodes, TERN_SEARCH_MAX_TEXT decoded bytes searched per message.
 */

enum mail_search_type {
	MAIL_SEARCH_ALL,        /* every message */
	MAIL_SEARCH_AND,        /* children: all match (an empty list matches) */
	MAIL_SEARCH_OR,         /* children: any matches */
	MAIL_SEARCH_NOT,        /* one child: it does not match */
	MAIL_SEARCH_UIDSET,     /* value.uids */
	MAIL_SEARCH_FLAGS,      /* value.flags: all of them set (UNSEEN = NOT FLAGS \Seen) */
	MAIL_SEARCH_KEYWORD,    /* value.str: the keyword set */
	MAIL_SEARCH_RECENT,     /* \Recent in this view */
	MAIL_SEARCH_BEFORE,     /* INTERNALDATE's day (in its zone) < value.day */
	MAIL_SEARCH_ON,
	MAIL_SEARCH_SINCE,      /* >= */
	MAIL_SEARCH_SENTBEFORE, /* the Date: field's day (in its own zone); no Date: never matches */
	MAIL_SEARCH_SENTON,
	MAIL_SEARCH_SENTSINCE,
	MAIL_SEARCH_OLDER,      /* INTERNALDATE more than value.number seconds ago (RFC 5032) */
	MAIL_SEARCH_YOUNGER,    /* at most value.number seconds ago */
	MAIL_SEARCH_LARGER,     /* RFC822.SIZE > value.number */
	MAIL_SEARCH_SMALLER,    /* < */
	MAIL_SEARCH_HEADER,     /* value.header: the field contains the string; "" = has the field */
	MAIL_SEARCH_BODY,       /* value.str in a text part's decoded body */
	MAIL_SEARCH_TEXT,       /* value.str in the header or the body */
	MAIL_SEARCH_MODSEQ,     /* MODSEQ >= value.number (RFC 7162 3.1.5) */
};

struct mail_search_arg {
	enum mail_search_type type;
	struct mail_search_arg *next;        /* the next sibling in an AND/OR list */
	union {
		struct mail_search_arg *children;  /* AND, OR, NOT (NOT: exactly one) */
		struct {
			const struct mail_uid_range *ranges;
			unsigned int count;
		} uids;
		unsigned int flags;
		const char *str;                   /* UTF-8 (IMAP converts CHARSET) */
		int64_t day;                       /* days since 1970-01-01 (msg_days_from_civil) */
		uint64_t number;
		struct {
			const char *field;         /* "From", "Subject", any name */
			const char *value;         /* UTF-8 */
		} header;
	} value;
};

/* Evaluate the criteria over the view: the UIDs of the matching messages,
   ascending (pending-expunged messages never match), in arena. With
   highest_modseq_r (may be NULL): the highest MODSEQ among the matches
   (RFC 7162 3.1.5 "(MODSEQ n)"; 0 when none). LIMIT for a tree past the
   bounds; PARAMS for a malformed tree (NOT without one child). */
int mailbox_search(struct mailbox_view *view, const struct mail_search_arg *args,
		   struct arena *arena, uint32_t **uids_r, unsigned int *count_r,
		   uint64_t *highest_modseq_r, struct mail_error *error_r);

#endif
