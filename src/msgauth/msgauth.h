#ifndef TERN_MSGAUTH_H
#define TERN_MSGAUTH_H

#include "lib.h"
#include "dns.h"

/*
 * Sender authentication (src/msgauth): what every part of it shares.
 *
 * The library sits in the second tier, beside src/message and src/net: it
 * parses what strangers publish and send (SPF, DKIM key and DMARC records,
 * DKIM-Signature and ARC fields, Authentication-Results), canonicalises,
 * signs and verifies with OpenSSL, and asks DNS through the seam below.
 * It knows nothing of SMTP sessions, the queue or delivery: the protocol
 * layer calls it and decides what to do with the results.
 */

/* The results of RFC 8601 2.7 (one set for every method; each method uses
   the ones its RFC defines: SPF all but POLICY, DKIM all but SOFTFAIL, DMARC
   and ARC NONE PASS FAIL TEMPERROR PERMERROR). */
enum msgauth_result {
	MSGAUTH_NONE,
	MSGAUTH_PASS,
	MSGAUTH_FAIL,
	MSGAUTH_SOFTFAIL,
	MSGAUTH_NEUTRAL,
	MSGAUTH_POLICY,
	MSGAUTH_TEMPERROR,
	MSGAUTH_PERMERROR,
};

/* "none", "pass", "fail", ... as Authentication-Results writes them. */
const char *msgauth_result_name(enum msgauth_result result);
/* The reverse (case-insensitive); -1 when name is none of them. */
int msgauth_result_parse(const char *name, size_t len);

/*
 * The DNS seam: every lookup of the library goes through one of these, so
 * that unit tests answer from a table and the server from c-ares
 * (dns.h). A lookup's callback is never called from inside lookup(); a
 * cancelled lookup's never at all.
 */
struct msgauth_dns_ops {
	/* Start a lookup; returns a handle for cancel(). */
	void *(*lookup)(void *impl, enum dns_type type, const char *name,
			dns_callback *cb, void *ctx);
	void (*cancel)(void *impl, void *query);
};

struct msgauth_dns {
	const struct msgauth_dns_ops *ops;
	void *impl;
};

/* A seam over a c-ares resolver (which must outlive it). */
void msgauth_dns_init_resolver(struct msgauth_dns *dns, struct dns_resolver *resolver);

static inline void *msgauth_dns_lookup(const struct msgauth_dns *dns, enum dns_type type,
				       const char *name, dns_callback *cb, void *ctx)
{
	return dns->ops->lookup(dns->impl, type, name, cb, ctx);
}

/* NULL-safe; sets *query NULL. */
static inline void msgauth_dns_cancel(const struct msgauth_dns *dns, void **query)
{
	if (*query != NULL)
		dns->ops->cancel(dns->impl, *query);
	*query = NULL;
}

/* Is name a syntactically valid DNS name of letters, digits, '-' and '_'
   (RFC 1035 2.3.4 lengths: labels 1-63 bytes, 253 in all), with at least
   two labels when multi_label? A trailing dot is allowed. */
bool msgauth_domain_valid(const char *name, size_t len, bool multi_label);

#endif
