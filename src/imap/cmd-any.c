/*
 * Commands valid in any state, and the small ones of the authenticated
 * state that touch no mailbox: CAPABILITY, NOOP, LOGOUT (RFC 9051 6.1),
 * ID (RFC 2971), ENABLE (RFC 5161, RFC 9051 6.3.1), NAMESPACE (RFC 2342,
 * RFC 9051 6.3.10).
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-quote.h"
#include "log.h"
#include "tern-limits.h"

#include <stdio.h>

#define TERN_IMAP_ID_NAME "tern"
#define TERN_IMAP_ID_VENDOR "tern"

const char *imap_session_capabilities(const struct imap_session *session, struct arena *arena)
{
	const struct imap_server *server = session->server;
	bool secure = imap_session_secure(session);

	if (session->state == IMAP_STATE_NOAUTH) {
		/* RFC 9051 6.2.3 / 7.2.2: LOGINDISABLED where plaintext is not
		   allowed; AUTH= mechanisms only where they may be used */
		return arena_printf(arena, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE%s%s",
				    server->tls != NULL && !session->tls ? " STARTTLS" : "",
				    secure ? " AUTH=PLAIN AUTH=LOGIN" : " LOGINDISABLED");
	}
	return arena_printf(arena, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE "
			    "NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE "
			    "CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES "
			    "UTF8=ACCEPT APPENDLIMIT=%lld MULTIAPPEND BINARY STATUS=SIZE",
			    (long long)server->set->limits.message_size);
}

static bool no_args(struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_cmd_bad(cmd, "%s takes no arguments", cmd->name);
		return false;
	}
	return true;
}

/* RFC 9051 6.1.1 */
bool cmd_capability(struct imap_command *cmd)
{
	if (!no_args(cmd))
		return false;
	imap_cmd_untagged(cmd, "CAPABILITY %s", imap_session_capabilities(cmd->session, cmd->arena));
	return true;
}

/* RFC 9051 6.1.2: with a mailbox selected, NOOP is how a client polls for
   changes: a store job reports them (IMAP_CMD_SYNC). */
bool cmd_noop(struct imap_command *cmd)
{
	if (!no_args(cmd))
		return false;
	return cmd->session->box != NULL;
}

enum imap_run_result cmd_noop_run(struct imap_command *cmd)
{
	return IMAP_RUN_DONE;
}

/* RFC 9051 6.1.3 */
bool cmd_logout(struct imap_command *cmd)
{
	if (!no_args(cmd))
		return false;
	imap_cmd_untagged(cmd, "BYE Logging out");
	imap_cmd_ok(cmd, "Logout completed");
	cmd->session->state = IMAP_STATE_LOGOUT;
	cmd->bye_after = true;
	return false;
}

/* RFC 2971: ID ("name" "value" ...) or ID NIL. What the client says is
   logged (a help when something goes wrong with one client), and we say
   who we are. */
bool cmd_id(struct imap_command *cmd)
{
	const struct imap_arg *list;
	buf_t logbuf;
	unsigned int i;

	if (cmd->arg_count != 1 || (!imap_arg_is_nil(&cmd->args[0]) &&
				    cmd->args[0].type != IMAP_ARG_LIST)) {
		imap_cmd_bad(cmd, "ID takes a list or NIL");
		return false;
	}
	if (cmd->args[0].type == IMAP_ARG_LIST) {
		list = cmd->args[0].list;
		/* RFC 2971 3.3: at most 30 pairs; field names at most 30 octets,
		   values at most 1024 */
		if (cmd->args[0].count % 2 != 0 || cmd->args[0].count > 2 * IMAP_MAX_ID_PARAMS) {
			imap_cmd_bad(cmd, "Invalid ID list");
			return false;
		}
		buf_init(&logbuf, 2048);
		for (i = 0; i < cmd->args[0].count; i += 2) {
			const char *key = imap_arg_string(&list[i]);
			const char *value = imap_arg_is_nil(&list[i + 1]) ? "" :
				imap_arg_string(&list[i + 1]);

			if (key == NULL || value == NULL || strlen(key) > 30 || strlen(value) > 1024) {
				buf_free(&logbuf);
				imap_cmd_bad(cmd, "Invalid ID list");
				return false;
			}
			if (buf_printf(&logbuf, "%s%s=%s", i == 0 ? "" : " ", key, value) < 0)
				break;   /* the log line is only a prefix: fine */
		}
		log_info("imap", "id session=%s client=%s", cmd->session->base.id,
			 log_value(buf_str(&logbuf), logbuf.used, 300));
		buf_free(&logbuf);
	}
	imap_cmd_untagged(cmd, "ID (\"name\" \"%s\" \"vendor\" \"%s\" \"support-url\" "
			  "\"https://tern.example/docs/imap\")", TERN_IMAP_ID_NAME, TERN_IMAP_ID_VENDOR);
	return true;
}

/* RFC 5161 / RFC 9051 6.3.1: only in the authenticated state. Unknown
   capabilities are ignored; the response lists what was enabled now. */
bool cmd_enable(struct imap_command *cmd)
{
	struct imap_session *session = cmd->session;
	buf_t enabled;
	unsigned int i;

	if (cmd->arg_count == 0) {
		imap_cmd_bad(cmd, "ENABLE needs capabilities");
		return false;
	}
	if (session->state != IMAP_STATE_AUTH) {
		imap_cmd_bad(cmd, "ENABLE is only valid before SELECT");
		return false;
	}
	buf_init(&enabled, 1024);
	for (i = 0; i < cmd->arg_count; i++) {
		const char *cap = imap_arg_atom(&cmd->args[i]);
		unsigned int bit = 0;

		if (cap == NULL) {
			buf_free(&enabled);
			imap_cmd_bad(cmd, "Invalid capability name");
			return false;
		}
		if (i_strcasecmp(cap, "IMAP4rev2") == 0)
			bit = IMAP_ENABLED_REV2;
		else if (i_strcasecmp(cap, "UTF8=ACCEPT") == 0)
			bit = IMAP_ENABLED_UTF8;
		if (bit == 0 || (session->enabled & bit) != 0)
			continue;
		session->enabled |= bit;
		if (buf_printf(&enabled, " %s", bit == IMAP_ENABLED_REV2 ? "IMAP4rev2" :
			       "UTF8=ACCEPT") < 0)
			i_panic("imap: ENABLED list too long");
	}
	imap_cmd_untagged(cmd, "ENABLED%s", buf_str(&enabled));
	buf_free(&enabled);
	return true;
}

/* RFC 2342 / RFC 9051 6.3.10: one personal namespace, no prefix, "/" */
bool cmd_namespace(struct imap_command *cmd)
{
	if (!no_args(cmd))
		return false;
	imap_cmd_untagged(cmd, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	return true;
}
