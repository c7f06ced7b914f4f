/*
 * Unit tests for src/base/fs.c: mkdir -p modes, and the descriptor-based
 * owner/mode changes that must never follow a symlink planted by the owner
 * of the directory they work in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/tern-test-fs-XXXXXX";
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	return i_strdup(dir);
}

static void rm_rf(const char *dir)
{
	char *cmd = i_strdup_printf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	i_free(cmd);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_mkdir_parents_modes(void **state)
{
	char *base = make_tmpdir();
	char *deep = i_strdup_printf("%s/a/b/c", base);
	char *mid = i_strdup_printf("%s/a/b", base);
	mode_t old = umask(077);

	assert_int_equal(fs_mkdir_parents(deep, 0755, 0700, NULL), 0);
	umask(old);
	/* the modes asked for, whatever the umask */
	assert_int_equal(mode_of(mid), 0755);
	assert_int_equal(mode_of(deep), 0700);
	/* existing is fine */
	assert_int_equal(fs_mkdir_parents(deep, 0755, 0700, NULL), 0);
	rm_rf(base);
	i_free(mid);
	i_free(deep);
	i_free(base);
}

static void test_dir_open_at_makes_and_opens(void **state)
{
	char *base = make_tmpdir();
	char *sub = i_strdup_printf("%s/sub", base);
	int dfd = open(base, O_RDONLY | O_DIRECTORY);
	int fd;

	assert_true(dfd >= 0);
	fd = fs_dir_open_at(dfd, "sub", 0700);
	assert_true(fd >= 0);
	assert_int_equal(fs_fd_set_owner_mode(fd, (uid_t)-1, (gid_t)-1, 01733), 0);
	assert_int_equal(mode_of(sub), 01733);
	close(fd);
	/* again: it exists now */
	fd = fs_dir_open_at(dfd, "sub", 0700);
	assert_true(fd >= 0);
	close(fd);
	close(dfd);
	rm_rf(base);
	i_free(sub);
	i_free(base);
}

static void test_dir_open_at_refuses_symlinks(void **state)
{
	char *base = make_tmpdir();
	char *target_dir = i_strdup_printf("%s/elsewhere", base);
	char *target_file = i_strdup_printf("%s/file", base);
	char *link_dir = i_strdup_printf("%s/d/maildrop", base);
	char *link_file = i_strdup_printf("%s/d/corrupt", base);
	char *d = i_strdup_printf("%s/d", base);
	int dfd, fd;

	assert_int_equal(mkdir(target_dir, 0755), 0);
	assert_int_equal(chmod(target_dir, 0755), 0);
	fd = open(target_file, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(target_file, 0644), 0);
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(symlink(target_dir, link_dir), 0);
	assert_int_equal(symlink(target_file, link_file), 0);
	dfd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);

	/* a symlink to a directory, and one to a file: neither is opened */
	errno = 0;
	assert_int_equal(fs_dir_open_at(dfd, "maildrop", 01733), -1);
	assert_int_equal(errno, ENOTDIR);
	errno = 0;
	assert_int_equal(fs_dir_open_at(dfd, "corrupt", 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	/* and the targets kept their modes */
	assert_int_equal(mode_of(target_dir), 0755);
	assert_int_equal(mode_of(target_file), 0644);

	close(dfd);
	rm_rf(base);
	i_free(d);
	i_free(link_file);
	i_free(link_dir);
	i_free(target_file);
	i_free(target_dir);
	i_free(base);
}

static void test_set_owner_mode_exact(void **state)
{
	char *base = make_tmpdir();
	char *path = i_strdup_printf("%s/f", base);
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT, 0666);

	assert_true(fd >= 0);
	/* -1, -1: owner left as it is; the mode exactly, set-id bits too */
	assert_int_equal(fs_fd_set_owner_mode(fd, (uid_t)-1, (gid_t)-1, 0600), 0);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(fs_fd_set_owner_mode(fd, getuid(), getgid(), 0640), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_uid, getuid());
	assert_int_equal(st.st_mode & 07777, 0640);
	close(fd);
	rm_rf(base);
	i_free(path);
	i_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkdir_parents_modes),
		cmocka_unit_test(test_dir_open_at_makes_and_opens),
		cmocka_unit_test(test_dir_open_at_refuses_symlinks),
		cmocka_unit_test(test_set_owner_mode_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
