/*
 * The MIME parser on arbitrary bytes: parse the input whole, then fed in
 * pieces whose sizes come from the input itself; the two trees must be
 * identical (abort otherwise), every offset must lie inside the input, and
 * the section lookup must find every part. Small limits are used on a
 * second pass so the limit paths are exercised too. The CRLF-form sizes
 * of every part must be the sizes of a parse of the input with its bare
 * LFs made CRLF.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mime.h"
#include "arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz-message: %s\n", what);
	abort();
}

static unsigned int check_part(const struct mime_part *part, size_t size)
{
	const struct mime_part *c;
	unsigned int n = 0, count = 1;

	if (part->offset > size || part->header_size > size - part->offset ||
	    part->offset + part->header_size != part->body_offset ||
	    part->body_size > size - part->body_offset ||
	    part->preamble_size > size - I_MIN(part->preamble_offset, size) ||
	    part->epilogue_size > size - I_MIN(part->epilogue_offset, size) ||
	    (part->header.count > 0 && part->header.fields == NULL))
		fail("part out of bounds");
	for (c = part->children; c != NULL; c = c->next) {
		if (c->parent != part || c->depth != part->depth + 1 || c->offset < part->body_offset)
			fail("bad child link");
		if (c->body_size == 0 ?
		    c->body_offset > part->body_offset + part->body_size + 2 :
		    c->body_offset + c->body_size > part->body_offset + part->body_size)
			fail("child outside its parent");
		count += check_part(c, size);
		n++;
	}
	if (n != part->child_count)
		fail("child count");
	return count;
}

static void check_crlf(const struct mime_part *a, const struct mime_part *b)
{
	const struct mime_part *ca, *cb;

	if (a->child_count != b->child_count)
		fail("CRLF form parses to another tree");
	if (a->header_crlf_size != b->header_size || a->body_crlf_size != b->body_size ||
	    a->header_crlf_size < a->header_size || a->body_crlf_size < a->body_size)
		fail("CRLF-form sizes");
	for (ca = a->children, cb = b->children; ca != NULL; ca = ca->next, cb = cb->next)
		check_crlf(ca, cb);
}

static void crlf_run(const struct mime_part *whole, const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	uint8_t *c = malloc(size * 2 + 1);
	size_t i, n = 0;

	for (i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			c[n++] = '\r';
		c[n++] = data[i];
	}
	check_crlf(whole, mime_parse(arena, c, n, NULL));
	free(c);
	arena_free(&arena);
}

static void run(const uint8_t *data, size_t size, const struct mime_limits *limits)
{
	struct arena *a1 = arena_new(0), *a2 = arena_new(0);
	struct mime_part *whole, *split;
	struct mime_parser *p;
	uint32_t seed = 2166136261u;
	size_t pos = 0, i;

	whole = mime_parse(a1, data, size, limits);
	if (limits != NULL && check_part(whole, size) > limits->max_parts)
		fail("part limit exceeded");
	(void)check_part(whole, size);
	if (limits == NULL && size < 1024 * 1024)
		crlf_run(whole, data, size);
	if (mime_part_find_section(whole, "") != whole)
		fail("root section");

	for (i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[i]) * 16777619u;
	p = mime_parser_init(a2, limits);
	while (pos < size) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		/* mostly tiny pieces, sometimes big ones */
		n = (seed >> 16) % 8 == 0 ? (seed >> 8) % 4096 : (seed >> 16) % 5;
		n = I_MIN(n, size - pos);
		mime_parser_feed(p, data + pos, n);
		pos += n;
	}
	split = mime_parser_finish(&p);
	if (!mime_part_tree_equal(whole, split))
		fail("whole and split parses differ");
	arena_free(&a1);
	arena_free(&a2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits limits;

	run(data, size, NULL);
	mime_limits_default(&limits);
	limits.max_depth = 3;
	limits.max_parts = 5;
	limits.max_header_fields = 4;
	limits.max_header_size = 64;
	run(data, size, &limits);
	return 0;
}
