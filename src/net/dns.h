#ifndef TERN_DNS_H
#define TERN_DNS_H

#include "lib.h"

#include <sys/socket.h>

/*
 * An asynchronous DNS resolver (c-ares) on a libevent loop: MX, A and AAAA
 * lookups for outbound mail routing, TXT and PTR for sender authentication
 * (SPF, DKIM keys, DMARC policies: src/msgauth). Every answer is
 * classified the way mail routing needs it (RFC 5321 5.1):
 *   DNS_FOUND     records of the type asked for
 *   DNS_NXDOMAIN  the name does not exist (permanent)
 *   DNS_NODATA    the name exists without records of that type
 *   DNS_TEMPFAIL  SERVFAIL, REFUSED, timeout, network error (try later)
 * A resolver belongs to one thread (the one running its event_base).
 */

struct event_base;
struct dns_resolver;
struct dns_query;

enum dns_type {
	DNS_TYPE_A,
	DNS_TYPE_AAAA,
	DNS_TYPE_MX,
	DNS_TYPE_TXT,
	DNS_TYPE_PTR,
};

enum dns_status {
	DNS_FOUND,
	DNS_NXDOMAIN,
	DNS_NODATA,
	DNS_TEMPFAIL,
};

struct dns_mx {
	const char *host;          /* lowercase, no trailing dot; "" for the root "." */
	unsigned int preference;
};

struct dns_result {
	enum dns_status status;
	const char *name;          /* the name asked for */
	const char *error;         /* c-ares' description when not FOUND */
	/* MX lookups: the records in the order the server sent them */
	struct dns_mx *mx;
	unsigned int mx_count;
	/* A / AAAA lookups: addresses (port 0), as sent */
	struct sockaddr_storage *addrs;
	unsigned int addr_count;
	/* TXT lookups: one entry per record, its character-strings joined
	   with nothing between them (RFC 7208 3.3, RFC 6376 3.6.2.2); NUL-
	   terminated, but may hold NULs itself: use txt_lens */
	const char **txt;
	size_t *txt_lens;
	unsigned int txt_count;
	/* PTR lookups: the names, lowercase, no trailing dot */
	const char **names;
	unsigned int name_count;
};

/* Called once per lookup, always from the event loop (never from inside
   dns_lookup_*). res and everything it points to is valid during the call
   only. */
typedef void dns_callback(const struct dns_result *res, void *ctx);

struct dns_resolver_settings {
	/* "ip:port" or "[ipv6]:port" (several comma-separated); NULL or "":
	   the servers of /etc/resolv.conf */
	const char *servers;
	unsigned int timeout_msecs;  /* per try; 0 = 3000 */
	unsigned int tries;          /* 0 = 2 */
};

/* NULL with *error_r (static or c-ares text) when c-ares can't start. */
struct dns_resolver *dns_resolver_new(struct event_base *base,
				      const struct dns_resolver_settings *set,
				      const char **error_r);
/* Cancels every lookup still running: their callbacks are not called. */
void dns_resolver_free(struct dns_resolver **resolver);

/* Start a lookup; the returned handle is valid until the callback has
   run or dns_query_cancel() is called. */
struct dns_query *dns_lookup_mx(struct dns_resolver *r, const char *name,
				dns_callback *cb, void *ctx);
struct dns_query *dns_lookup_a(struct dns_resolver *r, const char *name,
			       dns_callback *cb, void *ctx);
struct dns_query *dns_lookup_aaaa(struct dns_resolver *r, const char *name,
				  dns_callback *cb, void *ctx);
/* Any of the types above. */
struct dns_query *dns_lookup(struct dns_resolver *r, enum dns_type type, const char *name,
			     dns_callback *cb, void *ctx);
/* The callback will not be called. Sets *query NULL; NULL-safe. */
void dns_query_cancel(struct dns_query **query);

/* "no such domain", "no data", "temporary failure" */
const char *dns_status_name(enum dns_status status);
/* "A", "AAAA", "MX", "TXT", "PTR" */
const char *dns_type_name(enum dns_type type);

#endif
