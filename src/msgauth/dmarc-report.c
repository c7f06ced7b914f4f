/*
 * DMARC aggregate reports (RFC 7489 7.2, appendix C). See dmarc-report.h.
 *
 * data_dir/dmarc/records holds one line per message, its fields
 * space-separated and %XX-escaped (escape.h):
 *
 *   r1 TIME IP HEADER_FROM POLICY_DOMAIN P SP PCT ADKIM ASPF RUA,... DISPOSITION
 *      DKIM_ALIGNED SPF_ALIGNED SPF_DOMAIN SPF_SCOPE SPF_RESULT [D:S:RESULT ...]
 *
 * Each line is one write(2) with O_APPEND: concurrent sessions never
 * interleave, and a crash loses at most the line being written.
 */
#include "dmarc-report.h"
#include "arena.h"
#include "escape.h"
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define RECORDS_MAX_FILE (256 * 1024 * 1024)
#define RECORD_FIELDS 17
#define REPORT_MAX_DOMAINS 10000

struct dmarc_reports {
	char *dir;
	char *path;                /* dir/records */
	pthread_mutex_t lock;      /* generate vs. add */
};

struct dmarc_reports *dmarc_reports_open(const char *data_dir, const char **error_r)
{
	static __thread char error[512];
	struct dmarc_reports *r = i_malloc(sizeof(*r));

	r->dir = i_strdup_printf("%s/dmarc", data_dir);
	if (mkdir(r->dir, 0700) < 0 && errno != EEXIST) {
		snprintf(error, sizeof(error), "mkdir %s: %s", r->dir, strerror(errno));
		free(r->dir);
		free(r);
		*error_r = error;
		return NULL;
	}
	r->path = i_strdup_printf("%s/records", r->dir);
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void dmarc_reports_close(struct dmarc_reports **rp)
{
	struct dmarc_reports *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	pthread_mutex_destroy(&r->lock);
	free(r->path);
	free(r->dir);
	free(r);
}

static int field(buf_t *b, const char *value)
{
	if (buf_append_c(b, ' ') < 0)
		return -1;
	/* an empty field is "-": the split needs something there */
	if (value == NULL || value[0] == '\0')
		return buf_append_c(b, '-');
	if (strcmp(value, "-") == 0)
		return buf_append_str(b, "%2D");
	return escape_append_word(b, value);
}

void dmarc_reports_add(struct dmarc_reports *r, const struct dmarc_report_row *row)
{
	const struct dmarc_record *rec = row->record;
	char num[32];
	buf_t b, rua;
	unsigned int i;
	int ret = 0, fd;

	buf_init(&b, 64 * 1024);
	buf_init(&rua, 16 * 1024);
	for (i = 0; i < rec->rua_count; i++) {
		if ((i > 0 && buf_append_c(&rua, ',') < 0) || buf_append_str(&rua, rec->rua[i]) < 0)
			ret = -1;
	}
	snprintf(num, sizeof(num), "r1 %lld", (long long)row->when);
	ret |= buf_append_str(&b, num);
	ret |= field(&b, row->source_ip);
	ret |= field(&b, row->header_from);
	ret |= field(&b, row->policy_domain);
	ret |= field(&b, dmarc_policy_name(rec->p));
	ret |= field(&b, dmarc_policy_name(rec->sp));
	snprintf(num, sizeof(num), "%u", rec->pct);
	ret |= field(&b, num);
	ret |= field(&b, rec->adkim_strict ? "s" : "r");
	ret |= field(&b, rec->aspf_strict ? "s" : "r");
	ret |= field(&b, buf_str(&rua));
	ret |= field(&b, dmarc_policy_name(row->disposition));
	ret |= field(&b, row->dkim_aligned ? "pass" : "fail");
	ret |= field(&b, row->spf_aligned ? "pass" : "fail");
	ret |= field(&b, row->spf_domain);
	ret |= field(&b, row->spf_helo ? "helo" : "mfrom");
	ret |= field(&b, msgauth_result_name(row->spf));
	for (i = 0; i < row->dkim_count && ret == 0; i++) {
		char *d = i_strdup_printf("%s:%s:%s", row->dkim[i].domain,
					  row->dkim[i].selector != NULL ? row->dkim[i].selector : "",
					  msgauth_result_name(row->dkim[i].result));

		ret |= field(&b, d);
		free(d);
	}
	ret |= buf_append_c(&b, '\n');
	buf_free(&rua);
	if (ret != 0) {
		log_error("dmarc", "report record too long domain=%s", log_str(row->policy_domain));
		buf_free(&b);
		return;
	}
	pthread_mutex_lock(&r->lock);
	fd = open(r->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || fs_write_full(fd, b.data, b.used) < 0)
		log_error("dmarc", "report record not written file=%s error=%s", r->path,
			  log_str(strerror(errno)));
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&r->lock);
	buf_free(&b);
}

/* ---- reading the records back ---- */

struct parsed_row {
	struct dmarc_report_row row;
	struct dmarc_record record;
	struct dmarc_report_dkim dkim[16];
	const char *line;            /* the line as written, to keep it */
	size_t line_len;
	bool handed_on;
};

static enum dmarc_policy policy_of(const char *s)
{
	return strcmp(s, "reject") == 0 ? DMARC_POLICY_REJECT :
	       strcmp(s, "quarantine") == 0 ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

static int parse_line(struct arena *arena, const char *line, size_t len, struct parsed_row *p)
{
	const char *f[RECORD_FIELDS + 16];
	unsigned int n = 0, i;
	const char *s = line, *end = line + len;

	memset(p, 0, sizeof(*p));
	p->line = line;
	p->line_len = len;
	while (s < end && n < N_ELEMENTS(f)) {
		const char *sp = memchr(s, ' ', (size_t)(end - s));
		size_t flen = sp != NULL ? (size_t)(sp - s) : (size_t)(end - s);

		f[n++] = flen == 1 && s[0] == '-' ? "" : escape_decode(arena, s, flen);
		s += flen + (sp != NULL ? 1 : 0);
		if (sp == NULL)
			break;
	}
	if (n < RECORD_FIELDS || strcmp(f[0], "r1") != 0)
		return -1;
	p->row.when = (time_t)strtoll(f[1], NULL, 10);
	p->row.source_ip = f[2];
	p->row.header_from = f[3];
	p->row.policy_domain = f[4];
	p->record.p = policy_of(f[5]);
	p->record.sp = policy_of(f[6]);
	p->record.pct = (unsigned int)strtoul(f[7], NULL, 10);
	p->record.adkim_strict = strcmp(f[8], "s") == 0;
	p->record.aspf_strict = strcmp(f[9], "s") == 0;
	{
		char *list = arena_strdup(arena, f[10]);
		const char **rua = arena_new_array(arena, const char *, 32);

		for (char *tok = list, *next; tok != NULL && *tok != '\0' && p->record.rua_count < 32;
		     tok = next) {
			next = strchr(tok, ',');
			if (next != NULL)
				*next++ = '\0';
			rua[p->record.rua_count++] = tok;
		}
		p->record.rua = rua;
	}
	p->row.record = &p->record;
	p->row.disposition = policy_of(f[11]);
	p->row.dkim_aligned = strcmp(f[12], "pass") == 0;
	p->row.spf_aligned = strcmp(f[13], "pass") == 0;
	p->row.spf_domain = f[14];
	p->row.spf_helo = strcmp(f[15], "helo") == 0;
	p->row.spf = msgauth_result_parse(f[16], strlen(f[16])) < 0 ? MSGAUTH_NONE :
		(enum msgauth_result)msgauth_result_parse(f[16], strlen(f[16]));
	for (i = RECORD_FIELDS; i < n && p->row.dkim_count < N_ELEMENTS(p->dkim); i++) {
		char *d = arena_strdup(arena, f[i]), *c1 = strchr(d, ':'), *c2;
		int r;

		if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
			continue;
		*c1 = *c2 = '\0';
		r = msgauth_result_parse(c2 + 1, strlen(c2 + 1));
		p->dkim[p->row.dkim_count].domain = d;
		p->dkim[p->row.dkim_count].selector = c1[1] != '\0' ? c1 + 1 : NULL;
		p->dkim[p->row.dkim_count].result = r < 0 ? MSGAUTH_NONE : (enum msgauth_result)r;
		p->row.dkim_count++;
	}
	p->row.dkim = p->dkim;
	return 0;
}

/* ---- the XML ---- */

static int xml_text(buf_t *b, const char *s)
{
	int ret = 0;

	for (; s != NULL && *s != '\0' && ret == 0; s++) {
		switch (*s) {
		case '<': ret = buf_append_str(b, "&lt;"); break;
		case '>': ret = buf_append_str(b, "&gt;"); break;
		case '&': ret = buf_append_str(b, "&amp;"); break;
		case '"': ret = buf_append_str(b, "&quot;"); break;
		default:
			/* controls have no place in XML 1.0 */
			ret = buf_append_c(b, (unsigned char)*s < 0x20 ? '?' : (unsigned char)*s);
		}
	}
	return ret;
}

static int elem(buf_t *b, const char *indent, const char *name, const char *text)
{
	if (buf_printf(b, "%s<%s>", indent, name) < 0 || xml_text(b, text) < 0 ||
	    buf_printf(b, "</%s>\n", name) < 0)
		return -1;
	return 0;
}

static bool same_row(const struct dmarc_report_row *a, const struct dmarc_report_row *b)
{
	unsigned int i;

	if (strcmp(a->source_ip, b->source_ip) != 0 || strcmp(a->header_from, b->header_from) != 0 ||
	    a->disposition != b->disposition || a->dkim_aligned != b->dkim_aligned ||
	    a->spf_aligned != b->spf_aligned || a->spf != b->spf || a->spf_helo != b->spf_helo ||
	    strcmp(a->spf_domain, b->spf_domain) != 0 || a->dkim_count != b->dkim_count)
		return false;
	for (i = 0; i < a->dkim_count; i++) {
		if (strcmp(a->dkim[i].domain, b->dkim[i].domain) != 0 ||
		    a->dkim[i].result != b->dkim[i].result ||
		    (a->dkim[i].selector == NULL) != (b->dkim[i].selector == NULL) ||
		    (a->dkim[i].selector != NULL && strcmp(a->dkim[i].selector, b->dkim[i].selector) != 0))
			return false;
	}
	return true;
}

/* RFC 7489 appendix C: DKIM and SPF results in reports are a smaller set */
static const char *report_result(enum msgauth_result r)
{
	switch (r) {
	case MSGAUTH_SOFTFAIL:
	case MSGAUTH_NEUTRAL:
	case MSGAUTH_NONE:
	case MSGAUTH_PASS:
	case MSGAUTH_FAIL:
	case MSGAUTH_TEMPERROR:
	case MSGAUTH_PERMERROR:
	case MSGAUTH_POLICY:
		return msgauth_result_name(r);
	}
	return "none";
}

int dmarc_report_xml(const char *org_name, const char *org_email, const char *report_id,
		     time_t begin, time_t end, const struct dmarc_report_row *rows,
		     unsigned int count, buf_t *out)
{
	const struct dmarc_record *pub = rows[count - 1].record;
	bool *done = i_malloc(sizeof(bool) * (count + 1));
	char num[32];
	unsigned int i, k, n;
	int ret = 0;

	ret |= buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n"
			      "  <report_metadata>\n");
	ret |= elem(out, "    ", "org_name", org_name);
	ret |= elem(out, "    ", "email", org_email);
	ret |= elem(out, "    ", "report_id", report_id);
	ret |= buf_printf(out, "    <date_range>\n      <begin>%lld</begin>\n      <end>%lld</end>\n"
			  "    </date_range>\n  </report_metadata>\n  <policy_published>\n",
			  (long long)begin, (long long)end);
	ret |= elem(out, "    ", "domain", rows[count - 1].policy_domain);
	ret |= elem(out, "    ", "adkim", pub->adkim_strict ? "s" : "r");
	ret |= elem(out, "    ", "aspf", pub->aspf_strict ? "s" : "r");
	ret |= elem(out, "    ", "p", dmarc_policy_name(pub->p));
	ret |= elem(out, "    ", "sp", dmarc_policy_name(pub->sp));
	snprintf(num, sizeof(num), "%u", pub->pct);
	ret |= elem(out, "    ", "pct", num);
	ret |= buf_append_str(out, "  </policy_published>\n");
	for (i = 0; i < count && ret == 0; i++) {
		const struct dmarc_report_row *r = &rows[i];

		if (done[i])
			continue;
		/* identical rows become one with a count (appendix C "count") */
		n = 0;
		for (k = i; k < count; k++) {
			if (!done[k] && same_row(r, &rows[k])) {
				done[k] = true;
				n++;
			}
		}
		ret |= buf_append_str(out, "  <record>\n    <row>\n");
		ret |= elem(out, "      ", "source_ip", r->source_ip);
		snprintf(num, sizeof(num), "%u", n);
		ret |= elem(out, "      ", "count", num);
		ret |= buf_append_str(out, "      <policy_evaluated>\n");
		ret |= elem(out, "        ", "disposition", dmarc_policy_name(r->disposition));
		ret |= elem(out, "        ", "dkim", r->dkim_aligned ? "pass" : "fail");
		ret |= elem(out, "        ", "spf", r->spf_aligned ? "pass" : "fail");
		ret |= buf_append_str(out, "      </policy_evaluated>\n    </row>\n    <identifiers>\n");
		ret |= elem(out, "      ", "header_from", r->header_from);
		ret |= buf_append_str(out, "    </identifiers>\n    <auth_results>\n");
		for (k = 0; k < r->dkim_count; k++) {
			ret |= buf_append_str(out, "      <dkim>\n");
			ret |= elem(out, "        ", "domain", r->dkim[k].domain);
			if (r->dkim[k].selector != NULL)
				ret |= elem(out, "        ", "selector", r->dkim[k].selector);
			ret |= elem(out, "        ", "result", report_result(r->dkim[k].result));
			ret |= buf_append_str(out, "      </dkim>\n");
		}
		ret |= buf_append_str(out, "      <spf>\n");
		ret |= elem(out, "        ", "domain", r->spf_domain);
		ret |= elem(out, "        ", "scope", r->spf_helo ? "helo" : "mfrom");
		ret |= elem(out, "        ", "result", report_result(r->spf));
		ret |= buf_append_str(out, "      </spf>\n    </auth_results>\n  </record>\n");
	}
	ret |= buf_append_str(out, "</feedback>\n");
	free(done);
	return ret == 0 ? 0 : -1;
}

static int gzip_buf(const unsigned char *data, size_t size, buf_t *out)
{
	z_stream z;
	unsigned char chunk[16384];
	int ret;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper (RFC 1952), as 7.2.1.1 asks */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)size;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		ret = deflate(&z, Z_FINISH);
		if (ret == Z_STREAM_ERROR || buf_append(out, chunk, sizeof(chunk) - z.avail_out) < 0) {
			deflateEnd(&z);
			return -1;
		}
	} while (ret != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

static int cmp_domain(const void *a, const void *b)
{
	const struct parsed_row *pa = *(const struct parsed_row *const *)a;
	const struct parsed_row *pb = *(const struct parsed_row *const *)b;
	int c = strcmp(pa->row.policy_domain, pb->row.policy_domain);

	if (c != 0)
		return c;
	return pa->row.when < pb->row.when ? -1 : pa->row.when > pb->row.when ? 1 : 0;
}

static char *read_all(const char *path, size_t *size_r, const char **error_r)
{
	static __thread char error[512];
	struct stat st;
	char *data;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*size_r = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return i_strdup("");
		snprintf(error, sizeof(error), "%s: %s", path, strerror(errno));
		*error_r = error;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size > RECORDS_MAX_FILE) {
		snprintf(error, sizeof(error), "%s: too big or unreadable", path);
		close(fd);
		*error_r = error;
		return NULL;
	}
	data = i_malloc((size_t)st.st_size + 1);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, data + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	data[done] = '\0';
	*size_r = done;
	return data;
}

int dmarc_reports_generate(struct dmarc_reports *r, const char *org_name,
			   const char *org_email, time_t until, dmarc_report_cb *cb, void *ctx,
			   const char **error_r)
{
	static __thread char error[512];
	struct arena *arena = arena_new(0);
	struct parsed_row *rows = NULL, **sorted;
	unsigned int count = 0, alloc = 0, i, j, reports = 0, handed_on = 0;
	size_t size, pos = 0;
	char *data, *tmp;
	buf_t keep;
	int fd, ret = 0;

	pthread_mutex_lock(&r->lock);
	data = read_all(r->path, &size, error_r);
	if (data == NULL) {
		pthread_mutex_unlock(&r->lock);
		arena_free(&arena);
		return -1;
	}
	while (pos < size) {
		char *nl = memchr(data + pos, '\n', size - pos);
		size_t len;

		if (nl == NULL)
			break;   /* a torn last line: left for the next run */
		len = (size_t)(nl - (data + pos));
		if (count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			rows = i_realloc(rows, sizeof(*rows) * alloc);
		}
		if (parse_line(arena, data + pos, len, &rows[count]) == 0)
			count++;
		pos += len + 1;
	}
	sorted = i_malloc(sizeof(*sorted) * (count + 1));
	for (i = 0; i < count; i++) {
		sorted[i] = &rows[i];
		/* the row's pointers into rows[] stay valid: fix them now */
		rows[i].row.record = &rows[i].record;
		rows[i].row.dkim = rows[i].dkim;
	}
	if (count > 1)
		qsort(sorted, count, sizeof(*sorted), cmp_domain);
	/* one report per policy domain, of the records before until */
	for (i = 0; i < count; i = j) {
		struct dmarc_report_row *group;
		struct dmarc_report report;
		unsigned int n = 0, k;
		buf_t xml, gz;

		for (j = i; j < count && strcmp(sorted[j]->row.policy_domain,
						  sorted[i]->row.policy_domain) == 0; j++)
			;
		group = i_malloc(sizeof(*group) * (j - i));
		memset(&report, 0, sizeof(report));
		for (k = i; k < j; k++) {
			if (sorted[k]->row.when >= until)
				continue;
			group[n++] = sorted[k]->row;
			if (report.begin == 0 || sorted[k]->row.when < report.begin)
				report.begin = sorted[k]->row.when;
		}
		if (n == 0 || reports == REPORT_MAX_DOMAINS) {
			free(group);
			continue;
		}
		report.end = until - 1;
		report.policy_domain = sorted[i]->row.policy_domain;
		report.rua = group[n - 1].record->rua;
		report.rua_count = group[n - 1].record->rua_count;
		report.report_id = arena_printf(arena, "%s.%lld.%u", report.policy_domain,
						(long long)until, reports);
		report.filename = arena_printf(arena, "%s!%s!%lld!%lld.xml.gz", org_name,
					       report.policy_domain, (long long)report.begin,
					       (long long)report.end);
		buf_init(&xml, BUF_MAX_UNLIMITED);
		buf_init(&gz, BUF_MAX_UNLIMITED);
		if (dmarc_report_xml(org_name, org_email, report.report_id, report.begin, report.end,
				     group, n, &xml) == 0 && gzip_buf(xml.data, xml.used, &gz) == 0) {
			report.gz = gz.data;
			report.gz_size = gz.used;
			if (cb(&report, ctx) == 0) {
				for (k = i; k < j; k++) {
					if (sorted[k]->row.when < until)
						sorted[k]->handed_on = true;
				}
				handed_on++;
			}
		}
		reports++;
		buf_free(&xml);
		buf_free(&gz);
		free(group);
	}
	if (handed_on == 0) {
		/* nothing changes: the file stays as it is */
		pthread_mutex_unlock(&r->lock);
		free(sorted);
		free(rows);
		free(data);
		arena_free(&arena);
		return 0;
	}
	/* keep the rest (newer, not handed on, torn): a new file renamed over */
	buf_init(&keep, BUF_MAX_UNLIMITED);
	for (i = 0; i < count; i++) {
		if (!rows[i].handed_on && (buf_append(&keep, rows[i].line, rows[i].line_len) < 0 ||
					   buf_append_c(&keep, '\n') < 0))
			i_panic("dmarc: unlimited buffer full");
	}
	if (pos < size && buf_append(&keep, data + pos, size - pos) < 0)
		i_panic("dmarc: unlimited buffer full");
	tmp = i_strdup_printf("%s.tmp", r->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fs_write_full(fd, keep.data, keep.used) < 0 || fsync(fd) < 0 ||
	    rename(tmp, r->path) < 0) {
		snprintf(error, sizeof(error), "%s: %s", tmp, strerror(errno));
		*error_r = error;
		ret = -1;
	}
	if (fd >= 0)
		close(fd);
	free(tmp);
	pthread_mutex_unlock(&r->lock);
	buf_free(&keep);
	free(sorted);
	free(rows);
	free(data);
	arena_free(&arena);
	return ret;
}
