/*
 * Local delivery from the queue into Maildir. See deliver.h.
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
 */
#include "deliver.h"
#include "accounts.h"
#include "arena.h"
#include "buf.h"
#include "log.h"
#include "maildir.h"
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

struct deliver_item {
	char *id;
	bool recovered;
	bool force;          /* retry deferred recipients before their time */
	time_t due;          /* 0: now */
};

struct deliverer {
	const struct tern_settings *set;
	struct queue *queue;
	int mail_fd;         /* data_dir/mail, for syncfs */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct deliver_item *items;   /* ready and waiting (due > now) */
	unsigned int count, alloc;
	bool stopping;

	pthread_t threads[DELIVER_MAX_THREADS];
	unsigned int thread_count;
};

/* The outcome of one message in a batch. */
struct deliver_result {
	char *id;
	struct arena *arena;
	struct queue_envelope *env;
	bool *changed;        /* per recipient: state to record */
	bool delivered_any;
	time_t next_due;      /* 0: nothing local left to retry */
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

/* Return-Path (RFC 5321 4.4) and Delivered-To, prepended at final delivery. */
static int build_prepend(const struct queue_envelope *env, const char *address, buf_t *b)
{
	buf_reset(b);
	return buf_printf(b, "Return-Path: <%s>\r\nDelivered-To: %s\r\n", env->sender, address);
}

static void rcpt_fail_or_defer(const struct tern_settings *set, const struct queue_envelope *env,
			       struct queue_rcpt *r, time_t now, bool permanent,
			       const char *error, struct arena *arena)
{
	r->attempts++;
	r->last_attempt = now;
	r->last_error = arena_strdup(arena, error);
	if (permanent || (set->delivery_bounce_after > 0 &&
			  now - env->created >= (time_t)set->delivery_bounce_after)) {
		r->state = QUEUE_RCPT_FAILED;
		r->next_attempt = 0;
	} else {
		r->state = QUEUE_RCPT_DEFERRED;
		r->next_attempt = now + retry_delay(set, r->attempts);
	}
}

/* Steps 1 for one message: deliver every due local recipient without fsync. */
static int deliver_local(const struct tern_settings *set, struct queue *queue,
			 struct accounts *acc, const char *id, bool recovered, bool force,
			 struct deliver_result *res)
{
	struct queue_envelope *env;
	const char *error;
	time_t now = time(NULL);
	buf_t prepend;
	unsigned int i;
	int fd, ret;

	memset(res, 0, sizeof(*res));
	res->id = i_strdup(id);
	res->arena = arena_new(0);
	ret = queue_read(queue, res->arena, id, &env, &error);
	if (ret <= 0) {
		if (ret < 0)
			log_error("deliver", "id=%s error=%s", id, log_str(error));
		return -1;
	}
	res->env = env;
	res->changed = arena_new_array(res->arena, bool, env->rcpt_count);
	fd = -1;
	buf_init(&prepend, 64 * 1024);
	for (i = 0; i < env->rcpt_count; i++) {
		struct queue_rcpt *r = &env->rcpts[i];
		char tag[64];
		char *maildir;

		if (r->state == QUEUE_RCPT_DELIVERED || r->state == QUEUE_RCPT_FAILED)
			continue;
		if (!address_is_local(acc, r->address))
			continue;   /* remote: the outbound client's */
		if (r->state == QUEUE_RCPT_DEFERRED && r->next_attempt > now && !force) {
			if (res->next_due == 0 || r->next_attempt < res->next_due)
				res->next_due = r->next_attempt;
			continue;
		}
		snprintf(tag, sizeof(tag), "%sR%u", id, i);
		maildir = maildir_path_for(set->data_dir, r->address);
		res->changed[i] = true;
		if (maildir == NULL ||
		    (accounts_user_exists(acc, r->address) <= 0 &&
		     strncmp(r->address, "postmaster@", 11) != 0)) {
			/* the account went away after the message was accepted */
			rcpt_fail_or_defer(set, env, r, now, true,
					   "550 5.1.1 mailbox no longer exists", res->arena);
			log_info("deliver", "failed id=%s to=<%s> reason=no-such-mailbox", id,
				 log_str(r->address));
			free(maildir);
			continue;
		}
		if (recovered && maildir_has_delivery(maildir, "", tag, &error) > 0) {
			/* delivered before a crash, not yet recorded */
			r->state = QUEUE_RCPT_DELIVERED;
			r->last_attempt = now;
			res->delivered_any = true;
			log_info("deliver", "delivered id=%s to=<%s> recovered=yes", id,
				 log_str(r->address));
			free(maildir);
			continue;
		}
		if (fd < 0 && (fd = queue_open_message(queue, id, &error)) < 0) {
			rcpt_fail_or_defer(set, env, r, now, false, error, res->arena);
			log_error("deliver", "deferred id=%s to=<%s> error=%s", id,
				  log_str(r->address), log_str(error));
			free(maildir);
			continue;
		}
		if (build_prepend(env, r->address, &prepend) < 0 ||
		    maildir_deliver(maildir, "", tag, set->hostname, prepend.data, prepend.used,
				    fd, env->size, false, NULL, &error) < 0) {
			if (prepend.used == 0)
				error = "address too long";
			rcpt_fail_or_defer(set, env, r, now, false, error, res->arena);
			log_error("deliver", "deferred id=%s to=<%s> error=%s", id,
				  log_str(r->address), log_str(error));
		} else {
			r->state = QUEUE_RCPT_DELIVERED;
			r->attempts++;
			r->last_attempt = now;
			r->last_error = NULL;
			res->delivered_any = true;
			log_info("deliver", "delivered id=%s to=<%s>%s%s%s size=%llu", id,
				 log_str(r->address), r->original != NULL ? " orig=<" : "",
				 r->original != NULL ? log_str(r->original) : "",
				 r->original != NULL ? ">" : "", (unsigned long long)env->size);
		}
		if (r->state == QUEUE_RCPT_DEFERRED &&
		    (res->next_due == 0 || r->next_attempt < res->next_due))
			res->next_due = r->next_attempt;
		free(maildir);
	}
	buf_free(&prepend);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Steps 3 for one message: record what changed. Returns true when the
   message was removed from the queue. */
static bool record_results(struct queue *queue, struct deliver_result *res)
{
	struct queue_envelope *env = res->env;
	const char *error;
	unsigned int i;

	if (queue_envelope_done(env)) {
		if (queue_remove(queue, res->id, &error) < 0)
			log_error("deliver", "id=%s error=%s", res->id, log_str(error));
		else
			log_info("deliver", "removed id=%s", res->id);
		return true;
	}
	for (i = 0; i < env->rcpt_count; i++) {
		if (res->changed[i] &&
		    queue_set_rcpt_state(queue, res->id, i, &env->rcpts[i], false, &error) < 0)
			log_error("deliver", "id=%s error=%s", res->id, log_str(error));
	}
	return false;
}

static void result_free(struct deliver_result *res)
{
	free(res->id);
	arena_free(&res->arena);
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

/* Deliver a batch: steps 1 to 4. Returns the results (for rescheduling). */
static void deliver_batch(const struct tern_settings *set, struct queue *queue,
			  struct accounts *acc, int mail_fd, struct deliver_item *items,
			  unsigned int count, struct deliver_result *results, bool *ok_r)
{
	const char *error;
	bool any = false;
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (deliver_local(set, queue, acc, items[i].id, items[i].recovered,
				  items[i].force, &results[i]) == 0)
			any = any || results[i].delivered_any;
	}
	/* 2: the copies are durable before any is recorded as delivered */
	if (any && sync_mail(mail_fd, &error) < 0) {
		log_error("deliver", "error=%s", log_str(error));
		*ok_r = false;
		return;
	}
	for (i = 0; i < count; i++) {
		if (results[i].env != NULL)
			(void)record_results(queue, &results[i]);
	}
	if (queue_sync(queue, &error) < 0)
		log_error("deliver", "error=%s", log_str(error));
	*ok_r = true;
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
	struct deliver_item item = { .id = (char *)(uintptr_t)queue_id, .recovered = recovered,
				     .force = true };
	struct deliver_result res;
	bool ok;
	int mail_fd;

	if ((mail_fd = open_mail_dir(set, error_r)) < 0)
		return -1;
	if (accounts_open(set->data_dir, set->domains, set->domains_count, &acc, error_r) < 0) {
		close(mail_fd);
		return -1;
	}
	deliver_batch(set, queue, acc, mail_fd, &item, 1, &res, &ok);
	result_free(&res);
	accounts_close(&acc);
	close(mail_fd);
	if (!ok) {
		*error_r = "delivery could not be made durable";
		return -1;
	}
	return 0;
}

/* Caller holds the lock. */
static void items_add(struct deliverer *d, const char *id, bool recovered, time_t due)
{
	unsigned int i;

	for (i = 0; i < d->count; i++) {
		if (strcmp(d->items[i].id, id) == 0) {
			/* already known: the earlier due time wins */
			if (due < d->items[i].due)
				d->items[i].due = due;
			d->items[i].recovered = d->items[i].recovered || recovered;
			return;
		}
	}
	if (d->count == d->alloc) {
		d->alloc = d->alloc == 0 ? 256 : d->alloc * 2;
		d->items = i_realloc(d->items, sizeof(*d->items) * d->alloc);
	}
	d->items[d->count].id = i_strdup(id);
	d->items[d->count].recovered = recovered;
	d->items[d->count].force = false;
	d->items[d->count].due = due;
	d->count++;
}

/* Take up to max due items (caller holds the lock). Returns how many; sets
   *next_due_r to the earliest due time of what is left (0: none). */
static unsigned int items_take(struct deliverer *d, struct deliver_item *out, unsigned int max,
			       time_t now, time_t *next_due_r)
{
	unsigned int i = 0, n = 0;

	*next_due_r = 0;
	while (i < d->count) {
		if (n < max && d->items[i].due <= now) {
			out[n++] = d->items[i];
			d->items[i] = d->items[--d->count];
			continue;
		}
		if (d->items[i].due > now && (*next_due_r == 0 || d->items[i].due < *next_due_r))
			*next_due_r = d->items[i].due;
		i++;
	}
	return n;
}

static void *deliver_thread(void *ctx)
{
	struct deliverer *d = ctx;
	struct accounts *acc = NULL;
	struct deliver_item batch[DELIVER_BATCH];
	struct deliver_result results[DELIVER_BATCH];
	const char *error;
	unsigned int i, n;
	time_t next_due;
	bool ok;

	if (accounts_open(d->set->data_dir, d->set->domains, d->set->domains_count, &acc,
			  &error) < 0) {
		log_error("deliver", "thread stopped error=%s", log_str(error));
		return NULL;
	}
	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		n = items_take(d, batch, DELIVER_BATCH, time(NULL), &next_due);
		if (n == 0) {
			if (next_due == 0) {
				pthread_cond_wait(&d->cond, &d->lock);
			} else {
				struct timespec ts = { .tv_sec = next_due, .tv_nsec = 0 };

				(void)pthread_cond_timedwait(&d->cond, &d->lock, &ts);
			}
			continue;
		}
		pthread_mutex_unlock(&d->lock);
		deliver_batch(d->set, d->queue, acc, d->mail_fd, batch, n, results, &ok);
		pthread_mutex_lock(&d->lock);
		for (i = 0; i < n; i++) {
			if (!ok) {
				/* nothing was recorded: try the whole batch again later */
				items_add(d, batch[i].id, true, time(NULL) + 60);
			} else if (results[i].env != NULL && results[i].next_due != 0 &&
				   !queue_envelope_done(results[i].env)) {
				items_add(d, batch[i].id, false, results[i].next_due);
			}
			free(batch[i].id);
			result_free(&results[i]);
		}
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
	pthread_condattr_t cattr;

	d->set = set;
	d->queue = queue;
	if ((d->mail_fd = open_mail_dir(set, error_r)) < 0) {
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->lock, NULL);
	/* CLOCK_REALTIME (the default): due times are wall-clock time_t */
	pthread_condattr_init(&cattr);
	pthread_cond_init(&d->cond, &cattr);
	pthread_condattr_destroy(&cattr);

	/* what is in the queue now may be half delivered: recovered */
	arena = arena_new(0);
	if (queue_scan(queue, arena, &ids, &count, error_r) < 0) {
		arena_free(&arena);
		close(d->mail_fd);
		free(d);
		return NULL;
	}
	for (i = 0; i < count; i++)
		items_add(d, ids[i], true, 0);
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

void deliverer_notify(struct deliverer *d, const char *queue_id)
{
	pthread_mutex_lock(&d->lock);
	items_add(d, queue_id, false, 0);
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void deliverer_flush(struct deliverer *d)
{
	unsigned int i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->count; i++) {
		d->items[i].due = 0;
		d->items[i].force = true;
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
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
	for (i = 0; i < d->count; i++)
		free(d->items[i].id);
	free(d->items);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	close(d->mail_fd);
	free(d);
	*dp = NULL;
}
