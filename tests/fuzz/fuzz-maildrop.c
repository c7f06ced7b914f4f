/*
 * Fuzz target for the maildrop file parser (src/deliver/maildrop.c): the
 * input is a whole drop file, as anyone on the host may write one. A file
 * that parses is written again with maildrop_format() and its message, and
 * must parse back to the same contents: what sendmail writes, the pickup
 * reads.
 */
#include "arena.h"
#include "maildrop.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool maildrop_equal(const struct maildrop *a, const struct maildrop *b)
{
	unsigned int i;

	if (!str_equal(a->from, b->from) || !str_equal(a->full_name, b->full_name) ||
	    a->ret != b->ret || !str_equal(a->envid, b->envid) ||
	    a->rcpt_count != b->rcpt_count || a->message_size != b->message_size)
		return false;
	for (i = 0; i < a->rcpt_count; i++) {
		if (!str_equal(a->rcpts[i].address, b->rcpts[i].address) ||
		    a->rcpts[i].notify != b->rcpts[i].notify ||
		    !str_equal(a->rcpts[i].orcpt, b->rcpts[i].orcpt))
			return false;
	}
	return a->message_size == 0 ||
		memcmp(a->message, b->message, a->message_size) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct maildrop md, md2;
	const char *error = NULL;
	buf_t file;

	if (maildrop_parse(arena, data, size, &md, &error) < 0) {
		if (error == NULL)
			abort();
		arena_free(&arena);
		return 0;
	}
	if (md.rcpt_count == 0 || md.rcpt_count > MAILDROP_RCPTS_MAX ||
	    md.message != data + size - md.message_size)
		abort();
	buf_init(&file, BUF_MAX_UNLIMITED);
	if (maildrop_format(&md, &file) < 0 ||
	    buf_append(&file, md.message, md.message_size) < 0)
		abort();
	error = NULL;
	if (maildrop_parse(arena, file.data, file.used, &md2, &error) < 0)
		abort();
	if (!maildrop_equal(&md, &md2))
		abort();
	buf_free(&file);
	arena_free(&arena);
	return 0;
}
