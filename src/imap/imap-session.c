/*
 * One IMAP session: the greeting, reading commands (lines and literals
 * through imap-parser.h), the state checks, running each command (loop,
 * then a store job, then the loop again: imap-common.h), tagged and
 * untagged responses, output flow control, timeouts and the end of the
 * session. The commands themselves live in cmd-*.c.
 */
#include "imap-common.h"
#include "arena.h"
#include "connection.h"
#include "job-pool.h"
#include "log.h"
#include "sasl.h"
#include "tern-limits.h"
#include "tls.h"
#include "imap-quote.h"

#include <stdarg.h>
#include <stdio.h>

static void conn_line(struct net_conn *conn, void *ctx, const char *line, size_t len);
static size_t conn_raw(struct net_conn *conn, void *ctx, const unsigned char *data, size_t len);
static void conn_event(struct net_conn *conn, void *ctx, enum net_conn_event event);
static void conn_drained(struct net_conn *conn, void *ctx);
static void session_destroy(struct imap_session *session, const char *reason);
static void command_begin(struct imap_session *session, const char *line, size_t len);
static void command_parsed(struct imap_session *session, enum imap_parse_result r);
static void command_start(struct imap_session *session);
static void command_end(struct imap_session *session);
static void command_submit(struct imap_command *cmd);
static void reading_abort(struct imap_session *session);
static bool check_disconnect(struct imap_session *session);
static void discard_line(struct imap_session *session, const char *line, size_t len);

static const struct net_conn_callbacks session_callbacks = {
	.line = conn_line,
	.raw = conn_raw,
	.event = conn_event,
	.drained = conn_drained,
};

void imap_session_create(struct imap_server *server, enum tern_listen_kind kind, int fd,
			 const struct sockaddr *peer, socklen_t peer_len)
{
	struct imap_session *session = i_malloc(sizeof(*session));
	const struct tern_settings *set = server->set;
	bool implicit_tls = kind == TERN_LISTEN_IMAPS;

	service_session_init(server->service, &session->base, kind, peer, peer_len);
	/* RFC 9051 5.4: at least 30 minutes once logged in; a short wait
	   before (the service shortens both under stress) */
	session->base.timeout = set->limits.imap_timeout;
	session->base.login_timeout = set->limits.login_timeout;
	session->server = server;
	session->conn = net_conn_new(server->loop, fd, peer, peer_len,
				     implicit_tls ? server->tls : NULL, set->limits.line_length,
				     &session_callbacks, session);
	session->tls = implicit_tls;
	session->state = IMAP_STATE_NOAUTH;
	net_wakeup_target_init(&session->wake, imap_session_wake, session);
	service_session_set_conn(&session->base, session->conn);

	log_info("imap", "connect session=%s ip=%s service=%s", session->base.id,
		 session->base.ip, settings_listen_kind_name(kind));
	/* RFC 9051 7.1.1: the greeting may carry the capabilities */
	{
		struct arena *arena = arena_new(512);

		net_conn_printf(session->conn, "* OK [CAPABILITY %s] %s tern IMAP ready\r\n",
				imap_session_capabilities(session, arena), set->hostname);
		arena_free(&arena);
	}
}

bool imap_session_secure(const struct imap_session *session)
{
	return service_session_secure(&session->base, session->tls);
}

bool imap_session_utf8_names(const struct imap_session *session)
{
	return (session->enabled & (IMAP_ENABLED_UTF8 | IMAP_ENABLED_REV2)) != 0;
}

unsigned int imap_session_quote_flags(const struct imap_session *session)
{
	return (session->enabled & (IMAP_ENABLED_UTF8 | IMAP_ENABLED_REV2)) != 0 ?
		IMAP_QUOTE_FLAG_UTF8 : 0;
}

void imap_session_write(struct imap_session *session, const char *text)
{
	if (session->conn == NULL)
		return;
	net_conn_write_str(session->conn, text);
	if (net_conn_output_size(session->conn) > IMAP_OUTPUT_MAX && !session->output_paused) {
		/* a client that does not read: stop reading it */
		session->output_paused = true;
		imap_session_update_input(session);
	}
}

void imap_session_update_input(struct imap_session *session)
{
	if (session->conn == NULL)
		return;
	if (session->job_running || session->auth_running || session->output_paused ||
	    session->disconnect || (session->cmd != NULL && !session->cmd_wants_input))
		net_conn_pause(session->conn);
	else
		net_conn_resume(session->conn);
}

/* The service's free callback: the connection is gone, nothing holds
   the session. */
void imap_session_free(struct service_session *base)
{
	struct imap_session *session = (struct imap_session *)base;

	if (session->cmd != NULL) {
		/* the client went away in the middle of a command (its job, if
		   any, has ended: nothing holds the session) */
		if (session->cmd->cleanup != NULL)
			session->cmd->cleanup(session->cmd);
		buf_free(&session->cmd->out);
		session->cmd = NULL;
	}
	imap_session_release_mail(session);
	reading_abort(session);
	sasl_server_free(&session->sasl);
	buf_free(&session->literal);
	i_free(session->user);
	i_free(session);
}

static void session_destroy(struct imap_session *session, const char *reason)
{
	if (session->conn == NULL)
		return;
	log_info("imap", "disconnect session=%s ip=%s reason=%s commands=%u%s%s",
		 session->base.id, session->base.ip, reason, session->commands,
		 session->user != NULL ? " user=" : "",
		 session->user != NULL ? log_str(session->user) : "");
	imap_session_idle_stop(session);
	if (session->disconnect)
		net_conn_close_after_write(&session->conn);
	else
		net_conn_close(&session->conn);
	service_session_closed(&session->base);
}

void imap_session_watch_cb(void *ctx)
{
	struct imap_session *session = ctx;

	net_wakeup_signal(session->server->wakeup, &session->wake);
}

bool imap_session_check_disconnect(struct imap_session *session)
{
	return check_disconnect(session);
}

/* Close if asked to, unless a job or login check still runs (then it is
   done when that ends). Returns false when the session is gone. */
static bool check_disconnect(struct imap_session *session)
{
	if (session->conn != NULL && session->disconnect && !session->job_running &&
	    !session->auth_running) {
		session_destroy(session, session->disconnect_reason != NULL ?
					 session->disconnect_reason : "closed");
		return false;
	}
	return session->conn != NULL;
}

void imap_session_bye(struct imap_session *session, const char *text, const char *reason)
{
	if (session->conn == NULL)
		return;
	if (!session->disconnect)
		net_conn_printf(session->conn, "* BYE %s\r\n", text);
	session->disconnect = true;
	session->disconnect_reason = reason;
	imap_session_update_input(session);
	if (!session->in_input)
		check_disconnect(session);
}

void imap_session_kick(struct service_session *base, enum service_kick_reason reason)
{
	struct imap_session *session = (struct imap_session *)base;

	switch (reason) {
	case SERVICE_KICK_SHUTDOWN:
		/* RFC 9051 7.1.5 */
		imap_session_bye(session, "Server shutting down", "shutdown");
		return;
	case SERVICE_KICK_STRESS:
		imap_session_bye(session, "[UNAVAILABLE] Server busy, try again later", "stress");
		return;
	case SERVICE_KICK_SESSION_TIME:
		imap_session_bye(session, "Session time limit exceeded", "session-timeout");
		return;
	case SERVICE_KICK_CLOSE:
		session_destroy(session, "shutdown");
		return;
	}
}

/* Result helpers */

static void set_result(struct imap_command *cmd, enum imap_result result, const char *fmt,
		       va_list args) ATTR_FORMAT(3, 0);
static void set_result(struct imap_command *cmd, enum imap_result result, const char *fmt,
		       va_list args)
{
	cmd->result = result;
	cmd->result_text = arena_vprintf(cmd->arena, fmt, args);
	cmd->result_set = true;
}

void imap_cmd_ok(struct imap_command *cmd, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	set_result(cmd, IMAP_RESULT_OK, fmt, args);
	va_end(args);
}

void imap_cmd_no(struct imap_command *cmd, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	set_result(cmd, IMAP_RESULT_NO, fmt, args);
	va_end(args);
}

void imap_cmd_bad(struct imap_command *cmd, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	set_result(cmd, IMAP_RESULT_BAD, fmt, args);
	va_end(args);
}

void imap_cmd_untagged(struct imap_command *cmd, const char *fmt, ...)
{
	va_list args;

	if (buf_append_str(&cmd->out, "* ") < 0)
		i_panic("imap: output buffer full");
	va_start(args, fmt);
	if (buf_vprintf(&cmd->out, fmt, args) < 0)
		i_panic("imap: output buffer full");
	va_end(args);
	if (buf_append_str(&cmd->out, "\r\n") < 0)
		i_panic("imap: output buffer full");
}

/* Reading */

static void count_bad(struct imap_session *session)
{
	if (++session->bad_commands >= session->server->set->limits.bad_commands) {
		log_info("imap", "too many errors session=%s ip=%s", session->base.id,
			 session->base.ip);
		imap_session_bye(session, "Too many invalid commands", "too-many-errors");
	}
}

/* A BAD for a command line that could not be read (untagged when not
   even the tag could be, RFC 9051 7.1.4). */
static void reply_parse_error(struct imap_session *session, const char *tag, const char *error,
			      bool toobig)
{
	if (tag != NULL)
		net_conn_printf(session->conn, "%s BAD %s%s\r\n", tag, toobig ? "[TOOBIG] " : "",
				error);
	else
		net_conn_printf(session->conn, "* BAD %s%s\r\n", toobig ? "[TOOBIG] " : "", error);
	count_bad(session);
}

/* Forget the command being read (after an error or at the end). */
static void reading_abort(struct imap_session *session)
{
	session->append_stream = NULL;
	if (session->cmd == NULL)
		imap_append_files_free(session);
	session->parser = NULL;
	session->reading_def = NULL;
	session->in_literal = false;
	session->literal_discard = false;
	if (session->cmd == NULL)
		arena_free(&session->cmd_arena);
	buf_free(&session->literal);
	if (session->conn != NULL)
		net_conn_set_raw(session->conn, false);
}

static void conn_line(struct net_conn *conn, void *ctx, const char *line, size_t len)
{
	struct imap_session *session = ctx;

	if (session->disconnect)
		return;
	session->in_input = true;
	if (session->discard_line)
		discard_line(session, line, len);
	else if (session->sasl != NULL)
		imap_authenticate_continue(session, line, len);
	else if (session->idling)
		imap_idle_line(session, line, len);
	else if (session->parser != NULL)
		command_parsed(session, imap_parser_line(session->parser, line, len));
	else
		command_begin(session, line, len);
	session->in_input = false;
	check_disconnect(session);
}

static void command_begin(struct imap_session *session, const char *line, size_t len)
{
	const struct tern_limits *limits = &session->server->set->limits;
	struct imap_parser_limits pl = {
		.max_depth = IMAP_MAX_LIST_DEPTH,
		.max_args = IMAP_MAX_ARGS,
		.max_literal = IMAP_MAX_LITERAL,
		.max_command = IMAP_MAX_COMMAND,
	};
	const char *rest, *name;
	size_t rest_len;

	(void)limits;
	if (len == 0)
		return;   /* an empty line is not a command; ignore it */
	session->cmd_arena = arena_new(2048);
	session->parser = imap_parser_new(session->cmd_arena, &pl);
	if (imap_parser_head(session->parser, line, len, &rest, &rest_len) < 0) {
		reply_parse_error(session, imap_parser_tag(session->parser),
				  imap_parser_error(session->parser),
				  imap_parser_error_toobig(session->parser));
		reading_abort(session);
		return;
	}
	name = imap_parser_name(session->parser);
	session->reading_def = imap_command_find(name);
	if (session->reading_def == NULL) {
		reply_parse_error(session, imap_parser_tag(session->parser),
				  "Unknown command", false);
		reading_abort(session);
		return;
	}
	if ((session->reading_def->flags & IMAP_CMD_FETCH) != 0)
		imap_parser_set_flags(session->parser, IMAP_PARSE_FLAG_FETCH);
	command_parsed(session, imap_parser_args(session->parser, rest, rest_len));
}

/* Is this literal APPEND's message (RFC 9051 6.3.12: the last argument;
   with MULTIAPPEND, RFC 3502, one per message)? Everything at the top
   level after the mailbox name that is a literal is one: flags are a list
   and the date a quoted string. */
static bool is_append_message(struct imap_session *session, const struct imap_literal_info *info)
{
	const struct imap_arg *top;
	unsigned int count;

	if (session->reading_def == NULL || strcmp(session->reading_def->name, "APPEND") != 0)
		return false;
	if (info->depth == 0)
		return info->index >= 1;
	/* RFC 6855 4: "UTF8" SP "(" literal8 ")" */
	top = imap_parser_args_list(session->parser, &count);
	return info->depth == 1 && info->index == 0 && count >= 3 &&
	       top[count - 1].type == IMAP_ARG_LIST && imap_arg_atom(&top[count - 2]) != NULL &&
	       i_strcasecmp(top[count - 2].str, "UTF8") == 0;
}

/* The rest of a command whose literal was refused and read past: more
   non-synchronizing literals of it are read past too; anything else on
   the line belongs to it and is dropped. */
static void discard_line(struct imap_session *session, const char *line, size_t len)
{
	uint64_t size = 0;
	size_t i = len;

	session->discard_line = false;
	if (len < 4 || line[len - 1] != '}' || line[len - 2] != '+')
		return;
	i = len - 2;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == 0 || line[i - 1] != '{' || i == len - 2)
		return;
	for (size_t j = i; j < len - 2; j++) {
		if (size > IMAP_MAX_DISCARD_LITERAL)
			break;
		size = size * 10 + (uint64_t)(line[j] - '0');
	}
	if (size > IMAP_MAX_DISCARD_LITERAL) {
		imap_session_bye(session, "[TOOBIG] Literal too large, closing connection",
				 "literal-too-large");
		return;
	}
	session->literal_discard = true;
	session->in_literal = true;
	session->literal_left = size;
	net_conn_set_raw(session->conn, true);
}

static void literal_begin(struct imap_session *session)
{
	struct imap_literal_info info;
	const char *tag = imap_parser_tag(session->parser);
	const char *error = NULL;

	imap_parser_literal_info(session->parser, &info);
	if (is_append_message(session, &info)) {
		/* RFC 7889: APPENDLIMIT is limits.message_size */
		if (info.size > (uint64_t)session->server->set->limits.message_size)
			error = "[TOOBIG] Message too large for APPENDLIMIT";
		else
			(void)imap_append_stream_begin(session, info.size, info.binary, &error);
	} else if (info.size > IMAP_MAX_LITERAL) {
		error = "[TOOBIG] Literal too large";
	}
	if (error != NULL) {
		if (info.sync) {
			/* RFC 9051 7.5: the client waits for "+": a tagged
			   response instead ends the command, and it sends nothing */
			net_conn_printf(session->conn, "%s NO %s\r\n", tag, error);
			reading_abort(session);
			return;
		}
		/* RFC 7888 4: a non-synchronizing literal is coming whatever we
		   say. Small ones are read and dropped; past that the only clean
		   way out is to close the connection. */
		net_conn_printf(session->conn, "%s NO %s\r\n", tag, error);
		if (info.size <= IMAP_MAX_DISCARD_LITERAL) {
			session->literal_discard = true;
			session->in_literal = true;
			session->literal_left = info.size;
			session->parser = NULL;
			net_conn_set_raw(session->conn, true);
			return;
		}
		reading_abort(session);
		imap_session_bye(session, "[TOOBIG] Literal too large, closing connection",
				 "literal-too-large");
		return;
	}
	if (info.sync)
		net_conn_write_str(session->conn, "+ Ready for literal data\r\n");
	/* the client may hold the literal back (Nagle) until its "{n}" line
	   is acknowledged: do not make it wait for a delayed ACK */
	net_conn_quickack(session->conn);
	session->in_literal = true;
	session->literal_left = info.size;
	if (session->append_stream == NULL)
		buf_init(&session->literal, (size_t)info.size + 1);
	net_conn_set_raw(session->conn, true);
}

static size_t conn_raw(struct net_conn *conn, void *ctx, const unsigned char *data, size_t len)
{
	struct imap_session *session = ctx;
	size_t n;
	const char *error;

	if (session->disconnect || !session->in_literal)
		return len;
	session->in_input = true;
	n = (size_t)I_MIN((uint64_t)len, session->literal_left);
	if (session->literal_discard) {
		/* nothing kept */
	} else if (session->append_stream != NULL) {
		if (imap_append_stream_write(session, data, n, &error) < 0) {
			/* keep reading it (the client is sending it), then NO */
			log_error("imap", "append write failed session=%s error=%s",
				  session->base.id, log_str(error));
		}
	} else if (buf_append(&session->literal, data, n) < 0) {
		i_panic("imap: literal buffer sized wrong");
	}
	session->literal_left -= n;
	/* the rest of the command (at least its CRLF) may be held back by
	   the client until these bytes are acknowledged */
	net_conn_quickack(conn);
	if (session->literal_left == 0) {
		session->in_literal = false;
		net_conn_set_raw(conn, false);
		if (session->literal_discard) {
			/* the NO was sent; the line that follows the literal is
			   the rest of that refused command (discard_line()) */
			session->literal_discard = false;
			session->discard_line = true;
			arena_free(&session->cmd_arena);
		} else if (session->append_stream != NULL) {
			imap_parser_literal_external(session->parser,
						     imap_append_stream_finish(session));
		} else {
			imap_parser_literal(session->parser, session->literal.data,
					    session->literal.used);
			buf_free(&session->literal);
			if (imap_parser_error(session->parser) != NULL)
				command_parsed(session, IMAP_PARSE_ERROR);
		}
	}
	session->in_input = false;
	check_disconnect(session);
	return n;
}

static void command_parsed(struct imap_session *session, enum imap_parse_result r)
{
	switch (r) {
	case IMAP_PARSE_LITERAL:
		literal_begin(session);
		return;
	case IMAP_PARSE_ERROR:
		reply_parse_error(session, imap_parser_tag(session->parser),
				  imap_parser_error(session->parser),
				  imap_parser_error_toobig(session->parser));
		reading_abort(session);
		return;
	case IMAP_PARSE_DONE:
		command_start(session);
		return;
	}
}

static bool state_allows(struct imap_session *session, const struct imap_command_def *def,
			 const char **error_r)
{
	switch (session->state) {
	case IMAP_STATE_NOAUTH:
		if ((def->flags & IMAP_CMD_NOAUTH) != 0)
			return true;
		*error_r = "Please log in first";
		return false;
	case IMAP_STATE_AUTH:
		if ((def->flags & IMAP_CMD_SELECTED) != 0) {
			*error_r = "No mailbox selected";
			return false;
		}
		if ((def->flags & IMAP_CMD_AUTH) != 0)
			return true;
		*error_r = "Already logged in";
		return false;
	case IMAP_STATE_SELECTED:
		if ((def->flags & (IMAP_CMD_AUTH | IMAP_CMD_SELECTED)) != 0)
			return true;
		*error_r = "Already logged in";
		return false;
	case IMAP_STATE_LOGOUT:
		break;
	}
	*error_r = "Logging out";
	return false;
}

static void command_start(struct imap_session *session)
{
	const struct imap_command_def *def = session->reading_def;
	struct imap_command *cmd;
	const char *error;

	cmd = arena_new_type(session->cmd_arena, struct imap_command);
	cmd->session = session;
	cmd->arena = session->cmd_arena;
	cmd->def = def;
	cmd->tag = imap_parser_tag(session->parser);
	cmd->name = imap_parser_name(session->parser);
	cmd->uid = strncmp(cmd->name, "UID ", 4) == 0;
	cmd->args = imap_parser_args_list(session->parser, &cmd->arg_count);
	buf_init(&cmd->out, BUF_MAX_UNLIMITED);
	session->parser = NULL;
	session->reading_def = NULL;
	session->cmd = cmd;
	session->commands++;
	imap_session_update_input(session);

	if (!state_allows(session, def, &error)) {
		imap_cmd_bad(cmd, "%s", error);
		command_end(session);
		return;
	}
	if (!def->prepare(cmd)) {
		if (!cmd->async)
			command_end(session);
		return;
	}
	if ((def->flags & IMAP_CMD_JOB) == 0) {
		command_end(session);
		return;
	}
	command_submit(cmd);
}

void imap_command_submit(struct imap_command *cmd)
{
	command_submit(cmd);
}

void imap_command_end(struct imap_command *cmd)
{
	struct imap_session *session = cmd->session;

	command_end(session);
	if (!session->in_input)
		check_disconnect(session);
}

/* In a store thread. */
static void command_run(void *ctx)
{
	struct imap_command *cmd = ctx;
	enum imap_run_result r;

	r = cmd->def->run(cmd);
	cmd->runs++;
	cmd->more = r == IMAP_RUN_MORE;
	if (!cmd->more && (cmd->def->flags & IMAP_CMD_SYNC) != 0 &&
	    cmd->session->box != NULL)
		imap_sync_run(cmd, (cmd->def->flags & IMAP_CMD_NO_EXPUNGE) == 0);
}

static void command_run_done(void *ctx)
{
	struct imap_command *cmd = ctx;
	struct imap_session *session = cmd->session;

	session->job_running = false;
	if (!service_session_release(&session->base))
		return;   /* the client went away: freed with the session */
	if (session->conn != NULL && cmd->out.used > 0)
		net_conn_write(session->conn, cmd->out.data, cmd->out.used);
	buf_reset(&cmd->out);
	if (cmd->more) {
		if (session->conn == NULL)
			return;
		if (net_conn_output_size(session->conn) <= IMAP_OUTPUT_LOW)
			command_submit(cmd);
		else
			session->cmd_waits_drain = true;
		return;
	}
	command_end(session);
	check_disconnect(session);
}

static void command_submit(struct imap_command *cmd)
{
	struct imap_session *session = cmd->session;

	session->job_running = true;
	service_session_hold(&session->base);
	imap_session_update_input(session);
	job_submit(session->server->store_jobs, command_run, command_run_done, cmd);
}

/* The tagged response, then the next command may come. */
static void command_end(struct imap_session *session)
{
	struct imap_command *cmd = session->cmd;
	static const char *const names[] = { "OK", "NO", "BAD" };

	if (cmd->def != NULL && cmd->def->finish != NULL)
		cmd->def->finish(cmd);
	if (cmd->cleanup != NULL) {
		cmd->cleanup(cmd);
		cmd->cleanup = NULL;
	}
	if (!cmd->result_set)
		imap_cmd_ok(cmd, "%s completed", cmd->name);
	if (session->conn != NULL) {
		if (cmd->out.used > 0)
			net_conn_write(session->conn, cmd->out.data, cmd->out.used);
		if (cmd->result_text != NULL)   /* NULL: sent already (STARTTLS) */
			net_conn_printf(session->conn, "%s %s %s\r\n", cmd->tag,
					names[cmd->result], cmd->result_text);
	}
	if (cmd->result == IMAP_RESULT_BAD)
		count_bad(session);
	else
		session->bad_commands = 0;
	if (cmd->bye_after) {
		session->disconnect = true;
		session->disconnect_reason = "logout";
	}
	if (session->box_gone) {
		session->disconnect = true;
		session->disconnect_reason = "mailbox-gone";
	}
	buf_free(&cmd->out);
	imap_append_files_free(session);
	session->cmd = NULL;
	arena_free(&session->cmd_arena);
	if (session->conn != NULL &&
	    net_conn_output_size(session->conn) > IMAP_OUTPUT_MAX && !session->output_paused)
		session->output_paused = true;
	imap_session_update_input(session);
}

static void conn_event(struct net_conn *conn, void *ctx, enum net_conn_event event)
{
	struct imap_session *session = ctx;

	switch (event) {
	case NET_CONN_LINE_TOO_LONG:
		session->in_input = true;
		if (session->sasl != NULL) {
			imap_authenticate_abort(session);
			net_conn_printf(session->conn, "%s BAD [TOOBIG] Response too long\r\n",
					session->sasl_tag);
		} else {
			const char *tag = session->parser != NULL ?
				imap_parser_tag(session->parser) : NULL;

			reply_parse_error(session, tag, "Command line too long", true);
			reading_abort(session);
			/* the rest of the line is discarded by the connection:
			   what follows is a new command */
		}
		session->in_input = false;
		check_disconnect(session);
		return;
	case NET_CONN_TIMEOUT:
		/* RFC 9051 5.4: the autologout timer */
		imap_session_bye(session, session->state == IMAP_STATE_NOAUTH ?
				 "Disconnected for inactivity before login" :
				 "Autologout; idle for too long", "timeout");
		return;
	case NET_CONN_EOF:
		session_destroy(session, "eof");
		return;
	case NET_CONN_IO_ERROR:
		session_destroy(session, "io-error");
		return;
	case NET_CONN_TLS_ERROR:
		session_destroy(session, "tls-error");
		return;
	case NET_CONN_TLS_READY: {
		SSL *ssl = net_conn_ssl(conn);

		log_info("imap", "tls session=%s %s", session->base.id,
			 ssl != NULL ? tls_describe(ssl) : "-");
		return;
	}
	case NET_CONN_CONNECTED:
		return;
	}
}

static void conn_drained(struct net_conn *conn, void *ctx)
{
	struct imap_session *session = ctx;

	if (session->cmd != NULL && session->cmd_waits_drain) {
		session->cmd_waits_drain = false;
		command_submit(session->cmd);
	}
	if (session->output_paused) {
		session->output_paused = false;
		imap_session_update_input(session);
	}
}
