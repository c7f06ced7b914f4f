#include "listener.h"
#include "net-loop.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BACKLOG 511
/* accepts per readable event, so one busy listener cannot starve the loop */
#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE_MSECS 1000

struct net_listener {
	struct net_loop *loop;
	char *name;
	int fd;
	struct event *ev;
	struct event *pause_timer;
	net_accept_cb *cb;
	void *ctx;
	bool enabled;
	bool paused;
};

static void accept_cb(evutil_socket_t fd, short what, void *arg);
static void pause_timeout_cb(evutil_socket_t fd, short what, void *arg);

static __thread char listener_error[256];

const char *net_ip_str(const struct sockaddr *addr)
{
	static __thread char bufs[4][INET6_ADDRSTRLEN + 1];
	static __thread unsigned int next;
	char *out = bufs[next++ % 4];

	if (addr->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)addr)->sin_addr,
			  out, sizeof(bufs[0]));
	} else if (addr->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr,
			  out, sizeof(bufs[0]));
	} else {
		snprintf(out, sizeof(bufs[0]), "unknown");
	}
	return out;
}

const char *net_addr_str(const struct sockaddr *addr)
{
	static __thread char bufs[4][INET6_ADDRSTRLEN + 10];
	static __thread unsigned int next;
	char *out = bufs[next++ % 4];

	if (addr->sa_family == AF_INET)
		snprintf(out, sizeof(bufs[0]), "%s:%u", net_ip_str(addr),
			 ntohs(((const struct sockaddr_in *)(const void *)addr)->sin_port));
	else if (addr->sa_family == AF_INET6)
		snprintf(out, sizeof(bufs[0]), "[%s]:%u", net_ip_str(addr),
			 ntohs(((const struct sockaddr_in6 *)(const void *)addr)->sin6_port));
	else
		snprintf(out, sizeof(bufs[0]), "unknown");
	return out;
}

bool net_addr_is_loopback(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (addr->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

struct net_listener *net_listener_open(struct net_loop *loop, const char *name,
				       const struct sockaddr *addr, socklen_t addr_len,
				       net_accept_cb *cb, void *ctx, const char **error_r)
{
	struct net_listener *l;
	int fd, one = 1;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(listener_error, sizeof(listener_error), "socket %s: %s",
			 net_addr_str(addr), strerror(errno));
		*error_r = listener_error;
		return NULL;
	}
	/* SO_REUSEADDR: a restarted server can bind while old connections
	   are in TIME_WAIT */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (addr->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
		snprintf(listener_error, sizeof(listener_error), "setsockopt %s: %s",
			 net_addr_str(addr), strerror(errno));
		close(fd);
		*error_r = listener_error;
		return NULL;
	}
	if (bind(fd, addr, addr_len) < 0) {
		snprintf(listener_error, sizeof(listener_error), "bind %s: %s",
			 net_addr_str(addr), strerror(errno));
		close(fd);
		*error_r = listener_error;
		return NULL;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(listener_error, sizeof(listener_error), "listen %s: %s",
			 net_addr_str(addr), strerror(errno));
		close(fd);
		*error_r = listener_error;
		return NULL;
	}
	l = i_malloc(sizeof(*l));
	l->loop = loop;
	l->name = i_strdup(name);
	l->fd = fd;
	l->cb = cb;
	l->ctx = ctx;
	l->ev = event_new(net_loop_base(loop), fd, EV_READ | EV_PERSIST, accept_cb, l);
	l->pause_timer = evtimer_new(net_loop_base(loop), pause_timeout_cb, l);
	if (l->ev == NULL || l->pause_timer == NULL)
		i_fatal("event_new failed");
	net_listener_set_enabled(l, true);
	return l;
}

void net_listener_close(struct net_listener **_l)
{
	struct net_listener *l = *_l;

	if (l == NULL)
		return;
	event_free(l->ev);
	event_free(l->pause_timer);
	close(l->fd);
	i_free(l->name);
	i_free(l);
	*_l = NULL;
}

static void update_event(struct net_listener *l)
{
	if (l->enabled && !l->paused)
		event_add(l->ev, NULL);
	else
		event_del(l->ev);
}

void net_listener_set_enabled(struct net_listener *l, bool enabled)
{
	l->enabled = enabled;
	update_event(l);
}

unsigned int net_listener_port(const struct net_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int net_listener_fd(const struct net_listener *l)
{
	return l->fd;
}

static void pause_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_listener *l = arg;

	l->paused = false;
	update_event(l);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct net_listener *l = arg;
	unsigned int i;

	for (i = 0; i < ACCEPT_BATCH && l->enabled && !l->paused; i++) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		int fd;

		fd = accept4(l->fd, (struct sockaddr *)&peer, &peer_len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			l->cb(l->ctx, fd, (struct sockaddr *)&peer, peer_len);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EAGAIN != EWOULDBLOCK
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM: {
			/* The pending connection stays queued (readable forever):
			   stop watching for a while rather than spin. */
			struct timeval tv = { ACCEPT_PAUSE_MSECS / 1000,
					      (ACCEPT_PAUSE_MSECS % 1000) * 1000 };

			log_warning("net", "accept paused listener=%s error=%s pause_ms=%d",
				    l->name, log_str(strerror(errno)), ACCEPT_PAUSE_MSECS);
			l->paused = true;
			update_event(l);
			evtimer_add(l->pause_timer, &tv);
			return;
		}
		default:
			log_error("net", "accept failed listener=%s error=%s",
				  l->name, log_str(strerror(errno)));
			return;
		}
	}
}
