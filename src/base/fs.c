#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
			if (chmod(copy, parent_mode) < 0)
				goto fail;
		} else if (errno != EEXIST) {
			goto fail;
		}
		*p = '/';
	}
	if (mkdir(copy, mode) == 0) {
		if (chmod(copy, mode) < 0)
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
