/*
 * The TRANSACTION commands that need no store call (RFC 1939 5, 7): STAT,
 * LIST, UIDL, DELE and RSET work on the maildrop listing the login read
 * (pop3-mail.c). A long LIST or UIDL listing is written a piece at a time
 * as the client reads it, so a maildrop of any size costs bounded output
 * memory.
 */
#include "pop3-private.h"
#include "connection.h"

#include <stdio.h>

static void list_write(struct pop3_session *session);
static int uidl_text(const struct pop3_msg *m, char *out, size_t size);

/* RFC 1939 7 UIDL: the unique-id is the store's GUID, 32 lowercase hex
   digits (1-70 characters of 0x21-0x7E): stable across sessions,
   restarts and index rebuilds, never reused (docs/pop3.md). */
static int uidl_text(const struct pop3_msg *m, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i;

	i_assert(size > POP3_GUID_BYTES * 2);
	for (i = 0; i < POP3_GUID_BYTES; i++) {
		out[i * 2] = hex[m->guid[i] >> 4];
		out[i * 2 + 1] = hex[m->guid[i] & 0xf];
	}
	out[POP3_GUID_BYTES * 2] = '\0';
	return POP3_GUID_BYTES * 2;
}

/* RFC 1939 5 STAT: messages marked deleted are not counted */
void pop3_cmd_stat(struct pop3_session *session)
{
	pop3_ok(session, "%u %llu", session->count - session->deleted_count,
		(unsigned long long)(session->total_size - session->deleted_size));
}

void pop3_cmd_list(struct pop3_session *session, const struct pop3_command *cmd, bool uidl)
{
	char uid[POP3_GUID_BYTES * 2 + 1];
	struct pop3_msg *m;

	if (cmd->has_msg) {
		/* RFC 1939 5 LIST msg / 7 UIDL msg: one "scan listing" */
		m = pop3_session_msg(session, cmd->msg);
		if (m == NULL)
			return;
		if (uidl) {
			uidl_text(m, uid, sizeof(uid));
			pop3_ok(session, "%u %s", cmd->msg, uid);
		} else {
			pop3_ok(session, "%u %llu", cmd->msg, (unsigned long long)m->size);
		}
		return;
	}
	if (uidl)
		pop3_ok(session, "Unique-ID listing follows");
	else
		pop3_ok(session, "%u messages (%llu octets)", session->count - session->deleted_count,
			(unsigned long long)(session->total_size - session->deleted_size));
	session->listing = true;
	session->listing_uidl = uidl;
	session->listing_next = 0;
	pop3_session_update_input(session);
	list_write(session);
}

/* Lines until the output passes POP3_OUTPUT_MAX; the rest when it has
   drained. */
static void list_write(struct pop3_session *session)
{
	char line[64 + POP3_GUID_BYTES * 2];
	char uid[POP3_GUID_BYTES * 2 + 1];
	buf_t out;
	int len;

	if (session->conn == NULL)
		return;
	buf_init(&out, POP3_OUTPUT_MAX + sizeof(line));
	while (session->listing_next < session->count && out.used < POP3_OUTPUT_MAX) {
		uint32_t i = session->listing_next++;
		const struct pop3_msg *m = &session->msgs[i];

		if ((m->flags & POP3_MSG_DELETED) != 0)
			continue;
		if (session->listing_uidl) {
			uidl_text(m, uid, sizeof(uid));
			len = snprintf(line, sizeof(line), "%u %s\r\n", i + 1, uid);
		} else {
			len = snprintf(line, sizeof(line), "%u %llu\r\n", i + 1,
				       (unsigned long long)m->size);
		}
		if (buf_append(&out, line, (size_t)len) < 0)
			i_panic("pop3: listing buffer");
	}
	if (session->listing_next == session->count) {
		/* RFC 1939 3: the multi-line response ends with "." */
		if (buf_append(&out, ".\r\n", 3) < 0)
			i_panic("pop3: listing buffer");
		session->listing = false;
	}
	net_conn_write(session->conn, out.data, out.used);
	buf_free(&out);
	if (!session->listing) {
		pop3_session_update_input(session);
		pop3_session_idle_check(session);
	}
}

void pop3_list_drained(struct pop3_session *session)
{
	list_write(session);
}

/* RFC 1939 5 DELE: marked now, removed in the UPDATE state */
void pop3_cmd_dele(struct pop3_session *session, const struct pop3_command *cmd)
{
	struct pop3_msg *m = pop3_session_msg(session, cmd->msg);

	if (m == NULL)
		return;
	m->flags |= POP3_MSG_DELETED;
	session->deleted_count++;
	session->deleted_size += m->size;
	pop3_ok(session, "Message %u deleted", cmd->msg);
}

/* RFC 1939 5 RSET: every deletion mark goes */
void pop3_cmd_rset(struct pop3_session *session)
{
	uint32_t i;

	for (i = 0; i < session->count; i++)
		session->msgs[i].flags &= (uint8_t)~POP3_MSG_DELETED;
	session->deleted_count = 0;
	session->deleted_size = 0;
	pop3_ok(session, "Maildrop has %u messages (%llu octets)", session->count,
		(unsigned long long)session->total_size);
}
