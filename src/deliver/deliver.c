/*
 * The queue manager: local delivery from the queue into Maildir, remote
 * recipients handed to outbound delivery, outcomes recorded. See deliver.h.
 *
 * Order of durability for a batch of messages (no step is skipped, the
 * fsyncs are shared):
 *   1. each local recipient's copy: write tmp/, rename into new/ (no fsync);
 *   2. one syncfs() of the mail filesystem: every copy of the batch is on disk;
 *   3. record the outcomes: queue_remove() for messages that are done, state
 *      lines for the others;
 *   4. one queue_sync().
 * A crash between 2 and 4 leaves recipients pending whose copies exist: the
 * queue scan at the next start marks those messages "recovered", and a
 * recovered recipient is first looked for in its Maildir by its delivery
 * tag (queue id + recipient index), so it is never delivered twice.
 *
 * One message is handled by one thread at a time (its entry is "busy"), and
 * outcomes of remote deliveries come back as results attached to the
 * message's entry, applied by the next batch that takes it: so local and
 * remote outcomes never race on the same envelope file, and the message is
 * removed exactly when its last recipient is done.
 */
#include "deliver.h"
#include "accounts.h"
#include "arena.h"
#include "buf.h"
#include "dsn.h"
#include "log.h"
#include "mailbox.h"
#include "maildir.h"
#include "outbound.h"
#include "queue.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DELIVER_BATCH 64
#define DELIVER_MAX_THREADS 16
#define DELIVER_HASH_MIN 1024
#define DELIVER_CLAIM_RETRY 5   /* seconds, when another process holds a message */

/* An outcome reported by outbound, waiting to be recorded. */
struct pending_result {
	unsigned int rcpt_index;
	enum outbound_status status;
	char *diagnostic;
	char *status_code;
	char *remote_mta;
	bool dsn_passed_on;
};

/* What the manager knows about one queued message. */
struct msg_entry {
	struct msg_entry *hash_next;
	unsigned int index;            /* in deliverer.entries */
	char *id;
	bool recovered;                /* found at start: may be half delivered */
	bool force;                    /* retry deferred recipients before their time */
	bool scheduled;                /* wants a batch at `due` */
	bool busy;                     /* a batch is handling it */
	bool remote_inflight;          /* handed to outbound, outcomes not back yet */
	time_t due;
	struct pending_result *results;
	unsigned int result_count;
};

struct deliverer {
	const struct tern_settings *set;
	struct queue *queue;
	struct outbound *outbound;     /* NULL: remote recipients wait */
	struct mail_store *mail_store; /* told of local deliveries; may be NULL */
	int mail_fd;                   /* data_dir/mail, for syncfs */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct msg_entry **buckets;
	unsigned int bucket_count;
	struct msg_entry **entries;
	unsigned int count, alloc;
	bool stopping;

	pthread_t threads[DELIVER_MAX_THREADS];
	unsigned int thread_count;
};

/* One message's work in a batch. */
struct batch_msg {
	struct msg_entry *entry;
	struct pending_result *results;  /* taken from the entry */
	unsigned int result_count;
	struct arena *arena;
	struct queue_envelope *env;
	bool *changed;                   /* per recipient: state to record */
	bool *newly_failed;              /* per recipient: owes a failure DSN */
	bool *newly_delayed;             /* per recipient: owes a delay warning */
	/* per recipient: a success notice owed (RFC 3461 NOTIFY=SUCCESS):
	   DSN_ACTION_DELIVERED, DSN_ACTION_RELAYED, or -1 for none */
	int *success_action;
	struct dsn_rcpt_detail *details; /* per recipient: what outbound reported */
	unsigned int *remote;            /* recipients to hand to outbound */
	unsigned int remote_count;
	bool delivered_any;
	bool removed;
	time_t next_due;                 /* 0: nothing deferred */
	int claim_fd;                    /* queue_claim(), held until recorded */
};

static __thread char deliver_error[512];

static unsigned int retry_delay(const struct tern_settings *set, unsigned int attempts)
{
	size_t idx;

	if (set->delivery_retry_count == 0)
		return 300;
	idx = attempts == 0 ? 0 : attempts - 1;
	if (idx >= set->delivery_retry_count)
		idx = set->delivery_retry_count - 1;
	return set->delivery_retry[idx];
}

static bool address_is_local(struct accounts *acc, const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL && accounts_domain_is_local(acc, at + 1);
}

/* Return-Path (RFC 5321 4.4), Delivered-To, and the Authentication-Results
   of the checks made when the message came in (RFC 8601: added by the
   receiving ADMD), prepended at final delivery. */
static int build_prepend(const struct queue_envelope *env, const char *address, buf_t *b)
{
	buf_reset(b);
	if (buf_printf(b, "Return-Path: <%s>\r\nDelivered-To: %s\r\n", env->sender, address) < 0)
		return -1;
	if (env->auth_results != NULL &&
	    buf_printf(b, "Authentication-Results: %s\r\n", env->auth_results) < 0)
		return -1;
	return 0;
}

/* The Maildir++ folder of a local copy: the Junk folder for a message a
   DMARC policy quarantined, else the INBOX. */
#define JUNK_FOLDER "Junk"
static const char *delivery_folder(const struct queue_envelope *env)
{
	return env->quarantine ? JUNK_FOLDER : "";
}

static void note_due(struct batch_msg *m, time_t due)
{
	if (m->next_due == 0 || due < m->next_due)
		m->next_due = due;
}

/* A temporary failure, or a permanent one; a temporary failure becomes
   permanent after delivery.bounce_after. */
static void rcpt_fail_or_defer(const struct tern_settings *set, struct batch_msg *m,
			       unsigned int i, time_t now, bool permanent, const char *error)
{
	struct queue_rcpt *r = &m->env->rcpts[i];

	r->attempts++;
	r->last_attempt = now;
	r->last_error = arena_strdup(m->arena, error);
	m->changed[i] = true;
	if (permanent || (set->delivery_bounce_after > 0 &&
			  now - m->env->created >= (time_t)set->delivery_bounce_after)) {
		r->state = QUEUE_RCPT_FAILED;
		r->next_attempt = 0;
		m->newly_failed[i] = true;
	} else {
		r->state = QUEUE_RCPT_DEFERRED;
		r->next_attempt = now + retry_delay(set, r->attempts);
		note_due(m, r->next_attempt);
		/* RFC 3464 Action: delayed, once, after delivery.delay_warning */
		if (set->delivery_delay_warning > 0 && !r->delay_dsn_sent &&
		    now - m->env->created >= (time_t)set->delivery_delay_warning)
			m->newly_delayed[i] = true;
	}
}

/* Outcomes that came back from outbound. */
static void apply_results(const struct tern_settings *set, struct batch_msg *m, time_t now)
{
	unsigned int k;

	for (k = 0; k < m->result_count; k++) {
		struct pending_result *pr = &m->results[k];
		struct queue_rcpt *r;

		if (pr->rcpt_index >= m->env->rcpt_count)
			continue;
		r = &m->env->rcpts[pr->rcpt_index];
		if (r->state == QUEUE_RCPT_DELIVERED || r->state == QUEUE_RCPT_FAILED)
			continue;
		/* for the DSN: RFC 3464 Status, Remote-MTA, Diagnostic-Code */
		m->details[pr->rcpt_index].status = arena_strdup(m->arena, pr->status_code);
		m->details[pr->rcpt_index].remote_mta = arena_strdup(m->arena, pr->remote_mta);
		m->details[pr->rcpt_index].diagnostic = arena_strdup(m->arena, pr->diagnostic);
		switch (pr->status) {
		case OUTBOUND_DELIVERED:
			/* RFC 3461 5.2.2: relayed to a server without DSN */
			if (!pr->dsn_passed_on)
				m->success_action[pr->rcpt_index] = DSN_ACTION_RELAYED;
			r->state = QUEUE_RCPT_DELIVERED;
			r->attempts++;
			r->last_attempt = now;
			r->last_error = pr->diagnostic == NULL ? NULL :
				arena_strdup(m->arena, pr->diagnostic);
			m->changed[pr->rcpt_index] = true;
			break;
		case OUTBOUND_DEFERRED:
		case OUTBOUND_FAILED:
			rcpt_fail_or_defer(set, m, pr->rcpt_index, now,
					   pr->status == OUTBOUND_FAILED,
					   pr->diagnostic == NULL ? "unknown error" : pr->diagnostic);
			break;
		}
	}
}

/* Step 1 for one message: apply returned outcomes, deliver every due local
   recipient without fsync, list the due remote ones. */
static int process_message(const struct tern_settings *set, struct queue *queue,
			   struct accounts *acc, struct batch_msg *m, bool remote_busy)
{
	struct msg_entry *e = m->entry;
	struct queue_envelope *env;
	const char *error;
	time_t now = time(NULL);
	buf_t prepend;
	unsigned int i;
	int fd, ret;

	m->arena = arena_new(0);
	m->claim_fd = -1;
	ret = queue_claim(queue, e->id, &m->claim_fd);
	if (ret == 0) {
		/* `tern sendmail` in another process is delivering it: later */
		note_due(m, now + DELIVER_CLAIM_RETRY);
		return -1;
	}
	if (ret < 0)
		return -1;   /* gone (delivered and removed, or `tern queue del`) */
	ret = queue_read(queue, m->arena, e->id, &env, &error);
	if (ret <= 0) {
		if (ret < 0)
			log_error("deliver", "id=%s error=%s", e->id, log_str(error));
		return -1;
	}
	m->env = env;
	m->changed = arena_new_array(m->arena, bool, env->rcpt_count);
	m->newly_failed = arena_new_array(m->arena, bool, env->rcpt_count);
	m->remote = arena_new_array(m->arena, unsigned int, env->rcpt_count);
	m->details = arena_new_array(m->arena, struct dsn_rcpt_detail, env->rcpt_count);
	m->success_action = arena_new_array(m->arena, int, env->rcpt_count);
	m->newly_delayed = arena_new_array(m->arena, bool, env->rcpt_count);
	for (i = 0; i < env->rcpt_count; i++)
		m->success_action[i] = -1;
	apply_results(set, m, now);

	fd = -1;
	buf_init(&prepend, 64 * 1024);
	for (i = 0; i < env->rcpt_count; i++) {
		struct queue_rcpt *r = &env->rcpts[i];
		char tag[64];
		char *maildir;

		if (r->state == QUEUE_RCPT_FAILED && !r->dsn_sent) {
			/* failed before this batch without its bounce sent: committed
			   failed (an unknown recipient from the maildrop), or the
			   DSN could not be queued last time */
			m->newly_failed[i] = true;
			m->changed[i] = true;
		}
		if (r->state == QUEUE_RCPT_DELIVERED || r->state == QUEUE_RCPT_FAILED)
			continue;
		if (r->state == QUEUE_RCPT_DEFERRED && r->next_attempt > now && !e->force) {
			note_due(m, r->next_attempt);
			continue;
		}
		if (!address_is_local(acc, r->address)) {
			if (!remote_busy && !m->changed[i])
				m->remote[m->remote_count++] = i;
			continue;
		}
		snprintf(tag, sizeof(tag), "%sR%u", e->id, i);
		maildir = maildir_path_for(set->data_dir, r->address);
		m->changed[i] = true;
		/* only accounts have mailboxes: postmaster is resolved to the
		   administrator when the message is accepted */
		if (maildir == NULL || accounts_user_exists(acc, r->address) <= 0) {
			/* the account went away after the message was accepted */
			rcpt_fail_or_defer(set, m, i, now, true,
					   "x-tern; 5.1.1 mailbox no longer exists");
			log_info("deliver", "failed id=%s to=<%s> reason=no-such-mailbox", e->id,
				 log_str(r->address));
			free(maildir);
			continue;
		}
		if (e->recovered && maildir_has_delivery(maildir, delivery_folder(env), tag, &error) > 0) {
			/* delivered before a crash, not yet recorded */
			r->state = QUEUE_RCPT_DELIVERED;
			r->last_attempt = now;
			m->delivered_any = true;
			log_info("deliver", "delivered id=%s to=<%s> recovered=yes", e->id,
				 log_str(r->address));
			free(maildir);
			continue;
		}
		if (fd < 0 && (fd = queue_open_message(queue, e->id, &error)) < 0) {
			rcpt_fail_or_defer(set, m, i, now, false, error);
			log_error("deliver", "deferred id=%s to=<%s> error=%s", e->id,
				  log_str(r->address), log_str(error));
			free(maildir);
			continue;
		}
		if (build_prepend(env, r->address, &prepend) < 0 ||
		    maildir_deliver(maildir, delivery_folder(env), tag, set->hostname, prepend.data,
				    prepend.used, fd, env->size, false, NULL, &error) < 0) {
			if (prepend.used == 0)
				error = "address too long";
			rcpt_fail_or_defer(set, m, i, now, false, error);
			log_error("deliver", "deferred id=%s to=<%s> error=%s", e->id,
				  log_str(r->address), log_str(error));
		} else {
			r->state = QUEUE_RCPT_DELIVERED;
			r->attempts++;
			r->last_attempt = now;
			r->last_error = NULL;
			m->delivered_any = true;
			/* RFC 3461 5.2.3: delivered into a mailbox */
			m->success_action[i] = DSN_ACTION_DELIVERED;
			m->details[i].status = "2.0.0";
			log_info("deliver", "delivered id=%s to=<%s>%s%s%s size=%llu%s", e->id,
				 log_str(r->address), r->original != NULL ? " orig=<" : "",
				 r->original != NULL ? log_str(r->original) : "",
				 r->original != NULL ? ">" : "", (unsigned long long)env->size,
				 env->quarantine ? " folder=" JUNK_FOLDER : "");
		}
		free(maildir);
	}
	buf_free(&prepend);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Failure notices for the recipients that just failed (RFC 3464), queued
   as new messages from <>; dsn_queue() itself honours NOTIFY and never
   bounces a bounce. */
static void send_failure_dsns(const struct tern_settings *set, struct queue *queue,
			      struct batch_msg *m, char ***new_ids, unsigned int *new_count)
{
	struct dsn_rcpt_detail *details;
	unsigned int *idx, n = 0, i;
	const char *error, *dsn_id;

	idx = arena_new_array(m->arena, unsigned int, m->env->rcpt_count);
	details = arena_new_array(m->arena, struct dsn_rcpt_detail, m->env->rcpt_count);
	for (i = 0; i < m->env->rcpt_count; i++) {
		if (m->newly_failed[i] && !m->env->rcpts[i].dsn_sent) {
			details[n] = m->details[i];
			idx[n++] = i;
		}
	}
	if (n == 0)
		return;
	if (dsn_queue_details(set, queue, m->arena, m->env, idx, details, n, DSN_ACTION_FAILED,
			      &dsn_id, &error) < 0) {
		log_error("deliver", "dsn failed id=%s error=%s", m->entry->id, log_str(error));
		return;
	}
	for (i = 0; i < n; i++)
		m->env->rcpts[idx[i]].dsn_sent = true;
	if (dsn_id != NULL) {
		log_info("deliver", "bounce id=%s dsn=%s to=<%s> rcpts=%u", m->entry->id, dsn_id,
			 log_str(m->env->sender), n);
		*new_ids = i_realloc(*new_ids, sizeof(char *) * (*new_count + 1));
		(*new_ids)[(*new_count)++] = i_strdup(dsn_id);
	}
}

/* Delay warnings (RFC 3464 Action: delayed) for recipients deferred past
   delivery.delay_warning; NOTIFY decides per recipient (DELAY, or not
   given). */
static void send_delay_dsns(const struct tern_settings *set, struct queue *queue,
			    struct batch_msg *m, char ***new_ids, unsigned int *new_count)
{
	struct dsn_rcpt_detail *details;
	unsigned int *idx, n = 0, i;
	const char *error, *dsn_id;

	idx = arena_new_array(m->arena, unsigned int, m->env->rcpt_count);
	details = arena_new_array(m->arena, struct dsn_rcpt_detail, m->env->rcpt_count);
	for (i = 0; i < m->env->rcpt_count; i++) {
		struct queue_rcpt *r = &m->env->rcpts[i];

		if (!m->newly_delayed[i] || r->state != QUEUE_RCPT_DEFERRED)
			continue;
		/* asked for or not, it is decided: one warning at most */
		r->delay_dsn_sent = true;
		m->changed[i] = true;
		if (dsn_wanted(m->env, r, DSN_ACTION_DELAYED)) {
			details[n] = m->details[i];
			idx[n++] = i;
		}
	}
	if (n == 0)
		return;
	if (dsn_queue_details(set, queue, m->arena, m->env, idx, details, n, DSN_ACTION_DELAYED,
			      &dsn_id, &error) < 0) {
		log_error("deliver", "dsn failed id=%s error=%s", m->entry->id, log_str(error));
		return;
	}
	if (dsn_id != NULL) {
		log_info("deliver", "notice id=%s dsn=%s action=delayed to=<%s> rcpts=%u",
			 m->entry->id, dsn_id, log_str(m->env->sender), n);
		*new_ids = i_realloc(*new_ids, sizeof(char *) * (*new_count + 1));
		(*new_ids)[(*new_count)++] = i_strdup(dsn_id);
	}
}

/* Success notices (RFC 3461 NOTIFY=SUCCESS): one DSN per action for the
   recipients just delivered or relayed; dsn_queue_details() checks NOTIFY
   for each and sends nothing when none asked. */
static void send_success_dsns(const struct tern_settings *set, struct queue *queue,
			      struct batch_msg *m, char ***new_ids, unsigned int *new_count)
{
	static const enum dsn_action actions[] = { DSN_ACTION_DELIVERED, DSN_ACTION_RELAYED };
	struct dsn_rcpt_detail *details;
	unsigned int *idx, n, i, a;
	const char *error, *dsn_id;

	idx = arena_new_array(m->arena, unsigned int, m->env->rcpt_count);
	details = arena_new_array(m->arena, struct dsn_rcpt_detail, m->env->rcpt_count);
	for (a = 0; a < N_ELEMENTS(actions); a++) {
		n = 0;
		for (i = 0; i < m->env->rcpt_count; i++) {
			if (m->success_action[i] == (int)actions[a] &&
			    dsn_wanted(m->env, &m->env->rcpts[i], actions[a])) {
				details[n] = m->details[i];
				idx[n++] = i;
			}
		}
		if (n == 0)
			continue;
		if (dsn_queue_details(set, queue, m->arena, m->env, idx, details, n, actions[a],
				      &dsn_id, &error) < 0) {
			log_error("deliver", "dsn failed id=%s error=%s", m->entry->id,
				  log_str(error));
			continue;
		}
		if (dsn_id != NULL) {
			log_info("deliver", "notice id=%s dsn=%s action=%s to=<%s> rcpts=%u",
				 m->entry->id, dsn_id, dsn_action_name(actions[a]),
				 log_str(m->env->sender), n);
			*new_ids = i_realloc(*new_ids, sizeof(char *) * (*new_count + 1));
			(*new_ids)[(*new_count)++] = i_strdup(dsn_id);
		}
	}
}

/* Step 3 for one message: record what changed. Returns true when anything
   was written (then a queue_sync must follow). */
static bool record_message(struct queue *queue, struct batch_msg *m)
{
	struct queue_envelope *env = m->env;
	const char *error;
	unsigned int i;
	bool wrote = false;

	if (queue_envelope_done(env)) {
		if (queue_remove(queue, m->entry->id, &error) < 0) {
			log_error("deliver", "id=%s error=%s", m->entry->id, log_str(error));
		} else {
			log_info("deliver", "removed id=%s", m->entry->id);
			m->removed = true;
		}
		return true;
	}
	for (i = 0; i < env->rcpt_count; i++) {
		if (!m->changed[i])
			continue;
		wrote = true;
		if (queue_set_rcpt_state(queue, m->entry->id, i, &env->rcpts[i], false, &error) < 0)
			log_error("deliver", "id=%s error=%s", m->entry->id, log_str(error));
	}
	return wrote;
}

static int sync_mail(int mail_fd, const char **error_r)
{
	if (syncfs(mail_fd) < 0) {
		snprintf(deliver_error, sizeof(deliver_error), "syncfs mail: %s", strerror(errno));
		*error_r = deliver_error;
		return -1;
	}
	return 0;
}

/* Steps 1 to 4 for a batch. Returns false when the copies could not be made
   durable (then nothing was recorded). New DSN message ids are returned. */
static bool run_batch(const struct tern_settings *set, struct queue *queue,
		      struct accounts *acc, int mail_fd, struct mail_store *store,
		      struct batch_msg *msgs, unsigned int count, char ***dsn_ids,
		      unsigned int *dsn_count)
{
	const char *error;
	bool any = false, recorded = false;
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (process_message(set, queue, acc, &msgs[i], msgs[i].entry->remote_inflight) == 0)
			any = any || msgs[i].delivered_any;
	}
	/* 2: the copies are durable before any is recorded as delivered */
	if (any && sync_mail(mail_fd, &error) < 0) {
		log_error("deliver", "error=%s", log_str(error));
		for (i = 0; i < count; i++)
			queue_release(&msgs[i].claim_fd);
		return false;
	}
	/* the new mail is durable in new/: wake whoever watches those INBOXes
	   (the store takes the files in at their next sync) */
	for (i = 0; i < count && store != NULL; i++) {
		unsigned int r;

		for (r = 0; msgs[i].env != NULL && r < msgs[i].env->rcpt_count; r++) {
			if (msgs[i].success_action[r] == DSN_ACTION_DELIVERED)
				mail_store_notify(store, msgs[i].env->rcpts[r].address, "INBOX");
		}
	}
	for (i = 0; i < count; i++) {
		if (msgs[i].env == NULL)
			continue;
		send_failure_dsns(set, queue, &msgs[i], dsn_ids, dsn_count);
		send_success_dsns(set, queue, &msgs[i], dsn_ids, dsn_count);
		send_delay_dsns(set, queue, &msgs[i], dsn_ids, dsn_count);
		if (record_message(queue, &msgs[i]))
			recorded = true;
	}
	/* 4: a batch that only handed recipients to outbound wrote nothing */
	if (recorded && queue_sync(queue, &error) < 0)
		log_error("deliver", "error=%s", log_str(error));
	for (i = 0; i < count; i++)
		queue_release(&msgs[i].claim_fd);
	return true;
}

static void results_free(struct pending_result *results, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		free(results[i].diagnostic);
		free(results[i].status_code);
		free(results[i].remote_mta);
	}
	free(results);
}

static void batch_msg_free(struct batch_msg *m)
{
	results_free(m->results, m->result_count);
	arena_free(&m->arena);
}

static int open_mail_dir(const struct tern_settings *set, const char **error_r)
{
	char *path = i_strdup_printf("%s/mail", set->data_dir);
	int fd;

	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(deliver_error, sizeof(deliver_error), "mkdir %s: %s", path, strerror(errno));
		*error_r = deliver_error;
		free(path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(deliver_error, sizeof(deliver_error), "open %s: %s", path, strerror(errno));
		*error_r = deliver_error;
	}
	free(path);
	return fd;
}

int deliver_message_now(const struct tern_settings *set, struct queue *queue,
			const char *queue_id, bool recovered, const char **error_r)
{
	struct accounts *acc;
	struct msg_entry entry;
	struct batch_msg m;
	char **dsn_ids = NULL;
	unsigned int dsn_count = 0, i;
	bool ok;
	int mail_fd;

	if ((mail_fd = open_mail_dir(set, error_r)) < 0)
		return -1;
	if (accounts_open_settings(set, &acc, error_r) < 0) {
		close(mail_fd);
		return -1;
	}
	memset(&entry, 0, sizeof(entry));
	entry.id = (char *)(uintptr_t)queue_id;
	entry.recovered = recovered;
	entry.force = true;
	/* no outbound here: remote recipients stay queued for the server */
	entry.remote_inflight = true;
	memset(&m, 0, sizeof(m));
	m.entry = &entry;
	ok = run_batch(set, queue, acc, mail_fd, NULL, &m, 1, &dsn_ids, &dsn_count);
	batch_msg_free(&m);
	/* bounces to local senders are delivered at once too */
	for (i = 0; i < dsn_count; i++) {
		const char *error;

		if (ok)
			(void)deliver_message_now(set, queue, dsn_ids[i], false, &error);
		free(dsn_ids[i]);
	}
	free(dsn_ids);
	accounts_close(&acc);
	close(mail_fd);
	if (!ok) {
		*error_r = "delivery could not be made durable";
		return -1;
	}
	return 0;
}

static unsigned int hash_id(const char *id)
{
	unsigned int h = 2166136261u;   /* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

/* Caller holds the lock for all entry_* functions. */
static struct msg_entry *entry_find(struct deliverer *d, const char *id)
{
	struct msg_entry *e = d->buckets[hash_id(id) % d->bucket_count];

	for (; e != NULL; e = e->hash_next) {
		if (strcmp(e->id, id) == 0)
			return e;
	}
	return NULL;
}

static void hash_insert(struct deliverer *d, struct msg_entry *e)
{
	unsigned int b = hash_id(e->id) % d->bucket_count;

	e->hash_next = d->buckets[b];
	d->buckets[b] = e;
}

static void hash_grow(struct deliverer *d)
{
	struct msg_entry **old = d->buckets;
	unsigned int old_count = d->bucket_count, i;

	d->bucket_count *= 2;
	d->buckets = i_malloc(sizeof(*d->buckets) * d->bucket_count);
	for (i = 0; i < old_count; i++) {
		struct msg_entry *e = old[i], *next;

		for (; e != NULL; e = next) {
			next = e->hash_next;
			hash_insert(d, e);
		}
	}
	free(old);
}

static struct msg_entry *entry_get(struct deliverer *d, const char *id)
{
	struct msg_entry *e = entry_find(d, id);

	if (e != NULL)
		return e;
	if (d->count >= d->bucket_count)
		hash_grow(d);
	e = i_malloc(sizeof(*e));
	e->id = i_strdup(id);
	hash_insert(d, e);
	if (d->count == d->alloc) {
		d->alloc = d->alloc == 0 ? 256 : d->alloc * 2;
		d->entries = i_realloc(d->entries, sizeof(*d->entries) * d->alloc);
	}
	e->index = d->count;
	d->entries[d->count++] = e;
	return e;
}

static void entry_free(struct deliverer *d, struct msg_entry *e)
{
	struct msg_entry **pp = &d->buckets[hash_id(e->id) % d->bucket_count];

	while (*pp != e)
		pp = &(*pp)->hash_next;
	*pp = e->hash_next;
	d->entries[e->index] = d->entries[--d->count];
	d->entries[e->index]->index = e->index;
	results_free(e->results, e->result_count);
	free(e->id);
	free(e);
}

static void entry_schedule(struct msg_entry *e, time_t due)
{
	if (!e->scheduled || due < e->due)
		e->due = due;
	e->scheduled = true;
}

/* Take up to max entries that are due (or have results) and not busy. Sets
   *next_due_r to the earliest future due time (0: none). */
static unsigned int entries_take(struct deliverer *d, struct batch_msg *out, unsigned int max,
				 time_t now, time_t *next_due_r)
{
	unsigned int i, n = 0;

	*next_due_r = 0;
	for (i = 0; i < d->count && n < max; i++) {
		struct msg_entry *e = d->entries[i];

		if (e->busy || !e->scheduled)
			continue;
		if (e->due > now && e->result_count == 0) {
			if (*next_due_r == 0 || e->due < *next_due_r)
				*next_due_r = e->due;
			continue;
		}
		e->busy = true;
		e->scheduled = false;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].entry = e;
		out[n].results = e->results;
		out[n].result_count = e->result_count;
		e->results = NULL;
		e->result_count = 0;
		n++;
	}
	return n;
}

/* Give a batch's unrecorded outcomes back to its entry (lock held), after
   any that arrived meanwhile. */
static void entry_restore_results(struct msg_entry *e, struct batch_msg *m)
{
	if (m->result_count == 0)
		return;
	e->results = i_realloc(e->results, sizeof(*e->results) *
			       (e->result_count + m->result_count));
	memcpy(e->results + e->result_count, m->results, sizeof(*m->results) * m->result_count);
	e->result_count += m->result_count;
	free(m->results);
	m->results = NULL;
	m->result_count = 0;
}

static void outbound_done(void *ctx, const char *queue_id,
			  const struct outbound_result *results, unsigned int count)
{
	struct deliverer *d = ctx;
	struct msg_entry *e;
	unsigned int i;

	pthread_mutex_lock(&d->lock);
	e = entry_get(d, queue_id);
	e->results = i_realloc(e->results, sizeof(*e->results) * (e->result_count + count));
	for (i = 0; i < count; i++) {
		struct pending_result *pr = &e->results[e->result_count++];

		pr->rcpt_index = results[i].rcpt_index;
		pr->status = results[i].status;
		pr->diagnostic = i_strdup(results[i].diagnostic);
		pr->status_code = i_strdup(results[i].status_code);
		pr->remote_mta = i_strdup(results[i].remote_mta);
		pr->dsn_passed_on = results[i].dsn_passed_on;
	}
	e->remote_inflight = false;
	entry_schedule(e, 0);
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void *deliver_thread(void *ctx)
{
	struct deliverer *d = ctx;
	struct accounts *acc = NULL;
	struct batch_msg batch[DELIVER_BATCH];
	bool submit[DELIVER_BATCH];
	const char *error;
	unsigned int i, n;
	time_t next_due;

	if (accounts_open_settings(d->set, &acc, &error) < 0) {
		log_error("deliver", "thread stopped error=%s", log_str(error));
		return NULL;
	}
	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		char **dsn_ids = NULL;
		unsigned int dsn_count = 0;
		struct mail_store *store;
		bool ok;

		n = entries_take(d, batch, DELIVER_BATCH, time(NULL), &next_due);
		if (n == 0) {
			if (next_due == 0) {
				pthread_cond_wait(&d->cond, &d->lock);
			} else {
				struct timespec ts = { .tv_sec = next_due, .tv_nsec = 0 };

				(void)pthread_cond_timedwait(&d->cond, &d->lock, &ts);
			}
			continue;
		}
		store = d->mail_store;   /* read under the lock: set after start */
		pthread_mutex_unlock(&d->lock);
		ok = run_batch(d->set, d->queue, acc, d->mail_fd, store, batch, n, &dsn_ids,
			       &dsn_count);
		pthread_mutex_lock(&d->lock);
		for (i = 0; i < dsn_count; i++) {
			entry_schedule(entry_get(d, dsn_ids[i]), 0);
			free(dsn_ids[i]);
		}
		free(dsn_ids);
		for (i = 0; i < n; i++) {
			struct batch_msg *m = &batch[i];
			struct msg_entry *e = m->entry;

			e->busy = false;
			e->force = false;
			submit[i] = false;
			if (!ok) {
				/* nothing was recorded: the whole batch again later, its
				   results kept */
				e->recovered = true;
				entry_restore_results(e, m);
				entry_schedule(e, time(NULL) + 60);
			} else if (m->env != NULL && !m->removed) {
				e->recovered = false;
				if (m->remote_count > 0 && d->outbound != NULL) {
					/* an entry in flight is never freed until its
					   outcomes are back */
					e->remote_inflight = true;
					submit[i] = true;
				}
				if (m->next_due != 0)
					entry_schedule(e, m->next_due);
			} else if (m->env == NULL && m->next_due != 0) {
				/* claimed by another process: again later, results kept */
				entry_restore_results(e, m);
				entry_schedule(e, m->next_due);
			}
			if (e->result_count > 0 && ok && m->env != NULL)
				entry_schedule(e, 0);
			if (!e->scheduled && !e->remote_inflight)
				entry_free(d, e);
		}
		/* hand the remote recipients over outside the lock */
		pthread_mutex_unlock(&d->lock);
		for (i = 0; i < n; i++) {
			if (submit[i])
				outbound_submit(d->outbound, batch[i].entry->id, batch[i].env,
						batch[i].remote, batch[i].remote_count,
						outbound_done, d);
			batch_msg_free(&batch[i]);
		}
		pthread_mutex_lock(&d->lock);
		if (dsn_count > 0)
			pthread_cond_broadcast(&d->cond);
	}
	pthread_mutex_unlock(&d->lock);
	accounts_close(&acc);
	return NULL;
}

struct deliverer *deliverer_start(const struct tern_settings *set, struct queue *queue,
				  unsigned int threads, const char **error_r)
{
	struct deliverer *d = i_malloc(sizeof(*d));
	struct arena *arena;
	const char **ids;
	unsigned int i, count;

	d->set = set;
	d->queue = queue;
	if ((d->mail_fd = open_mail_dir(set, error_r)) < 0) {
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->lock, NULL);
	/* the default clock (CLOCK_REALTIME): due times are wall-clock time_t */
	pthread_cond_init(&d->cond, NULL);
	d->bucket_count = DELIVER_HASH_MIN;
	d->buckets = i_malloc(sizeof(*d->buckets) * d->bucket_count);

	/* what is in the queue now may be half delivered: recovered */
	arena = arena_new(0);
	if (queue_recover(queue, arena, &ids, &count, error_r) < 0) {
		arena_free(&arena);
		close(d->mail_fd);
		free(d->buckets);
		free(d);
		return NULL;
	}
	for (i = 0; i < count; i++) {
		struct msg_entry *e = entry_get(d, ids[i]);

		e->recovered = true;
		entry_schedule(e, 0);
	}
	if (count > 0)
		log_info("deliver", "queue scanned messages=%u", count);
	arena_free(&arena);

	if (threads == 0)
		threads = 1;
	if (threads > DELIVER_MAX_THREADS)
		threads = DELIVER_MAX_THREADS;
	for (i = 0; i < threads; i++) {
		if (pthread_create(&d->threads[i], NULL, deliver_thread, d) != 0)
			i_fatal("pthread_create failed");
		d->thread_count++;
	}
	return d;
}

void deliverer_set_mail_store(struct deliverer *d, struct mail_store *store)
{
	pthread_mutex_lock(&d->lock);
	d->mail_store = store;
	pthread_mutex_unlock(&d->lock);
}

void deliverer_set_outbound(struct deliverer *d, struct outbound *ob)
{
	struct arena *arena = arena_new(0);
	const char **ids;
	const char *error;
	unsigned int i, count;

	/* remote recipients waiting in the queue get their chance (retries
	   keep their schedule: the entry's due time comes from the envelope) */
	if (queue_scan(d->queue, arena, &ids, &count, &error) < 0) {
		log_error("deliver", "scan error=%s", log_str(error));
		count = 0;
	}
	pthread_mutex_lock(&d->lock);
	d->outbound = ob;
	for (i = 0; i < count; i++) {
		struct msg_entry *e = entry_get(d, ids[i]);

		if (!e->busy)
			entry_schedule(e, 0);
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	arena_free(&arena);
}

void deliverer_notify(struct deliverer *d, const char *queue_id)
{
	pthread_mutex_lock(&d->lock);
	entry_schedule(entry_get(d, queue_id), 0);
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void deliverer_flush(struct deliverer *d)
{
	struct arena *arena = arena_new(0);
	const char **ids;
	const char *error;
	unsigned int i, count;

	/* messages deferred before a restart are known only to the queue */
	if (queue_scan(d->queue, arena, &ids, &count, &error) < 0) {
		log_error("deliver", "flush error=%s", log_str(error));
		count = 0;
	}
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < count; i++)
		(void)entry_get(d, ids[i]);
	for (i = 0; i < d->count; i++) {
		d->entries[i]->force = true;
		entry_schedule(d->entries[i], 0);
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	arena_free(&arena);
	log_info("deliver", "flush messages=%u", d->count);
}

void deliverer_stop(struct deliverer **dp)
{
	struct deliverer *d = *dp;
	unsigned int i;

	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < d->thread_count; i++)
		pthread_join(d->threads[i], NULL);
	while (d->count > 0)
		entry_free(d, d->entries[0]);
	free(d->entries);
	free(d->buckets);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	close(d->mail_fd);
	free(d);
	*dp = NULL;
}
