/*
 * The maildrop: submission by Unix users who cannot reach data_dir. Layout,
 * file format and trust model in maildrop.h; what users see in
 * docs/sendmail.md.
 *
 * A drop file is written by anyone on the host, so the pickup trusts nothing
 * in it: the sender's identity is the file's owner (fstat after opening with
 * O_NOFOLLOW, a regular file with one link, so neither a symlink nor a hard
 * link to somebody else's file can pass as theirs), every size and count is
 * bounded before anything is allocated from it, and the message is put into
 * canonical CRLF form again before it reaches the queue.
 */
#include "maildrop.h"
#include "accounts.h"
#include "arena.h"
#include "deliver.h"
#include "escape.h"
#include "fs.h"
#include "log.h"
#include "settings.h"
#include "submit.h"
#include "uid.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAILDROP_FORMAT_LINE "tern-maildrop 1"
/* the pickup's periodic scan (inotify wakes it at once otherwise) */
#define PICKUP_SCAN_SECS 60
/* files handled per scan before looking at the stop request again */
#define PICKUP_BATCH 256
/* a t. file older than this was left by a sendmail that died */
#define PICKUP_STALE_SECS (24 * 60 * 60)
#define PASSWD_BUF 16384

static __thread char maildrop_error[512];

int maildrop_format(const struct maildrop *md, buf_t *out)
{
	unsigned int i;
	int ret = 0;

	ret |= buf_append_str(out, MAILDROP_FORMAT_LINE "\n");
	if (md->from != NULL) {
		ret |= buf_append_str(out, "from ");
		ret |= escape_append(out, md->from);
		ret |= buf_append_c(out, '\n');
	}
	if (md->full_name != NULL) {
		ret |= buf_append_str(out, "name ");
		ret |= escape_append(out, md->full_name);
		ret |= buf_append_c(out, '\n');
	}
	if (md->ret != QUEUE_RET_DEFAULT)
		ret |= buf_printf(out, "ret %s\n", md->ret == QUEUE_RET_FULL ? "full" : "hdrs");
	if (md->envid != NULL) {
		ret |= buf_append_str(out, "envid ");
		ret |= escape_append(out, md->envid);
		ret |= buf_append_c(out, '\n');
	}
	for (i = 0; i < md->rcpt_count; i++) {
		const struct maildrop_rcpt *r = &md->rcpts[i];

		ret |= buf_printf(out, "rcpt %u ", r->notify);
		ret |= escape_append_word(out, r->orcpt == NULL ? "" : r->orcpt);
		ret |= buf_append_c(out, ' ');
		ret |= escape_append(out, r->address);
		ret |= buf_append_c(out, '\n');
	}
	ret |= buf_printf(out, "size %zu\n\n", md->message_size);
	return ret == 0 ? 0 : -1;
}

/* A decimal number of at most max, the whole of [p, p+len). */
static int parse_uint(const char *p, size_t len, uint64_t max, uint64_t *value_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*value_r = v;
	return 0;
}

/* RFC 3461 4.1: NEVER alone, or any of SUCCESS, FAILURE, DELAY. */
static bool notify_valid(uint64_t n)
{
	return n <= (QUEUE_NOTIFY_NEVER | QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE |
		     QUEUE_NOTIFY_DELAY) &&
		((n & QUEUE_NOTIFY_NEVER) == 0 || n == QUEUE_NOTIFY_NEVER);
}

/* RFC 3461 4.4: ENVID is printable ASCII. */
static bool envid_valid(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		if (*s < 33 || *s > 126)
			return false;
	}
	return n > 0 && n <= MAILDROP_ENVID_MAX;
}

#define SEEN(bit) do { if ((seen & (bit)) != 0) goto bad; seen |= (bit); } while (0)

int maildrop_parse(struct arena *arena, const unsigned char *data, size_t size,
		   struct maildrop *md_r, const char **error_r)
{
	const char *p = (const char *)data, *end, *nl, *sp, *value, *s1, *s2;
	size_t limit = I_MIN(size, (size_t)MAILDROP_HEADER_MAX), key_len, value_len;
	unsigned int seen = 0, alloc = 0;
	uint64_t n;
	bool first = true;

	memset(md_r, 0, sizeof(*md_r));
	*error_r = "malformed line";
	end = p + limit;
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			*error_r = limit < size ? "header too long" : "truncated header";
			return -1;
		}
		if (first) {
			if ((size_t)(nl - p) != strlen(MAILDROP_FORMAT_LINE) ||
			    memcmp(p, MAILDROP_FORMAT_LINE, (size_t)(nl - p)) != 0) {
				*error_r = "not a tern maildrop file";
				return -1;
			}
			first = false;
			p = nl + 1;
			continue;
		}
		if (nl == p) {
			/* the empty line: the message follows, exactly "size" bytes */
			p = nl + 1;
			break;
		}
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL)
			goto bad;
		key_len = (size_t)(sp - p);
		value = sp + 1;
		value_len = (size_t)(nl - value);
#define KEY(k) (key_len == sizeof(k) - 1 && memcmp(p, k, key_len) == 0)
		if (KEY("from")) {
			SEEN(1u << 0);
			md_r->from = escape_decode(arena, value, value_len);
		} else if (KEY("name")) {
			SEEN(1u << 1);
			md_r->full_name = escape_decode(arena, value, value_len);
		} else if (KEY("ret")) {
			SEEN(1u << 3);
			if (value_len == 4 && memcmp(value, "full", 4) == 0)
				md_r->ret = QUEUE_RET_FULL;
			else if (value_len == 4 && memcmp(value, "hdrs", 4) == 0)
				md_r->ret = QUEUE_RET_HDRS;
			else
				goto bad;
		} else if (KEY("envid")) {
			SEEN(1u << 4);
			md_r->envid = escape_decode(arena, value, value_len);
			if (!envid_valid(md_r->envid))
				goto bad;
		} else if (KEY("size")) {
			SEEN(1u << 6);
			if (parse_uint(value, value_len, SIZE_MAX, &n) < 0)
				goto bad;
			md_r->message_size = (size_t)n;
		} else if (KEY("rcpt")) {
			struct maildrop_rcpt *r;

			if (md_r->rcpt_count == MAILDROP_RCPTS_MAX) {
				*error_r = "too many recipients";
				return -1;
			}
			if (md_r->rcpt_count == alloc) {
				unsigned int nalloc = alloc == 0 ? 8 : alloc * 2;

				md_r->rcpts = arena_realloc(arena, md_r->rcpts,
							    sizeof(*md_r->rcpts) * alloc,
							    sizeof(*md_r->rcpts) * nalloc);
				alloc = nalloc;
			}
			r = &md_r->rcpts[md_r->rcpt_count];
			memset(r, 0, sizeof(*r));
			/* rcpt NOTIFY ORCPT ADDRESS (ORCPT may be empty) */
			s1 = memchr(value, ' ', value_len);
			if (s1 == NULL || parse_uint(value, (size_t)(s1 - value), 15, &n) < 0 ||
			    !notify_valid(n))
				goto bad;
			r->notify = (unsigned int)n;
			s2 = memchr(s1 + 1, ' ', (size_t)(nl - (s1 + 1)));
			if (s2 == NULL)
				goto bad;
			if (s2 > s1 + 1) {
				r->orcpt = escape_decode(arena, s1 + 1, (size_t)(s2 - (s1 + 1)));
				if (r->orcpt[0] == '\0')
					goto bad;   /* "%00": none is written as nothing */
			}
			r->address = escape_decode(arena, s2 + 1, (size_t)(nl - (s2 + 1)));
			if (r->address[0] == '\0')
				goto bad;
			md_r->rcpt_count++;
		} else {
			*error_r = "unknown key";
			return -1;
		}
#undef KEY
		p = nl + 1;
	}
	if ((seen & (1u << 6)) == 0) {
		*error_r = "no size";
		return -1;
	}
	if (md_r->rcpt_count == 0) {
		*error_r = "no recipients";
		return -1;
	}
	if ((size_t)((const char *)data + size - p) != md_r->message_size) {
		*error_r = "size does not match the file";
		return -1;
	}
	md_r->message = (const unsigned char *)p;
	return 0;
bad:
	*error_r = "malformed line";
	return -1;
}
#undef SEEN

int maildrop_write(const char *data_dir, const struct maildrop *md, const char **error_r)
{
	char id[UID_MAX_LEN], *dir, *tmp = NULL, *final = NULL;
	buf_t hdr;
	int fd = -1, attempt, ret = -1, err = 0;

	dir = i_strdup_printf("%s/" MAILDROP_DIR, data_dir);
	buf_init(&hdr, BUF_MAX_UNLIMITED);
	if (maildrop_format(md, &hdr) < 0) {
		*error_r = "out of memory";
		err = ENOMEM;
		goto out;
	}
	for (attempt = 0; attempt < 10 && fd < 0; attempt++) {
		uid_generate(id);
		i_free(tmp);
		tmp = i_strdup_printf("%s/t.%s", dir, id);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err = errno;
		snprintf(maildrop_error, sizeof(maildrop_error), "%s: %s", dir, strerror(err));
		*error_r = maildrop_error;
		goto out;
	}
	final = i_strdup_printf("%s/d.%s", dir, id);
	/* the server's user must read it; the directory cannot be listed, and
	   the name is unguessable, so other users cannot */
	if (fchmod(fd, 0644) < 0 || fs_write_full(fd, hdr.data, hdr.used) < 0 ||
	    fs_write_full(fd, md->message, md->message_size) < 0 || fsync(fd) < 0 ||
	    rename(tmp, final) < 0 ||
	    /* the rename on disk too: the directory cannot be opened (no read
	       permission), so sync its filesystem */
	    syncfs(fd) < 0) {
		err = errno;
		snprintf(maildrop_error, sizeof(maildrop_error), "%s: %s", tmp, strerror(err));
		*error_r = maildrop_error;
		(void)unlink(tmp);
		(void)unlink(final);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&hdr);
	i_free(tmp);
	i_free(final);
	i_free(dir);
	/* the caller may tell a missing maildrop from other failures */
	errno = err;
	return ret;
}

/* data_dir/name: a directory (made when missing) owned by owner:group
   with exactly mode, changed through a descriptor (fs.h): data_dir is the
   server's user's, who could plant a symlink at name to make root chown
   or chmod its target. A symlink there is refused, never followed. */
static int ensure_dir(int data_dir_fd, const char *data_dir, const char *name, mode_t mode,
		      uid_t owner, gid_t group, const char **error_r)
{
	int fd = fs_dir_open_at(data_dir_fd, name, mode);

	if (fd < 0 || fs_fd_set_owner_mode(fd, owner, group, mode) < 0) {
		snprintf(maildrop_error, sizeof(maildrop_error), "%s/%s: %s", data_dir, name,
			 errno == ENOTDIR ? "not a directory (a symlink is not accepted)" :
			 strerror(errno));
		*error_r = maildrop_error;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* One entry of data_dir loses its group and other permission bits. Opened
   with O_NOFOLLOW (a symlink is skipped: what it points at is not ours to
   change) and O_NONBLOCK (a FIFO must not hang the start); changed with
   fchmod on that descriptor only when it is a regular file or directory
   owned by the server's user: a hard link to somebody else's file (root's
   /etc/passwd linked in while protected_hardlinks is off) stays as it is. */
static void tighten_entry(int data_dir_fd, const char *data_dir, const char *name,
			  uid_t owner)
{
	struct stat st;
	int fd;

	/* only regular files and directories are opened at all (opening a
	   device node can do things); the descriptor is checked again below,
	   the name may have changed in between */
	if (fstatat(data_dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) || (st.st_mode & 077) == 0)
		return;
	fd = openat(data_dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ELOOP && errno != ENOENT)
			log_warning("maildrop", "open path=%s/%s error=%s", log_str(data_dir),
				    log_str(name), log_str(strerror(errno)));
		return;
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) ||
	    (st.st_mode & 077) == 0) {
		close(fd);
		return;
	}
	if (st.st_uid != owner) {
		log_warning("maildrop", "not tightening path=%s/%s uid=%u reason=not-owned-by-server",
			    log_str(data_dir), log_str(name), (unsigned int)st.st_uid);
	} else if (fchmod(fd, st.st_mode & 07700) < 0) {
		log_warning("maildrop", "chmod path=%s/%s error=%s", log_str(data_dir),
			    log_str(name), log_str(strerror(errno)));
	} else {
		log_info("maildrop", "tightened mode path=%s/%s mode=%04o", log_str(data_dir),
			 log_str(name), (unsigned int)(st.st_mode & 07700));
	}
	close(fd);
}

int maildrop_prepare(int data_dir_fd, const char *data_dir, uid_t owner, gid_t group,
		     const char **error_r)
{
	DIR *dir;
	struct dirent *de;
	int dup_fd;

	/* others may pass through data_dir to the maildrop, nothing more */
	if (fs_fd_set_owner_mode(data_dir_fd, (uid_t)-1, (gid_t)-1, 0711) < 0) {
		snprintf(maildrop_error, sizeof(maildrop_error), "%s: %s", data_dir,
			 strerror(errno));
		*error_r = maildrop_error;
		return -1;
	}
	if (ensure_dir(data_dir_fd, data_dir, MAILDROP_DIR, 01733, owner, group, error_r) < 0 ||
	    ensure_dir(data_dir_fd, data_dir, MAILDROP_CORRUPT_DIR, 0700, owner, group, error_r) < 0)
		return -1;
	/* everything else is the server's alone (accounts.db holds password
	   hashes): take group and other bits away from what an older tern or
	   an administrator left */
	if ((dup_fd = dup(data_dir_fd)) < 0 || (dir = fdopendir(dup_fd)) == NULL) {
		snprintf(maildrop_error, sizeof(maildrop_error), "%s: %s", data_dir,
			 strerror(errno));
		*error_r = maildrop_error;
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, MAILDROP_DIR) == 0)
			continue;
		tighten_entry(data_dir_fd, data_dir, de->d_name,
			      owner != (uid_t)-1 ? owner : geteuid());
	}
	closedir(dir);
	return 0;
}

/* Keep a file the pickup cannot use for the administrator: data_dir/corrupt. */
static void quarantine(const struct tern_settings *set, int dir_fd, const char *name,
		       uid_t uid, const char *why)
{
	char *target = i_strdup_printf("%s/" MAILDROP_CORRUPT_DIR "/%s", set->data_dir, name);

	if (renameat(dir_fd, name, AT_FDCWD, target) < 0) {
		log_error("maildrop", "file=%s uid=%u reason=%s error=%s", log_str(name),
			  (unsigned int)uid, log_str(why), log_str(strerror(errno)));
		(void)unlinkat(dir_fd, name, 0);
	} else {
		log_error("maildrop", "file=%s uid=%u reason=%s kept=%s", log_str(name),
			  (unsigned int)uid, log_str(why), log_str(target));
	}
	i_free(target);
}

/* Who wrote the file: login name and full name from passwd. */
static void caller_identity(struct arena *arena, uid_t uid, struct submit *s)
{
	struct passwd pw, *res = NULL;
	char *buf = i_malloc(PASSWD_BUF);

	s->uid = (unsigned int)uid;
	if (getpwuid_r(uid, &pw, buf, PASSWD_BUF, &res) == 0 && res != NULL) {
		s->user = arena_strdup(arena, pw.pw_name);
		if (pw.pw_gecos != NULL && pw.pw_gecos[0] != '\0' && pw.pw_gecos[0] != ',')
			s->gecos = arena_strndup(arena, pw.pw_gecos, strcspn(pw.pw_gecos, ","));
	} else {
		s->user = arena_printf(arena, "uid%u", (unsigned int)uid);
	}
	free(buf);
}

static int read_fd(int fd, size_t size, buf_t *b)
{
	unsigned char *p = buf_reserve(b, size);
	size_t got = 0;
	ssize_t n;

	if (p == NULL)
		return -1;
	while (got < size) {
		n = read(fd, p + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	buf_commit(b, size);
	return 0;
}

/* A d. file that does not parse: is somebody still writing it? sendmail
   renames a complete file into place, but a hand-made one may be written
   in place; it counts as finished once it has not changed (ctime: its
   writer cannot set that) for MAILDROP_SETTLE_SECS. */
static bool still_changing(int fd, const char *name, const char *why)
{
	struct stat st;
	time_t now = time(NULL);

	if (fstat(fd, &st) < 0 || st.st_nlink == 0)
		return false;
	if (st.st_ctime <= now - MAILDROP_SETTLE_SECS)
		return false;
	log_info("maildrop", "waiting file=%s uid=%u reason=%s changed=%llds-ago", log_str(name),
		 (unsigned int)st.st_uid, log_str(why),
		 (long long)(now > st.st_ctime ? now - st.st_ctime : 0));
	return true;
}

int maildrop_process(const struct tern_settings *set, struct accounts *acc, struct queue *queue,
		     struct arena *arena, int dir_fd, const char *name,
		     const char **queue_id_r)
{
	struct submit s;
	struct submit_rcpts rs;
	struct submit_message msg;
	struct maildrop md;
	struct stat st = { 0 };
	const char *error = NULL, *sender;
	enum submit_add add;
	buf_t raw, canon;
	unsigned int i;
	int fd, ret = 1;

	*queue_id_r = NULL;
	memset(&s, 0, sizeof(s));
	submit_init(&s, set);
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -1;
		log_error("maildrop", "file=%s error=%s", log_str(name), log_str(strerror(errno)));
		(void)unlinkat(dir_fd, name, 0);
		return 1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		/* a FIFO, or a hard link to somebody else's file: never theirs */
		log_error("maildrop", "file=%s uid=%u reason=not-a-plain-file removed=yes",
			  log_str(name), (unsigned int)st.st_uid);
		close(fd);
		(void)unlinkat(dir_fd, name, 0);
		return 1;
	}
	buf_init(&raw, BUF_MAX_UNLIMITED);
	buf_init(&canon, BUF_MAX_UNLIMITED);
	if ((uint64_t)st.st_size > s.max_size + MAILDROP_HEADER_MAX) {
		quarantine(set, dir_fd, name, st.st_uid, "larger than limits.message_size");
		goto out;
	}
	if (read_fd(fd, (size_t)st.st_size, &raw) < 0) {
		if (still_changing(fd, name, "cannot read it whole"))
			goto wait;
		quarantine(set, dir_fd, name, st.st_uid, "cannot read it whole");
		goto out;
	}
	if (maildrop_parse(arena, raw.data, raw.used, &md, &error) < 0) {
		if (still_changing(fd, name, error))
			goto wait;
		quarantine(set, dir_fd, name, st.st_uid, error);
		goto out;
	}
	/* sendmail wrote it canonical; a hand-made file must not smuggle bare
	   LFs into the queue */
	if (submit_canonicalize(md.message, md.message_size, false, false, s.max_size,
				&canon) < 0) {
		quarantine(set, dir_fd, name, st.st_uid, "larger than limits.message_size");
		goto out;
	}

	s.acc = acc;
	s.queue = queue;
	s.arena = arena;
	s.fail_unknown = true;
	caller_identity(arena, st.st_uid, &s);
	s.from = submit_sender(&s, md.from);
	if (md.from != NULL && s.from == NULL) {
		quarantine(set, dir_fd, name, st.st_uid, "bad sender address");
		goto out;
	}
	s.full_name = md.full_name;
	s.ret = md.ret;
	s.envid = md.envid;

	memset(&rs, 0, sizeof(rs));
	submit_scan(arena, &canon, &msg);
	for (i = 0; i < md.rcpt_count; i++) {
		const struct maildrop_rcpt *r = &md.rcpts[i];

		add = submit_add_recipient(&s, &rs, r->address, r->notify, r->orcpt, &error);
		if (add == SUBMIT_ADD_ERROR)
			goto tempfail;
		if (add == SUBMIT_ADD_BAD) {
			/* sendmail checked the syntax: only a hand-made file gets here */
			log_warning("maildrop", "file=%s uid=%u bad-recipient=%s", log_str(name),
				    s.uid, log_str(r->address));
		}
	}
	if (rs.count == 0) {
		quarantine(set, dir_fd, name, st.st_uid, "no usable recipient");
		goto out;
	}
	sender = submit_default_sender(&s);
	if (submit_queue(&s, sender, &rs, &msg, queue_id_r, &error) < 0)
		goto tempfail;
	log_info("maildrop", "picked up file=%s id=%s uid=%u user=%s rcpts=%u unknown=%u",
		 log_str(name), *queue_id_r, s.uid, log_str(s.user), rs.count, rs.failed);
	/* queued and durable: the drop file has done its job. A crash right
	   here sends the message twice, never zero times. */
	if (unlinkat(dir_fd, name, 0) < 0)
		log_error("maildrop", "file=%s unlink error=%s", log_str(name),
			  log_str(strerror(errno)));
	goto out;
tempfail:
	log_error("maildrop", "file=%s uid=%u retry=yes error=%s", log_str(name),
		  (unsigned int)st.st_uid, log_str(error));
wait:
	ret = 0;
out:
	close(fd);
	buf_free(&raw);
	buf_free(&canon);
	return ret;
}

/* The pickup thread */

struct maildrop_pickup {
	const struct tern_settings *set;
	struct queue *queue;
	struct deliverer *deliverer;
	struct accounts *acc;
	int dir_fd;
	int inotify_fd;
	int stop_fd;                 /* eventfd */
	pthread_t thread;
};

static bool is_drop_name(const char *name, char kind)
{
	const char *p;

	if (name[0] != kind || name[1] != '.' || name[2] == '\0')
		return false;
	for (p = name + 2; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= 'a' && *p <= 'z')))
			return false;
		if (p - name > 64)
			return false;
	}
	return true;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One pass over the directory: the complete files oldest first (their names
   sort by time), stale t. files removed. Returns true when a file must be
   tried again later. */
static bool pickup_scan(struct maildrop_pickup *p)
{
	struct arena *arena;
	DIR *dir;
	struct dirent *de;
	char **names = NULL;
	unsigned int count = 0, alloc = 0, i;
	time_t now = time(NULL);
	bool retry = false;
	int dup_fd;

	if ((dup_fd = dup(p->dir_fd)) < 0 || (dir = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		log_error("maildrop", "scan error=%s", log_str(strerror(errno)));
		return true;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL && count < PICKUP_BATCH) {
		struct stat st;

		if (is_drop_name(de->d_name, 't')) {
			if (fstatat(p->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    now - st.st_mtime > PICKUP_STALE_SECS) {
				(void)unlinkat(p->dir_fd, de->d_name, 0);
				log_info("maildrop", "removed stale file=%s uid=%u", log_str(de->d_name),
					 (unsigned int)st.st_uid);
			}
			continue;
		}
		if (!is_drop_name(de->d_name, 'd'))
			continue;
		if (count == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			names = i_realloc(names, sizeof(*names) * alloc);
		}
		names[count++] = i_strdup(de->d_name);
	}
	closedir(dir);
	if (count == PICKUP_BATCH)
		retry = true;   /* more waiting: come back at once */
	if (count > 0)   /* names is NULL when the directory was empty */
		qsort(names, count, sizeof(*names), cmp_name);
	arena = arena_new(0);
	for (i = 0; i < count; i++) {
		const char *id;

		if (maildrop_process(p->set, p->acc, p->queue, arena, p->dir_fd, names[i], &id) == 0)
			retry = true;
		else if (id != NULL && p->deliverer != NULL)
			deliverer_notify(p->deliverer, id);
		arena_clear(arena);
		free(names[i]);
	}
	arena_free(&arena);
	free(names);
	return retry;
}

static void *pickup_thread(void *ctx)
{
	struct maildrop_pickup *p = ctx;
	struct pollfd fds[2];
	char events[4096];
	int timeout = 0;   /* a first scan at once: files left while stopped */

	fds[0].fd = p->stop_fd;
	fds[0].events = POLLIN;
	fds[1].fd = p->inotify_fd;
	fds[1].events = POLLIN;
	for (;;) {
		int n = poll(fds, p->inotify_fd >= 0 ? 2 : 1, timeout);

		if (n < 0 && errno != EINTR) {
			log_error("maildrop", "poll error=%s", log_str(strerror(errno)));
			sleep(1);
		}
		if (n > 0 && (fds[0].revents & POLLIN) != 0)
			break;
		if (n > 0 && p->inotify_fd >= 0 && (fds[1].revents & POLLIN) != 0) {
			/* what happened does not matter: the scan finds it */
			while (read(p->inotify_fd, events, sizeof(events)) > 0)
				;
		}
		timeout = pickup_scan(p) ? 5 * 1000 : PICKUP_SCAN_SECS * 1000;
	}
	return NULL;
}

struct maildrop_pickup *maildrop_pickup_start(const struct tern_settings *set,
					      struct queue *queue, struct deliverer *deliverer,
					      const char **error_r)
{
	struct maildrop_pickup *p = i_malloc(sizeof(*p));
	char *path = i_strdup_printf("%s/" MAILDROP_DIR, set->data_dir);

	p->set = set;
	p->queue = queue;
	p->deliverer = deliverer;
	p->inotify_fd = -1;
	p->stop_fd = -1;
	p->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dir_fd < 0) {
		snprintf(maildrop_error, sizeof(maildrop_error), "%s: %s", path, strerror(errno));
		*error_r = maildrop_error;
		goto fail;
	}
	if (accounts_open_settings(set, &p->acc, error_r) < 0)
		goto fail;
	p->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (p->stop_fd < 0) {
		snprintf(maildrop_error, sizeof(maildrop_error), "eventfd: %s", strerror(errno));
		*error_r = maildrop_error;
		goto fail;
	}
	/* complete files arrive by rename (IN_MOVED_TO); without inotify
	   (limits reached) the periodic scan still finds them */
	p->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->inotify_fd >= 0 && inotify_add_watch(p->inotify_fd, path,
							    IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) < 0) {
		log_warning("maildrop", "inotify error=%s scan_every=%us", log_str(strerror(errno)),
			    PICKUP_SCAN_SECS);
		close(p->inotify_fd);
		p->inotify_fd = -1;
	}
	if (pthread_create(&p->thread, NULL, pickup_thread, p) != 0) {
		*error_r = "cannot start the maildrop pickup thread";
		goto fail;
	}
	i_free(path);
	return p;
fail:
	i_free(path);
	if (p->acc != NULL)
		accounts_close(&p->acc);
	if (p->dir_fd >= 0)
		close(p->dir_fd);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	if (p->inotify_fd >= 0)
		close(p->inotify_fd);
	free(p);
	return NULL;
}

void maildrop_pickup_stop(struct maildrop_pickup **pp)
{
	struct maildrop_pickup *p = *pp;
	uint64_t one = 1;

	if (p == NULL)
		return;
	*pp = NULL;
	if (write(p->stop_fd, &one, sizeof(one)) != sizeof(one))
		i_panic("maildrop: cannot stop the pickup thread");
	pthread_join(p->thread, NULL);
	accounts_close(&p->acc);
	close(p->dir_fd);
	close(p->stop_fd);
	if (p->inotify_fd >= 0)
		close(p->inotify_fd);
	free(p);
}
