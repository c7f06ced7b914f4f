/*
 * RETR and TOP (RFC 1939 5, 7): the message streamed to the client a chunk
 * at a time. Each chunk is read (in its CRLF form) and byte-stuffed in a
 * store job (pop3_mail_retr_run), written on the loop, and the next one is
 * asked for when the output has drained, so a message of any size costs
 * one chunk of memory and a slow client holds no more. Input is paused
 * meanwhile: a pipelined command waits for the end of the response.
 */
#include "pop3-private.h"
#include "log.h"

static void retr_next(struct pop3_session *session);
static void retr_job_run(void *ctx);
static void retr_job_done(void *ctx);

void pop3_cmd_retr(struct pop3_session *session, const struct pop3_command *cmd)
{
	struct pop3_msg *m = pop3_session_msg(session, cmd->msg);
	struct pop3_retr *retr;

	if (m == NULL)
		return;
	retr = i_malloc(sizeof(*retr));
	retr->index = cmd->msg - 1;
	retr->top = cmd->verb == POP3_VERB_TOP;
	retr->size = m->size;
	pop3_stuff_init(&retr->stuff, retr->top ? cmd->lines : POP3_STUFF_ALL);
	/* one chunk stuffed (every line a "." at worst doubles it) and the
	   terminator */
	buf_init(&retr->out, POP3_RETR_CHUNK * 2 + 8);
	session->retr = retr;
	pop3_session_update_input(session);
	retr_next(session);
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
	struct pop3_retr *retr = session->retr;
	bool first = !retr->started;

	if (!pop3_session_job_end(session))
		return;
	if (session->conn == NULL || session->disconnect) {
		pop3_session_check_disconnect(session);
		return;
	}
	if (retr->failed) {
		log_error("pop3", "retr failed session=%s user=%s msg=%u error=%s",
			  session->base.id, log_str(session->auth_user), retr->index + 1,
			  log_str(retr->error));
		if (first) {
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
	if (first) {
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
	if (retr->finished) {
		if (!retr->top) {
			struct pop3_msg *m = &session->msgs[retr->index];

			/* \Seen is given when the session ends (pop3-mail.c) */
			if ((m->flags & POP3_MSG_RETRIEVED) == 0) {
				m->flags |= POP3_MSG_RETRIEVED;
				session->retrieved++;
			}
		}
		pop3_retr_free(&session->retr);
		/* the output may still be large: reading resumes when it
		   drains (check_output paused it) */
		pop3_session_update_input(session);
		pop3_session_idle_check(session);
	}
	/* else: the next chunk when this one has drained */
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
