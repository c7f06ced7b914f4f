/*
 * What the sender-authentication library shares: result names, the DNS
 * seam over the c-ares resolver, domain name checks.
 */
#include "msgauth.h"

static const char *const result_names[] = {
	[MSGAUTH_NONE] = "none",
	[MSGAUTH_PASS] = "pass",
	[MSGAUTH_FAIL] = "fail",
	[MSGAUTH_SOFTFAIL] = "softfail",
	[MSGAUTH_NEUTRAL] = "neutral",
	[MSGAUTH_POLICY] = "policy",
	[MSGAUTH_TEMPERROR] = "temperror",
	[MSGAUTH_PERMERROR] = "permerror",
};

const char *msgauth_result_name(enum msgauth_result result)
{
	if ((unsigned int)result >= N_ELEMENTS(result_names))
		return "?";
	return result_names[result];
}

int msgauth_result_parse(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(result_names); i++) {
		if (i_memcaseeq(name, len, result_names[i]))
			return (int)i;
	}
	return -1;
}

static void *resolver_lookup(void *impl, enum dns_type type, const char *name,
			     dns_callback *cb, void *ctx)
{
	return dns_lookup(impl, type, name, cb, ctx);
}

static void resolver_cancel(void *impl, void *query)
{
	struct dns_query *q = query;

	dns_query_cancel(&q);
}

static const struct msgauth_dns_ops resolver_ops = {
	.lookup = resolver_lookup,
	.cancel = resolver_cancel,
};

void msgauth_dns_init_resolver(struct msgauth_dns *dns, struct dns_resolver *resolver)
{
	dns->ops = &resolver_ops;
	dns->impl = resolver;
}

bool msgauth_domain_valid(const char *name, size_t len, bool multi_label)
{
	size_t i, label = 0;
	unsigned int labels = 1;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			labels++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && (!multi_label || labels >= 2);
}
