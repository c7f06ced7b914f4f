#ifndef TERN_SMTP_SERVER_H
#define TERN_SMTP_SERVER_H

#include "lib.h"
#include "settings.h"

/*
 * The SMTP server (RFC 5321) of `tern serve`: the smtp (port 25),
 * submission (587, STARTTLS) and submissions (465, implicit TLS)
 * listeners on one event loop, their sessions, and the policy between
 * them and the queue. docs/smtp.md describes what clients see.
 *
 * Blocking work (queue commits, password checks) runs in the job pool;
 * a message is answered 250 only after queue_commit() has made it durable.
 */
struct net_loop;
struct job_pool;
struct queue;
struct smtp_server;
typedef struct ssl_ctx_st SSL_CTX;

/* Called on the loop thread after each message is committed. */
typedef void smtp_committed_cb(void *ctx, const char *queue_id);

/* set and loop must outlive the server. Nothing is opened yet: bind the
   listeners (as root, for ports below 1024), drop privileges, then
   smtp_server_start(), so that every file is made by the server's user
   and no thread exists before the drop. */
struct smtp_server *smtp_server_new(const struct tern_settings *set, struct net_loop *loop);
/* Open the accounts and take the job pool, the queue and the TLS context
   (tls NULL: no STARTTLS, and submissions connections are refused); all
   must outlive the server. Call before the loop runs. 0, or -1 with
   *error_r. */
int smtp_server_start(struct smtp_server *server, struct job_pool *pool, struct queue *queue,
		      SSL_CTX *tls, const char **error_r);
void smtp_server_set_committed_callback(struct smtp_server *server, smtp_committed_cb *cb,
					void *ctx);
/* Check incoming mail (SPF, DKIM, ARC, DMARC) and drop forged
   Authentication-Results (src/msgauth); ctx must outlive the server.
   Call before smtp_server_start(). */
struct msgauth_context;
void smtp_server_set_msgauth(struct smtp_server *server, const struct msgauth_context *ctx);

/* Bind one listener of kind TERN_LISTEN_SMTP, _SUBMISSION or _SUBMISSIONS.
   Returns 0, or -1 with *error_r. */
int smtp_server_listen(struct smtp_server *server, enum tern_listen_kind kind,
		       const struct tern_hostport *addr, const char **error_r);
/* Open every smtp/submission/submissions listener of the settings. */
int smtp_server_listen_all(struct smtp_server *server, const char **error_r);

/* Graceful stop, step 1: close the listeners, say 421 to idle sessions and
   close them; busy ones finish their transaction (the reply to DATA is
   sent) and then close. */
void smtp_server_shutdown(struct smtp_server *server);
/* Sessions still open (and jobs still running for them). */
unsigned int smtp_server_session_count(const struct smtp_server *server);
/* Close everything still open (waits for running jobs) and free. */
void smtp_server_free(struct smtp_server **server);

#endif
