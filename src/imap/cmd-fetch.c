/*
 * FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3501 6.4.5, 7.4.2;
 * RFC 3516 BINARY). The data items are parsed by imap-fetch-parse.c; here
 * they are answered from the store: flags, dates, sizes, ENVELOPE and
 * BODYSTRUCTURE from the index (no file opened), the root header from the
 * index's header cache, everything else from the message file through the
 * cached part table, in the CRLF form (sizes and partial offsets count
 * it).
 *
 * The work is resumable: run() stops after about IMAP_OUTPUT_CHUNK bytes
 * of output (also in the middle of a large literal) and the session runs
 * it again once the client has read them, so neither a huge FETCH 1:* nor
 * a 50 MB BODY[] is ever held in memory whole.
 */
#include "imap-common.h"
#include "arena.h"
#include "base64.h"
#include "imap-fetch.h"
#include "imap-seqset.h"
#include "imap-util.h"
#include "mime.h"
#include "qp.h"

#include <stdio.h>

struct fetch_ctx {
	struct imap_seqset set;
	struct imap_fetch_request req;
	unsigned int store_fields;
	bool seen_allowed;               /* read-write: BODY[] sets \Seen */

	struct mail_uid_range *ranges;
	unsigned int range_count;
	struct mail_fetch_iter *iter;
	bool iter_done;

	/* the message being written */
	const struct mail_record *rec;
	struct mail_file *file;
	unsigned int item;               /* next item to write */
	bool in_message;                 /* "* n FETCH (" is out */
	bool need_sp;
	unsigned int flags;              /* after setting \Seen */
	const char *const *keywords;
	unsigned int keyword_count;
	bool flags_pending;              /* \Seen was set: FLAGS must be sent */

	/* a large literal in progress */
	bool streaming;
	struct mail_section section;
	uint64_t pos, end;

	bool some_expunged, some_failed;
	struct mail_error error;
};

static bool uses_root_header(const struct imap_fetch_item *it)
{
	return it->kind == IMAP_FETCH_SECTION && it->part[0] == '\0' &&
	       (it->text == IMAP_SECTION_HEADER || it->text == IMAP_SECTION_HEADER_FIELDS ||
		it->text == IMAP_SECTION_HEADER_FIELDS_NOT);
}

/* Does the item need the message file (not only the index)? */
static bool needs_file(const struct imap_fetch_item *it)
{
	return (it->kind == IMAP_FETCH_SECTION && !uses_root_header(it)) ||
	       it->kind == IMAP_FETCH_BINARY || it->kind == IMAP_FETCH_BINARY_SIZE;
}

static void fetch_cleanup(struct imap_command *cmd)
{
	struct fetch_ctx *ctx = cmd->ctx;
	struct mail_error error;

	if (ctx->file != NULL)
		mail_file_close(&ctx->file);
	if (ctx->iter != NULL)
		(void)mailbox_fetch_end(&ctx->iter, &error);
}

bool cmd_fetch(struct imap_command *cmd)
{
	struct fetch_ctx *ctx = arena_new_type(cmd->arena, struct fetch_ctx);
	const char *error;
	unsigned int i;

	cmd->ctx = ctx;
	if (cmd->arg_count < 2 || cmd->arg_count > 3 || imap_arg_atom(&cmd->args[0]) == NULL ||
	    imap_seqset_parse(cmd->arena, cmd->args[0].str, &ctx->set, &error) < 0) {
		imap_cmd_bad(cmd, "Usage: FETCH set items");
		return false;
	}
	if (cmd->arg_count == 3) {
		/* RFC 4466 fetch-modifiers (CHANGEDSINCE, VANISHED) come with
		   CONDSTORE/QRESYNC, not offered yet */
		imap_cmd_bad(cmd, "Unsupported FETCH modifier");
		return false;
	}
	if (imap_fetch_parse(cmd->arena, &cmd->args[1], cmd->uid, &ctx->req, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return false;
	}
	for (i = 0; i < ctx->req.count; i++) {
		const struct imap_fetch_item *it = &ctx->req.items[i];

		switch (it->kind) {
		case IMAP_FETCH_FLAGS: ctx->store_fields |= MAIL_FETCH_FLAGS; break;
		case IMAP_FETCH_INTERNALDATE: ctx->store_fields |= MAIL_FETCH_INTERNALDATE; break;
		case IMAP_FETCH_RFC822_SIZE: ctx->store_fields |= MAIL_FETCH_SIZE; break;
		case IMAP_FETCH_ENVELOPE: ctx->store_fields |= MAIL_FETCH_ENVELOPE; break;
		case IMAP_FETCH_BODY: ctx->store_fields |= MAIL_FETCH_BODY; break;
		case IMAP_FETCH_BODYSTRUCTURE: ctx->store_fields |= MAIL_FETCH_BODYSTRUCTURE; break;
		default:
			if (uses_root_header(it))
				ctx->store_fields |= MAIL_FETCH_HEADER;
			break;
		}
	}
	ctx->seen_allowed = ctx->req.sets_seen && !cmd->session->box_readonly;
	cmd->cleanup = fetch_cleanup;
	if (ctx->seen_allowed)
		ctx->store_fields |= MAIL_FETCH_FLAGS;
	return true;
}

static void out_str(struct imap_command *cmd, const char *s)
{
	if (buf_append_str(&cmd->out, s) < 0)
		i_panic("imap: output buffer full");
}

static void out_printf(struct imap_command *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
static void out_printf(struct imap_command *cmd, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	if (buf_vprintf(&cmd->out, fmt, args) < 0)
		i_panic("imap: output buffer full");
	va_end(args);
}

/* Bytes of a literal: a NUL cannot travel in one (RFC 9051 9 CHAR8), so it
   goes as 0x80, as Dovecot sends it; the size is unchanged. */
static void out_literal_bytes(struct imap_command *cmd, const unsigned char *data, size_t len)
{
	unsigned char *dst = buf_reserve(&cmd->out, len);
	size_t i;

	if (dst == NULL)
		i_panic("imap: output buffer full");
	for (i = 0; i < len; i++)
		dst[i] = data[i] == '\0' ? 0x80 : data[i];
	buf_commit(&cmd->out, len);
}

static void out_literal(struct imap_command *cmd, const unsigned char *data, size_t len)
{
	out_printf(cmd, "{%zu}\r\n", len);
	out_literal_bytes(cmd, data, len);
}

/* HEADER.FIELDS / HEADER.FIELDS.NOT (RFC 9051 6.4.5): the fields of a
   header block whose names are (not) in the list, each with its
   continuation lines, then the blank line. */
static void filter_fields(const unsigned char *hdr, size_t len, const struct imap_fetch_item *it,
			  buf_t *dest)
{
	size_t pos = 0;
	bool not = it->text == IMAP_SECTION_HEADER_FIELDS_NOT;

	while (pos < len) {
		size_t start = pos, name_end, end;
		bool match = false;
		unsigned int i;

		if (hdr[pos] == '\r' || hdr[pos] == '\n')
			break;   /* the blank line ending the header */
		/* the field: this line and every following line that starts
		   with WSP */
		end = pos;
		for (;;) {
			while (end < len && hdr[end] != '\n')
				end++;
			if (end < len)
				end++;
			if (end >= len || (hdr[end] != ' ' && hdr[end] != '\t'))
				break;
		}
		name_end = start;
		while (name_end < end && hdr[name_end] != ':' && hdr[name_end] != '\n')
			name_end++;
		if (name_end < end && hdr[name_end] == ':') {
			size_t n = name_end;

			while (n > start && (hdr[n - 1] == ' ' || hdr[n - 1] == '\t'))
				n--;   /* "Subject :" (RFC 822 allowed it) */
			for (i = 0; i < it->field_count; i++) {
				if (strlen(it->fields[i]) == n - start &&
				    i_memcaseeq(hdr + start, n - start, it->fields[i])) {
					match = true;
					break;
				}
			}
			if (match != not && buf_append(dest, hdr + start, end - start) < 0)
				i_panic("imap: output buffer full");
		}
		pos = end;
	}
	if (buf_append(dest, "\r\n", 2) < 0)
		i_panic("imap: output buffer full");
}

/* Apply <offset.length> and write the string. */
static void out_partial_literal(struct imap_command *cmd, const struct imap_fetch_item *it,
				const unsigned char *data, size_t len)
{
	if (it->partial) {
		if (it->offset >= len) {
			data += len;
			len = 0;
		} else {
			data += it->offset;
			len -= (size_t)it->offset;
			if (it->length < len)
				len = (size_t)it->length;
		}
	}
	out_literal(cmd, data, len);
}

static enum mail_section_text section_text(const struct imap_fetch_item *it)
{
	switch (it->text) {
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		return MAIL_SECTION_HEADER;
	case IMAP_SECTION_TEXT:
		return MAIL_SECTION_TEXT;
	case IMAP_SECTION_MIME:
		return MAIL_SECTION_MIME;
	case IMAP_SECTION_ALL:
		break;
	}
	return MAIL_SECTION_ALL;
}

/* Read a whole (small) section into a buffer. */
static int read_section(struct fetch_ctx *ctx, const struct mail_section *sec, buf_t *dest)
{
	return mail_file_read(ctx->file, sec, 0, sec->size, dest, &ctx->error);
}

/* BINARY: the part's content with its transfer encoding undone (RFC 3516
   4.2). -1 for an encoding tern does not know ([UNKNOWN-CTE]). */
static int decode_binary(struct fetch_ctx *ctx, const struct mail_section *sec, buf_t *dest)
{
	buf_t raw;
	int ret = 0;

	buf_init(&raw, BUF_MAX_UNLIMITED);
	if ((sec->cte == MIME_CTE_BINARY ? mail_file_read_raw(ctx->file, sec, &raw, &ctx->error) :
	     read_section(ctx, sec, &raw)) < 0) {
		buf_free(&raw);
		return -2;
	}
	switch (sec->cte) {
	case MIME_CTE_BASE64:
		ret = base64_decode(raw.data, raw.used, dest);
		break;
	case MIME_CTE_QUOTED_PRINTABLE:
		ret = qp_decode(raw.data, raw.used, dest, false);
		break;
	case MIME_CTE_UNKNOWN:
		ret = -1;
		break;
	default:
		ret = buf_append(dest, raw.data, raw.used);
		break;
	}
	buf_free(&raw);
	return ret;
}

/* Write one body item. Returns false when the output is full in the middle
   of a streamed literal (come back later). */
static bool write_section(struct imap_command *cmd, struct fetch_ctx *ctx,
			  const struct imap_fetch_item *it)
{
	struct mail_section sec;
	buf_t data;

	if (ctx->streaming)
		goto stream;
	out_printf(cmd, "%s ", it->response_name);
	if (uses_root_header(it) && ctx->rec->header != NULL) {
		/* the index's header cache: no file opened */
		if (it->text == IMAP_SECTION_HEADER) {
			out_partial_literal(cmd, it, ctx->rec->header, ctx->rec->header_size);
		} else {
			buf_init(&data, BUF_MAX_UNLIMITED);
			filter_fields(ctx->rec->header, ctx->rec->header_size, it, &data);
			out_partial_literal(cmd, it, data.data, data.used);
			buf_free(&data);
		}
		return true;
	}
	if (ctx->file == NULL || mail_file_section(ctx->file, it->part, section_text(it), &sec,
						   &ctx->error) < 0) {
		/* no such part: an empty string, as Dovecot answers */
		out_str(cmd, "\"\"");
		return true;
	}
	if (it->kind == IMAP_FETCH_BINARY || it->kind == IMAP_FETCH_BINARY_SIZE) {
		int r;

		buf_init(&data, BUF_MAX_UNLIMITED);
		r = it->part[0] == '\0' ? read_section(ctx, &sec, &data) : decode_binary(ctx, &sec, &data);
		if (r < 0) {
			buf_free(&data);
			out_str(cmd, it->kind == IMAP_FETCH_BINARY_SIZE ? "0" : "\"\"");
			if (r == -1)
				ctx->error.code = MAIL_ERROR_PARAMS;
			ctx->some_failed = true;
			return true;
		}
		if (it->kind == IMAP_FETCH_BINARY_SIZE) {
			out_printf(cmd, "%zu", data.used);
		} else {
			const unsigned char *d = data.data;
			size_t len = data.used;

			if (it->partial) {
				if (it->offset >= len) {
					d += len;
					len = 0;
				} else {
					d += it->offset;
					len = (size_t)I_MIN((uint64_t)(len - it->offset), it->length);
				}
			}
			/* RFC 3516 4.2: literal8 when the data holds NUL */
			if (len > 0 && memchr(d, '\0', len) != NULL) {
				out_printf(cmd, "~{%zu}\r\n", len);
				if (buf_append(&cmd->out, d, len) < 0)
					i_panic("imap: output buffer full");
			} else {
				out_literal(cmd, d, len);
			}
		}
		buf_free(&data);
		return true;
	}
	if (it->text == IMAP_SECTION_HEADER_FIELDS || it->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
		buf_t hdr;

		buf_init(&hdr, BUF_MAX_UNLIMITED);
		buf_init(&data, BUF_MAX_UNLIMITED);
		if (read_section(ctx, &sec, &hdr) < 0) {
			ctx->some_failed = true;
			out_str(cmd, "\"\"");
		} else {
			filter_fields(hdr.data, hdr.used, it, &data);
			out_partial_literal(cmd, it, data.data, data.used);
		}
		buf_free(&hdr);
		buf_free(&data);
		return true;
	}
	/* the bytes themselves, streamed */
	ctx->section = sec;
	ctx->pos = 0;
	ctx->end = sec.size;
	if (it->partial) {
		ctx->pos = I_MIN(it->offset, sec.size);
		ctx->end = ctx->pos + I_MIN(it->length, sec.size - ctx->pos);
	}
	out_printf(cmd, "{%llu}\r\n", (unsigned long long)(ctx->end - ctx->pos));
	ctx->streaming = true;
stream:
	while (ctx->pos < ctx->end) {
		uint64_t want = I_MIN(ctx->end - ctx->pos, (uint64_t)IMAP_OUTPUT_CHUNK);
		size_t before = cmd->out.used;

		if (cmd->out.used >= IMAP_OUTPUT_CHUNK)
			return false;
		if (mail_file_read(ctx->file, &ctx->section, ctx->pos, want, &cmd->out,
				   &ctx->error) < 0 || cmd->out.used == before) {
			/* the file ended early (it changed under us): the
			   literal's promised size must still be kept, so pad with
			   spaces and say NO at the end */
			uint64_t left = ctx->end - ctx->pos;

			buf_truncate(&cmd->out, before);
			while (left-- > 0) {
				if (buf_append_c(&cmd->out, ' ') < 0)
					i_panic("imap: output buffer full");
			}
			ctx->pos = ctx->end;
			ctx->some_failed = true;
			break;
		}
		/* NUL bytes cannot travel in a literal */
		for (size_t i = before; i < cmd->out.used; i++) {
			if (cmd->out.data[i] == '\0')
				cmd->out.data[i] = 0x80;
		}
		ctx->pos += cmd->out.used - before;
	}
	ctx->streaming = false;
	return true;
}

/* Start the message: \Seen, the file, "* n FETCH (". false: skip it. */
static bool message_begin(struct imap_command *cmd, struct fetch_ctx *ctx)
{
	const struct mail_record *rec = ctx->rec;
	struct imap_session *session = cmd->session;

	if (rec->expunged) {
		/* RFC 2180 4.1.1: expunged by another session and not yet
		   announced: no data, and the tagged response says so */
		ctx->some_expunged = true;
		return false;
	}
	ctx->flags = rec->flags;
	ctx->keywords = rec->keywords;
	ctx->keyword_count = rec->keyword_count;
	ctx->flags_pending = false;
	if (ctx->req.needs_body) {
		bool need = false;

		for (unsigned int i = 0; i < ctx->req.count; i++) {
			const struct imap_fetch_item *it = &ctx->req.items[i];

			/* the root header comes from the index, unless it has none */
			need = need || needs_file(it) || (uses_root_header(it) && rec->header == NULL);
		}
		if (need && mail_open(session->box, rec->uid, &ctx->file, &ctx->error) < 0) {
			/* a vanished or broken file: only this message fails */
			if (ctx->error.code == MAIL_ERROR_EXPUNGED)
				ctx->some_expunged = true;
			else
				ctx->some_failed = true;
			return false;
		}
	}
	/* RFC 3516 4.3: BINARY of a part whose transfer encoding tern cannot
	   undo fails the command with NO [UNKNOWN-CTE]: that message gets no
	   FETCH response at all, rather than a half one */
	for (unsigned int i = 0; ctx->file != NULL && i < ctx->req.count; i++) {
		const struct imap_fetch_item *it = &ctx->req.items[i];
		struct mail_section sec;

		if ((it->kind == IMAP_FETCH_BINARY || it->kind == IMAP_FETCH_BINARY_SIZE) &&
		    it->part[0] != '\0' &&
		    mail_file_section(ctx->file, it->part, MAIL_SECTION_ALL, &sec, &ctx->error) == 0 &&
		    sec.cte == MIME_CTE_UNKNOWN) {
			ctx->error.code = MAIL_ERROR_PARAMS;
			mail_file_close(&ctx->file);
			return false;
		}
	}
	if (ctx->seen_allowed && (rec->flags & MAIL_SEEN) == 0) {
		/* RFC 9051 6.4.5: BODY[...] (not PEEK) sets \Seen; the new
		   flags go in the same response */
		struct mail_uid_range r = { rec->uid, rec->uid };
		struct mail_flags_change ch = { .op = MAIL_FLAGS_ADD, .flags = MAIL_SEEN };
		struct mail_flags_result *res;
		unsigned int n, mcount;
		uint32_t *modified;
		struct mail_error error;

		if (mailbox_store(session->box, &r, 1, &ch, cmd->arena, &res, &n, &modified, &mcount,
				  &error) == 0 && n == 1) {
			ctx->flags = res[0].flags;
			ctx->keywords = res[0].keywords;
			ctx->keyword_count = res[0].keyword_count;
			ctx->flags_pending = true;
		}
	}
	out_printf(cmd, "* %u FETCH (", rec->seq);
	ctx->in_message = true;
	ctx->need_sp = false;
	ctx->item = 0;
	return true;
}

static void write_flags(struct imap_command *cmd, struct fetch_ctx *ctx)
{
	bool rev1 = (cmd->session->enabled & IMAP_ENABLED_REV2) == 0;

	out_str(cmd, "FLAGS ");
	if (imap_flags_write(&cmd->out, ctx->flags, ctx->keywords, ctx->keyword_count,
			     rev1 && ctx->rec->recent, true) < 0)
		i_panic("imap: output buffer full");
}

/* Write the items of the current message from ctx->item on. false: the
   output filled up inside a literal. */
static bool message_items(struct imap_command *cmd, struct fetch_ctx *ctx)
{
	const struct mail_record *rec = ctx->rec;

	for (; ctx->item < ctx->req.count; ctx->item++) {
		const struct imap_fetch_item *it = &ctx->req.items[ctx->item];
		char date[IMAP_DATETIME_SIZE];

		if (!ctx->streaming) {
			if (ctx->need_sp)
				out_str(cmd, " ");
			ctx->need_sp = true;
		}
		switch (it->kind) {
		case IMAP_FETCH_UID:
			out_printf(cmd, "UID %u", rec->uid);
			break;
		case IMAP_FETCH_FLAGS:
			write_flags(cmd, ctx);
			ctx->flags_pending = false;
			break;
		case IMAP_FETCH_INTERNALDATE:
			imap_datetime_format(rec->internal_date, rec->tz_offset_min * 60, date);
			out_printf(cmd, "INTERNALDATE %s", date);
			break;
		case IMAP_FETCH_RFC822_SIZE:
			out_printf(cmd, "RFC822.SIZE %llu", (unsigned long long)rec->size);
			break;
		case IMAP_FETCH_ENVELOPE:
			out_printf(cmd, "ENVELOPE %s", rec->envelope != NULL ? rec->envelope : "NIL");
			break;
		case IMAP_FETCH_BODY:
			out_printf(cmd, "BODY %s", rec->body != NULL ? rec->body : "NIL");
			break;
		case IMAP_FETCH_BODYSTRUCTURE:
			out_printf(cmd, "BODYSTRUCTURE %s",
				   rec->bodystructure != NULL ? rec->bodystructure : "NIL");
			break;
		case IMAP_FETCH_SECTION:
		case IMAP_FETCH_BINARY:
		case IMAP_FETCH_BINARY_SIZE:
			if (!write_section(cmd, ctx, it))
				return false;
			break;
		}
	}
	if (ctx->flags_pending) {
		out_str(cmd, " ");
		write_flags(cmd, ctx);
	}
	out_str(cmd, ")\r\n");
	ctx->in_message = false;
	if (ctx->file != NULL)
		mail_file_close(&ctx->file);
	return true;
}

enum imap_run_result cmd_fetch_run(struct imap_command *cmd)
{
	struct fetch_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;

	if (ctx->iter == NULL && !ctx->iter_done) {
		if (!imap_seqset_to_uids(cmd, &ctx->set, cmd->uid, &ctx->ranges, &ctx->range_count))
			return IMAP_RUN_DONE;
		if (ctx->range_count == 0)
			return IMAP_RUN_DONE;
		ctx->iter = mailbox_fetch_begin(session->box, ctx->ranges, ctx->range_count,
						ctx->store_fields, imap_session_quote_flags(session));
	}
	for (;;) {
		if (ctx->in_message) {
			if (!message_items(cmd, ctx))
				return IMAP_RUN_MORE;
		}
		if (cmd->out.used >= IMAP_OUTPUT_CHUNK)
			return IMAP_RUN_MORE;
		if (!mailbox_fetch_next(ctx->iter, &ctx->rec))
			break;
		if (!message_begin(cmd, ctx))
			continue;
	}
	if (mailbox_fetch_end(&ctx->iter, &ctx->error) < 0) {
		imap_cmd_mail_error(cmd, &ctx->error);
		return IMAP_RUN_DONE;
	}
	ctx->iter_done = true;
	if (ctx->error.code == MAIL_ERROR_PARAMS)
		/* RFC 3516 4.3 */
		imap_cmd_no(cmd, "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding");
	else if (ctx->some_failed)
		imap_cmd_no(cmd, "[CORRUPTION] Some messages could not be read");
	else if (ctx->some_expunged)
		imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the requested messages no longer exist");
	return IMAP_RUN_DONE;
}
