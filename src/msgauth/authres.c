/*
 * Authentication-Results (RFC 8601): a lenient parser of the value
 * grammar of 2.2, the writer of tern's own field, and forgery removal (5).
 * Fuzz target: tests/fuzz/fuzz-authres.c.
 */
#include "authres.h"
#include "arena.h"
#include "header-parser.h"
#include "header.h"
#include "tern-limits.h"

#include <stdarg.h>

#define AUTHRES_MAX_ENTRIES 64
#define AUTHRES_MAX_PROPS 16

struct cursor {
	const char *p, *end;
};

/* RFC 2045 5.1 tspecials, and SP/CTLs: not in a token */
static bool is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skip CFWS: whitespace, line breaks and (nested (comments)). */
static void skip_cfws(struct cursor *c)
{
	unsigned int depth = 0;

	while (c->p < c->end) {
		char ch = *c->p;

		if (depth > 0) {
			if (ch == '\\' && c->p + 1 < c->end)
				c->p++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			c->p++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			c->p++;
		else if (ch == '(') {
			depth++;
			c->p++;
		} else
			break;
	}
}

static bool peek(struct cursor *c, char ch)
{
	skip_cfws(c);
	return c->p < c->end && *c->p == ch;
}

static const char *token(struct arena *arena, struct cursor *c, bool lower)
{
	const char *start;
	char *s;

	skip_cfws(c);
	start = c->p;
	while (c->p < c->end && is_token_char((unsigned char)*c->p))
		c->p++;
	if (c->p == start)
		return NULL;
	s = arena_strndup(arena, start, (size_t)(c->p - start));
	if (lower)
		i_str_lower(s);
	return s;
}

/* RFC 8601 2.2 Keyword (RFC 5321 ldh-str; '_' too, as real fields have
   it): methods, results, ptypes, properties. */
static const char *keyword(struct arena *arena, struct cursor *c)
{
	const char *start;
	char *s;

	skip_cfws(c);
	start = c->p;
	while (c->p < c->end && ((*c->p >= 'a' && *c->p <= 'z') || (*c->p >= 'A' && *c->p <= 'Z') ||
				 (*c->p >= '0' && *c->p <= '9') || *c->p == '-' || *c->p == '_'))
		c->p++;
	if (c->p == start)
		return NULL;
	s = arena_strndup(arena, start, (size_t)(c->p - start));
	i_str_lower(s);
	return s;
}

/* token / quoted-string (RFC 2045 value) */
static const char *value(struct arena *arena, struct cursor *c)
{
	skip_cfws(c);
	if (c->p < c->end && *c->p == '"') {
		char *out = arena_alloc(arena, (size_t)(c->end - c->p) + 1);
		size_t n = 0;

		c->p++;
		while (c->p < c->end && *c->p != '"') {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			out[n++] = *c->p++;
		}
		if (c->p == c->end)
			return NULL;
		c->p++;
		out[n] = '\0';
		return out;
	}
	return token(arena, c, false);
}

/* pvalue: a value, or [[local-part] "@"] domain-name: anything up to
   CFWS or ";". */
static const char *pvalue(struct arena *arena, struct cursor *c)
{
	const char *start;

	skip_cfws(c);
	if (c->p < c->end && *c->p == '"')
		return value(arena, c);
	start = c->p;
	while (c->p < c->end && *c->p != ';' && *c->p != '(' && *c->p != ' ' &&
	       *c->p != '\t' && *c->p != '\r' && *c->p != '\n')
		c->p++;
	return arena_strndup(arena, start, (size_t)(c->p - start));
}

/* One resinfo after its ";" (2.2). */
static int resinfo(struct arena *arena, struct cursor *c, struct authres_entry *e)
{
	const char *method = keyword(arena, c);

	memset(e, 0, sizeof(*e));
	if (method == NULL)
		return -1;
	e->method = method;
	if (peek(c, '/')) {
		/* method-version */
		c->p++;
		if (token(arena, c, false) == NULL)
			return -1;
	}
	if (!peek(c, '='))
		return -1;
	c->p++;
	e->result = keyword(arena, c);
	if (e->result == NULL)
		return -1;
	e->props = arena_new_array(arena, struct authres_prop, AUTHRES_MAX_PROPS);
	for (;;) {
		struct cursor save;
		const char *name;

		skip_cfws(c);
		if (c->p == c->end || *c->p == ';')
			return 0;
		save = *c;
		name = keyword(arena, c);
		if (name == NULL)
			return -1;
		if (strcmp(name, "reason") == 0 && peek(c, '=')) {
			c->p++;
			e->reason = value(arena, c);
			if (e->reason == NULL)
				return -1;
			continue;
		}
		if (!peek(c, '.')) {
			*c = save;
			return -1;
		}
		c->p++;
		if (e->prop_count == AUTHRES_MAX_PROPS)
			return -1;
		e->props[e->prop_count].ptype = name;
		/* property = special-smtp-verb / Keyword: "mailfrom", "d", ... */
		e->props[e->prop_count].property = keyword(arena, c);
		if (e->props[e->prop_count].property == NULL || !peek(c, '='))
			return -1;
		c->p++;
		e->props[e->prop_count].value = pvalue(arena, c);
		e->prop_count++;
	}
}

int authres_parse(struct arena *arena, const char *val, size_t len, struct authres *ar_r,
		  const char **error_r)
{
	struct cursor c = { val, val + len };

	memset(ar_r, 0, sizeof(*ar_r));
	ar_r->version = 1;
	ar_r->authserv_id = value(arena, &c);
	if (ar_r->authserv_id == NULL) {
		*error_r = "no authserv-id";
		return -1;
	}
	skip_cfws(&c);
	if (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
		unsigned int v = 0;

		while (c.p < c.end && *c.p >= '0' && *c.p <= '9' && v < 1000)
			v = v * 10 + (unsigned int)(*c.p++ - '0');
		ar_r->version = v;
	}
	ar_r->entries = arena_new_array(arena, struct authres_entry, AUTHRES_MAX_ENTRIES);
	while (peek(&c, ';') && ar_r->count < AUTHRES_MAX_ENTRIES) {
		struct cursor save;
		const char *none;

		c.p++;
		save = c;
		none = keyword(arena, &c);
		if (none != NULL && strcmp(none, "none") == 0 && !peek(&c, '='))
			break;   /* 2.2 no-result */
		c = save;
		if (resinfo(arena, &c, &ar_r->entries[ar_r->count]) < 0)
			break;   /* lenient: what was read so far stands */
		ar_r->count++;
	}
	return 0;
}

const char *authres_authserv_id(struct arena *arena, const char *val, size_t len)
{
	struct cursor c = { val, val + len };

	return value(arena, &c);
}

int authres_find(const struct authres *ar, const char *method)
{
	unsigned int i;

	for (i = 0; i < ar->count; i++) {
		if (strcmp(ar->entries[i].method, method) == 0)
			return msgauth_result_parse(ar->entries[i].result, strlen(ar->entries[i].result));
	}
	return -1;
}

/* ---- writing ---- */

static void append(buf_t *b, const char *s)
{
	if (buf_append_str(b, s) < 0)
		i_panic("authres: buffer full");
}

void authres_begin(buf_t *b, const char *authserv_id)
{
	append(b, authserv_id);
	append(b, ";");
}

static void append_value(buf_t *b, const char *v)
{
	bool token = *v != '\0';

	for (const char *p = v; *p != '\0'; p++) {
		/* pvalue may be an address or a domain: '@' and '.' are fine */
		if (!is_token_char((unsigned char)*p) && *p != '@' && *p != '/')
			token = false;
	}
	if (token) {
		append(b, v);
		return;
	}
	append(b, "\"");
	for (const char *p = v; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f)
			continue;
		if ((ch == '"' || ch == '\\') && buf_append_c(b, '\\') < 0)
			i_panic("authres: buffer full");
		if (buf_append_c(b, ch) < 0)
			i_panic("authres: buffer full");
	}
	append(b, "\"");
}

void authres_add(buf_t *b, const char *method, enum msgauth_result result, const char *comment,
		 ...)
{
	const char *prop, *val;
	va_list args;

	append(b, "\r\n\t");
	append(b, method);
	append(b, "=");
	append(b, msgauth_result_name(result));
	if (comment != NULL && comment[0] != '\0') {
		append(b, " (");
		for (const char *p = comment; *p != '\0'; p++) {
			unsigned char ch = (unsigned char)*p;

			/* a comment holds anything but unbalanced parentheses and
			   controls: take those out */
			if (ch < 0x20 || ch >= 0x7f || ch == '(' || ch == ')' || ch == '\\')
				ch = ch == '(' ? '[' : ch == ')' ? ']' : ' ';
			if (buf_append_c(b, ch) < 0)
				i_panic("authres: buffer full");
		}
		append(b, ")");
	}
	va_start(args, comment);
	while ((prop = va_arg(args, const char *)) != NULL) {
		const unsigned char *nl;
		size_t col;

		val = va_arg(args, const char *);
		if (val == NULL)
			continue;
		/* fold before a property that would pass 78 columns (RFC 5322 2.1.1) */
		nl = b->used == 0 ? NULL : memrchr(b->data, '\n', b->used);
		col = nl == NULL ? b->used : b->used - (size_t)(nl + 1 - b->data) + 7;
		if (col + strlen(prop) + strlen(val) + 2 > 78)
			append(b, "\r\n\t ");
		else
			append(b, " ");
		append(b, prop);
		append(b, "=");
		append_value(b, val);
	}
	va_end(args);
	append(b, ";");
}

void authres_finish(buf_t *b)
{
	/* the last ";" goes; none at all is "none" */
	if (b->used > 0 && b->data[b->used - 1] == ';') {
		size_t i = b->used - 1;
		bool any = false;

		for (size_t k = 0; k < i; k++) {
			if (b->data[k] == ';')
				any = true;
		}
		if (any) {
			buf_truncate(b, i);
			return;
		}
		append(b, " none");
	}
}

/* ---- forgeries ---- */

static bool has_results_word(const char *raw, size_t len)
{
	const char *p = raw, *end = raw + len;

	while ((p = memchr(p, '-', (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) >= 8 && i_strncasecmp(p, "-results", 8) == 0)
			return true;
		p++;
	}
	return false;
}

unsigned int authres_remove_forged(const char *raw, size_t len, const char *authserv_id,
				   buf_t *out)
{
	struct arena *arena;
	struct msg_header hdr;
	unsigned int i, removed = 0;
	size_t pos = 0;

	/* almost every message has none: no parse then (any case counts) */
	if (!has_results_word(raw, len)) {
		if (buf_append(out, raw, len) < 0)
			i_panic("authres: buffer full");
		return 0;
	}
	arena = arena_new(0);
	msg_header_parse_block(arena, raw, len, 0, TERN_MIME_MAX_HEADER_FIELDS, false, &hdr);
	for (i = 0; i < hdr.count; i++) {
		const struct msg_header_field *f = &hdr.fields[i];
		const char *colon, *id;

		if (f->name_len == 0 || i_strcasecmp(f->name, "Authentication-Results") != 0)
			continue;
		colon = memchr(raw + f->offset, ':', f->size);
		if (colon == NULL)
			continue;
		id = authres_authserv_id(arena, colon + 1, f->size - (size_t)(colon + 1 - raw - f->offset));
		if (id == NULL || i_strcasecmp(id, authserv_id) != 0)
			continue;
		/* RFC 8601 5: ours, but not made by us: out */
		if (buf_append(out, raw + pos, f->offset - pos) < 0)
			i_panic("authres: buffer full");
		pos = f->offset + f->size;
		removed++;
	}
	if (buf_append(out, raw + pos, len - pos) < 0)
		i_panic("authres: buffer full");
	arena_free(&arena);
	return removed;
}
