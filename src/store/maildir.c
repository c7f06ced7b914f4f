#include "maildir.h"
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define MAILDIR_COPY_BUFFER (128 * 1024)

static __thread char maildir_error[512];

static const char *sys_error(const char *what, const char *path)
{
	snprintf(maildir_error, sizeof(maildir_error), "%s %s: %s", what, path, strerror(errno));
	return maildir_error;
}

/* A path component we may create: no '/', not "." or "..", no leading '.'
   (those are Maildir++ folders), no controls. */
static bool component_is_safe(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 255 || s[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == '/' || s[i] == '\\' || s[i] == 0x7f)
			return false;
	}
	return true;
}

char *maildir_path_for(const char *data_dir, const char *address)
{
	const char *at = strrchr(address, '@');

	if (at == NULL || !component_is_safe(address, (size_t)(at - address)) ||
	    !component_is_safe(at + 1, strlen(at + 1)))
		return NULL;
	return i_strdup_printf("%s/mail/%s/%.*s", data_dir, at + 1, (int)(at - address), address);
}

/* Maildir++ folder name: ".Sent", ".Archive.2026"; "" is the INBOX. */
static char *folder_dir(const char *maildir, const char *folder)
{
	if (folder == NULL || folder[0] == '\0')
		return i_strdup(maildir);
	return i_strdup_printf("%s/.%s", maildir, folder);
}

static bool folder_is_safe(const char *folder)
{
	const char *p;

	if (folder == NULL || folder[0] == '\0')
		return true;
	if (folder[0] == '.' || strstr(folder, "..") != NULL)
		return false;
	for (p = folder; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == '/' || *p == 0x7f)
			return false;
	}
	return true;
}

int maildir_create(const char *maildir, const char *folder, const char **error_r)
{
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	char *dir, *sub, *failed;
	struct stat st;
	size_t i;
	int ret = 0;

	if (!folder_is_safe(folder)) {
		*error_r = "invalid folder name";
		return -1;
	}
	dir = folder_dir(maildir, folder);
	/* tmp/ is made last: when it exists, the whole Maildir does (two first
	   deliveries may race here; both mkdir, EEXIST is fine) */
	sub = i_strdup_printf("%s/tmp", dir);
	if (stat(sub, &st) == 0) {
		/* the common case: it exists */
		free(sub);
		free(dir);
		return 0;
	}
	free(sub);
	if (fs_mkdir_parents(dir, 0700, 0700, &failed) < 0) {
		*error_r = sys_error("mkdir", failed);
		free(failed);
		free(dir);
		return -1;
	}
	for (i = 0; i < N_ELEMENTS(subdirs) && ret == 0; i++) {
		sub = i_strdup_printf("%s/%s", dir, subdirs[i]);
		if (mkdir(sub, 0700) < 0 && errno != EEXIST) {
			*error_r = sys_error("mkdir", sub);
			ret = -1;
		}
		free(sub);
	}
	if (ret == 0 && folder != NULL && folder[0] != '\0') {
		/* Maildir++: a subfolder is marked by this empty file */
		int fd;

		sub = i_strdup_printf("%s/maildirfolder", dir);
		fd = open(sub, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		free(sub);
	}
	free(dir);
	return ret;
}

static int copy_fd(int in_fd, int out_fd, uint64_t size)
{
	unsigned char *buf = i_malloc(MAILDIR_COPY_BUFFER);
	uint64_t left = size;
	off_t off = 0;
	int ret = 0;

	while (left > 0) {
		size_t want = left > MAILDIR_COPY_BUFFER ? MAILDIR_COPY_BUFFER : (size_t)left;
		ssize_t n = pread(in_fd, buf, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;  /* the queue file is shorter than its envelope says */
			ret = -1;
			break;
		}
		if (fs_write_full(out_fd, buf, (size_t)n) < 0) {
			ret = -1;
			break;
		}
		off += n;
		left -= (uint64_t)n;
	}
	free(buf);
	return ret;
}

int maildir_deliver(const char *maildir, const char *folder, const char *tag,
		    const char *hostname, const void *prepend, size_t prepend_size,
		    int fd, uint64_t size, bool sync, char **name_r, const char **error_r)
{
	struct timeval tv;
	char *dir, *name, *tmp_path, *new_path, *new_dir;
	const char *p;
	int out = -1, ret = -1;

	for (p = tag; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '_'))
			i_panic("maildir tag with bad character: %s", tag);
	}
	if (maildir_create(maildir, folder, error_r) < 0)
		return -1;
	gettimeofday(&tv, NULL);
	dir = folder_dir(maildir, folder);
	/* the host part must not contain '/' or ':' (Maildir's flag separator) */
	name = i_strdup_printf("%lld.M%06ldQ%s.%s,S=%llu", (long long)tv.tv_sec, (long)tv.tv_usec,
			       tag, hostname, (unsigned long long)(prepend_size + size));
	for (char *c = name; *c != '\0'; c++) {
		if (*c == '/' || *c == ':')
			*c = '_';
	}
	tmp_path = i_strdup_printf("%s/tmp/%s", dir, name);
	new_path = i_strdup_printf("%s/new/%s", dir, name);
	new_dir = i_strdup_printf("%s/new", dir);

	out = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		*error_r = sys_error("create", tmp_path);
		goto out;
	}
	if ((prepend_size > 0 && fs_write_full(out, prepend, prepend_size) < 0) ||
	    copy_fd(fd, out, size) < 0) {
		*error_r = sys_error("write", tmp_path);
		goto out;
	}
	if (sync && fsync(out) < 0) {
		*error_r = sys_error("fsync", tmp_path);
		goto out;
	}
	if (close(out) < 0) {
		out = -1;
		*error_r = sys_error("close", tmp_path);
		goto out;
	}
	out = -1;
	/* rename, not link: works on every filesystem; the name is unique */
	if (rename(tmp_path, new_path) < 0) {
		*error_r = sys_error("rename", new_path);
		goto out;
	}
	if (sync && fs_fsync_dir(new_dir) < 0) {
		*error_r = sys_error("fsync", new_dir);
		goto out;
	}
	ret = 0;
out:
	if (out >= 0)
		close(out);
	if (ret < 0)
		(void)unlink(tmp_path);
	if (ret == 0 && name_r != NULL)
		*name_r = name;
	else
		free(name);
	free(dir);
	free(tmp_path);
	free(new_path);
	free(new_dir);
	return ret;
}

static int dir_has_tag(const char *path, const char *needle, const char **error_r)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int found = 0;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		*error_r = sys_error("opendir", path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, needle) != NULL) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

int maildir_has_delivery(const char *maildir, const char *folder, const char *tag,
			 const char **error_r)
{
	char *dir = folder_dir(maildir, folder);
	char *needle = i_strdup_printf("Q%s.", tag);
	char *path;
	int ret;

	path = i_strdup_printf("%s/new", dir);
	ret = dir_has_tag(path, needle, error_r);
	free(path);
	if (ret == 0) {
		path = i_strdup_printf("%s/cur", dir);
		ret = dir_has_tag(path, needle, error_r);
		free(path);
	}
	free(needle);
	free(dir);
	return ret;
}
