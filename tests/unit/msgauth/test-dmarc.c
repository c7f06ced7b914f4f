/* DMARC: the Public Suffix List and Organizational Domains, the record
   parser, policy discovery with a table DNS, alignment and dispositions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "dmarc.h"
#include "psl.h"
#include "fake-dns.h"

static struct psl *psl;

static int setup(void **state)
{
	const char *error;

	/* Debian's list, as the server reads it */
	psl = psl_load(PSL_DEFAULT_PATH, &error);
	if (psl == NULL)
		fail_msg("%s", error);
	return 0;
}

static int teardown(void **state)
{
	psl_free(&psl);
	return 0;
}

static void org(const char *domain, const char *want)
{
	struct arena *arena = arena_new(0);
	const char *got = psl_org_domain(psl, arena, domain);

	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
	arena_free(&arena);
}

static void test_org_domain(void **state)
{
	assert_true(psl_rule_count(psl) > 5000);
	org("mail.Example.COM.", "example.com");
	org("example.com", "example.com");
	org("com", "com");
	org("a.b.example.co.uk", "example.co.uk");
	/* "*.ck" and "!www.ck" */
	org("foo.bar.ck", "foo.bar.ck");
	org("x.www.ck", "www.ck");
	/* "*.kawasaki.jp", "!city.kawasaki.jp" */
	org("a.b.c.kawasaki.jp", "b.c.kawasaki.jp");
	org("a.city.kawasaki.jp", "city.kawasaki.jp");
	/* an unknown top-level domain: the default rule "*" */
	org("deep.sub.example.test", "example.test");
	/* a private-section suffix */
	org("someone.github.io", "someone.github.io");
	/* IDN: the list's U-labels match A-labels and UTF-8 alike */
	org("www.example.xn--55qx5d.cn", "example.xn--55qx5d.cn");
	org("www.example.\xe5\x85\xac\xe5\x8f\xb8.cn", "example.xn--55qx5d.cn");
	org("", NULL);
	org("a..b", NULL);
}

static void test_punycode(void **state)
{
	struct arena *arena = arena_new(0);

	/* RFC 3492 7.1 and everyday names */
	assert_string_equal(psl_to_alabel(arena, "b\xc3\xbc" "cher", 7), "xn--bcher-kva");
	assert_string_equal(psl_to_alabel(arena, "m\xc3\xbcller", 7), "xn--mller-kva");
	assert_string_equal(psl_to_alabel(arena, "\xe5\x85\xac\xe5\x8f\xb8", 6), "xn--55qx5d");
	assert_string_equal(psl_to_alabel(arena, "ExAmple", 7), "example");
	assert_null(psl_to_alabel(arena, "\xff", 1));
	arena_free(&arena);
}

static void test_record(void **state)
{
	struct arena *arena = arena_new(0);
	struct dmarc_record r;
	const char *error;

#define PARSE(s) dmarc_record_parse(arena, s, strlen(s), &r, &error)
	assert_int_equal(PARSE("v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; "
			       "pct=50; rua=mailto:a@x.test,mailto:b@y.test!10m; ri=3600; fo=1"), 0);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.np, DMARC_POLICY_REJECT);
	assert_true(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(r.pct, 50);
	assert_int_equal(r.rua_count, 2);
	assert_string_equal(r.rua[1], "mailto:b@y.test!10m");
	assert_int_equal(r.ri, 3600);
	assert_int_equal(PARSE("v=DMARC1;p=quarantine"), 0);
	assert_int_equal(r.sp, DMARC_POLICY_QUARANTINE);   /* sp defaults to p */
	assert_int_equal(r.np, DMARC_POLICY_QUARANTINE);   /* np to sp */
	assert_int_equal(r.pct, 100);
	/* a bad pct keeps the default; unknown tags are ignored */
	assert_int_equal(PARSE("v=DMARC1; p=none; pct=150; foo=bar"), 0);
	assert_int_equal(r.pct, 100);
	/* 6.6.3: no valid p= but a rua=: p=none */
	assert_int_equal(PARSE("v=DMARC1; p=bogus; rua=mailto:r@x.test"), 0);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	assert_int_equal(PARSE("v=DMARC1; p=bogus"), -1);
	assert_int_equal(PARSE("p=reject; v=DMARC1"), -1);
	assert_int_equal(PARSE("v=DMARC2; p=reject"), -1);
	assert_int_equal(PARSE("v=spf1 -all"), -1);
	assert_false(dmarc_record_is_dmarc("v=DMARC10", 9));
	assert_true(dmarc_record_is_dmarc("v = DMARC1 ;", 12));
	arena_free(&arena);
}

static const struct fake_rr zone[] = {
	{ DNS_TYPE_TXT, "_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s", DNS_FOUND },
	{ DNS_TYPE_TXT, "_dmarc.relaxed.test", "v=DMARC1; p=reject", DNS_FOUND },
	{ DNS_TYPE_TXT, "_dmarc.sub.test", "v=DMARC1; p=reject; sp=quarantine; np=reject", DNS_FOUND },
	{ DNS_TYPE_A, "exists.sub.test", "192.0.2.1", DNS_FOUND },
	{ DNS_TYPE_TXT, "_dmarc.half.test", "v=DMARC1; p=reject; pct=50", DNS_FOUND },
	{ DNS_TYPE_TXT, "_dmarc.two.test", "v=DMARC1; p=reject", DNS_FOUND },
	{ DNS_TYPE_TXT, "_dmarc.two.test", "v=DMARC1; p=none", DNS_FOUND },
	{ DNS_TYPE_TXT, "_dmarc.broken.test", "", DNS_TEMPFAIL },
	{ DNS_TYPE_TXT, "_dmarc.none.test", "v=DMARC1; p=none", DNS_FOUND },
};

struct lookup_run {
	struct dmarc_outcome out;
	enum msgauth_result status;
	char policy_domain[64];
	bool called;
};

static void lookup_done(const struct dmarc_policy_lookup *res, void *ctx)
{
	((struct lookup_run *)ctx)->called = true;
}

/* Discover from's policy, then evaluate an SPF pass for spf_domain and a
   DKIM pass for dkim_domain (either may be NULL). */
static struct lookup_run run(const char *from, const char *spf_domain, const char *dkim_domain,
			     unsigned int random_pct)
{
	struct arena *arena = arena_new(0);
	struct fake_dns f;
	struct msgauth_dns dns;
	struct dmarc_lookup *l;
	const struct dmarc_policy_lookup *res;
	struct dmarc_auth spf = { spf_domain != NULL ? MSGAUTH_PASS : MSGAUTH_FAIL, spf_domain };
	struct dmarc_auth dkim[2] = {
		{ MSGAUTH_FAIL, from },     /* a failing signature of the right domain */
		{ MSGAUTH_PASS, dkim_domain },
	};
	struct lookup_run r;

	memset(&r, 0, sizeof(r));
	fake_dns_init(&f, &dns, zone, N_ELEMENTS(zone));
	l = dmarc_lookup_start(arena, &dns, psl, from, lookup_done, &r);
	if (dmarc_lookup_result(l) == NULL) {
		fake_dns_run(&f);
		assert_true(r.called);
	}
	res = dmarc_lookup_result(l);
	assert_non_null(res);
	r.status = res->status;
	if (res->policy_domain != NULL)
		snprintf(r.policy_domain, sizeof(r.policy_domain), "%s", res->policy_domain);
	dmarc_evaluate(psl, arena, res, &spf, dkim, dkim_domain != NULL ? 2 : 1, random_pct, &r.out);
	dmarc_lookup_free(&l);
	fake_dns_clear(&f);
	arena_free(&arena);
	return r;
}

static void test_evaluate(void **state)
{
	struct lookup_run r;

	/* aligned: relaxed takes any domain of the organization */
	r = run("relaxed.test", "bounce.relaxed.test", NULL, 0);
	assert_int_equal(r.out.result, MSGAUTH_PASS);
	assert_true(r.out.spf_aligned);
	r = run("relaxed.test", NULL, "mail.relaxed.test", 0);
	assert_int_equal(r.out.result, MSGAUTH_PASS);
	assert_true(r.out.dkim_aligned);
	/* strict wants the very domain */
	r = run("strict.test", "bounce.strict.test", "mail.strict.test", 0);
	assert_int_equal(r.out.result, MSGAUTH_FAIL);
	assert_int_equal(r.out.disposition, DMARC_POLICY_REJECT);
	r = run("strict.test", NULL, "strict.test", 0);
	assert_int_equal(r.out.result, MSGAUTH_PASS);
	/* unaligned: passes for other domains do not count */
	r = run("relaxed.test", "other.test", "other.test", 0);
	assert_int_equal(r.out.result, MSGAUTH_FAIL);
	assert_int_equal(r.out.policy, DMARC_POLICY_REJECT);
	/* a subdomain without a record of its own: the organization's sp= */
	r = run("exists.sub.test", NULL, NULL, 0);
	assert_int_equal(r.out.result, MSGAUTH_FAIL);
	assert_string_equal(r.policy_domain, "sub.test");
	assert_int_equal(r.out.policy, DMARC_POLICY_QUARANTINE);
	/* ... and np= for one that does not exist (RFC 9091) */
	r = run("ghost.sub.test", NULL, NULL, 0);
	assert_int_equal(r.out.policy, DMARC_POLICY_REJECT);
	/* missing record: none */
	r = run("norecord.test", NULL, NULL, 0);
	assert_int_equal(r.out.result, MSGAUTH_NONE);
	assert_int_equal(r.out.disposition, DMARC_POLICY_NONE);
	r = run("two.test", NULL, NULL, 0);
	assert_int_equal(r.out.result, MSGAUTH_NONE);
	/* DNS trouble: temperror, never a disposition */
	r = run("broken.test", NULL, NULL, 0);
	assert_int_equal(r.out.result, MSGAUTH_TEMPERROR);
	assert_int_equal(r.out.disposition, DMARC_POLICY_NONE);
	/* p=none: a fail without consequence */
	r = run("none.test", NULL, NULL, 0);
	assert_int_equal(r.out.result, MSGAUTH_FAIL);
	assert_int_equal(r.out.disposition, DMARC_POLICY_NONE);
	/* pct=50: inside the sample reject, outside quarantine (6.6.4) */
	r = run("half.test", NULL, NULL, 49);
	assert_int_equal(r.out.disposition, DMARC_POLICY_REJECT);
	r = run("half.test", NULL, NULL, 50);
	assert_int_equal(r.out.disposition, DMARC_POLICY_QUARANTINE);
	/* a malformed From domain */
	r = run("bad..test", NULL, NULL, 0);
	assert_int_equal(r.out.result, MSGAUTH_PERMERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_punycode),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_evaluate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
