/*
 * check_host() (RFC 7208 4) as a state machine on the DNS seam: a stack of
 * frames (the checked domain, then one per include), each walking its
 * record's terms; a term that needs DNS starts its lookups and the
 * evaluation resumes when the last of them answers. Lookups of one step
 * (the addresses of every MX host, of every PTR name) run in parallel.
 *
 * Limits (4.6.4): at most TERN_SPF_MAX_LOOKUPS DNS-querying terms
 * (include, a, mx, ptr, exists, redirect), TERN_SPF_MAX_VOID_LOOKUPS
 * lookups answering NXDOMAIN or nothing, TERN_SPF_MAX_MX_NAMES MX names per
 * mx, TERN_SPF_MAX_PTR_NAMES PTR names: past them, permerror (PTR names
 * beyond the limit are ignored).
 */
#include "spf.h"
#include "arena.h"
#include "tern-limits.h"

#include <netinet/in.h>
#include <stdio.h>

#define SPF_MAX_DEPTH (TERN_SPF_MAX_LOOKUPS + 2)
#define SPF_MAX_ACTIVE 32

enum step {
	STEP_NONE,
	STEP_RECORD,
	STEP_A,
	STEP_MX,
	STEP_MX_ADDR,
	STEP_PTR,
	STEP_PTR_ADDR,
	STEP_EXISTS,
	STEP_P_PTR,
	STEP_P_ADDR,
	STEP_EXP,
};

struct spf_frame {
	const char *domain;
	struct spf_record rec;
	bool have_record;
	bool redirected;          /* reached through redirect=: no record is a permerror (6.1) */
	unsigned int term;
};

struct query {
	struct spf_check *c;
	void *handle;
	unsigned int slot;        /* which name, for address lookups */
	bool active;
};

struct spf_check {
	struct arena *arena;
	struct msgauth_dns dns;
	struct spf_request req;
	spf_done_cb *cb;
	void *ctx;

	bool v4;                  /* the client address family */
	uint8_t ip[16];

	struct spf_frame frames[SPF_MAX_DEPTH];
	unsigned int depth;
	unsigned int lookups, voids;

	enum step step;
	struct query *active[SPF_MAX_ACTIVE];
	unsigned int outstanding;

	/* the step's findings */
	enum dns_status status;   /* RECORD, A, MX, PTR, EXISTS, P_PTR, EXP */
	const char **txt;         /* RECORD, EXP: the records */
	unsigned int txt_count;
	bool matched;             /* an address matched (A, MX_ADDR) */
	bool tempfail;            /* MX_ADDR: some lookup failed */
	const char *target;       /* the term's expanded target */
	const char **names;       /* MX or PTR names */
	unsigned int name_count;
	bool *validated;          /* PTR_ADDR / P_ADDR: per name */

	/* %{p}: validated names of the client, looked up once */
	bool p_done;
	const char **p_names;
	unsigned int p_count;

	bool in_call;             /* inside spf_check_start / _timeout: no cb */
	bool done;
	enum msgauth_result pending_result;  /* a fail waiting for its explanation */
	const char *pending_reason;
	struct spf_outcome out;
};

static void advance(struct spf_check *c);
static void answer(const struct dns_result *res, void *ctx);

static void cancel_all(struct spf_check *c)
{
	unsigned int i;

	for (i = 0; i < SPF_MAX_ACTIVE; i++) {
		if (c->active[i] != NULL) {
			msgauth_dns_cancel(&c->dns, &c->active[i]->handle);
			c->active[i]->active = false;
			c->active[i] = NULL;
		}
	}
	c->outstanding = 0;
}

static void finish(struct spf_check *c, enum msgauth_result result, const char *reason,
		   const char *explanation)
{
	if (c->done)
		return;
	cancel_all(c);
	c->done = true;
	c->out.result = result;
	c->out.reason = reason;
	c->out.explanation = explanation;
	c->out.domain = c->req.domain;
	if (!c->in_call)
		c->cb(&c->out, c->ctx);
}

static void lookup(struct spf_check *c, enum dns_type type, const char *name, unsigned int slot)
{
	struct query *q = arena_new_type(c->arena, struct query);
	unsigned int i;

	for (i = 0; i < SPF_MAX_ACTIVE && c->active[i] != NULL; i++)
		;
	i_assert(i < SPF_MAX_ACTIVE);
	q->c = c;
	q->slot = slot;
	q->active = true;
	c->active[i] = q;
	c->outstanding++;
	q->handle = msgauth_dns_lookup(&c->dns, type, name, answer, q);
}

/* Count a void lookup (4.6.4); false when the limit is passed (and the
   check is over). */
static bool count_void(struct spf_check *c)
{
	if (++c->voids > TERN_SPF_MAX_VOID_LOOKUPS) {
		finish(c, MSGAUTH_PERMERROR, "too many void DNS lookups", NULL);
		return false;
	}
	return true;
}

static bool count_lookup(struct spf_check *c)
{
	if (++c->lookups > TERN_SPF_MAX_LOOKUPS) {
		finish(c, MSGAUTH_PERMERROR, "too many DNS lookups", NULL);
		return false;
	}
	return true;
}

static bool net_match(const uint8_t *ip, const uint8_t *net, unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(ip, net, full) != 0)
		return false;
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		return (ip[full] & mask) == (net[full] & mask);
	}
	return true;
}

/* Does one looked-up address match the client with the term's CIDR? */
static bool addr_match(const struct spf_check *c, const struct sockaddr_storage *sa,
		       unsigned int cidr4, unsigned int cidr6)
{
	if (sa->ss_family == AF_INET && c->v4)
		return net_match(c->ip, (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr, cidr4);
	if (sa->ss_family == AF_INET6 && !c->v4)
		return net_match(c->ip, (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, cidr6);
	return false;
}

static const char *reverse_name(struct spf_check *c)
{
	if (c->v4)
		return arena_printf(c->arena, "%u.%u.%u.%u.in-addr.arpa", c->ip[3], c->ip[2],
				    c->ip[1], c->ip[0]);
	else {
		char *out = arena_alloc(c->arena, 80), *p = out;

		for (unsigned int i = 16; i > 0; i--)
			p += sprintf(p, "%x.%x.", c->ip[i - 1] & 0xf, c->ip[i - 1] >> 4);
		strcpy(p, "ip6.arpa");
		return out;
	}
}

static bool is_subdomain_or_same(const char *name, const char *domain)
{
	size_t nl = strlen(name), dl = strlen(domain);

	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	if (dl > 0 && domain[dl - 1] == '.')
		dl--;
	if (nl == dl)
		return i_strncasecmp(name, domain, nl) == 0;
	return nl > dl && name[nl - dl - 1] == '.' &&
	       i_strncasecmp(name + nl - dl, domain, dl) == 0;
}

/* 7.3 %{p}: the domain itself if validated, else a subdomain of it, else
   any validated name, else "unknown". */
static const char *choose_validated(const struct spf_check *c, const char *domain)
{
	unsigned int i;

	for (i = 0; i < c->p_count; i++) {
		if (is_subdomain_or_same(c->p_names[i], domain) &&
		    strlen(c->p_names[i]) == strlen(domain))
			return c->p_names[i];
	}
	for (i = 0; i < c->p_count; i++) {
		if (is_subdomain_or_same(c->p_names[i], domain))
			return c->p_names[i];
	}
	return c->p_count > 0 ? c->p_names[0] : NULL;
}

static struct spf_frame *top(struct spf_check *c)
{
	return &c->frames[c->depth - 1];
}

static void pop_frame(struct spf_check *c, enum msgauth_result result, const char *reason);

/* The current term of the top frame matched: its qualifier is the frame's
   result (4.6.2). */
static void matched(struct spf_check *c)
{
	struct spf_frame *f = top(c);
	const struct spf_term *t = &f->rec.terms[f->term];

	pop_frame(c, t->qualifier, arena_printf(c->arena, "%s matched %s", f->domain, t->text));
}

static void start_explanation(struct spf_check *c, const char *reason)
{
	struct spf_frame *f = top(c);
	const char *name, *error;

	c->pending_result = MSGAUTH_FAIL;
	c->pending_reason = reason;
	name = spf_macro_expand(c->arena, f->rec.exp, &c->req, f->domain,
				choose_validated(c, f->domain), false, true, &error);
	if (name == NULL || !msgauth_domain_valid(name, strlen(name), true)) {
		/* 6.2: any trouble: no explanation */
		finish(c, MSGAUTH_FAIL, reason, NULL);
		return;
	}
	c->step = STEP_EXP;
	lookup(c, DNS_TYPE_TXT, name, 0);
}

static void pop_frame(struct spf_check *c, enum msgauth_result result, const char *reason)
{
	struct spf_frame *f = top(c);

	if (f->redirected && result == MSGAUTH_NONE) {
		/* 6.1: a redirect to a domain without a record */
		result = MSGAUTH_PERMERROR;
		reason = arena_printf(c->arena, "redirect to %s: no SPF record", f->domain);
	}
	if (c->depth == 1) {
		if (result == MSGAUTH_FAIL && f->rec.exp != NULL && f->have_record)
			start_explanation(c, reason);
		else
			finish(c, result, reason, NULL);
		return;
	}
	c->depth--;
	/* the parent's current term is the include (5.2) */
	switch (result) {
	case MSGAUTH_PASS:
		matched(c);
		return;
	case MSGAUTH_FAIL:
	case MSGAUTH_SOFTFAIL:
	case MSGAUTH_NEUTRAL:
		top(c)->term++;
		return;
	case MSGAUTH_TEMPERROR:
		finish(c, MSGAUTH_TEMPERROR, reason, NULL);
		return;
	default:
		finish(c, MSGAUTH_PERMERROR, result == MSGAUTH_NONE ?
		       arena_printf(c->arena, "include:%s has no SPF record", f->domain) : reason,
		       NULL);
		return;
	}
}

static void push_frame(struct spf_check *c, const char *domain)
{
	struct spf_frame *f;

	if (c->depth == SPF_MAX_DEPTH) {
		finish(c, MSGAUTH_PERMERROR, "includes nested too deep", NULL);
		return;
	}
	f = &c->frames[c->depth++];
	memset(f, 0, sizeof(*f));
	f->domain = domain;
}

static void start_record(struct spf_check *c, struct spf_frame *f)
{
	if (!msgauth_domain_valid(f->domain, strlen(f->domain), true)) {
		/* 4.3: a malformed or single-label domain: none */
		pop_frame(c, MSGAUTH_NONE, arena_printf(c->arena, "bad domain %s", f->domain));
		return;
	}
	c->step = STEP_RECORD;
	lookup(c, DNS_TYPE_TXT, f->domain, 0);
}

/* The record lookup answered (4.4, 4.5). */
static void record_done(struct spf_check *c)
{
	struct spf_frame *f = top(c);
	const char *spf = NULL, *error;
	unsigned int i, n = 0;

	if (c->status == DNS_TEMPFAIL) {
		finish(c, MSGAUTH_TEMPERROR, arena_printf(c->arena, "DNS failure looking up %s",
							  f->domain), NULL);
		return;
	}
	for (i = 0; i < c->txt_count; i++) {
		if (spf_record_is_spf(c->txt[i], strlen(c->txt[i]))) {
			spf = c->txt[i];
			n++;
		}
	}
	if (n == 0) {
		pop_frame(c, MSGAUTH_NONE, arena_printf(c->arena, "no SPF record at %s", f->domain));
		return;
	}
	if (n > 1) {
		finish(c, MSGAUTH_PERMERROR, arena_printf(c->arena, "several SPF records at %s",
							  f->domain), NULL);
		return;
	}
	if (spf_record_parse(c->arena, spf, strlen(spf), &f->rec, &error) < 0) {
		finish(c, MSGAUTH_PERMERROR, arena_printf(c->arena, "%s: %s", f->domain, error), NULL);
		return;
	}
	f->have_record = true;
	f->term = 0;
}

static void start_p(struct spf_check *c)
{
	c->step = STEP_P_PTR;
	lookup(c, DNS_TYPE_PTR, reverse_name(c), 0);
}

/* Start the lookups of one address per name (A for IPv4 clients, AAAA
   for IPv6), into step. */
static void lookup_names(struct spf_check *c, enum step step)
{
	unsigned int i;

	c->validated = arena_new_array(c->arena, bool, c->name_count + 1);
	c->matched = false;
	c->tempfail = false;
	c->step = step;
	for (i = 0; i < c->name_count; i++) {
		if (c->names[i][0] == '\0' ||
		    !msgauth_domain_valid(c->names[i], strlen(c->names[i]), false))
			continue;
		lookup(c, c->v4 ? DNS_TYPE_A : DNS_TYPE_AAAA, c->names[i], i);
	}
}

/* One term of the top frame (5). */
static void eval_term(struct spf_check *c, struct spf_frame *f)
{
	const struct spf_term *t = &f->rec.terms[f->term];
	const char *error;

	switch (t->mech) {
	case SPF_ALL:
		matched(c);
		return;
	case SPF_IP4:
	case SPF_IP6:
		if ((t->mech == SPF_IP4) == c->v4 &&
		    net_match(c->ip, t->net, c->v4 ? t->cidr4 : t->cidr6))
			matched(c);
		else
			f->term++;
		return;
	default:
		break;
	}
	if (t->domain_spec != NULL && spf_macro_uses_p(t->domain_spec) && !c->p_done) {
		start_p(c);
		return;
	}
	if (!count_lookup(c))
		return;
	c->target = t->domain_spec == NULL ? f->domain :
		spf_macro_expand(c->arena, t->domain_spec, &c->req, f->domain,
				 choose_validated(c, f->domain), false, true, &error);
	if (c->target == NULL) {
		finish(c, MSGAUTH_PERMERROR, arena_printf(c->arena, "%s: %s", t->text, error), NULL);
		return;
	}
	if (t->mech == SPF_INCLUDE) {
		push_frame(c, c->target);
		return;
	}
	if (t->mech != SPF_PTR && !msgauth_domain_valid(c->target, strlen(c->target), false)) {
		/* nothing to ask DNS about: as a name that does not exist */
		if (count_void(c))
			f->term++;
		return;
	}
	switch (t->mech) {
	case SPF_A:
		c->step = STEP_A;
		c->matched = false;
		lookup(c, c->v4 ? DNS_TYPE_A : DNS_TYPE_AAAA, c->target, 0);
		return;
	case SPF_MX:
		c->step = STEP_MX;
		lookup(c, DNS_TYPE_MX, c->target, 0);
		return;
	case SPF_PTR:
		c->step = STEP_PTR;
		lookup(c, DNS_TYPE_PTR, reverse_name(c), 0);
		return;
	case SPF_EXISTS:
		c->step = STEP_EXISTS;
		/* 5.7: always an A lookup, whatever the client's family */
		lookup(c, DNS_TYPE_A, c->target, 0);
		return;
	default:
		i_panic("spf: unexpected mechanism");
	}
}

/* The last lookup of a step answered: decide it. */
static void step_done(struct spf_check *c)
{
	struct spf_frame *f = top(c);
	enum step step = c->step;
	unsigned int i;

	c->step = STEP_NONE;
	switch (step) {
	case STEP_NONE:
		return;
	case STEP_RECORD:
		record_done(c);
		return;
	case STEP_A:
	case STEP_EXISTS:
		if (c->status == DNS_TEMPFAIL) {
			finish(c, MSGAUTH_TEMPERROR, arena_printf(c->arena, "DNS failure looking up %s",
								  c->target), NULL);
		} else if (c->matched) {
			matched(c);
		} else {
			f->term++;
		}
		return;
	case STEP_MX:
		if (c->status == DNS_TEMPFAIL) {
			finish(c, MSGAUTH_TEMPERROR, arena_printf(c->arena, "DNS failure looking up %s",
								  c->target), NULL);
			return;
		}
		if (c->status != DNS_FOUND) {
			f->term++;
			return;
		}
		if (c->name_count > TERN_SPF_MAX_MX_NAMES) {
			/* 4.6.4 */
			finish(c, MSGAUTH_PERMERROR, arena_printf(c->arena, "more than %u MX names at %s",
								  TERN_SPF_MAX_MX_NAMES, c->target),
			       NULL);
			return;
		}
		lookup_names(c, STEP_MX_ADDR);
		if (c->outstanding == 0)
			f->term++;
		return;
	case STEP_MX_ADDR:
		if (c->tempfail)
			finish(c, MSGAUTH_TEMPERROR, arena_printf(c->arena, "DNS failure on an MX host of %s",
								  c->target), NULL);
		else if (c->matched)
			matched(c);
		else
			f->term++;
		return;
	case STEP_PTR:
		/* 5.5: a DNS error makes the mechanism not match */
		if (c->status != DNS_FOUND) {
			f->term++;
			return;
		}
		if (c->name_count > TERN_SPF_MAX_PTR_NAMES)
			c->name_count = TERN_SPF_MAX_PTR_NAMES;
		lookup_names(c, STEP_PTR_ADDR);
		if (c->outstanding == 0)
			f->term++;
		return;
	case STEP_PTR_ADDR:
		for (i = 0; i < c->name_count; i++) {
			if (c->validated[i] && is_subdomain_or_same(c->names[i], c->target)) {
				matched(c);
				return;
			}
		}
		f->term++;
		return;
	case STEP_P_PTR:
		if (c->status != DNS_FOUND) {
			c->p_done = true;
			return;
		}
		if (c->name_count > TERN_SPF_MAX_PTR_NAMES)
			c->name_count = TERN_SPF_MAX_PTR_NAMES;
		lookup_names(c, STEP_P_ADDR);
		if (c->outstanding == 0)
			c->p_done = true;
		return;
	case STEP_P_ADDR:
		c->p_names = arena_new_array(c->arena, const char *, c->name_count + 1);
		for (i = 0; i < c->name_count; i++) {
			if (c->validated[i])
				c->p_names[c->p_count++] = c->names[i];
		}
		c->p_done = true;
		return;
	case STEP_EXP: {
		const char *text = NULL, *error;

		/* 6.2: exactly one TXT record, macro-expanded */
		if (c->status == DNS_FOUND && c->txt_count == 1)
			text = spf_macro_expand(c->arena, c->txt[0], &c->req, f->domain,
						choose_validated(c, f->domain), true, false, &error);
		finish(c, c->pending_result, c->pending_reason, text);
		return;
	}
	}
}

static void answer(const struct dns_result *res, void *ctx)
{
	struct query *q = ctx;
	struct spf_check *c = q->c;
	unsigned int i;

	for (i = 0; i < SPF_MAX_ACTIVE; i++) {
		if (c->active[i] == q) {
			c->active[i] = NULL;
			break;
		}
	}
	q->active = false;
	q->handle = NULL;
	c->outstanding--;
	if (c->step != STEP_EXP && c->step != STEP_P_PTR && c->step != STEP_P_ADDR &&
	    (res->status == DNS_NXDOMAIN || res->status == DNS_NODATA) && !count_void(c))
		return;
	switch (c->step) {
	case STEP_RECORD:
	case STEP_EXP:
		c->status = res->status;
		c->txt_count = 0;
		if (res->status == DNS_FOUND) {
			c->txt = arena_new_array(c->arena, const char *, res->txt_count + 1);
			for (i = 0; i < res->txt_count; i++) {
				/* a record holding NUL is not one we can use */
				if (strlen(res->txt[i]) == res->txt_lens[i])
					c->txt[c->txt_count++] = arena_strdup(c->arena, res->txt[i]);
			}
		}
		break;
	case STEP_A:
	case STEP_EXISTS:
		c->status = res->status;
		c->matched = false;
		for (i = 0; i < res->addr_count; i++) {
			const struct spf_term *t = &top(c)->rec.terms[top(c)->term];

			if (c->step == STEP_EXISTS || addr_match(c, &res->addrs[i], t->cidr4, t->cidr6))
				c->matched = true;
		}
		break;
	case STEP_MX:
		c->status = res->status;
		c->name_count = res->mx_count;
		c->names = arena_new_array(c->arena, const char *, res->mx_count + 1);
		for (i = 0; i < res->mx_count; i++)
			c->names[i] = arena_strdup(c->arena, res->mx[i].host);
		break;
	case STEP_PTR:
	case STEP_P_PTR:
		c->status = res->status;
		c->name_count = res->name_count;
		c->names = arena_new_array(c->arena, const char *, res->name_count + 1);
		for (i = 0; i < res->name_count; i++)
			c->names[i] = arena_strdup(c->arena, res->names[i]);
		break;
	case STEP_MX_ADDR: {
		const struct spf_term *t = &top(c)->rec.terms[top(c)->term];

		if (res->status == DNS_TEMPFAIL)
			c->tempfail = true;
		for (i = 0; i < res->addr_count; i++) {
			if (addr_match(c, &res->addrs[i], t->cidr4, t->cidr6))
				c->matched = true;
		}
		break;
	}
	case STEP_PTR_ADDR:
	case STEP_P_ADDR:
		for (i = 0; i < res->addr_count; i++) {
			if (addr_match(c, &res->addrs[i], 32, 128))
				c->validated[q->slot] = true;
		}
		break;
	case STEP_NONE:
		break;
	}
	if (c->outstanding > 0)
		return;
	step_done(c);
	advance(c);
}

/* Run until a lookup is needed or the result is known. */
static void advance(struct spf_check *c)
{
	while (!c->done && c->outstanding == 0) {
		struct spf_frame *f = top(c);

		if (!f->have_record) {
			start_record(c, f);
			continue;
		}
		if (f->term < f->rec.count) {
			eval_term(c, f);
			continue;
		}
		if (f->rec.redirect != NULL) {
			const char *target, *error;

			/* 6.1: redirect when no mechanism matched */
			if (spf_macro_uses_p(f->rec.redirect) && !c->p_done) {
				start_p(c);
				continue;
			}
			if (!count_lookup(c))
				return;
			target = spf_macro_expand(c->arena, f->rec.redirect, &c->req, f->domain,
						  choose_validated(c, f->domain), false, true, &error);
			if (target == NULL) {
				finish(c, MSGAUTH_PERMERROR, error, NULL);
				return;
			}
			memset(f, 0, sizeof(*f));
			f->domain = target;
			f->redirected = true;
			continue;
		}
		/* 4.7: nothing matched */
		pop_frame(c, MSGAUTH_NEUTRAL, arena_printf(c->arena, "%s: no mechanism matched",
							   f->domain));
	}
}

struct spf_check *spf_check_start(struct arena *arena, const struct msgauth_dns *dns,
				  const struct spf_request *req, spf_done_cb *cb, void *ctx)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct spf_check *c = arena_new_type(arena, struct spf_check);

	c->arena = arena;
	c->dns = *dns;
	c->req = *req;
	c->cb = cb;
	c->ctx = ctx;
	if (req->ip.ss_family == AF_INET) {
		c->v4 = true;
		memcpy(c->ip, &((const struct sockaddr_in *)(const void *)&req->ip)->sin_addr, 4);
	} else {
		const uint8_t *a = (const uint8_t *)
			&((const struct sockaddr_in6 *)(const void *)&req->ip)->sin6_addr;

		/* 5: an IPv4-mapped IPv6 client is an IPv4 client */
		if (memcmp(a, v4mapped, 12) == 0) {
			c->v4 = true;
			memcpy(c->ip, a + 12, 4);
			memset(&c->req.ip, 0, sizeof(c->req.ip));
			c->req.ip.ss_family = AF_INET;
			memcpy(&((struct sockaddr_in *)(void *)&c->req.ip)->sin_addr, a + 12, 4);
		} else {
			memcpy(c->ip, a, 16);
		}
	}
	c->in_call = true;
	push_frame(c, req->domain);
	advance(c);
	c->in_call = false;
	return c;
}

const struct spf_outcome *spf_check_outcome(const struct spf_check *c)
{
	return c->done ? &c->out : NULL;
}

void spf_check_timeout(struct spf_check *c)
{
	c->in_call = true;
	finish(c, MSGAUTH_TEMPERROR, "DNS lookups timed out", NULL);
	c->in_call = false;
}

void spf_check_free(struct spf_check **cp)
{
	struct spf_check *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	cancel_all(c);
}
