/*
 * DNS lookups through c-ares, driven by libevent: c-ares tells us which
 * sockets to watch (ARES_OPT_SOCK_STATE_CB) and how long to wait
 * (ares_timeout); we hand readiness back with ares_process_fd. Answers are
 * parsed and classified at once and delivered from an event of their own,
 * so a callback never runs inside c-ares or inside dns_lookup_*.
 */
#include "dns.h"

#include "arena.h"
#include "buf.h"
#include "log.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>

/* RFC 1035 4.1.1: header 12 bytes; 3.2.1: TYPE CLASS TTL RDLENGTH */
#define DNS_HEADER_SIZE 12
#define DNS_RR_FIXED 10

struct sock_watch {
	struct sock_watch *next;
	ares_socket_t fd;
	struct event *ev;
	struct dns_resolver *r;
};

struct dns_query {
	struct dns_query *prev, *next;
	struct dns_resolver *r;
	enum dns_type type;
	dns_callback *cb;
	void *ctx;
	bool cancelled;       /* no callback; freed when c-ares lets go */
	bool answered;        /* c-ares has called back; result waits in deliver_ev */
	struct event *deliver_ev;
	struct arena *arena;
	struct dns_result result;
};

struct dns_resolver {
	struct event_base *base;
	ares_channel channel;
	struct event *timer;
	struct sock_watch *watches;
	struct dns_query *queries;
	unsigned int inflight;     /* queries c-ares still holds */
	bool destroying;
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status;

static void ares_lib_init(void);
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable);
static void sock_event(evutil_socket_t fd, short what, void *ctx);
static void timer_event(evutil_socket_t fd, short what, void *ctx);
static void reschedule(struct dns_resolver *r);
static void ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen);
static void parse_answer(struct dns_query *q, unsigned char *abuf, int alen);
static void parse_txt(struct dns_query *q, unsigned char *abuf, int alen);
static void parse_ptr(struct dns_query *q, unsigned char *abuf, int alen);
static void classify(struct dns_query *q, int status);
static void deliver_event(evutil_socket_t fd, short what, void *ctx);
static void query_free(struct dns_query *q);

static void ares_lib_init(void)
{
	ares_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

const char *dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_FOUND:
		return "found";
	case DNS_NXDOMAIN:
		return "no such domain";
	case DNS_NODATA:
		return "no data";
	case DNS_TEMPFAIL:
		return "temporary failure";
	}
	return "?";
}

const char *dns_type_name(enum dns_type type)
{
	switch (type) {
	case DNS_TYPE_A:
		return "A";
	case DNS_TYPE_AAAA:
		return "AAAA";
	case DNS_TYPE_MX:
		return "MX";
	case DNS_TYPE_TXT:
		return "TXT";
	case DNS_TYPE_PTR:
		return "PTR";
	}
	return "?";
}

struct dns_resolver *dns_resolver_new(struct event_base *base,
				      const struct dns_resolver_settings *set,
				      const char **error_r)
{
	struct dns_resolver *r;
	struct ares_options opts;
	int optmask, ret;

	pthread_once(&ares_once, ares_lib_init);
	if (ares_init_status != ARES_SUCCESS) {
		*error_r = ares_strerror(ares_init_status);
		return NULL;
	}
	r = i_malloc(sizeof(*r));
	r->base = base;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = sock_state_cb;
	opts.sock_state_cb_data = r;
	opts.timeout = set != NULL && set->timeout_msecs > 0 ? (int)set->timeout_msecs : 3000;
	opts.tries = set != NULL && set->tries > 0 ? (int)set->tries : 2;
	/* ARES_FLAG_NOSEARCH: names are always fully qualified mail domains;
	   ARES_FLAG_STAYOPEN: keep the UDP socket between bursts of lookups
	   (every incoming message makes a few: a socket, fcntl, connect and
	   epoll changes each time otherwise) */
	opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_STAYOPEN;
	optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
	ret = ares_init_options(&r->channel, &opts, optmask);
	if (ret != ARES_SUCCESS) {
		*error_r = ares_strerror(ret);
		free(r);
		return NULL;
	}
	if (set != NULL && set->servers != NULL && set->servers[0] != '\0') {
		ret = ares_set_servers_ports_csv(r->channel, set->servers);
		if (ret != ARES_SUCCESS) {
			*error_r = ares_strerror(ret);
			ares_destroy(r->channel);
			free(r);
			return NULL;
		}
	}
	r->timer = evtimer_new(base, timer_event, r);
	return r;
}

void dns_resolver_free(struct dns_resolver **resolver)
{
	struct dns_resolver *r = *resolver;
	struct sock_watch *w;

	if (r == NULL)
		return;
	*resolver = NULL;
	r->destroying = true;
	/* every pending c-ares query calls back with ARES_EDESTRUCTION: ares_cb
	   frees it without a callback */
	ares_destroy(r->channel);
	while (r->queries != NULL)
		query_free(r->queries);
	while ((w = r->watches) != NULL) {
		r->watches = w->next;
		event_free(w->ev);
		free(w);
	}
	event_free(r->timer);
	free(r);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_resolver *r = data;
	struct sock_watch **wp, *w;
	short what;

	for (wp = &r->watches; *wp != NULL; wp = &(*wp)->next) {
		if ((*wp)->fd == fd)
			break;
	}
	w = *wp;
	if (!readable && !writable) {
		if (w != NULL) {
			*wp = w->next;
			event_free(w->ev);
			free(w);
		}
		return;
	}
	what = (short)(EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	if (w == NULL) {
		w = i_malloc(sizeof(*w));
		w->fd = fd;
		w->r = r;
		w->next = r->watches;
		r->watches = w;
	} else {
		event_free(w->ev);
	}
	w->ev = event_new(r->base, fd, what, sock_event, w);
	event_add(w->ev, NULL);
}

static void sock_event(evutil_socket_t fd, short what, void *ctx)
{
	struct sock_watch *w = ctx;
	struct dns_resolver *r = w->r;

	/* w may be freed inside ares_process_fd */
	ares_process_fd(r->channel, (what & EV_READ) != 0 ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) != 0 ? fd : ARES_SOCKET_BAD);
	reschedule(r);
}

static void timer_event(evutil_socket_t fd, short what, void *ctx)
{
	struct dns_resolver *r = ctx;

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	reschedule(r);
}

static void reschedule(struct dns_resolver *r)
{
	struct timeval maxtv = { 60, 0 }, tv, *tvp;

	tvp = ares_timeout(r->channel, &maxtv, &tv);
	if (r->inflight == 0) {
		/* nothing in flight: no timer to keep the loop alive */
		evtimer_del(r->timer);
		return;
	}
	evtimer_add(r->timer, tvp);
}

struct dns_query *dns_lookup(struct dns_resolver *r, enum dns_type type, const char *name,
			     dns_callback *cb, void *ctx)
{
	static const int qtypes[] = {
		[DNS_TYPE_A] = ns_t_a, [DNS_TYPE_AAAA] = ns_t_aaaa, [DNS_TYPE_MX] = ns_t_mx,
		[DNS_TYPE_TXT] = ns_t_txt, [DNS_TYPE_PTR] = ns_t_ptr,
	};
	struct dns_query *q;
	int qtype;

	i_assert((unsigned int)type < N_ELEMENTS(qtypes));
	qtype = qtypes[type];
	q = i_malloc(sizeof(*q));

	q->r = r;
	q->type = type;
	q->cb = cb;
	q->ctx = ctx;
	q->arena = arena_new(1024);
	q->result.name = arena_strdup(q->arena, name);
	q->deliver_ev = event_new(r->base, -1, 0, deliver_event, q);
	q->next = r->queries;
	if (r->queries != NULL)
		r->queries->prev = q;
	r->queries = q;
	r->inflight++;
	ares_query(r->channel, name, ns_c_in, qtype, ares_cb, q);
	reschedule(r);
	return q;
}

struct dns_query *dns_lookup_mx(struct dns_resolver *r, const char *name,
				dns_callback *cb, void *ctx)
{
	return dns_lookup(r, DNS_TYPE_MX, name, cb, ctx);
}

struct dns_query *dns_lookup_a(struct dns_resolver *r, const char *name,
			       dns_callback *cb, void *ctx)
{
	return dns_lookup(r, DNS_TYPE_A, name, cb, ctx);
}

struct dns_query *dns_lookup_aaaa(struct dns_resolver *r, const char *name,
				  dns_callback *cb, void *ctx)
{
	return dns_lookup(r, DNS_TYPE_AAAA, name, cb, ctx);
}

static void classify(struct dns_query *q, int status)
{
	switch (status) {
	case ARES_SUCCESS:
		q->result.status = DNS_FOUND;
		return;
	case ARES_ENOTFOUND:
		q->result.status = DNS_NXDOMAIN;
		break;
	case ARES_ENODATA:
		q->result.status = DNS_NODATA;
		break;
	default:
		/* ESERVFAIL, EREFUSED, ETIMEOUT, ECONNREFUSED, EBADRESP, ... */
		q->result.status = DNS_TEMPFAIL;
		break;
	}
	q->result.error = ares_strerror(status);
}

static void parse_answer(struct dns_query *q, unsigned char *abuf, int alen)
{
	struct dns_result *res = &q->result;
	int ret;

	if (q->type == DNS_TYPE_TXT) {
		parse_txt(q, abuf, alen);
		return;
	}
	if (q->type == DNS_TYPE_PTR) {
		parse_ptr(q, abuf, alen);
		return;
	}
	if (q->type == DNS_TYPE_MX) {
		struct ares_mx_reply *mx = NULL, *m;
		unsigned int n = 0;

		ret = ares_parse_mx_reply(abuf, alen, &mx);
		if (ret != ARES_SUCCESS) {
			classify(q, ret == ARES_ENODATA ? ARES_ENODATA : ARES_EBADRESP);
			return;
		}
		for (m = mx; m != NULL; m = m->next)
			n++;
		res->mx = arena_new_array(q->arena, struct dns_mx, n);
		for (m = mx; m != NULL; m = m->next) {
			char *host = arena_strdup(q->arena, m->host);
			size_t len = strlen(host);

			if (len > 0 && host[len - 1] == '.')
				host[--len] = '\0';
			i_str_lower(host);
			res->mx[res->mx_count].host = host;
			res->mx[res->mx_count].preference = m->priority;
			res->mx_count++;
		}
		ares_free_data(mx);
	} else if (q->type == DNS_TYPE_A) {
		struct ares_addrttl ttls[64];
		int n = N_ELEMENTS(ttls), i;

		ret = ares_parse_a_reply(abuf, alen, NULL, ttls, &n);
		if (ret != ARES_SUCCESS) {
			classify(q, ret == ARES_ENODATA ? ARES_ENODATA : ARES_EBADRESP);
			return;
		}
		res->addrs = arena_new_array(q->arena, struct sockaddr_storage, (size_t)n + 1);
		for (i = 0; i < n; i++) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&res->addrs[i];

			sin->sin_family = AF_INET;
			sin->sin_addr = ttls[i].ipaddr;
		}
		res->addr_count = (unsigned int)n;
	} else {
		struct ares_addr6ttl ttls[64];
		int n = N_ELEMENTS(ttls), i;

		ret = ares_parse_aaaa_reply(abuf, alen, NULL, ttls, &n);
		if (ret != ARES_SUCCESS) {
			classify(q, ret == ARES_ENODATA ? ARES_ENODATA : ARES_EBADRESP);
			return;
		}
		res->addrs = arena_new_array(q->arena, struct sockaddr_storage, (size_t)n + 1);
		for (i = 0; i < n; i++) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&res->addrs[i];

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, &ttls[i].ip6addr, 16);
		}
		res->addr_count = (unsigned int)n;
	}
	if ((q->type == DNS_TYPE_MX && res->mx_count == 0) ||
	    (q->type != DNS_TYPE_MX && res->addr_count == 0))
		classify(q, ARES_ENODATA);
	else
		res->status = DNS_FOUND;
}

/* TXT (RFC 1035 3.3.14): each record is one or more character-strings,
   which SPF and DKIM read joined together. */
static void parse_txt(struct dns_query *q, unsigned char *abuf, int alen)
{
	struct dns_result *res = &q->result;
	struct ares_txt_ext *txt = NULL, *t;
	unsigned int n = 0, i = 0;
	buf_t joined;
	int ret;

	ret = ares_parse_txt_reply_ext(abuf, alen, &txt);
	if (ret != ARES_SUCCESS) {
		classify(q, ret == ARES_ENODATA ? ARES_ENODATA : ARES_EBADRESP);
		return;
	}
	for (t = txt; t != NULL; t = t->next) {
		if (t->record_start || t == txt)
			n++;
	}
	res->txt = arena_new_array(q->arena, const char *, n + 1);
	res->txt_lens = arena_new_array(q->arena, size_t, n + 1);
	buf_init(&joined, BUF_MAX_UNLIMITED);
	for (t = txt; t != NULL; t = t->next) {
		if (buf_append(&joined, t->txt, t->length) < 0)
			i_panic("dns: unlimited buffer full");
		if (t->next == NULL || t->next->record_start) {
			res->txt[i] = arena_strndup(q->arena, joined.data, joined.used);
			res->txt_lens[i] = joined.used;
			i++;
			buf_reset(&joined);
		}
	}
	buf_free(&joined);
	ares_free_data(txt);
	res->txt_count = i;
	if (i == 0)
		classify(q, ARES_ENODATA);
	else
		res->status = DNS_FOUND;
}

/* PTR (RFC 1035 3.3.12): the answer section's PTR records, read with
   ares_expand_name (ares_parse_ptr_reply wants the address asked about). */
static void parse_ptr(struct dns_query *q, unsigned char *abuf, int alen)
{
	struct dns_result *res = &q->result;
	const unsigned char *p, *end = abuf + alen;
	unsigned int qdcount, ancount, i, alloc = 4;
	long len;
	char *name;

	if (alen < DNS_HEADER_SIZE) {
		classify(q, ARES_EBADRESP);
		return;
	}
	qdcount = (unsigned int)(abuf[4] << 8 | abuf[5]);
	ancount = (unsigned int)(abuf[6] << 8 | abuf[7]);
	p = abuf + DNS_HEADER_SIZE;
	for (i = 0; i < qdcount; i++) {
		if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) {
			classify(q, ARES_EBADRESP);
			return;
		}
		ares_free_string(name);
		if (end - p < len + 4) {
			classify(q, ARES_EBADRESP);
			return;
		}
		p += len + 4;
	}
	res->names = arena_new_array(q->arena, const char *, alloc);
	for (i = 0; i < ancount; i++) {
		unsigned int type, rdlen;

		if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) {
			classify(q, ARES_EBADRESP);
			return;
		}
		ares_free_string(name);
		if (end - p < len + DNS_RR_FIXED) {
			classify(q, ARES_EBADRESP);
			return;
		}
		p += len;
		type = (unsigned int)(p[0] << 8 | p[1]);
		rdlen = (unsigned int)(p[8] << 8 | p[9]);
		p += DNS_RR_FIXED;
		if (end - p < (long)rdlen) {
			classify(q, ARES_EBADRESP);
			return;
		}
		if (type == ns_t_ptr) {
			size_t nlen;
			char *copy;

			if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS) {
				classify(q, ARES_EBADRESP);
				return;
			}
			copy = arena_strdup(q->arena, name);
			ares_free_string(name);
			nlen = strlen(copy);
			if (nlen > 0 && copy[nlen - 1] == '.')
				copy[nlen - 1] = '\0';
			i_str_lower(copy);
			if (res->name_count == alloc) {
				res->names = arena_realloc(q->arena, res->names,
							   alloc * sizeof(*res->names),
							   alloc * 2 * sizeof(*res->names));
				alloc *= 2;
			}
			res->names[res->name_count++] = copy;
		}
		p += rdlen;
	}
	if (res->name_count == 0)
		classify(q, ARES_ENODATA);
	else
		res->status = DNS_FOUND;
}

static void ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;

	q->r->inflight--;
	if (q->r->destroying || q->cancelled) {
		query_free(q);
		return;
	}
	if (status == ARES_SUCCESS)
		parse_answer(q, abuf, alen);
	else
		classify(q, status);
	q->answered = true;
	event_active(q->deliver_ev, EV_TIMEOUT, 0);
}

static void deliver_event(evutil_socket_t fd, short what, void *ctx)
{
	struct dns_query *q = ctx;
	dns_callback *cb = q->cb;
	void *cb_ctx = q->ctx;
	struct arena *arena = q->arena;
	struct dns_result res = q->result;

	/* the handle dies before the callback, the result just after it */
	q->arena = NULL;
	query_free(q);
	cb(&res, cb_ctx);
	arena_free(&arena);
}

static void query_free(struct dns_query *q)
{
	struct dns_resolver *r = q->r;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		r->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	event_free(q->deliver_ev);
	if (q->arena != NULL)
		arena_free(&q->arena);
	free(q);
}

void dns_query_cancel(struct dns_query **query)
{
	struct dns_query *q = *query;

	if (q == NULL)
		return;
	*query = NULL;
	if (q->answered) {
		query_free(q);
		return;
	}
	/* c-ares still holds it: ares_cb frees it */
	q->cancelled = true;
}
