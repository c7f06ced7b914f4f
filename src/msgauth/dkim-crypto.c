/*
 * What DKIM signs (RFC 6376 3.7) and the signature operations on OpenSSL:
 * the header hash over the fields a signature names, RSASSA-PKCS1-v1_5
 * (rsa-sha256) and Ed25519 over the SHA-256 digest (RFC 8463 3).
 */
#include "dkim.h"
#include "header.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <pthread.h>

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256, *md_sha1;

static void md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (md_sha256 == NULL || md_sha1 == NULL)
		i_fatal("dkim: OpenSSL has no SHA-256 or SHA-1");
}

const EVP_MD *dkim_md(bool sha1)
{
	pthread_once(&md_once, md_fetch);
	return sha1 ? md_sha1 : md_sha256;
}

/* How many bytes of a field are its final line break (CRLF or LF). */
static size_t line_break_len(const char *field, size_t len)
{
	if (len >= 2 && field[len - 2] == '\r' && field[len - 1] == '\n')
		return 2;
	if (len >= 1 && field[len - 1] == '\n')
		return 1;
	return 0;
}

static void hash_buf(EVP_MD_CTX *md, buf_t *b)
{
	if (b->used > 0)
		EVP_DigestUpdate(md, b->data, b->used);
	buf_reset(b);
}

unsigned int dkim_header_hash(enum dkim_canon canon, enum dkim_alg alg,
			      const struct msg_header *hdr, const char *raw,
			      const char *const *names, unsigned int count,
			      const char *sig_field, size_t sig_field_len,
			      size_t b_start, size_t b_end, unsigned char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int i, j, out_len = 0;
	buf_t b;

	if (md == NULL ||
	    EVP_DigestInit_ex(md, dkim_md(alg == DKIM_ALG_RSA_SHA1), NULL) != 1)
		i_fatal("dkim: cannot start a digest");
	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = 0; i < count; i++) {
		unsigned int skip = 0, k;
		const struct msg_header_field *f = NULL;

		/* a name listed again takes the next instance up (5.4.2) */
		for (k = 0; k < i; k++) {
			if (i_strcasecmp(names[k], names[i]) == 0)
				skip++;
		}
		for (j = hdr->count; j > 0; j--) {
			const struct msg_header_field *cand = &hdr->fields[j - 1];

			if (cand->name_len == 0 || i_strcasecmp(cand->name, names[i]) != 0)
				continue;
			if (skip == 0) {
				f = cand;
				break;
			}
			skip--;
		}
		if (f == NULL)
			continue;   /* absent: contributes nothing (5.4) */
		if (dkim_canon_header(canon, raw + f->offset, f->size, &b) < 0)
			i_panic("dkim: unlimited buffer full");
		hash_buf(md, &b);
	}

	/* the signature field: its b= value emptied (3.7), no final CRLF */
	{
		size_t lb = line_break_len(sig_field, sig_field_len);
		buf_t field;

		buf_init(&field, BUF_MAX_UNLIMITED);
		if (buf_append(&field, sig_field, b_start) < 0 ||
		    buf_append(&field, sig_field + b_end, sig_field_len - b_end) < 0 ||
		    dkim_canon_header(canon, (const char *)field.data, field.used, &b) < 0)
			i_panic("dkim: unlimited buffer full");
		buf_free(&field);
		/* relaxed always ends with CRLF; simple with the field's own */
		lb = canon == DKIM_CANON_RELAXED ? 2 : lb;
		i_assert(b.used >= lb);
		b.used -= lb;
		hash_buf(md, &b);
	}
	if (EVP_DigestFinal_ex(md, out, &out_len) != 1)
		i_fatal("dkim: digest failed");
	EVP_MD_CTX_free(md);
	buf_free(&b);
	return out_len;
}

bool dkim_verify_hash(EVP_PKEY *pkey, enum dkim_alg alg, const unsigned char *hash,
		      size_t hash_len, const unsigned char *sig, size_t sig_len)
{
	bool ok = false;

	if (alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		/* RFC 8463 3: PureEdDSA over the SHA-256 digest */
		if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestVerify(ctx, sig, sig_len, hash, hash_len) == 1)
			ok = true;
		EVP_MD_CTX_free(ctx);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);

		if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, dkim_md(alg == DKIM_ALG_RSA_SHA1)) == 1 &&
		    EVP_PKEY_verify(ctx, sig, sig_len, hash, hash_len) == 1)
			ok = true;
		EVP_PKEY_CTX_free(ctx);
	}
	return ok;
}

int dkim_sign_hash(EVP_PKEY *pkey, enum dkim_alg alg, const unsigned char *hash,
		   size_t hash_len, buf_t *out, const char **error_r)
{
	size_t sig_len = 0;
	unsigned char *p;
	int ok = 0;

	if (alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestSign(ctx, NULL, &sig_len, hash, hash_len) == 1) {
			p = buf_reserve(out, sig_len);
			if (p != NULL && EVP_DigestSign(ctx, p, &sig_len, hash, hash_len) == 1) {
				buf_commit(out, sig_len);
				ok = 1;
			}
		}
		EVP_MD_CTX_free(ctx);
	} else if (alg == DKIM_ALG_RSA_SHA256) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);

		if (ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, dkim_md(false)) == 1 &&
		    EVP_PKEY_sign(ctx, NULL, &sig_len, hash, hash_len) == 1) {
			p = buf_reserve(out, sig_len);
			if (p != NULL && EVP_PKEY_sign(ctx, p, &sig_len, hash, hash_len) == 1) {
				buf_commit(out, sig_len);
				ok = 1;
			}
		}
		EVP_PKEY_CTX_free(ctx);
	}
	if (!ok) {
		*error_r = "signing failed (wrong key type for the algorithm?)";
		return -1;
	}
	return 0;
}
