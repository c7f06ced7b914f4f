/*
 * The DKIM verifier (RFC 6376 6): signatures from the header, keys from
 * DNS while the body streams through shared hashers, then the checks of
 * 6.1.3. See dkim-verify.h.
 */
#include "dkim-verify.h"
#include "arena.h"
#include "header.h"
#include "log.h"
#include "tag-list.h"
#include "tern-limits.h"

#include <openssl/evp.h>
#include <openssl/crypto.h>

struct hasher {
	struct dkim_body_hasher h;
	enum dkim_canon canon;
	bool sha1;
	uint64_t limit;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len;
	uint64_t total;
};

struct sig_entry {
	struct dkim_verifier *v;
	struct dkim_verify_result res;
	struct dkim_signature sig;
	const char *field;          /* the raw field, in the header block */
	size_t field_len;
	size_t b_start, b_end;      /* the b= value in field */
	unsigned int hasher;
	void *query;
	bool key_ready;             /* pkey is loaded */
	bool strict;                /* t=s */
	EVP_PKEY *pkey;
	bool final;                 /* res is decided */
};

struct dkim_verifier {
	struct arena *arena;
	struct msgauth_dns dns;
	time_t now;
	dkim_verifier_done_cb *done;
	void *ctx;

	const struct msg_header *hdr;
	const char *raw;
	struct sig_entry *sigs;
	unsigned int count;
	struct dkim_verify_result *results;  /* copies, for dkim_verifier_results */
	struct hasher *hashers;
	unsigned int hasher_count;
	unsigned int pending;       /* key lookups running */
	bool body_done;
};

static void key_answer(const struct dns_result *res, void *ctx);
static void evaluate(struct sig_entry *e);

struct dkim_verifier *dkim_verifier_new(struct arena *arena, const struct msgauth_dns *dns,
					time_t now, dkim_verifier_done_cb *done, void *ctx)
{
	struct dkim_verifier *v = arena_new_type(arena, struct dkim_verifier);

	v->arena = arena;
	v->dns = *dns;
	v->now = now;
	v->done = done;
	v->ctx = ctx;
	return v;
}

static void finalize(struct sig_entry *e, enum msgauth_result result, const char *reason)
{
	e->res.result = result;
	e->res.reason = reason;
	e->final = true;
	if (e->pkey != NULL) {
		EVP_PKEY_free(e->pkey);
		e->pkey = NULL;
	}
}

static unsigned int hasher_for(struct dkim_verifier *v, const struct dkim_signature *sig)
{
	uint64_t limit = sig->has_length ? sig->length : UINT64_MAX;
	bool sha1 = sig->alg == DKIM_ALG_RSA_SHA1;
	unsigned int i;

	for (i = 0; i < v->hasher_count; i++) {
		if (v->hashers[i].canon == sig->body_canon && v->hashers[i].sha1 == sha1 &&
		    v->hashers[i].limit == limit)
			return i;
	}
	i = v->hasher_count++;
	v->hashers[i].canon = sig->body_canon;
	v->hashers[i].sha1 = sha1;
	v->hashers[i].limit = limit;
	dkim_body_hasher_init(&v->hashers[i].h, sig->body_canon, sha1, limit);
	return i;
}

/* d= of a field the parser refused, for the report when it can be read. */
static const char *salvage_domain(struct arena *arena, const char *value, size_t len)
{
	struct msgauth_tag_list list;
	const struct msgauth_tag *d;
	const char *error;

	if (msgauth_tag_list_parse(arena, value, len, &list, &error) < 0)
		return NULL;
	d = msgauth_tag_get(&list, "d");
	if (d == NULL || !msgauth_domain_valid(d->value, d->value_len, false))
		return NULL;
	return arena_strndup(arena, d->value, d->value_len);
}

const char *dkim_key_name(struct arena *arena, const char *selector, const char *domain)
{
	return arena_printf(arena, "%s._domainkey.%s", selector, domain);
}

void dkim_verifier_header(struct dkim_verifier *v, const struct msg_header *hdr, const char *raw)
{
	unsigned int i, n = 0;

	v->hdr = hdr;
	v->raw = raw;
	for (i = 0; i < hdr->count; i++) {
		if (i_strcasecmp(hdr->fields[i].name, "DKIM-Signature") == 0)
			n++;
	}
	if (n > TERN_DKIM_MAX_SIGNATURES)
		n = TERN_DKIM_MAX_SIGNATURES;
	v->sigs = arena_new_array(v->arena, struct sig_entry, n + 1);
	v->hashers = arena_new_array(v->arena, struct hasher, n + 1);
	for (i = 0; i < hdr->count && v->count < n; i++) {
		const struct msg_header_field *f = &hdr->fields[i];
		struct sig_entry *e;
		const char *field = raw + f->offset, *colon, *error;
		size_t value_off, value_len;

		if (i_strcasecmp(f->name, "DKIM-Signature") != 0)
			continue;
		e = &v->sigs[v->count++];
		e->v = v;
		e->field = field;
		e->field_len = f->size;
		colon = memchr(field, ':', f->size);
		i_assert(colon != NULL);
		value_off = (size_t)(colon - field) + 1;
		value_len = f->size - value_off;
		if (dkim_signature_parse(v->arena, field + value_off, value_len, false, &e->sig,
					 &error) < 0) {
			e->res.domain = salvage_domain(v->arena, field + value_off, value_len);
			finalize(e, MSGAUTH_PERMERROR, error);
			continue;
		}
		e->b_start = value_off + e->sig.b_start;
		e->b_end = value_off + e->sig.b_end;
		e->res.domain = e->sig.domain;
		e->res.selector = e->sig.selector;
		e->res.auid = e->sig.auid;
		e->res.alg = e->sig.alg;
		e->res.b_text = e->sig.b_text;
		if (e->sig.has_expiration && e->sig.expiration < (int64_t)v->now) {
			/* 3.5 x=: verifiers may treat it as invalid; we do */
			finalize(e, MSGAUTH_FAIL, "signature expired");
			continue;
		}
		if (e->sig.alg == DKIM_ALG_RSA_SHA1) {
			/* RFC 8301 3.1: never verified, never a pass */
			finalize(e, MSGAUTH_NEUTRAL, "rsa-sha1 is not accepted (RFC 8301)");
			continue;
		}
		e->hasher = hasher_for(v, &e->sig);
		v->pending++;
		e->query = msgauth_dns_lookup(&v->dns, DNS_TYPE_TXT,
					      dkim_key_name(v->arena, e->sig.selector, e->sig.domain),
					      key_answer, e);
	}
}

enum msgauth_result dkim_key_from_answer(struct arena *arena, const struct dns_result *res,
					 enum dkim_alg alg, EVP_PKEY **pkey_r,
					 unsigned int *bits_r, bool *testing_r, bool *strict_r,
					 const char **reason_r)
{
	return dkim_key_from_txt(arena, res->status, res->txt, res->txt_lens, res->txt_count, alg,
				 pkey_r, bits_r, testing_r, strict_r, reason_r);
}

enum msgauth_result dkim_key_from_txt(struct arena *arena, enum dns_status status,
				      const char *const *txt, const size_t *lens,
				      unsigned int count, enum dkim_alg alg, EVP_PKEY **pkey_r,
				      unsigned int *bits_r, bool *testing_r, bool *strict_r,
				      const char **reason_r)
{
	const char *error = "no key record";
	unsigned int i;

	*pkey_r = NULL;
	*bits_r = 0;
	if (status == DNS_TEMPFAIL) {
		*reason_r = "key lookup failed (DNS)";
		return MSGAUTH_TEMPERROR;
	}
	if (status != DNS_FOUND) {
		/* 6.1.2: no key record: PERMFAIL */
		*reason_r = "no key for signature";
		return MSGAUTH_PERMERROR;
	}
	/* several records: the first that is a key (3.6.2.2 leaves it open) */
	for (i = 0; i < count; i++) {
		struct dkim_key key;

		if (dkim_key_parse(arena, txt[i], lens[i], &key, &error) < 0)
			continue;
		*testing_r = key.testing;
		*strict_r = key.strict;
		*pkey_r = dkim_key_load(&key, alg, bits_r, &error);
		if (*pkey_r == NULL) {
			*reason_r = error;
			return MSGAUTH_PERMERROR;
		}
		return MSGAUTH_PASS;
	}
	*reason_r = arena_printf(arena, "bad key record: %s", error);
	return MSGAUTH_PERMERROR;
}

static void key_answer(const struct dns_result *res, void *ctx)
{
	struct sig_entry *e = ctx;
	struct dkim_verifier *v = e->v;
	enum msgauth_result r;
	const char *reason;

	e->query = NULL;
	i_assert(v->pending > 0);
	v->pending--;
	r = dkim_key_from_answer(v->arena, res, e->sig.alg, &e->pkey, &e->res.key_bits,
				 &e->res.testing, &e->strict, &reason);
	if (r != MSGAUTH_PASS) {
		finalize(e, r, reason);
	} else {
		e->key_ready = true;
		if (v->body_done)
			evaluate(e);
	}
	if (v->body_done && v->pending == 0)
		v->done(v->ctx);
}

void dkim_verifier_body(struct dkim_verifier *v, const void *data, size_t len)
{
	unsigned int i;

	for (i = 0; i < v->hasher_count; i++)
		dkim_body_hasher_feed(&v->hashers[i].h, data, len);
}

/* 6.1.3: body hash, then the header hash against the signature. */
static void evaluate(struct sig_entry *e)
{
	struct dkim_verifier *v = e->v;
	const struct hasher *h = &v->hashers[e->hasher];
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hash_len;

	if (e->strict) {
		/* 3.6.1 t=s: the i= domain must be d= itself */
		const char *at = strrchr(e->sig.auid, '@');

		if (at == NULL || i_strcasecmp(at + 1, e->sig.domain) != 0) {
			finalize(e, MSGAUTH_PERMERROR, "i= is a subdomain of d= but the key says t=s");
			return;
		}
	}
	if (e->sig.has_length && e->sig.length > h->total) {
		finalize(e, MSGAUTH_FAIL, "l= is longer than the body");
		return;
	}
	if (h->digest_len != e->sig.bh_len ||
	    CRYPTO_memcmp(h->digest, e->sig.bh, h->digest_len) != 0) {
		finalize(e, MSGAUTH_FAIL, "body hash mismatch");
		return;
	}
	hash_len = dkim_header_hash(e->sig.header_canon, e->sig.alg, v->hdr, v->raw,
				    e->sig.headers, e->sig.header_count, e->field, e->field_len,
				    e->b_start, e->b_end, hash);
	if (!dkim_verify_hash(e->pkey, e->sig.alg, hash, hash_len, e->sig.b, e->sig.b_len)) {
		finalize(e, MSGAUTH_FAIL, "signature did not verify");
		return;
	}
	if (e->sig.has_length && e->sig.length < h->total) {
		/* the signed part verifies, but something was appended after it:
		   never reported as a pass (RFC 6376 8.2) */
		finalize(e, MSGAUTH_POLICY, "unsigned content after the l= length");
		return;
	}
	finalize(e, MSGAUTH_PASS, NULL);
}

bool dkim_verifier_body_end(struct dkim_verifier *v)
{
	unsigned int i;

	for (i = 0; i < v->hasher_count; i++) {
		struct hasher *h = &v->hashers[i];

		dkim_body_hasher_finish(&h->h, h->digest, &h->digest_len, &h->total);
	}
	v->body_done = true;
	for (i = 0; i < v->count; i++) {
		if (!v->sigs[i].final && v->sigs[i].key_ready)
			evaluate(&v->sigs[i]);
	}
	return v->pending == 0;
}

unsigned int dkim_verifier_results(struct dkim_verifier *v,
				   const struct dkim_verify_result **results_r)
{
	unsigned int i;

	if (v->results == NULL && v->count > 0)
		v->results = arena_new_array(v->arena, struct dkim_verify_result, v->count);
	for (i = 0; i < v->count; i++) {
		v->results[i] = v->sigs[i].res;
		if (!v->sigs[i].final) {
			v->results[i].result = MSGAUTH_TEMPERROR;
			v->results[i].reason = "not verified in time";
		}
	}
	*results_r = v->results;
	return v->count;
}

void dkim_verifier_timeout(struct dkim_verifier *v)
{
	unsigned int i;

	for (i = 0; i < v->count; i++) {
		struct sig_entry *e = &v->sigs[i];

		if (e->query != NULL) {
			msgauth_dns_cancel(&v->dns, &e->query);
			v->pending--;
			finalize(e, MSGAUTH_TEMPERROR, "key lookup timed out");
		}
	}
}

void dkim_verifier_free(struct dkim_verifier **vp)
{
	struct dkim_verifier *v = *vp;
	unsigned int i;

	if (v == NULL)
		return;
	*vp = NULL;
	for (i = 0; i < v->count; i++) {
		msgauth_dns_cancel(&v->dns, &v->sigs[i].query);
		if (v->sigs[i].pkey != NULL)
			EVP_PKEY_free(v->sigs[i].pkey);
	}
	for (i = 0; i < v->hasher_count; i++)
		dkim_body_hasher_deinit(&v->hashers[i].h);
}
