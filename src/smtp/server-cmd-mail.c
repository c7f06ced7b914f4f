/*
 * MAIL and RCPT (RFC 5321 4.1.1.2, 4.1.1.3) and the policy behind them:
 * who may send, who may relay, which recipients exist.
 *
 * Relaying (RFC 5321 3.6, 7.1): mail for a local domain is accepted from
 * anyone; mail for any other domain only from an authenticated session
 * or a client in relay.networks. The domain that decides is the one after
 * the last "@" of the mailbox, after the source route is dropped: "%" and
 * "!" in a local part are never interpreted as routing (a local part
 * holding them must name a real local mailbox or alias), and a quoted
 * local part holding "@" is refused for local domains.
 */
#include "server-private.h"
#include "accounts.h"
#include "arena.h"
#include "connection.h"
#include "log.h"

#include <stdio.h>

static bool relay_allowed(struct smtp_session *session);
static char *lower_dup(struct arena *arena, const char *s);
static void add_target(struct smtp_transaction *trans, const char *address, const char *original,
		       const struct smtp_command *cmd);

static char *lower_dup(struct arena *arena, const char *s)
{
	char *copy = arena_strdup(arena, s);

	i_str_lower(copy);
	return copy;
}

static bool relay_allowed(struct smtp_session *session)
{
	const struct tern_settings *set = session->server->set;
	const struct sockaddr *peer;
	size_t i;

	if (session->auth_user != NULL)
		return true;
	peer = net_conn_peer(session->conn, NULL);
	for (i = 0; i < set->relay_networks_count; i++) {
		if (settings_cidr_match(&set->relay_networks[i], peer))
			return true;
	}
	return false;
}

void smtp_cmd_mail(struct smtp_session *session, struct smtp_command *cmd)
{
	const struct tern_settings *set = session->server->set;
	struct smtp_mail_params *mp = &cmd->mail;
	struct smtp_transaction *trans;
	bool submission = session->kind != TERN_LISTEN_SMTP;

	if (session->helo == NULL) {
		/* RFC 5321 4.1.4: EHLO or HELO first */
		smtp_reply(session, 503, "5.5.1", "Send EHLO or HELO first");
		return;
	}
	if (session->trans != NULL) {
		smtp_reply(session, 503, "5.5.1", "Nested MAIL command");
		return;
	}
	if (submission && session->auth_user == NULL) {
		/* RFC 6409 4.3 / RFC 4954 6 */
		smtp_reply(session, 530, "5.7.0", "Authentication required");
		return;
	}
	if (!session->esmtp && (mp->size_given || mp->body != SMTP_BODY_NONE || mp->smtputf8 ||
				mp->ret != SMTP_RET_NONE || mp->envid != NULL || mp->auth != NULL)) {
		/* RFC 5321 4.1.1.11: parameters need EHLO */
		smtp_reply(session, 555, "5.5.4", "MAIL parameters need EHLO");
		return;
	}
	if (mp->size_given && mp->size > (uint64_t)set->limits.message_size) {
		/* RFC 1870 6.1 */
		smtp_reply(session, 552, "5.3.4", "Message size exceeds fixed maximum message size");
		return;
	}
	if (cmd->path.utf8 && !mp->smtputf8) {
		/* RFC 6531 3.5 */
		smtp_reply(session, 553, "5.6.7", "Non-ASCII address needs SMTPUTF8");
		return;
	}
	if (submission) {
		/* RFC 6409 6.1: the sender must be the user (or one of its aliases) */
		int ret = cmd->path.null ? 0 :
			accounts_user_may_send_as(session->server->acc, session->auth_user,
						  cmd->path.address);

		if (ret < 0) {
			smtp_reply(session, 451, "4.3.0", "Temporary failure checking the sender");
			return;
		}
		if (ret == 0) {
			smtp_reply(session, 553, "5.7.1", "Sender address <%s> not owned by user %s",
				   cmd->path.address, session->auth_user);
			return;
		}
	}

	trans = i_malloc(sizeof(*trans));
	trans->arena = arena_new(0);
	trans->from = arena_strdup(trans->arena, cmd->path.address);
	trans->params = *mp;
	trans->params.envid = arena_strdup(trans->arena, mp->envid);
	trans->params.auth = arena_strdup(trans->arena, mp->auth);
	trans->limit = (uint64_t)set->limits.message_size;
	trans->local_origin = relay_allowed(session);
	session->trans = trans;
	smtp_msgauth_mail(session);
	smtp_reply(session, 250, "2.1.0", "Sender <%s> OK", cmd->path.address);
}

/* One queue recipient per final target (alias expansion may lead several
   RCPTs to the same mailbox: one copy). */
static void add_target(struct smtp_transaction *trans, const char *address, const char *original,
		       const struct smtp_command *cmd)
{
	struct queue_rcpt *r;
	unsigned int i;

	for (i = 0; i < trans->rcpt_count; i++) {
		if (strcmp(trans->rcpts[i].address, address) == 0)
			return;
	}
	if (trans->rcpt_count == trans->rcpt_alloc) {
		unsigned int old = trans->rcpt_alloc;

		trans->rcpt_alloc = old == 0 ? 4 : old * 2;
		trans->rcpts = arena_realloc(trans->arena, trans->rcpts,
					     i_size_mul(old, sizeof(*r)),
					     i_size_mul(trans->rcpt_alloc, sizeof(*r)));
	}
	r = &trans->rcpts[trans->rcpt_count++];
	memset(r, 0, sizeof(*r));
	r->address = arena_strdup(trans->arena, address);
	r->original = original != NULL && i_strcasecmp(original, address) != 0 ?
		arena_strdup(trans->arena, original) : NULL;
	r->orcpt = arena_strdup(trans->arena, cmd->rcpt.orcpt);
	r->notify = cmd->rcpt.notify;
	r->state = QUEUE_RCPT_PENDING;
}

void smtp_cmd_rcpt(struct smtp_session *session, struct smtp_command *cmd)
{
	const struct tern_settings *set = session->server->set;
	struct smtp_transaction *trans = session->trans;
	struct accounts *acc = session->server->acc;
	struct arena *arena;
	struct accounts_target *targets;
	unsigned int count, i;
	const char *domain, *address, *error;
	bool local;
	int ret;

	if (trans == NULL) {
		smtp_reply(session, 503, "5.5.1", "Need MAIL command");
		return;
	}
	if (trans->data_started) {
		smtp_reply(session, 503, "5.5.1", "RCPT not allowed after BDAT");
		return;
	}
	if (!session->esmtp && (cmd->rcpt.notify != 0 || cmd->rcpt.orcpt != NULL)) {
		smtp_reply(session, 555, "5.5.4", "RCPT parameters need EHLO");
		return;
	}
	if (cmd->path.utf8 && !trans->params.smtputf8) {
		smtp_reply(session, 553, "5.6.7", "Non-ASCII address needs SMTPUTF8");
		return;
	}
	if (trans->rcpt_cmds >= set->limits.recipients) {
		/* RFC 5321 4.5.3.1.10: the client sends the rest later */
		smtp_reply(session, 452, "4.5.3", "Too many recipients");
		return;
	}

	arena = trans->arena;
	if (cmd->path.postmaster) {
		/* RFC 5321 4.1.1.3: <Postmaster> is the postmaster of this host */
		domain = set->domains_count > 0 ? set->domains[0] : set->hostname;
		address = arena_printf(arena, "postmaster@%s", domain);
		domain = lower_dup(arena, domain);
	} else {
		domain = lower_dup(arena, cmd->path.domain);
		address = cmd->path.address;
	}

	if (!cmd->path.postmaster) {
		const char *orig;

		/* a bounce to a sender tern rewrote (SRS) goes back to it */
		ret = smtp_msgauth_rcpt_srs(session, address, domain, cmd->path.local_part, &orig);
		if (ret < 0)
			return;
		if (ret > 0) {
			add_target(trans, orig, NULL, cmd);
			if (trans->rcpt_cmds == 0)
				trans->first_rcpt = arena_strdup(trans->arena, address);
			trans->rcpt_cmds++;
			smtp_reply(session, 250, "2.1.5", "Recipient <%s> OK", address);
			return;
		}
	}
	local = domain[0] != '[' && accounts_domain_is_local(acc, domain);
	if (!local) {
		if (!relay_allowed(session)) {
			log_info("smtp", "relay denied session=%s ip=%s rcpt=%s", session->id,
				 net_conn_peer_ip(session->conn), log_str(address));
			smtp_reply(session, 554, "5.7.1", "<%s>: Relay access denied", address);
			return;
		}
		/* a remote recipient: itself, local part as given (RFC 5321 2.4) */
		if (!cmd->path.postmaster) {
			size_t alen = strlen(cmd->path.address), dlen = strlen(cmd->path.domain);

			i_assert(alen > dlen);
			address = arena_printf(arena, "%.*s@%s", (int)(alen - dlen - 1),
					       cmd->path.address, domain);
		}
		add_target(trans, address, NULL, cmd);
	} else {
		if (strchr(cmd->path.local_part, '@') != NULL) {
			/* "a@b"@local: never a routing trick */
			smtp_reply(session, 550, "5.1.1", "<%s>: Recipient address rejected: "
				   "User unknown", address);
			return;
		}
		ret = accounts_resolve(acc, trans->arena, address, &targets, &count, &error);
		if (ret < 0) {
			log_error("smtp", "recipient lookup failed session=%s rcpt=%s error=%s",
				  session->id, log_str(address), log_str(error));
			smtp_reply(session, 451, "4.3.0", "<%s>: Temporary lookup failure", address);
			return;
		}
		if (ret == 0 || count == 0) {
			/* refused now, never bounced later */
			smtp_reply(session, 550, "5.1.1", "<%s>: Recipient address rejected: "
				   "User unknown", address);
			return;
		}
		for (i = 0; i < count; i++)
			add_target(trans, targets[i].address, address, cmd);
	}
	if (trans->rcpt_cmds == 0)
		trans->first_rcpt = arena_strdup(trans->arena, address);
	trans->rcpt_cmds++;
	smtp_reply(session, 250, "2.1.5", "Recipient <%s> OK", address);
}
