/*
 * The not-authenticated state: STARTTLS (RFC 9051 6.2.1), AUTHENTICATE
 * with SASL PLAIN/LOGIN and SASL-IR (RFC 9051 6.2.2, RFC 4959), LOGIN
 * (RFC 9051 6.2.3). Plaintext passwords only over TLS or, when
 * auth.plaintext_on_loopback allows, loopback. The check runs through
 * service_auth() (auth pool, failed-login throttle, delays); a good login
 * then opens the user's mail in a store job (imap-mail.c) before the
 * tagged OK, so that the first command finds its folders.
 */
#include "imap-common.h"
#include "accounts-pool.h"
#include "arena.h"
#include "connection.h"
#include "log.h"
#include "sasl.h"

struct login_check {
	struct imap_command *cmd;
	struct accounts_pool *pool;
	char *user;
	char *password;
	size_t password_size;
	bool authzid_ok;
};

static void login_begin(struct imap_command *cmd, const char *user, const char *password,
			bool authzid_ok);
static void imap_authenticate_step(struct imap_session *session, enum sasl_result result,
				   const char *challenge);

/* RFC 9051 6.2.1 */
bool cmd_starttls(struct imap_command *cmd)
{
	struct imap_session *session = cmd->session;
	const char *error;

	if (cmd->arg_count != 0) {
		imap_cmd_bad(cmd, "STARTTLS takes no arguments");
		return false;
	}
	if (session->server->tls == NULL) {
		imap_cmd_no(cmd, "STARTTLS not available");
		return false;
	}
	if (session->tls) {
		imap_cmd_bad(cmd, "TLS is already active");
		return false;
	}
	/* the OK goes out in the clear, then the handshake; whatever the
	   client pipelined after STARTTLS is thrown away (RFC 9051 6.2.1:
	   the CVE-2011-0411 injection) by net_conn_starttls() */
	net_conn_printf(session->conn, "%s OK Begin TLS negotiation now\r\n", cmd->tag);
	if (net_conn_starttls(session->conn, session->server->tls, true, NULL, &error) < 0) {
		log_error("imap", "starttls failed session=%s error=%s", session->base.id,
			  log_str(error));
		session->disconnect = true;
		session->disconnect_reason = "starttls-failed";
	}
	session->tls = true;
	/* the tagged response is already sent */
	cmd->result_set = true;
	cmd->result_text = NULL;
	return false;
}

/* RFC 9051 6.2.3: LOGIN userid password (both astrings) */
bool cmd_login(struct imap_command *cmd)
{
	const char *user, *password;

	if (cmd->arg_count != 2 || (user = imap_arg_astring(&cmd->args[0])) == NULL ||
	    (password = imap_arg_astring(&cmd->args[1])) == NULL) {
		imap_cmd_bad(cmd, "Usage: LOGIN user password");
		return false;
	}
	if (!imap_session_secure(cmd->session)) {
		/* RFC 9051 6.2.3 / RFC 5530 */
		imap_cmd_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication is not allowed "
			    "without TLS: use STARTTLS");
		return false;
	}
	login_begin(cmd, user, password, true);
	return false;
}

/* RFC 9051 6.2.2: AUTHENTICATE mech [initial-response] (RFC 4959) */
bool cmd_authenticate(struct imap_command *cmd)
{
	struct imap_session *session = cmd->session;
	const char *mech, *ir = NULL, *challenge;
	enum sasl_result result;

	if (cmd->arg_count < 1 || cmd->arg_count > 2 ||
	    (mech = imap_arg_atom(&cmd->args[0])) == NULL ||
	    (cmd->arg_count == 2 && (ir = imap_arg_atom(&cmd->args[1])) == NULL)) {
		imap_cmd_bad(cmd, "Usage: AUTHENTICATE mechanism [initial-response]");
		return false;
	}
	if (!imap_session_secure(session)) {
		imap_cmd_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication is not allowed "
			    "without TLS: use STARTTLS");
		return false;
	}
	session->sasl = sasl_server_new(mech);
	if (session->sasl == NULL) {
		imap_cmd_no(cmd, "Unsupported authentication mechanism");
		return false;
	}
	session->sasl_tag = cmd->tag;
	session->cmd_wants_input = true;
	cmd->async = true;
	result = sasl_server_step(session->sasl, ir, ir != NULL ? strlen(ir) : 0, &challenge);
	imap_authenticate_step(session, result, challenge);
	return false;
}

void imap_authenticate_abort(struct imap_session *session)
{
	sasl_server_free(&session->sasl);
	session->cmd_wants_input = false;
}

static void imap_authenticate_step(struct imap_session *session, enum sasl_result result,
				   const char *challenge)
{
	struct imap_command *cmd = session->cmd;
	struct sasl_server *sasl = session->sasl;

	switch (result) {
	case SASL_CONTINUE:
		/* RFC 9051 7.5: "+" SP base64 */
		net_conn_printf(session->conn, "+ %s\r\n", challenge);
		imap_session_update_input(session);
		return;
	case SASL_CANCELLED:
		/* RFC 9051 6.2.2: "*" cancels: tagged BAD */
		imap_authenticate_abort(session);
		imap_cmd_bad(cmd, "Authentication cancelled");
		imap_command_end(cmd);
		return;
	case SASL_MALFORMED:
		imap_authenticate_abort(session);
		imap_cmd_bad(cmd, "Invalid authentication data");
		imap_command_end(cmd);
		return;
	case SASL_DONE:
		break;
	}
	session->cmd_wants_input = false;
	login_begin(cmd, sasl_server_authcid(sasl), sasl_server_password(sasl),
		    sasl_server_authzid_ok(sasl));
	sasl_server_free(&session->sasl);
}

void imap_authenticate_continue(struct imap_session *session, const char *line, size_t len)
{
	const char *challenge;
	enum sasl_result result;

	result = sasl_server_step(session->sasl, line, len, &challenge);
	imap_authenticate_step(session, result, challenge);
}

/* In an auth pool thread. */
static int login_verify(void *ctx)
{
	struct login_check *check = ctx;
	/* checked even with a bad authzid: the same time either way */
	int ret = accounts_pool_verify(check->pool, check->user, check->password);

	explicit_bzero(check->password, check->password_size);
	if (ret == 1 && !check->authzid_ok)
		ret = 0;
	return ret;
}

static void login_check_free(void *ctx)
{
	struct login_check *check = ctx;

	explicit_bzero(check->password, check->password_size);
	i_free(check->password);
	i_free(check->user);
	i_free(check);
}

static void login_done(struct service_session *base, enum service_auth_result result,
		       bool disconnect, void *ctx)
{
	struct login_check *check = ctx;
	struct imap_command *cmd = check->cmd;
	struct imap_session *session = cmd->session;

	session->auth_running = false;
	switch (result) {
	case SERVICE_AUTH_OK:
		session->user = i_strdup(check->user);
		i_str_lower(session->user);
		/* the user's mail is opened (and made on first login) in a
		   store job: cmd_login_run */
		imap_command_submit(cmd);
		return;
	case SERVICE_AUTH_TEMPFAIL:
		imap_cmd_no(cmd, "[UNAVAILABLE] Temporary authentication failure, try again later");
		break;
	case SERVICE_AUTH_THROTTLED:
		imap_cmd_no(cmd, "[UNAVAILABLE] Too many failed logins from your address, "
			    "try again later");
		break;
	case SERVICE_AUTH_FAILED:
		/* RFC 5530 */
		imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
		break;
	}
	if (disconnect) {
		imap_command_end(cmd);
		imap_session_bye(session, "Too many authentication failures", "auth-failures");
		return;
	}
	imap_command_end(cmd);
}

static void login_begin(struct imap_command *cmd, const char *user, const char *password,
			bool authzid_ok)
{
	struct imap_session *session = cmd->session;
	struct login_check *check = i_malloc(sizeof(*check));

	check->cmd = cmd;
	check->pool = session->server->acc_pool;
	check->user = i_strdup(user);
	check->password_size = strlen(password) + 1;
	check->password = i_malloc(check->password_size);
	memcpy(check->password, password, check->password_size);
	check->authzid_ok = authzid_ok;
	cmd->async = true;
	session->auth_running = true;
	imap_session_update_input(session);
	service_auth(&session->base, check->user, login_verify, login_check_free, check,
		     login_done, check);
}

/* In a store thread, after a good login: open the user's mail. */
enum imap_run_result cmd_login_run(struct imap_command *cmd)
{
	const char *error;

	if (imap_mail_open(cmd->session, &error) < 0) {
		imap_cmd_no(cmd, "[UNAVAILABLE] Cannot open your mailbox: %s", error);
		return IMAP_RUN_DONE;
	}
	return IMAP_RUN_DONE;
}

/* On the loop: the state changes with the tagged OK (RFC 9051 6.2.3:
   the OK may carry the new capabilities). */
void cmd_login_finish(struct imap_command *cmd)
{
	struct imap_session *session = cmd->session;

	if (cmd->result_set && cmd->result != IMAP_RESULT_OK)
		return;
	if (session->user == NULL || session->mail_user == NULL) {
		if (!cmd->result_set)
			imap_cmd_no(cmd, "[UNAVAILABLE] Cannot open your mailbox");
		return;
	}
	session->state = IMAP_STATE_AUTH;
	service_session_set_engaged(&session->base, true);
	log_info("imap", "login session=%s ip=%s user=%s tls=%s", session->base.id,
		 session->base.ip, log_str(session->user), session->tls ? "yes" : "no");
	imap_cmd_ok(cmd, "[CAPABILITY %s] Logged in",
		    imap_session_capabilities(session, cmd->arena));
}
