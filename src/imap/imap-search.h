#ifndef TERN_IMAP_SEARCH_H
#define TERN_IMAP_SEARCH_H

#include "lib.h"
#include "imap-seqset.h"
#include "mailbox.h"

/*
 * SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4) as the client writes it:
 *   SEARCH [RETURN (return-opts)] [CHARSET charset] search-key...
 * parsed into a tree of keys (imap_search_parse), which cmd-search.c turns
 * into the store's search criteria. Pure parsing: unit-tested and fuzzed.
 * Bounded: IMAP_MAX_SEARCH_KEYS keys, IMAP_MAX_LIST_DEPTH nesting.
 */
struct arena;
struct imap_arg;

enum imap_search_key_type {
	IMAP_SK_ALL,
	IMAP_SK_AND,          /* children */
	IMAP_SK_OR,           /* children[0] OR children[1] */
	IMAP_SK_NOT,          /* children[0] */
	IMAP_SK_SEQSET,       /* set (message sequence numbers) */
	IMAP_SK_UIDSET,       /* set (UIDs) */
	IMAP_SK_FLAG,         /* flag (a \system flag bit), or keyword; negated: not set */
	IMAP_SK_RECENT,       /* \Recent (rev1) */
	IMAP_SK_BEFORE,       /* INTERNALDATE, day granularity (day) */
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE,   /* the Date: header */
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER,       /* RFC822.SIZE > size */
	IMAP_SK_SMALLER,
	IMAP_SK_HEADER,       /* field contains value ("" field name: any header) */
	IMAP_SK_BODY,         /* body text contains value */
	IMAP_SK_TEXT,         /* header or body contains value */
};

/* system flags: the store's bits (mailbox.h enum mail_flags) */
#define IMAP_FLAG_SEEN     MAIL_SEEN
#define IMAP_FLAG_ANSWERED MAIL_ANSWERED
#define IMAP_FLAG_FLAGGED  MAIL_FLAGGED
#define IMAP_FLAG_DELETED  MAIL_DELETED
#define IMAP_FLAG_DRAFT    MAIL_DRAFT

struct imap_search_key {
	enum imap_search_key_type type;
	struct imap_search_key *children;
	unsigned int child_count;
	struct imap_seqset set;
	unsigned int flag;         /* IMAP_FLAG_* (0 with a keyword) */
	const char *keyword;       /* KEYWORD / UNKEYWORD */
	bool negated;              /* UNSEEN, UNKEYWORD x, ... */
	int64_t day;               /* days since 1970-01-01 (BEFORE/ON/SINCE/SENT*) */
	uint64_t size;             /* LARGER / SMALLER */
	const char *field;         /* HEADER: the field name as given; FROM -> "From" ... */
	const char *value;         /* the text searched for (UTF-8) */
};

enum imap_search_return {
	IMAP_SEARCH_RETURN_MIN   = 1 << 0,
	IMAP_SEARCH_RETURN_MAX   = 1 << 1,
	IMAP_SEARCH_RETURN_ALL   = 1 << 2,
	IMAP_SEARCH_RETURN_COUNT = 1 << 3,
	IMAP_SEARCH_RETURN_SAVE  = 1 << 4,
};

struct imap_search {
	struct imap_search_key root;   /* an AND of the top-level keys */
	bool esearch;                  /* RETURN was given (RFC 4731) */
	unsigned int return_opts;      /* enum imap_search_return */
	bool uses_saved;               /* "$" appears (RFC 5182) */
};

enum imap_search_error {
	IMAP_SEARCH_ERROR_SYNTAX,      /* BAD */
	IMAP_SEARCH_ERROR_BADCHARSET,  /* NO [BADCHARSET (US-ASCII UTF-8)] */
};

/* Parse SEARCH's arguments. 0, or -1 with *error_r and *kind_r. */
int imap_search_parse(struct arena *arena, const struct imap_arg *args, unsigned int count,
		      struct imap_search *search_r, enum imap_search_error *kind_r,
		      const char **error_r);

/* "1-Feb-1994" (RFC 9051 9 date-text) -> days since 1970-01-01. 0 or -1. */
int imap_date_parse(const char *text, int64_t *day_r);

#endif
