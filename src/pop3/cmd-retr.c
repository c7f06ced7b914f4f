/*
 * RETR and TOP (RFC 1939 5, 7): the message streamed to the client a chunk
 * at a time. Each chunk is read (in its CRLF form) and byte-stuffed in a
 * store job (pop3_mail_retr_run), written on the loop, and the next one is
 * asked for when the output has drained, so a message of any size costs
 * one chunk of memory and a slow client holds no more. Input is paused
 * meanwhile: a pipelined command waits for the end of the response.
 *
 * Read-ahead: once a RETR is done, the messages after it (each up to
 * POP3_PREFETCH_MAX, together up to POP3_PREFETCH_BUDGET) are read in one
 * job while the client reads, DELEs and asks for the next, so a client
 * that goes through the maildrop in order (as fetchmail and every
 * download-and-delete client does) gets its RETRs answered at once, with
 * no thread hand-off on the way; the next batch is read when half of this
 * one has been sent. Any command that needs the store waits for a
 * read-ahead job (a view is used by one thread at a time); a RETR out of
 * order drops what was read ahead.
 */
#include "pop3-private.h"
#include "job-pool.h"
#include "log.h"

static struct pop3_retr *retr_new(struct pop3_session *session, uint32_t index, bool top,
				  uint32_t lines);
static void retr_next(struct pop3_session *session);
static void retr_job_run(void *ctx);
static void retr_job_done(void *ctx);
static void retr_send(struct pop3_session *session, struct pop3_retr *retr);
static void retr_finished(struct pop3_session *session);
static void prefetch_start(struct pop3_session *session, uint32_t from);
static void prefetch_run(void *ctx);
static void prefetch_done(void *ctx);

static struct pop3_retr *retr_new(struct pop3_session *session, uint32_t index, bool top,
				  uint32_t lines)
{
	struct pop3_retr *retr = i_malloc(sizeof(*retr));

	retr->index = index;
	retr->top = top;
	retr->size = session->msgs[index].size;
	pop3_stuff_init(&retr->stuff, top ? lines : POP3_STUFF_ALL);
	/* one chunk stuffed (every line a "." at worst doubles it) and the
	   terminator */
	buf_init(&retr->out, POP3_RETR_CHUNK * 2 + 8);
	return retr;
}

/* Drop the first n messages read ahead. */
static void ahead_drop(struct pop3_session *session, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		session->ahead_bytes -= session->ahead[i]->out.used;
		pop3_retr_free(&session->ahead[i]);
	}
	memmove(session->ahead, session->ahead + n,
		sizeof(session->ahead[0]) * (session->ahead_count - n));
	session->ahead_count -= n;
}

void pop3_cmd_retr(struct pop3_session *session, const struct pop3_command *cmd)
{
	struct pop3_msg *m = pop3_session_msg(session, cmd->msg);
	bool top = cmd->verb == POP3_VERB_TOP;
	unsigned int i;

	if (m == NULL)
		return;
	if (!top) {
		for (i = 0; i < session->ahead_count; i++) {
			if (session->ahead[i]->index == cmd->msg - 1)
				break;
		}
		/* what was read ahead for messages the client skipped, or
		   everything when it went elsewhere, goes */
		ahead_drop(session, i);
		if (session->ahead_count > 0 && !session->ahead[0]->failed) {
			struct pop3_retr *retr = session->ahead[0];

			i_assert(retr->finished);
			/* read ahead: answer now */
			session->ahead_bytes -= retr->out.used;
			memmove(session->ahead, session->ahead + 1,
				sizeof(session->ahead[0]) * (session->ahead_count - 1));
			session->ahead_count--;
			session->retr = retr;
			retr_send(session, retr);
			return;
		}
		/* failed when read ahead (perhaps for a reason that has
		   gone): read it again */
		ahead_drop(session, session->ahead_count);
	}
	/* a read-ahead job would share the view (pop3_retr_must_wait) */
	i_assert(!session->prefetch_running);
	session->retr = retr_new(session, cmd->msg - 1, top, cmd->lines);
	pop3_session_update_input(session);
	retr_next(session);
}

bool pop3_retr_must_wait(struct pop3_session *session, const struct pop3_command *cmd)
{
	unsigned int i;

	if (!session->prefetch_running || session->state != POP3_STATE_TRANSACTION)
		return false;
	if (cmd->verb == POP3_VERB_RETR) {
		/* read ahead already: no store call needed */
		for (i = 0; i < session->ahead_count; i++) {
			if (session->ahead[i]->index == cmd->msg - 1)
				return session->ahead[i]->failed;
		}
		return true;
	}
	return cmd->verb == POP3_VERB_TOP || cmd->verb == POP3_VERB_QUIT;
}

static void retr_next(struct pop3_session *session)
{
	pop3_session_job(session, retr_job_run, retr_job_done, session);
}

/* In a store job thread. */
static void retr_job_run(void *ctx)
{
	struct pop3_session *session = ctx;

	pop3_mail_retr_run(session, session->retr);
}

static void retr_job_done(void *ctx)
{
	struct pop3_session *session = ctx;

	if (!pop3_session_job_end(session))
		return;
	if (session->conn == NULL || session->disconnect) {
		pop3_session_check_disconnect(session);
		return;
	}
	retr_send(session, session->retr);
}

/* Write what the job made: the +OK line first, then the stuffed bytes;
   at the end, the next message is read ahead. */
static void retr_send(struct pop3_session *session, struct pop3_retr *retr)
{
	if (retr->failed) {
		log_error("pop3", "retr failed session=%s user=%s msg=%u error=%s",
			  session->base.id, log_str(session->auth_user), retr->index + 1,
			  log_str(retr->error));
		if (!retr->started) {
			/* nothing sent yet: this message fails, the session goes on */
			pop3_err_nocount(session, "%s", retr->client_error != NULL ?
					 retr->client_error : "[SYS/TEMP] Cannot read the message");
			pop3_retr_free(&session->retr);
			pop3_session_update_input(session);
			pop3_session_idle_check(session);
		} else {
			/* a response cut short cannot be ended honestly: close */
			pop3_session_disconnect(session, NULL, "retr-failed");
		}
		return;
	}
	if (!retr->started) {
		retr->started = true;
		/* RFC 1939 7: the size in octets of what follows, before
		   stuffing (the CRLF form, as LIST says) */
		if (retr->top)
			pop3_ok(session, "Top of message follows");
		else
			pop3_ok(session, "%llu octets", (unsigned long long)retr->size);
	}
	retr->offset_sent += retr->out.used;
	pop3_write(session, retr->out.data, retr->out.used);
	buf_reset(&retr->out);
	if (retr->finished)
		retr_finished(session);
	/* else: the next chunk when this one has drained */
}

static void retr_finished(struct pop3_session *session)
{
	struct pop3_retr *retr = session->retr;
	uint32_t next = retr->index + 1;
	bool top = retr->top;

	if (!top) {
		struct pop3_msg *m = &session->msgs[retr->index];

		/* \Seen is given when the session ends (pop3-mail.c) */
		if ((m->flags & POP3_MSG_RETRIEVED) == 0) {
			m->flags |= POP3_MSG_RETRIEVED;
			session->retrieved++;
		}
	}
	pop3_retr_free(&session->retr);
	/* the output may still be large: reading resumes when it drains
	   (check_output paused it) */
	pop3_session_update_input(session);
	if (!top)
		prefetch_start(session, session->ahead_count > 0 ? session->ahead_next : next);
	pop3_session_idle_check(session);
}

void pop3_retr_drained(struct pop3_session *session)
{
	if (session->job_running || session->conn == NULL || session->disconnect)
		return;
	session->output_paused = false;
	retr_next(session);
}

void pop3_retr_free(struct pop3_retr **retrp)
{
	struct pop3_retr *retr = *retrp;

	if (retr == NULL)
		return;
	/* the message file is closed in a job (pop3-mail.c) before this */
	i_assert(retr->mail == NULL);
	buf_free(&retr->out);
	i_free(retr->error);
	i_free(retr);
	*retrp = NULL;
}

/* ---- read-ahead ---- */

struct ahead_job {
	struct pop3_session *session;
	struct pop3_retr *items[POP3_PREFETCH_COUNT];
	unsigned int count;
};

static void prefetch_start(struct pop3_session *session, uint32_t from)
{
	struct ahead_job *job;
	size_t budget = POP3_PREFETCH_BUDGET;
	uint32_t i;

	if (session->conn == NULL || session->disconnect || session->closing_down ||
	    session->state != POP3_STATE_TRANSACTION || session->prefetch_running ||
	    session->ahead_bytes >= POP3_PREFETCH_BUDGET / 2 ||
	    session->ahead_count >= POP3_PREFETCH_COUNT / 2)
		return;
	budget -= session->ahead_bytes;
	job = i_malloc(sizeof(*job));
	job->session = session;
	for (i = from; i < session->count &&
		     session->ahead_count + job->count < POP3_PREFETCH_COUNT; i++) {
		const struct pop3_msg *m = &session->msgs[i];

		if ((m->flags & POP3_MSG_DELETED) != 0)
			continue;
		/* in message order: a large one ends the batch */
		if (m->size > POP3_PREFETCH_MAX || m->size > budget)
			break;
		budget -= m->size;
		job->items[job->count++] = retr_new(session, i, false, 0);
	}
	if (job->count == 0) {
		i_free(job);
		return;
	}
	session->ahead_next = job->items[job->count - 1]->index + 1;
	session->prefetch_running = true;
	/* not a command: input keeps flowing (pop3_retr_must_wait) */
	service_session_hold(&session->base);
	job_submit(session->server->store_jobs, prefetch_run, prefetch_done, job);
}

/* In a store job thread. */
static void prefetch_run(void *ctx)
{
	struct ahead_job *job = ctx;

	/* each message is at most POP3_PREFETCH_MAX, one chunk: it ends
	   finished (or failed), its file closed */
	pop3_mail_retr_many(job->session, job->items, job->count);
}

static void prefetch_done(void *ctx)
{
	struct ahead_job *job = ctx;
	struct pop3_session *session = job->session;
	unsigned int i;

	session->prefetch_running = false;
	/* queued even when the session is gone: its free callback frees them */
	for (i = 0; i < job->count; i++) {
		struct pop3_retr *retr = job->items[i];

		if (!retr->finished && !retr->failed)
			i_panic("pop3: read-ahead did not finish its message");
		i_assert(session->ahead_count < POP3_PREFETCH_COUNT);
		session->ahead_bytes += retr->out.used;
		session->ahead[session->ahead_count++] = retr;
	}
	i_free(job);
	if (!service_session_release(&session->base))
		return;
	if (session->deferred != NULL)
		pop3_session_run_deferred(session);
}
