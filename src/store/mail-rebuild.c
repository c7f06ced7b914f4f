/*
 * Rebuilding a user's index from the Maildir alone (mailbox.h
 * mail_user_rebuild, `tern mailbox rebuild`; docs/store.md "Rebuild"):
 * automatically when the index is missing or damaged, or on demand.
 *
 * Per folder: UIDVALIDITY from the old index or tern-uidlist (a new one,
 * with every file renumbered, when neither can be trusted); the U= of file
 * names kept where the rules allow (the old index knew that UID for that
 * file, or it is at or above the UIDNEXT handed out, or there is no old
 * index to contradict it), new UIDs for the rest; flags and keywords from
 * file names and dovecot-keywords; special-use from the old index or
 * tern-uidlist. The whole rebuild is one transaction, so a server running
 * beside it sees the old index or the new one; its views notice the new
 * epoch and compare their UIDs with the folder's.
 */
#include "store-private.h"
#include "maildir.h"
#include "maildir-files.h"
#include "maildir-names.h"
#include "arena.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct old_folder {
	struct index_folder folder;
	struct rebuild_known known;
	unsigned int known_alloc;
};

struct known_ctx {
	struct arena *arena;
	struct old_folder *of;
};

static int known_cb(const struct index_message *msg, const struct index_cache *cache,
		    void *context)
{
	struct known_ctx *ctx = context;
	struct rebuild_known *k = &ctx->of->known;

	if (k->count == ctx->of->known_alloc) {
		unsigned int n = ctx->of->known_alloc == 0 ? 256 : ctx->of->known_alloc * 2;

		k->msgs = arena_realloc(ctx->arena, k->msgs, sizeof(*k->msgs) * ctx->of->known_alloc,
					sizeof(*k->msgs) * n);
		ctx->of->known_alloc = n;
	}
	k->msgs[k->count].uid = msg->uid;
	k->msgs[k->count].name = arena_strdup(ctx->arena, msg->name);
	k->count++;
	return 0;
}

static struct old_folder *old_find(struct old_folder *old, unsigned int count, const char *name)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (strcmp(old[i].folder.name, name) == 0)
			return &old[i];
	}
	return NULL;
}

/* Did the old index give this UIDVALIDITY to a folder of another name
   (the directory was copied by hand)? */
static bool old_id_elsewhere(const struct old_folder *old, unsigned int count, uint32_t id,
			     const char *name)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (old[i].folder.id == id && strcmp(old[i].folder.name, name) != 0)
			return true;
	}
	return false;
}

static bool id_used(const uint32_t *ids, unsigned int count, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (ids[i] == id)
			return true;
	}
	return false;
}

/* A UIDVALIDITY no folder, old or rebuilt, has: meta's counter and time. */
static int fresh_uidvalidity(struct mail_user *user, const struct old_folder *old,
			     unsigned int old_count, const uint32_t *ids, unsigned int id_count,
			     uint32_t *uidvalidity_r, struct mail_error *error)
{
	unsigned int i;

	for (;;) {
		if (user_new_uidvalidity(user, uidvalidity_r, error) < 0)
			return -1;
		for (i = 0; i < old_count; i++) {
			if (old[i].folder.id == *uidvalidity_r)
				break;
		}
		if (i == old_count && !id_used(ids, id_count, *uidvalidity_r))
			return 0;
	}
}

int user_rebuild_locked(struct mail_user *user, bool in_place,
			struct mail_rebuild_stats *stats, struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct arena *arena = arena_new(0);
	struct old_folder *old = NULL;
	struct index_folder *old_list;
	const char **disk, **names;
	unsigned int old_count = 0, disk_count, name_count, i, id_count = 0;
	uint32_t *ids;
	int64_t epoch = 0, last = 0;
	struct timespec now;
	uint64_t modseq_floor;

	memset(stats, 0, sizeof(*stats));
	/* MODSEQs a lost index handed out are unknown: start at the time in
	   microseconds, above any value it can have reached unless it saw
	   more than a million changes a second (docs/store.md "MODSEQ") */
	clock_gettime(CLOCK_REALTIME, &now);
	modseq_floor = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
	if (in_place) {
		if (idx->v->folder_list(idx, arena, &old_list, &old_count) < 0)
			goto fail_index_unlocked;
		old = arena_new_array(arena, struct old_folder, old_count + 1);
		for (i = 0; i < old_count; i++) {
			struct known_ctx kc = { arena, &old[i] };

			old[i].folder = old_list[i];
			if (idx->v->messages_read(idx, old_list[i].id, 1, UINT32_MAX, 0, 0, known_cb,
						  &kc) < 0)
				goto fail_index_unlocked;
		}
	}
	if (folder_disk_list(user, arena, &disk, &disk_count, error) < 0) {
		arena_free(&arena);
		return -1;
	}
	names = arena_new_array(arena, const char *, disk_count + 1);
	names[0] = MAIL_INBOX;
	for (i = 0, name_count = 1; i < disk_count; i++)
		names[name_count++] = disk[i];
	ids = arena_new_array(arena, uint32_t, name_count);

	if (user_begin(user, error) < 0) {
		arena_free(&arena);
		return -1;
	}
	if (idx->v->meta_get(idx, "epoch", &epoch) < 0 ||
	    idx->v->meta_get(idx, "last_uidvalidity", &last) < 0 || idx->v->clear(idx) < 0)
		goto fail_index;
	/* every UIDVALIDITY on disk is taken, and so is INBOX's counter */
	for (i = 0; i < name_count; i++) {
		struct uidlist ul;
		char *dir = user_folder_dir(user, names[i]);

		if (uidlist_read(dir, &ul) > 0) {
			if ((int64_t)ul.uidvalidity > last)
				last = ul.uidvalidity;
			if ((int64_t)ul.last_uidvalidity > last)
				last = ul.last_uidvalidity;
		}
		free(dir);
	}
	if (idx->v->meta_set(idx, "last_uidvalidity", last) < 0)
		goto fail_index;
	for (i = 0; i < name_count; i++) {
		struct old_folder *of = old_find(old, old_count, names[i]);
		struct index_folder f;
		struct uidlist ul;
		char *dir = user_folder_dir(user, names[i]);
		bool have_ul = uidlist_read(dir, &ul) > 0, renumber = false;
		const struct rebuild_known *known = NULL;

		memset(&f, 0, sizeof(f));
		f.name = names[i];
		if (of != NULL && !id_used(ids, id_count, of->folder.id) &&
		    (!have_ul || ul.uidvalidity == of->folder.id)) {
			/* the old index and the Maildir agree */
			f.id = of->folder.id;
			f.uidnext = of->folder.uidnext;
			/* the file above what the index wrote: a lost commit */
			if (have_ul && ul.uidnext > of->folder.uidlist_n && ul.uidnext > f.uidnext)
				f.uidnext = ul.uidnext;
			f.uidlist_n = of->folder.uidlist_n;
			f.special_use = of->folder.special_use;
			f.recent_uid = of->folder.recent_uid;
			f.highestmodseq = of->folder.highestmodseq;
			f.keywords = of->folder.keywords;
			f.keyword_count = of->folder.keyword_count;
			known = &of->known;
		} else if (have_ul && !id_used(ids, id_count, ul.uidvalidity) &&
			   !old_id_elsewhere(old, old_count, ul.uidvalidity, names[i])) {
			/* tern-uidlist is all there is to go by: trust it. The
			   MODSEQs the lost index handed out are unknown: start
			   above any it can have reached (docs/store.md) */
			f.id = ul.uidvalidity;
			f.uidnext = ul.uidnext;
			f.uidlist_n = ul.uidnext;
			f.special_use = ul.special_use;
			f.highestmodseq = modseq_floor;
		} else {
			if (fresh_uidvalidity(user, old, old_count, ids, id_count, &f.id, error) < 0) {
				free(dir);
				goto fail;
			}
			f.uidnext = 1;
			f.special_use = have_ul ? ul.special_use :
				of != NULL ? of->folder.special_use : 0;
			/* a new UIDVALIDITY: MODSEQ may start again */
			f.highestmodseq = 1;
			renumber = true;
			stats->new_uidvalidity++;
			log_info("store", "new uidvalidity user=%s folder=%s uidvalidity=%u",
				 log_str(user->address), log_str(names[i]), f.id);
		}
		if (f.keyword_count == 0)
			keywords_file_read(arena, dir, &f.keywords, &f.keyword_count);
		free(dir);
		/* a UIDVALIDITY taken from a file must not clash with one the
		   counter hands out later */
		if ((int64_t)f.id > last)
			last = f.id;
		ids[id_count++] = f.id;
		if (idx->v->folder_insert(idx, &f) < 0)
			goto fail_index;
		if (folder_rebuild_scan(user, arena, &f, known, renumber, stats, error) < 0)
			goto fail;
		/* every folder has its tern-uidlist from now on */
		{
			struct uidlist w;
			char *d = user_folder_dir(user, f.name);

			w.uidvalidity = f.id;
			w.uidnext = f.uidnext;
			w.special_use = f.special_use;
			w.last_uidvalidity = i == 0 ? (uint32_t)last : 0;
			if (uidlist_write(d, &w) < 0) {
				(void)mail_error_sys(error, "write", d);
				free(d);
				goto fail;
			}
			free(d);
			f.uidlist_n = f.uidnext;
		}
		if (idx->v->folder_update(idx, &f) < 0)
			goto fail_index;
		stats->folders++;
	}
	epoch++;
	if (idx->v->meta_set(idx, "epoch", epoch) < 0 ||
	    idx->v->meta_set(idx, "last_uidvalidity", last) < 0 ||
	    idx->v->meta_set(idx, "root_mtime", 0) < 0)
		goto fail_index;
	if (user_commit(user, error) < 0) {
		arena_free(&arena);
		return -1;
	}
	user->epoch = epoch;
	arena_free(&arena);
	user_notify(user, NULL, 0);
	return 0;

fail_index:
	(void)mail_error_index(user, error);
fail:
	user_rollback(user);
	arena_free(&arena);
	return -1;
fail_index_unlocked:
	(void)mail_error_index(user, error);
	arena_free(&arena);
	return -1;
}

int mail_user_rebuild(struct mail_store *store, const char *address,
		      struct mail_rebuild_stats *stats_r, struct mail_error *error_r)
{
	struct mail_user *user;
	struct stat st;
	const char *err;
	bool created = false;
	int ret;

	memset(stats_r, 0, sizeof(*stats_r));
	if ((user = user_get(store, address, error_r)) == NULL)
		return -1;
	if (stat(user->root, &st) < 0) {
		mail_user_unref(&user);
		return mail_error_set(error_r, MAIL_ERROR_NOTFOUND, "No mailbox for %s", address);
	}
	/* another program may have left only new/ */
	if (maildir_create(user->root, "", &err) < 0) {
		log_error("store", "user=%s error=%s", log_str(address), log_str(err));
		mail_user_unref(&user);
		return mail_error_set(error_r, MAIL_ERROR_TEMP, "Cannot create the mailbox");
	}
	pthread_mutex_lock(&user->lock);
	if (user->index == NULL && user_index_open_raw(user, &created, error_r) < 0) {
		pthread_mutex_unlock(&user->lock);
		mail_user_unref(&user);
		return -1;
	}
	ret = user_rebuild_locked(user, !created, stats_r, error_r);
	if (ret < 0 && created)
		user_index_discard(user);
	if (ret == 0)
		log_info("store", "rebuilt user=%s folders=%u messages=%u new_uids=%u "
			 "new_uidvalidity=%u", log_str(address), stats_r->folders,
			 stats_r->messages, stats_r->new_uids, stats_r->new_uidvalidity);
	user_unlock(user);
	mail_user_unref(&user);
	return ret;
}
