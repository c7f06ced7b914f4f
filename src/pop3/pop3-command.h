#ifndef TERN_POP3_COMMAND_H
#define TERN_POP3_COMMAND_H

#include "lib.h"
#include "tern-limits.h"

/*
 * POP3 command lines (RFC 1939 3, RFC 2449, RFC 2595, RFC 5034) as the
 * server reads them: the keyword and its arguments, checked for the shape
 * each command takes. A pure function of one line: the connection has
 * split the input into lines and bounded their length (limits.line_length);
 * everything returned lives in the arena given. Which commands are valid
 * in which state, and every policy question, are the session's business.
 *
 * Shapes (RFC 1939 3: keywords are case-insensitive, arguments are
 * separated by a single space; tern also takes runs of spaces and a
 * trailing space, which real clients send):
 *   USER name        PASS string (the rest of the line, spaces included:
 *   APOP name digest   RFC 1939 7 lets a password hold them)
 *   AUTH [mechanism [initial-response]]   (RFC 5034 4; bare AUTH lists the
 *                                          mechanisms, as many servers do)
 *   STLS  CAPA  QUIT  STAT  NOOP  RSET
 *   LIST [msg]  UIDL [msg]  RETR msg  DELE msg  TOP msg n
 * A message number is 1*DIGIT; one too large for 32 bits parses as
 * POP3_MSG_TOO_BIG, which no maildrop holds (the session answers "no such
 * message", not a syntax error). TOP's line count saturates at UINT32_MAX.
 */

struct arena;

enum pop3_verb {
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_APOP,
	POP3_VERB_AUTH,
	POP3_VERB_STLS,
	POP3_VERB_CAPA,
	POP3_VERB_QUIT,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_RETR,
	POP3_VERB_DELE,
	POP3_VERB_NOOP,
	POP3_VERB_RSET,
	POP3_VERB_TOP,
	POP3_VERB_UIDL,
	POP3_VERB_COUNT
};

#define POP3_MSG_TOO_BIG UINT32_MAX
/* RFC 1939 7 APOP: the digest is 16 octets, 32 lowercase hex digits */
#define POP3_APOP_DIGEST_LEN 32

/* POP3_MAX_ARG (an argument), SASL_MAX_RESPONSE (AUTH's initial
   response): tern-limits.h */

struct pop3_command {
	enum pop3_verb verb;
	const char *name;           /* the keyword in upper case: "RETR" */
	/* USER, APOP: the name; PASS: the password (may be ""); AUTH: the
	   mechanism in upper case (NULL for a bare AUTH) */
	char *arg;
	/* APOP: the digest (lowercased); AUTH: the initial response as
	   given (NULL when none) */
	const char *arg2;
	size_t arg2_len;
	/* LIST, UIDL: whether a message number was given; RETR, DELE, TOP:
	   always */
	bool has_msg;
	uint32_t msg;               /* 1-based as given; 0 and POP3_MSG_TOO_BIG are never valid */
	uint32_t lines;             /* TOP */
};

enum pop3_parse_error {
	POP3_PARSE_UNKNOWN,         /* no such command */
	POP3_PARSE_SYNTAX,          /* a known command with wrong arguments */
	POP3_PARSE_BAD_CHARS,       /* NUL or another control character */
};

/* Parse one line (without its CRLF). 0 with *cmd_r filled, or -1 with
   *error_r (the kind) and *text_r (static text for "-ERR text"; names
   the command for POP3_PARSE_SYNTAX). */
int pop3_command_parse(struct arena *arena, const unsigned char *line, size_t len,
		       struct pop3_command *cmd_r, enum pop3_parse_error *error_r,
		       const char **text_r);

/* The keyword of a verb ("RETR"). */
const char *pop3_verb_name(enum pop3_verb verb);

#endif
