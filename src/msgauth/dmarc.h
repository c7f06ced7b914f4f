#ifndef TERN_DMARC_H
#define TERN_DMARC_H

#include "msgauth.h"

/*
 * DMARC (RFC 7489, with np= of RFC 9091): the policy record parser, the
 * policy discovery (6.6.3: _dmarc.<From domain>, else _dmarc.<its
 * Organizational Domain>), and the evaluation of SPF and DKIM results for
 * alignment (3.1) into a result and a disposition. The Organizational
 * Domain comes from the Public Suffix List (psl.h).
 */

struct arena;
struct psl;

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

/* "none", "quarantine", "reject" */
const char *dmarc_policy_name(enum dmarc_policy policy);

struct dmarc_record {
	enum dmarc_policy p;
	enum dmarc_policy sp;           /* = p when absent */
	enum dmarc_policy np;           /* = sp when absent (RFC 9091 4.1) */
	bool has_sp, has_np;
	bool adkim_strict, aspf_strict; /* "s"; default "r" (relaxed) */
	unsigned int pct;               /* 0-100, default 100 */
	const char **rua;               /* aggregate report URIs, as written ("mailto:..."[!size]) */
	unsigned int rua_count;
	unsigned int ri;                /* report interval, seconds (default 86400) */
	const char *fo;                 /* failure reporting options, as written, or NULL */
};

/* Does a TXT record start with the v=DMARC1 tag (6.4)? */
bool dmarc_record_is_dmarc(const char *txt, size_t len);
/* Parse a record (6.3, 6.4). A missing or bad p= is an error unless a
   valid rua= is there (then p=none, 6.6.3); a bad value of another known
   tag leaves its default; unknown tags are ignored. 0, or -1 with a static
   *error_r. */
int dmarc_record_parse(struct arena *arena, const char *txt, size_t len,
		       struct dmarc_record *record_r, const char **error_r);

/* What the policy discovery found. */
struct dmarc_policy_lookup {
	enum msgauth_result status;     /* PASS: a record; NONE: no record; TEMPERROR; PERMERROR
	                                   (several records, or one that does not parse) */
	const char *from_domain;        /* lowercase */
	const char *org_domain;         /* of from_domain */
	const char *policy_domain;      /* where the record was: from_domain or org_domain */
	struct dmarc_record record;
	bool from_exists;               /* false only when from_domain is NXDOMAIN (RFC 9091) */
	const char *reason;
};

struct dmarc_lookup;
/* Called once, from a DNS callback, with the finished lookup (valid until
   dmarc_lookup_free). */
typedef void dmarc_lookup_cb(const struct dmarc_policy_lookup *res, void *ctx);

/* Start the discovery for from_domain; psl must outlive the lookup. The
   callback is never called from inside this call: when nothing needs DNS
   (a malformed domain: permerror), dmarc_lookup_result() has the answer at
   once. */
struct dmarc_lookup *dmarc_lookup_start(struct arena *arena, const struct msgauth_dns *dns,
					const struct psl *psl, const char *from_domain,
					dmarc_lookup_cb *cb, void *ctx);
/* The result, or NULL while lookups run. */
const struct dmarc_policy_lookup *dmarc_lookup_result(const struct dmarc_lookup *l);
/* Give up: temperror. */
void dmarc_lookup_timeout(struct dmarc_lookup *l);
void dmarc_lookup_free(struct dmarc_lookup **l);

/* An authenticated identifier for alignment. */
struct dmarc_auth {
	enum msgauth_result result;
	const char *domain;
};

struct dmarc_outcome {
	enum msgauth_result result;     /* NONE (no policy), PASS, FAIL, TEMPERROR, PERMERROR */
	enum dmarc_policy policy;       /* the policy that applies: p, sp or np */
	enum dmarc_policy disposition;  /* what to do with a FAIL after pct (NONE for the rest) */
	bool spf_aligned;               /* an aligned SPF pass */
	bool dkim_aligned;              /* an aligned DKIM pass */
	const char *aligned_dkim_domain;
	const char *reason;
};

/* Evaluate (3.1, 6.6.2, 6.6.4, RFC 9091 4.2). spf: the SPF result and the
   domain it is about (MAIL FROM's, or HELO for the null sender). dkim:
   the results of every signature. random_pct: a number in [0, 100) to
   sample pct= with. */
void dmarc_evaluate(const struct psl *psl, struct arena *arena,
		    const struct dmarc_policy_lookup *policy, const struct dmarc_auth *spf,
		    const struct dmarc_auth *dkim, unsigned int dkim_count,
		    unsigned int random_pct, struct dmarc_outcome *out);

/* Are a and b aligned (3.1.1, 3.1.2): the same domain in strict mode, the
   same Organizational Domain in relaxed mode? */
bool dmarc_aligned(const struct psl *psl, struct arena *arena, const char *a, const char *b,
		   bool strict);

#endif
