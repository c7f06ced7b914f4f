#ifndef TERN_SMTP_SERVER_H
#define TERN_SMTP_SERVER_H

#include "lib.h"
#include "settings.h"

/*
 * The SMTP server (RFC 5321) of `tern serve`: the smtp (port 25),
 * submission (587, STARTTLS) and submissions (465, implicit TLS)
 * protocol on the service layer (src/net/service.h), which owns the
 * listeners, the connection limits, timeouts, shutdown and the login
 * throttle. docs/smtp.md describes what clients see.
 *
 * Blocking work runs in job pools, never on the loop: queue commits
 * (fsync) in their own pool, accounts lookups (RCPT, MAIL FROM ownership,
 * VRFY/EXPN) in another, password checks in the service's auth pool. A
 * message is answered 250 only after queue_commit() has made it durable.
 */
struct net_loop;
struct job_pool;
struct queue;
struct service;
struct accounts_pool;
struct smtp_server;
typedef struct ssl_ctx_st SSL_CTX;

/* Called on the loop thread after each message is committed. */
typedef void smtp_committed_cb(void *ctx, const char *queue_id);

/* set, loop and service must outlive the server. Registers the smtp,
   submission and submissions kinds with the service; nothing is opened
   yet (the service binds, privileges are dropped, then
   smtp_server_start()). */
struct smtp_server *smtp_server_new(const struct tern_settings *set, struct net_loop *loop,
				    struct service *service);
/* Take the job pools (commit: queue commits; lookup: accounts queries),
   the accounts handle pool, the queue and the TLS context (tls NULL: no
   STARTTLS, and submissions connections are refused); all must outlive
   the server. Starts the sender-authentication checks' resolver when
   smtp_server_set_msgauth() gave them. Call before the loop runs. 0, or -1
   with *error_r. */
int smtp_server_start(struct smtp_server *server, struct job_pool *commit_pool,
		      struct job_pool *lookup_pool, struct accounts_pool *acc_pool,
		      struct queue *queue, SSL_CTX *tls, const char **error_r);
void smtp_server_set_committed_callback(struct smtp_server *server, smtp_committed_cb *cb,
					void *ctx);
/* Check incoming mail (SPF, DKIM, ARC, DMARC) and drop forged
   Authentication-Results (src/msgauth); ctx must outlive the server.
   Call before smtp_server_start(). */
struct msgauth_context;
void smtp_server_set_msgauth(struct smtp_server *server, const struct msgauth_context *ctx);

/* Wait for the server's jobs (their done callbacks run, freeing sessions
   that went away) and free. Call after service_close_all() and before
   service_free(). */
void smtp_server_free(struct smtp_server **server);

#endif
