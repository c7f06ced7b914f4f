#ifndef TERN_SMTP_SERVER_PRIVATE_H
#define TERN_SMTP_SERVER_PRIVATE_H

/*
 * Inside the SMTP server: the server, its sessions and their transactions,
 * shared by server.c, server-session.c and the server-cmd-*.c files (one
 * per command family).
 */
#include "smtp-server.h"
#include "smtp-command.h"
#include "smtp-data.h"
#include "uid.h"
#include "queue.h"
#include "msgauth.h"
#include "service.h"
#include "tern-limits.h"

#include <time.h>

struct net_conn;
struct job_client;
struct accounts_pool;
struct sasl_server;
struct event;
struct arena;
struct msgauth_context;
struct msgauth_inbound;

/* SMTP_OUTPUT_MAX: tern-limits.h */

struct smtp_server {
	const struct tern_settings *set;
	struct net_loop *loop;
	struct service *service;
	struct job_client *commit_jobs;   /* queue commits (fsync): their own pool */
	struct job_client *lookup_jobs;   /* accounts.db lookups (RCPT, MAIL, VRFY) */
	struct accounts_pool *acc_pool;
	struct queue *queue;
	SSL_CTX *tls;

	smtp_committed_cb *committed;
	void *committed_ctx;

	/* sender authentication (server-msgauth.c); NULL: off */
	const struct msgauth_context *msgauth;
	struct dns_resolver *dns;       /* on the server's loop */
	struct msgauth_dns mdns;
};

struct smtp_transaction {
	struct arena *arena;
	const char *from;               /* reverse path ("" = null sender) */
	struct smtp_mail_params params;

	struct queue_rcpt *rcpts;       /* one per final target, deduplicated */
	unsigned int rcpt_count, rcpt_alloc;
	unsigned int rcpt_cmds;         /* RCPT commands accepted */
	const char *first_rcpt;         /* as given, for "for <...>" */

	/* message data (DATA or BDAT) */
	bool data_started;
	bool bdat;                      /* BDAT was used: DATA is refused */
	struct queue_writer *writer;
	struct smtp_data_reader reader;
	buf_t out;
	uint64_t limit;                 /* message_size */
	bool too_big;
	const char *write_error;        /* the first write failure */
	char id[UID_MAX_LEN];

	/* sender authentication (server-msgauth.c) */
	bool local_origin;              /* authenticated or relay.networks: ours */
	struct msgauth_inbound *auth;   /* the checks; the message passes through them */
	buf_t auth_out;
	const char *auth_results;       /* for the envelope */
	bool quarantine;

	/* the commit job */
	struct queue_envelope env;
	const char *commit_error;       /* malloc'd in the job */
	bool committed;
};

struct smtp_session {
	struct service_session base;    /* id, ip, kind, limits (service.h); first */
	struct smtp_server *server;
	struct net_conn *conn;
	enum tern_listen_kind kind;
	char *helo;
	char *auth_user;

	bool esmtp;                     /* EHLO (not HELO) */
	bool tls;
	bool job_running;               /* a job holds this session (input paused) */
	bool auth_running;              /* a login check (and its delay) is running */
	bool output_paused;             /* too much unread output */
	bool disconnect;                /* close after the output is sent */
	bool closing_down;              /* server shutdown: close when idle */
	bool in_input;                  /* inside a connection callback */
	bool checking;                  /* waiting for the sender-authentication verdict */
	const char *disconnect_reason;  /* static text for the log */
	unsigned int bad_commands;      /* error replies in a row */
	unsigned int auth_failures;
	unsigned int messages;

	struct smtp_transaction *trans;
	struct sasl_server *sasl;       /* an AUTH exchange in progress */

	/* DATA / BDAT input */
	bool in_data;                   /* raw mode: DATA text */
	bool in_bdat;                   /* raw mode: a BDAT chunk */
	bool bdat_last;
	bool bdat_discard;              /* read the chunk, then answer with the saved error */
	uint64_t bdat_remaining;
	uint64_t bdat_size;
	unsigned int bdat_error_code;
	const char *bdat_error_enhanced, *bdat_error_text;
};

/* server-session.c */
void smtp_session_create(struct smtp_server *server, enum tern_listen_kind kind, int fd,
			 const struct sockaddr *peer, socklen_t peer_len);
/* Close now (no more output). Frees at once, or when its job is done. */
void smtp_session_destroy(struct smtp_session *session, const char *reason);
/* service_protocol callbacks */
void smtp_session_kick(struct service_session *base, enum service_kick_reason reason);
void smtp_session_free(struct service_session *base);
/* Write one reply line: "code enhanced text". Counts errors in a row. */
void smtp_reply(struct smtp_session *session, unsigned int code, const char *enhanced,
		const char *fmt, ...) ATTR_FORMAT(4, 5);
/* A multi-line reply: every line but the last gets "code-". */
void smtp_reply_lines(struct smtp_session *session, unsigned int code,
		      const char *const *lines, unsigned int count);
/* Reply 421 and close after it is sent. */
void smtp_session_disconnect(struct smtp_session *session, const char *enhanced,
			     const char *text, const char *reason);
/* Close now if a reply asked for it (outside input callbacks: job done,
   timers). Returns false when the session is gone. */
bool smtp_session_check_disconnect(struct smtp_session *session);
/* Re-evaluate whether input should flow (jobs, delays, output). */
void smtp_session_update_input(struct smtp_session *session);
/* Submit run/done to jobs with the session held and its input paused. */
void smtp_session_job(struct smtp_session *session, struct job_client *jobs,
		      void (*run)(void *ctx), void (*done)(void *ctx), void *ctx);
void smtp_session_job_begin(struct smtp_session *session);
/* Returns false when the session was freed (the client went away). */
bool smtp_session_job_end(struct smtp_session *session);
/* Is AUTH possible on this connection (TLS, or loopback if allowed)? */
bool smtp_session_secure(const struct smtp_session *session);
/* Authenticated, or a client in relay.networks: may relay, VRFY, EXPN. */
bool smtp_session_trusted(const struct smtp_session *session);
void smtp_transaction_free(struct smtp_transaction **trans);
void smtp_session_reset(struct smtp_session *session);
/* After a reply that ends a transaction: a stopping server closes now. */
void smtp_session_idle_check(struct smtp_session *session);

/* server-cmd-mail.c */
void smtp_cmd_mail(struct smtp_session *session, struct smtp_command *cmd);
void smtp_cmd_rcpt(struct smtp_session *session, struct smtp_command *cmd);
/* server-cmd-vrfy.c: VRFY and EXPN (RFC 5321 3.5) */
void smtp_cmd_vrfy(struct smtp_session *session, struct smtp_command *cmd);

/* server-cmd-data.c */
void smtp_cmd_data(struct smtp_session *session, struct smtp_command *cmd);
void smtp_cmd_bdat(struct smtp_session *session, struct smtp_command *cmd);
/* A BDAT line the parser refused but whose size is known: read the chunk,
   then answer with the error. */
void smtp_bdat_discard(struct smtp_session *session, uint64_t size, unsigned int code,
		       const char *enhanced, const char *text);
size_t smtp_session_raw_input(struct smtp_session *session, const unsigned char *data,
			      size_t len);
/* The connection went away mid-message: throw it away. */
void smtp_data_abort(struct smtp_session *session);

/* Commit the message (after the checks): the envelope, then the queue
   commit in the job pool; the reply follows. */
void smtp_data_commit(struct smtp_session *session);
/* A transaction ended with a reply: reset, and close if the server stops. */
void smtp_data_transaction_over(struct smtp_session *session);

/* server-msgauth.c */
/* The resolver on the server's loop (when msgauth is set). */
int smtp_msgauth_start(struct smtp_server *server, const char **error_r);
void smtp_msgauth_stop(struct smtp_server *server);
/* MAIL was accepted: start the checks of the new transaction. */
void smtp_msgauth_mail(struct smtp_session *session);
/* Message bytes on their way to the queue: replaced by what is to be
   written (the header is held back until whole). -1 on failure. */
int smtp_msgauth_filter(struct smtp_transaction *trans, const unsigned char **data,
			size_t *len);
/* The end of data: false when there are no checks (commit now); true when
   the verdict will come (then smtp_data_commit, or the rejection). */
bool smtp_msgauth_finish(struct smtp_session *session);
/* In the commit job (a pool thread): the DKIM signatures of a message of
   local origin, into trans->env. */
void smtp_msgauth_sign(struct smtp_transaction *trans);
/* RCPT to an SRS address of ours: 1 with the original address in
   *orig_r, 0 when it is no SRS address, -1 after replying with an error. */
int smtp_msgauth_rcpt_srs(struct smtp_session *session, const char *address,
			  const char *domain, const char *local_part, const char **orig_r);

/* server-cmd-auth.c */
void smtp_cmd_auth(struct smtp_session *session, struct smtp_command *cmd);
void smtp_auth_continue(struct smtp_session *session, const char *line, size_t len);
void smtp_auth_cancel(struct smtp_session *session);

#endif
