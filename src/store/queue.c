/*
 * The durable queue. See queue.h for the layout and the guarantees.
 *
 * Envelope file format (env/<id>), one record per line, "key value" with
 * the value escaped (%XX for CR, LF, NUL and '%'):
 *
 *   tern-queue 1
 *   id Q...
 *   created 1732360000
 *   sender alice@example.test          ("" for the null sender)
 *   envid ...                          (optional)
 *   ret full|hdrs                      (optional)
 *   body 8bitmime                      (optional)
 *   smtputf8 1                         (optional)
 *   auth alice@example.test            (optional)
 *   client mail.example [192.0.2.1]    (optional)
 *   authres mx.example; spf=pass ...   (optional: Authentication-Results value)
 *   quarantine 1                       (optional: deliver into Junk)
 *   origin local                       (optional: may be DKIM-signed outbound)
 *   dkim DKIM-Signature: ...           (optional: signatures made at reception)
 *   size 1834
 *   rcpt 0 bob@example.test
 *   original 0 list@example.test       (optional: the RCPT TO before aliases)
 *   orcpt 0 rfc822;bob@example.test    (optional)
 *   notify 0 6                         (optional, enum queue_notify bits)
 *   end
 *   state 0 delivered 1 1732360001 0 0 250 ok      (appended later: index, state,
 *                                                 attempts, last, next, DSN bits
 *                                                 1 failure/2 delay sent, error)
 *
 * "end" marks a complete envelope: a file without it was never committed.
 * State lines are appended with one write(2) each and fdatasync'd; a torn
 * last line (no newline) is ignored, which leaves the previous state.
 */
#include "queue.h"
#include "arena.h"
#include "buf.h"
#include "escape.h"
#include "fs.h"
#include "uid.h"
#include "tern-limits.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUEUE_WRITE_BUFFER (64 * 1024)
/* QUEUE_ENV_MAX: tern-limits.h */
#define QUEUE_FORMAT_LINE "tern-queue 1"

struct queue {
	char *dir;
	char *tmp_dir, *msg_dir, *env_dir;
	int dir_fd;

	/* group commit: tickets taken after the renames; one syncer at a time
	   makes everything up to its target ticket durable */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t ticket;
	uint64_t synced;
	uint64_t failed_upto;
	int failed_errno;
	bool syncing;
};

struct queue_writer {
	struct queue *queue;
	char id[UID_MAX_LEN];
	char *tmp_path;
	int fd;
	uint64_t size;
	unsigned char *wbuf;
	size_t wbuf_used;
	char error[256];
};

static __thread char queue_error[512];

static const char *sys_error(const char *what, const char *path)
{
	snprintf(queue_error, sizeof(queue_error), "%s %s: %s", what, path, strerror(errno));
	return queue_error;
}

static int mkdir_if_missing(const char *path, const char **error_r)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		*error_r = sys_error("mkdir", path);
		return -1;
	}
	return 0;
}

int queue_open(const char *data_dir, struct queue **queue_r, const char **error_r)
{
	struct queue *q = i_malloc(sizeof(*q));

	q->dir = i_strdup_printf("%s/queue", data_dir);
	q->tmp_dir = i_strdup_printf("%s/tmp", q->dir);
	q->msg_dir = i_strdup_printf("%s/msg", q->dir);
	q->env_dir = i_strdup_printf("%s/env", q->dir);
	q->dir_fd = -1;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	if (mkdir_if_missing(q->dir, error_r) < 0 || mkdir_if_missing(q->tmp_dir, error_r) < 0 ||
	    mkdir_if_missing(q->msg_dir, error_r) < 0 || mkdir_if_missing(q->env_dir, error_r) < 0)
		goto fail;
	q->dir_fd = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dir_fd < 0) {
		*error_r = sys_error("open", q->dir);
		goto fail;
	}
	*queue_r = q;
	return 0;
fail:
	queue_close(&q);
	return -1;
}

void queue_close(struct queue **queuep)
{
	struct queue *q = *queuep;

	if (q == NULL)
		return;
	if (q->dir_fd >= 0)
		close(q->dir_fd);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q->dir);
	free(q->tmp_dir);
	free(q->msg_dir);
	free(q->env_dir);
	free(q);
	*queuep = NULL;
}

struct queue_writer *queue_writer_new(struct queue *queue, const char **error_r)
{
	struct queue_writer *w = i_malloc(sizeof(*w));

	w->queue = queue;
	uid_generate(w->id);
	/* straight into msg/: without its envelope it is nobody's (an abort
	   unlinks it; after a crash, recovery does) - no rename needed */
	w->tmp_path = i_strdup_printf("%s/%s", queue->msg_dir, w->id);
	w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		*error_r = sys_error("create", w->tmp_path);
		free(w->tmp_path);
		free(w);
		return NULL;
	}
	w->wbuf = i_malloc(QUEUE_WRITE_BUFFER);
	return w;
}

const char *queue_writer_id(const struct queue_writer *w)
{
	return w->id;
}

uint64_t queue_writer_size(const struct queue_writer *w)
{
	return w->size;
}

static int writer_flush(struct queue_writer *w, const char **error_r)
{
	if (w->wbuf_used > 0 && fs_write_full(w->fd, w->wbuf, w->wbuf_used) < 0) {
		*error_r = sys_error("write", w->tmp_path);
		return -1;
	}
	w->wbuf_used = 0;
	return 0;
}

int queue_writer_write(struct queue_writer *w, const void *data, size_t size, const char **error_r)
{
	w->size += size;
	if (size >= QUEUE_WRITE_BUFFER) {
		if (writer_flush(w, error_r) < 0)
			return -1;
		if (fs_write_full(w->fd, data, size) < 0) {
			*error_r = sys_error("write", w->tmp_path);
			return -1;
		}
		return 0;
	}
	if (w->wbuf_used + size > QUEUE_WRITE_BUFFER && writer_flush(w, error_r) < 0)
		return -1;
	memcpy(w->wbuf + w->wbuf_used, data, size);
	w->wbuf_used += size;
	return 0;
}

static void writer_free(struct queue_writer **wp)
{
	struct queue_writer *w = *wp;

	if (w->fd >= 0)
		close(w->fd);
	free(w->wbuf);
	free(w->tmp_path);
	free(w);
	*wp = NULL;
}

void queue_writer_abort(struct queue_writer **wp)
{
	if (*wp == NULL)
		return;
	(void)unlink((*wp)->tmp_path);
	writer_free(wp);
}

static int append_kv(buf_t *b, const char *key, const char *value)
{
	if (buf_append_str(b, key) < 0 || buf_append_c(b, ' ') < 0 ||
	    escape_append(b, value) < 0 || buf_append_c(b, '\n') < 0)
		return -1;
	return 0;
}

static int append_rcpt_kv(buf_t *b, const char *key, unsigned int idx, const char *value)
{
	if (buf_printf(b, "%s %u ", key, idx) < 0 || escape_append(b, value) < 0 ||
	    buf_append_c(b, '\n') < 0)
		return -1;
	return 0;
}

static const char *state_name(enum queue_rcpt_state state)
{
	switch (state) {
	case QUEUE_RCPT_PENDING: return "pending";
	case QUEUE_RCPT_DEFERRED: return "deferred";
	case QUEUE_RCPT_DELIVERED: return "delivered";
	case QUEUE_RCPT_FAILED: return "failed";
	}
	i_panic("bad recipient state %d", (int)state);
}

static int state_parse(const char *name, enum queue_rcpt_state *state_r)
{
	if (strcmp(name, "pending") == 0)
		*state_r = QUEUE_RCPT_PENDING;
	else if (strcmp(name, "deferred") == 0)
		*state_r = QUEUE_RCPT_DEFERRED;
	else if (strcmp(name, "delivered") == 0)
		*state_r = QUEUE_RCPT_DELIVERED;
	else if (strcmp(name, "failed") == 0)
		*state_r = QUEUE_RCPT_FAILED;
	else
		return -1;
	return 0;
}

/* "state IDX NAME ATTEMPTS LAST NEXT DSN ERROR\n" into b (max 64 KiB):
   an overlong error text is cut, the state itself always lands. */
static void state_line(buf_t *b, unsigned int rcpt_index, const struct queue_rcpt *rcpt)
{
	size_t start = buf_len(b);

	if (buf_printf(b, "state %u %s %u %lld %lld %d ", rcpt_index, state_name(rcpt->state),
		       rcpt->attempts, (long long)rcpt->last_attempt,
		       (long long)rcpt->next_attempt,
		       (rcpt->dsn_sent ? 1 : 0) | (rcpt->delay_dsn_sent ? 2 : 0)) < 0 ||
	    escape_append(b, rcpt->last_error == NULL ? "" : rcpt->last_error) < 0 ||
	    buf_len(b) - start > 60000)
		buf_truncate(b, start + I_MIN(buf_len(b) - start, 60000));
	if (buf_append_c(b, '\n') < 0)
		i_panic("queue state line does not fit");
}

static int envelope_serialize(const struct queue_envelope *env, buf_t *b)
{
	unsigned int i;
	int ret = 0;

	ret |= buf_append_str(b, QUEUE_FORMAT_LINE "\n");
	ret |= append_kv(b, "id", env->id);
	ret |= buf_printf(b, "created %lld\n", (long long)env->created);
	ret |= append_kv(b, "sender", env->sender);
	if (env->envid != NULL)
		ret |= append_kv(b, "envid", env->envid);
	if (env->ret != QUEUE_RET_DEFAULT)
		ret |= append_kv(b, "ret", env->ret == QUEUE_RET_FULL ? "full" : "hdrs");
	if (env->body_8bit)
		ret |= append_kv(b, "body", "8bitmime");
	if (env->smtputf8)
		ret |= append_kv(b, "smtputf8", "1");
	if (env->auth_user != NULL)
		ret |= append_kv(b, "auth", env->auth_user);
	if (env->client != NULL)
		ret |= append_kv(b, "client", env->client);
	if (env->auth_results != NULL)
		ret |= append_kv(b, "authres", env->auth_results);
	if (env->quarantine)
		ret |= append_kv(b, "quarantine", "1");
	if (env->local_origin)
		ret |= append_kv(b, "origin", "local");
	if (env->dkim_signatures != NULL)
		ret |= append_kv(b, "dkim", env->dkim_signatures);
	ret |= buf_printf(b, "size %llu\n", (unsigned long long)env->size);
	for (i = 0; i < env->rcpt_count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];

		ret |= append_rcpt_kv(b, "rcpt", i, r->address);
		if (r->original != NULL)
			ret |= append_rcpt_kv(b, "original", i, r->original);
		if (r->orcpt != NULL)
			ret |= append_rcpt_kv(b, "orcpt", i, r->orcpt);
		if (r->notify != QUEUE_NOTIFY_DEFAULT)
			ret |= buf_printf(b, "notify %u %u\n", i, r->notify);
	}
	ret |= buf_append_str(b, "end\n");
	/* recipients that start out decided (an unknown local recipient of a
	   maildrop message starts out failed) */
	for (i = 0; i < env->rcpt_count && ret == 0; i++) {
		if (env->rcpts[i].state != QUEUE_RCPT_PENDING)
			state_line(b, i, &env->rcpts[i]);
	}
	return ret == 0 ? 0 : -1;
}

/* Group commit (queue.h): make every rename done before this call durable. */
int queue_sync(struct queue *q, const char **error_r)
{
	uint64_t my_ticket, target;
	int ret = 0, err = 0;

	pthread_mutex_lock(&q->lock);
	my_ticket = ++q->ticket;
	while (q->synced < my_ticket) {
		if (q->failed_upto >= my_ticket) {
			err = q->failed_errno;
			ret = -1;
			break;
		}
		if (q->syncing) {
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		/* become the syncer for everything renamed so far */
		q->syncing = true;
		target = q->ticket;
		pthread_mutex_unlock(&q->lock);
		/* syncfs: one writeback and one journal commit for the whole
		   batch (file data, inodes and the renames' directory entries) */
		ret = syncfs(q->dir_fd);
		err = errno;
		pthread_mutex_lock(&q->lock);
		q->syncing = false;
		if (ret == 0) {
			q->synced = target;
		} else {
			q->failed_upto = target;
			q->failed_errno = err;
		}
		pthread_cond_broadcast(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	if (ret < 0) {
		errno = err;
		*error_r = sys_error("syncfs", q->dir);
	}
	return ret;
}

int queue_commit(struct queue_writer **wp, struct queue_envelope *env, const char **error_r)
{
	struct queue_writer *w = *wp;
	struct queue *q = w->queue;
	char *env_path = NULL;
	buf_t b;
	int fd = -1, ret = -1;

	env->id = w->id;
	env->size = w->size;
	buf_init(&b, QUEUE_ENV_MAX);
	if (envelope_serialize(env, &b) < 0) {
		*error_r = "envelope too large";
		goto out;
	}
	if (writer_flush(w, error_r) < 0)
		goto out;
	if (close(w->fd) < 0) {
		w->fd = -1;
		*error_r = sys_error("close", w->tmp_path);
		goto out;
	}
	w->fd = -1;
	/* The envelope is written in place: its final "end" line makes it
	   complete, so no rename is needed either (a torn one is removed by
	   queue_recover(), as is one whose message is shorter than it says). */
	env_path = i_strdup_printf("%s/%s", q->env_dir, w->id);
	fd = open(env_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = sys_error("create", env_path);
		i_free(env_path);
		goto out;
	}
	if (fs_write_full(fd, b.data, b.used) < 0) {
		*error_r = sys_error("write", env_path);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		*error_r = sys_error("close", env_path);
		goto out;
	}
	fd = -1;
	if (queue_sync(q, error_r) < 0)
		goto out;   /* not durable: never acknowledged, so taken back below */
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0) {
		/* envelope first: a message without one is a leftover */
		if (env_path != NULL)
			(void)unlink(env_path);
		(void)unlink(w->tmp_path);
	}
	free(env_path);
	buf_free(&b);
	writer_free(wp);
	return ret;
}

int queue_set_rcpt_state(struct queue *queue, const char *id, unsigned int rcpt_index,
			 const struct queue_rcpt *rcpt, bool sync, const char **error_r)
{
	char *path = i_strdup_printf("%s/%s", queue->env_dir, id);
	buf_t b;
	int fd, ret = -1;

	buf_init(&b, 64 * 1024);
	state_line(&b, rcpt_index, rcpt);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		*error_r = sys_error("open", path);
		goto out;
	}
	/* one write: concurrent appends never interleave inside a line */
	if (fs_write_full(fd, b.data, b.used) < 0 || (sync && fdatasync(fd) < 0)) {
		*error_r = sys_error("append", path);
		close(fd);
		goto out;
	}
	if (close(fd) < 0) {
		*error_r = sys_error("close", path);
		goto out;
	}
	ret = 0;
out:
	buf_free(&b);
	free(path);
	return ret;
}

static int read_file(const char *path, buf_t *b, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *p;
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = sys_error("open", path);
		return -1;
	}
	for (;;) {
		if ((p = buf_reserve(b, 8192)) == NULL) {
			close(fd);
			*error_r = "envelope file too large";
			return -1;
		}
		n = read(fd, p, 8192);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = sys_error("read", path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		buf_commit(b, (size_t)n);
	}
	close(fd);
	return 1;
}

static struct queue_rcpt *rcpt_at(struct arena *arena, struct queue_envelope *env,
				  unsigned int *alloc, unsigned int idx)
{
	if (idx >= 100000)
		return NULL;
	if (idx >= *alloc) {
		unsigned int n = *alloc == 0 ? 8 : *alloc;

		while (n <= idx)
			n *= 2;
		env->rcpts = arena_realloc(arena, env->rcpts, sizeof(*env->rcpts) * *alloc,
					   sizeof(*env->rcpts) * n);
		*alloc = n;
	}
	if (idx >= env->rcpt_count)
		env->rcpt_count = idx + 1;
	return &env->rcpts[idx];
}

/* Parse an envelope file; 1 ok, 0 incomplete (never committed), -1 corrupt. */
static int envelope_parse(struct arena *arena, const unsigned char *data, size_t size,
			  struct queue_envelope *env)
{
	const char *p = (const char *)data, *end = p + size;
	unsigned int alloc = 0;
	bool first = true, ended = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp, *value;
		size_t key_len, value_len;
		char *vend;

		if (nl == NULL)
			break;   /* torn last line: ignored */
		sp = memchr(p, ' ', (size_t)(nl - p));
		key_len = sp == NULL ? (size_t)(nl - p) : (size_t)(sp - p);
		value = sp == NULL ? nl : sp + 1;
		value_len = (size_t)(nl - value);
		if (first) {
			if ((size_t)(nl - p) != strlen(QUEUE_FORMAT_LINE) ||
			    memcmp(p, QUEUE_FORMAT_LINE, (size_t)(nl - p)) != 0)
				return -1;
			first = false;
		} else if (!ended) {
			char *v = escape_decode(arena, value, value_len);

#define KEY(k) (key_len == strlen(k) && memcmp(p, k, key_len) == 0)
			if (KEY("end")) {
				ended = true;
			} else if (KEY("id")) {
				env->id = v;
			} else if (KEY("created")) {
				env->created = (time_t)strtoll(v, NULL, 10);
			} else if (KEY("sender")) {
				env->sender = v;
			} else if (KEY("envid")) {
				env->envid = v;
			} else if (KEY("ret")) {
				env->ret = strcmp(v, "hdrs") == 0 ? QUEUE_RET_HDRS : QUEUE_RET_FULL;
			} else if (KEY("body")) {
				env->body_8bit = strcmp(v, "8bitmime") == 0;
			} else if (KEY("smtputf8")) {
				env->smtputf8 = true;
			} else if (KEY("auth")) {
				env->auth_user = v;
			} else if (KEY("client")) {
				env->client = v;
			} else if (KEY("authres")) {
				env->auth_results = v;
			} else if (KEY("quarantine")) {
				env->quarantine = strcmp(v, "1") == 0;
			} else if (KEY("origin")) {
				env->local_origin = strcmp(v, "local") == 0;
			} else if (KEY("dkim")) {
				env->dkim_signatures = v;
			} else if (KEY("size")) {
				env->size = strtoull(v, NULL, 10);
			} else if (KEY("rcpt") || KEY("orcpt") || KEY("notify") || KEY("original")) {
				unsigned long idx = strtoul(v, &vend, 10);
				struct queue_rcpt *r;

				if (vend == v || *vend != ' ' ||
				    (r = rcpt_at(arena, env, &alloc, (unsigned int)idx)) == NULL)
					return -1;
				if (KEY("rcpt"))
					r->address = vend + 1;
				else if (KEY("orcpt"))
					r->orcpt = vend + 1;
				else if (KEY("original"))
					r->original = vend + 1;
				else
					r->notify = (unsigned int)strtoul(vend + 1, NULL, 10);
			}
			/* unknown keys: written by a newer version; ignored */
#undef KEY
		} else if (key_len == 5 && memcmp(p, "state", 5) == 0) {
			/* state IDX NAME ATTEMPTS LAST NEXT DSN ERROR */
			char *v = escape_decode(arena, value, value_len);
			const char *fields[7];
			char *save = NULL, *tok;
			unsigned int n = 0;
			enum queue_rcpt_state st;
			unsigned long idx;

			tok = strtok_r(v, " ", &save);
			while (tok != NULL) {
				fields[n++] = tok;
				if (n == 6)
					break;
				tok = strtok_r(NULL, " ", &save);
			}
			fields[6] = save == NULL ? "" : save;
			if (n == 6 && state_parse(fields[1], &st) == 0) {
				idx = strtoul(fields[0], NULL, 10);
				if (idx < env->rcpt_count) {
					struct queue_rcpt *r = &env->rcpts[idx];

					r->state = st;
					r->attempts = (unsigned int)strtoul(fields[2], NULL, 10);
					r->last_attempt = (time_t)strtoll(fields[3], NULL, 10);
					r->next_attempt = (time_t)strtoll(fields[4], NULL, 10);
					/* DSN bits: 1 failure notice sent, 2 delay warning sent */
					r->dsn_sent = (strtoul(fields[5], NULL, 10) & 1) != 0;
					r->delay_dsn_sent = (strtoul(fields[5], NULL, 10) & 2) != 0;
					r->last_error = fields[6][0] == '\0' ? NULL : fields[6];
				}
			}
		}
		p = nl + 1;
	}
	if (!ended)
		return 0;
	if (env->id == NULL || env->sender == NULL || env->rcpt_count == 0)
		return -1;
	for (unsigned int i = 0; i < env->rcpt_count; i++) {
		if (env->rcpts[i].address == NULL)
			return -1;
	}
	return 1;
}

int queue_read(struct queue *queue, struct arena *arena, const char *id,
	       struct queue_envelope **env_r, const char **error_r)
{
	char *path = i_strdup_printf("%s/%s", queue->env_dir, id);
	struct queue_envelope *env;
	buf_t b;
	int ret;

	*env_r = NULL;
	buf_init(&b, QUEUE_ENV_MAX);
	ret = read_file(path, &b, error_r);
	if (ret > 0) {
		env = arena_new_type(arena, struct queue_envelope);
		ret = envelope_parse(arena, b.data, b.used, env);
		if (ret < 0) {
			snprintf(queue_error, sizeof(queue_error), "corrupt envelope %s", path);
			*error_r = queue_error;
		} else if (ret > 0) {
			*env_r = env;
		}
	}
	buf_free(&b);
	free(path);
	return ret;
}

int queue_open_message(struct queue *queue, const char *id, const char **error_r)
{
	char *path = i_strdup_printf("%s/%s", queue->msg_dir, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		*error_r = sys_error("open", path);
	free(path);
	return fd;
}

static bool id_is_sane(const char *name);

int queue_claim(struct queue *queue, const char *id, int *fd_r)
{
	char *path;
	int fd;

	*fd_r = -1;
	if (!id_is_sane(id))
		return -1;
	path = i_strdup_printf("%s/%s", queue->env_dir, id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return errno == EWOULDBLOCK ? 0 : -1;
	}
	*fd_r = fd;
	return 1;
}

void queue_release(int *fd)
{
	if (*fd >= 0) {
		(void)flock(*fd, LOCK_UN);
		close(*fd);
		*fd = -1;
	}
}

static bool id_is_sane(const char *name)
{
	const char *p;

	if (name[0] == '\0' || strlen(name) >= UID_MAX_LEN)
		return false;
	for (p = name; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z')))
			return false;
	}
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Remove everything in dir (queue/tmp): leftovers of receptions that never committed. */
static void clean_tmp(struct queue *q)
{
	DIR *d = opendir(q->tmp_dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

int queue_scan(struct queue *queue, struct arena *arena, const char ***ids_r,
	       unsigned int *count_r, const char **error_r)
{
	DIR *d = opendir(queue->env_dir);
	struct dirent *de;
	const char **ids = NULL;
	unsigned int count = 0, alloc = 0;

	if (d == NULL) {
		*error_r = sys_error("opendir", queue->env_dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!id_is_sane(de->d_name))
			continue;
		if (count + 1 >= alloc) {
			unsigned int n = alloc == 0 ? 64 : alloc * 2;

			ids = arena_realloc(arena, ids, sizeof(*ids) * alloc, sizeof(*ids) * n);
			alloc = n;
		}
		ids[count++] = arena_strdup(arena, de->d_name);
	}
	closedir(d);
	if (count > 0)
		qsort(ids, count, sizeof(*ids), cmp_str);  /* ids sort by time */
	if (ids == NULL)
		ids = arena_alloc(arena, sizeof(*ids));
	ids[count] = NULL;
	*ids_r = ids;
	*count_r = count;
	return 0;
}

int queue_recover(struct queue *queue, struct arena *arena, const char ***ids_r,
		  unsigned int *count_r, const char **error_r)
{
	DIR *d;
	struct dirent *de;
	const char **ids = NULL;
	unsigned int count = 0, alloc = 0;
	struct stat st;

	clean_tmp(queue);
	/* envelopes without "end" were never committed */
	d = opendir(queue->env_dir);
	if (d == NULL) {
		*error_r = sys_error("opendir", queue->env_dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct queue_envelope *env;
		const char *err;
		char *msg_path;
		int ret;

		if (!id_is_sane(de->d_name))
			continue;
		ret = queue_read(queue, arena, de->d_name, &env, &err);
		msg_path = i_strdup_printf("%s/%s", queue->msg_dir, de->d_name);
		/* incomplete envelope, missing message, or a message shorter or
		   longer than its envelope says: a commit the crash cut short
		   (it was never acknowledged: acknowledged ones were synced) */
		if (ret == 0 || (ret > 0 && (stat(msg_path, &st) < 0 ?
					     errno == ENOENT :
					     (uint64_t)st.st_size != env->size))) {
			char *env_path = i_strdup_printf("%s/%s", queue->env_dir, de->d_name);

			(void)unlink(env_path);
			(void)unlink(msg_path);
			free(env_path);
			free(msg_path);
			continue;
		}
		free(msg_path);
		if (ret < 0)
			continue; /* corrupt: left in place for a human; queue_read logs it to callers */
		if (count + 1 >= alloc) {
			unsigned int n = alloc == 0 ? 64 : alloc * 2;

			ids = arena_realloc(arena, ids, sizeof(*ids) * alloc, sizeof(*ids) * n);
			alloc = n;
		}
		ids[count++] = arena_strdup(arena, de->d_name);
	}
	closedir(d);
	/* messages without an envelope were never committed either */
	d = opendir(queue->msg_dir);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *env_path;

			if (!id_is_sane(de->d_name))
				continue;
			env_path = i_strdup_printf("%s/%s", queue->env_dir, de->d_name);
			if (stat(env_path, &st) < 0 && errno == ENOENT)
				(void)unlinkat(dirfd(d), de->d_name, 0);
			free(env_path);
		}
		closedir(d);
	}
	if (count > 0)
		qsort(ids, count, sizeof(*ids), cmp_str);  /* ids sort by time */
	if (ids == NULL)
		ids = arena_alloc(arena, sizeof(*ids));
	ids[count] = NULL;
	*ids_r = ids;
	*count_r = count;
	return 0;
}

int queue_remove(struct queue *queue, const char *id, const char **error_r)
{
	char *env_path, *msg_path;
	int ret = 0;

	if (!id_is_sane(id)) {
		*error_r = "not a queue id";
		return -1;
	}
	env_path = i_strdup_printf("%s/%s", queue->env_dir, id);
	msg_path = i_strdup_printf("%s/%s", queue->msg_dir, id);
	/* envelope first: without it the message is a leftover, never redelivered */
	if (unlink(env_path) < 0) {
		*error_r = sys_error("unlink", env_path);
		ret = -1;
	} else {
		(void)unlink(msg_path);
	}
	free(env_path);
	free(msg_path);
	return ret;
}

bool queue_envelope_done(const struct queue_envelope *env)
{
	unsigned int i;

	for (i = 0; i < env->rcpt_count; i++) {
		if (env->rcpts[i].state != QUEUE_RCPT_DELIVERED &&
		    env->rcpts[i].state != QUEUE_RCPT_FAILED)
			return false;
	}
	return true;
}
