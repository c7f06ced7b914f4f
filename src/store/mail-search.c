/*
 * Searching a view (mail-search.h). The tree is checked and compiled once
 * (ranges sorted, strings case-folded), then evaluated per message in two
 * steps: first with what the index holds (flags, dates, sizes, MODSEQ, the
 * cached root header), where BODY and TEXT answer "maybe"; only messages
 * still undecided have their file opened, their text parts decoded
 * (part-text.h) and the tree evaluated again with the text. Built on the
 * public reading API (fetch iterator, mail_open), so it holds the user's
 * lock only while a batch of records is read.
 */
#include "store-private.h"
#include "mail-search.h"
#include "arena.h"
#include "header-parser.h"
#include "header-value.h"
#include "mime.h"
#include "part-text.h"
#include "tern-limits.h"
#include "utf8.h"

#include <stdlib.h>
#include <time.h>

enum tri { TRI_NO = 0, TRI_YES = 1, TRI_MAYBE = 2 };

struct snode {
	enum mail_search_type type;
	struct snode *child, *next;
	struct mail_uid_range *ranges;
	unsigned int range_count;
	unsigned int flags;
	const char *str;               /* keyword, or the case-folded needle */
	size_t str_len;
	const char *field;             /* HEADER */
	bool plain;                    /* HEADER: the needle is ASCII without whitespace */
	int64_t day;
	uint64_t number;
};

struct search_ctx {
	struct arena *arena;           /* the compiled tree, results */
	struct arena *msg_arena;       /* per message */
	time_t now;
	unsigned int nodes;
	bool need_header, need_text;
	/* per message */
	const struct mail_record *rec;
	struct msg_header header;
	bool header_parsed, header_missing;
	const char *text;              /* folded body text (BODY) */
	size_t text_len;
	const char *all_text;          /* folded headers + body (TEXT) */
	size_t all_text_len;
	bool text_loaded;
	/* plain HEADER criteria every match must meet (the root's AND) */
	const struct snode *required[8];
	unsigned int required_count;
};

/* ---- case folding (RFC 5051 i;unicode-casemap, simple mappings) ---- */

static uint32_t fold_char(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;                              /* Latin-1 */
	if (c >= 0x100 && c <= 0x17f) {                     /* Latin Extended-A */
		if (c == 0x130)
			return 'i';
		if (c == 0x178)
			return 0xff;
		if (c == 0x17f)
			return 's';
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) != 0 ? c + 1 : c;
		if (c == 0x131 || c == 0x138 || c == 0x149)
			return c;
		return (c & 1) == 0 ? c + 1 : c;
	}
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;                              /* Greek */
	if (c == 0x3c2)
		return 0x3c3;                               /* final sigma */
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;                              /* Cyrillic */
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if (c >= 0x460 && c <= 0x4ff && c != 0x482 && !(c >= 0x483 && c <= 0x489))
		return (c & 1) == 0 ? c + 1 : c;
	if (c >= 0x531 && c <= 0x556)
		return c + 48;                              /* Armenian */
	if (c >= 0x1e00 && c <= 0x1eff && !(c >= 0x1e96 && c <= 0x1e9f))
		return (c & 1) == 0 ? c + 1 : c;            /* Latin Extended Additional */
	if (c >= 0xff21 && c <= 0xff3a)
		return c + 32;                              /* fullwidth */
	return c;
}

/* Fold UTF-8 text into dest (at most its max bytes of output). A folded
   character is never longer in UTF-8 than the one it folds (fold_char),
   so the room is reserved once; ASCII, most of any mail, goes byte by
   byte without decoding. */
static void fold(const char *s, size_t len, buf_t *dest)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned char *out, *o;
	size_t room = len;

	if (room > dest->max - dest->used)
		room = dest->max - dest->used;   /* the bound of TERN_SEARCH_MAX_TEXT */
	if (room == 0 || (out = buf_reserve(dest, room)) == NULL)
		return;
	o = out;
	while (p < end) {
		uint32_t c;
		unsigned char enc[4];
		size_t n;

		if (*p < 0x80) {
			if ((size_t)(o - out) >= room)
				break;
			*o++ = (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			p++;
			continue;
		}
		size_t in = utf8_decode_char(p, (size_t)(end - p), &c);

		p += in;
		n = utf8_encode_char(fold_char(c), enc);
		if (n > in) {
			/* an invalid byte (decoded as U+FFFD, 3 bytes): one '?',
			   which no valid search string's character equals */
			enc[0] = '?';
			n = 1;
		}
		if ((size_t)(o - out) + n > room)
			break;   /* the bound: the rest is not searched */
		memcpy(o, enc, n);
		o += n;
	}
	buf_commit(dest, (size_t)(o - out));
}

static const char *fold_str(struct arena *arena, const char *s, size_t len, size_t *len_r)
{
	buf_t b;
	const char *r;

	buf_init(&b, BUF_MAX_UNLIMITED);
	fold(s, len, &b);
	*len_r = buf_len(&b);
	r = arena_strndup(arena, b.data == NULL ? "" : (const char *)b.data, buf_len(&b));
	buf_free(&b);
	return r;
}

static bool contains(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
	return needle_len == 0 || (hay_len >= needle_len &&
				   memmem(hay, hay_len, needle, needle_len) != NULL);
}

/* ---- compiling ---- */

static int compile(struct search_ctx *ctx, const struct mail_search_arg *arg, unsigned int depth,
		   struct snode **node_r, struct mail_error *error)
{
	struct snode *n, **tail;
	const struct mail_search_arg *c;
	unsigned int children = 0;

	if (depth > TERN_SEARCH_MAX_DEPTH || ++ctx->nodes > TERN_SEARCH_MAX_ARGS)
		return mail_error_set(error, MAIL_ERROR_LIMIT, "Search too complex");
	n = arena_new_type(ctx->arena, struct snode);
	n->type = arg->type;
	switch (arg->type) {
	case MAIL_SEARCH_AND:
	case MAIL_SEARCH_OR:
	case MAIL_SEARCH_NOT:
		tail = &n->child;
		for (c = arg->value.children; c != NULL; c = c->next) {
			if (compile(ctx, c, depth + 1, tail, error) < 0)
				return -1;
			tail = &(*tail)->next;
			children++;
		}
		if (arg->type == MAIL_SEARCH_NOT && children != 1)
			return mail_error_set(error, MAIL_ERROR_PARAMS, "NOT needs one argument");
		break;
	case MAIL_SEARCH_UIDSET:
		ranges_normalize(ctx->arena, arg->value.uids.ranges == NULL ? NULL :
				 arg->value.uids.ranges, arg->value.uids.count,
				 &n->ranges, &n->range_count);
		if (arg->value.uids.ranges == NULL)
			n->range_count = 0;
		break;
	case MAIL_SEARCH_FLAGS:
		n->flags = arg->value.flags & MAIL_FLAGS_ALL;
		break;
	case MAIL_SEARCH_KEYWORD:
		if (arg->value.str == NULL)
			return mail_error_set(error, MAIL_ERROR_PARAMS, "No keyword");
		n->str = arena_strdup(ctx->arena, arg->value.str);
		break;
	case MAIL_SEARCH_BEFORE:
	case MAIL_SEARCH_ON:
	case MAIL_SEARCH_SINCE:
	case MAIL_SEARCH_SENTBEFORE:
	case MAIL_SEARCH_SENTON:
	case MAIL_SEARCH_SENTSINCE:
		n->day = arg->value.day;
		break;
	case MAIL_SEARCH_OLDER:
	case MAIL_SEARCH_YOUNGER:
	case MAIL_SEARCH_LARGER:
	case MAIL_SEARCH_SMALLER:
	case MAIL_SEARCH_MODSEQ:
		n->number = arg->value.number;
		break;
	case MAIL_SEARCH_HEADER:
		if (arg->value.header.field == NULL || arg->value.header.value == NULL)
			return mail_error_set(error, MAIL_ERROR_PARAMS, "No header field");
		n->field = arena_strdup(ctx->arena, arg->value.header.field);
		n->str = fold_str(ctx->arena, arg->value.header.value,
				  strlen(arg->value.header.value), &n->str_len);
		n->plain = n->str_len > 0;
		for (size_t i = 0; i < n->str_len; i++) {
			unsigned char ch = (unsigned char)n->str[i];

			if (ch >= 0x80 || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
				n->plain = false;
		}
		ctx->need_header = true;
		break;
	case MAIL_SEARCH_BODY:
	case MAIL_SEARCH_TEXT:
		if (arg->value.str == NULL)
			return mail_error_set(error, MAIL_ERROR_PARAMS, "No search text");
		n->str = fold_str(ctx->arena, arg->value.str, strlen(arg->value.str), &n->str_len);
		ctx->need_text = true;
		break;
	case MAIL_SEARCH_ALL:
	case MAIL_SEARCH_RECENT:
		break;
	default:
		return mail_error_set(error, MAIL_ERROR_PARAMS, "Unknown search key");
	}
	*node_r = n;
	return 0;
}

/* ---- evaluating ---- */

/* Can a header block be known not to hold an ASCII needle without
   parsing it? When it has no encoded word ("=?") and no 8-bit byte, every
   decoded field value is a piece of its bytes (unfolding only drops CRLFs
   before whitespace, and the needle has none), so a case-insensitive miss
   in the raw block is a miss in every field. Most messages of a large
   folder are decided here, without a parse. */
static bool raw_header_lacks(const unsigned char *h, size_t len, const char *needle,
			     size_t nlen)
{
	unsigned char first = (unsigned char)needle[0];
	unsigned char up = first >= 'a' && first <= 'z' ? (unsigned char)(first - 32) : first;
	const unsigned char *lo, *hi, *p;
	size_t room, j;

	if (len < nlen)
		return true;
	if (i_mem_has_8bit(h, len))
		return false;
	/* an encoded word: "=?" (found by its rarer second byte) */
	for (p = memchr(h + 1, '?', len - 1); p != NULL;
	     p = memchr(p + 1, '?', len - (size_t)(p + 1 - h))) {
		if (p[-1] == '=')
			return false;
	}
	/* candidates: the needle's first letter in either case, found by
	   memchr (the library's vectorised scan), the rest compared folded */
	room = len - nlen + 1;
	lo = memchr(h, first, room);
	hi = up == first ? NULL : memchr(h, up, room);
	while (lo != NULL || hi != NULL) {
		p = lo == NULL ? hi : hi == NULL ? lo : lo < hi ? lo : hi;
		for (j = 1; j < nlen; j++) {
			unsigned char c = p[j];

			if (c >= 'A' && c <= 'Z')
				c += 32;
			if (c != (unsigned char)needle[j])
				break;
		}
		if (j == nlen)
			return false;
		if (p == lo)
			lo = memchr(p + 1, first, room - (size_t)(p + 1 - h));
		else
			hi = memchr(p + 1, up, room - (size_t)(p + 1 - h));
	}
	return true;
}

static int64_t day_of(time_t t, int tz_offset_min)
{
	int64_t s = (int64_t)t + (int64_t)tz_offset_min * 60;

	/* floor division: dates before 1970 round down */
	return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

static bool header_parse(struct search_ctx *ctx)
{
	if (ctx->header_parsed)
		return !ctx->header_missing;
	ctx->header_parsed = true;
	if (ctx->rec->header == NULL) {
		ctx->header_missing = true;
		return false;
	}
	msg_header_parse_block(ctx->msg_arena, ctx->rec->header, ctx->rec->header_size, 0,
			       TERN_MIME_MAX_HEADER_FIELDS, false, &ctx->header);
	return true;
}

/* RFC 3501 6.4.4 HEADER: the field contains the string; "" matches when
   the field is there at all. Values RFC 2047-decoded, whitespace folded. */
static bool header_match(struct search_ctx *ctx, const struct msg_header *hdr,
			 const struct snode *n)
{
	unsigned int i;

	for (i = 0; i < hdr->count; i++) {
		const struct msg_header_field *f = &hdr->fields[i];
		const char *v, *folded;
		size_t len;

		if (f->name_len == 0 || i_strcasecmp(f->name, n->field) != 0)
			continue;
		if (n->str_len == 0)
			return true;
		v = msg_hv_decode_unstructured(ctx->msg_arena, f->value, f->value_len);
		folded = fold_str(ctx->msg_arena, v, strlen(v), &len);
		if (contains(folded, len, n->str, n->str_len))
			return true;
	}
	return false;
}

static bool in_ranges(const struct snode *n, uint32_t uid)
{
	unsigned int lo = 0, hi = n->range_count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (uid < n->ranges[mid].first)
			hi = mid;
		else if (uid > n->ranges[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static enum tri eval(struct search_ctx *ctx, const struct snode *n)
{
	const struct mail_record *r = ctx->rec;
	const struct snode *c;
	enum tri t, acc;
	unsigned int i;

	switch (n->type) {
	case MAIL_SEARCH_ALL:
		return TRI_YES;
	case MAIL_SEARCH_AND:
		acc = TRI_YES;
		for (c = n->child; c != NULL; c = c->next) {
			t = eval(ctx, c);
			if (t == TRI_NO)
				return TRI_NO;
			if (t == TRI_MAYBE)
				acc = TRI_MAYBE;
		}
		return acc;
	case MAIL_SEARCH_OR:
		acc = TRI_NO;
		for (c = n->child; c != NULL; c = c->next) {
			t = eval(ctx, c);
			if (t == TRI_YES)
				return TRI_YES;
			if (t == TRI_MAYBE)
				acc = TRI_MAYBE;
		}
		return acc;
	case MAIL_SEARCH_NOT:
		t = eval(ctx, n->child);
		return t == TRI_MAYBE ? TRI_MAYBE : t == TRI_YES ? TRI_NO : TRI_YES;
	case MAIL_SEARCH_UIDSET:
		return in_ranges(n, r->uid) ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_FLAGS:
		return (r->flags & n->flags) == n->flags ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_KEYWORD:
		for (i = 0; i < r->keyword_count; i++) {
			if (i_strcasecmp(r->keywords[i], n->str) == 0)
				return TRI_YES;
		}
		return TRI_NO;
	case MAIL_SEARCH_RECENT:
		return r->recent ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_BEFORE:
		return day_of(r->internal_date, r->tz_offset_min) < n->day ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_ON:
		return day_of(r->internal_date, r->tz_offset_min) == n->day ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_SINCE:
		return day_of(r->internal_date, r->tz_offset_min) >= n->day ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_SENTBEFORE:
		return r->has_sent_date &&
			day_of(r->sent_date, r->sent_tz_offset_min) < n->day ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_SENTON:
		return r->has_sent_date &&
			day_of(r->sent_date, r->sent_tz_offset_min) == n->day ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_SENTSINCE:
		return r->has_sent_date &&
			day_of(r->sent_date, r->sent_tz_offset_min) >= n->day ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_OLDER:
		return (int64_t)ctx->now - (int64_t)r->internal_date > (int64_t)n->number ?
			TRI_YES : TRI_NO;
	case MAIL_SEARCH_YOUNGER:
		return (int64_t)ctx->now - (int64_t)r->internal_date <= (int64_t)n->number ?
			TRI_YES : TRI_NO;
	case MAIL_SEARCH_LARGER:
		return r->size > n->number ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_SMALLER:
		return r->size < n->number ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_MODSEQ:
		return r->modseq >= n->number ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_HEADER:
		if (n->plain && ctx->rec->header != NULL &&
		    raw_header_lacks(ctx->rec->header, ctx->rec->header_size, n->str, n->str_len))
			return TRI_NO;
		if (!header_parse(ctx))
			return TRI_MAYBE;	/* not cached: from the file */
		return header_match(ctx, &ctx->header, n) ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_BODY:
		if (!ctx->text_loaded)
			return TRI_MAYBE;
		return contains(ctx->text, ctx->text_len, n->str, n->str_len) ? TRI_YES : TRI_NO;
	case MAIL_SEARCH_TEXT:
		if (!ctx->text_loaded)
			return TRI_MAYBE;
		return contains(ctx->all_text, ctx->all_text_len, n->str, n->str_len) ?
			TRI_YES : TRI_NO;
	}
	return TRI_NO;
}

/* ---- the text of a message ---- */

/* A header block as searchable text: "Name: decoded value" lines. */
static void header_text(struct search_ctx *ctx, const struct msg_header *hdr, buf_t *dest)
{
	unsigned int i;

	for (i = 0; i < hdr->count; i++) {
		const struct msg_header_field *f = &hdr->fields[i];
		const char *v = msg_hv_decode_unstructured(ctx->msg_arena, f->value, f->value_len);

		fold(f->name, f->name_len, dest);
		fold(": ", 2, dest);
		fold(v, strlen(v), dest);
		fold("\n", 1, dest);
	}
}

static void part_texts(struct search_ctx *ctx, const struct mime_part *part, const void *msg,
		       size_t msg_size, buf_t *body, buf_t *headers)
{
	const struct mime_part *c;

	if (mime_part_is_multipart(part) || mime_part_is_message(part)) {
		for (c = part->children; c != NULL; c = c->next) {
			/* TEXT covers every header: an attached message's, and
			   each body part's MIME header (RFC 9051 6.4.4 "header or
			   body") */
			header_text(ctx, &c->header, headers);
			part_texts(ctx, c, msg, msg_size, body, headers);
		}
		return;
	}
	if (strcmp(part->type, "text") == 0) {
		buf_t decoded;

		buf_init(&decoded, TERN_SEARCH_MAX_TEXT);
		(void)part_text_decode(part, msg, msg_size, &decoded);
		fold(buf_str(&decoded), buf_len(&decoded), body);
		fold("\n", 1, body);
		buf_free(&decoded);
	}
}

/* Open the message and decode its text (and its header, when the index
   had none cached). -1: the message cannot be read (it then matches
   nothing). */
static int load_text(struct search_ctx *ctx, struct mailbox_view *view)
{
	struct mail_file *file;
	struct mail_section sec;
	struct mail_error error;
	struct mime_part *root;
	buf_t raw, body, headers;
	int ret = -1;

	ctx->text_loaded = true;
	ctx->text = ctx->all_text = "";
	ctx->text_len = ctx->all_text_len = 0;
	if (mail_open(view, ctx->rec->uid, &file, &error) < 0)
		return -1;
	buf_init(&raw, BUF_MAX_UNLIMITED);
	if (mail_file_section(file, "", MAIL_SECTION_ALL, &sec, &error) == 0 &&
	    mail_file_read(file, &sec, 0, sec.size, &raw, &error) == 0) {
		root = mime_parse(ctx->msg_arena, raw.data, buf_len(&raw), NULL);
		if (ctx->header_missing || !ctx->header_parsed) {
			ctx->header = root->header;
			ctx->header_parsed = true;
			ctx->header_missing = false;
		}
		if (ctx->need_text) {
			buf_init(&body, TERN_SEARCH_MAX_TEXT);
			buf_init(&headers, TERN_SEARCH_MAX_TEXT);
			header_text(ctx, &root->header, &headers);
			part_texts(ctx, root, raw.data, buf_len(&raw), &body, &headers);
			ctx->text_len = buf_len(&body);
			ctx->text = arena_strndup(ctx->msg_arena, (const char *)body.data, ctx->text_len);
			if (buf_append(&headers, body.data, buf_len(&body)) < 0) {
				/* bounded: the headers and as much of the body as fits */
			}
			ctx->all_text_len = buf_len(&headers);
			ctx->all_text = arena_strndup(ctx->msg_arena, (const char *)headers.data,
						      ctx->all_text_len);
			buf_free(&body);
			buf_free(&headers);
		}
		ret = 0;
	}
	buf_free(&raw);
	mail_file_close(&file);
	return ret;
}

/* The plain HEADER nodes that a match must satisfy: n itself, or the
   children of an AND, recursively. */
static void collect_required(struct search_ctx *ctx, const struct snode *n)
{
	const struct snode *c;

	if (n->type == MAIL_SEARCH_HEADER && n->plain) {
		if (ctx->required_count < N_ELEMENTS(ctx->required))
			ctx->required[ctx->required_count++] = n;
	} else if (n->type == MAIL_SEARCH_AND) {
		for (c = n->child; c != NULL; c = c->next)
			collect_required(ctx, c);
	}
}

/* mail_fetch_skip_cb: a row whose cached header lacks a required needle
   cannot match; no record is made for it. */
static bool search_skip(const struct index_message *msg, const struct index_cache *cache,
			void *context)
{
	const struct search_ctx *ctx = context;
	unsigned int i;

	(void)msg;
	if (cache->header == NULL)
		return false;
	for (i = 0; i < ctx->required_count; i++) {
		if (raw_header_lacks(cache->header, cache->header_size,
				     ctx->required[i]->str, ctx->required[i]->str_len))
			return true;
	}
	return false;
}

int mailbox_search(struct mailbox_view *view, const struct mail_search_arg *args,
		   struct arena *arena, uint32_t **uids_r, unsigned int *count_r,
		   uint64_t *highest_modseq_r, struct mail_error *error_r)
{
	struct search_ctx ctx;
	struct snode *root;
	struct mail_fetch_iter *iter;
	const struct mail_record *rec;
	uint32_t *uids;
	unsigned int count = 0, alloc = 64, fields;
	uint64_t highest = 0;

	*uids_r = NULL;
	*count_r = 0;
	if (highest_modseq_r != NULL)
		*highest_modseq_r = 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.arena = arena;
	ctx.now = time(NULL);
	if (args == NULL)
		return mail_error_set(error_r, MAIL_ERROR_PARAMS, "No search criteria");
	if (compile(&ctx, args, 0, &root, error_r) < 0)
		return -1;
	fields = MAIL_FETCH_FLAGS | MAIL_FETCH_INTERNALDATE | MAIL_FETCH_SIZE |
		MAIL_FETCH_MODSEQ | MAIL_FETCH_SENT_DATE;
	if (ctx.need_header)
		fields |= MAIL_FETCH_HEADER;
	uids = arena_new_array(arena, uint32_t, alloc);
	ctx.msg_arena = arena_new(0);
	iter = mailbox_fetch_begin(view, NULL, 0, fields, 0);
	collect_required(&ctx, root);
	if (ctx.required_count > 0)
		mail_fetch_set_skip(iter, search_skip, &ctx);
	while (mailbox_fetch_next(iter, &rec)) {
		enum tri t;

		if (rec->expunged)
			continue;
		arena_clear(ctx.msg_arena);
		ctx.rec = rec;
		ctx.header_parsed = ctx.header_missing = ctx.text_loaded = false;
		t = eval(&ctx, root);
		if (t == TRI_MAYBE) {
			if (load_text(&ctx, view) < 0)
				continue;	/* unreadable: matches nothing */
			t = eval(&ctx, root);
		}
		if (t != TRI_YES)
			continue;
		if (count == alloc) {
			uids = arena_realloc(arena, uids, sizeof(uint32_t) * alloc,
					     sizeof(uint32_t) * alloc * 2);
			alloc *= 2;
		}
		uids[count++] = rec->uid;
		if (rec->modseq > highest)
			highest = rec->modseq;
	}
	arena_free(&ctx.msg_arena);
	if (mailbox_fetch_end(&iter, error_r) < 0)
		return -1;
	*uids_r = uids;
	*count_r = count;
	if (highest_modseq_r != NULL)
		*highest_modseq_r = highest;
	return 0;
}
