/*
 * One POP3 session (RFC 1939): the greeting with its APOP timestamp, the
 * command loop and its three states, replies with RFC 2449/3206 response
 * codes, the commands without a file of their own (CAPA, STLS, QUIT,
 * NOOP), bad-command counting, output flow control, timeouts and the
 * service's kicks. Commands run one at a time: while one waits for a job
 * (a login, a store call, a RETR being streamed) input is paused, so
 * pipelined commands (RFC 2449 6.6) are answered in order.
 */
#include "pop3-private.h"
#include "arena.h"
#include "connection.h"
#include "job-pool.h"
#include "log.h"
#include "sasl.h"
#include "tls.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

static void conn_line(struct net_conn *conn, void *ctx, const char *line, size_t len);
static void conn_event(struct net_conn *conn, void *ctx, enum net_conn_event event);
static void conn_drained(struct net_conn *conn, void *ctx);
static void session_after_input(struct pop3_session *session);
static void dispatch(struct pop3_session *session, const char *line, size_t len);
static void cmd_capa(struct pop3_session *session);
static void cmd_stls(struct pop3_session *session);
static void cmd_quit(struct pop3_session *session);
static void reply_err(struct pop3_session *session, bool count, const char *fmt, va_list args)
	ATTR_FORMAT(3, 0);

static const struct net_conn_callbacks session_callbacks = {
	.line = conn_line,
	.event = conn_event,
	.drained = conn_drained,
};

void pop3_session_create(struct pop3_server *server, enum tern_listen_kind kind, int fd,
			 const struct sockaddr *peer, socklen_t peer_len)
{
	struct pop3_session *session = i_malloc(sizeof(*session));
	const struct tern_settings *set = server->set;
	bool implicit_tls = kind == TERN_LISTEN_POP3S;

	service_session_init(server->service, &session->base, kind, peer, peer_len);
	/* RFC 1939 3: an autologout timer of at least 10 minutes once logged
	   in; a short one before (the service shortens it under stress) */
	session->base.timeout = set->limits.pop3_timeout;
	session->base.login_timeout = set->limits.login_timeout;
	/* the total time limit holds until login: a logged-in download of a
	   large maildrop over a slow line must be able to finish, since a
	   cut session deletes nothing and would start over (pop3_mail_login
	   lifts it) */
	session->base.max_lifetime = set->limits.session_timeout;
	session->server = server;
	session->state = POP3_STATE_AUTHORIZATION;
	session->conn = net_conn_new(server->loop, fd, peer, peer_len,
				     implicit_tls ? server->tls : NULL,
				     set->limits.line_length, &session_callbacks, session);
	session->tls = implicit_tls;
	service_session_set_conn(&session->base, session->conn);
	/* (TCP_NODELAY: net_conn_new() sets it for every protocol) */
	/* RFC 1939 7: the timestamp APOP digests, a msg-id unique to this
	   greeting: "<process-ID.clock@hostname>" in spirit */
	session->timestamp = i_strdup_printf("<%s.%lld@%s>", session->base.id,
					     (long long)time(NULL), set->hostname);

	log_info("pop3", "connect session=%s ip=%s service=%s", session->base.id,
		 session->base.ip, settings_listen_kind_name(kind));
	/* RFC 1939 4: the greeting */
	net_conn_printf(session->conn, "+OK tern POP3 server ready %s\r\n", session->timestamp);
}

/* The service's free callback: the connection is gone and nothing holds
   the session any more. */
void pop3_session_free(struct service_session *base)
{
	struct pop3_session *session = (struct pop3_session *)base;

	/* a maildrop left without QUIT: its last store work runs in a job
	   that owns what it needs (nothing is deleted, RFC 1939 6) */
	pop3_mail_abandon(session);
	pop3_retr_free(&session->retr);
	while (session->ahead_count > 0)
		pop3_retr_free(&session->ahead[--session->ahead_count]);
	i_free(session->deferred);
	sasl_server_free(&session->sasl);
	i_free(session->msgs);
	i_free(session->timestamp);
	if (session->user != NULL)
		explicit_bzero(session->user, strlen(session->user));
	i_free(session->user);
	i_free(session->auth_user);
	i_free(session->update_error);
	i_free(session);
}

void pop3_session_destroy(struct pop3_session *session, const char *reason)
{
	if (session->conn == NULL)
		return;
	log_info("pop3", "disconnect session=%s ip=%s reason=%s user=%s retrieved=%u deleted=%u",
		 session->base.id, session->base.ip, reason,
		 session->auth_user != NULL ? log_str(session->auth_user) : "-",
		 session->retrieved, session->expunged);
	if (session->disconnect)
		net_conn_close_after_write(&session->conn);
	else
		net_conn_close(&session->conn);
	/* frees now, or when the last job holding it is done */
	service_session_closed(&session->base);
}

/* The service asks the session to go. A command in progress (a login, a
   RETR being streamed, the UPDATE state) finishes first. */
void pop3_session_kick(struct service_session *base, enum service_kick_reason reason)
{
	struct pop3_session *session = (struct pop3_session *)base;

	switch (reason) {
	case SERVICE_KICK_SHUTDOWN:
		session->closing_down = true;
		pop3_session_idle_check(session);
		return;
	case SERVICE_KICK_STRESS:
		pop3_session_disconnect(session, "[SYS/TEMP] Server busy, try again later",
					"stress");
		return;
	case SERVICE_KICK_SESSION_TIME:
		pop3_session_disconnect(session, "Session time limit exceeded",
					"session-timeout");
		return;
	case SERVICE_KICK_CLOSE:
		pop3_session_destroy(session, "shutdown");
		return;
	}
}

bool pop3_session_job_end(struct pop3_session *session)
{
	session->job_running = false;
	if (!service_session_release(&session->base))
		return false;
	pop3_session_update_input(session);
	return true;
}

void pop3_session_job(struct pop3_session *session, void (*run)(void *ctx),
		      void (*done)(void *ctx), void *ctx)
{
	i_assert(!session->job_running);
	session->job_running = true;
	service_session_hold(&session->base);
	pop3_session_update_input(session);
	job_submit(session->server->store_jobs, run, done, ctx);
}

void pop3_session_update_input(struct pop3_session *session)
{
	if (session->conn == NULL)
		return;
	if (session->job_running || session->auth_running || session->output_paused ||
	    session->disconnect || session->retr != NULL || session->listing ||
	    session->deferred != NULL || session->state == POP3_STATE_UPDATE)
		net_conn_pause(session->conn);
	else
		net_conn_resume(session->conn);
}

bool pop3_session_secure(const struct pop3_session *session)
{
	return service_session_secure(&session->base, session->tls);
}

void pop3_session_idle_check(struct pop3_session *session)
{
	if (!session->closing_down || session->conn == NULL || session->disconnect ||
	    session->job_running || session->auth_running || session->retr != NULL ||
	    session->listing || session->deferred != NULL ||
	    session->state == POP3_STATE_UPDATE)
		return;
	pop3_session_disconnect(session, "[SYS/TEMP] Server shutting down", "shutdown");
}

static void check_output(struct pop3_session *session)
{
	if (session->conn != NULL && !session->output_paused &&
	    net_conn_output_size(session->conn) > POP3_OUTPUT_MAX) {
		/* a client that does not read its responses: stop reading it */
		session->output_paused = true;
		pop3_session_update_input(session);
	}
}

void pop3_write(struct pop3_session *session, const void *data, size_t len)
{
	if (session->conn == NULL || session->disconnect)
		return;
	net_conn_write(session->conn, data, len);
	check_output(session);
}

void pop3_ok(struct pop3_session *session, const char *fmt, ...)
{
	char text[512];
	va_list args;

	if (session->conn == NULL || session->disconnect)
		return;
	va_start(args, fmt);
	vsnprintf(text, sizeof(text), fmt, args);
	va_end(args);
	/* RFC 2449 4: "+OK" [SP text], at most 512 octets with CRLF */
	net_conn_printf(session->conn, "+OK%s%s\r\n", text[0] != '\0' ? " " : "", text);
	session->bad_commands = 0;
	check_output(session);
}

static void reply_err(struct pop3_session *session, bool count, const char *fmt, va_list args)
{
	const struct tern_limits *limits = &session->server->set->limits;
	char text[512];

	if (session->conn == NULL || session->disconnect)
		return;
	vsnprintf(text, sizeof(text), fmt, args);
	if (count && ++session->bad_commands >= limits->bad_commands) {
		/* the last one: say why the connection ends instead */
		log_info("pop3", "too many errors session=%s ip=%s", session->base.id,
			 session->base.ip);
		pop3_session_disconnect(session, "Too many bad commands, closing connection",
					"too-many-errors");
		return;
	}
	net_conn_printf(session->conn, "-ERR %s\r\n", text);
	check_output(session);
}

void pop3_err(struct pop3_session *session, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	reply_err(session, true, fmt, args);
	va_end(args);
}

void pop3_err_nocount(struct pop3_session *session, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	reply_err(session, false, fmt, args);
	va_end(args);
}

void pop3_session_disconnect(struct pop3_session *session, const char *text, const char *reason)
{
	if (session->conn == NULL)
		return;
	if (!session->disconnect && text != NULL)
		net_conn_printf(session->conn, "-ERR %s\r\n", text);
	session->disconnect = true;
	session->disconnect_reason = reason;
	pop3_session_update_input(session);
	/* inside an input callback the session is closed on the way out;
	   a job or login in progress closes it when it is done */
	if (!session->in_input)
		pop3_session_check_disconnect(session);
}

bool pop3_session_check_disconnect(struct pop3_session *session)
{
	if (session->conn != NULL && session->disconnect && !session->job_running &&
	    !session->auth_running) {
		pop3_session_destroy(session, session->disconnect_reason != NULL ?
					      session->disconnect_reason : "closed");
		return false;
	}
	return true;
}

/* The end of every callback from the connection: close if asked to. */
static void session_after_input(struct pop3_session *session)
{
	session->in_input = false;
	pop3_session_check_disconnect(session);
}

static void conn_line(struct net_conn *conn, void *ctx, const char *line, size_t len)
{
	struct pop3_session *session = ctx;

	if (session->disconnect)
		return;
	session->in_input = true;
	if (session->sasl != NULL)
		pop3_auth_continue(session, line, len);
	else
		dispatch(session, line, len);
	session_after_input(session);
}

void pop3_session_run_deferred(struct pop3_session *session)
{
	char *line = session->deferred;

	session->deferred = NULL;
	if (session->conn == NULL || session->disconnect) {
		i_free(line);
		pop3_session_check_disconnect(session);
		return;
	}
	session->in_input = true;
	dispatch(session, line, strlen(line));
	i_free(line);
	pop3_session_update_input(session);
	session_after_input(session);
}

static void conn_event(struct net_conn *conn, void *ctx, enum net_conn_event event)
{
	struct pop3_session *session = ctx;

	switch (event) {
	case NET_CONN_LINE_TOO_LONG:
		session->in_input = true;
		if (session->sasl != NULL) {
			/* RFC 5034 4: a response the server cannot take fails the exchange */
			pop3_auth_cancel(session);
			pop3_err(session, "Authentication response too long");
		} else {
			pop3_err(session, "Line too long");
		}
		session_after_input(session);
		return;
	case NET_CONN_TIMEOUT:
		/* RFC 1939 3: on the autologout timer the server closes the
		   connection without a response and without entering the
		   UPDATE state */
		session->disconnect = false;
		pop3_session_destroy(session, "timeout");
		return;
	case NET_CONN_EOF:
		pop3_session_destroy(session, "eof");
		return;
	case NET_CONN_IO_ERROR:
		pop3_session_destroy(session, "io-error");
		return;
	case NET_CONN_TLS_ERROR:
		pop3_session_destroy(session, "tls-error");
		return;
	case NET_CONN_TLS_READY: {
		SSL *ssl = net_conn_ssl(conn);

		log_info("pop3", "tls session=%s %s", session->base.id,
			 ssl != NULL ? tls_describe(ssl) : "-");
		return;
	}
	case NET_CONN_CONNECTED:
		return;
	}
}

static void conn_drained(struct net_conn *conn, void *ctx)
{
	struct pop3_session *session = ctx;

	if (session->retr != NULL) {
		pop3_retr_drained(session);
		return;
	}
	if (session->listing) {
		pop3_list_drained(session);
		return;
	}
	if (session->output_paused) {
		session->output_paused = false;
		pop3_session_update_input(session);
	}
}

struct pop3_msg *pop3_session_msg(struct pop3_session *session, uint32_t msg)
{
	struct pop3_msg *m;

	/* RFC 1939 5: "may NOT refer to a message marked as deleted" */
	if (msg == 0 || msg > session->count) {
		pop3_err(session, "No such message");
		return NULL;
	}
	m = &session->msgs[msg - 1];
	if ((m->flags & POP3_MSG_DELETED) != 0) {
		pop3_err(session, "Message %u already deleted", msg);
		return NULL;
	}
	return m;
}

static bool valid_in_state(enum pop3_state state, enum pop3_verb verb)
{
	switch (verb) {
	case POP3_VERB_CAPA:
	case POP3_VERB_QUIT:
		return true;
	case POP3_VERB_USER:
	case POP3_VERB_PASS:
	case POP3_VERB_APOP:
	case POP3_VERB_AUTH:
	case POP3_VERB_STLS:
		return state == POP3_STATE_AUTHORIZATION;
	default:
		return state == POP3_STATE_TRANSACTION;
	}
}

static void dispatch(struct pop3_session *session, const char *line, size_t len)
{
	struct arena *arena = arena_new(1024);
	struct pop3_command cmd;
	enum pop3_parse_error error;
	const char *text;

	if (pop3_command_parse(arena, (const unsigned char *)line, len, &cmd, &error, &text) < 0) {
		pop3_err(session, "%s", text);
		arena_free(&arena);
		return;
	}
	if (!valid_in_state(session->state, cmd.verb)) {
		if (session->state == POP3_STATE_AUTHORIZATION)
			pop3_err(session, "%s not allowed before login", cmd.name);
		else
			pop3_err(session, "%s not allowed after login", cmd.name);
		arena_free(&arena);
		return;
	}
	if (pop3_retr_must_wait(session, &cmd)) {
		/* the read-ahead job has the maildrop: this one runs after it */
		session->deferred = i_strndup(line, len);
		pop3_session_update_input(session);
		arena_free(&arena);
		return;
	}
	/* a USER must be followed by its PASS (RFC 1939 7) */
	if (cmd.verb != POP3_VERB_PASS && session->user != NULL) {
		explicit_bzero(session->user, strlen(session->user));
		i_free(session->user);
	}
	switch (cmd.verb) {
	case POP3_VERB_USER:
		pop3_cmd_user(session, &cmd);
		break;
	case POP3_VERB_PASS:
		pop3_cmd_pass(session, &cmd);
		/* the password is wiped with the arena's memory */
		explicit_bzero(cmd.arg, strlen(cmd.arg));
		break;
	case POP3_VERB_APOP:
		pop3_cmd_apop(session, &cmd);
		break;
	case POP3_VERB_AUTH:
		pop3_cmd_auth(session, &cmd);
		break;
	case POP3_VERB_STLS:
		cmd_stls(session);
		break;
	case POP3_VERB_CAPA:
		cmd_capa(session);
		break;
	case POP3_VERB_QUIT:
		cmd_quit(session);
		break;
	case POP3_VERB_STAT:
		pop3_cmd_stat(session);
		break;
	case POP3_VERB_LIST:
		pop3_cmd_list(session, &cmd, false);
		break;
	case POP3_VERB_UIDL:
		pop3_cmd_list(session, &cmd, true);
		break;
	case POP3_VERB_RETR:
	case POP3_VERB_TOP:
		pop3_cmd_retr(session, &cmd);
		break;
	case POP3_VERB_DELE:
		pop3_cmd_dele(session, &cmd);
		break;
	case POP3_VERB_RSET:
		pop3_cmd_rset(session);
		break;
	case POP3_VERB_NOOP:
		/* RFC 1939 5 */
		pop3_ok(session, "%s", "");
		break;
	case POP3_VERB_COUNT:
		i_panic("pop3: parser returned no verb");
	}
	arena_free(&arena);
}

/* RFC 2449 5: the capabilities of the current state */
static void cmd_capa(struct pop3_session *session)
{
	buf_t out;

	buf_init(&out, 1024);
	if (buf_append_str(&out, "+OK Capability list follows\r\n"
			   "TOP\r\n"                /* RFC 2449 6.1 */
			   "UIDL\r\n"               /* RFC 2449 6.2 */
			   "RESP-CODES\r\n"         /* RFC 2449 6.4 */
			   "AUTH-RESP-CODE\r\n"     /* RFC 3206 6 */
			   "PIPELINING\r\n"         /* RFC 2449 6.6 */
			   "EXPIRE NEVER\r\n"       /* RFC 2449 6.7: tern never expires mail */
			   "IMPLEMENTATION tern\r\n") < 0)  /* RFC 2449 6.9 */
		i_panic("pop3: CAPA buffer");
	if (session->state == POP3_STATE_AUTHORIZATION) {
		/* RFC 2595 4: STLS only before TLS; USER (RFC 2449 6.3) and
		   SASL (RFC 5034 5) only where a password may be sent */
		if (session->server->tls != NULL && !session->tls &&
		    buf_append_str(&out, "STLS\r\n") < 0)
			i_panic("pop3: CAPA buffer");
		if (pop3_session_secure(session) &&
		    buf_append_str(&out, "USER\r\nSASL " SASL_MECHANISMS "\r\n") < 0)
			i_panic("pop3: CAPA buffer");
	}
	if (buf_append_str(&out, ".\r\n") < 0)
		i_panic("pop3: CAPA buffer");
	pop3_write(session, out.data, out.used);
	session->bad_commands = 0;
	buf_free(&out);
}

/* RFC 2595 4 */
static void cmd_stls(struct pop3_session *session)
{
	const char *error;

	if (session->server->tls == NULL) {
		pop3_err(session, "STLS not available");
		return;
	}
	if (session->tls) {
		pop3_err(session, "Command not permitted when TLS active");
		return;
	}
	pop3_ok(session, "Begin TLS negotiation");
	if (net_conn_starttls(session->conn, session->server->tls, true, NULL, &error) < 0) {
		log_error("pop3", "stls failed session=%s error=%s", session->base.id,
			  log_str(error));
		session->disconnect = true;
		session->disconnect_reason = "tls-error";
		return;
	}
	/* RFC 2595 4: the client discards what it knew and starts over; the
	   server forgets anything sent before (net_conn_starttls drops
	   buffered input) */
	session->tls = true;
}

/* RFC 1939 4, 6: QUIT. In TRANSACTION the UPDATE state removes the
   deleted messages first (pop3-mail.c answers and closes). */
static void cmd_quit(struct pop3_session *session)
{
	if (session->state == POP3_STATE_TRANSACTION) {
		session->state = POP3_STATE_UPDATE;
		pop3_session_update_input(session);
		pop3_mail_update(session);
		return;
	}
	pop3_ok(session, "tern POP3 server signing off");
	session->disconnect = true;
	session->disconnect_reason = "quit";
}
