/*
 * One SMTP session (RFC 5321): greeting, the command loop, replies with
 * enhanced status codes (RFC 3463, RFC 2034), the commands without a file
 * of their own (EHLO, HELO, RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS,
 * the obsolete ones), error counting, output flow control, timeouts.
 */
#include "server-private.h"
#include "arena.h"
#include "connection.h"
#include "listener.h"
#include "log.h"
#include "inbound.h"
#include "sasl.h"
#include "tls.h"
#include "job-pool.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>

static void conn_line(struct net_conn *conn, void *ctx, const char *line, size_t len);
static size_t conn_raw(struct net_conn *conn, void *ctx, const unsigned char *data, size_t len);
static void conn_event(struct net_conn *conn, void *ctx, enum net_conn_event event);
static void conn_drained(struct net_conn *conn, void *ctx);
static void session_after_input(struct smtp_session *session);
static void dispatch(struct smtp_session *session, const char *line, size_t len);
static void cmd_helo(struct smtp_session *session, struct smtp_command *cmd);
static void cmd_starttls(struct smtp_session *session);
static void cmd_help(struct smtp_session *session);

static const struct net_conn_callbacks session_callbacks = {
	.line = conn_line,
	.raw = conn_raw,
	.event = conn_event,
	.drained = conn_drained,
};

void smtp_session_create(struct smtp_server *server, enum tern_listen_kind kind, int fd,
			 const struct sockaddr *peer, socklen_t peer_len)
{
	struct smtp_session *session = i_malloc(sizeof(*session));
	const struct tern_settings *set = server->set;
	bool implicit_tls = kind == TERN_LISTEN_SUBMISSIONS;

	service_session_init(server->service, &session->base, kind, peer, peer_len);
	session->base.timeout = set->limits.smtp_timeout;
	/* RFC 5321 4.5.3.2: the same timeout before and in a transaction;
	   the service shortens it under stress */
	session->base.login_timeout = 0;
	session->base.max_lifetime = set->limits.session_timeout;
	session->server = server;
	session->kind = kind;
	session->conn = net_conn_new(server->loop, fd, peer, peer_len,
				     implicit_tls ? server->tls : NULL,
				     set->limits.line_length, &session_callbacks, session);
	session->tls = implicit_tls;
	service_session_set_conn(&session->base, session->conn);

	log_info("smtp", "connect session=%s ip=%s service=%s", session->base.id,
		 session->base.ip, settings_listen_kind_name(kind));
	/* RFC 5321 4.2 / 3.1: the greeting */
	net_conn_printf(session->conn, "220 %s ESMTP tern\r\n", set->hostname);
}

/* The service's free callback: the connection is gone and nothing holds
   the session any more. */
void smtp_session_free(struct service_session *base)
{
	struct smtp_session *session = (struct smtp_session *)base;

	smtp_data_abort(session);
	smtp_transaction_free(&session->trans);
	sasl_server_free(&session->sasl);
	i_free(session->helo);
	i_free(session->auth_user);
	i_free(session);
}

void smtp_session_destroy(struct smtp_session *session, const char *reason)
{
	if (session->conn == NULL)
		return;
	log_info("smtp", "disconnect session=%s ip=%s reason=%s messages=%u", session->base.id,
		 session->base.ip, reason, session->messages);
	if (session->disconnect)
		net_conn_close_after_write(&session->conn);
	else
		net_conn_close(&session->conn);
	/* frees now, or when the last job holding it is done */
	service_session_closed(&session->base);
}

/* The service asks the session to go: at shutdown a session in the
   middle of a transaction finishes it (its reply is sent) first. */
void smtp_session_kick(struct service_session *base, enum service_kick_reason reason)
{
	struct smtp_session *session = (struct smtp_session *)base;

	switch (reason) {
	case SERVICE_KICK_SHUTDOWN:
		session->closing_down = true;
		smtp_session_idle_check(session);
		return;
	case SERVICE_KICK_STRESS:
		smtp_session_disconnect(session, "4.7.0", "Server busy, try again later",
					"stress");
		return;
	case SERVICE_KICK_SESSION_TIME:
		smtp_session_disconnect(session, "4.4.2", "Session time limit exceeded",
					"session-timeout");
		return;
	case SERVICE_KICK_CLOSE:
		smtp_session_destroy(session, "shutdown");
		return;
	}
}

void smtp_session_job_begin(struct smtp_session *session)
{
	i_assert(!session->job_running);
	session->job_running = true;
	service_session_hold(&session->base);
	smtp_session_update_input(session);
}

bool smtp_session_job_end(struct smtp_session *session)
{
	session->job_running = false;
	if (!service_session_release(&session->base))
		return false;
	smtp_session_update_input(session);
	return true;
}

void smtp_session_job(struct smtp_session *session, struct job_client *jobs,
		      void (*run)(void *ctx), void (*done)(void *ctx), void *ctx)
{
	smtp_session_job_begin(session);
	job_submit(jobs, run, done, ctx);
}

void smtp_session_update_input(struct smtp_session *session)
{
	if (session->conn == NULL)
		return;
	if (session->job_running || session->auth_running || session->output_paused ||
	    session->disconnect || session->checking)
		net_conn_pause(session->conn);
	else
		net_conn_resume(session->conn);
}

bool smtp_session_secure(const struct smtp_session *session)
{
	return service_session_secure(&session->base, session->tls);
}

bool smtp_session_trusted(const struct smtp_session *session)
{
	return session->auth_user != NULL || session->base.trusted;
}

void smtp_transaction_free(struct smtp_transaction **transp)
{
	struct smtp_transaction *trans = *transp;

	if (trans == NULL)
		return;
	if (trans->writer != NULL)
		queue_writer_abort(&trans->writer);
	if (trans->data_started)
		smtp_data_reader_deinit(&trans->reader);
	msgauth_inbound_free(&trans->auth);
	buf_free(&trans->auth_out);
	buf_free(&trans->out);
	i_free(trans->commit_error);
	arena_free(&trans->arena);
	i_free(trans);
	*transp = NULL;
}

/* RFC 5321 4.1.1.5 RSET, and the implicit resets (EHLO, STARTTLS, end of
   a transaction). */
void smtp_session_reset(struct smtp_session *session)
{
	smtp_transaction_free(&session->trans);
	service_session_set_engaged(&session->base, false);
}

void smtp_session_idle_check(struct smtp_session *session)
{
	if (!session->closing_down || session->conn == NULL || session->disconnect ||
	    session->job_running || session->auth_running || session->trans != NULL ||
	    session->in_data || session->in_bdat || session->sasl != NULL)
		return;
	smtp_session_disconnect(session, "4.3.2", "Service shutting down", "shutdown");
}

static void write_reply_line(struct smtp_session *session, unsigned int code, char sep,
			     const char *enhanced, const char *text)
{
	if (enhanced != NULL)
		net_conn_printf(session->conn, "%u%c%s %s\r\n", code, sep, enhanced, text);
	else
		net_conn_printf(session->conn, "%u%c%s\r\n", code, sep, text);
}

static void count_reply(struct smtp_session *session, unsigned int code)
{
	const struct tern_limits *limits = &session->server->set->limits;

	if (code >= 500) {
		if (++session->bad_commands >= limits->bad_commands && !session->disconnect) {
			net_conn_printf(session->conn, "421 4.7.0 %s Too many errors, closing connection\r\n",
					session->server->set->hostname);
			session->disconnect = true;
			session->disconnect_reason = "too-many-errors";
			log_info("smtp", "too many errors session=%s ip=%s", session->base.id,
				 session->base.ip);
		}
	} else if (code < 400) {
		session->bad_commands = 0;
	}
	if (net_conn_output_size(session->conn) > SMTP_OUTPUT_MAX && !session->output_paused) {
		/* a client that doesn't read its replies: stop reading it */
		session->output_paused = true;
		smtp_session_update_input(session);
	}
}

void smtp_reply(struct smtp_session *session, unsigned int code, const char *enhanced,
		const char *fmt, ...)
{
	char text[1024];
	va_list args;

	if (session->conn == NULL || session->disconnect)
		return;
	va_start(args, fmt);
	vsnprintf(text, sizeof(text), fmt, args);
	va_end(args);
	write_reply_line(session, code, ' ', enhanced, text);
	count_reply(session, code);
}

void smtp_reply_lines(struct smtp_session *session, unsigned int code,
		      const char *const *lines, unsigned int count)
{
	unsigned int i;

	if (session->conn == NULL || session->disconnect)
		return;
	/* RFC 5321 4.2.1: "code-text" on every line but the last */
	for (i = 0; i < count; i++)
		write_reply_line(session, code, i + 1 < count ? '-' : ' ', NULL, lines[i]);
	count_reply(session, code);
}

void smtp_session_disconnect(struct smtp_session *session, const char *enhanced,
			     const char *text, const char *reason)
{
	if (session->conn == NULL)
		return;
	if (!session->disconnect)
		net_conn_printf(session->conn, "421 %s %s %s\r\n", enhanced,
				session->server->set->hostname, text);
	session->disconnect = true;
	session->disconnect_reason = reason;
	smtp_session_update_input(session);
	/* inside an input callback the session is closed on the way out */
	if (!session->in_input)
		smtp_session_check_disconnect(session);
}

bool smtp_session_check_disconnect(struct smtp_session *session)
{
	if (session->conn != NULL && session->disconnect && !session->job_running &&
	    !session->auth_running) {
		smtp_session_destroy(session, session->disconnect_reason != NULL ?
					      session->disconnect_reason : "closed");
		return false;
	}
	return true;
}

/* The end of every callback from the connection: close if asked to. */
static void session_after_input(struct smtp_session *session)
{
	session->in_input = false;
	smtp_session_check_disconnect(session);
}

static void conn_line(struct net_conn *conn, void *ctx, const char *line, size_t len)
{
	struct smtp_session *session = ctx;

	if (session->disconnect)
		return;
	session->in_input = true;
	if (session->sasl != NULL)
		smtp_auth_continue(session, line, len);
	else
		dispatch(session, line, len);
	session_after_input(session);
}

static size_t conn_raw(struct net_conn *conn, void *ctx, const unsigned char *data, size_t len)
{
	struct smtp_session *session = ctx;
	size_t n;

	if (session->disconnect)
		return len;
	session->in_input = true;
	n = smtp_session_raw_input(session, data, len);
	session_after_input(session);
	return n;
}

static void conn_event(struct net_conn *conn, void *ctx, enum net_conn_event event)
{
	struct smtp_session *session = ctx;

	switch (event) {
	case NET_CONN_LINE_TOO_LONG:
		/* RFC 5321 4.5.3.1.4 / 4.2.2 */
		session->in_input = true;
		if (session->sasl != NULL)
			smtp_auth_cancel(session);
		smtp_reply(session, 500, "5.5.2", "Line too long");
		session_after_input(session);
		return;
	case NET_CONN_TIMEOUT:
		/* RFC 5321 4.5.3.2.7: the server timeout */
		smtp_session_disconnect(session, "4.4.2", "Timeout exceeded, closing connection",
					session->in_data || session->in_bdat ?
					"timeout-in-data" : "timeout");
		return;
	case NET_CONN_EOF:
		smtp_session_destroy(session, session->in_data || session->in_bdat ?
					      "eof-in-data" : "eof");
		return;
	case NET_CONN_IO_ERROR:
		smtp_session_destroy(session, "io-error");
		return;
	case NET_CONN_TLS_ERROR:
		smtp_session_destroy(session, "tls-error");
		return;
	case NET_CONN_TLS_READY: {
		SSL *ssl = net_conn_ssl(conn);

		log_info("smtp", "tls session=%s %s", session->base.id,
			 ssl != NULL ? tls_describe(ssl) : "-");
		return;
	}
	case NET_CONN_CONNECTED:
		return;
	}
}

static void conn_drained(struct net_conn *conn, void *ctx)
{
	struct smtp_session *session = ctx;

	if (session->output_paused) {
		session->output_paused = false;
		smtp_session_update_input(session);
	}
}

static void dispatch(struct smtp_session *session, const char *line, size_t len)
{
	struct arena *arena = arena_new(1024);
	struct smtp_command cmd;
	struct smtp_parse_error err;

	if (smtp_command_parse(arena, (const unsigned char *)line, len, &cmd, &err) < 0) {
		if (err.verb == SMTP_VERB_BDAT && err.chunk_size_valid) {
			/* RFC 3030 2: the chunk follows anyway; read it past */
			smtp_bdat_discard(session, err.chunk_size, err.code, err.enhanced, err.text);
		} else {
			smtp_reply(session, err.code, err.enhanced, "%s", err.text);
		}
		arena_free(&arena);
		return;
	}
	switch (cmd.verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		cmd_helo(session, &cmd);
		break;
	case SMTP_VERB_MAIL:
		smtp_cmd_mail(session, &cmd);
		break;
	case SMTP_VERB_RCPT:
		smtp_cmd_rcpt(session, &cmd);
		break;
	case SMTP_VERB_DATA:
		smtp_cmd_data(session, &cmd);
		break;
	case SMTP_VERB_BDAT:
		smtp_cmd_bdat(session, &cmd);
		break;
	case SMTP_VERB_RSET:
		smtp_session_reset(session);
		smtp_reply(session, 250, "2.0.0", "OK");
		smtp_session_idle_check(session);
		break;
	case SMTP_VERB_NOOP:
		smtp_reply(session, 250, "2.0.0", "OK");
		break;
	case SMTP_VERB_QUIT:
		/* RFC 5321 4.1.1.10 */
		smtp_reply(session, 221, "2.0.0", "%s Bye", session->server->set->hostname);
		session->disconnect = true;
		break;
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
		smtp_cmd_vrfy(session, &cmd);
		break;
	case SMTP_VERB_HELP:
		cmd_help(session);
		break;
	case SMTP_VERB_STARTTLS:
		cmd_starttls(session);
		break;
	case SMTP_VERB_AUTH:
		smtp_cmd_auth(session, &cmd);
		break;
	case SMTP_VERB_SEND:
	case SMTP_VERB_SOML:
	case SMTP_VERB_SAML:
	case SMTP_VERB_TURN:
	case SMTP_VERB_ETRN:
		/* RFC 5321 appendix F: obsolete */
		smtp_reply(session, 502, "5.5.1", "Command not implemented");
		break;
	case SMTP_VERB_COUNT:
		i_panic("smtp: parser returned no verb");
	}
	arena_free(&arena);
}

static void cmd_helo(struct smtp_session *session, struct smtp_command *cmd)
{
	const struct tern_settings *set = session->server->set;
	const char *lines[16];
	char size_line[64], greet[600];
	unsigned int n = 0;

	/* RFC 5321 4.1.4: EHLO/HELO reset the transaction */
	smtp_session_reset(session);
	i_free(session->helo);
	session->helo = i_strdup(cmd->helo);
	session->esmtp = cmd->verb == SMTP_VERB_EHLO;
	snprintf(greet, sizeof(greet), "%s Hello %s [%s]", set->hostname, cmd->helo,
		 session->base.ip);
	if (!session->esmtp) {
		/* RFC 5321 4.1.1.1: HELO gets no extension list */
		smtp_reply(session, 250, NULL, "%s", greet);
		return;
	}
	lines[n++] = greet;
	lines[n++] = "PIPELINING";                           /* RFC 2920 */
	snprintf(size_line, sizeof(size_line), "SIZE %lld", (long long)set->limits.message_size);
	lines[n++] = size_line;                              /* RFC 1870 */
	lines[n++] = "8BITMIME";                             /* RFC 6152 */
	lines[n++] = "ENHANCEDSTATUSCODES";                  /* RFC 2034 */
	if (session->server->tls != NULL && !session->tls)
		lines[n++] = "STARTTLS";                     /* RFC 3207 */
	if (smtp_session_secure(session) && session->auth_user == NULL)
		lines[n++] = "AUTH " SASL_MECHANISMS;        /* RFC 4954 */
	lines[n++] = "SMTPUTF8";                             /* RFC 6531 */
	lines[n++] = "CHUNKING";                             /* RFC 3030 */
	lines[n++] = "DSN";                                  /* RFC 3461 */
	smtp_reply_lines(session, 250, lines, n);
}

static void cmd_help(struct smtp_session *session)
{
	static const char *const lines[] = {
		"2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT",
		"2.0.0 VRFY EXPN HELP STARTTLS AUTH",
		"2.0.0 See RFC 5321 and https://tern.example/docs/smtp",
	};

	/* RFC 5321 4.1.1.8 */
	smtp_reply_lines(session, 214, lines, N_ELEMENTS(lines));
}

/* RFC 3207 */
static void cmd_starttls(struct smtp_session *session)
{
	const char *error;

	if (session->server->tls == NULL) {
		smtp_reply(session, 502, "5.5.1", "STARTTLS not available");
		return;
	}
	if (session->tls) {
		smtp_reply(session, 503, "5.5.1", "TLS already active");
		return;
	}
	if (session->trans != NULL) {
		smtp_reply(session, 503, "5.5.1", "STARTTLS not allowed during a mail transaction");
		return;
	}
	smtp_reply(session, 220, "2.0.0", "Ready to start TLS");
	if (net_conn_starttls(session->conn, session->server->tls, true, NULL, &error) < 0) {
		log_error("smtp", "starttls failed session=%s error=%s", session->base.id, log_str(error));
		session->disconnect = true;
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before, the client starts
	   over with EHLO */
	session->tls = true;
	session->esmtp = false;
	i_free(session->helo);
	i_free(session->auth_user);
	smtp_session_reset(session);
}
