/* SPF: record syntax, macros (RFC 7208 7.4), check_host() on the examples of
   RFC 7208 appendix A and on the processing limits, with a table DNS.
   tests/integration/test_spf_pyspf.py compares with pyspf over real DNS. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "spf.h"
#include "fake-dns.h"

#define TXT(name, text) { DNS_TYPE_TXT, name, text, DNS_FOUND }
#define A(name, addr) { DNS_TYPE_A, name, addr, DNS_FOUND }
#define AAAA(name, addr) { DNS_TYPE_AAAA, name, addr, DNS_FOUND }
#define MX(name, pref_host) { DNS_TYPE_MX, name, pref_host, DNS_FOUND }
#define PTR(name, host) { DNS_TYPE_PTR, name, host, DNS_FOUND }
#define FAIL(type, name) { type, name, "", DNS_TEMPFAIL }

/* RFC 7208 appendix A's zone; example.com's record is set per test */
static struct fake_rr zone[] = {
	TXT("example.com", "v=spf1 +all"),       /* replaced by each test */
	A("example.com", "192.0.2.10"),
	A("example.com", "192.0.2.11"),
	A("amy.example.com", "192.0.2.65"),
	A("bob.example.com", "192.0.2.66"),
	A("mail-a.example.com", "192.0.2.129"),
	A("mail-b.example.com", "192.0.2.130"),
	A("mail-c.example.org", "192.0.2.140"),
	MX("example.com", "10 mail-a.example.com"),
	MX("example.com", "20 mail-b.example.com"),
	MX("example.org", "10 mail-c.example.org"),
	PTR("10.2.0.192.in-addr.arpa", "example.com"),
	PTR("11.2.0.192.in-addr.arpa", "example.com"),
	PTR("65.2.0.192.in-addr.arpa", "amy.example.com"),
	PTR("66.2.0.192.in-addr.arpa", "bob.example.com"),
	PTR("129.2.0.192.in-addr.arpa", "mail-a.example.com"),
	PTR("130.2.0.192.in-addr.arpa", "mail-b.example.com"),
	PTR("140.2.0.192.in-addr.arpa", "mail-c.example.org"),
	PTR("10.0.0.10.in-addr.arpa", "bob.example.com"),
	/* A.4 */
	TXT("ip4._spf.example.com", "v=spf1 -ip4:192.0.2.0/24 +all"),
	TXT("ptr._spf.example.com", "v=spf1 -ptr +all"),
	/* more for the limits and errors */
	TXT("inc.test", "v=spf1 include:example.com -all"),
	TXT("none-inc.test", "v=spf1 include:nothing.test -all"),
	TXT("two.test", "v=spf1 -all"),
	TXT("two.test", "v=spf1 +all"),
	TXT("other-txt.test", "google-site-verification=abc"),
	TXT("other-txt.test", "v=spf1 ip4:192.0.2.1 -all"),
	TXT("syntax.test", "v=spf1 ip4:192.0.2.300 -all"),
	TXT("unknown-mech.test", "v=spf1 foo:bar -all"),
	TXT("unknown-mod.test", "v=spf1 foo=bar ?all"),
	TXT("redir.test", "v=spf1 redirect=example.com"),
	TXT("redir-none.test", "v=spf1 redirect=nothing.test"),
	TXT("temp.test", "v=spf1 a:broken.test -all"),
	FAIL(DNS_TYPE_A, "broken.test"),
	FAIL(DNS_TYPE_TXT, "tempfail.test"),
	TXT("void.test", "v=spf1 a:n1.test a:n2.test a:n3.test -all"),
	TXT("void2.test", "v=spf1 a:n1.test a:n2.test ip4:192.0.2.1 -all"),
	TXT("many.test", "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test "
	    "a:h6.test a:h7.test a:h8.test a:h9.test a:h10.test ip4:192.0.2.1 -all"),
	TXT("toomany.test", "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test "
	    "a:h6.test a:h7.test a:h8.test a:h9.test a:h10.test a:h11.test ip4:192.0.2.1 -all"),
	A("h1.test", "10.0.0.1"), A("h2.test", "10.0.0.1"), A("h3.test", "10.0.0.1"),
	A("h4.test", "10.0.0.1"), A("h5.test", "10.0.0.1"), A("h6.test", "10.0.0.1"),
	A("h7.test", "10.0.0.1"), A("h8.test", "10.0.0.1"), A("h9.test", "10.0.0.1"),
	A("h10.test", "10.0.0.1"), A("h11.test", "10.0.0.1"),
	TXT("exists.test", "v=spf1 exists:%{i}.ok.exists.test -all"),
	A("192.0.2.5.ok.exists.test", "127.0.0.2"),
	TXT("v6.test", "v=spf1 ip6:2001:db8::/32 a -all"),
	AAAA("v6.test", "2001:db8:ffff::1"),
	TXT("exp.test", "v=spf1 -all exp=explain.exp.test"),
	TXT("explain.exp.test", "%{i} is not one of %{d}'s servers, %{s}"),
	TXT("soft.test", "v=spf1 ~all"),
	TXT("neutral.test", "v=spf1 ?all"),
	TXT("nomatch.test", "v=spf1 ip4:10.0.0.0/8"),
	TXT("pmacro.test", "v=spf1 exists:%{p}.p.pmacro.test -all"),
	A("amy.example.com.p.pmacro.test", "127.0.0.2"),
	TXT("bigmx.test", "v=spf1 mx -all"),
	MX("bigmx.test", "1 m1.test"), MX("bigmx.test", "2 m2.test"), MX("bigmx.test", "3 m3.test"),
	MX("bigmx.test", "4 m4.test"), MX("bigmx.test", "5 m5.test"), MX("bigmx.test", "6 m6.test"),
	MX("bigmx.test", "7 m7.test"), MX("bigmx.test", "8 m8.test"), MX("bigmx.test", "9 m9.test"),
	MX("bigmx.test", "10 m10.test"), MX("bigmx.test", "11 m11.test"),
	TXT("helo.test", "v=spf1 a -all"),
	A("helo.test", "192.0.2.77"),
};

static struct fake_dns fake;
static struct msgauth_dns dns;

struct spf_run {
	bool called;
	enum msgauth_result result;
	char reason[256];
	char explanation[256];
};

static void done(const struct spf_outcome *o, void *ctx)
{
	struct spf_run *run = ctx;

	run->called = true;
	run->result = o->result;
	snprintf(run->reason, sizeof(run->reason), "%s", o->reason != NULL ? o->reason : "");
	snprintf(run->explanation, sizeof(run->explanation), "%s",
		 o->explanation != NULL ? o->explanation : "");
}

static void set_ip(struct spf_request *req, const char *ip)
{
	memset(&req->ip, 0, sizeof(req->ip));
	if (strchr(ip, ':') != NULL) {
		req->ip.ss_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip,
					   &((struct sockaddr_in6 *)&req->ip)->sin6_addr), 1);
	} else {
		req->ip.ss_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip,
					   &((struct sockaddr_in *)&req->ip)->sin_addr), 1);
	}
}

static struct spf_run check(const char *ip, const char *sender, const char *helo)
{
	struct arena *arena = arena_new(0);
	struct spf_request req;
	struct spf_check *c;
	const struct spf_outcome *o;
	struct spf_run run;

	memset(&run, 0, sizeof(run));
	memset(&req, 0, sizeof(req));
	set_ip(&req, ip);
	spf_request_identity(arena, &req, sender, helo);
	req.receiver = "mx.receiver.test";
	req.now = 1800000000;
	fake_dns_init(&fake, &dns, zone, N_ELEMENTS(zone));
	c = spf_check_start(arena, &dns, &req, done, &run);
	o = spf_check_outcome(c);
	if (o != NULL) {
		/* decided without DNS: no callback */
		done(o, &run);
		run.called = false;
	}
	fake_dns_run(&fake);
	if (o == NULL)
		assert_true(run.called);
	spf_check_free(&c);
	fake_dns_clear(&fake);
	arena_free(&arena);
	return run;
}

static enum msgauth_result result_for(const char *record, const char *ip)
{
	zone[0].data = record;
	return check(ip, "user@example.com", "helo.test").result;
}

static void test_appendix_a(void **state)
{
	/* A.1 */
	assert_int_equal(result_for("v=spf1 +all", "198.51.100.1"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 a -all", "192.0.2.10"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 a -all", "192.0.2.11"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 a -all", "192.0.2.12"), MSGAUTH_FAIL);
	assert_int_equal(result_for("v=spf1 a:example.org -all", "192.0.2.10"), MSGAUTH_FAIL);
	assert_int_equal(result_for("v=spf1 mx -all", "192.0.2.129"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 mx -all", "192.0.2.130"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 mx -all", "192.0.2.10"), MSGAUTH_FAIL);
	assert_int_equal(result_for("v=spf1 mx:example.org -all", "192.0.2.140"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 mx mx:example.org -all", "192.0.2.140"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 mx mx:example.org -all", "192.0.2.129"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.131"),
			 MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.143"),
			 MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.144"),
			 MSGAUTH_FAIL);
	assert_int_equal(result_for("v=spf1 ptr -all", "192.0.2.65"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 ptr -all", "192.0.2.140"), MSGAUTH_FAIL);
	/* 10.0.0.10 says it is bob.example.com, whose address differs: not validated */
	assert_int_equal(result_for("v=spf1 ptr -all", "10.0.0.10"), MSGAUTH_FAIL);
	assert_int_equal(result_for("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.143"), MSGAUTH_PASS);
	assert_int_equal(result_for("v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.144"), MSGAUTH_FAIL);
	/* A.3: the exists after -all is never reached */
	assert_int_equal(result_for("v=spf1 mx -all exists:%{ir}.%{l1r+-}._spf.%{d}", "192.0.2.1"),
			 MSGAUTH_FAIL);
	/* A.4: both the address and the validated name must agree */
	assert_int_equal(result_for("v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all",
				    "192.0.2.65"), MSGAUTH_FAIL);
	assert_int_equal(result_for("v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all",
				    "198.51.100.1"), MSGAUTH_FAIL);
}

static void test_results(void **state)
{
	zone[0].data = "v=spf1 a -all";
	assert_int_equal(check("192.0.2.10", "u@inc.test", "h.test").result, MSGAUTH_PASS);
	assert_int_equal(check("192.0.2.99", "u@soft.test", "h.test").result, MSGAUTH_SOFTFAIL);
	assert_int_equal(check("192.0.2.99", "u@neutral.test", "h.test").result, MSGAUTH_NEUTRAL);
	assert_int_equal(check("192.0.2.99", "u@nomatch.test", "h.test").result, MSGAUTH_NEUTRAL);
	assert_int_equal(check("192.0.2.99", "u@nothing.test", "h.test").result, MSGAUTH_NONE);
	assert_int_equal(check("192.0.2.99", "u@single-label", "h.test").result, MSGAUTH_NONE);
	assert_int_equal(check("192.0.2.1", "u@other-txt.test", "h.test").result, MSGAUTH_PASS);
	assert_int_equal(check("192.0.2.1", "u@two.test", "h.test").result, MSGAUTH_PERMERROR);
	assert_int_equal(check("192.0.2.1", "u@syntax.test", "h.test").result, MSGAUTH_PERMERROR);
	assert_int_equal(check("192.0.2.1", "u@unknown-mech.test", "h.test").result,
			 MSGAUTH_PERMERROR);
	assert_int_equal(check("192.0.2.1", "u@unknown-mod.test", "h.test").result,
			 MSGAUTH_NEUTRAL);
	assert_int_equal(check("192.0.2.1", "u@none-inc.test", "h.test").result, MSGAUTH_PERMERROR);
	zone[0].data = "v=spf1 a -all";
	assert_int_equal(check("192.0.2.10", "u@redir.test", "h.test").result, MSGAUTH_PASS);
	assert_int_equal(check("192.0.2.1", "u@redir-none.test", "h.test").result,
			 MSGAUTH_PERMERROR);
	assert_int_equal(check("192.0.2.1", "u@temp.test", "h.test").result, MSGAUTH_TEMPERROR);
	assert_int_equal(check("192.0.2.1", "u@tempfail.test", "h.test").result,
			 MSGAUTH_TEMPERROR);
	assert_int_equal(check("192.0.2.5", "u@exists.test", "h.test").result, MSGAUTH_PASS);
	assert_int_equal(check("192.0.2.6", "u@exists.test", "h.test").result, MSGAUTH_FAIL);
	assert_int_equal(check("2001:db8::1", "u@v6.test", "h.test").result, MSGAUTH_PASS);
	assert_int_equal(check("2001:db9::1", "u@v6.test", "h.test").result, MSGAUTH_FAIL);
	/* an IPv4-mapped client is IPv4 */
	zone[0].data = "v=spf1 ip4:192.0.2.10 -all";
	assert_int_equal(check("::ffff:192.0.2.10", "u@example.com", "h.test").result,
			 MSGAUTH_PASS);
	/* %{p}: the client's validated name */
	assert_int_equal(check("192.0.2.65", "u@pmacro.test", "h.test").result, MSGAUTH_PASS);
	assert_int_equal(check("192.0.2.66", "u@pmacro.test", "h.test").result, MSGAUTH_FAIL);
	/* the null sender: the HELO identity (2.4) */
	assert_int_equal(check("192.0.2.77", "", "helo.test").result, MSGAUTH_PASS);
	assert_int_equal(check("192.0.2.78", "", "helo.test").result, MSGAUTH_FAIL);
}

static void test_limits(void **state)
{
	struct spf_run r;

	/* 4.6.4: the third void lookup is a permerror; two are fine */
	r = check("192.0.2.1", "u@void.test", "h.test");
	assert_int_equal(r.result, MSGAUTH_PERMERROR);
	assert_string_equal(r.reason, "too many void DNS lookups");
	assert_int_equal(check("192.0.2.1", "u@void2.test", "h.test").result, MSGAUTH_PASS);
	/* ten DNS-querying terms are fine, eleven are not */
	assert_int_equal(check("192.0.2.1", "u@many.test", "h.test").result, MSGAUTH_PASS);
	r = check("192.0.2.1", "u@toomany.test", "h.test");
	assert_int_equal(r.result, MSGAUTH_PERMERROR);
	assert_string_equal(r.reason, "too many DNS lookups");
	/* more than ten MX names */
	assert_int_equal(check("192.0.2.1", "u@bigmx.test", "h.test").result, MSGAUTH_PERMERROR);
}

static void test_explanation(void **state)
{
	struct spf_run r = check("192.0.2.9", "Joe@exp.test", "h.test");

	assert_int_equal(r.result, MSGAUTH_FAIL);
	assert_string_equal(r.explanation, "192.0.2.9 is not one of exp.test's servers, Joe@exp.test");
}

static void test_record_syntax(void **state)
{
	struct arena *arena = arena_new(0);
	struct spf_record rec;
	const char *error;

#define OK(s) assert_int_equal(spf_record_parse(arena, s, strlen(s), &rec, &error), 0)
#define BAD(s) assert_int_equal(spf_record_parse(arena, s, strlen(s), &rec, &error), -1)
	OK("v=spf1");
	OK("V=SPF1 -ALL");
	OK("v=spf1  a/24//64 mx:%{d}/26 ip6:2001:db8::/32 ~ptr exists:%{ir}.x.%{d} ?include:a.test");
	assert_int_equal(rec.count, 6);
	assert_int_equal(rec.terms[0].cidr4, 24);
	assert_int_equal(rec.terms[0].cidr6, 64);
	assert_int_equal(rec.terms[1].cidr4, 26);
	assert_string_equal(rec.terms[1].domain_spec, "%{d}");
	assert_int_equal(rec.terms[3].qualifier, MSGAUTH_SOFTFAIL);
	OK("v=spf1 -mx:%%%_/.Clara.de/27");
	assert_string_equal(rec.terms[0].domain_spec, "%%%_/.Clara.de");
	OK("v=spf1 redirect=_spf.example.com exp=x.%{d} other=%{l}");
	assert_string_equal(rec.redirect, "_spf.example.com");
	BAD("v=spf10");
	BAD("v=spf1 ip4:1.2.3.4/33");
	BAD("v=spf1 ip4:1.2.03.4");
	BAD("v=spf1 a/08");
	BAD("v=spf1 a:localhost");            /* no toplabel after a dot */
	BAD("v=spf1 a:1.2.3.4");              /* 7.1: a toplabel has a letter */
	BAD("v=spf1 include");
	BAD("v=spf1 -all:foo");
	BAD("v=spf1 redirect=a.test redirect=b.test");
	BAD("v=spf1 exists:%{c}.test");      /* c is for explanations only */
	BAD("v=spf1 a:%{x}.test");
	BAD("v=spf1 a:%{d0}.test");
	BAD("v=spf1 -foo=bar");
	BAD("v=spf1 ip6:::1/129");
	assert_true(spf_record_is_spf("v=spf1", 6));
	assert_false(spf_record_is_spf("v=spf1x", 7));
	arena_free(&arena);
}

static void test_macros(void **state)
{
	struct arena *arena = arena_new(0);
	struct spf_request req;
	const char *error;

	memset(&req, 0, sizeof(req));
	set_ip(&req, "192.0.2.3");
	req.sender = "strong-bad@email.example.com";
	req.domain = "email.example.com";
	req.helo = "mx.example.org";
#define EXPAND(spec, want) \
	assert_string_equal(spf_macro_expand(arena, spec, &req, req.domain, "mx.example.org", \
					     false, false, &error), want)
	/* RFC 7208 7.4 */
	EXPAND("%{s}", "strong-bad@email.example.com");
	EXPAND("%{o}", "email.example.com");
	EXPAND("%{d}", "email.example.com");
	EXPAND("%{d4}", "email.example.com");
	EXPAND("%{d3}", "email.example.com");
	EXPAND("%{d2}", "example.com");
	EXPAND("%{d1}", "com");
	EXPAND("%{dr}", "com.example.email");
	EXPAND("%{d2r}", "example.email");
	EXPAND("%{l}", "strong-bad");
	EXPAND("%{l-}", "strong.bad");
	EXPAND("%{lr}", "strong-bad");
	EXPAND("%{lr-}", "bad.strong");
	EXPAND("%{l1r-}", "strong");
	EXPAND("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com");
	EXPAND("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
	EXPAND("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	EXPAND("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com");
	EXPAND("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net");
	EXPAND("%{p}", "mx.example.org");
	EXPAND("%%%_%-", "% %20");
	/* upper case: URL-escaped */
	req.sender = "a b@email.example.com";
	EXPAND("%{L}", "a%20b");
	set_ip(&req, "2001:db8::cb01");
	EXPAND("%{ir}.%{v}._spf.%{d2}",
	       "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
	assert_null(spf_macro_expand(arena, "%{z}", &req, "d.test", NULL, false, false, &error));
	/* explanations may use c, r and t */
	req.receiver = "mx.receiver.test";
	assert_string_equal(spf_macro_expand(arena, "%{c} %{r}", &req, "d.test", NULL, true,
					     false, &error), "2001:db8::cb01 mx.receiver.test");
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_syntax),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_appendix_a),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_explanation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
