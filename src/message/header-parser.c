#include "header-parser.h"
#include "arena.h"
#include "buf.h"

#include <stdlib.h>


/* Appends whose room was checked (or to an unlimited buffer) cannot fail. */
static void must_append(buf_t *buf, const void *data, size_t len)
{
	if (buf_append(buf, data, len) < 0)
		i_panic("buffer overflow after room check");
}

struct msg_header_parser {
	struct arena *arena;
	buf_t buf;
	size_t offset;
	size_t total;          /* bytes of the block seen, buffered or not */
	size_t line_len;       /* bytes of the current line so far */
	unsigned int max_fields;
	unsigned int lines;
	unsigned char last;    /* last byte seen, for a CR split from its LF */
	bool truncated;
	bool done;
};

static size_t line_end(const unsigned char *d, size_t pos, size_t size);
static size_t split_fields(struct arena *arena, const unsigned char *d, size_t size,
			   size_t offset, unsigned int max_fields, bool cut,
			   struct msg_header_field *fields, bool *truncated_r,
			   size_t *scanned_r, unsigned int *lines_r);
static void fill_field(struct arena *arena, const unsigned char *d, size_t start, size_t end,
		       size_t offset, struct msg_header_field *field);

static bool is_name_char(unsigned char c)
{
	/* RFC 5322 3.6.8: ftext = %d33-57 / %d59-126 */
	return c >= 33 && c <= 126 && c != ':';
}

/* The position after the line starting at pos (after its LF, or size). */
static size_t line_end(const unsigned char *d, size_t pos, size_t size)
{
	const unsigned char *nl = memchr(d + pos, '\n', size - pos);

	return nl == NULL ? size : (size_t)(nl - d) + 1;
}

static void fill_field(struct arena *arena, const unsigned char *d, size_t start, size_t end,
		       size_t offset, struct msg_header_field *field)
{
	size_t i, vstart, name_end;
	unsigned char *value;
	size_t vlen = 0;
	bool valid = false;

	/* the name, WSP and colon are on the first line: neither loop goes
	   past its LF, which is no name character and no WSP */
	for (i = start; i < end && is_name_char(d[i]); i++)
		;
	name_end = i;
	/* RFC 5322 4.5: obsolete WSP between the field name and the colon */
	while (i < end && (d[i] == ' ' || d[i] == '\t'))
		i++;
	if (name_end > start && i < end && d[i] == ':')
		valid = true;
	if (valid) {
		field->name = arena_strndup(arena, d + start, name_end - start);
		field->name_len = name_end - start;
		vstart = i + 1;
	} else {
		field->name = "";
		field->name_len = 0;
		vstart = start;
	}
	/* RFC 5322 2.2.3: unfolding removes the CRLF (or bare LF) of each fold
	   and keeps the WSP after it; the final line break goes too. */
	value = arena_alloc(arena, end - vstart + 1);
	for (i = vstart; i < end; i++) {
		if (d[i] == '\n')
			continue;
		if (d[i] == '\r' && i + 1 < end && d[i + 1] == '\n')
			continue;
		if (vlen == 0 && valid && (d[i] == ' ' || d[i] == '\t'))
			continue;	/* WSP after the colon */
		value[vlen++] = d[i];
	}
	value[vlen] = '\0';
	field->value = (const char *)value;
	field->value_len = vlen;
	field->offset = offset + start;
	field->size = end - start;
}

/* Walk the fields of a block; with fields == NULL only count them.
   *scanned_r: the end of the last line looked at; *lines_r: the lines
   up to there. */
static size_t split_fields(struct arena *arena, const unsigned char *d, size_t size,
			   size_t offset, unsigned int max_fields, bool cut,
			   struct msg_header_field *fields, bool *truncated_r,
			   size_t *scanned_r, unsigned int *lines_r)
{
	size_t pos = 0, count = 0, end = 0;
	unsigned int lines = 0;

	*truncated_r = false;
	while (pos < size) {
		size_t start = pos;

		end = line_end(d, pos, size);
		lines++;

		/* the empty line ending the header */
		if ((end - start == 1 && d[start] == '\n') ||
		    (end - start == 2 && d[start] == '\r' && d[start + 1] == '\n'))
			break;
		/* continuation lines (RFC 5322 2.2.3 folding) */
		while (end < size && (d[end] == ' ' || d[end] == '\t')) {
			end = line_end(d, end, size);
			lines++;
		}
		if (cut && end >= size) {
			/* cut by the size limit: this field may go on */
			*truncated_r = true;
			break;
		}
		if (count >= max_fields) {
			*truncated_r = true;
			break;
		}
		if (fields != NULL)
			fill_field(arena, d, start, end, offset, &fields[count]);
		count++;
		pos = end;
	}
	if (cut)
		*truncated_r = true;
	*scanned_r = end;
	*lines_r = lines;
	return count;
}

void msg_header_parse_block(struct arena *arena, const void *data, size_t size, size_t offset,
			    unsigned int max_fields, bool cut, struct msg_header *hdr_r)
{
	const unsigned char *d = data;
	const unsigned char *p, *end = d + size;
	size_t count, scanned;
	unsigned int lines;
	bool truncated;

	memset(hdr_r, 0, sizeof(*hdr_r));
	hdr_r->offset = offset;
	hdr_r->size = size;
	count = split_fields(arena, d, size, offset, max_fields, cut, NULL, &truncated,
			     &scanned, &lines);
	/* the lines the walk did not reach (after the empty line or a limit) */
	for (p = d + scanned; p < end; ) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));

		lines++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	hdr_r->lines = lines;
	if (count > 0) {
		hdr_r->fields = arena_new_array(arena, struct msg_header_field, count);
		(void)split_fields(arena, d, size, offset, max_fields, cut, hdr_r->fields,
				   &truncated, &scanned, &lines);
	}
	hdr_r->count = (unsigned int)count;
	hdr_r->truncated = truncated;
}

struct msg_header_parser *msg_header_parser_init(struct arena *arena, size_t offset,
						 size_t max_size, unsigned int max_fields)
{
	struct msg_header_parser *p = i_malloc(sizeof(*p));

	p->arena = arena;
	p->offset = offset;
	p->max_fields = max_fields;
	buf_init(&p->buf, max_size);
	return p;
}

size_t msg_header_parser_feed(struct msg_header_parser *p, const void *data, size_t size)
{
	const unsigned char *d = data, *start = data, *end = d + size;

	while (!p->done && d < end) {
		const unsigned char *nl = memchr(d, '\n', (size_t)(end - d));
		const unsigned char *seg_end = nl == NULL ? end : nl + 1;
		size_t n = (size_t)(seg_end - d);
		size_t room = p->buf.max - buf_len(&p->buf);

		if (n > room) {
			p->truncated = true;
			if (room > 0)
				must_append(&p->buf, d, room);
		} else {
			must_append(&p->buf, d, n);
		}
		p->line_len += n;
		p->total += n;
		if (nl != NULL) {
			bool cr = n >= 2 ? nl[-1] == '\r' : (p->line_len >= 2 && p->last == '\r');
			size_t eol = cr ? 2 : 1;

			p->lines++;
			if (p->line_len == eol)
				p->done = true;
			p->line_len = 0;
		}
		p->last = seg_end[-1];
		d = seg_end;
	}
	return (size_t)(d - start);
}

bool msg_header_parser_is_done(const struct msg_header_parser *p)
{
	return p->done;
}

void msg_header_parser_finish(struct msg_header_parser **pp, struct msg_header *hdr_r)
{
	struct msg_header_parser *p = *pp;

	msg_header_parse_block(p->arena, p->buf.data == NULL ? (const void *)"" : p->buf.data,
			       buf_len(&p->buf), p->offset, p->max_fields, p->truncated, hdr_r);
	hdr_r->size = p->total;
	hdr_r->lines = p->lines + (p->line_len > 0 ? 1 : 0);
	if (p->truncated)
		hdr_r->truncated = true;
	buf_free(&p->buf);
	i_free(p);
	*pp = NULL;
}
