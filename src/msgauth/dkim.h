#ifndef TERN_DKIM_H
#define TERN_DKIM_H

#include "lib.h"
#include "buf.h"

#include <time.h>

/*
 * DKIM (RFC 6376) without the asynchronous parts: the DKIM-Signature and
 * key record parsers, canonicalisation (3.4), the header and body hashes,
 * and the signature operations on OpenSSL for rsa-sha256 and
 * ed25519-sha256 (RFC 8463). rsa-sha1 is parsed but never verifies, and RSA
 * keys under TERN_DKIM_MIN_RSA_BITS never verify (RFC 8301).
 *
 * The verifier that looks keys up is dkim-verify.h; ARC (arc.h) reuses all
 * of this for ARC-Message-Signature fields.
 */

struct arena;
struct msg_header;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_md_ctx_st EVP_MD_CTX;

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1,          /* historic: refused (RFC 8301 3.1) */
};

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

/* "rsa-sha256", "ed25519-sha256", "rsa-sha1" */
const char *dkim_alg_name(enum dkim_alg alg);

/* SHA-256 (or SHA-1) fetched once from OpenSSL's default provider: OpenSSL
   3 looks EVP_sha256() up again at every use, under a global lock, which
   shows when every message hashes a dozen times. */
typedef struct evp_md_st EVP_MD;
const EVP_MD *dkim_md(bool sha1);

/* A DKIM-Signature field (RFC 6376 3.5), or an ARC-Message-Signature
   (RFC 8617 4.1.2: the same tags with i= an instance number and no v=). */
struct dkim_signature {
	unsigned int arc_instance;     /* 0 for DKIM-Signature */
	enum dkim_alg alg;
	enum dkim_canon header_canon, body_canon;
	const char *domain;            /* d=, lowercase, no trailing dot */
	const char *selector;          /* s=, lowercase */
	const char *auid;              /* DKIM i= (default "@" d); NULL for ARC */
	const char **headers;          /* h= names as written, in order */
	unsigned int header_count;
	const unsigned char *bh;       /* body hash, decoded */
	size_t bh_len;
	const unsigned char *b;        /* signature, decoded */
	size_t b_len;
	const char *b_text;            /* b= base64 with FWS removed */
	bool has_length;               /* l= */
	uint64_t length;
	bool has_timestamp;            /* t= */
	int64_t timestamp;
	bool has_expiration;           /* x= */
	int64_t expiration;
	/* the b= value's place in the field value given to the parser */
	size_t b_start, b_end;
};

/* Parse a DKIM-Signature (arc false) or ARC-Message-Signature (arc true)
   field value as it appears after the colon (folds and all). Checks what
   3.5 and 6.1.1 require of a signature before any key is fetched: the
   required tags, v=1, a known a= and c=, h= naming From, i= within d=,
   x= after t=, q= dns/txt. Returns 0, or -1 with a static *error_r (the
   signature is then a permerror). */
int dkim_signature_parse(struct arena *arena, const char *value, size_t len, bool arc,
			 struct dkim_signature *sig_r, const char **error_r);

/* A key record (RFC 6376 3.6.1), published at S._domainkey.D. */
struct dkim_key {
	enum dkim_key_type type;       /* k=, default rsa */
	bool revoked;                  /* p= empty (3.6.1) */
	const unsigned char *pub;      /* p= decoded: SubjectPublicKeyInfo (or
	                                  RSAPublicKey) for RSA, 32 raw bytes for
	                                  Ed25519 (RFC 8463 4) */
	size_t pub_len;
	bool testing;                  /* t=y */
	bool strict;                   /* t=s: i= must be exactly d= */
	bool sha256_allowed;           /* h= absent or naming sha256 */
	bool email_allowed;            /* s= absent, "*" or "email" */
};

/* Parse one TXT record. 0, or -1 with a static *error_r. */
int dkim_key_parse(struct arena *arena, const char *txt, size_t len, struct dkim_key *key_r,
		   const char **error_r);

/* The public key of a record as OpenSSL's, checked against the signature
   algorithm and RFC 8301 (RSA of at least TERN_DKIM_MIN_RSA_BITS). Returns a
   new key (EVP_PKEY_free it) with its size in *bits_r, or NULL with a static
   *error_r. */
EVP_PKEY *dkim_key_load(const struct dkim_key *key, enum dkim_alg alg, unsigned int *bits_r,
			const char **error_r);

/* ---- canonicalisation (RFC 6376 3.4) ---- */

/* Append the canonical form of one raw header field ("Name: value" with its
   folds and its final line break, CRLF or LF) to out: simple keeps it as is,
   relaxed (3.4.2) lowercases the name, unfolds, turns WSP runs into one SP
   and drops WSP around the colon and at the end. A field without a final
   line break gets CRLF in relaxed and nothing in simple. -1 when out is
   full. */
int dkim_canon_header(enum dkim_canon canon, const char *field, size_t len, buf_t *out);

/* The body hash (3.4.3, 3.4.4, 3.7), streaming: the body goes through in
   pieces of any size and gives the same hash as in one piece. limit is the
   l= count (UINT64_MAX: none): only that many canonical bytes are hashed,
   while all are counted. */
struct dkim_body_hasher {
	enum dkim_canon canon;
	EVP_MD_CTX *md;
	uint64_t limit;
	uint64_t total;                /* canonical body bytes so far */
	unsigned int pending_crlf;     /* line ends held back (trailing empty lines) */
	bool pending_cr;               /* a CR, not yet known to start a CRLF */
	bool pending_wsp;              /* relaxed: WSP inside a line, not yet written */
	bool any_content;              /* a non-empty line was seen */
	size_t staged;
	unsigned char stage[4096];
};

/* sha1: the historic algorithm (to compute what a signer meant; the result
   never verifies). */
void dkim_body_hasher_init(struct dkim_body_hasher *h, enum dkim_canon canon, bool sha1,
			   uint64_t limit);
void dkim_body_hasher_feed(struct dkim_body_hasher *h, const void *data, size_t len);
/* The digest (32 bytes for SHA-256) into out (EVP_MAX_MD_SIZE bytes); the
   canonical length of the whole body in *total_r. Frees the digest state. */
void dkim_body_hasher_finish(struct dkim_body_hasher *h, unsigned char *out,
			     unsigned int *out_len_r, uint64_t *total_r);
/* Free without finishing (NULL-safe about a finished hasher). */
void dkim_body_hasher_deinit(struct dkim_body_hasher *h);

/* ---- the signed data and the signatures ---- */

/* The header hash of a signature (3.7): the fields named by names[] picked
   from the bottom of the header up (a name listed more often than it
   occurs adds nothing: over-signing), each canonicalised, then sig_field
   (the signature field itself, raw) with the value of its b= tag removed
   (b_start/b_end: offsets in sig_field) and without its final line break.
   hdr is the parsed block (msg_header_parse_block at offset 0) of raw.
   Writes the digest (SHA-256, or SHA-1 for rsa-sha1) to out; returns its
   length. */
unsigned int dkim_header_hash(enum dkim_canon canon, enum dkim_alg alg,
			      const struct msg_header *hdr, const char *raw,
			      const char *const *names, unsigned int count,
			      const char *sig_field, size_t sig_field_len,
			      size_t b_start, size_t b_end, unsigned char *out);

/* Does sig verify hash under pkey? RSASSA-PKCS1-v1_5 over the digest for
   RSA; Ed25519 over the 32 digest bytes for ed25519-sha256 (RFC 8463 3). */
bool dkim_verify_hash(EVP_PKEY *pkey, enum dkim_alg alg, const unsigned char *hash,
		      size_t hash_len, const unsigned char *sig, size_t sig_len);
/* Sign hash; appends the signature (binary) to out. 0, or -1 with *error_r. */
int dkim_sign_hash(EVP_PKEY *pkey, enum dkim_alg alg, const unsigned char *hash,
		   size_t hash_len, buf_t *out, const char **error_r);

/* ---- signing a message ---- */

/* What a signer needs: its domain, selector and private key (RSA for
   rsa-sha256, Ed25519 for ed25519-sha256). */
struct dkim_signer {
	const char *domain;
	const char *selector;
	enum dkim_alg alg;
	EVP_PKEY *pkey;
};

/* The header fields tern signs (From first), each over-signed: named once
   more than it occurs, so that none can be added later (RFC 6376 8.15). */
extern const char *const dkim_default_signed_headers[];

/* Sign msg (a whole message, CRLF lines, as it will be sent) with
   relaxed/relaxed (RFC 6376 3.4.2, 3.4.4): appends the complete field
   "DKIM-Signature: ...\r\n" (folded at 78 columns) to out. arc_instance >
   0 makes an ARC-Message-Signature instead (RFC 8617 4.1.2: i=N, no v=).
   now is t=. 0, or -1 with a static *error_r. */
int dkim_sign_message(const struct dkim_signer *signer, const unsigned char *msg, size_t size,
		      const char *const *headers, unsigned int arc_instance, time_t now,
		      buf_t *out, const char **error_r);

/* The same from a parsed header block (hdr of raw, as
   msg_header_parse_block gives it) and the relaxed SHA-256 body hash of the
   body (dkim_body_hasher): for a message that streamed past. */
int dkim_sign_header(const struct dkim_signer *signer, const struct msg_header *hdr,
		     const char *raw, const unsigned char *digest, unsigned int digest_len,
		     const char *const *headers, unsigned int arc_instance, time_t now,
		     buf_t *out, const char **error_r);

/* Where a message's header ends: the offset of the first body byte (after
   the empty line), or size when there is no body. */
size_t dkim_header_end(const unsigned char *msg, size_t size);

/* Append b64 to out, folded for a header: "\r\n\t" + up to width chars per
   line. */
int dkim_append_folded(buf_t *out, const char *b64, size_t width);

#endif
