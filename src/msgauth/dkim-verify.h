#ifndef TERN_DKIM_VERIFY_H
#define TERN_DKIM_VERIFY_H

#include "msgauth.h"
#include "dkim.h"

/*
 * Verifying every DKIM signature of a message (RFC 6376 6) while it
 * arrives: the header block first (its signatures are parsed and their keys
 * looked up at once, while the body still streams in), then the body through
 * one hasher per distinct canonicalisation and length, then the results.
 *
 *   v = dkim_verifier_new(arena, dns, now, done, ctx);
 *   dkim_verifier_header(v, &hdr, raw);        // at the end of the header
 *   dkim_verifier_body(v, data, len);           // any number of times
 *   if (!dkim_verifier_body_end(v)) wait for done(ctx)
 *   n = dkim_verifier_results(v, &results);
 *   dkim_verifier_free(&v);                     // cancels lookups still running
 *
 * Results, one per signature, in header order (the first
 * TERN_DKIM_MAX_SIGNATURES only): pass; fail (body hash or signature
 * mismatch, expired); policy (l= leaves content after the signed part:
 * never counted as signed); neutral (rsa-sha1, RFC 8301); permerror (a
 * malformed signature, no key, a bad or too small key); temperror (DNS).
 */

struct arena;
struct msg_header;
struct dkim_verifier;

struct dkim_verify_result {
	enum msgauth_result result;
	const char *reason;         /* why it is not a pass; NULL for a pass */
	const char *domain;         /* d=, or NULL when the field was unreadable */
	const char *selector;       /* s= or NULL */
	const char *auid;           /* i= or NULL */
	enum dkim_alg alg;
	const char *b_text;         /* b= (RFC 8601 header.b uses its start), or NULL */
	unsigned int key_bits;      /* 0 when no key was loaded */
	bool testing;               /* the key says t=y */
};

/* Called (from a DNS callback) when the last result became known after
   dkim_verifier_body_end() returned false. */
typedef void dkim_verifier_done_cb(void *ctx);

/* arena holds everything the verifier makes and must outlive it; dns is
   copied. now: for x= (injectable for tests). */
struct dkim_verifier *dkim_verifier_new(struct arena *arena, const struct msgauth_dns *dns,
					time_t now, dkim_verifier_done_cb *done, void *ctx);
/* The header block is complete: hdr is its parse (msg_header_parse_block at
   offset 0) of raw, both valid until the verifier is freed. Starts the key
   lookups. */
void dkim_verifier_header(struct dkim_verifier *v, const struct msg_header *hdr,
			  const char *raw);
/* Body bytes (everything after the empty line), in pieces of any size. */
void dkim_verifier_body(struct dkim_verifier *v, const void *data, size_t len);
/* The body is complete. true: every result is known now (done will not be
   called); false: done comes when the last key arrives. */
bool dkim_verifier_body_end(struct dkim_verifier *v);
/* The results so far (all of them once complete). */
unsigned int dkim_verifier_results(struct dkim_verifier *v,
				   const struct dkim_verify_result **results_r);
/* Give up on lookups still running: their results become temperror. */
void dkim_verifier_timeout(struct dkim_verifier *v);
/* Cancels lookups still running; NULL-safe; sets *v NULL. */
void dkim_verifier_free(struct dkim_verifier **v);

/* The key lookup shared with ARC: the name to ask (S._domainkey.D) and the
   outcome of its answer. Returns the result: PASS with *pkey_r (free it),
   TEMPERROR, or PERMERROR with a static *reason_r. */
const char *dkim_key_name(struct arena *arena, const char *selector, const char *domain);
enum msgauth_result dkim_key_from_answer(struct arena *arena, const struct dns_result *res,
					 enum dkim_alg alg, EVP_PKEY **pkey_r,
					 unsigned int *bits_r, bool *testing_r, bool *strict_r,
					 const char **reason_r);
/* The same from TXT records kept from an answer (ARC looks a key up once
   for several signatures). */
enum msgauth_result dkim_key_from_txt(struct arena *arena, enum dns_status status,
				      const char *const *txt, const size_t *lens,
				      unsigned int count, enum dkim_alg alg, EVP_PKEY **pkey_r,
				      unsigned int *bits_r, bool *testing_r, bool *strict_r,
				      const char **reason_r);

#endif
