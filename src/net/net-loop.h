#ifndef TERN_NET_LOOP_H
#define TERN_NET_LOOP_H

#include "lib.h"

/*
 * An event loop: a libevent event_base plus the process's signal handling.
 * One per thread that serves connections. SIGPIPE is ignored as soon as
 * the first loop is made (a peer that goes away is an EPIPE, not a death).
 */
struct event_base;
struct net_loop;

/* Called on SIGTERM/SIGINT (signo tells which): begin a graceful stop and
   call net_loop_stop() when done. */
typedef void net_stop_cb(void *ctx, int signo);
/* Called on SIGHUP. */
typedef void net_reload_cb(void *ctx);

struct net_loop *net_loop_new(void);
/* Frees the loop; every listener and connection on it must be gone. */
void net_loop_free(struct net_loop **loop);
/* The libevent base, for code that adds its own events. Owned by the loop. */
struct event_base *net_loop_base(struct net_loop *loop);

/* Catch SIGTERM, SIGINT and SIGHUP while the loop runs. stop == NULL means
   "stop the loop at once"; reload == NULL means SIGHUP is logged and
   otherwise ignored. Signals are process-wide: one loop at a time may
   handle them (the one in the main thread). */
void net_loop_handle_signals(struct net_loop *loop, net_stop_cb *stop,
			     net_reload_cb *reload, void *ctx);

/* Run until net_loop_stop() or until nothing is left to wait for.
   Returns 0, or -1 if the loop failed. */
int net_loop_run(struct net_loop *loop);
/* Make net_loop_run() return after the current callback. Safe from any
   callback on this loop's thread. */
void net_loop_stop(struct net_loop *loop);
/* The signal that began the stop (SIGTERM/SIGINT), 0 if none. */
int net_loop_stop_signal(const struct net_loop *loop);

/* Run one round of the loop, waiting at most timeout_msecs for an event
   (tests drive a loop this way). Returns like net_loop_run(). */
int net_loop_run_once(struct net_loop *loop, unsigned int timeout_msecs);

#endif
