/*
 * MX list handling for mail routing (RFC 5321 5.1, RFC 7505): ordering by
 * preference with random order among equals, null MX, and not sending
 * mail back to ourselves.
 */
#include "outbound.h"

#include "dns.h"

#include <stdlib.h>

static int mx_cmp(const void *a, const void *b);

static int mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return x->preference < y->preference ? -1 : x->preference > y->preference ? 1 : 0;
}

void outbound_mx_sort(struct dns_mx *mx, unsigned int count, outbound_random_cb *rnd, void *ctx)
{
	unsigned int start, end, i;

	if (count > 0)
		qsort(mx, count, sizeof(*mx), mx_cmp);
	/* RFC 5321 5.1: "If there are multiple destinations with the same
	   preference ... the SMTP client SHOULD randomize them to spread the
	   load": a Fisher-Yates shuffle of each run of equal preference */
	for (start = 0; start < count; start = end) {
		for (end = start + 1; end < count && mx[end].preference == mx[start].preference; end++)
			;
		for (i = end - 1; i > start; i--) {
			unsigned int n = i - start + 1;
			unsigned int j = start + (rnd != NULL ? rnd(ctx, n) % n :
						  (unsigned int)random() % n);
			struct dns_mx tmp = mx[i];

			mx[i] = mx[j];
			mx[j] = tmp;
		}
	}
}

enum outbound_mx_verdict outbound_mx_select(struct dns_mx *mx, unsigned int count,
					    bool (*is_self)(void *ctx, const char *host),
					    void *ctx, unsigned int *count_r)
{
	unsigned int i, n = 0, self_pref = 0;
	bool self = false;

	/* RFC 7505 3: a single MX with the exchange "." (root): no mail */
	if (count == 1 && mx[0].host[0] == '\0')
		return OUTBOUND_MX_NULL;
	for (i = 0; i < count; i++) {
		if (mx[i].host[0] == '\0')
			continue;   /* "." mixed with real hosts: meaningless, skipped */
		if (is_self != NULL && is_self(ctx, mx[i].host)) {
			if (!self || mx[i].preference < self_pref)
				self_pref = mx[i].preference;
			self = true;
		}
	}
	for (i = 0; i < count; i++) {
		if (mx[i].host[0] == '\0')
			continue;
		/* RFC 5321 5.1: when we are one of the MX hosts, use only
		   those more preferred than we are */
		if (self && mx[i].preference >= self_pref)
			continue;
		mx[n++] = mx[i];
	}
	*count_r = n;
	if (n == 0)
		return self ? OUTBOUND_MX_LOOP : OUTBOUND_MX_NULL;
	return OUTBOUND_MX_OK;
}
