/*
 * SPF macro expansion (RFC 7208 7): %{letter digits r delimiters},
 * %% %_ %-, URL escaping for upper-case letters, the 253-byte cut of
 * domain names (7.3).
 */
#include "spf.h"
#include "arena.h"
#include "buf.h"
#include "tern-limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

bool spf_macro_uses_p(const char *spec)
{
	for (const char *p = spec; (p = strchr(p, '%')) != NULL; p++) {
		if (p[1] == '%') {
			p++;
			continue;
		}
		if (p[1] == '{' && (p[2] == 'p' || p[2] == 'P'))
			return true;
	}
	return false;
}

static bool ip_is_v4(const struct sockaddr_storage *ss, const uint8_t **addr_r)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (ss->ss_family == AF_INET) {
		*addr_r = (const uint8_t *)&((const struct sockaddr_in *)(const void *)ss)->sin_addr;
		return true;
	}
	*addr_r = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	if (memcmp(*addr_r, v4mapped, 12) == 0) {
		*addr_r += 12;
		return true;
	}
	return false;
}

/* The value of one macro letter (7.2), before transformers. */
static const char *letter_value(struct arena *arena, char letter, const struct spf_request *req,
				const char *domain, const char *validated)
{
	const uint8_t *a;
	bool v4 = ip_is_v4(&req->ip, &a);
	const char *at;

	switch (letter) {
	case 's':
		return req->sender;
	case 'l':
		at = strrchr(req->sender, '@');
		return at == NULL ? "postmaster" : arena_strndup(arena, req->sender,
								 (size_t)(at - req->sender));
	case 'o':
		at = strrchr(req->sender, '@');
		return at == NULL ? req->sender : at + 1;
	case 'd':
		return domain;
	case 'i':
		if (v4)
			return arena_printf(arena, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		else {
			/* 7.3: IPv6 as dot-separated nibbles */
			char *out = arena_alloc(arena, 64), *p = out;

			for (unsigned int i = 0; i < 16; i++) {
				p += sprintf(p, "%x.%x.", a[i] >> 4, a[i] & 0xf);
			}
			p[-1] = '\0';
			return out;
		}
	case 'p':
		return validated != NULL ? validated : "unknown";
	case 'v':
		return v4 ? "in-addr" : "ip6";
	case 'h':
		return req->helo != NULL && req->helo[0] != '\0' ? req->helo : "unknown";
	case 'c': {
		char text[INET6_ADDRSTRLEN];

		if (v4)
			return arena_printf(arena, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		inet_ntop(AF_INET6, a, text, sizeof(text));
		return arena_strdup(arena, text);
	}
	case 'r':
		return req->receiver != NULL && req->receiver[0] != '\0' ? req->receiver : "unknown";
	case 't':
		return arena_printf(arena, "%lld", (long long)req->now);
	}
	return NULL;
}

/* Split value on delimiters, reverse if asked, keep the rightmost count
   parts (0: all), join with "." (7.3). */
static int transform(buf_t *out, const char *value, const char *delims, unsigned int count,
		     bool reverse, bool escape)
{
	const char *parts[256];
	size_t lens[256];
	unsigned int n = 0, first, i;
	const char *p = value, *start = value;

	for (;; p++) {
		if (*p == '\0' || strchr(delims, *p) != NULL) {
			if (n == N_ELEMENTS(parts))
				return -1;
			parts[n] = start;
			lens[n] = (size_t)(p - start);
			n++;
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	if (reverse) {
		for (i = 0; i < n / 2; i++) {
			const char *tp = parts[i];
			size_t tl = lens[i];

			parts[i] = parts[n - 1 - i];
			lens[i] = lens[n - 1 - i];
			parts[n - 1 - i] = tp;
			lens[n - 1 - i] = tl;
		}
	}
	first = count > 0 && count < n ? n - count : 0;
	for (i = first; i < n; i++) {
		if (i > first && buf_append_c(out, '.') < 0)
			return -1;
		for (size_t k = 0; k < lens[i]; k++) {
			unsigned char c = (unsigned char)parts[i][k];

			/* 7.3: upper-case macro letters URL-escape (RFC 3986
			   unreserved characters stay) */
			if (escape && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					(c >= '0' && c <= '9') || c == '-' || c == '.' ||
					c == '_' || c == '~')) {
				if (buf_printf(out, "%%%02X", c) < 0)
					return -1;
			} else if (buf_append_c(out, c) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

const char *spf_macro_expand(struct arena *arena, const char *spec,
			     const struct spf_request *req, const char *current_domain,
			     const char *validated, bool exp, bool domain_query,
			     const char **error_r)
{
	const char *p = spec, *result;
	buf_t out;

	buf_init(&out, TERN_SPF_MAX_EXPANSION);
	while (*p != '\0') {
		char letter, delims[8];
		unsigned int count = 0, nd = 0;
		bool reverse = false, upper;
		const char *value;

		if (*p != '%') {
			if (buf_append_c(&out, (unsigned char)*p++) < 0)
				goto too_long;
			continue;
		}
		p++;
		if (*p == '%' || *p == '_' || *p == '-') {
			const char *lit = *p == '%' ? "%" : *p == '_' ? " " : "%20";

			if (buf_append_str(&out, lit) < 0)
				goto too_long;
			p++;
			continue;
		}
		if (*p != '{')
			goto bad;
		p++;
		upper = *p >= 'A' && *p <= 'Z';
		letter = i_tolower(*p);
		if (letter == '\0' || strchr("slodiphv", letter) == NULL) {
			if (!exp || letter == '\0' || strchr("crt", letter) == NULL)
				goto bad;
		}
		p++;
		while (*p >= '0' && *p <= '9') {
			count = count * 10 + (unsigned int)(*p - '0');
			if (count > 128)
				goto bad;
			p++;
		}
		if (p[-1] >= '0' && p[-1] <= '9' && count == 0)
			goto bad;
		if (*p == 'r' || *p == 'R') {
			reverse = true;
			p++;
		}
		delims[0] = '\0';
		while (*p != '\0' && strchr(".-+,/_=", *p) != NULL) {
			if (nd < sizeof(delims) - 1 && strchr(delims, *p) == NULL) {
				delims[nd++] = *p;
				delims[nd] = '\0';
			}
			p++;
		}
		if (nd == 0)
			strcpy(delims, ".");
		if (*p != '}')
			goto bad;
		p++;
		value = letter_value(arena, letter, req, current_domain, validated);
		if (value == NULL)
			goto bad;
		if (transform(&out, value, delims, count, reverse, upper) < 0)
			goto too_long;
	}
	result = arena_strndup(arena, out.data, out.used);
	buf_free(&out);
	if (domain_query) {
		size_t len = strlen(result);

		if (len > 0 && result[len - 1] == '.')
			len--;
		/* 7.3: over 253 bytes, labels go from the left */
		while (len > 253) {
			const char *dot = memchr(result, '.', len);

			if (dot == NULL)
				break;
			len -= (size_t)(dot + 1 - result);
			result = dot + 1;
		}
		result = arena_strndup(arena, result, len);
	}
	return result;
bad:
	buf_free(&out);
	*error_r = "bad macro";
	return NULL;
too_long:
	buf_free(&out);
	*error_r = "macro expansion too long";
	return NULL;
}

void spf_request_identity(struct arena *arena, struct spf_request *req, const char *mail_from,
			  const char *helo)
{
	const char *at;

	req->helo = helo;
	if (mail_from == NULL || mail_from[0] == '\0') {
		/* 2.4: the null reverse path: check the HELO identity as
		   postmaster@helo */
		req->sender = arena_printf(arena, "postmaster@%s", helo != NULL ? helo : "");
		req->domain = helo != NULL ? helo : "";
		return;
	}
	at = strrchr(mail_from, '@');
	if (at == NULL) {
		/* 4.3: no local part given: "postmaster" */
		req->sender = arena_printf(arena, "postmaster@%s", mail_from);
		req->domain = mail_from;
	} else if (at == mail_from) {
		req->sender = arena_printf(arena, "postmaster%s", mail_from);
		req->domain = at + 1;
	} else {
		req->sender = mail_from;
		req->domain = at + 1;
	}
}
