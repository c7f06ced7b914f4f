/*
 * SRS rewriting and its reverse. See srs.h.
 */
#include "srs.h"
#include "arena.h"
#include "buf.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SRS_HASH_CHARS 6
#define SRS_DAY 86400
#define SRS_TS_PERIOD 1024    /* days: 2 base32 characters */

static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int base32_value(char c)
{
	const char *p = strchr(base32, i_toupper(c));

	return c == '\0' || p == NULL ? -1 : (int)(p - base32);
}

/* HMAC-SHA256 of the parts (lowercased, NUL between them), base32. */
static void make_hash(const struct srs *srs, const char *const *parts, unsigned int count,
		      char out[SRS_HASH_CHARS + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0, i, bits = 0, acc = 0, n = 0;
	buf_t data;

	buf_init(&data, BUF_MAX_UNLIMITED);
	for (i = 0; i < count; i++) {
		for (const char *p = parts[i]; *p != '\0'; p++) {
			if (buf_append_c(&data, (unsigned char)i_tolower(*p)) < 0)
				i_panic("srs: unlimited buffer full");
		}
		if (buf_append_c(&data, 0) < 0)
			i_panic("srs: unlimited buffer full");
	}
	if (HMAC(EVP_sha256(), srs->secret, (int)srs->secret_len, data.data, data.used, mac,
		 &mac_len) == NULL)
		i_fatal("srs: HMAC failed");
	buf_free(&data);
	for (i = 0; i < mac_len && n < SRS_HASH_CHARS; i++) {
		acc = (acc << 8) | mac[i];
		bits += 8;
		while (bits >= 5 && n < SRS_HASH_CHARS) {
			out[n++] = base32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[n] = '\0';
}

static void make_timestamp(time_t now, char out[3])
{
	unsigned int days = (unsigned int)((now / SRS_DAY) % SRS_TS_PERIOD);

	out[0] = base32[days >> 5];
	out[1] = base32[days & 31];
	out[2] = '\0';
}

bool srs_is_srs(const char *local)
{
	return (local[0] == 'S' || local[0] == 's') && (local[1] == 'R' || local[1] == 'r') &&
	       (local[2] == 'S' || local[2] == 's') && (local[3] == '0' || local[3] == '1') &&
	       (local[4] == '=' || local[4] == '+' || local[4] == '-');
}

const char *srs_forward(struct arena *arena, const struct srs *srs, const char *sender,
			time_t now)
{
	const char *at = strrchr(sender, '@'), *parts[3];
	char *local, hash[SRS_HASH_CHARS + 1], ts[3];
	const char *domain;

	if (sender[0] == '\0' || at == NULL || at == sender)
		return NULL;
	domain = at + 1;
	if (i_strcasecmp(domain, srs->domain) == 0)
		return NULL;
	local = arena_strndup(arena, sender, (size_t)(at - sender));
	if (srs_is_srs(local) && (local[3] == '0' || local[3] == '1')) {
		/* SRS1: keep the first forwarder's host and its SRS0 part */
		const char *host = domain, *rest = local + 4;

		if (local[3] == '1') {
			/* SRS1=HHH=host==rest: take host and rest as they are */
			const char *p = strchr(local + 5, '=');
			const char *sep;

			if (p == NULL || (sep = strchr(p + 1, '=')) == NULL)
				goto srs0;
			host = arena_strndup(arena, p + 1, (size_t)(sep - p - 1));
			rest = sep;
		}
		parts[0] = host;
		parts[1] = rest;
		make_hash(srs, parts, 2, hash);
		return arena_printf(arena, "SRS1=%s=%s=%s@%s", hash, host, rest, srs->domain);
	}
srs0:
	make_timestamp(now, ts);
	parts[0] = ts;
	parts[1] = domain;
	parts[2] = local;
	make_hash(srs, parts, 3, hash);
	return arena_printf(arena, "SRS0=%s=%s=%s=%s@%s", hash, ts, domain, local, srs->domain);
}

static bool hash_equal(const char *given, size_t len, const char *want)
{
	size_t i;

	if (len != strlen(want))
		return false;
	for (i = 0; i < len; i++) {
		if (i_toupper(given[i]) != want[i])
			return false;
	}
	return true;
}

int srs_reverse(struct arena *arena, const struct srs *srs, const char *address, time_t now,
		const char **orig_r, const char **error_r)
{
	const char *at = strrchr(address, '@'), *parts[3], *p, *f[4];
	char *local, hash[SRS_HASH_CHARS + 1];
	size_t flen[4];
	unsigned int n = 0;

	if (at == NULL || i_strcasecmp(at + 1, srs->domain) != 0)
		return 0;
	local = arena_strndup(arena, address, (size_t)(at - address));
	if (!srs_is_srs(local))
		return 0;
	if (local[3] == '1') {
		/* SRS1=HHH=host==rest -> SRS0rest@host */
		const char *h = local + 5, *hend = strchr(h, '='), *host, *hostend;

		if (hend == NULL)
			goto bad;
		host = hend + 1;
		hostend = strchr(host, '=');
		if (hostend == NULL || hostend == host || hostend[1] == '\0')
			goto bad;
		parts[0] = arena_strndup(arena, host, (size_t)(hostend - host));
		parts[1] = hostend + 1;
		make_hash(srs, parts, 2, hash);
		if (!hash_equal(h, (size_t)(hend - h), hash)) {
			*error_r = "bad SRS hash";
			return -1;
		}
		*orig_r = arena_printf(arena, "SRS0%s@%s", hostend + 1, parts[0]);
		return 1;
	}
	/* SRS0=HHH=TT=domain=local (the local part may hold '=') */
	p = local + 5;
	while (n < 3) {
		const char *eq = strchr(p, '=');

		if (eq == NULL)
			goto bad;
		f[n] = p;
		flen[n] = (size_t)(eq - p);
		n++;
		p = eq + 1;
	}
	f[3] = p;
	flen[3] = strlen(p);
	if (flen[1] != 2 || flen[2] == 0 || flen[3] == 0)
		goto bad;
	{
		int a = base32_value(f[1][0]), b = base32_value(f[1][1]);
		unsigned int then, today = (unsigned int)((now / SRS_DAY) % SRS_TS_PERIOD), age;

		if (a < 0 || b < 0)
			goto bad;
		then = (unsigned int)(a << 5 | b);
		age = (today + SRS_TS_PERIOD - then) % SRS_TS_PERIOD;
		if (age > srs->max_age_days) {
			*error_r = "SRS address too old";
			return -1;
		}
	}
	parts[0] = arena_strndup(arena, f[1], 2);
	parts[1] = arena_strndup(arena, f[2], flen[2]);
	parts[2] = f[3];
	/* make_hash lowercases: a change of case on the way does not matter */
	make_hash(srs, parts, 3, hash);
	if (!hash_equal(f[0], flen[0], hash)) {
		*error_r = "bad SRS hash";
		return -1;
	}
	*orig_r = arena_printf(arena, "%s@%s", parts[2], parts[1]);
	return 1;
bad:
	*error_r = "malformed SRS address";
	return -1;
}
