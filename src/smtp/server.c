/*
 * The SMTP server object: the protocol's registration with the service
 * layer (which owns listeners, limits, timeouts and shutdown), its job
 * pools, and the refusal line for clients turned away at connect.
 */
#include "server-private.h"
#include "job-pool.h"
#include "log.h"

#include <stdio.h>
#include <unistd.h>

static void smtp_accept(void *ctx, enum tern_listen_kind kind, int fd,
			const struct sockaddr *peer, socklen_t peer_len);
static void smtp_refuse_line(void *ctx, enum tern_listen_kind kind, const char *why,
			     char *line, size_t size);

static const struct service_protocol smtp_protocol = {
	.name = "smtp",
	.accept = smtp_accept,
	.refuse_line = smtp_refuse_line,
	.kick = smtp_session_kick,
	.free = smtp_session_free,
};

struct smtp_server *smtp_server_new(const struct tern_settings *set, struct net_loop *loop,
				    struct service *service)
{
	static const enum tern_listen_kind kinds[] = {
		TERN_LISTEN_SMTP, TERN_LISTEN_SUBMISSION, TERN_LISTEN_SUBMISSIONS
	};
	struct smtp_server *server = i_malloc(sizeof(*server));

	server->set = set;
	server->loop = loop;
	server->service = service;
	service_register(service, &smtp_protocol, server, kinds, N_ELEMENTS(kinds));
	return server;
}

int smtp_server_start(struct smtp_server *server, struct job_pool *commit_pool,
		      struct job_pool *lookup_pool, struct accounts_pool *acc_pool,
		      struct queue *queue, SSL_CTX *tls, const char **error_r)
{
	server->commit_jobs = job_client_new(commit_pool, server->loop);
	server->lookup_jobs = job_client_new(lookup_pool, server->loop);
	server->acc_pool = acc_pool;
	server->queue = queue;
	server->tls = tls;
	return smtp_msgauth_start(server, error_r);
}

void smtp_server_set_msgauth(struct smtp_server *server, const struct msgauth_context *ctx)
{
	server->msgauth = ctx;
}

void smtp_server_set_committed_callback(struct smtp_server *server, smtp_committed_cb *cb,
					void *ctx)
{
	server->committed = cb;
	server->committed_ctx = ctx;
}

/* RFC 5321 3.1 / 4.2: 421 when the service is not available */
static void smtp_refuse_line(void *ctx, enum tern_listen_kind kind, const char *why,
			     char *line, size_t size)
{
	struct smtp_server *server = ctx;

	snprintf(line, size, "421 4.7.0 %s %s, try again later", server->set->hostname, why);
}

static void smtp_accept(void *ctx, enum tern_listen_kind kind, int fd,
			const struct sockaddr *peer, socklen_t peer_len)
{
	struct smtp_server *server = ctx;

	if (server->queue == NULL) {
		service_refuse(server->service, kind, fd, "Service not available");
		return;
	}
	if (kind == TERN_LISTEN_SUBMISSIONS && server->tls == NULL) {
		service_refuse(server->service, kind, fd, "TLS not available");
		return;
	}
	smtp_session_create(server, kind, fd, peer, peer_len);
}

void smtp_server_free(struct smtp_server **serverp)
{
	struct smtp_server *server = *serverp;

	if (server == NULL)
		return;
	/* sessions waiting for a job are freed by its done callback */
	job_client_free(&server->commit_jobs);
	job_client_free(&server->lookup_jobs);
	smtp_msgauth_stop(server);
	i_free(server);
	*serverp = NULL;
}
