/*
 * SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4) with ESEARCH
 * (RFC 4731: RETURN MIN MAX ALL COUNT) and SEARCHRES (RFC 5182: SAVE and
 * "$"). The keys (imap-search.h) become the store's criteria
 * (mail-search.h), which the store evaluates over the view.
 * IMAP4rev2 clients always get ESEARCH (RFC 9051 6.4.4).
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-search.h"
#include "imap-seqset.h"
#include "mail-search.h"

struct search_ctx {
	struct imap_search search;
};

static bool convert(struct imap_command *cmd, const struct imap_search_key *key,
		    struct mail_search_arg *out);

bool cmd_search(struct imap_command *cmd)
{
	struct search_ctx *ctx = arena_new_type(cmd->arena, struct search_ctx);
	enum imap_search_error kind;
	const char *error;

	cmd->ctx = ctx;
	if (imap_search_parse(cmd->arena, cmd->args, cmd->arg_count, &ctx->search, &kind,
			      &error) < 0) {
		if (kind == IMAP_SEARCH_ERROR_BADCHARSET)
			imap_cmd_no(cmd, "%s", error);
		else
			imap_cmd_bad(cmd, "%s", error);
		/* RFC 5182 2.1: a failed SEARCH that would have saved
		   empties "$" */
		if (ctx->search.return_opts & IMAP_SEARCH_RETURN_SAVE) {
			i_free(cmd->session->saved_uids);
			cmd->session->saved_count = 0;
		}
		return false;
	}
	return true;
}

static struct mail_search_arg *new_arg(struct imap_command *cmd, enum mail_search_type type)
{
	struct mail_search_arg *a = arena_new_type(cmd->arena, struct mail_search_arg);

	a->type = type;
	return a;
}

/* NOT around a (fresh) arg. */
static void negate(struct imap_command *cmd, struct mail_search_arg *out)
{
	struct mail_search_arg *inner = new_arg(cmd, out->type);

	inner->value = out->value;
	out->type = MAIL_SEARCH_NOT;
	out->value.children = inner;
}

static bool convert_list(struct imap_command *cmd, const struct imap_search_key *children,
			 unsigned int count, struct mail_search_arg **first_r)
{
	struct mail_search_arg **tail = first_r;
	unsigned int i;

	*first_r = NULL;
	for (i = 0; i < count; i++) {
		struct mail_search_arg *a = new_arg(cmd, MAIL_SEARCH_ALL);

		if (!convert(cmd, &children[i], a))
			return false;
		*tail = a;
		tail = &a->next;
	}
	return true;
}

static bool set_ranges(struct imap_command *cmd, const struct imap_seqset *set, bool uid,
		       struct mail_search_arg *out)
{
	struct mail_uid_range *ranges;
	unsigned int count;

	out->type = MAIL_SEARCH_UIDSET;
	if (!uid && !set->saved && mailbox_count(cmd->session->box) == 0) {
		/* nothing to number: the set matches nothing */
		out->value.uids.ranges = NULL;
		out->value.uids.count = 0;
		return true;
	}
	if (!imap_seqset_to_uids(cmd, set, uid, &ranges, &count))
		return false;
	out->value.uids.ranges = ranges;
	out->value.uids.count = count;
	return true;
}

static bool convert(struct imap_command *cmd, const struct imap_search_key *key,
		    struct mail_search_arg *out)
{
	switch (key->type) {
	case IMAP_SK_ALL:
		out->type = MAIL_SEARCH_ALL;
		return true;
	case IMAP_SK_AND:
		out->type = MAIL_SEARCH_AND;
		return convert_list(cmd, key->children, key->child_count, &out->value.children);
	case IMAP_SK_OR:
		out->type = MAIL_SEARCH_OR;
		return convert_list(cmd, key->children, key->child_count, &out->value.children);
	case IMAP_SK_NOT:
		out->type = MAIL_SEARCH_NOT;
		return convert_list(cmd, key->children, 1, &out->value.children);
	case IMAP_SK_SEQSET:
		return set_ranges(cmd, &key->set, false, out);
	case IMAP_SK_UIDSET:
		return set_ranges(cmd, &key->set, true, out);
	case IMAP_SK_FLAG:
		if (key->keyword != NULL) {
			out->type = MAIL_SEARCH_KEYWORD;
			out->value.str = key->keyword;
		} else {
			out->type = MAIL_SEARCH_FLAGS;
			out->value.flags = key->flag;
		}
		if (key->negated)
			negate(cmd, out);
		return true;
	case IMAP_SK_RECENT:
		out->type = MAIL_SEARCH_RECENT;
		if (key->negated)
			negate(cmd, out);
		return true;
	case IMAP_SK_BEFORE: out->type = MAIL_SEARCH_BEFORE; out->value.day = key->day; return true;
	case IMAP_SK_ON: out->type = MAIL_SEARCH_ON; out->value.day = key->day; return true;
	case IMAP_SK_SINCE: out->type = MAIL_SEARCH_SINCE; out->value.day = key->day; return true;
	case IMAP_SK_SENTBEFORE:
		out->type = MAIL_SEARCH_SENTBEFORE;
		out->value.day = key->day;
		return true;
	case IMAP_SK_SENTON: out->type = MAIL_SEARCH_SENTON; out->value.day = key->day; return true;
	case IMAP_SK_SENTSINCE:
		out->type = MAIL_SEARCH_SENTSINCE;
		out->value.day = key->day;
		return true;
	case IMAP_SK_LARGER:
		out->type = MAIL_SEARCH_LARGER;
		out->value.number = key->size;
		return true;
	case IMAP_SK_SMALLER:
		out->type = MAIL_SEARCH_SMALLER;
		out->value.number = key->size;
		return true;
	case IMAP_SK_HEADER:
		out->type = MAIL_SEARCH_HEADER;
		out->value.header.field = key->field;
		out->value.header.value = key->value;
		return true;
	case IMAP_SK_BODY:
		out->type = MAIL_SEARCH_BODY;
		out->value.str = key->value;
		return true;
	case IMAP_SK_TEXT:
		out->type = MAIL_SEARCH_TEXT;
		out->value.str = key->value;
		return true;
	}
	imap_cmd_bad(cmd, "Unknown search key");
	return false;
}

static void write_numbers(struct imap_command *cmd, const uint32_t *nums, unsigned int count)
{
	if (imap_seqset_write_numbers(&cmd->out, nums, count) < 0)
		i_panic("imap: output buffer full");
}

enum imap_run_result cmd_search_run(struct imap_command *cmd)
{
	struct search_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;
	const struct imap_search *s = &ctx->search;
	unsigned int opts = s->return_opts, count, i;
	bool esearch = s->esearch || (session->enabled & IMAP_ENABLED_REV2) != 0;
	struct mail_search_arg *root = new_arg(cmd, MAIL_SEARCH_ALL);
	struct mail_error error;
	uint32_t *uids, *nums;

	if (!convert(cmd, &s->root, root)) {
		if (opts & IMAP_SEARCH_RETURN_SAVE) {
			i_free(session->saved_uids);
			session->saved_count = 0;
		}
		return IMAP_RUN_DONE;
	}
	if (mailbox_search(session->box, root, cmd->arena, &uids, &count, NULL, &error) < 0) {
		imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	/* the numbers the client sees: UIDs, or sequence numbers */
	nums = uids;
	if (!cmd->uid) {
		nums = arena_new_array(cmd->arena, uint32_t, I_MAX(count, 1u));
		for (i = 0; i < count; i++)
			nums[i] = mailbox_uid_to_seq(session->box, uids[i]);
	}
	if (opts & IMAP_SEARCH_RETURN_SAVE) {
		/* RFC 5182 2.1: with MIN and/or MAX only, just those are saved */
		bool only_minmax = (opts & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) == 0 &&
			(opts & (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX)) != 0;

		i_free(session->saved_uids);
		session->saved_count = 0;
		session->saved_uids = i_malloc(sizeof(uint32_t) * I_MAX(count, 1u));
		if (!only_minmax) {
			memcpy(session->saved_uids, uids, sizeof(uint32_t) * count);
			session->saved_count = count;
		} else if (count > 0) {
			if (opts & IMAP_SEARCH_RETURN_MIN)
				session->saved_uids[session->saved_count++] = uids[0];
			if ((opts & IMAP_SEARCH_RETURN_MAX) && count > 1)
				session->saved_uids[session->saved_count++] = uids[count - 1];
		}
		/* RFC 5182 2.4: SAVE alone returns no ESEARCH */
		if ((opts & ~IMAP_SEARCH_RETURN_SAVE) == 0)
			return IMAP_RUN_DONE;
	}
	if (!esearch) {
		/* RFC 3501 7.2.5 */
		if (buf_append_str(&cmd->out, "* SEARCH") < 0)
			i_panic("imap: output buffer full");
		for (i = 0; i < count; i++) {
			if (buf_printf(&cmd->out, " %u", nums[i]) < 0)
				i_panic("imap: output buffer full");
		}
		if (buf_append_str(&cmd->out, "\r\n") < 0)
			i_panic("imap: output buffer full");
		return IMAP_RUN_DONE;
	}
	/* RFC 4731 3.1 / RFC 9051 7.3.4: ESEARCH; no RETURN = ALL */
	if (opts == 0)
		opts = IMAP_SEARCH_RETURN_ALL;
	if (buf_printf(&cmd->out, "* ESEARCH (TAG \"%s\")%s", cmd->tag, cmd->uid ? " UID" : "") < 0)
		i_panic("imap: output buffer full");
	if (count > 0) {
		if (opts & IMAP_SEARCH_RETURN_MIN)
			(void)!buf_printf(&cmd->out, " MIN %u", nums[0]);
		if (opts & IMAP_SEARCH_RETURN_MAX)
			(void)!buf_printf(&cmd->out, " MAX %u", nums[count - 1]);
	}
	if (opts & IMAP_SEARCH_RETURN_COUNT)
		(void)!buf_printf(&cmd->out, " COUNT %u", count);
	if ((opts & IMAP_SEARCH_RETURN_ALL) && count > 0) {
		(void)!buf_append_str(&cmd->out, " ALL ");
		write_numbers(cmd, nums, count);
	}
	if (buf_append_str(&cmd->out, "\r\n") < 0)
		i_panic("imap: output buffer full");
	return IMAP_RUN_DONE;
}
