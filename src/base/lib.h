#ifndef TERN_LIB_H
#define TERN_LIB_H

/*
 * The base of everything: allocation helpers that never return NULL, the
 * three kinds of error (panic for bugs, fatal for environment failures,
 * everything else is returned), and small macros.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define ATTR_FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))
#define ATTR_MALLOC __attribute__((malloc))
#define ATTR_WARN_UNUSED __attribute__((warn_unused_result))

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define I_MIN(a, b) ((a) < (b) ? (a) : (b))
#define I_MAX(a, b) ((a) > (b) ? (a) : (b))

/* A bug: log the message and abort(). */
void i_panic(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;
/* The environment failed (disk, config, memory): log and exit(EX_SOFTWARE or 1). */
void i_fatal(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;

#define i_assert(expr) \
	do { \
		if (!(expr)) \
			i_panic("assertion failed: %s (%s:%d)", #expr, __FILE__, __LINE__); \
	} while (0)

/* Allocation: these never return NULL; out of memory is fatal. */
void *i_malloc(size_t size) ATTR_MALLOC;       /* zero-filled */
void *i_realloc(void *ptr, size_t size);
char *i_strdup(const char *s) ATTR_MALLOC;     /* NULL in, NULL out */
char *i_strndup(const void *s, size_t n) ATTR_MALLOC; /* always NUL-terminated */
char *i_strdup_printf(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_MALLOC;
void i_free_ptr(void *pptr);                   /* free(*pptr); *pptr = NULL */
#define i_free(p) i_free_ptr(&(p))

/* Overflow-checked size arithmetic: panics on overflow. */
size_t i_size_add(size_t a, size_t b);
size_t i_size_mul(size_t a, size_t b);

/* ASCII-only case helpers (locale-independent, as protocols require). */
static inline char i_tolower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
static inline char i_toupper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c; }
int i_strcasecmp(const char *a, const char *b);
int i_strncasecmp(const char *a, const char *b, size_t n);
/* Compare a length-delimited buffer to a C string, ASCII case-insensitively. */
bool i_memcaseeq(const void *data, size_t len, const char *str);
void i_str_lower(char *s);

/* The value of one hexadecimal digit, either case, or -1. */
static inline int i_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* True if any byte has its high bit set: not 7-bit ASCII (RFC 6152,
   RFC 6531 decide on this). */
bool i_mem_has_8bit(const void *data, size_t len);
bool i_str_has_8bit(const char *s);

#endif
