/*
 * DATA/BDAT message stream decoder (smtp-data.h).
 */
#include "smtp-data.h"

enum line_kind {
	LINE_BLANK,      /* the empty line between header and body */
	LINE_CONT,       /* a folded continuation */
	LINE_FIELD,      /* name ":" ... */
	LINE_BODY,       /* anything else: the header has ended */
};

static void out_bytes(struct smtp_data_reader *r, buf_t *out, const void *data, size_t len);
static bool put(struct smtp_data_reader *r, buf_t *out, const unsigned char *data, size_t len);
static bool header_line_done(struct smtp_data_reader *r);
static enum line_kind classify(struct smtp_data_reader *r, const unsigned char *l, size_t n);

void smtp_data_reader_init(struct smtp_data_reader *r, bool dot_mode)
{
	memset(r, 0, sizeof(*r));
	r->dot_mode = dot_mode;
	r->line_start = true;
	r->crlf_start = true;  /* DATA's own CRLF precedes the first line */
	r->in_header = true;
	r->out_line_start = true;
	buf_init(&r->hline, BUF_MAX_UNLIMITED);
}

void smtp_data_reader_deinit(struct smtp_data_reader *r)
{
	buf_free(&r->hline);
}

static void out_bytes(struct smtp_data_reader *r, buf_t *out, const void *data, size_t len)
{
	if (len == 0)
		return;
	/* the caller sized out for this (smtp-data.h) */
	if (buf_append(out, data, len) < 0)
		i_panic("smtp data: output buffer too small");
	r->size += len;
	r->out_line_start = ((const unsigned char *)data)[len - 1] == '\n';
}

/* RFC 5322 2.2 / 3.6.8: field-name = 1*ftext, ftext = %d33-57 / %d59-126;
   obs-optional allows white space before the colon (4.5.3). */
static enum line_kind classify(struct smtp_data_reader *r, const unsigned char *l, size_t n)
{
	size_t i = 0, j;

	if (n == 2 && l[0] == '\r' && l[1] == '\n')
		return LINE_BLANK;
	if (n > 0 && (l[0] == ' ' || l[0] == '\t'))
		return LINE_CONT;
	while (i < n && l[i] >= 33 && l[i] <= 126 && l[i] != ':')
		i++;
	if (i == 0)
		return LINE_BODY;
	j = i;
	while (j < n && (l[j] == ' ' || l[j] == '\t'))
		j++;
	if (j >= n || l[j] != ':')
		return LINE_BODY;
	if (i_memcaseeq(l, i, "Received"))
		r->received_count++;
	else if (i_memcaseeq(l, i, "Date"))
		r->has_date = true;
	else if (i_memcaseeq(l, i, "Message-ID"))
		r->has_message_id = true;
	return LINE_FIELD;
}

/* A header line is complete (or too long): true when the header ends. */
static bool header_line_done(struct smtp_data_reader *r)
{
	enum line_kind kind = classify(r, r->hline.data, r->hline.used);

	if (kind == LINE_FIELD || kind == LINE_CONT)
		return false;
	r->in_header = false;
	r->header_end_pending = true;
	r->header_end_blank = kind == LINE_BLANK;
	return true;
}

/* Output decoded bytes through the header scan. Returns true when the
   header block just ended (the line is held in hline). */
static bool put(struct smtp_data_reader *r, buf_t *out, const unsigned char *data, size_t len)
{
	if (!r->in_header) {
		out_bytes(r, out, data, len);
		return false;
	}
	/* callers pass either a run without LF, or data ending in LF */
	if (r->hline.used + len > SMTP_DATA_MAX_HEADER_LINE) {
		/* too long for a header line: it is body, and the header has
		   ended; it is held (with this run) until the caller has added
		   its fields (bounded by one input chunk) */
		if (buf_append(&r->hline, data, len) < 0)
			i_panic("smtp data: header line buffer");
		r->in_header = false;
		r->header_end_pending = true;
		r->header_end_blank = false;
		return true;
	}
	if (buf_append(&r->hline, data, len) < 0)
		i_panic("smtp data: header line buffer");
	if (len > 0 && data[len - 1] == '\n') {
		if (header_line_done(r))
			return true;
		out_bytes(r, out, r->hline.data, r->hline.used);
		buf_reset(&r->hline);
	}
	return false;
}

enum smtp_data_status smtp_data_reader_feed(struct smtp_data_reader *r, const unsigned char *in,
					    size_t len, size_t *consumed_r, buf_t *out)
{
	static const unsigned char crlf[2] = { '\r', '\n' };
	static const unsigned char cr = '\r';
	size_t i = 0;

	*consumed_r = 0;
	if (r->done)
		return SMTP_DATA_DONE;
	if (r->header_end_pending) {
		/* the line held at the header end goes out now */
		out_bytes(r, out, r->hline.data, r->hline.used);
		buf_free(&r->hline);
		buf_init(&r->hline, BUF_MAX_UNLIMITED);
		r->header_end_pending = false;
	}
	while (i < len) {
		unsigned char c = in[i];

		if (r->dot_mode && r->dot_state == 1) {
			if (c == '\r') {
				r->dot_state = 2;
				i++;
				continue;
			}
			r->dot_state = 0;
			r->line_start = false;
			if (c == '\n') {
				/* ".\n" is not the end: only CRLF.CRLF is (a bare-LF
				   end marker is how SMTP smuggling works); the line is
				   data, kept as it came */
				if (put(r, out, (const unsigned char *)".", 1)) {
					*consumed_r = i;
					return SMTP_DATA_HEADER_END;
				}
			}
			/* RFC 5321 4.5.2: otherwise the leading dot goes; go on with c */
			continue;
		}
		if (r->dot_mode && r->dot_state == 2) {
			r->dot_state = 0;
			if (c == '\n') {
				i++;
				r->done = true;
				*consumed_r = i;
				return SMTP_DATA_DONE;
			}
			/* ".\r" and more: the dot goes, the CR is pending */
			r->line_start = false;
			r->pending_cr = true;
			continue;
		}
		if (r->dot_mode && r->line_start && r->crlf_start && c == '.') {
			r->dot_state = 1;
			i++;
			continue;
		}
		if (c == '\n') {
			/* CRLF, or a bare LF made CRLF */
			r->crlf_start = r->pending_cr;
			r->pending_cr = false;
			r->line_start = true;
			i++;
			if (put(r, out, crlf, 2)) {
				*consumed_r = i;
				return SMTP_DATA_HEADER_END;
			}
			continue;
		}
		if (r->pending_cr) {
			/* a lone CR is kept */
			r->pending_cr = false;
			if (put(r, out, &cr, 1)) {
				/* the header ended inside an overlong line: c not consumed */
				*consumed_r = i;
				return SMTP_DATA_HEADER_END;
			}
		}
		r->line_start = false;
		if (c == '\r') {
			r->pending_cr = true;
			i++;
			continue;
		}
		/* a run of ordinary bytes */
		{
			size_t start = i;

			while (i < len && in[i] != '\r' && in[i] != '\n')
				i++;
			if (put(r, out, in + start, i - start)) {
				*consumed_r = i;
				return SMTP_DATA_HEADER_END;
			}
		}
	}
	*consumed_r = len;
	return SMTP_DATA_MORE;
}

bool smtp_data_reader_finish(struct smtp_data_reader *r, buf_t *out)
{
	bool ended;

	if (r->header_end_pending) {
		out_bytes(r, out, r->hline.data, r->hline.used);
		r->header_end_pending = false;
		buf_reset(&r->hline);
	}
	ended = !r->in_header;
	if (r->pending_cr) {
		r->pending_cr = false;
		if (r->in_header) {
			if (buf_append_c(&r->hline, '\r') < 0)
				i_panic("smtp data: header line buffer");
		} else {
			out_bytes(r, out, "\r", 1);
		}
	}
	if (r->in_header && r->hline.used > 0) {
		/* a partial last line (BDAT without a final CRLF) */
		out_bytes(r, out, r->hline.data, r->hline.used);
		buf_reset(&r->hline);
	}
	return ended;
}
