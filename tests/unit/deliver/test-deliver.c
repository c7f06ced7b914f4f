#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "accounts.h"
#include "arena.h"
#include "deliver.h"
#include "mailbox.h"
#include "maildir.h"
#include "queue.h"
#include "settings.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/tern-test-deliver-XXXXXX";
static struct tern_settings *set;
static struct queue *queue;

static const char *MSG = "From: a@remote.test\r\nSubject: t\r\n\r\nhello\r\n";

static void commit(const char *const *rcpts, const char *const *originals, unsigned int n,
		   char *id_r)
{
	struct queue_writer *w;
	struct queue_envelope env;
	struct queue_rcpt r[8];
	const char *error;
	unsigned int i;

	memset(&env, 0, sizeof(env));
	memset(r, 0, sizeof(r));
	w = queue_writer_new(queue, &error);
	assert_non_null(w);
	strcpy(id_r, queue_writer_id(w));
	assert_int_equal(queue_writer_write(w, MSG, strlen(MSG), &error), 0);
	env.created = time(NULL);
	env.sender = "a@remote.test";
	for (i = 0; i < n; i++) {
		r[i].address = rcpts[i];
		r[i].original = originals == NULL ? NULL : originals[i];
	}
	env.rcpts = r;
	env.rcpt_count = n;
	assert_int_equal(queue_commit(&w, &env, &error), 0);
}

static unsigned int count_files(const char *user, const char *sub)
{
	char path[1024];
	DIR *d;
	struct dirent *de;
	unsigned int n = 0;

	snprintf(path, sizeof(path), "%s/mail/example.test/%s/%s", tmpdir, user, sub);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void read_first(const char *user, char *buf, size_t size)
{
	char path[1024];
	DIR *d;
	struct dirent *de;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/mail/example.test/%s/new", tmpdir, user);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
		;
	assert_non_null(de);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", de->d_name);
	closedir(d);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
}

static void test_deliver_now(void **state)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope *env;
	const char *rcpts[] = { "bob@example.test", "carol@example.test", "x@remote.test",
				"gone@example.test" };
	const char *orig[] = { NULL, "list@example.test", NULL, NULL };
	const char *error;
	char id[64], buf[4096];

	commit(rcpts, orig, 4, id);
	assert_int_equal(deliver_message_now(set, queue, id, false, &error), 0);
	assert_int_equal(count_files("bob", "new"), 1);
	assert_int_equal(count_files("carol", "new"), 1);
	assert_int_equal(count_files("bob", "tmp"), 0);
	read_first("bob", buf, sizeof(buf));
	assert_true(strncmp(buf, "Return-Path: <a@remote.test>\r\nDelivered-To: bob@example.test\r\n"
			    "From: a@remote.test\r\n", 83) == 0);
	assert_int_equal(queue_read(queue, arena, id, &env, &error), 1);
	assert_int_equal(env->rcpts[0].state, QUEUE_RCPT_DELIVERED);
	assert_int_equal(env->rcpts[1].state, QUEUE_RCPT_DELIVERED);
	assert_int_equal(env->rcpts[2].state, QUEUE_RCPT_PENDING);   /* remote: left for outbound */
	assert_int_equal(env->rcpts[3].state, QUEUE_RCPT_FAILED);    /* no such mailbox */
	/* delivering again does nothing more */
	assert_int_equal(deliver_message_now(set, queue, id, false, &error), 0);
	assert_int_equal(count_files("bob", "new"), 1);
	assert_int_equal(queue_remove(queue, id, &error), 0);
	arena_free(&arena);
}

static void test_crash_recovery(void **state)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope *env;
	const char *rcpts[] = { "bob@example.test" };
	const char *error;
	char id[64], tag[80], *maildir;
	int fd;

	/* a crash after the Maildir rename, before the queue state was written */
	commit(rcpts, NULL, 1, id);
	snprintf(tag, sizeof(tag), "%sR0", id);
	maildir = maildir_path_for(tmpdir, "bob@example.test");
	fd = queue_open_message(queue, id, &error);
	assert_int_equal(maildir_deliver(maildir, "", tag, "h", NULL, 0, fd, strlen(MSG), true,
					 NULL, &error), 0);
	close(fd);
	free(maildir);
	assert_int_equal(count_files("bob", "new"), 2);
	assert_int_equal(deliver_message_now(set, queue, id, true, &error), 0);
	assert_int_equal(count_files("bob", "new"), 2);   /* not delivered twice */
	/* all recipients done: the message left the queue */
	assert_int_equal(queue_read(queue, arena, id, &env, &error), 0);
	arena_free(&arena);
}

static void test_threads(void **state)
{
	struct deliverer *d;
	const char *rcpts[] = { "dave@example.test", "bob@example.test" };
	const char *error;
	char id[64];
	unsigned int i, tries;

	d = deliverer_start(set, queue, 2, &error);
	assert_non_null(d);
	for (i = 0; i < 50; i++) {
		commit(rcpts, NULL, 1, id);
		deliverer_notify(d, id);
	}
	for (tries = 0; tries < 500 && count_files("dave", "new") < 50; tries++)
		usleep(20000);
	deliverer_stop(&d);
	assert_int_equal(count_files("dave", "new"), 50);
	assert_int_equal(count_files("dave", "tmp"), 0);
}

static void count_cb(void *context)
{
	__atomic_add_fetch((int *)context, 1, __ATOMIC_SEQ_CST);
}

/* Local deliveries wake the watchers of the recipient's INBOX (an IDLE
   session), and the store then sees the message. */
static void test_notify_store(void **state)
{
	struct mail_store_settings ms = { .data_dir = tmpdir, .no_background_thread = true };
	struct mail_store *store;
	struct mail_user *user;
	struct mailbox_view *view;
	struct mailbox_changes c;
	struct mail_error merr;
	struct mail_watch *w, *other;
	struct deliverer *d;
	struct arena *arena = arena_new(0);
	const char *rcpts[] = { "carol@example.test" };
	const char *error;
	char id[64];
	int woken = 0, not_me = 0;
	unsigned int tries, before;

	assert_int_equal(mail_store_create(&ms, &store, &merr), 0);
	assert_int_equal(mail_user_open(store, "carol@example.test", &user, &merr), 0);
	assert_int_equal(mailbox_open(user, "INBOX", 0, &view, &merr), 0);
	before = mailbox_count(view);
	w = mailbox_watch(view, count_cb, &woken);
	other = mail_store_watch(store, "bob@example.test", NULL, count_cb, &not_me);
	d = deliverer_start(set, queue, 1, &error);
	assert_non_null(d);
	deliverer_set_mail_store(d, store);
	commit(rcpts, NULL, 1, id);
	deliverer_notify(d, id);
	for (tries = 0; tries < 500 && __atomic_load_n(&woken, __ATOMIC_SEQ_CST) == 0; tries++)
		usleep(20000);
	deliverer_stop(&d);
	assert_true(woken >= 1);
	assert_int_equal(not_me, 0);
	assert_int_equal(mailbox_sync(view, 0, arena, &c, &merr), 0);
	assert_true(c.exists_changed);
	assert_int_equal(c.exists, before + 1);
	assert_int_equal(count_files("carol", "new"), 0);
	assert_int_equal(count_files("carol", "cur"), before + 1);
	mail_store_unwatch(&w);
	mail_store_unwatch(&other);
	mailbox_close(&view);
	mail_user_unref(&user);
	mail_store_destroy(&store);
	arena_free(&arena);
}

static int setup(void **state)
{
	struct accounts *acc;
	const char *error;
	static const char *domains[] = { "example.test" };

	if (mkdtemp(tmpdir) == NULL)
		return -1;
	set = settings_new(true);
	set->data_dir = tmpdir;
	set->domains = domains;
	set->domains_count = 1;
	if (accounts_open(tmpdir, domains, 1, &acc, &error) < 0 ||
	    accounts_user_add(acc, "bob@example.test", "pw", false, &error) < 0 ||
	    accounts_user_add(acc, "carol@example.test", "pw", false, &error) < 0 ||
	    accounts_user_add(acc, "dave@example.test", "pw", false, &error) < 0)
		return -1;
	accounts_close(&acc);
	return queue_open(tmpdir, &queue, &error);
}

static int teardown(void **state)
{
	char cmd[256];

	queue_close(&queue);
	settings_free(&set);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deliver_now),
		cmocka_unit_test(test_crash_recovery),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_notify_store),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
