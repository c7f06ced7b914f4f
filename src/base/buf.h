#ifndef TERN_BUF_H
#define TERN_BUF_H

#include "lib.h"

#include <stdarg.h>

/*
 * A growable byte buffer with a mandatory maximum size (curl's dynbuf idea).
 * Appending past the maximum fails with -1 and leaves the buffer unchanged,
 * so every network limit is an explicit error the caller handles.
 * The data is always NUL-terminated (one byte beyond `used`) for convenience;
 * binary data may contain NULs, so always use buf_len().
 */
typedef struct buf {
	unsigned char *data;
	size_t used;
	size_t alloc;
	size_t max;
} buf_t;

/* Use when a buffer has no natural limit (e.g. output built from bounded input). */
#define BUF_MAX_UNLIMITED ((size_t)-1 / 2)

void buf_init(buf_t *buf, size_t max);
void buf_free(buf_t *buf);                 /* frees memory; buffer may be reused after buf_init */
void buf_reset(buf_t *buf);                /* empty, keeps memory */

/* Append; returns 0, or -1 when the result would exceed max (nothing appended). */
int buf_append(buf_t *buf, const void *data, size_t len) ATTR_WARN_UNUSED;
int buf_append_str(buf_t *buf, const char *str) ATTR_WARN_UNUSED;
int buf_append_c(buf_t *buf, unsigned char c) ATTR_WARN_UNUSED;
int buf_printf(buf_t *buf, const char *fmt, ...) ATTR_FORMAT(2, 3) ATTR_WARN_UNUSED;
int buf_vprintf(buf_t *buf, const char *fmt, va_list args) ATTR_FORMAT(2, 0) ATTR_WARN_UNUSED;

/* Reserve room for len more bytes and return a pointer to it; -1 via NULL if over max.
   Call buf_commit() with how many of those bytes were written. */
unsigned char *buf_reserve(buf_t *buf, size_t len);
void buf_commit(buf_t *buf, size_t len);

/* Drop the first n bytes (n <= used). */
void buf_consume(buf_t *buf, size_t n);
/* Shorten to len bytes (len <= used). */
void buf_truncate(buf_t *buf, size_t len);

static inline size_t buf_len(const buf_t *buf) { return buf->used; }
/* Never NULL: an empty buffer gives "". Valid until the next modification. */
const char *buf_str(const buf_t *buf);

/* Take ownership of the bytes (NUL-terminated, malloc'd); the buffer becomes empty. */
char *buf_steal(buf_t *buf, size_t *len_r);

#endif
