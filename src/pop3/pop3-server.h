#ifndef TERN_POP3_SERVER_H
#define TERN_POP3_SERVER_H

#include "lib.h"
#include "settings.h"

/*
 * The POP3 server (RFC 1939, with RFC 2449 CAPA and response codes, RFC
 * 2595 STLS, RFC 5034 AUTH, RFC 3206 SYS/AUTH codes) of `tern serve`: the
 * pop3 (110, STLS) and pop3s (995, implicit TLS) protocol on the service
 * layer (src/net/service.h), reading the user's INBOX through the mailbox
 * store (src/store/mailbox.h), the same one IMAP serves. docs/pop3.md
 * describes what clients see.
 *
 * Mailbox work runs in the store job pool, never on the loop; logins go
 * through service_auth() (the auth pool, the failed-login throttle).
 */
struct net_loop;
struct job_pool;
struct service;
struct accounts_pool;
struct mail_store;
struct pop3_server;
typedef struct ssl_ctx_st SSL_CTX;

/* set, loop and service must outlive the server. Registers the pop3 and
   pop3s kinds with the service. */
struct pop3_server *pop3_server_new(const struct tern_settings *set, struct net_loop *loop,
				    struct service *service);
/* After the privilege drop: the job pool for mailbox work, the accounts
   pool (APOP secrets), the mail store (NULL: logins succeed but get
   "-ERR [SYS/TEMP]") and the TLS context (NULL: no STLS, pop3s refused);
   all must outlive the server. */
void pop3_server_start(struct pop3_server *server, struct job_pool *store_pool,
		       struct accounts_pool *acc_pool, struct mail_store *store, SSL_CTX *tls);
/* Wait for the server's jobs and free. Call after service_close_all() and
   before service_free(). */
void pop3_server_free(struct pop3_server **server);

#endif
