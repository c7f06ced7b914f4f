/* DMARC aggregate reports: records kept per message, reports made per
   policy domain (identical rows counted together), records handed on
   removed and the rest kept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "dmarc-report.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define DAY 86400
#define T0 (1800000000 - 1800000000 % DAY)

static char dir[] = "/tmp/tern-dmarc-report-XXXXXX";

struct got {
	unsigned int count;
	char domains[8][64];
	char xml[8][8192];
	char filename[8][256];
	char rua[8][128];
	int reply;
};

static void gunzip(const unsigned char *gz, size_t size, char *out, size_t out_size)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)gz;
	z.avail_in = (uInt)size;
	z.next_out = (unsigned char *)out;
	z.avail_out = (uInt)out_size - 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	out[z.total_out] = '\0';
	inflateEnd(&z);
}

static int cb(const struct dmarc_report *r, void *ctx)
{
	struct got *g = ctx;

	snprintf(g->domains[g->count], sizeof(g->domains[0]), "%s", r->policy_domain);
	snprintf(g->filename[g->count], sizeof(g->filename[0]), "%s", r->filename);
	snprintf(g->rua[g->count], sizeof(g->rua[0]), "%s", r->rua_count > 0 ? r->rua[0] : "");
	gunzip(r->gz, r->gz_size, g->xml[g->count], sizeof(g->xml[0]));
	g->count++;
	return g->reply;
}

static void add(struct dmarc_reports *r, time_t when, const char *ip, const char *from,
		const char *domain, enum dmarc_policy disposition, bool dkim_ok)
{
	static const char *rua[] = { "mailto:reports@example.net" };
	struct dmarc_record rec;
	struct dmarc_report_dkim dkim = { "example.org", "sel", dkim_ok ? MSGAUTH_PASS : MSGAUTH_FAIL };
	struct dmarc_report_row row;

	memset(&rec, 0, sizeof(rec));
	rec.p = DMARC_POLICY_REJECT;
	rec.sp = DMARC_POLICY_QUARANTINE;
	rec.pct = 100;
	rec.rua = rua;
	rec.rua_count = 1;
	memset(&row, 0, sizeof(row));
	row.when = when;
	row.source_ip = ip;
	row.header_from = from;
	row.policy_domain = domain;
	row.record = &rec;
	row.disposition = disposition;
	row.dkim_aligned = dkim_ok;
	row.spf_domain = "bounce.example.org";
	row.spf = MSGAUTH_SOFTFAIL;
	row.dkim = &dkim;
	row.dkim_count = 1;
	dmarc_reports_add(r, &row);
}

static void test_reports(void **state)
{
	struct dmarc_reports *r;
	struct got g;
	const char *error;
	char path[256];
	struct stat st;

	assert_non_null(mkdtemp(dir));
	r = dmarc_reports_open(dir, &error);
	assert_non_null(r);
	/* yesterday: two identical rows, one other, one of another domain */
	add(r, T0 - DAY + 10, "192.0.2.1", "example.org", "example.org", DMARC_POLICY_NONE, true);
	add(r, T0 - DAY + 20, "192.0.2.1", "example.org", "example.org", DMARC_POLICY_NONE, true);
	add(r, T0 - DAY + 30, "192.0.2.9", "example.org", "example.org", DMARC_POLICY_REJECT, false);
	add(r, T0 - DAY + 40, "198.51.100.1", "a.other<x>.test", "other.test",
	    DMARC_POLICY_QUARANTINE, false);
	/* today: not yet */
	add(r, T0 + 5, "192.0.2.1", "example.org", "example.org", DMARC_POLICY_NONE, true);

	/* the callback refuses: everything stays */
	memset(&g, 0, sizeof(g));
	g.reply = -1;
	assert_int_equal(dmarc_reports_generate(r, "mx.example.test", "noreply@mx.example.test", T0,
						cb, &g, &error), 0);
	assert_int_equal(g.count, 2);

	memset(&g, 0, sizeof(g));
	assert_int_equal(dmarc_reports_generate(r, "mx.example.test", "noreply@mx.example.test", T0,
						cb, &g, &error), 0);
	assert_int_equal(g.count, 2);
	assert_string_equal(g.domains[0], "example.org");
	assert_string_equal(g.rua[0], "mailto:reports@example.net");
	assert_non_null(strstr(g.filename[0], "mx.example.test!example.org!"));
	assert_non_null(strstr(g.xml[0], "<org_name>mx.example.test</org_name>"));
	assert_non_null(strstr(g.xml[0], "<domain>example.org</domain>"));
	assert_non_null(strstr(g.xml[0], "<p>reject</p>"));
	assert_non_null(strstr(g.xml[0], "<sp>quarantine</sp>"));
	/* the two identical rows are one with count 2 */
	assert_non_null(strstr(g.xml[0], "<source_ip>192.0.2.1</source_ip>\n      <count>2</count>"));
	assert_non_null(strstr(g.xml[0], "<source_ip>192.0.2.9</source_ip>\n      <count>1</count>"));
	assert_non_null(strstr(g.xml[0], "<disposition>reject</disposition>"));
	assert_non_null(strstr(g.xml[0], "<scope>mfrom</scope>"));
	assert_non_null(strstr(g.xml[0], "<result>softfail</result>"));
	assert_non_null(strstr(g.xml[0], "<selector>sel</selector>"));
	/* XML special characters are escaped */
	assert_non_null(strstr(g.xml[1], "a.other&lt;x&gt;.test"));

	/* handed on: only today's record is left */
	memset(&g, 0, sizeof(g));
	assert_int_equal(dmarc_reports_generate(r, "mx.example.test", "noreply@mx.example.test", T0,
						cb, &g, &error), 0);
	assert_int_equal(g.count, 0);
	assert_int_equal(dmarc_reports_generate(r, "mx.example.test", "noreply@mx.example.test",
						T0 + DAY, cb, &g, &error), 0);
	assert_int_equal(g.count, 1);
	dmarc_reports_close(&r);

	snprintf(path, sizeof(path), "%s/dmarc/records", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/dmarc", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
