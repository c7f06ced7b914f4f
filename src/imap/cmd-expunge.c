/*
 * EXPUNGE (RFC 9051 6.4.3), UID EXPUNGE (RFC 4315 2.1, RFC 9051 6.4.9) and
 * CHECK (RFC 3501 6.4.1: a checkpoint; here every change is already
 * durable, so it is a NOOP that reports changes).
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-seqset.h"

struct expunge_ctx {
	struct imap_seqset set;
	bool has_set;
};

bool cmd_expunge(struct imap_command *cmd)
{
	struct expunge_ctx *ctx = arena_new_type(cmd->arena, struct expunge_ctx);
	const char *error;

	cmd->ctx = ctx;
	if (strcmp(cmd->name, "CHECK") == 0) {
		if (cmd->arg_count != 0) {
			imap_cmd_bad(cmd, "CHECK takes no arguments");
			return false;
		}
		return true;
	}
	if (cmd->uid) {
		if (cmd->arg_count != 1 || imap_arg_atom(&cmd->args[0]) == NULL ||
		    imap_seqset_parse(cmd->arena, cmd->args[0].str, &ctx->set, &error) < 0) {
			imap_cmd_bad(cmd, "Usage: UID EXPUNGE uid-set");
			return false;
		}
		ctx->has_set = true;
	} else if (cmd->arg_count != 0) {
		imap_cmd_bad(cmd, "EXPUNGE takes no arguments");
		return false;
	}
	if (cmd->session->box_readonly) {
		/* RFC 9051 6.3.2: nothing may change in an EXAMINEd mailbox */
		imap_cmd_no(cmd, "[READ-ONLY] The mailbox is read-only");
		return false;
	}
	return true;
}

enum imap_run_result cmd_expunge_run(struct imap_command *cmd)
{
	struct expunge_ctx *ctx = cmd->ctx;
	struct mail_uid_range *ranges = NULL;
	unsigned int range_count = 0, count, i;
	struct mailbox_expunge *expunged;
	struct mail_error error;

	if (strcmp(cmd->name, "CHECK") == 0)
		return IMAP_RUN_DONE;
	if (ctx->has_set && !imap_seqset_to_uids(cmd, &ctx->set, true, &ranges, &range_count))
		return IMAP_RUN_DONE;
	if (ctx->has_set && range_count == 0)
		return IMAP_RUN_DONE;
	if (mailbox_expunge(cmd->session->box, ranges, range_count, cmd->arena, &expunged, &count,
			    &error) < 0) {
		imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	/* RFC 9051 7.5.1: in the store's order, each number valid when sent */
	for (i = 0; i < count; i++)
		imap_cmd_untagged(cmd, "%u EXPUNGE", expunged[i].seq);
	return IMAP_RUN_DONE;
}
