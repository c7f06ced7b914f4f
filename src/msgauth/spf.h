#ifndef TERN_SPF_H
#define TERN_SPF_H

#include "msgauth.h"

#include <sys/socket.h>
#include <time.h>

/*
 * SPF (RFC 7208): the record parser, macro expansion (7) and check_host()
 * (4) as an asynchronous evaluator on the DNS seam, with the processing
 * limits of 4.6.4 (10 DNS-querying terms, 2 void lookups, 10 MX names, 10
 * PTR names). Results: none, neutral, pass, fail, softfail, temperror,
 * permerror (2.6).
 */

struct arena;

enum spf_mechanism {
	SPF_ALL,
	SPF_INCLUDE,
	SPF_A,
	SPF_MX,
	SPF_PTR,
	SPF_IP4,
	SPF_IP6,
	SPF_EXISTS,
};

struct spf_term {
	enum spf_mechanism mech;
	enum msgauth_result qualifier;  /* PASS (+, the default), FAIL (-), SOFTFAIL (~), NEUTRAL (?) */
	const char *domain_spec;        /* a macro-string, or NULL (a, mx, ptr: the current domain) */
	unsigned int cidr4, cidr6;      /* a, mx: default 32 and 128; ip4/ip6: the prefix */
	uint8_t net[16];                /* ip4 (4 bytes) and ip6 networks, host bits as written */
	const char *text;               /* the term as written, for reports */
};

struct spf_record {
	struct spf_term *terms;
	unsigned int count;
	const char *redirect;           /* domain-spec of redirect=, or NULL */
	const char *exp;                /* domain-spec of exp=, or NULL */
};

/* Does this TXT record claim to be SPF ("v=spf1" then a space or the end,
   4.5)? */
bool spf_record_is_spf(const char *txt, size_t len);
/* Parse a record (4.6; the grammar of 12). Any syntax error is a permerror
   (4.6): 0, or -1 with *error_r (in arena or static). */
int spf_record_parse(struct arena *arena, const char *txt, size_t len,
		     struct spf_record *record_r, const char **error_r);
/* Is a macro-string a valid domain-spec (7.1: macro syntax, then a
   toplabel or a macro at the end)? exp: c, r and t are allowed. */
bool spf_domain_spec_valid(const char *spec, bool exp);

/* The identities and facts macros expand from (7.2). */
struct spf_request {
	struct sockaddr_storage ip;     /* the client; an IPv4-mapped IPv6 address is IPv4 */
	const char *sender;             /* MAIL FROM, or "postmaster@" HELO (2.3, 4.3) */
	const char *domain;             /* the domain checked: the sender's, or HELO */
	const char *helo;               /* HELO/EHLO argument */
	const char *receiver;           /* %{r}: this host's name */
	time_t now;                     /* %{t} */
};

/* Expand a macro-string (7.3). validated is %{p} ("unknown" when NULL).
   domain_query: the result names a domain (truncated from the left to 253
   bytes). Returns the expansion in arena, or NULL with *error_r on a
   syntax error or a result longer than TERN_SPF_MAX_EXPANSION. */
const char *spf_macro_expand(struct arena *arena, const char *spec,
			     const struct spf_request *req, const char *current_domain,
			     const char *validated, bool exp, bool domain_query,
			     const char **error_r);
/* Does spec use %{p}? */
bool spf_macro_uses_p(const char *spec);

struct spf_outcome {
	enum msgauth_result result;
	const char *reason;             /* what decided it ("matched ip4:192.0.2.0/24",
	                                   "no SPF record", "too many DNS lookups") */
	const char *explanation;        /* the exp= text of a fail, or NULL */
	const char *domain;             /* the domain checked */
};

struct spf_check;
/* Called once, from a DNS callback, when spf_check_start() did not finish
   at once. o is valid until the check is freed. */
typedef void spf_done_cb(const struct spf_outcome *o, void *ctx);

/* check_host(ip, domain, sender) of 4. Everything lives in arena (which
   must outlive the check); dns is copied. When the result needs no DNS
   (a malformed domain: none), spf_check_outcome() has it at once and cb
   is never called. */
struct spf_check *spf_check_start(struct arena *arena, const struct msgauth_dns *dns,
				  const struct spf_request *req, spf_done_cb *cb, void *ctx);
/* The outcome, or NULL while lookups run. */
const struct spf_outcome *spf_check_outcome(const struct spf_check *c);
/* Stop waiting: the result becomes temperror ("timeout"). */
void spf_check_timeout(struct spf_check *c);
/* Cancels lookups still running; NULL-safe; sets *c NULL. */
void spf_check_free(struct spf_check **c);

/* The sender's domain and local part for a MAIL FROM, or for the HELO
   identity when the reverse path is null (2.3, 2.4, 4.3): fills req's
   sender and domain in arena. */
void spf_request_identity(struct arena *arena, struct spf_request *req, const char *mail_from,
			  const char *helo);

#endif
