#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void buf_init(buf_t *buf, size_t max)
{
	i_assert(max > 0);
	buf->data = NULL;
	buf->used = 0;
	buf->alloc = 0;
	buf->max = max;
}

void buf_free(buf_t *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->used = 0;
	buf->alloc = 0;
}

void buf_reset(buf_t *buf)
{
	buf->used = 0;
	if (buf->data != NULL)
		buf->data[0] = '\0';
}

/* Make room for len more bytes plus the NUL; -1 if that would pass max. */
static int buf_grow(buf_t *buf, size_t len)
{
	size_t need, new_alloc;

	if (len > buf->max || buf->used > buf->max - len)
		return -1;
	need = buf->used + len + 1; /* + NUL; cannot overflow: max < SIZE_MAX/2 */
	if (need <= buf->alloc)
		return 0;
	new_alloc = buf->alloc < 64 ? 64 : buf->alloc;
	while (new_alloc < need)
		new_alloc *= 2;
	if (new_alloc > buf->max + 1)
		new_alloc = buf->max + 1;
	buf->data = i_realloc(buf->data, new_alloc);
	buf->alloc = new_alloc;
	return 0;
}

int buf_append(buf_t *buf, const void *data, size_t len)
{
	if (buf_grow(buf, len) < 0)
		return -1;
	if (len > 0)
		memcpy(buf->data + buf->used, data, len);
	buf->used += len;
	buf->data[buf->used] = '\0';
	return 0;
}

int buf_append_str(buf_t *buf, const char *str)
{
	return buf_append(buf, str, strlen(str));
}

int buf_append_c(buf_t *buf, unsigned char c)
{
	return buf_append(buf, &c, 1);
}

int buf_vprintf(buf_t *buf, const char *fmt, va_list args)
{
	va_list copy;
	int len;

	va_copy(copy, args);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0)
		return -1;
	if (buf_grow(buf, (size_t)len) < 0)
		return -1;
	vsnprintf((char *)buf->data + buf->used, (size_t)len + 1, fmt, args);
	buf->used += (size_t)len;
	return 0;
}

int buf_printf(buf_t *buf, const char *fmt, ...)
{
	va_list args;
	int ret;

	va_start(args, fmt);
	ret = buf_vprintf(buf, fmt, args);
	va_end(args);
	return ret;
}

unsigned char *buf_reserve(buf_t *buf, size_t len)
{
	if (buf_grow(buf, len) < 0)
		return NULL;
	return buf->data + buf->used;
}

void buf_commit(buf_t *buf, size_t len)
{
	i_assert(buf->used + len < buf->alloc);
	buf->used += len;
	buf->data[buf->used] = '\0';
}

void buf_consume(buf_t *buf, size_t n)
{
	i_assert(n <= buf->used);
	if (n == 0)
		return;
	memmove(buf->data, buf->data + n, buf->used - n);
	buf->used -= n;
	buf->data[buf->used] = '\0';
}

void buf_truncate(buf_t *buf, size_t len)
{
	i_assert(len <= buf->used);
	buf->used = len;
	if (buf->data != NULL)
		buf->data[len] = '\0';
}

const char *buf_str(const buf_t *buf)
{
	return buf->data == NULL ? "" : (const char *)buf->data;
}

char *buf_steal(buf_t *buf, size_t *len_r)
{
	char *p;

	if (buf->data == NULL) {
		p = i_strndup("", 0);
	} else {
		p = (char *)buf->data;
	}
	if (len_r != NULL)
		*len_r = buf->used;
	buf->data = NULL;
	buf->used = 0;
	buf->alloc = 0;
	return p;
}
