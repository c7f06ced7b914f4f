/*
 * The cached part table (src/store/mail-parts.c): written from the MIME
 * tree, read back, and resolving every section (RFC 3501 6.4.5) to the
 * same bytes as the tree itself says, for the test corpus and for LF-only
 * copies of it; damaged tables are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mail-parts.h"
#include "arena.h"
#include "buf.h"
#include "mime.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

/* Every section path of the tree, checked against the table. */
static void check_part(const struct mail_part *parts, unsigned int count,
		       const struct mime_part *root, const struct mime_part *part, const char *path)
{
	const struct mime_part *c, *found;
	struct mail_section sec;
	unsigned int n = 1;
	char sub[256];

	found = mime_part_find_section(root, path);
	assert_ptr_equal(found, part);
	assert_int_equal(mail_parts_section(parts, count, path, MAIL_SECTION_ALL, &sec), 0);
	if (*path == '\0') {
		assert_int_equal(sec.raw_offset, 0);
		assert_int_equal(sec.size, part->header_crlf_size + part->body_crlf_size);
	} else if ((part->flags & MIME_PART_FLAG_NO_BOUNDARY) != 0 ||
		   (strcmp(part->type, "multipart") == 0 && !mime_part_is_multipart(part))) {
		/* a multipart without parts: part 1 is the empty text/plain part
		   its BODYSTRUCTURE shows */
		assert_int_equal(sec.raw_size, 0);
		assert_int_equal(sec.size, 0);
		assert_int_equal(mail_parts_section(parts, count, path, MAIL_SECTION_MIME, &sec), 0);
		assert_int_equal(sec.size, 0);
	} else {
		assert_int_equal(sec.raw_offset, part->body_offset);
		assert_int_equal(sec.raw_size, part->body_size);
		assert_int_equal(sec.size, part->body_crlf_size);
		assert_int_equal(mail_parts_section(parts, count, path, MAIL_SECTION_MIME, &sec), 0);
		assert_int_equal(sec.raw_offset, part->offset);
		assert_int_equal(sec.size, part->header_crlf_size);
	}
	if (*path == '\0' || mime_part_is_message(part)) {
		const struct mime_part *m = *path == '\0' ? part : part->children;

		assert_int_equal(mail_parts_section(parts, count, path, MAIL_SECTION_HEADER, &sec), 0);
		assert_int_equal(sec.raw_offset, m->offset);
		assert_int_equal(sec.raw_size, m->header_size);
		assert_int_equal(mail_parts_section(parts, count, path, MAIL_SECTION_TEXT, &sec), 0);
		assert_int_equal(sec.raw_offset, m->body_offset);
		assert_int_equal(sec.size, m->body_crlf_size);
	} else {
		assert_int_equal(mail_parts_section(parts, count, path, MAIL_SECTION_HEADER, &sec), -1);
	}
	if (mime_part_is_message(part)) {
		/* N.1 addresses the encapsulated message's body */
		snprintf(sub, sizeof(sub), "%s%s1", path, *path == '\0' ? "" : ".");
		if (mime_part_find_section(root, sub) != NULL)
			assert_int_equal(mail_parts_section(parts, count, sub, MAIL_SECTION_ALL,
							    &sec), 0);
		part = part->children;
	}
	if (!mime_part_is_multipart(part))
		return;
	for (c = part->children; c != NULL; c = c->next, n++) {
		if (strlen(path) > 200)
			return;
		snprintf(sub, sizeof(sub), "%s%s%u", path, *path == '\0' ? "" : ".", n);
		check_part(parts, count, root, c, sub);
	}
	snprintf(sub, sizeof(sub), "%s%s%u", path, *path == '\0' ? "" : ".", n);
	assert_int_equal(mail_parts_section(parts, count, sub, MAIL_SECTION_ALL, &sec), -1);
}

static void check_message(const char *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct mime_part *root = mime_parse(arena, data, size, NULL);
	struct mail_part *parts;
	unsigned int count, i;
	struct mail_section sec;
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	mail_parts_write(root, &b);
	assert_int_equal(mail_parts_read(arena, b.data, buf_len(&b), &parts, &count), 0);
	check_part(parts, count, root, root, "");
	assert_int_equal(mail_parts_section(parts, count, "0", MAIL_SECTION_ALL, &sec), -1);
	assert_int_equal(mail_parts_section(parts, count, "1.", MAIL_SECTION_ALL, &sec), -1);
	assert_int_equal(mail_parts_section(parts, count, "x", MAIL_SECTION_ALL, &sec), -1);
	/* every truncation is refused, never read past */
	for (i = 0; i < buf_len(&b); i++) {
		struct mail_part *p2;
		unsigned int c2;

		assert_int_equal(mail_parts_read(arena, b.data, i, &p2, &c2), -1);
	}
	buf_free(&b);
	arena_free(&arena);
}

static void test_crafted(void **state)
{
	static const char *const msgs[] = {
		"",
		"Subject: x\r\n\r\nbody\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n"
		"Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; "
		"boundary=c\r\n\r\n--c\r\n\r\na\r\n--c\r\n\r\nb\r\n--c--\r\n--b--\r\n",
		"Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nlf\n--b--\n",
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(msgs); i++)
		check_message(msgs[i], strlen(msgs[i]));
}

static void test_corpus(void **state)
{
	const char *dir_path = TERN_TEST_DATA "/corpus";
	DIR *dir = opendir(dir_path);
	struct dirent *d;
	unsigned int count = 0;

	if (dir == NULL)
		skip();
	while ((d = readdir(dir)) != NULL) {
		char path[4096];
		struct stat st;
		FILE *f;
		char *data, *lf;
		size_t i, n = 0;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, d->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 4 * 1024 * 1024)
			continue;
		f = fopen(path, "rb");
		assert_non_null(f);
		data = malloc((size_t)st.st_size + 1);
		assert_int_equal(fread(data, 1, (size_t)st.st_size, f), (size_t)st.st_size);
		fclose(f);
		check_message(data, (size_t)st.st_size);
		lf = malloc((size_t)st.st_size + 1);
		for (i = 0; i < (size_t)st.st_size; i++) {
			if (!(data[i] == '\r' && i + 1 < (size_t)st.st_size && data[i + 1] == '\n'))
				lf[n++] = data[i];
		}
		check_message(lf, n);
		free(lf);
		free(data);
		count++;
	}
	closedir(dir);
	print_message("corpus: %u messages\n", count);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
