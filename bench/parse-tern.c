/*
 * The tern side of the parser benchmark: mime_parse() builds the part tree
 * (Content-Type and Content-Disposition parameters are parsed by the parser,
 * RFC 2231 included), then every header field of every part is decoded:
 * address fields with msg_address_parse() (display names RFC 2047-decoded),
 * every other field with rfc2047_decode() - the same as GMime's
 * g_mime_header_get_value(), which decodes every field as text.
 *
 * One arena is reused for all messages (arena_clear() after each), as a
 * server reuses one per connection or request.
 */
#include "bench.h"

#include "arena.h"
#include "address.h"
#include "mime.h"
#include "rfc2047.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

const char *bench_name = "tern";

static struct arena *arena;

static void walk_params(const struct mime_param *params, unsigned int count,
			struct bench_stats *st)
{
	for (unsigned int i = 0; i < count; i++) {
		st->params++;
		st->chars += strlen(params[i].name);
		if (params[i].value != NULL)
			st->chars += strlen(params[i].value);
	}
}

static void walk_part(const struct mime_part *part, struct bench_stats *st)
{
	const struct msg_header *hdr = &part->header;

	st->parts++;
	for (unsigned int i = 0; i < hdr->count; i++) {
		const struct msg_header_field *f = &hdr->fields[i];

		st->fields++;
		if (bench_is_address_field(f->name)) {
			for (const struct msg_address *a = msg_address_parse(arena, f->value, f->value_len);
			     a != NULL; a = a->next) {
				if (a->name_decoded != NULL)
					st->chars += strlen(a->name_decoded);
				if (a->group_start || a->group_end)
					continue;
				st->addrs++;
				if (a->mailbox != NULL)
					st->chars += strlen(a->mailbox) + 1;
				if (a->domain != NULL)
					st->chars += strlen(a->domain);
			}
		} else {
			st->chars += strlen(rfc2047_decode(arena, f->value, f->value_len));
		}
	}
	st->chars += strlen(part->type) + strlen(part->subtype);
	walk_params(part->params, part->param_count, st);
	if (part->disposition != NULL) {
		st->chars += strlen(part->disposition);
		walk_params(part->disposition_params, part->disposition_param_count, st);
	}
	for (const struct mime_part *child = part->children; child != NULL; child = child->next)
		walk_part(child, st);
}

void bench_init(void)
{
	arena = arena_new(0);
}

void bench_parse_mem(const unsigned char *data, size_t size, struct bench_stats *st)
{
	walk_part(mime_parse(arena, data, size, NULL), st);
	arena_clear(arena);
}

void bench_parse_fd(int fd, struct bench_stats *st)
{
	struct mime_parser *parser = mime_parser_init(arena, NULL);
	/* a 64 KiB read buffer, as a delivery agent reading a spool file would use */
	static unsigned char buf[64 * 1024];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		mime_parser_feed(parser, buf, (size_t)n);
	}
	walk_part(mime_parser_finish(&parser), st);
	arena_clear(arena);
}
