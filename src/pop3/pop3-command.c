/*
 * POP3 command line parser (pop3-command.h): RFC 1939 3 command shapes,
 * with the extension commands of RFC 2449 (CAPA), RFC 2595 (STLS) and
 * RFC 5034 (AUTH). Called by the session (pop3-session.c) for every line
 * outside a SASL exchange; it knows nothing of states or accounts.
 */
#include "pop3-command.h"
#include "arena.h"

struct verb_entry {
	const char *name;
	enum pop3_verb verb;
	/* arguments: min..max tokens (PASS takes the rest of the line) */
	unsigned int min_args, max_args;
};

static const struct verb_entry verbs[POP3_VERB_COUNT] = {
	{ "USER", POP3_VERB_USER, 1, 1 },
	{ "PASS", POP3_VERB_PASS, 1, 1 },
	{ "APOP", POP3_VERB_APOP, 2, 2 },
	{ "AUTH", POP3_VERB_AUTH, 0, 2 },
	{ "STLS", POP3_VERB_STLS, 0, 0 },
	{ "CAPA", POP3_VERB_CAPA, 0, 0 },
	{ "QUIT", POP3_VERB_QUIT, 0, 0 },
	{ "STAT", POP3_VERB_STAT, 0, 0 },
	{ "LIST", POP3_VERB_LIST, 0, 1 },
	{ "RETR", POP3_VERB_RETR, 1, 1 },
	{ "DELE", POP3_VERB_DELE, 1, 1 },
	{ "NOOP", POP3_VERB_NOOP, 0, 0 },
	{ "RSET", POP3_VERB_RSET, 0, 0 },
	{ "TOP",  POP3_VERB_TOP,  2, 2 },
	{ "UIDL", POP3_VERB_UIDL, 0, 1 },
};

/* the longest keyword tern knows, plus room to tell a longer word apart */
#define KEYWORD_MAX 8
#define MAX_TOKENS 3

struct token {
	const unsigned char *p;
	size_t len;
};

static int fail(enum pop3_parse_error kind, const char *text, enum pop3_parse_error *error_r,
		const char **text_r);
static int parse_number(const struct token *t, bool saturate, uint32_t *value_r);
static bool is_hex_digest(const struct token *t);

const char *pop3_verb_name(enum pop3_verb verb)
{
	i_assert(verb < POP3_VERB_COUNT);
	return verbs[verb].name;
}

static int fail(enum pop3_parse_error kind, const char *text, enum pop3_parse_error *error_r,
		const char **text_r)
{
	*error_r = kind;
	*text_r = text;
	return -1;
}

/* 1*DIGIT. Returns -1 for anything else; a value past 32 bits is
   POP3_MSG_TOO_BIG (or UINT32_MAX when saturating a line count). */
static int parse_number(const struct token *t, bool saturate, uint32_t *value_r)
{
	uint64_t v = 0;
	size_t i;

	if (t->len == 0)
		return -1;
	for (i = 0; i < t->len; i++) {
		if (t->p[i] < '0' || t->p[i] > '9')
			return -1;
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(t->p[i] - '0');
	}
	*value_r = v >= UINT32_MAX ? (saturate ? UINT32_MAX : POP3_MSG_TOO_BIG) : (uint32_t)v;
	return 0;
}

static bool is_hex_digest(const struct token *t)
{
	size_t i;

	if (t->len != POP3_APOP_DIGEST_LEN)
		return false;
	for (i = 0; i < t->len; i++) {
		if (i_hex_value(t->p[i]) < 0)
			return false;
	}
	return true;
}

int pop3_command_parse(struct arena *arena, const unsigned char *line, size_t len,
		       struct pop3_command *cmd_r, enum pop3_parse_error *error_r,
		       const char **text_r)
{
	const struct verb_entry *entry = NULL;
	struct token tokens[MAX_TOKENS];
	char keyword[KEYWORD_MAX + 1];
	size_t i, klen, rest;
	unsigned int ntok = 0, v;

	memset(cmd_r, 0, sizeof(*cmd_r));
	/* RFC 1939 3: printable ASCII and spaces; a password may hold 8-bit
	   (UTF-8) bytes and a tab. NUL and the other controls never belong. */
	for (i = 0; i < len; i++) {
		if ((line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return fail(POP3_PARSE_BAD_CHARS, "Invalid characters in command", error_r,
				    text_r);
	}
	for (klen = 0; klen < len && line[klen] != ' '; klen++) {
		if (klen == KEYWORD_MAX)
			return fail(POP3_PARSE_UNKNOWN, "Unknown command", error_r, text_r);
		keyword[klen] = i_toupper((char)line[klen]);
	}
	keyword[klen] = '\0';
	for (v = 0; v < POP3_VERB_COUNT; v++) {
		if (strcmp(verbs[v].name, keyword) == 0) {
			entry = &verbs[v];
			break;
		}
	}
	if (entry == NULL)
		return fail(POP3_PARSE_UNKNOWN, "Unknown command", error_r, text_r);
	cmd_r->verb = entry->verb;
	cmd_r->name = entry->name;

	if (entry->verb == POP3_VERB_PASS) {
		/* RFC 1939 7: "PASS string", the whole rest of the line */
		if (klen == len)
			return fail(POP3_PARSE_SYNTAX, "PASS needs a password", error_r, text_r);
		rest = klen + 1;
		if (len - rest > SASL_MAX_PASSWORD)
			return fail(POP3_PARSE_SYNTAX, "Password too long", error_r, text_r);
		cmd_r->arg = arena_strndup(arena, line + rest, len - rest);
		return 0;
	}

	/* the arguments: tokens between runs of spaces (tabs are no
	   separator: outside PASS they make a bad argument) */
	i = klen;
	for (;;) {
		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		if (ntok == MAX_TOKENS || ntok == entry->max_args) {
			ntok = MAX_TOKENS + 1;
			break;
		}
		tokens[ntok].p = line + i;
		while (i < len && line[i] != ' ')
			i++;
		tokens[ntok].len = (size_t)(line + i - tokens[ntok].p);
		ntok++;
	}
	if (ntok < entry->min_args || ntok > entry->max_args) {
		switch (entry->verb) {
		case POP3_VERB_USER:
			return fail(POP3_PARSE_SYNTAX, "USER needs one name", error_r, text_r);
		case POP3_VERB_APOP:
			return fail(POP3_PARSE_SYNTAX, "APOP needs a name and a digest", error_r,
				    text_r);
		case POP3_VERB_AUTH:
			return fail(POP3_PARSE_SYNTAX, "AUTH takes a mechanism and an initial response",
				    error_r, text_r);
		case POP3_VERB_LIST:
		case POP3_VERB_UIDL:
			return fail(POP3_PARSE_SYNTAX, "Too many arguments: give one message number",
				    error_r, text_r);
		case POP3_VERB_RETR:
		case POP3_VERB_DELE:
			return fail(POP3_PARSE_SYNTAX, ntok == 0 ? "Message number required" :
				    "Too many arguments: give one message number", error_r, text_r);
		case POP3_VERB_TOP:
			return fail(POP3_PARSE_SYNTAX, "TOP needs a message number and a line count",
				    error_r, text_r);
		default:
			return fail(POP3_PARSE_SYNTAX, "Command takes no arguments", error_r, text_r);
		}
	}
	for (v = 0; v < ntok; v++) {
		/* AUTH's initial response is bounded by SASL_MAX_RESPONSE */
		size_t max = entry->verb == POP3_VERB_AUTH && v == 1 ? SASL_MAX_RESPONSE : POP3_MAX_ARG;

		if (tokens[v].len > max)
			return fail(POP3_PARSE_SYNTAX, "Argument too long", error_r, text_r);
	}

	switch (entry->verb) {
	case POP3_VERB_USER:
		cmd_r->arg = arena_strndup(arena, tokens[0].p, tokens[0].len);
		break;
	case POP3_VERB_APOP:
		if (!is_hex_digest(&tokens[1]))
			return fail(POP3_PARSE_SYNTAX, "APOP digest must be 32 hex digits", error_r,
				    text_r);
		cmd_r->arg = arena_strndup(arena, tokens[0].p, tokens[0].len);
		{
			char *d = arena_strndup(arena, tokens[1].p, tokens[1].len);

			i_str_lower(d);
			cmd_r->arg2 = d;
			cmd_r->arg2_len = tokens[1].len;
		}
		break;
	case POP3_VERB_AUTH:
		if (ntok >= 1) {
			char *m = arena_strndup(arena, tokens[0].p, tokens[0].len);

			for (i = 0; m[i] != '\0'; i++)
				m[i] = i_toupper(m[i]);
			cmd_r->arg = m;
		}
		if (ntok == 2) {
			cmd_r->arg2 = arena_strndup(arena, tokens[1].p, tokens[1].len);
			cmd_r->arg2_len = tokens[1].len;
		}
		break;
	case POP3_VERB_LIST:
	case POP3_VERB_UIDL:
	case POP3_VERB_RETR:
	case POP3_VERB_DELE:
	case POP3_VERB_TOP:
		if (ntok == 0)
			break;
		if (parse_number(&tokens[0], false, &cmd_r->msg) < 0)
			return fail(POP3_PARSE_SYNTAX, "Invalid message number", error_r, text_r);
		cmd_r->has_msg = true;
		if (entry->verb == POP3_VERB_TOP &&
		    parse_number(&tokens[1], true, &cmd_r->lines) < 0)
			return fail(POP3_PARSE_SYNTAX, "Invalid line count", error_r, text_r);
		break;
	default:
		break;
	}
	return 0;
}
