/*
 * Helpers shared by the mailbox store's unit tests: a temporary data_dir,
 * a store without background thread, appending and delivering messages,
 * running shell commands on the Maildir behind the store's back.
 */
#ifndef TERN_STORE_TEST_H
#define TERN_STORE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mailbox.h"
#include "mail-search.h"
#include "arena.h"
#include "buf.h"
#include "log.h"
#include "tern-limits.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST_USER "alice@example.test"

struct store_test {
	char dir[64];
	char root[256];          /* the INBOX Maildir */
	struct mail_store *store;
	struct mail_user *user;
	struct mail_error error;
	struct arena *arena;
};

static inline void st_run(const char *fmt, ...) ATTR_FORMAT(1, 2);
static inline void st_run(const char *fmt, ...)
{
	char cmd[4096];
	va_list args;

	va_start(args, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, args);
	va_end(args);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static inline void st_store_open(struct store_test *t)
{
	struct mail_store_settings set = { .data_dir = t->dir, .no_background_thread = true };

	assert_int_equal(mail_store_create(&set, &t->store, &t->error), 0);
}

static inline void st_user_open(struct store_test *t)
{
	if (mail_user_open(t->store, TEST_USER, &t->user, &t->error) < 0)
		fail_msg("mail_user_open: %s", t->error.text);
}

static inline int st_setup(void **state)
{
	struct store_test *t = calloc(1, sizeof(*t));

	strcpy(t->dir, "/tmp/tern-store-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->root, sizeof(t->root), "%s/mail/example.test/alice", t->dir);
	log_set_level(LOG_WARNING);
	st_store_open(t);
	st_user_open(t);
	t->arena = arena_new(0);
	*state = t;
	return 0;
}

static inline void st_close_all(struct store_test *t)
{
	mail_user_unref(&t->user);
	mail_store_destroy(&t->store);
}

static inline int st_teardown(void **state)
{
	struct store_test *t = *state;

	if (t->user != NULL)
		mail_user_unref(&t->user);
	if (t->store != NULL)
		mail_store_destroy(&t->store);
	st_run("rm -rf %s", t->dir);
	arena_free(&t->arena);
	free(t);
	return 0;
}

/* Close and reopen the store and user (as a server restart). */
static inline void st_restart(struct store_test *t)
{
	st_close_all(t);
	st_store_open(t);
	st_user_open(t);
}

static inline uint32_t st_append(struct store_test *t, const char *folder, const char *msg,
				 unsigned int flags)
{
	struct mail_append_input in;
	uint32_t uidv, uid;

	memset(&in, 0, sizeof(in));
	in.data = msg;
	in.size = strlen(msg);
	in.fd = -1;
	in.flags = flags;
	if (mail_append(t->user, folder, &in, 1, &uidv, &uid, &t->error) < 0)
		fail_msg("mail_append: %s", t->error.text);
	return uid;
}

/* A file written into new/ as an MDA would (not through the store). */
static inline void st_deliver(struct store_test *t, const char *folder_dir, const char *name,
			      const char *msg)
{
	char path[1024], tmp[1024];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/%s/tmp/%s", t->root, folder_dir, name);
	snprintf(path, sizeof(path), "%s/%s/new/%s", t->root, folder_dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	close(fd);
	assert_int_equal(rename(tmp, path), 0);
}

static inline struct mailbox_view *st_view(struct store_test *t, const char *name,
					   unsigned int flags)
{
	struct mailbox_view *view;

	if (mailbox_open(t->user, name, flags, &view, &t->error) < 0)
		fail_msg("mailbox_open %s: %s", name, t->error.text);
	return view;
}

static inline struct mailbox_changes st_sync(struct store_test *t, struct mailbox_view *view,
					     unsigned int flags)
{
	struct mailbox_changes c;

	if (mailbox_sync(view, flags, t->arena, &c, &t->error) < 0)
		fail_msg("mailbox_sync: %s", t->error.text);
	return c;
}

/* The names of the files in a Maildir subdirectory, sorted, joined by ' '. */
static inline const char *st_ls(struct store_test *t, const char *sub)
{
	static char out[65536];
	char path[1024], cmd[1100];
	FILE *p;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", t->root, sub);
	snprintf(cmd, sizeof(cmd), "ls -1 %s | sort | tr '\\n' ' '", path);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	pclose(p);
	out[n] = '\0';
	return out;
}

static inline unsigned int st_count_files(struct store_test *t, const char *sub)
{
	char path[1024];
	DIR *d;
	struct dirent *de;
	unsigned int n = 0;

	snprintf(path, sizeof(path), "%s/%s", t->root, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

/* Sleep past the mtime slack so a scan trusts what it sees (and so a
   change made now gets a different directory mtime). */
static inline void st_tick(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

#endif
