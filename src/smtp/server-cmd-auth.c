/*
 * AUTH (RFC 4954) with the SASL mechanisms of sasl.h. Offered and accepted
 * only on a secure connection: TLS, or loopback when
 * auth.plaintext_on_loopback is true. The check itself, its throttle and
 * the growing delay after a failure are the service layer's
 * (service_auth(): the password hash runs in the auth pool);
 * limits.auth_failures failures close the connection (421).
 */
#include "server-private.h"
#include "accounts-pool.h"
#include "connection.h"
#include "log.h"
#include "sasl.h"

struct auth_check {
	struct smtp_session *session;
	struct accounts_pool *pool;
	char *user;
	char *password;
	size_t password_size;
	bool authzid_ok;
};

static void handle_step(struct smtp_session *session, enum sasl_result result,
			const char *challenge);
static int auth_verify(void *ctx);
static void auth_check_free(void *ctx);
static void auth_done(struct service_session *base, enum service_auth_result result,
		      bool disconnect, void *ctx);

void smtp_cmd_auth(struct smtp_session *session, struct smtp_command *cmd)
{
	const char *challenge;
	enum sasl_result result;

	if (!session->esmtp) {
		smtp_reply(session, 503, "5.5.1", "Send EHLO first");
		return;
	}
	if (session->auth_user != NULL) {
		/* RFC 4954 4: one successful AUTH per session */
		smtp_reply(session, 503, "5.5.1", "Already authenticated");
		return;
	}
	if (session->trans != NULL) {
		smtp_reply(session, 503, "5.5.1", "AUTH not allowed during a mail transaction");
		return;
	}
	if (!smtp_session_secure(session)) {
		/* RFC 4954 6 */
		smtp_reply(session, 538, "5.7.11",
			   "Encryption required for requested authentication mechanism");
		return;
	}
	session->sasl = sasl_server_new(cmd->mech);
	if (session->sasl == NULL) {
		smtp_reply(session, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	result = sasl_server_step(session->sasl, cmd->initial_response,
				  cmd->initial_response_len, &challenge);
	handle_step(session, result, challenge);
}

void smtp_auth_continue(struct smtp_session *session, const char *line, size_t len)
{
	const char *challenge;
	enum sasl_result result;

	result = sasl_server_step(session->sasl, line, len, &challenge);
	handle_step(session, result, challenge);
}

void smtp_auth_cancel(struct smtp_session *session)
{
	sasl_server_free(&session->sasl);
}

static void handle_step(struct smtp_session *session, enum sasl_result result,
			const char *challenge)
{
	struct sasl_server *sasl = session->sasl;
	struct auth_check *check;
	const char *password;

	switch (result) {
	case SASL_CONTINUE:
		/* RFC 4954 4: "334" SP [base64] */
		net_conn_printf(session->conn, "334 %s\r\n", challenge);
		return;
	case SASL_CANCELLED:
		sasl_server_free(&session->sasl);
		smtp_reply(session, 501, "5.0.0", "Authentication cancelled");
		return;
	case SASL_MALFORMED:
		sasl_server_free(&session->sasl);
		smtp_reply(session, 501, "5.5.2", "Invalid authentication data");
		return;
	case SASL_DONE:
		break;
	}
	check = i_malloc(sizeof(*check));
	check->session = session;
	check->pool = session->server->acc_pool;
	check->user = i_strdup(sasl_server_authcid(sasl));
	password = sasl_server_password(sasl);
	check->password_size = strlen(password) + 1;
	check->password = i_malloc(check->password_size);
	memcpy(check->password, password, check->password_size);
	check->authzid_ok = sasl_server_authzid_ok(sasl);
	sasl_server_free(&session->sasl);
	session->auth_running = true;
	smtp_session_update_input(session);
	service_auth(&session->base, check->user, auth_verify, auth_check_free, check,
		     auth_done, check);
}

/* In an auth pool thread. */
static int auth_verify(void *ctx)
{
	struct auth_check *check = ctx;
	/* checked even with a bad authzid: the same time either way */
	int ret = accounts_pool_verify(check->pool, check->user, check->password);

	explicit_bzero(check->password, check->password_size);
	if (ret == 1 && !check->authzid_ok)
		ret = 0;
	return ret;
}

static void auth_check_free(void *ctx)
{
	struct auth_check *check = ctx;

	explicit_bzero(check->password, check->password_size);
	i_free(check->password);
	i_free(check->user);
	i_free(check);
}

static void auth_done(struct service_session *base, enum service_auth_result result,
		      bool disconnect, void *ctx)
{
	struct auth_check *check = ctx;
	struct smtp_session *session = check->session;

	session->auth_running = false;
	smtp_session_update_input(session);
	switch (result) {
	case SERVICE_AUTH_OK:
		session->auth_user = i_strdup(check->user);
		i_str_lower(session->auth_user);
		smtp_reply(session, 235, "2.7.0", "Authentication successful");
		break;
	case SERVICE_AUTH_TEMPFAIL:
		smtp_reply(session, 454, "4.7.0", "Temporary authentication failure");
		break;
	case SERVICE_AUTH_THROTTLED:
		smtp_reply(session, 454, "4.7.0",
			   "Too many failed logins from your address, try again later");
		break;
	case SERVICE_AUTH_FAILED:
		smtp_reply(session, 535, "5.7.8", "Authentication credentials invalid");
		break;
	}
	if (disconnect)
		smtp_session_disconnect(session, "4.7.0", "Too many authentication failures",
					"auth-failures");
	smtp_session_check_disconnect(session);
}
