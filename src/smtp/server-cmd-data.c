/*
 * DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030): the message is streamed
 * to a queue writer as it arrives (our Received field first, RFC 5321
 * 4.4), checked against the size and hop limits, and committed to the
 * queue in the job pool; 250 goes out only after the commit has made it
 * durable.
 */
#include "server-private.h"
#include "arena.h"
#include "connection.h"
#include "date.h"
#include "job-pool.h"
#include "log.h"
#include "tls.h"

#include <stdio.h>

static int start_message(struct smtp_session *session, bool dot_mode);
static void write_received(struct smtp_session *session);
static void flush_out(struct smtp_session *session);
static void add_header_fields(struct smtp_session *session, bool blank_follows);
static size_t feed(struct smtp_session *session, const unsigned char *data, size_t len,
		   bool *done_r);
static void message_end(struct smtp_session *session);
static void bdat_chunk_end(struct smtp_session *session);
static void commit_run(void *ctx);
static void commit_done(void *ctx);
static void transaction_over(struct smtp_session *session);

static void transaction_over(struct smtp_session *session)
{
	smtp_session_reset(session);
	smtp_session_idle_check(session);
}

void smtp_data_transaction_over(struct smtp_session *session)
{
	transaction_over(session);
}

/* RFC 3848 protocol names; RFC 6531 4.3 for SMTPUTF8 transactions */
static const char *protocol_name(const struct smtp_session *session)
{
	if (!session->esmtp)
		return "SMTP";
	if (session->trans->params.smtputf8) {
		if (session->tls)
			return session->auth_user != NULL ? "UTF8SMTPSA" : "UTF8SMTPS";
		return session->auth_user != NULL ? "UTF8SMTPA" : "UTF8SMTP";
	}
	if (session->tls)
		return session->auth_user != NULL ? "ESMTPSA" : "ESMTPS";
	return session->auth_user != NULL ? "ESMTPA" : "ESMTP";
}

/* RFC 5321 4.4 Time-stamp-line:
   "Received:" From-domain By-domain Opt-info [CFWS] ";" FWS date-time */
static void write_received(struct smtp_session *session)
{
	struct smtp_transaction *trans = session->trans;
	const struct tern_settings *set = session->server->set;
	char date[MSG_DATE_MAX], tls[200] = "";
	time_t now = time(NULL);
	SSL *ssl = net_conn_ssl(session->conn);

	if (ssl != NULL)
		snprintf(tls, sizeof(tls), " (%s)", tls_describe(ssl));
	msg_date_format(now, msg_date_local_offset(now), date);
	if (buf_printf(&trans->out, "Received: from %s (%s [%s])\r\n"
		       "\tby %s (tern) with %s%s\r\n"
		       "\tid %s", session->helo, session->base.ip, session->base.ip,
		       set->hostname, protocol_name(session), tls, trans->id) < 0 ||
	    (trans->rcpt_cmds == 1 &&
	     buf_printf(&trans->out, "\r\n\tfor <%s>", trans->first_rcpt) < 0) ||
	    buf_printf(&trans->out, ";\r\n\t%s\r\n", date) < 0)
		i_panic("smtp: Received field does not fit");
}

static int start_message(struct smtp_session *session, bool dot_mode)
{
	struct smtp_transaction *trans = session->trans;
	const char *error;

	trans->writer = queue_writer_new(session->server->queue, &error);
	if (trans->writer == NULL) {
		log_error("smtp", "queue file failed session=%s error=%s", session->base.id,
			  log_str(error));
		return -1;
	}
	snprintf(trans->id, sizeof(trans->id), "%s", queue_writer_id(trans->writer));
	smtp_data_reader_init(&trans->reader, dot_mode);
	trans->data_started = true;
	buf_init(&trans->out, BUF_MAX_UNLIMITED);
	write_received(session);
	if (queue_writer_write(trans->writer, trans->out.data, trans->out.used, &error) < 0) {
		log_error("smtp", "queue write failed session=%s id=%s error=%s", session->base.id,
			  trans->id, log_str(error));
		queue_writer_abort(&trans->writer);
		return -1;
	}
	buf_reset(&trans->out);
	return 0;
}

/* RFC 6409 8.2 / 8.3: a submission server adds Date and Message-ID when
   the message has none (at the end of the header block). */
static void add_header_fields(struct smtp_session *session, bool blank_follows)
{
	struct smtp_transaction *trans = session->trans;
	const struct tern_settings *set = session->server->set;
	bool added = false;

	if (session->kind == TERN_LISTEN_SMTP && session->auth_user == NULL)
		return;
	if (!trans->reader.out_line_start && buf_append_str(&trans->out, "\r\n") < 0)
		i_panic("smtp: out of buffer");
	if (!trans->reader.has_date) {
		char date[MSG_DATE_MAX];
		time_t now = time(NULL);

		msg_date_format(now, msg_date_local_offset(now), date);
		if (buf_printf(&trans->out, "Date: %s\r\n", date) < 0)
			i_panic("smtp: out of buffer");
		added = true;
	}
	if (!trans->reader.has_message_id) {
		if (buf_printf(&trans->out, "Message-ID: %s\r\n",
			       uid_message_id(trans->arena, set->hostname)) < 0)
			i_panic("smtp: out of buffer");
		added = true;
	}
	/* the header ended at a body line without the empty separator */
	if (added && !blank_follows && buf_append_str(&trans->out, "\r\n") < 0)
		i_panic("smtp: out of buffer");
}

/* Move decoded bytes to the queue file, unless the message has already
   failed (too big, write error). */
static void flush_out(struct smtp_session *session)
{
	struct smtp_transaction *trans = session->trans;
	const char *error;

	if (trans->reader.size > trans->limit && !trans->too_big) {
		/* RFC 1870 6.3: keep reading, refuse at the end; the file goes now */
		trans->too_big = true;
		queue_writer_abort(&trans->writer);
	}
	if (trans->writer != NULL && trans->write_error == NULL && trans->out.used > 0) {
		const unsigned char *data = trans->out.data;
		size_t len = trans->out.used;

		/* through the sender-authentication checks, which hold the
		   header back until it is whole */
		if (smtp_msgauth_filter(trans, &data, &len) < 0)
			i_panic("smtp: unlimited buffer full");
		if (len > 0 && queue_writer_write(trans->writer, data, len, &error) < 0) {
			trans->write_error = arena_strdup(trans->arena, error);
			log_error("smtp", "queue write failed session=%s id=%s error=%s", session->base.id,
				  trans->id, log_str(error));
			queue_writer_abort(&trans->writer);
		}
	}
	buf_reset(&trans->out);
}

/* Feed message input through the reader; returns the bytes consumed. */
static size_t feed(struct smtp_session *session, const unsigned char *data, size_t len,
		   bool *done_r)
{
	struct smtp_transaction *trans = session->trans;
	size_t total = 0, consumed;
	enum smtp_data_status status;

	*done_r = false;
	for (;;) {
		status = smtp_data_reader_feed(&trans->reader, data + total, len - total,
					       &consumed, &trans->out);
		total += consumed;
		if (status == SMTP_DATA_HEADER_END)
			add_header_fields(session, trans->reader.header_end_blank);
		flush_out(session);
		if (status == SMTP_DATA_DONE) {
			*done_r = true;
			return total;
		}
		if (status == SMTP_DATA_MORE)
			return total;
	}
}

size_t smtp_session_raw_input(struct smtp_session *session, const unsigned char *data,
			      size_t len)
{
	size_t n;
	bool done;

	if (session->in_data) {
		n = feed(session, data, len, &done);
		if (done) {
			session->in_data = false;
			net_conn_set_raw(session->conn, false);
			message_end(session);
		}
		return n;
	}
	if (session->in_bdat) {
		n = (size_t)I_MIN((uint64_t)len, session->bdat_remaining);
		if (!session->bdat_discard && session->trans != NULL)
			(void)feed(session, data, n, &done);
		session->bdat_remaining -= n;
		if (session->bdat_remaining == 0)
			bdat_chunk_end(session);
		return n;
	}
	net_conn_set_raw(session->conn, false);
	return 0;
}

void smtp_cmd_data(struct smtp_session *session, struct smtp_command *cmd)
{
	struct smtp_transaction *trans = session->trans;

	if (trans == NULL) {
		smtp_reply(session, 503, "5.5.1", "Need MAIL command");
		return;
	}
	if (trans->bdat) {
		/* RFC 3030 2: no DATA in a BDAT transaction */
		smtp_reply(session, 503, "5.5.1", "DATA not allowed after BDAT");
		return;
	}
	if (trans->rcpt_count == 0) {
		/* RFC 2920 3.1 / RFC 5321 3.3 */
		smtp_reply(session, 554, "5.5.1", "No valid recipients");
		return;
	}
	if (start_message(session, true) < 0) {
		smtp_reply(session, 451, "4.3.0", "Local error, try again later");
		transaction_over(session);
		return;
	}
	smtp_reply(session, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	session->in_data = true;
	net_conn_set_raw(session->conn, true);
}

void smtp_bdat_discard(struct smtp_session *session, uint64_t size, unsigned int code,
		       const char *enhanced, const char *text)
{
	session->in_bdat = true;
	session->bdat_discard = true;
	session->bdat_remaining = size;
	session->bdat_size = size;
	session->bdat_error_code = code;
	session->bdat_error_enhanced = enhanced;
	session->bdat_error_text = text;
	if (size == 0)
		bdat_chunk_end(session);
	else
		net_conn_set_raw(session->conn, true);
}

void smtp_cmd_bdat(struct smtp_session *session, struct smtp_command *cmd)
{
	struct smtp_transaction *trans = session->trans;

	if (trans == NULL) {
		smtp_bdat_discard(session, cmd->chunk_size, 503, "5.5.1", "Need MAIL command");
		return;
	}
	if (trans->rcpt_count == 0) {
		smtp_bdat_discard(session, cmd->chunk_size, 554, "5.5.1", "No valid recipients");
		return;
	}
	if (!trans->data_started) {
		if (start_message(session, false) < 0) {
			smtp_bdat_discard(session, cmd->chunk_size, 451, "4.3.0",
					  "Local error, try again later");
			return;
		}
		trans->bdat = true;
	}
	session->in_bdat = true;
	session->bdat_discard = false;
	session->bdat_remaining = cmd->chunk_size;
	session->bdat_size = cmd->chunk_size;
	session->bdat_last = cmd->last;
	if (cmd->chunk_size == 0)
		bdat_chunk_end(session);
	else
		net_conn_set_raw(session->conn, true);
}

static void bdat_chunk_end(struct smtp_session *session)
{
	struct smtp_transaction *trans = session->trans;

	session->in_bdat = false;
	net_conn_set_raw(session->conn, false);
	if (session->bdat_discard) {
		session->bdat_discard = false;
		smtp_reply(session, session->bdat_error_code, session->bdat_error_enhanced, "%s",
			   session->bdat_error_text);
		/* RFC 3030 2: a failed BDAT fails the transaction */
		transaction_over(session);
		return;
	}
	if (trans->too_big) {
		smtp_reply(session, 552, "5.3.4", "Message size exceeds fixed maximum message size");
		transaction_over(session);
	} else if (trans->write_error != NULL) {
		smtp_reply(session, 451, "4.3.0", "Local error, try again later");
		transaction_over(session);
	} else if (!session->bdat_last) {
		smtp_reply(session, 250, "2.0.0", "%llu octets received",
			   (unsigned long long)session->bdat_size);
	} else {
		message_end(session);
	}
}

/* The whole message is in: check it, then commit it in the job pool. */
static void message_end(struct smtp_session *session)
{
	struct smtp_transaction *trans = session->trans;
	const struct tern_settings *set = session->server->set;

	if (!smtp_data_reader_finish(&trans->reader, &trans->out))
		add_header_fields(session, true);
	flush_out(session);
	if (trans->too_big) {
		log_info("smtp", "rejected session=%s reason=size size=%llu", session->base.id,
			 (unsigned long long)trans->reader.size);
		smtp_reply(session, 552, "5.3.4", "Message size exceeds fixed maximum message size");
		transaction_over(session);
		return;
	}
	if (trans->write_error != NULL) {
		smtp_reply(session, 451, "4.3.0", "Local error, try again later");
		transaction_over(session);
		return;
	}
	if (trans->reader.received_count > set->limits.hops) {
		/* RFC 5321 6.3: too many Received fields: a loop */
		log_info("smtp", "rejected session=%s reason=hops received=%u", session->base.id,
			 trans->reader.received_count);
		smtp_reply(session, 554, "5.4.6", "Too many hops (%u Received fields): mail loop?",
			   trans->reader.received_count);
		transaction_over(session);
		return;
	}
	/* SPF, DKIM, ARC, DMARC: the verdict calls smtp_data_commit() */
	if (smtp_msgauth_finish(session))
		return;
	smtp_data_commit(session);
}

void smtp_data_commit(struct smtp_session *session)
{
	struct smtp_transaction *trans = session->trans;
	struct queue_envelope *env = &trans->env;

	if (trans->write_error != NULL) {
		smtp_reply(session, 451, "4.3.0", "Local error, try again later");
		transaction_over(session);
		/* after the checks we are outside the connection's callbacks */
		if (!session->in_input)
			smtp_session_check_disconnect(session);
		return;
	}
	memset(env, 0, sizeof(*env));
	env->created = time(NULL);
	env->sender = trans->from;
	env->envid = trans->params.envid;
	env->ret = trans->params.ret == SMTP_RET_FULL ? QUEUE_RET_FULL :
		   trans->params.ret == SMTP_RET_HDRS ? QUEUE_RET_HDRS : QUEUE_RET_DEFAULT;
	env->body_8bit = trans->params.body == SMTP_BODY_8BITMIME;
	env->smtputf8 = trans->params.smtputf8;
	env->auth_user = arena_strdup(trans->arena, session->auth_user);
	env->client = arena_printf(trans->arena, "%s [%s]", session->helo, session->base.ip);
	env->auth_results = trans->auth_results;
	env->quarantine = trans->quarantine;
	env->local_origin = trans->local_origin;
	env->rcpts = trans->rcpts;
	env->rcpt_count = trans->rcpt_count;

	smtp_session_job_begin(session);
	job_submit(session->server->commit_jobs, commit_run, commit_done, session);
}

/* In a pool thread: the session is paused and its transaction is ours. */
static void commit_run(void *ctx)
{
	struct smtp_session *session = ctx;
	struct smtp_transaction *trans = session->trans;
	const char *error;

	/* DKIM signing of our users' mail: CPU work, here off the event loop */
	smtp_msgauth_sign(trans);
	if (queue_commit(&trans->writer, &trans->env, &error) < 0)
		trans->commit_error = i_strdup(error);
	else
		trans->committed = true;
}

static void commit_done(void *ctx)
{
	struct smtp_session *session = ctx;
	struct smtp_transaction *trans = session->trans;
	struct smtp_server *server = session->server;

	if (trans->committed) {
		session->messages++;
		log_info("smtp", "accepted session=%s id=%s from=<%s> rcpts=%u size=%llu tls=%s%s%s",
			 session->base.id, trans->id, log_value(trans->from, strlen(trans->from), 200),
			 trans->rcpt_count, (unsigned long long)trans->env.size,
			 session->tls ? "yes" : "no", session->auth_user != NULL ? " auth=" : "",
			 session->auth_user != NULL ? log_str(session->auth_user) : "");
		if (server->committed != NULL)
			server->committed(server->committed_ctx, trans->id);
	} else {
		log_error("smtp", "queue commit failed session=%s id=%s error=%s", session->base.id,
			  trans->id, log_str(trans->commit_error));
	}
	if (!smtp_session_job_end(session))
		return;
	if (trans->committed)
		smtp_reply(session, 250, "2.0.0", "Ok: queued as %s", trans->id);
	else
		smtp_reply(session, 451, "4.3.0", "Local error in processing, try again later");
	transaction_over(session);
	smtp_session_check_disconnect(session);
}

void smtp_data_abort(struct smtp_session *session)
{
	struct smtp_transaction *trans = session->trans;

	if (trans == NULL || trans->writer == NULL)
		return;
	log_info("smtp", "aborted session=%s id=%s reason=disconnected size=%llu", session->base.id,
		 trans->id, (unsigned long long)trans->reader.size);
	queue_writer_abort(&trans->writer);
}
