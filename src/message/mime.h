#ifndef TERN_MIME_H
#define TERN_MIME_H

#include "header.h"

/*
 * The MIME tree of a message (RFC 2045-2049), built by a streaming parser
 * that is fed the message bytes in pieces of any size (down to one byte).
 * The tree holds parsed headers and the offsets, sizes and line counts of
 * every part's header and body in the original bytes, so IMAP can serve
 * BODY[section] and partial fetches without re-parsing; bodies themselves are
 * never copied. Everything lives in the arena given to the parser.
 *
 * Lenient as real readers are: missing or wrong boundaries, no closing
 * boundary, bare LF, NUL bytes, absurd nesting (past max_depth a part is kept
 * opaque) never fail; the original bytes always remain the truth.
 */

enum mime_cte {
	MIME_CTE_7BIT,
	MIME_CTE_8BIT,
	MIME_CTE_BINARY,
	MIME_CTE_BASE64,
	MIME_CTE_QUOTED_PRINTABLE,
	MIME_CTE_UNKNOWN,      /* kept opaque: cte_name says what it was */
};

struct mime_param {
	const char *name;      /* lowercased */
	/* RFC 2231 continuations joined; %XX decoded; converted to UTF-8 from
	   `charset` when one was given (undecodable bytes -> U+FFFD). Without
	   RFC 2231 the value is as written, quotes and backslash escapes removed. */
	const char *value;
	/* The value as IMAP BODYSTRUCTURE should send it. For an RFC 2231
	   extended parameter (extended == true) it is the continuations joined
	   into one extended value, "charset'language'%XX..." exactly as written
	   (plain sections mixed in are %-encoded), to be sent under the name
	   name + "*" (as Dovecot does); otherwise it is the same as value
	   (plain continuations name*0, name*1 joined). */
	const char *raw;
	const char *charset;   /* RFC 2231 charset, or NULL */
	const char *language;  /* RFC 2231 language, or NULL */
	bool extended;         /* RFC 2231 charset'lang'%XX encoding was used (see raw) */
};

enum mime_part_flags {
	MIME_PART_FLAG_MISSING_END_BOUNDARY = 1 << 0, /* multipart with no closing --boundary-- */
	MIME_PART_FLAG_NO_BOUNDARY          = 1 << 1, /* multipart with no boundary param: treated as text/plain */
	MIME_PART_FLAG_DEPTH_LIMIT          = 1 << 2, /* nesting limit hit: kept opaque */
	MIME_PART_FLAG_PART_LIMIT           = 1 << 3, /* part count limit hit: rest kept opaque */
	MIME_PART_FLAG_HEADER_LIMIT         = 1 << 4, /* header block too large / too many fields */
	MIME_PART_FLAG_BARE_LF              = 1 << 5, /* line ends without CR seen */
	MIME_PART_FLAG_NUL                  = 1 << 6, /* NUL byte seen in this part's body */
	MIME_PART_FLAG_8BIT                 = 1 << 7, /* 8-bit byte seen in this part's body */
	MIME_PART_FLAG_BAD_CONTENT_TYPE     = 1 << 8, /* unparseable Content-Type: default used */
};

struct mime_part {
	struct mime_part *parent;
	struct mime_part *next;         /* next sibling */
	struct mime_part *children;     /* multipart: the body parts; message/rfc822 (and
	                                   message/global): exactly one child, the encapsulated
	                                   message, whose header is the message header */
	unsigned int child_count;
	unsigned int depth;             /* root = 0 */

	struct msg_header header;

	/* Content-Type, lowercased. Defaults per RFC 2045 5.2: text/plain
	   (charset us-ascii), or message/rfc822 inside multipart/digest; the
	   implicit charset is NOT added to params (writers add it where a
	   protocol wants it). A multipart without boundary parameter is
	   reported as text/plain (flag NO_BOUNDARY). */
	const char *type, *subtype;
	bool content_type_explicit;     /* Content-Type present and parsed */
	struct mime_param *params;
	unsigned int param_count;

	const char *cte_name;           /* lowercased Content-Transfer-Encoding, or NULL if absent */
	enum mime_cte cte;

	const char *content_id;         /* raw field values, NULL when absent */
	const char *description;
	const char *md5;
	const char *location;
	const char *disposition;        /* lowercased disposition type, or NULL */
	struct mime_param *disposition_params;
	unsigned int disposition_param_count;
	const char **languages;         /* Content-Language tags */
	unsigned int language_count;
	const char *boundary;           /* multipart: the boundary parameter */

	size_t offset;                  /* first byte of the header (== header.offset) */
	size_t header_size;             /* header including the blank line */
	unsigned int header_lines;
	size_t body_offset;
	size_t body_size;               /* excluding the line break before a following boundary */
	unsigned int body_lines;        /* lines in the body (a last line without newline counts) */
	/* The sizes of the CRLF form, what IMAP FETCH sends (RFC 3501 2.3.4,
	   7.4.2: octets of the message with CRLF line ends): each bare LF
	   (no CR before it) counts two bytes. Equal to header_size and
	   body_size unless the part has BARE_LF. */
	size_t header_crlf_size;
	size_t body_crlf_size;

	/* multipart only: the text before the first and after the last boundary */
	size_t preamble_offset, preamble_size;
	size_t epilogue_offset, epilogue_size;

	unsigned int flags;             /* enum mime_part_flags */
};

struct mime_limits {
	unsigned int max_depth;         /* nesting of multiparts/messages; default 100 */
	unsigned int max_parts;         /* parts in the whole message; default 10000 */
	unsigned int max_header_fields; /* per header block; default 10000 */
	size_t max_header_size;         /* per header block; default 1 MiB */
	/* Default 64 KiB. The MIME parser needs no per-line bound: it buffers
	   header blocks as a whole (bounded by max_header_size, so a long
	   header line is kept whole within that bound) and never buffers body
	   lines; kept for line-based readers of the same message. */
	size_t max_line_length;
};
void mime_limits_default(struct mime_limits *limits_r);

struct mime_parser;

/* Start a parse; all results are allocated in `arena`. limits may be NULL
   (defaults). The parser itself uses memory bounded by the limits, not by
   the message size. */
struct mime_parser *mime_parser_init(struct arena *arena, const struct mime_limits *limits);
/* Feed the next piece of the message (any size, including 0). */
void mime_parser_feed(struct mime_parser *parser, const void *data, size_t size);
/* End of message: close every open part and return the root. Frees the
   parser and sets *parser to NULL. The tree stays valid while the arena lives. */
struct mime_part *mime_parser_finish(struct mime_parser **parser);

/* Parse a whole message in memory. */
struct mime_part *mime_parse(struct arena *arena, const void *data, size_t size,
			     const struct mime_limits *limits);

/* Content-Type / Content-Disposition value parsing (RFC 2045 5.1, RFC 2183,
   RFC 2231 parameters). type/subtype lowercased. Return 0, or -1 when the
   type is unparseable (params may still be filled). */
int mime_content_type_parse(struct arena *arena, const char *value, size_t len,
			    const char **type_r, const char **subtype_r,
			    struct mime_param **params_r, unsigned int *count_r);
int mime_disposition_parse(struct arena *arena, const char *value, size_t len,
			   const char **disposition_r,
			   struct mime_param **params_r, unsigned int *count_r);
/* Content-Language (RFC 3282): the comma-separated tags, comments
   skipped. Always returns 0; *count_r may be 0. */
int mime_language_parse(struct arena *arena, const char *value, size_t len,
			const char ***languages_r, unsigned int *count_r);
/* The value of a parameter (case-insensitive name), or NULL. */
const char *mime_param_get(const struct mime_param *params, unsigned int count, const char *name);
const char *mime_part_param(const struct mime_part *part, const char *name);

static inline bool mime_part_is(const struct mime_part *part, const char *type, const char *subtype)
{
	return i_strcasecmp(part->type, type) == 0 &&
	       (subtype == NULL || i_strcasecmp(part->subtype, subtype) == 0);
}
/* true for multipart/<any> that has children */
bool mime_part_is_multipart(const struct mime_part *part);
/* true for message/rfc822 and message/global with an encapsulated child */
bool mime_part_is_message(const struct mime_part *part);

/* Deep comparison of two parsed trees: every part, offset, size, line count,
   flag, parameter and header field. For tests, fuzzing and checking a
   cached structure against a fresh parse. */
bool mime_part_tree_equal(const struct mime_part *a, const struct mime_part *b);

/* The part with IMAP section number `section` ("1.2.3"; "" = root), or NULL.
   RFC 3501 6.4.5: in a message/rfc822 part N, "N.1" is the first part of the
   encapsulated message's multipart body, or its body when not multipart. */
const struct mime_part *mime_part_find_section(const struct mime_part *root, const char *section);

#endif
