/*
 * Changing messages in place (mailbox.h): STORE of flags and keywords
 * (RFC 3501 6.4.6, RFC 7162 UNCHANGEDSINCE) and EXPUNGE (RFC 3501 6.4.3,
 * RFC 4315 UID EXPUNGE). Flags live in the index and in the file name's
 * ":2," suffix, so every change is a rename too; keywords get letters a-z
 * through the folder's dovecot-keywords. Each call is one transaction with
 * one new MODSEQ.
 */
#include "store-private.h"
#include "maildir-files.h"
#include "maildir-names.h"
#include "arena.h"
#include "log.h"
#include "tern-limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORWARDED "$Forwarded"

/* ---- keywords ---- */

static bool keyword_is_valid(const char *name)
{
	const unsigned char *p;

	if (*name == '\0' || *name == '\\' || strlen(name) > MAIL_KEYWORD_MAX_LEN)
		return false;
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		/* RFC 3501 9 atom-char: no controls, SP, ( ) { % * " \ ] */
		if (*p <= ' ' || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

int keywords_to_bits(struct arena *arena, struct index_folder *folder,
		     const char *const *names, unsigned int count, bool create,
		     uint32_t *bits_r, bool *changed_r, struct mail_error *error)
{
	uint32_t bits = 0;
	unsigned int i, k;

	*changed_r = false;
	for (i = 0; i < count; i++) {
		int slot = -1;

		if (i_strcasecmp(names[i], FORWARDED) == 0) {
			bits |= INDEX_KEYWORD_PASSED;
			continue;
		}
		if (!keyword_is_valid(names[i]))
			return mail_error_set(error, MAIL_ERROR_PARAMS, "Invalid keyword");
		for (k = 0; k < folder->keyword_count; k++) {
			/* RFC 3501 2.3.2: keywords are case-insensitive */
			if (i_strcasecmp(folder->keywords[k], names[i]) == 0)
				break;
		}
		if (k < folder->keyword_count) {
			bits |= 1U << k;
			continue;
		}
		if (!create)
			continue;
		for (k = 0; k < folder->keyword_count; k++) {
			if (folder->keywords[k][0] == '\0') {
				slot = (int)k;
				break;
			}
		}
		if (slot < 0 && folder->keyword_count >= TERN_STORE_MAX_KEYWORDS)
			return mail_error_set(error, MAIL_ERROR_LIMIT,
					      "Too many keywords in this mailbox (%d)",
					      TERN_STORE_MAX_KEYWORDS);
		{
			unsigned int n = slot < 0 ? folder->keyword_count + 1 : folder->keyword_count;
			const char **kw = arena_new_array(arena, const char *, n);

			if (folder->keyword_count > 0)
				memcpy(kw, folder->keywords, sizeof(*kw) * folder->keyword_count);
			if (slot < 0)
				slot = (int)folder->keyword_count;
			kw[slot] = arena_strdup(arena, names[i]);
			folder->keywords = kw;
			folder->keyword_count = n;
		}
		bits |= 1U << slot;
		*changed_r = true;
	}
	*bits_r = bits;
	return 0;
}

void keywords_from_bits(struct arena *arena, const struct index_folder *folder, uint32_t bits,
			const char *const **names_r, unsigned int *count_r)
{
	const char **names;
	unsigned int n = 0, i;

	*names_r = NULL;
	*count_r = 0;
	if (bits == 0)
		return;
	names = arena_new_array(arena, const char *, 27);
	if ((bits & INDEX_KEYWORD_PASSED) != 0)
		names[n++] = FORWARDED;
	for (i = 0; i < 26 && i < folder->keyword_count; i++) {
		if ((bits & (1U << i)) != 0 && folder->keywords[i][0] != '\0')
			names[n++] = folder->keywords[i];
	}
	*names_r = names;
	*count_r = n;
}

int message_file_set_flags(struct arena *arena, const char *cur_dir, const char *name,
			   uint32_t uid, unsigned int flags, uint32_t keywords,
			   const char **new_name_r, struct mail_error *error)
{
	struct maildir_name parsed;
	const char *new_name;
	char *from, *to;
	int ret = 0;

	maildir_name_parse(name, &parsed);
	new_name = maildir_name_make(arena, name, &parsed, uid, flags, keywords);
	*new_name_r = new_name;
	if (strcmp(new_name, name) == 0)
		return 0;
	from = i_strdup_printf("%s/%s", cur_dir, name);
	to = i_strdup_printf("%s/%s", cur_dir, new_name);
	if (rename(from, to) < 0) {
		if (errno == ENOENT)
			*new_name_r = NULL;	/* vanished: the next sync expunges it */
		else
			ret = mail_error_sys(error, "rename", from);
	}
	free(from);
	free(to);
	return ret;
}

/* ---- rows of a view in UID ranges ---- */

struct row {
	uint32_t uid;
	const char *name;
	unsigned int flags;
	uint32_t keywords;
	uint64_t modseq;
};

struct row_collect {
	struct mailbox_view *view;
	struct arena *arena;
	struct row *rows;
	unsigned int count, alloc;
	bool deleted_only;
};

static int row_cb(const struct index_message *msg, const struct index_cache *cache,
		  void *context)
{
	struct row_collect *rc = context;
	struct row *r;

	if (seqmap_uid_to_seq(&rc->view->map, msg->uid) == 0 ||
	    view_is_pending(rc->view, msg->uid) ||
	    (rc->deleted_only && (msg->flags & MAIL_DELETED) == 0))
		return 0;
	if (rc->count == rc->alloc) {
		unsigned int n = rc->alloc == 0 ? 64 : rc->alloc * 2;

		rc->rows = arena_realloc(rc->arena, rc->rows, sizeof(*rc->rows) * rc->alloc,
					 sizeof(*rc->rows) * n);
		rc->alloc = n;
	}
	r = &rc->rows[rc->count++];
	r->uid = msg->uid;
	r->name = arena_strdup(rc->arena, msg->name);
	r->flags = msg->flags;
	r->keywords = msg->keywords;
	r->modseq = msg->modseq;
	return 0;
}

static int collect_rows(struct mailbox_view *view, struct arena *arena,
			const struct mail_uid_range *uids, unsigned int range_count,
			bool deleted_only, struct row_collect *rc, struct mail_error *error)
{
	struct mail_index *idx = view->user->index;
	struct mail_uid_range *ranges;
	unsigned int count, i;

	memset(rc, 0, sizeof(*rc));
	rc->view = view;
	rc->arena = arena;
	rc->deleted_only = deleted_only;
	ranges_normalize(arena, uids, range_count, &ranges, &count);
	for (i = 0; i < count; i++) {
		if (idx->v->messages_read(idx, view->folder_id, ranges[i].first, ranges[i].last,
					  0, 0, row_cb, rc) < 0)
			return mail_error_index(view->user, error);
	}
	return 0;
}

/* ---- STORE ---- */

int mailbox_store(struct mailbox_view *view, const struct mail_uid_range *uids,
		  unsigned int range_count, const struct mail_flags_change *change,
		  struct arena *arena, struct mail_flags_result **results_r,
		  unsigned int *result_count_r, uint32_t **modified_r,
		  unsigned int *modified_count_r, struct mail_error *error_r)
{
	struct mail_user *user = view->user;
	struct mail_index *idx;
	struct index_folder f;
	struct row_collect rc;
	struct mail_flags_result *results;
	uint32_t *modified, kw_bits = 0;
	unsigned int i, nres = 0, nmod = 0, changed_count = 0;
	uint64_t modseq, before;
	bool kw_changed = false, uptodate;
	char *dir = NULL, *cur = NULL;

	*results_r = NULL;
	*result_count_r = 0;
	*modified_r = NULL;
	*modified_count_r = 0;
	if (mailbox_is_readonly(view))
		return mail_error_set(error_r, MAIL_ERROR_NOTPOSSIBLE, "Mailbox is read-only");
	if (view_lock(view, arena, &f, error_r) < 0)
		return -1;
	idx = user->index;
	if (user_begin(user, error_r) < 0)
		goto fail_unlocked;
	if (idx->v->folder_get(idx, arena, view->folder_id, &f) <= 0) {
		(void)mail_error_set(error_r, MAIL_ERROR_GONE, "The mailbox was deleted");
		goto fail;
	}
	before = f.highestmodseq;
	uptodate = view->modseq == before;
	modseq = before + 1;
	if (keywords_to_bits(arena, &f, change->keywords, change->keyword_count,
			     change->op != MAIL_FLAGS_REMOVE, &kw_bits, &kw_changed, error_r) < 0)
		goto fail;
	if (collect_rows(view, arena, uids, range_count, false, &rc, error_r) < 0)
		goto fail;
	dir = user_folder_dir(user, f.name);
	cur = i_strdup_printf("%s/cur", dir);
	results = arena_new_array(arena, struct mail_flags_result, rc.count + 1);
	modified = arena_new_array(arena, uint32_t, rc.count + 1);
	for (i = 0; i < rc.count; i++) {
		struct row *r = &rc.rows[i];
		unsigned int flags = r->flags;
		uint32_t kw = r->keywords;
		const char *new_name;
		struct mail_flags_result *res;

		switch (change->op) {
		case MAIL_FLAGS_REPLACE:
			flags = change->flags & MAIL_FLAGS_ALL;
			kw = kw_bits;
			break;
		case MAIL_FLAGS_ADD:
			flags |= change->flags & MAIL_FLAGS_ALL;
			kw |= kw_bits;
			break;
		case MAIL_FLAGS_REMOVE:
			flags &= ~(change->flags & MAIL_FLAGS_ALL);
			kw &= ~kw_bits;
			break;
		}
		/* RFC 7162 3.1.3: changed since the client looked: refuse */
		if (change->unchanged_since != 0 && r->modseq > change->unchanged_since) {
			modified[nmod++] = r->uid;
			continue;
		}
		res = &results[nres];
		res->uid = r->uid;
		if (flags == r->flags && kw == r->keywords) {
			res->flags = flags;
			res->modseq = r->modseq;
			keywords_from_bits(arena, &f, kw, &res->keywords, &res->keyword_count);
			nres++;
			continue;
		}
		if (message_file_set_flags(arena, cur, r->name, r->uid, flags, kw, &new_name,
					   error_r) < 0)
			goto fail;
		if (new_name == NULL)
			continue;	/* the file vanished */
		if (idx->v->message_set_flags(idx, f.id, r->uid, new_name, flags, kw, modseq) < 0) {
			(void)mail_error_index(user, error_r);
			goto fail;
		}
		res->flags = flags;
		res->modseq = modseq;
		res->changed = true;
		keywords_from_bits(arena, &f, kw, &res->keywords, &res->keyword_count);
		nres++;
		changed_count++;
	}
	if (changed_count > 0 || kw_changed) {
		if (changed_count > 0) {
			f.highestmodseq = modseq;
			folder_note_cur_changed(dir, &f);
		}
		if (idx->v->folder_update(idx, &f) < 0) {
			(void)mail_error_index(user, error_r);
			goto fail;
		}
		if (kw_changed && keywords_file_write(dir, f.keywords, f.keyword_count) < 0)
			log_warning("store", "write path=%s/" KEYWORDS_FILE " error=%s", log_str(dir),
				    log_str(strerror(errno)));
	}
	if (user_commit(user, error_r) < 0)
		goto fail_unlocked;
	user_unlock(user);
	if (changed_count > 0) {
		/* what this view did is not reported back to it */
		if (uptodate) {
			view->modseq = modseq;
		} else {
			for (i = 0; i < nres; i++) {
				if (results[i].changed)
					view_note_own_change(view, results[i].uid, modseq);
			}
		}
		user_notify(user, f.name, f.id);
	}
	for (i = 0; i < nres; i++)
		results[i].seq = seqmap_uid_to_seq(&view->map, results[i].uid);
	free(dir);
	free(cur);
	*results_r = results;
	*result_count_r = nres;
	*modified_r = modified;
	*modified_count_r = nmod;
	if (nres == 0 && nmod > 0)
		return mail_error_set(error_r, MAIL_ERROR_MODIFIED,
				      "Every message was modified since");
	return 0;

fail:
	user_rollback(user);
fail_unlocked:
	user_unlock(user);
	free(dir);
	free(cur);
	return -1;
}

/* ---- EXPUNGE ---- */

static int uid_desc_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->uid > y->uid ? -1 : x->uid < y->uid ? 1 : 0;
}

static int expunge(struct mailbox_view *view, const struct mail_uid_range *uids,
		   unsigned int range_count, bool deleted_only, struct arena *arena,
		   struct mailbox_expunge **expunged_r, unsigned int *count_r,
		   struct mail_error *error_r)
{
	struct mail_user *user = view->user;
	struct mail_index *idx;
	struct index_folder f;
	struct row_collect rc;
	struct mailbox_expunge *out;
	uint64_t modseq;
	unsigned int i, n = 0;
	bool uptodate;
	char *dir = NULL;

	*expunged_r = NULL;
	*count_r = 0;
	if (mailbox_is_readonly(view))
		return mail_error_set(error_r, MAIL_ERROR_NOTPOSSIBLE, "Mailbox is read-only");
	if (view_lock(view, arena, &f, error_r) < 0)
		return -1;
	idx = user->index;
	if (user_begin(user, error_r) < 0) {
		user_unlock(user);
		return -1;
	}
	if (idx->v->folder_get(idx, arena, view->folder_id, &f) <= 0) {
		(void)mail_error_set(error_r, MAIL_ERROR_GONE, "The mailbox was deleted");
		goto fail;
	}
	uptodate = view->modseq == f.highestmodseq;
	modseq = f.highestmodseq + 1;
	if (collect_rows(view, arena, uids, range_count, deleted_only, &rc, error_r) < 0)
		goto fail;
	if (rc.count == 0) {
		user_rollback(user);
		user_unlock(user);
		return 0;
	}
	dir = user_folder_dir(user, f.name);
	for (i = 0; i < rc.count; i++) {
		char *path = i_strdup_printf("%s/cur/%s", dir, rc.rows[i].name);

		/* the file goes first: an expunged message must never come
		   back, and a file without its row is taken in again */
		if (unlink(path) < 0 && errno != ENOENT) {
			(void)mail_error_sys(error_r, "unlink", path);
			free(path);
			goto fail;
		}
		free(path);
		if (idx->v->message_expunge(idx, f.id, rc.rows[i].uid, modseq) < 0) {
			(void)mail_error_index(user, error_r);
			goto fail;
		}
	}
	f.highestmodseq = modseq;
	folder_note_cur_changed(dir, &f);
	if (idx->v->folder_update(idx, &f) < 0) {
		(void)mail_error_index(user, error_r);
		goto fail;
	}
	if (user_commit(user, error_r) < 0) {
		user_unlock(user);
		free(dir);
		return -1;
	}
	user_unlock(user);
	free(dir);
	if (uptodate)
		view->modseq = modseq;
	/* descending: each seq is valid when its EXPUNGE is sent */
	qsort(rc.rows, rc.count, sizeof(*rc.rows), uid_desc_cmp);
	out = arena_new_array(arena, struct mailbox_expunge, rc.count);
	for (i = 0; i < rc.count; i++) {
		uint32_t seq = view_remove_uid(view, rc.rows[i].uid);

		if (seq != 0) {
			out[n].seq = seq;
			out[n].uid = rc.rows[i].uid;
			n++;
		}
	}
	user_notify(user, f.name, f.id);
	*expunged_r = out;
	*count_r = n;
	return 0;
fail:
	user_rollback(user);
	user_unlock(user);
	free(dir);
	return -1;
}

int mailbox_expunge(struct mailbox_view *view, const struct mail_uid_range *uids,
		    unsigned int range_count, struct arena *arena,
		    struct mailbox_expunge **expunged_r, unsigned int *count_r,
		    struct mail_error *error_r)
{
	return expunge(view, uids, range_count, true, arena, expunged_r, count_r, error_r);
}

int mailbox_expunge_uids(struct mailbox_view *view, const struct mail_uid_range *uids,
			 unsigned int range_count, struct arena *arena,
			 struct mailbox_expunge **expunged_r, unsigned int *count_r,
			 struct mail_error *error_r)
{
	i_assert(uids != NULL);
	return expunge(view, uids, range_count, false, arena, expunged_r, count_r, error_r);
}
