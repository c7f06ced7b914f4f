/*
 * STATUS (RFC 9051 6.3.11, RFC 3501 6.3.10, RFC 8438 STATUS=SIZE), and the
 * status items LIST-STATUS (RFC 5819) shares.
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-quote.h"
#include "imap-status.h"
#include "imap-util.h"

static const struct {
	const char *name;
	unsigned int item;
} status_items[] = {
	{ "MESSAGES", MAIL_STATUS_MESSAGES },
	{ "RECENT", MAIL_STATUS_RECENT },
	{ "UIDNEXT", MAIL_STATUS_UIDNEXT },
	{ "UIDVALIDITY", MAIL_STATUS_UIDVALIDITY },
	{ "UNSEEN", MAIL_STATUS_UNSEEN },
	{ "SIZE", MAIL_STATUS_SIZE },
	{ "DELETED", MAIL_STATUS_DELETED },
};

bool imap_status_items_parse(struct imap_command *cmd, const struct imap_arg *list,
			     unsigned int *items_r)
{
	unsigned int i, j;

	*items_r = 0;
	if (list->type != IMAP_ARG_LIST || list->count == 0) {
		imap_cmd_bad(cmd, "Status items must be a non-empty list");
		return false;
	}
	for (i = 0; i < list->count; i++) {
		const char *w = imap_arg_atom(&list->list[i]);

		for (j = 0; w != NULL && j < N_ELEMENTS(status_items); j++) {
			if (i_strcasecmp(w, status_items[j].name) == 0)
				break;
		}
		if (w == NULL || j == N_ELEMENTS(status_items)) {
			imap_cmd_bad(cmd, "Unknown status item");
			return false;
		}
		*items_r |= status_items[j].item;
	}
	/* RFC 9051 removed RECENT: an IMAP4rev2 client does not get it */
	if ((cmd->session->enabled & IMAP_ENABLED_REV2) != 0 &&
	    (*items_r & ~MAIL_STATUS_RECENT) == 0) {
		imap_cmd_bad(cmd, "RECENT is not an IMAP4rev2 status item");
		return false;
	}
	if ((cmd->session->enabled & IMAP_ENABLED_REV2) != 0)
		*items_r &= ~MAIL_STATUS_RECENT;
	return true;
}

void imap_status_write(struct imap_command *cmd, const char *name, unsigned int items,
		       const struct mail_status *st)
{
	buf_t *out = &cmd->out;
	const char *client_name = imap_mailbox_to_client(cmd->arena, name,
							  imap_session_utf8_names(cmd->session));
	bool first = true;
	unsigned int i;

	if (buf_append_str(out, "* STATUS ") < 0 ||
	    imap_append_string(out, client_name, strlen(client_name),
			       imap_session_quote_flags(cmd->session)) < 0 ||
	    buf_append_str(out, " (") < 0)
		goto full;
	for (i = 0; i < N_ELEMENTS(status_items); i++) {
		uint64_t v;

		if ((items & status_items[i].item) == 0)
			continue;
		switch (status_items[i].item) {
		case MAIL_STATUS_MESSAGES: v = st->messages; break;
		case MAIL_STATUS_RECENT: v = st->recent; break;
		case MAIL_STATUS_UIDNEXT: v = st->uidnext; break;
		case MAIL_STATUS_UIDVALIDITY: v = st->uidvalidity; break;
		case MAIL_STATUS_UNSEEN: v = st->unseen; break;
		case MAIL_STATUS_SIZE: v = st->size; break;
		case MAIL_STATUS_DELETED: v = st->deleted; break;
		default: v = 0; break;
		}
		if (buf_printf(out, "%s%s %llu", first ? "" : " ", status_items[i].name,
			       (unsigned long long)v) < 0)
			goto full;
		first = false;
	}
	if (buf_append_str(out, ")\r\n") < 0)
		goto full;
	return;
full:
	i_panic("imap: output buffer full");
}

struct status_ctx {
	const char *name;
	unsigned int items;
};

/* STATUS mailbox (items) */
bool cmd_status(struct imap_command *cmd)
{
	struct status_ctx *ctx = arena_new_type(cmd->arena, struct status_ctx);

	if (cmd->arg_count != 2) {
		imap_cmd_bad(cmd, "Usage: STATUS mailbox (items)");
		return false;
	}
	if ((ctx->name = imap_cmd_mailbox_arg(cmd, &cmd->args[0])) == NULL ||
	    !imap_status_items_parse(cmd, &cmd->args[1], &ctx->items))
		return false;
	cmd->ctx = ctx;
	return true;
}

enum imap_run_result cmd_status_run(struct imap_command *cmd)
{
	struct status_ctx *ctx = cmd->ctx;
	struct mail_status st;
	struct mail_error error;

	if (mail_folder_status(cmd->session->mail_user, ctx->name, ctx->items, &st, &error) < 0) {
		imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	imap_status_write(cmd, ctx->name, ctx->items, &st);
	return IMAP_RUN_DONE;
}
