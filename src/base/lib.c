#include "lib.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void i_panic(const char *fmt, ...)
{
	va_list args;
	char msg[1024];

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	log_write(LOG_FATAL, "panic", "%s", msg);
	abort();
}

void i_fatal(const char *fmt, ...)
{
	va_list args;
	char msg[1024];

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	log_write(LOG_FATAL, "fatal", "%s", msg);
	exit(1);
}

void *i_malloc(size_t size)
{
	void *p = calloc(1, size == 0 ? 1 : size);

	if (p == NULL)
		i_fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *i_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size == 0 ? 1 : size);

	if (p == NULL)
		i_fatal("out of memory reallocating %zu bytes", size);
	return p;
}

char *i_strdup(const char *s)
{
	return s == NULL ? NULL : i_strndup(s, strlen(s));
}

char *i_strndup(const void *s, size_t n)
{
	char *p = i_malloc(i_size_add(n, 1));

	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *i_strdup_printf(const char *fmt, ...)
{
	va_list args;
	char *p;
	int len;

	va_start(args, fmt);
	len = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (len < 0)
		i_panic("vsnprintf failed for format %s", fmt);
	p = i_malloc((size_t)len + 1);
	va_start(args, fmt);
	vsnprintf(p, (size_t)len + 1, fmt, args);
	va_end(args);
	return p;
}

void i_free_ptr(void *pptr)
{
	void **pp = pptr;

	free(*pp);
	*pp = NULL;
}

size_t i_size_add(size_t a, size_t b)
{
	if (a > SIZE_MAX - b)
		i_panic("size overflow: %zu + %zu", a, b);
	return a + b;
}

size_t i_size_mul(size_t a, size_t b)
{
	if (b != 0 && a > SIZE_MAX / b)
		i_panic("size overflow: %zu * %zu", a, b);
	return a * b;
}

int i_strcasecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		char ca = i_tolower(*a), cb = i_tolower(*b);

		if (ca != cb)
			return (unsigned char)ca - (unsigned char)cb;
		if (ca == '\0')
			return 0;
	}
}

int i_strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		char ca = i_tolower(*a), cb = i_tolower(*b);

		if (ca != cb)
			return (unsigned char)ca - (unsigned char)cb;
		if (ca == '\0')
			return 0;
	}
	return 0;
}

bool i_memcaseeq(const void *data, size_t len, const char *str)
{
	const char *d = data;
	size_t i;

	for (i = 0; i < len; i++) {
		if (str[i] == '\0' || i_tolower(d[i]) != i_tolower(str[i]))
			return false;
	}
	return str[len] == '\0';
}

void i_str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = i_tolower(*s);
}

bool i_mem_has_8bit(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;

	/* 32 bytes a step: a byte >= 0x80 is one with its top bit set */
	for (; i + 32 <= len; i += 32) {
		uint64_t w[4];

		memcpy(w, p + i, sizeof(w));
		if (((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ULL) != 0)
			return true;
	}
	for (; i < len; i++) {
		if (p[i] >= 0x80)
			return true;
	}
	return false;
}

bool i_str_has_8bit(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x80)
			return true;
	}
	return false;
}
