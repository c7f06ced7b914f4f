#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include "lib.h"

#include <time.h>

/*
 * The durable queue (spool) in data_dir/queue:
 *
 *   queue/msg/<id>       the message bytes, exactly as they will be delivered
 *                        (our Received header first); while it has no
 *                        envelope it is a reception in progress
 *   queue/env/<id>       the envelope: a text file (format in queue.c) ending
 *                        with an "end" line; then one appended line per
 *                        recipient state change
 *   queue/tmp/           unused since the first release; emptied at start
 *
 * A message is accepted when queue_commit() has returned: the message and
 * envelope files are written (the envelope last, its "end" line making it
 * complete) and made durable (file data and directory entries) by one
 * syncfs. Concurrent sessions share
 * those fsyncs: commits that arrive while one is in progress are batched into
 * the next (group commit). SMTP answers 250 only after the commit.
 *
 * Every recipient has a persistent state; changes are appended to the
 * envelope file and fdatasync'd before they count. After a crash,
 * queue_scan() finds every committed message with its recipients' last
 * states; anything not fully committed is removed (it was never
 * acknowledged).
 */

struct arena;
struct queue;

enum queue_rcpt_state {
	QUEUE_RCPT_PENDING,    /* not yet tried */
	QUEUE_RCPT_DEFERRED,   /* tried, temporary failure: retry later */
	QUEUE_RCPT_DELIVERED,
	QUEUE_RCPT_FAILED,     /* permanent failure (a DSN is owed unless NOTIFY says not) */
};

/* RFC 3461 4.1 NOTIFY */
enum queue_notify {
	QUEUE_NOTIFY_DEFAULT = 0,     /* not given: FAILURE (and maybe DELAY) */
	QUEUE_NOTIFY_NEVER   = 1 << 0,
	QUEUE_NOTIFY_SUCCESS = 1 << 1,
	QUEUE_NOTIFY_FAILURE = 1 << 2,
	QUEUE_NOTIFY_DELAY   = 1 << 3,
};

enum queue_ret {
	QUEUE_RET_DEFAULT,   /* RFC 3461 4.3: not given */
	QUEUE_RET_FULL,
	QUEUE_RET_HDRS,
};

struct queue_rcpt {
	const char *address;        /* where to deliver: a mailbox, after alias expansion */
	const char *original;       /* the RCPT TO address when aliases led from it to
	                               `address`, else NULL (for DSNs and logs) */
	const char *orcpt;          /* RFC 3461 ORCPT "rfc822;addr" as given (xtext decoded), or NULL */
	unsigned int notify;        /* enum queue_notify */
	enum queue_rcpt_state state;
	unsigned int attempts;
	time_t last_attempt;        /* 0: never */
	time_t next_attempt;        /* 0: as soon as possible */
	const char *last_error;     /* the last failure's text (e.g. a remote reply), or NULL */
	bool dsn_sent;              /* the failure DSN for this recipient went out */
	bool delay_dsn_sent;        /* the delay warning for this recipient went out */
};

struct queue_envelope {
	const char *id;
	time_t created;
	const char *sender;         /* reverse path without brackets; "" for the null sender <> */
	const char *envid;          /* RFC 3461 ENVID, or NULL */
	enum queue_ret ret;
	bool body_8bit;             /* BODY=8BITMIME (RFC 6152) */
	bool smtputf8;              /* SMTPUTF8 (RFC 6531) */
	const char *auth_user;      /* authenticated submitter, or NULL */
	const char *client;         /* "helo [ip]" of the submitting client, for logs and DSNs */
	/* sender authentication (src/msgauth) */
	const char *auth_results;   /* Authentication-Results value added at local delivery
	                               (RFC 8601: "authserv-id; resinfo..."), or NULL */
	bool quarantine;            /* local copies go to the Junk folder (a DMARC quarantine) */
	bool local_origin;          /* from a local user, sendmail, relay.networks or tern itself:
	                               outbound DKIM signing applies (never to mail from outside) */
	const char *dkim_signatures; /* DKIM-Signature fields made when the message was queued
	                               ("DKIM-Signature: ...\r\n" each), or NULL: outbound
	                               delivery puts them on top (or signs itself) */
	uint64_t size;              /* bytes in msg/<id> */
	struct queue_rcpt *rcpts;
	unsigned int rcpt_count;
};

/* Open data_dir/queue, creating its folders. */
int queue_open(const char *data_dir, struct queue **queue_r, const char **error_r);
void queue_close(struct queue **queue);

/* Receiving a message: a new file msg/<id> with a fresh id. */
struct queue_writer;
struct queue_writer *queue_writer_new(struct queue *queue, const char **error_r);
const char *queue_writer_id(const struct queue_writer *w);
/* Append message bytes (buffered). 0, or -1 with *error_r (disk full...). */
int queue_writer_write(struct queue_writer *w, const void *data, size_t size, const char **error_r);
uint64_t queue_writer_size(const struct queue_writer *w);
/* Throw the message away (client vanished, size limit): nothing remains. */
void queue_writer_abort(struct queue_writer **w);

/* Write the envelope (env->id and env->size are set from the writer) and
   make both files durable. Blocks until they are on
   disk: call it from a thread that may block (the group commit batches
   concurrent callers into shared fsyncs). 0 on success (the writer is
   freed); -1 with *error_r, and nothing is left behind. */
int queue_commit(struct queue_writer **w, struct queue_envelope *env, const char **error_r);

/* Record a recipient's new state (appended to env/<id>). rcpt_index is the
   recipient's index in the envelope. sync: fdatasync before returning;
   without it the caller must queue_sync() before relying on the state. */
int queue_set_rcpt_state(struct queue *queue, const char *id, unsigned int rcpt_index,
			 const struct queue_rcpt *rcpt, bool sync, const char **error_r);

/* Make every queue change made so far durable (shared with concurrent
   callers: group commit). */
int queue_sync(struct queue *queue, const char **error_r);

/* Read one queued message's envelope with its recipients' latest states.
   1 found, 0 no such message (or not committed), -1 error. */
int queue_read(struct queue *queue, struct arena *arena, const char *id,
	       struct queue_envelope **env_r, const char **error_r);
/* Open the message bytes for reading: a file descriptor, or -1. */
int queue_open_message(struct queue *queue, const char *id, const char **error_r);

/* Claim a message for delivery work, across processes (an flock on its
   envelope): the server's queue manager and `tern sendmail` delivering
   locally never work on one message at once. Returns 1 with *fd_r (give it
   to queue_release), 0 when another process holds it, -1 when the message is
   gone or on error. */
int queue_claim(struct queue *queue, const char *id, int *fd_r);
void queue_release(int *fd);

/* Every committed message id (sorted oldest first). Ids in arena,
   NULL-terminated. Safe while a server runs. */
int queue_scan(struct queue *queue, struct arena *arena, const char ***ids_r,
	       unsigned int *count_r, const char **error_r);
/* At server start only (nothing else may be writing the queue): remove the
   leftovers of messages that were never committed (tmp/, envelopes without
   "end", messages without envelopes), then queue_scan(). */
int queue_recover(struct queue *queue, struct arena *arena, const char ***ids_r,
		  unsigned int *count_r, const char **error_r);

/* Remove a message for good (all recipients done, or `tern queue del`). */
int queue_remove(struct queue *queue, const char *id, const char **error_r);

/* Is every recipient delivered or failed? */
bool queue_envelope_done(const struct queue_envelope *env);

#endif
