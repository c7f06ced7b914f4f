#include "charset.h"
#include "utf8.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* longest unfinished sequence kept between calls (ISO-2022 escapes,
   GB18030 4-byte forms, UTF-8) */
#define PENDING_MAX 16
/* iconv descriptors kept open per thread */
#define CD_CACHE_SIZE 8

enum cs_kind {
	CS_UTF8,
	CS_CP1252,
	CS_UTF8_OR_CP1252,
	CS_ICONV,
};

struct charset_translation {
	enum cs_kind kind;
	iconv_t cd;
	char iconv_name[CHARSET_NAME_MAX];
	unsigned char pending[PENDING_MAX];
	size_t npending;
};

struct cd_cache {
	unsigned int count;
	struct {
		char name[CHARSET_NAME_MAX];
		iconv_t cd;
	} e[CD_CACHE_SIZE];
};

struct alias {
	const char *key;        /* normalized: lower-case letters and digits */
	enum cs_kind kind;
	const char *iconv_name; /* CS_ICONV only */
};

static bool normalize_name(const char *charset, char trimmed[CHARSET_NAME_MAX],
			   char key[CHARSET_NAME_MAX]);
static int resolve(const char *charset, struct charset_translation *t);
static void cache_destroy(void *p);
static void cache_key_init(void);
static struct cd_cache *cache_get(void);
static iconv_t cd_take(const char *name);
static void cd_give(const char *name, iconv_t cd);
static int reserve_some(buf_t *dest, size_t want, unsigned char **out_r, size_t *size_r);
static int append_cp1252(const unsigned char *s, size_t len, buf_t *dest);
static int append_utf8_or_cp1252(const unsigned char *s, size_t len, buf_t *dest);
static int emit_utf8_kind(const struct charset_translation *t, const unsigned char *s,
			  size_t len, buf_t *dest);
static int feed_utf8(struct charset_translation *t, const unsigned char *s, size_t len,
		     buf_t *dest);
static int iconv_convert(struct charset_translation *t, const unsigned char *in, size_t inlen,
			 bool final, buf_t *dest, size_t *used_r);
static int feed_iconv(struct charset_translation *t, const unsigned char *s, size_t len,
		      buf_t *dest);
static int translate_finish(struct charset_translation *t, buf_t *dest);

static const unsigned char replacement[3] = { 0xef, 0xbf, 0xbd };

/* WHATWG Encoding Standard's windows-1252 for 0x80-0x9f; the five bytes
   Microsoft leaves undefined map to the C1 controls of the same value. */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};
/* UTF-8 of bytes 0x80-0xff in windows-1252: [0] is the length */
static unsigned char cp1252_utf8[128][4];

static const struct alias aliases[] = {
	{ "utf8", CS_UTF8, NULL },
	{ "unicode11utf8", CS_UTF8, NULL },
	{ "xunicode20utf8", CS_UTF8, NULL },
	/* "ASCII" with 8-bit bytes: mostly UTF-8 from misconfigured
	   mailers, else Windows-1252 (which WHATWG makes these labels) */
	{ "usascii", CS_UTF8_OR_CP1252, NULL },
	{ "ascii", CS_UTF8_OR_CP1252, NULL },
	{ "ansix341968", CS_UTF8_OR_CP1252, NULL },
	{ "iso646us", CS_UTF8_OR_CP1252, NULL },
	{ "us", CS_UTF8_OR_CP1252, NULL },
	{ "cp367", CS_UTF8_OR_CP1252, NULL },
	{ "ibm367", CS_UTF8_OR_CP1252, NULL },
	{ "csascii", CS_UTF8_OR_CP1252, NULL },
	/* WHATWG: labels of windows-1252 */
	{ "iso88591", CS_CP1252, NULL },
	{ "iso885911987", CS_CP1252, NULL },
	{ "isoir100", CS_CP1252, NULL },
	{ "latin1", CS_CP1252, NULL },
	{ "l1", CS_CP1252, NULL },
	{ "cp819", CS_CP1252, NULL },
	{ "ibm819", CS_CP1252, NULL },
	{ "csisolatin1", CS_CP1252, NULL },
	{ "windows1252", CS_CP1252, NULL },
	{ "cp1252", CS_CP1252, NULL },
	{ "win1252", CS_CP1252, NULL },
	{ "xcp1252", CS_CP1252, NULL },
	{ "ms1252", CS_CP1252, NULL },
	/* no real charset given */
	{ "", CS_UTF8_OR_CP1252, NULL },
	{ "xunknown", CS_UTF8_OR_CP1252, NULL },
	{ "unknown", CS_UTF8_OR_CP1252, NULL },
	{ "unknown8bit", CS_UTF8_OR_CP1252, NULL },
	{ "8bit", CS_UTF8_OR_CP1252, NULL },
	{ "default", CS_UTF8_OR_CP1252, NULL },
	{ "none", CS_UTF8_OR_CP1252, NULL },
	/* supersets that readers decode with */
	{ "utf7", CS_ICONV, "UTF-7" },
	{ "unicode11utf7", CS_ICONV, "UTF-7" },
	{ "ksc56011987", CS_ICONV, "CP949" },
	{ "ksc56011989", CS_ICONV, "CP949" },
	{ "ksc5601", CS_ICONV, "CP949" },
	{ "euckr", CS_ICONV, "CP949" },
	{ "cseuckr", CS_ICONV, "CP949" },
	{ "windows949", CS_ICONV, "CP949" },
	{ "xwindows949", CS_ICONV, "CP949" },
	{ "cp949", CS_ICONV, "CP949" },
	{ "uhc", CS_ICONV, "CP949" },
	{ "gb2312", CS_ICONV, "GB18030" },
	{ "csgb2312", CS_ICONV, "GB18030" },
	{ "gb231280", CS_ICONV, "GB18030" },
	{ "gbk", CS_ICONV, "GB18030" },
	{ "xgbk", CS_ICONV, "GB18030" },
	{ "cp936", CS_ICONV, "GB18030" },
	{ "windows936", CS_ICONV, "GB18030" },
	{ "euccn", CS_ICONV, "GB18030" },
	{ "xeuccn", CS_ICONV, "GB18030" },
	{ "chinese", CS_ICONV, "GB18030" },
	{ "gb18030", CS_ICONV, "GB18030" },
	{ "shiftjis", CS_ICONV, "CP932" },
	{ "sjis", CS_ICONV, "CP932" },
	{ "xsjis", CS_ICONV, "CP932" },
	{ "csshiftjis", CS_ICONV, "CP932" },
	{ "mskanji", CS_ICONV, "CP932" },
	{ "windows31j", CS_ICONV, "CP932" },
	{ "cp932", CS_ICONV, "CP932" },
	{ "iso2022jp", CS_ICONV, "ISO-2022-JP-2" },
	{ "csiso2022jp", CS_ICONV, "ISO-2022-JP-2" },
	{ "eucjp", CS_ICONV, "EUC-JP" },
	{ "xeucjp", CS_ICONV, "EUC-JP" },
	{ "big5", CS_ICONV, "BIG5-HKSCS" },
	{ "csbig5", CS_ICONV, "BIG5-HKSCS" },
	{ "cnbig5", CS_ICONV, "BIG5-HKSCS" },
	{ "xxbig5", CS_ICONV, "BIG5-HKSCS" },
	{ "big5hkscs", CS_ICONV, "BIG5-HKSCS" },
	{ "iso88598i", CS_ICONV, "ISO-8859-8" },
	{ "iso88598e", CS_ICONV, "ISO-8859-8" },
	{ "iso88596i", CS_ICONV, "ISO-8859-6" },
	{ "iso88596e", CS_ICONV, "ISO-8859-6" },
	{ "tis620", CS_ICONV, "CP874" },
	{ "iso885911", CS_ICONV, "CP874" },
	{ "windows874", CS_ICONV, "CP874" },
	{ "iso88599", CS_ICONV, "CP1254" },   /* WHATWG: windows-1254 */
	{ "latin5", CS_ICONV, "CP1254" },
	{ "koi8r", CS_ICONV, "KOI8-R" },
	{ "koi8u", CS_ICONV, "KOI8-U" },
	{ "koi8ru", CS_ICONV, "KOI8-RU" },
	{ "xmaccyrillic", CS_ICONV, "MAC-CYRILLIC" },
	{ "xmacroman", CS_ICONV, "MACINTOSH" },
	{ "macintosh", CS_ICONV, "MACINTOSH" },
};

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static _Thread_local struct cd_cache *thread_cache;

static void charset_tables_init(void) __attribute__((constructor));
static void charset_tables_init(void)
{
	unsigned int i;
	uint32_t cp;

	for (i = 0; i < 128; i++) {
		cp = i < 32 ? cp1252_c1[i] : 0x80 + i;
		cp1252_utf8[i][0] = (unsigned char)utf8_encode_char(cp, &cp1252_utf8[i][1]);
	}
}

/*
 * Trim whitespace and quotes, drop an RFC 2231 "*language" suffix; the key
 * keeps only lower-cased letters and digits, so "ISO_8859-1", "iso-8859-1"
 * and "ISO8859-1" meet. False for names that cannot be charsets.
 */
static bool normalize_name(const char *charset, char trimmed[CHARSET_NAME_MAX],
			   char key[CHARSET_NAME_MAX])
{
	const char *start = charset, *end;
	size_t len, i, k = 0;
	char c;

	if (charset == NULL)
		charset = start = "";
	while (*start == ' ' || *start == '\t' || *start == '"' || *start == '\'')
		start++;
	end = strchr(start, '*');
	if (end == NULL)
		end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '"' ||
			       end[-1] == '\''))
		end--;
	len = (size_t)(end - start);
	if (len >= CHARSET_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		c = start[i];
		/* IANA names use these; '/' would pass iconv suffixes */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		      c == ':' || c == '(' || c == ')' || c == '+'))
			return false;
		trimmed[i] = c;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))
			key[k++] = c;
		else if (c >= 'A' && c <= 'Z')
			key[k++] = i_tolower(c);
	}
	trimmed[len] = '\0';
	key[k] = '\0';
	return true;
}

/* Fill t->kind and t->iconv_name (and t->cd for iconv); 0 or -1 unknown. */
static int resolve(const char *charset, struct charset_translation *t)
{
	char trimmed[CHARSET_NAME_MAX], key[CHARSET_NAME_MAX], alt[CHARSET_NAME_MAX + 16];
	const char *digits = NULL;
	size_t i;

	memset(t, 0, sizeof(*t));
	t->cd = (iconv_t)-1;
	if (!normalize_name(charset, trimmed, key))
		return -1;
	for (i = 0; i < N_ELEMENTS(aliases); i++) {
		if (strcmp(aliases[i].key, key) == 0) {
			t->kind = aliases[i].kind;
			if (t->kind != CS_ICONV)
				return 0;
			strcpy(t->iconv_name, aliases[i].iconv_name);
			t->cd = cd_take(t->iconv_name);
			return t->cd == (iconv_t)-1 ? -1 : 0;
		}
	}
	t->kind = CS_ICONV;
	if (trimmed[0] != '\0') {
		strcpy(t->iconv_name, trimmed);
		t->cd = cd_take(t->iconv_name);
		if (t->cd != (iconv_t)-1)
			return 0;
	}
	/* spellings iconv does not know: "win-1250", "windows1250", "cp-1250" */
	if (strncmp(key, "windows", 7) == 0)
		digits = key + 7;
	else if (strncmp(key, "win", 3) == 0 || strncmp(key, "xcp", 3) == 0)
		digits = key + 3;
	else if (strncmp(key, "cp", 2) == 0)
		digits = key + 2;
	if (digits != NULL && digits[0] != '\0' && strspn(digits, "0123456789") == strlen(digits)) {
		snprintf(alt, sizeof(alt), "CP%s", digits);
	} else if (strncmp(key, "iso8859", 7) == 0 && key[7] != '\0' &&
		   strspn(key + 7, "0123456789") == strlen(key + 7)) {
		snprintf(alt, sizeof(alt), "ISO-8859-%s", key + 7);
	} else {
		return -1;
	}
	if (strlen(alt) >= sizeof(t->iconv_name))
		return -1;
	strcpy(t->iconv_name, alt);
	t->cd = cd_take(t->iconv_name);
	return t->cd == (iconv_t)-1 ? -1 : 0;
}

static void cache_destroy(void *p)
{
	struct cd_cache *cache = p;
	unsigned int i;

	for (i = 0; i < cache->count; i++)
		iconv_close(cache->e[i].cd);
	free(cache);
}

static void cache_key_init(void)
{
	if (pthread_key_create(&cache_key, cache_destroy) != 0)
		i_fatal("pthread_key_create failed");
}

static struct cd_cache *cache_get(void)
{
	if (thread_cache == NULL) {
		pthread_once(&cache_once, cache_key_init);
		thread_cache = i_malloc(sizeof(*thread_cache));
		/* closes the descriptors when the thread exits */
		(void)pthread_setspecific(cache_key, thread_cache);
	}
	return thread_cache;
}

/* A descriptor converting from name to UTF-8: this thread's cached one,
   or a new one; (iconv_t)-1 when iconv does not know the name. */
static iconv_t cd_take(const char *name)
{
	struct cd_cache *cache = cache_get();
	unsigned int i;
	iconv_t cd;

	for (i = 0; i < cache->count; i++) {
		if (strcmp(cache->e[i].name, name) == 0) {
			cd = cache->e[i].cd;
			cache->e[i] = cache->e[--cache->count];
			return cd;
		}
	}
	return iconv_open("UTF-8", name);
}

/* Hand a descriptor back to this thread's cache, in its initial state. */
static void cd_give(const char *name, iconv_t cd)
{
	struct cd_cache *cache = cache_get();

	(void)iconv(cd, NULL, NULL, NULL, NULL);
	if (cache->count == CD_CACHE_SIZE) {
		iconv_close(cache->e[0].cd);
		memmove(&cache->e[0], &cache->e[1], sizeof(cache->e[0]) * (CD_CACHE_SIZE - 1));
		cache->count--;
	}
	strcpy(cache->e[cache->count].name, name);
	cache->e[cache->count].cd = cd;
	cache->count++;
}

/* Reserve up to want bytes (fewer when dest's max is near); -2 when there
   is no room at all. */
static int reserve_some(buf_t *dest, size_t want, unsigned char **out_r, size_t *size_r)
{
	size_t room = dest->max - dest->used;

	if (room == 0)
		return -2;
	if (want > room)
		want = room;
	*out_r = buf_reserve(dest, want);
	if (*out_r == NULL)
		return -2;
	*size_r = want;
	return 0;
}

static int append_cp1252(const unsigned char *s, size_t len, buf_t *dest)
{
	const unsigned char *end, *run;
	unsigned char *out, *o, *oend;
	size_t size, chunk, n;

	if (len == 0)
		return 0;   /* s may be NULL: no pointer arithmetic on it */
	end = s + len;

	while (s < end) {
		/* at most 3 bytes out per byte in */
		if (reserve_some(dest, (size_t)(end - s) * 3, &out, &size) < 0)
			return -2;
		o = out;
		oend = out + size;
		while (s < end) {
			if (*s < 0x80) {
				run = s;
				while (s < end && *s < 0x80)
					s++;
				chunk = I_MIN((size_t)(s - run), (size_t)(oend - o));
				memcpy(o, run, chunk);
				o += chunk;
				s = run + chunk;
				if (s < end && *s < 0x80)
					break; /* out of room */
				continue;
			}
			n = cp1252_utf8[*s - 0x80][0];
			if ((size_t)(oend - o) < n)
				break;
			memcpy(o, &cp1252_utf8[*s - 0x80][1], n);
			o += n;
			s++;
		}
		if (o == out)
			return -2;
		buf_commit(dest, (size_t)(o - out));
	}
	return 0;
}

/* Valid UTF-8 as is; each byte that is not part of a valid sequence taken
   as Windows-1252. */
static int append_utf8_or_cp1252(const unsigned char *s, size_t len, buf_t *dest)
{
	size_t i = 0, start = 0, n;
	uint32_t cp;

	if (utf8_is_valid(s, len))
		return buf_append(dest, s, len) < 0 ? -2 : 0;
	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_decode_char(s + i, len - i, &cp);
		if (n > 1) {
			i += n;
			continue;
		}
		if (buf_append(dest, s + start, i - start) < 0 ||
		    append_cp1252(s + i, 1, dest) < 0)
			return -2;
		start = ++i;
	}
	return buf_append(dest, s + start, len - start) < 0 ? -2 : 0;
}

static int emit_utf8_kind(const struct charset_translation *t, const unsigned char *s,
			  size_t len, buf_t *dest)
{
	if (t->kind == CS_UTF8)
		return utf8_sanitize(s, len, dest) < 0 ? -2 : 0;
	return append_utf8_or_cp1252(s, len, dest);
}

/* UTF-8 input: a character cut at the end waits in t->pending. */
static int feed_utf8(struct charset_translation *t, const unsigned char *s, size_t len,
		     buf_t *dest)
{
	size_t n;

	while (t->npending > 0 && len > 0) {
		t->pending[t->npending++] = *s++;
		len--;
		n = utf8_complete_prefix(t->pending, t->npending);
		if (n > 0) {
			if (emit_utf8_kind(t, t->pending, n, dest) < 0)
				return -2;
			memmove(t->pending, t->pending + n, t->npending - n);
			t->npending -= n;
		}
	}
	if (len == 0)
		return 0;
	n = utf8_complete_prefix(s, len);
	if (emit_utf8_kind(t, s, n, dest) < 0)
		return -2;
	memcpy(t->pending, s + n, len - n);
	t->npending = len - n;
	return 0;
}

/*
 * Run iconv over in, appending to dest. Undecodable bytes become U+FFFD.
 * Unless final, an unfinished sequence at the end stops the conversion
 * (*used_r tells where). 0 or -2.
 */
static int iconv_convert(struct charset_translation *t, const unsigned char *in, size_t inlen,
			 bool final, buf_t *dest, size_t *used_r)
{
	char *inp = (char *)(uintptr_t)in, *outp; /* iconv's prototype is not const */
	size_t inleft = inlen, outleft, size, produced, ret;
	unsigned char *out;
	int err;

	*used_r = 0;
	while (inleft > 0) {
		if (reserve_some(dest, inleft + inleft / 2 + 16, &out, &size) < 0)
			return -2;
		outp = (char *)out;
		outleft = size;
		ret = iconv(t->cd, &inp, &inleft, &outp, &outleft);
		err = errno;
		produced = size - outleft;
		if (!utf8_is_valid(out, produced)) {
			/* never trust a converter to break the promise of
			   valid output */
			buf_t tmp;
			int r;

			buf_init(&tmp, BUF_MAX_UNLIMITED);
			r = utf8_sanitize(out, produced, &tmp);
			i_assert(r == 0);
			r = buf_append(dest, tmp.data, tmp.used);
			buf_free(&tmp);
			if (r < 0)
				return -2;
		} else {
			buf_commit(dest, produced);
		}
		if (ret != (size_t)-1)
			break;
		if (err == E2BIG) {
			if (produced == 0)
				return -2; /* dest's max is too close */
			continue;
		}
		if (err == EINVAL && !final && inleft <= PENDING_MAX)
			break;
		/* EILSEQ (or an unfinished sequence at the very end) */
		if (buf_append(dest, replacement, sizeof(replacement)) < 0)
			return -2;
		inp++;
		inleft--;
	}
	*used_r = inlen - inleft;
	return 0;
}

static int feed_iconv(struct charset_translation *t, const unsigned char *s, size_t len,
		      buf_t *dest)
{
	unsigned char tmp[PENDING_MAX * 2];
	size_t take, used, np;

	if (t->npending > 0 && len > 0) {
		/* the unfinished sequence with the bytes that may finish it */
		np = t->npending;
		take = I_MIN(len, (size_t)PENDING_MAX);
		memcpy(tmp, t->pending, np);
		memcpy(tmp + np, s, take);
		if (iconv_convert(t, tmp, np + take, false, dest, &used) < 0)
			return -2;
		if (used < np) {
			/* still unfinished: only possible when all input
			   was taken (the rest is <= PENDING_MAX) */
			i_assert(take == len);
			t->npending = np + take - used;
			memmove(t->pending, tmp + used, t->npending);
			return 0;
		}
		t->npending = 0;
		s += used - np;
		len -= used - np;
	}
	if (len == 0)
		return 0;
	if (iconv_convert(t, s, len, false, dest, &used) < 0)
		return -2;
	t->npending = len - used;
	memcpy(t->pending, s + used, t->npending);
	return 0;
}

int charset_translate_more(struct charset_translation *t, const void *src, size_t len,
			   buf_t *dest)
{
	switch (t->kind) {
	case CS_UTF8:
	case CS_UTF8_OR_CP1252:
		return feed_utf8(t, src, len, dest);
	case CS_CP1252:
		return append_cp1252(src, len, dest);
	case CS_ICONV:
		return feed_iconv(t, src, len, dest);
	}
	i_panic("bad charset kind %d", (int)t->kind);
}

static int translate_finish(struct charset_translation *t, buf_t *dest)
{
	unsigned char *out;
	char *outp;
	size_t used, size, outleft;
	int ret = 0;

	switch (t->kind) {
	case CS_UTF8:
	case CS_UTF8_OR_CP1252:
		if (t->npending > 0)
			ret = emit_utf8_kind(t, t->pending, t->npending, dest);
		break;
	case CS_CP1252:
		break;
	case CS_ICONV:
		if (t->npending > 0)
			ret = iconv_convert(t, t->pending, t->npending, true, dest, &used);
		/* close a shift state (writes nothing for UTF-8 output, but
		   resets the descriptor for the next text) */
		if (ret == 0 && reserve_some(dest, 16, &out, &size) == 0) {
			outp = (char *)out;
			outleft = size;
			if (iconv(t->cd, NULL, NULL, &outp, &outleft) != (size_t)-1)
				buf_commit(dest, size - outleft);
		}
		(void)iconv(t->cd, NULL, NULL, NULL, NULL);
		break;
	}
	t->npending = 0;
	return ret;
}

int charset_translate_finish(struct charset_translation *t, buf_t *dest)
{
	return translate_finish(t, dest);
}

struct charset_translation *charset_translation_new(const char *charset)
{
	struct charset_translation tmp, *t;

	if (resolve(charset, &tmp) < 0)
		return NULL;
	t = i_malloc(sizeof(*t));
	*t = tmp;
	return t;
}

struct charset_translation *charset_translation_new_fallback(void)
{
	struct charset_translation *t = i_malloc(sizeof(*t));

	t->kind = CS_UTF8_OR_CP1252;
	t->cd = (iconv_t)-1;
	return t;
}

void charset_translation_free(struct charset_translation **tp)
{
	struct charset_translation *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	if (t->kind == CS_ICONV && t->cd != (iconv_t)-1)
		cd_give(t->iconv_name, t->cd);
	free(t);
}

int charset_to_utf8(const char *charset, const void *src, size_t len, buf_t *dest)
{
	struct charset_translation t;
	int unknown = 0, ret;

	if (resolve(charset, &t) < 0) {
		memset(&t, 0, sizeof(t));
		t.kind = CS_UTF8_OR_CP1252;
		t.cd = (iconv_t)-1;
		unknown = -1;
	}
	switch (t.kind) {
	case CS_UTF8:
		ret = utf8_sanitize(src, len, dest) < 0 ? -2 : 0;
		break;
	case CS_UTF8_OR_CP1252:
		ret = append_utf8_or_cp1252(src, len, dest);
		break;
	case CS_CP1252:
		ret = append_cp1252(src, len, dest);
		break;
	default:
		ret = feed_iconv(&t, src, len, dest);
		if (ret == 0)
			ret = translate_finish(&t, dest);
		cd_give(t.iconv_name, t.cd);
		break;
	}
	return ret < 0 ? ret : unknown;
}

bool charset_is_utf8(const char *charset)
{
	char trimmed[CHARSET_NAME_MAX], key[CHARSET_NAME_MAX];

	return normalize_name(charset, trimmed, key) && strcmp(key, "utf8") == 0;
}

bool charset_is_known(const char *charset)
{
	struct charset_translation t;

	if (resolve(charset, &t) < 0)
		return false;
	if (t.kind == CS_ICONV)
		cd_give(t.iconv_name, t.cd);
	return true;
}
