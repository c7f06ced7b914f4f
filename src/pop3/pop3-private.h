#ifndef TERN_POP3_PRIVATE_H
#define TERN_POP3_PRIVATE_H

/*
 * Inside the POP3 server: the server, its sessions and their maildrops,
 * shared by pop3-server.c, pop3-session.c, the cmd-*.c files (one per
 * command family) and pop3-mail.c (the only file that calls the mailbox
 * store).
 */
#include "pop3-server.h"
#include "pop3-command.h"
#include "pop3-stuff.h"
#include "buf.h"
#include "service.h"
#include "tern-limits.h"

struct net_conn;
struct job_client;
struct sasl_server;
struct mail_user;
struct mailbox_view;

/* POP3_OUTPUT_MAX, POP3_RETR_CHUNK, POP3_MAX_MESSAGES, POP3_PREFETCH_*:
   tern-limits.h */

struct pop3_server {
	const struct tern_settings *set;
	struct net_loop *loop;
	struct service *service;
	struct job_client *store_jobs;    /* mailbox work (pop3-mail.c) */
	struct accounts_pool *acc_pool;
	struct mail_store *store;
	SSL_CTX *tls;
};

/* RFC 1939 3: the states of a session */
enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE,          /* after QUIT in TRANSACTION: applying deletions */
};

/* One message of the maildrop, as it was at login (RFC 1939 8: message
   numbers and sizes do not change during the session). */
#define POP3_MSG_DELETED   0x01    /* DELE'd (RSET undoes it) */
#define POP3_MSG_RETRIEVED 0x02    /* RETR'd: gets \Seen when the session ends */
#define POP3_GUID_BYTES    16      /* the store's GUID, 32 hex digits (UIDL) */
struct pop3_msg {
	uint64_t size;              /* octets of the CRLF form: LIST, STAT, RETR */
	uint32_t uid;
	uint8_t flags;
	unsigned char guid[POP3_GUID_BYTES];
};

/* A RETR or TOP being streamed: bytes are read and stuffed in a store
   job a chunk at a time, written on the loop, and the next chunk is
   asked for once the output has drained. */
struct pop3_retr_mail;
struct pop3_retr {
	uint32_t index;             /* into msgs */
	bool top;
	bool started;               /* the +OK line is out */
	bool finished;              /* the terminating ".\r\n" is in out */
	bool failed;                /* the job could not read the message */
	/* pop3-mail.c's state between chunks (the open message file);
	   NULL before the first chunk and after the last */
	struct pop3_retr_mail *mail;
	uint64_t size;              /* the message's CRLF-form size (LIST) */
	uint64_t offset_sent;       /* stuffed bytes written so far */
	struct pop3_stuff stuff;
	buf_t out;                  /* the chunk the job made */
	const char *client_error;   /* static text for "-ERR" when failed */
	char *error;                /* malloc'd, for the log */
};

struct pop3_session {
	struct service_session base;    /* id, ip, kind, limits (service.h); first */
	struct pop3_server *server;
	struct net_conn *conn;
	enum pop3_state state;
	/* RFC 1939 7 APOP: the greeting's msg-id "<...>", the digest's salt */
	char *timestamp;
	char *user;                     /* USER's name, until PASS */
	char *auth_user;                /* logged in (lowercased) */

	bool tls;
	bool job_running;               /* a store job holds this session (input paused) */
	bool auth_running;              /* a login check (and its delay) is running */
	bool output_paused;             /* too much unread output */
	bool disconnect;                /* close after the output is sent */
	bool closing_down;              /* server shutdown: close when idle */
	bool in_input;                  /* inside a connection callback */
	const char *disconnect_reason;  /* static text for the log */
	unsigned int bad_commands;      /* -ERR replies in a row */
	struct sasl_server *sasl;       /* an AUTH exchange in progress */

	/* TRANSACTION state: the maildrop as it was at login */
	struct mail_user *mail_user;
	struct mailbox_view *view;
	struct pop3_msg *msgs;
	uint32_t count;
	uint32_t deleted_count;
	uint64_t total_size;            /* of every message, deleted ones included */
	uint64_t deleted_size;
	uint32_t retrieved;             /* messages RETR'd (for the log) */
	struct pop3_retr *retr;         /* a RETR or TOP being streamed */
	/* read-ahead (cmd-retr.c): the messages after the last one
	   retrieved, read while the client is busy with that one, so a client
	   going through the maildrop in order gets each RETR answered at once */
	struct pop3_retr *ahead[POP3_PREFETCH_COUNT];
	unsigned int ahead_count;
	size_t ahead_bytes;             /* stuffed bytes held in ahead[] */
	uint32_t ahead_next;            /* the index after the last one read ahead */
	bool prefetch_running;          /* a read-ahead job holds the session */
	char *deferred;                 /* a command that needs the store, waiting for it */
	/* a LIST or UIDL listing being written, POP3_OUTPUT_MAX at a time */
	bool listing;
	bool listing_uidl;
	uint32_t listing_next;          /* index into msgs */
	/* the end of the session: what pop3-mail.c reports */
	unsigned int expunged;          /* messages the UPDATE state removed */
	char *update_error;             /* malloc'd: why the UPDATE failed */
};

/* pop3-session.c */
void pop3_session_create(struct pop3_server *server, enum tern_listen_kind kind, int fd,
			 const struct sockaddr *peer, socklen_t peer_len);
/* Close now (queued output is sent when disconnect was set). Frees at
   once, or when the last job holding it is done. */
void pop3_session_destroy(struct pop3_session *session, const char *reason);
/* service_protocol callbacks */
void pop3_session_kick(struct service_session *base, enum service_kick_reason reason);
void pop3_session_free(struct service_session *base);
/* "+OK text" */
void pop3_ok(struct pop3_session *session, const char *fmt, ...) ATTR_FORMAT(2, 3);
/* "-ERR text" (text may start with a response code, "[IN-USE] ...").
   Counts towards limits.bad_commands, which closes the session. */
void pop3_err(struct pop3_session *session, const char *fmt, ...) ATTR_FORMAT(2, 3);
/* "-ERR text" that does not count as a bad command (a failed login,
   counted by the service's throttle instead). */
void pop3_err_nocount(struct pop3_session *session, const char *fmt, ...) ATTR_FORMAT(2, 3);
/* Raw output (multi-line responses). */
void pop3_write(struct pop3_session *session, const void *data, size_t len);
/* Reply "-ERR text" and close once it is sent. */
void pop3_session_disconnect(struct pop3_session *session, const char *text, const char *reason);
/* Close now if a reply asked for it (outside input callbacks: job done,
   timers). Returns false when the session is gone. */
bool pop3_session_check_disconnect(struct pop3_session *session);
/* Re-evaluate whether input should flow (jobs, logins, output). */
void pop3_session_update_input(struct pop3_session *session);
/* Submit run/done to the store jobs with the session held and its input
   paused; done must call pop3_session_job_end() first. */
void pop3_session_job(struct pop3_session *session, void (*run)(void *ctx),
		      void (*done)(void *ctx), void *ctx);
/* Returns false when the session was freed meanwhile (the client went
   away): done must not touch it then. */
bool pop3_session_job_end(struct pop3_session *session);
/* Is plaintext login (USER/PASS, AUTH) allowed: TLS, or loopback? */
bool pop3_session_secure(const struct pop3_session *session);
/* After a command finished: a stopping server closes an idle session. */
void pop3_session_idle_check(struct pop3_session *session);
/* The message a command names: NULL (and -ERR sent) when the number is
   out of range or the message is deleted (RFC 1939 5). */
struct pop3_msg *pop3_session_msg(struct pop3_session *session, uint32_t msg);

/* cmd-auth.c: the AUTHORIZATION state (RFC 1939 4, 7; RFC 5034) */
void pop3_cmd_user(struct pop3_session *session, const struct pop3_command *cmd);
void pop3_cmd_pass(struct pop3_session *session, const struct pop3_command *cmd);
void pop3_cmd_apop(struct pop3_session *session, const struct pop3_command *cmd);
void pop3_cmd_auth(struct pop3_session *session, const struct pop3_command *cmd);
/* A line while an AUTH exchange waits for the client. */
void pop3_auth_continue(struct pop3_session *session, const char *line, size_t len);
void pop3_auth_cancel(struct pop3_session *session);

/* cmd-list.c: STAT, LIST, UIDL, DELE, RSET, NOOP (RFC 1939 5, 7): the
   maildrop listing in memory, no store call */
void pop3_cmd_stat(struct pop3_session *session);
void pop3_cmd_list(struct pop3_session *session, const struct pop3_command *cmd, bool uidl);
void pop3_cmd_dele(struct pop3_session *session, const struct pop3_command *cmd);
void pop3_cmd_rset(struct pop3_session *session);
/* The output drained: write more of a LIST/UIDL listing. */
void pop3_list_drained(struct pop3_session *session);

/* cmd-retr.c: RETR and TOP (RFC 1939 5, 7) */
void pop3_cmd_retr(struct pop3_session *session, const struct pop3_command *cmd);
/* The output drained: send the next chunk of a RETR/TOP in progress. */
void pop3_retr_drained(struct pop3_session *session);
void pop3_retr_free(struct pop3_retr **retr);
/* Does this command need the store while a read-ahead job uses it (a view
   is used by one thread at a time)? Then the session keeps the line and
   runs it when the read-ahead is done. */
bool pop3_retr_must_wait(struct pop3_session *session, const struct pop3_command *cmd);

/* pop3-session.c: run a command line (the deferred one, from a job's end) */
void pop3_session_run_deferred(struct pop3_session *session);

/* pop3-mail.c: every store call, each in a store job */
/* After a successful login: lock, open the INBOX, list it; then reply
   and enter TRANSACTION (or reply -ERR and stay in AUTHORIZATION). */
void pop3_mail_login(struct pop3_session *session, const char *user);
/* Job functions of cmd-retr.c: open the message (first chunk), read and
   stuff the next chunk into retr->out. */
void pop3_mail_retr_run(struct pop3_session *session, struct pop3_retr *retr);
/* The read-ahead's job: messages of at most one chunk each, ascending,
   opened together; each ends finished or failed, its file closed. */
void pop3_mail_retr_many(struct pop3_session *session, struct pop3_retr *const *retrs,
			 unsigned int count);
/* QUIT in TRANSACTION (RFC 1939 6): the UPDATE state, then "+OK" or
   "-ERR" and close. */
void pop3_mail_update(struct pop3_session *session);
/* The connection went away without QUIT: \Seen for what was retrieved,
   nothing deleted (RFC 1939 6), the view closed. Runs after the session
   left the loop's hands (in pop3_session_free) and frees what it owns. */
void pop3_mail_abandon(struct pop3_session *session);

#endif
