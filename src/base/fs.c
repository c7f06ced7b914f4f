/*
 * File-system helpers for the stores and the programs (fs.h): full writes,
 * mkdir -p, directory fsync, and owner/mode changes through descriptors
 * opened with O_NOFOLLOW for code that runs as root inside directories
 * another user owns.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int set_mode_nofollow(const char *path, mode_t mode);

int fs_write_full(int fd, const void *data, size_t size)
{
	const unsigned char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

/* chmod of a directory just made, through a descriptor: if the one who
   owns its parent swapped it for a symlink since, nothing else changes. */
static int set_mode_nofollow(const char *path, mode_t mode)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int ret, err;

	if (fd < 0)
		return -1;
	ret = fchmod(fd, mode);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

int fs_mkdir_parents(const char *path, mode_t parent_mode, mode_t mode, char **failed_r)
{
	char *copy = i_strdup(path), *p;
	int err;

	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, parent_mode) == 0) {
			/* the mode asked for, whatever the umask */
			if (set_mode_nofollow(copy, parent_mode) < 0)
				goto fail;
		} else if (errno != EEXIST) {
			goto fail;
		}
		*p = '/';
	}
	if (mkdir(copy, mode) == 0) {
		if (set_mode_nofollow(copy, mode) < 0)
			goto fail;
	} else if (errno != EEXIST) {
		goto fail;
	}
	free(copy);
	return 0;
fail:
	err = errno;
	if (failed_r != NULL)
		*failed_r = copy;
	else
		free(copy);
	errno = err;
	return -1;
}

int fs_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret, err;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

int fs_dir_open_at(int parent_fd, const char *name, mode_t mode)
{
	int fd;

	if (mkdirat(parent_fd, name, mode) < 0 && errno != EEXIST)
		return -1;
	/* O_NOFOLLOW: a symlink at name fails with ELOOP (or ENOTDIR with
	   O_DIRECTORY), never opens its target */
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		errno = ENOTDIR;
	return fd;
}

int fs_fd_set_owner_mode(int fd, uid_t owner, gid_t group, mode_t mode)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (((owner != (uid_t)-1 && st.st_uid != owner) ||
	     (group != (gid_t)-1 && st.st_gid != group)) &&
	    fchown(fd, owner, group) < 0)
		return -1;
	/* after fchown, which may clear set-id bits */
	if (fstat(fd, &st) < 0)
		return -1;
	if ((st.st_mode & 07777) != (mode & 07777) && fchmod(fd, mode & 07777) < 0)
		return -1;
	return 0;
}
