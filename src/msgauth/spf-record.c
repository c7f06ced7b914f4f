/*
 * The SPF record parser (RFC 7208 4.5, 4.6, and the grammar of 12): every
 * term checked before anything is looked up, so that any syntax error makes
 * the record a permerror (4.6) whatever the client. Fuzz target:
 * tests/fuzz/fuzz-spf-record.c.
 */
#include "spf.h"
#include "arena.h"
#include "tern-limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

bool spf_record_is_spf(const char *txt, size_t len)
{
	/* 4.5: exactly "v=spf1" then SP or the end; case-insensitive (4.6.1) */
	return len >= 6 && i_strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

/* 7.1 macro-string: literals %x21-24 / %x26-7E and macro-expands. Sets
   *last_macro when the string ends with a macro-expand. */
static bool macro_string_valid(const char *s, bool exp, bool *last_macro)
{
	*last_macro = false;
	while (*s != '\0') {
		unsigned char c = (unsigned char)*s;

		*last_macro = false;
		if (c != '%') {
			/* exp text may hold spaces (7.1 "explain-string") */
			if ((c < 0x21 && !(exp && c == ' ')) || c > 0x7e)
				return false;
			s++;
			continue;
		}
		s++;
		if (*s == '%' || *s == '_' || *s == '-') {
			s++;
			*last_macro = true;
			continue;
		}
		if (*s != '{')
			return false;
		s++;
		switch (i_tolower(*s)) {
		case 's': case 'l': case 'o': case 'd': case 'i': case 'p': case 'h': case 'v':
			break;
		case 'c': case 'r': case 't':
			/* 7.3: only in explanations */
			if (!exp)
				return false;
			break;
		default:
			return false;
		}
		s++;
		if (is_digit(*s)) {
			unsigned int n = 0;

			while (is_digit(*s)) {
				n = n * 10 + (unsigned int)(*s - '0');
				if (n > 128)
					return false;
				s++;
			}
			if (n == 0)
				return false;  /* 7.3: the digit count must be nonzero */
		}
		if (*s == 'r' || *s == 'R')
			s++;
		while (*s != '\0' && strchr(".-+,/_=", *s) != NULL)
			s++;
		if (*s != '}')
			return false;
		s++;
		*last_macro = true;
	}
	return true;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
              ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool toplabel_valid(const char *label, size_t len)
{
	bool alpha = false;
	size_t i;

	if (len == 0 || len > 63)
		return false;
	for (i = 0; i < len; i++) {
		if (is_alpha(label[i]))
			alpha = true;
		else if (label[i] == '-') {
			if (i == 0 || i == len - 1)
				return false;
		} else if (!is_digit(label[i]))
			return false;
	}
	return alpha || memchr(label, '-', len) != NULL;
}

bool spf_domain_spec_valid(const char *spec, bool exp)
{
	size_t len = strlen(spec);
	const char *dot;
	bool last_macro;

	if (len == 0 || !macro_string_valid(spec, exp, &last_macro))
		return false;
	if (last_macro)
		return true;
	/* domain-end = "." toplabel [ "." ] */
	if (spec[len - 1] == '.')
		len--;
	dot = NULL;
	for (size_t i = len; i > 0; i--) {
		if (spec[i - 1] == '.') {
			dot = spec + i - 1;
			break;
		}
	}
	if (dot == NULL)
		return false;
	return toplabel_valid(dot + 1, (size_t)(spec + len - dot - 1));
}

/* "/" digits, no leading zero, at most max. */
static int parse_cidr(const char *s, size_t len, unsigned int max, unsigned int *n_r)
{
	unsigned int n = 0;
	size_t i;

	if (len < 2 || s[0] != '/' || len > 4 || (s[1] == '0' && len > 2))
		return -1;
	for (i = 1; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		n = n * 10 + (unsigned int)(s[i] - '0');
	}
	if (n > max)
		return -1;
	*n_r = n;
	return 0;
}

/* The trailing dual-cidr-length of an a/mx argument: strips it from
   *len. */
static int take_dual_cidr(const char *arg, size_t *len, struct spf_term *t)
{
	size_t l = *len, i;

	/* "//" ip6-length at the very end */
	for (i = l; i > 0 && is_digit(arg[i - 1]); i--)
		;
	if (i >= 2 && i < l && arg[i - 1] == '/' && arg[i - 2] == '/') {
		if (parse_cidr(arg + i - 1, l - i + 1, 128, &t->cidr6) < 0)
			return -1;
		l = i - 2;
	}
	for (i = l; i > 0 && is_digit(arg[i - 1]); i--)
		;
	if (i >= 1 && i < l && arg[i - 1] == '/' && (i < 2 || arg[i - 2] != '/')) {
		if (parse_cidr(arg + i - 1, l - i + 1, 32, &t->cidr4) < 0)
			return -1;
		l = i - 1;
	}
	*len = l;
	return 0;
}

static int parse_ip(const char *arg, size_t len, bool v6, struct spf_term *t)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = NULL;
	size_t alen;

	for (size_t i = len; i > 0; i--) {
		if (arg[i - 1] == '/') {
			slash = arg + i - 1;
			break;
		}
	}
	alen = slash != NULL ? (size_t)(slash - arg) : len;
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, arg, alen);
	addr[alen] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, t->net) != 1)
		return -1;
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (slash != NULL &&
	    parse_cidr(slash, len - alen, v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4) < 0)
		return -1;
	return 0;
}

static const struct {
	const char *name;
	enum spf_mechanism mech;
} mechanisms[] = {
	{ "all", SPF_ALL }, { "include", SPF_INCLUDE }, { "a", SPF_A }, { "mx", SPF_MX },
	{ "ptr", SPF_PTR }, { "ip4", SPF_IP4 }, { "ip6", SPF_IP6 }, { "exists", SPF_EXISTS },
};

/* One directive (4.6.2, 5). */
static int parse_directive(struct arena *arena, const char *term, size_t len,
			   struct spf_term *t, const char **error_r)
{
	size_t name_len = 0, arg_len;
	const char *arg;
	unsigned int i;

	t->qualifier = MSGAUTH_PASS;
	switch (term[0]) {
	case '+': t->qualifier = MSGAUTH_PASS; term++; len--; break;
	case '-': t->qualifier = MSGAUTH_FAIL; term++; len--; break;
	case '~': t->qualifier = MSGAUTH_SOFTFAIL; term++; len--; break;
	case '?': t->qualifier = MSGAUTH_NEUTRAL; term++; len--; break;
	}
	while (name_len < len && term[name_len] != ':' && term[name_len] != '/')
		name_len++;
	for (i = 0; i < N_ELEMENTS(mechanisms); i++) {
		if (i_memcaseeq(term, name_len, mechanisms[i].name))
			break;
	}
	if (i == N_ELEMENTS(mechanisms)) {
		*error_r = arena_printf(arena, "unknown mechanism '%.*s'", (int)I_MIN(len, 64), term);
		return -1;
	}
	t->mech = mechanisms[i].mech;
	t->cidr4 = 32;
	t->cidr6 = 128;
	arg = term + name_len;
	arg_len = len - name_len;
	switch (t->mech) {
	case SPF_ALL:
		if (arg_len != 0)
			goto bad;
		return 0;
	case SPF_IP4:
	case SPF_IP6:
		if (arg_len < 2 || arg[0] != ':' ||
		    parse_ip(arg + 1, arg_len - 1, t->mech == SPF_IP6, t) < 0)
			goto bad;
		return 0;
	case SPF_A:
	case SPF_MX:
		if (take_dual_cidr(arg, &arg_len, t) < 0)
			goto bad;
		/* fall through */
	case SPF_PTR:
		if (arg_len == 0)
			return 0;
		/* fall through */
	case SPF_INCLUDE:
	case SPF_EXISTS:
		if (arg_len < 2 || arg[0] != ':')
			goto bad;
		t->domain_spec = arena_strndup(arena, arg + 1, arg_len - 1);
		if (!spf_domain_spec_valid(t->domain_spec, false))
			goto bad;
		return 0;
	}
bad:
	*error_r = arena_printf(arena, "bad mechanism '%.*s'", (int)I_MIN(len, 64), term);
	return -1;
}

int spf_record_parse(struct arena *arena, const char *txt, size_t len,
		     struct spf_record *record_r, const char **error_r)
{
	unsigned int alloc = 8;
	size_t pos;

	memset(record_r, 0, sizeof(*record_r));
	if (!spf_record_is_spf(txt, len)) {
		*error_r = "not an SPF record";
		return -1;
	}
	if (len > TERN_SPF_MAX_RECORD_SIZE) {
		*error_r = "SPF record too long";
		return -1;
	}
	record_r->terms = arena_new_array(arena, struct spf_term, alloc);
	pos = 6;
	while (pos < len) {
		size_t start, tlen, name_len = 0;
		const char *term;

		if (txt[pos] == ' ') {
			pos++;
			continue;
		}
		start = pos;
		while (pos < len && txt[pos] != ' ')
			pos++;
		term = txt + start;
		tlen = pos - start;
		for (size_t i = 0; i < tlen; i++) {
			/* 12: terms are visible ASCII */
			if ((unsigned char)term[i] < 0x21 || (unsigned char)term[i] > 0x7e) {
				*error_r = "control or 8-bit character in the SPF record";
				return -1;
			}
		}
		/* modifier: name "=" macro-string, name = ALPHA *( ALPHA / DIGIT /
		   "-" / "_" / "." ) */
		if (is_alpha(term[0])) {
			name_len = 1;
			while (name_len < tlen && (is_alnum(term[name_len]) || term[name_len] == '-' ||
						   term[name_len] == '_' || term[name_len] == '.'))
				name_len++;
		}
		if (name_len > 0 && name_len < tlen && term[name_len] == '=') {
			const char *value = arena_strndup(arena, term + name_len + 1, tlen - name_len - 1);
			bool last_macro;

			if (i_memcaseeq(term, name_len, "redirect") || i_memcaseeq(term, name_len, "exp")) {
				bool redirect = name_len == 8;
				const char **slot = redirect ? &record_r->redirect : &record_r->exp;

				/* 6: each at most once */
				if (*slot != NULL) {
					*error_r = redirect ? "redirect= given twice" : "exp= given twice";
					return -1;
				}
				if (!spf_domain_spec_valid(value, false)) {
					*error_r = arena_printf(arena, "bad %s= domain", redirect ? "redirect" : "exp");
					return -1;
				}
				*slot = value;
			} else if (!macro_string_valid(value, false, &last_macro)) {
				/* 6: unknown modifiers are ignored, but must be
				   well-formed */
				*error_r = arena_printf(arena, "bad modifier '%.*s'", (int)I_MIN(tlen, 64), term);
				return -1;
			}
			continue;
		}
		if (record_r->count == alloc) {
			record_r->terms = arena_realloc(arena, record_r->terms,
							sizeof(struct spf_term) * alloc,
							sizeof(struct spf_term) * alloc * 2);
			alloc *= 2;
		}
		if (parse_directive(arena, term, tlen, &record_r->terms[record_r->count], error_r) < 0)
			return -1;
		record_r->terms[record_r->count].text = arena_strndup(arena, term, tlen);
		record_r->count++;
	}
	return 0;
}
