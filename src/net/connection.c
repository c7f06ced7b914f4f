#include "connection.h"
#include "net-loop.h"
#include "listener.h"
#include "buf.h"
#include "log.h"
#include "tern-limits.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* how long close_after_write waits for a peer that does not read */
#define CLOSE_FLUSH_TIMEOUT_SECS 30
#define CLOSE_POLL_MSECS 20

struct net_conn {
	struct net_loop *loop;
	struct bufferevent *bev;
	struct event *resume_ev;
	struct net_conn_callbacks cb;
	void *ctx;

	size_t max_line;
	size_t scanned;           /* input bytes known to hold no LF */
	buf_t line;
	unsigned int idle_secs;

	struct sockaddr_storage peer;
	socklen_t peer_len;
	char peer_ip[64];

	SSL *ssl;
	unsigned int refcount;
	bool closed;              /* the owner let go: no more callbacks */
	bool closing;             /* flushing output before closing */
	bool failed;              /* EOF/error/write timeout seen: no more I/O */
	bool input_over;          /* read timeout: no more input, but output
				     (a goodbye) may still be sent */
	bool paused;
	bool raw;
	bool discarding;          /* skipping the rest of an overlong line */
	bool connecting;
	bool handshaking;
};

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void resume_cb(evutil_socket_t fd, short what, void *arg);
static void conn_setup_bev(struct net_conn *conn);
static void conn_release_io(struct net_conn *conn);
static void conn_unref(struct net_conn *conn);
static void process_input(struct net_conn *conn);
static void closing_check(struct net_conn *conn);

static struct net_conn *conn_alloc(struct net_loop *loop, const struct sockaddr *peer,
				   socklen_t peer_len, size_t max_line,
				   const struct net_conn_callbacks *cb, void *ctx)
{
	struct net_conn *conn = i_malloc(sizeof(*conn));

	i_assert(max_line > 0);
	conn->loop = loop;
	conn->cb = *cb;
	conn->ctx = ctx;
	conn->max_line = max_line;
	conn->refcount = 1;
	buf_init(&conn->line, max_line + 1);
	if (peer != NULL && peer_len > 0 && peer_len <= sizeof(conn->peer)) {
		memcpy(&conn->peer, peer, peer_len);
		conn->peer_len = peer_len;
		snprintf(conn->peer_ip, sizeof(conn->peer_ip), "%s", net_ip_str(peer));
	} else {
		conn->peer.ss_family = AF_UNSPEC;
		snprintf(conn->peer_ip, sizeof(conn->peer_ip), "unknown");
	}
	conn->resume_ev = event_new(net_loop_base(loop), -1, 0, resume_cb, conn);
	if (conn->resume_ev == NULL)
		i_fatal("event_new failed");
	return conn;
}

static void conn_setup_bev(struct net_conn *conn)
{
	bufferevent_setcb(conn->bev, read_cb, write_cb, event_cb, conn);
	bufferevent_setwatermark(conn->bev, EV_READ, 0, conn->max_line + 2 + NET_INPUT_SLACK);
	bufferevent_setwatermark(conn->bev, EV_WRITE, 0, 0);
	net_conn_set_idle_timeout(conn, conn->idle_secs);
	if (conn->paused || conn->closing)
		bufferevent_disable(conn->bev, EV_READ);
	else
		bufferevent_enable(conn->bev, EV_READ);
	bufferevent_enable(conn->bev, EV_WRITE);
}

struct net_conn *net_conn_new(struct net_loop *loop, int fd,
			      const struct sockaddr *peer, socklen_t peer_len,
			      SSL_CTX *ssl_ctx, size_t max_line,
			      const struct net_conn_callbacks *cb, void *ctx)
{
	struct net_conn *conn = conn_alloc(loop, peer, peer_len, max_line, cb, ctx);
	struct event_base *base = net_loop_base(loop);
	int one = 1;

	/* Every protocol here writes whole replies into the output buffer
	   before it goes out, so Nagle only delays them: a reply's last
	   segment would wait for the ACK of the one before, which the client
	   delays (40 ms on Linux) when it has nothing to send - an IMAP
	   APPEND's "+" and tagged OK, a RETR past 16 KiB. */
	if (peer != NULL && (peer->sa_family == AF_INET || peer->sa_family == AF_INET6))
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	if (ssl_ctx != NULL) {
		conn->ssl = SSL_new(ssl_ctx);
		if (conn->ssl == NULL)
			i_fatal("SSL_new failed");
		conn->handshaking = true;
		conn->bev = bufferevent_openssl_socket_new(base, fd, conn->ssl,
							   BUFFEREVENT_SSL_ACCEPTING,
							   BEV_OPT_CLOSE_ON_FREE);
		if (conn->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
	} else {
		conn->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (conn->bev == NULL)
		i_fatal("bufferevent_socket_new failed");
	conn_setup_bev(conn);
	return conn;
}

struct net_conn *net_conn_connect(struct net_loop *loop, const struct sockaddr *addr,
				  socklen_t addr_len, size_t max_line,
				  const struct net_conn_callbacks *cb, void *ctx,
				  const char **error_r)
{
	struct net_conn *conn;
	int fd;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return NULL;
	}
	conn = net_conn_new(loop, fd, addr, addr_len, NULL, max_line, cb, ctx);
	conn->connecting = true;
	/* a refused connect is reported later as an error event */
	if (bufferevent_socket_connect(conn->bev, addr, (int)addr_len) < 0) {
		*error_r = "connect failed";
		net_conn_close(&conn);
		return NULL;
	}
	return conn;
}

static void conn_release_io(struct net_conn *conn)
{
	if (conn->bev != NULL) {
		/* frees the SSL object and closes the socket (BEV_OPT_CLOSE_ON_FREE) */
		bufferevent_free(conn->bev);
		conn->bev = NULL;
		conn->ssl = NULL;
	}
	if (conn->resume_ev != NULL) {
		event_free(conn->resume_ev);
		conn->resume_ev = NULL;
	}
}

static void conn_unref(struct net_conn *conn)
{
	i_assert(conn->refcount > 0);
	if (--conn->refcount > 0)
		return;
	conn_release_io(conn);
	buf_free(&conn->line);
	i_free(conn);
}

void net_conn_close(struct net_conn **_conn)
{
	struct net_conn *conn = *_conn;

	if (conn == NULL)
		return;
	*_conn = NULL;
	i_assert(!conn->closed);
	conn->closed = true;
	conn_release_io(conn);
	conn_unref(conn);
}

void net_conn_close_after_write(struct net_conn **_conn)
{
	struct net_conn *conn = *_conn;
	struct timeval tv = { CLOSE_FLUSH_TIMEOUT_SECS, 0 };

	if (conn == NULL)
		return;
	*_conn = NULL;
	i_assert(!conn->closed);
	conn->closed = true;
	conn->closing = true;
	if (conn->bev == NULL || conn->failed) {
		conn_release_io(conn);
		conn_unref(conn);
		return;
	}
	bufferevent_disable(conn->bev, EV_READ);
	bufferevent_set_timeouts(conn->bev, NULL, &tv);
	/* the owner's reference now belongs to the flush; closing_check()
	   drops it, from the loop (never from inside this call) */
	event_active(conn->resume_ev, EV_TIMEOUT, 0);
}

/* Closing: all queued output (ours and, under a TLS filter, the
   underlying socket's) sent? Then let go. */
static void closing_check(struct net_conn *conn)
{
	if (conn->bev != NULL && net_conn_output_size(conn) > 0) {
		if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
			/* only the filter's underlying buffer is left: poll */
			struct timeval tv = { 0, CLOSE_POLL_MSECS * 1000 };

			event_add(conn->resume_ev, &tv);
		}
		return;
	}
	conn_release_io(conn);
	conn_unref(conn);
}

int net_conn_write(struct net_conn *conn, const void *data, size_t len)
{
	if (conn->bev == NULL || conn->failed || conn->closing)
		return -1;
	if (bufferevent_write(conn->bev, data, len) < 0)
		return -1;
	return 0;
}

int net_conn_write_str(struct net_conn *conn, const char *str)
{
	return net_conn_write(conn, str, strlen(str));
}

int net_conn_printf(struct net_conn *conn, const char *fmt, ...)
{
	va_list args;
	int ret;

	if (conn->bev == NULL || conn->failed || conn->closing)
		return -1;
	va_start(args, fmt);
	ret = evbuffer_add_vprintf(bufferevent_get_output(conn->bev), fmt, args);
	va_end(args);
	return ret < 0 ? -1 : 0;
}

size_t net_conn_output_size(const struct net_conn *conn)
{
	struct bufferevent *under;
	size_t size;

	if (conn->bev == NULL)
		return 0;
	size = evbuffer_get_length(bufferevent_get_output(conn->bev));
	under = bufferevent_get_underlying(conn->bev);
	if (under != NULL)
		size += evbuffer_get_length(bufferevent_get_output(under));
	return size;
}

void net_conn_set_idle_timeout(struct net_conn *conn, unsigned int secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	conn->idle_secs = secs;
	if (conn->bev == NULL || conn->closing)
		return;
	if (secs == 0)
		bufferevent_set_timeouts(conn->bev, NULL, NULL);
	else
		bufferevent_set_timeouts(conn->bev, &tv, &tv);
}

void net_conn_set_max_line(struct net_conn *conn, size_t max_line)
{
	i_assert(max_line > 0);
	conn->max_line = max_line;
	/* keep the memory: a line handed to the callback that calls this
	   stays valid until the callback returns */
	conn->line.max = max_line + 1;
	if (conn->bev != NULL)
		bufferevent_setwatermark(conn->bev, EV_READ, 0, max_line + 2 + NET_INPUT_SLACK);
}

static void schedule_input(struct net_conn *conn)
{
	if (conn->resume_ev != NULL && !conn->closing)
		event_active(conn->resume_ev, EV_TIMEOUT, 0);
}

void net_conn_set_raw(struct net_conn *conn, bool raw)
{
	i_assert(!raw || conn->cb.raw != NULL);
	conn->raw = raw;
	conn->scanned = 0;
	schedule_input(conn);
}

void net_conn_pause(struct net_conn *conn)
{
	conn->paused = true;
	if (conn->bev != NULL)
		bufferevent_disable(conn->bev, EV_READ);
}

void net_conn_resume(struct net_conn *conn)
{
	if (!conn->paused)
		return;
	conn->paused = false;
	if (conn->bev != NULL && !conn->failed && !conn->input_over)
		bufferevent_enable(conn->bev, EV_READ);
	schedule_input(conn);
}

int net_conn_starttls(struct net_conn *conn, SSL_CTX *ssl_ctx, bool server,
		      const char *sni, const char **error_r)
{
	struct event_base *base = net_loop_base(conn->loop);
	struct bufferevent *filter;
	SSL *ssl;

	if (conn->ssl != NULL) {
		*error_r = "TLS is already active";
		return -1;
	}
	if (conn->bev == NULL || conn->failed || conn->closing) {
		*error_r = "connection is closing";
		return -1;
	}
	ssl = SSL_new(ssl_ctx);
	if (ssl == NULL) {
		*error_r = "SSL_new failed";
		return -1;
	}
	if (!server && sni != NULL && SSL_set_tlsext_host_name(ssl, sni) != 1) {
		SSL_free(ssl);
		*error_r = "cannot set TLS server name";
		return -1;
	}
	/* RFC 3207 section 4.2 / RFC 2595 section 3.1: data the peer sent
	   after the STARTTLS command, before the handshake, is discarded. */
	evbuffer_drain(bufferevent_get_input(conn->bev),
		       evbuffer_get_length(bufferevent_get_input(conn->bev)));
	conn->scanned = 0;
	conn->discarding = false;
	filter = bufferevent_openssl_filter_new(base, conn->bev, ssl,
						server ? BUFFEREVENT_SSL_ACCEPTING :
							 BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (filter == NULL) {
		SSL_free(ssl);
		*error_r = "cannot start TLS";
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
	/* the underlying bufferevent keeps its queued plaintext output (the
	   "220 Ready to start TLS") and sends it before any TLS record */
	conn->bev = filter;
	conn->ssl = ssl;
	conn->handshaking = true;
	conn_setup_bev(conn);
	return 0;
}

bool net_conn_is_tls(const struct net_conn *conn)
{
	return conn->ssl != NULL;
}

SSL *net_conn_ssl(const struct net_conn *conn)
{
	return conn->ssl;
}

const struct sockaddr *net_conn_peer(const struct net_conn *conn, socklen_t *len_r)
{
	if (len_r != NULL)
		*len_r = conn->peer_len;
	return (const struct sockaddr *)&conn->peer;
}

const char *net_conn_peer_ip(const struct net_conn *conn)
{
	return conn->peer_ip;
}

bool net_conn_peer_is_loopback(const struct net_conn *conn)
{
	return net_addr_is_loopback((const struct sockaddr *)&conn->peer);
}

void net_conn_quickack(struct net_conn *conn)
{
	int one = 1, fd = conn->bev != NULL ? bufferevent_getfd(conn->bev) : -1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

int net_conn_fd(const struct net_conn *conn)
{
	return conn->bev == NULL ? -1 : (int)bufferevent_getfd(conn->bev);
}

/* Call the event callback; false if the connection was closed by it. */
static bool report_event(struct net_conn *conn, enum net_conn_event event)
{
	bool alive;

	if (conn->closed || conn->cb.event == NULL)
		return !conn->closed;
	conn->refcount++;
	conn->cb.event(conn, conn->ctx, event);
	alive = !conn->closed;
	conn_unref(conn);
	return alive;
}

/* Deliver buffered input: lines, or raw bytes, until paused, closed or
   out of input. The caller holds a reference. */
static void process_input(struct net_conn *conn)
{
	while (!conn->closed && !conn->paused && conn->bev != NULL) {
		struct evbuffer *in = bufferevent_get_input(conn->bev);
		size_t avail = evbuffer_get_length(in), len, linelen;
		struct evbuffer_ptr start, pos;

		if (avail == 0)
			break;
		if (conn->raw) {
			unsigned char *data = evbuffer_pullup(in, -1);
			size_t n = conn->cb.raw(conn, conn->ctx, data, avail);

			if (conn->closed)
				return;
			i_assert(n <= avail);
			evbuffer_drain(in, n);
			conn->scanned = 0;
			if (n == 0)
				break;
			continue;
		}
		if (conn->scanned > avail)
			conn->scanned = 0;
		evbuffer_ptr_set(in, &start, conn->scanned, EVBUFFER_PTR_SET);
		pos = evbuffer_search(in, "\n", 1, &start);
		if (conn->discarding) {
			if (pos.pos < 0) {
				evbuffer_drain(in, avail);
				conn->scanned = 0;
				break;
			}
			evbuffer_drain(in, (size_t)pos.pos + 1);
			conn->scanned = 0;
			conn->discarding = false;
			continue;
		}
		if (pos.pos < 0) {
			conn->scanned = avail;
			/* max_line bytes and a CR could still end well; more cannot */
			if (avail > conn->max_line + 1) {
				evbuffer_drain(in, avail);
				conn->scanned = 0;
				conn->discarding = true;
				if (!report_event(conn, NET_CONN_LINE_TOO_LONG))
					return;
				continue;
			}
			break;
		}
		len = (size_t)pos.pos;
		conn->scanned = 0;
		linelen = len;
		if (len > 0) {
			unsigned char last;

			evbuffer_ptr_set(in, &start, len - 1, EVBUFFER_PTR_SET);
			if (evbuffer_copyout_from(in, &start, &last, 1) == 1 && last == '\r')
				linelen--;
		}
		if (linelen > conn->max_line) {
			evbuffer_drain(in, len + 1);
			if (!report_event(conn, NET_CONN_LINE_TOO_LONG))
				return;
			continue;
		}
		buf_reset(&conn->line);
		if (linelen > 0) {
			unsigned char *p = buf_reserve(&conn->line, linelen);

			i_assert(p != NULL); /* linelen <= max_line < the buffer's max */
			evbuffer_copyout(in, p, linelen);
			buf_commit(&conn->line, linelen);
		}
		evbuffer_drain(in, len + 1);
		conn->cb.line(conn, conn->ctx, buf_str(&conn->line), linelen);
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct net_conn *conn = arg;

	if (conn->closed || conn->failed || conn->input_over)
		return;
	conn->refcount++;
	process_input(conn);
	conn_unref(conn);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_conn *conn = arg;

	if (conn->closing) {
		closing_check(conn);
		return;
	}
	read_cb(conn->bev, conn);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct net_conn *conn = arg;

	if (conn->closing) {
		closing_check(conn);
		return;
	}
	if (conn->closed || conn->cb.drained == NULL)
		return;
	conn->refcount++;
	conn->cb.drained(conn, conn->ctx);
	conn_unref(conn);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct net_conn *conn = arg;
	enum net_conn_event event;

	if (conn->closing) {
		if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) != 0) {
			/* the peer went away or stopped reading: give up flushing */
			conn_release_io(conn);
			conn_unref(conn);
		}
		return;
	}
	if (conn->closed)
		return;
	if ((what & BEV_EVENT_CONNECTED) != 0) {
		if (conn->connecting) {
			conn->connecting = false;
			report_event(conn, NET_CONN_CONNECTED);
		} else if (conn->handshaking) {
			conn->handshaking = false;
			report_event(conn, NET_CONN_TLS_READY);
		}
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) != 0 && (what & BEV_EVENT_WRITING) == 0) {
		/* the client said nothing for too long: it may still read the
		   protocol's goodbye (RFC 5321 4.5.3.2 "421 timeout") */
		conn->input_over = true;
		if (conn->bev != NULL)
			bufferevent_disable(conn->bev, EV_READ);
		report_event(conn, NET_CONN_TIMEOUT);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) != 0) {
		event = NET_CONN_TIMEOUT;
	} else if ((what & BEV_EVENT_EOF) != 0) {
		event = NET_CONN_EOF;
	} else {
		unsigned long err = conn->ssl != NULL ? bufferevent_get_openssl_error(bev) : 0;

		if (err != 0) {
			char text[256];

			ERR_error_string_n(err, text, sizeof(text));
			log_debug("net", "tls error peer=%s error=%s", conn->peer_ip, log_str(text));
			event = NET_CONN_TLS_ERROR;
		} else if (conn->handshaking) {
			event = NET_CONN_TLS_ERROR;
		} else {
			event = NET_CONN_IO_ERROR;
		}
		/* drain the rest of OpenSSL's queue: stale errors confuse the next connection */
		while (conn->ssl != NULL && bufferevent_get_openssl_error(bev) != 0)
			;
	}
	conn->failed = true;
	if (conn->bev != NULL)
		bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
	report_event(conn, event);
}
