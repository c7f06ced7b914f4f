#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "maildir.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/tern-test-maildir-XXXXXX";

static void test_path(void **state)
{
	char *p = maildir_path_for("/d", "bob@example.test");

	assert_string_equal(p, "/d/mail/example.test/bob");
	free(p);
	assert_null(maildir_path_for("/d", "../x@example.test"));
	assert_null(maildir_path_for("/d", "a/b@example.test"));
	assert_null(maildir_path_for("/d", "bob@../etc"));
	assert_null(maildir_path_for("/d", ".hidden@example.test"));
	assert_null(maildir_path_for("/d", "nodomain"));
}

static void test_deliver(void **state)
{
	const char *body = "Subject: hi\r\n\r\nhello\r\n";
	const char *prepend = "Return-Path: <a@b>\r\nDelivered-To: bob@example.test\r\n";
	char src[512], path[1024], buf[256];
	char *maildir, *name;
	const char *error;
	int fd, in;
	ssize_t n;

	snprintf(src, sizeof(src), "%s/src", tmpdir);
	fd = open(src, O_WRONLY | O_CREAT, 0600);
	assert_true(write(fd, body, strlen(body)) == (ssize_t)strlen(body));
	close(fd);
	in = open(src, O_RDONLY);
	maildir = maildir_path_for(tmpdir, "bob@example.test");

	assert_int_equal(maildir_has_delivery(maildir, "", "Qid1R0", &error), 0);
	assert_int_equal(maildir_deliver(maildir, "", "Qid1R0", "host/x:y", prepend, strlen(prepend),
					 in, strlen(body), true, &name, &error), 0);
	assert_null(strchr(name, '/'));
	assert_null(strchr(name, ':'));
	snprintf(path, sizeof(path), "%s/new/%s", maildir, name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n] = '\0';
	assert_int_equal(n, strlen(prepend) + strlen(body));
	assert_true(strncmp(buf, prepend, strlen(prepend)) == 0);
	assert_non_null(strstr(name, ",S="));
	free(name);
	assert_int_equal(maildir_has_delivery(maildir, "", "Qid1R0", &error), 1);
	assert_int_equal(maildir_has_delivery(maildir, "", "Qid1R", &error), 0);
	assert_int_equal(maildir_has_delivery(maildir, "", "Qid1R00", &error), 0);

	/* a folder, created on demand, Maildir++ */
	assert_int_equal(maildir_deliver(maildir, "Archive.2026", "Qid2R0", "h", NULL, 0, in,
					 strlen(body), false, NULL, &error), 0);
	snprintf(path, sizeof(path), "%s/.Archive.2026/maildirfolder", maildir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/tmp", maildir);
	assert_int_equal(rmdir(path), 0);   /* tmp/ is empty after delivery */
	assert_int_equal(maildir_deliver(maildir, "../evil", "Qid3R0", "h", NULL, 0, in,
					 strlen(body), true, NULL, &error), -1);
	/* a queue file shorter than the envelope says: an error, nothing left */
	assert_int_equal(maildir_deliver(maildir, "", "Qid4R0", "h", NULL, 0, in, 1000, true, NULL,
					 &error), -1);
	close(in);
	free(maildir);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_deliver),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
