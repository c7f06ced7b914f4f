/*
 * New messages in a folder (mailbox.h): APPEND / MULTIAPPEND (RFC 3501
 * 6.3.11, RFC 3502, RFC 4315 APPENDUID) and COPY / MOVE (RFC 3501 6.4.7,
 * RFC 6851, RFC 4315 COPYUID).
 *
 * APPEND writes each message to tmp/ and builds its cache, then makes the
 * files durable, all before taking the user's lock; then, in one
 * transaction: raise tern-uidlist, rename every file into cur/ with its UID
 * and flags, insert the rows, commit; then makes the renames durable. Both
 * syncs are group commits (mail_store_fs_sync(): one syncfs for every
 * APPEND in flight). A failure before the commit removes every file, so
 * MULTIAPPEND adds all or nothing.
 *
 * COPY hard-links each file into the destination's cur/ under a new base
 * name (a copy is another message with its own GUID), or copies its bytes
 * where links are impossible; the cached envelope and structure are copied
 * from row to row. MOVE renames the files instead (same base name, so the
 * GUID follows the message) and expunges them from the source, in the same
 * transaction.
 */
#include "store-private.h"
#include "maildir-files.h"
#include "maildir-names.h"
#include "arena.h"
#include "date.h"
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BUFFER (128 * 1024)

/* ---- APPEND ---- */

struct append_file {
	char *tmp_path;                 /* malloc'd */
	char *cur_path;                 /* after the rename, malloc'd */
	const char *base;
	struct index_message msg;
	struct index_cache cache;
};

static int write_input(int fd, const struct mail_append_input *in)
{
	unsigned char *buf;
	uint64_t off = 0;
	int ret = 0;

	if (in->fd < 0)
		return fs_write_full(fd, in->data, (size_t)in->size);
	buf = i_malloc(COPY_BUFFER);
	while (off < in->size) {
		size_t want = in->size - off > COPY_BUFFER ? COPY_BUFFER : (size_t)(in->size - off);
		ssize_t n = pread(in->fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			ret = -1;
			break;
		}
		if (fs_write_full(fd, buf, (size_t)n) < 0) {
			ret = -1;
			break;
		}
		off += (uint64_t)n;
	}
	free(buf);
	return ret;
}

/* tmp/ file with its mtime = INTERNALDATE, and its cache (made durable
   by the caller's mail_store_fs_sync()). */
static int append_prepare(struct mail_user *user, struct arena *arena, const char *dir,
			  const struct mail_append_input *in, struct append_file *af,
			  struct mail_error *error)
{
	struct timespec times[2];
	const char *err;
	int fd;

	af->base = maildir_name_new_base(arena, user->store->hostname, in->size);
	af->tmp_path = i_strdup_printf("%s/tmp/%s", dir, af->base);
	fd = open(af->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return mail_error_sys(error, "create", af->tmp_path);
	if (write_input(fd, in) < 0) {
		(void)mail_error_sys(error, "write", af->tmp_path);
		close(fd);
		return -1;
	}
	if (in->has_internal_date) {
		times[0].tv_sec = times[1].tv_sec = in->internal_date;
		times[0].tv_nsec = times[1].tv_nsec = 0;
		(void)futimens(fd, times);
	}
	memset(&af->msg, 0, sizeof(af->msg));
	if (mail_cache_build(arena, fd, in->size, &af->msg, &af->cache, &err) < 0) {
		log_error("store", "read path=%s error=%s", log_str(af->tmp_path), log_str(err));
		close(fd);
		return mail_error_set(error, MAIL_ERROR_TEMP, "Cannot read the message back");
	}
	close(fd);
	af->msg.internal_date = in->has_internal_date ? in->internal_date : time(NULL);
	af->msg.tz_offset = in->has_internal_date ? in->tz_offset_min :
		msg_date_local_offset(af->msg.internal_date);
	af->msg.flags = in->flags & MAIL_FLAGS_ALL;
	return 0;
}

static void append_cleanup(struct append_file *files, unsigned int count, bool failed)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (failed) {
			if (files[i].tmp_path != NULL)
				(void)unlink(files[i].tmp_path);
			if (files[i].cur_path != NULL)
				(void)unlink(files[i].cur_path);
		}
		free(files[i].tmp_path);
		free(files[i].cur_path);
	}
}

int mail_append(struct mail_user *user, const char *folder,
		const struct mail_append_input *messages, unsigned int count,
		uint32_t *uidvalidity_r, uint32_t *uids_r, struct mail_error *error_r)
{
	struct arena *arena = arena_new(0);
	struct append_file *files = NULL;
	struct index_folder f;
	const char *norm, *err;
	char *dir = NULL, *cur;
	uint32_t uidnext;
	uint64_t modseq;
	unsigned int i, prepared = 0;
	bool limit, kw_changed = false, committed = false;
	int ret = -1;

	if (count == 0) {
		arena_free(&arena);
		return mail_error_set(error_r, MAIL_ERROR_PARAMS, "Nothing to append");
	}
	if (folder_name_normalize(arena, folder, &norm, &limit, &err) < 0) {
		arena_free(&arena);
		return mail_error_set(error_r, limit ? MAIL_ERROR_LIMIT : MAIL_ERROR_PARAMS, "%s",
				      err);
	}
	/* where it goes: the lock only for the lookup */
	if (user_lock(user, error_r) < 0)
		goto out;
	if (folder_lookup(user, arena, norm, &f, error_r) < 0 &&
	    (error_r->code != MAIL_ERROR_NOTFOUND || folder_list_sync(user, false, error_r) < 0 ||
	     folder_lookup(user, arena, norm, &f, error_r) < 0)) {
		user_unlock(user);
		goto out;
	}
	user_unlock(user);
	dir = user_folder_dir(user, f.name);

	/* the slow part without the lock: write, parse, then make the files
	   durable, sharing one syncfs with every APPEND running meanwhile */
	files = i_malloc(sizeof(*files) * count);
	for (i = 0; i < count; i++) {
		prepared = i + 1;
		if (append_prepare(user, arena, dir, &messages[i], &files[i], error_r) < 0)
			goto out;
	}
	if (mail_store_fs_sync(user->store, error_r) < 0)
		goto out;

	if (user_lock(user, error_r) < 0)
		goto out;
	if (user_begin(user, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	if (user->index->v->folder_get(user->index, arena, f.id, &f) <= 0) {
		mail_error_set(error_r, MAIL_ERROR_NOTFOUND, "Mailbox doesn't exist: %s", norm);
		goto fail;
	}
	for (i = 0; i < count; i++) {
		bool changed;

		if (keywords_to_bits(arena, &f, messages[i].keywords, messages[i].keyword_count, true,
				     &files[i].msg.keywords, &changed, error_r) < 0)
			goto fail;
		kw_changed = kw_changed || changed;
	}
	uidnext = folder_uidnext_floor(dir, &f);
	if ((uint64_t)uidnext + count >= UINT32_MAX) {
		mail_error_set(error_r, MAIL_ERROR_LIMIT, "UIDs exhausted in this mailbox");
		goto fail;
	}
	if (folder_uidlist_raise(user, dir, &f, uidnext + count, error_r) < 0)
		goto fail;
	modseq = f.highestmodseq + 1;
	cur = i_strdup_printf("%s/cur", dir);
	for (i = 0; i < count; i++) {
		struct append_file *af = &files[i];
		struct maildir_name parsed;
		char guid[MAIL_GUID_LEN + 1];
		const char *name;

		maildir_name_parse(af->base, &parsed);
		name = maildir_name_make(arena, af->base, &parsed, uidnext + i, af->msg.flags,
					 af->msg.keywords);
		af->cur_path = i_strdup_printf("%s/%s", cur, name);
		if (rename(af->tmp_path, af->cur_path) < 0) {
			(void)mail_error_sys(error_r, "rename", af->tmp_path);
			i_free(af->cur_path);
			free(cur);
			goto fail;
		}
		i_free(af->tmp_path);
		maildir_name_guid(af->base, &parsed, guid);
		af->msg.uid = uidnext + i;
		af->msg.name = name;
		af->msg.modseq = modseq;
		af->msg.guid = guid;
		if (user->index->v->message_insert(user->index, f.id, &af->msg, &af->cache) < 0) {
			(void)mail_error_index(user, error_r);
			free(cur);
			goto fail;
		}
		uids_r[i] = uidnext + i;
	}
	free(cur);
	f.uidnext = uidnext + count;
	f.highestmodseq = modseq;
	folder_note_cur_changed(dir, &f);
	if (user->index->v->folder_update(user->index, &f) < 0) {
		(void)mail_error_index(user, error_r);
		goto fail;
	}
	if (kw_changed)
		(void)keywords_file_write(dir, f.keywords, f.keyword_count);
	if (user_commit(user, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	user_unlock(user);
	user_notify(user, f.name, f.id);
	*uidvalidity_r = f.id;
	/* the renames durable before APPEND says OK: again one syncfs for
	   every APPEND that committed meanwhile (the user's lock is not held,
	   so sessions of one user share it too). Committed files stay even
	   when this fails: the client retries, at worst a duplicate. */
	committed = true;
	if (mail_store_fs_sync(user->store, error_r) < 0)
		goto out;
	ret = 0;
	goto out;
fail:
	user_rollback(user);
	user_unlock(user);
out:
	if (files != NULL)
		append_cleanup(files, prepared, ret < 0 && !committed);
	free(files);
	free(dir);
	arena_free(&arena);
	return ret;
}

/* ---- COPY / MOVE ---- */

struct copy_row {
	struct index_message msg;
	struct index_cache cache;
};

struct copy_collect {
	struct mailbox_view *view;
	struct arena *arena;
	struct copy_row *rows;
	unsigned int count, alloc;
};

static const void *dup_or_null(struct arena *arena, const void *p, size_t size)
{
	return p == NULL ? NULL : arena_memdup(arena, p, size);
}

static int copy_row_cb(const struct index_message *msg, const struct index_cache *cache,
		       void *context)
{
	struct copy_collect *cc = context;
	struct copy_row *r;
	struct arena *a = cc->arena;

	if (seqmap_uid_to_seq(&cc->view->map, msg->uid) == 0 ||
	    view_is_pending(cc->view, msg->uid))
		return 0;
	if (cc->count == cc->alloc) {
		unsigned int n = cc->alloc == 0 ? 64 : cc->alloc * 2;

		cc->rows = arena_realloc(a, cc->rows, sizeof(*cc->rows) * cc->alloc,
					 sizeof(*cc->rows) * n);
		cc->alloc = n;
	}
	r = &cc->rows[cc->count++];
	r->msg = *msg;
	r->msg.name = arena_strdup(a, msg->name);
	r->msg.guid = arena_strdup(a, msg->guid);
	r->cache.envelope = arena_strdup(a, cache->envelope);
	r->cache.envelope_utf8 = arena_strdup(a, cache->envelope_utf8);
	r->cache.bodystructure = arena_strdup(a, cache->bodystructure);
	r->cache.bodystructure_utf8 = arena_strdup(a, cache->bodystructure_utf8);
	r->cache.body = arena_strdup(a, cache->body);
	r->cache.body_utf8 = arena_strdup(a, cache->body_utf8);
	r->cache.parts = dup_or_null(a, cache->parts, cache->parts_size);
	r->cache.parts_size = cache->parts_size;
	r->cache.header = dup_or_null(a, cache->header, cache->header_size);
	r->cache.header_size = cache->header_size;
	return 0;
}

/* Put a copy of src at dest: a hard link, else the bytes through tmp/. */
static int copy_file(const char *src, const char *dest, const char *tmp_dir,
		     struct mail_error *error)
{
	char *tmp;
	int in, out, ret = -1;
	struct stat st;
	unsigned char *buf;

	if (link(src, dest) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOTSUP &&
	    errno != EOPNOTSUPP)
		return mail_error_sys(error, "link", src);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return mail_error_sys(error, "open", src);
	tmp = i_strdup_printf("%s/copy.%ld.%p", tmp_dir, (long)getpid(), (const void *)dest);
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0 || fstat(in, &st) < 0) {
		(void)mail_error_sys(error, "create", tmp);
		goto done;
	}
	buf = i_malloc(COPY_BUFFER);
	for (;;) {
		ssize_t n = read(in, buf, COPY_BUFFER);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && fs_write_full(out, buf, (size_t)n) < 0)) {
			(void)mail_error_sys(error, "copy", src);
			break;
		}
		if (n == 0) {
			struct timespec times[2] = { st.st_mtim, st.st_mtim };

			(void)futimens(out, times);
			if (fsync(out) < 0 || rename(tmp, dest) < 0)
				(void)mail_error_sys(error, "copy", dest);
			else
				ret = 0;
			break;
		}
	}
	free(buf);
done:
	if (out >= 0)
		close(out);
	close(in);
	if (ret < 0)
		(void)unlink(tmp);
	free(tmp);
	return ret;
}

static int uid_row_desc(const void *a, const void *b)
{
	const struct mailbox_expunge *x = a, *y = b;

	return x->uid > y->uid ? -1 : x->uid < y->uid ? 1 : 0;
}

int mailbox_copy(struct mailbox_view *view, const struct mail_uid_range *uids,
		 unsigned int range_count, const char *dest, bool move, struct arena *arena,
		 struct mail_copy_result *result_r, struct mail_error *error_r)
{
	struct mail_user *user = view->user;
	struct mail_index *idx;
	struct index_folder src, dst;
	struct copy_collect cc;
	struct mail_uid_range *ranges;
	const char *norm, *err;
	char *src_dir = NULL, *dst_dir = NULL, *dst_cur = NULL, *dst_tmp = NULL;
	char **made = NULL;
	unsigned int range_n, i, made_count = 0;
	uint32_t uidnext;
	uint64_t dst_modseq, src_modseq;
	bool limit, kw_changed = false, same, uptodate;
	int ret = -1;

	memset(result_r, 0, sizeof(*result_r));
	if (move && mailbox_is_readonly(view))
		return mail_error_set(error_r, MAIL_ERROR_NOTPOSSIBLE, "Mailbox is read-only");
	if (folder_name_normalize(arena, dest, &norm, &limit, &err) < 0)
		return mail_error_set(error_r, limit ? MAIL_ERROR_LIMIT : MAIL_ERROR_PARAMS, "%s",
				      err);
	if (view_lock(view, arena, &src, error_r) < 0)
		return -1;
	idx = user->index;
	if (folder_lookup(user, arena, norm, &dst, error_r) < 0) {
		user_unlock(user);
		return -1;
	}
	if (user_begin(user, error_r) < 0) {
		user_unlock(user);
		return -1;
	}
	if (idx->v->folder_get(idx, arena, view->folder_id, &src) <= 0 ||
	    idx->v->folder_get(idx, arena, dst.id, &dst) <= 0) {
		mail_error_set(error_r, MAIL_ERROR_GONE, "The mailbox was deleted");
		goto fail;
	}
	same = src.id == dst.id;
	uptodate = view->modseq == src.highestmodseq;
	memset(&cc, 0, sizeof(cc));
	cc.view = view;
	cc.arena = arena;
	ranges_normalize(arena, uids, range_count, &ranges, &range_n);
	for (i = 0; i < range_n; i++) {
		if (idx->v->messages_read(idx, src.id, ranges[i].first, ranges[i].last,
					  INDEX_COL_ENVELOPE | INDEX_COL_BODYSTRUCTURE |
					  INDEX_COL_BODY | INDEX_COL_PARTS | INDEX_COL_HEADER, 0,
					  copy_row_cb, &cc) < 0) {
			(void)mail_error_index(user, error_r);
			goto fail;
		}
	}
	if (cc.count == 0) {
		user_rollback(user);
		user_unlock(user);
		result_r->dest_uidvalidity = dst.id;
		return 0;
	}
	src_dir = user_folder_dir(user, src.name);
	dst_dir = user_folder_dir(user, dst.name);
	dst_cur = i_strdup_printf("%s/cur", dst_dir);
	dst_tmp = i_strdup_printf("%s/tmp", dst_dir);

	uidnext = folder_uidnext_floor(dst_dir, &dst);
	if ((uint64_t)uidnext + cc.count >= UINT32_MAX) {
		mail_error_set(error_r, MAIL_ERROR_LIMIT, "UIDs exhausted in %s", dst.name);
		goto fail;
	}
	if (folder_uidlist_raise(user, dst_dir, &dst, uidnext + cc.count, error_r) < 0)
		goto fail;
	dst_modseq = dst.highestmodseq + 1;
	src_modseq = same ? dst_modseq : src.highestmodseq + 1;
	result_r->src_uids = arena_new_array(arena, uint32_t, cc.count);
	result_r->dest_uids = arena_new_array(arena, uint32_t, cc.count);
	made = i_malloc(sizeof(char *) * cc.count);
	for (i = 0; i < cc.count; i++) {
		struct copy_row *r = &cc.rows[i];
		const char *const *kw_names;
		unsigned int kw_count;
		struct maildir_name parsed;
		char guid[MAIL_GUID_LEN + 1];
		const char *base, *name;
		char *from;
		uint32_t kw;
		bool changed;

		/* keywords go by name: the folders' letters differ */
		keywords_from_bits(arena, &src, r->msg.keywords, &kw_names, &kw_count);
		if (keywords_to_bits(arena, &dst, kw_names, kw_count, true, &kw, &changed,
				     error_r) < 0)
			goto fail;
		kw_changed = kw_changed || changed;
		maildir_name_parse(r->msg.name, &parsed);
		if (move) {
			base = maildir_name_base(arena, r->msg.name, &parsed);
		} else {
			base = maildir_name_new_base(arena, user->store->hostname, r->msg.raw_size);
		}
		maildir_name_parse(base, &parsed);
		name = maildir_name_make(arena, base, &parsed, uidnext + i, r->msg.flags, kw);
		maildir_name_guid(base, &parsed, guid);
		from = i_strdup_printf("%s/cur/%s", src_dir, r->msg.name);
		made[made_count] = i_strdup_printf("%s/%s", dst_cur, name);
		if (move ? rename(from, made[made_count]) < 0 :
		    copy_file(from, made[made_count], dst_tmp, error_r) < 0) {
			if (move || error_r->code == MAIL_ERROR_NONE) {
				if (errno == ENOENT)
					mail_error_set(error_r, MAIL_ERROR_EXPUNGED,
						       "Some messages were expunged meanwhile");
				else
					(void)mail_error_sys(error_r, move ? "rename" : "copy",
							     from);
			}
			free(from);
			free(made[made_count]);
			goto fail;
		}
		free(from);
		made_count++;
		result_r->src_uids[i] = r->msg.uid;
		result_r->dest_uids[i] = uidnext + i;
		{
			struct index_message m = r->msg;

			m.uid = uidnext + i;
			m.name = name;
			m.keywords = kw;
			m.modseq = dst_modseq;
			m.guid = guid;
			if (idx->v->message_insert(idx, dst.id, &m, &r->cache) < 0) {
				(void)mail_error_index(user, error_r);
				goto fail;
			}
		}
	}
	if (fs_fsync_dir(dst_cur) < 0) {
		(void)mail_error_sys(error_r, "fsync", dst_cur);
		goto fail;
	}
	dst.uidnext = uidnext + cc.count;
	dst.highestmodseq = dst_modseq;
	folder_note_cur_changed(dst_dir, &dst);
	if (idx->v->folder_update(idx, &dst) < 0) {
		(void)mail_error_index(user, error_r);
		goto fail;
	}
	if (kw_changed)
		(void)keywords_file_write(dst_dir, dst.keywords, dst.keyword_count);
	if (move) {
		if (same)
			src = dst;
		for (i = 0; i < cc.count; i++) {
			if (idx->v->message_expunge(idx, src.id, cc.rows[i].msg.uid, src_modseq) < 0) {
				(void)mail_error_index(user, error_r);
				goto fail;
			}
		}
		src.highestmodseq = src_modseq;
		folder_note_cur_changed(src_dir, &src);
		if (idx->v->folder_update(idx, &src) < 0) {
			(void)mail_error_index(user, error_r);
			goto fail;
		}
	}
	if (user_commit(user, error_r) < 0) {
		/* the links and renames stay; the next sync of each folder puts
		   the index in step with them */
		user_unlock(user);
		goto out;
	}
	user_unlock(user);
	ret = 0;
	result_r->dest_uidvalidity = dst.id;
	result_r->count = cc.count;
	if (move) {
		struct mailbox_expunge *ex = arena_new_array(arena, struct mailbox_expunge,
							     cc.count);
		unsigned int n = 0;

		for (i = 0; i < cc.count; i++)
			ex[i].uid = result_r->src_uids[i];
		qsort(ex, cc.count, sizeof(*ex), uid_row_desc);
		for (i = 0; i < cc.count; i++) {
			uint32_t seq = view_remove_uid(view, ex[i].uid);

			if (seq != 0) {
				ex[n].seq = seq;
				ex[n].uid = ex[i].uid;
				n++;
			}
		}
		result_r->expunges = ex;
		result_r->expunge_count = n;
		if (uptodate && !same)
			view->modseq = src_modseq;
		user_notify(user, src.name, src.id);
	}
	user_notify(user, dst.name, dst.id);
	goto out;
fail:
	user_rollback(user);
	user_unlock(user);
	/* undo what was made: the copies go, moved files come back */
	for (i = 0; i < made_count; i++) {
		if (move) {
			char *back = i_strdup_printf("%s/cur/%s", src_dir, cc.rows[i].msg.name);

			(void)rename(made[i], back);
			free(back);
		} else {
			(void)unlink(made[i]);
		}
	}
out:
	for (i = 0; i < made_count; i++)
		free(made[i]);
	free(made);
	free(src_dir);
	free(dst_dir);
	free(dst_cur);
	free(dst_tmp);
	return ret;
}
