/*
 * The SMTP server object: listeners, connection limits (total and per
 * client address, checked at connect: 421 4.7.0), the total session time
 * limit, accounts handles, graceful shutdown.
 */
#include "server-private.h"
#include "accounts.h"
#include "job-pool.h"
#include "listener.h"
#include "connection.h"
#include "net-loop.h"
#include "log.h"

#include <event2/event.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define TICK_SECS 5

static void accept_cb(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len);
static void tick_cb(evutil_socket_t fd, short what, void *arg);
static void refuse(struct smtp_server *server, int fd, const char *ip, const char *why);

struct smtp_server *smtp_server_new(const struct tern_settings *set, struct net_loop *loop)
{
	struct smtp_server *server = i_malloc(sizeof(*server));
	struct timeval tv = { TICK_SECS, 0 };

	server->set = set;
	server->loop = loop;
	pthread_mutex_init(&server->acc_lock, NULL);
	server->tick = event_new(net_loop_base(loop), -1, EV_PERSIST, tick_cb, server);
	if (server->tick == NULL || event_add(server->tick, &tv) < 0)
		i_fatal("smtp: cannot add the timer event");
	return server;
}

int smtp_server_start(struct smtp_server *server, struct job_pool *pool, struct queue *queue,
		      SSL_CTX *tls, const char **error_r)
{
	const struct tern_settings *set = server->set;

	i_assert(server->acc == NULL);
	if (accounts_open(set->data_dir, set->domains, set->domains_count, &server->acc,
			  error_r) < 0)
		return -1;
	server->jobs = job_client_new(pool, server->loop);
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

struct accounts *smtp_server_acc_get(struct smtp_server *server)
{
	struct accounts *acc = NULL;
	const char *error;

	pthread_mutex_lock(&server->acc_lock);
	if (server->acc_spare_count > 0)
		acc = server->acc_spare[--server->acc_spare_count];
	pthread_mutex_unlock(&server->acc_lock);
	if (acc != NULL)
		return acc;
	if (accounts_open(server->set->data_dir, server->set->domains,
			  server->set->domains_count, &acc, &error) < 0) {
		log_error("smtp", "accounts open failed error=%s", log_str(error));
		return NULL;
	}
	return acc;
}

void smtp_server_acc_put(struct smtp_server *server, struct accounts *acc)
{
	pthread_mutex_lock(&server->acc_lock);
	if (server->acc_spare_count == server->acc_spare_alloc) {
		server->acc_spare_alloc = server->acc_spare_alloc == 0 ? 4 : server->acc_spare_alloc * 2;
		server->acc_spare = i_realloc(server->acc_spare,
					      i_size_mul(server->acc_spare_alloc, sizeof(acc)));
	}
	server->acc_spare[server->acc_spare_count++] = acc;
	pthread_mutex_unlock(&server->acc_lock);
}

int smtp_server_listen(struct smtp_server *server, enum tern_listen_kind kind,
		       const struct tern_hostport *addr, const char **error_r)
{
	struct smtp_listener *l;

	i_assert(kind == TERN_LISTEN_SMTP || kind == TERN_LISTEN_SUBMISSION ||
		 kind == TERN_LISTEN_SUBMISSIONS);
	l = i_malloc(sizeof(*l));
	l->server = server;
	l->kind = kind;
	l->listener = net_listener_open(server->loop, settings_listen_kind_name(kind),
					(const struct sockaddr *)&addr->addr, addr->addr_len,
					accept_cb, l, error_r);
	if (l->listener == NULL) {
		i_free(l);
		return -1;
	}
	l->next = server->listeners;
	server->listeners = l;
	log_info("smtp", "listening service=%s addr=%s", settings_listen_kind_name(kind),
		 log_str(addr->text));
	return 0;
}

int smtp_server_listen_all(struct smtp_server *server, const char **error_r)
{
	static const enum tern_listen_kind kinds[] = {
		TERN_LISTEN_SMTP, TERN_LISTEN_SUBMISSION, TERN_LISTEN_SUBMISSIONS
	};
	unsigned int i;
	size_t j;

	for (i = 0; i < N_ELEMENTS(kinds); i++) {
		for (j = 0; j < server->set->listen[kinds[i]].count; j++) {
			if (smtp_server_listen(server, kinds[i], &server->set->listen[kinds[i]].addrs[j],
					       error_r) < 0)
				return -1;
		}
	}
	return 0;
}

/* Say 421 straight to the socket (no session is made) and close it. */
static void refuse(struct smtp_server *server, int fd, const char *ip, const char *why)
{
	char text[512];
	int len;

	len = snprintf(text, sizeof(text), "421 4.7.0 %s %s, try again later\r\n",
		       server->set->hostname, why);
	if (len > 0)
		(void)send(fd, text, (size_t)I_MIN(len, (int)sizeof(text) - 1),
			   MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	log_info("smtp", "refused ip=%s reason=%s", ip, log_str(why));
}

static void accept_cb(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len)
{
	struct smtp_listener *l = ctx;
	struct smtp_server *server = l->server;
	const struct tern_limits *limits = &server->set->limits;
	const char *ip = net_ip_str(peer);
	struct smtp_session *s;
	unsigned int same_ip = 0;
	char ipbuf[64];

	snprintf(ipbuf, sizeof(ipbuf), "%s", ip);
	if (server->shutting_down || server->acc == NULL) {
		refuse(server, fd, ipbuf, "Service not available");
		return;
	}
	if (l->kind == TERN_LISTEN_SUBMISSIONS && server->tls == NULL) {
		refuse(server, fd, ipbuf, "TLS not available");
		return;
	}
	if (server->session_count >= limits->connections) {
		refuse(server, fd, ipbuf, "Too many connections");
		return;
	}
	for (s = server->sessions; s != NULL; s = s->next) {
		if (s->conn != NULL && strcmp(net_conn_peer_ip(s->conn), ipbuf) == 0)
			same_ip++;
	}
	if (same_ip >= limits->connections_per_ip) {
		refuse(server, fd, ipbuf, "Too many connections from your address");
		return;
	}
	smtp_session_create(server, l->kind, fd, peer, peer_len);
}

/* RFC 5321 4.5.3.2 bounds each command; session_timeout bounds the
   whole connection (slow drip-feeding clients). */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_server *server = arg;
	struct smtp_session *s, *next;
	time_t now = time(NULL);

	for (s = server->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->conn == NULL || s->job_running || s->disconnect)
			continue;
		if (now - s->started >= (time_t)server->set->limits.session_timeout)
			smtp_session_disconnect(s, "4.4.2", "Session time limit exceeded",
						"session-timeout");
	}
}

void smtp_server_shutdown(struct smtp_server *server)
{
	struct smtp_listener *l;
	struct smtp_session *s, *next;

	server->shutting_down = true;
	for (l = server->listeners; l != NULL; l = l->next)
		net_listener_close(&l->listener);
	for (s = server->sessions; s != NULL; s = next) {
		next = s->next;
		s->closing_down = true;
		smtp_session_idle_check(s);
	}
}

unsigned int smtp_server_session_count(const struct smtp_server *server)
{
	return server->session_count +
	       (server->jobs != NULL ? job_client_pending(server->jobs) : 0);
}

void smtp_server_session_gone(struct smtp_server *server, struct smtp_session *session)
{
	if (session->prev != NULL)
		session->prev->next = session->next;
	else
		server->sessions = session->next;
	if (session->next != NULL)
		session->next->prev = session->prev;
	server->session_count--;
}

void smtp_server_free(struct smtp_server **serverp)
{
	struct smtp_server *server = *serverp;
	struct smtp_listener *l;
	unsigned int i;

	if (server == NULL)
		return;
	while ((l = server->listeners) != NULL) {
		server->listeners = l->next;
		net_listener_close(&l->listener);
		i_free(l);
	}
	while (server->sessions != NULL)
		smtp_session_destroy(server->sessions, "shutdown");
	/* sessions waiting for a job are freed by its done callback */
	job_client_free(&server->jobs);
	smtp_msgauth_stop(server);
	event_free(server->tick);
	for (i = 0; i < server->acc_spare_count; i++)
		accounts_close(&server->acc_spare[i]);
	i_free(server->acc_spare);
	pthread_mutex_destroy(&server->acc_lock);
	accounts_close(&server->acc);
	i_free(server);
	*serverp = NULL;
}
