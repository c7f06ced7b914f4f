/*
 * Views (mailbox.h): one session's picture of one folder, the sequence
 * map the client knows, \Recent claims, expunges held back while IMAP may
 * not announce them, and the MODSEQ up to which changes were reported.
 * A view is small: the run-length sequence map, two small arrays, no index
 * connection (the user's one is shared, docs/store.md "Views").
 */
#include "store-private.h"
#include "mail-notify.h"
#include "maildir-names.h"
#include "arena.h"
#include "log.h"
#include "tern-limits.h"

#include <stdlib.h>

/* Beyond this many own changes between two syncs, they are reported back
   again (harmless: a FETCH FLAGS may always be sent) rather than stored. */
#define VIEW_OWN_CHANGES_MAX 100000

/* ---- UID ranges ---- */

static int range_cmp(const void *a, const void *b)
{
	const struct mail_uid_range *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last ? 1 : 0;
}

void ranges_normalize(struct arena *arena, const struct mail_uid_range *ranges,
		      unsigned int count, struct mail_uid_range **out_r, unsigned int *count_r)
{
	struct mail_uid_range *out;
	unsigned int i, n = 0;

	if (ranges == NULL) {
		out = arena_new_array(arena, struct mail_uid_range, 1);
		out[0].first = 1;
		out[0].last = UINT32_MAX;
		*out_r = out;
		*count_r = 1;
		return;
	}
	out = arena_new_array(arena, struct mail_uid_range, count + 1);
	for (i = 0; i < count; i++) {
		out[i].first = I_MIN(ranges[i].first, ranges[i].last);
		out[i].last = I_MAX(ranges[i].first, ranges[i].last);
	}
	if (count > 1)
		qsort(out, count, sizeof(*out), range_cmp);
	for (i = 0; i < count; i++) {
		if (n > 0 && (out[n - 1].last == UINT32_MAX || out[i].first <= out[n - 1].last + 1)) {
			if (out[i].last > out[n - 1].last)
				out[n - 1].last = out[i].last;
		} else {
			out[n++] = out[i];
		}
	}
	*out_r = out;
	*count_r = n;
}

uint32_t view_next_uid(const struct mailbox_view *view, const struct mail_uid_range *ranges,
		       unsigned int range_count, uint32_t from)
{
	unsigned int i;

	for (i = 0; i < range_count; i++) {
		uint32_t start, uid;

		if (ranges[i].last < from)
			continue;
		start = I_MAX(from, ranges[i].first);
		uid = seqmap_next_uid(&view->map, start);
		if (uid == 0)
			return 0;
		if (uid <= ranges[i].last)
			return uid;
	}
	return 0;
}

/* ---- small sets ---- */

static bool pending_find(const struct mailbox_view *view, uint32_t uid, unsigned int *pos_r)
{
	unsigned int lo = 0, hi = view->pending_count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (view->pending[mid] == uid) {
			*pos_r = mid;
			return true;
		}
		if (view->pending[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos_r = lo;
	return false;
}

bool view_is_pending(const struct mailbox_view *view, uint32_t uid)
{
	unsigned int pos;

	return view->pending_count > 0 && pending_find(view, uid, &pos);
}

static void pending_add(struct mailbox_view *view, uint32_t uid)
{
	unsigned int pos;

	if (pending_find(view, uid, &pos))
		return;
	if (view->pending_count == view->pending_alloc) {
		view->pending_alloc = view->pending_alloc == 0 ? 8 : view->pending_alloc * 2;
		view->pending = i_realloc(view->pending, sizeof(uint32_t) * view->pending_alloc);
	}
	memmove(view->pending + pos + 1, view->pending + pos,
		sizeof(uint32_t) * (view->pending_count - pos));
	view->pending[pos] = uid;
	view->pending_count++;
}

void view_note_own_change(struct mailbox_view *view, uint32_t uid, uint64_t modseq)
{
	if (view->own_count >= VIEW_OWN_CHANGES_MAX) {
		view->own_overflow = true;
		return;
	}
	if (view->own_count == view->own_alloc) {
		view->own_alloc = view->own_alloc == 0 ? 16 : view->own_alloc * 2;
		view->own = i_realloc(view->own, sizeof(*view->own) * view->own_alloc);
	}
	view->own[view->own_count].uid = uid;
	view->own[view->own_count].modseq = modseq;
	view->own_count++;
}

static int own_cmp(const void *a, const void *b)
{
	const struct view_own_change *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->modseq < y->modseq ? -1 : x->modseq > y->modseq ? 1 : 0;
}

/* The row's current state is the view's own doing (own[] sorted by
   own_cmp at the start of the sync). */
static bool is_own_change(const struct mailbox_view *view, uint32_t uid, uint64_t modseq)
{
	struct view_own_change key = { uid, modseq };

	return view->own_count > 0 &&
		bsearch(&key, view->own, view->own_count, sizeof(key), own_cmp) != NULL;
}

uint32_t view_remove_uid(struct mailbox_view *view, uint32_t uid)
{
	unsigned int pos;

	if (view->pending_count > 0 && pending_find(view, uid, &pos)) {
		memmove(view->pending + pos, view->pending + pos + 1,
			sizeof(uint32_t) * (view->pending_count - pos - 1));
		view->pending_count--;
	}
	return seqmap_remove(&view->map, uid);
}

static void recent_add(struct mailbox_view *view, uint32_t first, uint32_t last)
{
	if (view->recent_count > 0 && view->recent[view->recent_count - 1].last + 1 == first) {
		view->recent[view->recent_count - 1].last = last;
		return;
	}
	if (view->recent_count == view->recent_alloc) {
		view->recent_alloc = view->recent_alloc == 0 ? 2 : view->recent_alloc * 2;
		view->recent = i_realloc(view->recent, sizeof(*view->recent) * view->recent_alloc);
	}
	view->recent[view->recent_count].first = first;
	view->recent[view->recent_count].last = last;
	view->recent_count++;
}

/* ---- accessors (memory only) ---- */

uint32_t mailbox_count(const struct mailbox_view *view)
{
	return seqmap_count(&view->map);
}

uint32_t mailbox_seq_to_uid(const struct mailbox_view *view, uint32_t seq)
{
	return seqmap_seq_to_uid(&view->map, seq);
}

uint32_t mailbox_uid_to_seq(const struct mailbox_view *view, uint32_t uid)
{
	return seqmap_uid_to_seq(&view->map, uid);
}

uint32_t mailbox_uid_to_seq_ceil(const struct mailbox_view *view, uint32_t uid)
{
	return seqmap_uid_to_seq_ceil(&view->map, uid);
}

uint32_t mailbox_last_uid(const struct mailbox_view *view)
{
	return seqmap_last_uid(&view->map);
}

bool mailbox_is_recent(const struct mailbox_view *view, uint32_t uid)
{
	unsigned int i;

	for (i = 0; i < view->recent_count; i++) {
		if (uid >= view->recent[i].first && uid <= view->recent[i].last)
			return seqmap_uid_to_seq(&view->map, uid) != 0;
	}
	return false;
}

uint32_t mailbox_recent_count(const struct mailbox_view *view)
{
	uint32_t n = 0;
	unsigned int i;

	for (i = 0; i < view->recent_count; i++) {
		uint32_t a = seqmap_uid_to_seq_ceil(&view->map, view->recent[i].first);
		uint32_t b = view->recent[i].last == UINT32_MAX ? seqmap_count(&view->map) + 1 :
			seqmap_uid_to_seq_ceil(&view->map, view->recent[i].last + 1);

		n += b - a;
	}
	return n;
}

bool mailbox_is_expunged(const struct mailbox_view *view, uint32_t uid)
{
	return view_is_pending(view, uid);
}

bool mailbox_is_readonly(const struct mailbox_view *view)
{
	return (view->open_flags & MAILBOX_OPEN_READONLY) != 0;
}

/* ---- open / close ---- */

static int collect_uid_cb(const struct index_message *msg, const struct index_cache *cache,
			  void *context)
{
	struct mailbox_view *view = context;

	seqmap_append(&view->map, msg->uid);
	return 0;
}

/* Claim the messages no view has claimed yet as \Recent for this one
   (inside a transaction; folder is updated). */
static int claim_recent(struct mailbox_view *view, struct index_folder *folder,
			struct mail_error *error)
{
	if ((view->open_flags & (MAILBOX_OPEN_READONLY | MAILBOX_OPEN_NO_RECENT)) != 0 ||
	    folder->recent_uid >= folder->uidnext)
		return 0;
	recent_add(view, folder->recent_uid, folder->uidnext - 1);
	folder->recent_uid = folder->uidnext;
	if (view->user->index->v->folder_update(view->user->index, folder) < 0)
		return mail_error_index(view->user, error);
	return 0;
}

int mailbox_open(struct mail_user *user, const char *name, unsigned int flags,
		 struct mailbox_view **view_r, struct mail_error *error_r)
{
	struct arena *arena = arena_new(0);
	struct mailbox_view *view;
	struct index_folder f;
	const char *norm, *err;
	bool limit;

	if (folder_name_normalize(arena, name, &norm, &limit, &err) < 0) {
		arena_free(&arena);
		return mail_error_set(error_r, limit ? MAIL_ERROR_LIMIT : MAIL_ERROR_PARAMS,
				      "%s", err);
	}
	if (user_lock(user, error_r) < 0) {
		arena_free(&arena);
		return -1;
	}
	if ((folder_lookup(user, arena, norm, &f, error_r) < 0 &&
	     (error_r->code != MAIL_ERROR_NOTFOUND || folder_list_sync(user, false, error_r) < 0 ||
	      folder_lookup(user, arena, norm, &f, error_r) < 0)) ||
	    folder_sync(user, arena, &f, 0, error_r) < 0) {
		if (error_r->code == MAIL_ERROR_GONE)
			error_r->code = MAIL_ERROR_NOTFOUND;
		user_unlock(user);
		arena_free(&arena);
		return -1;
	}
	view = i_malloc(sizeof(*view));
	view->user = user;
	view->open_flags = flags;
	seqmap_init(&view->map);
	if (user_begin(user, error_r) < 0)
		goto fail;
	if (user->index->v->folder_get(user->index, arena, f.id, &f) <= 0 ||
	    user->index->v->messages_read(user->index, f.id, 1, UINT32_MAX, 0, 0,
					  collect_uid_cb, view) < 0) {
		(void)mail_error_index(user, error_r);
		user_rollback(user);
		goto fail;
	}
	if (claim_recent(view, &f, error_r) < 0) {
		user_rollback(user);
		goto fail;
	}
	if (user_commit(user, error_r) < 0)
		goto fail;
	view->folder_id = f.id;
	view->name = i_strdup(f.name);
	view->uidnext = f.uidnext;
	view->modseq = f.highestmodseq;
	view->epoch = user->epoch;
	view->keyword_count = f.keyword_count;
	user_unlock(user);
	mail_user_ref(user);
	arena_free(&arena);
	*view_r = view;
	return 0;
fail:
	user_unlock(user);
	seqmap_free(&view->map);
	free(view->recent);
	free(view);
	arena_free(&arena);
	return -1;
}

void mailbox_close(struct mailbox_view **viewp)
{
	struct mailbox_view *view = *viewp;

	if (view == NULL)
		return;
	*viewp = NULL;
	if (view->watch != NULL)
		mail_store_unwatch(&view->watch);
	seqmap_free(&view->map);
	free(view->pending);
	free(view->recent);
	free(view->own);
	free(view->name);
	mail_user_unref(&view->user);
	free(view);
}

int view_lock(struct mailbox_view *view, struct arena *arena, struct index_folder *folder_r,
	      struct mail_error *error)
{
	int ret;

	if (user_lock(view->user, error) < 0)
		return -1;
	ret = view->user->index->v->folder_get(view->user->index, arena, view->folder_id, folder_r);
	if (ret <= 0) {
		if (ret < 0)
			(void)mail_error_index(view->user, error);
		else
			mail_error_set(error, MAIL_ERROR_GONE, "The mailbox was deleted");
		user_unlock(view->user);
		return -1;
	}
	if (strcmp(folder_r->name, view->name) != 0) {
		/* renamed by another session: the view follows */
		free(view->name);
		view->name = i_strdup(folder_r->name);
		if (view->watch != NULL)
			mail_hub_watch_set_name(view->watch, view->name);
	}
	return 0;
}

int mailbox_get_info(struct mailbox_view *view, struct arena *arena, struct mailbox_info *info_r,
		     struct mail_error *error_r)
{
	struct index_folder f;
	struct index_stats st;
	const char **kw;
	unsigned int i, n = 0, named = 0;

	memset(info_r, 0, sizeof(*info_r));
	if (view_lock(view, arena, &f, error_r) < 0)
		return -1;
	if (view->user->index->v->folder_stats(view->user->index, &f, &st) < 0) {
		(void)mail_error_index(view->user, error_r);
		user_unlock(view->user);
		return -1;
	}
	user_unlock(view->user);
	info_r->name = arena_strdup(arena, view->name);
	info_r->uidvalidity = view->folder_id;
	info_r->uidnext = view->uidnext;
	info_r->highestmodseq = view->modseq;
	info_r->exists = mailbox_count(view);
	info_r->recent = mailbox_recent_count(view);
	if (st.first_unseen_uid != 0 && st.first_unseen_uid <= mailbox_last_uid(view))
		info_r->first_unseen_seq = mailbox_uid_to_seq_ceil(view, st.first_unseen_uid);
	kw = arena_new_array(arena, const char *, f.keyword_count + 1);
	kw[n++] = "$Forwarded";
	for (i = 0; i < f.keyword_count && i < view->keyword_count; i++) {
		if (f.keywords[i][0] != '\0') {
			kw[n++] = f.keywords[i];
			named++;
		}
	}
	for (; i < f.keyword_count; i++) {
		if (f.keywords[i][0] != '\0')
			named++;
	}
	info_r->keywords = kw;
	info_r->keyword_count = n;
	info_r->can_create_keywords = named < TERN_STORE_MAX_KEYWORDS;
	info_r->readonly = mailbox_is_readonly(view);
	info_r->special_use = f.special_use;
	return 0;
}

/* ---- sync ---- */

struct sync_ctx {
	struct mailbox_view *view;
	struct arena *arena;
	uint32_t *gone;              /* UIDs of the map now expunged */
	unsigned int gone_count, gone_alloc;
	/* full resync: every UID of the folder */
	uint32_t *all;
	unsigned int all_count, all_alloc;
	struct mailbox_flag_update *updates;
	unsigned int update_count, update_alloc;
	const struct index_folder *folder;
	uint32_t old_uidnext;
};

static void push_uid(struct arena *arena, uint32_t **arr, unsigned int *count,
		     unsigned int *alloc, uint32_t uid)
{
	if (*count == *alloc) {
		unsigned int n = *alloc == 0 ? 16 : *alloc * 2;

		*arr = arena_realloc(arena, *arr, sizeof(uint32_t) * *alloc, sizeof(uint32_t) * n);
		*alloc = n;
	}
	(*arr)[(*count)++] = uid;
}

static void expunged_cb(uint32_t uid, uint64_t modseq, void *context)
{
	struct sync_ctx *ctx = context;

	if (seqmap_uid_to_seq(&ctx->view->map, uid) != 0)
		push_uid(ctx->arena, &ctx->gone, &ctx->gone_count, &ctx->gone_alloc, uid);
}

static int all_uid_cb(const struct index_message *msg, const struct index_cache *cache,
		      void *context)
{
	struct sync_ctx *ctx = context;

	push_uid(ctx->arena, &ctx->all, &ctx->all_count, &ctx->all_alloc, msg->uid);
	return 0;
}

static int new_uid_cb(const struct index_message *msg, const struct index_cache *cache,
		      void *context)
{
	struct sync_ctx *ctx = context;

	if (msg->uid > seqmap_last_uid(&ctx->view->map))
		seqmap_append(&ctx->view->map, msg->uid);
	return 0;
}

static int changed_cb(const struct index_message *msg, const struct index_cache *cache,
		      void *context)
{
	struct sync_ctx *ctx = context;
	struct mailbox_view *view = ctx->view;
	struct mailbox_flag_update *u;

	if (msg->uid >= ctx->old_uidnext || seqmap_uid_to_seq(&view->map, msg->uid) == 0 ||
	    view_is_pending(view, msg->uid) || is_own_change(view, msg->uid, msg->modseq))
		return 0;
	if (ctx->update_count == ctx->update_alloc) {
		unsigned int n = ctx->update_alloc == 0 ? 16 : ctx->update_alloc * 2;

		ctx->updates = arena_realloc(ctx->arena, ctx->updates,
					     sizeof(*ctx->updates) * ctx->update_alloc,
					     sizeof(*ctx->updates) * n);
		ctx->update_alloc = n;
	}
	u = &ctx->updates[ctx->update_count++];
	u->uid = msg->uid;
	u->flags = msg->flags;
	u->modseq = msg->modseq;
	keywords_from_bits(ctx->arena, ctx->folder, msg->keywords, &u->keywords,
			   &u->keyword_count);
	return 0;
}

static int uid_desc_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x > y ? -1 : x < y ? 1 : 0;
}

int mailbox_sync(struct mailbox_view *view, unsigned int flags, struct arena *arena,
		 struct mailbox_changes *changes_r, struct mail_error *error_r)
{
	struct mail_user *user = view->user;
	struct mail_index *idx;
	struct sync_ctx ctx;
	struct index_folder f;
	uint32_t old_count, old_recent, i;
	bool full;

	memset(changes_r, 0, sizeof(*changes_r));
	memset(&ctx, 0, sizeof(ctx));
	ctx.view = view;
	ctx.arena = arena;
	old_count = mailbox_count(view);
	old_recent = mailbox_recent_count(view);

	if (view_lock(view, arena, &f, error_r) < 0)
		return -1;
	idx = user->index;
	if (folder_sync(user, arena, &f, 0, error_r) < 0)
		goto fail;
	if (user_begin(user, error_r) < 0)
		goto fail;
	if (idx->v->folder_get(idx, arena, view->folder_id, &f) <= 0) {
		user_rollback(user);
		mail_error_set(error_r, MAIL_ERROR_GONE, "The mailbox was deleted");
		goto fail;
	}
	ctx.folder = &f;
	ctx.old_uidnext = view->uidnext;
	/* `tern mailbox rebuild` in another process moves the epoch */
	if (idx->v->meta_get(idx, "epoch", &user->epoch) < 0)
		goto fail_index;
	/* after a rebuild the expunge log may not tell everything: compare */
	full = view->epoch != user->epoch || f.highestmodseq < view->modseq;

	/* expunges */
	if (full) {
		unsigned int j = 0;
		uint32_t uid;

		if (idx->v->messages_read(idx, f.id, 1, UINT32_MAX, 0, 0, all_uid_cb, &ctx) < 0)
			goto fail_index;
		for (uid = seqmap_next_uid(&view->map, 1); uid != 0;
		     uid = uid == UINT32_MAX ? 0 : seqmap_next_uid(&view->map, uid + 1)) {
			while (j < ctx.all_count && ctx.all[j] < uid)
				j++;
			if (j == ctx.all_count || ctx.all[j] != uid)
				push_uid(arena, &ctx.gone, &ctx.gone_count, &ctx.gone_alloc, uid);
		}
	} else if (idx->v->expunged_since(idx, f.id, view->modseq, expunged_cb, &ctx) < 0) {
		goto fail_index;
	}
	for (i = 0; i < ctx.gone_count; i++)
		pending_add(view, ctx.gone[i]);
	if ((flags & MAILBOX_SYNC_NO_EXPUNGES) == 0 && view->pending_count > 0) {
		uint32_t *uids = arena_new_array(arena, uint32_t, view->pending_count);
		unsigned int n = view->pending_count;

		memcpy(uids, view->pending, sizeof(uint32_t) * n);
		qsort(uids, n, sizeof(uint32_t), uid_desc_cmp);
		changes_r->expunges = arena_new_array(arena, struct mailbox_expunge, n);
		for (i = 0; i < n; i++) {
			uint32_t seq = view_remove_uid(view, uids[i]);

			if (seq == 0)
				continue;
			changes_r->expunges[changes_r->expunge_count].seq = seq;
			changes_r->expunges[changes_r->expunge_count].uid = uids[i];
			changes_r->expunge_count++;
		}
		view->pending_count = 0;
	}

	/* new messages, then \Recent for them */
	if (idx->v->messages_read(idx, f.id, full ? seqmap_last_uid(&view->map) + 1 : view->uidnext,
				  UINT32_MAX, 0, 0, new_uid_cb, &ctx) < 0)
		goto fail_index;
	if (claim_recent(view, &f, error_r) < 0) {
		user_rollback(user);
		goto fail;
	}

	/* flag changes by others */
	if (view->own_count > 1)
		qsort(view->own, view->own_count, sizeof(*view->own), own_cmp);
	if ((full || f.highestmodseq > view->modseq) &&
	    idx->v->messages_changed(idx, f.id, full ? 0 : view->modseq, changed_cb, &ctx) < 0)
		goto fail_index;
	if (user_commit(user, error_r) < 0)
		goto fail;
	user_unlock(user);

	/* updates came in ascending UID order */
	for (i = 0; i < ctx.update_count; i++)
		ctx.updates[i].seq = seqmap_uid_to_seq(&view->map, ctx.updates[i].uid);
	changes_r->updates = ctx.updates;
	changes_r->update_count = ctx.update_count;
	changes_r->exists = mailbox_count(view);
	changes_r->exists_changed = changes_r->exists + changes_r->expunge_count != old_count;
	changes_r->recent = mailbox_recent_count(view);
	changes_r->recent_changed = changes_r->recent != old_recent;
	changes_r->keywords_changed = f.keyword_count > view->keyword_count;
	view->keyword_count = f.keyword_count;
	view->uidnext = f.uidnext;
	view->modseq = f.highestmodseq;
	view->epoch = user->epoch;
	view->own_count = 0;
	view->own_overflow = false;
	changes_r->uidnext = view->uidnext;
	changes_r->highestmodseq = view->modseq;
	return 0;

fail_index:
	(void)mail_error_index(user, error_r);
	user_rollback(user);
fail:
	user_unlock(user);
	return -1;
}
