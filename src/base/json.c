#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static size_t utf8_seq(const unsigned char *p, size_t len, bool *valid_r);
static void before_value(struct json_writer *w);
static void newline_indent(struct json_writer *w);
static void put(struct json_writer *w, const void *data, size_t len);
static void push(struct json_writer *w, bool object);
static bool pop(struct json_writer *w);

/* The length of the UTF-8 sequence at p. A well-formed sequence sets
   *valid_r; otherwise the length is that of the maximal subpart of an
   ill-formed sequence (at least 1), which becomes one U+FFFD
   (Unicode 15 section 3.9, Table 3-7 for the well-formed byte ranges). */
static size_t utf8_seq(const unsigned char *p, size_t len, bool *valid_r)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	*valid_r = false;
	if (c < 0x80) {
		*valid_r = true;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* <= U+10FFFF */
	} else {
		return 1; /* 80..C1, F5..FF never start a sequence */
	}
	for (i = 1; i <= need; i++) {
		if (i >= len)
			return i;
		if (p[i] < lo || p[i] > hi)
			return i;
		lo = 0x80;
		hi = 0xbf;
	}
	*valid_r = true;
	return need + 1;
}

int json_append_string(buf_t *out, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i = 0, start = 0, n;
	char esc[8];
	bool valid;
	size_t orig = buf_len(out);

	if (buf_append_c(out, '"') < 0)
		return -1;
	while (i < len) {
		unsigned char c = p[i];
		const char *rep = NULL;
		size_t rep_len = 2;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			n = utf8_seq(p + i, len - i, &valid);
			if (valid) {
				i += n;
				continue;
			}
			rep = "\xef\xbf\xbd"; /* U+FFFD */
			rep_len = 3;
		} else {
			n = 1;
			switch (c) {
			case '"': rep = "\\\""; break;
			case '\\': rep = "\\\\"; break;
			case '\b': rep = "\\b"; break;
			case '\f': rep = "\\f"; break;
			case '\n': rep = "\\n"; break;
			case '\r': rep = "\\r"; break;
			case '\t': rep = "\\t"; break;
			default:
				/* RFC 8259 7: other control characters as \u00XX */
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				rep = esc;
				rep_len = 6;
				break;
			}
		}
		if (buf_append(out, p + start, i - start) < 0 ||
		    buf_append(out, rep, rep_len) < 0)
			goto fail;
		i += n;
		start = i;
	}
	if (buf_append(out, p + start, i - start) < 0 || buf_append_c(out, '"') < 0)
		goto fail;
	return 0;
fail:
	buf_truncate(out, orig);
	return -1;
}

void json_writer_init(struct json_writer *w, buf_t *out, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
	w->first = true;
}

int json_writer_finish(struct json_writer *w)
{
	if (w->depth != 0)
		i_panic("json: %u containers left open", w->depth);
	free(w->kinds);
	w->kinds = NULL;
	w->kinds_alloc = 0;
	return w->failed ? -1 : 0;
}

static void put(struct json_writer *w, const void *data, size_t len)
{
	if (w->failed)
		return;
	if (buf_append(w->out, data, len) < 0)
		w->failed = true;
}

static void newline_indent(struct json_writer *w)
{
	unsigned int i;

	if (!w->pretty)
		return;
	put(w, "\n", 1);
	for (i = 0; i < w->depth; i++)
		put(w, "  ", 2);
}

static bool in_object(const struct json_writer *w)
{
	unsigned int d = w->depth - 1;

	return w->depth > 0 && (w->kinds[d / 8] & (1u << (d % 8))) != 0;
}

/* Separators before a value: nothing after a key, else a comma unless
   this is the first value of its container, then the indentation. */
static void before_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (in_object(w))
		i_panic("json: value written in an object without a key");
	if (w->depth == 0 && !w->first)
		i_panic("json: more than one top-level value");
	if (!w->first)
		put(w, ",", 1);
	if (w->depth > 0)
		newline_indent(w);
	w->first = false;
}

static void push(struct json_writer *w, bool object)
{
	unsigned int d = w->depth;

	if (d / 8 >= w->kinds_alloc) {
		size_t new_alloc = w->kinds_alloc == 0 ? 8 : i_size_mul(w->kinds_alloc, 2);

		w->kinds = i_realloc(w->kinds, new_alloc);
		memset(w->kinds + w->kinds_alloc, 0, new_alloc - w->kinds_alloc);
		w->kinds_alloc = new_alloc;
	}
	if (object)
		w->kinds[d / 8] |= (unsigned char)(1u << (d % 8));
	else
		w->kinds[d / 8] &= (unsigned char)~(1u << (d % 8));
	w->depth++;
	w->first = true;
}

/* Close the innermost container; returns whether it was an object. */
static bool pop(struct json_writer *w)
{
	bool object, empty = w->first;

	if (w->depth == 0)
		i_panic("json: end without begin");
	if (w->after_key)
		i_panic("json: key without value");
	object = in_object(w);
	w->depth--;
	if (!empty)
		newline_indent(w);
	w->first = false;
	return object;
}

void json_object_begin(struct json_writer *w)
{
	before_value(w);
	put(w, "{", 1);
	push(w, true);
}

void json_object_end(struct json_writer *w)
{
	if (!pop(w))
		i_panic("json: object end closes an array");
	put(w, "}", 1);
}

void json_array_begin(struct json_writer *w)
{
	before_value(w);
	put(w, "[", 1);
	push(w, false);
}

void json_array_end(struct json_writer *w)
{
	if (pop(w))
		i_panic("json: array end closes an object");
	put(w, "]", 1);
}

void json_key(struct json_writer *w, const char *key)
{
	if (!in_object(w) || w->after_key)
		i_panic("json: key outside an object");
	if (!w->first)
		put(w, ",", 1);
	newline_indent(w);
	w->first = false;
	if (!w->failed && json_append_string(w->out, key, strlen(key)) < 0)
		w->failed = true;
	put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
	w->after_key = true;
}

void json_string_n(struct json_writer *w, const void *data, size_t len)
{
	before_value(w);
	if (!w->failed && json_append_string(w->out, data, len) < 0)
		w->failed = true;
}

void json_string(struct json_writer *w, const char *str)
{
	if (str == NULL)
		json_null(w);
	else
		json_string_n(w, str, strlen(str));
}

void json_int(struct json_writer *w, long long value)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", value);

	before_value(w);
	put(w, tmp, (size_t)n);
}

void json_uint(struct json_writer *w, unsigned long long value)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", value);

	before_value(w);
	put(w, tmp, (size_t)n);
}

void json_double(struct json_writer *w, double value)
{
	char tmp[40];
	int n;

	if (!isfinite(value)) {
		json_null(w);
		return;
	}
	/* %.17g round-trips every double; it never yields a form JSON
	   rejects except that it may omit a fraction, which is fine */
	n = snprintf(tmp, sizeof(tmp), "%.17g", value);
	before_value(w);
	put(w, tmp, (size_t)n);
}

void json_bool(struct json_writer *w, bool value)
{
	before_value(w);
	if (value)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void json_null(struct json_writer *w)
{
	before_value(w);
	put(w, "null", 4);
}
