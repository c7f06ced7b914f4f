#include "part-text.h"
#include "arena.h"
#include "base64.h"
#include "qp.h"
#include "charset.h"
#include "utf8.h"
#include "rfc2047.h"

static bool charset_is_ascii(const char *charset);

const char *part_text_charset(const struct mime_part *part)
{
	return mime_part_param(part, "charset");
}

int part_text_decode_cte(const struct mime_part *part, const void *msg, size_t msg_size,
			 buf_t *dest)
{
	const unsigned char *body = msg;
	size_t off = part->body_offset, len = part->body_size;

	if (off > msg_size)
		off = msg_size;
	if (len > msg_size - off)
		len = msg_size - off;
	body += off;

	switch (part->cte) {
	case MIME_CTE_BASE64:
		return base64_decode(body, len, dest);
	case MIME_CTE_QUOTED_PRINTABLE:
		return qp_decode(body, len, dest, false);
	default:
		/* 7bit, 8bit, binary: identity (RFC 2045 6.2); an unknown
		   encoding cannot be undone, so the bytes are shown as sent */
		return buf_append(dest, body, len);
	}
}

static bool charset_is_ascii(const char *charset)
{
	return charset == NULL || charset[0] == '\0' ||
	       i_strcasecmp(charset, "us-ascii") == 0 || i_strcasecmp(charset, "ascii") == 0 ||
	       i_strcasecmp(charset, "ansi_x3.4-1968") == 0 ||
	       i_strcasecmp(charset, "unknown-8bit") == 0 || i_strcasecmp(charset, "x-unknown") == 0;
}

int part_text_decode(const struct mime_part *part, const void *msg, size_t msg_size,
		     buf_t *dest)
{
	const char *charset = part_text_charset(part);
	buf_t raw;
	int ret;

	/* the decoded body is never larger than the encoded one */
	buf_init(&raw, BUF_MAX_UNLIMITED);
	if (part_text_decode_cte(part, msg, msg_size, &raw) < 0) {
		/* cannot happen with an unlimited buffer */
		buf_free(&raw);
		return -1;
	}
	/* unlabelled or us-ascii text with 8-bit bytes: valid UTF-8 as is,
	   other bytes as Windows-1252 (charset.h's x-unknown); an unknown
	   charset (-1) gets the same treatment from charset_to_utf8() */
	if (charset_is_ascii(charset))
		charset = "x-unknown";
	ret = charset_to_utf8(charset, buf_str(&raw), buf_len(&raw), dest);
	ret = ret == -2 ? -1 : 0;
	buf_free(&raw);
	return ret;
}

const char *part_text_filename(struct arena *arena, const struct mime_part *part)
{
	const struct mime_param *p = NULL;
	const char *value;
	size_t start, end;
	unsigned int i;

	for (i = 0; i < part->disposition_param_count && p == NULL; i++) {
		if (i_strcasecmp(part->disposition_params[i].name, "filename") == 0)
			p = &part->disposition_params[i];
	}
	for (i = 0; i < part->param_count && p == NULL; i++) {
		if (i_strcasecmp(part->params[i].name, "name") == 0)
			p = &part->params[i];
	}
	if (p == NULL || p->value == NULL)
		return NULL;
	value = p->value;
	/* RFC 2047 5 forbids encoded words in quoted strings, yet many mailers
	   send filename="=?UTF-8?B?...?=": decode them as readers do; raw 8-bit
	   names that are not UTF-8 are repaired by the same decoder */
	if ((p->charset == NULL && strstr(value, "=?") != NULL) ||
	    !utf8_is_valid(value, strlen(value)))
		value = rfc2047_decode(arena, value, strlen(value));

	start = 0;
	end = strlen(value);
	while (start < end && (value[start] == ' ' || value[start] == '\t' ||
			       value[start] == '\r' || value[start] == '\n'))
		start++;
	while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t' ||
			       value[end - 1] == '\r' || value[end - 1] == '\n'))
		end--;
	return arena_strndup(arena, value + start, end - start);
}
