/*
 * SMTP server replies (RFC 5321 4.2) as the client reads them: multi-line
 * replies "250-..." ending with "250 ...", enhanced status codes (RFC 3463,
 * RFC 2034) and the EHLO keyword list (RFC 5321 4.1.1.1).
 */
#include "client.h"

#include "arena.h"

#include <stdio.h>
#include <stdlib.h>

struct smtp_reply_parser {
	struct arena *arena;
	unsigned int code;          /* of the reply in progress, 0 = none */
	const char **lines;
	unsigned int line_count;
};

static bool is_digit(char c);
static const char *enhanced_prefix(const char *text, size_t len, unsigned int code,
				   size_t *code_len_r);
static struct smtp_reply *finish_reply(struct smtp_reply_parser *p);
static bool keyword_is(const char *line, const char *kw, const char **args_r);

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool smtp_enhanced_code_valid(const char *s, size_t len)
{
	size_t i = 0, n;
	unsigned int part;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && is_digit(s[i]); i++)
			n++;
		if (n < 1 || n > 3)
			return false;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

/* An enhanced code at the start of a line's text, followed by a space or
   the end of the line, whose class is the reply's class (RFC 2034 section
   4: "the class of the enhanced code must match the first digit"). */
static const char *enhanced_prefix(const char *text, size_t len, unsigned int code,
				   size_t *code_len_r)
{
	size_t n = 0;

	while (n < len && text[n] != ' ')
		n++;
	if (n > 11 || !smtp_enhanced_code_valid(text, n))
		return NULL;
	if ((unsigned int)(text[0] - '0') != code / 100)
		return NULL;
	*code_len_r = n;
	return text;
}

struct smtp_reply_parser *smtp_reply_parser_init(struct arena *arena)
{
	struct smtp_reply_parser *p = i_malloc(sizeof(*p));

	p->arena = arena;
	return p;
}

void smtp_reply_parser_deinit(struct smtp_reply_parser **parser)
{
	if (*parser == NULL)
		return;
	free((*parser)->lines);
	i_free(*parser);
}

static struct smtp_reply *finish_reply(struct smtp_reply_parser *p)
{
	struct smtp_reply *r = arena_new_type(p->arena, struct smtp_reply);
	const char **lines = arena_new_array(p->arena, const char *, p->line_count);
	size_t total = 4, i, code_len;
	char *text, *t;

	r->code = p->code;
	for (i = 0; i < p->line_count; i++) {
		lines[i] = p->lines[i];
		total = i_size_add(total, strlen(lines[i]) + 1);
	}
	/* the enhanced code of the first line, cut off every line that has one */
	for (i = 0; i < p->line_count; i++) {
		const char *e = enhanced_prefix(lines[i], strlen(lines[i]), r->code, &code_len);

		if (e == NULL)
			continue;
		if (i == 0)
			r->enhanced = arena_strndup(p->arena, e, code_len);
		lines[i] += code_len;
		while (*lines[i] == ' ')
			lines[i]++;
	}
	r->lines = lines;
	r->line_count = p->line_count;

	/* "550 5.1.1 text text" */
	t = text = arena_alloc(p->arena, total + 16);
	t += sprintf(t, "%03u", r->code);
	if (r->enhanced != NULL)
		t += sprintf(t, " %s", r->enhanced);
	for (i = 0; i < p->line_count; i++) {
		size_t l = strlen(lines[i]);

		if (l == 0)
			continue;
		*t++ = ' ';
		memcpy(t, lines[i], l);
		t += l;
	}
	*t = '\0';
	r->text = text;

	p->code = 0;
	p->line_count = 0;
	return r;
}

int smtp_reply_parser_line(struct smtp_reply_parser *p, const char *line, size_t len,
			   struct smtp_reply **reply_r, const char **error_r)
{
	unsigned int code;
	bool last;
	size_t i;

	*reply_r = NULL;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > SMTP_REPLY_MAX_LINE) {
		*error_r = "reply line too long";
		goto fail;
	}
	/* RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39 */
	if (len < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) ||
	    !is_digit(line[2])) {
		*error_r = "malformed reply line";
		goto fail;
	}
	code = (unsigned int)(line[0] - '0') * 100 + (unsigned int)(line[1] - '0') * 10 +
	       (unsigned int)(line[2] - '0');
	if (len == 3) {
		last = true;     /* "250" alone: seen in the wild, accepted */
	} else if (line[3] == ' ') {
		last = true;
	} else if (line[3] == '-') {
		last = false;
	} else {
		*error_r = "malformed reply line";
		goto fail;
	}
	if (p->code != 0 && code != p->code) {
		/* RFC 5321 4.2.1: every line of a multi-line reply has the same code */
		*error_r = "reply code changed within a multi-line reply";
		goto fail;
	}
	if (p->line_count >= SMTP_REPLY_MAX_LINES) {
		*error_r = "too many reply lines";
		goto fail;
	}
	for (i = 4; i < len; i++) {
		if (line[i] == '\0') {
			*error_r = "NUL in reply";
			goto fail;
		}
	}
	p->code = code;
	p->lines = i_realloc(p->lines, sizeof(*p->lines) * (p->line_count + 1));
	p->lines[p->line_count++] = len > 4 ? arena_strndup(p->arena, line + 4, len - 4) : "";
	if (!last)
		return 0;
	*reply_r = finish_reply(p);
	return 1;
fail:
	p->code = 0;
	p->line_count = 0;
	return -1;
}

/* line is "KEYWORD" or "KEYWORD params" (case-insensitive keyword) */
static bool keyword_is(const char *line, const char *kw, const char **args_r)
{
	size_t n = strlen(kw);

	if (i_strncasecmp(line, kw, n) != 0 || (line[n] != '\0' && line[n] != ' ' &&
						 line[n] != '='))
		return false;
	line += n;
	while (*line == ' ' || *line == '=')
		line++;
	*args_r = line;
	return true;
}

unsigned int smtp_client_parse_ehlo(const struct smtp_reply *reply, uint64_t *size_r)
{
	unsigned int caps = SMTP_CAP_ESMTP, i;
	const char *args;

	*size_r = 0;
	/* the first line is the greeting's domain; keywords follow */
	for (i = 1; i < reply->line_count; i++) {
		const char *line = reply->lines[i];

		if (keyword_is(line, "PIPELINING", &args))
			caps |= SMTP_CAP_PIPELINING;
		else if (keyword_is(line, "8BITMIME", &args))
			caps |= SMTP_CAP_8BITMIME;
		else if (keyword_is(line, "SMTPUTF8", &args))
			caps |= SMTP_CAP_SMTPUTF8;
		else if (keyword_is(line, "DSN", &args))
			caps |= SMTP_CAP_DSN;
		else if (keyword_is(line, "STARTTLS", &args))
			caps |= SMTP_CAP_STARTTLS;
		else if (keyword_is(line, "ENHANCEDSTATUSCODES", &args))
			caps |= SMTP_CAP_ENHANCEDSTATUSCODES;
		else if (keyword_is(line, "SIZE", &args)) {
			/* RFC 1870 4: "SIZE [number]", 0 or absent = no fixed limit */
			uint64_t v = 0;

			caps |= SMTP_CAP_SIZE;
			while (is_digit(*args) && v < ((uint64_t)1 << 56)) {
				v = v * 10 + (uint64_t)(*args - '0');
				args++;
			}
			*size_r = v;
		} else if (keyword_is(line, "AUTH", &args)) {
			/* RFC 4954 3: "AUTH mech mech ..."; "AUTH=" is an old
			   variant some servers still send */
			caps |= SMTP_CAP_AUTH;
			while (*args != '\0') {
				size_t n = 0;

				while (args[n] != '\0' && args[n] != ' ')
					n++;
				if (i_memcaseeq(args, n, "PLAIN"))
					caps |= SMTP_CAP_AUTH_PLAIN;
				else if (i_memcaseeq(args, n, "LOGIN"))
					caps |= SMTP_CAP_AUTH_LOGIN;
				args += n;
				while (*args == ' ')
					args++;
			}
		}
	}
	return caps;
}

char *smtp_xtext_encode(const char *s)
{
	/* RFC 3461 4: xchar is "!".."~" except "+" and "="; others as "+XX" */
	size_t len = strlen(s), i;
	char *out = i_malloc(i_size_add(i_size_mul(len, 3), 1)), *o = out;
	static const char hex[] = "0123456789ABCDEF";

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= '!' && c <= '~' && c != '+' && c != '=') {
			*o++ = (char)c;
		} else {
			*o++ = '+';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
