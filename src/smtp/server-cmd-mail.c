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
 *
 * Every accounts.db question (is the domain local, where does the
 * recipient go, may this user send as that address) is asked in a lookup
 * job, never on the loop; the session's input waits meanwhile.
 */
#include "server-private.h"
#include "accounts.h"
#include "accounts-pool.h"
#include "arena.h"
#include "connection.h"
#include "log.h"

#include <stdio.h>

/* MAIL by an authenticated user: the ownership check reads accounts.db in
   a lookup job. */
struct mail_job {
	struct smtp_session *session;
	struct arena *arena;
	const char *from;
	struct smtp_mail_params params;
	int result;                 /* accounts_user_may_send_as() */
};

/* RCPT: the domain and recipient lookups run in a lookup job. */
struct rcpt_job {
	struct smtp_session *session;
	const char *address;        /* in the transaction's arena */
	const char *domain;         /* lowercased */
	bool literal;               /* an address literal: never local */
	bool postmaster;
	bool at_in_local_part;
	const char *remote_local;   /* the local part as given, for a remote address */
	const char *orcpt;
	unsigned int notify;
	/* everything above and the results live in the job's own arena:
	   the transaction may be gone when the job ends */
	struct arena *arena;
	bool local;
	int ret;
	struct accounts_target *targets;
	unsigned int count;
	char *error;
};

static char *lower_dup(struct arena *arena, const char *s);
static void add_target(struct smtp_transaction *trans, const char *address, const char *original,
		       const char *orcpt, unsigned int notify);
static void mail_accept(struct smtp_session *session, const char *from,
			const struct smtp_mail_params *mp);
static void mail_run(void *ctx);
static void mail_done(void *ctx);
static void rcpt_run(void *ctx);
static void rcpt_done(void *ctx);

static char *lower_dup(struct arena *arena, const char *s)
{
	char *copy = arena_strdup(arena, s);

	i_str_lower(copy);
	return copy;
}

void smtp_cmd_mail(struct smtp_session *session, struct smtp_command *cmd)
{
	const struct tern_settings *set = session->server->set;
	struct smtp_mail_params *mp = &cmd->mail;
	bool submission = session->kind != TERN_LISTEN_SMTP;
	struct mail_job *job;

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
	if (session->auth_user == NULL) {
		mail_accept(session, cmd->path.address, mp);
		return;
	}
	if (cmd->path.null) {
		/* RFC 6409 4.2 / 8.1: the null sender is no submitter's address */
		smtp_reply(session, 553, "5.7.1", "Sender address <> not owned by user %s",
			   session->auth_user);
		return;
	}
	/* RFC 6409 6.1: an authenticated user sends as itself (or one of its
	   aliases), on every port: AUTH on port 25 is no way around it */
	job = i_malloc(sizeof(*job));
	job->session = session;
	job->arena = arena_new(256);
	job->from = arena_strdup(job->arena, cmd->path.address);
	job->params = *mp;
	job->params.envid = arena_strdup(job->arena, mp->envid);
	job->params.auth = arena_strdup(job->arena, mp->auth);
	smtp_session_job(session, session->server->lookup_jobs, mail_run, mail_done, job);
}

static void mail_run(void *ctx)
{
	struct mail_job *job = ctx;
	struct smtp_session *session = job->session;
	struct accounts *acc = accounts_pool_get(session->server->acc_pool);

	if (acc == NULL) {
		job->result = -1;
		return;
	}
	job->result = accounts_user_may_send_as(acc, session->auth_user, job->from);
	accounts_pool_put(session->server->acc_pool, acc);
}

static void mail_done(void *ctx)
{
	struct mail_job *job = ctx;
	struct smtp_session *session = job->session;

	if (smtp_session_job_end(session)) {
		if (job->result < 0)
			smtp_reply(session, 451, "4.3.0", "Temporary failure checking the sender");
		else if (job->result == 0)
			smtp_reply(session, 553, "5.7.1", "Sender address <%s> not owned by user %s",
				   job->from, session->auth_user);
		else
			mail_accept(session, job->from, &job->params);
		smtp_session_check_disconnect(session);
	}
	arena_free(&job->arena);
	i_free(job);
}

static void mail_accept(struct smtp_session *session, const char *from,
			const struct smtp_mail_params *mp)
{
	struct smtp_transaction *trans;

	trans = i_malloc(sizeof(*trans));
	trans->arena = arena_new(0);
	trans->from = arena_strdup(trans->arena, from);
	trans->params = *mp;
	trans->params.envid = arena_strdup(trans->arena, mp->envid);
	trans->params.auth = arena_strdup(trans->arena, mp->auth);
	trans->limit = (uint64_t)session->server->set->limits.message_size;
	/* authenticated or relay.networks: mail of ours (signed, not checked) */
	trans->local_origin = smtp_session_trusted(session);
	session->trans = trans;
	service_session_set_engaged(&session->base, true);
	smtp_msgauth_mail(session);
	smtp_reply(session, 250, "2.1.0", "Sender <%s> OK", from);
}

/* One queue recipient per final target (alias expansion may lead several
   RCPTs to the same mailbox: one copy). */
static void add_target(struct smtp_transaction *trans, const char *address, const char *original,
		       const char *orcpt, unsigned int notify)
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
	r->orcpt = arena_strdup(trans->arena, orcpt);
	r->notify = notify;
	r->state = QUEUE_RCPT_PENDING;
}

void smtp_cmd_rcpt(struct smtp_session *session, struct smtp_command *cmd)
{
	const struct tern_settings *set = session->server->set;
	struct smtp_transaction *trans = session->trans;
	struct arena *arena;
	struct rcpt_job *job;

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

	job = i_malloc(sizeof(*job));
	job->arena = arena = arena_new(1024);
	job->session = session;
	job->postmaster = cmd->path.postmaster;
	if (cmd->path.postmaster) {
		/* RFC 5321 4.1.1.3: <Postmaster> is the postmaster of this host */
		const char *domain = set->domains_count > 0 ? set->domains[0] : set->hostname;

		job->address = arena_printf(arena, "postmaster@%s", domain);
		job->domain = lower_dup(arena, domain);
	} else {
		size_t alen = strlen(cmd->path.address), dlen = strlen(cmd->path.domain);

		i_assert(alen > dlen);
		job->domain = lower_dup(arena, cmd->path.domain);
		job->address = arena_strdup(arena, cmd->path.address);
		job->remote_local = arena_strndup(arena, cmd->path.address, alen - dlen - 1);
		job->at_in_local_part = strchr(cmd->path.local_part, '@') != NULL;
	}
	job->literal = job->domain[0] == '[';
	job->orcpt = arena_strdup(arena, cmd->rcpt.orcpt);
	job->notify = cmd->rcpt.notify;
	if (!cmd->path.postmaster) {
		const char *orig;
		int ret;

		/* a bounce to a sender tern rewrote (SRS) goes back to it: pure
		   computation (an HMAC), no lookup */
		ret = smtp_msgauth_rcpt_srs(session, job->address, job->domain,
					    cmd->path.local_part, &orig);
		if (ret != 0) {
			if (ret > 0) {
				add_target(trans, orig, NULL, job->orcpt, job->notify);
				if (trans->rcpt_cmds == 0)
					trans->first_rcpt = arena_strdup(trans->arena, job->address);
				trans->rcpt_cmds++;
				smtp_reply(session, 250, "2.1.5", "Recipient <%s> OK", job->address);
			}
			arena_free(&job->arena);
			i_free(job);
			return;
		}
	}
	smtp_session_job(session, session->server->lookup_jobs, rcpt_run, rcpt_done, job);
}

/* In a lookup thread: is the domain local, and where does the address go?
   The transaction's arena is not touched here (the loop owns it). */
static void rcpt_run(void *ctx)
{
	struct rcpt_job *job = ctx;
	struct smtp_server *server = job->session->server;
	struct accounts *acc;
	const char *error;

	if (job->literal)
		return;
	acc = accounts_pool_get(server->acc_pool);
	if (acc == NULL) {
		job->ret = -1;
		job->error = i_strdup("accounts.db cannot be opened");
		return;
	}
	/* a local domain, or root@ and postmaster@ the hostname */
	job->local = accounts_address_is_local(acc, job->address);
	if (job->local && !job->at_in_local_part) {
		job->ret = accounts_resolve(acc, job->arena, job->address, &job->targets,
					    &job->count, &error);
		if (job->ret < 0)
			job->error = i_strdup(error);
		else if (job->ret == 0 && i_strncasecmp(job->address, "postmaster@", 11) == 0) {
			/* RFC 5321 4.5.1 wants it accepted: the administrator's
			   address is wrong (logged), the sender tries again */
			job->ret = -1;
			job->error = i_strdup("postmaster leads to no mailbox "
					      "(the postmaster key names no account or alias)");
		}
	}
	accounts_pool_put(server->acc_pool, acc);
}

static void rcpt_done(void *ctx)
{
	struct rcpt_job *job = ctx;
	struct smtp_session *session = job->session;
	struct smtp_transaction *trans;
	const char *address = job->address;
	unsigned int i;

	if (!smtp_session_job_end(session))
		goto out;
	trans = session->trans;
	if (trans == NULL)
		goto done;
	if (job->ret < 0) {
		log_error("smtp", "recipient lookup failed session=%s rcpt=%s error=%s",
			  session->base.id, log_str(address), log_str(job->error));
		smtp_reply(session, 451, "4.3.0", "<%s>: Temporary lookup failure", address);
		goto done;
	}
	if (!job->local) {
		if (!smtp_session_trusted(session)) {
			log_info("smtp", "relay denied session=%s ip=%s rcpt=%s", session->base.id,
				 session->base.ip, log_str(address));
			smtp_reply(session, 554, "5.7.1", "<%s>: Relay access denied", address);
			goto done;
		}
		/* a remote recipient: itself, local part as given (RFC 5321 2.4) */
		if (!job->postmaster)
			address = arena_printf(trans->arena, "%s@%s", job->remote_local,
					       job->domain);
		add_target(trans, address, NULL, job->orcpt, job->notify);
	} else {
		if (job->at_in_local_part || job->ret == 0 || job->count == 0) {
			/* "a@b"@local is never a routing trick; an unknown user is
			   refused now, never bounced later */
			smtp_reply(session, 550, "5.1.1", "<%s>: Recipient address rejected: "
				   "User unknown", address);
			goto done;
		}
		for (i = 0; i < job->count; i++)
			add_target(trans, job->targets[i].address, address, job->orcpt,
				   job->notify);
	}
	if (trans->rcpt_cmds == 0)
		trans->first_rcpt = arena_strdup(trans->arena, address);
	trans->rcpt_cmds++;
	smtp_reply(session, 250, "2.1.5", "Recipient <%s> OK", address);
done:
	smtp_session_check_disconnect(session);
out:
	i_free(job->error);
	arena_free(&job->arena);
	i_free(job);
}
