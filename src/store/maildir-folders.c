/*
 * Keeping the index's folder list in step with the Maildir++ directories
 * (store-private.h folder_list_sync, folder_disk_list): folders other
 * programs make (mutt, Dovecot, a restore) are adopted, with the
 * UIDVALIDITY of their tern-uidlist when it can be trusted; folders they
 * remove are dropped. The INBOX directory's mtime says when to look, with
 * the same slack as the message scans (maildir-sync.c).
 */
#include "store-private.h"
#include "maildir-files.h"
#include "maildir-names.h"
#include "arena.h"
#include "log.h"
#include "tern-limits.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

struct disk_folder {
	const char *name;
	bool found;
};

static int disk_folder_cmp(const void *a, const void *b)
{
	return strcmp(((const struct disk_folder *)a)->name, ((const struct disk_folder *)b)->name);
}

/* The Maildir++ folders under root (canonical names with a cur/). */
static int read_disk_folders(struct mail_user *user, struct arena *arena,
			     struct disk_folder **folders_r, unsigned int *count_r,
			     struct mail_error *error)
{
	DIR *d = opendir(user->root);
	struct dirent *de;
	struct disk_folder *folders = NULL;
	unsigned int count = 0, alloc = 0;
	buf_t name;

	if (d == NULL)
		return mail_error_sys(error, "opendir", user->root);
	buf_init(&name, BUF_MAX_UNLIMITED);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *cur;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		buf_reset(&name);
		if (folder_dir_to_name(de->d_name, &name) < 0)
			continue;
		cur = i_strdup_printf("%s/%s/cur", user->root, de->d_name);
		if (stat(cur, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(cur);
			continue;
		}
		free(cur);
		if (count == alloc) {
			unsigned int n = alloc == 0 ? 16 : alloc * 2;

			folders = arena_realloc(arena, folders, sizeof(*folders) * alloc,
						sizeof(*folders) * n);
			alloc = n;
		}
		folders[count].name = arena_strdup(arena, buf_str(&name));
		folders[count].found = false;
		count++;
	}
	closedir(d);
	buf_free(&name);
	if (count > 0)
		qsort(folders, count, sizeof(*folders), disk_folder_cmp);
	*folders_r = folders;
	*count_r = count;
	return 0;
}

int folder_disk_list(struct mail_user *user, struct arena *arena, const char ***names_r,
		     unsigned int *count_r, struct mail_error *error)
{
	struct disk_folder *disk;
	unsigned int count, i;
	const char **names;

	if (read_disk_folders(user, arena, &disk, &count, error) < 0)
		return -1;
	names = arena_new_array(arena, const char *, count + 1);
	for (i = 0; i < count; i++)
		names[i] = disk[i].name;
	*names_r = names;
	*count_r = count;
	return 0;
}

/* Index a folder another program made (inside a transaction). */
static int adopt_folder(struct mail_user *user, struct arena *arena, const char *name,
			struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct index_folder f, other;
	struct uidlist ul;
	struct mail_rebuild_stats stats;
	char *dir = user_folder_dir(user, name);
	bool trusted;
	int ret;

	memset(&stats, 0, sizeof(stats));
	memset(&f, 0, sizeof(f));
	trusted = uidlist_read(dir, &ul) > 0;
	if (trusted) {
		/* its UIDVALIDITY may be used by another folder (a copied
		   directory): then it cannot be trusted */
		ret = idx->v->folder_get(idx, arena, ul.uidvalidity, &other);
		if (ret < 0) {
			free(dir);
			return mail_error_index(user, error);
		}
		trusted = ret == 0;
	}
	if (trusted) {
		f.id = ul.uidvalidity;
		f.uidnext = ul.uidnext;
		f.uidlist_n = ul.uidnext;
		f.special_use = ul.special_use;
	} else {
		if (user_new_uidvalidity(user, &f.id, error) < 0) {
			free(dir);
			return -1;
		}
		f.uidnext = 1;
		stats.new_uidvalidity++;
	}
	f.name = name;
	f.highestmodseq = 1;
	keywords_file_read(arena, dir, &f.keywords, &f.keyword_count);
	free(dir);
	if (idx->v->folder_insert(idx, &f) < 0)
		return mail_error_index(user, error);
	if (folder_rebuild_scan(user, arena, &f, NULL, !trusted, &stats, error) < 0)
		return -1;
	if (idx->v->folder_update(idx, &f) < 0)
		return mail_error_index(user, error);
	log_info("store", "folder found user=%s folder=%s messages=%u%s", log_str(user->address),
		 log_str(name), stats.messages, trusted ? "" : " new_uidvalidity=yes");
	return 0;
}

int folder_list_sync(struct mail_user *user, bool force, struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct arena *arena;
	struct disk_folder *disk, key, *found;
	struct index_folder *folders;
	unsigned int disk_count, count, i;
	struct stat st;
	struct timespec now;
	int64_t mtime, recorded = 0, safe = 0;
	bool changed = false;

	if (stat(user->root, &st) < 0)
		return mail_error_sys(error, "stat", user->root);
	mtime = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	clock_gettime(CLOCK_REALTIME, &now);
	if (idx->v->meta_get(idx, "root_mtime", &recorded) < 0 ||
	    idx->v->meta_get(idx, "root_safe", &safe) < 0)
		return mail_error_index(user, error);
	if (!force && recorded == mtime &&
	    (safe != 0 || now.tv_sec - st.st_mtim.tv_sec < TERN_STORE_MTIME_SLACK))
		return 0;

	arena = arena_new(0);
	if (user_begin(user, error) < 0) {
		arena_free(&arena);
		return -1;
	}
	if (read_disk_folders(user, arena, &disk, &disk_count, error) < 0 ||
	    idx->v->folder_list(idx, arena, &folders, &count) < 0) {
		if (error->code == MAIL_ERROR_NONE)
			(void)mail_error_index(user, error);
		goto fail;
	}
	for (i = 0; i < count; i++) {
		if (folder_name_is_inbox(folders[i].name))
			continue;
		key.name = folders[i].name;
		found = disk_count == 0 ? NULL :
			bsearch(&key, disk, disk_count, sizeof(*disk), disk_folder_cmp);
		if (found != NULL) {
			found->found = true;
			continue;
		}
		/* removed by another program */
		if (idx->v->folder_delete(idx, folders[i].id) < 0) {
			(void)mail_error_index(user, error);
			goto fail;
		}
		log_info("store", "folder removed by another program user=%s folder=%s",
			 log_str(user->address), log_str(folders[i].name));
		changed = true;
	}
	for (i = 0; i < disk_count; i++) {
		if (disk[i].found)
			continue;
		if (adopt_folder(user, arena, disk[i].name, error) < 0)
			goto fail;
		changed = true;
	}
	if (idx->v->meta_set(idx, "root_mtime", mtime) < 0 ||
	    idx->v->meta_set(idx, "root_safe",
			     now.tv_sec - st.st_mtim.tv_sec >= TERN_STORE_MTIME_SLACK) < 0) {
		(void)mail_error_index(user, error);
		goto fail;
	}
	if (user_commit(user, error) < 0) {
		arena_free(&arena);
		return -1;
	}
	arena_free(&arena);
	if (changed)
		user_notify(user, NULL, 0);
	return 0;
fail:
	user_rollback(user);
	arena_free(&arena);
	return -1;
}

