/*
 * The POP3 server object: the protocol's registration with the service
 * layer (which owns listeners, limits, timeouts and shutdown), its job
 * client for mailbox work, and the refusal line for clients turned away
 * at connect.
 */
#include "pop3-private.h"
#include "job-pool.h"

#include <stdio.h>

static void pop3_accept(void *ctx, enum tern_listen_kind kind, int fd,
			const struct sockaddr *peer, socklen_t peer_len);
static void pop3_refuse_line(void *ctx, enum tern_listen_kind kind, const char *why,
			     char *line, size_t size);

static const struct service_protocol pop3_protocol = {
	.name = "pop3",
	.accept = pop3_accept,
	.refuse_line = pop3_refuse_line,
	.kick = pop3_session_kick,
	.free = pop3_session_free,
};

struct pop3_server *pop3_server_new(const struct tern_settings *set, struct net_loop *loop,
				    struct service *service)
{
	static const enum tern_listen_kind kinds[] = { TERN_LISTEN_POP3, TERN_LISTEN_POP3S };
	struct pop3_server *server = i_malloc(sizeof(*server));

	server->set = set;
	server->loop = loop;
	server->service = service;
	service_register(service, &pop3_protocol, server, kinds, N_ELEMENTS(kinds));
	return server;
}

void pop3_server_start(struct pop3_server *server, struct job_pool *store_pool,
		       struct accounts_pool *acc_pool, struct mail_store *store, SSL_CTX *tls)
{
	server->store_jobs = job_client_new(store_pool, server->loop);
	server->acc_pool = acc_pool;
	server->store = store;
	server->tls = tls;
}

/* RFC 2449 8.1.2 / RFC 3206 4: a refusal that may work later */
static void pop3_refuse_line(void *ctx, enum tern_listen_kind kind, const char *why,
			     char *line, size_t size)
{
	snprintf(line, size, "-ERR [SYS/TEMP] %s, try again later", why);
}

static void pop3_accept(void *ctx, enum tern_listen_kind kind, int fd,
			const struct sockaddr *peer, socklen_t peer_len)
{
	struct pop3_server *server = ctx;

	if (server->store_jobs == NULL) {
		service_refuse(server->service, kind, fd, "Service not available");
		return;
	}
	if (kind == TERN_LISTEN_POP3S && server->tls == NULL) {
		service_refuse(server->service, kind, fd, "TLS not available");
		return;
	}
	pop3_session_create(server, kind, fd, peer, peer_len);
}

void pop3_server_free(struct pop3_server **serverp)
{
	struct pop3_server *server = *serverp;

	if (server == NULL)
		return;
	/* sessions waiting for a job are freed by its done callback; a
	   dropped session's last store work finishes here */
	job_client_free(&server->store_jobs);
	i_free(server);
	*serverp = NULL;
}
