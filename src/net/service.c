/*
 * The service layer (service.h): listeners of every protocol, one session
 * list with the connection limits, stress mode, timeouts, graceful
 * shutdown, and the login check with its throttle and failure delay.
 * Runs on the main loop's thread; password checks go to the auth job pool.
 */
#include "service.h"
#include "auth-throttle.h"
#include "connection.h"
#include "job-pool.h"
#include "listener.h"
#include "log.h"
#include "net-loop.h"
#include "tern-limits.h"

#include <event2/event.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVICE_TICK_SECS 1
/* stress mode begins at this share of limits.connections and ends below
   the second (hysteresis, so it does not flap) */
#define STRESS_ON_PERCENT 80
#define STRESS_OFF_PERCENT 60
/* the longest growing pause before a failed login is answered */
#define AUTH_FAIL_DELAY_MAX_SECS 5
/* a refused (throttled) login is answered after this pause */
#define AUTH_REFUSE_DELAY_SECS 1

struct service_listener {
	struct service_listener *next;
	struct service *service;
	struct net_listener *listener;
	enum tern_listen_kind kind;
};

struct service {
	const struct tern_settings *set;
	struct net_loop *loop;
	struct {
		const struct service_protocol *proto;
		void *ctx;
	} kinds[TERN_LISTEN_COUNT];
	struct service_listener *listeners;
	struct service_session *sessions;   /* newest first */
	unsigned int session_count;         /* open connections */
	unsigned int held_count;            /* closed, waiting for their jobs */
	struct event *tick;
	struct job_client *auth_jobs;
	struct auth_throttle *throttle;
	struct service_auth *auths;         /* logins in progress */
	bool shutting_down;
	bool stress;
};

struct service_auth {
	struct service_auth *prev, *next;   /* in service->auths */
	struct service_session *session;
	char *user;
	service_verify_cb *verify;
	void (*free_ctx)(void *ctx);
	void *verify_ctx;
	service_auth_done_cb *done;
	void *done_ctx;
	struct event *timer;
	int result;                 /* verify(): 1, 0, -1 */
	enum service_auth_result final;
	bool disconnect;
	bool checked;               /* the job has run */
};

static void accept_cb(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len);
static void tick_cb(evutil_socket_t fd, short what, void *arg);
static void stress_update(struct service *service);
static void apply_timeout(struct service_session *session);
static void auth_timer_cb(evutil_socket_t fd, short what, void *arg);
static void auth_run(void *ctx);
static void auth_done(void *ctx);
static void auth_finish(struct service_auth *auth);

struct service *service_new(const struct tern_settings *set, struct net_loop *loop)
{
	struct service *service = i_malloc(sizeof(*service));
	struct timeval tv = { SERVICE_TICK_SECS, 0 };
	struct auth_throttle_settings ts = {
		.window = set->auth_throttle_window,
		.delay_after = set->auth_throttle_delay_after,
		.block_after = set->auth_throttle_block_after,
		.block_time = set->auth_throttle_block_time,
		.account_limit = set->auth_throttle_account_limit,
	};

	service->set = set;
	service->loop = loop;
	service->throttle = auth_throttle_new(&ts);
	service->tick = event_new(net_loop_base(loop), -1, EV_PERSIST, tick_cb, service);
	if (service->tick == NULL || event_add(service->tick, &tv) < 0)
		i_fatal("service: cannot add the timer event");
	return service;
}

void service_register(struct service *service, const struct service_protocol *proto,
		      void *ctx, const enum tern_listen_kind *kinds, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		i_assert(kinds[i] < TERN_LISTEN_COUNT);
		service->kinds[kinds[i]].proto = proto;
		service->kinds[kinds[i]].ctx = ctx;
	}
}

int service_listen_all(struct service *service, const char **error_r)
{
	const struct tern_settings *set = service->set;
	struct service_listener *l;
	unsigned int kind;
	size_t j;

	for (kind = 0; kind < TERN_LISTEN_COUNT; kind++) {
		if (set->listen[kind].count == 0)
			continue;
		if (service->kinds[kind].proto == NULL) {
			log_warning("service", "listener not served kind=%s addr=%s",
				    settings_listen_kind_name(kind),
				    log_str(set->listen[kind].addrs[0].text));
			continue;
		}
		for (j = 0; j < set->listen[kind].count; j++) {
			const struct tern_hostport *addr = &set->listen[kind].addrs[j];

			l = i_malloc(sizeof(*l));
			l->service = service;
			l->kind = kind;
			l->listener = net_listener_open(service->loop, settings_listen_kind_name(kind),
							(const struct sockaddr *)&addr->addr,
							addr->addr_len, accept_cb, l, error_r);
			if (l->listener == NULL) {
				i_free(l);
				return -1;
			}
			l->next = service->listeners;
			service->listeners = l;
			log_info(service->kinds[kind].proto->name, "listening service=%s addr=%s",
				 settings_listen_kind_name(kind), log_str(addr->text));
		}
	}
	return 0;
}

unsigned int service_listener_port(const struct service *service, enum tern_listen_kind kind)
{
	const struct service_listener *l;
	unsigned int port = 0;

	/* the list is newest first: the last match is the first bound */
	for (l = service->listeners; l != NULL; l = l->next) {
		if (l->kind == kind && l->listener != NULL)
			port = net_listener_port(l->listener);
	}
	return port;
}

void service_start(struct service *service, struct job_pool *auth_pool)
{
	i_assert(service->auth_jobs == NULL);
	service->auth_jobs = job_client_new(auth_pool, service->loop);
}

/* IPv4 whole, IPv6 per /64: the unit of the per-address limit (and of
   the throttle), since one IPv6 host usually has a whole /64. */
static bool same_client(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)(const void *)a)->sin_addr,
			      &((const struct sockaddr_in *)(const void *)b)->sin_addr, 4) == 0;
	if (b->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, 8) == 0;
	return false;
}

static bool is_trusted(const struct service *service, const struct sockaddr *peer)
{
	const struct tern_settings *set = service->set;
	size_t i;

	for (i = 0; i < set->relay_networks_count; i++) {
		if (settings_cidr_match(&set->relay_networks[i], peer))
			return true;
	}
	return false;
}

/* Write the protocol's refusal straight to the socket (no session is
   made: this must stay cheap under a flood) and close it. */
static void refuse(struct service *service, enum tern_listen_kind kind, int fd, const char *ip,
		   const char *why)
{
	const struct service_protocol *proto = service->kinds[kind].proto;
	char line[512];
	size_t len;

	proto->refuse_line(service->kinds[kind].ctx, kind, why, line, sizeof(line) - 2);
	len = strlen(line);
	memcpy(line + len, "\r\n", 2);
	(void)send(fd, line, len + 2, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	log_info(proto->name, "refused ip=%s service=%s reason=%s", ip,
		 settings_listen_kind_name(kind), log_str(why));
}

void service_refuse(struct service *service, enum tern_listen_kind kind, int fd,
		    const char *why)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	char ip[INET6_ADDRSTRLEN] = "unknown";

	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
		snprintf(ip, sizeof(ip), "%s", net_ip_str((struct sockaddr *)&peer));
	refuse(service, kind, fd, ip, why);
}

/* At the global limit: close the oldest session that is not engaged (and
   not already on its way out) to make room. Returns false if none. */
static bool make_room(struct service *service)
{
	struct service_session *s, *victim = NULL;

	for (s = service->sessions; s != NULL; s = s->next) {
		if (s->engaged || s->kicked || s->gone)
			continue;
		if (victim == NULL || s->started <= victim->started)
			victim = s;
	}
	if (victim == NULL)
		return false;
	log_info(victim->proto->name, "stress close session=%s ip=%s age=%lld", victim->id,
		 victim->ip, (long long)(time(NULL) - victim->started));
	victim->kicked = true;
	victim->proto->kick(victim, SERVICE_KICK_STRESS);
	return true;
}

static void accept_cb(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len)
{
	struct service_listener *l = ctx;
	struct service *service = l->service;
	const struct tern_limits *limits = &service->set->limits;
	struct service_session *s;
	unsigned int same = 0;
	char ip[INET6_ADDRSTRLEN];

	snprintf(ip, sizeof(ip), "%s", net_ip_str(peer));
	if (service->shutting_down) {
		refuse(service, l->kind, fd, ip, "Service not available");
		return;
	}
	if (!is_trusted(service, peer)) {
		for (s = service->sessions; s != NULL; s = s->next) {
			if (!s->gone && same_client(&s->peer, peer))
				same++;
		}
		if (same >= limits->connections_per_ip) {
			refuse(service, l->kind, fd, ip, "Too many connections from your address");
			return;
		}
	}
	if (service->session_count >= limits->connections) {
		/* kick() closes at once or after a last reply: either way the
		   count drops below the limit as soon as it is gone; admit this
		   client now rather than refuse it for an idle one */
		if (!make_room(service)) {
			refuse(service, l->kind, fd, ip, "Too many connections");
			return;
		}
	}
	service->kinds[l->kind].proto->accept(service->kinds[l->kind].ctx, l->kind, fd, peer,
					       peer_len);
	stress_update(service);
}

void service_session_init(struct service *service, struct service_session *session,
			  enum tern_listen_kind kind, const struct sockaddr *peer,
			  socklen_t peer_len)
{
	i_assert(service->kinds[kind].proto != NULL);
	session->service = service;
	session->proto = service->kinds[kind].proto;
	session->proto_ctx = service->kinds[kind].ctx;
	session->kind = kind;
	session->started = time(NULL);
	uid_generate(session->id);
	if (peer != NULL && peer_len <= sizeof(session->peer)) {
		memcpy(&session->peer, peer, peer_len);
		session->peer_len = peer_len;
		snprintf(session->ip, sizeof(session->ip), "%s", net_ip_str(peer));
		session->trusted = is_trusted(service, peer);
	} else {
		session->peer.ss_family = AF_UNSPEC;
		snprintf(session->ip, sizeof(session->ip), "unknown");
	}
	session->next = service->sessions;
	if (service->sessions != NULL)
		service->sessions->prev = session;
	service->sessions = session;
	service->session_count++;
}

void service_session_set_conn(struct service_session *session, struct net_conn *conn)
{
	session->conn = conn;
	apply_timeout(session);
}

static void session_unlink(struct service_session *session)
{
	struct service *service = session->service;

	if (session->prev != NULL)
		session->prev->next = session->next;
	else
		service->sessions = session->next;
	if (session->next != NULL)
		session->next->prev = session->prev;
	session->prev = session->next = NULL;
	service->session_count--;
}

void service_session_closed(struct service_session *session)
{
	struct service *service = session->service;

	if (session->gone)
		return;
	session->gone = true;
	session->conn = NULL;
	session_unlink(session);
	if (session->holds > 0) {
		service->held_count++;
		return;
	}
	session->proto->free(session);
	stress_update(service);
}

void service_session_hold(struct service_session *session)
{
	session->holds++;
}

bool service_session_release(struct service_session *session)
{
	i_assert(session->holds > 0);
	if (--session->holds > 0 || !session->gone)
		return true;
	session->service->held_count--;
	session->proto->free(session);
	return false;
}

void service_session_set_engaged(struct service_session *session, bool engaged)
{
	if (session->engaged == engaged)
		return;
	session->engaged = engaged;
	apply_timeout(session);
}

bool service_session_secure(const struct service_session *session, bool tls)
{
	if (tls)
		return true;
	return session->service->set->auth_plaintext_on_loopback &&
	       session->peer.ss_family != AF_UNSPEC &&
	       net_addr_is_loopback((const struct sockaddr *)&session->peer);
}

static void apply_timeout(struct service_session *session)
{
	unsigned int secs = session->timeout;

	if (session->conn == NULL)
		return;
	if (!session->engaged) {
		if (session->login_timeout != 0)
			secs = session->login_timeout;
		if (session->service->stress && !session->trusted)
			secs = I_MIN(secs, session->service->set->limits.stress_timeout);
	}
	net_conn_set_idle_timeout(session->conn, secs);
}

static void stress_update(struct service *service)
{
	unsigned int limit = service->set->limits.connections;
	bool stress = service->stress;
	struct service_session *s;

	if (!stress && (uint64_t)service->session_count * 100 >= (uint64_t)limit * STRESS_ON_PERCENT)
		stress = true;
	else if (stress && (uint64_t)service->session_count * 100 < (uint64_t)limit * STRESS_OFF_PERCENT)
		stress = false;
	if (stress == service->stress)
		return;
	service->stress = stress;
	log_warning("service", "stress %s sessions=%u limit=%u", stress ? "on" : "off",
		    service->session_count, limit);
	for (s = service->sessions; s != NULL; s = s->next) {
		if (!s->engaged)
			apply_timeout(s);
	}
}

/* Once a second: the total session time limits. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct service *service = arg;
	struct service_session *s, *next;
	time_t now = time(NULL);

	for (s = service->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->gone || s->kicked || s->max_lifetime == 0)
			continue;
		if (now - s->started >= (time_t)s->max_lifetime) {
			s->kicked = true;
			s->proto->kick(s, SERVICE_KICK_SESSION_TIME);
		}
	}
	stress_update(service);
}

void service_shutdown(struct service *service)
{
	struct service_listener *l;
	struct service_session *s, *next;

	service->shutting_down = true;
	for (l = service->listeners; l != NULL; l = l->next)
		net_listener_close(&l->listener);
	for (s = service->sessions; s != NULL; s = next) {
		next = s->next;
		s->kicked = true;
		s->proto->kick(s, SERVICE_KICK_SHUTDOWN);
	}
}

bool service_is_shutting_down(const struct service *service)
{
	return service->shutting_down;
}

unsigned int service_session_count(const struct service *service)
{
	return service->session_count + service->held_count +
	       (service->auth_jobs != NULL ? job_client_pending(service->auth_jobs) : 0);
}

void service_close_all(struct service *service)
{
	while (service->sessions != NULL) {
		struct service_session *s = service->sessions;

		s->kicked = true;
		s->proto->kick(s, SERVICE_KICK_CLOSE);
		if (service->sessions == s)
			i_panic("service: %s session not closed by SERVICE_KICK_CLOSE",
				s->proto->name);
	}
}

void service_free(struct service **servicep)
{
	struct service *service = *servicep;
	struct service_listener *l;

	if (service == NULL)
		return;
	while ((l = service->listeners) != NULL) {
		service->listeners = l->next;
		net_listener_close(&l->listener);
		i_free(l);
	}
	/* every session closes; the ones held by an auth job are freed
	   when job_client_free runs the done callbacks */
	service_close_all(service);
	/* logins waiting on a timer end now; those in a job end when
	   job_client_free runs their done callbacks */
	{
		struct service_auth *a, *anext;

		for (a = service->auths; a != NULL; a = anext) {
			anext = a->next;
			if (a->timer != NULL && evtimer_pending(a->timer, NULL))
				auth_finish(a);
		}
	}
	job_client_free(&service->auth_jobs);
	i_assert(service->auths == NULL);
	event_free(service->tick);
	auth_throttle_free(&service->throttle);
	i_free(service);
	*servicep = NULL;
}

/* Authentication */

void service_auth(struct service_session *session, const char *user,
		  service_verify_cb *verify, void (*free_ctx)(void *ctx), void *verify_ctx,
		  service_auth_done_cb *done, void *done_ctx)
{
	struct service *service = session->service;
	struct service_auth *auth = i_malloc(sizeof(*auth));
	const struct sockaddr *peer = (const struct sockaddr *)&session->peer;
	unsigned int delay_msecs = 0;
	enum auth_throttle_verdict verdict = AUTH_THROTTLE_OK;

	i_assert(session->auth == NULL);
	i_assert(service->auth_jobs != NULL);
	auth->session = session;
	auth->user = i_strdup(user);
	auth->verify = verify;
	auth->free_ctx = free_ctx;
	auth->verify_ctx = verify_ctx;
	auth->done = done;
	auth->done_ctx = done_ctx;
	session->auth = auth;
	service_session_hold(session);
	auth->next = service->auths;
	if (service->auths != NULL)
		service->auths->prev = auth;
	service->auths = auth;

	if (session->peer.ss_family != AF_UNSPEC)
		verdict = auth_throttle_check(service->throttle, peer, user, time(NULL), &delay_msecs);
	switch (verdict) {
	case AUTH_THROTTLE_OK:
		job_submit(service->auth_jobs, auth_run, auth_done, auth);
		return;
	case AUTH_THROTTLE_DELAY:
		/* held back before the check: a guesser who gives up early
		   learns nothing */
		log_info(session->proto->name, "auth delayed session=%s ip=%s delay_ms=%u",
			 session->id, session->ip, delay_msecs);
		break;
	case AUTH_THROTTLE_REFUSE:
		log_warning(session->proto->name, "auth throttled session=%s ip=%s user=%s "
			    "failures=%u", session->id, session->ip, log_str(user),
			    auth_throttle_addr_failures(service->throttle, peer, time(NULL)));
		auth->checked = true;
		auth->final = SERVICE_AUTH_THROTTLED;
		session->auth_failures++;
		auth->disconnect = session->auth_failures >= service->set->limits.auth_failures;
		delay_msecs = AUTH_REFUSE_DELAY_SECS * 1000;
		break;
	}
	{
		struct timeval tv = { delay_msecs / 1000, (delay_msecs % 1000) * 1000 };

		auth->timer = evtimer_new(net_loop_base(service->loop), auth_timer_cb, auth);
		if (auth->timer == NULL || evtimer_add(auth->timer, &tv) < 0)
			i_fatal("service: cannot add the auth timer");
	}
}

static void auth_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct service_auth *auth = arg;

	if (!auth->checked) {
		/* the throttle's wait is over: check now (unless nobody is
		   left to answer) */
		if (auth->session->gone) {
			auth_finish(auth);
			return;
		}
		job_submit(auth->session->service->auth_jobs, auth_run, auth_done, auth);
		return;
	}
	auth_finish(auth);
}

static void auth_run(void *ctx)
{
	struct service_auth *auth = ctx;

	auth->result = auth->verify(auth->verify_ctx);
}

static void auth_done(void *ctx)
{
	struct service_auth *auth = ctx;
	struct service_session *session = auth->session;
	struct service *service = session->service;
	unsigned int failures, secs;

	auth->checked = true;
	if (auth->result > 0) {
		log_info(session->proto->name, "auth session=%s ip=%s user=%s result=ok",
			 session->id, session->ip, log_str(auth->user));
		auth->final = SERVICE_AUTH_OK;
		auth_finish(auth);
		return;
	}
	if (auth->result < 0) {
		log_error(session->proto->name, "auth session=%s ip=%s user=%s result=error",
			  session->id, session->ip, log_str(auth->user));
		auth->final = SERVICE_AUTH_TEMPFAIL;
		auth_finish(auth);
		return;
	}
	failures = session->peer.ss_family == AF_UNSPEC ? 0 :
		auth_throttle_failure(service->throttle, (const struct sockaddr *)&session->peer,
				      auth->user, time(NULL));
	session->auth_failures++;
	log_info(session->proto->name, "auth session=%s ip=%s user=%s result=fail "
		 "failures=%u ip_failures=%u", session->id, session->ip, log_str(auth->user),
		 session->auth_failures, failures);
	auth->final = SERVICE_AUTH_FAILED;
	auth->disconnect = session->auth_failures >= service->set->limits.auth_failures;
	if (session->gone) {
		auth_finish(auth);
		return;
	}
	/* a growing pause slows down guessing on this connection */
	secs = I_MIN(session->auth_failures, AUTH_FAIL_DELAY_MAX_SECS);
	{
		struct timeval tv = { secs, 0 };

		/* the throttle's wait may have made the timer already */
		if (auth->timer == NULL)
			auth->timer = evtimer_new(net_loop_base(service->loop), auth_timer_cb, auth);
		if (auth->timer == NULL || evtimer_add(auth->timer, &tv) < 0)
			i_fatal("service: cannot add the auth timer");
	}
}

static void auth_finish(struct service_auth *auth)
{
	struct service_session *session = auth->session;
	struct service *service = session->service;

	if (auth->prev != NULL)
		auth->prev->next = auth->next;
	else
		service->auths = auth->next;
	if (auth->next != NULL)
		auth->next->prev = auth->prev;
	if (auth->timer != NULL)
		event_free(auth->timer);
	session->auth = NULL;
	if (!session->gone)
		auth->done(session, auth->final, auth->disconnect, auth->done_ctx);
	if (auth->free_ctx != NULL)
		auth->free_ctx(auth->verify_ctx);
	i_free(auth->user);
	i_free(auth);
	(void)service_session_release(session);
}
