/*
 * tern-uidlist, dovecot-keywords and tern-subscriptions (maildir-files.h).
 */
#include "maildir-files.h"
#include "mailbox.h"
#include "arena.h"
#include "buf.h"
#include "fs.h"
#include "tern-limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SMALL_FILE_MAX (1024 * 1024)

/* Write data to dir/name through dir/name.tmp and rename; fsync the file
   (and the directory when dir_sync). 0 or -1 with errno. */
static int write_atomic(const char *dir, const char *name, const void *data, size_t size,
			bool dir_sync)
{
	char *tmp = i_strdup_printf("%s/%s.tmp", dir, name);
	char *path = i_strdup_printf("%s/%s", dir, name);
	int fd, ret = -1, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (fs_write_full(fd, data, size) == 0 && fsync(fd) == 0) {
			if (close(fd) == 0 && rename(tmp, path) == 0 &&
			    (!dir_sync || fs_fsync_dir(dir) == 0))
				ret = 0;
			fd = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	saved = errno;
	if (ret < 0)
		(void)unlink(tmp);
	free(tmp);
	free(path);
	errno = saved;
	return ret;
}

/* The whole file in arena (NUL-terminated), or NULL. */
static char *read_small(struct arena *arena, const char *dir, const char *name, size_t *size_r)
{
	char *path = i_strdup_printf("%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *data = NULL;
	size_t got = 0;

	free(path);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_size >= 0 && st.st_size <= SMALL_FILE_MAX) {
		data = arena_alloc(arena, (size_t)st.st_size + 1);
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		data[got] = '\0';
	}
	close(fd);
	*size_r = got;
	return data;
}

int uidlist_read(const char *dir, struct uidlist *u)
{
	struct arena *arena = arena_new(0);
	size_t size;
	char *data = read_small(arena, dir, UIDLIST_FILE, &size), *p, *end;
	bool have_v = false, have_n = false;

	memset(u, 0, sizeof(*u));
	if (data == NULL) {
		arena_free(&arena);
		return 0;
	}
	for (p = data; *p != '\0'; ) {
		char key = *p;
		unsigned long long v;

		errno = 0;
		v = strtoull(p + 1, &end, 10);
		if (end == p + 1 || errno != 0 || v > UINT32_MAX)
			break;
		if (key == 'V' && v > 0) {
			u->uidvalidity = (uint32_t)v;
			have_v = true;
		} else if (key == 'N' && v > 0) {
			u->uidnext = (uint32_t)v;
			have_n = true;
		} else if (key == 'S') {
			u->special_use = (unsigned int)v;
		} else if (key == 'L') {
			u->last_uidvalidity = (uint32_t)v;
		}
		p = end;
		while (*p == ' ' || *p == '\n')
			p++;
	}
	arena_free(&arena);
	return have_v && have_n ? 1 : 0;
}

int uidlist_write(const char *dir, const struct uidlist *u)
{
	char text[80];
	int len = u->last_uidvalidity == 0 ?
		snprintf(text, sizeof(text), "V%u N%u S%u\n", u->uidvalidity, u->uidnext,
			 u->special_use) :
		snprintf(text, sizeof(text), "V%u N%u S%u L%u\n", u->uidvalidity, u->uidnext,
			 u->special_use, u->last_uidvalidity);

	return write_atomic(dir, UIDLIST_FILE, text, (size_t)len, true);
}

void keywords_file_read(struct arena *arena, const char *dir, const char ***names_r,
			unsigned int *count_r)
{
	const char **names = arena_new_array(arena, const char *, TERN_STORE_MAX_KEYWORDS);
	unsigned int count = 0, i;
	size_t size;
	char *data = read_small(arena, dir, KEYWORDS_FILE, &size), *line, *next;

	for (line = data; line != NULL && *line != '\0'; line = next) {
		char *end, *sp;
		unsigned long idx;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		idx = strtoul(line, &end, 10);
		if (end == line || *end != ' ' || idx >= TERN_STORE_MAX_KEYWORDS)
			continue;
		sp = end + 1;
		if (*sp == '\0' || strlen(sp) > MAIL_KEYWORD_MAX_LEN)
			continue;
		names[idx] = sp;
		if (idx + 1 > count)
			count = (unsigned int)idx + 1;
	}
	for (i = 0; i < count; i++) {
		if (names[i] == NULL)
			names[i] = "";
	}
	*names_r = names;
	*count_r = count;
}

int keywords_file_write(const char *dir, const char *const *names, unsigned int count)
{
	buf_t b;
	unsigned int i;
	int ret;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = 0; i < count; i++) {
		if (names[i] != NULL && names[i][0] != '\0' &&
		    buf_printf(&b, "%u %s\n", i, names[i]) < 0)
			i_panic("unlimited buffer full");
	}
	ret = write_atomic(dir, KEYWORDS_FILE, b.data == NULL ? "" : (const char *)b.data,
			   buf_len(&b), false);
	buf_free(&b);
	return ret;
}

void subscriptions_read(struct arena *arena, const char *root, const char ***names_r,
			unsigned int *count_r)
{
	size_t size;
	char *data = read_small(arena, root, SUBSCRIPTIONS_FILE, &size), *p, *nl;
	const char **names;
	unsigned int count = 0, n = 0;

	*names_r = NULL;
	*count_r = 0;
	if (data == NULL)
		return;
	for (p = data; *p != '\0'; p++) {
		if (*p == '\n')
			n++;
	}
	names = arena_new_array(arena, const char *, n + 1);
	for (p = data; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		if (*p != '\0')
			names[count++] = p;
	}
	*names_r = names;
	*count_r = count;
}

int subscriptions_write(const char *root, const char *const *names, unsigned int count)
{
	buf_t b;
	unsigned int i;
	int ret;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = 0; i < count; i++) {
		if (buf_printf(&b, "%s\n", names[i]) < 0)
			i_panic("unlimited buffer full");
	}
	ret = write_atomic(root, SUBSCRIPTIONS_FILE, b.data == NULL ? "" : (const char *)b.data,
			   buf_len(&b), false);
	buf_free(&b);
	return ret;
}
