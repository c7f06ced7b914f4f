#ifndef TERN_AUTH_THROTTLE_H
#define TERN_AUTH_THROTTLE_H

#include "lib.h"

#include <sys/socket.h>
#include <time.h>

/*
 * Failed-login bookkeeping across connections and protocols (SMTP AUTH,
 * IMAP LOGIN/AUTHENTICATE, POP3 USER/PASS/APOP/AUTH all count together).
 * Failures are remembered per client address (an IPv6 address per /64,
 * since one host usually owns the whole /64) and per target account over a
 * sliding window:
 *
 *   - an address with delay_after or more failures in the window waits
 *     before each further attempt is even checked (1 s, doubling per
 *     failure, at most AUTH_THROTTLE_MAX_DELAY_SECS): closing the
 *     connection early gains a guesser nothing;
 *   - an address with block_after failures in the window is refused
 *     without a check until block_time after its last failure;
 *   - an account with account_limit failures in the window refuses
 *     attempts from addresses that have failed before (on any account).
 *
 * An address without recent failures is never delayed or refused, so the
 * right password from there always works: a stranger cannot lock anyone
 * out. Successful logins change nothing (a guesser with one valid account
 * must not be able to wash its record clean).
 *
 * Memory is bounded: at most AUTH_THROTTLE_MAX_ENTRIES addresses and as
 * many accounts; when full, stale entries go first, then the entry whose
 * last failure is oldest. Not thread-safe: one per service (loop thread).
 * `now` is passed in, so tests run on an injected clock.
 */

struct auth_throttle_settings {
	unsigned int window;          /* seconds over which failures count */
	unsigned int delay_after;     /* failures from an address before attempts wait */
	unsigned int block_after;     /* failures from an address before it is refused */
	unsigned int block_time;      /* seconds an address stays refused after its last failure */
	unsigned int account_limit;   /* failures on an account before failing addresses are refused */
};

enum auth_throttle_verdict {
	AUTH_THROTTLE_OK,             /* check now */
	AUTH_THROTTLE_DELAY,          /* wait *delay_msecs_r, then check */
	AUTH_THROTTLE_REFUSE,         /* refuse without checking */
};

struct auth_throttle;

struct auth_throttle *auth_throttle_new(const struct auth_throttle_settings *set);
void auth_throttle_free(struct auth_throttle **throttle);

/* Before checking a login of account (may be NULL or "") from addr. */
enum auth_throttle_verdict auth_throttle_check(struct auth_throttle *throttle,
					       const struct sockaddr *addr, const char *account,
					       time_t now, unsigned int *delay_msecs_r);
/* Record a failed login. Returns the address's failures in the window
   (including this one), for the log. */
unsigned int auth_throttle_failure(struct auth_throttle *throttle, const struct sockaddr *addr,
				   const char *account, time_t now);
/* Failures of addr / account in the window (for logs and tests). */
unsigned int auth_throttle_addr_failures(struct auth_throttle *throttle,
					 const struct sockaddr *addr, time_t now);
unsigned int auth_throttle_account_failures(struct auth_throttle *throttle,
					    const char *account, time_t now);

#endif
