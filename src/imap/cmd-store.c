/*
 * STORE and UID STORE (RFC 9051 6.4.6, 6.4.9): FLAGS, +FLAGS, -FLAGS and
 * their .SILENT forms. The untagged FETCH of each message's new flags is
 * written from the store's results (RFC 9051 7.5.2: with UID for UID
 * STORE); other sessions learn of the change at their next sync.
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-seqset.h"
#include "imap-util.h"

struct store_ctx {
	struct imap_seqset set;
	struct mail_flags_change change;
	bool silent;
};

/* STORE sequence-set [store-modifiers] store-att-flags */
bool cmd_store(struct imap_command *cmd)
{
	struct store_ctx *ctx = arena_new_type(cmd->arena, struct store_ctx);
	const struct imap_arg *args = cmd->args;
	unsigned int n = cmd->arg_count, i = 1;
	const char *item, *error, *p;
	struct imap_flags flags;

	cmd->ctx = ctx;
	if (n < 3 || imap_arg_atom(&args[0]) == NULL ||
	    imap_seqset_parse(cmd->arena, args[0].str, &ctx->set, &error) < 0) {
		imap_cmd_bad(cmd, "Usage: STORE set [+|-]FLAGS[.SILENT] (flags)");
		return false;
	}
	if (args[1].type == IMAP_ARG_LIST) {
		/* RFC 4466 store-modifiers: UNCHANGEDSINCE comes with
		   CONDSTORE, which is not offered yet */
		imap_cmd_bad(cmd, "Unsupported STORE modifier");
		return false;
	}
	if ((item = imap_arg_atom(&args[i])) == NULL) {
		imap_cmd_bad(cmd, "Invalid STORE item");
		return false;
	}
	i++;
	p = item;
	ctx->change.op = MAIL_FLAGS_REPLACE;
	if (*p == '+' || *p == '-') {
		ctx->change.op = *p == '+' ? MAIL_FLAGS_ADD : MAIL_FLAGS_REMOVE;
		p++;
	}
	if (i_strcasecmp(p, "FLAGS.SILENT") == 0) {
		ctx->silent = true;
	} else if (i_strcasecmp(p, "FLAGS") != 0) {
		imap_cmd_bad(cmd, "Invalid STORE item %s", item);
		return false;
	}
	/* flag-list, or flags without parentheses */
	if (i + 1 == n && args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(cmd->arena, args[i].list, args[i].count, &flags, &error) < 0) {
			imap_cmd_bad(cmd, "%s", error);
			return false;
		}
	} else if (imap_flags_parse(cmd->arena, args + i, n - i, &flags, &error) < 0) {
		imap_cmd_bad(cmd, "%s", error);
		return false;
	}
	ctx->change.flags = flags.system;
	ctx->change.keywords = flags.keywords;
	ctx->change.keyword_count = flags.keyword_count;
	if (cmd->session->box_readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] The mailbox is read-only");
		return false;
	}
	return true;
}

enum imap_run_result cmd_store_run(struct imap_command *cmd)
{
	struct store_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;
	bool rev1 = (session->enabled & IMAP_ENABLED_REV2) == 0;
	struct mail_uid_range *ranges;
	struct mail_flags_result *results;
	uint32_t *modified;
	unsigned int range_count, count, modified_count, i;
	struct mail_error error;

	if (!imap_seqset_to_uids(cmd, &ctx->set, cmd->uid, &ranges, &range_count))
		return IMAP_RUN_DONE;
	if (range_count == 0)
		return IMAP_RUN_DONE;
	if (mailbox_store(session->box, ranges, range_count, &ctx->change, cmd->arena, &results,
			  &count, &modified, &modified_count, &error) < 0) {
		imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	if (ctx->silent)
		return IMAP_RUN_DONE;
	for (i = 0; i < count; i++) {
		const struct mail_flags_result *r = &results[i];

		if (buf_printf(&cmd->out, "* %u FETCH (", r->seq) < 0 ||
		    (cmd->uid && buf_printf(&cmd->out, "UID %u ", r->uid) < 0) ||
		    buf_append_str(&cmd->out, "FLAGS ") < 0 ||
		    imap_flags_write(&cmd->out, r->flags, r->keywords, r->keyword_count,
				     rev1 && mailbox_is_recent(session->box, r->uid), true) < 0 ||
		    buf_append_str(&cmd->out, ")\r\n") < 0)
			i_panic("imap: output buffer full");
	}
	return IMAP_RUN_DONE;
}
