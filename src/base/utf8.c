#include "utf8.h"

/* decode_seq() result for a sequence cut off by the end of the data while
   still valid so far */
#define SEQ_INCOMPLETE 0

static int decode_seq(const unsigned char *p, size_t len, uint32_t *cp_r);
static size_t ascii_prefix(const unsigned char *p, size_t len);

static const unsigned char replacement[3] = { 0xef, 0xbf, 0xbd };

/* Length of the leading run of ASCII bytes, 8 at a time. */
static size_t ascii_prefix(const unsigned char *p, size_t len)
{
	size_t i = 0;
	uint64_t w;

	while (i + 8 <= len) {
		memcpy(&w, p + i, 8);
		if ((w & 0x8080808080808080ULL) != 0)
			break;
		i += 8;
	}
	while (i < len && p[i] < 0x80)
		i++;
	return i;
}

/*
 * Decode the sequence at p (len >= 1). Returns its length (1-4) when valid;
 * SEQ_INCOMPLETE when the data ends inside a sequence that is valid so far;
 * otherwise minus the length of the maximal ill-formed subpart (>= 1).
 * RFC 3629 4 gives the well-formed byte ranges used here.
 */
static int decode_seq(const unsigned char *p, size_t len, uint32_t *cp_r)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	uint32_t cp;
	int need, i;

	if (c < 0x80) {
		*cp_r = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4)
		return -1;
	if (c < 0xe0) {
		need = 1;
		cp = c & 0x1f;
	} else if (c < 0xf0) {
		need = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* surrogates */
	} else {
		need = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* above U+10FFFF */
	}
	for (i = 1; i <= need; i++) {
		if ((size_t)i >= len)
			return SEQ_INCOMPLETE;
		if (p[i] < lo || p[i] > hi)
			return -i;
		cp = (cp << 6) | (p[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp_r = cp;
	return need + 1;
}

bool utf8_is_valid(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;
	uint32_t cp;
	int n;

	while (i < len) {
		if (p[i] < 0x80) {
			i += ascii_prefix(p + i, len - i);
			continue;
		}
		n = decode_seq(p + i, len - i, &cp);
		if (n <= 0)
			return false;
		i += (size_t)n;
	}
	return true;
}

int utf8_sanitize(const void *data, size_t len, buf_t *dest)
{
	const unsigned char *p = data;
	size_t i = 0, start = 0;
	uint32_t cp;
	int n;

	if (len == 0)
		return 0;   /* data may be NULL: no pointer arithmetic on it */
	while (i < len) {
		if (p[i] < 0x80) {
			i += ascii_prefix(p + i, len - i);
			continue;
		}
		n = decode_seq(p + i, len - i, &cp);
		if (n > 0) {
			i += (size_t)n;
			continue;
		}
		/* flush the valid run, then one U+FFFD for the bad subpart */
		if (buf_append(dest, p + start, i - start) < 0 ||
		    buf_append(dest, replacement, sizeof(replacement)) < 0)
			return -1;
		i += n == SEQ_INCOMPLETE ? len - i : (size_t)-n;
		start = i;
	}
	return buf_append(dest, p + start, len - start);
}

size_t utf8_encode_char(uint32_t cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = UTF8_REPLACEMENT_CHAR;
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

int utf8_append_codepoint(buf_t *dest, uint32_t cp)
{
	unsigned char tmp[4];

	return buf_append(dest, tmp, utf8_encode_char(cp, tmp));
}

size_t utf8_decode_char(const unsigned char *data, size_t len, uint32_t *cp_r)
{
	int n;

	i_assert(len > 0);
	n = decode_seq(data, len, cp_r);
	if (n > 0)
		return (size_t)n;
	*cp_r = UTF8_REPLACEMENT_CHAR;
	return 1;
}

size_t utf8_complete_prefix(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i, back;
	uint32_t cp;

	/* a sequence is at most 4 bytes: only the last 3 can be an
	   unfinished one */
	for (back = 1; back <= 3 && back <= len; back++) {
		i = len - back;
		if (p[i] < 0x80)
			return len;
		if (p[i] >= 0xc0)
			return decode_seq(p + i, back, &cp) == SEQ_INCOMPLETE ? i : len;
	}
	return len;
}

size_t utf8_strlen(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0, count = 0;
	uint32_t cp;

	while (i < len) {
		i += utf8_decode_char(p + i, len - i, &cp);
		count++;
	}
	return count;
}
