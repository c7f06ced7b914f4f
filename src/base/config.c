/*
 * TOML-subset parser (see config.h for what the subset is). A single pass
 * over the bytes, line by line; values and tables go into an arena.
 * Section numbers refer to the TOML v1.0.0 specification.
 */
#include "config.h"
#include "arena.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct parser {
	struct arena *arena;
	const char *filename;
	const unsigned char *p, *end;
	unsigned int line;
	const char *error;
	struct config_table *root, *current;
};

struct key_path {
	const char *parts[CONFIG_MAX_DEPTH];
	unsigned int count;
};

static int perror_at(struct parser *ps, unsigned int line, const char *fmt, ...) ATTR_FORMAT(3, 4);
static int perr(struct parser *ps, const char *fmt, ...) ATTR_FORMAT(2, 3);
static int check_utf8(struct parser *ps);
static void skip_ws(struct parser *ps);
static int skip_comment(struct parser *ps);
static int expect_eol(struct parser *ps);
static int skip_ws_newlines_comments(struct parser *ps);
static int parse_key(struct parser *ps, struct key_path *key);
static int parse_header(struct parser *ps);
static int parse_keyval(struct parser *ps);
static int parse_value(struct parser *ps, unsigned int depth, struct config_value **value_r);
static int parse_basic_string(struct parser *ps, buf_t *out);
static int parse_literal_string(struct parser *ps, buf_t *out);
static int parse_integer(struct parser *ps, int64_t *value_r);
static struct config_table *table_new(struct parser *ps, struct config_table *parent, const char *key);
static struct config_entry *table_find(const struct config_table *table, const char *key);
static void table_add(struct parser *ps, struct config_table *table, const char *key,
		      struct config_value *value);
static const char *key_display(struct parser *ps, const char *key);

static int perror_at(struct parser *ps, unsigned int line, const char *fmt, ...)
{
	char msg[512];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	if (ps->error == NULL)
		ps->error = arena_printf(ps->arena, "%s:%u: %s", ps->filename, line, msg);
	return -1;
}

static int perr(struct parser *ps, const char *fmt, ...)
{
	char msg[512];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	return perror_at(ps, ps->line, "%s", msg);
}

/* TOML 1.0 "Spec": a TOML file must be a valid UTF-8 encoded Unicode document. */
static int check_utf8(struct parser *ps)
{
	const unsigned char *p = ps->p;
	unsigned int line = 1;

	while (p < ps->end) {
		unsigned char c = *p;
		unsigned int n, cp, i;

		if (c == '\n')
			line++;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return perror_at(ps, line, "invalid UTF-8");
		}
		if ((size_t)(ps->end - p) <= n)
			return perror_at(ps, line, "invalid UTF-8");
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return perror_at(ps, line, "invalid UTF-8");
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* overlong forms, surrogates and values past U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return perror_at(ps, line, "invalid UTF-8");
		p += n + 1;
	}
	return 0;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* At '#': skip to the end of the line (not past it). TOML 1.0 "Comment":
   control characters other than tab are not permitted in comments. */
static int skip_comment(struct parser *ps)
{
	while (ps->p < ps->end && *ps->p != '\n') {
		unsigned char c = *ps->p;

		if (c == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(ps, "control character in comment");
		ps->p++;
	}
	return 0;
}

/* After a header or key/value: whitespace, an optional comment, then a
   newline (consumed) or the end of input. */
static int expect_eol(struct parser *ps)
{
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '#') {
		if (skip_comment(ps) < 0)
			return -1;
	}
	if (ps->p == ps->end)
		return 0;
	if (*ps->p == '\n') {
		ps->p++;
		ps->line++;
		return 0;
	}
	if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n') {
		ps->p += 2;
		ps->line++;
		return 0;
	}
	return perr(ps, "expected end of line, found '%s'", key_display(ps, NULL));
}

/* Inside arrays: whitespace, newlines and comments may appear anywhere. */
static int skip_ws_newlines_comments(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (ps->p == ps->end)
			return 0;
		if (*ps->p == '#') {
			if (skip_comment(ps) < 0)
				return -1;
		} else if (*ps->p == '\n') {
			ps->p++;
			ps->line++;
		} else if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n') {
			ps->p += 2;
			ps->line++;
		} else {
			return 0;
		}
	}
}

/* A short, printable rendering of key (or, with key == NULL, of the text at
   the current position) for error messages. */
static const char *key_display(struct parser *ps, const char *key)
{
	const unsigned char *s, *e;
	buf_t b;
	const char *ret;

	if (key != NULL) {
		s = (const unsigned char *)key;
		e = s + strlen(key);
	} else {
		s = ps->p;
		e = ps->end;
		if (s == e)
			return "end of file";
	}
	buf_init(&b, 64);
	for (; s < e && buf_len(&b) < 40; s++) {
		if (key == NULL && (*s == '\n' || (*s == '\r' && s + 1 < e && s[1] == '\n')))
			break;
		if (*s < 0x20 || *s == 0x7f) {
			if (buf_printf(&b, "\\x%02x", *s) < 0)
				break;
		} else if (buf_append_c(&b, *s) < 0) {
			break;
		}
	}
	ret = arena_strndup(ps->arena, buf_str(&b), buf_len(&b));
	buf_free(&b);
	return ret;
}

static bool is_bare_key_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* TOML 1.0 "Keys": bare, quoted and dotted keys; whitespace around dots. */
static int parse_key(struct parser *ps, struct key_path *key)
{
	key->count = 0;
	for (;;) {
		const char *part;
		buf_t b;

		skip_ws(ps);
		if (key->count == CONFIG_MAX_DEPTH)
			return perr(ps, "key has more than %d parts", CONFIG_MAX_DEPTH);
		if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
			int ret;

			buf_init(&b, CONFIG_MAX_FILE_SIZE);
			ret = *ps->p == '"' ? parse_basic_string(ps, &b) :
					      parse_literal_string(ps, &b);
			if (ret < 0) {
				buf_free(&b);
				return -1;
			}
			if (memchr(buf_str(&b), '\0', buf_len(&b)) != NULL) {
				buf_free(&b);
				return perr(ps, "NUL character in key");
			}
			part = arena_strndup(ps->arena, buf_str(&b), buf_len(&b));
			buf_free(&b);
		} else {
			const unsigned char *start = ps->p;

			while (ps->p < ps->end && is_bare_key_char(*ps->p))
				ps->p++;
			if (ps->p == start) {
				if (ps->p < ps->end && *ps->p == '=')
					return perr(ps, "missing key before '='");
				return perr(ps, "bad key: '%s'", key_display(ps, NULL));
			}
			part = arena_strndup(ps->arena, start, (size_t)(ps->p - start));
		}
		key->parts[key->count++] = part;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '.') {
			ps->p++;
			continue;
		}
		return 0;
	}
}

static struct config_table *table_new(struct parser *ps, struct config_table *parent,
				      const char *key)
{
	struct config_table *t = arena_new_type(ps->arena, struct config_table);
	struct config_value *v;

	t->name = parent->name[0] == '\0' ? arena_strdup(ps->arena, key) :
		  arena_printf(ps->arena, "%s.%s", parent->name, key);
	v = arena_new_type(ps->arena, struct config_value);
	v->type = CONFIG_TABLE;
	v->line = ps->line;
	v->u.table = t;
	table_add(ps, parent, key, v);
	return t;
}

static struct config_entry *table_find(const struct config_table *table, const char *key)
{
	struct config_entry *e;

	for (e = table->first; e != NULL; e = e->next) {
		if (strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static void table_add(struct parser *ps, struct config_table *table, const char *key,
		      struct config_value *value)
{
	struct config_entry *e = arena_new_type(ps->arena, struct config_entry);

	e->key = key;
	e->value = value;
	if (table->last == NULL)
		table->first = e;
	else
		table->last->next = e;
	table->last = e;
	table->count++;
}

/* TOML 1.0 "Table": [a.b.c]; a table may be defined by a header only once. */
static int parse_header(struct parser *ps)
{
	struct key_path key;
	struct config_table *t = ps->root;
	unsigned int i;

	ps->p++; /* '[' */
	if (ps->p < ps->end && *ps->p == '[')
		return perr(ps, "arrays of tables ([[...]]) are not supported");
	if (parse_key(ps, &key) < 0)
		return -1;
	if (ps->p == ps->end || *ps->p != ']')
		return perr(ps, "bad table header: expected ']'");
	ps->p++;
	for (i = 0; i < key.count; i++) {
		struct config_entry *e = table_find(t, key.parts[i]);

		if (e == NULL) {
			t = table_new(ps, t, key.parts[i]);
		} else if (e->value->type != CONFIG_TABLE) {
			return perr(ps, "bad table header: key '%s' is already a value (line %u)",
				    key_display(ps, key.parts[i]), e->value->line);
		} else {
			t = e->value->u.table;
		}
	}
	if (t->header_defined)
		return perr(ps, "table [%s] defined twice (first on line %u)",
			    key_display(ps, t->name), t->line);
	if (t->dotted_defined)
		return perr(ps, "table [%s] was already defined by dotted keys",
			    key_display(ps, t->name));
	t->header_defined = true;
	t->line = ps->line;
	ps->current = t;
	return expect_eol(ps);
}

static int parse_keyval(struct parser *ps)
{
	struct key_path key;
	struct config_table *t = ps->current;
	struct config_value *value;
	struct config_entry *e;
	unsigned int i, line = ps->line;

	if (parse_key(ps, &key) < 0)
		return -1;
	if (ps->p == ps->end || *ps->p != '=') {
		if (ps->p == ps->end || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '#')
			return perr(ps, "key '%s' without '= value'",
				    key_display(ps, key.parts[key.count - 1]));
		return perr(ps, "expected '=' after key '%s'",
			    key_display(ps, key.parts[key.count - 1]));
	}
	ps->p++;
	/* dotted keys (TOML 1.0 "Keys"): a.b = 1 makes table a */
	for (i = 0; i + 1 < key.count; i++) {
		e = table_find(t, key.parts[i]);
		if (e == NULL) {
			t = table_new(ps, t, key.parts[i]);
			t->dotted_defined = true;
		} else if (e->value->type != CONFIG_TABLE || !e->value->u.table->dotted_defined) {
			return perr(ps, "duplicate key '%s' (first defined on line %u)",
				    key_display(ps, key.parts[i]), e->value->line);
		} else {
			t = e->value->u.table;
		}
	}
	e = table_find(t, key.parts[key.count - 1]);
	if (e != NULL)
		return perr(ps, "duplicate key '%s' (first defined on line %u)",
			    key_display(ps, key.parts[key.count - 1]), e->value->line);
	skip_ws(ps);
	if (ps->p == ps->end || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '#')
		return perr(ps, "missing value for key '%s'",
			    key_display(ps, key.parts[key.count - 1]));
	if (parse_value(ps, 0, &value) < 0)
		return -1;
	value->line = line;
	table_add(ps, t, key.parts[key.count - 1], value);
	return expect_eol(ps);
}

static void utf8_encode(buf_t *out, uint32_t cp, int *ret)
{
	unsigned char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (unsigned char)(0xc0 | (cp >> 6));
		s[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (unsigned char)(0xe0 | (cp >> 12));
		s[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		s[0] = (unsigned char)(0xf0 | (cp >> 18));
		s[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		s[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		s[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (buf_append(out, s, n) < 0)
		*ret = -1;
}

/* TOML 1.0 "String", basic strings. At the opening quote. */
static int parse_basic_string(struct parser *ps, buf_t *out)
{
	int ret = 0;

	ps->p++;
	if (ps->end - ps->p >= 2 && ps->p[0] == '"' && ps->p[1] == '"')
		return perr(ps, "multi-line strings (\"\"\") are not supported");
	for (;;) {
		unsigned char c;

		if (ps->p == ps->end || *ps->p == '\n' ||
		    (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n'))
			return perr(ps, "unterminated string");
		c = *ps->p++;
		if (c == '"')
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(ps, "control character in string (use an escape)");
		if (c != '\\') {
			if (buf_append_c(out, c) < 0)
				ret = -1;
			continue;
		}
		if (ps->p == ps->end)
			return perr(ps, "unterminated string");
		c = *ps->p++;
		switch (c) {
		case 'b': c = '\b'; break;
		case 't': c = '\t'; break;
		case 'n': c = '\n'; break;
		case 'f': c = '\f'; break;
		case 'r': c = '\r'; break;
		case '"': break;
		case '\\': break;
		case 'u':
		case 'U': {
			unsigned int i, n = c == 'u' ? 4 : 8;
			uint32_t cp = 0;

			if ((size_t)(ps->end - ps->p) < n)
				return perr(ps, "bad \\%c escape: needs %u hex digits", c, n);
			for (i = 0; i < n; i++) {
				int h = i_hex_value(ps->p[i]);

				if (h < 0)
					return perr(ps, "bad \\%c escape: needs %u hex digits", c, n);
				cp = (cp << 4) | (uint32_t)h;
			}
			ps->p += n;
			if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
				return perr(ps, "bad \\%c escape: U+%X is not a Unicode scalar value",
					    c, (unsigned int)cp);
			utf8_encode(out, cp, &ret);
			continue;
		}
		default:
			if (c < 0x20 || c >= 0x7f)
				return perr(ps, "bad escape sequence in string");
			return perr(ps, "bad escape sequence '\\%c' in string", c);
		}
		if (buf_append_c(out, c) < 0)
			ret = -1;
	}
	/* cannot happen: out's maximum is the file size limit */
	if (ret < 0)
		return perr(ps, "string too long");
	return 0;
}

/* TOML 1.0 "String", literal strings: no escapes. At the opening quote. */
static int parse_literal_string(struct parser *ps, buf_t *out)
{
	const unsigned char *start;

	ps->p++;
	if (ps->end - ps->p >= 2 && ps->p[0] == '\'' && ps->p[1] == '\'')
		return perr(ps, "multi-line strings (''') are not supported");
	start = ps->p;
	for (;;) {
		unsigned char c;

		if (ps->p == ps->end || *ps->p == '\n' ||
		    (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n'))
			return perr(ps, "unterminated string");
		c = *ps->p;
		if (c == '\'')
			break;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(ps, "control character in string");
		ps->p++;
	}
	if (buf_append(out, start, (size_t)(ps->p - start)) < 0)
		return perr(ps, "string too long");
	ps->p++;
	return 0;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* TOML 1.0 "Integer": decimal, optional sign, '_' only between digits,
   no leading zeros. */
static int parse_integer(struct parser *ps, int64_t *value_r)
{
	const unsigned char *start = ps->p, *s, *e;
	bool negative = false;
	uint64_t v = 0, limit;

	while (ps->p < ps->end && (is_bare_key_char(*ps->p) || *ps->p == '+' ||
				   *ps->p == '.' || *ps->p == ':'))
		ps->p++;
	s = start;
	e = ps->p;
	if (s < e && (*s == '+' || *s == '-')) {
		negative = *s == '-';
		s++;
	}
	if (e - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
		return perr(ps, "bad value: only decimal integers are supported");
	if (s == e || !is_digit(*s)) {
		if ((e - s == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0)))
			return perr(ps, "bad value: floats are not supported");
		return perr(ps, "bad value '%s'", arena_strndup(ps->arena, start,
					(size_t)I_MIN(e - start, 40)));
	}
	if (s[0] == '0' && e - s > 1 && is_digit(s[1]))
		return perr(ps, "bad integer: leading zeros are not allowed");
	limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; s < e; s++) {
		if (*s == '_') {
			if (!is_digit(s[-1]) || s + 1 == e || !is_digit(s[1]))
				return perr(ps, "bad integer: '_' must be between digits");
			continue;
		}
		if (*s == '.' || *s == 'e' || *s == 'E')
			return perr(ps, "bad value: floats are not supported");
		if (*s == '-' || *s == ':' || *s == 'T' || *s == 'Z')
			return perr(ps, "bad value: dates and times are not supported");
		if (!is_digit(*s))
			return perr(ps, "bad integer '%s'", arena_strndup(ps->arena, start,
					(size_t)I_MIN(e - start, 40)));
		if (v > (limit - (uint64_t)(*s - '0')) / 10)
			return perr(ps, "integer out of range");
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (negative)
		*value_r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*value_r = (int64_t)v;
	return 0;
}

static bool at_word(struct parser *ps, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
		return false;
	/* "trueish" is not a boolean */
	return ps->p + len == ps->end || !is_bare_key_char(ps->p[len]);
}

static int parse_value(struct parser *ps, unsigned int depth, struct config_value **value_r)
{
	struct config_value *v = arena_new_type(ps->arena, struct config_value);
	unsigned char c = *ps->p;

	v->line = ps->line;
	*value_r = v;
	if (c == '"' || c == '\'') {
		buf_t b;
		int ret;

		buf_init(&b, CONFIG_MAX_FILE_SIZE);
		ret = c == '"' ? parse_basic_string(ps, &b) : parse_literal_string(ps, &b);
		if (ret == 0) {
			v->type = CONFIG_STRING;
			v->u.s.len = buf_len(&b);
			v->u.s.str = arena_memdup(ps->arena, buf_str(&b), buf_len(&b) + 1);
		}
		buf_free(&b);
		return ret;
	}
	if (at_word(ps, "true") || at_word(ps, "false")) {
		v->type = CONFIG_BOOL;
		v->u.b = c == 't';
		ps->p += v->u.b ? 4 : 5;
		return 0;
	}
	if (c == '[') {
		struct config_value **items = NULL;
		size_t count = 0, alloc = 0;

		if (depth + 1 >= CONFIG_MAX_DEPTH)
			return perr(ps, "arrays nested too deeply (max %d)", CONFIG_MAX_DEPTH);
		ps->p++;
		v->type = CONFIG_ARRAY;
		for (;;) {
			struct config_value *item;

			if (skip_ws_newlines_comments(ps) < 0)
				return -1;
			if (ps->p == ps->end)
				return perr(ps, "unterminated array (opened on line %u)", v->line);
			if (*ps->p == ']')
				break;
			if (*ps->p == ',')
				return perr(ps, "bad array: unexpected ','");
			if (parse_value(ps, depth + 1, &item) < 0)
				return -1;
			if (count == alloc) {
				size_t new_alloc = alloc == 0 ? 4 : alloc * 2;

				items = arena_realloc(ps->arena, items,
						      i_size_mul(alloc, sizeof(*items)),
						      i_size_mul(new_alloc, sizeof(*items)));
				alloc = new_alloc;
			}
			items[count++] = item;
			if (skip_ws_newlines_comments(ps) < 0)
				return -1;
			if (ps->p == ps->end)
				return perr(ps, "unterminated array (opened on line %u)", v->line);
			if (*ps->p == ',') {
				ps->p++;
				continue;
			}
			if (*ps->p != ']')
				return perr(ps, "bad array: expected ',' or ']', found '%s'",
					    key_display(ps, NULL));
		}
		ps->p++;
		v->u.array.items = items;
		v->u.array.count = count;
		return 0;
	}
	if (c == '{')
		return perr(ps, "inline tables ({...}) are not supported");
	if (is_digit(c) || c == '+' || c == '-' || at_word(ps, "inf") || at_word(ps, "nan")) {
		v->type = CONFIG_INT;
		return parse_integer(ps, &v->u.i);
	}
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return perr(ps, "bad value '%s' (strings need quotes)", key_display(ps, NULL));
	return perr(ps, "bad value '%s'", key_display(ps, NULL));
}

struct config_table *config_parse_buffer(struct arena *arena, const char *filename,
					 const void *data, size_t size,
					 const char **error_r)
{
	struct parser ps;

	memset(&ps, 0, sizeof(ps));
	ps.arena = arena;
	ps.filename = filename;
	ps.p = data;
	ps.end = ps.p + size;
	ps.line = 1;
	ps.root = arena_new_type(arena, struct config_table);
	ps.root->name = "";
	ps.current = ps.root;

	if (size > CONFIG_MAX_FILE_SIZE) {
		*error_r = arena_printf(arena, "%s: larger than %d bytes", filename,
					CONFIG_MAX_FILE_SIZE);
		return NULL;
	}
	if (check_utf8(&ps) < 0) {
		*error_r = ps.error;
		return NULL;
	}
	/* a UTF-8 byte order mark is tolerated */
	if (size >= 3 && memcmp(ps.p, "\xef\xbb\xbf", 3) == 0)
		ps.p += 3;
	while (ps.p < ps.end) {
		int ret;

		skip_ws(&ps);
		if (ps.p == ps.end)
			break;
		if (*ps.p == '#' || *ps.p == '\n' || *ps.p == '\r')
			ret = expect_eol(&ps);
		else if (*ps.p == '[')
			ret = parse_header(&ps);
		else
			ret = parse_keyval(&ps);
		if (ret < 0) {
			*error_r = ps.error;
			return NULL;
		}
	}
	return ps.root;
}

struct config_table *config_parse_file(struct arena *arena, const char *path,
				       const char **error_r)
{
	struct config_table *root;
	struct stat st;
	unsigned char *data;
	size_t used = 0, max = CONFIG_MAX_FILE_SIZE + 1;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = arena_printf(arena, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		*error_r = arena_printf(arena, "%s: is a directory", path);
		return NULL;
	}
	/* read at most one byte past the limit, so an oversized file is noticed */
	data = i_malloc(max);
	while (used < max) {
		ssize_t n = read(fd, data + used, max - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = arena_printf(arena, "%s: %s", path, strerror(errno));
			close(fd);
			i_free(data);
			return NULL;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	root = config_parse_buffer(arena, path, data, used, error_r);
	i_free(data);
	return root;
}

const struct config_value *config_table_get(const struct config_table *table, const char *key)
{
	const struct config_entry *e = table_find(table, key);

	return e == NULL ? NULL : e->value;
}

const char *config_type_name(enum config_type type)
{
	switch (type) {
	case CONFIG_STRING: return "string";
	case CONFIG_INT: return "integer";
	case CONFIG_BOOL: return "boolean";
	case CONFIG_ARRAY: return "array";
	case CONFIG_TABLE: return "table";
	}
	return "unknown";
}
