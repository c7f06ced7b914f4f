/*
 * The IMAP command parser (imap-parser.h): a state machine over lines and
 * literals that builds the argument tree in the caller's arena. Used by
 * the IMAP session (imap-session.c) on the loop thread; knows nothing of
 * command semantics beyond UID's subcommand and FETCH's section atoms.
 */
#include "imap-parser.h"
#include "arena.h"

#include <stdio.h>

#define LIST_INITIAL 8
/* digits of a literal's size: 2^63 has 19 */
#define LITERAL_SIZE_DIGITS 19

struct arg_list {
	struct imap_arg *arg;       /* the LIST arg itself (NULL for the root) */
	struct imap_arg *items;
	unsigned int count, alloc;
};

enum parser_state {
	STATE_HEAD,                 /* nothing read yet */
	STATE_ARGS,                 /* between arguments */
	STATE_LITERAL,              /* a literal's bytes are due */
	STATE_AFTER_LITERAL,        /* the line continuing after a literal */
	STATE_DONE,
	STATE_ERROR,
};

struct imap_parser {
	struct arena *arena;
	struct imap_parser_limits limits;
	unsigned int flags;
	enum parser_state state;

	const char *tag, *name;
	struct arg_list *stack;     /* [0] = the top-level arguments */
	unsigned int depth;         /* index of the innermost open list */
	unsigned int stack_alloc;
	unsigned int total_args;
	size_t total_size;

	struct imap_literal_info literal;
	const char *error;
	bool toobig;
};

static enum imap_parse_result parse_args(struct imap_parser *p, const char *s, size_t len,
					 bool after_literal);

static enum imap_parse_result fail(struct imap_parser *p, const char *error)
{
	p->error = error;
	p->state = STATE_ERROR;
	return IMAP_PARSE_ERROR;
}

static enum imap_parse_result fail_toobig(struct imap_parser *p, const char *error)
{
	p->toobig = true;
	return fail(p, error);
}

bool imap_is_atom_char(unsigned char c)
{
	/* RFC 9051 9: ATOM-CHAR = <any CHAR except atom-specials>;
	   atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
	   quoted-specials / resp-specials */
	if (c <= 0x1f || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case ' ': case '%': case '*': case '"': case '\\': case ']':
		return false;
	default:
		return true;
	}
}

bool imap_is_astring_char(unsigned char c)
{
	return imap_is_atom_char(c) || c == ']';
}

/* What the generic tokenizer takes into an atom: ATOM-CHAR, "]" (astring,
   resp-specials), "%" and "*" (list-mailbox, sequence sets), "\" (flags). */
static bool token_atom_char(unsigned char c)
{
	return imap_is_atom_char(c) || c == ']' || c == '%' || c == '*' || c == '\\';
}

struct imap_parser *imap_parser_new(struct arena *arena, const struct imap_parser_limits *limits)
{
	struct imap_parser *p = arena_new_type(arena, struct imap_parser);

	p->arena = arena;
	p->limits = *limits;
	p->stack_alloc = 4;
	p->stack = arena_new_array(arena, struct arg_list, p->stack_alloc);
	p->state = STATE_HEAD;
	return p;
}

void imap_parser_set_flags(struct imap_parser *p, unsigned int flags)
{
	p->flags = flags;
}

static struct imap_arg *new_arg(struct imap_parser *p, enum imap_arg_type type)
{
	struct arg_list *l = &p->stack[p->depth];
	struct imap_arg *arg;

	if (p->total_args >= p->limits.max_args)
		return NULL;
	if (l->count == l->alloc) {
		unsigned int old = l->alloc;

		l->alloc = old == 0 ? LIST_INITIAL : old * 2;
		l->items = arena_realloc(p->arena, l->items, i_size_mul(old, sizeof(*arg)),
					 i_size_mul(l->alloc, sizeof(*arg)));
		if (l->arg != NULL)
			l->arg->list = l->items;
	}
	p->total_args++;
	arg = &l->items[l->count++];
	memset(arg, 0, sizeof(*arg));
	arg->type = type;
	if (l->arg != NULL)
		l->arg->count = l->count;
	return arg;
}

static enum imap_parse_result open_list(struct imap_parser *p)
{
	struct imap_arg *arg;

	if (p->depth + 1 >= p->limits.max_depth)
		return fail(p, "Too deeply nested parentheses");
	arg = new_arg(p, IMAP_ARG_LIST);
	if (arg == NULL)
		return fail(p, "Too many arguments");
	if (p->depth + 1 == p->stack_alloc) {
		unsigned int old = p->stack_alloc;

		p->stack_alloc *= 2;
		p->stack = arena_realloc(p->arena, p->stack, i_size_mul(old, sizeof(*p->stack)),
					 i_size_mul(p->stack_alloc, sizeof(*p->stack)));
	}
	p->depth++;
	memset(&p->stack[p->depth], 0, sizeof(p->stack[p->depth]));
	p->stack[p->depth].arg = arg;
	return IMAP_PARSE_DONE;
}

int imap_parser_head(struct imap_parser *p, const char *line, size_t len,
		     const char **rest_r, size_t *rest_len_r)
{
	size_t i = 0, start;
	char *name;

	i_assert(p->state == STATE_HEAD);
	p->total_size = len;
	if (len > p->limits.max_command) {
		fail_toobig(p, "Command line too long");
		return -1;
	}
	/* tag = 1*<any ASTRING-CHAR except "+"> */
	while (i < len && imap_is_astring_char((unsigned char)line[i]) && line[i] != '+')
		i++;
	if (i == 0 || (i < len && line[i] != ' ')) {
		fail(p, i == 0 && len == 0 ? "Empty command line" : "Invalid tag");
		return -1;
	}
	p->tag = arena_strndup(p->arena, line, i);
	if (i == len) {
		fail(p, "Missing command name");
		return -1;
	}
	i++;
	start = i;
	while (i < len && imap_is_atom_char((unsigned char)line[i]))
		i++;
	if (i == start || (i < len && line[i] != ' ')) {
		fail(p, "Invalid command name");
		return -1;
	}
	name = arena_strndup(p->arena, line + start, i - start);
	for (char *c = name; *c != '\0'; c++)
		*c = i_toupper(*c);
	if (strcmp(name, "UID") == 0) {
		/* RFC 9051 6.4.9: UID takes the command as its first word */
		size_t sub;

		if (i == len) {
			fail(p, "UID needs a command");
			return -1;
		}
		sub = ++i;
		while (i < len && imap_is_atom_char((unsigned char)line[i]))
			i++;
		if (i == sub || (i < len && line[i] != ' ')) {
			fail(p, "Invalid UID command");
			return -1;
		}
		name = arena_printf(p->arena, "UID %.*s", (int)(i - sub), line + sub);
		for (char *c = name + 4; *c != '\0'; c++)
			*c = i_toupper(*c);
	}
	p->name = name;
	if (i < len)
		i++;  /* the SP before the arguments */
	*rest_r = line + i;
	*rest_len_r = len - i;
	p->state = STATE_ARGS;
	return 0;
}

enum imap_parse_result imap_parser_args(struct imap_parser *p, const char *rest, size_t len)
{
	i_assert(p->state == STATE_ARGS);
	return parse_args(p, rest, len, false);
}

enum imap_parse_result imap_parser_line(struct imap_parser *p, const char *line, size_t len)
{
	const char *rest;
	size_t rest_len;

	if (p->state == STATE_HEAD) {
		if (imap_parser_head(p, line, len, &rest, &rest_len) < 0)
			return IMAP_PARSE_ERROR;
		return parse_args(p, rest, rest_len, false);
	}
	i_assert(p->state == STATE_AFTER_LITERAL);
	if (len > p->limits.max_command || p->total_size > p->limits.max_command - len)
		return fail_toobig(p, "Command too long");
	p->total_size += len;
	return parse_args(p, line, len, true);
}

/* "{123}", "{123+}", "~{123}" at the end of the line, starting at s[i]
   ('{' or '~'). */
static enum imap_parse_result parse_literal_head(struct imap_parser *p, const char *s,
						 size_t len, size_t i)
{
	uint64_t size = 0;
	unsigned int digits = 0;
	bool binary = false, sync = true;

	if (s[i] == '~') {
		binary = true;
		i++;
		if (i == len || s[i] != '{')
			return fail(p, "Invalid literal8");
	}
	i++;  /* '{' */
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (++digits > LITERAL_SIZE_DIGITS)
			return fail_toobig(p, "Literal size too large");
		size = size * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	if (digits == 0)
		return fail(p, "Invalid literal size");
	if (i < len && s[i] == '+') {
		/* RFC 7888 LITERAL+ */
		sync = false;
		i++;
	}
	if (i == len || s[i] != '}')
		return fail(p, "Invalid literal");
	if (i + 1 != len)
		return fail(p, "Literal must end the line");
	p->literal.size = size;
	p->literal.sync = sync;
	p->literal.binary = binary;
	p->literal.depth = p->depth;
	p->literal.index = p->stack[p->depth].count;
	p->state = STATE_LITERAL;
	return IMAP_PARSE_LITERAL;
}

/* A quoted string starting at s[*i] (the DQUOTE). */
static enum imap_parse_result parse_quoted(struct imap_parser *p, const char *s, size_t len,
					   size_t *ip)
{
	size_t i = *ip + 1, start = i, n = 0;
	struct imap_arg *arg;
	char *out;
	bool escaped = false;

	/* first the length, then the copy */
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (escaped) {
			/* RFC 9051 9: "\" quoted-specials only */
			if (c != '"' && c != '\\')
				return fail(p, "Invalid escape in quoted string");
			escaped = false;
			n++;
		} else if (c == '\\') {
			escaped = true;
		} else if (c == '"') {
			break;
		} else if (c == '\0' || c == '\r' || c == '\n') {
			return fail(p, "Invalid character in quoted string");
		} else {
			n++;
		}
	}
	if (i == len)
		return fail(p, "Missing '\"'");
	arg = new_arg(p, IMAP_ARG_QUOTED);
	if (arg == NULL)
		return fail(p, "Too many arguments");
	out = arena_alloc(p->arena, n + 1);
	n = 0;
	for (size_t j = start; j < i; j++) {
		if (s[j] == '\\')
			j++;
		out[n++] = s[j];
	}
	out[n] = '\0';
	arg->str = out;
	arg->len = n;
	*ip = i + 1;
	return IMAP_PARSE_DONE;
}

/* An atom starting at s[*i]. In FETCH mode "[...]" may hold anything but
   CR, LF and NUL (section specs with spaces and lists). */
static enum imap_parse_result parse_atom(struct imap_parser *p, const char *s, size_t len,
					 size_t *ip)
{
	size_t i = *ip, start = i;
	struct imap_arg *arg;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if ((p->flags & IMAP_PARSE_FLAG_FETCH) != 0 && c == '[') {
			while (i < len && s[i] != ']') {
				if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
					return fail(p, "Invalid character in section");
				i++;
			}
			if (i == len)
				return fail(p, "Missing ']'");
			i++;
			continue;
		}
		if (!token_atom_char(c))
			break;
		i++;
	}
	if (i == start)
		return fail(p, (unsigned char)s[i] >= 0x80 ? "8-bit characters need a quoted string "
			    "or literal" : "Invalid characters in atom");
	arg = new_arg(p, IMAP_ARG_ATOM);
	if (arg == NULL)
		return fail(p, "Too many arguments");
	arg->str = arena_strndup(p->arena, s + start, i - start);
	arg->len = i - start;
	*ip = i;
	return IMAP_PARSE_DONE;
}

static enum imap_parse_result parse_args(struct imap_parser *p, const char *s, size_t len,
					 bool after_literal)
{
	size_t i = 0;
	/* an argument just ended: the next must be separated (SP or ")") */
	bool need_sep = after_literal;
	enum imap_parse_result r;

	p->state = STATE_ARGS;
	while (i < len) {
		char c = s[i];

		if (c == ' ') {
			/* lenient: runs of spaces count as one */
			while (i < len && s[i] == ' ')
				i++;
			need_sep = false;
			continue;
		}
		if (c == ')') {
			if (p->depth == 0)
				return fail(p, "Unexpected ')'");
			p->depth--;
			i++;
			need_sep = true;
			continue;
		}
		if (need_sep)
			return fail(p, "Missing space between arguments");
		if (c == '(') {
			if ((r = open_list(p)) != IMAP_PARSE_DONE)
				return r;
			i++;
			continue;
		}
		if (c == '"') {
			if ((r = parse_quoted(p, s, len, &i)) != IMAP_PARSE_DONE)
				return r;
		} else if (c == '{' || (c == '~' && i + 1 < len && s[i + 1] == '{')) {
			return parse_literal_head(p, s, len, i);
		} else {
			if ((r = parse_atom(p, s, len, &i)) != IMAP_PARSE_DONE)
				return r;
		}
		need_sep = true;
	}
	if (p->depth != 0)
		return fail(p, "Missing ')'");
	p->state = STATE_DONE;
	return IMAP_PARSE_DONE;
}

void imap_parser_literal_info(const struct imap_parser *p, struct imap_literal_info *info_r)
{
	i_assert(p->state == STATE_LITERAL);
	*info_r = p->literal;
}

void imap_parser_literal(struct imap_parser *p, const void *data, size_t size)
{
	struct imap_arg *arg;

	i_assert(p->state == STATE_LITERAL && size == p->literal.size);
	if (size > p->limits.max_literal ||
	    size > p->limits.max_command - I_MIN(p->total_size, p->limits.max_command)) {
		fail_toobig(p, "Literal too large");
		return;
	}
	if (!p->literal.binary && memchr(data, '\0', size) != NULL) {
		/* RFC 9051 9: CHAR8 excludes NUL; only literal8 may carry it */
		fail(p, "NUL in literal");
		return;
	}
	arg = new_arg(p, IMAP_ARG_LITERAL);
	if (arg == NULL) {
		fail(p, "Too many arguments");
		return;
	}
	p->total_size += size;
	arg->str = arena_strndup(p->arena, data, size);
	arg->len = size;
	arg->literal8 = p->literal.binary;
	p->state = STATE_AFTER_LITERAL;
}

void imap_parser_literal_external(struct imap_parser *p, void *ptr)
{
	struct imap_arg *arg;

	i_assert(p->state == STATE_LITERAL);
	arg = new_arg(p, IMAP_ARG_EXTERNAL);
	if (arg == NULL) {
		fail(p, "Too many arguments");
		return;
	}
	arg->external = ptr;
	arg->external_size = p->literal.size;
	arg->literal8 = p->literal.binary;
	p->state = STATE_AFTER_LITERAL;
}

const char *imap_parser_tag(const struct imap_parser *p)
{
	return p->tag;
}

const char *imap_parser_name(const struct imap_parser *p)
{
	return p->name;
}

const struct imap_arg *imap_parser_args_list(const struct imap_parser *p, unsigned int *count_r)
{
	*count_r = p->stack[0].count;
	return p->stack[0].items;
}

const char *imap_parser_error(const struct imap_parser *p)
{
	return p->error;
}

bool imap_parser_error_toobig(const struct imap_parser *p)
{
	return p->toobig;
}

bool imap_arg_is_nil(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_ATOM && arg->len == 3 && i_strcasecmp(arg->str, "NIL") == 0;
}

const char *imap_arg_astring(const struct imap_arg *arg)
{
	size_t i;

	switch (arg->type) {
	case IMAP_ARG_QUOTED:
		return arg->str;
	case IMAP_ARG_LITERAL:
		return arg->literal8 ? NULL : arg->str;
	case IMAP_ARG_ATOM:
		/* ASTRING-CHAR only: no wildcards, no "\" */
		for (i = 0; i < arg->len; i++) {
			if (!imap_is_astring_char((unsigned char)arg->str[i]))
				return NULL;
		}
		return arg->str;
	default:
		return NULL;
	}
}

const char *imap_arg_string(const struct imap_arg *arg)
{
	if (arg->type == IMAP_ARG_QUOTED || (arg->type == IMAP_ARG_LITERAL && !arg->literal8))
		return arg->str;
	return NULL;
}

const char *imap_arg_atom(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_ATOM ? arg->str : NULL;
}
