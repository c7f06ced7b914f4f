/*
 * Bringing a folder's index up to date with its Maildir (docs/store.md
 * "Sync"): files delivered into new/, files added, removed or renamed in
 * cur/ by other programs (mutt, Dovecot, a restore). Called with the user
 * locked, from every view open and sync, STATUS and rebuild.
 *
 * Cheap when nothing changed: two stat() calls compared with the directory
 * mtimes recorded at the last scan. An mtime is recorded as "safe" only
 * when it was at least TERN_STORE_MTIME_SLACK seconds old at the scan, so a
 * change made in the same clock tick after a scan is still found later.
 *
 * New files get UIDs in the order they were delivered (the time in their
 * name, then the name): the UID goes into the file name (",U=<uid>") as the
 * file is renamed into cur/, after tern-uidlist was raised and fsynced and
 * before the index commits (docs/store.md "UIDs").
 */
#include "store-private.h"
#include "maildir-files.h"
#include "maildir-names.h"
#include "arena.h"
#include "date.h"
#include "log.h"
#include "tern-limits.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* how far ahead of need tern-uidlist is raised */
#define UIDLIST_HEADROOM 256

struct scan_file {
	const char *name;
	bool in_new;
	struct maildir_name parsed;
	uint64_t secs;
	uint32_t usecs;
	uint32_t uid;              /* the UID it gets (0: not yet) */
	bool known;                /* the old index knew this UID for this file */
};

struct scan_ctx {
	struct mail_user *user;
	struct arena *arena;
	struct index_folder *folder;
	const char *dir;
	uint64_t modseq;           /* of this transaction's changes */
	bool changed;
	bool keywords_merged;
	bool keywords_changed;
	/* GUIDs already in the folder (a hash set), when loaded */
	const char **guids;
	unsigned int guid_count, guid_size;
	bool guids_loaded;
	struct mail_rebuild_stats *stats;
};

/* the index's rows of a folder, for a cur/ scan */
struct index_row {
	uint32_t uid;
	const char *name;
	unsigned int flags;
	uint32_t keywords;
	const char *guid;
	bool matched;
};

struct row_list {
	struct arena *arena;
	struct index_row *rows;
	unsigned int count, alloc;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* Does this directory need a readdir? */
static bool dir_changed(int64_t mtime, int64_t recorded, bool safe, int64_t now)
{
	if (mtime != recorded || recorded == 0)
		return true;
	if (safe)
		return false;
	/* seen, but so recently that a change in the same tick could hide
	   behind it: look again once the slack has passed */
	return now - mtime >= (int64_t)TERN_STORE_MTIME_SLACK * 1000000000LL;
}

static bool mtime_safe(int64_t mtime, int64_t now)
{
	return now - mtime >= (int64_t)TERN_STORE_MTIME_SLACK * 1000000000LL;
}

/* ---- keywords ---- */

/* Learn names for keyword letters from dovecot-keywords (another program
   may have added some); the index's names win where both have one. */
static void merge_keywords_file(struct scan_ctx *ctx)
{
	struct index_folder *f = ctx->folder;
	const char **names, **merged;
	unsigned int count, i, n;

	if (ctx->keywords_merged)
		return;
	ctx->keywords_merged = true;
	keywords_file_read(ctx->arena, ctx->dir, &names, &count);
	if (count <= f->keyword_count) {
		for (i = 0; i < count; i++) {
			if (f->keywords[i][0] == '\0' && names[i][0] != '\0')
				break;
		}
		if (i == count)
			return;
	}
	n = I_MAX(count, f->keyword_count);
	merged = arena_new_array(ctx->arena, const char *, n);
	for (i = 0; i < n; i++) {
		const char *mine = i < f->keyword_count ? f->keywords[i] : "";
		const char *theirs = i < count ? names[i] : "";

		merged[i] = mine[0] != '\0' ? mine : theirs;
	}
	f->keywords = merged;
	f->keyword_count = n;
	ctx->keywords_changed = true;
}

/* The keyword bits of a file name that have a name. */
static uint32_t known_keywords(struct scan_ctx *ctx, uint32_t bits)
{
	uint32_t out = bits & INDEX_KEYWORD_PASSED;
	unsigned int i;

	if ((bits & ~INDEX_KEYWORD_PASSED) == 0)
		return out;
	merge_keywords_file(ctx);
	for (i = 0; i < 26; i++) {
		if ((bits & (1U << i)) != 0 && i < ctx->folder->keyword_count &&
		    ctx->folder->keywords[i][0] != '\0')
			out |= 1U << i;
	}
	return out;
}

/* ---- GUIDs: a hash set (open addressing) ---- */

static unsigned int guid_hash(const char *guid)
{
	unsigned int h = 2166136261u;

	for (; *guid != '\0'; guid++)
		h = (h ^ (unsigned char)*guid) * 16777619u;
	return h;
}

static bool guid_taken(struct scan_ctx *ctx, const char *guid)
{
	unsigned int i;

	if (ctx->guid_size == 0)
		return false;
	for (i = guid_hash(guid) & (ctx->guid_size - 1); ctx->guids[i] != NULL;
	     i = (i + 1) & (ctx->guid_size - 1)) {
		if (strcmp(ctx->guids[i], guid) == 0)
			return true;
	}
	return false;
}

static void guid_add(struct scan_ctx *ctx, const char *guid)
{
	unsigned int i;

	if ((ctx->guid_count + 1) * 2 > ctx->guid_size) {
		const char **old = ctx->guids;
		unsigned int old_size = ctx->guid_size, k;

		ctx->guid_size = old_size == 0 ? 256 : old_size * 2;
		ctx->guids = arena_new_array(ctx->arena, const char *, ctx->guid_size);
		ctx->guid_count = 0;
		for (k = 0; k < old_size; k++) {
			if (old[k] != NULL)
				guid_add(ctx, old[k]);
		}
	}
	if (guid_taken(ctx, guid))
		return;
	for (i = guid_hash(guid) & (ctx->guid_size - 1); ctx->guids[i] != NULL;
	     i = (i + 1) & (ctx->guid_size - 1))
		;
	ctx->guids[i] = arena_strdup(ctx->arena, guid);
	ctx->guid_count++;
}

static int load_guid_cb(const struct index_message *msg, const struct index_cache *cache,
			void *context)
{
	guid_add(context, msg->guid);
	return 0;
}

static int load_guids(struct scan_ctx *ctx, struct mail_error *error)
{
	struct mail_index *idx = ctx->user->index;

	if (ctx->guids_loaded)
		return 0;
	ctx->guids_loaded = true;
	if (idx->v->messages_read(idx, ctx->folder->id, 1, UINT32_MAX, 0, 0, load_guid_cb,
				  ctx) < 0)
		return mail_error_index(ctx->user, error);
	return 0;
}

/* ---- reading directories ---- */

static int read_dir(struct scan_ctx *ctx, bool in_new, struct scan_file **files,
		    unsigned int *count, unsigned int *alloc, struct mail_error *error)
{
	char *path = i_strdup_printf("%s/%s", ctx->dir, in_new ? "new" : "cur");
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		int ret = errno == ENOENT ? 0 : mail_error_sys(error, "opendir", path);

		free(path);
		return ret;
	}
	while ((de = readdir(d)) != NULL) {
		struct scan_file *f;

		if (!maildir_name_is_message(de->d_name))
			continue;
		if (*count == *alloc) {
			unsigned int n = *alloc == 0 ? 64 : *alloc * 2;

			*files = arena_realloc(ctx->arena, *files, sizeof(**files) * *alloc,
					       sizeof(**files) * n);
			*alloc = n;
		}
		f = &(*files)[(*count)++];
		memset(f, 0, sizeof(*f));
		f->name = arena_strdup(ctx->arena, de->d_name);
		f->in_new = in_new;
		maildir_name_parse(f->name, &f->parsed);
		maildir_name_time(f->name, &f->secs, &f->usecs);
	}
	closedir(d);
	free(path);
	return 0;
}

/* Delivery order: time in the name, then the name. */
static int file_order_cmp(const void *a, const void *b)
{
	const struct scan_file *x = a, *y = b;

	if (x->secs != y->secs)
		return x->secs < y->secs ? -1 : 1;
	if (x->usecs != y->usecs)
		return x->usecs < y->usecs ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Files keeping their U=: known ones first, then by UID, then name. */
static int file_uid_cmp(const void *a, const void *b)
{
	const struct scan_file *x = a, *y = b;

	if (x->known != y->known)
		return x->known ? -1 : 1;
	if (x->parsed.uid != y->parsed.uid)
		return x->parsed.uid < y->parsed.uid ? -1 : 1;
	return file_order_cmp(a, b);
}

/* ---- taking files in ---- */

/* Index one file with its UID: parse it, rename it into cur/ with U= and
   its flags, insert the row. A file that vanished meanwhile is skipped. */
static int take_file(struct scan_ctx *ctx, struct scan_file *f, struct mail_error *error)
{
	struct mail_index *idx = ctx->user->index;
	struct index_message msg;
	struct index_cache cache;
	struct stat st;
	const char *err, *new_name;
	char guid[MAIL_GUID_LEN + 1];
	char *old_path, *new_path = NULL;
	int fd, ret = 0;
	uint32_t keywords = known_keywords(ctx, f->parsed.keywords);
	struct maildir_name parsed = f->parsed;
	const char *name = f->name;

	old_path = i_strdup_printf("%s/%s/%s", ctx->dir, f->in_new ? "new" : "cur", f->name);
	/* one file that cannot be read (a directory, no permission, an I/O
	   error) is left where it is, logged, and tried again at the next
	   scan: it must not make the whole mailbox unusable */
	fd = open(old_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)	/* ENOENT: another program took it */
			log_warning("store", "skipped path=%s error=%s", log_str(old_path),
				    log_str(strerror(errno)));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warning("store", "skipped path=%s error=%s", log_str(old_path),
			    "not a regular file");
		goto out;
	}
	maildir_name_guid(name, &parsed, guid);
	if (!ctx->guids_loaded && parsed.uid_len > 0 && load_guids(ctx, error) < 0) {
		ret = -1;
		goto out;
	}
	if (guid_taken(ctx, guid)) {
		/* a copy of a message already here (same base name): it is
		   another message now, with a base name of its own */
		const char *base = maildir_name_new_base(ctx->arena, ctx->user->store->hostname,
							 (uint64_t)st.st_size);

		name = arena_printf(ctx->arena, "%s%s", base,
				    parsed.has_info ? strchr(f->name, ':') : "");
		maildir_name_parse(name, &parsed);
		maildir_name_guid(name, &parsed, guid);
	}
	new_name = maildir_name_make(ctx->arena, name, &parsed, f->uid, parsed.flags, keywords);
	new_path = i_strdup_printf("%s/cur/%s", ctx->dir, new_name);

	memset(&msg, 0, sizeof(msg));
	if (mail_cache_build(ctx->arena, fd, (uint64_t)st.st_size, &msg, &cache, &err) < 0) {
		log_warning("store", "skipped path=%s error=%s", log_str(old_path), log_str(err));
		goto out;
	}
	if (strcmp(old_path, new_path) != 0 && rename(old_path, new_path) < 0) {
		if (errno != ENOENT)
			ret = mail_error_sys(error, "rename", old_path);
		goto out;
	}
	msg.uid = f->uid;
	msg.name = new_name;
	msg.flags = parsed.flags;
	msg.keywords = keywords;
	/* INTERNALDATE: when the file was written (delivery, or the date
	   APPEND gave it, set as the mtime) */
	msg.internal_date = st.st_mtim.tv_sec;
	msg.tz_offset = msg_date_local_offset(st.st_mtim.tv_sec);
	msg.modseq = ctx->modseq;
	msg.guid = guid;
	if (idx->v->message_insert(idx, ctx->folder->id, &msg, &cache) < 0) {
		ret = mail_error_index(ctx->user, error);
		goto out;
	}
	guid_add(ctx, guid);
	ctx->changed = true;
	if (ctx->stats != NULL)
		ctx->stats->messages++;
out:
	if (fd >= 0)
		close(fd);
	free(old_path);
	free(new_path);
	return ret;
}

/*
 * Give UIDs to files the index does not hold and take them in. A file
 * keeps the UID in its name when keep_uid() says so and no other file
 * took it; the others get new UIDs from UIDNEXT on, in delivery order.
 * tern-uidlist is raised (and fsynced) before any file is renamed.
 */
enum keep_rule {
	KEEP_ABOVE_UIDNEXT,     /* sync: only U= >= UIDNEXT (a crash before a commit) */
	KEEP_KNOWN,             /* rebuild with the old index: known, or >= its UIDNEXT */
	KEEP_ALL,               /* rebuild without an index: trust U= (duplicates aside) */
	KEEP_NONE,              /* a new UIDVALIDITY: renumber everything */
};

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static int take_in(struct scan_ctx *ctx, struct scan_file *files, unsigned int count,
		   enum keep_rule rule, const uint32_t *taken, unsigned int taken_count,
		   struct mail_error *error)
{
	struct index_folder *folder = ctx->folder;
	struct scan_file *keep, *fresh;
	unsigned int keep_count = 0, fresh_count = 0, i;
	uint32_t *used, used_size, uidnext;

	if (count == 0)
		return 0;
	uidnext = folder_uidnext_floor(ctx->dir, folder);

	keep = arena_new_array(ctx->arena, struct scan_file, count);
	fresh = arena_new_array(ctx->arena, struct scan_file, count);
	for (i = 0; i < count; i++) {
		struct scan_file *f = &files[i];
		bool k = false;

		if (f->parsed.uid != 0) {
			switch (rule) {
			case KEEP_ABOVE_UIDNEXT:
				k = f->parsed.uid >= folder->uidnext;
				break;
			case KEEP_KNOWN:
				k = f->known || f->parsed.uid >= folder->uidnext;
				break;
			case KEEP_ALL:
				k = true;
				break;
			case KEEP_NONE:
				break;
			}
		}
		if (k)
			keep[keep_count++] = *f;
		else
			fresh[fresh_count++] = *f;
	}
	qsort(keep, keep_count, sizeof(*keep), file_uid_cmp);
	/* the UIDs kept so far: a hash set (0 is no UID) */
	used_size = 16;
	while (used_size < keep_count * 2 + 2)
		used_size *= 2;
	used = arena_new_array(ctx->arena, uint32_t, used_size);
	for (i = 0; i < keep_count; i++) {
		uint32_t uid = keep[i].parsed.uid, h;
		bool dup = taken_count > 0 && bsearch(&uid, taken, taken_count, sizeof(uint32_t),
						       uid_cmp) != NULL;

		for (h = (uid * 2654435761u) & (used_size - 1); !dup && used[h] != 0;
		     h = (h + 1) & (used_size - 1)) {
			if (used[h] == uid)
				dup = true;
		}
		if (dup) {
			/* a duplicate U=: the first one keeps it */
			fresh[fresh_count++] = keep[i];
			keep[i].uid = 0;
			continue;
		}
		used[h] = uid;
		keep[i].uid = uid;
		if (uid >= uidnext)
			uidnext = uid + 1;
	}
	qsort(fresh, fresh_count, sizeof(*fresh), file_order_cmp);
	for (i = 0; i < fresh_count; i++) {
		if (uidnext == 0 || uidnext == UINT32_MAX)
			return mail_error_set(error, MAIL_ERROR_LIMIT, "UIDs exhausted in %s",
					      folder->name);
		fresh[i].uid = uidnext++;
		if (ctx->stats != NULL)
			ctx->stats->new_uids++;
	}
	/* raise the high-water mark first (docs/store.md "UIDs") */
	if (folder_uidlist_raise(ctx->user, ctx->dir, folder, uidnext, error) < 0)
		return -1;
	folder->uidnext = uidnext;

	/* take them in UID order: the kept ones, then the new ones */
	for (i = 0; i < keep_count; i++) {
		if (keep[i].uid != 0 && take_file(ctx, &keep[i], error) < 0)
			return -1;
	}
	for (i = 0; i < fresh_count; i++) {
		if (take_file(ctx, &fresh[i], error) < 0)
			return -1;
	}
	ctx->changed = true;
	return 0;
}

/* ---- tern-uidlist ---- */

uint32_t folder_uidnext_floor(const char *dir, const struct index_folder *folder)
{
	struct uidlist ul;

	/* a high-water mark above the one this index wrote: UIDs below it may
	   have been handed out by a transaction that was then lost (a power
	   cut: synchronous=NORMAL) or by an index that is gone */
	if (uidlist_read(dir, &ul) > 0 && ul.uidvalidity == folder->id &&
	    ul.uidnext > folder->uidlist_n && ul.uidnext > folder->uidnext)
		return ul.uidnext;
	return folder->uidnext;
}

int folder_uidlist_raise(struct mail_user *user, const char *dir, struct index_folder *folder,
			 uint32_t uidnext, struct mail_error *error)
{
	struct uidlist ul;
	int64_t last;
	bool have = uidlist_read(dir, &ul) > 0;

	/* already high enough, as this index wrote it: no write, no fsync */
	if (have && ul.uidvalidity == folder->id && ul.uidnext >= uidnext &&
	    ul.uidnext == folder->uidlist_n && ul.special_use == folder->special_use)
		return 0;
	if (!have) {
		ul.last_uidvalidity = 0;
		/* INBOX's file also keeps the UIDVALIDITY counter */
		if (folder_name_is_inbox(folder->name) &&
		    user->index->v->meta_get(user->index, "last_uidvalidity", &last) > 0)
			ul.last_uidvalidity = (uint32_t)last;
	}
	ul.uidvalidity = folder->id;
	/* raise it ahead of need, so the next takes-in and APPENDs write
	   nothing: UIDs need not be dense, only never reused */
	ul.uidnext = uidnext > UINT32_MAX - UIDLIST_HEADROOM ? uidnext : uidnext + UIDLIST_HEADROOM;
	if (have && ul.uidvalidity == folder->id && ul.uidnext < folder->uidlist_n)
		ul.uidnext = folder->uidlist_n;
	ul.special_use = folder->special_use;
	if (uidlist_write(dir, &ul) < 0)
		return mail_error_sys(error, "write", dir);
	folder->uidlist_n = ul.uidnext;
	return 0;
}

/* ---- the cur/ scan against the index ---- */

static int row_cb(const struct index_message *msg, const struct index_cache *cache,
		  void *context)
{
	struct row_list *rl = context;
	struct index_row *r;

	if (rl->count == rl->alloc) {
		unsigned int n = rl->alloc == 0 ? 256 : rl->alloc * 2;

		rl->rows = arena_realloc(rl->arena, rl->rows, sizeof(*rl->rows) * rl->alloc,
					 sizeof(*rl->rows) * n);
		rl->alloc = n;
	}
	r = &rl->rows[rl->count++];
	r->uid = msg->uid;
	r->name = arena_strdup(rl->arena, msg->name);
	r->flags = msg->flags;
	r->keywords = msg->keywords;
	r->guid = arena_strdup(rl->arena, msg->guid);
	r->matched = false;
	return 0;
}

static struct index_row *row_find(struct row_list *rl, uint32_t uid)
{
	unsigned int lo = 0, hi = rl->count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (rl->rows[mid].uid == uid)
			return &rl->rows[mid];
		if (rl->rows[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Same message file: the base names (up to ':') are equal. */
static bool same_base(const char *a, const char *b)
{
	size_t la = strcspn(a, ":"), lb = strcspn(b, ":");

	return la == lb && memcmp(a, b, la) == 0;
}

static int scan(struct scan_ctx *ctx, bool scan_new, bool scan_cur, struct mail_error *error)
{
	struct mail_index *idx = ctx->user->index;
	struct scan_file *files = NULL, *cands;
	unsigned int count = 0, alloc = 0, cand_count = 0, i;
	struct row_list rl = { .arena = ctx->arena };
	uint32_t *taken = NULL;
	unsigned int taken_count = 0;

	if (scan_new && read_dir(ctx, true, &files, &count, &alloc, error) < 0)
		return -1;
	if (scan_cur && read_dir(ctx, false, &files, &count, &alloc, error) < 0)
		return -1;
	cands = arena_new_array(ctx->arena, struct scan_file, count + 1);

	if (scan_cur) {
		if (idx->v->messages_read(idx, ctx->folder->id, 1, UINT32_MAX, 0, 0, row_cb,
					  &rl) < 0)
			return mail_error_index(ctx->user, error);
		/* every GUID of the folder is at hand now */
		for (i = 0; i < rl.count; i++)
			guid_add(ctx, rl.rows[i].guid);
		ctx->guids_loaded = true;
	}
	for (i = 0; i < count; i++) {
		struct scan_file *f = &files[i];
		struct index_row *r;

		if (!f->in_new && f->parsed.uid != 0 && (r = row_find(&rl, f->parsed.uid)) != NULL &&
		    !r->matched && same_base(r->name, f->name)) {
			uint32_t kw;

			r->matched = true;
			if (strcmp(r->name, f->name) == 0)
				continue;
			/* renamed by another program: its flags changed */
			kw = known_keywords(ctx, f->parsed.keywords);
			if (idx->v->message_set_flags(idx, ctx->folder->id, r->uid, f->name,
						      f->parsed.flags, kw, ctx->modseq) < 0)
				return mail_error_index(ctx->user, error);
			ctx->changed = true;
			continue;
		}
		if (!f->in_new && !scan_cur)
			continue;
		cands[cand_count++] = *f;
	}
	if (scan_cur) {
		/* what the index holds and no file matched is gone */
		taken = arena_new_array(ctx->arena, uint32_t, rl.count + 1);
		for (i = 0; i < rl.count; i++) {
			if (rl.rows[i].matched) {
				taken[taken_count++] = rl.rows[i].uid;
				continue;
			}
			if (idx->v->message_expunge(idx, ctx->folder->id, rl.rows[i].uid,
						    ctx->modseq) < 0)
				return mail_error_index(ctx->user, error);
			ctx->changed = true;
		}
	}
	return take_in(ctx, cands, cand_count, KEEP_ABOVE_UIDNEXT, taken, taken_count, error);
}

static void scan_ctx_init(struct scan_ctx *ctx, struct mail_user *user, struct arena *arena,
			  struct index_folder *folder, const char *dir)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->user = user;
	ctx->arena = arena;
	ctx->folder = folder;
	ctx->dir = dir;
	ctx->modseq = folder->highestmodseq + 1;
}

/* The folder's directory is gone: drop it from the index. */
static int folder_vanished(struct mail_user *user, struct index_folder *folder,
			   struct mail_error *error)
{
	struct mail_index *idx = user->index;

	if (folder_name_is_inbox(folder->name))
		return mail_error_set(error, MAIL_ERROR_TEMP, "The INBOX Maildir is missing");
	if (user_begin(user, error) < 0)
		return -1;
	if (idx->v->folder_delete(idx, folder->id) < 0) {
		user_rollback(user);
		return mail_error_index(user, error);
	}
	if (user_commit(user, error) < 0)
		return -1;
	log_info("store", "folder removed by another program user=%s folder=%s",
		 log_str(user->address), log_str(folder->name));
	user_notify(user, folder->name, folder->id);
	return mail_error_set(error, MAIL_ERROR_GONE, "The folder %s no longer exists",
			      folder->name);
}

/* Does new/ hold a message? 1, 0, or -1 with errno (ENOENT: no new/). */
static int new_has_messages(const char *dir)
{
	char *path = i_strdup_printf("%s/new", dir);
	DIR *d = opendir(path);
	struct dirent *de;
	int found = 0;

	free(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (maildir_name_is_message(de->d_name)) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

/*
 * new/ is listed at every sync: it is small (sessions move its files to
 * cur/ at once), and a delivery in the same clock tick as the last scan
 * would not change its mtime, so a mtime check could leave new mail
 * unseen after an IDLE wake-up. cur/ is only read when its mtime moved
 * (or is too recent to trust): what changes there are other programs'
 * flag renames and deletions, which may wait for the next sync.
 */
int folder_sync(struct mail_user *user, struct arena *arena, struct index_folder *folder,
		unsigned int flags, struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct stat st_cur;
	struct scan_ctx ctx;
	char *dir, *path;
	int64_t now, m_cur;
	bool scan_new, scan_cur, force = (flags & FOLDER_SYNC_FORCE) != 0;
	int ret;

	dir = user_folder_dir(user, folder->name);
	path = i_strdup_printf("%s/cur", dir);
	ret = stat(path, &st_cur);
	free(path);
	if (ret < 0) {
		ret = errno == ENOENT ? folder_vanished(user, folder, error) :
			mail_error_sys(error, "stat", dir);
		free(dir);
		return ret;
	}
	ret = new_has_messages(dir);
	if (ret < 0 && errno != ENOENT) {
		ret = mail_error_sys(error, "opendir", dir);
		free(dir);
		return ret;
	}
	scan_new = ret > 0;
	now = now_ns();
	m_cur = mtime_ns(&st_cur);
	if (!force && !scan_new && !dir_changed(m_cur, folder->cur_mtime, folder->cur_safe, now)) {
		free(dir);
		return 0;
	}

	if (user_begin(user, error) < 0) {
		free(dir);
		return -1;
	}
	/* under the write lock: another process may have scanned meanwhile */
	ret = idx->v->folder_get(idx, arena, folder->id, folder);
	if (ret <= 0) {
		user_rollback(user);
		free(dir);
		if (ret == 0)
			return mail_error_set(error, MAIL_ERROR_GONE, "The folder no longer exists");
		return mail_error_index(user, error);
	}
	path = i_strdup_printf("%s/cur", dir);
	ret = stat(path, &st_cur);
	free(path);
	if (ret < 0) {
		user_rollback(user);
		free(dir);
		return mail_error_sys(error, "stat", folder->name);
	}
	now = now_ns();
	m_cur = mtime_ns(&st_cur);
	scan_new = force || new_has_messages(dir) > 0;
	scan_cur = force || dir_changed(m_cur, folder->cur_mtime, folder->cur_safe, now);
	if (!scan_new && !scan_cur) {
		user_rollback(user);
		free(dir);
		return 0;
	}

	scan_ctx_init(&ctx, user, arena, folder, dir);
	if (scan(&ctx, scan_new, scan_cur, error) < 0) {
		user_rollback(user);
		free(dir);
		return -1;
	}
	if (ctx.changed)
		folder->highestmodseq = ctx.modseq;
	if (scan_cur) {
		/* what was scanned; trusted only when old enough */
		folder->cur_mtime = m_cur;
		folder->cur_safe = mtime_safe(m_cur, now);
	}
	if (ctx.changed) {
		/* our renames moved the mtime again: record the state after
		   them, untrusted (a change by another program in the same tick
		   is found once the slack has passed) */
		path = i_strdup_printf("%s/cur", dir);
		if (stat(path, &st_cur) == 0) {
			folder->cur_mtime = mtime_ns(&st_cur);
			folder->cur_safe = false;
		}
		free(path);
	}
	if (idx->v->folder_update(idx, folder) < 0) {
		user_rollback(user);
		free(dir);
		return mail_error_index(user, error);
	}
	if (ctx.keywords_changed)
		(void)keywords_file_write(dir, folder->keywords, folder->keyword_count);
	free(dir);
	if (user_commit(user, error) < 0)
		return -1;
	if (ctx.changed)
		user_notify(user, folder->name, folder->id);
	return 0;
}

void folder_note_cur_changed(const char *dir, struct index_folder *f)
{
	char *cur = i_strdup_printf("%s/cur", dir);
	struct stat st;

	/* only when the index was in step with cur/ before; else the next
	   sync scans it anyway. Recorded "unsafe": a change by another
	   program in the same tick is found once the slack has passed. */
	if (f->cur_safe && stat(cur, &st) == 0) {
		f->cur_mtime = mtime_ns(&st);
		f->cur_safe = false;
	}
	free(cur);
}

/* ---- rebuild ---- */

static const struct rebuild_known_msg *known_find(const struct rebuild_known *known, uint32_t uid)
{
	unsigned int lo = 0, hi = known->count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (known->msgs[mid].uid == uid)
			return &known->msgs[mid];
		if (known->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int folder_rebuild_scan(struct mail_user *user, struct arena *arena, struct index_folder *folder,
			const struct rebuild_known *known, bool renumber,
			struct mail_rebuild_stats *stats, struct mail_error *error)
{
	struct scan_file *files = NULL;
	unsigned int count = 0, alloc = 0, i;
	struct scan_ctx ctx;
	struct stat st_new, st_cur;
	char *dir = user_folder_dir(user, folder->name), *path;
	uint32_t first_new = 0;
	int ret;

	scan_ctx_init(&ctx, user, arena, folder, dir);
	ctx.stats = stats;
	ctx.guids_loaded = true;	/* the folder is empty in the index */
	path = i_strdup_printf("%s/new", dir);
	ret = stat(path, &st_new);
	free(path);
	path = i_strdup_printf("%s/cur", dir);
	if (ret == 0)
		ret = stat(path, &st_cur);
	free(path);
	if (ret < 0) {
		ret = mail_error_sys(error, "stat", dir);
		free(dir);
		return ret;
	}
	if (read_dir(&ctx, true, &files, &count, &alloc, error) < 0 ||
	    read_dir(&ctx, false, &files, &count, &alloc, error) < 0) {
		free(dir);
		return -1;
	}
	for (i = 0; i < count; i++) {
		const struct rebuild_known_msg *k;

		if (known != NULL && files[i].parsed.uid != 0 &&
		    (k = known_find(known, files[i].parsed.uid)) != NULL &&
		    same_base(k->name, files[i].name))
			files[i].known = true;
	}
	ret = take_in(&ctx, files, count, renumber ? KEEP_NONE : known != NULL ? KEEP_KNOWN :
		      KEEP_ALL, NULL, 0, error);
	if (ret == 0) {
		/* \Recent: what was still in new/ is new to every session */
		for (i = 0; i < count; i++) {
			if (files[i].in_new && files[i].uid != 0 &&
			    (first_new == 0 || files[i].uid < first_new))
				first_new = files[i].uid;
		}
		if (known == NULL || folder->recent_uid == 0)
			folder->recent_uid = first_new != 0 ? first_new : folder->uidnext;
		if (folder->recent_uid > folder->uidnext)
			folder->recent_uid = folder->uidnext;
		folder->highestmodseq = ctx.modseq;
		/* the renames changed the directories: rescan at the next sync */
		folder->cur_mtime = 0;
		folder->cur_safe = false;
		if (ctx.keywords_changed)
			(void)keywords_file_write(dir, folder->keywords, folder->keyword_count);
	}
	free(dir);
	return ret;
}
