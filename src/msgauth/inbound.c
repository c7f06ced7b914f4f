/*
 * The checks of one incoming message: SPF, DKIM, ARC and DMARC run side by
 * side on the DNS seam while the message arrives; at its end the verdict
 * and the Authentication-Results value are made. See inbound.h.
 */
#include "inbound.h"
#include "address.h"
#include "arc.h"
#include "arena.h"
#include "authres.h"
#include "dkim-keys.h"
#include "dkim-verify.h"
#include "dmarc-report.h"
#include "dmarc.h"
#include "header-parser.h"
#include "header.h"
#include "log.h"
#include "msgauth-context.h"
#include "settings.h"
#include "spf.h"
#include "tern-limits.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <netinet/in.h>
#include <stdio.h>

enum header_state {
	HEADER_HOLD,      /* the header block is being collected */
	HEADER_BODY,      /* it was handled: the body streams through */
	HEADER_TOO_BIG,   /* past the limit: everything streams through unchecked */
};

struct msgauth_inbound {
	struct arena *arena;
	const struct msgauth_context *ctx;
	const struct tern_settings *set;
	struct event_base *base;
	struct msgauth_dns dns;
	struct msgauth_inbound_params p;
	char ip_text[INET6_ADDRSTRLEN];

	struct spf_request spf_req;
	struct spf_check *spf;
	bool spf_helo;

	enum header_state hstate;
	buf_t header;
	bool line_start, cr_at_line_start;
	struct msg_header hdr;

	struct dkim_verifier *dkim;
	bool dkim_done;
	struct arc_verifier *arc;      /* only when the message has ARC fields */
	bool arc_checked;
	bool arc_done;
	struct dmarc_lookup *dmarc;
	const char *from_domain;     /* the RFC5322.From domain */
	const char *from_problem;    /* why there is none */

	/* signing mail of local origin: the body hash made on the way */
	bool signing;
	struct dkim_body_hasher sign_hasher;
	unsigned char sign_digest[EVP_MAX_MD_SIZE];
	unsigned int sign_digest_len;

	bool finishing, decided;
	struct event *timer, *deliver_ev;
	msgauth_inbound_cb *cb;
	void *cb_ctx;
	unsigned int forged;
	struct msgauth_verdict verdict;
};

static void check_complete(struct msgauth_inbound *in);

static void spf_done(const struct spf_outcome *o, void *ctx)
{
	check_complete(ctx);
}

static void dkim_done(void *ctx)
{
	struct msgauth_inbound *in = ctx;

	in->dkim_done = true;
	check_complete(in);
}

static void arc_done(void *ctx)
{
	struct msgauth_inbound *in = ctx;

	in->arc_done = true;
	check_complete(in);
}

static void dmarc_done(const struct dmarc_policy_lookup *res, void *ctx)
{
	check_complete(ctx);
}

struct msgauth_inbound *msgauth_inbound_new(const struct msgauth_context *ctx,
					    struct event_base *base, const struct msgauth_dns *dns,
					    const struct msgauth_inbound_params *params)
{
	struct arena *arena = arena_new(16 * 1024);
	struct msgauth_inbound *in = arena_new_type(arena, struct msgauth_inbound);
	const struct tern_settings *set = ctx->set;

	in->arena = arena;
	in->ctx = ctx;
	in->set = set;
	in->base = base;
	in->dns = *dns;
	in->p = *params;
	in->p.helo = arena_strdup(arena, params->helo != NULL ? params->helo : "");
	in->p.mail_from = arena_strdup(arena, params->mail_from != NULL ? params->mail_from : "");
	in->line_start = true;
	buf_init(&in->header, TERN_MSGAUTH_MAX_HEADER_SIZE);
	if (params->ip.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)&params->ip)->sin_addr,
			  in->ip_text, sizeof(in->ip_text));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)&params->ip)->sin6_addr,
			  in->ip_text, sizeof(in->ip_text));
	if (in->p.verify && set->spf_verify) {
		in->spf_req.ip = params->ip;
		in->spf_req.receiver = ctx->authserv_id;
		in->spf_req.now = params->now;
		spf_request_identity(arena, &in->spf_req, in->p.mail_from, in->p.helo);
		in->spf_helo = in->p.mail_from[0] == '\0';
		in->spf = spf_check_start(arena, &in->dns, &in->spf_req, spf_done, in);
	}
	return in;
}

/* RFC 7489 6.6.1: the one domain of the one From field. */
static void find_from_domain(struct msgauth_inbound *in)
{
	const struct msg_header_field *f;
	struct msg_address *a;
	const char *domain = NULL;

	if (msg_header_count(&in->hdr, "From") != 1) {
		in->from_problem = msg_header_count(&in->hdr, "From") == 0 ? "no From field" :
			"several From fields";
		return;
	}
	f = msg_header_get(&in->hdr, "From");
	for (a = msg_address_parse(in->arena, f->value, f->value_len); a != NULL; a = a->next) {
		if (a->group_start || a->group_end)
			continue;
		if (a->domain == NULL) {
			in->from_problem = "a From address without a domain";
			return;
		}
		if (domain != NULL && i_strcasecmp(domain, a->domain) != 0) {
			in->from_problem = "From addresses of several domains";
			return;
		}
		domain = a->domain;
	}
	if (domain == NULL) {
		in->from_problem = "no From address";
		return;
	}
	in->from_domain = domain;
}

/* The header block is complete (or all there is). */
static void header_done(struct msgauth_inbound *in, buf_t *out)
{
	const struct tern_settings *set = in->set;

	msg_header_parse_block(in->arena, in->header.data, in->header.used, 0,
			       TERN_MIME_MAX_HEADER_FIELDS, false, &in->hdr);
	in->forged = authres_remove_forged((const char *)in->header.data, in->header.used,
					   in->ctx->authserv_id, out);
	in->hstate = HEADER_BODY;
	if (in->p.sign && set->dkim_sign) {
		find_from_domain(in);
		if (in->from_domain != NULL) {
			in->signing = true;
			dkim_body_hasher_init(&in->sign_hasher, DKIM_CANON_RELAXED, false, UINT64_MAX);
		}
	}
	if (!in->p.verify)
		return;
	if (set->dkim_verify || set->dmarc_verify) {
		in->dkim = dkim_verifier_new(in->arena, &in->dns, in->p.now, dkim_done, in);
		dkim_verifier_header(in->dkim, &in->hdr, (const char *)in->header.data);
	}
	in->arc_checked = set->arc_verify;
	if (set->arc_verify && (msg_header_count(&in->hdr, "ARC-Seal") > 0 ||
				msg_header_count(&in->hdr, "ARC-Message-Signature") > 0 ||
				msg_header_count(&in->hdr, "ARC-Authentication-Results") > 0)) {
		in->arc = arc_verifier_new(in->arena, &in->dns, in->p.now, arc_done, in);
		arc_verifier_header(in->arc, &in->hdr, (const char *)in->header.data);
	}
	if (set->dmarc_verify && in->ctx->psl != NULL) {
		if (in->from_domain == NULL && in->from_problem == NULL)
			find_from_domain(in);
		if (in->from_domain != NULL)
			in->dmarc = dmarc_lookup_start(in->arena, &in->dns, in->ctx->psl,
						       in->from_domain, dmarc_done, in);
	}
}

static void body(struct msgauth_inbound *in, const void *data, size_t len)
{
	if (in->signing)
		dkim_body_hasher_feed(&in->sign_hasher, data, len);
	if (in->dkim != NULL)
		dkim_verifier_body(in->dkim, data, len);
	if (in->arc != NULL)
		arc_verifier_body(in->arc, data, len);
}

int msgauth_inbound_feed(struct msgauth_inbound *in, const void *data, size_t len, buf_t *out)
{
	const unsigned char *p = data;
	size_t i;

	if (in->hstate == HEADER_BODY) {
		body(in, data, len);
		return buf_append(out, data, len);
	}
	if (in->hstate == HEADER_TOO_BIG)
		return buf_append(out, data, len);
	/* the first empty line (CRLF or LF alone) ends the header */
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (in->line_start && c == '\n')
			break;
		if (in->line_start && c == '\r' && !in->cr_at_line_start) {
			in->cr_at_line_start = true;
			continue;
		}
		in->cr_at_line_start = false;
		in->line_start = c == '\n';
	}
	if (i == len) {
		if (buf_append(&in->header, data, len) < 0) {
			/* too much header to check: pass everything on as it is */
			in->hstate = HEADER_TOO_BIG;
			if (buf_append(out, in->header.data, in->header.used) < 0)
				return -1;
			buf_free(&in->header);
			buf_init(&in->header, 1);
			return buf_append(out, data, len);
		}
		return 0;
	}
	/* the header ends with byte i (its empty line) */
	if (buf_append(&in->header, data, i + 1) < 0) {
		in->hstate = HEADER_TOO_BIG;
		if (buf_append(out, in->header.data, in->header.used) < 0)
			return -1;
		buf_free(&in->header);
		buf_init(&in->header, 1);
		return buf_append(out, data, len);
	}
	header_done(in, out);
	body(in, p + i + 1, len - i - 1);
	return buf_append(out, p + i + 1, len - i - 1);
}

static void timeout(evutil_socket_t fd, short what, void *ctx)
{
	struct msgauth_inbound *in = ctx;

	/* what is still running becomes a temperror */
	if (in->spf != NULL)
		spf_check_timeout(in->spf);
	if (in->dkim != NULL && !in->dkim_done) {
		dkim_verifier_timeout(in->dkim);
		in->dkim_done = true;
	}
	if (in->arc != NULL && !in->arc_done) {
		arc_verifier_timeout(in->arc);
		in->arc_done = true;
	}
	if (in->dmarc != NULL)
		dmarc_lookup_timeout(in->dmarc);
	log_info("msgauth", "lookups timed out ip=%s from=<%s>", in->ip_text,
		 log_str(in->p.mail_from));
	check_complete(in);
}

static void deliver(evutil_socket_t fd, short what, void *ctx)
{
	struct msgauth_inbound *in = ctx;

	in->cb(&in->verdict, in->cb_ctx);
}

int msgauth_inbound_finish(struct msgauth_inbound *in, buf_t *out, msgauth_inbound_cb *cb,
			   void *ctx)
{
	struct timeval tv = { in->set->limits.auth_check_timeout, 0 };

	if (in->hstate == HEADER_HOLD) {
		/* no empty line: the whole message is its header */
		header_done(in, out);
	}
	in->cb = cb;
	in->cb_ctx = ctx;
	if (in->signing) {
		uint64_t total;

		dkim_body_hasher_finish(&in->sign_hasher, in->sign_digest, &in->sign_digest_len,
					&total);
	}
	in->dkim_done = in->dkim == NULL || dkim_verifier_body_end(in->dkim);
	in->arc_done = in->arc == NULL || arc_verifier_body_end(in->arc);
	in->deliver_ev = event_new(in->base, -1, 0, deliver, in);
	in->timer = evtimer_new(in->base, timeout, in);
	if (in->deliver_ev == NULL || in->timer == NULL)
		i_fatal("msgauth: cannot make events");
	evtimer_add(in->timer, &tv);
	in->finishing = true;
	check_complete(in);
	return 0;
}

/* ---- the verdict ---- */

static enum msgauth_result best_dkim(const struct dkim_verify_result *r, unsigned int n)
{
	static const enum msgauth_result order[] = {
		MSGAUTH_PASS, MSGAUTH_FAIL, MSGAUTH_POLICY, MSGAUTH_NEUTRAL, MSGAUTH_TEMPERROR,
		MSGAUTH_PERMERROR,
	};
	unsigned int i, k;

	for (k = 0; k < N_ELEMENTS(order); k++) {
		for (i = 0; i < n; i++) {
			if (r[i].result == order[k])
				return order[k];
		}
	}
	return MSGAUTH_NONE;
}

static void report(struct msgauth_inbound *in, const struct dmarc_policy_lookup *pol,
		   const struct dmarc_outcome *o, const struct dkim_verify_result *dk,
		   unsigned int n, enum msgauth_result spf, enum dmarc_policy disposition)
{
	struct dmarc_report_dkim *d = arena_new_array(in->arena, struct dmarc_report_dkim, n + 1);
	struct dmarc_report_row row;
	unsigned int i, k = 0;

	for (i = 0; i < n; i++) {
		if (dk[i].domain == NULL)
			continue;
		d[k].domain = dk[i].domain;
		d[k].selector = dk[i].selector;
		d[k].result = dk[i].result;
		k++;
	}
	memset(&row, 0, sizeof(row));
	row.when = in->p.now;
	row.source_ip = in->ip_text;
	row.header_from = pol->from_domain;
	row.policy_domain = pol->policy_domain;
	row.record = &pol->record;
	row.disposition = disposition;
	row.dkim_aligned = o->dkim_aligned;
	row.spf_aligned = o->spf_aligned;
	row.spf_domain = in->spf_req.domain;
	row.spf_helo = in->spf_helo;
	row.spf = spf;
	row.dkim = d;
	row.dkim_count = k;
	dmarc_reports_add(in->ctx->reports, &row);
}

static void decide(struct msgauth_inbound *in)
{
	const struct tern_settings *set = in->set;
	struct msgauth_verdict *v = &in->verdict;
	const struct spf_outcome *spf = in->spf != NULL ? spf_check_outcome(in->spf) : NULL;
	const struct dkim_verify_result *dk = NULL;
	unsigned int ndk = in->dkim != NULL ? dkim_verifier_results(in->dkim, &dk) : 0, i;
	const struct dmarc_policy_lookup *pol = in->dmarc != NULL ? dmarc_lookup_result(in->dmarc) : NULL;
	struct dmarc_outcome dm;
	enum dmarc_policy disposition = DMARC_POLICY_NONE;
	const char *arc_reason = NULL, *sealer = NULL;
	unsigned int arc_n = 0;
	buf_t ar;

	memset(v, 0, sizeof(*v));
	memset(&dm, 0, sizeof(dm));
	v->action = MSGAUTH_ACCEPT;
	v->forged_removed = in->forged;
	if (!in->p.verify)
		return;
	v->spf = spf != NULL ? spf->result : MSGAUTH_NONE;
	v->dkim = best_dkim(dk, ndk);
	v->arc = in->arc != NULL ? arc_verifier_result(in->arc, &arc_reason, &arc_n, &sealer) :
		MSGAUTH_NONE;
	if (set->dmarc_verify) {
		v->dmarc_domain = in->from_domain;
		if (pol != NULL) {
			struct dmarc_auth spf_auth = { v->spf, in->spf_req.domain };
			struct dmarc_auth *auths = arena_new_array(in->arena, struct dmarc_auth, ndk + 1);

			for (i = 0; i < ndk; i++) {
				auths[i].result = dk[i].result;
				auths[i].domain = dk[i].domain;
			}
			dmarc_evaluate(in->ctx->psl, in->arena, pol, &spf_auth, auths, ndk,
				       in->p.random_pct, &dm);
		} else {
			dm.result = in->from_problem != NULL ? MSGAUTH_PERMERROR : MSGAUTH_NONE;
			dm.reason = in->from_problem;
		}
		v->dmarc = dm.result;
	}

	/* the policy, as the administrator configured it (docs/msgauth.md) */
	if (dm.result == MSGAUTH_FAIL) {
		const char *what = dm.disposition == DMARC_POLICY_REJECT ? set->dmarc_reject :
			dm.disposition == DMARC_POLICY_QUARANTINE ? set->dmarc_quarantine : "none";

		if (strcmp(what, "reject") == 0) {
			v->action = MSGAUTH_REJECT;
			v->code = 550;
			v->enhanced = "5.7.1";
			v->text = arena_printf(in->arena, "Email rejected per DMARC policy for %s",
					       in->from_domain);
			disposition = DMARC_POLICY_REJECT;
		} else if (strcmp(what, "quarantine") == 0 || strcmp(what, "junk") == 0) {
			v->action = MSGAUTH_QUARANTINE;
			disposition = DMARC_POLICY_QUARANTINE;
		}
	}
	if (v->action == MSGAUTH_ACCEPT && set->spf_reject_fail && v->spf == MSGAUTH_FAIL &&
	    dm.result != MSGAUTH_PASS) {
		/* RFC 7208 8.4 (and RFC 7372 3.2 for the code); never when
		   DMARC passed on DKIM (RFC 7489 10.1) */
		v->action = MSGAUTH_REJECT;
		v->code = 550;
		v->enhanced = "5.7.23";
		v->text = spf->explanation != NULL ?
			arena_printf(in->arena, "SPF check failed: %s", spf->explanation) :
			arena_printf(in->arena, "SPF check failed for %s", in->spf_req.domain);
	}

	/* Authentication-Results (RFC 8601 2.7) */
	buf_init(&ar, 64 * 1024);
	authres_begin(&ar, in->ctx->authserv_id);
	if (spf != NULL)
		authres_add(&ar, "spf", spf->result, spf->reason,
			    in->spf_helo ? "smtp.helo" : "smtp.mailfrom",
			    in->spf_helo ? in->p.helo : in->p.mail_from, NULL);
	if (in->dkim != NULL) {
		if (ndk == 0)
			authres_add(&ar, "dkim", MSGAUTH_NONE, "no signatures", NULL);
		for (i = 0; i < ndk; i++) {
			const struct dkim_verify_result *r = &dk[i];
			const char *comment = r->reason;
			char b8[9] = "";

			if (r->result == MSGAUTH_PASS)
				comment = arena_printf(in->arena, "%u-bit key%s", r->key_bits,
						       r->testing ? "; testing" : "");
			if (r->b_text != NULL)
				snprintf(b8, sizeof(b8), "%s", r->b_text);
			authres_add(&ar, "dkim", r->result, comment, "header.d", r->domain,
				    "header.i", r->auid, "header.s", r->selector,
				    "header.a", r->domain != NULL ? dkim_alg_name(r->alg) : NULL,
				    "header.b", b8[0] != '\0' ? b8 : NULL, NULL);
		}
	}
	if (in->arc_checked)
		authres_add(&ar, "arc", v->arc, v->arc == MSGAUTH_PASS ?
			    arena_printf(in->arena, "i=%u sealer %s", arc_n, sealer) : arc_reason,
			    NULL);
	if (set->dmarc_verify) {
		const char *comment = dm.reason;

		if (pol != NULL && pol->status == MSGAUTH_PASS)
			comment = arena_printf(in->arena, "p=%s sp=%s dis=%s",
					       dmarc_policy_name(pol->record.p),
					       dmarc_policy_name(pol->record.sp),
					       dmarc_policy_name(disposition));
		authres_add(&ar, "dmarc", dm.result, comment, "header.from", in->from_domain, NULL);
	}
	authres_finish(&ar);
	v->auth_results = arena_strndup(in->arena, ar.data, ar.used);
	buf_free(&ar);
	v->log = arena_printf(in->arena, "spf=%s dkim=%s arc=%s dmarc=%s%s%s",
			      msgauth_result_name(v->spf), msgauth_result_name(v->dkim),
			      msgauth_result_name(v->arc), msgauth_result_name(v->dmarc),
			      in->from_domain != NULL ? " header_from=" : "",
			      in->from_domain != NULL ? log_str(in->from_domain) : "");
	if (in->ctx->reports != NULL && pol != NULL && pol->status == MSGAUTH_PASS &&
	    pol->record.rua_count > 0)
		report(in, pol, &dm, dk, ndk, v->spf, disposition);
}

static void check_complete(struct msgauth_inbound *in)
{
	if (!in->finishing || in->decided)
		return;
	if ((in->spf != NULL && spf_check_outcome(in->spf) == NULL) || !in->dkim_done ||
	    !in->arc_done || (in->dmarc != NULL && dmarc_lookup_result(in->dmarc) == NULL))
		return;
	in->decided = true;
	evtimer_del(in->timer);
	decide(in);
	/* the callback comes from the loop, never from inside this API */
	event_active(in->deliver_ev, EV_TIMEOUT, 0);
}

int msgauth_inbound_sign(struct msgauth_inbound *in, buf_t *out)
{
	struct dkim_signer *signers;
	const char *error;
	unsigned int n, i;
	int count = 0;
	char *domain;

	if (!in->signing || in->sign_digest_len == 0)
		return 0;
	domain = arena_strdup(in->arena, in->from_domain);
	i_str_lower(domain);
	n = dkim_keystore_signers(in->ctx->keys, domain, &signers);
	for (i = 0; i < n; i++) {
		if (dkim_sign_header(&signers[i], &in->hdr, (const char *)in->header.data,
				     in->sign_digest, in->sign_digest_len,
				     dkim_default_signed_headers, 0, time(NULL), out, &error) < 0)
			log_error("msgauth", "dkim signing failed domain=%s selector=%s error=%s",
				  domain, signers[i].selector, error);
		else
			count++;
	}
	if (n > 0)
		dkim_signers_free(signers, n);
	return count;
}

void msgauth_inbound_free(struct msgauth_inbound **inp)
{
	struct msgauth_inbound *in = *inp;
	struct arena *arena;

	if (in == NULL)
		return;
	*inp = NULL;
	spf_check_free(&in->spf);
	dkim_verifier_free(&in->dkim);
	arc_verifier_free(&in->arc);
	dmarc_lookup_free(&in->dmarc);
	if (in->signing)
		dkim_body_hasher_deinit(&in->sign_hasher);
	if (in->timer != NULL)
		event_free(in->timer);
	if (in->deliver_ev != NULL)
		event_free(in->deliver_ev);
	buf_free(&in->header);
	arena = in->arena;
	arena_free(&arena);
}
