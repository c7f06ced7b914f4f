#ifndef TERN_DSN_H
#define TERN_DSN_H

#include "buf.h"
#include "tern-limits.h"

#include <time.h>

/*
 * Delivery status notifications (RFC 3464, RFC 3461). NOTE for the DSN
 * implementer: the queue manager (deliver.c) calls dsn_queue() exactly as
 * declared here; extend this header, but keep this function.
 *
 * A DSN is a multipart/report; report-type=delivery-status (RFC 6522) with
 *   1. a text/plain part saying in plain words what happened and why,
 *   2. a message/delivery-status part (RFC 3464 2): per-message fields
 *      (Reporting-MTA, Original-Envelope-Id, Arrival-Date), then one group
 *      per recipient (Original-Recipient, Final-Recipient, Action, Status,
 *      Remote-MTA, Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until),
 *   3. the original message as message/rfc822, or only its header as
 *      text/rfc822-headers (choice below).
 * It comes From: MAILER-DAEMON@<hostname>, goes To: the envelope sender,
 * and carries Auto-Submitted: auto-replied (RFC 3834 5) so that
 * autoresponders leave it alone.
 *
 * What is returned of the original (RFC 3461 4.3 leaves the default to the
 * MTA):
 *   RET=FULL                  the whole message, up to DSN_RETURN_FULL_MAX
 *   RET=HDRS                  the header only
 *   no RET, failure           the whole message up to DSN_RETURN_DEFAULT_MAX
 *   no RET, delay / success   the header only (the sender still has the
 *                             message, or it arrived)
 * Anything larger than the limit gets its header only, so a bounce of a
 * large message is never itself refused for its size.
 *
 * When DSNs are owed (RFC 3461 4.1, 5.2.2, 5.2.3, and RFC 3834 / RFC 5321
 * 4.5.5 "never bounce a bounce"): never for the null sender <>; never for
 * NOTIFY=NEVER; failures unless NOTIFY was given without FAILURE; delays
 * when NOTIFY holds DELAY or was not given (as Postfix and sendmail treat
 * the default: FAILURE,DELAY); delivered, relayed and expanded only when
 * NOTIFY holds SUCCESS.
 */

struct arena;
struct queue;
struct queue_envelope;
struct queue_rcpt;
struct tern_settings;

/* DSN_RETURN_DEFAULT_MAX, DSN_RETURN_FULL_MAX: tern-limits.h */

enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED,
	DSN_ACTION_EXPANDED,
};

/* Details about one recipient's outcome that the queue does not keep
   (outbound_result has them). Every member may be NULL:
     status      RFC 3463 code "5.1.1"; NULL: taken from the diagnostic's
                 reply ("smtp; 550 5.1.1 ..."), else x.0.0 by action;
     remote_mta  "mx.example.test [192.0.2.7]" or a host name;
     diagnostic  "smtp; 550 ..." or "dns; ..."; NULL: the recipient's
                 last_error. */
struct dsn_rcpt_detail {
	const char *status;
	const char *remote_mta;
	const char *diagnostic;
};

/* "failed", "delayed", ... (RFC 3464 2.3.3). */
const char *dsn_action_name(enum dsn_action action);

/* Is a DSN owed to env's sender about rcpt for this action (rules above)? */
bool dsn_wanted(const struct queue_envelope *env, const struct queue_rcpt *rcpt,
		enum dsn_action action);

/* Will the DSN carry the whole original (true) or its header (false)? */
bool dsn_return_full(const struct queue_envelope *env, enum dsn_action action,
		     uint64_t original_size);

/* Build the DSN message about recipients rcpt_indexes (count of them) of
   env, whose message bytes are original/original_size (the whole message,
   or at least its header when dsn_return_full() is false). details: NULL,
   or count entries parallel to rcpt_indexes. now: the DSN's Date (and the
   default Last-Attempt-Date). Does not check dsn_wanted(). Appends to out
   (CRLF line ends); *is_8bit_r (may be NULL) says whether the DSN needs
   BODY=8BITMIME / SMTPUTF8. Returns 0, or -1 with *error_r (out's maximum
   reached). Allocates in arena. */
int dsn_build(const struct tern_settings *set, struct arena *arena,
	      const struct queue_envelope *env, const void *original, size_t original_size,
	      const unsigned int *rcpt_indexes, const struct dsn_rcpt_detail *details,
	      unsigned int count, enum dsn_action action, time_t now, buf_t *out,
	      bool *is_8bit_r, const char **error_r);

/* Build and commit to the queue a DSN about the recipients rcpt_indexes
   (count of them) of env, to env->sender, from the null sender <>.
   Honours RFC 3461 (no DSN when env->sender is "" — never bounce a bounce —
   and per each recipient's NOTIFY). Returns 0 with *dsn_id_r = the new queue
   id (in arena), or NULL when no DSN was owed; -1 with *error_r. Blocks on
   the queue commit (fsync). */
int dsn_queue(const struct tern_settings *set, struct queue *queue, struct arena *arena,
	      const struct queue_envelope *env, const unsigned int *rcpt_indexes,
	      unsigned int count, enum dsn_action action, const char **dsn_id_r,
	      const char **error_r);

/* dsn_queue() with per-recipient details (NULL or parallel to
   rcpt_indexes). The queued DSN's envelope: sender "", one recipient per
   final target of the original sender (aliases expanded with
   accounts_resolve(); an unknown local sender means no DSN), NOTIFY=NEVER. */
int dsn_queue_details(const struct tern_settings *set, struct queue *queue,
		      struct arena *arena, const struct queue_envelope *env,
		      const unsigned int *rcpt_indexes, const struct dsn_rcpt_detail *details,
		      unsigned int count, enum dsn_action action, const char **dsn_id_r,
		      const char **error_r);

#endif
