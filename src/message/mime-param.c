/*
 * Content-Type, Content-Disposition and Content-Language values:
 * RFC 2045 5.1 (type "/" subtype *(";" parameter)), RFC 2183 (disposition),
 * RFC 2231 (parameter value continuations, charsets and languages),
 * RFC 3282 (Content-Language), parsed leniently as real mail needs:
 *
 *  - comments anywhere CFWS may appear, spaces around '/', ';' and '=';
 *  - a missing subtype is guessed (text -> plain, multipart -> mixed,
 *    anything else -> octet-stream);
 *  - missing semicolons between parameters ("a=b c=d");
 *  - unquoted values containing specials ("name=a/b@c") and even spaces
 *    ("filename=my file.pdf": a following word without '=' continues the value);
 *  - a quoted value without its closing quote runs to the end;
 *  - duplicate parameters: the first wins; when both a plain "name" and an
 *    RFC 2231 "name*" / "name*0..." are present, the RFC 2231 form wins
 *    (senders add the plain one as a fallback for old readers);
 *  - RFC 2231 sections out of order are sorted, gaps tolerated, duplicate
 *    sections: the first wins; encoded and plain sections may be mixed.
 */
#include "mime.h"
#include "arena.h"
#include "buf.h"
#include "charset.h"

#include <stdlib.h>

/* Appends whose room was checked (or to an unlimited buffer) cannot fail. */
static void must_append(buf_t *buf, const void *data, size_t len)
{
	if (buf_append(buf, data, len) < 0)
		i_panic("buffer overflow after room check");
}

static void must_append_c(buf_t *buf, unsigned char c)
{
	must_append(buf, &c, 1);
}

struct raw_param {
	char *name;            /* base name, lowercased (without the RFC 2231 "*N*") */
	long section;          /* RFC 2231 section number, -1 when none */
	bool rfc2231;          /* had a '*' in its name */
	bool extended;         /* value is charset'lang'%XX encoded (trailing '*') */
	const unsigned char *value;
	size_t value_len;
	bool used;
};

struct param_list {
	struct raw_param *items;
	unsigned int count, alloc;
};

static void skip_cfws(const unsigned char *s, size_t len, size_t *pos);
static bool is_token_char(unsigned char c);
static char *read_token(struct arena *arena, const unsigned char *s, size_t len, size_t *pos,
			bool stop_at_slash);
static void parse_params(struct arena *arena, const unsigned char *s, size_t len, size_t pos,
			 struct mime_param **params_r, unsigned int *count_r);
static void read_value(struct arena *arena, const unsigned char *s, size_t len, size_t *pos,
		       const unsigned char **value_r, size_t *value_len_r);
static void list_add(struct arena *arena, struct param_list *list, const unsigned char *name,
		     size_t name_len, const unsigned char *value, size_t value_len);
static void assemble(struct arena *arena, struct param_list *list, struct mime_param **params_r,
		     unsigned int *count_r);
static int section_cmp(const void *a, const void *b);

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials> */
static bool is_token_char(unsigned char c)
{
	if (c <= 32 || c >= 127)
		return false;
	switch (c) {
	case '(': case ')': case '<': case '>': case '@': case ',': case ';':
	case ':': case '\\': case '"': case '/': case '[': case ']': case '?':
	case '=':
		return false;	/* tspecials */
	default:
		return true;
	}
}

/* RFC 2231 7: attribute-char, what may appear unencoded in an extended value */
static bool is_attr_char(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return strchr("!#$&+-.^_`|~", c) != NULL && c != '\0';
}

/* Skip whitespace (including folds) and RFC 5322 comments, nested, with
   quoted-pairs. An unclosed comment runs to the end. */
static void skip_cfws(const unsigned char *s, size_t len, size_t *pos)
{
	size_t i = *pos;

	while (i < len) {
		if (is_wsp(s[i])) {
			i++;
		} else if (s[i] == '(') {
			unsigned int nest = 0;

			for (; i < len; i++) {
				if (s[i] == '\\' && i + 1 < len) {
					i++;
				} else if (s[i] == '(') {
					nest++;
				} else if (s[i] == ')') {
					if (--nest == 0) {
						i++;
						break;
					}
				}
			}
		} else {
			break;
		}
	}
	*pos = i;
}

/* A type or subtype: everything up to a delimiter, lowercased. Validity
   (token chars only) is checked by the caller. */
static char *read_token(struct arena *arena, const unsigned char *s, size_t len, size_t *pos,
			bool stop_at_slash)
{
	size_t start = *pos, i = *pos;
	char *ret;

	while (i < len && s[i] != ';' && s[i] != '(' && !is_wsp(s[i]) &&
	       !(stop_at_slash && s[i] == '/'))
		i++;
	*pos = i;
	ret = arena_strndup(arena, s + start, i - start);
	i_str_lower(ret);
	return ret;
}

static bool token_valid(const char *t)
{
	if (*t == '\0')
		return false;
	for (; *t != '\0'; t++) {
		if (!is_token_char((unsigned char)*t))
			return false;
	}
	return true;
}

static void guess_subtype(const char *type, const char **subtype_r)
{
	if (strcmp(type, "text") == 0)
		*subtype_r = "plain";
	else if (strcmp(type, "multipart") == 0)
		*subtype_r = "mixed";
	else
		*subtype_r = "octet-stream";
}

int mime_content_type_parse(struct arena *arena, const char *value, size_t len,
			    const char **type_r, const char **subtype_r,
			    struct mime_param **params_r, unsigned int *count_r)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t pos = 0;
	char *type, *subtype = NULL;
	int ret = 0;

	skip_cfws(s, len, &pos);
	type = read_token(arena, s, len, &pos, true);
	skip_cfws(s, len, &pos);
	if (pos < len && s[pos] == '/') {
		pos++;
		skip_cfws(s, len, &pos);
		subtype = read_token(arena, s, len, &pos, false);
		skip_cfws(s, len, &pos);
	}
	if (!token_valid(type)) {
		ret = -1;
	} else if (subtype == NULL || *subtype == '\0') {
		const char *guess;

		guess_subtype(type, &guess);
		subtype = arena_strdup(arena, guess);
	} else if (!token_valid(subtype)) {
		ret = -1;
	}
	/* junk between the subtype and the first ';' is skipped by the
	   parameter parser (a word without '=' is no parameter) */
	parse_params(arena, s, len, pos, params_r, count_r);
	*type_r = ret < 0 ? NULL : type;
	*subtype_r = ret < 0 ? NULL : subtype;
	return ret;
}

int mime_disposition_parse(struct arena *arena, const char *value, size_t len,
			   const char **disposition_r,
			   struct mime_param **params_r, unsigned int *count_r)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t pos = 0;
	char *type;

	/* RFC 2183 2: disposition := "Content-Disposition" ":" disposition-type *(";" disposition-parm) */
	skip_cfws(s, len, &pos);
	type = read_token(arena, s, len, &pos, false);
	parse_params(arena, s, len, pos, params_r, count_r);
	if (!token_valid(type)) {
		*disposition_r = NULL;
		return -1;
	}
	*disposition_r = type;
	return 0;
}

int mime_language_parse(struct arena *arena, const char *value, size_t len,
			const char ***languages_r, unsigned int *count_r)
{
	const unsigned char *s = (const unsigned char *)value;
	const char **langs = NULL;
	unsigned int count = 0, alloc = 0;
	size_t pos = 0;

	/* RFC 3282 2: Content-Language := Language-List = Language-Tag [CFWS] *("," [CFWS] Language-Tag [CFWS]) */
	for (;;) {
		size_t start;

		skip_cfws(s, len, &pos);
		while (pos < len && s[pos] == ',') {
			pos++;
			skip_cfws(s, len, &pos);
		}
		if (pos >= len)
			break;
		start = pos;
		while (pos < len && s[pos] != ',' && s[pos] != '(' && !is_wsp(s[pos]))
			pos++;
		if (count == alloc) {
			unsigned int new_alloc = alloc == 0 ? 4 : alloc * 2;

			langs = arena_realloc(arena, langs, sizeof(*langs) * alloc,
					      sizeof(*langs) * new_alloc);
			alloc = new_alloc;
		}
		langs[count++] = arena_strndup(arena, s + start, pos - start);
	}
	*languages_r = langs;
	*count_r = count;
	return 0;
}

/* A parameter value after '=': a quoted-string (escapes removed; an
   unclosed one runs to the end) or an unquoted run. An unquoted value is
   continued over whitespace by following words that contain no '=' and do
   not start a comment, so "filename=my file.pdf" keeps its space while
   "a=b c=d" still gives two parameters. */
static void read_value(struct arena *arena, const unsigned char *s, size_t len, size_t *pos,
		       const unsigned char **value_r, size_t *value_len_r)
{
	size_t i = *pos, start;
	unsigned char *out;
	size_t out_len = 0;

	if (i < len && s[i] == '"') {
		out = arena_alloc(arena, len - i + 1);
		for (i++; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			/* a fold inside a quoted string: the line break goes (RFC 5322 3.2.2) */
			if ((s[i] == '\r' || s[i] == '\n') && s[i - 1] != '\\')
				continue;
			out[out_len++] = s[i];
		}
		if (i < len)
			i++;
		*pos = i;
		*value_r = out;
		*value_len_r = out_len;
		return;
	}
	start = i;
	while (i < len && s[i] != ';' && s[i] != '(' && s[i] != '"' && !is_wsp(s[i]))
		i++;
	for (;;) {
		size_t j = i, word_end;
		bool has_eq = false;

		while (j < len && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j == i || j >= len || s[j] == ';' || s[j] == '(' || s[j] == '"' || is_wsp(s[j]))
			break;
		for (word_end = j; word_end < len && s[word_end] != ';' && s[word_end] != '(' &&
		     s[word_end] != '"' && !is_wsp(s[word_end]); word_end++) {
			if (s[word_end] == '=')
				has_eq = true;
		}
		if (has_eq)
			break;
		i = word_end;
	}
	*pos = i;
	*value_r = arena_memdup(arena, s + start, i - start);
	*value_len_r = i - start;
}

static void parse_params(struct arena *arena, const unsigned char *s, size_t len, size_t pos,
			 struct mime_param **params_r, unsigned int *count_r)
{
	struct param_list list;

	memset(&list, 0, sizeof(list));
	for (;;) {
		size_t name_start, name_end;
		const unsigned char *value;
		size_t value_len;

		skip_cfws(s, len, &pos);
		if (pos >= len)
			break;
		if (s[pos] == ';') {
			pos++;
			continue;
		}
		name_start = pos;
		while (pos < len && s[pos] != '=' && s[pos] != ';' && s[pos] != '(' &&
		       s[pos] != '"' && !is_wsp(s[pos]))
			pos++;
		name_end = pos;
		if (name_end == name_start) {
			/* junk ('=' or '"' where a name should be): skip it */
			if (s[pos] == '"')
				read_value(arena, s, len, &pos, &value, &value_len);
			else
				pos++;
			continue;
		}
		skip_cfws(s, len, &pos);
		if (pos >= len || s[pos] != '=')
			continue;	/* a word without a value: not a parameter */
		pos++;
		skip_cfws(s, len, &pos);
		read_value(arena, s, len, &pos, &value, &value_len);
		list_add(arena, &list, s + name_start, name_end - name_start, value, value_len);
	}
	assemble(arena, &list, params_r, count_r);
	free(list.items);
}

/* Split "name", "name*", "name*N", "name*N*" (RFC 2231 3, 4) */
static void list_add(struct arena *arena, struct param_list *list, const unsigned char *name,
		     size_t name_len, const unsigned char *value, size_t value_len)
{
	struct raw_param *rp;
	const unsigned char *star = memchr(name, '*', name_len);

	if (list->count == list->alloc) {
		list->alloc = list->alloc == 0 ? 8 : list->alloc * 2;
		list->items = i_realloc(list->items, sizeof(*list->items) * list->alloc);
	}
	rp = &list->items[list->count++];
	memset(rp, 0, sizeof(*rp));
	rp->section = -1;
	rp->value = value;
	rp->value_len = value_len;
	if (star != NULL && star != name) {
		size_t i = (size_t)(star - name) + 1;
		long section = -1;
		bool ok = true;

		if (i == name_len) {
			/* "name*": one extended section (RFC 2231 4) */
			rp->extended = true;
		} else if (name[i] >= '0' && name[i] <= '9') {
			section = 0;
			for (; i < name_len && name[i] >= '0' && name[i] <= '9'; i++) {
				if (section < 100000)
					section = section * 10 + (name[i] - '0');
			}
		}
		if (rp->extended) {
			;
		} else if (i < name_len && name[i] == '*') {
			rp->extended = true;
			i++;
		} else if (section < 0) {
			ok = false;	/* "name*" must be extended; anything else is not 2231 */
		}
		if (i != name_len)
			ok = false;
		if (ok) {
			rp->rfc2231 = true;
			rp->section = section;
			name_len = (size_t)(star - name);
		} else {
			rp->extended = false;
		}
	}
	rp->name = arena_strndup(arena, name, name_len);
	i_str_lower(rp->name);
}

static int section_cmp(const void *a, const void *b)
{
	const struct raw_param *const *pa = a, *const *pb = b;
	long sa = (*pa)->section < 0 ? 0 : (*pa)->section;
	long sb = (*pb)->section < 0 ? 0 : (*pb)->section;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	/* stable: keep the order of appearance (the first duplicate wins) */
	return *pa < *pb ? -1 : (*pa > *pb ? 1 : 0);
}

static void pct_decode(buf_t *out, const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len && (hi = i_hex_value(s[i + 1])) >= 0 &&
		    (lo = i_hex_value(s[i + 2])) >= 0) {
			must_append_c(out, (unsigned char)(hi * 16 + lo));
			i += 2;
		} else {
			must_append_c(out, s[i]);
		}
	}
}

static void pct_encode(buf_t *out, const unsigned char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		if (is_attr_char(s[i])) {
			must_append_c(out, s[i]);
		} else {
			must_append_c(out, '%');
			must_append_c(out, (unsigned char)hex[s[i] >> 4]);
			must_append_c(out, (unsigned char)hex[s[i] & 15]);
		}
	}
}

/* Join the RFC 2231 sections of one parameter into `param` (RFC 2231 3, 4, 4.1). */
static void assemble_2231(struct arena *arena, struct raw_param **secs, unsigned int n,
			  struct mime_param *param)
{
	buf_t bytes, raw;
	const char *charset = NULL, *language = NULL;
	bool any_extended = false;
	long last_section = -2;
	unsigned int i;

	buf_init(&bytes, BUF_MAX_UNLIMITED);
	buf_init(&raw, BUF_MAX_UNLIMITED);
	for (i = 0; i < n; i++) {
		if (secs[i]->extended)
			any_extended = true;
	}
	for (i = 0; i < n; i++) {
		const struct raw_param *rp = secs[i];
		const unsigned char *v = rp->value;
		size_t vlen = rp->value_len;
		long section = rp->section < 0 ? 0 : rp->section;

		if (section == last_section)
			continue;	/* duplicate section: the first wins */
		last_section = section;
		if (i == 0 && rp->extended) {
			/* RFC 2231 4: charset'language'value in the first section */
			const unsigned char *q1 = memchr(v, '\'', vlen), *q2 = NULL;

			if (q1 != NULL)
				q2 = memchr(q1 + 1, '\'', vlen - (size_t)(q1 + 1 - v));
			if (q2 != NULL) {
				if (q1 > v)
					charset = arena_strndup(arena, v, (size_t)(q1 - v));
				if (q2 > q1 + 1)
					language = arena_strndup(arena, q1 + 1, (size_t)(q2 - q1 - 1));
				vlen -= (size_t)(q2 + 1 - v);
				v = q2 + 1;
			}
		}
		if (rp->extended) {
			pct_decode(&bytes, v, vlen);
			must_append(&raw, v, vlen);
		} else {
			must_append(&bytes, v, vlen);
			if (any_extended)
				pct_encode(&raw, v, vlen);
			else
				must_append(&raw, v, vlen);
		}
	}
	param->charset = charset;
	param->language = language;
	param->extended = any_extended;
	if (any_extended) {
		param->raw = arena_printf(arena, "%s'%s'%s", charset == NULL ? "" : charset,
					  language == NULL ? "" : language, buf_str(&raw));
	} else {
		param->raw = arena_strndup(arena, raw.data == NULL ? "" : (const char *)raw.data,
					   buf_len(&raw));
	}
	if (charset != NULL) {
		buf_t utf8;

		buf_init(&utf8, BUF_MAX_UNLIMITED);
		/* -1 (unknown charset) still gives a sanitized UTF-8 rendering */
		(void)charset_to_utf8(charset, bytes.data == NULL ? "" : (const void *)bytes.data,
				      buf_len(&bytes), &utf8);
		param->value = arena_strndup(arena, buf_str(&utf8), buf_len(&utf8));
		buf_free(&utf8);
	} else {
		param->value = arena_strndup(arena, buf_str(&bytes), buf_len(&bytes));
	}
	buf_free(&bytes);
	buf_free(&raw);
}

static void assemble(struct arena *arena, struct param_list *list, struct mime_param **params_r,
		     unsigned int *count_r)
{
	struct mime_param *params;
	struct raw_param **secs;
	unsigned int i, j, count = 0;

	params = list->count == 0 ? NULL : arena_new_array(arena, struct mime_param, list->count);
	secs = i_malloc(sizeof(*secs) * (list->count + 1));
	for (i = 0; i < list->count; i++) {
		struct raw_param *first = &list->items[i];
		struct mime_param *param;
		bool have_2231 = false, have_numbered = false;
		unsigned int n = 0;

		if (first->used)
			continue;
		for (j = i; j < list->count; j++) {
			struct raw_param *rp = &list->items[j];

			if (strcmp(rp->name, first->name) != 0)
				continue;
			rp->used = true;
			if (rp->rfc2231) {
				have_2231 = true;
				if (rp->section >= 0)
					have_numbered = true;
			}
		}
		param = &params[count++];
		param->name = first->name;
		if (!have_2231) {
			/* plain duplicates: the first wins */
			param->value = arena_strndup(arena, first->value, first->value_len);
			param->raw = param->value;
			continue;
		}
		for (j = i; j < list->count; j++) {
			struct raw_param *rp = &list->items[j];

			if (!rp->rfc2231 || strcmp(rp->name, first->name) != 0)
				continue;
			/* "name*" beside numbered sections: the numbered ones win */
			if (have_numbered && rp->section < 0)
				continue;
			if (!have_numbered && n > 0)
				continue;
			secs[n++] = rp;
		}
		qsort(secs, n, sizeof(*secs), section_cmp);
		assemble_2231(arena, secs, n, param);
	}
	free(secs);
	*params_r = params;
	*count_r = count;
}

const char *mime_param_get(const struct mime_param *params, unsigned int count, const char *name)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (i_strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	}
	return NULL;
}
