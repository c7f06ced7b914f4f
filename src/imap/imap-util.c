/*
 * Flags, date-time, mailbox names and LIST patterns (imap-util.h).
 */
#include "imap-util.h"
#include "imap-parser.h"
#include "imap-search.h"
#include "arena.h"
#include "mutf7.h"
#include "utf8.h"

#include <stdio.h>

static const struct {
	const char *name;
	unsigned int bit;
} system_flags[] = {
	{ "\\Answered", IMAP_FLAG_ANSWERED },
	{ "\\Flagged", IMAP_FLAG_FLAGGED },
	{ "\\Deleted", IMAP_FLAG_DELETED },
	{ "\\Seen", IMAP_FLAG_SEEN },
	{ "\\Draft", IMAP_FLAG_DRAFT },
};

int imap_flags_parse(struct arena *arena, const struct imap_arg *args, unsigned int count,
		     struct imap_flags *flags_r, const char **error_r)
{
	unsigned int i, j;

	memset(flags_r, 0, sizeof(*flags_r));
	if (count > 0)
		flags_r->keywords = arena_new_array(arena, const char *, count);
	for (i = 0; i < count; i++) {
		const char *f = imap_arg_atom(&args[i]);
		bool dup = false;

		if (f == NULL) {
			*error_r = "Invalid flag";
			return -1;
		}
		if (f[0] == '\\') {
			for (j = 0; j < N_ELEMENTS(system_flags); j++) {
				if (i_strcasecmp(f, system_flags[j].name) == 0)
					break;
			}
			if (j == N_ELEMENTS(system_flags)) {
				/* \Recent cannot be set; unknown \flags are not ours */
				*error_r = arena_printf(arena, "Flag %s cannot be set", f);
				return -1;
			}
			flags_r->system |= system_flags[j].bit;
			continue;
		}
		/* flag-keyword = atom */
		for (const char *c = f; *c != '\0'; c++) {
			if (!imap_is_atom_char((unsigned char)*c)) {
				*error_r = "Invalid keyword";
				return -1;
			}
		}
		for (j = 0; j < flags_r->keyword_count; j++) {
			if (i_strcasecmp(flags_r->keywords[j], f) == 0)
				dup = true;
		}
		if (!dup)
			flags_r->keywords[flags_r->keyword_count++] = f;
	}
	return 0;
}

int imap_flags_write(buf_t *dest, unsigned int system, const char *const *keywords,
		     unsigned int keyword_count, bool recent, bool parens)
{
	bool first = true;
	unsigned int i;

	if (parens && buf_append_c(dest, '(') < 0)
		return -1;
	for (i = 0; i < N_ELEMENTS(system_flags); i++) {
		if ((system & system_flags[i].bit) == 0)
			continue;
		if ((!first && buf_append_c(dest, ' ') < 0) ||
		    buf_append_str(dest, system_flags[i].name) < 0)
			return -1;
		first = false;
	}
	for (i = 0; i < keyword_count; i++) {
		if ((!first && buf_append_c(dest, ' ') < 0) || buf_append_str(dest, keywords[i]) < 0)
			return -1;
		first = false;
	}
	if (recent) {
		if ((!first && buf_append_c(dest, ' ') < 0) || buf_append_str(dest, "\\Recent") < 0)
			return -1;
	}
	if (parens && buf_append_c(dest, ')') < 0)
		return -1;
	return 0;
}

static const char month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static bool two_digits(const char *s, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

int imap_datetime_parse(const char *text, time_t *t_r, int *tz_offset_r)
{
	struct tm tm;
	int day, year_hi, year_lo, hh, mm, ss, zh, zm, mon = -1, i;
	const char *p = text;
	time_t t;

	/* date-day-fixed = (SP DIGIT) / 2DIGIT */
	if (p[0] == ' ' && p[1] >= '0' && p[1] <= '9')
		day = p[1] - '0';
	else if (!two_digits(p, &day))
		return -1;
	p += 2;
	if (*p++ != '-')
		return -1;
	for (i = 0; i < 12; i++) {
		if (i_strncasecmp(p, month_names[i], 3) == 0)
			mon = i;
	}
	if (mon < 0 || p[3] != '-')
		return -1;
	p += 4;
	if (!two_digits(p, &year_hi) || !two_digits(p + 2, &year_lo) || p[4] != ' ')
		return -1;
	p += 5;
	if (!two_digits(p, &hh) || p[2] != ':' || !two_digits(p + 3, &mm) || p[5] != ':' ||
	    !two_digits(p + 6, &ss) || p[8] != ' ')
		return -1;
	p += 9;
	if ((p[0] != '+' && p[0] != '-') || !two_digits(p + 1, &zh) || !two_digits(p + 3, &zm) ||
	    p[5] != '\0')
		return -1;
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year_hi * 100 + year_lo - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss == 60 ? 59 : ss;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != day)
		return -1;   /* 31-Feb normalized away: not a date */
	*tz_offset_r = (zh * 3600 + zm * 60) * (p[0] == '-' ? -1 : 1);
	*t_r = t - *tz_offset_r;
	return 0;
}

void imap_datetime_format(time_t t, int tz_offset, char out[IMAP_DATETIME_SIZE])
{
	struct tm tm;
	time_t local = t + tz_offset;
	int off = tz_offset < 0 ? -tz_offset : tz_offset;

	gmtime_r(&local, &tm);
	snprintf(out, IMAP_DATETIME_SIZE, "\"%02d-%s-%04d %02d:%02d:%02d %c%02d%02d\"",
		 tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, tz_offset < 0 ? '-' : '+', off / 3600, (off / 60) % 60);
}

const char *imap_mailbox_from_client(struct arena *arena, const char *name, bool utf8,
				     const char **error_r)
{
	size_t len = strlen(name);
	char *out;

	if (len == 0) {
		*error_r = "Empty mailbox name";
		return NULL;
	}
	if (utf8) {
		if (!utf8_is_valid(name, len)) {
			*error_r = "Mailbox name is not valid UTF-8";
			return NULL;
		}
		out = arena_strdup(arena, name);
	} else {
		buf_t b;

		buf_init(&b, len * 4 + 16);
		if (mutf7_decode(name, len, &b) < 0) {
			buf_free(&b);
			*error_r = "Mailbox name is not valid modified UTF-7";
			return NULL;
		}
		out = arena_strndup(arena, b.data, b.used);
		buf_free(&b);
	}
	len = strlen(out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f) {
			*error_r = "Control character in mailbox name";
			return NULL;
		}
		if (c == IMAP_HIERARCHY_SEP &&
		    (i == 0 || i + 1 == len || out[i + 1] == IMAP_HIERARCHY_SEP)) {
			*error_r = "Empty level in mailbox name";
			return NULL;
		}
	}
	/* RFC 9051 5.1: INBOX is case-insensitive, also as a parent */
	if (i_strncasecmp(out, "INBOX", 5) == 0 && (out[5] == '\0' || out[5] == IMAP_HIERARCHY_SEP))
		memcpy(out, "INBOX", 5);
	return out;
}

const char *imap_mailbox_to_client(struct arena *arena, const char *name, bool utf8)
{
	buf_t b;
	const char *out;

	if (utf8)
		return name;
	buf_init(&b, BUF_MAX_UNLIMITED);
	if (mutf7_encode(name, strlen(name), &b) < 0) {
		buf_free(&b);
		return name;   /* not UTF-8 (never from the store): send as is */
	}
	out = arena_strndup(arena, b.data, b.used);
	buf_free(&b);
	return out;
}

static bool inbox_prefix(const char *p, const char *n, size_t *adv_r)
{
	/* "INBOX" in the pattern matches "INBOX" in the name in any case */
	if (i_strncasecmp(p, "INBOX", 5) == 0 && strncmp(n, "INBOX", 5) == 0 &&
	    (p[5] == '\0' || p[5] == IMAP_HIERARCHY_SEP || p[5] == '*' || p[5] == '%')) {
		*adv_r = 5;
		return true;
	}
	return false;
}

/* Glob with "*" and "%"; prefix_ok: true when the name ran out while the
   pattern could still match something below it. */
static bool match(const char *p, const char *n, bool prefix)
{
	size_t adv;

	if (inbox_prefix(p, n, &adv)) {
		p += adv;
		n += adv;
	}
	while (*p != '\0') {
		if (*p == '*' || *p == '%') {
			bool star = *p == '*';
			const char *s;

			p++;
			/* try every split; "%" stops at the delimiter */
			for (s = n;; s++) {
				if (match(p, s, prefix))
					return true;
				if (*s == '\0' || (!star && *s == IMAP_HIERARCHY_SEP))
					break;
			}
			return prefix && (star || *s == '\0');
		}
		if (*n == '\0')
			return prefix;
		if (*p != *n)
			return false;
		p++;
		n++;
	}
	return *n == '\0';
}

bool imap_list_match(const char *pattern, const char *name)
{
	return match(pattern, name, false);
}

bool imap_list_match_prefix(const char *pattern, const char *name)
{
	char *with_sep;
	bool ret;

	with_sep = i_strdup_printf("%s%c", name, IMAP_HIERARCHY_SEP);
	ret = match(pattern, with_sep, true);
	i_free(with_sep);
	return ret;
}
