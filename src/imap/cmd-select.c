/*
 * SELECT and EXAMINE (RFC 9051 6.3.2-3, RFC 3501 6.3.1-2), CLOSE (RFC 9051
 * 6.4.1) and UNSELECT (RFC 3691, RFC 9051 6.4.2). The view (the session's
 * sequence map) is opened and closed in the store job; the state changes
 * on the loop when the command ends.
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-quote.h"
#include "imap-util.h"

struct select_ctx {
	const char *name;        /* tern's form */
	bool examine;
	bool ok;
};

bool cmd_select(struct imap_command *cmd)
{
	struct select_ctx *ctx = arena_new_type(cmd->arena, struct select_ctx);

	ctx->examine = strcmp(cmd->name, "EXAMINE") == 0;
	if (cmd->arg_count < 1 || cmd->arg_count > 2) {
		imap_cmd_bad(cmd, "Usage: %s mailbox", cmd->name);
		return false;
	}
	if (cmd->arg_count == 2) {
		/* RFC 4466 select-params: none is supported yet (CONDSTORE and
		   QRESYNC come later), so any is an unknown parameter */
		if (cmd->args[1].type != IMAP_ARG_LIST || cmd->args[1].count != 0) {
			imap_cmd_bad(cmd, "Unsupported %s parameter", cmd->name);
			return false;
		}
	}
	ctx->name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (ctx->name == NULL)
		return false;
	cmd->ctx = ctx;
	return true;
}

enum imap_run_result cmd_select_run(struct imap_command *cmd)
{
	struct select_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;
	bool rev2 = (session->enabled & IMAP_ENABLED_REV2) != 0;
	struct mailbox_info info;
	struct mail_error error;

	if (session->box != NULL) {
		/* RFC 9051 6.3.2: a SELECT first closes the selected mailbox
		   (without expunging); IMAP4rev2 says so with [CLOSED] */
		if (session->watch != NULL)
			mail_store_unwatch(&session->watch);
		mailbox_close(&session->box);
		if (rev2)
			imap_cmd_untagged(cmd, "OK [CLOSED] Previous mailbox closed");
	}
	i_free(session->saved_uids);
	session->saved_count = 0;
	if (mailbox_open(session->mail_user, ctx->name,
			 ctx->examine ? MAILBOX_OPEN_READONLY : 0, &session->box, &error) < 0) {
		imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	if (mailbox_get_info(session->box, cmd->arena, &info, &error) < 0) {
		mailbox_close(&session->box);
		imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	/* changes by others reach an IDLE-ing session at once (imap-idle.c) */
	session->watch = mailbox_watch(session->box, imap_session_watch_cb, session);
	imap_write_flags_info(cmd, &info);
	imap_cmd_untagged(cmd, "%u EXISTS", info.exists);
	if (!rev2) {
		imap_cmd_untagged(cmd, "%u RECENT", info.recent);
		if (info.first_unseen_seq != 0)
			imap_cmd_untagged(cmd, "OK [UNSEEN %u] First unseen", info.first_unseen_seq);
	} else {
		/* RFC 9051 6.3.2: the mailbox's name as the server spells it */
		buf_t *out = &cmd->out;

		if (buf_append_str(out, "* LIST () \"/\" ") < 0 ||
		    imap_append_string(out, info.name, strlen(info.name),
				       imap_session_quote_flags(session)) < 0 ||
		    buf_append_str(out, "\r\n") < 0)
			i_panic("imap: output buffer full");
	}
	imap_cmd_untagged(cmd, "OK [UIDVALIDITY %u] UIDs valid", info.uidvalidity);
	imap_cmd_untagged(cmd, "OK [UIDNEXT %u] Predicted next UID", info.uidnext);
	imap_cmd_ok(cmd, "[%s] %s completed", info.readonly ? "READ-ONLY" : "READ-WRITE",
		    cmd->name);
	ctx->ok = true;
	return IMAP_RUN_DONE;
}

void cmd_select_finish(struct imap_command *cmd)
{
	struct select_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;

	if (ctx == NULL)
		return;
	/* RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected */
	session->state = ctx->ok ? IMAP_STATE_SELECTED : IMAP_STATE_AUTH;
	session->box_readonly = ctx->ok && mailbox_is_readonly(session->box);
}

/* CLOSE expunges silently (RFC 9051 6.4.1: no untagged EXPUNGE) unless
   the mailbox is read-only; UNSELECT does not. */
bool cmd_unselect(struct imap_command *cmd)
{
	if (cmd->arg_count != 0) {
		imap_cmd_bad(cmd, "%s takes no arguments", cmd->name);
		return false;
	}
	return true;
}

enum imap_run_result cmd_unselect_run(struct imap_command *cmd)
{
	struct imap_session *session = cmd->session;
	struct mailbox_expunge *expunged;
	unsigned int count;
	struct mail_error error;

	if (strcmp(cmd->name, "CLOSE") == 0 && !mailbox_is_readonly(session->box) &&
	    mailbox_expunge(session->box, NULL, 0, cmd->arena, &expunged, &count, &error) < 0 &&
	    error.code != MAIL_ERROR_GONE) {
		/* the mailbox is closed all the same (RFC 9051 6.4.1 leaves no
		   way to stay in it); the error goes into the log */
		imap_cmd_mail_error(cmd, &error);
	}
	if (session->watch != NULL)
		mail_store_unwatch(&session->watch);
	mailbox_close(&session->box);
	i_free(session->saved_uids);
	session->saved_count = 0;
	return IMAP_RUN_DONE;
}

void cmd_unselect_finish(struct imap_command *cmd)
{
	cmd->session->state = IMAP_STATE_AUTH;
	cmd->session->box_readonly = false;
	if (cmd->result_set && cmd->result == IMAP_RESULT_NO)
		imap_cmd_ok(cmd, "%s completed (%s)", cmd->name, cmd->result_text);
}
