#ifndef TERN_OUTBOUND_H
#define TERN_OUTBOUND_H

#include "lib.h"

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

#endif
