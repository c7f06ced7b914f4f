#include "address.h"

#include "arena.h"
#include "buf.h"
#include "rfc2047.h"
#include "tern-limits.h"

#include <stdlib.h>

/*
 * Two passes. A tokenizer splits the value into RFC 5322 3.2 lexical
 * tokens (atoms, quoted strings, comments, domain literals, specials),
 * closing whatever is left open at the end of the value. A parser then
 * reads the grammar of 3.4 (with the obsolete forms of 4.4) over the
 * tokens, guessing where the input departs from it: every departure sets
 * `invalid` on the entry, nothing is dropped silently.
 */

enum token_type {
	TOKEN_ATOM,      /* atext run (RFC 6532: 8-bit included), raw */
	TOKEN_QUOTED,    /* quoted-string content, quotes and escapes removed */
	TOKEN_COMMENT,   /* comment content, outer parentheses and escapes removed */
	TOKEN_LITERAL,   /* domain literal "[...]", brackets kept, whitespace removed */
	TOKEN_DOT,
	TOKEN_SPECIAL,   /* one of < > @ , ; : \ ] ) */
};

struct token {
	enum token_type type;
	char special;           /* TOKEN_SPECIAL */
	const char *text;       /* NUL-terminated (arena or a copy) */
	size_t len;
	bool ws_before;         /* whitespace or a comment precedes it */
	bool broken;            /* unterminated quote, comment or literal */
};

struct parser {
	struct arena *arena;
	struct token *tokens;
	size_t count, pos;
	struct msg_address *head, **tailp;
	unsigned int entries;
	bool full;              /* TERN_ADDRESS_MAX_COUNT reached */
	/* the last comment seen while reading the current address */
	const struct token *last_comment;
};

static bool is_wsp(unsigned char c);
static bool is_special(unsigned char c);
static bool is_atom_char(unsigned char c);
static size_t encoded_word_len(const char *p, size_t len);
static void add_token(struct token **tokens, size_t *count, size_t *alloc, const struct token *tok);
static size_t scan_delimited(struct arena *arena, const char *p, size_t len, char open, char close,
			     bool nest, struct token *tok);
static struct token *tokenize(struct arena *arena, const char *value, size_t len, size_t *count_r);
static const struct token *cur(struct parser *p);
static void skip_comments(struct parser *p);
static bool at_special(struct parser *p, char c);
static struct msg_address *add_entry(struct parser *p, bool force);
static void set_name(struct parser *p, struct msg_address *addr, size_t start, size_t end);
static const char *join_local(struct parser *p, size_t start, size_t end);
static const char *parse_domain(struct parser *p, bool *invalid);
static void parse_angle(struct parser *p, struct msg_address *addr);
static void parse_address(struct parser *p, bool in_group, bool no_comma);
static void parse_group(struct parser *p, size_t name_start, size_t name_end);
static void parse_list(struct parser *p, bool in_group);
static bool is_dot_atom(const char *s);
static bool is_atom_phrase(const char *s);

static bool is_wsp(unsigned char c)
{
	/* controls count as whitespace: they have no place in an address */
	return c <= ' ' || c == 0x7f;
}

static bool is_special(unsigned char c)
{
	/* RFC 5322 3.2.3 specials (a switch: compiled to a table or bit test) */
	switch (c) {
	case '(': case ')': case '<': case '>': case '[': case ']': case ':':
	case ';': case '@': case '\\': case ',': case '.': case '"':
		return true;
	default:
		return false;
	}
}

static bool is_atom_char(unsigned char c)
{
	return !is_wsp(c) && !is_special(c);
}

/* An RFC 2047 encoded word "=?cs?E?text?=" at p (text with no whitespace
   or "?"): its length, else 0. Read as one atom even when the encoded text
   holds specials ("=?utf-8?q?Doe,_John?="), as readers do; but not "@",
   "<", ">" or DQUOTE, which make it part of an address ("=?a?q?b@c?=" is
   the local part "=?a?q?b" at "c?=", however odd). */
static size_t encoded_word_len(const char *p, size_t len)
{
	size_t i = 2, q = 0;

	if (len < 8 || p[0] != '=' || p[1] != '?')
		return 0;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (is_wsp(c) || c == '@' || c == '<' || c == '>' || c == '"')
			return 0;
		if (c != '?')
			continue;
		q++;
		if (q == 3) {
			if (i + 1 < len && p[i + 1] == '=')
				return i + 2;
			return 0;
		}
	}
	return 0;
}

static void add_token(struct token **tokens, size_t *count, size_t *alloc, const struct token *tok)
{
	if (*count == *alloc) {
		*alloc = *alloc == 0 ? 16 : i_size_mul(*alloc, 2);
		*tokens = i_realloc(*tokens, i_size_mul(*alloc, sizeof(**tokens)));
	}
	(*tokens)[(*count)++] = *tok;
}

/* A quoted string, comment or domain literal starting at p[0] == open.
   Quoted pairs are unescaped, CR and LF (fold remnants) dropped; a domain
   literal also loses its whitespace. Unterminated: runs to the end and the
   token is marked broken. Returns the bytes consumed. */
static size_t scan_delimited(struct arena *arena, const char *p, size_t len, char open, char close,
			     bool nest, struct token *tok)
{
	size_t i = 1, end, out = 0;
	unsigned int depth = 1;
	char *text;

	/* find the end first: the copy is never longer than the token */
	tok->broken = true;
	while (i < len) {
		char c = p[i++];
		if (c == '\\' && i < len) {
			i++;
		} else if (c == close && --depth == 0) {
			tok->broken = false;
			break;
		} else if (nest && c == open) {
			depth++;
		}
	}
	end = i;
	text = arena_alloc(arena, end + 1);
	depth = 1;
	for (i = 1; i < end; ) {
		char c = p[i];
		if (c == '\\' && i + 1 < end) {
			if (p[i + 1] != '\r' && p[i + 1] != '\n')
				text[out++] = p[i + 1];
			i += 2;
			continue;
		}
		i++;
		if (c == close && --depth == 0)
			break;
		if (nest && c == open)
			depth++;
		if (c == '\r' || c == '\n')
			continue;
		if (open == '[' && is_wsp((unsigned char)c))
			continue;
		text[out++] = c;
	}
	text[out] = '\0';
	tok->text = text;
	tok->len = out;
	return end;
}

static struct token *tokenize(struct arena *arena, const char *value, size_t len, size_t *count_r)
{
	struct token *tokens = NULL, tok;
	size_t count = 0, alloc = 0, i = 0, n;
	bool ws = false;

	while (i < len) {
		unsigned char c = (unsigned char)value[i];

		memset(&tok, 0, sizeof(tok));
		if (is_wsp(c)) {
			ws = true;
			i++;
			continue;
		}
		tok.ws_before = ws;
		if (c == '"') {
			tok.type = TOKEN_QUOTED;
			i += scan_delimited(arena, value + i, len - i, '"', '"', false, &tok);
		} else if (c == '(') {
			tok.type = TOKEN_COMMENT;
			i += scan_delimited(arena, value + i, len - i, '(', ')', true, &tok);
		} else if (c == '[') {
			char *lit;
			tok.type = TOKEN_LITERAL;
			i += scan_delimited(arena, value + i, len - i, '[', ']', false, &tok);
			lit = arena_alloc(arena, tok.len + 3);
			lit[0] = '[';
			memcpy(lit + 1, tok.text, tok.len);
			lit[tok.len + 1] = ']';
			tok.text = lit;
			tok.len += 2;
		} else if (c == '.') {
			tok.type = TOKEN_DOT;
			tok.text = ".";
			tok.len = 1;
			i++;
		} else if (is_special(c)) {
			char *sp = arena_alloc(arena, 2);
			sp[0] = (char)c;
			tok.type = TOKEN_SPECIAL;
			tok.special = (char)c;
			tok.text = sp;
			tok.len = 1;
			i++;
		} else {
			size_t start = i;
			while (i < len) {
				n = encoded_word_len(value + i, len - i);
				if (n > 0)
					i += n;
				else if (is_atom_char((unsigned char)value[i]))
					i++;
				else
					break;
			}
			tok.type = TOKEN_ATOM;
			tok.text = arena_strndup(arena, value + start, i - start);
			tok.len = i - start;
		}
		/* a comment separates the tokens around it like whitespace */
		ws = tok.type == TOKEN_COMMENT;
		add_token(&tokens, &count, &alloc, &tok);
	}
	*count_r = count;
	return tokens;
}

static const struct token *cur(struct parser *p)
{
	return p->pos < p->count ? &p->tokens[p->pos] : NULL;
}

static void skip_comments(struct parser *p)
{
	while (p->pos < p->count && p->tokens[p->pos].type == TOKEN_COMMENT) {
		p->last_comment = &p->tokens[p->pos];
		p->pos++;
	}
}

static bool at_special(struct parser *p, char c)
{
	const struct token *t = cur(p);

	return t != NULL && t->type == TOKEN_SPECIAL && t->special == c;
}

/* Append an entry; NULL once the limit is reached (force: a group end,
   which may pass it so that groups stay balanced). */
static struct msg_address *add_entry(struct parser *p, bool force)
{
	struct msg_address *addr;

	if (p->entries >= TERN_ADDRESS_MAX_COUNT) {
		p->full = true;
		if (!force)
			return NULL;
	}
	addr = arena_new_type(p->arena, struct msg_address);
	*p->tailp = addr;
	p->tailp = &addr->next;
	p->entries++;
	return addr;
}

/* The display name from the phrase tokens [start, end): words joined with
   one space where whitespace or comments separated them (RFC 5322 3.2.5,
   4.1 obs-phrase allows "."), encoded words kept for `name`, decoded for
   `name_decoded`. */
static void set_name(struct parser *p, struct msg_address *addr, size_t start, size_t end)
{
	buf_t b;
	size_t i;
	bool any = false;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = start; i < end; i++) {
		const struct token *t = &p->tokens[i];
		if (t->type == TOKEN_COMMENT)
			continue;
		if (t->type == TOKEN_SPECIAL) {
			/* junk inside a phrase: left out */
			addr->invalid = true;
			continue;
		}
		if (any && t->ws_before && buf_append_c(&b, ' ') < 0)
			i_panic("address: buffer limit");
		if (buf_append(&b, t->text, t->len) < 0)
			i_panic("address: buffer limit");
		any = true;
	}
	if (buf_len(&b) > 0) {
		addr->name = arena_strndup(p->arena, buf_str(&b), buf_len(&b));
		addr->name_decoded = rfc2047_decode(p->arena, addr->name, buf_len(&b));
	}
	buf_free(&b);
}

/* A local part from tokens [start, end): atoms, quoted strings and dots
   concatenated (RFC 5322 4.4 obs-local-part allows CFWS around the dots). */
static const char *join_local(struct parser *p, size_t start, size_t end)
{
	buf_t b;
	size_t i;
	const char *ret;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = start; i < end; i++) {
		const struct token *t = &p->tokens[i];
		if (t->type == TOKEN_COMMENT || t->type == TOKEN_SPECIAL)
			continue;
		if (buf_append(&b, t->text, t->len) < 0)
			i_panic("address: buffer limit");
	}
	ret = arena_strndup(p->arena, buf_str(&b), buf_len(&b));
	buf_free(&b);
	return ret;
}

/* domain = dot-atom / domain-literal / obs-domain (RFC 5322 3.4.1, 4.4).
   Stops before anything else, including an atom not preceded by a dot
   (the next address when a comma is missing). NULL when empty. */
static const char *parse_domain(struct parser *p, bool *invalid)
{
	buf_t b;
	const struct token *t;
	const char *ret = NULL;
	bool want_part = true;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (;;) {
		skip_comments(p);
		t = cur(p);
		if (t == NULL)
			break;
		if (want_part && (t->type == TOKEN_ATOM || t->type == TOKEN_LITERAL)) {
			if (t->broken)
				*invalid = true;
			if (buf_append(&b, t->text, t->len) < 0)
				i_panic("address: buffer limit");
			want_part = false;
		} else if (t->type == TOKEN_DOT) {
			if (want_part)
				*invalid = true; /* "a..b" or ".a" */
			if (buf_append_c(&b, '.') < 0)
				i_panic("address: buffer limit");
			want_part = true;
		} else {
			break;
		}
		p->pos++;
	}
	if (buf_len(&b) == 0)
		*invalid = true;
	else {
		if (want_part)
			*invalid = true; /* trailing dot */
		ret = arena_strndup(p->arena, buf_str(&b), buf_len(&b));
	}
	buf_free(&b);
	return ret;
}

/* angle-addr = "<" [obs-route] addr-spec ">" (RFC 5322 3.4, 4.4);
   p->pos is at "<". */
static void parse_angle(struct parser *p, struct msg_address *addr)
{
	const struct token *t;
	buf_t route;
	size_t start;
	const char *first_dom = NULL;
	bool had_route = false;

	p->pos++;
	skip_comments(p);
	buf_init(&route, BUF_MAX_UNLIMITED);
	/* obs-route = obs-domain-list ":"; obs-domain-list allows empty
	   elements: "<@a,,@b:c@d>" */
	while (at_special(p, '@') || (had_route && at_special(p, ','))) {
		const char *dom;
		if (at_special(p, ',')) {
			p->pos++;
			skip_comments(p);
			continue;
		}
		p->pos++;
		dom = parse_domain(p, &addr->invalid);
		if (first_dom == NULL)
			first_dom = dom;
		if (buf_len(&route) > 0 && buf_append_c(&route, ',') < 0)
			i_panic("address: buffer limit");
		if (buf_append_c(&route, '@') < 0 ||
		    (dom != NULL && buf_append_str(&route, dom) < 0))
			i_panic("address: buffer limit");
		had_route = true;
		skip_comments(p);
	}
	if (had_route) {
		if (at_special(p, ':')) {
			p->pos++;
			addr->route = arena_strndup(p->arena, buf_str(&route), buf_len(&route));
		} else {
			/* "<@domain>": no local part; keep the domain */
			addr->invalid = true;
			addr->mailbox = "";
			addr->domain = first_dom;
		}
	}
	buf_free(&route);

	if (addr->mailbox == NULL) {
		skip_comments(p);
		start = p->pos;
		while ((t = cur(p)) != NULL) {
			if (t->type == TOKEN_SPECIAL) {
				if (strchr("@><,;", t->special) != NULL)
					break;
				addr->invalid = true; /* junk such as ":" or "\" */
			} else if (t->type == TOKEN_LITERAL) {
				addr->invalid = true;
			}
			if (t->type == TOKEN_COMMENT)
				p->last_comment = t;
			else if (t->broken)
				addr->invalid = true;
			p->pos++;
		}
		addr->mailbox = join_local(p, start, p->pos);
		if (at_special(p, '@')) {
			p->pos++;
			addr->domain = parse_domain(p, &addr->invalid);
		} else if (addr->mailbox[0] != '\0' || addr->route != NULL) {
			/* "<local>" */
			addr->invalid = true;
		}
	}
	skip_comments(p);
	if (at_special(p, '>')) {
		p->pos++;
		return;
	}
	/* unbalanced: skip junk up to ">" but never past the next address */
	addr->invalid = true;
	while ((t = cur(p)) != NULL) {
		if (t->type == TOKEN_SPECIAL && strchr(",;<", t->special) != NULL)
			break;
		p->pos++;
		if (t->type == TOKEN_SPECIAL && t->special == '>')
			break;
	}
}

/* group = display-name ":" [group-list] ";" [CFWS] (RFC 5322 3.4);
   p->pos is at ":". */
static void parse_group(struct parser *p, size_t name_start, size_t name_end)
{
	struct msg_address *start, *end;
	struct msg_address tmp;

	memset(&tmp, 0, sizeof(tmp));
	set_name(p, &tmp, name_start, name_end);
	start = add_entry(p, false);
	if (start == NULL)
		return;
	start->group_start = true;
	start->mailbox = tmp.name != NULL ? tmp.name : "";
	start->name_decoded = tmp.name_decoded;
	start->invalid = tmp.invalid || tmp.name == NULL;
	p->pos++;
	parse_list(p, true);
	if (at_special(p, ';'))
		p->pos++;
	else
		start->invalid = true; /* unterminated group */
	end = add_entry(p, true);
	end->group_end = true;
}

/* One mailbox or group (RFC 5322 3.4); p->pos is at its first token.
   no_comma: it follows the previous address with no comma between. */
static void parse_address(struct parser *p, bool in_group, bool no_comma)
{
	struct msg_address *addr;
	const struct token *t, *prev;
	size_t start, end, split, i;
	bool junk = false;

	p->last_comment = NULL;
	skip_comments(p);
	start = p->pos;
	/* the phrase: everything up to "<", "@", ":", ",", ";" */
	while ((t = cur(p)) != NULL) {
		if (t->type == TOKEN_SPECIAL && strchr("<@:,;", t->special) != NULL)
			break;
		if (t->type == TOKEN_COMMENT)
			p->last_comment = t;
		else if (t->type == TOKEN_SPECIAL || t->type == TOKEN_LITERAL || t->broken)
			junk = true;
		p->pos++;
	}
	end = p->pos;

	if (at_special(p, ':')) {
		if (!in_group) {
			struct msg_address **tailp = p->tailp;
			parse_group(p, start, end);
			if (no_comma && *tailp != NULL)
				(*tailp)->invalid = true;
			return;
		}
		/* groups do not nest: keep the name as an invalid entry */
		p->pos++;
		if (end == start)
			return;
		if ((addr = add_entry(p, false)) == NULL)
			return;
		addr->mailbox = join_local(p, start, end);
		addr->invalid = true;
		return;
	}

	if ((addr = add_entry(p, false)) == NULL) {
		p->pos = p->count;
		return;
	}
	addr->invalid = junk || no_comma;
	if (at_special(p, '<')) {
		set_name(p, addr, start, end);
		parse_angle(p, addr);
	} else {
		/* addr-spec, or a bare word. The local part is the phrase
		   after its last whitespace gap not next to a dot: in
		   "John Doe@x" (a forgotten "<") "John" is the name. */
		split = start;
		prev = NULL;
		for (i = start; i < end; i++) {
			const struct token *a = &p->tokens[i];
			if (a->type == TOKEN_COMMENT)
				continue;
			if (prev != NULL && a->ws_before && a->type != TOKEN_DOT &&
			    prev->type != TOKEN_DOT)
				split = i;
			prev = a;
		}
		if (split > start) {
			addr->invalid = true;
			set_name(p, addr, start, split);
		}
		addr->mailbox = join_local(p, split, end);
		if (at_special(p, '@')) {
			p->pos++;
			addr->domain = parse_domain(p, &addr->invalid);
		} else {
			addr->invalid = true; /* no domain */
		}
	}
	/* trailing comments belong to this address */
	skip_comments(p);
	/* Dovecot's rule: with no phrase, a comment names the address
	   ("a@b (Name)", RFC 5322 A.1.2's style of old mail) */
	if (addr->name == NULL && p->last_comment != NULL && p->last_comment->len > 0) {
		addr->name = p->last_comment->text;
		addr->name_decoded = rfc2047_decode(p->arena, addr->name, p->last_comment->len);
	}
	if (p->pos == start)
		p->pos++; /* always progress */
}

/* address-list / group-list; in a group, returns at ";" (not consumed). */
static void parse_list(struct parser *p, bool in_group)
{
	bool after_address = false;

	size_t before;

	for (;;) {
		before = p->pos;
		skip_comments(p);
		if (p->pos >= p->count || p->full)
			return;
		if (at_special(p, ',')) {
			p->pos++; /* empty element (RFC 5322 4.4 obs-addr-list) */
			after_address = false;
			continue;
		}
		if (at_special(p, ';')) {
			if (in_group)
				return;
			p->pos++; /* stray */
			after_address = false;
			continue;
		}
		/* an address right after another: a comma is missing.
		   Comments before it are its own (they may name it). */
		p->pos = before;
		parse_address(p, in_group, after_address);
		after_address = true;
	}
}

struct msg_address *msg_address_parse(struct arena *arena, const char *value, size_t len)
{
	struct parser p;

	memset(&p, 0, sizeof(p));
	p.arena = arena;
	p.tokens = tokenize(arena, value, len, &p.count);
	p.tailp = &p.head;
	parse_list(&p, false);
	free(p.tokens);
	return p.head;
}

/* RFC 5322 3.2.3 dot-atom-text, with RFC 6532 UTF-8 (8-bit) allowed */
static bool is_dot_atom(const char *s)
{
	bool want_char = true;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (want_char)
				return false;
			want_char = true;
		} else if (is_atom_char((unsigned char)*s)) {
			want_char = false;
		} else {
			return false;
		}
	}
	return !want_char;
}

/* atoms separated by single spaces: a phrase needing no quotes */
static bool is_atom_phrase(const char *s)
{
	bool want_char = true;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s == ' ') {
			if (want_char)
				return false;
			want_char = true;
		} else if (is_atom_char((unsigned char)*s)) {
			want_char = false;
		} else {
			return false;
		}
	}
	return !want_char;
}

static void append_quoted(buf_t *b, const char *s)
{
	if (buf_append_c(b, '"') < 0)
		i_panic("address: buffer limit");
	for (; *s != '\0'; s++) {
		/* RFC 5322 3.2.4: quoted-pair for DQUOTE and backslash; CR and
		   LF cannot be carried at all */
		if (*s == '\r' || *s == '\n')
			continue;
		if ((*s == '"' || *s == '\\') && buf_append_c(b, '\\') < 0)
			i_panic("address: buffer limit");
		if (buf_append_c(b, (unsigned char)*s) < 0)
			i_panic("address: buffer limit");
	}
	if (buf_append_c(b, '"') < 0)
		i_panic("address: buffer limit");
}

static void append_spec(buf_t *b, const char *mailbox, const char *domain, bool quote)
{
	if (mailbox == NULL)
		mailbox = "";
	if (quote && !is_dot_atom(mailbox))
		append_quoted(b, mailbox);
	else if (buf_append_str(b, mailbox) < 0)
		i_panic("address: buffer limit");
	if (domain != NULL && (buf_append_c(b, '@') < 0 || buf_append_str(b, domain) < 0))
		i_panic("address: buffer limit");
}

const char *msg_address_spec(struct arena *arena, const struct msg_address *addr)
{
	buf_t b;
	const char *ret;

	if (addr->group_start || addr->group_end)
		return arena_strdup(arena, addr->mailbox != NULL ? addr->mailbox : "");
	buf_init(&b, BUF_MAX_UNLIMITED);
	/* an empty local part with no domain stays empty (the null path "<>") */
	append_spec(&b, addr->mailbox, addr->domain,
		    addr->domain != NULL || (addr->mailbox != NULL && addr->mailbox[0] != '\0'));
	ret = arena_strndup(arena, buf_str(&b), buf_len(&b));
	buf_free(&b);
	return ret;
}

const char *msg_address_format(struct arena *arena, const char *name_utf8,
			       const char *mailbox, const char *domain)
{
	buf_t b;
	const char *ret, *s;
	bool plain = true;

	buf_init(&b, BUF_MAX_UNLIMITED);
	if (name_utf8 == NULL || name_utf8[0] == '\0') {
		append_spec(&b, mailbox, domain, true);
	} else {
		for (s = name_utf8; *s != '\0'; s++) {
			unsigned char c = (unsigned char)*s;
			if (c >= 0x80 || (c < ' ' && c != '\t') || c == 0x7f ||
			    (c == '=' && s[1] == '?'))
				plain = false;
		}
		if (!plain) {
			/* RFC 2047 5.(3): encoded words in a phrase */
			if (buf_append_str(&b, rfc2047_encode(arena, name_utf8, RFC2047_PHRASE, 0)) < 0)
				i_panic("address: buffer limit");
		} else if (is_atom_phrase(name_utf8)) {
			if (buf_append_str(&b, name_utf8) < 0)
				i_panic("address: buffer limit");
		} else {
			append_quoted(&b, name_utf8);
		}
		if (buf_append_str(&b, " <") < 0)
			i_panic("address: buffer limit");
		append_spec(&b, mailbox, domain, true);
		if (buf_append_c(&b, '>') < 0)
			i_panic("address: buffer limit");
	}
	ret = arena_strndup(arena, buf_str(&b), buf_len(&b));
	buf_free(&b);
	return ret;
}
