#include "date.h"

#include <stdio.h>

enum tok_type {
	TOK_END,
	TOK_NUM,
	TOK_WORD,
	TOK_CHAR,
};

struct token {
	enum tok_type type;
	const char *start;
	size_t len;
	int num;       /* TOK_NUM (saturates), TOK_CHAR: the character */
};

struct lexer {
	const char *p, *end;
};

static void skip_cfws(struct lexer *lx);
static void next_token(struct lexer *lx, struct token *tok);
static int month_from_word(const struct token *tok);
static bool word_is(const struct token *tok, const char *word);
static int parse_time(struct lexer *lx, struct token *tok, int *hour_r, int *min_r, int *sec_r);
static int parse_zone(struct lexer *lx, struct token *tok, int *offset_r);
static int parse_numeric_zone(struct lexer *lx, struct token *tok, int sign, int *offset_r);
static int fix_year(const struct token *tok);
static time_t clamp_time(time_t t);
static void split_time(time_t t, int tz_offset_min, int64_t *year_r, int *month_r, int *day_r,
		       int *hour_r, int *min_r, int *sec_r, int *wday_r);

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};
static const char *const wday_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* RFC 5322 4.3 obs-zone */
static const struct {
	const char *name;
	int offset;
} zone_names[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -5 * 60 }, { "EDT", -4 * 60 },
	{ "CST", -6 * 60 }, { "CDT", -5 * 60 },
	{ "MST", -7 * 60 }, { "MDT", -6 * 60 },
	{ "PST", -8 * 60 }, { "PDT", -7 * 60 },
};

/* RFC 5322 3.2.2: CFWS, with nested comments and quoted pairs; bare CR
   and LF are taken as folding. */
static void skip_cfws(struct lexer *lx)
{
	unsigned int depth;

	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->p++;
		} else if (c == '(') {
			depth = 1;
			lx->p++;
			while (lx->p < lx->end && depth > 0) {
				c = *lx->p++;
				if (c == '\\' && lx->p < lx->end)
					lx->p++;
				else if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
			}
		} else {
			break;
		}
	}
}

static void next_token(struct lexer *lx, struct token *tok)
{
	const char *p;
	char c;

	skip_cfws(lx);
	tok->num = 0;
	tok->start = p = lx->p;
	if (p == lx->end) {
		tok->type = TOK_END;
		tok->len = 0;
		return;
	}
	c = *p;
	if (c >= '0' && c <= '9') {
		tok->type = TOK_NUM;
		while (p < lx->end && *p >= '0' && *p <= '9') {
			if (tok->num < 100000000)
				tok->num = tok->num * 10 + (*p - '0');
			p++;
		}
	} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
		tok->type = TOK_WORD;
		while (p < lx->end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			p++;
	} else {
		tok->type = TOK_CHAR;
		tok->num = (unsigned char)c;
		p++;
	}
	tok->len = (size_t)(p - tok->start);
	lx->p = p;
}

static bool word_is(const struct token *tok, const char *word)
{
	return tok->type == TOK_WORD && i_memcaseeq(tok->start, tok->len, word);
}

/* 1-12 for a month name (its first three letters), else 0 */
static int month_from_word(const struct token *tok)
{
	int i;

	if (tok->type != TOK_WORD || tok->len < 3)
		return 0;
	for (i = 0; i < 12; i++) {
		if (i_strncasecmp(tok->start, month_names[i], 3) == 0)
			return i + 1;
	}
	return 0;
}

/* RFC 5322 4.3: 2-digit years below 50 are 20xx, others and 3-digit years
   add 1900. -1 when the token is not a year. */
static int fix_year(const struct token *tok)
{
	if (tok->type != TOK_NUM || tok->len < 2 || tok->len > 4)
		return -1;
	if (tok->len == 2 && tok->num < 50)
		return tok->num + 2000;
	if (tok->len <= 3)
		return tok->num + 1900;
	return tok->num;
}

/* hh:mm[:ss] starting at tok; on success tok is the token after it. */
static int parse_time(struct lexer *lx, struct token *tok, int *hour_r, int *min_r, int *sec_r)
{
	if (tok->type != TOK_NUM || tok->len > 2)
		return -1;
	*hour_r = tok->num;
	next_token(lx, tok);
	if (tok->type != TOK_CHAR || (tok->num != ':' && tok->num != '.'))
		return -1;
	next_token(lx, tok);
	if (tok->type != TOK_NUM || tok->len > 2)
		return -1;
	*min_r = tok->num;
	*sec_r = 0;
	next_token(lx, tok);
	if (tok->type == TOK_CHAR && (tok->num == ':' || tok->num == '.')) {
		struct lexer save = *lx;
		struct token sec;

		next_token(lx, &sec);
		if (sec.type == TOK_NUM && sec.len <= 2) {
			*sec_r = sec.num;
			next_token(lx, tok);
		} else {
			*lx = save; /* "10:52:" then something else: no seconds */
		}
	}
	if (*hour_r > 23 || *min_r > 59 || *sec_r > 60)
		return -1;
	return 0;
}

/* After '+' or '-': hhmm, hmm, hh, h, or hh:mm. */
static int parse_numeric_zone(struct lexer *lx, struct token *tok, int sign, int *offset_r)
{
	int hours, mins = 0;

	/* no CFWS between the sign and the digits */
	if (lx->p >= lx->end || *lx->p < '0' || *lx->p > '9')
		return -1;
	next_token(lx, tok);
	if (tok->len > 4)
		return -1;
	if (tok->len >= 3) {
		hours = tok->num / 100;
		mins = tok->num % 100;
	} else {
		hours = tok->num;
		if (lx->p + 1 < lx->end && *lx->p == ':' && lx->p[1] >= '0' && lx->p[1] <= '9') {
			lx->p++;
			next_token(lx, tok);
			if (tok->len != 2)
				return -1;
			mins = tok->num;
		}
	}
	if (hours > 23 || mins > 59)
		return -1;
	*offset_r = sign * (hours * 60 + mins);
	return 0;
}

static int parse_zone(struct lexer *lx, struct token *tok, int *offset_r)
{
	size_t i;
	int sign;

	*offset_r = 0;
	if (tok->type == TOK_CHAR && (tok->num == '+' || tok->num == '-'))
		return parse_numeric_zone(lx, tok, tok->num == '+' ? 1 : -1, offset_r);
	if (tok->type != TOK_WORD)
		return 0; /* no zone: -0000 */
	for (i = 0; i < N_ELEMENTS(zone_names); i++) {
		if (word_is(tok, zone_names[i].name)) {
			*offset_r = zone_names[i].offset;
			break;
		}
	}
	/* "GMT+0200", "UTC-5": the offset that follows counts */
	if (*offset_r == 0 && i < N_ELEMENTS(zone_names) && lx->p < lx->end &&
	    (*lx->p == '+' || *lx->p == '-')) {
		struct lexer save = *lx;

		sign = *lx->p == '+' ? 1 : -1;
		lx->p++;
		if (parse_numeric_zone(lx, tok, sign, offset_r) < 0) {
			*lx = save;
			*offset_r = 0;
		}
	}
	/* military letters and unknown names: -0000 (RFC 5322 4.3) */
	return 0;
}

int msg_date_parse(const char *value, size_t len, time_t *time_r, int *tz_offset_min_r)
{
	struct lexer lx = { value, value + len };
	struct token tok;
	int day, month, year, hour, min, sec, offset;
	int64_t days;

	next_token(&lx, &tok);
	if (tok.type == TOK_WORD && month_from_word(&tok) == 0) {
		/* day of week, maybe with ',' (or '.') after it */
		next_token(&lx, &tok);
		if (tok.type == TOK_CHAR && (tok.num == ',' || tok.num == '.'))
			next_token(&lx, &tok);
	}
	if (tok.type == TOK_NUM) {
		/* RFC 5322: day month year time zone; '-' or '/' may join the
		   date's parts ("1-Jul-2003") */
		if (tok.len > 2)
			return -1;
		day = tok.num;
		next_token(&lx, &tok);
		if (tok.type == TOK_CHAR && (tok.num == '-' || tok.num == '/'))
			next_token(&lx, &tok);
		month = month_from_word(&tok);
		if (month == 0)
			return -1;
		next_token(&lx, &tok);
		if (tok.type == TOK_CHAR && (tok.num == '-' || tok.num == '/' || tok.num == ','))
			next_token(&lx, &tok);
		year = fix_year(&tok);
		if (year < 0)
			return -1;
		next_token(&lx, &tok);
		if (tok.type == TOK_CHAR && tok.num == ',')
			next_token(&lx, &tok);
		if (parse_time(&lx, &tok, &hour, &min, &sec) < 0)
			return -1;
	} else if (tok.type == TOK_WORD) {
		/* asctime(): "Jul  1 10:52:37 2003", zone before or after the year */
		month = month_from_word(&tok);
		if (month == 0)
			return -1;
		next_token(&lx, &tok);
		if (tok.type != TOK_NUM || tok.len > 2)
			return -1;
		day = tok.num;
		next_token(&lx, &tok);
		if (parse_time(&lx, &tok, &hour, &min, &sec) < 0)
			return -1;
		if (tok.type != TOK_NUM) {
			struct token year_tok;

			if (parse_zone(&lx, &tok, &offset) < 0)
				return -1;
			next_token(&lx, &year_tok);
			year = fix_year(&year_tok);
			if (year < 0 || year_tok.len != 4)
				return -1;
			goto done;
		}
		year = fix_year(&tok);
		if (year < 0 || tok.len != 4)
			return -1;
		next_token(&lx, &tok);
	} else {
		return -1;
	}
	if (parse_zone(&lx, &tok, &offset) < 0)
		return -1;
done:
	if (day < 1 || day > 31)
		return -1;
	days = msg_days_from_civil(year, month, day);
	*time_r = (time_t)(days * 86400 + hour * 3600 + min * 60 + sec - offset * 60);
	if (tz_offset_min_r != NULL)
		*tz_offset_min_r = offset;
	return 0;
}

/* Days since 1970-01-01 in the proleptic Gregorian calendar: count in
   400-year eras starting on March 1st, so the leap day ends a year. */
int64_t msg_days_from_civil(int64_t year, int month, int day)
{
	int64_t y = month <= 2 ? year - 1 : year;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                                  /* 0-399 */
	int64_t mp = month > 2 ? month - 3 : month + 9;               /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + day - 1;                   /* 0-365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0-146096 */

	/* 719468: days from 0000-03-01 to 1970-01-01 */
	return era * 146097 + doe - 719468;
}

void msg_civil_from_days(int64_t days, int64_t *year_r, int *month_r, int *day_r)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int month = (int)(mp < 10 ? mp + 3 : mp - 9);

	*day_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month_r = month;
	*year_r = yoe + era * 400 + (month <= 2);
}

/* Keep formatting within years 0-9999 (and time_t arithmetic from
   overflowing). */
static time_t clamp_time(time_t t)
{
	const int64_t min = msg_days_from_civil(0, 1, 2) * 86400;
	const int64_t max = msg_days_from_civil(9999, 12, 30) * 86400;

	if ((int64_t)t < min)
		return (time_t)min;
	if ((int64_t)t > max)
		return (time_t)max;
	return t;
}

static void split_time(time_t t, int tz_offset_min, int64_t *year_r, int *month_r, int *day_r,
		       int *hour_r, int *min_r, int *sec_r, int *wday_r)
{
	int64_t local = (int64_t)clamp_time(t) + (int64_t)tz_offset_min * 60;
	int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int64_t secs = local - days * 86400;

	msg_civil_from_days(days, year_r, month_r, day_r);
	*hour_r = (int)(secs / 3600);
	*min_r = (int)(secs / 60 % 60);
	*sec_r = (int)(secs % 60);
	/* 1970-01-01 was a Thursday */
	*wday_r = (int)(((days + 4) % 7 + 7) % 7);
}

const char *msg_date_format(time_t t, int tz_offset_min, char buf[MSG_DATE_MAX])
{
	int64_t year;
	int month, day, hour, min, sec, wday, off;

	if (tz_offset_min <= -24 * 60 || tz_offset_min >= 24 * 60)
		tz_offset_min = 0;
	split_time(t, tz_offset_min, &year, &month, &day, &hour, &min, &sec, &wday);
	off = tz_offset_min < 0 ? -tz_offset_min : tz_offset_min;
	snprintf(buf, MSG_DATE_MAX, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
		 wday_names[wday], day, month_names[month - 1], (int)year, hour, min, sec,
		 tz_offset_min < 0 ? '-' : '+', off / 60, off % 60);
	return buf;
}

const char *msg_date_format_iso8601(time_t t, int tz_offset_min, char buf[MSG_DATE_MAX])
{
	int64_t year;
	int month, day, hour, min, sec, wday, off;

	if (tz_offset_min <= -24 * 60 || tz_offset_min >= 24 * 60)
		tz_offset_min = 0;
	split_time(t, tz_offset_min, &year, &month, &day, &hour, &min, &sec, &wday);
	off = tz_offset_min < 0 ? -tz_offset_min : tz_offset_min;
	snprintf(buf, MSG_DATE_MAX, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		 (int)year, month, day, hour, min, sec,
		 tz_offset_min < 0 ? '-' : '+', off / 60, off % 60);
	return buf;
}

const char *msg_date_format_imap(time_t t, int tz_offset_min, char buf[MSG_DATE_MAX])
{
	int64_t year;
	int month, day, hour, min, sec, wday, off;

	if (tz_offset_min <= -24 * 60 || tz_offset_min >= 24 * 60)
		tz_offset_min = 0;
	split_time(t, tz_offset_min, &year, &month, &day, &hour, &min, &sec, &wday);
	off = tz_offset_min < 0 ? -tz_offset_min : tz_offset_min;
	snprintf(buf, MSG_DATE_MAX, "%2d-%s-%04d %02d:%02d:%02d %c%02d%02d",
		 day, month_names[month - 1], (int)year, hour, min, sec,
		 tz_offset_min < 0 ? '-' : '+', off / 60, off % 60);
	return buf;
}

int msg_date_local_offset(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}
