#ifndef TERN_WAKEUP_H
#define TERN_WAKEUP_H

#include "lib.h"

/*
 * Waking an object that lives on an event loop from any thread: the
 * mailbox store tells an IDLE-ing IMAP session that mail arrived from a
 * delivery thread, and the session must react on its own loop.
 *
 *   w = net_wakeup_new(loop);                       // one per loop
 *   net_wakeup_target_init(&session->wake, cb, session);
 *   net_wakeup_signal(w, &session->wake);           // any thread, any number of times
 *       -> cb(session) runs on the loop, once per burst of signals
 *   net_wakeup_cancel(w, &session->wake);           // loop thread, before freeing it
 *
 * A target signalled several times before its callback ran is called once.
 * After net_wakeup_cancel() the callback is not called for signals made
 * before it; the caller must make sure none come after it (unregister
 * from whatever signals it first).
 */
struct net_loop;
struct net_wakeup;

struct net_wakeup_target {
	struct net_wakeup_target *next;
	void (*cb)(void *ctx);
	void *ctx;
	bool queued;
};

struct net_wakeup *net_wakeup_new(struct net_loop *loop);
/* Every target must have been cancelled or delivered. */
void net_wakeup_free(struct net_wakeup **w);

void net_wakeup_target_init(struct net_wakeup_target *t, void (*cb)(void *ctx), void *ctx);
void net_wakeup_signal(struct net_wakeup *w, struct net_wakeup_target *t);
void net_wakeup_cancel(struct net_wakeup *w, struct net_wakeup_target *t);

#endif
