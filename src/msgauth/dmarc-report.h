#ifndef TERN_DMARC_REPORT_H
#define TERN_DMARC_REPORT_H

#include "lib.h"
#include "buf.h"
#include "dmarc.h"

#include <time.h>

/*
 * DMARC aggregate reports (RFC 7489 7.2, appendix C): while the server
 * runs, one line per checked message whose policy asks for reports (rua=)
 * is appended to data_dir/dmarc/records; once a day the lines of the days
 * that are over become one XML report (gzip'd) per policy domain, handed
 * to a callback that mails it to the rua= addresses, and are removed.
 * Off by default ([dmarc] reports).
 */

struct dmarc_reports;

struct dmarc_report_dkim {
	const char *domain;
	const char *selector;
	enum msgauth_result result;
};

/* What one message contributes. */
struct dmarc_report_row {
	time_t when;
	const char *source_ip;
	const char *header_from;
	const char *policy_domain;
	const struct dmarc_record *record;      /* as published (p, sp, pct, adkim, aspf, rua) */
	enum dmarc_policy disposition;           /* what was done */
	bool dkim_aligned, spf_aligned;
	const char *spf_domain;
	bool spf_helo;                           /* SPF checked the HELO identity */
	enum msgauth_result spf;
	const struct dmarc_report_dkim *dkim;
	unsigned int dkim_count;
};

/* Open data_dir/dmarc (made if missing). NULL with *error_r. */
struct dmarc_reports *dmarc_reports_open(const char *data_dir, const char **error_r);
void dmarc_reports_close(struct dmarc_reports **r);
/* Record a message (one append, thread-safe). Errors are logged. */
void dmarc_reports_add(struct dmarc_reports *r, const struct dmarc_report_row *row);

/* One report, ready to mail. */
struct dmarc_report {
	const char *policy_domain;
	const char *const *rua;          /* "mailto:..." URIs as published (with !size) */
	unsigned int rua_count;
	const char *report_id;
	time_t begin, end;
	const unsigned char *gz;         /* the XML, gzip'd */
	size_t gz_size;
	const char *filename;            /* "receiver!policy-domain!begin!end.xml.gz" (7.2.1.1) */
};

/* Return 0 when the report was handed on (its records go), -1 to keep its
   records for the next run. */
typedef int dmarc_report_cb(const struct dmarc_report *report, void *ctx);

/* Make the reports of every record made before until (the start of the
   current UTC day, in the server), in the name of org_name / org_email,
   call cb for each and remove the records handed on. Blocking (file work,
   zlib): run it in a thread that may block. 0, or -1 with *error_r. */
int dmarc_reports_generate(struct dmarc_reports *r, const char *org_name,
			   const char *org_email, time_t until, dmarc_report_cb *cb, void *ctx,
			   const char **error_r);

/* The XML of one report (appendix C), for tests. rows are of one policy
   domain. */
int dmarc_report_xml(const char *org_name, const char *org_email, const char *report_id,
		     time_t begin, time_t end, const struct dmarc_report_row *rows,
		     unsigned int count, buf_t *out);

#endif
