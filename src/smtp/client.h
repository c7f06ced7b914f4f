#ifndef TERN_SMTP_CLIENT_H
#define TERN_SMTP_CLIENT_H

#include "lib.h"
#include "tern-limits.h"

#include <sys/socket.h>

/*
 * The SMTP client (RFC 5321 section 4 from the client's side): one
 * connection to one server address, on a net_loop. It greets (EHLO, HELO
 * when EHLO is refused), upgrades with STARTTLS when offered (or required),
 * authenticates (AUTH PLAIN or LOGIN, RFC 4954) when given credentials, and
 * then runs mail transactions one after another on the same connection
 * (RSET between them), pipelined when the server offers PIPELINING (RFC
 * 2920). Each transaction reports one outcome per recipient: the RCPT reply
 * for a refused recipient, the end-of-data reply for the others.
 *
 * It knows nothing of queues, DNS or policy: the caller (src/outbound)
 * chooses addresses, decides what to do with SIZE/8BITMIME/SMTPUTF8 (it
 * reads the server's capabilities once the client is ready) and hands over
 * message bytes ready to send.
 */

struct arena;
struct net_loop;
typedef struct ssl_ctx_st SSL_CTX;

/* ---- replies ---------------------------------------------------------- */

/* SMTP_REPLY_MAX_LINE, SMTP_REPLY_MAX_LINES: tern-limits.h */

struct smtp_reply {
	unsigned int code;           /* 200..599 */
	/* RFC 3463 / RFC 2034 enhanced status code "x.y.z" from the first
	   line when present (its class matches the reply's), else NULL */
	const char *enhanced;
	/* The text of each line after "NNN-"/"NNN " (and after the enhanced
	   code on that line when it carried one); line_count >= 1 */
	const char *const *lines;
	unsigned int line_count;
	/* The reply as one line for logs and diagnostics:
	   "550 5.1.1 unknown user" (lines joined with a space) */
	const char *text;
};

struct smtp_reply_parser;

/* A line-fed parser of server replies (RFC 5321 4.2). Replies are
   allocated in arena (the caller clears it between replies as it likes). */
struct smtp_reply_parser *smtp_reply_parser_init(struct arena *arena);
void smtp_reply_parser_deinit(struct smtp_reply_parser **parser);
/* Feed one line (without its CRLF/LF; a trailing CR is ignored). Returns 1
   with *reply_r when the line completed a reply, 0 when more lines are
   needed, -1 with *error_r (static text) on a malformed line, a code that
   changes within a reply, a line longer than SMTP_REPLY_MAX_LINE or more
   than SMTP_REPLY_MAX_LINES lines. After -1 the parser starts afresh. */
int smtp_reply_parser_line(struct smtp_reply_parser *parser, const char *line, size_t len,
			   struct smtp_reply **reply_r, const char **error_r);

/* "x.y.z" syntax of RFC 3463 section 2 (class 2, 4 or 5; subject and
   detail 1-3 digits). len: bytes of s to check (the code must fill them). */
bool smtp_enhanced_code_valid(const char *s, size_t len);

/* ---- capabilities ----------------------------------------------------- */

enum smtp_client_caps {
	SMTP_CAP_ESMTP         = 1 << 0,  /* EHLO succeeded */
	SMTP_CAP_PIPELINING    = 1 << 1,
	SMTP_CAP_SIZE          = 1 << 2,
	SMTP_CAP_8BITMIME      = 1 << 3,
	SMTP_CAP_SMTPUTF8      = 1 << 4,
	SMTP_CAP_DSN           = 1 << 5,
	SMTP_CAP_STARTTLS      = 1 << 6,
	SMTP_CAP_AUTH          = 1 << 7,
	SMTP_CAP_ENHANCEDSTATUSCODES = 1 << 8,
	SMTP_CAP_AUTH_PLAIN    = 1 << 9,
	SMTP_CAP_AUTH_LOGIN    = 1 << 10,
};

/* Parse the EHLO reply's keyword lines (lines[1..]) into caps; the SIZE
   value (0: no limit announced) into *size_r. */
unsigned int smtp_client_parse_ehlo(const struct smtp_reply *reply, uint64_t *size_r);

/* ---- the client --------------------------------------------------------- */

enum smtp_client_tls {
	SMTP_CLIENT_TLS_NONE,          /* never STARTTLS */
	SMTP_CLIENT_TLS_OPPORTUNISTIC, /* when offered; a failed handshake fails this connection */
	SMTP_CLIENT_TLS_REQUIRED,      /* not offered: the connection fails (temporary) */
	SMTP_CLIENT_TLS_VERIFY,        /* required, and the certificate must verify for the name */
};

struct smtp_client_settings {
	const char *helo_name;        /* our host name for EHLO/HELO */
	const char *server_name;      /* the server's host name: SNI and verification */
	SSL_CTX *ssl_ctx;             /* client context (no verification enforced by it);
	                                 NULL = no TLS */
	enum smtp_client_tls tls;
	const char *auth_user;        /* NULL: no AUTH */
	const char *auth_password;
	/* RFC 5321 4.5.3.2 timeouts, seconds (0 = the RFC's value) */
	unsigned int connect_timeout;   /* default 30 (not in the RFC) */
	unsigned int greeting_timeout;  /* 4.5.3.2.1: 5 minutes */
	unsigned int command_timeout;   /* EHLO, MAIL (4.5.3.2.2), RCPT (4.5.3.2.3): 5 minutes */
	unsigned int data_timeout;      /* DATA initiation (4.5.3.2.4): 2 minutes */
	unsigned int block_timeout;     /* each data block sent (4.5.3.2.5): 3 minutes */
	unsigned int final_timeout;     /* end of data reply (4.5.3.2.6): 10 minutes */
};

/* The outcome classes of one recipient. */
enum smtp_client_rcpt_status {
	SMTP_RCPT_DELIVERED,   /* 2xx at end of data */
	SMTP_RCPT_DEFERRED,    /* 4xx, or the connection failed before the end-of-data reply */
	SMTP_RCPT_FAILED,      /* 5xx */
};

struct smtp_client_rcpt {
	const char *address;           /* without brackets */
	unsigned int notify;           /* enum queue_notify bits (RFC 3461 NOTIFY), 0 = none given */
	const char *orcpt;             /* "rfc822;addr" (decoded), or NULL */

	/* filled in by the client when the transaction ends */
	enum smtp_client_rcpt_status status;
	unsigned int reply_code;       /* 0 when no reply decided it (network) */
	char *status_code;             /* "2.0.0"/"5.1.1"...: enhanced code, or derived from reply_code */
	char *diagnostic;              /* "smtp; 550 5.1.1 no such user" or a local reason (malloc'd) */
};

struct smtp_client_txn {
	const char *sender;            /* "" for the null reverse path */
	uint64_t size;                 /* of data, announced with SIZE= when offered */
	bool body_8bit;                /* BODY=8BITMIME (only when offered; downgrade first otherwise) */
	bool smtputf8;                 /* SMTPUTF8 (only when offered) */
	unsigned int ret;              /* enum queue_ret: 0 none, 1 FULL, 2 HDRS (with DSN) */
	const char *envid;             /* ENVID (with DSN), or NULL */
	struct smtp_client_rcpt *rcpts;
	unsigned int rcpt_count;
	/* The message exactly as to be sent, LF or CRLF line ends: the client
	   writes CRLF and dot-stuffs (RFC 5321 4.5.2). Not copied: must stay
	   valid until the transaction's callback. */
	const unsigned char *data;
	size_t data_size;

	/* set by the client: the connection was found dead before the server
	   answered anything of this transaction (a reused connection the
	   server had closed): nothing was decided, try it on another */
	bool retry_elsewhere;
};

struct smtp_client;

/* The connection is ready for transactions (error == NULL), or it failed
   before that (error: "connect to 192.0.2.1:25: Connection refused",
   reply: the server's reply when one caused it, e.g. a 554 greeting).
   After a failure, the only call allowed is smtp_client_free(). */
typedef void smtp_client_ready_cb(struct smtp_client *client, void *ctx,
				  const char *error, const struct smtp_reply *reply);
/* A transaction ended: every rcpt has status, status_code and diagnostic.
   connection_ok: the client may take another transaction (else free it). */
typedef void smtp_client_txn_cb(struct smtp_client *client, void *ctx,
				struct smtp_client_txn *txn, bool connection_ok);

/* Connect to addr. set is copied (the strings and ssl_ctx must outlive the
   client). The ready callback follows (never from inside this call). */
struct smtp_client *smtp_client_connect(struct net_loop *loop, const struct sockaddr *addr,
					socklen_t addr_len, const struct smtp_client_settings *set,
					smtp_client_ready_cb *ready, void *ctx);
/* Close at once (no QUIT); no callback follows. NULL-safe. */
void smtp_client_free(struct smtp_client **client);
/* Send QUIT, then close in the background; no callback follows. */
void smtp_client_quit(struct smtp_client **client);

/* Run one transaction on a ready, idle client. The callback follows (never
   from inside this call). The txn's rcpts get their outcome fields (free
   them with smtp_client_txn_clear_results()). */
void smtp_client_send(struct smtp_client *client, struct smtp_client_txn *txn,
		      smtp_client_txn_cb *cb, void *ctx);
void smtp_client_txn_clear_results(struct smtp_client_txn *txn);

/* Ready and idle, the connection still up (a reused connection may have
   been closed by the server while idle). */
bool smtp_client_usable(const struct smtp_client *client);

/* Capabilities of the ready client (enum smtp_client_caps), the SIZE the
   server announced (0 = none), TLS state. */
unsigned int smtp_client_caps(const struct smtp_client *client);
uint64_t smtp_client_max_size(const struct smtp_client *client);
bool smtp_client_tls_used(const struct smtp_client *client);
bool smtp_client_tls_verified(const struct smtp_client *client);
/* "192.0.2.1:25" / "[2001:db8::1]:25" */
const char *smtp_client_peer(const struct smtp_client *client);
/* Transactions completed on this connection. */
unsigned int smtp_client_txn_count(const struct smtp_client *client);

/* RFC 3461 4 xtext encoding (ENVID, ORCPT) appended to out (malloc'd result). */
char *smtp_xtext_encode(const char *s);

#endif
