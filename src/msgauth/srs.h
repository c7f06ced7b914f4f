#ifndef TERN_SRS_H
#define TERN_SRS_H

#include "lib.h"

#include <time.h>

/*
 * The Sender Rewriting Scheme (Shevek's SRS, as libsrs2 and postsrsd do
 * it): when tern forwards a message from a foreign sender to another
 * domain, MAIL FROM becomes an address of tern's own domain, so SPF at
 * the destination passes, and a bounce sent to it finds its way back:
 *
 *   alice@example.org          -> SRS0=HHHHHH=TT=example.org=alice@srs.domain
 *   SRS0=hh=TT=d=l@fwd.example -> SRS1=HHHHHH=fwd.example==hh=TT=d=l@srs.domain
 *
 * HHHHHH is an HMAC (SHA-256, base32, 6 characters) of the rest under a
 * secret only tern knows, TT the day (base32, modulo 1024): a bounce to a
 * forged or stale address is refused, so the rewriting is no open relay.
 * Hashes compare case-insensitively (some systems change case).
 */

struct arena;

struct srs {
	const unsigned char *secret;
	size_t secret_len;
	const char *domain;          /* the domain of rewritten addresses */
	unsigned int max_age_days;   /* how long a rewritten address is honoured */
};

/* The rewritten sender, in arena; NULL when nothing is to be done (the
   null sender, or one of srs->domain already). */
const char *srs_forward(struct arena *arena, const struct srs *srs, const char *sender,
			time_t now);

/* Undo a rewriting for a recipient address at srs->domain. Returns 1 with
   *orig_r (in arena), 0 when address is no SRS address, -1 with a static
   *error_r when it is one but forged, broken or too old. */
int srs_reverse(struct arena *arena, const struct srs *srs, const char *address, time_t now,
		const char **orig_r, const char **error_r);

/* Does this local part look like SRS ("SRS0=", "SRS1=", any case, or with
   '+' or '-' after the digit)? */
bool srs_is_srs(const char *local_part);

#endif
