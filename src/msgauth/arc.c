/*
 * ARC (RFC 8617): the ARC-Seal parser, chain validation (5.2) with its key
 * lookups on the DNS seam, and sealing (5.1). See arc.h.
 */
#include "arc.h"
#include "arena.h"
#include "base64.h"
#include "dkim-verify.h"
#include "header-parser.h"
#include "header.h"
#include "tag-list.h"
#include "tern-limits.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define FOLD_WIDTH 72

const char *arc_cv_name(enum arc_cv cv)
{
	switch (cv) {
	case ARC_CV_NONE:
		return "none";
	case ARC_CV_PASS:
		return "pass";
	case ARC_CV_FAIL:
		return "fail";
	}
	return "?";
}

static int parse_instance(const struct msgauth_tag *t, unsigned int *n_r)
{
	unsigned int n = 0;

	if (t == NULL || t->value_len == 0 || t->value_len > 2)
		return -1;
	for (size_t i = 0; i < t->value_len; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return -1;
		n = n * 10 + (unsigned int)(t->value[i] - '0');
	}
	if (n < 1 || n > TERN_ARC_MAX_SETS)
		return -1;
	*n_r = n;
	return 0;
}

int arc_seal_parse(struct arena *arena, const char *value, size_t len, struct arc_seal *seal_r,
		   const char **error_r)
{
	struct msgauth_tag_list list;
	const struct msgauth_tag *t;
	buf_t b;
	char *text;

	memset(seal_r, 0, sizeof(*seal_r));
	if (msgauth_tag_list_parse(arena, value, len, &list, error_r) < 0)
		return -1;
	if (parse_instance(msgauth_tag_get(&list, "i"), &seal_r->instance) < 0) {
		*error_r = "bad or missing i= instance";
		return -1;
	}
	/* 4.1.3: no h= in a seal */
	if (msgauth_tag_get(&list, "h") != NULL) {
		*error_r = "h= in an ARC-Seal";
		return -1;
	}
	t = msgauth_tag_get(&list, "a");
	if (t == NULL) {
		*error_r = "missing a= tag";
		return -1;
	}
	if (i_memcaseeq(t->value, t->value_len, "rsa-sha256"))
		seal_r->alg = DKIM_ALG_RSA_SHA256;
	else if (i_memcaseeq(t->value, t->value_len, "ed25519-sha256"))
		seal_r->alg = DKIM_ALG_ED25519_SHA256;
	else if (i_memcaseeq(t->value, t->value_len, "rsa-sha1"))
		seal_r->alg = DKIM_ALG_RSA_SHA1;
	else {
		*error_r = "unknown algorithm (a=)";
		return -1;
	}
	t = msgauth_tag_get(&list, "cv");
	if (t == NULL) {
		*error_r = "missing cv= tag";
		return -1;
	}
	if (i_memcaseeq(t->value, t->value_len, "none"))
		seal_r->cv = ARC_CV_NONE;
	else if (i_memcaseeq(t->value, t->value_len, "pass"))
		seal_r->cv = ARC_CV_PASS;
	else if (i_memcaseeq(t->value, t->value_len, "fail"))
		seal_r->cv = ARC_CV_FAIL;
	else {
		*error_r = "bad cv= value";
		return -1;
	}
	t = msgauth_tag_get(&list, "d");
	if (t == NULL || !msgauth_domain_valid(t->value, t->value_len, false)) {
		*error_r = "bad or missing d= domain";
		return -1;
	}
	{
		char *d = arena_strndup(arena, t->value, t->value_len);

		i_str_lower(d);
		seal_r->domain = d;
	}
	t = msgauth_tag_get(&list, "s");
	if (t == NULL || !msgauth_domain_valid(t->value, t->value_len, false)) {
		*error_r = "bad or missing s= selector";
		return -1;
	}
	{
		char *s = arena_strndup(arena, t->value, t->value_len);

		i_str_lower(s);
		seal_r->selector = s;
	}
	t = msgauth_tag_get(&list, "b");
	if (t == NULL) {
		*error_r = "missing b= signature";
		return -1;
	}
	text = msgauth_tag_value_compact(arena, t);
	for (const char *p = text; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '+' || *p == '/' || *p == '=')) {
			*error_r = "bad b= signature";
			return -1;
		}
	}
	buf_init(&b, BUF_MAX_UNLIMITED);
	if (base64_decode(text, strlen(text), &b) < 0)
		i_panic("arc: unlimited buffer full");
	seal_r->b = arena_memdup(arena, b.data, b.used);
	seal_r->b_len = b.used;
	buf_free(&b);
	if (seal_r->b_len == 0) {
		*error_r = "empty b= signature";
		return -1;
	}
	seal_r->b_start = t->value_start;
	seal_r->b_end = t->value_end;
	t = msgauth_tag_get(&list, "t");
	if (t != NULL) {
		int64_t ts = 0;

		for (size_t i = 0; i < t->value_len && i < 12; i++) {
			if (t->value[i] < '0' || t->value[i] > '9')
				break;
			ts = ts * 10 + (t->value[i] - '0');
		}
		seal_r->timestamp = ts;
	}
	return 0;
}

unsigned int arc_aar_instance(const char *value, size_t len, size_t *payload_r)
{
	size_t i = 0;
	unsigned int n = 0, digits = 0;

	/* "i" [FWS] "=" [FWS] 1*DIGIT [FWS] ";" */
	while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n'))
		i++;
	if (i >= len || value[i] != 'i')
		return 0;
	i++;
	while (i < len && (value[i] == ' ' || value[i] == '\t'))
		i++;
	if (i >= len || value[i] != '=')
		return 0;
	i++;
	while (i < len && (value[i] == ' ' || value[i] == '\t'))
		i++;
	while (i < len && value[i] >= '0' && value[i] <= '9' && digits < 3) {
		n = n * 10 + (unsigned int)(value[i++] - '0');
		digits++;
	}
	while (i < len && (value[i] == ' ' || value[i] == '\t'))
		i++;
	if (digits == 0 || i >= len || value[i] != ';' || n < 1 || n > TERN_ARC_MAX_SETS)
		return 0;
	*payload_r = i + 1;
	return n;
}

/* ---- the seal's signed data (5.1.1): ARC sets 1..k in order, relaxed,
   the last seal's b= emptied and no CRLF after it ---- */

struct raw_field {
	const char *data;
	size_t len;
};

static unsigned int seal_hash(const struct raw_field *fields, unsigned int count,
			      size_t b_start, size_t b_end, unsigned char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int i, out_len = 0;
	buf_t b, last;

	if (md == NULL || EVP_DigestInit_ex(md, dkim_md(false), NULL) != 1)
		i_fatal("arc: cannot start a digest");
	buf_init(&b, BUF_MAX_UNLIMITED);
	buf_init(&last, BUF_MAX_UNLIMITED);
	for (i = 0; i + 1 < count; i++) {
		if (dkim_canon_header(DKIM_CANON_RELAXED, fields[i].data, fields[i].len, &b) < 0)
			i_panic("arc: unlimited buffer full");
	}
	if (buf_append(&last, fields[count - 1].data, b_start) < 0 ||
	    buf_append(&last, fields[count - 1].data + b_end, fields[count - 1].len - b_end) < 0 ||
	    dkim_canon_header(DKIM_CANON_RELAXED, (const char *)last.data, last.used, &b) < 0)
		i_panic("arc: unlimited buffer full");
	i_assert(b.used >= 2);
	EVP_DigestUpdate(md, b.data, b.used - 2);
	if (EVP_DigestFinal_ex(md, out, &out_len) != 1)
		i_fatal("arc: digest failed");
	EVP_MD_CTX_free(md);
	buf_free(&b);
	buf_free(&last);
	return out_len;
}

/* ---- validation ---- */

struct key_slot {
	const char *name;
	void *query;
	struct arc_verifier *v;
	bool answered;
	enum dns_status status;
	const char **txt;
	size_t *lens;
	unsigned int count;
};

struct arc_set {
	const struct msg_header_field *aar, *ams, *as;
	struct arc_seal seal;
	size_t seal_b_start, seal_b_end;   /* in the raw field */
	unsigned int seal_key;
};

struct arc_verifier {
	struct arena *arena;
	struct msgauth_dns dns;
	time_t now;
	arc_verifier_done_cb *done;
	void *ctx;
	const struct msg_header *hdr;
	const char *raw;

	unsigned int n;                  /* the highest instance */
	struct arc_set sets[TERN_ARC_MAX_SETS + 1];
	struct dkim_signature ams;       /* of instance n */
	size_t ams_b_start, ams_b_end;
	unsigned int ams_key;
	bool have_hasher;
	struct dkim_body_hasher hasher;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len;
	uint64_t total;

	struct key_slot keys[TERN_ARC_MAX_SETS + 2];
	unsigned int key_count, pending;
	bool body_done, decided;
	enum msgauth_result result;
	const char *reason;
};

static void key_answer(const struct dns_result *res, void *ctx);

struct arc_verifier *arc_verifier_new(struct arena *arena, const struct msgauth_dns *dns,
				      time_t now, arc_verifier_done_cb *done, void *ctx)
{
	struct arc_verifier *v = arena_new_type(arena, struct arc_verifier);

	v->arena = arena;
	v->dns = *dns;
	v->now = now;
	v->done = done;
	v->ctx = ctx;
	v->result = MSGAUTH_NONE;
	return v;
}

static void decide(struct arc_verifier *v, enum msgauth_result result, const char *reason)
{
	unsigned int i;

	if (v->decided)
		return;
	v->decided = true;
	v->result = result;
	v->reason = reason;
	for (i = 0; i < v->key_count; i++) {
		if (v->keys[i].query != NULL) {
			msgauth_dns_cancel(&v->dns, &v->keys[i].query);
			v->pending--;
		}
	}
}

static unsigned int key_for(struct arc_verifier *v, const char *selector, const char *domain)
{
	const char *name = dkim_key_name(v->arena, selector, domain);
	unsigned int i;

	for (i = 0; i < v->key_count; i++) {
		if (strcmp(v->keys[i].name, name) == 0)
			return i;
	}
	i = v->key_count++;
	v->keys[i].name = name;
	v->keys[i].v = v;
	v->pending++;
	v->keys[i].query = msgauth_dns_lookup(&v->dns, DNS_TYPE_TXT, name, key_answer, &v->keys[i]);
	return i;
}

static const char *field_value(const char *raw, const struct msg_header_field *f, size_t *len_r,
			       size_t *off_r)
{
	const char *field = raw + f->offset;
	const char *colon = memchr(field, ':', f->size);

	i_assert(colon != NULL);
	*off_r = (size_t)(colon + 1 - field);
	*len_r = f->size - *off_r;
	return colon + 1;
}

void arc_verifier_header(struct arc_verifier *v, const struct msg_header *hdr, const char *raw)
{
	unsigned int i, k;
	const char *error;

	v->hdr = hdr;
	v->raw = raw;
	for (i = 0; i < hdr->count && !v->decided; i++) {
		const struct msg_header_field *f = &hdr->fields[i];
		const struct msg_header_field **slot;
		struct msgauth_tag_list list;
		struct arc_seal seal;
		size_t len, off, payload;
		const char *val;
		unsigned int inst = 0;

		if (f->name_len == 0)
			continue;
		if (i_strcasecmp(f->name, "ARC-Authentication-Results") == 0) {
			val = field_value(raw, f, &len, &off);
			inst = arc_aar_instance(val, len, &payload);
			slot = inst > 0 ? &v->sets[inst].aar : NULL;
		} else if (i_strcasecmp(f->name, "ARC-Message-Signature") == 0) {
			val = field_value(raw, f, &len, &off);
			if (msgauth_tag_list_parse(v->arena, val, len, &list, &error) == 0)
				(void)parse_instance(msgauth_tag_get(&list, "i"), &inst);
			slot = inst > 0 ? &v->sets[inst].ams : NULL;
		} else if (i_strcasecmp(f->name, "ARC-Seal") == 0) {
			val = field_value(raw, f, &len, &off);
			if (arc_seal_parse(v->arena, val, len, &seal, &error) < 0) {
				decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "bad ARC-Seal: %s", error));
				return;
			}
			inst = seal.instance;
			slot = &v->sets[inst].as;
			if (v->sets[inst].as == NULL) {
				v->sets[inst].seal = seal;
				v->sets[inst].seal_b_start = off + seal.b_start;
				v->sets[inst].seal_b_end = off + seal.b_end;
			}
		} else {
			continue;
		}
		if (slot == NULL) {
			decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "%s without a valid instance",
							     f->name));
			return;
		}
		if (*slot != NULL) {
			decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "two %s fields of instance %u",
							     f->name, inst));
			return;
		}
		*slot = f;
		if (inst > v->n)
			v->n = inst;
	}
	if (v->decided)
		return;
	if (v->n == 0) {
		decide(v, MSGAUTH_NONE, NULL);
		return;
	}
	/* 5.2 step 2: every instance 1..n complete */
	for (k = 1; k <= v->n; k++) {
		if (v->sets[k].aar == NULL || v->sets[k].ams == NULL || v->sets[k].as == NULL) {
			decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "ARC set %u is incomplete", k));
			return;
		}
	}
	/* step 3: the latest seal says the chain was already broken */
	if (v->sets[v->n].seal.cv == ARC_CV_FAIL) {
		decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "the chain was broken at instance %u",
						     v->n));
		return;
	}
	/* 4.1.3: cv=none for the first set, pass for the others */
	for (k = 1; k <= v->n; k++) {
		enum arc_cv want = k == 1 ? ARC_CV_NONE : ARC_CV_PASS;

		if (v->sets[k].seal.cv != want) {
			decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "ARC-Seal %u says cv=%s", k,
							     arc_cv_name(v->sets[k].seal.cv)));
			return;
		}
		if (v->sets[k].seal.alg == DKIM_ALG_RSA_SHA1) {
			decide(v, MSGAUTH_FAIL, "rsa-sha1 ARC-Seal (RFC 8301)");
			return;
		}
	}
	/* step 5 needs the newest AMS */
	{
		size_t len, off;
		const char *val = field_value(raw, v->sets[v->n].ams, &len, &off);

		if (dkim_signature_parse(v->arena, val, len, true, &v->ams, &error) < 0) {
			decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "bad ARC-Message-Signature %u: %s",
							     v->n, error));
			return;
		}
		if (v->ams.alg == DKIM_ALG_RSA_SHA1) {
			decide(v, MSGAUTH_FAIL, "rsa-sha1 ARC-Message-Signature (RFC 8301)");
			return;
		}
		v->ams_b_start = off + v->ams.b_start;
		v->ams_b_end = off + v->ams.b_end;
	}
	dkim_body_hasher_init(&v->hasher, v->ams.body_canon, false,
			      v->ams.has_length ? v->ams.length : UINT64_MAX);
	v->have_hasher = true;
	v->ams_key = key_for(v, v->ams.selector, v->ams.domain);
	for (k = 1; k <= v->n; k++)
		v->sets[k].seal_key = key_for(v, v->sets[k].seal.selector, v->sets[k].seal.domain);
}

static void evaluate(struct arc_verifier *v);

static void key_answer(const struct dns_result *res, void *ctx)
{
	struct key_slot *slot = ctx;
	struct arc_verifier *v = slot->v;
	unsigned int i;

	slot->query = NULL;
	slot->answered = true;
	slot->status = res->status;
	if (res->status == DNS_FOUND) {
		slot->txt = arena_new_array(v->arena, const char *, res->txt_count + 1);
		slot->lens = arena_new_array(v->arena, size_t, res->txt_count + 1);
		for (i = 0; i < res->txt_count; i++) {
			slot->txt[i] = arena_strndup(v->arena, res->txt[i], res->txt_lens[i]);
			slot->lens[i] = res->txt_lens[i];
		}
		slot->count = res->txt_count;
	}
	v->pending--;
	if (v->pending == 0 && v->body_done) {
		evaluate(v);
		v->done(v->ctx);
	}
}

void arc_verifier_body(struct arc_verifier *v, const void *data, size_t len)
{
	if (v->have_hasher && !v->decided)
		dkim_body_hasher_feed(&v->hasher, data, len);
}

/* The key of a slot as OpenSSL's; NULL after deciding the result. */
static EVP_PKEY *load_key(struct arc_verifier *v, unsigned int slot, enum dkim_alg alg,
			  const char *what)
{
	struct key_slot *k = &v->keys[slot];
	EVP_PKEY *pkey;
	unsigned int bits;
	bool testing, strict;
	const char *reason;
	enum msgauth_result r;

	r = dkim_key_from_txt(v->arena, k->status, k->txt, k->lens, k->count, alg, &pkey, &bits,
			      &testing, &strict, &reason);
	if (r == MSGAUTH_PASS)
		return pkey;
	decide(v, r == MSGAUTH_TEMPERROR ? MSGAUTH_TEMPERROR : MSGAUTH_FAIL,
	       arena_printf(v->arena, "%s: %s", what, reason));
	return NULL;
}

/* 5.2 steps 5 and 6. */
static void evaluate(struct arc_verifier *v)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hash_len, k;
	struct raw_field *fields;
	EVP_PKEY *pkey;
	bool ok;

	if (v->decided)
		return;
	/* the newest ARC-Message-Signature */
	if (v->ams.has_length && v->ams.length != v->total) {
		decide(v, MSGAUTH_FAIL, "ARC-Message-Signature l= does not cover the body");
		return;
	}
	if (v->digest_len != v->ams.bh_len ||
	    CRYPTO_memcmp(v->digest, v->ams.bh, v->digest_len) != 0) {
		decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "ARC-Message-Signature %u: body hash mismatch",
						     v->n));
		return;
	}
	pkey = load_key(v, v->ams_key, v->ams.alg, "ARC-Message-Signature key");
	if (pkey == NULL)
		return;
	hash_len = dkim_header_hash(v->ams.header_canon, v->ams.alg, v->hdr, v->raw,
				    v->ams.headers, v->ams.header_count,
				    v->raw + v->sets[v->n].ams->offset, v->sets[v->n].ams->size,
				    v->ams_b_start, v->ams_b_end, hash);
	ok = dkim_verify_hash(pkey, v->ams.alg, hash, hash_len, v->ams.b, v->ams.b_len);
	EVP_PKEY_free(pkey);
	if (!ok) {
		decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "ARC-Message-Signature %u did not verify",
						     v->n));
		return;
	}
	/* every seal, newest first */
	fields = arena_new_array(v->arena, struct raw_field, 3 * v->n);
	for (k = 1; k <= v->n; k++) {
		fields[3 * (k - 1)].data = v->raw + v->sets[k].aar->offset;
		fields[3 * (k - 1)].len = v->sets[k].aar->size;
		fields[3 * (k - 1) + 1].data = v->raw + v->sets[k].ams->offset;
		fields[3 * (k - 1) + 1].len = v->sets[k].ams->size;
		fields[3 * (k - 1) + 2].data = v->raw + v->sets[k].as->offset;
		fields[3 * (k - 1) + 2].len = v->sets[k].as->size;
	}
	for (k = v->n; k >= 1; k--) {
		const struct arc_set *s = &v->sets[k];

		hash_len = seal_hash(fields, 3 * k, s->seal_b_start, s->seal_b_end, hash);
		pkey = load_key(v, s->seal_key, s->seal.alg, "ARC-Seal key");
		if (pkey == NULL)
			return;
		ok = dkim_verify_hash(pkey, s->seal.alg, hash, hash_len, s->seal.b, s->seal.b_len);
		EVP_PKEY_free(pkey);
		if (!ok) {
			decide(v, MSGAUTH_FAIL, arena_printf(v->arena, "ARC-Seal %u did not verify", k));
			return;
		}
	}
	decide(v, MSGAUTH_PASS, NULL);
}

bool arc_verifier_body_end(struct arc_verifier *v)
{
	if (v->have_hasher) {
		dkim_body_hasher_finish(&v->hasher, v->digest, &v->digest_len, &v->total);
		v->have_hasher = false;
	}
	v->body_done = true;
	if (v->pending > 0)
		return false;
	evaluate(v);
	return true;
}

enum msgauth_result arc_verifier_result(struct arc_verifier *v, const char **reason_r,
					unsigned int *instances_r, const char **sealer_r)
{
	*instances_r = v->n;
	*sealer_r = v->n > 0 && v->sets[v->n].as != NULL ? v->sets[v->n].seal.domain : NULL;
	if (!v->decided) {
		*reason_r = "not validated in time";
		return MSGAUTH_TEMPERROR;
	}
	*reason_r = v->reason;
	return v->result;
}

void arc_verifier_timeout(struct arc_verifier *v)
{
	if (!v->decided && v->pending > 0)
		decide(v, MSGAUTH_TEMPERROR, "key lookups timed out");
}

void arc_verifier_free(struct arc_verifier **vp)
{
	struct arc_verifier *v = *vp;
	unsigned int i;

	if (v == NULL)
		return;
	*vp = NULL;
	for (i = 0; i < v->key_count; i++)
		msgauth_dns_cancel(&v->dns, &v->keys[i].query);
	if (v->have_hasher)
		dkim_body_hasher_deinit(&v->hasher);
}

/* ---- sealing ---- */

/* Header fields the ARC-Message-Signature covers: DKIM's, and the DKIM
   signatures already there. */
static const char *const ams_headers[] = {
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "Sender",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "DKIM-Signature", NULL
};

int arc_seal_message(const struct dkim_signer *signer, const unsigned char *msg, size_t size,
		     enum arc_cv chain, const char *aar, time_t now, buf_t *out,
		     const char **error_r)
{
	struct arena *arena = arena_new(0);
	struct msg_header hdr;
	struct raw_field *fields;
	const struct msg_header_field *sets[TERN_ARC_MAX_SETS + 1][3];
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int i, k, n = 0, nf = 0, hash_len;
	size_t hend = dkim_header_end(msg, size), b_pos;
	buf_t aar_field, ams_field, as_field, sig, b64;
	enum arc_cv cv;
	int ret = -1;

	memset(sets, 0, sizeof(sets));
	msg_header_parse_block(arena, msg, hend, 0, TERN_MIME_MAX_HEADER_FIELDS, false, &hdr);
	for (i = 0; i < hdr.count; i++) {
		const struct msg_header_field *f = &hdr.fields[i];
		size_t len, off, payload;
		const char *val, *error;
		struct msgauth_tag_list list;
		struct arc_seal seal;
		unsigned int inst = 0, which;

		if (f->name_len == 0)
			continue;
		if (i_strcasecmp(f->name, "ARC-Authentication-Results") == 0) {
			val = field_value((const char *)msg, f, &len, &off);
			inst = arc_aar_instance(val, len, &payload);
			which = 0;
		} else if (i_strcasecmp(f->name, "ARC-Message-Signature") == 0) {
			val = field_value((const char *)msg, f, &len, &off);
			if (msgauth_tag_list_parse(arena, val, len, &list, &error) == 0)
				(void)parse_instance(msgauth_tag_get(&list, "i"), &inst);
			which = 1;
		} else if (i_strcasecmp(f->name, "ARC-Seal") == 0) {
			val = field_value((const char *)msg, f, &len, &off);
			if (arc_seal_parse(arena, val, len, &seal, &error) == 0)
				inst = seal.instance;
			which = 2;
		} else {
			continue;
		}
		if (inst == 0) {
			/* a broken set: the chain can only be failed */
			chain = ARC_CV_FAIL;
			continue;
		}
		if (sets[inst][which] == NULL)
			sets[inst][which] = f;
		if (inst > n)
			n = inst;
	}
	if (n >= TERN_ARC_MAX_SETS) {
		*error_r = "the ARC chain is at its longest";
		arena_free(&arena);
		return -1;
	}
	cv = n == 0 ? ARC_CV_NONE : chain == ARC_CV_PASS ? ARC_CV_PASS : ARC_CV_FAIL;
	for (k = 1; k <= n && cv == ARC_CV_PASS; k++) {
		if (sets[k][0] == NULL || sets[k][1] == NULL || sets[k][2] == NULL)
			cv = ARC_CV_FAIL;
	}

	buf_init(&aar_field, BUF_MAX_UNLIMITED);
	buf_init(&ams_field, BUF_MAX_UNLIMITED);
	buf_init(&as_field, BUF_MAX_UNLIMITED);
	buf_init(&sig, BUF_MAX_UNLIMITED);
	buf_init(&b64, BUF_MAX_UNLIMITED);
	if (buf_printf(&aar_field, "ARC-Authentication-Results: i=%u; %s\r\n", n + 1, aar) < 0 ||
	    dkim_sign_message(signer, msg, size, ams_headers, n + 1, now, &ams_field, error_r) < 0)
		goto out;
	if (buf_printf(&as_field, "ARC-Seal: i=%u; a=%s; t=%lld; cv=%s;\r\n\td=%s; s=%s;\r\n\tb=",
		       n + 1, dkim_alg_name(signer->alg), (long long)now, arc_cv_name(cv),
		       signer->domain, signer->selector) < 0)
		i_panic("arc: unlimited buffer full");
	b_pos = as_field.used;
	if (buf_append_str(&as_field, "\r\n") < 0)
		i_panic("arc: unlimited buffer full");

	/* 5.1.1: the sets before ours, unless the chain failed (then ours only) */
	fields = arena_new_array(arena, struct raw_field, 3 * (n + 1));
	for (k = 1; k <= n && cv != ARC_CV_FAIL; k++) {
		for (i = 0; i < 3; i++) {
			fields[nf].data = (const char *)msg + sets[k][i]->offset;
			fields[nf].len = sets[k][i]->size;
			nf++;
		}
	}
	fields[nf].data = (const char *)aar_field.data;
	fields[nf++].len = aar_field.used;
	fields[nf].data = (const char *)ams_field.data;
	fields[nf++].len = ams_field.used;
	fields[nf].data = (const char *)as_field.data;
	fields[nf++].len = as_field.used;
	hash_len = seal_hash(fields, nf, b_pos, b_pos, hash);
	if (dkim_sign_hash(signer->pkey, signer->alg, hash, hash_len, &sig, error_r) < 0)
		goto out;
	buf_truncate(&as_field, b_pos);
	if (base64_encode(sig.data, sig.used, &b64) < 0 ||
	    dkim_append_folded(&as_field, buf_str(&b64), FOLD_WIDTH) < 0 ||
	    buf_append_str(&as_field, "\r\n") < 0)
		i_panic("arc: unlimited buffer full");
	if (buf_append(out, as_field.data, as_field.used) < 0 ||
	    buf_append(out, ams_field.data, ams_field.used) < 0 ||
	    buf_append(out, aar_field.data, aar_field.used) < 0) {
		*error_r = "output buffer full";
		goto out;
	}
	ret = 0;
out:
	buf_free(&aar_field);
	buf_free(&ams_field);
	buf_free(&as_field);
	buf_free(&sig);
	buf_free(&b64);
	arena_free(&arena);
	return ret;
}
