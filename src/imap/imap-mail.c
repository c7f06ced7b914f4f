/*
 * The store side of an IMAP session: opening the user's mail after login,
 * reporting mailbox changes at the end of commands (RFC 9051 7.5.1 / 5.2:
 * EXPUNGE, EXISTS, RECENT, FLAGS, FETCH FLAGS), store errors as response
 * codes (RFC 5530), and sequence sets as the store's UID ranges.
 * Everything here but imap_session_release_mail() runs in a store job.
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-seqset.h"
#include "imap-util.h"
#include "log.h"

#include <stdio.h>

int imap_mail_open(struct imap_session *session, const char **error_r)
{
	static __thread struct mail_error error;

	if (mail_user_open(session->server->store, session->user, &session->mail_user,
			   &error) < 0) {
		log_error("imap", "mail open failed session=%s user=%s error=%s",
			  session->base.id, log_str(session->user), log_str(error.text));
		*error_r = error.text;
		return -1;
	}
	return 0;
}

void imap_session_release_mail(struct imap_session *session)
{
	imap_session_idle_stop(session);
	if (session->watch != NULL)
		mail_store_unwatch(&session->watch);
	net_wakeup_cancel(session->server->wakeup, &session->wake);
	/* mailbox_close() and mail_user_unref() only free memory and drop
	   references; the index connection is closed by the store's own
	   thread later, so this is fine on the loop */
	if (session->box != NULL)
		mailbox_close(&session->box);
	if (session->mail_user != NULL)
		mail_user_unref(&session->mail_user);
	i_free(session->saved_uids);
	session->saved_count = 0;
}

/* RFC 5530 response codes for the store's errors. */
void imap_cmd_mail_error(struct imap_command *cmd, const struct mail_error *error)
{
	const char *code;

	switch (error->code) {
	case MAIL_ERROR_NOTFOUND:
		code = "[NONEXISTENT] ";
		break;
	case MAIL_ERROR_EXISTS:
		code = "[ALREADYEXISTS] ";
		break;
	case MAIL_ERROR_PARAMS:
	case MAIL_ERROR_NOTPOSSIBLE:
		code = "[CANNOT] ";
		break;
	case MAIL_ERROR_LIMIT:
		code = "[LIMIT] ";
		break;
	case MAIL_ERROR_EXPUNGED:
		code = "[EXPUNGEISSUED] ";
		break;
	case MAIL_ERROR_CORRUPT:
		code = "[CORRUPTION] ";
		break;
	case MAIL_ERROR_GONE:
		code = "[NONEXISTENT] ";
		break;
	case MAIL_ERROR_MODIFIED:
		code = "";
		break;
	case MAIL_ERROR_TEMP:
	case MAIL_ERROR_NONE:
	default:
		code = "[UNAVAILABLE] ";
		break;
	}
	imap_cmd_no(cmd, "%s%s", code, error->text[0] != '\0' ? error->text : "Failed");
}

void imap_write_flags_info(struct imap_command *cmd, const struct mailbox_info *info)
{
	buf_t *out = &cmd->out;

	/* RFC 9051 7.3.5 FLAGS, 7.1 PERMANENTFLAGS */
	if (buf_append_str(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft") < 0)
		goto full;
	for (unsigned int i = 0; i < info->keyword_count; i++) {
		if (buf_printf(out, " %s", info->keywords[i]) < 0)
			goto full;
	}
	if (buf_append_str(out, ")\r\n") < 0)
		goto full;
	if (info->readonly) {
		/* RFC 9051 6.3.2: nothing can be changed in an EXAMINEd mailbox */
		if (buf_append_str(out, "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n") < 0)
			goto full;
		return;
	}
	if (buf_append_str(out, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
			   "\\Draft") < 0)
		goto full;
	for (unsigned int i = 0; i < info->keyword_count; i++) {
		if (buf_printf(out, " %s", info->keywords[i]) < 0)
			goto full;
	}
	if (buf_printf(out, "%s)] Flags permitted\r\n",
		       info->can_create_keywords ? " \\*" : "") < 0)
		goto full;
	return;
full:
	i_panic("imap: output buffer full");
}

static void out_append(struct imap_command *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
static void out_append(struct imap_command *cmd, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	if (buf_vprintf(&cmd->out, fmt, args) < 0)
		i_panic("imap: output buffer full");
	va_end(args);
}

void imap_sync_run(struct imap_command *cmd, bool allow_expunge)
{
	struct imap_session *session = cmd->session;
	struct arena *arena = arena_new(4096);
	struct mailbox_changes ch;
	struct mail_error error;
	bool rev1 = (session->enabled & IMAP_ENABLED_REV2) == 0;
	unsigned int i;

	if (mailbox_sync(session->box, allow_expunge ? 0 : MAILBOX_SYNC_NO_EXPUNGES, arena,
			 &ch, &error) < 0) {
		if (error.code == MAIL_ERROR_GONE) {
			/* RFC 9051 7.1.5: the selected mailbox is gone; a client
			   cannot go on with stale sequence numbers */
			out_append(cmd, "* BYE [NONEXISTENT] The selected mailbox was deleted or "
				   "renumbered, reconnect\r\n");
			session->box_gone = true;
		} else {
			log_error("imap", "sync failed session=%s error=%s", session->base.id,
				  log_str(error.text));
		}
		arena_free(&arena);
		return;
	}
	/* RFC 9051 7.5.1: each EXPUNGE's number is valid when it is sent
	   (the store gives them in descending order) */
	for (i = 0; i < ch.expunge_count; i++)
		out_append(cmd, "* %u EXPUNGE\r\n", ch.expunges[i].seq);
	if (ch.keywords_changed) {
		struct mailbox_info info;

		if (mailbox_get_info(session->box, arena, &info, &error) == 0)
			imap_write_flags_info(cmd, &info);
	}
	if (ch.exists_changed)
		out_append(cmd, "* %u EXISTS\r\n", ch.exists);
	if (rev1 && (ch.recent_changed || ch.exists_changed))
		out_append(cmd, "* %u RECENT\r\n", ch.recent);
	for (i = 0; i < ch.update_count; i++) {
		const struct mailbox_flag_update *u = &ch.updates[i];

		out_append(cmd, "* %u FETCH (", u->seq);
		/* RFC 9051 7.5.2: UID commands get UID in every FETCH response */
		if (cmd->uid)
			out_append(cmd, "UID %u ", u->uid);
		out_append(cmd, "FLAGS ");
		if (imap_flags_write(&cmd->out, u->flags, u->keywords, u->keyword_count,
				     rev1 && mailbox_is_recent(session->box, u->uid), true) < 0)
			i_panic("imap: output buffer full");
		out_append(cmd, ")\r\n");
	}
	arena_free(&arena);
}

const char *imap_cmd_mailbox_arg(struct imap_command *cmd, const struct imap_arg *arg)
{
	const char *name = imap_arg_astring(arg), *error;
	const char *out;

	if (name == NULL) {
		imap_cmd_bad(cmd, "Invalid mailbox name");
		return NULL;
	}
	out = imap_mailbox_from_client(cmd->arena, name, imap_session_utf8_names(cmd->session),
				       &error);
	if (out == NULL)
		imap_cmd_no(cmd, "[CANNOT] %s", error);
	return out;
}

bool imap_seqset_to_uids(struct imap_command *cmd, const struct imap_seqset *set_in, bool uid,
			 struct mail_uid_range **ranges_r, unsigned int *count_r)
{
	struct imap_session *session = cmd->session;
	struct mailbox_view *view = session->box;
	struct imap_seqset set = *set_in;
	struct mail_uid_range *ranges;
	uint32_t count = mailbox_count(view);
	unsigned int i, n = 0;

	if (set.saved) {
		/* RFC 5182 2.1: "$" is the saved result, a set of UIDs; UIDs
		   that left the mailbox meanwhile simply match nothing */
		ranges = arena_new_array(cmd->arena, struct mail_uid_range,
					 I_MAX(session->saved_count, 1u));
		for (i = 0; i < session->saved_count; i++) {
			ranges[n].first = ranges[n].last = session->saved_uids[i];
			n++;
		}
		*ranges_r = ranges;
		*count_r = n;
		return true;
	}
	if (set.count == 0) {
		*ranges_r = NULL;
		*count_r = 0;
		return true;
	}
	/* a copy: resolving "*" changes the ranges */
	set.ranges = arena_memdup(cmd->arena, set.ranges, set.count * sizeof(*set.ranges));
	if (uid) {
		/* RFC 9051 6.4.9: "*" is the largest UID in use; a range past
		   it still means the last message ("N:*" with N above it) */
		uint32_t last = mailbox_last_uid(view);

		imap_seqset_resolve(&set, last == 0 ? 1 : last);
	} else {
		/* RFC 9051 6.4.1 / 9: sequence numbers past EXISTS are an
		   error (BAD) */
		for (i = 0; i < set.count; i++) {
			if ((set.ranges[i].first != IMAP_SEQ_STAR && set.ranges[i].first > count) ||
			    (set.ranges[i].last != IMAP_SEQ_STAR && set.ranges[i].last > count) ||
			    count == 0) {
				imap_cmd_bad(cmd, "Invalid message sequence number");
				return false;
			}
		}
		imap_seqset_resolve(&set, count);
	}
	imap_seqset_normalize(&set);
	ranges = arena_new_array(cmd->arena, struct mail_uid_range, set.count);
	for (i = 0; i < set.count; i++) {
		if (uid) {
			ranges[n].first = set.ranges[i].first;
			ranges[n].last = set.ranges[i].last;
		} else {
			ranges[n].first = mailbox_seq_to_uid(view, set.ranges[i].first);
			ranges[n].last = mailbox_seq_to_uid(view, set.ranges[i].last);
			if (ranges[n].first == 0 || ranges[n].last == 0)
				continue;
		}
		n++;
	}
	*ranges_r = ranges;
	*count_r = n;
	return true;
}
