/*
 * DMARC policy discovery (RFC 7489 6.6.3, RFC 9091 4.2) on the DNS seam and
 * the evaluation of a message's SPF and DKIM results against it (3.1,
 * 6.6.2, 6.6.4). See dmarc.h.
 */
#include "dmarc.h"
#include "arena.h"
#include "psl.h"

enum lookup_step { STEP_FROM, STEP_ORG, STEP_EXISTS, STEP_DONE };

struct dmarc_lookup {
	struct arena *arena;
	struct msgauth_dns dns;
	const struct psl *psl;
	dmarc_lookup_cb *cb;
	void *ctx;
	enum lookup_step step;
	void *query;
	bool in_call;
	struct dmarc_policy_lookup res;
};

static void answer(const struct dns_result *res, void *ctx);

static void finish(struct dmarc_lookup *l, enum msgauth_result status, const char *reason)
{
	l->step = STEP_DONE;
	l->res.status = status;
	l->res.reason = reason;
	msgauth_dns_cancel(&l->dns, &l->query);
	if (!l->in_call)
		l->cb(&l->res, l->ctx);
}

static void ask(struct dmarc_lookup *l, enum lookup_step step, enum dns_type type,
		const char *name)
{
	l->step = step;
	l->query = msgauth_dns_lookup(&l->dns, type, name, answer, l);
}

static void answer(const struct dns_result *res, void *ctx)
{
	struct dmarc_lookup *l = ctx;
	unsigned int i, n = 0;
	const char *error = NULL, *found = NULL;
	size_t found_len = 0;

	l->query = NULL;
	if (l->step == STEP_EXISTS) {
		/* RFC 9091 2.1: a name answering NXDOMAIN does not exist */
		l->res.from_exists = res->status != DNS_NXDOMAIN;
		finish(l, MSGAUTH_PASS, NULL);
		return;
	}
	if (res->status == DNS_TEMPFAIL) {
		finish(l, MSGAUTH_TEMPERROR, "DNS failure looking up the DMARC policy");
		return;
	}
	for (i = 0; res->status == DNS_FOUND && i < res->txt_count; i++) {
		if (dmarc_record_is_dmarc(res->txt[i], res->txt_lens[i])) {
			found = res->txt[i];
			found_len = res->txt_lens[i];
			n++;
		}
	}
	if (n > 1) {
		/* 6.6.3: several records: DMARC is not applied */
		finish(l, MSGAUTH_NONE, "several DMARC records");
		return;
	}
	if (n == 1 && dmarc_record_parse(l->arena, found, found_len, &l->res.record, &error) == 0) {
		l->res.policy_domain = l->step == STEP_FROM ? l->res.from_domain : l->res.org_domain;
		if (l->step == STEP_ORG && l->res.record.has_np) {
			/* RFC 9091: np= applies when the From domain does not exist */
			ask(l, STEP_EXISTS, DNS_TYPE_A, l->res.from_domain);
			return;
		}
		finish(l, MSGAUTH_PASS, NULL);
		return;
	}
	if (l->step == STEP_FROM && strcmp(l->res.org_domain, l->res.from_domain) != 0) {
		ask(l, STEP_ORG, DNS_TYPE_TXT, arena_printf(l->arena, "_dmarc.%s", l->res.org_domain));
		return;
	}
	finish(l, MSGAUTH_NONE, error != NULL ? arena_printf(l->arena, "bad DMARC record: %s", error) :
	       "no DMARC record");
}

struct dmarc_lookup *dmarc_lookup_start(struct arena *arena, const struct msgauth_dns *dns,
					const struct psl *psl, const char *from_domain,
					dmarc_lookup_cb *cb, void *ctx)
{
	struct dmarc_lookup *l = arena_new_type(arena, struct dmarc_lookup);
	char *from;
	size_t len = strlen(from_domain);

	l->arena = arena;
	l->dns = *dns;
	l->psl = psl;
	l->cb = cb;
	l->ctx = ctx;
	l->res.from_exists = true;
	l->in_call = true;
	if (len > 0 && from_domain[len - 1] == '.')
		len--;
	from = arena_strndup(arena, from_domain, len);
	i_str_lower(from);
	l->res.from_domain = from;
	l->res.org_domain = msgauth_domain_valid(from, len, false) ?
		psl_org_domain(psl, arena, from) : NULL;
	if (l->res.org_domain == NULL) {
		finish(l, MSGAUTH_PERMERROR, "bad From domain");
	} else {
		ask(l, STEP_FROM, DNS_TYPE_TXT, arena_printf(arena, "_dmarc.%s", from));
	}
	l->in_call = false;
	return l;
}

const struct dmarc_policy_lookup *dmarc_lookup_result(const struct dmarc_lookup *l)
{
	return l->step == STEP_DONE ? &l->res : NULL;
}

void dmarc_lookup_timeout(struct dmarc_lookup *l)
{
	if (l->step == STEP_DONE)
		return;
	l->in_call = true;
	if (l->step == STEP_EXISTS) {
		/* the policy is known; only np= was in question */
		finish(l, MSGAUTH_PASS, NULL);
	} else {
		finish(l, MSGAUTH_TEMPERROR, "DMARC policy lookup timed out");
	}
	l->in_call = false;
}

void dmarc_lookup_free(struct dmarc_lookup **lp)
{
	struct dmarc_lookup *l = *lp;

	if (l == NULL)
		return;
	*lp = NULL;
	msgauth_dns_cancel(&l->dns, &l->query);
}

bool dmarc_aligned(const struct psl *psl, struct arena *arena, const char *a, const char *b,
		   bool strict)
{
	const char *oa, *ob;

	if (a == NULL || b == NULL)
		return false;
	if (i_strcasecmp(a, b) == 0)
		return true;
	if (strict)
		return false;
	oa = psl_org_domain(psl, arena, a);
	ob = psl_org_domain(psl, arena, b);
	return oa != NULL && ob != NULL && strcmp(oa, ob) == 0;
}

void dmarc_evaluate(const struct psl *psl, struct arena *arena,
		    const struct dmarc_policy_lookup *policy, const struct dmarc_auth *spf,
		    const struct dmarc_auth *dkim, unsigned int dkim_count,
		    unsigned int random_pct, struct dmarc_outcome *out)
{
	const struct dmarc_record *r = &policy->record;
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->policy = DMARC_POLICY_NONE;
	out->disposition = DMARC_POLICY_NONE;
	if (policy->status != MSGAUTH_PASS) {
		/* no policy (none), or it could not be read */
		out->result = policy->status;
		out->reason = policy->reason;
		return;
	}
	/* 6.6.2: an aligned pass of either */
	out->spf_aligned = spf != NULL && spf->result == MSGAUTH_PASS &&
		dmarc_aligned(psl, arena, spf->domain, policy->from_domain, r->aspf_strict);
	for (i = 0; i < dkim_count; i++) {
		if (dkim[i].result == MSGAUTH_PASS &&
		    dmarc_aligned(psl, arena, dkim[i].domain, policy->from_domain, r->adkim_strict)) {
			out->dkim_aligned = true;
			out->aligned_dkim_domain = dkim[i].domain;
			break;
		}
	}
	/* which policy: p= for the domain that published it, sp= for its
	   subdomains, np= for subdomains that do not exist (RFC 9091 4.2) */
	if (strcmp(policy->policy_domain, policy->from_domain) == 0)
		out->policy = r->p;
	else if (!policy->from_exists && r->has_np)
		out->policy = r->np;
	else
		out->policy = r->sp;
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = MSGAUTH_PASS;
		return;
	}
	out->result = MSGAUTH_FAIL;
	out->reason = "neither SPF nor DKIM aligned with the From domain";
	out->disposition = out->policy;
	/* 6.6.4: outside the pct= sample, the next policy down */
	if (random_pct >= r->pct) {
		if (out->disposition == DMARC_POLICY_REJECT)
			out->disposition = DMARC_POLICY_QUARANTINE;
		else
			out->disposition = DMARC_POLICY_NONE;
	}
}
