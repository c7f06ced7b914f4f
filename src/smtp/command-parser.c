/*
 * SMTP command line parser (smtp-command.h). RFC 5321 4.1 grammar, with
 * the extensions' parameters; lenient where real clients are sloppy in
 * harmless ways (a space after "FROM:", no angle brackets, lower-case
 * verbs, trailing white space), strict where a mistake could be abused
 * (NUL, 8-bit outside SMTPUTF8 places, malformed paths).
 */
#include "smtp-command.h"
#include "arena.h"
#include "utf8.h"

#include <stdio.h>

struct verb_entry {
	const char *name;
	enum smtp_verb verb;
};

static const struct verb_entry verbs[] = {
	{ "HELO", SMTP_VERB_HELO }, { "EHLO", SMTP_VERB_EHLO },
	{ "MAIL", SMTP_VERB_MAIL }, { "RCPT", SMTP_VERB_RCPT },
	{ "DATA", SMTP_VERB_DATA }, { "BDAT", SMTP_VERB_BDAT },
	{ "RSET", SMTP_VERB_RSET }, { "NOOP", SMTP_VERB_NOOP },
	{ "QUIT", SMTP_VERB_QUIT }, { "VRFY", SMTP_VERB_VRFY },
	{ "EXPN", SMTP_VERB_EXPN }, { "HELP", SMTP_VERB_HELP },
	{ "STARTTLS", SMTP_VERB_STARTTLS }, { "AUTH", SMTP_VERB_AUTH },
	{ "SEND", SMTP_VERB_SEND }, { "SOML", SMTP_VERB_SOML },
	{ "SAML", SMTP_VERB_SAML }, { "TURN", SMTP_VERB_TURN },
	{ "ETRN", SMTP_VERB_ETRN },
};

struct cursor {
	const unsigned char *p, *end;
};

static int fail(struct smtp_parse_error *error_r, unsigned int code, const char *enhanced,
		const char *text);
static bool is_atext(unsigned char c);
static bool is_let_dig(unsigned char c);
static int parse_path(struct arena *arena, struct cursor *c, bool rcpt, struct smtp_path *path,
		      struct smtp_parse_error *error_r);
static int parse_local_part(struct arena *arena, struct cursor *c, struct smtp_path *path);
static int parse_domain(struct arena *arena, struct cursor *c, struct smtp_path *path);
static int parse_params(struct arena *arena, struct cursor *c, struct smtp_command *cmd,
			struct smtp_parse_error *error_r);
static int parse_mail_param(struct arena *arena, struct smtp_command *cmd, const char *key,
			    const unsigned char *value, size_t vlen, unsigned int *seen,
			    struct smtp_parse_error *error_r);
static int parse_rcpt_param(struct arena *arena, struct smtp_command *cmd, const char *key,
			    const unsigned char *value, size_t vlen, unsigned int *seen,
			    struct smtp_parse_error *error_r);
static int parse_uint64(const unsigned char *p, size_t len, uint64_t *value_r);
static const char *quote_local_part(struct arena *arena, const char *local);

static int fail(struct smtp_parse_error *error_r, unsigned int code, const char *enhanced,
		const char *text)
{
	error_r->code = code;
	error_r->enhanced = enhanced;
	error_r->text = text;
	return -1;
}

/* RFC 5322 3.2.3 atext; 8-bit octets are checked as UTF-8 by the caller
   (RFC 6531 3.3 extends atext with UTF8-non-ascii) */
static bool is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80)
		return true;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

static bool is_let_dig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool smtp_is_dot_string(const char *s, size_t len)
{
	size_t i;
	bool dot_ok = false;

	/* Dot-string = Atom *("." Atom) */
	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (!dot_ok)
				return false;
			dot_ok = false;
		} else if (is_atext(c)) {
			dot_ok = true;
		} else {
			return false;
		}
	}
	return dot_ok;
}

/* RFC 5321 4.1.2 Quoted-string with the minimal escapes. */
static const char *quote_local_part(struct arena *arena, const char *local)
{
	size_t len = strlen(local), i, o = 0;
	char *out = arena_alloc(arena, i_size_add(i_size_mul(len, 2), 3));

	out[o++] = '"';
	for (i = 0; i < len; i++) {
		if (local[i] == '"' || local[i] == '\\')
			out[o++] = '\\';
		out[o++] = local[i];
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* Local-part = Dot-string / Quoted-string. Lenient on dot placement in
   unquoted local parts (seen in real mail): the address keeps them. */
static int parse_local_part(struct arena *arena, struct cursor *c, struct smtp_path *path)
{
	const unsigned char *start = c->p;
	char *out;
	size_t o = 0;

	if (c->p < c->end && *c->p == '"') {
		/* QcontentSMTP = qtextSMTP / quoted-pairSMTP */
		out = arena_alloc(arena, (size_t)(c->end - c->p) + 1);
		c->p++;
		for (;;) {
			unsigned char ch;

			if (c->p >= c->end)
				return -1;
			ch = *c->p++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (c->p >= c->end || *c->p < 32 || *c->p > 126)
					return -1;
				ch = *c->p++;
			} else if (ch < 32 || ch == 127) {
				return -1;
			}
			out[o++] = (char)ch;
		}
		out[o] = '\0';
		path->quoted = true;
		path->local_part = out;
	} else {
		while (c->p < c->end && (is_atext(*c->p) || *c->p == '.'))
			c->p++;
		if (c->p == start)
			return -1;
		path->local_part = arena_strndup(arena, start, (size_t)(c->p - start));
		o = (size_t)(c->p - start);
	}
	if (o > SMTP_MAX_LOCAL_PART)
		return -1;
	return 0;
}

/* Domain = sub-domain *("." sub-domain) / address-literal (RFC 5321 4.1.2,
   4.1.3); U-labels allowed (RFC 6531), checked as UTF-8 by the caller. */
static int parse_domain(struct arena *arena, struct cursor *c, struct smtp_path *path)
{
	const unsigned char *start = c->p;
	bool label_start = true;

	if (c->p < c->end && *c->p == '[') {
		c->p++;
		while (c->p < c->end && *c->p != ']') {
			/* dcontent: %d33-90 / %d94-126 */
			if (*c->p < 33 || *c->p > 126 || *c->p == '[' || *c->p == '\\')
				return -1;
			c->p++;
		}
		if (c->p >= c->end || c->p == start + 1)
			return -1;
		c->p++;
	} else {
		while (c->p < c->end) {
			unsigned char ch = *c->p;

			if (ch == '.') {
				if (label_start)
					return -1;
				label_start = true;
			} else if (is_let_dig(ch) || ch >= 0x80 || ((ch == '-' || ch == '_') && !label_start)) {
				label_start = false;
			} else {
				break;
			}
			c->p++;
		}
		/* empty, or ends with a dot */
		if (c->p == start || label_start)
			return -1;
	}
	if ((size_t)(c->p - start) > SMTP_MAX_DOMAIN)
		return -1;
	path->domain = arena_strndup(arena, start, (size_t)(c->p - start));
	return 0;
}

/* Reverse-path / Forward-path (RFC 5321 4.1.2). */
static int parse_path(struct arena *arena, struct cursor *c, bool rcpt, struct smtp_path *path,
		      struct smtp_parse_error *error_r)
{
	const char *bad = rcpt ? "5.1.3" : "5.1.7";
	const char *bad_text = rcpt ? "Bad recipient address syntax" :
				      "Bad sender address syntax";
	bool bracket = false;

	memset(path, 0, sizeof(*path));
	/* lenient: "MAIL FROM: <a@b>" */
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	if (c->p < c->end && *c->p == '<') {
		bracket = true;
		c->p++;
		if (c->p < c->end && *c->p == '>') {
			c->p++;
			if (rcpt)
				return fail(error_r, 501, bad, bad_text);
			path->null = true;
			path->address = "";
			return 0;
		}
		/* A-d-l ":" : a source route, ignored (RFC 5321 4.1.1.3, C) */
		if (c->p < c->end && *c->p == '@') {
			while (c->p < c->end && *c->p != ':' && *c->p != '>')
				c->p++;
			if (c->p >= c->end || *c->p != ':')
				return fail(error_r, 501, bad, bad_text);
			c->p++;
		}
	}
	if (c->p >= c->end)
		return fail(error_r, 501, bad, bad_text);
	if (parse_local_part(arena, c, path) < 0)
		return fail(error_r, 501, bad, bad_text);
	if (c->p < c->end && *c->p == '@') {
		c->p++;
		if (parse_domain(arena, c, path) < 0)
			return fail(error_r, 501, bad, bad_text);
	} else if (rcpt && !path->quoted && i_strcasecmp(path->local_part, "postmaster") == 0) {
		/* RFC 5321 4.1.1.3: "<Postmaster>" must be accepted */
		path->postmaster = true;
	} else {
		return fail(error_r, 501, bad, bad_text);
	}
	if (bracket) {
		if (c->p >= c->end || *c->p != '>')
			return fail(error_r, 501, bad, bad_text);
		c->p++;
	}
	if (c->p < c->end && *c->p != ' ')
		return fail(error_r, 501, bad, bad_text);

	path->utf8 = i_str_has_8bit(path->local_part) ||
		(path->domain != NULL && i_str_has_8bit(path->domain));
	if (path->postmaster) {
		path->address = "Postmaster";
	} else {
		const char *local = path->local_part;

		if (!smtp_is_dot_string(local, strlen(local)) &&
		    (path->quoted || strstr(local, "..") != NULL || local[0] == '.' ||
		     local[strlen(local) - 1] == '.'))
			local = quote_local_part(arena, local);
		path->address = arena_printf(arena, "%s@%s", local, path->domain);
	}
	return 0;
}

static int parse_uint64(const unsigned char *p, size_t len, uint64_t *value_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0'); /* 19 digits fit in uint64 */
	}
	*value_r = v;
	return 0;
}

const char *smtp_xtext_decode(struct arena *arena, const char *text, size_t len, bool utf8)
{
	char *out = arena_alloc(arena, len + 1);
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '+') {
			int hi, lo;

			if (len - i < 3)
				return NULL;
			hi = i_hex_value((unsigned char)text[i + 1]);
			lo = i_hex_value((unsigned char)text[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c >= 33 && c <= 126 && c != '=') {
			out[o++] = (char)c;
		} else if (c >= 0x80 && utf8) {
			out[o++] = (char)c;
		} else {
			return NULL;
		}
	}
	out[o] = '\0';
	return out;
}

#define SEEN(bit) (1u << (bit))

static int parse_mail_param(struct arena *arena, struct smtp_command *cmd, const char *key,
			    const unsigned char *value, size_t vlen, unsigned int *seen,
			    struct smtp_parse_error *error_r)
{
	struct smtp_mail_params *mp = &cmd->mail;
	unsigned int bit;

	if (i_strcasecmp(key, "SIZE") == 0)
		bit = 0;
	else if (i_strcasecmp(key, "BODY") == 0)
		bit = 1;
	else if (i_strcasecmp(key, "SMTPUTF8") == 0)
		bit = 2;
	else if (i_strcasecmp(key, "RET") == 0)
		bit = 3;
	else if (i_strcasecmp(key, "ENVID") == 0)
		bit = 4;
	else if (i_strcasecmp(key, "AUTH") == 0)
		bit = 5;
	else
		return fail(error_r, 555, "5.5.4", "Unsupported MAIL parameter");
	if ((*seen & SEEN(bit)) != 0)
		return fail(error_r, 501, "5.5.4", "Duplicate MAIL parameter");
	*seen |= SEEN(bit);

	switch (bit) {
	case 0: /* RFC 1870 3: SIZE=<digits> */
		if (value == NULL || parse_uint64(value, vlen, &mp->size) < 0)
			return fail(error_r, 501, "5.5.4", "Bad SIZE value");
		mp->size_given = true;
		return 0;
	case 1: /* RFC 6152 2 */
		if (value != NULL && i_memcaseeq(value, vlen, "7BIT"))
			mp->body = SMTP_BODY_7BIT;
		else if (value != NULL && i_memcaseeq(value, vlen, "8BITMIME"))
			mp->body = SMTP_BODY_8BITMIME;
		else
			return fail(error_r, 501, "5.5.4", "Bad BODY value (7BIT or 8BITMIME)");
		return 0;
	case 2: /* RFC 6531 3.4: no value */
		if (value != NULL)
			return fail(error_r, 501, "5.5.4", "SMTPUTF8 takes no value");
		mp->smtputf8 = true;
		return 0;
	case 3: /* RFC 3461 4.3 */
		if (value != NULL && i_memcaseeq(value, vlen, "FULL"))
			mp->ret = SMTP_RET_FULL;
		else if (value != NULL && i_memcaseeq(value, vlen, "HDRS"))
			mp->ret = SMTP_RET_HDRS;
		else
			return fail(error_r, 501, "5.5.4", "Bad RET value (FULL or HDRS)");
		return 0;
	case 4: /* RFC 3461 4.4 */
		if (value == NULL || vlen > SMTP_MAX_ENVID * 3 ||
		    (mp->envid = smtp_xtext_decode(arena, (const char *)value, vlen, false)) == NULL ||
		    strlen(mp->envid) > SMTP_MAX_ENVID)
			return fail(error_r, 501, "5.5.4", "Bad ENVID value");
		return 0;
	default: /* RFC 4954 5: AUTH=<mailbox as xtext> / "<>" */
		if (value == NULL)
			return fail(error_r, 501, "5.5.4", "Bad AUTH value");
		if (vlen == 2 && memcmp(value, "<>", 2) == 0)
			mp->auth = "<>";
		else if ((mp->auth = smtp_xtext_decode(arena, (const char *)value, vlen, true)) == NULL)
			return fail(error_r, 501, "5.5.4", "Bad AUTH value");
		return 0;
	}
}

static int parse_notify(const unsigned char *value, size_t vlen, unsigned int *notify_r)
{
	unsigned int notify = 0;
	size_t i = 0;

	/* RFC 3461 4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) */
	while (i <= vlen) {
		size_t start = i;

		while (i < vlen && value[i] != ',')
			i++;
		if (i_memcaseeq(value + start, i - start, "NEVER"))
			notify |= SMTP_NOTIFY_NEVER;
		else if (i_memcaseeq(value + start, i - start, "SUCCESS"))
			notify |= SMTP_NOTIFY_SUCCESS;
		else if (i_memcaseeq(value + start, i - start, "FAILURE"))
			notify |= SMTP_NOTIFY_FAILURE;
		else if (i_memcaseeq(value + start, i - start, "DELAY"))
			notify |= SMTP_NOTIFY_DELAY;
		else
			return -1;
		i++;
	}
	if ((notify & SMTP_NOTIFY_NEVER) != 0 && notify != SMTP_NOTIFY_NEVER)
		return -1;
	*notify_r = notify;
	return 0;
}

static int parse_rcpt_param(struct arena *arena, struct smtp_command *cmd, const char *key,
			    const unsigned char *value, size_t vlen, unsigned int *seen,
			    struct smtp_parse_error *error_r)
{
	struct smtp_rcpt_params *rp = &cmd->rcpt;
	const unsigned char *semi;
	const char *addr;
	size_t i;

	if (i_strcasecmp(key, "NOTIFY") == 0) {
		if ((*seen & SEEN(0)) != 0)
			return fail(error_r, 501, "5.5.4", "Duplicate RCPT parameter");
		*seen |= SEEN(0);
		if (value == NULL || parse_notify(value, vlen, &rp->notify) < 0)
			return fail(error_r, 501, "5.5.4", "Bad NOTIFY value");
		return 0;
	}
	if (i_strcasecmp(key, "ORCPT") != 0)
		return fail(error_r, 555, "5.5.4", "Unsupported RCPT parameter");
	if ((*seen & SEEN(1)) != 0)
		return fail(error_r, 501, "5.5.4", "Duplicate RCPT parameter");
	*seen |= SEEN(1);
	/* RFC 3461 4.2: addr-type ";" xtext */
	if (value == NULL || vlen > SMTP_MAX_ORCPT ||
	    (semi = memchr(value, ';', vlen)) == NULL || semi == value)
		return fail(error_r, 501, "5.5.4", "Bad ORCPT value");
	for (i = 0; value + i < semi; i++) {
		if (!is_atext(value[i]) || value[i] >= 0x80)
			return fail(error_r, 501, "5.5.4", "Bad ORCPT address type");
	}
	addr = smtp_xtext_decode(arena, (const char *)semi + 1, (size_t)(value + vlen - semi - 1),
				 true);
	if (addr == NULL || addr[0] == '\0')
		return fail(error_r, 501, "5.5.4", "Bad ORCPT value");
	rp->orcpt = arena_printf(arena, "%.*s;%s", (int)(semi - value), (const char *)value, addr);
	return 0;
}

/* *( SP esmtp-param ), esmtp-param = esmtp-keyword ["=" esmtp-value] */
static int parse_params(struct arena *arena, struct cursor *c, struct smtp_command *cmd,
			struct smtp_parse_error *error_r)
{
	unsigned int seen = 0;

	for (;;) {
		const unsigned char *kstart, *vstart = NULL;
		size_t vlen = 0;
		char *key;

		while (c->p < c->end && *c->p == ' ')
			c->p++;
		if (c->p >= c->end)
			return 0;
		kstart = c->p;
		if (!is_let_dig(*c->p))
			return fail(error_r, 501, "5.5.4", "Bad parameter syntax");
		while (c->p < c->end && (is_let_dig(*c->p) || *c->p == '-'))
			c->p++;
		key = arena_strndup(arena, kstart, (size_t)(c->p - kstart));
		if (c->p < c->end && *c->p == '=') {
			c->p++;
			vstart = c->p;
			/* %d33-60 / %d62-126, UTF-8 allowed (RFC 6531 4.1) */
			while (c->p < c->end && *c->p != ' ') {
				if (*c->p < 33 || *c->p == '=' || *c->p == 127)
					return fail(error_r, 501, "5.5.4", "Bad parameter value");
				c->p++;
			}
			vlen = (size_t)(c->p - vstart);
			if (vlen == 0)
				return fail(error_r, 501, "5.5.4", "Empty parameter value");
		}
		if (c->p < c->end && *c->p != ' ')
			return fail(error_r, 501, "5.5.4", "Bad parameter syntax");
		if (cmd->verb == SMTP_VERB_MAIL) {
			if (parse_mail_param(arena, cmd, key, vstart, vlen, &seen, error_r) < 0)
				return -1;
		} else {
			if (parse_rcpt_param(arena, cmd, key, vstart, vlen, &seen, error_r) < 0)
				return -1;
		}
	}
}

int smtp_command_parse(struct arena *arena, const unsigned char *line, size_t len,
		       struct smtp_command *cmd, struct smtp_parse_error *error_r)
{
	const unsigned char *vend, *args, *end = line + len;
	struct cursor c;
	bool eightbit = false;
	size_t i, vlen;

	memset(cmd, 0, sizeof(*cmd));
	memset(error_r, 0, sizeof(*error_r));
	error_r->verb = SMTP_VERB_COUNT;
	cmd->args = "";

	if (memchr(line, '\0', len) != NULL)
		return fail(error_r, 500, "5.5.2", "NUL character in command");
	for (i = 0; i < len; i++) {
		if (line[i] >= 0x80) {
			eightbit = true;
			break;
		}
	}
	if (eightbit && !utf8_is_valid(line, len))
		return fail(error_r, 500, "5.5.2", "Invalid 8-bit characters in command");
	/* trailing white space is common and harmless */
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;

	vend = line;
	while (vend < end && *vend != ' ')
		vend++;
	vlen = (size_t)(vend - line);
	cmd->verb = SMTP_VERB_COUNT;
	for (i = 0; i < N_ELEMENTS(verbs); i++) {
		if (i_memcaseeq(line, vlen, verbs[i].name)) {
			cmd->verb = verbs[i].verb;
			cmd->name = verbs[i].name;
			break;
		}
	}
	if (cmd->verb == SMTP_VERB_COUNT)
		return fail(error_r, 500, "5.5.1", "Command unrecognized");
	error_r->verb = cmd->verb;
	args = vend < end ? vend + 1 : end;
	cmd->args = arena_strndup(arena, args, (size_t)(end - args));
	cmd->args_len = (size_t)(end - args);
	c.p = args;
	c.end = end;

	if (eightbit && cmd->verb != SMTP_VERB_HELO && cmd->verb != SMTP_VERB_EHLO &&
	    cmd->verb != SMTP_VERB_MAIL && cmd->verb != SMTP_VERB_RCPT)
		return fail(error_r, 500, "5.5.2", "8-bit characters not allowed in this command");

	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO: {
		const unsigned char *p = args;

		/* RFC 5321 4.1.1.1: a domain or address literal; lenient about
		   what it holds (many clients send bare names), not its absence */
		while (p < end && *p != ' ')
			p++;
		if (p == args)
			return fail(error_r, 501, "5.5.4",
				    cmd->verb == SMTP_VERB_EHLO ? "Syntax: EHLO hostname" :
								  "Syntax: HELO hostname");
		if ((size_t)(p - args) > SMTP_MAX_DOMAIN)
			return fail(error_r, 501, "5.5.4", "Host name too long");
		for (i = 0; args + i < p; i++) {
			if (args[i] < 33 || args[i] == 127)
				return fail(error_r, 501, "5.5.4", "Bad host name");
		}
		cmd->helo = arena_strndup(arena, args, (size_t)(p - args));
		return 0;
	}
	case SMTP_VERB_MAIL:
	case SMTP_VERB_RCPT: {
		bool rcpt = cmd->verb == SMTP_VERB_RCPT;
		const char *prefix = rcpt ? "TO:" : "FROM:";
		size_t plen = strlen(prefix);

		if ((size_t)(end - args) < plen || !i_memcaseeq(args, plen, prefix))
			return fail(error_r, 501, "5.5.4",
				    rcpt ? "Syntax: RCPT TO:<address>" : "Syntax: MAIL FROM:<address>");
		c.p += plen;
		if (parse_path(arena, &c, rcpt, &cmd->path, error_r) < 0)
			return -1;
		return parse_params(arena, &c, cmd, error_r);
	}
	case SMTP_VERB_BDAT: {
		/* RFC 3030 2: "BDAT" SP chunk-size [ SP end-marker ] */
		const unsigned char *p = args;

		while (p < end && *p != ' ')
			p++;
		if (parse_uint64(args, (size_t)(p - args), &cmd->chunk_size) < 0)
			return fail(error_r, 501, "5.5.4", "Syntax: BDAT size [LAST]");
		error_r->chunk_size = cmd->chunk_size;
		error_r->chunk_size_valid = true;
		if (p < end) {
			p++;
			if (!i_memcaseeq(p, (size_t)(end - p), "LAST"))
				return fail(error_r, 501, "5.5.4", "Syntax: BDAT size [LAST]");
			cmd->last = true;
		}
		return 0;
	}
	case SMTP_VERB_AUTH: {
		/* RFC 4954 4: "AUTH" SP sasl-mech [SP initial-response] */
		const unsigned char *p = args;

		while (p < end && *p != ' ') {
			if (!is_let_dig(*p) && *p != '-' && *p != '_')
				return fail(error_r, 501, "5.5.4", "Bad mechanism name");
			p++;
		}
		if (p == args || p - args > 20)
			return fail(error_r, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
		cmd->mech = arena_strndup(arena, args, (size_t)(p - args));
		if (p < end) {
			p++;
			if (p == end || memchr(p, ' ', (size_t)(end - p)) != NULL)
				return fail(error_r, 501, "5.5.4", "Bad initial response");
			cmd->initial_response = arena_strndup(arena, p, (size_t)(end - p));
			cmd->initial_response_len = (size_t)(end - p);
		}
		return 0;
	}
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		/* RFC 5321 4.1.1.4/.5/.10, RFC 3207 4: no parameters */
		if (end > args)
			return fail(error_r, 501, "5.5.4", "Syntax error, no parameters allowed");
		return 0;
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
		if (end == args)
			return fail(error_r, 501, "5.5.4", "Syntax: VRFY/EXPN string");
		return 0;
	case SMTP_VERB_NOOP:
	case SMTP_VERB_HELP:
	case SMTP_VERB_SEND:
	case SMTP_VERB_SOML:
	case SMTP_VERB_SAML:
	case SMTP_VERB_TURN:
	case SMTP_VERB_ETRN:
	case SMTP_VERB_COUNT:
		return 0;
	}
	return 0;
}
