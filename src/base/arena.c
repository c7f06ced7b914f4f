#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_BLOCK 8192

struct arena_block {
	struct arena_block *prev;
	size_t size;   /* usable bytes after the header */
	size_t used;
	/* data follows, aligned */
};

struct arena {
	struct arena_block *block;
	size_t block_size;
	size_t total;
	size_t limit;
};

/* header size rounded up so data stays aligned */
#define BLOCK_HDR ((sizeof(struct arena_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static struct arena_block *block_new(size_t size, struct arena_block *prev)
{
	struct arena_block *b = malloc(i_size_add(BLOCK_HDR, size));

	if (b == NULL)
		i_fatal("out of memory allocating arena block of %zu bytes", size);
	b->prev = prev;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *arena_new(size_t block_size)
{
	struct arena *a = i_malloc(sizeof(*a));

	a->block_size = block_size == 0 ? ARENA_DEFAULT_BLOCK : block_size;
	a->block = block_new(a->block_size, NULL);
	return a;
}

void arena_free(struct arena **arenap)
{
	struct arena *a = *arenap;
	struct arena_block *b, *prev;

	if (a == NULL)
		return;
	/* first: the pointer may itself live in the arena (an object that
	   owns its arena), so it must not be written after the free */
	*arenap = NULL;
	for (b = a->block; b != NULL; b = prev) {
		prev = b->prev;
		free(b);
	}
	free(a);
}

void arena_clear(struct arena *a)
{
	struct arena_block *b, *prev, *keep = NULL;

	/* keep one normal-size block; big allocations have blocks of their own */
	for (b = a->block; b != NULL; b = prev) {
		prev = b->prev;
		if (keep == NULL && b->size == a->block_size)
			keep = b;
		else
			free(b);
	}
	if (keep == NULL)
		keep = block_new(a->block_size, NULL);
	keep->prev = NULL;
	keep->used = 0;
	a->block = keep;
	a->total = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_block *b = a->block;
	size_t asize = (i_size_add(size, ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
	unsigned char *p;

	if (asize == 0)
		asize = ARENA_ALIGN;
	if (b->size - b->used < asize) {
		if (asize > a->block_size / 4) {
			/* big allocation: its own block, behind the current one so
			   the current block's free space is not wasted */
			struct arena_block *big = block_new(asize, b->prev);

			b->prev = big;
			big->used = asize;
			a->total += asize;
			p = (unsigned char *)big + BLOCK_HDR;
			memset(p, 0, size);
			return p;
		}
		b = block_new(a->block_size, b);
		a->block = b;
	}
	p = (unsigned char *)b + BLOCK_HDR + b->used;
	b->used += asize;
	a->total += asize;
	memset(p, 0, size);
	return p;
}

void *arena_realloc(struct arena *a, void *ptr, size_t old_size, size_t new_size)
{
	void *p;

	if (new_size <= old_size)
		return ptr;
	p = arena_alloc(a, new_size);
	if (ptr != NULL && old_size > 0)
		memcpy(p, ptr, old_size);
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s == NULL ? NULL : arena_strndup(a, s, strlen(s));
}

char *arena_strndup(struct arena *a, const void *s, size_t n)
{
	char *p = arena_alloc(a, i_size_add(n, 1));

	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *arena_memdup(struct arena *a, const void *s, size_t n)
{
	void *p = arena_alloc(a, n);

	if (n > 0)
		memcpy(p, s, n);
	return p;
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list args)
{
	va_list copy;
	char *p;
	int len;

	va_copy(copy, args);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0)
		i_panic("vsnprintf failed for format %s", fmt);
	p = arena_alloc(a, (size_t)len + 1);
	vsnprintf(p, (size_t)len + 1, fmt, args);
	return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list args;
	char *p;

	va_start(args, fmt);
	p = arena_vprintf(a, fmt, args);
	va_end(args);
	return p;
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}

void arena_set_limit(struct arena *a, size_t max_bytes)
{
	a->limit = max_bytes;
}

bool arena_over_limit(const struct arena *a)
{
	return a->limit != 0 && a->total > a->limit;
}
