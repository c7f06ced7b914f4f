#include "imap-quote.h"
#include "utf8.h"

static int append_literal(buf_t *dest, const unsigned char *p, size_t len);

bool imap_is_atom(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		/* RFC 3501 9: ATOM-CHAR = <any CHAR except atom-specials>;
		   atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
		   quoted-specials / resp-specials */
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
		switch (p[i]) {
		case '(': case ')': case '{': case '%': case '*':
		case '"': case '\\': case ']':
			return false;
		default:
			break;
		}
	}
	return true;
}

static int append_literal(buf_t *dest, const unsigned char *p, size_t len)
{
	size_t orig = buf_len(dest), i;
	unsigned char *out;

	if (buf_printf(dest, "{%zu}\r\n", len) < 0)
		return -1;
	out = buf_reserve(dest, len);
	if (out == NULL) {
		buf_truncate(dest, orig);
		return -1;
	}
	for (i = 0; i < len; i++)
		out[i] = p[i] == '\0' ? 0x80 : p[i];
	buf_commit(dest, len);
	return 0;
}

int imap_append_string(buf_t *dest, const void *data, size_t len, unsigned int flags)
{
	const unsigned char *src = data;
	unsigned char *folded = NULL;
	bool literal = false, eight = false;
	size_t i, orig = buf_len(dest);
	int ret = 0;

	if ((flags & IMAP_QUOTE_FLAG_HUMAN) != 0 && len > 0) {
		size_t n = 0;
		bool space = false;

		folded = i_malloc(len + 1);
		for (i = 0; i < len; i++) {
			if (src[i] == ' ' || src[i] == '\t' || src[i] == '\r' || src[i] == '\n') {
				space = n > 0;
				continue;
			}
			if (space)
				folded[n++] = ' ';
			space = false;
			folded[n++] = src[i];
		}
		/* Dovecot sends a changed string as a literal */
		literal = n != len || memcmp(folded, src, len) != 0;
		src = folded;
		len = n;
	} else if ((flags & IMAP_QUOTE_FLAG_NOLF) != 0 && len > 0 &&
		   (memchr(src, '\r', len) != NULL || memchr(src, '\n', len) != NULL)) {
		size_t n = 0;

		folded = i_malloc(len + 1);
		for (i = 0; i < len; i++) {
			if (src[i] != '\r' && src[i] != '\n') {
				folded[n++] = src[i];
			} else if (i + 1 < len && src[i + 1] != ' ' && src[i + 1] != '\t' &&
				   src[i + 1] != '\r' && src[i + 1] != '\n') {
				/* keep the words apart where the break was the only separator */
				folded[n++] = ' ';
			}
		}
		src = folded;
		len = n;
	}

	for (i = 0; i < len && !literal; i++) {
		switch (src[i]) {
		case '\0': case '\r': case '\n':
			literal = true;
			break;
		case '"': case '\\':
			if ((flags & IMAP_QUOTE_FLAG_HUMAN) != 0)
				literal = true;
			break;
		default:
			if (src[i] >= 0x80)
				eight = true;
			break;
		}
	}
	if (!literal && eight)
		literal = (flags & IMAP_QUOTE_FLAG_UTF8) == 0 || !utf8_is_valid(src, len);

	if (literal) {
		ret = append_literal(dest, src, len);
	} else {
		size_t start = 0;

		ret = buf_append_c(dest, '"');
		for (i = 0; i < len && ret == 0; i++) {
			if (src[i] == '"' || src[i] == '\\') {
				if (buf_append(dest, src + start, i - start) < 0 ||
				    buf_append_c(dest, '\\') < 0)
					ret = -1;
				start = i;
			}
		}
		if (ret == 0 && (buf_append(dest, src + start, len - start) < 0 ||
				 buf_append_c(dest, '"') < 0))
			ret = -1;
		if (ret < 0)
			buf_truncate(dest, orig);
	}
	i_free(folded);
	return ret;
}

int imap_append_nstring(buf_t *dest, const char *str, unsigned int flags)
{
	if (str == NULL)
		return buf_append_str(dest, "NIL");
	return imap_append_string(dest, str, strlen(str), flags);
}

int imap_append_nstring_nolf(buf_t *dest, const char *str, unsigned int flags)
{
	return imap_append_nstring(dest, str, flags | IMAP_QUOTE_FLAG_NOLF);
}
