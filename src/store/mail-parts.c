/*
 * The cache of one message (store-private.h mail_cache_build) and its part
 * table (mail-parts.h): built once when a message enters the index, read
 * by FETCH and SEARCH so they never parse the message again.
 */
#include "store-private.h"
#include "mail-parts.h"
#include "arena.h"
#include "date.h"
#include "header.h"
#include "imap-bodystructure.h"
#include "imap-envelope.h"
#include "imap-quote.h"
#include "mime.h"
#include "tern-limits.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define PARTS_VERSION 1
#define READ_CHUNK (64 * 1024)

static void put_varint(buf_t *dest, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	if (buf_append(dest, b, n) < 0)
		i_panic("part table buffer full");
}

static bool get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v_r)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	while (*p < end && shift < 64) {
		unsigned char c = *(*p)++;

		v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			*v_r = v;
			return true;
		}
		shift += 7;
	}
	return false;
}

static void write_part(const struct mime_part *part, buf_t *dest)
{
	const struct mime_part *c;
	unsigned int kind = mime_part_is_multipart(part) ? MAIL_PART_MULTIPART :
		mime_part_is_message(part) ? MAIL_PART_MESSAGE :
		/* a multipart without parts (no boundary parameter, or no
		   delimiter found): BODYSTRUCTURE shows it with one empty
		   text/plain part, and its part 1 is that empty part */
		(part->flags & MIME_PART_FLAG_NO_BOUNDARY) != 0 ||
		strcmp(part->type, "multipart") == 0 ? MAIL_PART_EMPTY_MULTIPART : MAIL_PART_LEAF;

	if (buf_append_c(dest, (unsigned char)(kind | ((unsigned int)part->cte << 2))) < 0)
		i_panic("part table buffer full");
	put_varint(dest, kind == MAIL_PART_LEAF ? 0 : part->child_count);
	put_varint(dest, part->offset);
	put_varint(dest, part->header_size);
	put_varint(dest, part->header_crlf_size);
	put_varint(dest, part->body_size);
	put_varint(dest, part->body_crlf_size);
	put_varint(dest, part->body_lines);
	if (kind != MAIL_PART_LEAF) {
		for (c = part->children; c != NULL; c = c->next)
			write_part(c, dest);
	}
}

void mail_parts_write(const struct mime_part *root, buf_t *dest)
{
	if (buf_append_c(dest, PARTS_VERSION) < 0)
		i_panic("part table buffer full");
	write_part(root, dest);
}

/* Decode the part at *idx and its subtree; returns false when damaged. */
static bool read_part(const unsigned char **p, const unsigned char *end, struct mail_part *parts,
		      unsigned int max, unsigned int *idx, unsigned int depth)
{
	struct mail_part *part;
	uint64_t v[7];
	unsigned int me = *idx, i, prev = 0;

	if (me >= max || *p >= end || depth > TERN_MIME_MAX_DEPTH + 2)
		return false;
	part = &parts[me];
	part->kind = (uint8_t)(**p & 3);
	part->cte = (uint8_t)(**p >> 2);
	(*p)++;
	for (i = 0; i < N_ELEMENTS(v) - 1; i++) {
		if (!get_varint(p, end, &v[i]))
			return false;
	}
	if (!get_varint(p, end, &v[6]))
		return false;
	if (v[0] > TERN_MIME_MAX_PARTS || v[6] > UINT32_MAX)
		return false;
	part->child_count = (uint32_t)v[0];
	part->header_offset = v[1];
	part->header_size = v[2];
	part->header_crlf_size = v[3];
	part->body_size = v[4];
	part->body_crlf_size = v[5];
	part->body_lines = (uint32_t)v[6];
	(*idx)++;
	for (i = 0; i < part->child_count; i++) {
		unsigned int child = *idx;

		if (!read_part(p, end, parts, max, idx, depth + 1))
			return false;
		part = &parts[me];
		if (i == 0)
			part->first_child = child;
		else
			parts[prev].next = child;
		prev = child;
	}
	return true;
}

int mail_parts_read(struct arena *arena, const void *data, size_t size,
		    struct mail_part **parts_r, unsigned int *count_r)
{
	const unsigned char *p = data, *end = p + size;
	unsigned int max = 0, idx = 0;
	struct mail_part *parts;

	if (size < 2 || p[0] != PARTS_VERSION)
		return -1;
	p++;
	/* every part takes at least 8 bytes */
	max = (unsigned int)I_MIN(size / 8 + 1, (size_t)TERN_MIME_MAX_PARTS + 1);
	parts = arena_new_array(arena, struct mail_part, max);
	if (!read_part(&p, end, parts, max, &idx, 0) || p != end)
		return -1;
	*parts_r = parts;
	*count_r = idx;
	return 0;
}

static unsigned int nth_child(const struct mail_part *parts, unsigned int part, unsigned long n)
{
	unsigned int c = parts[part].first_child;

	while (c != 0 && n > 1) {
		c = parts[c].next;
		n--;
	}
	return c;
}

/* As mime_part_find_section() (RFC 3501 6.4.5), over the table: the index
   of the part, or -1. */
static int find_section(const struct mail_part *parts, unsigned int count, const char *s)
{
	unsigned int part = 0;
	bool is_message = true;

	if (*s == '\0')
		return 0;
	for (;;) {
		unsigned long n = 0;

		if (*s < '1' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (n > 100000000)
				return -1;
			n = n * 10 + (unsigned long)(*s - '0');
		}
		if (!is_message && parts[part].kind == MAIL_PART_MESSAGE) {
			part = parts[part].first_child;	/* into the encapsulated message */
			is_message = true;
		}
		if (parts[part].kind == MAIL_PART_MULTIPART) {
			part = nth_child(parts, part, n);
			if (part == 0 || part >= count)
				return -1;	/* no such child (the root is no child) */
		} else if (!(is_message && n == 1)) {
			return -1;
		}
		is_message = false;
		if (*s == '\0')
			return (int)part;
		if (*s != '.')
			return -1;
		s++;
	}
}

static void set_range(struct mail_section *sec, uint64_t offset, uint64_t raw, uint64_t crlf)
{
	sec->raw_offset = offset;
	sec->raw_size = raw;
	sec->size = crlf;
}

int mail_parts_section(const struct mail_part *parts, unsigned int count, const char *section,
		       enum mail_section_text text, struct mail_section *sec)
{
	const struct mail_part *p;
	int idx = find_section(parts, count, section);

	memset(sec, 0, sizeof(*sec));
	if (idx < 0)
		return -1;
	p = &parts[idx];
	if (p->kind == MAIL_PART_EMPTY_MULTIPART && *section != '\0') {
		/* the empty part of a multipart without parts: nothing */
		if (text == MAIL_SECTION_HEADER || text == MAIL_SECTION_TEXT)
			return -1;
		set_range(sec, p->header_offset + p->header_size, 0, 0);
		return 0;
	}
	if (text == MAIL_SECTION_HEADER || text == MAIL_SECTION_TEXT) {
		/* of a message: the root (section ""), or the message inside a
		   message/rfc822 part; part 1 of a single-part message is its
		   body, which has no header (RFC 9051 6.4.5) */
		if (*section != '\0') {
			if (p->kind != MAIL_PART_MESSAGE)
				return -1;
			p = &parts[p->first_child];
		}
		if (text == MAIL_SECTION_HEADER) {
			set_range(sec, p->header_offset, p->header_size, p->header_crlf_size);
		} else {
			set_range(sec, p->header_offset + p->header_size, p->body_size,
				  p->body_crlf_size);
			sec->lines = p->body_lines;
			sec->cte = p->cte;
			sec->is_multipart = p->kind == MAIL_PART_MULTIPART;
		}
		return 0;
	}
	if (text == MAIL_SECTION_MIME) {
		if (*section == '\0')
			return -1;
		set_range(sec, p->header_offset, p->header_size, p->header_crlf_size);
		return 0;
	}
	if (*section == '\0') {
		/* BODY[]: the whole message (BODY[1] of a single-part message is
		   its body: below) */
		set_range(sec, 0, p->header_size + p->body_size,
			  p->header_crlf_size + p->body_crlf_size);
		sec->is_message = true;
		return 0;
	}
	set_range(sec, p->header_offset + p->header_size, p->body_size, p->body_crlf_size);
	sec->lines = p->body_lines;
	sec->cte = p->cte;
	sec->is_multipart = p->kind == MAIL_PART_MULTIPART;
	sec->is_message = p->kind == MAIL_PART_MESSAGE;
	return 0;
}

/* ---- building the cache ---- */

static const char *structure(struct arena *arena, const struct mime_part *root,
			     enum mail_fetch_fields what, unsigned int quote_flags)
{
	buf_t b;
	int ret;

	buf_init(&b, BUF_MAX_UNLIMITED);
	if (what == MAIL_FETCH_ENVELOPE)
		ret = imap_envelope_write(&b, arena, &root->header, quote_flags);
	else
		ret = imap_bodystructure_write(&b, arena, root, what == MAIL_FETCH_BODYSTRUCTURE,
					       quote_flags);
	if (ret < 0)
		i_panic("unlimited buffer full");
	{
		const char *s = arena_strndup(arena, b.data == NULL ? "" : (const char *)b.data,
					      buf_len(&b));

		buf_free(&b);
		return s;
	}
}

/* Both quotings; the UTF-8 one NULL when the same. */
static void both(struct arena *arena, const struct mime_part *root, enum mail_fetch_fields what,
		 const char **plain_r, const char **utf8_r)
{
	*plain_r = structure(arena, root, what, 0);
	*utf8_r = structure(arena, root, what, IMAP_QUOTE_FLAG_UTF8);
	if (strcmp(*plain_r, *utf8_r) == 0)
		*utf8_r = NULL;
}

static int pread_full(int fd, void *buf, size_t size, uint64_t offset)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = pread(fd, (char *)buf + got, size - got, (off_t)(offset + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int mail_cache_build(struct arena *arena, int fd, uint64_t size, struct index_message *msg,
		     struct index_cache *cache, const char **error_r)
{
	struct mime_parser *parser = mime_parser_init(arena, NULL);
	unsigned char *chunk = i_malloc(READ_CHUNK);
	const struct msg_header_field *date;
	struct mime_part *root;
	uint64_t off = 0;
	buf_t parts;

	while (off < size) {
		size_t want = size - off > READ_CHUNK ? READ_CHUNK : (size_t)(size - off);

		if (pread_full(fd, chunk, want, off) < 0) {
			*error_r = strerror(errno);
			free(chunk);
			root = mime_parser_finish(&parser);
			return -1;
		}
		mime_parser_feed(parser, chunk, want);
		off += want;
	}
	free(chunk);
	root = mime_parser_finish(&parser);

	msg->size = root->header_crlf_size + root->body_crlf_size;
	msg->raw_size = size;
	date = msg_header_get(&root->header, "Date");
	msg->has_sent_date = false;
	if (date != NULL) {
		time_t t;
		int tz;

		if (msg_date_parse(date->value, date->value_len, &t, &tz) == 0) {
			msg->has_sent_date = true;
			msg->sent_date = t;
			msg->sent_tz = tz;
		}
	}
	memset(cache, 0, sizeof(*cache));
	both(arena, root, MAIL_FETCH_ENVELOPE, &cache->envelope, &cache->envelope_utf8);
	both(arena, root, MAIL_FETCH_BODYSTRUCTURE, &cache->bodystructure,
	     &cache->bodystructure_utf8);
	both(arena, root, MAIL_FETCH_BODY, &cache->body, &cache->body_utf8);
	buf_init(&parts, BUF_MAX_UNLIMITED);
	mail_parts_write(root, &parts);
	cache->parts_size = buf_len(&parts);
	cache->parts = arena_memdup(arena, parts.data, buf_len(&parts));
	buf_free(&parts);
	/* the root header, unless absurdly large (FETCH then reads the file) */
	if (root->header_size <= TERN_MIME_MAX_HEADER_SIZE) {
		void *h = arena_alloc(arena, root->header_size + 1);

		if (pread_full(fd, h, root->header_size, 0) < 0) {
			*error_r = strerror(errno);
			return -1;
		}
		cache->header = h;
		cache->header_size = root->header_size;
	}
	return 0;
}
