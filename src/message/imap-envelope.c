#include "imap-envelope.h"
#include "imap-quote.h"
#include "address.h"

static int write_field(buf_t *dest, const struct msg_header *hdr, const char *name,
		       unsigned int flags);
static const struct msg_address *parse_field(struct arena *arena, const struct msg_header *hdr,
					     const char *name);

/* A raw value as an nstring: NIL when the field is absent. */
static int write_field(buf_t *dest, const struct msg_header *hdr, const char *name,
		       unsigned int flags)
{
	const struct msg_header_field *f = msg_header_get(hdr, name);

	if (f == NULL)
		return buf_append_str(dest, "NIL");
	return imap_append_string(dest, f->value, f->value_len, flags | IMAP_QUOTE_FLAG_NOLF);
}

static const struct msg_address *parse_field(struct arena *arena, const struct msg_header *hdr,
					     const char *name)
{
	const struct msg_header_field *f = msg_header_get(hdr, name);

	if (f == NULL)
		return NULL;
	return msg_address_parse(arena, f->value, f->value_len);
}

int imap_envelope_write_addresses(buf_t *dest, const struct msg_address *addr,
				  unsigned int flags)
{
	int ret = 0;

	flags |= IMAP_QUOTE_FLAG_NOLF;
	if (addr == NULL)
		return buf_append_str(dest, "NIL");
	ret |= buf_append_c(dest, '(');
	for (; addr != NULL; addr = addr->next) {
		if (addr->group_end) {
			/* RFC 3501 7.4.2: end of group: NIL mailbox and host */
			ret |= buf_append_str(dest, "(NIL NIL NIL NIL)");
			continue;
		}
		if (addr->group_start) {
			/* start of group: NIL host, the group name as mailbox */
			ret |= buf_append_str(dest, "(NIL NIL ");
			ret |= imap_append_nstring(dest, addr->mailbox != NULL ? addr->mailbox : "",
						   flags);
			ret |= buf_append_str(dest, " NIL)");
			continue;
		}
		ret |= buf_append_c(dest, '(');
		ret |= imap_append_nstring(dest, addr->name, flags);
		ret |= buf_append_c(dest, ' ');
		ret |= imap_append_nstring(dest, addr->route, flags);
		ret |= buf_append_c(dest, ' ');
		ret |= imap_append_nstring(dest, addr->mailbox != NULL && addr->mailbox[0] != '\0' ?
					   addr->mailbox : "MISSING_MAILBOX", flags);
		ret |= buf_append_c(dest, ' ');
		ret |= imap_append_nstring(dest, addr->domain != NULL && addr->domain[0] != '\0' ?
					   addr->domain : "MISSING_DOMAIN", flags);
		ret |= buf_append_c(dest, ')');
	}
	ret |= buf_append_c(dest, ')');
	return ret < 0 ? -1 : 0;
}

int imap_envelope_write(buf_t *dest, struct arena *arena, const struct msg_header *hdr,
			unsigned int flags)
{
	const struct msg_address *from, *sender, *reply_to;
	int ret = 0;

	from = parse_field(arena, hdr, "From");
	sender = parse_field(arena, hdr, "Sender");
	reply_to = parse_field(arena, hdr, "Reply-To");
	/* RFC 3501 7.4.2: sender and reply-to default to from */
	if (sender == NULL)
		sender = from;
	if (reply_to == NULL)
		reply_to = from;

	ret |= buf_append_c(dest, '(');
	ret |= write_field(dest, hdr, "Date", flags);
	ret |= buf_append_c(dest, ' ');
	ret |= write_field(dest, hdr, "Subject", flags);
	ret |= buf_append_c(dest, ' ');
	ret |= imap_envelope_write_addresses(dest, from, flags);
	ret |= buf_append_c(dest, ' ');
	ret |= imap_envelope_write_addresses(dest, sender, flags);
	ret |= buf_append_c(dest, ' ');
	ret |= imap_envelope_write_addresses(dest, reply_to, flags);
	ret |= buf_append_c(dest, ' ');
	ret |= imap_envelope_write_addresses(dest, parse_field(arena, hdr, "To"), flags);
	ret |= buf_append_c(dest, ' ');
	ret |= imap_envelope_write_addresses(dest, parse_field(arena, hdr, "Cc"), flags);
	ret |= buf_append_c(dest, ' ');
	ret |= imap_envelope_write_addresses(dest, parse_field(arena, hdr, "Bcc"), flags);
	ret |= buf_append_c(dest, ' ');
	ret |= write_field(dest, hdr, "In-Reply-To", flags);
	ret |= buf_append_c(dest, ' ');
	ret |= write_field(dest, hdr, "Message-ID", flags);
	ret |= buf_append_c(dest, ')');
	return ret < 0 ? -1 : 0;
}
