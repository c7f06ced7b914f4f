/*
 * Managing mailboxes: CREATE (RFC 9051 6.3.4, RFC 6154 3 CREATE-SPECIAL-USE),
 * DELETE (6.3.5), RENAME (6.3.6), SUBSCRIBE and UNSUBSCRIBE (6.3.7-8).
 * The store does the work in a job; names go through imap-util.h.
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-util.h"

struct mailbox_ctx {
	const char *name, *new_name;
	unsigned int special_use;
	bool closed_selected;       /* DELETE of the selected mailbox */
};

/* CREATE mailbox [(USE (\Sent ...))] */
bool cmd_create(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx = arena_new_type(cmd->arena, struct mailbox_ctx);
	const char *raw;
	size_t len;

	if (cmd->arg_count < 1 || cmd->arg_count > 2) {
		imap_cmd_bad(cmd, "Usage: CREATE mailbox [(USE (attributes))]");
		return false;
	}
	if (cmd->arg_count == 2) {
		const struct imap_arg *params = &cmd->args[1];
		unsigned int i;

		/* RFC 4466 create-params / RFC 6154 3: USE (attr...) */
		if (params->type != IMAP_ARG_LIST || params->count != 2 ||
		    imap_arg_atom(&params->list[0]) == NULL ||
		    i_strcasecmp(params->list[0].str, "USE") != 0 ||
		    params->list[1].type != IMAP_ARG_LIST) {
			imap_cmd_bad(cmd, "Unsupported CREATE parameter");
			return false;
		}
		for (i = 0; i < params->list[1].count; i++) {
			const char *attr = imap_arg_atom(&params->list[1].list[i]);
			unsigned int bit = attr != NULL ? mail_special_use_parse(attr) : 0;

			if (bit == 0) {
				/* RFC 6154 3 */
				imap_cmd_no(cmd, "[USEATTR] Unsupported special-use attribute");
				return false;
			}
			ctx->special_use |= bit;
		}
	}
	/* RFC 9051 6.3.4: a trailing delimiter says the client means to
	   create names under it; the mailbox itself is what is created */
	raw = imap_arg_astring(&cmd->args[0]);
	if (raw != NULL && (len = strlen(raw)) > 1 && raw[len - 1] == IMAP_HIERARCHY_SEP) {
		struct imap_arg trimmed = cmd->args[0];

		trimmed.str = arena_strndup(cmd->arena, raw, len - 1);
		trimmed.len = len - 1;
		trimmed.type = IMAP_ARG_QUOTED;
		ctx->name = imap_cmd_mailbox_arg(cmd, &trimmed);
	} else {
		ctx->name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	}
	if (ctx->name == NULL)
		return false;
	if (strcmp(ctx->name, MAIL_INBOX) == 0) {
		/* RFC 9051 6.3.4: INBOX always exists */
		imap_cmd_no(cmd, "[ALREADYEXISTS] INBOX always exists");
		return false;
	}
	cmd->ctx = ctx;
	return true;
}

enum imap_run_result cmd_create_run(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx = cmd->ctx;
	struct mail_error error;

	if (mail_folder_create(cmd->session->mail_user, ctx->name, ctx->special_use, &error) < 0) {
		if (error.code == MAIL_ERROR_PARAMS && ctx->special_use != 0)
			imap_cmd_no(cmd, "[USEATTR] %s", error.text);
		else
			imap_cmd_mail_error(cmd, &error);
	}
	return IMAP_RUN_DONE;
}

static bool one_mailbox(struct imap_command *cmd, struct mailbox_ctx **ctx_r)
{
	struct mailbox_ctx *ctx = arena_new_type(cmd->arena, struct mailbox_ctx);

	if (cmd->arg_count != 1) {
		imap_cmd_bad(cmd, "Usage: %s mailbox", cmd->name);
		return false;
	}
	ctx->name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (ctx->name == NULL)
		return false;
	cmd->ctx = ctx;
	*ctx_r = ctx;
	return true;
}

bool cmd_delete(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx;

	if (!one_mailbox(cmd, &ctx))
		return false;
	if (strcmp(ctx->name, MAIL_INBOX) == 0) {
		/* RFC 9051 6.3.5: deleting INBOX is an error */
		imap_cmd_no(cmd, "[CANNOT] INBOX cannot be deleted");
		return false;
	}
	return true;
}

enum imap_run_result cmd_delete_run(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;
	struct mail_error error;

	if (session->box != NULL) {
		struct mailbox_info info;

		/* deleting the selected mailbox: leave it first, quietly
		   (otherwise the next sync would find it gone and end the
		   session) */
		if (mailbox_get_info(session->box, cmd->arena, &info, &error) == 0 &&
		    strcmp(info.name, ctx->name) == 0) {
			if (session->watch != NULL)
				mail_store_unwatch(&session->watch);
			mailbox_close(&session->box);
			ctx->closed_selected = true;
		}
	}
	if (mail_folder_delete(session->mail_user, ctx->name, &error) < 0)
		imap_cmd_mail_error(cmd, &error);
	return IMAP_RUN_DONE;
}

void cmd_delete_finish(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx = cmd->ctx;

	if (ctx != NULL && ctx->closed_selected) {
		cmd->session->state = IMAP_STATE_AUTH;
		cmd->session->box_readonly = false;
	}
}

bool cmd_rename(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx = arena_new_type(cmd->arena, struct mailbox_ctx);

	if (cmd->arg_count != 2) {
		imap_cmd_bad(cmd, "Usage: RENAME old new");
		return false;
	}
	if ((ctx->name = imap_cmd_mailbox_arg(cmd, &cmd->args[0])) == NULL ||
	    (ctx->new_name = imap_cmd_mailbox_arg(cmd, &cmd->args[1])) == NULL)
		return false;
	if (strcmp(ctx->new_name, MAIL_INBOX) == 0) {
		imap_cmd_no(cmd, "[ALREADYEXISTS] INBOX always exists");
		return false;
	}
	cmd->ctx = ctx;
	return true;
}

enum imap_run_result cmd_rename_run(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx = cmd->ctx;
	struct mail_error error;

	if (mail_folder_rename(cmd->session->mail_user, ctx->name, ctx->new_name, &error) < 0)
		imap_cmd_mail_error(cmd, &error);
	return IMAP_RUN_DONE;
}

/* SUBSCRIBE / UNSUBSCRIBE: any valid name, existing or not (RFC 9051
   6.3.7: a server MAY refuse a nonexistent one; tern keeps it, as
   Dovecot does, for folders that come and go) */
bool cmd_subscribe(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx;

	return one_mailbox(cmd, &ctx);
}

enum imap_run_result cmd_subscribe_run(struct imap_command *cmd)
{
	struct mailbox_ctx *ctx = cmd->ctx;
	struct mail_error error;

	if (mail_folder_subscribe(cmd->session->mail_user, ctx->name,
				  strcmp(cmd->name, "SUBSCRIBE") == 0, &error) < 0)
		imap_cmd_mail_error(cmd, &error);
	return IMAP_RUN_DONE;
}
