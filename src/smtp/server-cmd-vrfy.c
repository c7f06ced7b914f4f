/*
 * VRFY and EXPN (RFC 5321 3.5, 4.1.1.6, 4.1.1.7). To a stranger they
 * answer 252 (RFC 5321 3.5.3: no address harvesting, and no false "no").
 * To an authenticated user or a client in relay.networks they tell the
 * truth: VRFY whether an address takes mail here, EXPN the final
 * mailboxes a list (alias) leads to. The lookup runs in a lookup job.
 */
#include "server-private.h"
#include "accounts.h"
#include "accounts-pool.h"
#include "arena.h"
#include "log.h"

#include <stdio.h>

struct vrfy_job {
	struct smtp_session *session;
	struct arena *arena;
	bool expn;
	const char *address;        /* lowercased "local@domain" */
	/* results */
	bool local;                 /* the domain is ours */
	int ret;                    /* accounts_resolve() */
	struct accounts_target *targets;
	unsigned int count;
};

static void vrfy_run(void *ctx);
static void vrfy_done(void *ctx);

/* The argument: "<a@b>", "a@b", or a bare local part (a user of the first
   local domain). NULL when it is not an address. */
static const char *vrfy_address(struct arena *arena, const struct tern_settings *set,
				const char *arg)
{
	size_t len = strlen(arg);
	char *addr;

	while (len > 0 && arg[len - 1] == ' ')
		len--;
	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		arg++;
		len -= 2;
	}
	if (len == 0 || memchr(arg, ' ', len) != NULL)
		return NULL;
	if (memchr(arg, '@', len) != NULL)
		addr = arena_strndup(arena, arg, len);
	else if (set->domains_count > 0)
		addr = arena_printf(arena, "%.*s@%s", (int)len, arg, set->domains[0]);
	else
		return NULL;
	i_str_lower(addr);
	return accounts_normalize(arena, addr);
}

void smtp_cmd_vrfy(struct smtp_session *session, struct smtp_command *cmd)
{
	bool expn = cmd->verb == SMTP_VERB_EXPN;
	struct vrfy_job *job;
	const char *address;
	struct arena *arena;

	if (!smtp_session_trusted(session)) {
		/* RFC 5321 3.5.3 */
		smtp_reply(session, 252, "2.5.0",
			   "Cannot %s user, but will accept message and attempt delivery",
			   cmd->name);
		return;
	}
	arena = arena_new(512);
	address = vrfy_address(arena, session->server->set, cmd->args);
	if (address == NULL) {
		arena_free(&arena);
		smtp_reply(session, 501, "5.1.3", "Syntax: %s <address>", cmd->name);
		return;
	}
	job = i_malloc(sizeof(*job));
	job->session = session;
	job->arena = arena;
	job->expn = expn;
	job->address = address;
	smtp_session_job(session, session->server->lookup_jobs, vrfy_run, vrfy_done, job);
}

static void vrfy_run(void *ctx)
{
	struct vrfy_job *job = ctx;
	struct smtp_server *server = job->session->server;
	struct accounts *acc = accounts_pool_get(server->acc_pool);
	const char *error;

	if (acc == NULL) {
		job->ret = -1;
		return;
	}
	job->local = accounts_address_is_local(acc, job->address);
	if (job->local)
		job->ret = accounts_resolve(acc, job->arena, job->address, &job->targets,
					    &job->count, &error);
	accounts_pool_put(server->acc_pool, acc);
}

static void vrfy_done(void *ctx)
{
	struct vrfy_job *job = ctx;
	struct smtp_session *session = job->session;
	const char **lines;
	unsigned int i;

	if (!smtp_session_job_end(session))
		goto out;
	if (job->ret < 0) {
		smtp_reply(session, 451, "4.3.0", "Temporary lookup failure");
	} else if (!job->local) {
		/* RFC 5321 3.5.4: not ours to say */
		smtp_reply(session, 252, "2.1.5", "<%s> is not local; will attempt delivery",
			   job->address);
	} else if (job->ret == 0 || job->count == 0) {
		smtp_reply(session, 550, "5.1.1", "<%s>: no such user here", job->address);
	} else if (!job->expn || (job->count == 1 &&
				  strcmp(job->targets[0].address, job->address) == 0)) {
		/* RFC 5321 3.5.1: the mailbox; an alias or list takes mail too */
		smtp_reply(session, 250, "2.1.5", "<%s>", job->address);
	} else {
		/* RFC 5321 3.5.2: one line per member */
		lines = arena_new_array(job->arena, const char *, job->count);
		for (i = 0; i < job->count; i++)
			lines[i] = arena_printf(job->arena, "2.1.5 <%s>", job->targets[i].address);
		smtp_reply_lines(session, 250, lines, job->count);
	}
	smtp_session_check_disconnect(session);
out:
	arena_free(&job->arena);
	i_free(job);
}
