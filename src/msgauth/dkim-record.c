/*
 * The DKIM-Signature field (RFC 6376 3.5) and key record (3.6.1) parsers,
 * on the tag-list parser. Both read what strangers wrote: every tag is
 * checked, nothing is trusted (fuzz target: tests/fuzz/fuzz-dkim-record.c).
 */
#include "dkim.h"
#include "arena.h"
#include "base64.h"
#include "msgauth.h"
#include "tag-list.h"
#include "tern-limits.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>

/* Decoded RSA keys by their record bytes: OpenSSL 3 takes tens of
   microseconds to decode a SubjectPublicKeyInfo, and the same key signs
   message after message. Direct-mapped, keyed by the p= bytes themselves,
   so a changed record is simply another entry. */
#define KEY_CACHE_SIZE 256
#define KEY_CACHE_MAX_BYTES 2048

struct key_cache_entry {
	unsigned char der[KEY_CACHE_MAX_BYTES];
	size_t len;
	EVP_PKEY *pkey;
	unsigned int bits;
};

static pthread_mutex_t key_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct key_cache_entry key_cache[KEY_CACHE_SIZE];

static unsigned int key_hash(const unsigned char *p, size_t len)
{
	unsigned int h = 2166136261u;   /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % KEY_CACHE_SIZE;
}

static EVP_PKEY *key_cache_get(const unsigned char *der, size_t len, unsigned int *bits_r)
{
	struct key_cache_entry *e = &key_cache[key_hash(der, len)];
	EVP_PKEY *pkey = NULL;

	pthread_mutex_lock(&key_cache_lock);
	if (e->pkey != NULL && e->len == len && memcmp(e->der, der, len) == 0 &&
	    EVP_PKEY_up_ref(e->pkey) == 1) {
		pkey = e->pkey;
		*bits_r = e->bits;
	}
	pthread_mutex_unlock(&key_cache_lock);
	return pkey;
}

static void key_cache_put(const unsigned char *der, size_t len, EVP_PKEY *pkey, unsigned int bits)
{
	struct key_cache_entry *e = &key_cache[key_hash(der, len)];

	if (len > KEY_CACHE_MAX_BYTES || EVP_PKEY_up_ref(pkey) != 1)
		return;
	pthread_mutex_lock(&key_cache_lock);
	EVP_PKEY_free(e->pkey);
	memcpy(e->der, der, len);
	e->len = len;
	e->pkey = pkey;
	e->bits = bits;
	pthread_mutex_unlock(&key_cache_lock);
}

const char *dkim_alg_name(enum dkim_alg alg)
{
	switch (alg) {
	case DKIM_ALG_RSA_SHA256:
		return "rsa-sha256";
	case DKIM_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	case DKIM_ALG_RSA_SHA1:
		return "rsa-sha1";
	}
	return "?";
}

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* Decode a base64 tag value (FWS anywhere, RFC 6376 2.4 base64string);
   anything but the alphabet is an error. */
static int decode_b64(struct arena *arena, const struct msgauth_tag *tag, const char **text_r,
		      const unsigned char **data_r, size_t *len_r)
{
	char *text = msgauth_tag_value_compact(arena, tag);
	buf_t out;
	size_t i;

	for (i = 0; text[i] != '\0'; i++) {
		if (!is_b64_char(text[i]))
			return -1;
	}
	buf_init(&out, BUF_MAX_UNLIMITED);
	if (base64_decode(text, i, &out) < 0)
		i_panic("dkim: unlimited buffer full");
	*data_r = arena_memdup(arena, out.data, out.used);
	*len_r = out.used;
	if (text_r != NULL)
		*text_r = text;
	buf_free(&out);
	return 0;
}

/* A decimal number of at most max_digits digits (3.5: l= 76, t= x= 12). */
static int parse_number(const struct msgauth_tag *tag, unsigned int max_digits, uint64_t *n_r)
{
	uint64_t n = 0;
	size_t i;

	if (tag->value_len == 0 || tag->value_len > max_digits)
		return -1;
	for (i = 0; i < tag->value_len; i++) {
		char c = tag->value[i];

		if (c < '0' || c > '9')
			return -1;
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(c - '0');
	}
	*n_r = n;
	return 0;
}

static char *lower_copy(struct arena *arena, const char *s, size_t len)
{
	char *copy = arena_strndup(arena, s, len);

	i_str_lower(copy);
	return copy;
}

/* c= "header/body", either "simple" or "relaxed"; "relaxed" alone is
   relaxed/simple (3.5). */
static int parse_canon(const struct msgauth_tag *tag, struct dkim_signature *sig)
{
	const char *slash = memchr(tag->value, '/', tag->value_len);
	size_t hlen = slash != NULL ? (size_t)(slash - tag->value) : tag->value_len;

	if (i_memcaseeq(tag->value, hlen, "simple"))
		sig->header_canon = DKIM_CANON_SIMPLE;
	else if (i_memcaseeq(tag->value, hlen, "relaxed"))
		sig->header_canon = DKIM_CANON_RELAXED;
	else
		return -1;
	sig->body_canon = DKIM_CANON_SIMPLE;
	if (slash != NULL) {
		const char *b = slash + 1;
		size_t blen = tag->value_len - hlen - 1;

		if (i_memcaseeq(b, blen, "simple"))
			sig->body_canon = DKIM_CANON_SIMPLE;
		else if (i_memcaseeq(b, blen, "relaxed"))
			sig->body_canon = DKIM_CANON_RELAXED;
		else
			return -1;
	}
	return 0;
}

/* h= is a colon-separated list of field names, FWS allowed around them. */
static int parse_header_list(struct arena *arena, const struct msgauth_tag *tag,
			     struct dkim_signature *sig)
{
	char *list = msgauth_tag_value_compact(arena, tag);
	const char **names;
	unsigned int n = 0;
	char *p = list, *colon;
	bool from = false;

	names = arena_new_array(arena, const char *, TERN_DKIM_MAX_SIGNED_FIELDS);
	for (;;) {
		colon = strchr(p, ':');
		if (colon != NULL)
			*colon = '\0';
		if (*p == '\0')
			return -1;
		for (char *c = p; *c != '\0'; c++) {
			/* RFC 5322 ftext: printable ASCII but ':' */
			if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
				return -1;
		}
		if (n == TERN_DKIM_MAX_SIGNED_FIELDS)
			return -1;
		if (i_strcasecmp(p, "from") == 0)
			from = true;
		names[n++] = p;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	/* RFC 6376 5.4 / 6.1.1: From must be signed */
	if (!from)
		return -2;
	sig->headers = names;
	sig->header_count = n;
	return 0;
}

int dkim_signature_parse(struct arena *arena, const char *value, size_t len, bool arc,
			 struct dkim_signature *sig_r, const char **error_r)
{
	struct msgauth_tag_list list;
	const struct msgauth_tag *t, *b;
	uint64_t n;
	int ret;

	memset(sig_r, 0, sizeof(*sig_r));
	if (msgauth_tag_list_parse(arena, value, len, &list, error_r) < 0)
		return -1;
	if (arc) {
		/* RFC 8617 4.1.2: i= is the instance, 1-50 */
		t = msgauth_tag_get(&list, "i");
		if (t == NULL || parse_number(t, 2, &n) < 0 || n < 1 || n > TERN_ARC_MAX_SETS) {
			*error_r = "bad or missing i= instance";
			return -1;
		}
		sig_r->arc_instance = (unsigned int)n;
	} else {
		t = msgauth_tag_get(&list, "v");
		if (t == NULL) {
			*error_r = "missing v= tag";
			return -1;
		}
		if (!i_memcaseeq(t->value, t->value_len, "1")) {
			*error_r = "unknown version (v= not 1)";
			return -1;
		}
	}

	t = msgauth_tag_get(&list, "a");
	if (t == NULL) {
		*error_r = "missing a= tag";
		return -1;
	}
	if (i_memcaseeq(t->value, t->value_len, "rsa-sha256"))
		sig_r->alg = DKIM_ALG_RSA_SHA256;
	else if (i_memcaseeq(t->value, t->value_len, "ed25519-sha256"))
		sig_r->alg = DKIM_ALG_ED25519_SHA256;
	else if (i_memcaseeq(t->value, t->value_len, "rsa-sha1"))
		sig_r->alg = DKIM_ALG_RSA_SHA1;
	else {
		*error_r = "unknown algorithm (a=)";
		return -1;
	}

	b = msgauth_tag_get(&list, "b");
	if (b == NULL || decode_b64(arena, b, &sig_r->b_text, &sig_r->b, &sig_r->b_len) < 0 ||
	    sig_r->b_len == 0) {
		*error_r = "bad or missing b= signature";
		return -1;
	}
	sig_r->b_start = b->value_start;
	sig_r->b_end = b->value_end;
	t = msgauth_tag_get(&list, "bh");
	if (t == NULL || decode_b64(arena, t, NULL, &sig_r->bh, &sig_r->bh_len) < 0 ||
	    sig_r->bh_len == 0) {
		*error_r = "bad or missing bh= body hash";
		return -1;
	}

	sig_r->header_canon = DKIM_CANON_SIMPLE;
	sig_r->body_canon = DKIM_CANON_SIMPLE;
	t = msgauth_tag_get(&list, "c");
	if (t != NULL && parse_canon(t, sig_r) < 0) {
		*error_r = "unknown canonicalization (c=)";
		return -1;
	}

	t = msgauth_tag_get(&list, "d");
	if (t == NULL || !msgauth_domain_valid(t->value, t->value_len, false)) {
		*error_r = "bad or missing d= domain";
		return -1;
	}
	sig_r->domain = lower_copy(arena, t->value,
				   t->value[t->value_len - 1] == '.' ? t->value_len - 1 : t->value_len);

	t = msgauth_tag_get(&list, "s");
	/* a selector is one or more dot-separated sub-domain labels (3.1) */
	if (t == NULL || !msgauth_domain_valid(t->value, t->value_len, false) ||
	    t->value[t->value_len - 1] == '.') {
		*error_r = "bad or missing s= selector";
		return -1;
	}
	sig_r->selector = lower_copy(arena, t->value, t->value_len);

	t = msgauth_tag_get(&list, "h");
	if (t == NULL) {
		*error_r = "missing h= tag";
		return -1;
	}
	ret = parse_header_list(arena, t, sig_r);
	if (ret == -2) {
		*error_r = "From field not signed";
		return -1;
	}
	if (ret < 0) {
		*error_r = "bad h= list";
		return -1;
	}

	if (!arc) {
		t = msgauth_tag_get(&list, "i");
		if (t != NULL) {
			const char *at = memchr(t->value, '@', t->value_len);
			const char *dom;
			size_t dlen, dl = strlen(sig_r->domain);

			if (at == NULL) {
				*error_r = "bad i= identity";
				return -1;
			}
			dom = at + 1;
			dlen = t->value_len - (size_t)(dom - t->value);
			/* 3.5: i= must be d= or a subdomain of it */
			if (!(i_memcaseeq(dom, dlen, sig_r->domain) ||
			      (dlen > dl && dom[dlen - dl - 1] == '.' &&
			       i_memcaseeq(dom + dlen - dl, dl, sig_r->domain)))) {
				*error_r = "i= domain is not d= or below it";
				return -1;
			}
			sig_r->auid = arena_strndup(arena, t->value, t->value_len);
		} else {
			sig_r->auid = arena_printf(arena, "@%s", sig_r->domain);
		}
	}

	t = msgauth_tag_get(&list, "l");
	if (t != NULL) {
		if (parse_number(t, 76, &n) < 0) {
			*error_r = "bad l= length";
			return -1;
		}
		sig_r->has_length = true;
		sig_r->length = n;
	}
	t = msgauth_tag_get(&list, "t");
	if (t != NULL) {
		if (parse_number(t, 12, &n) < 0) {
			*error_r = "bad t= timestamp";
			return -1;
		}
		sig_r->has_timestamp = true;
		sig_r->timestamp = (int64_t)n;
	}
	t = msgauth_tag_get(&list, "x");
	if (t != NULL) {
		if (parse_number(t, 12, &n) < 0) {
			*error_r = "bad x= expiration";
			return -1;
		}
		sig_r->has_expiration = true;
		sig_r->expiration = (int64_t)n;
		if (sig_r->has_timestamp && sig_r->expiration < sig_r->timestamp) {
			/* 3.5: x= must be greater than t= */
			*error_r = "x= before t=";
			return -1;
		}
	}
	t = msgauth_tag_get(&list, "q");
	if (t != NULL) {
		char *q = msgauth_tag_value_compact(arena, t);
		bool found = false;

		for (char *tok = q, *end; tok != NULL; tok = end) {
			end = strchr(tok, ':');
			if (end != NULL)
				*end++ = '\0';
			if (i_strcasecmp(tok, "dns/txt") == 0)
				found = true;
		}
		if (!found) {
			*error_r = "no known key query method (q=)";
			return -1;
		}
	}
	return 0;
}

/* A colon-separated list (h= s= of key records) holding word? */
static bool list_has(struct arena *arena, const struct msgauth_tag *tag, const char *word)
{
	char *list = msgauth_tag_value_compact(arena, tag);

	for (char *tok = list, *end; tok != NULL; tok = end) {
		end = strchr(tok, ':');
		if (end != NULL)
			*end++ = '\0';
		if (i_strcasecmp(tok, word) == 0)
			return true;
	}
	return false;
}

int dkim_key_parse(struct arena *arena, const char *txt, size_t len, struct dkim_key *key_r,
		   const char **error_r)
{
	struct msgauth_tag_list list;
	const struct msgauth_tag *t;

	memset(key_r, 0, sizeof(*key_r));
	if (msgauth_tag_list_parse(arena, txt, len, &list, error_r) < 0)
		return -1;
	t = msgauth_tag_get(&list, "v");
	if (t != NULL) {
		/* 3.6.1: v= must come first and be DKIM1 */
		if (t != &list.tags[0] || !i_memcaseeq(t->value, t->value_len, "DKIM1")) {
			*error_r = "not a DKIM1 key record";
			return -1;
		}
	}
	key_r->type = DKIM_KEY_RSA;
	t = msgauth_tag_get(&list, "k");
	if (t != NULL) {
		if (i_memcaseeq(t->value, t->value_len, "rsa"))
			key_r->type = DKIM_KEY_RSA;
		else if (i_memcaseeq(t->value, t->value_len, "ed25519"))
			key_r->type = DKIM_KEY_ED25519;
		else {
			*error_r = "unknown key type (k=)";
			return -1;
		}
	}
	t = msgauth_tag_get(&list, "p");
	if (t == NULL) {
		*error_r = "missing p= key";
		return -1;
	}
	if (decode_b64(arena, t, NULL, &key_r->pub, &key_r->pub_len) < 0) {
		*error_r = "bad p= key";
		return -1;
	}
	key_r->revoked = key_r->pub_len == 0;
	key_r->sha256_allowed = true;
	t = msgauth_tag_get(&list, "h");
	if (t != NULL)
		key_r->sha256_allowed = list_has(arena, t, "sha256");
	key_r->email_allowed = true;
	t = msgauth_tag_get(&list, "s");
	if (t != NULL)
		key_r->email_allowed = list_has(arena, t, "*") || list_has(arena, t, "email");
	t = msgauth_tag_get(&list, "t");
	if (t != NULL) {
		key_r->testing = list_has(arena, t, "y");
		key_r->strict = list_has(arena, t, "s");
	}
	return 0;
}

EVP_PKEY *dkim_key_load(const struct dkim_key *key, enum dkim_alg alg, unsigned int *bits_r,
			const char **error_r)
{
	EVP_PKEY *pkey = NULL;
	const unsigned char *p;
	int bits;

	*bits_r = 0;
	if (key->revoked) {
		*error_r = "key revoked";
		return NULL;
	}
	if (!key->email_allowed) {
		*error_r = "key not for email (s=)";
		return NULL;
	}
	if (alg == DKIM_ALG_RSA_SHA1) {
		/* RFC 8301 3.1 */
		*error_r = "rsa-sha1 is not accepted (RFC 8301)";
		return NULL;
	}
	if (!key->sha256_allowed) {
		*error_r = "key does not allow sha256 (h=)";
		return NULL;
	}
	if ((alg == DKIM_ALG_ED25519_SHA256) != (key->type == DKIM_KEY_ED25519)) {
		*error_r = "key type does not match the algorithm";
		return NULL;
	}
	if (key->type == DKIM_KEY_ED25519) {
		/* RFC 8463 4: the 32 bytes of the public key, base64 */
		if (key->pub_len != 32) {
			*error_r = "bad Ed25519 key";
			return NULL;
		}
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->pub, key->pub_len);
		if (pkey == NULL) {
			*error_r = "bad Ed25519 key";
			return NULL;
		}
		*bits_r = 256;
		return pkey;
	}
	if ((pkey = key_cache_get(key->pub, key->pub_len, bits_r)) != NULL)
		return pkey;
	/* 3.6.1 says RSAPublicKey, but every signer publishes the
	   SubjectPublicKeyInfo: take either */
	p = key->pub;
	pkey = d2i_PUBKEY(NULL, &p, (long)key->pub_len);
	if (pkey == NULL) {
		p = key->pub;
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)key->pub_len);
	}
	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		*error_r = "bad RSA key";
		return NULL;
	}
	bits = EVP_PKEY_get_bits(pkey);
	*bits_r = bits > 0 ? (unsigned int)bits : 0;
	if (bits < TERN_DKIM_MIN_RSA_BITS) {
		/* RFC 8301 3.2 */
		EVP_PKEY_free(pkey);
		*error_r = "RSA key under 1024 bits (RFC 8301)";
		return NULL;
	}
	key_cache_put(key->pub, key->pub_len, pkey, *bits_r);
	return pkey;
}
