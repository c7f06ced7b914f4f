/*
 * The IMAP server object: the protocol's registration with the service
 * layer (listeners, limits, timeouts and shutdown are the service's), the
 * store job client, the wake-ups that carry store notifications to
 * sessions, and the refusal line for clients turned away at connect.
 */
#include "imap-common.h"
#include "job-pool.h"
#include "log.h"

#include <stdio.h>

static void imap_accept(void *ctx, enum tern_listen_kind kind, int fd,
			const struct sockaddr *peer, socklen_t peer_len);
static void imap_refuse_line(void *ctx, enum tern_listen_kind kind, const char *why,
			     char *line, size_t size);

static const struct service_protocol imap_protocol = {
	.name = "imap",
	.accept = imap_accept,
	.refuse_line = imap_refuse_line,
	.kick = imap_session_kick,
	.free = imap_session_free,
};

struct imap_server *imap_server_new(const struct tern_settings *set, struct net_loop *loop,
				    struct service *service)
{
	static const enum tern_listen_kind kinds[] = { TERN_LISTEN_IMAP, TERN_LISTEN_IMAPS };
	struct imap_server *server = i_malloc(sizeof(*server));

	server->set = set;
	server->loop = loop;
	server->service = service;
	service_register(service, &imap_protocol, server, kinds, N_ELEMENTS(kinds));
	return server;
}

void imap_server_start(struct imap_server *server, struct job_pool *store_pool,
		       struct accounts_pool *acc_pool, struct mail_store *store, SSL_CTX *tls,
		       const char *tmp_dir)
{
	server->store_jobs = job_client_new(store_pool, server->loop);
	server->acc_pool = acc_pool;
	server->store = store;
	server->tls = tls;
	server->tmp_dir = tmp_dir;
	server->wakeup = net_wakeup_new(server->loop);
}

/* RFC 9051 7.1.5: BYE at connect when the server will not serve */
static void imap_refuse_line(void *ctx, enum tern_listen_kind kind, const char *why,
			     char *line, size_t size)
{
	snprintf(line, size, "* BYE [UNAVAILABLE] %s, try again later", why);
}

static void imap_accept(void *ctx, enum tern_listen_kind kind, int fd,
			const struct sockaddr *peer, socklen_t peer_len)
{
	struct imap_server *server = ctx;

	if (server->store == NULL) {
		service_refuse(server->service, kind, fd, "Service not available");
		return;
	}
	if (kind == TERN_LISTEN_IMAPS && server->tls == NULL) {
		service_refuse(server->service, kind, fd, "TLS not available");
		return;
	}
	imap_session_create(server, kind, fd, peer, peer_len);
}

void imap_server_free(struct imap_server **serverp)
{
	struct imap_server *server = *serverp;

	if (server == NULL)
		return;
	/* sessions waiting for a job are freed by its done callback */
	job_client_free(&server->store_jobs);
	net_wakeup_free(&server->wakeup);
	i_free(server);
	*serverp = NULL;
}
