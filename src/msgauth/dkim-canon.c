/*
 * DKIM canonicalisation (RFC 6376 3.4): header fields one at a time, and
 * the body as a stream into its hash (3.7), with the l= count (3.4.5).
 * The body canonicaliser is a small state machine so the body never has to
 * be in memory: the SMTP server feeds it as the message arrives.
 */
#include "dkim.h"

#include <openssl/evp.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int dkim_canon_header(enum dkim_canon canon, const char *field, size_t len, buf_t *out)
{
	const char *colon, *p, *end;
	size_t name_len;
	bool space = false, started = false;

	if (canon == DKIM_CANON_SIMPLE)
		return buf_append(out, field, len);

	/* 3.4.2: lowercase name, no WSP before or after the colon */
	colon = memchr(field, ':', len);
	if (colon == NULL)
		colon = field + len;
	name_len = (size_t)(colon - field);
	while (name_len > 0 && (is_wsp(field[name_len - 1]) || field[name_len - 1] == '\r' ||
				field[name_len - 1] == '\n'))
		name_len--;
	for (size_t i = 0; i < name_len; i++) {
		if (buf_append_c(out, (unsigned char)i_tolower(field[i])) < 0)
			return -1;
	}
	if (buf_append_c(out, ':') < 0)
		return -1;
	if (colon == field + len)
		return buf_append_str(out, "\r\n");
	/* unfold (drop CR and LF), WSP runs become one SP, none at either end */
	end = field + len;
	for (p = colon + 1; p < end; p++) {
		char c = *p;

		if (c == '\r' || c == '\n')
			continue;
		if (is_wsp(c)) {
			space = true;
			continue;
		}
		if (space && started && buf_append_c(out, ' ') < 0)
			return -1;
		space = false;
		started = true;
		if (buf_append_c(out, (unsigned char)c) < 0)
			return -1;
	}
	return buf_append_str(out, "\r\n");
}

/* ---- body ---- */

static void stage_flush(struct dkim_body_hasher *h)
{
	if (h->staged > 0 && h->md != NULL)
		EVP_DigestUpdate(h->md, h->stage, h->staged);
	h->staged = 0;
}

/* One canonical byte out: counted always, hashed up to the limit. */
static inline void emit(struct dkim_body_hasher *h, unsigned char c)
{
	if (h->total < h->limit) {
		if (h->staged == sizeof(h->stage))
			stage_flush(h);
		h->stage[h->staged++] = c;
	}
	h->total++;
}

/* Content on a line: the held line ends (and WSP) go out before it. */
static inline void emit_content(struct dkim_body_hasher *h, unsigned char c)
{
	for (; h->pending_crlf > 0; h->pending_crlf--) {
		emit(h, '\r');
		emit(h, '\n');
	}
	if (h->pending_wsp) {
		emit(h, ' ');
		h->pending_wsp = false;
	}
	h->any_content = true;
	emit(h, c);
}

/* A run of n content bytes (no CR, LF, or WSP in relaxed): the held line
   ends and WSP first, then the run in one go. */
static void emit_run(struct dkim_body_hasher *h, const unsigned char *p, size_t n)
{
	size_t take;

	emit_content(h, p[0]);
	p++;
	n--;
	/* hashed up to the limit, counted all the same */
	take = h->total < h->limit ? (size_t)I_MIN((uint64_t)n, h->limit - h->total) : 0;
	h->total += n;
	while (take > 0) {
		size_t room = sizeof(h->stage) - h->staged, k = I_MIN(room, take);

		memcpy(h->stage + h->staged, p, k);
		h->staged += k;
		p += k;
		take -= k;
		if (h->staged == sizeof(h->stage))
			stage_flush(h);
	}
}

void dkim_body_hasher_init(struct dkim_body_hasher *h, enum dkim_canon canon, bool sha1,
			   uint64_t limit)
{
	memset(h, 0, sizeof(*h));
	h->canon = canon;
	h->limit = limit;
	h->md = EVP_MD_CTX_new();
	if (h->md == NULL || EVP_DigestInit_ex(h->md, dkim_md(sha1), NULL) != 1)
		i_fatal("dkim: cannot start a digest");
}

void dkim_body_hasher_feed(struct dkim_body_hasher *h, const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + len;
	bool relaxed = h->canon == DKIM_CANON_RELAXED;

	while (p < end) {
		unsigned char c = *p;

		if (!h->pending_cr && c != '\r' && c != '\n' &&
		    !(relaxed && (c == ' ' || c == '\t'))) {
			/* the common case: a run of ordinary text */
			const unsigned char *q = p + 1;

			while (q < end && *q != '\r' && *q != '\n' &&
			       !(relaxed && (*q == ' ' || *q == '\t')))
				q++;
			emit_run(h, p, (size_t)(q - p));
			p = q;
			continue;
		}
		p++;
		if (h->pending_cr) {
			h->pending_cr = false;
			if (c == '\n') {
				/* a line ends: held until content follows, so that
				   trailing empty lines vanish (3.4.3, 3.4.4); relaxed
				   drops the WSP at its end */
				h->pending_crlf++;
				h->pending_wsp = false;
				continue;
			}
			/* a lone CR is content */
			emit_content(h, '\r');
		}
		if (c == '\r') {
			h->pending_cr = true;
			continue;
		}
		if (relaxed && (c == ' ' || c == '\t')) {
			h->pending_wsp = true;
			continue;
		}
		emit_content(h, c);
	}
}

void dkim_body_hasher_finish(struct dkim_body_hasher *h, unsigned char *out,
			     unsigned int *out_len_r, uint64_t *total_r)
{
	if (h->pending_cr) {
		h->pending_cr = false;
		emit_content(h, '\r');
	}
	if (h->any_content) {
		/* the last non-empty line's end (or the CRLF added to a body
		   that does not end with one) */
		emit(h, '\r');
		emit(h, '\n');
	} else if (h->canon == DKIM_CANON_SIMPLE) {
		/* 3.4.3: an empty body is one CRLF; 3.4.4: relaxed, nothing */
		emit(h, '\r');
		emit(h, '\n');
	}
	stage_flush(h);
	if (EVP_DigestFinal_ex(h->md, out, out_len_r) != 1)
		i_fatal("dkim: digest failed");
	*total_r = h->total;
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}

void dkim_body_hasher_deinit(struct dkim_body_hasher *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}
