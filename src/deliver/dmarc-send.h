#ifndef TERN_DMARC_SEND_H
#define TERN_DMARC_SEND_H

#include "lib.h"

#include <time.h>

/*
 * Mailing DMARC aggregate reports (RFC 7489 7.2): the records collected
 * while checking incoming mail (src/msgauth/dmarc-report.h) become one
 * report per policy domain, queued as a message to the domain's rua=
 * mailto: addresses (an address outside the policy domain's organization
 * only when that domain agreed, 7.1), from [dmarc] report_from, DKIM-signed
 * on its way out like any local mail. `tern serve` runs this once a day, in
 * the job pool.
 */

struct tern_settings;
struct queue;
struct msgauth_context;

/* Generate and queue the reports of every record made before until (the
   start of the current UTC day). The ids of the queued messages come back
   in *ids_r (malloc'd array of malloc'd strings; *count_r of them) for the
   queue manager. Blocking (files, zlib, DNS for 7.1). 0, or -1 with
   *error_r. */
int dmarc_send_reports(const struct tern_settings *set, const struct msgauth_context *ctx,
		       struct queue *queue, time_t until, char ***ids_r, unsigned int *count_r,
		       const char **error_r);

/* The rua= URIs of a report that may get it (mailto: only, 7.1 checked,
   the !size limit against gz_size): addresses in arena, NULL-terminated. */
struct arena;
const char *const *dmarc_report_recipients(struct arena *arena, const struct msgauth_context *ctx,
					   const struct tern_settings *set,
					   const char *policy_domain, const char *const *rua,
					   unsigned int rua_count, size_t gz_size);

#endif
