#ifndef TERN_CONNECTION_H
#define TERN_CONNECTION_H

#include "lib.h"

#include <sys/socket.h>

/*
 * A TCP connection (plain or TLS) on a net_loop, over a libevent
 * bufferevent, with bounded line reading:
 *   - input is split into lines at LF; a CR before the LF is dropped, and
 *     the callback gets the line without its terminator, NUL-terminated
 *     (the line may hold NULs: use len);
 *   - a line longer than max_line bytes (terminator excluded) is never
 *     truncated or delivered: NET_CONN_LINE_TOO_LONG is reported once, the
 *     rest of that line is discarded up to its LF, and line reading goes
 *     on (the protocol answers with an error or closes);
 *   - raw mode hands over bytes as they come (IMAP literals, bulk data);
 *   - pause/resume stop delivering input (and reading from the socket)
 *     while the protocol waits for something, e.g. an fsync;
 *   - input buffered while paused is bounded: reading stops at
 *     max_line + 64 KiB.
 * Callbacks may close the connection (net_conn_close): nothing of it is
 * touched afterwards. No callback runs from inside a net_conn_* call.
 */
struct net_loop;
struct net_conn;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

enum net_conn_event {
	NET_CONN_EOF,             /* the peer closed its side */
	NET_CONN_LINE_TOO_LONG,   /* a line passed max_line; its bytes are being discarded */
	NET_CONN_TIMEOUT,         /* nothing read (or written) within the idle timeout */
	NET_CONN_IO_ERROR,        /* read/write failed (reset, ...) */
	NET_CONN_TLS_ERROR,       /* TLS handshake or record error */
	NET_CONN_CONNECTED,       /* net_conn_connect(): the connection is up */
	NET_CONN_TLS_READY,       /* the TLS handshake has completed */
};

struct net_conn_callbacks {
	/* One complete line (line mode). */
	void (*line)(struct net_conn *conn, void *ctx, const char *line, size_t len);
	/* Raw mode: bytes available; return how many were consumed (0 =
	   wait for more; the rest stays buffered). At most max_line + 64 KiB
	   is ever buffered, so a consumer must not wait for more than that. */
	size_t (*raw)(struct net_conn *conn, void *ctx, const unsigned char *data, size_t len);
	/* Something happened. After EOF, IO_ERROR, TLS_ERROR or TIMEOUT the
	   connection only waits to be closed. */
	void (*event)(struct net_conn *conn, void *ctx, enum net_conn_event event);
	/* Optional: all output has been handed to the kernel (flow control
	   for large responses). */
	void (*drained)(struct net_conn *conn, void *ctx);
};

/* Take over fd (a connected, nonblocking socket). peer may be NULL.
   ssl_ctx != NULL: implicit TLS as the server side (imaps, pop3s,
   submissions). The connection starts reading at once. */
struct net_conn *net_conn_new(struct net_loop *loop, int fd,
			      const struct sockaddr *peer, socklen_t peer_len,
			      SSL_CTX *ssl_ctx, size_t max_line,
			      const struct net_conn_callbacks *cb, void *ctx);
/* Connect to addr (nonblocking); NET_CONN_CONNECTED or NET_CONN_IO_ERROR
   follows. Returns NULL with *error_r (strerror text) if the socket can't
   even be made. */
struct net_conn *net_conn_connect(struct net_loop *loop, const struct sockaddr *addr,
				  socklen_t addr_len, size_t max_line,
				  const struct net_conn_callbacks *cb, void *ctx,
				  const char **error_r);

/* Close at once (pending output is dropped); no callback follows. Safe
   inside callbacks. Sets *conn to NULL. */
void net_conn_close(struct net_conn **conn);
/* Stop reading, send what is queued, then close (e.g. after "221 Bye").
   No callback follows. Sets *conn to NULL. */
void net_conn_close_after_write(struct net_conn **conn);

/* Queue output. Returns 0, -1 if the connection is failing (ignored data). */
int net_conn_write(struct net_conn *conn, const void *data, size_t len);
int net_conn_write_str(struct net_conn *conn, const char *str);
int net_conn_printf(struct net_conn *conn, const char *fmt, ...) ATTR_FORMAT(2, 3);
/* Bytes queued and not yet sent. */
size_t net_conn_output_size(const struct net_conn *conn);

/* Idle timeout in seconds for reading and for writing; 0 = none. */
void net_conn_set_idle_timeout(struct net_conn *conn, unsigned int secs);
void net_conn_set_max_line(struct net_conn *conn, size_t max_line);
/* Raw mode on/off; takes effect for the next input delivered. */
void net_conn_set_raw(struct net_conn *conn, bool raw);
/* Stop / restart delivering input. Input buffered while paused is
   delivered (from the loop, not from inside resume) after resume. */
void net_conn_pause(struct net_conn *conn);
void net_conn_resume(struct net_conn *conn);

/* Start TLS on a plain connection (STARTTLS, RFC 3207 / RFC 2595): as
   the server (server = true) or as a client (then sni names the server,
   may be NULL). Any input already buffered is discarded: RFC 3207 section
   4.2 says nothing sent before the handshake may be trusted (the
   CVE-2011-0411 command injection). Output queued before this call (the
   "220 Ready to start TLS") is still sent in the clear. Returns 0, or -1
   with *error_r if TLS is already on or the SSL object can't be made. */
int net_conn_starttls(struct net_conn *conn, SSL_CTX *ssl_ctx, bool server,
		      const char *sni, const char **error_r);
bool net_conn_is_tls(const struct net_conn *conn);
/* The SSL object (peer certificate, cipher, ...), NULL without TLS. */
SSL *net_conn_ssl(const struct net_conn *conn);

/* The peer's address (family AF_UNSPEC if unknown), its IP as text, and
   whether it is loopback. Valid as long as the connection. */
const struct sockaddr *net_conn_peer(const struct net_conn *conn, socklen_t *len_r);
const char *net_conn_peer_ip(const struct net_conn *conn);
bool net_conn_peer_is_loopback(const struct net_conn *conn);
/* Acknowledge what was received now rather than after the kernel's
   delayed-ACK wait (TCP_QUICKACK; it lasts only until the next reads).
   For a peer that waits for that ACK before sending more (Nagle), e.g. a
   client sending an IMAP literal after its "{n+}" line. */
void net_conn_quickack(struct net_conn *conn);
/* The underlying socket (for getsockname etc.; do not read or write it). */
int net_conn_fd(const struct net_conn *conn);

#endif
