/*
 * AUTH (RFC 4954) with the SASL mechanisms of sasl.h. Offered and accepted
 * only on a secure connection: TLS, or loopback when
 * auth.plaintext_on_loopback is true. The password check (a slow hash)
 * runs in the job pool. Failures are answered after a growing delay;
 * limits.auth_failures of them close the connection (421).
 */
#include "server-private.h"
#include "accounts.h"
#include "connection.h"
#include "job-pool.h"
#include "log.h"
#include "net-loop.h"
#include "sasl.h"

#include <event2/event.h>

struct auth_job {
	struct smtp_session *session;
	char *user;
	char *password;
	size_t password_size;
	bool authzid_ok;
	int result;               /* 1 good, 0 bad, -1 error */
};

static void handle_step(struct smtp_session *session, enum sasl_result result,
			const char *challenge);
static void verify_run(void *ctx);
static void verify_done(void *ctx);
static void delay_done(evutil_socket_t fd, short what, void *arg);

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
	struct auth_job *job;
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
	job = i_malloc(sizeof(*job));
	job->session = session;
	job->user = i_strdup(sasl_server_authcid(sasl));
	password = sasl_server_password(sasl);
	job->password_size = strlen(password) + 1;
	job->password = i_malloc(job->password_size);
	memcpy(job->password, password, job->password_size);
	job->authzid_ok = sasl_server_authzid_ok(sasl);
	sasl_server_free(&session->sasl);
	smtp_session_job_begin(session);
	job_submit(session->server->jobs, verify_run, verify_done, job);
}

static void verify_run(void *ctx)
{
	struct auth_job *job = ctx;
	struct smtp_server *server = job->session->server;
	struct accounts *acc = smtp_server_acc_get(server);

	if (acc == NULL) {
		job->result = -1;
	} else {
		/* checked even with a bad authzid: the same time either way */
		job->result = accounts_user_verify(acc, job->user, job->password);
		if (job->result == 1 && !job->authzid_ok)
			job->result = 0;
		smtp_server_acc_put(server, acc);
	}
	explicit_bzero(job->password, job->password_size);
}

static void verify_done(void *ctx)
{
	struct auth_job *job = ctx;
	struct smtp_session *session = job->session;
	const struct tern_limits *limits = &session->server->set->limits;
	int result = job->result;
	char *user = job->user;

	i_free(job->password);
	i_free(job);
	if (!smtp_session_job_end(session)) {
		i_free(user);
		return;
	}
	if (result == 1) {
		i_str_lower(user);
		session->auth_user = user;
		log_info("smtp", "auth session=%s ip=%s user=%s result=ok", session->id, session->ip,
			 log_str(user));
		smtp_reply(session, 235, "2.7.0", "Authentication successful");
		return;
	}
	log_info("smtp", "auth session=%s ip=%s user=%s result=%s", session->id, session->ip,
		 log_str(user), result < 0 ? "error" : "fail");
	i_free(user);
	if (result < 0) {
		smtp_reply(session, 454, "4.7.0", "Temporary authentication failure");
		return;
	}
	session->auth_failures++;
	if (session->auth_failures >= limits->auth_failures) {
		smtp_reply(session, 535, "5.7.8", "Authentication credentials invalid");
		smtp_session_disconnect(session, "4.7.0", "Too many authentication failures",
					"auth-failures");
		return;
	}
	/* a growing delay slows down password guessing */
	{
		struct timeval tv = { I_MIN(session->auth_failures, SMTP_AUTH_DELAY_MAX_SECS), 0 };

		if (session->delay_ev == NULL)
			session->delay_ev = evtimer_new(net_loop_base(session->server->loop),
							delay_done, session);
		if (session->delay_ev == NULL || evtimer_add(session->delay_ev, &tv) < 0)
			i_fatal("smtp: cannot add the delay timer");
		session->delaying = true;
		smtp_session_update_input(session);
	}
}

static void delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *session = arg;

	session->delaying = false;
	smtp_reply(session, 535, "5.7.8", "Authentication credentials invalid");
	smtp_session_update_input(session);
	smtp_session_check_disconnect(session);
}
