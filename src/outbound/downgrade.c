/*
 * 8BITMIME downgrade (RFC 6152 3, RFC 1652 originally): a server that does
 * not offer 8BITMIME gets 7-bit data. Every body part holding 8-bit bytes
 * is re-encoded (text as quoted-printable, other types as base64) and its
 * Content-Transfer-Encoding rewritten; enclosing multiparts and message
 * parts declared 8bit become 7bit. Everything else is copied byte for
 * byte. Headers are not touched: raw 8-bit header fields need SMTPUTF8,
 * which is checked separately.
 */
#include "outbound.h"

#include "arena.h"
#include "base64.h"
#include "mime.h"
#include "qp.h"
#include "utf8.h"

static bool needs(const unsigned char *data, const struct mime_part *part);
static int convert(const unsigned char *data, const struct mime_part *part, size_t *cursor,
		   buf_t *out, const char **error_r);
static int rewrite_header(const unsigned char *data, const struct mime_part *part,
			  const char *cte, bool root, bool add_type, const char *charset,
			  buf_t *out);

static bool is_leaf(const struct mime_part *part)
{
	return !mime_part_is_multipart(part) && !mime_part_is_message(part);
}

static bool needs(const unsigned char *data, const struct mime_part *part)
{
	const struct mime_part *child;

	if (is_leaf(part))
		return i_mem_has_8bit(data + part->body_offset, part->body_size);
	for (child = part->children; child != NULL; child = child->next) {
		if (needs(data, child))
			return true;
	}
	return i_mem_has_8bit(data + part->preamble_offset, part->preamble_size) ||
	       i_mem_has_8bit(data + part->epilogue_offset, part->epilogue_size);
}

/* Copy the header block without its Content-Transfer-Encoding field,
   adding ours (and MIME-Version / Content-Type for a message that had no
   MIME header at all) before the blank line. */
static int rewrite_header(const unsigned char *data, const struct mime_part *part,
			  const char *cte, bool root, bool add_type, const char *charset,
			  buf_t *out)
{
	const unsigned char *p = data + part->offset, *end = p + part->header_size;
	bool skipping = false, have_version = false;
	const unsigned char *blank = end;

	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		const unsigned char *next = nl != NULL ? nl + 1 : end;
		size_t len = (size_t)(next - p);

		if (len == 1 || (len == 2 && p[0] == '\r')) {
			blank = p;     /* the empty line ending the header */
			break;
		}
		if (p[0] != ' ' && p[0] != '\t') {
			skipping = len >= 26 && i_strncasecmp((const char *)p,
							      "Content-Transfer-Encoding:", 26) == 0;
			if (len >= 13 && i_strncasecmp((const char *)p, "MIME-Version:", 13) == 0)
				have_version = true;
		}
		if (!skipping && buf_append(out, p, len) < 0)
			return -1;
		p = next;
	}
	if (root && !have_version && buf_append_str(out, "MIME-Version: 1.0\r\n") < 0)
		return -1;
	if (add_type && buf_printf(out, "Content-Type: text/plain; charset=%s\r\n", charset) < 0)
		return -1;
	if (buf_printf(out, "Content-Transfer-Encoding: %s\r\n", cte) < 0)
		return -1;
	/* the blank line as it was (or a new one when the header had none) */
	if (blank < end)
		return buf_append(out, blank, (size_t)(end - blank));
	return buf_append_str(out, "\r\n");
}

static int convert(const unsigned char *data, const struct mime_part *part, size_t *cursor,
		   buf_t *out, const char **error_r)
{
	const struct mime_part *child;
	size_t body_end = part->body_offset + part->body_size;

	if (!needs(data, part))
		return 0;   /* copied as a gap */
	if ((part->flags & (MIME_PART_FLAG_DEPTH_LIMIT | MIME_PART_FLAG_PART_LIMIT |
			    MIME_PART_FLAG_HEADER_LIMIT)) != 0) {
		*error_r = "an 8-bit part past the MIME parser's limits";
		return -1;
	}
	if (buf_append(out, data + *cursor, part->offset - *cursor) < 0)
		goto full;
	if (is_leaf(part)) {
		bool text = i_strcasecmp(part->type, "text") == 0;
		bool root = part->parent == NULL;
		bool add_type = root && !part->content_type_explicit;
		const char *charset = "unknown-8bit";    /* RFC 1428 */
		int ret;

		if (mime_part_is(part, "message", NULL)) {
			/* RFC 2046 5.2.2.1, 5.2.3.2: message/partial and
			   external-body are 7bit only; can't be re-encoded */
			*error_r = "8-bit data in a message part that must be 7bit";
			return -1;
		}
		if (part->cte != MIME_CTE_7BIT && part->cte != MIME_CTE_8BIT &&
		    part->cte != MIME_CTE_BINARY) {
			*error_r = "8-bit data in a part already encoded";
			return -1;
		}
		if (add_type && utf8_is_valid(data + part->body_offset, part->body_size))
			charset = "utf-8";
		if (rewrite_header(data, part, text ? "quoted-printable" : "base64", root, add_type,
				   charset, out) < 0)
			goto full;
		if (text)
			ret = qp_encode(data + part->body_offset, part->body_size, out,
					QP_ENCODE_FROM_DOT);
		else
			ret = base64_encode_lines(data + part->body_offset, part->body_size, out, 76);
		if (ret < 0)
			goto full;
		/* the line break before a following boundary is not part of
		   the body (RFC 2046 5.1.1): the gap copy brings it */
		*cursor = body_end;
		return 0;
	}
	if (i_mem_has_8bit(data + part->preamble_offset, part->preamble_size) ||
	    i_mem_has_8bit(data + part->epilogue_offset, part->epilogue_size)) {
		*error_r = "8-bit data in a multipart preamble or epilogue";
		return -1;
	}
	if (rewrite_header(data, part, "7bit", part->parent == NULL, false, NULL, out) < 0)
		goto full;
	*cursor = part->body_offset;
	for (child = part->children; child != NULL; child = child->next) {
		if (convert(data, child, cursor, out, error_r) < 0)
			return -1;
	}
	return 0;
full:
	*error_r = "converted message too large";
	return -1;
}

int outbound_downgrade_8bit(const unsigned char *data, size_t size, buf_t *out,
			    const char **error_r)
{
	struct arena *arena = arena_new(0);
	struct mime_part *root = mime_parse(arena, data, size, NULL);
	size_t cursor = 0;
	int ret;

	ret = convert(data, root, &cursor, out, error_r);
	if (ret == 0 && buf_append(out, data + cursor, size - cursor) < 0) {
		*error_r = "converted message too large";
		ret = -1;
	}
	arena_free(&arena);
	return ret;
}
