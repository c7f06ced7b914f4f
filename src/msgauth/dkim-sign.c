/*
 * Signing a message (RFC 6376 5): relaxed/relaxed, the header fields of
 * dkim_default_signed_headers over-signed, t= the signing time. Used for
 * outbound mail from local domains and, with an instance number, for the
 * ARC-Message-Signature of a seal (RFC 8617 4.1.2).
 */
#include "dkim.h"
#include "arena.h"
#include "base64.h"
#include "header-parser.h"
#include "header.h"
#include "tern-limits.h"

#include <openssl/evp.h>
#include <stdio.h>

/* Over-signed: listed once more than they occur, so none can be added
   (RFC 6376 8.15); From first (5.4). */
const char *const dkim_default_signed_headers[] = {
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "Sender",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", NULL
};

/* Signed when present, not over-signed: a mailing list may add its own. */
static const char *const signed_if_present[] = {
	"List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Autocrypt", NULL
};

#define FOLD_WIDTH 72

size_t dkim_header_end(const unsigned char *msg, size_t size)
{
	size_t i = 0;

	/* the first empty line (CRLF or LF alone) ends the header */
	while (i < size) {
		const unsigned char *nl = memchr(msg + i, '\n', size - i);

		if (nl == NULL)
			return size;
		if ((size_t)(nl - msg) == i || ((size_t)(nl - msg) == i + 1 && msg[i] == '\r'))
			return (size_t)(nl - msg) + 1;
		i = (size_t)(nl - msg) + 1;
	}
	return size;
}

int dkim_append_folded(buf_t *out, const char *b64, size_t width)
{
	size_t len = strlen(b64), i;

	for (i = 0; i < len; i += width) {
		if (buf_append_str(out, "\r\n\t") < 0 ||
		    buf_append(out, b64 + i, I_MIN(width, len - i)) < 0)
			return -1;
	}
	return 0;
}

/* Append "name:name:..." folded before a name that would pass the width;
   *col is the current column. */
static int append_name(buf_t *out, const char *name, bool first, size_t *col)
{
	size_t len = strlen(name) + (first ? 0 : 1);

	if (*col + len > 76) {
		if (buf_append_str(out, first ? "\r\n\t" : "\r\n\t:") < 0)
			return -1;
		*col = 8 + (first ? 0 : 1);
		first = true;
	} else if (!first && buf_append_c(out, ':') < 0) {
		return -1;
	}
	if (buf_append_str(out, name) < 0)
		return -1;
	*col += strlen(name) + (first ? 0 : 1);
	return 0;
}

int dkim_sign_message(const struct dkim_signer *signer, const unsigned char *msg, size_t size,
		      const char *const *headers, unsigned int arc_instance, time_t now,
		      buf_t *out, const char **error_r)
{
	struct arena *arena = arena_new(0);
	struct msg_header hdr;
	struct dkim_body_hasher bh;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len;
	uint64_t total;
	size_t body_start = dkim_header_end(msg, size);
	int ret;

	msg_header_parse_block(arena, msg, body_start, 0, TERN_MIME_MAX_HEADER_FIELDS, false, &hdr);
	dkim_body_hasher_init(&bh, DKIM_CANON_RELAXED, false, UINT64_MAX);
	dkim_body_hasher_feed(&bh, msg + body_start, size - body_start);
	dkim_body_hasher_finish(&bh, digest, &digest_len, &total);
	ret = dkim_sign_header(signer, &hdr, (const char *)msg, digest, digest_len, headers,
			       arc_instance, now, out, error_r);
	arena_free(&arena);
	return ret;
}

int dkim_sign_header(const struct dkim_signer *signer, const struct msg_header *hdr,
		     const char *raw, const unsigned char *digest, unsigned int digest_len,
		     const char *const *headers, unsigned int arc_instance, time_t now,
		     buf_t *out, const char **error_r)
{
	struct arena *arena = arena_new(0);
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hash_len, n = 0, i, k;
	const char **names;
	size_t col, b_pos;
	buf_t field, sig, b64;
	int ret = -1;

	if (signer->alg == DKIM_ALG_RSA_SHA1) {
		*error_r = "rsa-sha1 is not used for signing (RFC 8301)";
		arena_free(&arena);
		return -1;
	}
	/* the h= list: each protected name once more than it occurs */
	names = arena_new_array(arena, const char *, TERN_DKIM_MAX_SIGNED_FIELDS);
	for (i = 0; headers[i] != NULL; i++) {
		unsigned int count = msg_header_count(hdr, headers[i]);

		for (k = 0; k <= count && n < TERN_DKIM_MAX_SIGNED_FIELDS - 8; k++)
			names[n++] = headers[i];
	}
	for (i = 0; signed_if_present[i] != NULL; i++) {
		unsigned int count = msg_header_count(hdr, signed_if_present[i]);

		for (k = 0; k < count && n < TERN_DKIM_MAX_SIGNED_FIELDS; k++)
			names[n++] = signed_if_present[i];
	}

	buf_init(&field, BUF_MAX_UNLIMITED);
	buf_init(&b64, BUF_MAX_UNLIMITED);
	buf_init(&sig, BUF_MAX_UNLIMITED);
	if (arc_instance > 0)
		ret = buf_printf(&field, "ARC-Message-Signature: i=%u; a=%s; c=relaxed/relaxed;\r\n"
				 "\td=%s; s=%s; t=%lld;\r\n\th=", arc_instance,
				 dkim_alg_name(signer->alg), signer->domain, signer->selector,
				 (long long)now);
	else
		ret = buf_printf(&field, "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed;\r\n"
				 "\td=%s; s=%s; t=%lld;\r\n\th=", dkim_alg_name(signer->alg),
				 signer->domain, signer->selector, (long long)now);
	col = 10;
	for (i = 0; i < n && ret == 0; i++)
		ret = append_name(&field, names[i], i == 0, &col);
	if (ret == 0)
		ret = buf_append_str(&field, ";\r\n\tbh=");
	if (ret == 0)
		ret = base64_encode(digest, digest_len, &field);
	if (ret == 0)
		ret = buf_append_str(&field, ";\r\n\tb=");
	b_pos = field.used;
	if (ret == 0)
		ret = buf_append_str(&field, "\r\n");
	if (ret < 0)
		i_panic("dkim: unlimited buffer full");

	hash_len = dkim_header_hash(DKIM_CANON_RELAXED, signer->alg, hdr, raw,
				    names, n, (const char *)field.data, field.used, b_pos, b_pos,
				    hash);
	if (dkim_sign_hash(signer->pkey, signer->alg, hash, hash_len, &sig, error_r) < 0) {
		ret = -1;
	} else {
		buf_truncate(&field, b_pos);
		if (base64_encode(sig.data, sig.used, &b64) < 0 ||
		    dkim_append_folded(&field, buf_str(&b64), FOLD_WIDTH) < 0 ||
		    buf_append_str(&field, "\r\n") < 0)
			i_panic("dkim: unlimited buffer full");
		ret = buf_append(out, field.data, field.used);
		if (ret < 0)
			*error_r = "output buffer full";
	}
	buf_free(&field);
	buf_free(&sig);
	buf_free(&b64);
	arena_free(&arena);
	return ret;
}
