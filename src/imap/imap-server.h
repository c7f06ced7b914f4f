#ifndef TERN_IMAP_SERVER_H
#define TERN_IMAP_SERVER_H

#include "lib.h"
#include "settings.h"

/*
 * The IMAP server (RFC 9051 IMAP4rev2 and RFC 3501 IMAP4rev1) of `tern
 * serve`: the imap (143, STARTTLS) and imaps (993) protocol on the service
 * layer (src/net/service.h), over the mailbox store (src/store/mailbox.h).
 * docs/imap.md describes what clients see.
 *
 * Mailbox work runs in the store job pool, never on the loop; logins go
 * through service_auth() (the auth pool, the failed-login throttle).
 */
struct net_loop;
struct job_pool;
struct service;
struct accounts_pool;
struct mail_store;
struct imap_server;
typedef struct ssl_ctx_st SSL_CTX;

/* set, loop and service must outlive the server. Registers the imap and
   imaps kinds with the service. */
struct imap_server *imap_server_new(const struct tern_settings *set, struct net_loop *loop,
				    struct service *service);
/* After the privilege drop: the store job pool, the accounts pool (logins),
   the mail store, the TLS context (NULL: no STARTTLS, imaps refused) and a
   directory for APPEND literals (unnamed O_TMPFILE files); all must
   outlive the server. */
void imap_server_start(struct imap_server *server, struct job_pool *store_pool,
		       struct accounts_pool *acc_pool, struct mail_store *store, SSL_CTX *tls,
		       const char *tmp_dir);
/* Wait for the server's jobs and free. Call after service_close_all() and
   before service_free(). */
void imap_server_free(struct imap_server **server);

#endif
