#ifndef TERN_OUTBOUND_H
#define TERN_OUTBOUND_H

#include "lib.h"
#include "buf.h"

#include <time.h>

/*
 * Outbound delivery (issue 4): remote recipients of queued messages go to
 * the MX hosts of their domains (or to relay.smarthost) over SMTP. It runs
 * on an event loop thread of its own, with asynchronous DNS (c-ares).
 *
 * The queue manager (src/deliver/deliver.c) owns the queue: it hands the
 * remote recipients of a message to outbound_submit() and records the
 * outcomes that come back; outbound never writes queue state itself.
 */

struct tern_settings;
struct queue;
struct queue_envelope;
struct outbound;

enum outbound_status {
	OUTBOUND_DELIVERED,     /* 2xx from the remote at end of data */
	OUTBOUND_DEFERRED,      /* 4xx, network failure, DNS SERVFAIL/timeout: retry later */
	OUTBOUND_FAILED,        /* 5xx, NXDOMAIN, null MX, MX loops back to us...: bounce */
};

struct outbound_result {
	unsigned int rcpt_index;   /* index in the envelope */
	enum outbound_status status;
	/* What happened, for the queue's last_error and the DSN's
	   Diagnostic-Code: the remote reply ("smtp; 550 5.1.1 <x@y> unknown"),
	   or a local description ("dns; no such domain"). */
	const char *diagnostic;
	const char *status_code;   /* RFC 3463 code "5.1.1" (from the reply, or chosen) */
	const char *remote_mta;    /* "mx.example.test [192.0.2.7]" when one was reached, or NULL */
	/* Delivered to a server that offered DSN (RFC 3461): NOTIFY went on
	   with the recipient and the remote reports success itself; when
	   false, a NOTIFY=SUCCESS recipient is owed a "relayed" notice (5.2.2). */
	bool dsn_passed_on;
};

/* Called from the outbound thread once every submitted recipient has an
   outcome. results (count entries) are valid during the call only. */
typedef void outbound_done_cb(void *ctx, const char *queue_id,
			      const struct outbound_result *results, unsigned int count);

/* Start the outbound thread. set and queue must outlive it. */
struct outbound *outbound_start(const struct tern_settings *set, struct queue *queue,
				const char **error_r);
/* Deliver rcpt_indexes (count of them) of queued message queue_id, whose
   envelope is env (copied: the caller may free it after the call). The
   message bytes are read from the queue (queue_open_message). Thread-safe. */
void outbound_submit(struct outbound *ob, const char *queue_id, const struct queue_envelope *env,
		     const unsigned int *rcpt_indexes, unsigned int count,
		     outbound_done_cb *done, void *ctx);
/* Stop: abort connections in progress (their recipients are reported
   DEFERRED through done callbacks), join the thread. */
void outbound_stop(struct outbound **ob);

/* Sign outgoing mail of local domains (DKIM), seal forwarded mail (ARC)
   and rewrite its sender (SRS) with ctx, which must outlive ob. Call
   before the first outbound_submit(). */
struct msgauth_context;
void outbound_set_msgauth(struct outbound *ob, const struct msgauth_context *ctx);

/* ---- sender authentication (sign.c), exposed for unit tests ---- */

/* DKIM-Signature fields for msg (the bytes about to be sent) when env is
   of local origin and the From domain has keys: appended to out. Returns
   how many. */
int outbound_dkim_sign(const struct msgauth_context *ctx, const struct queue_envelope *env,
		       const unsigned char *msg, size_t size, buf_t *out);
/* The ARC set for a message from outside that tern forwards (env has the
   Authentication-Results of its checks; [arc] domain has a key):
   appended to out. Returns 1 when sealed. */
int outbound_arc_seal(const struct msgauth_context *ctx, const struct queue_envelope *env,
		      const unsigned char *msg, size_t size, buf_t *out);
/* The SRS sender for a forwarded message from outside, or NULL (keep the
   sender). In arena. */
struct arena;
const char *outbound_srs_sender(const struct msgauth_context *ctx, struct arena *arena,
				const struct queue_envelope *env);

/* ---- tuning (tests), and the engine's parts exposed for unit tests ---- */

/* A source of randomness: a number in [0, n). */
typedef unsigned int outbound_random_cb(void *ctx, unsigned int n);

struct outbound_options {
	unsigned int dns_timeout_msecs;   /* per DNS try; 0 = 3000 */
	unsigned int dns_tries;           /* 0 = 2 */
	unsigned int idle_secs;           /* keep an idle connection for reuse; 0 = 5 */
	unsigned int smtp_timeout;        /* every SMTP client timeout; 0 = RFC 5321 4.5.3.2 values */
	outbound_random_cb *random;       /* NULL = random() */
	void *random_ctx;
};
/* outbound_start() with options (opts NULL = defaults). */
struct outbound *outbound_start_opts(const struct tern_settings *set, struct queue *queue,
				     const struct outbound_options *opts, const char **error_r);

struct dns_mx;
/* RFC 5321 5.1: ascending preference; records of equal preference in
   random order (rnd NULL = random()). */
void outbound_mx_sort(struct dns_mx *mx, unsigned int count, outbound_random_cb *rnd, void *ctx);

enum outbound_mx_verdict {
	OUTBOUND_MX_OK,          /* *count_r hosts to try, in order */
	OUTBOUND_MX_NULL,        /* RFC 7505 null MX: the domain accepts no mail */
	OUTBOUND_MX_LOOP,        /* the best MX is this host: configuration error */
};
/* Take the sorted MX list: a lone "." is a null MX (RFC 7505 3); "."
   among others is ignored; when one of the hosts is us (is_self), only
   the hosts more preferred than the best of ours remain (RFC 5321 5.1),
   none left is a loop. Keeps the order; the kept count in *count_r. */
enum outbound_mx_verdict outbound_mx_select(struct dns_mx *mx, unsigned int count,
					    bool (*is_self)(void *ctx, const char *host),
					    void *ctx, unsigned int *count_r);

/* RFC 6152 3: for a server without 8BITMIME, re-encode every 8-bit text
   or leaf body part as quoted-printable (binary ones as base64) and
   rewrite its Content-Transfer-Encoding; enclosing multiparts and
   message/rfc822 parts become 7bit. Headers are left as they are. Appends
   the converted message to out. 0, or -1 with *error_r (static text) when
   it can't be done (a part kept opaque by the parser's limits, 8-bit
   message/partial or message/external-body, which RFC 2046 5.2 requires
   to be 7bit) or out's maximum is passed. */
int outbound_downgrade_8bit(const unsigned char *data, size_t size, buf_t *out,
			    const char **error_r);

#endif
