#ifndef TERN_ARENA_H
#define TERN_ARENA_H

#include "lib.h"

#include <stdarg.h>

/*
 * A region allocator (Dovecot's data-stack/pool idea): parse results, a whole
 * response or a parsed message live in one arena and are freed at once.
 * Allocations never fail (OOM is fatal) and are 16-byte aligned.
 * An arena may carry a byte limit: arena_set_limit(); past it arena_alloc
 * still succeeds but arena_over_limit() turns true, so parsers can stop
 * cleanly with a protocol error instead of growing without bound.
 */
struct arena;

struct arena *arena_new(size_t block_size);   /* 0 = default (8 KiB) */
void arena_free(struct arena **arena);        /* frees everything, sets NULL (the pointer may live in the arena) */
void arena_clear(struct arena *arena);        /* frees all allocations, keeps one block */

void *arena_alloc(struct arena *arena, size_t size);              /* zero-filled */
void *arena_realloc(struct arena *arena, void *ptr, size_t old_size, size_t new_size);
char *arena_strdup(struct arena *arena, const char *s);           /* NULL in, NULL out */
char *arena_strndup(struct arena *arena, const void *s, size_t n);/* NUL-terminated copy */
void *arena_memdup(struct arena *arena, const void *s, size_t n);
char *arena_printf(struct arena *arena, const char *fmt, ...) ATTR_FORMAT(2, 3);
char *arena_vprintf(struct arena *arena, const char *fmt, va_list args) ATTR_FORMAT(2, 0);

#define arena_new_type(arena, type) ((type *)arena_alloc(arena, sizeof(type)))
#define arena_new_array(arena, type, n) \
	((type *)arena_alloc(arena, i_size_mul(sizeof(type), (n))))

/* Total bytes handed out since creation/clear (for limits and benchmarks). */
size_t arena_used(const struct arena *arena);
void arena_set_limit(struct arena *arena, size_t max_bytes);
bool arena_over_limit(const struct arena *arena);

#endif
