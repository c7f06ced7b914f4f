#ifndef TERN_JSON_H
#define TERN_JSON_H

#include "buf.h"

/*
 * A small JSON writer (RFC 8259) appending to a buf_t. The caller emits
 * values in document order; the writer adds commas, colons and, when
 * pretty-printing, newlines and 2-space indentation (Python's
 * json.dumps(indent=2) layout: empty containers stay "[]" / "{}").
 *
 * Strings are escaped per RFC 8259 7; input bytes that are not valid
 * UTF-8 are replaced by U+FFFD (one per maximal ill-formed subsequence,
 * Unicode 15 3.9 "best practice", as Python's errors="replace" does), so
 * the output is always valid UTF-8 JSON.
 *
 * Errors are sticky: when the buffer's maximum is reached, the writer stops
 * writing and json_writer_finish() returns -1. Misuse (a value where a key
 * is needed, unbalanced ends) is a bug and panics.
 */
struct json_writer {
	buf_t *out;
	bool pretty;
	bool first;          /* no value yet in the current container */
	bool after_key;      /* a key was written; its value comes next */
	bool failed;         /* the buffer's maximum was hit */
	unsigned int depth;
	/* one bit per open container: 1 = object, 0 = array (grown on demand) */
	unsigned char *kinds;
	size_t kinds_alloc;
};

void json_writer_init(struct json_writer *w, buf_t *out, bool pretty);
/* Returns 0, or -1 when the buffer's maximum was hit at some point (the
   output is then incomplete). Panics if containers are still open.
   Frees the writer's own memory (not the buffer). */
int json_writer_finish(struct json_writer *w);

void json_object_begin(struct json_writer *w);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w);
void json_array_end(struct json_writer *w);
/* An object member's name; the next call must write its value. */
void json_key(struct json_writer *w, const char *key);

void json_string(struct json_writer *w, const char *str);      /* NULL writes null */
void json_string_n(struct json_writer *w, const void *data, size_t len);
void json_int(struct json_writer *w, long long value);
void json_uint(struct json_writer *w, unsigned long long value);
/* Non-finite values (NaN, infinities) have no JSON form: written as null. */
void json_double(struct json_writer *w, double value);
void json_bool(struct json_writer *w, bool value);
void json_null(struct json_writer *w);

/* Append `len` bytes as a JSON string literal (with quotes) to `out`,
   escaped as above. Returns 0 or -1 when out's maximum is hit. */
int json_append_string(buf_t *out, const void *data, size_t len);

#endif
