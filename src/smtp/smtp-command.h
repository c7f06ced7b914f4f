#ifndef TERN_SMTP_COMMAND_H
#define TERN_SMTP_COMMAND_H

#include "lib.h"
#include "tern-limits.h"

/*
 * SMTP command lines (RFC 5321 4.1) as a server reads them: the verb, and
 * for the commands that have them, their arguments parsed and checked.
 * The parser is a pure function of one line (the connection has already
 * split the input into lines and bounded their length); everything it
 * returns lives in the arena given.
 *
 * What it checks (and the reply the session gives):
 *   - NUL anywhere: 500 5.5.2; 8-bit bytes: only valid UTF-8, and only in
 *     HELO/EHLO, MAIL and RCPT arguments (RFC 6531); elsewhere 500 5.5.2;
 *   - unknown verb: 500 5.5.1; wrong arguments: 501 5.5.4;
 *   - MAIL/RCPT paths (4.1.2): "<" [source route ":"] mailbox ">", quoted
 *     local parts, address literals; source routes are dropped (4.1.1.3
 *     and appendix C); lenient about a space after the colon and about a
 *     bare address without brackets; bad path: 501 5.1.7 (MAIL) / 501
 *     5.1.3 (RCPT); local part over 64 octets or domain over 255: same;
 *   - parameters (4.1.2 esmtp-param): SIZE (RFC 1870), BODY=7BIT|8BITMIME
 *     (RFC 6152), SMTPUTF8 (RFC 6531), RET, ENVID (RFC 3461), AUTH (RFC
 *     4954 5) on MAIL; NOTIFY, ORCPT (RFC 3461) on RCPT; xtext decoded;
 *     an unknown parameter: 555 5.5.4; a bad value: 501 5.5.4;
 *     a parameter given twice: 501 5.5.4.
 * Whether an extension may be used (e.g. after HELO), and every policy
 * question, is the session's business.
 */

struct arena;

enum smtp_verb {
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	/* obsolete (RFC 5321 appendix F): answered 502 */
	SMTP_VERB_SEND,
	SMTP_VERB_SOML,
	SMTP_VERB_SAML,
	SMTP_VERB_TURN,
	SMTP_VERB_ETRN,
	SMTP_VERB_COUNT
};

enum smtp_body {
	SMTP_BODY_NONE,       /* not given */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

enum smtp_ret {
	SMTP_RET_NONE,
	SMTP_RET_FULL,
	SMTP_RET_HDRS,
};

/* RFC 3461 4.1 NOTIFY bits (same values as queue.h's enum queue_notify) */
#define SMTP_NOTIFY_NEVER   (1u << 0)
#define SMTP_NOTIFY_SUCCESS (1u << 1)
#define SMTP_NOTIFY_FAILURE (1u << 2)
#define SMTP_NOTIFY_DELAY   (1u << 3)

/* SMTP_MAX_LOCAL_PART, SMTP_MAX_DOMAIN, SMTP_MAX_ENVID, SMTP_MAX_ORCPT:
   tern-limits.h */

struct smtp_path {
	bool null;                  /* "<>" */
	bool postmaster;            /* "<Postmaster>" without domain (RFC 5321 4.1.1.3) */
	bool utf8;                  /* non-ASCII octets (needs SMTPUTF8) */
	bool quoted;                /* the local part was given as a quoted string */
	const char *local_part;     /* the local part with quoting removed */
	const char *domain;         /* as given (address literals with brackets) */
	/* "local@domain": the local part as dot-string when it is one, else
	   re-quoted minimally; "" for the null path, "Postmaster" for the
	   postmaster path */
	const char *address;
};

struct smtp_mail_params {
	bool size_given;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	const char *envid;          /* decoded, NULL when absent */
	const char *auth;           /* RFC 4954 5 AUTH=, decoded; "<>" kept as is */
};

struct smtp_rcpt_params {
	unsigned int notify;        /* SMTP_NOTIFY_*, 0 when absent */
	const char *orcpt;          /* "type;decoded-address", NULL when absent */
};

struct smtp_command {
	enum smtp_verb verb;
	const char *name;           /* the verb as a canonical upper-case string */
	/* the text after the verb and its space ("" if none) */
	const char *args;
	size_t args_len;

	/* HELO/EHLO: the domain or address literal as given */
	const char *helo;
	/* MAIL/RCPT */
	struct smtp_path path;
	struct smtp_mail_params mail;
	struct smtp_rcpt_params rcpt;
	/* BDAT (RFC 3030 2) */
	uint64_t chunk_size;
	bool last;
	/* AUTH (RFC 4954 4): mechanism, initial response (NULL when absent) */
	const char *mech;
	const char *initial_response;
	size_t initial_response_len;
};

/* The reply for a line the parser refuses. */
struct smtp_parse_error {
	unsigned int code;          /* 500, 501, 555 */
	const char *enhanced;       /* "5.5.2" */
	const char *text;           /* human text (static or arena) */
	/* the verb when it was recognised (SMTP_VERB_COUNT if not): lets the
	   session answer BDAT errors after reading the chunk */
	enum smtp_verb verb;
	uint64_t chunk_size;        /* BDAT with a valid size but bad rest */
	bool chunk_size_valid;
};

/* Parse one command line (without CRLF; may contain NULs). Returns 0 and
   fills *cmd_r, or -1 and fills *error_r. */
int smtp_command_parse(struct arena *arena, const unsigned char *line, size_t len,
		       struct smtp_command *cmd_r, struct smtp_parse_error *error_r);

/* RFC 3461 4: decode xtext ("+" HEXCHAR HEXCHAR for octets outside 33-126,
   '+' and '='). Lenient: lowercase hex accepted. Returns a NUL-terminated
   arena string, or NULL when malformed (a bad '+', a NUL, a char outside
   xchar). utf8: also allow UTF-8 (RFC 6533 utf-8-addr-xtext). */
const char *smtp_xtext_decode(struct arena *arena, const char *text, size_t len, bool utf8);
/* (Encoding is the client's: smtp_xtext_encode() in client.h.) */

/* Is s a dot-string local part (RFC 5321 4.1.2 Dot-string; UTF-8 atext
   allowed, RFC 6531)? */
bool smtp_is_dot_string(const char *s, size_t len);

#endif
