/*
 * COPY and MOVE, with their UID forms (RFC 9051 6.4.7-8, RFC 6851 MOVE,
 * RFC 4315 COPYUID). MOVE sends its COPYUID untagged before the EXPUNGEs
 * of the moved messages (RFC 6851 4.3).
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-seqset.h"

struct copy_ctx {
	struct imap_seqset set;
	const char *dest;
	bool move;
};

bool cmd_copy(struct imap_command *cmd)
{
	struct copy_ctx *ctx = arena_new_type(cmd->arena, struct copy_ctx);
	const char *error;

	cmd->ctx = ctx;
	ctx->move = strstr(cmd->name, "MOVE") != NULL;
	if (cmd->arg_count != 2 || imap_arg_atom(&cmd->args[0]) == NULL ||
	    imap_seqset_parse(cmd->arena, cmd->args[0].str, &ctx->set, &error) < 0) {
		imap_cmd_bad(cmd, "Usage: %s set mailbox", cmd->name);
		return false;
	}
	if ((ctx->dest = imap_cmd_mailbox_arg(cmd, &cmd->args[1])) == NULL)
		return false;
	if (ctx->move && cmd->session->box_readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] The mailbox is read-only");
		return false;
	}
	return true;
}

enum imap_run_result cmd_copy_run(struct imap_command *cmd)
{
	struct copy_ctx *ctx = cmd->ctx;
	struct mail_uid_range *ranges;
	struct mail_copy_result res;
	struct mail_error error;
	unsigned int range_count, i;
	buf_t src, dst;

	if (!imap_seqset_to_uids(cmd, &ctx->set, cmd->uid, &ranges, &range_count))
		return IMAP_RUN_DONE;
	if (range_count == 0)
		return IMAP_RUN_DONE;   /* RFC 9051 6.4.9: an empty UID set is fine */
	if (mailbox_copy(cmd->session->box, ranges, range_count, ctx->dest, ctx->move, cmd->arena,
			 &res, &error) < 0) {
		if (error.code == MAIL_ERROR_NOTFOUND)
			imap_cmd_no(cmd, "[TRYCREATE] %s", error.text);
		else
			imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	if (res.count == 0)
		return IMAP_RUN_DONE;
	buf_init(&src, BUF_MAX_UNLIMITED);
	buf_init(&dst, BUF_MAX_UNLIMITED);
	if (imap_seqset_write_numbers(&src, res.src_uids, res.count) < 0 ||
	    imap_seqset_write_numbers(&dst, res.dest_uids, res.count) < 0)
		i_panic("imap: output buffer full");
	if (ctx->move) {
		imap_cmd_untagged(cmd, "OK [COPYUID %u %s %s] Moved UIDs", res.dest_uidvalidity,
				  buf_str(&src), buf_str(&dst));
		for (i = 0; i < res.expunge_count; i++)
			imap_cmd_untagged(cmd, "%u EXPUNGE", res.expunges[i].seq);
		imap_cmd_ok(cmd, "%s completed", cmd->name);
	} else {
		imap_cmd_ok(cmd, "[COPYUID %u %s %s] %s completed", res.dest_uidvalidity,
			    buf_str(&src), buf_str(&dst), cmd->name);
	}
	buf_free(&src);
	buf_free(&dst);
	return IMAP_RUN_DONE;
}
