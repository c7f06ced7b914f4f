/*
 * Modified UTF-7 (mutf7.h), RFC 3501 5.1.3.
 */
#include "mutf7.h"
#include "utf8.h"

static const char mb64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int mb64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

struct shift {
	bool active;
	uint32_t bits;
	unsigned int nbits;
};

static int shift_unit(struct shift *sh, uint16_t unit, buf_t *dest)
{
	if (!sh->active) {
		if (buf_append_c(dest, '&') < 0)
			return -1;
		sh->active = true;
		sh->bits = 0;
		sh->nbits = 0;
	}
	sh->bits = (sh->bits << 16) | unit;
	sh->nbits += 16;
	while (sh->nbits >= 6) {
		sh->nbits -= 6;
		if (buf_append_c(dest, (unsigned char)mb64[(sh->bits >> sh->nbits) & 0x3f]) < 0)
			return -1;
	}
	sh->bits &= (1u << sh->nbits) - 1;
	return 0;
}

static int shift_end(struct shift *sh, buf_t *dest)
{
	if (!sh->active)
		return 0;
	sh->active = false;
	if (sh->nbits > 0 &&
	    buf_append_c(dest, (unsigned char)mb64[(sh->bits << (6 - sh->nbits)) & 0x3f]) < 0)
		return -1;
	return buf_append_c(dest, '-');
}

int mutf7_encode(const char *utf8, size_t len, buf_t *dest)
{
	const unsigned char *s = (const unsigned char *)utf8;
	struct shift sh = { false, 0, 0 };
	size_t i = 0;

	if (!utf8_is_valid(utf8, len))
		return -1;
	while (i < len) {
		uint32_t cp;

		if (s[i] >= 0x20 && s[i] <= 0x7e) {
			if (shift_end(&sh, dest) < 0)
				return -1;
			if (s[i] == '&') {
				if (buf_append(dest, "&-", 2) < 0)
					return -1;
			} else if (buf_append_c(dest, s[i]) < 0) {
				return -1;
			}
			i++;
			continue;
		}
		i += utf8_decode_char(s + i, len - i, &cp);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (shift_unit(&sh, (uint16_t)(0xd800 | (cp >> 10)), dest) < 0 ||
			    shift_unit(&sh, (uint16_t)(0xdc00 | (cp & 0x3ff)), dest) < 0)
				return -1;
		} else if (shift_unit(&sh, (uint16_t)cp, dest) < 0) {
			return -1;
		}
	}
	return shift_end(&sh, dest);
}

int mutf7_decode(const char *mutf7, size_t len, buf_t *dest)
{
	const unsigned char *s = (const unsigned char *)mutf7;
	size_t i = 0;

	while (i < len) {
		uint32_t bits = 0, high = 0;
		unsigned int nbits = 0;
		size_t start, units = 0;

		if (s[i] != '&') {
			if (s[i] < 0x20 || s[i] > 0x7e)
				return -1;
			if (buf_append_c(dest, s[i]) < 0)
				return -1;
			i++;
			continue;
		}
		start = ++i;
		if (i < len && s[i] == '-') {
			if (buf_append_c(dest, '&') < 0)
				return -1;
			i++;
			continue;
		}
		while (i < len && s[i] != '-') {
			int v = mb64_value(s[i]);

			if (v < 0)
				return -1;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits >= 16) {
				uint32_t u;

				nbits -= 16;
				u = (bits >> nbits) & 0xffff;
				units++;
				if (high != 0) {
					if (u < 0xdc00 || u > 0xdfff)
						return -1;
					u = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
					high = 0;
				} else if (u >= 0xd800 && u <= 0xdbff) {
					high = u;
					i++;
					continue;
				} else if (u >= 0xdc00 && u <= 0xdfff) {
					return -1;
				}
				/* RFC 3501 5.1.3: printable ASCII must not be shifted */
				if (u >= 0x20 && u <= 0x7e)
					return -1;
				if (utf8_append_codepoint(dest, u) < 0)
					return -1;
			}
			i++;
		}
		/* unterminated, empty ("&-" handled above), a dangling high
		   surrogate, or leftover bits that are not zero padding */
		if (i == len || i == start || high != 0 || nbits >= 6 ||
		    (bits & ((1u << nbits) - 1)) != 0 || units == 0)
			return -1;
		i++;  /* '-' */
		/* RFC 3501 5.1.3: "&...-&...-" must have been one shift */
		if (i < len && s[i] == '&' && !(i + 1 < len && s[i + 1] == '-'))
			return -1;
	}
	return 0;
}

bool mutf7_is_valid(const char *mutf7, size_t len)
{
	buf_t tmp;
	int ret;

	buf_init(&tmp, BUF_MAX_UNLIMITED);
	ret = mutf7_decode(mutf7, len, &tmp);
	buf_free(&tmp);
	return ret == 0;
}
