#ifndef TERN_DELIVER_H
#define TERN_DELIVER_H

#include "lib.h"

/*
 * The queue manager: takes committed messages off the queue, delivers their
 * local recipients into Maildir (tmp, write, rename into new/; a batch of
 * deliveries shares one syncfs before any of them is recorded as
 * delivered), hands remote recipients to outbound delivery (once
 * deliverer_set_outbound() was called) and records the outcomes, sending
 * DSNs (dsn.h) where they are owed. It runs in threads of its own, never on
 * an event loop.
 *
 * At start it recovers the queue (queue_recover): messages found then may have
 * been half delivered before a crash, so each of their local recipients is
 * first looked for in its Maildir by delivery tag and not delivered twice.
 */

struct tern_settings;
struct queue;
struct deliverer;

/* Start the delivery threads over an open queue. settings and queue must
   outlive the deliverer. Returns NULL with *error_r on failure. */
struct deliverer *deliverer_start(const struct tern_settings *set, struct queue *queue,
				  unsigned int threads, const char **error_r);
/* Hand remote recipients to outbound delivery from now on (without it they
   stay queued). ob must outlive the deliverer; stop ob first. */
struct outbound;
void deliverer_set_outbound(struct deliverer *d, struct outbound *ob);
/* Tell the mailbox store of every local delivery (mail_store_notify(),
   once the batch is durable), so sessions watching the INBOX wake up.
   store must outlive the deliverer; NULL: nobody is told. */
struct mail_store;
void deliverer_set_mail_store(struct deliverer *d, struct mail_store *store);
/* A message was just committed: deliver it soon. Thread-safe, never blocks
   on disk. */
void deliverer_notify(struct deliverer *d, const char *queue_id);
/* Retry every deferred recipient now (`tern queue flush`, SIGUSR1...). */
void deliverer_flush(struct deliverer *d);
/* Stop: finish the batch in progress, join the threads. */
void deliverer_stop(struct deliverer **d);

/* Deliver the local recipients of one message now, in the calling thread
   (sendmail without a server, tests). recovered: check Maildirs for copies
   already delivered before a crash. 0, or -1 with *error_r. */
int deliver_message_now(const struct tern_settings *set, struct queue *queue,
			const char *queue_id, bool recovered, const char **error_r);

#endif
