#ifndef TERN_IMAP_PARSER_H
#define TERN_IMAP_PARSER_H

#include "lib.h"

/*
 * The IMAP command parser of the server (RFC 9051 section 9, RFC 3501
 * section 9). A command arrives as lines and literals: the session hands
 * the parser each line (without CRLF) and, when the parser asks for one,
 * each literal's bytes; the parser builds the command's arguments as a
 * tree in its arena. It never reads past what it is given and never
 * waits: one call per line or literal, whatever the split of the input.
 *
 *   p = imap_parser_new(arena, &limits);
 *   imap_parser_head(p, line, len, &rest, &n);    // tag and name
 *   imap_parser_set_flags(p, ...);                // FETCH wants section atoms
 *   r = imap_parser_args(p, rest, n);
 *   while (r == IMAP_PARSE_LITERAL) {             // "{N}" / "{N+}" / "~{N}"
 *       imap_parser_literal_info(p, &info);       // size, sync?, binary?
 *       ... "+ Ready" if sync; read N bytes ...
 *       imap_parser_literal(p, data, N);          // or _literal_external()
 *       r = imap_parser_line(p, next_line, len);  // the rest of the command
 *   }
 *   IMAP_PARSE_DONE: imap_parser_tag(p), _name(p), _args(p)
 *   IMAP_PARSE_ERROR: imap_parser_error(p) (and the tag, if it was read)
 *
 * The first line starts with the tag and the command name (RFC 9051 9:
 * tag = 1*<ASTRING-CHAR except "+">; the name an atom). The arguments are
 * tokenized generically: atoms (every ATOM-CHAR plus "]" and, as list
 * wildcards, "%" and "*"; a "\" starts an atom, for flags), quoted
 * strings, literals, and parenthesized lists; commands check the kinds
 * they accept. With IMAP_PARSE_FLAG_FETCH, an atom may hold "[...]"
 * sections with spaces and parentheses and a "<...>" partial
 * (BODY[HEADER.FIELDS (From)]<0.100>), as FETCH needs.
 *
 * Bounded (imap_parser_limits): nesting depth, number of arguments,
 * quoted-string length, in-memory literal size and the total size of one
 * command; a limit hit is an error naming it, never a truncation.
 */
struct arena;

enum imap_arg_type {
	IMAP_ARG_ATOM,         /* also NIL: imap_arg_is_nil() */
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,      /* bytes in memory (may hold NUL when literal8) */
	IMAP_ARG_EXTERNAL,     /* a literal the session kept outside (APPEND's message) */
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, QUOTED, LITERAL: the value, NUL-terminated (len excludes it);
	   quoted strings unescaped */
	const char *str;
	size_t len;
	bool literal8;         /* "~{N}" (RFC 3516 BINARY) */
	/* EXTERNAL: what imap_parser_literal_external() was given */
	void *external;
	uint64_t external_size;
	/* LIST */
	struct imap_arg *list;
	unsigned int count;
};

struct imap_parser_limits {
	unsigned int max_depth;        /* list nesting */
	unsigned int max_args;         /* arguments in the whole command */
	size_t max_literal;            /* a literal kept in memory */
	size_t max_command;            /* lines and in-memory literals together */
};

enum imap_parse_result {
	IMAP_PARSE_DONE,       /* the command is complete */
	IMAP_PARSE_LITERAL,    /* a literal follows: see imap_parser_literal_info() */
	IMAP_PARSE_ERROR,      /* see imap_parser_error(); the command is over */
};

struct imap_literal_info {
	uint64_t size;
	bool sync;             /* "{N}": the client waits for "+" */
	bool binary;           /* "~{N}" */
	unsigned int depth;    /* list nesting where it sits (0 = top level) */
	unsigned int index;    /* its position among the args at that depth */
};

enum imap_parse_flags {
	IMAP_PARSE_FLAG_FETCH = 1 << 0,   /* section/partial atoms (FETCH) */
};

struct imap_parser;

struct imap_parser *imap_parser_new(struct arena *arena, const struct imap_parser_limits *limits);

/* Set flags for the arguments, after the tag and name were read (i.e.
   once imap_parser_name() is known, before the next call). */
void imap_parser_set_flags(struct imap_parser *p, unsigned int flags);

/* The first line: read only "tag SP name" (for "UID x": name "UID X"),
   so that the caller can look the command up and set flags. 0 with
   *rest_r / *rest_len_r the arguments part (after the SP; "" when the line
   ends there), or -1 with the error set (the tag may be known). */
int imap_parser_head(struct imap_parser *p, const char *line, size_t len,
		     const char **rest_r, size_t *rest_len_r);
/* The arguments part of the first line (after imap_parser_head()). */
enum imap_parse_result imap_parser_args(struct imap_parser *p, const char *rest, size_t len);
/* The next line: the first (head and arguments at once), or the rest of
   the command after a literal. */
enum imap_parse_result imap_parser_line(struct imap_parser *p, const char *line, size_t len);

void imap_parser_literal_info(const struct imap_parser *p, struct imap_literal_info *info_r);
/* The literal's bytes (exactly info.size of them), kept in the arena. */
void imap_parser_literal(struct imap_parser *p, const void *data, size_t size);
/* The session kept the literal itself (streamed to a file): record an
   IMAP_ARG_EXTERNAL argument carrying ptr. */
void imap_parser_literal_external(struct imap_parser *p, void *ptr);

/* NULL until read. Valid as long as the arena. */
const char *imap_parser_tag(const struct imap_parser *p);
/* Upper-cased. */
const char *imap_parser_name(const struct imap_parser *p);
/* The top-level arguments (after DONE). */
const struct imap_arg *imap_parser_args_list(const struct imap_parser *p, unsigned int *count_r);
/* The error text for a BAD response (static or arena). */
const char *imap_parser_error(const struct imap_parser *p);
/* The error was a size limit (literal or command too large): the
   response carries [TOOBIG]. */
bool imap_parser_error_toobig(const struct imap_parser *p);

/* Is this the atom NIL (any case)? */
bool imap_arg_is_nil(const struct imap_arg *arg);
/* An astring (atom, quoted or literal): its value, else NULL. */
const char *imap_arg_astring(const struct imap_arg *arg);
/* A string (quoted or literal; nstring also NIL -> "" via is_nil). */
const char *imap_arg_string(const struct imap_arg *arg);
/* An atom's text, else NULL. */
const char *imap_arg_atom(const struct imap_arg *arg);

/* RFC 9051 9 character classes. */
bool imap_is_atom_char(unsigned char c);
bool imap_is_astring_char(unsigned char c);

#endif
