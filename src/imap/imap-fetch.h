#ifndef TERN_IMAP_FETCH_H
#define TERN_IMAP_FETCH_H

#include "lib.h"

/*
 * FETCH data items (RFC 9051 6.4.5, RFC 3501 6.4.5, RFC 3516 BINARY):
 * parsed from the command's arguments into a request that cmd-fetch.c
 * executes against the store. Pure parsing, no I/O: unit-tested and
 * fuzzed on its own.
 */
struct arena;
struct imap_arg;

enum imap_fetch_kind {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,            /* BODY: the non-extensible BODYSTRUCTURE */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_SECTION,         /* BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER, RFC822.TEXT */
	IMAP_FETCH_BINARY,          /* BINARY[...], BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE,     /* BINARY.SIZE[...] */
};

enum imap_section_text {
	IMAP_SECTION_ALL,           /* BODY[] or BODY[1.2]: the whole (part) */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,          /* only after a part number */
};

struct imap_fetch_item {
	enum imap_fetch_kind kind;
	/* SECTION / BINARY / BINARY_SIZE */
	const char *part;           /* "" or "1.2.3" */
	enum imap_section_text text;
	const char **fields;        /* HEADER.FIELDS(.NOT): upper-cased names */
	unsigned int field_count;
	bool peek;                  /* does not set \Seen */
	bool partial;               /* <offset.length> */
	uint64_t offset, length;
	/* how the response names it: "BODY[HEADER.FIELDS (FROM TO)]<0>",
	   "RFC822.HEADER", "BINARY[1]" */
	const char *response_name;
};

struct imap_fetch_request {
	struct imap_fetch_item *items;
	unsigned int count;
	bool sets_seen;             /* a non-PEEK body item (RFC 9051 6.4.5) */
	bool needs_body;            /* an item reads the message file */
	bool has_uid;               /* UID was asked (UID FETCH adds it anyway) */
	bool has_flags;
};

/* Parse the data item argument(s) of FETCH: a macro (ALL, FAST, FULL), one
   item, or a list of items. uid_fetch: UID FETCH (the UID item is added,
   RFC 9051 6.4.9). 0, or -1 with *error_r (arena or static). */
int imap_fetch_parse(struct arena *arena, const struct imap_arg *arg, bool uid_fetch,
		     struct imap_fetch_request *req_r, const char **error_r);

#endif
