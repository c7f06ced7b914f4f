/* tern msg inspect|bodystructure|envelope FILE: how a message parses
   (docs/msg-inspect.md is the contract for the output). */
#include "lib.h"
#include "arena.h"
#include "buf.h"
#include "json.h"
#include "date.h"
#include "mime.h"
#include "address.h"
#include "header-value.h"
#include "part-text.h"
#include "imap-envelope.h"
#include "imap-bodystructure.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define EX_USAGE_CODE 64

struct inspect_ctx {
	struct arena *arena;
	struct json_writer *w;
	const unsigned char *msg;
	size_t msg_size;
};

static int read_input(const char *path, buf_t *out);
static void usage(void);
static const char *child_section(struct arena *arena, const char *section, unsigned int n);
static void write_headers(struct inspect_ctx *ctx, const struct msg_header *hdr);
static void write_address_list(struct inspect_ctx *ctx, const struct msg_address **addrp,
			       bool in_group);
static void write_address_field(struct inspect_ctx *ctx, const struct msg_header *hdr,
				const char *name);
static void write_msgid_list(struct inspect_ctx *ctx, const struct msg_header *hdr,
			     const char *name);
static void write_message(struct inspect_ctx *ctx, const struct mime_part *root, size_t size,
			  const char *section);
static void write_params(struct inspect_ctx *ctx, const struct mime_param *params,
			 unsigned int count);
static void write_flags(struct inspect_ctx *ctx, unsigned int flags);
static void write_part(struct inspect_ctx *ctx, const struct mime_part *part,
		       const char *section);
static int do_inspect(struct arena *arena, const buf_t *input, const struct mime_part *root,
		      buf_t *out);

static const struct {
	unsigned int flag;
	const char *name;
} flag_names[] = {
	{ MIME_PART_FLAG_MISSING_END_BOUNDARY, "missing-end-boundary" },
	{ MIME_PART_FLAG_NO_BOUNDARY, "no-boundary" },
	{ MIME_PART_FLAG_DEPTH_LIMIT, "depth-limit" },
	{ MIME_PART_FLAG_PART_LIMIT, "part-limit" },
	{ MIME_PART_FLAG_HEADER_LIMIT, "header-limit" },
	{ MIME_PART_FLAG_BARE_LF, "bare-lf" },
	{ MIME_PART_FLAG_NUL, "nul" },
	{ MIME_PART_FLAG_8BIT, "8bit" },
	{ MIME_PART_FLAG_BAD_CONTENT_TYPE, "bad-content-type" },
};

static void usage_to(FILE *out)
{
	fprintf(out, "usage: tern msg inspect FILE         the parsed structure as JSON (docs/msg-inspect.md)\n"
		"       tern msg bodystructure FILE   what IMAP FETCH BODYSTRUCTURE sends\n"
		"       tern msg envelope FILE        what IMAP FETCH ENVELOPE sends\n"
		"  FILE may be - for standard input\n");
}

static void usage(void)
{
	usage_to(stderr);
}

static int read_input(const char *path, buf_t *out)
{
	int fd;
	ssize_t n;

	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "tern msg: %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	for (;;) {
		unsigned char *p = buf_reserve(out, 65536);

		if (p == NULL) {
			fprintf(stderr, "tern msg: %s: too large\n", path);
			n = -1;
			break;
		}
		n = read(fd, p, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "tern msg: %s: %s\n", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		buf_commit(out, (size_t)n);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return n < 0 ? -1 : 0;
}

/* IMAP section numbers (RFC 3501 6.4.5): children of a multipart at
   section S are S.1, S.2, ... (1, 2, ... at the root). */
static const char *child_section(struct arena *arena, const char *section, unsigned int n)
{
	if (section[0] == '\0')
		return arena_printf(arena, "%u", n);
	return arena_printf(arena, "%s.%u", section, n);
}

static void write_headers(struct inspect_ctx *ctx, const struct msg_header *hdr)
{
	struct json_writer *w = ctx->w;
	unsigned int i;

	json_array_begin(w);
	for (i = 0; i < hdr->count; i++) {
		const struct msg_header_field *f = &hdr->fields[i];

		json_object_begin(w);
		json_key(w, "name");
		json_string_n(w, f->name, f->name_len);
		json_key(w, "value");
		json_string_n(w, f->value, f->value_len);
		json_key(w, "decoded");
		json_string(w, msg_hv_decode_unstructured(ctx->arena, f->value, f->value_len));
		json_key(w, "offset");
		json_uint(w, f->offset);
		json_key(w, "size");
		json_uint(w, f->size);
		json_object_end(w);
	}
	json_array_end(w);
}

/* Addresses up to the end of the list, or of the group when in_group;
   *addrp is left on the group's end entry. */
static void write_address_list(struct inspect_ctx *ctx, const struct msg_address **addrp,
			       bool in_group)
{
	struct json_writer *w = ctx->w;
	const struct msg_address *addr, *entry;

	json_array_begin(w);
	for (addr = *addrp; addr != NULL; addr = addr->next) {
		entry = addr;
		if (addr->group_end) {
			if (in_group)
				break;
			continue; /* a stray end entry: nothing to show */
		}
		json_object_begin(w);
		if (addr->group_start) {
			json_key(w, "group");
			/* the group's display name, RFC 2047-decoded (5 (3)) */
			json_string(w, addr->name_decoded != NULL ? addr->name_decoded :
				    addr->mailbox != NULL ? addr->mailbox : "");
			json_key(w, "members");
			addr = addr->next;
			write_address_list(ctx, &addr, true);
			if (addr == NULL) {
				/* group never closed: the list ends with it */
				json_object_end(w);
				break;
			}
		} else {
			json_key(w, "name");
			json_string(w, addr->name_decoded);
			json_key(w, "address");
			json_string(w, addr->mailbox != NULL ?
				    msg_address_spec(ctx->arena, addr) : "");
		}
		if (entry->invalid) {
			json_key(w, "invalid");
			json_bool(w, true);
		}
		json_object_end(w);
	}
	*addrp = addr;
	json_array_end(w);
}

static void write_address_field(struct inspect_ctx *ctx, const struct msg_header *hdr,
				const char *name)
{
	const struct msg_header_field *f = msg_header_get(hdr, name);
	const struct msg_address *addr;

	if (f == NULL) {
		json_null(ctx->w);
		return;
	}
	addr = msg_address_parse(ctx->arena, f->value, f->value_len);
	write_address_list(ctx, &addr, false);
}

static void write_msgid_list(struct inspect_ctx *ctx, const struct msg_header *hdr,
			     const char *name)
{
	const struct msg_header_field *f = msg_header_get(hdr, name);
	const char **ids = NULL;
	unsigned int i, count = 0;

	json_array_begin(ctx->w);
	if (f != NULL)
		count = msg_hv_parse_msgids(ctx->arena, f->value, f->value_len, &ids);
	for (i = 0; i < count; i++)
		json_string(ctx->w, ids[i]);
	json_array_end(ctx->w);
}


/* The address fields of docs/msg-inspect.md, in order: JSON key, header name. */
static const struct {
	const char *key, *field;
} address_fields[] = {
	{ "from", "From" }, { "sender", "Sender" }, { "reply_to", "Reply-To" },
	{ "to", "To" }, { "cc", "Cc" }, { "bcc", "Bcc" },
};

static void write_message(struct inspect_ctx *ctx, const struct mime_part *root, size_t size,
			  const char *section)
{
	struct json_writer *w = ctx->w;
	const struct msg_header *hdr = &root->header;
	const struct msg_header_field *f;
	size_t i;

	json_object_begin(w);
	json_key(w, "size");
	json_uint(w, size);
	json_key(w, "headers");
	write_headers(ctx, hdr);

	json_key(w, "date");
	f = msg_header_get(hdr, "Date");
	{
		time_t t;
		int tz;
		char datebuf[MSG_DATE_MAX];

		if (f != NULL && msg_date_parse(f->value, f->value_len, &t, &tz) == 0) {
			msg_date_format_iso8601(t, tz, datebuf);
			json_string(w, datebuf);
		} else {
			json_null(w);
		}
	}
	json_key(w, "subject");
	f = msg_header_get(hdr, "Subject");
	json_string(w, f == NULL ? NULL : msg_hv_decode_unstructured(ctx->arena, f->value, f->value_len));

	for (i = 0; i < N_ELEMENTS(address_fields); i++) {
		json_key(w, address_fields[i].key);
		write_address_field(ctx, hdr, address_fields[i].field);
	}

	json_key(w, "message_id");
	f = msg_header_get(hdr, "Message-ID");
	json_string(w, f == NULL ? NULL : msg_hv_first_msgid(ctx->arena, f->value, f->value_len));
	json_key(w, "in_reply_to");
	write_msgid_list(ctx, hdr, "In-Reply-To");
	json_key(w, "references");
	write_msgid_list(ctx, hdr, "References");

	json_key(w, "structure");
	write_part(ctx, root, section);
	json_object_end(w);
}

static void write_params(struct inspect_ctx *ctx, const struct mime_param *params,
			 unsigned int count)
{
	unsigned int i, j;

	json_object_begin(ctx->w);
	for (i = 0; i < count; i++) {
		/* JSON object names should be unique (RFC 8259 4): the first wins,
		   as mime_param_get() finds it */
		for (j = 0; j < i; j++) {
			if (strcmp(params[j].name, params[i].name) == 0)
				break;
		}
		if (j < i)
			continue;
		json_key(ctx->w, params[i].name);
		json_string(ctx->w, params[i].value != NULL ? params[i].value : "");
	}
	json_object_end(ctx->w);
}

static void write_flags(struct inspect_ctx *ctx, unsigned int flags)
{
	unsigned int i;

	json_array_begin(ctx->w);
	for (i = 0; i < N_ELEMENTS(flag_names); i++) {
		if ((flags & flag_names[i].flag) != 0)
			json_string(ctx->w, flag_names[i].name);
	}
	json_array_end(ctx->w);
}

static void write_part(struct inspect_ctx *ctx, const struct mime_part *part,
		       const char *section)
{
	struct json_writer *w = ctx->w;
	const struct mime_part *child;
	unsigned int i;

	json_object_begin(w);
	json_key(w, "section");
	json_string(w, section);
	json_key(w, "type");
	json_string(w, arena_printf(ctx->arena, "%s/%s", part->type, part->subtype));
	json_key(w, "params");
	write_params(ctx, part->params, part->param_count);
	json_key(w, "encoding");
	json_string(w, part->cte_name != NULL && part->cte_name[0] != '\0' ?
		    part->cte_name : "7bit");
	json_key(w, "id");
	json_string(w, part->content_id);
	json_key(w, "description");
	json_string(w, part->description);
	json_key(w, "md5");
	json_string(w, part->md5);
	json_key(w, "location");
	json_string(w, part->location);
	json_key(w, "disposition");
	json_string(w, part->disposition);
	json_key(w, "disposition_params");
	write_params(ctx, part->disposition_params, part->disposition_param_count);
	json_key(w, "language");
	json_array_begin(w);
	for (i = 0; i < part->language_count; i++)
		json_string(w, part->languages[i]);
	json_array_end(w);
	json_key(w, "filename");
	json_string(w, part_text_filename(ctx->arena, part));
	json_key(w, "header_offset");
	json_uint(w, part->offset);
	json_key(w, "header_size");
	json_uint(w, part->header_size);
	json_key(w, "header_lines");
	json_uint(w, part->header_lines);
	json_key(w, "body_offset");
	json_uint(w, part->body_offset);
	json_key(w, "body_size");
	json_uint(w, part->body_size);
	json_key(w, "body_lines");
	json_uint(w, part->body_lines);
	json_key(w, "headers");
	write_headers(ctx, &part->header);

	if (mime_part_is(part, "text", NULL)) {
		buf_t text;

		buf_init(&text, BUF_MAX_UNLIMITED);
		json_key(w, "text");
		if (part_text_decode(part, ctx->msg, ctx->msg_size, &text) < 0)
			i_panic("unlimited buffer refused text");
		json_string_n(w, text.data, buf_len(&text));
		buf_free(&text);
	}
	if (mime_part_is(part, "multipart", NULL)) {
		json_key(w, "parts");
		json_array_begin(w);
		for (child = part->children, i = 1; child != NULL; child = child->next, i++)
			write_part(ctx, child, child_section(ctx->arena, section, i));
		json_array_end(w);
	}
	if (mime_part_is_message(part)) {
		const char *sub;

		/* RFC 3501 6.4.5: the encapsulated message's multipart body
		   shares section N; a single-part body is N.1 */
		child = part->children;
		sub = mime_part_is_multipart(child) ? section :
			child_section(ctx->arena, section, 1);
		json_key(w, "message");
		write_message(ctx, child, part->body_size, sub);
	}
	json_key(w, "flags");
	write_flags(ctx, part->flags);
	json_object_end(w);
}

static int do_inspect(struct arena *arena, const buf_t *input, const struct mime_part *root,
		      buf_t *out)
{
	struct json_writer w;
	struct inspect_ctx ctx = {
		.arena = arena,
		.w = &w,
		.msg = input->data,
		.msg_size = buf_len(input),
	};

	json_writer_init(&w, out, true);
	write_message(&ctx, root, buf_len(input), "");
	if (json_writer_finish(&w) < 0)
		return -1;
	return buf_append_c(out, '\n');
}

int cmd_msg(int argc, char **argv)
{
	struct arena *arena;
	struct mime_part *root;
	buf_t input, out;
	const char *sub;
	int ret, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
		    (i == 1 && strcmp(argv[i], "help") == 0)) {
			usage_to(stdout);
			return 0;
		}
	}
	if (argc != 3) {
		usage();
		return EX_USAGE_CODE;
	}
	sub = argv[1];
	if (strcmp(sub, "inspect") != 0 && strcmp(sub, "bodystructure") != 0 &&
	    strcmp(sub, "envelope") != 0) {
		fprintf(stderr, "tern msg: unknown subcommand '%s'\n", sub);
		usage();
		return EX_USAGE_CODE;
	}
	buf_init(&input, BUF_MAX_UNLIMITED);
	if (read_input(argv[2], &input) < 0) {
		buf_free(&input);
		return 1;
	}
	arena = arena_new(0);
	root = mime_parse(arena, input.data != NULL ? input.data : (const unsigned char *)"",
			  buf_len(&input), NULL);
	buf_init(&out, BUF_MAX_UNLIMITED);
	if (strcmp(sub, "inspect") == 0) {
		ret = do_inspect(arena, &input, root, &out);
	} else if (strcmp(sub, "bodystructure") == 0) {
		ret = imap_bodystructure_write(&out, arena, root, true, 0);
		if (ret == 0)
			ret = buf_append_c(&out, '\n');
	} else {
		ret = imap_envelope_write(&out, arena, &root->header, 0);
		if (ret == 0)
			ret = buf_append_c(&out, '\n');
	}
	if (ret < 0)
		i_panic("unlimited output buffer refused data");
	if (fwrite(out.data, 1, buf_len(&out), stdout) != buf_len(&out) || fflush(stdout) != 0) {
		fprintf(stderr, "tern msg: writing output: %s\n", strerror(errno));
		ret = 1;
	}
	buf_free(&out);
	buf_free(&input);
	arena_free(&arena);
	return ret < 0 ? 1 : ret;
}
