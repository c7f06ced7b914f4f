#ifndef TERN_LISTENER_H
#define TERN_LISTENER_H

#include "lib.h"

#include <sys/socket.h>

/*
 * A listening TCP socket on a net_loop. Bound and listening as soon as it
 * is opened (so a server can bind its ports, drop privileges, then run the
 * loop); accepted sockets are nonblocking and close-on-exec and go to the
 * accept callback, which owns them from then on.
 * When the process runs out of descriptors (EMFILE/ENFILE) or memory, the
 * listener stops accepting for a second and logs it once, instead of
 * spinning on a socket that stays readable.
 */
struct net_loop;
struct net_listener;

typedef void net_accept_cb(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len);

/* Bind addr (SO_REUSEADDR; IPv6 sockets are IPv6-only) and listen. name
   goes in log lines ("smtp"). Returns NULL with *error_r ("bind
   127.0.0.1:25: Address already in use"; valid until the next call in this
   thread) on failure. */
struct net_listener *net_listener_open(struct net_loop *loop, const char *name,
				       const struct sockaddr *addr, socklen_t addr_len,
				       net_accept_cb *cb, void *ctx, const char **error_r);
void net_listener_close(struct net_listener **listener);

/* Stop or resume accepting (e.g. at the connection limit). */
void net_listener_set_enabled(struct net_listener *listener, bool enabled);
/* The bound port (useful after binding port 0). */
unsigned int net_listener_port(const struct net_listener *listener);
int net_listener_fd(const struct net_listener *listener);

/* "127.0.0.1:25" or "[::1]:25" for addr, into a thread-local buffer valid
   for the next 4 calls in this thread. */
const char *net_addr_str(const struct sockaddr *addr);
/* "127.0.0.1" or "::1" (no port); same lifetime rules. */
const char *net_ip_str(const struct sockaddr *addr);
/* 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
bool net_addr_is_loopback(const struct sockaddr *addr);

#endif
