/*
 * Parsing SEARCH arguments (imap-search.h), RFC 9051 6.4.4 and 9:
 *   search = "SEARCH" [search-return-opts] SP search-program
 *   search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
 *   search-return-opts = SP "RETURN" SP "(" [return-opt *(SP return-opt)] ")"
 * Recursive descent over the argument tree, bounded in keys and depth.
 */
#include "imap-search.h"
#include "imap-parser.h"
#include "arena.h"
#include "tern-limits.h"
#include "utf8.h"

struct search_parse {
	struct arena *arena;
	const struct imap_arg *args;
	unsigned int count, pos;
	unsigned int keys;
	struct imap_search *search;
	const char *error;
	enum imap_search_error kind;
};

static int parse_key(struct search_parse *sp, struct imap_search_key *key, unsigned int depth);

static int fail(struct search_parse *sp, const char *error)
{
	if (sp->error == NULL) {
		sp->error = error;
		sp->kind = IMAP_SEARCH_ERROR_SYNTAX;
	}
	return -1;
}

int imap_date_parse(const char *text, int64_t *day_r)
{
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int day = 0, year = 0, mon = -1, i;
	const char *p = text;
	int64_t y, days;

	/* date-day = 1*2DIGIT */
	for (i = 0; i < 2 && *p >= '0' && *p <= '9'; i++, p++)
		day = day * 10 + (*p - '0');
	if (i == 0 || *p != '-')
		return -1;
	p++;
	for (i = 0; i < 12; i++) {
		if (i_strncasecmp(p, months[i], 3) == 0) {
			mon = i;
			break;
		}
	}
	if (mon < 0 || p[3] != '-')
		return -1;
	p += 4;
	/* date-year = 4DIGIT */
	for (i = 0; i < 4; i++, p++) {
		if (*p < '0' || *p > '9')
			return -1;
		year = year * 10 + (*p - '0');
	}
	if (*p != '\0' || day < 1)
		return -1;
	{
		bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
		int max = mdays[mon] + (mon == 1 && leap ? 1 : 0);

		if (day > max)
			return -1;
	}
	/* days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
	   days_from_civil) */
	y = year - (mon < 2 ? 1 : 0);
	{
		int64_t era = (y >= 0 ? y : y - 399) / 400;
		int64_t yoe = y - era * 400;
		int64_t m = mon + 1;
		int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + doe - 719468;
	}
	*day_r = days;
	return 0;
}

/* The next argument, or NULL at the end. */
static const struct imap_arg *next_arg(struct search_parse *sp)
{
	if (sp->pos >= sp->count)
		return NULL;
	return &sp->args[sp->pos++];
}

static const char *next_astring(struct search_parse *sp)
{
	const struct imap_arg *arg = next_arg(sp);
	const char *s;

	if (arg == NULL || (s = imap_arg_astring(arg)) == NULL) {
		fail(sp, "Missing or invalid string argument");
		return NULL;
	}
	if (!utf8_is_valid(s, strlen(s))) {
		/* CHARSET was US-ASCII or UTF-8: anything else cannot be asked */
		fail(sp, "Search string is not valid UTF-8");
		return NULL;
	}
	return s;
}

static int next_date(struct search_parse *sp, int64_t *day_r)
{
	const struct imap_arg *arg = next_arg(sp);
	const char *s;

	/* date = date-text / DQUOTE date-text DQUOTE */
	if (arg == NULL || (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_QUOTED))
		return fail(sp, "Missing date");
	s = arg->str;
	if (imap_date_parse(s, day_r) < 0)
		return fail(sp, "Invalid date");
	return 0;
}

static int next_number(struct search_parse *sp, uint64_t *n_r)
{
	const struct imap_arg *arg = next_arg(sp);
	const char *s;
	uint64_t n = 0;

	if (arg == NULL || (s = imap_arg_atom(arg)) == NULL || *s == '\0')
		return fail(sp, "Missing number");
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > (UINT64_MAX - 9) / 10)
			return fail(sp, "Invalid number");
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*n_r = n;
	return 0;
}

static int add_child(struct search_parse *sp, struct imap_search_key *parent,
		     struct imap_search_key **child_r, unsigned int *alloc)
{
	if (++sp->keys > IMAP_MAX_SEARCH_KEYS)
		return fail(sp, "Too many search keys");
	if (parent->child_count == *alloc) {
		unsigned int old = *alloc;

		*alloc = old == 0 ? 4 : old * 2;
		parent->children = arena_realloc(sp->arena, parent->children,
						 i_size_mul(old, sizeof(*parent->children)),
						 i_size_mul(*alloc, sizeof(*parent->children)));
	}
	*child_r = &parent->children[parent->child_count++];
	memset(*child_r, 0, sizeof(**child_r));
	return 0;
}

/* The keys of a parenthesized list, or the rest of the top level: an AND. */
static int parse_list(struct search_parse *sp, struct imap_search_key *and_key,
		      const struct imap_arg *args, unsigned int count, unsigned int depth)
{
	const struct imap_arg *saved_args = sp->args;
	unsigned int saved_count = sp->count, saved_pos = sp->pos, alloc = 0;
	struct imap_search_key *child;

	if (depth > IMAP_MAX_LIST_DEPTH)
		return fail(sp, "Search nested too deeply");
	if (count == 0)
		return fail(sp, "Empty search key list");
	and_key->type = IMAP_SK_AND;
	sp->args = args;
	sp->count = count;
	sp->pos = 0;
	while (sp->pos < sp->count) {
		if (add_child(sp, and_key, &child, &alloc) < 0 ||
		    parse_key(sp, child, depth + 1) < 0)
			return -1;
	}
	sp->args = saved_args;
	sp->count = saved_count;
	sp->pos = saved_pos;
	return 0;
}

static int simple_flag(struct imap_search_key *key, unsigned int flag, bool negated)
{
	key->type = IMAP_SK_FLAG;
	key->flag = flag;
	key->negated = negated;
	return 0;
}

static int header_key(struct search_parse *sp, struct imap_search_key *key, const char *field)
{
	key->type = IMAP_SK_HEADER;
	key->field = field;
	key->value = next_astring(sp);
	return key->value == NULL ? -1 : 0;
}

static int keyword(struct search_parse *sp, struct imap_search_key *key, bool negated)
{
	const struct imap_arg *arg = next_arg(sp);
	const char *kw;

	/* flag-keyword = "$MDNSent" / "$Forwarded" / ... / atom */
	if (arg == NULL || (kw = imap_arg_atom(arg)) == NULL || kw[0] == '\\')
		return fail(sp, "Invalid keyword");
	for (const char *c = kw; *c != '\0'; c++) {
		if (!imap_is_atom_char((unsigned char)*c))
			return fail(sp, "Invalid keyword");
	}
	key->type = IMAP_SK_FLAG;
	key->keyword = kw;
	key->negated = negated;
	return 0;
}

static int parse_key(struct search_parse *sp, struct imap_search_key *key, unsigned int depth)
{
	const struct imap_arg *arg = next_arg(sp);
	const char *w;
	unsigned int alloc = 0;
	struct imap_search_key *child;

	if (depth > IMAP_MAX_LIST_DEPTH * 4)
		return fail(sp, "Search nested too deeply");
	if (arg == NULL)
		return fail(sp, "Missing search key");
	if (arg->type == IMAP_ARG_LIST)
		return parse_list(sp, key, arg->list, arg->count, depth + 1);
	if ((w = imap_arg_atom(arg)) == NULL)
		return fail(sp, "Invalid search key");

	if ((w[0] >= '0' && w[0] <= '9') || w[0] == '*' || w[0] == '$') {
		key->type = IMAP_SK_SEQSET;
		if (imap_seqset_parse(sp->arena, w, &key->set, &sp->error) < 0)
			return fail(sp, sp->error);
		if (key->set.saved)
			sp->search->uses_saved = true;
		return 0;
	}
#define IS(name) (i_strcasecmp(w, name) == 0)
	if (IS("ALL")) { key->type = IMAP_SK_ALL; return 0; }
	if (IS("ANSWERED")) return simple_flag(key, IMAP_FLAG_ANSWERED, false);
	if (IS("UNANSWERED")) return simple_flag(key, IMAP_FLAG_ANSWERED, true);
	if (IS("DELETED")) return simple_flag(key, IMAP_FLAG_DELETED, false);
	if (IS("UNDELETED")) return simple_flag(key, IMAP_FLAG_DELETED, true);
	if (IS("DRAFT")) return simple_flag(key, IMAP_FLAG_DRAFT, false);
	if (IS("UNDRAFT")) return simple_flag(key, IMAP_FLAG_DRAFT, true);
	if (IS("FLAGGED")) return simple_flag(key, IMAP_FLAG_FLAGGED, false);
	if (IS("UNFLAGGED")) return simple_flag(key, IMAP_FLAG_FLAGGED, true);
	if (IS("SEEN")) return simple_flag(key, IMAP_FLAG_SEEN, false);
	if (IS("UNSEEN")) return simple_flag(key, IMAP_FLAG_SEEN, true);
	if (IS("KEYWORD")) return keyword(sp, key, false);
	if (IS("UNKEYWORD")) return keyword(sp, key, true);
	if (IS("RECENT")) { key->type = IMAP_SK_RECENT; return 0; }
	if (IS("OLD")) { key->type = IMAP_SK_RECENT; key->negated = true; return 0; }
	if (IS("NEW")) {
		/* RFC 3501 6.4.4: NEW = RECENT UNSEEN */
		key->type = IMAP_SK_AND;
		if (add_child(sp, key, &child, &alloc) < 0)
			return -1;
		child->type = IMAP_SK_RECENT;
		if (add_child(sp, key, &child, &alloc) < 0)
			return -1;
		return simple_flag(child, IMAP_FLAG_SEEN, true);
	}
	if (IS("BEFORE")) { key->type = IMAP_SK_BEFORE; return next_date(sp, &key->day); }
	if (IS("ON")) { key->type = IMAP_SK_ON; return next_date(sp, &key->day); }
	if (IS("SINCE")) { key->type = IMAP_SK_SINCE; return next_date(sp, &key->day); }
	if (IS("SENTBEFORE")) { key->type = IMAP_SK_SENTBEFORE; return next_date(sp, &key->day); }
	if (IS("SENTON")) { key->type = IMAP_SK_SENTON; return next_date(sp, &key->day); }
	if (IS("SENTSINCE")) { key->type = IMAP_SK_SENTSINCE; return next_date(sp, &key->day); }
	if (IS("LARGER")) { key->type = IMAP_SK_LARGER; return next_number(sp, &key->size); }
	if (IS("SMALLER")) { key->type = IMAP_SK_SMALLER; return next_number(sp, &key->size); }
	if (IS("FROM")) return header_key(sp, key, "From");
	if (IS("TO")) return header_key(sp, key, "To");
	if (IS("CC")) return header_key(sp, key, "Cc");
	if (IS("BCC")) return header_key(sp, key, "Bcc");
	if (IS("SUBJECT")) return header_key(sp, key, "Subject");
	if (IS("HEADER")) {
		const char *field = next_astring(sp);

		if (field == NULL)
			return -1;
		for (const char *c = field; *c != '\0'; c++) {
			if ((unsigned char)*c < 33 || (unsigned char)*c > 126 || *c == ':')
				return fail(sp, "Invalid header field name");
		}
		return header_key(sp, key, field);
	}
	if (IS("BODY")) {
		key->type = IMAP_SK_BODY;
		key->value = next_astring(sp);
		return key->value == NULL ? -1 : 0;
	}
	if (IS("TEXT")) {
		key->type = IMAP_SK_TEXT;
		key->value = next_astring(sp);
		return key->value == NULL ? -1 : 0;
	}
	if (IS("UID")) {
		const struct imap_arg *set = next_arg(sp);

		if (set == NULL || imap_arg_atom(set) == NULL)
			return fail(sp, "UID needs a set");
		key->type = IMAP_SK_UIDSET;
		if (imap_seqset_parse(sp->arena, set->str, &key->set, &sp->error) < 0)
			return fail(sp, sp->error);
		if (key->set.saved)
			sp->search->uses_saved = true;
		return 0;
	}
	if (IS("NOT")) {
		key->type = IMAP_SK_NOT;
		if (add_child(sp, key, &child, &alloc) < 0)
			return -1;
		return parse_key(sp, child, depth + 1);
	}
	if (IS("OR")) {
		key->type = IMAP_SK_OR;
		if (add_child(sp, key, &child, &alloc) < 0 || parse_key(sp, child, depth + 1) < 0 ||
		    add_child(sp, key, &child, &alloc) < 0 || parse_key(sp, child, depth + 1) < 0)
			return -1;
		return 0;
	}
#undef IS
	return fail(sp, arena_printf(sp->arena, "Unknown search key %s", w));
}

static int parse_return(struct search_parse *sp, const struct imap_arg *list)
{
	unsigned int i;

	if (list->type != IMAP_ARG_LIST)
		return fail(sp, "RETURN needs a list");
	sp->search->esearch = true;
	for (i = 0; i < list->count; i++) {
		const char *o = imap_arg_atom(&list->list[i]);

		if (o == NULL)
			return fail(sp, "Invalid RETURN option");
		if (i_strcasecmp(o, "MIN") == 0)
			sp->search->return_opts |= IMAP_SEARCH_RETURN_MIN;
		else if (i_strcasecmp(o, "MAX") == 0)
			sp->search->return_opts |= IMAP_SEARCH_RETURN_MAX;
		else if (i_strcasecmp(o, "ALL") == 0)
			sp->search->return_opts |= IMAP_SEARCH_RETURN_ALL;
		else if (i_strcasecmp(o, "COUNT") == 0)
			sp->search->return_opts |= IMAP_SEARCH_RETURN_COUNT;
		else if (i_strcasecmp(o, "SAVE") == 0)
			sp->search->return_opts |= IMAP_SEARCH_RETURN_SAVE;
		else
			return fail(sp, "Unknown RETURN option");
	}
	/* RFC 4731 3.1: "RETURN ()" means ALL */
	if (sp->search->return_opts == 0)
		sp->search->return_opts = IMAP_SEARCH_RETURN_ALL;
	return 0;
}

int imap_search_parse(struct arena *arena, const struct imap_arg *args, unsigned int count,
		      struct imap_search *search_r, enum imap_search_error *kind_r,
		      const char **error_r)
{
	struct search_parse sp = { .arena = arena, .args = args, .count = count, .search = search_r };
	unsigned int first = 0;

	memset(search_r, 0, sizeof(*search_r));
	if (count >= 2 && imap_arg_atom(&args[0]) != NULL &&
	    i_strcasecmp(args[0].str, "RETURN") == 0) {
		if (parse_return(&sp, &args[1]) < 0)
			goto failed;
		first = 2;
	}
	if (count >= first + 2 && imap_arg_atom(&args[first]) != NULL &&
	    i_strcasecmp(args[first].str, "CHARSET") == 0) {
		const char *cs = imap_arg_astring(&args[first + 1]);

		/* RFC 9051 6.4.4: UTF-8 must be supported; US-ASCII is its subset */
		if (cs == NULL || (i_strcasecmp(cs, "UTF-8") != 0 && i_strcasecmp(cs, "US-ASCII") != 0 &&
				   i_strcasecmp(cs, "UTF8") != 0)) {
			*kind_r = IMAP_SEARCH_ERROR_BADCHARSET;
			*error_r = "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset";
			return -1;
		}
		first += 2;
	}
	if (parse_list(&sp, &search_r->root, args + first, count - first, 0) < 0)
		goto failed;
	return 0;
failed:
	*kind_r = sp.kind;
	*error_r = sp.error != NULL ? sp.error : "Invalid search";
	return -1;
}
