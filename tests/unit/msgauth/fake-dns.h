/*
 * A DNS for the msgauth unit tests: answers from a table through the
 * msgauth_dns seam. Lookups wait in a list until fake_dns_run() answers
 * them (never from inside the lookup, as the real resolver), so a test
 * decides when DNS "arrives" and can check what was asked.
 *
 * Table rows: { type, name, data, status }: data is the TXT text, the
 * address ("192.0.2.1", "2001:db8::1"), "PREF host" for MX or the PTR
 * name; status DNS_FOUND, or DNS_TEMPFAIL to make that name and type fail.
 * A name with rows of other types only is NODATA, an absent one NXDOMAIN.
 */
#ifndef FAKE_DNS_H
#define FAKE_DNS_H

#include "msgauth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_rr {
	enum dns_type type;
	const char *name;
	const char *data;
	enum dns_status status;
};

struct fake_query {
	struct fake_query *next;
	enum dns_type type;
	char *name;
	dns_callback *cb;
	void *ctx;
	int cancelled;
};

struct fake_dns {
	const struct fake_rr *rrs;
	unsigned int rr_count;
	struct fake_query *pending;
	unsigned int lookups;          /* lookups started */
	char asked[8192];              /* "TYPE name\n" of each lookup */
};

static int fake_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void *fake_lookup(void *impl, enum dns_type type, const char *name, dns_callback *cb,
			 void *ctx)
{
	struct fake_dns *f = impl;
	struct fake_query *q = calloc(1, sizeof(*q)), **tail;
	size_t used = strlen(f->asked);

	q->type = type;
	q->name = strdup(name);
	q->cb = cb;
	q->ctx = ctx;
	/* answered in the order asked */
	for (tail = &f->pending; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = q;
	f->lookups++;
	snprintf(f->asked + used, sizeof(f->asked) - used, "%s %s\n", dns_type_name(type), name);
	return q;
}

static void fake_cancel(void *impl, void *query)
{
	((struct fake_query *)query)->cancelled = 1;
}

static const struct msgauth_dns_ops fake_ops = { fake_lookup, fake_cancel };

static void fake_dns_init(struct fake_dns *f, struct msgauth_dns *dns, const struct fake_rr *rrs,
			  unsigned int count)
{
	memset(f, 0, sizeof(*f));
	f->rrs = rrs;
	f->rr_count = count;
	dns->ops = &fake_ops;
	dns->impl = f;
}

static void fake_answer(struct fake_dns *f, struct fake_query *q)
{
	struct dns_result res;
	const char *txt[64];
	size_t lens[64];
	struct sockaddr_storage addrs[64];
	struct dns_mx mx[64];
	char mxhosts[64][256];
	const char *names[64];
	unsigned int i, n = 0;
	int exists = 0;

	memset(&res, 0, sizeof(res));
	memset(addrs, 0, sizeof(addrs));
	res.name = q->name;
	res.status = DNS_FOUND;
	for (i = 0; i < f->rr_count; i++) {
		const struct fake_rr *rr = &f->rrs[i];

		if (!fake_name_eq(rr->name, q->name))
			continue;
		exists = 1;
		if (rr->type != q->type)
			continue;
		if (rr->status != DNS_FOUND) {
			res.status = rr->status;
			res.error = "fake failure";
			break;
		}
		if (n == 64)
			continue;
		switch (q->type) {
		case DNS_TYPE_TXT:
			txt[n] = rr->data;
			lens[n] = strlen(rr->data);
			break;
		case DNS_TYPE_A:
			addrs[n].ss_family = AF_INET;
			inet_pton(AF_INET, rr->data, &((struct sockaddr_in *)&addrs[n])->sin_addr);
			break;
		case DNS_TYPE_AAAA:
			addrs[n].ss_family = AF_INET6;
			inet_pton(AF_INET6, rr->data, &((struct sockaddr_in6 *)&addrs[n])->sin6_addr);
			break;
		case DNS_TYPE_MX:
			sscanf(rr->data, "%u %255s", &mx[n].preference, mxhosts[n]);
			mx[n].host = mxhosts[n];
			break;
		case DNS_TYPE_PTR:
			names[n] = rr->data;
			break;
		}
		n++;
	}
	if (res.status == DNS_FOUND && n == 0) {
		res.status = exists ? DNS_NODATA : DNS_NXDOMAIN;
		res.error = exists ? "no data" : "no such domain";
	}
	if (res.status == DNS_FOUND) {
		switch (q->type) {
		case DNS_TYPE_TXT:
			res.txt = txt;
			res.txt_lens = lens;
			res.txt_count = n;
			break;
		case DNS_TYPE_A:
		case DNS_TYPE_AAAA:
			res.addrs = addrs;
			res.addr_count = n;
			break;
		case DNS_TYPE_MX:
			res.mx = mx;
			res.mx_count = n;
			break;
		case DNS_TYPE_PTR:
			res.names = names;
			res.name_count = n;
			break;
		}
	}
	q->cb(&res, q->ctx);
}

/* Answer every lookup, including those the answers start. Returns how
   many were answered. */
static unsigned int fake_dns_run(struct fake_dns *f)
{
	unsigned int n = 0;

	while (f->pending != NULL) {
		struct fake_query *q = f->pending;

		f->pending = q->next;
		if (!q->cancelled) {
			fake_answer(f, q);
			n++;
		}
		free(q->name);
		free(q);
	}
	return n;
}

/* Drop lookups nobody answered (after a test that stops early). */
static void fake_dns_clear(struct fake_dns *f)
{
	while (f->pending != NULL) {
		struct fake_query *q = f->pending;

		f->pending = q->next;
		free(q->name);
		free(q);
	}
}

#endif
