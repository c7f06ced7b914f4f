/*
 * Folders (mailbox.h): list, create, delete, rename, subscribe, status.
 * Each operation is one index transaction under the user's lock; the
 * folder list is first brought in step with the Maildir++ directories
 * (maildir-folders.c).
 */
#include "store-private.h"
#include "maildir.h"
#include "maildir-files.h"
#include "maildir-names.h"
#include "arena.h"
#include "log.h"
#include "tern-limits.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *name;
	unsigned int special_use;
} default_folders[] = {
	{ "Sent", MAIL_SPECIAL_SENT },
	{ "Drafts", MAIL_SPECIAL_DRAFTS },
	{ "Trash", MAIL_SPECIAL_TRASH },
	{ "Junk", MAIL_SPECIAL_JUNK },
	{ "Archive", MAIL_SPECIAL_ARCHIVE },
};

static int normalize(struct arena *arena, const char *name, const char **name_r,
		     struct mail_error *error)
{
	const char *err;
	bool limit;

	if (folder_name_normalize(arena, name, name_r, &limit, &err) < 0)
		return mail_error_set(error, limit ? MAIL_ERROR_LIMIT : MAIL_ERROR_PARAMS, "%s", err);
	return 0;
}

/* Is some folder below name ("name/...")? */
static bool has_children(const struct index_folder *folders, unsigned int count, const char *name)
{
	size_t len = strlen(name);
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (strncmp(folders[i].name, name, len) == 0 &&
		    folders[i].name[len] == MAIL_FOLDER_DELIMITER)
			return true;
	}
	return false;
}

int folder_lookup(struct mail_user *user, struct arena *arena, const char *name,
		  struct index_folder *folder_r, struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct index_folder *all;
	unsigned int count;
	int ret;

	ret = idx->v->folder_find(idx, arena, name, folder_r);
	if (ret < 0)
		return mail_error_index(user, error);
	if (ret > 0)
		return 0;
	if (idx->v->folder_list(idx, arena, &all, &count) < 0)
		return mail_error_index(user, error);
	if (has_children(all, count, name))
		return mail_error_set(error, MAIL_ERROR_NOTPOSSIBLE,
				      "%s is not a mailbox (\\Noselect)", name);
	return mail_error_set(error, MAIL_ERROR_NOTFOUND, "Mailbox doesn't exist: %s", name);
}

/* Create the folder's Maildir (cur/ new/ tmp/, maildirfolder). */
static int make_dir(struct mail_user *user, const char *name, struct mail_error *error)
{
	buf_t dir;
	const char *err;
	int ret = 0;

	buf_init(&dir, BUF_MAX_UNLIMITED);
	if (folder_name_to_dir(name, &dir) < 0)
		ret = mail_error_set(error, MAIL_ERROR_LIMIT, "Mailbox name too long");
	else if (maildir_create(user->root, buf_len(&dir) == 0 ? "" : buf_str(&dir) + 1, &err) < 0) {
		log_error("store", "user=%s error=%s", log_str(user->address), log_str(err));
		ret = mail_error_set(error, MAIL_ERROR_TEMP, "Cannot create the mailbox");
	}
	buf_free(&dir);
	return ret;
}

int folder_create_one(struct mail_user *user, const char *name, unsigned int special_use,
		      uint32_t uidvalidity, uint32_t uidnext, struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct index_folder f;
	struct uidlist ul;
	char *dir;
	int ret = 0;

	if (make_dir(user, name, error) < 0)
		return -1;
	memset(&f, 0, sizeof(f));
	f.id = uidvalidity;
	f.name = name;
	f.special_use = special_use;
	f.uidnext = uidnext;
	f.uidlist_n = uidnext;
	f.recent_uid = uidnext;
	f.highestmodseq = 1;
	dir = user_folder_dir(user, name);
	ul.uidvalidity = uidvalidity;
	ul.uidnext = uidnext;
	ul.special_use = special_use;
	ul.last_uidvalidity = folder_name_is_inbox(name) ? uidvalidity : 0;
	if (uidlist_write(dir, &ul) < 0)
		ret = mail_error_sys(error, "write", dir);
	else if (idx->v->folder_insert(idx, &f) < 0)
		ret = mail_error_index(user, error);
	free(dir);
	return ret;
}

/* Create name and its missing parents (inside a transaction). */
static int create_with_parents(struct mail_user *user, struct arena *arena, const char *name,
			       unsigned int special_use, struct mail_error *error)
{
	struct mail_index *idx = user->index;
	const char *p;
	struct index_folder f;
	uint32_t uidvalidity;
	int ret;

	for (p = strchr(name, MAIL_FOLDER_DELIMITER); ; p = strchr(p + 1, MAIL_FOLDER_DELIMITER)) {
		const char *part = p == NULL ? name :
			arena_strndup(arena, name, (size_t)(p - name));

		ret = idx->v->folder_find(idx, arena, part, &f);
		if (ret < 0)
			return mail_error_index(user, error);
		if (ret == 0) {
			if (user_new_uidvalidity(user, &uidvalidity, error) < 0 ||
			    folder_create_one(user, part, p == NULL ? special_use : 0,
					      uidvalidity, 1, error) < 0)
				return -1;
		} else if (p == NULL) {
			return mail_error_set(error, MAIL_ERROR_EXISTS, "Mailbox already exists");
		}
		if (p == NULL)
			return 0;
	}
}

static int folder_count_check(struct mail_user *user, struct arena *arena,
			      struct mail_error *error)
{
	struct index_folder *all;
	unsigned int count;

	if (user->index->v->folder_list(user->index, arena, &all, &count) < 0)
		return mail_error_index(user, error);
	if (count >= TERN_STORE_MAX_FOLDERS)
		return mail_error_set(error, MAIL_ERROR_LIMIT, "Too many mailboxes");
	return 0;
}

static int subscribe_names(struct mail_user *user, const char *const *names, unsigned int n,
			   bool subscribe, struct mail_error *error)
{
	struct arena *arena = arena_new(0);
	const char **subs, **out;
	unsigned int count, i, j, out_count = 0;
	bool changed = false;
	int ret = 0;

	subscriptions_read(arena, user->root, &subs, &count);
	out = arena_new_array(arena, const char *, count + n + 1);
	for (i = 0; i < count; i++) {
		bool drop = false;

		for (j = 0; j < n && !subscribe; j++) {
			if (strcmp(subs[i], names[j]) == 0)
				drop = true;
		}
		if (drop)
			changed = true;
		else
			out[out_count++] = subs[i];
	}
	for (j = 0; j < n && subscribe; j++) {
		for (i = 0; i < out_count; i++) {
			if (strcmp(out[i], names[j]) == 0)
				break;
		}
		if (i == out_count) {
			out[out_count++] = names[j];
			changed = true;
		}
	}
	if (changed && subscriptions_write(user->root, out, out_count) < 0)
		ret = mail_error_sys(error, "write", user->root);
	arena_free(&arena);
	return ret;
}

int folder_create_defaults(struct mail_user *user, struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct arena *arena = arena_new(0);
	const char *names[N_ELEMENTS(default_folders) + 1];
	struct index_folder f;
	unsigned int i;
	uint32_t uidvalidity;
	int ret;

	if (user_begin(user, error) < 0) {
		arena_free(&arena);
		return -1;
	}
	for (i = 0; i < N_ELEMENTS(default_folders); i++) {
		names[i] = default_folders[i].name;
		ret = idx->v->folder_find(idx, arena, default_folders[i].name, &f);
		if (ret < 0)
			goto fail_index;
		if (ret > 0) {
			/* an existing folder of that name (a migrated Maildir)
			   takes the role, unless it has one */
			if (f.special_use == 0) {
				f.special_use = default_folders[i].special_use;
				if (idx->v->folder_update(idx, &f) < 0)
					goto fail_index;
			}
			continue;
		}
		if (user_new_uidvalidity(user, &uidvalidity, error) < 0 ||
		    folder_create_one(user, default_folders[i].name,
				      default_folders[i].special_use, uidvalidity, 1, error) < 0)
			goto fail;
	}
	names[i] = MAIL_INBOX;
	if (user_commit(user, error) < 0) {
		arena_free(&arena);
		return -1;
	}
	arena_free(&arena);
	return subscribe_names(user, names, N_ELEMENTS(names), true, error);

fail_index:
	(void)mail_error_index(user, error);
fail:
	user_rollback(user);
	arena_free(&arena);
	return -1;
}

/* ---- LIST ---- */

struct list_builder {
	struct arena *arena;
	struct mail_folder_info *items;
	unsigned int count, alloc;
};

static struct mail_folder_info *list_find(struct list_builder *lb, const char *name)
{
	unsigned int i;

	for (i = 0; i < lb->count; i++) {
		if (strcmp(lb->items[i].name, name) == 0)
			return &lb->items[i];
	}
	return NULL;
}

static struct mail_folder_info *list_add(struct list_builder *lb, const char *name,
					 unsigned int flags)
{
	struct mail_folder_info *item;

	if (lb->count == lb->alloc) {
		unsigned int n = lb->alloc == 0 ? 16 : lb->alloc * 2;

		lb->items = arena_realloc(lb->arena, lb->items, sizeof(*lb->items) * lb->alloc,
					  sizeof(*lb->items) * n);
		lb->alloc = n;
	}
	item = &lb->items[lb->count++];
	item->name = arena_strdup(lb->arena, name);
	item->flags = flags;
	item->special_use = 0;
	return item;
}

static int list_cmp(const void *a, const void *b)
{
	const char *x = ((const struct mail_folder_info *)a)->name;
	const char *y = ((const struct mail_folder_info *)b)->name;
	bool xi = strcmp(x, MAIL_INBOX) == 0, yi = strcmp(y, MAIL_INBOX) == 0;

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x, y);
}

int mail_folder_list(struct mail_user *user, struct arena *arena,
		     struct mail_folder_info **folders_r, unsigned int *count_r,
		     struct mail_error *error_r)
{
	struct list_builder lb = { .arena = arena };
	struct index_folder *folders;
	const char **subs;
	unsigned int count, sub_count, i;

	if (user_lock(user, error_r) < 0)
		return -1;
	if (folder_list_sync(user, false, error_r) < 0 ||
	    user->index->v->folder_list(user->index, arena, &folders, &count) < 0) {
		if (error_r->code == MAIL_ERROR_NONE)
			(void)mail_error_index(user, error_r);
		user_unlock(user);
		return -1;
	}
	subscriptions_read(arena, user->root, &subs, &sub_count);
	user_unlock(user);

	for (i = 0; i < count; i++) {
		struct mail_folder_info *item = list_add(&lb, folders[i].name, 0);

		item->special_use = folders[i].special_use;
	}
	/* parents that are no folder of their own */
	for (i = 0; i < count; i++) {
		const char *name = folders[i].name, *p;

		for (p = strchr(name, MAIL_FOLDER_DELIMITER); p != NULL;
		     p = strchr(p + 1, MAIL_FOLDER_DELIMITER)) {
			const char *parent = arena_strndup(arena, name, (size_t)(p - name));
			struct mail_folder_info *item = list_find(&lb, parent);

			if (item == NULL)
				item = list_add(&lb, parent, MAIL_FOLDER_NONEXISTENT);
			item->flags |= MAIL_FOLDER_HAS_CHILDREN;
		}
	}
	for (i = 0; i < sub_count; i++) {
		const char *name;
		bool limit;
		const char *err;
		struct mail_folder_info *item;

		if (folder_name_normalize(arena, subs[i], &name, &limit, &err) < 0)
			continue;
		item = list_find(&lb, name);
		if (item == NULL)
			item = list_add(&lb, name, MAIL_FOLDER_NONEXISTENT);
		item->flags |= MAIL_FOLDER_SUBSCRIBED;
	}
	if (lb.count > 0)
		qsort(lb.items, lb.count, sizeof(*lb.items), list_cmp);
	*folders_r = lb.items;
	*count_r = lb.count;
	return 0;
}

/* ---- CREATE, DELETE, RENAME, SUBSCRIBE ---- */

int mail_folder_create(struct mail_user *user, const char *name, unsigned int special_use,
		       struct mail_error *error_r)
{
	struct arena *arena = arena_new(0);
	const char *norm;
	buf_t dir;
	int ret = -1;

	if (normalize(arena, name, &norm, error_r) < 0)
		goto out;
	if (folder_name_is_inbox(norm)) {
		mail_error_set(error_r, MAIL_ERROR_EXISTS, "INBOX always exists");
		goto out;
	}
	buf_init(&dir, BUF_MAX_UNLIMITED);
	ret = folder_name_to_dir(norm, &dir);
	buf_free(&dir);
	if (ret < 0) {
		mail_error_set(error_r, MAIL_ERROR_LIMIT, "Mailbox name too long");
		goto out;
	}
	ret = -1;
	if (user_lock(user, error_r) < 0)
		goto out;
	if (folder_list_sync(user, false, error_r) < 0 ||
	    folder_count_check(user, arena, error_r) < 0 || user_begin(user, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	if (create_with_parents(user, arena, norm, special_use, error_r) < 0 ||
	    user_commit(user, error_r) < 0) {
		user_rollback(user);
		user_unlock(user);
		goto out;
	}
	user_unlock(user);
	user_notify(user, norm, 0);
	ret = 0;
out:
	arena_free(&arena);
	return ret;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return flag == FTW_DP || flag == FTW_D ? rmdir(path) : unlink(path);
}

/* Remove a directory tree; failures are logged, not fatal (the folder is
   out of the index and renamed out of the way already). */
static void remove_tree(const char *path)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		log_warning("store", "remove path=%s error=%s", log_str(path),
			    log_str(strerror(errno)));
}

int mail_folder_delete(struct mail_user *user, const char *name, struct mail_error *error_r)
{
	struct arena *arena = arena_new(0);
	struct index_folder f;
	const char *norm;
	char *dir = NULL, *trash = NULL;
	int ret = -1;

	if (normalize(arena, name, &norm, error_r) < 0)
		goto out;
	if (folder_name_is_inbox(norm)) {
		mail_error_set(error_r, MAIL_ERROR_NOTPOSSIBLE, "INBOX cannot be deleted");
		goto out;
	}
	if (user_lock(user, error_r) < 0)
		goto out;
	if (folder_list_sync(user, false, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	if (folder_lookup(user, arena, norm, &f, error_r) < 0) {
		if (error_r->code == MAIL_ERROR_NOTPOSSIBLE)
			error_r->code = MAIL_ERROR_NOTFOUND;
		user_unlock(user);
		goto out;
	}
	if (user_begin(user, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	dir = user_folder_dir(user, norm);
	trash = i_strdup_printf("%s/tern-deleting.%u.%lld", user->root, f.id,
				(long long)time(NULL));
	if (user->index->v->folder_delete(user->index, f.id) < 0) {
		(void)mail_error_index(user, error_r);
		user_rollback(user);
		user_unlock(user);
		goto out;
	}
	/* out of the way first (one rename), then gone from the index */
	if (rename(dir, trash) < 0) {
		(void)mail_error_sys(error_r, "rename", dir);
		user_rollback(user);
		user_unlock(user);
		goto out;
	}
	if (user_commit(user, error_r) < 0) {
		(void)rename(trash, dir);
		user_unlock(user);
		goto out;
	}
	user_unlock(user);
	remove_tree(trash);
	user_notify(user, norm, f.id);
	ret = 0;
out:
	free(dir);
	free(trash);
	arena_free(&arena);
	return ret;
}

/* RFC 3501 6.3.5: INBOX's messages move into a new folder. */
struct uid_list {
	struct arena *arena;
	uint32_t *uids;
	unsigned int count, alloc;
};

static int uid_collect_cb(const struct index_message *msg, const struct index_cache *cache,
			  void *context)
{
	struct uid_list *ul = context;

	if (ul->count == ul->alloc) {
		unsigned int n = ul->alloc == 0 ? 256 : ul->alloc * 2;

		ul->uids = arena_realloc(ul->arena, ul->uids, sizeof(uint32_t) * ul->alloc,
					 sizeof(uint32_t) * n);
		ul->alloc = n;
	}
	ul->uids[ul->count++] = msg->uid;
	return 0;
}

static int move_dir_files(const char *from, const char *to, struct mail_error *error)
{
	static const char *const subs[] = { "cur", "new" };
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(subs); i++) {
		char *src = i_strdup_printf("%s/%s", from, subs[i]);
		DIR *d = opendir(src);
		struct dirent *de;
		int ret = 0;

		if (d == NULL) {
			ret = mail_error_sys(error, "opendir", src);
			free(src);
			return ret;
		}
		while ((de = readdir(d)) != NULL && ret == 0) {
			char *a, *b;

			if (!maildir_name_is_message(de->d_name))
				continue;
			a = i_strdup_printf("%s/%s", src, de->d_name);
			b = i_strdup_printf("%s/%s/%s", to, subs[i], de->d_name);
			if (rename(a, b) < 0 && errno != ENOENT)
				ret = mail_error_sys(error, "rename", a);
			free(a);
			free(b);
		}
		closedir(d);
		free(src);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static int rename_inbox(struct mail_user *user, struct arena *arena, struct index_folder *inbox,
			const char *new_name, struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct uid_list uids = { .arena = arena };
	struct index_folder dest;
	struct uidlist ul;
	uint32_t uidvalidity;
	uint64_t modseq;
	char *from, *to;
	unsigned int i;
	int ret;

	if (create_with_parents(user, arena, new_name, 0, error) < 0)
		return -1;
	ret = idx->v->folder_find(idx, arena, new_name, &dest);
	if (ret <= 0)
		return mail_error_index(user, error);
	(void)uidvalidity;
	if (idx->v->messages_read(idx, inbox->id, 1, UINT32_MAX, 0, 0, uid_collect_cb, &uids) < 0)
		return mail_error_index(user, error);
	from = user_folder_dir(user, MAIL_INBOX);
	to = user_folder_dir(user, new_name);
	/* the new folder takes the UIDs as they are (its UIDVALIDITY is new) */
	dest.uidnext = inbox->uidnext;
	dest.uidlist_n = inbox->uidnext;
	dest.recent_uid = inbox->recent_uid;
	ul.uidvalidity = dest.id;
	ul.uidnext = dest.uidnext;
	ul.special_use = dest.special_use;
	ul.last_uidvalidity = 0;
	ret = uidlist_write(to, &ul) < 0 ? mail_error_sys(error, "write", to) : 0;
	if (ret == 0)
		ret = move_dir_files(from, to, error);
	if (ret == 0 && (idx->v->messages_move_all(idx, inbox->id, dest.id) < 0 ||
			 idx->v->folder_update(idx, &dest) < 0))
		ret = mail_error_index(user, error);
	/* INBOX views see every moved message expunged */
	modseq = inbox->highestmodseq + 1;
	for (i = 0; i < uids.count && ret == 0; i++) {
		if (idx->v->message_expunge(idx, inbox->id, uids.uids[i], modseq) < 0)
			ret = mail_error_index(user, error);
	}
	if (ret == 0) {
		inbox->highestmodseq = modseq;
		inbox->cur_mtime = 0;
		inbox->cur_safe = false;
		if (idx->v->folder_update(idx, inbox) < 0)
			ret = mail_error_index(user, error);
	}
	free(from);
	free(to);
	return ret;
}

int mail_folder_rename(struct mail_user *user, const char *old_name, const char *new_name,
		       struct mail_error *error_r)
{
	struct mail_index *idx = user->index;
	struct arena *arena = arena_new(0);
	struct index_folder f, *all, exists;
	const char *from, *to;
	unsigned int count, i;
	size_t from_len;
	int ret = -1, r;

	if (normalize(arena, old_name, &from, error_r) < 0 ||
	    normalize(arena, new_name, &to, error_r) < 0)
		goto out;
	from_len = strlen(from);
	if (folder_name_is_inbox(to) ||
	    (strncmp(to, from, from_len) == 0 &&
	     (to[from_len] == '\0' || to[from_len] == MAIL_FOLDER_DELIMITER))) {
		if (strcmp(to, from) == 0 || folder_name_is_inbox(to))
			mail_error_set(error_r, MAIL_ERROR_EXISTS, "Mailbox already exists");
		else
			mail_error_set(error_r, MAIL_ERROR_NOTPOSSIBLE,
				       "Cannot rename a mailbox into itself");
		goto out;
	}
	if (user_lock(user, error_r) < 0)
		goto out;
	idx = user->index;
	if (folder_list_sync(user, false, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	if (folder_lookup(user, arena, from, &f, error_r) < 0) {
		if (error_r->code == MAIL_ERROR_NOTPOSSIBLE)
			error_r->code = MAIL_ERROR_NOTFOUND;
		user_unlock(user);
		goto out;
	}
	if (user_begin(user, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	r = idx->v->folder_find(idx, arena, to, &exists);
	if (r != 0) {
		if (r < 0)
			(void)mail_error_index(user, error_r);
		else
			mail_error_set(error_r, MAIL_ERROR_EXISTS, "Mailbox already exists");
		goto fail;
	}
	if (folder_name_is_inbox(from)) {
		if (rename_inbox(user, arena, &f, to, error_r) < 0)
			goto fail;
	} else {
		if (idx->v->folder_list(idx, arena, &all, &count) < 0) {
			(void)mail_error_index(user, error_r);
			goto fail;
		}
		/* parents of the new name */
		{
			const char *slash = strrchr(to, MAIL_FOLDER_DELIMITER);

			if (slash != NULL &&
			    create_with_parents(user, arena,
						arena_strndup(arena, to, (size_t)(slash - to)), 0,
						error_r) < 0 && error_r->code != MAIL_ERROR_EXISTS)
				goto fail;
		}
		for (i = 0; i < count; i++) {
			const char *name = all[i].name, *target;
			char *a, *b;
			buf_t check;

			if (strncmp(name, from, from_len) != 0 ||
			    (name[from_len] != '\0' && name[from_len] != MAIL_FOLDER_DELIMITER))
				continue;
			target = arena_printf(arena, "%s%s", to, name + from_len);
			buf_init(&check, BUF_MAX_UNLIMITED);
			r = strlen(target) > TERN_STORE_MAX_FOLDER_NAME ||
				folder_name_to_dir(target, &check) < 0 ? -1 : 0;
			buf_free(&check);
			if (r < 0) {
				mail_error_set(error_r, MAIL_ERROR_LIMIT, "Mailbox name too long");
				goto fail;
			}
			r = idx->v->folder_find(idx, arena, target, &exists);
			if (r != 0) {
				if (r < 0)
					(void)mail_error_index(user, error_r);
				else
					mail_error_set(error_r, MAIL_ERROR_EXISTS,
						       "Mailbox already exists: %s", target);
				goto fail;
			}
			a = user_folder_dir(user, name);
			b = user_folder_dir(user, target);
			if (rename(a, b) < 0) {
				(void)mail_error_sys(error_r, "rename", a);
				free(a);
				free(b);
				goto fail;
			}
			free(a);
			free(b);
			all[i].name = target;
			/* a rename is a change of the folder: its MODSEQ moves */
			all[i].highestmodseq++;
			if (idx->v->folder_update(idx, &all[i]) < 0) {
				(void)mail_error_index(user, error_r);
				goto fail;
			}
		}
	}
	if (user_commit(user, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	user_unlock(user);
	user_notify(user, from, f.id);
	user_notify(user, to, 0);
	ret = 0;
	goto out;
fail:
	user_rollback(user);
	user_unlock(user);
out:
	arena_free(&arena);
	return ret;
}

int mail_folder_subscribe(struct mail_user *user, const char *name, bool subscribe,
			  struct mail_error *error_r)
{
	struct arena *arena = arena_new(0);
	const char *norm;
	int ret = -1;

	if (normalize(arena, name, &norm, error_r) == 0) {
		/* the lock serializes writers of the file in this process */
		pthread_mutex_lock(&user->lock);
		ret = subscribe_names(user, &norm, 1, subscribe, error_r);
		pthread_mutex_unlock(&user->lock);
	}
	arena_free(&arena);
	return ret;
}

int mail_folder_status(struct mail_user *user, const char *name, unsigned int items,
		       struct mail_status *status_r, struct mail_error *error_r)
{
	struct arena *arena = arena_new(0);
	struct index_folder f;
	struct index_stats st;
	const char *norm;
	int ret = -1;

	memset(status_r, 0, sizeof(*status_r));
	if (normalize(arena, name, &norm, error_r) < 0)
		goto out;
	if (user_lock(user, error_r) < 0)
		goto out;
	if (folder_lookup(user, arena, norm, &f, error_r) < 0 &&
	    (error_r->code != MAIL_ERROR_NOTFOUND || folder_list_sync(user, false, error_r) < 0 ||
	     folder_lookup(user, arena, norm, &f, error_r) < 0)) {
		user_unlock(user);
		goto out;
	}
	if (folder_sync(user, arena, &f, 0, error_r) < 0) {
		user_unlock(user);
		goto out;
	}
	if ((items & (MAIL_STATUS_MESSAGES | MAIL_STATUS_RECENT | MAIL_STATUS_UNSEEN |
		      MAIL_STATUS_SIZE | MAIL_STATUS_DELETED)) != 0 &&
	    user->index->v->folder_stats(user->index, &f, &st) < 0) {
		(void)mail_error_index(user, error_r);
		user_unlock(user);
		goto out;
	}
	user_unlock(user);
	if ((items & MAIL_STATUS_MESSAGES) != 0)
		status_r->messages = st.messages;
	if ((items & MAIL_STATUS_RECENT) != 0)
		status_r->recent = st.recent;
	if ((items & MAIL_STATUS_UNSEEN) != 0)
		status_r->unseen = st.unseen;
	if ((items & MAIL_STATUS_SIZE) != 0)
		status_r->size = st.size;
	if ((items & MAIL_STATUS_DELETED) != 0)
		status_r->deleted = st.deleted;
	if ((items & MAIL_STATUS_UIDNEXT) != 0)
		status_r->uidnext = f.uidnext;
	if ((items & MAIL_STATUS_UIDVALIDITY) != 0)
		status_r->uidvalidity = f.id;
	if ((items & MAIL_STATUS_HIGHESTMODSEQ) != 0)
		status_r->highestmodseq = f.highestmodseq;
	status_r->special_use = f.special_use;
	ret = 0;
out:
	arena_free(&arena);
	return ret;
}
