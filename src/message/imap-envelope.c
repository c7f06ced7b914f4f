#include "imap-envelope.h"
#include "imap-quote.h"
#include "address.h"

static int write_field(buf_t *dest, const struct msg_header *hdr, const char *name,
		       unsigned int flags);
static const struct msg_address *parse_field(struct arena *arena, const struct msg_header *hdr,
					     const char *name);

/* A raw value as an nstring: NIL when the field is absent. When the field
   occurs more than once, the last one counts (as Dovecot, whose parser
   keeps overwriting). */
static int write_field(buf_t *dest, const struct msg_header *hdr, const char *name,
		       unsigned int flags)
{
	const struct msg_header_field *f = NULL;
	unsigned int i;

	for (i = 0; i < hdr->count; i++) {
		if (i_strcasecmp(hdr->fields[i].name, name) == 0)
			f = &hdr->fields[i];
	}
	if (f == NULL)
		return buf_append_str(dest, "NIL");
	return imap_append_string(dest, f->value, f->value_len, flags);
}

/* The addresses of every field with this name, in order (a repeated To
   adds its addresses, as Dovecot does); NULL when there are none. */
static const struct msg_address *parse_field(struct arena *arena, const struct msg_header *hdr,
					     const char *name)
{
	struct msg_address *head = NULL, *tail = NULL, *list;
	unsigned int i;

	for (i = 0; i < hdr->count; i++) {
		if (i_strcasecmp(hdr->fields[i].name, name) != 0)
			continue;
		list = msg_address_parse(arena, hdr->fields[i].value, hdr->fields[i].value_len);
		if (list == NULL)
			continue;
		if (tail == NULL)
			head = list;
		else
			tail->next = list;
		for (tail = list; tail->next != NULL; tail = tail->next)
			;
	}
	return head;
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
		ret |= imap_append_nstring(dest, addr->name, flags | IMAP_QUOTE_FLAG_HUMAN);
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

	flags |= IMAP_QUOTE_FLAG_NOLF;
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
	ret |= write_field(dest, hdr, "Subject", flags | IMAP_QUOTE_FLAG_HUMAN);
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
