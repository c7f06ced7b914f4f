/*
 * LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258: selection options
 * SUBSCRIBED, RECURSIVEMATCH, SPECIAL-USE, REMOTE; return options
 * SUBSCRIBED, CHILDREN, SPECIAL-USE), LIST-STATUS (RFC 5819) and
 * SPECIAL-USE (RFC 6154); LSUB (RFC 3501 6.3.9, IMAP4rev1 only).
 *
 * The store lists every name (folders, \Noselect parents, subscriptions
 * of nothing); the patterns are matched here. \HasChildren /
 * \HasNoChildren and special-use attributes are always sent (RFC 3348,
 * RFC 6154 2: servers SHOULD), \Subscribed only when asked.
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-quote.h"
#include "imap-status.h"
#include "imap-util.h"
#include "mutf7.h"

enum list_sel {
	SEL_SUBSCRIBED     = 1 << 0,
	SEL_RECURSIVEMATCH = 1 << 1,
	SEL_SPECIAL_USE    = 1 << 2,
};

enum list_ret {
	RET_SUBSCRIBED  = 1 << 0,
	RET_CHILDREN    = 1 << 1,
	RET_SPECIAL_USE = 1 << 2,
	RET_STATUS      = 1 << 3,
};

struct list_ctx {
	bool lsub;
	bool extended;               /* RFC 5258 syntax was used */
	unsigned int sel, ret;
	unsigned int status_items;
	const char **patterns;       /* reference + pattern, tern's form */
	unsigned int pattern_count;
	bool delimiter_only;         /* LIST "" "" */
};

/* The pattern in tern's UTF-8 form; wildcards pass through the name
   conversion (they are printable ASCII, untouched by mUTF-7). */
static const char *pattern_from_client(struct imap_command *cmd, const char *ref,
				       const char *pattern)
{
	const char *full, *error, *out;
	bool utf8 = imap_session_utf8_names(cmd->session);

	/* RFC 9051 6.3.9: the reference and the pattern form one name */
	if (ref[0] != '\0' && pattern[0] == IMAP_HIERARCHY_SEP)
		full = pattern + 1;   /* an absolute pattern: the reference is ignored */
	else
		full = arena_printf(cmd->arena, "%s%s", ref, pattern);
	if (full[0] == '\0')
		return "";
	/* no level checks here: "a/" or "%/" are fine as patterns */
	if (utf8) {
		out = full;
	} else {
		buf_t b;

		buf_init(&b, strlen(full) * 4 + 8);
		if (mutf7_decode(full, strlen(full), &b) < 0) {
			buf_free(&b);
			return NULL;
		}
		out = arena_strndup(cmd->arena, b.data, b.used);
		buf_free(&b);
	}
	(void)error;
	if (i_strncasecmp(out, "INBOX", 5) == 0 &&
	    (out[5] == '\0' || out[5] == IMAP_HIERARCHY_SEP)) {
		char *copy = arena_strdup(cmd->arena, out);

		memcpy(copy, "INBOX", 5);
		out = copy;
	}
	return out;
}

static bool parse_return(struct imap_command *cmd, struct list_ctx *ctx,
			 const struct imap_arg *list)
{
	unsigned int i;

	if (list->type != IMAP_ARG_LIST) {
		imap_cmd_bad(cmd, "RETURN needs a list");
		return false;
	}
	for (i = 0; i < list->count; i++) {
		const char *o = imap_arg_atom(&list->list[i]);

		if (o == NULL) {
			imap_cmd_bad(cmd, "Invalid RETURN option");
			return false;
		}
		if (i_strcasecmp(o, "SUBSCRIBED") == 0) {
			ctx->ret |= RET_SUBSCRIBED;
		} else if (i_strcasecmp(o, "CHILDREN") == 0) {
			ctx->ret |= RET_CHILDREN;
		} else if (i_strcasecmp(o, "SPECIAL-USE") == 0) {
			ctx->ret |= RET_SPECIAL_USE;
		} else if (i_strcasecmp(o, "STATUS") == 0 && i + 1 < list->count) {
			/* RFC 5819 */
			ctx->ret |= RET_STATUS;
			if (!imap_status_items_parse(cmd, &list->list[++i], &ctx->status_items))
				return false;
		} else {
			imap_cmd_bad(cmd, "Unknown RETURN option %s", o);
			return false;
		}
	}
	return true;
}

bool cmd_list(struct imap_command *cmd)
{
	struct list_ctx *ctx = arena_new_type(cmd->arena, struct list_ctx);
	const struct imap_arg *args = cmd->args;
	unsigned int n = cmd->arg_count, i = 0;
	const char *ref;

	ctx->lsub = strcmp(cmd->name, "LSUB") == 0;
	cmd->ctx = ctx;
	if (!ctx->lsub && n > 0 && args[0].type == IMAP_ARG_LIST) {
		/* RFC 5258 3: selection options */
		ctx->extended = true;
		for (unsigned int j = 0; j < args[0].count; j++) {
			const char *o = imap_arg_atom(&args[0].list[j]);

			if (o == NULL) {
				imap_cmd_bad(cmd, "Invalid selection option");
				return false;
			}
			if (i_strcasecmp(o, "SUBSCRIBED") == 0)
				ctx->sel |= SEL_SUBSCRIBED;
			else if (i_strcasecmp(o, "RECURSIVEMATCH") == 0)
				ctx->sel |= SEL_RECURSIVEMATCH;
			else if (i_strcasecmp(o, "SPECIAL-USE") == 0)
				ctx->sel |= SEL_SPECIAL_USE;
			else if (i_strcasecmp(o, "REMOTE") == 0)
				;   /* no remote mailboxes here */
			else {
				imap_cmd_bad(cmd, "Unknown selection option %s", o);
				return false;
			}
		}
		/* RFC 5258 3: RECURSIVEMATCH alone is an error */
		if ((ctx->sel & SEL_RECURSIVEMATCH) != 0 &&
		    (ctx->sel & (SEL_SUBSCRIBED | SEL_SPECIAL_USE)) == 0) {
			imap_cmd_bad(cmd, "RECURSIVEMATCH needs another selection option");
			return false;
		}
		i = 1;
	}
	if (n < i + 2) {
		imap_cmd_bad(cmd, "Usage: %s reference mailbox", cmd->name);
		return false;
	}
	if ((ref = imap_arg_astring(&args[i])) == NULL) {
		imap_cmd_bad(cmd, "Invalid reference");
		return false;
	}
	i++;
	/* list-mailbox: an atom with wildcards, a string, or (RFC 5258) a list */
	if (args[i].type == IMAP_ARG_LIST && !ctx->lsub) {
		ctx->extended = true;
		ctx->patterns = arena_new_array(cmd->arena, const char *, args[i].count + 1);
		for (unsigned int j = 0; j < args[i].count; j++) {
			const struct imap_arg *a = &args[i].list[j];
			const char *p = a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_QUOTED ||
				a->type == IMAP_ARG_LITERAL ? a->str : NULL;

			if (p == NULL || (p = pattern_from_client(cmd, ref, p)) == NULL) {
				imap_cmd_bad(cmd, "Invalid mailbox pattern");
				return false;
			}
			ctx->patterns[ctx->pattern_count++] = p;
		}
	} else {
		const char *p = args[i].type != IMAP_ARG_LIST ? args[i].str : NULL;

		if (p == NULL || (p = pattern_from_client(cmd, ref, p)) == NULL) {
			imap_cmd_bad(cmd, "Invalid mailbox pattern");
			return false;
		}
		ctx->patterns = arena_new_array(cmd->arena, const char *, 1);
		ctx->patterns[ctx->pattern_count++] = p;
		/* RFC 9051 6.3.9: LIST "" "" asks for the delimiter */
		if (p[0] == '\0' && !ctx->lsub)
			ctx->delimiter_only = true;
	}
	i++;
	if (i < n) {
		if (ctx->lsub || i + 2 != n || imap_arg_atom(&args[i]) == NULL ||
		    i_strcasecmp(args[i].str, "RETURN") != 0) {
			imap_cmd_bad(cmd, "Invalid LIST arguments");
			return false;
		}
		ctx->extended = true;
		if (!parse_return(cmd, ctx, &args[i + 1]))
			return false;
	}
	if ((ctx->sel & SEL_SUBSCRIBED) != 0)
		ctx->ret |= RET_SUBSCRIBED;   /* RFC 5258 3.1 implies it */
	return true;
}

static bool matches_any(const struct list_ctx *ctx, const char *name)
{
	for (unsigned int i = 0; i < ctx->pattern_count; i++) {
		if (imap_list_match(ctx->patterns[i], name))
			return true;
	}
	return false;
}

static void write_list_line(struct imap_command *cmd, const struct list_ctx *ctx,
			    const struct mail_folder_info *f, bool noselect, bool subscribed,
			    bool childinfo_subscribed)
{
	buf_t *out = &cmd->out;
	bool sp = false;
	const char *name;

#define ATTR(s) do { if (buf_printf(out, "%s%s", sp ? " " : "", s) < 0) goto full; sp = true; } while (0)
	if (buf_printf(out, "* %s (", ctx->lsub ? "LSUB" : "LIST") < 0)
		goto full;
	if ((f->flags & MAIL_FOLDER_NONEXISTENT) != 0) {
		/* RFC 5258 3.4: \NonExistent implies \Noselect; IMAP4rev1
		   clients without LIST-EXTENDED syntax know only \Noselect */
		if (ctx->extended || (cmd->session->enabled & IMAP_ENABLED_REV2) != 0)
			ATTR("\\NonExistent");
		else
			ATTR("\\Noselect");
	} else if (noselect) {
		ATTR("\\Noselect");
	}
	if (!ctx->lsub) {
		if ((f->flags & MAIL_FOLDER_HAS_CHILDREN) != 0)
			ATTR("\\HasChildren");
		else if ((f->flags & MAIL_FOLDER_NONEXISTENT) == 0 || (ctx->ret & RET_CHILDREN) != 0)
			ATTR("\\HasNoChildren");
	}
	if (subscribed && (ctx->ret & RET_SUBSCRIBED) != 0)
		ATTR("\\Subscribed");
	for (unsigned int bit = 1; bit <= MAIL_SPECIAL_TRASH && !ctx->lsub; bit <<= 1) {
		if ((f->special_use & bit) != 0)
			ATTR(mail_special_use_name(bit));
	}
#undef ATTR
	name = imap_mailbox_to_client(cmd->arena, f->name, imap_session_utf8_names(cmd->session));
	if (buf_append_str(out, ") \"/\" ") < 0 ||
	    imap_append_string(out, name, strlen(name), imap_session_quote_flags(cmd->session)) < 0)
		goto full;
	if (childinfo_subscribed &&
	    buf_append_str(out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))") < 0)
		goto full;
	if (buf_append_str(out, "\r\n") < 0)
		goto full;
	return;
full:
	i_panic("imap: output buffer full");
}

/* Has name a descendant with need_flags (and a special use, if asked)
   that the patterns themselves do not list (unmatched_only)? */
static bool has_descendant(const struct list_ctx *ctx, const struct mail_folder_info *folders,
			   unsigned int count, const char *name, unsigned int need_flags,
			   bool need_special, bool unmatched_only)
{
	size_t len = strlen(name);

	for (unsigned int i = 0; i < count; i++) {
		const struct mail_folder_info *f = &folders[i];

		if (strncmp(f->name, name, len) == 0 && f->name[len] == IMAP_HIERARCHY_SEP &&
		    (f->flags & need_flags) == need_flags && (!need_special || f->special_use != 0) &&
		    (!unmatched_only || !matches_any(ctx, f->name)))
			return true;
	}
	return false;
}

enum imap_run_result cmd_list_run(struct imap_command *cmd)
{
	struct list_ctx *ctx = cmd->ctx;
	struct imap_session *session = cmd->session;
	struct mail_folder_info *folders;
	struct mail_error error;
	unsigned int count, i;

	if (ctx->delimiter_only) {
		imap_cmd_untagged(cmd, "LIST (\\Noselect) \"/\" \"\"");
		return IMAP_RUN_DONE;
	}
	if (mail_folder_list(session->mail_user, cmd->arena, &folders, &count, &error) < 0) {
		imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	for (i = 0; i < count; i++) {
		const struct mail_folder_info *f = &folders[i];
		bool subscribed = (f->flags & MAIL_FOLDER_SUBSCRIBED) != 0;
		bool exists = (f->flags & MAIL_FOLDER_NONEXISTENT) == 0;
		bool child_subscribed = false, noselect = false;

		if (!matches_any(ctx, f->name))
			continue;
		if (ctx->lsub || (ctx->sel & SEL_SUBSCRIBED) != 0) {
			if (!subscribed) {
				/* RFC 3501 6.3.9 (LSUB with %), RFC 5258 RECURSIVEMATCH:
				   an unsubscribed parent of subscribed names */
				/* RFC 3501 6.3.9: LSUB "" "%" shows "foo" as \Noselect
				   when only "foo/bar" is subscribed; RFC 5258 3.5
				   RECURSIVEMATCH reports it with CHILDINFO */
				child_subscribed = has_descendant(ctx, folders, count, f->name,
								  MAIL_FOLDER_SUBSCRIBED, false,
								  ctx->lsub);
				if (!child_subscribed)
					continue;
				if (ctx->lsub) {
					noselect = true;
				} else if ((ctx->sel & SEL_RECURSIVEMATCH) == 0) {
					continue;
				}
			}
		} else if ((ctx->sel & SEL_SPECIAL_USE) != 0 && f->special_use == 0) {
			if ((ctx->sel & SEL_RECURSIVEMATCH) == 0 ||
			    !has_descendant(ctx, folders, count, f->name, 0, true, false))
				continue;
		} else if (!exists && (f->flags & MAIL_FOLDER_HAS_CHILDREN) == 0 && !ctx->extended) {
			/* a subscription of nothing: only LSUB and LIST
			   (SUBSCRIBED) show it */
			continue;
		} else if (!exists && (f->flags & MAIL_FOLDER_HAS_CHILDREN) == 0 &&
			   (ctx->ret & RET_SUBSCRIBED) == 0) {
			continue;
		}
		write_list_line(cmd, ctx, f, noselect, subscribed,
				child_subscribed && !ctx->lsub && !subscribed);
		if ((ctx->ret & RET_STATUS) != 0 && exists && !ctx->lsub) {
			struct mail_status st;

			/* RFC 5819: STATUS for each selectable mailbox listed;
			   one that fails is left out */
			if (mail_folder_status(session->mail_user, f->name, ctx->status_items, &st,
					       &error) == 0)
				imap_status_write(cmd, f->name, ctx->status_items, &st);
		}
	}
	return IMAP_RUN_DONE;
}
