#include "imap-bodystructure.h"
#include "imap-envelope.h"
#include "imap-quote.h"
#include "arena.h"

/* RFC 3501 requires at least one body part in a multipart, and a
   message/rfc822 must carry an envelope and a body: these stand in. */
#define EMPTY_ENVELOPE "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)"
#define EMPTY_BODYSTRUCTURE \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"

struct bs_ctx {
	buf_t *dest;
	struct arena *arena;
	bool extended;
	unsigned int flags;
	int ret;
};

static size_t skip_cfws(const char *v, size_t len, size_t i);
static bool is_token_char(unsigned char c);
static const char *next_token(struct arena *arena, const char *v, size_t len, size_t *pos);
static const char *raw_token(struct bs_ctx *ctx, const struct mime_part *part, const char *field,
			     unsigned int index);
static const char *raw_case(struct bs_ctx *ctx, const struct mime_part *part, const char *field,
			    unsigned int index, const char *lower);
static void put(struct bs_ctx *ctx, const char *str);
static void put_string(struct bs_ctx *ctx, const char *str);
static void put_nstring(struct bs_ctx *ctx, const char *str);
static size_t skip_value(const char *v, size_t len, size_t i);
static const char *raw_param_name(struct bs_ctx *ctx, const struct msg_header_field *f,
				  const char *name);
static void write_params(struct bs_ctx *ctx, const struct mime_param *params, unsigned int count,
			 const struct msg_header_field *f, bool default_charset);
static bool is_mime(const struct mime_part *part);
static void write_common_ext(struct bs_ctx *ctx, const struct mime_part *part, bool mime);
static void write_part(struct bs_ctx *ctx, const struct mime_part *part);
static void write_multipart(struct bs_ctx *ctx, const struct mime_part *part);
static void write_single(struct bs_ctx *ctx, const struct mime_part *part);

/* RFC 5322 3.2.2 CFWS: whitespace and comments, which nest. */
static size_t skip_cfws(const char *v, size_t len, size_t i)
{
	unsigned int level = 0;

	for (; i < len; i++) {
		if (level > 0) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			else if (v[i] == '(')
				level++;
			else if (v[i] == ')')
				level--;
		} else if (v[i] == '(') {
			level++;
		} else if (v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n') {
			break;
		}
	}
	return i;
}

/* RFC 2045 5.1 token: any CHAR except SPACE, CTLs and tspecials
   (8-bit bytes tolerated, as lenient parsers do) */
static bool is_token_char(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const char *next_token(struct arena *arena, const char *v, size_t len, size_t *pos)
{
	size_t i = skip_cfws(v, len, *pos), start = i;

	while (i < len && is_token_char((unsigned char)v[i]))
		i++;
	*pos = i;
	if (i == start)
		return NULL;
	return arena_strndup(arena, v + start, i - start);
}

/* The index-th token (0 = type, 1 = subtype after "/") of the first
   `field` as written, or NULL. */
static const char *raw_token(struct bs_ctx *ctx, const struct mime_part *part, const char *field,
			     unsigned int index)
{
	const struct msg_header_field *f = msg_header_get(&part->header, field);
	const char *tok;
	size_t pos = 0;

	if (f == NULL)
		return NULL;
	tok = next_token(ctx->arena, f->value, f->value_len, &pos);
	if (index == 1) {
		pos = skip_cfws(f->value, f->value_len, pos);
		if (tok == NULL || pos >= f->value_len || f->value[pos] != '/')
			return NULL;
		pos++;
		tok = next_token(ctx->arena, f->value, f->value_len, &pos);
	}
	return tok;
}

/* raw_token() when it is the same word as the parser's lowercased
   `lower`; otherwise `lower`. Dovecot sends these as written. */
static const char *raw_case(struct bs_ctx *ctx, const struct mime_part *part, const char *field,
			    unsigned int index, const char *lower)
{
	const char *tok;

	if (lower == NULL)
		return NULL;
	tok = raw_token(ctx, part, field, index);
	if (tok == NULL || i_strcasecmp(tok, lower) != 0)
		return lower;
	return tok;
}

static void put(struct bs_ctx *ctx, const char *str)
{
	if (buf_append_str(ctx->dest, str) < 0)
		ctx->ret = -1;
}

static void put_string(struct bs_ctx *ctx, const char *str)
{
	if (imap_append_nstring_nolf(ctx->dest, str != NULL ? str : "", ctx->flags) < 0)
		ctx->ret = -1;
}

static void put_nstring(struct bs_ctx *ctx, const char *str)
{
	if (imap_append_nstring_nolf(ctx->dest, str, ctx->flags) < 0)
		ctx->ret = -1;
}

/* Past a parameter value (quoted string or token) and anything else up to
   the next ';' outside quotes and comments. */
static size_t skip_value(const char *v, size_t len, size_t i)
{
	bool quoted = false;
	unsigned int level = 0;

	for (; i < len; i++) {
		if (v[i] == '\\' && (quoted || level > 0) && i + 1 < len)
			i++;
		else if (quoted)
			quoted = v[i] != '"';
		else if (v[i] == '"' && level == 0)
			quoted = true;
		else if (v[i] == '(')
			level++;
		else if (v[i] == ')' && level > 0)
			level--;
		else if (v[i] == ';' && level == 0)
			break;
	}
	return i;
}

/* The parameter name as written in the field (the case of its first
   section, RFC 2231 "*" suffixes removed), when the parser's lowercased
   `name` is found there; else `name`. Dovecot sends names as written. */
static const char *raw_param_name(struct bs_ctx *ctx, const struct msg_header_field *f,
				  const char *name)
{
	size_t i, start, end, nlen = strlen(name);

	if (f == NULL)
		return name;
	i = skip_value(f->value, f->value_len, 0);
	while (i < f->value_len) {
		i = skip_cfws(f->value, f->value_len, i + 1); /* past ';' */
		start = i;
		while (i < f->value_len && is_token_char((unsigned char)f->value[i]))
			i++;
		end = start;
		while (end < i && f->value[end] != '*')
			end++;
		if (end - start == nlen && i_memcaseeq(f->value + start, nlen, name))
			return arena_strndup(ctx->arena, f->value + start, nlen);
		i = skip_value(f->value, f->value_len, i);
	}
	return name;
}

/* body-fld-param: ("name" "value" ...) or NIL. RFC 2231 parameters keep
   their raw form under "name*" (the parser has joined continuations). */
static void write_params(struct bs_ctx *ctx, const struct mime_param *params, unsigned int count,
			 const struct msg_header_field *f, bool default_charset)
{
	bool seen_charset = false;
	unsigned int i;

	if (count == 0 && !default_charset) {
		put(ctx, "NIL");
		return;
	}
	put(ctx, "(");
	for (i = 0; i < count; i++) {
		const struct mime_param *p = &params[i];
		bool ext = p->extended && p->raw != NULL;
		const char *name = raw_param_name(ctx, f, p->name);

		if (i > 0)
			put(ctx, " ");
		/* Dovecot: only a plain "charset" counts, not "charset*" */
		if (!ext && i_strcasecmp(p->name, "charset") == 0)
			seen_charset = true;
		put_string(ctx, ext ? arena_printf(ctx->arena, "%s*", name) : name);
		put(ctx, " ");
		put_string(ctx, ext ? p->raw : p->value);
	}
	if (default_charset && !seen_charset) {
		/* RFC 2045 5.2: text without a charset is us-ascii */
		if (count > 0)
			put(ctx, " ");
		put(ctx, "\"charset\" \"us-ascii\"");
	}
	put(ctx, ")");
}

/* RFC 2045 4: a message header without MIME-Version is not MIME. As
   Dovecot, the Content-* fields of a message header (the root, or an
   encapsulated message) count only with MIME-Version or Content-Type;
   body parts of a multipart always count. */
static bool is_mime(const struct mime_part *part)
{
	if (part->parent != NULL && !mime_part_is_message(part->parent))
		return true;
	return msg_header_get(&part->header, "MIME-Version") != NULL ||
	       msg_header_get(&part->header, "Content-Type") != NULL;
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc (RFC 3501 9) */
static void write_common_ext(struct bs_ctx *ctx, const struct mime_part *part, bool mime)
{
	unsigned int i;

	if (!mime) {
		put(ctx, " NIL NIL NIL");
		return;
	}
	put(ctx, " ");
	if (part->disposition == NULL) {
		put(ctx, "NIL");
	} else {
		put(ctx, "(");
		put_string(ctx, raw_case(ctx, part, "Content-Disposition", 0, part->disposition));
		put(ctx, " ");
		write_params(ctx, part->disposition_params, part->disposition_param_count,
			     msg_header_get(&part->header, "Content-Disposition"), false);
		put(ctx, ")");
	}
	put(ctx, " ");
	if (part->language_count == 0) {
		put(ctx, "NIL");
	} else {
		put(ctx, "(");
		for (i = 0; i < part->language_count; i++) {
			if (i > 0)
				put(ctx, " ");
			put_string(ctx, part->languages[i]);
		}
		put(ctx, ")");
	}
	put(ctx, " ");
	put_nstring(ctx, part->location);
}

static void write_part(struct bs_ctx *ctx, const struct mime_part *part)
{
	if (i_strcasecmp(part->type, "multipart") == 0 ||
	    (part->flags & MIME_PART_FLAG_NO_BOUNDARY) != 0)
		write_multipart(ctx, part);
	else
		write_single(ctx, part);
}

static void write_multipart(struct bs_ctx *ctx, const struct mime_part *part)
{
	const struct mime_part *child;
	const char *subtype;

	if ((part->flags & MIME_PART_FLAG_NO_BOUNDARY) != 0) {
		/* the parser reports a multipart without a boundary as the
		   text/plain leaf it is; IMAP sends it as Dovecot does, as a
		   multipart with no parts, subtype as written */
		subtype = raw_token(ctx, part, "Content-Type", 1);
		if (subtype == NULL)
			subtype = "mixed";
	} else {
		subtype = raw_case(ctx, part, "Content-Type", 1, part->subtype);
	}
	put(ctx, "(");
	if (part->children == NULL)
		put(ctx, ctx->extended ? EMPTY_BODYSTRUCTURE : EMPTY_BODY);
	for (child = part->children; child != NULL; child = child->next)
		write_part(ctx, child);
	put(ctx, " ");
	put_string(ctx, subtype);
	if (ctx->extended) {
		put(ctx, " ");
		write_params(ctx, part->params, part->param_count,
			     msg_header_get(&part->header, "Content-Type"), false);
		write_common_ext(ctx, part, true);
	}
	put(ctx, ")");
}

static void write_single(struct bs_ctx *ctx, const struct mime_part *part)
{
	bool text = i_strcasecmp(part->type, "text") == 0;
	/* RFC 3501 7.4.2: only message/rfc822 has the envelope, body and
	   lines; message/global (RFC 6532) is a basic part in IMAP4rev1's
	   grammar (RFC 3501 9 media-basic), as Dovecot 2.3 sends it */
	bool message = mime_part_is(part, "message", "rfc822");
	const char *type = part->type, *subtype = part->subtype, *cte = NULL;
	bool mime = is_mime(part);

	if (part->content_type_explicit) {
		type = raw_case(ctx, part, "Content-Type", 0, part->type);
		subtype = raw_case(ctx, part, "Content-Type", 1, part->subtype);
	}
	if (mime && part->cte_name != NULL && part->cte_name[0] != '\0')
		cte = raw_case(ctx, part, "Content-Transfer-Encoding", 0, part->cte_name);

	put(ctx, "(");
	put_string(ctx, type);
	put(ctx, " ");
	put_string(ctx, subtype);
	put(ctx, " ");
	write_params(ctx, part->params, part->param_count,
		     part->content_type_explicit ? msg_header_get(&part->header, "Content-Type") : NULL,
		     text);
	put(ctx, " ");
	put_nstring(ctx, mime ? part->content_id : NULL);
	put(ctx, " ");
	put_nstring(ctx, mime ? part->description : NULL);
	put(ctx, " ");
	put_string(ctx, cte != NULL ? cte : "7bit");
	/* RFC 3501 7.4.2 body-fld-octets: the size of the body as FETCH
	   BODY[n] sends it, CRLF line ends (RFC 3501 2.3.4) */
	if (buf_printf(ctx->dest, " %zu", part->body_crlf_size) < 0)
		ctx->ret = -1;
	if (message) {
		/* RFC 3501 7.4.2: envelope, body and lines of the encapsulated
		   message */
		put(ctx, " ");
		if (part->children != NULL) {
			if (imap_envelope_write(ctx->dest, ctx->arena, &part->children->header,
						ctx->flags) < 0)
				ctx->ret = -1;
			put(ctx, " ");
			write_part(ctx, part->children);
		} else {
			put(ctx, EMPTY_ENVELOPE " ");
			put(ctx, ctx->extended ? EMPTY_BODYSTRUCTURE : EMPTY_BODY);
		}
		if (buf_printf(ctx->dest, " %u", part->body_lines) < 0)
			ctx->ret = -1;
	} else if (text) {
		if (buf_printf(ctx->dest, " %u", part->body_lines) < 0)
			ctx->ret = -1;
	}
	if (ctx->extended) {
		put(ctx, " ");
		put_nstring(ctx, mime ? part->md5 : NULL);
		write_common_ext(ctx, part, mime);
	}
	put(ctx, ")");
}

int imap_bodystructure_write(buf_t *dest, struct arena *arena, const struct mime_part *part,
			     bool extended, unsigned int quote_flags)
{
	struct bs_ctx ctx = {
		.dest = dest,
		.arena = arena,
		.extended = extended,
		.flags = quote_flags,
		.ret = 0,
	};

	write_part(&ctx, part);
	return ctx.ret;
}
