/*
 * Parsing FETCH data items (imap-fetch.h). The parser hands each item as
 * one atom (IMAP_PARSE_FLAG_FETCH keeps "[...]" and "<...>" inside it);
 * this file takes the atom apart per RFC 9051 9:
 *   fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" /
 *     ".SIZE" / ".TEXT"] / "BODY" ["STRUCTURE"] / "UID" /
 *     "BODY" section [partial] / "BODY.PEEK" section [partial] /
 *     "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary
 *   section = "[" [section-spec] "]"
 *   section-spec = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
 *   section-text = section-msgtext / "MIME"
 *   partial = "<" number64 "." nz-number64 ">"
 */
#include "imap-fetch.h"
#include "imap-parser.h"
#include "arena.h"
#include "buf.h"
#include "tern-limits.h"

#include <stdarg.h>
#include <stdlib.h>

struct fetch_parse {
	struct arena *arena;
	struct imap_fetch_request *req;
	unsigned int alloc;
	const char *error;
};

static struct imap_fetch_item *add_item(struct fetch_parse *fp, enum imap_fetch_kind kind)
{
	struct imap_fetch_request *req = fp->req;
	struct imap_fetch_item *item;
	unsigned int i;

	/* the same simple item twice is sent once */
	if (kind != IMAP_FETCH_SECTION && kind != IMAP_FETCH_BINARY &&
	    kind != IMAP_FETCH_BINARY_SIZE) {
		for (i = 0; i < req->count; i++) {
			if (req->items[i].kind == kind)
				return &req->items[i];
		}
	}
	if (req->count == fp->alloc) {
		unsigned int old = fp->alloc;

		fp->alloc = old == 0 ? 8 : old * 2;
		req->items = arena_realloc(fp->arena, req->items, i_size_mul(old, sizeof(*item)),
					   i_size_mul(fp->alloc, sizeof(*item)));
	}
	item = &req->items[req->count++];
	memset(item, 0, sizeof(*item));
	item->kind = kind;
	item->part = "";
	if (kind == IMAP_FETCH_UID)
		req->has_uid = true;
	if (kind == IMAP_FETCH_FLAGS)
		req->has_flags = true;
	return item;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* nz-number *("." nz-number), each at most 2^32-1; stops before a "."
   that is not followed by a digit (the section text). */
static const char *parse_part(struct fetch_parse *fp, const char **p)
{
	const char *s = *p, *start = s;

	while (is_digit(*s)) {
		uint64_t n = 0;

		if (*s == '0')
			return NULL;
		while (is_digit(*s)) {
			n = n * 10 + (uint64_t)(*s - '0');
			if (n > UINT32_MAX)
				return NULL;
			s++;
		}
		if (*s == '.' && is_digit(s[1]))
			s++;
		else
			break;
	}
	*p = s;
	return arena_strndup(fp->arena, start, (size_t)(s - start));
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" with
   astrings (atoms or quoted strings); names upper-cased. */
static int parse_header_list(struct fetch_parse *fp, struct imap_fetch_item *item,
			     const char **p)
{
	const char *s = *p;
	unsigned int alloc = 0;

	if (*s != '(')
		return -1;
	s++;
	for (;;) {
		buf_t name;

		buf_init(&name, 1000);
		if (*s == '"') {
			s++;
			while (*s != '"') {
				if (*s == '\0')
					goto bad;
				if (*s == '\\') {
					s++;
					if (*s != '"' && *s != '\\')
						goto bad;
				}
				if (buf_append_c(&name, (unsigned char)i_toupper(*s)) < 0)
					goto bad;
				s++;
			}
			s++;
		} else {
			while (imap_is_astring_char((unsigned char)*s)) {
				if (buf_append_c(&name, (unsigned char)i_toupper(*s)) < 0)
					goto bad;
				s++;
			}
		}
		/* RFC 5322 3.6.8: field-name = 1*ftext (printable, no ":") */
		if (name.used == 0 || memchr(name.data, ':', name.used) != NULL)
			goto bad;
		for (size_t i = 0; i < name.used; i++) {
			if (name.data[i] < 33 || name.data[i] > 126)
				goto bad;
		}
		if (item->field_count == alloc) {
			unsigned int old = alloc;

			if (alloc >= IMAP_MAX_FETCH_ITEMS)
				goto bad;
			alloc = old == 0 ? 8 : old * 2;
			item->fields = arena_realloc(fp->arena, item->fields,
						     i_size_mul(old, sizeof(char *)),
						     i_size_mul(alloc, sizeof(char *)));
		}
		item->fields[item->field_count++] = arena_strdup(fp->arena, buf_str(&name));
		buf_free(&name);
		if (*s == ')')
			break;
		if (*s != ' ')
			return -1;
		s++;
		continue;
	bad:
		buf_free(&name);
		return -1;
	}
	*p = s + 1;
	return 0;
}

/* "[...]" for BODY (binary: only a part number). */
static int parse_section(struct fetch_parse *fp, struct imap_fetch_item *item, const char **p,
			 bool binary)
{
	const char *s = *p;

	if (*s != '[')
		return -1;
	s++;
	item->part = parse_part(fp, &s);
	if (item->part == NULL)
		return -1;
	item->text = IMAP_SECTION_ALL;
	if (binary) {
		if (*s != ']')
			return -1;
		*p = s + 1;
		return 0;
	}
	if (item->part[0] != '\0' && *s == '.') {
		s++;
		if (*s == ']')
			return -1;   /* "1." without a section-text */
	} else if (item->part[0] != '\0' && *s != ']') {
		return -1;
	}
	if (*s != ']') {
		size_t n = 0;

		while (s[n] != '\0' && s[n] != ']' && s[n] != ' ')
			n++;
		if (n == 6 && i_memcaseeq(s, 6, "HEADER"))
			item->text = IMAP_SECTION_HEADER;
		else if (n == 4 && i_memcaseeq(s, 4, "TEXT"))
			item->text = IMAP_SECTION_TEXT;
		else if (n == 4 && i_memcaseeq(s, 4, "MIME") && item->part[0] != '\0')
			item->text = IMAP_SECTION_MIME;
		else if (n == 13 && i_memcaseeq(s, 13, "HEADER.FIELDS"))
			item->text = IMAP_SECTION_HEADER_FIELDS;
		else if (n == 17 && i_memcaseeq(s, 17, "HEADER.FIELDS.NOT"))
			item->text = IMAP_SECTION_HEADER_FIELDS_NOT;
		else
			return -1;
		s += n;
		if (item->text == IMAP_SECTION_HEADER_FIELDS ||
		    item->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
			if (*s != ' ')
				return -1;
			s++;
			if (parse_header_list(fp, item, &s) < 0)
				return -1;
		}
	}
	if (*s != ']')
		return -1;
	*p = s + 1;
	return 0;
}

static int parse_number64(const char **p, uint64_t *n_r)
{
	const char *s = *p;
	uint64_t n = 0;

	if (!is_digit(*s))
		return -1;
	while (is_digit(*s)) {
		/* RFC 9051 9: number64 = 0..2^63-1 */
		if (n > (UINT64_C(1) << 63) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (n >= UINT64_C(1) << 63)
		return -1;
	*n_r = n;
	*p = s;
	return 0;
}

static int parse_partial(struct imap_fetch_item *item, const char **p)
{
	const char *s = *p;

	if (*s != '<')
		return 0;
	s++;
	if (parse_number64(&s, &item->offset) < 0 || *s != '.')
		return -1;
	s++;
	if (parse_number64(&s, &item->length) < 0 || item->length == 0 || *s != '>')
		return -1;
	item->partial = true;
	*p = s + 1;
	return 0;
}

static const char *const text_names[] = {
	[IMAP_SECTION_ALL] = "",
	[IMAP_SECTION_HEADER] = "HEADER",
	[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
	[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
	[IMAP_SECTION_TEXT] = "TEXT",
	[IMAP_SECTION_MIME] = "MIME",
};

/* The name the response uses: normalized (upper case), PEEK dropped,
   the partial as its origin only (RFC 9051 7.5.2; BINARY has none in
   the response grammar). */
static void name_append(buf_t *b, const char *fmt, ...) ATTR_FORMAT(2, 3);
static void name_append(buf_t *b, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	if (buf_vprintf(b, fmt, args) < 0)
		i_panic("imap: unlimited buffer full");
	va_end(args);
}

static void set_response_name(struct fetch_parse *fp, struct imap_fetch_item *item,
			      const char *word)
{
	buf_t b;
	unsigned int i;

	buf_init(&b, BUF_MAX_UNLIMITED);
	name_append(&b, "%s[%s", word, item->part);
	if (item->text != IMAP_SECTION_ALL)
		name_append(&b, "%s%s", item->part[0] != '\0' ? "." : "", text_names[item->text]);
	if (item->field_count > 0) {
		name_append(&b, " (");
		for (i = 0; i < item->field_count; i++)
			name_append(&b, "%s%s", i == 0 ? "" : " ", item->fields[i]);
		name_append(&b, ")");
	}
	name_append(&b, "]");
	if (item->partial && item->kind == IMAP_FETCH_SECTION)
		name_append(&b, "<%llu>", (unsigned long long)item->offset);
	item->response_name = arena_strdup(fp->arena, buf_str(&b));
	buf_free(&b);
}

static int parse_item(struct fetch_parse *fp, const char *atom)
{
	struct imap_fetch_request *req = fp->req;
	struct imap_fetch_item *item;
	const char *p;
	size_t n = 0;

	while (atom[n] != '\0' && atom[n] != '[')
		n++;
	if (atom[n] == '\0') {
		static const struct { const char *name; enum imap_fetch_kind kind; } simple[] = {
			{ "UID", IMAP_FETCH_UID }, { "FLAGS", IMAP_FETCH_FLAGS },
			{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
			{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
			{ "ENVELOPE", IMAP_FETCH_ENVELOPE }, { "BODY", IMAP_FETCH_BODY },
			{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
		};
		unsigned int i;

		for (i = 0; i < N_ELEMENTS(simple); i++) {
			if (i_strcasecmp(atom, simple[i].name) == 0) {
				add_item(fp, simple[i].kind);
				return 0;
			}
		}
		/* RFC 3501 6.4.5: RFC822 = BODY[], RFC822.HEADER =
		   BODY.PEEK[HEADER], RFC822.TEXT = BODY[TEXT] */
		if (i_strcasecmp(atom, "RFC822") == 0 || i_strcasecmp(atom, "RFC822.TEXT") == 0 ||
		    i_strcasecmp(atom, "RFC822.HEADER") == 0) {
			item = add_item(fp, IMAP_FETCH_SECTION);
			item->text = atom[6] == '\0' ? IMAP_SECTION_ALL :
				(i_toupper(atom[7]) == 'T' ? IMAP_SECTION_TEXT : IMAP_SECTION_HEADER);
			item->peek = item->text == IMAP_SECTION_HEADER;
			{
				char *name = arena_strdup(fp->arena, atom);

				for (char *c = name; *c != '\0'; c++)
					*c = i_toupper(*c);
				item->response_name = name;
			}
			if (!item->peek)
				req->sets_seen = true;
			req->needs_body = true;
			return 0;
		}
		fp->error = arena_printf(fp->arena, "Unknown FETCH item %s", atom);
		return -1;
	}
	p = atom + n;
	if (n == 4 && i_memcaseeq(atom, 4, "BODY")) {
		item = add_item(fp, IMAP_FETCH_SECTION);
	} else if (n == 9 && i_memcaseeq(atom, 9, "BODY.PEEK")) {
		item = add_item(fp, IMAP_FETCH_SECTION);
		item->peek = true;
	} else if (n == 6 && i_memcaseeq(atom, 6, "BINARY")) {
		item = add_item(fp, IMAP_FETCH_BINARY);
	} else if (n == 11 && i_memcaseeq(atom, 11, "BINARY.PEEK")) {
		item = add_item(fp, IMAP_FETCH_BINARY);
		item->peek = true;
	} else if (n == 11 && i_memcaseeq(atom, 11, "BINARY.SIZE")) {
		item = add_item(fp, IMAP_FETCH_BINARY_SIZE);
		item->peek = true;
	} else {
		fp->error = arena_printf(fp->arena, "Unknown FETCH item %.*s", (int)n, atom);
		return -1;
	}
	if (parse_section(fp, item, &p, item->kind != IMAP_FETCH_SECTION) < 0 ||
	    (item->kind != IMAP_FETCH_BINARY_SIZE && parse_partial(item, &p) < 0) || *p != '\0') {
		fp->error = arena_printf(fp->arena, "Invalid FETCH item %s", atom);
		return -1;
	}
	set_response_name(fp, item, item->kind == IMAP_FETCH_SECTION ? "BODY" :
			  item->kind == IMAP_FETCH_BINARY ? "BINARY" : "BINARY.SIZE");
	if (!item->peek)
		req->sets_seen = true;
	req->needs_body = true;
	return 0;
}

int imap_fetch_parse(struct arena *arena, const struct imap_arg *arg, bool uid_fetch,
		     struct imap_fetch_request *req_r, const char **error_r)
{
	struct fetch_parse fp = { .arena = arena, .req = req_r };
	const char *atom;
	unsigned int i;

	memset(req_r, 0, sizeof(*req_r));
	if (uid_fetch)
		add_item(&fp, IMAP_FETCH_UID);
	if (arg->type == IMAP_ARG_ATOM) {
		atom = arg->str;
		/* RFC 9051 6.4.5 macros */
		if (i_strcasecmp(atom, "ALL") == 0 || i_strcasecmp(atom, "FAST") == 0 ||
		    i_strcasecmp(atom, "FULL") == 0) {
			add_item(&fp, IMAP_FETCH_FLAGS);
			add_item(&fp, IMAP_FETCH_INTERNALDATE);
			add_item(&fp, IMAP_FETCH_RFC822_SIZE);
			if (i_toupper(atom[0]) != 'F' || i_toupper(atom[1]) == 'U')
				add_item(&fp, IMAP_FETCH_ENVELOPE);
			if (i_toupper(atom[1]) == 'U')
				add_item(&fp, IMAP_FETCH_BODY);
			return 0;
		}
		if (parse_item(&fp, atom) < 0) {
			*error_r = fp.error;
			return -1;
		}
		return 0;
	}
	if (arg->type != IMAP_ARG_LIST || arg->count == 0 || arg->count > IMAP_MAX_FETCH_ITEMS) {
		*error_r = "Invalid FETCH items";
		return -1;
	}
	for (i = 0; i < arg->count; i++) {
		if ((atom = imap_arg_atom(&arg->list[i])) == NULL) {
			*error_r = "Invalid FETCH item";
			return -1;
		}
		if (parse_item(&fp, atom) < 0) {
			*error_r = fp.error;
			return -1;
		}
	}
	return 0;
}
