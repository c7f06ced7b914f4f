/*
 * Fuzz target for the index-rebuild path of the mailbox store
 * (src/store/mail-rebuild.c, maildir-sync.c, maildir-names.c): the input
 * describes a Maildir - file names anywhere in it (new/, cur/, Maildir++
 * folders, tern-uidlist, dovecot-keywords, tern-subscriptions) and their
 * contents - which is laid out in a temporary data_dir and opened as a
 * user's mailbox, so the store indexes it from nothing. Then:
 * - every folder lists and opens; UIDs ascend and stay below UIDNEXT;
 *   new/ is empty; every file in cur/ carries the U= of exactly one
 *   message; GUIDs are unique in a folder;
 * - a rebuild of the sound index (in place) keeps every UID, GUID and flag;
 * - so does a rebuild after the index file is deleted.
 *
 * Input: entries, each a line "@@ <path>" followed by the file's bytes up
 * to the next "@@ " line; paths are relative to the INBOX Maildir.
 */
#include "mailbox.h"
#include "arena.h"
#include "buf.h"
#include "log.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER "fuzz@example.test"
#define MAX_FILES 64
#define MAX_PATH_LEN 200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base_dir[64];
static char root[256];

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-mailbox-rebuild: %s: %s\n", what, detail == NULL ? "" : detail);
	abort();
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		(void)unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char sub[1024];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		remove_tree(sub);
	}
	closedir(d);
	(void)rmdir(path);
}

static void mkdirs(const char *path)
{
	char tmp[1024];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(tmp, 0700);
			*p = '/';
		}
	}
	(void)mkdir(tmp, 0700);
}

/* A path we lay out: up to three components of harmless characters,
   none of them "." or "..". */
static bool path_ok(const char *p, size_t len)
{
	size_t i, start = 0, comps = 0;

	if (len == 0 || len > MAX_PATH_LEN)
		return false;
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '/') {
			unsigned char c = (unsigned char)p[i];

			if (c <= ' ' || c >= 0x7f || c == '\\')
				return false;
			continue;
		}
		if (i == start || (i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return false;
		if (++comps > 3)
			return false;
		start = i + 1;
	}
	return true;
}

static void lay_out(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	unsigned int files = 0;

	mkdirs(root);
	while (pos < size && files < MAX_FILES) {
		const uint8_t *nl, *next;
		size_t plen, start, end;
		char path[MAX_PATH_LEN + 1], full[1024], dir[1024];
		char *slash;
		int fd;

		if (size - pos < 3 || memcmp(data + pos, "@@ ", 3) != 0) {
			/* skip to the next entry */
			next = memmem(data + pos, size - pos, "\n@@ ", 4);
			if (next == NULL)
				return;
			pos = (size_t)(next - data) + 1;
			continue;
		}
		nl = memchr(data + pos, '\n', size - pos);
		if (nl == NULL)
			return;
		plen = (size_t)(nl - data) - pos - 3;
		if (plen <= MAX_PATH_LEN) {
			memcpy(path, data + pos + 3, plen);
			path[plen] = '\0';
		}
		start = (size_t)(nl - data) + 1;
		next = start < size ? memmem(data + start, size - start, "\n@@ ", 4) : NULL;
		end = next == NULL ? size : (size_t)(next - data) + 1;
		pos = end;
		if (plen > MAX_PATH_LEN || !path_ok(path, plen) || memchr(path, '\0', plen) != NULL)
			continue;
		/* INBOX's own cur/ new/ tmp/ made files: no Maildir at all, an
		   error for the administrator (the store says so), not a case */
		if (strcmp(path, "cur") == 0 || strcmp(path, "new") == 0 ||
		    strcmp(path, "tmp") == 0)
			continue;
		snprintf(full, sizeof(full), "%s/%s", root, path);
		snprintf(dir, sizeof(dir), "%s", full);
		slash = strrchr(dir, '/');
		*slash = '\0';
		mkdirs(dir);
		/* a Maildir++ folder gets its three directories */
		if (path[0] == '.' && strchr(path, '/') != NULL) {
			char f[1024];
			size_t flen = (size_t)(strchr(path, '/') - path);

			snprintf(f, sizeof(f), "%s/%.*s/cur", root, (int)flen, path);
			mkdirs(f);
			snprintf(f, sizeof(f), "%s/%.*s/new", root, (int)flen, path);
			mkdirs(f);
			snprintf(f, sizeof(f), "%s/%.*s/tmp", root, (int)flen, path);
			mkdirs(f);
		}
		fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			continue;
		if (end > start && write(fd, data + start, end - start) < 0) {
			/* a full disk: the store sees a short file, fine */
		}
		close(fd);
		files++;
	}
}

static void out_printf(buf_t *out, const char *fmt, ...) ATTR_FORMAT(2, 3);
static void out_printf(buf_t *out, const char *fmt, ...)
{
	char tmp[512];
	va_list args;

	va_start(args, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, args);
	va_end(args);
	if (buf_append_str(out, tmp) < 0)
		fail("buffer", NULL);
}

/* Every folder as "name:uidvalidity:uid/guid/flags ...;" plus checks. */
static void describe(struct mail_store *store, buf_t *out)
{
	struct arena *arena = arena_new(0);
	struct mail_user *user;
	struct mail_error error;
	struct mail_folder_info *folders;
	unsigned int count, i;

	if (mail_user_open(store, USER, &user, &error) < 0)
		fail("user open", error.text);
	if (mail_folder_list(user, arena, &folders, &count, &error) < 0)
		fail("list", error.text);
	for (i = 0; i < count; i++) {
		struct mailbox_view *view;
		struct mail_fetch_iter *it;
		const struct mail_record *rec;
		struct mail_status st;
		uint32_t last = 0;
		char **guids;
		unsigned int n = 0, k, j;

		if ((folders[i].flags & MAIL_FOLDER_NONEXISTENT) != 0)
			continue;
		if (mailbox_open(user, folders[i].name, MAILBOX_OPEN_READONLY, &view, &error) < 0)
			fail("open", error.text);
		if (mail_folder_status(user, folders[i].name, MAIL_STATUS_UIDNEXT |
				       MAIL_STATUS_UIDVALIDITY | MAIL_STATUS_MESSAGES, &st, &error) < 0)
			fail("status", error.text);
		if (st.messages != mailbox_count(view))
			fail("status and view disagree", folders[i].name);
		out_printf(out, "%s:%u:", folders[i].name, st.uidvalidity);
		guids = calloc(mailbox_count(view) + 1, sizeof(char *));
		it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_FLAGS | MAIL_FETCH_GUID |
					 MAIL_FETCH_SIZE | MAIL_FETCH_ENVELOPE, 0);
		while (mailbox_fetch_next(it, &rec)) {
			if (rec->expunged || rec->uid <= last || rec->uid >= st.uidnext)
				fail("bad uid", folders[i].name);
			last = rec->uid;
			if (strlen(rec->guid) != MAIL_GUID_LEN || rec->envelope == NULL)
				fail("bad record", folders[i].name);
			for (k = 0; k < n; k++) {
				if (strcmp(guids[k], rec->guid) == 0)
					fail("duplicate guid", rec->guid);
			}
			guids[n++] = strdup(rec->guid);
			out_printf(out, "%u/%s/%u/%llu/", rec->uid, rec->guid, rec->flags,
					 (unsigned long long)rec->size);
			for (j = 0; j < rec->keyword_count; j++)
				out_printf(out, "%s,", rec->keywords[j]);
			out_printf(out, " ");
		}
		if (mailbox_fetch_end(&it, &error) < 0)
			fail("fetch", error.text);
		for (k = 0; k < n; k++)
			free(guids[k]);
		free(guids);
		out_printf(out, ";");
		mailbox_close(&view);
	}
	mail_user_unref(&user);
	arena_free(&arena);
}

/* No regular file left in new/; each one in cur/ has a U= (directories
   and other junk are left alone, and must not stop the mailbox). */
static void check_files(const char *dir)
{
	char path[1024];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/new", dir);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] != '.' && de->d_type == DT_REG)
				fail("file left in new/", de->d_name);
		}
		closedir(d);
	}
	snprintf(path, sizeof(path), "%s/cur", dir);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] != '.' && de->d_type == DT_REG &&
			    strstr(de->d_name, ",U=") == NULL)
				fail("file without U= in cur/", de->d_name);
		}
		closedir(d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_store_settings set;
	struct mail_store *store;
	struct mail_rebuild_stats stats;
	struct mail_error error;
	buf_t first, second, third;
	char path[512];

	if (base_dir[0] == '\0') {
		strcpy(base_dir, "/tmp/tern-fuzz-rebuild-XXXXXX");
		if (mkdtemp(base_dir) == NULL)
			fail("mkdtemp", strerror(errno));
		snprintf(root, sizeof(root), "%s/mail/example.test/fuzz", base_dir);
		log_set_level(LOG_FATAL);
	}
	remove_tree(root);
	lay_out(data, size);

	memset(&set, 0, sizeof(set));
	set.data_dir = base_dir;
	set.no_background_thread = true;
	if (mail_store_create(&set, &store, &error) < 0)
		fail("store", error.text);
	buf_init(&first, BUF_MAX_UNLIMITED);
	buf_init(&second, BUF_MAX_UNLIMITED);
	buf_init(&third, BUF_MAX_UNLIMITED);
	describe(store, &first);
	check_files(root);

	if (mail_user_rebuild(store, USER, &stats, &error) < 0)
		fail("rebuild", error.text);
	describe(store, &second);
	if (strcmp(buf_str(&first), buf_str(&second)) != 0)
		fail("rebuild in place changed the mailbox", buf_str(&second));

	snprintf(path, sizeof(path), "%s/tern-index.db", root);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/tern-index.db-wal", root);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/tern-index.db-shm", root);
	(void)unlink(path);
	describe(store, &third);
	if (strcmp(buf_str(&first), buf_str(&third)) != 0)
		fail("rebuild without index changed the mailbox", buf_str(&third));
	mail_store_destroy(&store);
	buf_free(&first);
	buf_free(&second);
	buf_free(&third);
	return 0;
}
