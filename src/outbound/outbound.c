/*
 * Outbound delivery: the recipients the queue manager hands over are
 * grouped by destination (their domain, or the smarthost), each
 * destination is routed (MX, then the A/AAAA addresses of each MX host)
 * and gets up to delivery.connections_per_destination SMTP connections,
 * which carry one message after another (RSET between) until its queue is
 * empty and they have idled a few seconds.
 *
 * Everything runs on one thread with its own event loop; outbound_submit()
 * hands work over through a locked list and an eventfd.
 */
#include "outbound.h"

#include "arena.h"
#include "client.h"
#include "dns.h"
#include "log.h"
#include "net-loop.h"
#include "queue.h"
#include "settings.h"
#include "tls.h"
#include "tern-limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* RFC 5321 4.5.3.1.8: servers must take at least 100 recipients */
#define OB_MAX_RCPTS_PER_TXN 100
/* how long a route and a dead address are kept (OB_MAX_MX_HOSTS:
   tern-limits.h) */
#define OB_ROUTE_TTL 300
#define OB_DEAD_ADDR_SECS 60

struct ob_sub {
	struct ob_sub *next;
	struct arena *arena;
	char *queue_id;
	struct queue_envelope *env;
	outbound_done_cb *done;
	void *ctx;
	struct outbound_result *results;
	unsigned int count;
	unsigned int jobs_left;
	/* DKIM signatures of the message as queued, made once for every
	   destination (sign.c) */
	bool dkim_made;
	buf_t dkim;
};

struct ob_job {
	struct ob_job *next;
	struct ob_sub *sub;
	unsigned int *slots;        /* indexes into sub->results */
	unsigned int n;
	bool forwarded;             /* recipients an alias led to (ARC seal, SRS) */
};

struct ob_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char *host;
	time_t dead_until;
};

struct ob_host {
	struct ob_dest *d;
	char *name;
	unsigned int preference;
	struct dns_query *qa, *qaaaa;
	enum dns_status sa, saaaa;
	struct sockaddr_storage *a, *aaaa;
	unsigned int na, naaaa;
};

enum route_state { ROUTE_NONE, ROUTE_RESOLVING, ROUTE_OK };

struct ob_dest {
	struct ob_dest *next;
	struct outbound *ob;
	char *name;                 /* the domain, lowercase; or the smarthost text */
	bool smarthost;
	struct ob_job *head, *tail;
	unsigned int queued;
	struct ob_session *sessions;
	unsigned int session_count, connecting;

	enum route_state route;
	time_t route_time;
	struct ob_addr *addrs;
	unsigned int addr_count;
	/* resolving */
	struct dns_query *mxq;
	struct ob_host *hosts;
	unsigned int host_count, pending;
};

struct ob_session {
	struct ob_session *next;
	struct ob_dest *dest;
	struct smtp_client *client;
	bool ready;
	unsigned int addr_idx, tried;
	char *last_error;
	bool last_perm;
	char *last_status;
	struct event *idle_ev;

	struct ob_job *job;
	unsigned char *msg;
	size_t msg_size;
	buf_t conv;
	buf_t auth;                 /* signature fields + the message */
	struct smtp_client_txn txn;
};

struct outbound {
	const struct tern_settings *set;
	struct queue *queue;
	struct outbound_options opts;
	pthread_t thread;
	struct net_loop *loop;
	struct dns_resolver *dns;
	SSL_CTX *ssl_ctx;
	int efd;
	struct event *wake_ev;

	pthread_mutex_t lock;
	struct ob_sub *incoming;     /* submitted, not yet taken (under lock) */
	bool stopping;               /* under lock */

	struct ob_dest *dests;
	struct sockaddr_storage *local_addrs;
	unsigned int local_addr_count;
	const struct msgauth_context *msgauth;
};

static void *ob_thread(void *ctx);
static void wake_event(evutil_socket_t fd, short what, void *ctx);
static void take_incoming(struct outbound *ob);
static void sub_add(struct outbound *ob, struct ob_sub *sub);
static struct ob_dest *dest_get(struct outbound *ob, const char *name, bool smarthost);
static void dest_pump(struct ob_dest *d);
static void dest_maybe_free(struct ob_dest *d);
static void dest_fail_all(struct ob_dest *d, bool perm, const char *status, const char *diag,
			  const char *remote);
static void route_start(struct ob_dest *d);
static void route_mx_done(const struct dns_result *res, void *ctx);
static void route_a_done(const struct dns_result *res, void *ctx);
static void route_aaaa_done(const struct dns_result *res, void *ctx);
static void addrs_free(struct ob_dest *d);
static void route_finish(struct ob_dest *d);
static void route_cancel(struct ob_dest *d);
static void session_new(struct ob_dest *d);
static bool session_connect_next(struct ob_session *s);
static void session_ready(struct smtp_client *client, void *ctx, const char *error,
			  const struct smtp_reply *reply);
static void session_take_job(struct ob_session *s);
static void session_txn_done(struct smtp_client *client, void *ctx,
			     struct smtp_client_txn *txn, bool connection_ok);
static void session_close(struct ob_session *s, bool quit);
static void session_idle(evutil_socket_t fd, short what, void *ctx);
static void job_result(struct ob_session *s, struct ob_job *job, unsigned int i,
		       enum outbound_status st, const char *status, const char *diag);
static void job_finish_all(struct ob_job *job, enum outbound_status st, const char *status,
			   const char *diag, const char *remote);
static void job_complete(struct ob_job *job);
static bool is_self_host(void *ctx, const char *host);
static bool is_self_addr(struct outbound *ob, const struct sockaddr_storage *sa);
static const char *addr_text(const struct sockaddr_storage *sa, char *buf, size_t size);
static void log_result(struct ob_session *s, struct ob_job *job, unsigned int slot,
		       const char *diag);

/* ---- start, submit, stop ------------------------------------------------ */

struct outbound *outbound_start(const struct tern_settings *set, struct queue *queue,
				const char **error_r)
{
	return outbound_start_opts(set, queue, NULL, error_r);
}

static void load_local_addrs(struct outbound *ob)
{
	struct ifaddrs *ifa, *i;
	unsigned int n = 0;

	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next)
		n++;
	ob->local_addrs = i_malloc(sizeof(*ob->local_addrs) * (n + 1));
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			memcpy(&ob->local_addrs[ob->local_addr_count++], i->ifa_addr,
			       sizeof(struct sockaddr_in));
		else if (i->ifa_addr->sa_family == AF_INET6)
			memcpy(&ob->local_addrs[ob->local_addr_count++], i->ifa_addr,
			       sizeof(struct sockaddr_in6));
	}
	freeifaddrs(ifa);
}

struct outbound *outbound_start_opts(const struct tern_settings *set, struct queue *queue,
				     const struct outbound_options *opts, const char **error_r)
{
	struct outbound *ob = i_malloc(sizeof(*ob));
	struct dns_resolver_settings dset;
	const char *tls = set->relay_smarthost_tls != NULL ? set->relay_smarthost_tls : "";

	if (tls[0] != '\0' && strcmp(tls, "none") != 0 && strcmp(tls, "opportunistic") != 0 &&
	    strcmp(tls, "required") != 0 && strcmp(tls, "verify") != 0) {
		*error_r = "relay.smarthost_tls must be \"none\", \"opportunistic\", \"required\" or \"verify\"";
		free(ob);
		return NULL;
	}
	ob->set = set;
	ob->queue = queue;
	if (opts != NULL)
		ob->opts = *opts;
	ob->ssl_ctx = tls_client_ctx_new(false, error_r);
	if (ob->ssl_ctx == NULL) {
		free(ob);
		return NULL;
	}
	ob->loop = net_loop_new();
	memset(&dset, 0, sizeof(dset));
	dset.servers = set->delivery_nameserver != NULL ? set->delivery_nameserver->text : NULL;
	dset.timeout_msecs = ob->opts.dns_timeout_msecs;
	dset.tries = ob->opts.dns_tries;
	ob->dns = dns_resolver_new(net_loop_base(ob->loop), &dset, error_r);
	if (ob->dns == NULL) {
		net_loop_free(&ob->loop);
		SSL_CTX_free(ob->ssl_ctx);
		free(ob);
		return NULL;
	}
	ob->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ob->efd < 0)
		i_fatal("outbound: eventfd: %s", strerror(errno));
	ob->wake_ev = event_new(net_loop_base(ob->loop), ob->efd, EV_READ | EV_PERSIST,
				wake_event, ob);
	event_add(ob->wake_ev, NULL);
	pthread_mutex_init(&ob->lock, NULL);
	load_local_addrs(ob);
	if (pthread_create(&ob->thread, NULL, ob_thread, ob) != 0)
		i_fatal("outbound: pthread_create failed");
	return ob;
}

static void wake(struct outbound *ob)
{
	uint64_t one = 1;

	if (write(ob->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		i_panic("outbound: eventfd write: %s", strerror(errno));
}

void outbound_submit(struct outbound *ob, const char *queue_id, const struct queue_envelope *env,
		     const unsigned int *rcpt_indexes, unsigned int count,
		     outbound_done_cb *done, void *ctx)
{
	struct arena *arena = arena_new(4096);
	struct ob_sub *sub = arena_new_type(arena, struct ob_sub);
	struct queue_envelope *e = arena_new_type(arena, struct queue_envelope);
	unsigned int i;

	sub->arena = arena;
	sub->queue_id = arena_strdup(arena, queue_id);
	sub->done = done;
	sub->ctx = ctx;
	*e = *env;
	e->id = sub->queue_id;
	e->sender = arena_strdup(arena, env->sender);
	e->envid = arena_strdup(arena, env->envid);
	e->auth_user = NULL;
	e->client = NULL;
	e->auth_results = arena_strdup(arena, env->auth_results);
	e->dkim_signatures = arena_strdup(arena, env->dkim_signatures);
	e->rcpts = arena_new_array(arena, struct queue_rcpt, env->rcpt_count);
	for (i = 0; i < env->rcpt_count; i++) {
		e->rcpts[i] = env->rcpts[i];
		e->rcpts[i].address = arena_strdup(arena, env->rcpts[i].address);
		e->rcpts[i].original = arena_strdup(arena, env->rcpts[i].original);
		e->rcpts[i].orcpt = arena_strdup(arena, env->rcpts[i].orcpt);
		e->rcpts[i].last_error = NULL;
	}
	sub->env = e;
	buf_init(&sub->dkim, BUF_MAX_UNLIMITED);
	sub->count = count;
	sub->results = arena_new_array(arena, struct outbound_result, count);
	for (i = 0; i < count; i++) {
		i_assert(rcpt_indexes[i] < env->rcpt_count);
		sub->results[i].rcpt_index = rcpt_indexes[i];
		sub->results[i].status = OUTBOUND_DEFERRED;
		sub->results[i].diagnostic = "delivery not attempted";
		sub->results[i].status_code = "4.3.0";
	}
	pthread_mutex_lock(&ob->lock);
	sub->next = ob->incoming;
	ob->incoming = sub;
	pthread_mutex_unlock(&ob->lock);
	wake(ob);
}

void outbound_set_msgauth(struct outbound *ob, const struct msgauth_context *ctx)
{
	ob->msgauth = ctx;
}

void outbound_stop(struct outbound **obp)
{
	struct outbound *ob = *obp;

	if (ob == NULL)
		return;
	*obp = NULL;
	pthread_mutex_lock(&ob->lock);
	ob->stopping = true;
	pthread_mutex_unlock(&ob->lock);
	wake(ob);
	pthread_join(ob->thread, NULL);
	event_free(ob->wake_ev);
	close(ob->efd);
	dns_resolver_free(&ob->dns);
	net_loop_free(&ob->loop);
	SSL_CTX_free(ob->ssl_ctx);
	pthread_mutex_destroy(&ob->lock);
	free(ob->local_addrs);
	free(ob);
}

static void *ob_thread(void *ctx)
{
	struct outbound *ob = ctx;

	(void)net_loop_run(ob->loop);
	return NULL;
}

static void stop_everything(struct outbound *ob)
{
	struct ob_dest *d;

	/* every recipient not decided yet: deferred */
	while ((d = ob->dests) != NULL) {
		route_cancel(d);
		while (d->sessions != NULL) {
			struct ob_session *s = d->sessions;

			if (s->job != NULL) {
				s->job->next = d->head;
				d->head = s->job;
				if (d->tail == NULL)
					d->tail = s->job;
				d->queued++;
				s->job = NULL;
			}
			session_close(s, false);
		}
		dest_fail_all(d, false, "4.3.2", "delivery stopped (shutdown)", NULL);
		ob->dests = d->next;
		addrs_free(d);
		free(d->name);
		free(d);
	}
	net_loop_stop(ob->loop);
}

static void wake_event(evutil_socket_t fd, short what, void *ctx)
{
	struct outbound *ob = ctx;
	uint64_t v;
	bool stopping;

	if (read(ob->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		i_panic("outbound: eventfd read: %s", strerror(errno));
	take_incoming(ob);
	pthread_mutex_lock(&ob->lock);
	stopping = ob->stopping;
	pthread_mutex_unlock(&ob->lock);
	if (stopping)
		stop_everything(ob);
}

static void take_incoming(struct outbound *ob)
{
	struct ob_sub *list, *sub, *rev = NULL;

	pthread_mutex_lock(&ob->lock);
	list = ob->incoming;
	ob->incoming = NULL;
	pthread_mutex_unlock(&ob->lock);
	/* oldest first */
	while (list != NULL) {
		sub = list;
		list = sub->next;
		sub->next = rev;
		rev = sub;
	}
	while (rev != NULL) {
		sub = rev;
		rev = sub->next;
		sub_add(ob, sub);
	}
}

static const char *rcpt_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : "";
}

/* Split a submission into jobs: one per destination and at most
   OB_MAX_RCPTS_PER_TXN recipients. */
static void sub_add(struct outbound *ob, struct ob_sub *sub)
{
	bool *taken = i_malloc(sizeof(bool) * (sub->count + 1));
	unsigned int i, j;

	for (i = 0; i < sub->count; i++) {
		const char *addr = sub->env->rcpts[sub->results[i].rcpt_index].address;
		char *domain;
		struct ob_dest *d;
		struct ob_job *job;

		if (taken[i])
			continue;
		domain = i_strdup(rcpt_domain(addr));
		i_str_lower(domain);
		if (ob->set->relay_smarthost != NULL)
			d = dest_get(ob, ob->set->relay_smarthost->text, true);
		else
			d = dest_get(ob, domain, false);
		job = i_malloc(sizeof(*job));
		job->sub = sub;
		job->slots = i_malloc(sizeof(unsigned int) * OB_MAX_RCPTS_PER_TXN);
		/* forwarded and direct recipients travel apart: a forwarded
		   copy may get another sender (SRS) and an ARC seal */
		job->forwarded = sub->env->rcpts[sub->results[i].rcpt_index].original != NULL;
		for (j = i; j < sub->count && job->n < OB_MAX_RCPTS_PER_TXN; j++) {
			const char *a = sub->env->rcpts[sub->results[j].rcpt_index].address;
			bool fwd = sub->env->rcpts[sub->results[j].rcpt_index].original != NULL;

			if (taken[j] || fwd != job->forwarded)
				continue;
			if (ob->set->relay_smarthost == NULL &&
			    i_strcasecmp(rcpt_domain(a), domain) != 0)
				continue;
			taken[j] = true;
			job->slots[job->n++] = j;
		}
		free(domain);
		sub->jobs_left++;
		if (d->tail != NULL)
			d->tail->next = job;
		else
			d->head = job;
		d->tail = job;
		d->queued++;
		/* i stays: more recipients of this domain may be left */
		i--;
	}
	free(taken);
	if (sub->count == 0) {
		sub->done(sub->ctx, sub->queue_id, sub->results, 0);
		buf_free(&sub->dkim);
		arena_free(&sub->arena);
		return;
	}
	for (struct ob_dest *d = ob->dests, *next; d != NULL; d = next) {
		next = d->next;    /* dest_pump may free d */
		if (d->queued > 0)
			dest_pump(d);
	}
}

/* ---- destinations ------------------------------------------------------- */

static struct ob_dest *dest_get(struct outbound *ob, const char *name, bool smarthost)
{
	struct ob_dest *d;

	for (d = ob->dests; d != NULL; d = d->next) {
		if (d->smarthost == smarthost && strcmp(d->name, name) == 0)
			return d;
	}
	d = i_malloc(sizeof(*d));
	d->ob = ob;
	d->name = i_strdup(name);
	d->smarthost = smarthost;
	d->next = ob->dests;
	ob->dests = d;
	return d;
}

static void dest_maybe_free(struct ob_dest *d)
{
	struct outbound *ob = d->ob;
	struct ob_dest **dp;

	if (d->queued > 0 || d->sessions != NULL || d->route == ROUTE_RESOLVING)
		return;
	for (dp = &ob->dests; *dp != d; dp = &(*dp)->next)
		;
	*dp = d->next;
	addrs_free(d);
	free(d->name);
	free(d);
}

static void dest_fail_all(struct ob_dest *d, bool perm, const char *status, const char *diag,
			  const char *remote)
{
	struct ob_job *job;

	while ((job = d->head) != NULL) {
		d->head = job->next;
		if (d->head == NULL)
			d->tail = NULL;
		d->queued--;
		job_finish_all(job, perm ? OUTBOUND_FAILED : OUTBOUND_DEFERRED, status, diag,
			       remote);
	}
}

static unsigned int session_limit(const struct ob_dest *d)
{
	unsigned int n = d->ob->set->delivery_connections_per_destination;

	return n > 0 ? n : 10;
}

static void dest_pump(struct ob_dest *d)
{
	struct ob_session *s, *next;

	if (d->queued == 0) {
		dest_maybe_free(d);
		return;
	}
	/* the route (and the addresses sessions point into) changes only
	   while no session is left */
	if (d->session_count == 0 && (d->route == ROUTE_NONE ||
				      (d->route == ROUTE_OK &&
				       time(NULL) - d->route_time > OB_ROUTE_TTL))) {
		route_start(d);
		return;
	}
	if (d->route != ROUTE_OK)
		return;
	for (s = d->sessions; s != NULL && d->queued > 0; s = next) {
		next = s->next;
		if (s->ready && s->job == NULL)
			session_take_job(s);
	}
	while (d->queued > d->connecting && d->session_count < session_limit(d))
		session_new(d);
}

/* ---- routing -------------------------------------------------------------- */

static bool is_self_host(void *ctx, const char *host)
{
	struct outbound *ob = ctx;

	return i_strcasecmp(host, ob->set->hostname) == 0;
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)(const void *)b)->sin_addr, 4) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, 16) == 0;
	return false;
}

static bool is_wildcard(const struct sockaddr *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, &any6, 16) == 0;
	return false;
}

/* Is this address one of our SMTP listeners at the port we would use? */
static bool is_self_addr(struct outbound *ob, const struct sockaddr_storage *sa)
{
	const struct tern_settings *set = ob->set;
	size_t i;
	unsigned int j;

	for (i = 0; i < set->listen[TERN_LISTEN_SMTP].count; i++) {
		const struct tern_hostport *hp = &set->listen[TERN_LISTEN_SMTP].addrs[i];
		const struct sockaddr *la = (const struct sockaddr *)&hp->addr;

		if (hp->port != set->delivery_mx_port)
			continue;
		if (same_ip(sa, la))
			return true;
		if (is_wildcard(la)) {
			for (j = 0; j < ob->local_addr_count; j++) {
				if (same_ip(sa, (const struct sockaddr *)&ob->local_addrs[j]))
					return true;
			}
		}
	}
	return false;
}

static void set_port(struct sockaddr_storage *sa, unsigned int port, socklen_t *len_r)
{
	if (sa->ss_family == AF_INET) {
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
		*len_r = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
		*len_r = sizeof(struct sockaddr_in6);
	}
}

static void addrs_free(struct ob_dest *d)
{
	unsigned int i;

	for (i = 0; i < d->addr_count; i++)
		free(d->addrs[i].host);
	free(d->addrs);
	d->addrs = NULL;
	d->addr_count = 0;
}

static void route_add_addr(struct ob_dest *d, const struct sockaddr_storage *sa, const char *host,
			   unsigned int port)
{
	struct ob_addr *a;

	d->addrs = i_realloc(d->addrs, sizeof(*d->addrs) * (d->addr_count + 1));
	a = &d->addrs[d->addr_count++];
	memset(a, 0, sizeof(*a));
	a->sa = *sa;
	set_port(&a->sa, port, &a->len);
	a->host = i_strdup(host);
}

static void route_fail(struct ob_dest *d, bool perm, const char *status, const char *diag)
{
	route_cancel(d);
	d->route = ROUTE_NONE;
	log_info("outbound", "route failed dest=%s status=%s reason=%s", log_str(d->name), status,
		 log_str(diag));
	dest_fail_all(d, perm, status, diag, NULL);
	dest_maybe_free(d);
}

static void route_cancel(struct ob_dest *d)
{
	unsigned int i;

	dns_query_cancel(&d->mxq);
	for (i = 0; i < d->host_count; i++) {
		dns_query_cancel(&d->hosts[i].qa);
		dns_query_cancel(&d->hosts[i].qaaaa);
		free(d->hosts[i].name);
		free(d->hosts[i].a);
		free(d->hosts[i].aaaa);
	}
	free(d->hosts);
	d->hosts = NULL;
	d->host_count = 0;
	d->pending = 0;
	if (d->route == ROUTE_RESOLVING)
		d->route = ROUTE_NONE;
}

static void route_hosts(struct ob_dest *d, const struct dns_mx *mx, unsigned int count)
{
	unsigned int i;

	d->hosts = i_malloc(sizeof(*d->hosts) * (count + 1));
	d->host_count = count;
	d->pending = count * 2;
	for (i = 0; i < count; i++) {
		d->hosts[i].d = d;
		d->hosts[i].name = i_strdup(mx[i].host);
		d->hosts[i].preference = mx[i].preference;
		d->hosts[i].sa = DNS_TEMPFAIL;
		d->hosts[i].saaaa = DNS_TEMPFAIL;
	}
	for (i = 0; i < count; i++) {
		d->hosts[i].qa = dns_lookup_a(d->ob->dns, d->hosts[i].name, route_a_done,
					      &d->hosts[i]);
		d->hosts[i].qaaaa = dns_lookup_aaaa(d->ob->dns, d->hosts[i].name, route_aaaa_done,
						    &d->hosts[i]);
	}
}

static void route_start(struct ob_dest *d)
{
	struct outbound *ob = d->ob;
	const char *host = d->name;

	addrs_free(d);
	d->route = ROUTE_RESOLVING;
	if (d->smarthost) {
		const struct tern_hostport *hp = ob->set->relay_smarthost;
		struct dns_mx mx = { hp->host, 0 };

		if (hp->addr_len > 0) {
			route_add_addr(d, &hp->addr, hp->host, hp->port);
			route_finish(d);
		} else {
			route_hosts(d, &mx, 1);
		}
		return;
	}
	if (host[0] == '[') {
		/* RFC 5321 4.1.3: a domain literal is the address itself */
		char lit[INET6_ADDRSTRLEN + 8];
		size_t len = strlen(host);
		struct sockaddr_storage sa;

		memset(&sa, 0, sizeof(sa));
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(lit)) {
			route_fail(d, true, "5.1.2", "bad domain literal");
			return;
		}
		memcpy(lit, host + 1, len - 2);
		lit[len - 2] = '\0';
		if (i_strncasecmp(lit, "IPv6:", 5) == 0 &&
		    inet_pton(AF_INET6, lit + 5, &((struct sockaddr_in6 *)&sa)->sin6_addr) == 1) {
			sa.ss_family = AF_INET6;
		} else if (inet_pton(AF_INET, lit, &((struct sockaddr_in *)&sa)->sin_addr) == 1) {
			sa.ss_family = AF_INET;
		} else {
			route_fail(d, true, "5.1.2", "bad domain literal");
			return;
		}
		route_add_addr(d, &sa, host, ob->set->delivery_mx_port);
		route_finish(d);
		return;
	}
	d->mxq = dns_lookup_mx(ob->dns, host, route_mx_done, d);
}

static void route_mx_done(const struct dns_result *res, void *ctx)
{
	struct ob_dest *d = ctx;
	struct outbound *ob = d->ob;
	char diag[512];
	unsigned int count;

	d->mxq = NULL;
	switch (res->status) {
	case DNS_NXDOMAIN:
		snprintf(diag, sizeof(diag), "dns; no such domain %s", d->name);
		route_fail(d, true, "5.1.2", diag);
		return;
	case DNS_TEMPFAIL:
		snprintf(diag, sizeof(diag), "dns; temporary failure looking up MX of %s: %s",
			 d->name, res->error);
		route_fail(d, false, "4.4.3", diag);
		return;
	case DNS_NODATA: {
		/* RFC 5321 5.1: no MX: the domain itself, as if an MX of
		   preference 0 named it (implicit MX) */
		struct dns_mx mx = { d->name, 0 };

		route_hosts(d, &mx, 1);
		return;
	}
	case DNS_FOUND:
		break;
	}
	outbound_mx_sort(res->mx, res->mx_count, ob->opts.random, ob->opts.random_ctx);
	switch (outbound_mx_select(res->mx, res->mx_count, is_self_host, ob, &count)) {
	case OUTBOUND_MX_NULL:
		/* RFC 7505 4.1: 5.1.10 */
		snprintf(diag, sizeof(diag), "dns; %s accepts no mail (null MX)", d->name);
		route_fail(d, true, "5.1.10", diag);
		return;
	case OUTBOUND_MX_LOOP:
		snprintf(diag, sizeof(diag), "mail for %s loops back to myself (MX is %s)",
			 d->name, ob->set->hostname);
		route_fail(d, true, "5.4.6", diag);
		return;
	case OUTBOUND_MX_OK:
		break;
	}
	route_hosts(d, res->mx, I_MIN(count, OB_MAX_MX_HOSTS));
}

static void host_addrs(struct ob_host *h, const struct dns_result *res, enum dns_status *st,
		       struct sockaddr_storage **addrs, unsigned int *n)
{
	struct ob_dest *d = h->d;

	*st = res->status;
	if (res->status == DNS_FOUND) {
		*addrs = i_malloc(sizeof(**addrs) * res->addr_count);
		memcpy(*addrs, res->addrs, sizeof(**addrs) * res->addr_count);
		*n = res->addr_count;
	}
	i_assert(d->pending > 0);
	if (--d->pending == 0)
		route_finish(d);
}

static void route_a_done(const struct dns_result *res, void *ctx)
{
	struct ob_host *h = ctx;

	h->qa = NULL;
	host_addrs(h, res, &h->sa, &h->a, &h->na);
}

static void route_aaaa_done(const struct dns_result *res, void *ctx)
{
	struct ob_host *h = ctx;

	h->qaaaa = NULL;
	host_addrs(h, res, &h->saaaa, &h->aaaa, &h->naaaa);
}

static void route_finish(struct ob_dest *d)
{
	struct outbound *ob = d->ob;
	unsigned int i, j, self = 0;
	bool tempfail = false;
	char diag[512];

	for (i = 0; i < d->host_count; i++) {
		struct ob_host *h = &d->hosts[i];
		unsigned int port = d->smarthost ? ob->set->relay_smarthost->port :
				    ob->set->delivery_mx_port;

		if (h->sa == DNS_TEMPFAIL || h->saaaa == DNS_TEMPFAIL)
			tempfail = true;
		/* each host's IPv4 then IPv6 addresses, in turn */
		for (j = 0; j < h->na; j++)
			route_add_addr(d, &h->a[j], h->name, port);
		for (j = 0; j < h->naaaa; j++)
			route_add_addr(d, &h->aaaa[j], h->name, port);
	}
	route_cancel(d);
	/* never to ourselves (our listener at that port) for a remote domain */
	for (i = j = 0; i < d->addr_count; i++) {
		if (!d->smarthost && is_self_addr(ob, &d->addrs[i].sa)) {
			self++;
			free(d->addrs[i].host);
			continue;
		}
		d->addrs[j++] = d->addrs[i];
	}
	d->addr_count = j;
	if (d->addr_count == 0) {
		if (self > 0) {
			snprintf(diag, sizeof(diag), "mail for %s loops back to myself", d->name);
			route_fail(d, true, "5.4.6", diag);
		} else if (tempfail) {
			snprintf(diag, sizeof(diag),
				 "dns; temporary failure looking up the address of the mail host of %s",
				 d->name);
			route_fail(d, false, "4.4.3", diag);
		} else {
			snprintf(diag, sizeof(diag), "dns; no address for any mail host of %s",
				 d->name);
			route_fail(d, true, "5.4.4", diag);
		}
		return;
	}
	d->route = ROUTE_OK;
	d->route_time = time(NULL);
	dest_pump(d);
}

/* ---- sessions ------------------------------------------------------------- */

static enum smtp_client_tls smarthost_tls(const struct tern_settings *set)
{
	const char *t = set->relay_smarthost_tls != NULL ? set->relay_smarthost_tls : "";

	if (strcmp(t, "none") == 0)
		return SMTP_CLIENT_TLS_NONE;
	if (strcmp(t, "required") == 0)
		return SMTP_CLIENT_TLS_REQUIRED;
	if (strcmp(t, "verify") == 0)
		return SMTP_CLIENT_TLS_VERIFY;
	return SMTP_CLIENT_TLS_OPPORTUNISTIC;
}

static void session_new(struct ob_dest *d)
{
	struct ob_session *s = i_malloc(sizeof(*s));

	s->dest = d;
	s->next = d->sessions;
	d->sessions = s;
	d->session_count++;
	d->connecting++;
	buf_init(&s->conv, BUF_MAX_UNLIMITED);
	buf_init(&s->auth, BUF_MAX_UNLIMITED);
	if (!session_connect_next(s)) {
		/* no address at all: cannot happen with ROUTE_OK */
		session_close(s, false);
	}
}

/* Connect to the next address worth trying; false when none is left. */
static bool session_connect_next(struct ob_session *s)
{
	struct ob_dest *d = s->dest;
	struct outbound *ob = d->ob;
	const struct tern_settings *set = ob->set;
	struct smtp_client_settings cs;
	time_t now = time(NULL);
	unsigned int i;
	struct ob_addr *a = NULL;

	for (i = s->addr_idx; i < d->addr_count; i++) {
		if (d->addrs[i].dead_until <= now) {
			a = &d->addrs[i];
			break;
		}
	}
	if (a == NULL && s->tried == 0 && d->addr_count > 0) {
		/* every address failed recently: try them again anyway */
		for (i = 0; i < d->addr_count; i++)
			d->addrs[i].dead_until = 0;
		i = 0;
		a = &d->addrs[0];
	}
	if (a == NULL)
		return false;
	s->addr_idx = i;
	memset(&cs, 0, sizeof(cs));
	cs.helo_name = set->hostname;
	cs.server_name = a->host;
	cs.ssl_ctx = ob->ssl_ctx;
	cs.tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	if (d->smarthost) {
		cs.tls = smarthost_tls(set);
		if (set->relay_smarthost_user != NULL && set->relay_smarthost_user[0] != '\0') {
			cs.auth_user = set->relay_smarthost_user;
			cs.auth_password = set->relay_smarthost_password;
		}
	}
	if (ob->opts.smtp_timeout > 0) {
		cs.connect_timeout = cs.greeting_timeout = cs.command_timeout = ob->opts.smtp_timeout;
		cs.data_timeout = cs.block_timeout = cs.final_timeout = ob->opts.smtp_timeout;
	}
	s->client = smtp_client_connect(ob->loop, (const struct sockaddr *)&a->sa, a->len, &cs,
					session_ready, s);
	return true;
}

static const char *addr_text(const struct sockaddr_storage *sa, char *buf, size_t size)
{
	if (sa->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  (socklen_t)size);
	return buf;
}

static void session_ready(struct smtp_client *client, void *ctx, const char *error,
			  const struct smtp_reply *reply)
{
	struct ob_session *s = ctx;
	struct ob_dest *d = s->dest;
	struct ob_addr *a = &d->addrs[s->addr_idx];
	char ip[INET6_ADDRSTRLEN];

	if (error == NULL) {
		s->ready = true;
		d->connecting--;
		log_debug("outbound", "connected dest=%s relay=%s[%s] tls=%s verified=%s",
			  log_str(d->name), a->host, addr_text(&a->sa, ip, sizeof(ip)),
			  smtp_client_tls_used(client) ? "yes" : "no",
			  smtp_client_tls_verified(client) ? "yes" : "no");
		session_take_job(s);
		return;
	}
	log_info("outbound", "connection failed dest=%s relay=%s[%s] error=%s", log_str(d->name),
		 a->host, addr_text(&a->sa, ip, sizeof(ip)), log_str(error));
	s->tried++;
	free(s->last_error);
	free(s->last_status);
	/* a 5xx greeting/HELO is permanent; trouble with the smarthost
	   (AUTH refused...) is ours to fix: deferred */
	s->last_perm = reply != NULL && reply->code / 100 == 5 && !d->smarthost;
	if (reply != NULL) {
		s->last_error = i_strdup_printf("smtp; %s (%s[%s])", reply->text, a->host, ip);
		s->last_status = i_strdup(reply->enhanced != NULL ? reply->enhanced :
					  s->last_perm ? "5.0.0" : "4.0.0");
	} else {
		s->last_error = i_strdup_printf("net; %s (%s)", error, a->host);
		s->last_status = i_strdup("4.4.1");
		/* no answer there: others skip it for a while */
		a->dead_until = time(NULL) + OB_DEAD_ADDR_SECS;
	}
	smtp_client_free(&s->client);
	s->addr_idx++;
	if (session_connect_next(s))
		return;
	/* every address tried */
	{
		bool others = false;
		struct ob_session *o;

		for (o = d->sessions; o != NULL; o = o->next)
			others = others || (o != s && o->ready);
		if (!others) {
			/* nobody can carry the queue: it all shares this fate */
			d->route = ROUTE_NONE;
			dest_fail_all(d, s->last_perm, s->last_status, s->last_error, NULL);
		}
	}
	session_close(s, false);
	dest_pump(d);
}

static bool needs_smtputf8(const struct ob_session *s, const struct ob_job *job)
{
	const struct queue_envelope *env = job->sub->env;
	const unsigned char *p = s->msg, *end = s->msg + s->msg_size;
	unsigned int i;

	if (!env->smtputf8)
		return false;
	/* RFC 6531 3.2: only when something really needs it: a non-ASCII
	   address or raw UTF-8 in the header */
	if (i_str_has_8bit(env->sender))
		return true;
	for (i = 0; i < job->n; i++) {
		if (i_str_has_8bit(env->rcpts[job->sub->results[job->slots[i]].rcpt_index].address))
			return true;
	}
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		const unsigned char *next = nl != NULL ? nl + 1 : end;

		if (next - p <= 2 && (p[0] == '\n' || p[0] == '\r'))
			break;      /* end of the header */
		for (; p < next; p++) {
			if (*p >= 0x80)
				return true;
		}
	}
	return false;
}

static int load_message(struct ob_session *s, struct ob_job *job, const char **error_r)
{
	struct outbound *ob = s->dest->ob;
	struct stat st;
	size_t done = 0;
	int fd;

	fd = queue_open_message(ob->queue, job->sub->queue_id, error_r);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	s->msg = i_malloc((size_t)st.st_size + 1);
	while (done < (size_t)st.st_size) {
		ssize_t ret = read(fd, s->msg + done, (size_t)st.st_size - done);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			*error_r = ret < 0 ? strerror(errno) : "message file shorter than expected";
			close(fd);
			i_free(s->msg);
			return -1;
		}
		done += (size_t)ret;
	}
	close(fd);
	s->msg_size = done;
	return 0;
}

static void session_free_message(struct ob_session *s)
{
	i_free(s->msg);
	s->msg_size = 0;
	buf_free(&s->conv);
	buf_init(&s->conv, BUF_MAX_UNLIMITED);
	buf_free(&s->auth);
	buf_init(&s->auth, BUF_MAX_UNLIMITED);
	smtp_client_txn_clear_results(&s->txn);
	i_free(s->txn.rcpts);
	memset(&s->txn, 0, sizeof(s->txn));
}

/* Sender authentication for what is about to be sent (sign.c): DKIM
   signatures (made once per message when it goes unconverted), an ARC
   seal for a forwarded copy. *data and *size may change to s->auth. */
static int ob_sign(struct ob_session *s, struct ob_job *job, const unsigned char **data,
		   size_t *size)
{
	const struct msgauth_context *ctx = s->dest->ob->msgauth;
	struct ob_sub *sub = job->sub;

	if (ctx == NULL)
		return 0;
	buf_reset(&s->auth);
	if (*data == s->msg && sub->env->dkim_signatures != NULL) {
		/* signed when it was queued */
		if (buf_append_str(&s->auth, sub->env->dkim_signatures) < 0)
			return -1;
	} else if (*data == s->msg) {
		if (!sub->dkim_made) {
			(void)outbound_dkim_sign(ctx, sub->env, *data, *size, &sub->dkim);
			sub->dkim_made = true;
		}
		if (buf_append(&s->auth, sub->dkim.data, sub->dkim.used) < 0)
			return -1;
	} else {
		(void)outbound_dkim_sign(ctx, sub->env, *data, *size, &s->auth);
	}
	if (job->forwarded)
		(void)outbound_arc_seal(ctx, sub->env, *data, *size, &s->auth);
	if (s->auth.used == 0)
		return 0;
	if (buf_append(&s->auth, *data, *size) < 0)
		return -1;
	*data = s->auth.data;
	*size = s->auth.used;
	return 0;
}

static void session_take_job(struct ob_session *s)
{
	struct ob_dest *d = s->dest;
	struct ob_job *job;
	unsigned int caps, i;
	const unsigned char *data;
	size_t size;
	const char *error;
	bool body_8bit;

	for (;;) {
		if (d->head == NULL) {
			/* idle: keep the connection a while for more mail */
			struct timeval tv = { d->ob->opts.idle_secs > 0 ? d->ob->opts.idle_secs : 5, 0 };

			if (s->idle_ev == NULL)
				s->idle_ev = evtimer_new(net_loop_base(d->ob->loop), session_idle, s);
			evtimer_add(s->idle_ev, &tv);
			return;
		}
		if (!smtp_client_usable(s->client)) {
			/* the server closed it while idle */
			session_close(s, false);
			dest_pump(d);
			return;
		}
		if (s->idle_ev != NULL)
			evtimer_del(s->idle_ev);
		job = d->head;
		d->head = job->next;
		if (d->head == NULL)
			d->tail = NULL;
		d->queued--;
		job->next = NULL;

		if (load_message(s, job, &error) < 0) {
			char *diag = i_strdup_printf("cannot read the queued message: %s", error);

			job_finish_all(job, OUTBOUND_DEFERRED, "4.3.0", diag, NULL);
			free(diag);
			continue;
		}
		caps = smtp_client_caps(s->client);
		s->job = job;
		data = s->msg;
		size = s->msg_size;
		body_8bit = job->sub->env->body_8bit || i_mem_has_8bit(s->msg, s->msg_size);
		if (needs_smtputf8(s, job) && (caps & SMTP_CAP_SMTPUTF8) == 0) {
			/* RFC 6531 3.2: the server can't take it: bounce */
			for (i = 0; i < job->n; i++)
				job_result(s, job, i, OUTBOUND_FAILED, "5.6.7",
					   "the remote server does not support SMTPUTF8, which the message needs");
			goto done_early;
		}
		if (body_8bit && (caps & SMTP_CAP_8BITMIME) == 0) {
			if (outbound_downgrade_8bit(s->msg, s->msg_size, &s->conv, &error) < 0) {
				char *diag = i_strdup_printf(
					"the remote server does not support 8BITMIME and the message "
					"can't be converted to 7 bits: %s", error);

				/* RFC 6152 3: convert, or return as undeliverable */
				for (i = 0; i < job->n; i++)
					job_result(s, job, i, OUTBOUND_FAILED, "5.6.3", diag);
				free(diag);
				goto done_early;
			}
			data = s->conv.data;
			size = s->conv.used;
			body_8bit = false;
		}
		if (ob_sign(s, job, &data, &size) < 0)
			goto done_early;
		if (smtp_client_max_size(s->client) > 0 &&
		    (uint64_t)size > smtp_client_max_size(s->client)) {
			char *diag = i_strdup_printf(
				"message size %zu exceeds the remote server's limit of %llu",
				size, (unsigned long long)smtp_client_max_size(s->client));

			/* RFC 1870 6: don't send what is announced too big */
			for (i = 0; i < job->n; i++)
				job_result(s, job, i, OUTBOUND_FAILED, "5.3.4", diag);
			free(diag);
			goto done_early;
		}
		memset(&s->txn, 0, sizeof(s->txn));
		s->txn.sender = job->sub->env->sender;
		if (job->forwarded) {
			const char *srs = outbound_srs_sender(d->ob->msgauth, job->sub->arena,
							      job->sub->env);

			if (srs != NULL)
				s->txn.sender = srs;
		}
		s->txn.size = size;
		s->txn.body_8bit = body_8bit;
		s->txn.smtputf8 = job->sub->env->smtputf8 && (caps & SMTP_CAP_SMTPUTF8) != 0;
		s->txn.ret = job->sub->env->ret == QUEUE_RET_FULL ? 1 :
			     job->sub->env->ret == QUEUE_RET_HDRS ? 2 : 0;
		s->txn.envid = job->sub->env->envid;
		s->txn.rcpts = i_malloc(sizeof(*s->txn.rcpts) * job->n);
		s->txn.rcpt_count = job->n;
		for (i = 0; i < job->n; i++) {
			const struct queue_rcpt *r =
				&job->sub->env->rcpts[job->sub->results[job->slots[i]].rcpt_index];

			s->txn.rcpts[i].address = r->address;
			s->txn.rcpts[i].notify = r->notify;
			s->txn.rcpts[i].orcpt = r->orcpt;
		}
		s->txn.data = data;
		s->txn.data_size = size;
		smtp_client_send(s->client, &s->txn, session_txn_done, s);
		return;
done_early:
		s->job = NULL;
		session_free_message(s);
		job_complete(job);
	}
}

static enum outbound_status map_status(enum smtp_client_rcpt_status st)
{
	switch (st) {
	case SMTP_RCPT_DELIVERED:
		return OUTBOUND_DELIVERED;
	case SMTP_RCPT_FAILED:
		return OUTBOUND_FAILED;
	case SMTP_RCPT_DEFERRED:
		break;
	}
	return OUTBOUND_DEFERRED;
}

static void session_txn_done(struct smtp_client *client, void *ctx,
			     struct smtp_client_txn *txn, bool connection_ok)
{
	struct ob_session *s = ctx;
	struct ob_dest *d = s->dest;
	struct ob_job *job = s->job;
	unsigned int i;

	s->job = NULL;
	if (txn->retry_elsewhere) {
		/* a reused connection that had died: nothing happened, the
		   job goes back to the front of the queue */
		job->next = d->head;
		d->head = job;
		if (d->tail == NULL)
			d->tail = job;
		d->queued++;
		session_free_message(s);
		session_close(s, false);
		dest_pump(d);
		return;
	}
	for (i = 0; i < job->n; i++)
		job_result(s, job, i, map_status(txn->rcpts[i].status), txn->rcpts[i].status_code,
			   txn->rcpts[i].diagnostic);
	session_free_message(s);
	job_complete(job);
	if (!connection_ok) {
		session_close(s, false);
		dest_pump(d);
		return;
	}
	session_take_job(s);
	if (d->queued > 0)
		dest_pump(d);
}

static void session_idle(evutil_socket_t fd, short what, void *ctx)
{
	struct ob_session *s = ctx;
	struct ob_dest *d = s->dest;

	session_close(s, true);
	dest_maybe_free(d);
}

static void session_close(struct ob_session *s, bool quit)
{
	struct ob_dest *d = s->dest;
	struct ob_session **sp;

	for (sp = &d->sessions; *sp != s; sp = &(*sp)->next)
		;
	*sp = s->next;
	d->session_count--;
	if (!s->ready)
		d->connecting--;
	if (quit)
		smtp_client_quit(&s->client);
	else
		smtp_client_free(&s->client);
	if (s->job != NULL) {
		job_finish_all(s->job, OUTBOUND_DEFERRED, "4.3.2", "delivery stopped", NULL);
		s->job = NULL;
	}
	session_free_message(s);
	buf_free(&s->conv);
	buf_free(&s->auth);
	if (s->idle_ev != NULL)
		event_free(s->idle_ev);
	free(s->last_error);
	free(s->last_status);
	free(s);
}

/* ---- results --------------------------------------------------------------- */

static void log_result(struct ob_session *s, struct ob_job *job, unsigned int slot,
		       const char *diag)
{
	struct ob_sub *sub = job->sub;
	const struct outbound_result *r = &sub->results[slot];
	const char *to = sub->env->rcpts[r->rcpt_index].address;
	const char *what = r->status == OUTBOUND_DELIVERED ? "delivered" :
			   r->status == OUTBOUND_FAILED ? "failed" : "deferred";

	if (s != NULL && s->client != NULL) {
		struct ob_addr *a = &s->dest->addrs[s->addr_idx];
		char ip[INET6_ADDRSTRLEN];
		unsigned int port = ntohs(a->sa.ss_family == AF_INET ?
					  ((struct sockaddr_in *)&a->sa)->sin_port :
					  ((struct sockaddr_in6 *)&a->sa)->sin6_port);
		const char *reply = diag;

		if (strncmp(reply, "smtp; ", 6) == 0)
			reply += 6;
		log_info("outbound", "%s id=%s to=<%s> relay=%s[%s]:%u tls=%s verified=%s status=%s %s=%s",
			 what, sub->queue_id, log_str(to), a->host,
			 addr_text(&a->sa, ip, sizeof(ip)), port,
			 smtp_client_tls_used(s->client) ? "yes" : "no",
			 smtp_client_tls_verified(s->client) ? "yes" : "no", r->status_code,
			 strncmp(diag, "smtp; ", 6) == 0 ? "reply" : "reason",
			 log_value(reply, strlen(reply), 300));
	} else {
		log_info("outbound", "%s id=%s to=<%s> status=%s reason=%s", what, sub->queue_id,
			 log_str(to), r->status_code, log_value(diag, strlen(diag), 300));
	}
}

static void job_result(struct ob_session *s, struct ob_job *job, unsigned int i,
		       enum outbound_status st, const char *status, const char *diag)
{
	struct ob_sub *sub = job->sub;
	struct outbound_result *r = &sub->results[job->slots[i]];

	r->status = st;
	r->status_code = arena_strdup(sub->arena, status);
	r->diagnostic = arena_strdup(sub->arena, diag);
	r->remote_mta = NULL;
	r->dsn_passed_on = false;
	if (s != NULL && s->client != NULL) {
		struct ob_addr *a = &s->dest->addrs[s->addr_idx];
		char ip[INET6_ADDRSTRLEN];

		r->dsn_passed_on = st == OUTBOUND_DELIVERED &&
			(smtp_client_caps(s->client) & SMTP_CAP_DSN) != 0;

		r->remote_mta = arena_printf(sub->arena, "%s [%s]", a->host,
					     addr_text(&a->sa, ip, sizeof(ip)));
	}
	log_result(s, job, job->slots[i], diag);
}

static void job_finish_all(struct ob_job *job, enum outbound_status st, const char *status,
			   const char *diag, const char *remote)
{
	unsigned int i;

	for (i = 0; i < job->n; i++) {
		job_result(NULL, job, i, st, status, diag);
		if (remote != NULL)
			job->sub->results[job->slots[i]].remote_mta =
				arena_strdup(job->sub->arena, remote);
	}
	job_complete(job);
}

static void job_complete(struct ob_job *job)
{
	struct ob_sub *sub = job->sub;

	free(job->slots);
	free(job);
	i_assert(sub->jobs_left > 0);
	if (--sub->jobs_left > 0)
		return;
	sub->done(sub->ctx, sub->queue_id, sub->results, sub->count);
	buf_free(&sub->dkim);
	arena_free(&sub->arena);
}
