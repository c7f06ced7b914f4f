#include "header-value.h"

#include "arena.h"
#include "buf.h"
#include "rfc2047.h"

#include <stdlib.h>

struct str_array {
	const char **items;
	unsigned int count, alloc;
};

static bool is_ws(unsigned char c);
static bool is_id_space(unsigned char c);
static size_t skip_comment(const char *value, size_t len, size_t pos);
static size_t skip_quoted(const char *value, size_t len, size_t pos);
static void array_add(struct arena *arena, struct str_array *arr, const char *s);
static void append(buf_t *b, const void *data, size_t len);
static const char *msgid_from_brackets(struct arena *arena, const char *value, size_t len,
				       size_t *pos);
static const char *keyword_phrase(struct arena *arena, const char *value, size_t start,
				  size_t end);

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* In msg-ids NUL separates like whitespace: an id is a C string. */
static bool is_id_space(unsigned char c)
{
	return is_ws(c) || c == '\0';
}

/* pos at "(": past the matching ")" (or len). RFC 5322 3.2.2: comments
   nest and take quoted-pairs. */
static size_t skip_comment(const char *value, size_t len, size_t pos)
{
	unsigned int depth = 0;

	while (pos < len) {
		char c = value[pos++];
		if (c == '\\' && pos < len)
			pos++;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			break;
	}
	return pos;
}

/* pos at '"': past the closing quote (or len). */
static size_t skip_quoted(const char *value, size_t len, size_t pos)
{
	pos++;
	while (pos < len) {
		char c = value[pos++];
		if (c == '\\' && pos < len)
			pos++;
		else if (c == '"')
			break;
	}
	return pos;
}

static void array_add(struct arena *arena, struct str_array *arr, const char *s)
{
	if (arr->count == arr->alloc) {
		unsigned int new_alloc = arr->alloc == 0 ? 8 : arr->alloc * 2;
		arr->items = arena_realloc(arena, arr->items, arr->alloc * sizeof(*arr->items),
					   new_alloc * sizeof(*arr->items));
		arr->alloc = new_alloc;
	}
	arr->items[arr->count++] = s;
}

static void append(buf_t *b, const void *data, size_t len)
{
	/* unlimited buffers holding at most the input */
	if (buf_append(b, data, len) < 0)
		i_panic("header-value: buffer limit");
}

size_t msg_hv_skip_wsp(const char *value, size_t len, size_t pos)
{
	while (pos < len && is_ws((unsigned char)value[pos]))
		pos++;
	return pos;
}

size_t msg_hv_skip_cfws(const char *value, size_t len, size_t pos)
{
	for (;;) {
		pos = msg_hv_skip_wsp(value, len, pos);
		if (pos >= len || value[pos] != '(')
			return pos;
		pos = skip_comment(value, len, pos);
	}
}

const char *msg_hv_unfold(struct arena *arena, const char *value, size_t len, size_t *len_r)
{
	char *out = arena_alloc(arena, len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n')
			out[n++] = value[i];
	}
	out[n] = '\0';
	if (len_r != NULL)
		*len_r = n;
	return out;
}

/* *pos at "<": the id up to ">" with whitespace, CR/LF and comments
   removed (RFC 5322 4.5.4 obs-id-left/right allow CFWS), brackets added
   back. NULL for "<>". Unterminated ids end at the end of the value. */
static const char *msgid_from_brackets(struct arena *arena, const char *value, size_t len,
				       size_t *pos)
{
	buf_t b;
	size_t i = *pos + 1;
	const char *ret = NULL;

	buf_init(&b, BUF_MAX_UNLIMITED);
	append(&b, "<", 1);
	while (i < len && value[i] != '>') {
		if (value[i] == '"') {
			/* RFC 5322 3.6.4 / 4.5.4: a quoted id-left is kept as
			   written, its spaces included */
			size_t end = skip_quoted(value, len, i);

			for (; i < end; i++) {
				/* folds and NULs are not part of it (the id is
				   a C string) */
				if (value[i] != '\0' && value[i] != '\r' && value[i] != '\n')
					append(&b, value + i, 1);
			}
			continue;
		}
		if (value[i] == '(') {
			i = skip_comment(value, len, i);
			continue;
		}
		if (value[i] == '<') {
			/* "<a<b@c>": restart at the inner bracket */
			buf_truncate(&b, 1);
			i++;
			continue;
		}
		if (!is_id_space((unsigned char)value[i]))
			append(&b, value + i, 1);
		i++;
	}
	if (i < len)
		i++; /* ">" */
	*pos = i;
	if (buf_len(&b) > 1) {
		append(&b, ">", 1);
		ret = arena_strndup(arena, buf_str(&b), buf_len(&b));
	}
	buf_free(&b);
	return ret;
}

unsigned int msg_hv_parse_msgids(struct arena *arena, const char *value, size_t len,
				 const char ***ids_r)
{
	struct str_array arr = { NULL, 0, 0 };
	size_t pos = 0, start;
	const char *id;

	while (arr.count < MSG_HV_MAX_MSGIDS) {
		pos = msg_hv_skip_cfws(value, len, pos);
		if (pos >= len)
			break;
		if (value[pos] == '\0') {
			pos++;
			continue;
		}
		if (value[pos] == '<') {
			id = msgid_from_brackets(arena, value, len, &pos);
			if (id != NULL)
				array_add(arena, &arr, id);
			continue;
		}
		if (value[pos] == '"') {
			/* a quoted word of an obs-in-reply-to phrase */
			pos = skip_quoted(value, len, pos);
			continue;
		}
		/* a bare word: an id when it has "@" (old mailers wrote
		   References without brackets), else phrase junk */
		start = pos;
		while (pos < len && !is_id_space((unsigned char)value[pos]) &&
		       value[pos] != '<' && value[pos] != '(' && value[pos] != '"' &&
		       value[pos] != ',')
			pos++;
		if (pos == start) {
			pos++; /* a lone "," or similar */
			continue;
		}
		if (memchr(value + start, '@', pos - start) != NULL &&
		    value[start] != '@' && value[pos - 1] != '@') {
			const char *s = value + start;
			size_t n = pos - start;
			if (s[n - 1] == '>')
				n--;
			if (n > 0)
				array_add(arena, &arr, arena_printf(arena, "<%.*s>", (int)n, s));
		}
	}
	*ids_r = arr.count == 0 ? NULL : arr.items;
	return arr.count;
}

const char *msg_hv_first_msgid(struct arena *arena, const char *value, size_t len)
{
	const char **ids;

	if (msg_hv_parse_msgids(arena, value, len, &ids) == 0)
		return NULL;
	return ids[0];
}

/* One keyword phrase from value[start, end): quoted strings unquoted,
   comments dropped, whitespace folded, then RFC 2047 decoded. */
static const char *keyword_phrase(struct arena *arena, const char *value, size_t start,
				  size_t end)
{
	buf_t b;
	size_t i = start;
	bool space = false;
	const char *ret = NULL;

	buf_init(&b, BUF_MAX_UNLIMITED);
	while (i < end) {
		char c = value[i];
		if (is_ws((unsigned char)c) || c == '(') {
			if (c == '(')
				i = skip_comment(value, end, i);
			else
				i++;
			space = buf_len(&b) > 0;
			continue;
		}
		if (space) {
			append(&b, " ", 1);
			space = false;
		}
		if (c == '"') {
			i++;
			while (i < end && value[i] != '"') {
				if (value[i] == '\\' && i + 1 < end)
					i++;
				if (value[i] != '\r' && value[i] != '\n')
					append(&b, value + i, 1);
				i++;
			}
			i++;
			continue;
		}
		append(&b, &c, 1);
		i++;
	}
	if (buf_len(&b) > 0)
		ret = rfc2047_decode(arena, buf_str(&b), buf_len(&b));
	buf_free(&b);
	return ret;
}

unsigned int msg_hv_parse_keywords(struct arena *arena, const char *value, size_t len,
				   const char ***keywords_r)
{
	struct str_array arr = { NULL, 0, 0 };
	size_t pos = 0, start = 0;
	const char *kw;

	while (arr.count < MSG_HV_MAX_MSGIDS) {
		if (pos < len && value[pos] == '"') {
			pos = skip_quoted(value, len, pos);
			continue;
		}
		if (pos < len && value[pos] == '(') {
			pos = skip_comment(value, len, pos);
			continue;
		}
		if (pos < len && value[pos] != ',') {
			pos++;
			continue;
		}
		kw = keyword_phrase(arena, value, start, pos);
		if (kw != NULL && kw[0] != '\0')
			array_add(arena, &arr, kw);
		if (pos >= len)
			break;
		start = ++pos;
	}
	*keywords_r = arr.count == 0 ? NULL : arr.items;
	return arr.count;
}

const char *msg_hv_decode_unstructured(struct arena *arena, const char *value, size_t len)
{
	buf_t b;
	size_t i = msg_hv_skip_wsp(value, len, 0);
	bool space = false;
	const char *ret;

	/* fold whitespace before decoding, so spaces encoded inside words
	   ("a__b") stay as the sender wrote them */
	buf_init(&b, BUF_MAX_UNLIMITED);
	for (; i < len; i++) {
		if (is_ws((unsigned char)value[i])) {
			space = true;
			continue;
		}
		if (space) {
			append(&b, " ", 1);
			space = false;
		}
		append(&b, value + i, 1);
	}
	ret = rfc2047_decode(arena, buf_str(&b), buf_len(&b));
	buf_free(&b);
	return ret;
}
