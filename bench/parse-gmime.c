/*
 * The GMime 3 side of the parser benchmark: the same work per message as
 * parse-tern.c (see bench.h), done through GMime's own API.
 *
 * GMime parses from a GMimeStream; over a message in memory that is a
 * GMimeStreamMem wrapping the bytes without copying them (not owned), so both
 * programs start from the same bytes in memory. The parser keeps part
 * contents as substreams of that stream (persist-stream mode, GMime's
 * default), as tern keeps offsets: neither copies bodies.
 */
#include "bench.h"

#include <gmime/gmime.h>
#include <string.h>

const char *bench_name = "gmime";

static void walk_object(GMimeObject *obj, bool toplevel, struct bench_stats *st);
static void walk_message(GMimeMessage *msg, struct bench_stats *st);

static void walk_addresses(InternetAddressList *list, struct bench_stats *st)
{
	int n = internet_address_list_length(list);

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		const char *name = internet_address_get_name(ia);

		if (name != NULL)
			st->chars += strlen(name);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			walk_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), st);
		} else {
			const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			st->addrs++;
			if (addr != NULL)
				st->chars += strlen(addr);
		}
	}
}

/* The GMimeMessage already holds the standard address lists, parsed while the
   message was built (that time is in the measurement); other address fields
   are parsed here, as tern parses every one of them. */
static int message_address_type(const char *name)
{
	static const struct { const char *name; GMimeAddressType type; } types[] = {
		{ "From", GMIME_ADDRESS_TYPE_FROM }, { "Sender", GMIME_ADDRESS_TYPE_SENDER },
		{ "Reply-To", GMIME_ADDRESS_TYPE_REPLY_TO }, { "To", GMIME_ADDRESS_TYPE_TO },
		{ "Cc", GMIME_ADDRESS_TYPE_CC }, { "Bcc", GMIME_ADDRESS_TYPE_BCC },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
		if (g_ascii_strcasecmp(name, types[i].name) == 0)
			return (int)types[i].type;
	}
	return -1;
}

static void walk_headers(GMimeObject *obj, GMimeMessage *msg, struct bench_stats *st)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);
	int n = g_mime_header_list_get_count(list);
	unsigned int seen = 0;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *name = g_mime_header_get_name(h);

		st->fields++;
		if (bench_is_address_field(name)) {
			int type = msg != NULL ? message_address_type(name) : -1;
			if (type >= 0) {
				/* several To: fields are merged into one list: walk it once */
				if ((seen & (1u << type)) == 0)
					walk_addresses(g_mime_message_get_addresses(msg, (GMimeAddressType)type), st);
				seen |= 1u << type;
			} else {
				InternetAddressList *al =
					internet_address_list_parse(NULL, g_mime_header_get_raw_value(h));
				if (al != NULL) {
					walk_addresses(al, st);
					g_object_unref(al);
				}
			}
		} else {
			/* unfolded and RFC 2047-decoded to UTF-8 */
			const char *value = g_mime_header_get_value(h);
			if (value != NULL)
				st->chars += strlen(value);
		}
	}
}

static void walk_params(GMimeParamList *params, struct bench_stats *st)
{
	int n = params != NULL ? g_mime_param_list_length(params) : 0;

	for (int i = 0; i < n; i++) {
		GMimeParam *p = g_mime_param_list_get_parameter_at(params, i);
		const char *value = g_mime_param_get_value(p);
		st->params++;
		st->chars += strlen(g_mime_param_get_name(p));
		if (value != NULL)
			st->chars += strlen(value);
	}
}

static void walk_object(GMimeObject *obj, bool toplevel, struct bench_stats *st)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);

	/* A message and its top-level part are one part, as in tern's tree; GMime
	   keeps the Content-* fields on the part, the others on the message. */
	if (!toplevel)
		st->parts++;
	walk_headers(obj, NULL, st);
	st->chars += strlen(g_mime_content_type_get_media_type(ct)) +
		     strlen(g_mime_content_type_get_media_subtype(ct));
	walk_params(g_mime_content_type_get_parameters(ct), st);
	if (cd != NULL) {
		st->chars += strlen(g_mime_content_disposition_get_disposition(cd));
		walk_params(g_mime_content_disposition_get_parameters(cd), st);
	}

	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			walk_object(g_mime_multipart_get_part(mp, i), false, st);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner != NULL)
			walk_message(inner, st);
	}
}

static void walk_message(GMimeMessage *msg, struct bench_stats *st)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);

	st->parts++;
	walk_headers(GMIME_OBJECT(msg), msg, st);
	if (body != NULL)
		walk_object(body, true, st);
}

static void parse_stream(GMimeStream *stream, struct bench_stats *st)
{
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	if (msg != NULL) {
		walk_message(msg, st);
		g_object_unref(msg);
	}
	g_object_unref(parser);
}

void bench_init(void)
{
	g_mime_init();
}

void bench_parse_mem(const unsigned char *data, size_t size, struct bench_stats *st)
{
	/* wrap, do not copy: the stream does not own the array, and freeing
	   the array with free_segment=FALSE leaves the bytes alone */
	GByteArray *array = g_byte_array_new_take((guint8 *)(uintptr_t)data, size);
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(array);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	parse_stream(stream, st);
	g_object_unref(stream);
	(void)g_byte_array_free(array, FALSE);
}

void bench_parse_fd(int fd, struct bench_stats *st)
{
	GMimeStream *stream = g_mime_stream_fs_new(fd);

	/* the caller closes fd */
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(stream), FALSE);
	parse_stream(stream, st);
	g_object_unref(stream);
}
