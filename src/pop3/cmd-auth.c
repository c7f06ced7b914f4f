/*
 * The AUTHORIZATION state's logins: USER/PASS (RFC 1939 7), APOP (RFC
 * 1939 7) and AUTH with the SASL mechanisms of sasl.h (RFC 5034, initial
 * response included). USER/PASS and AUTH carry the password itself, so
 * they are accepted only on a secure connection (TLS, or loopback when
 * auth.plaintext_on_loopback is true); APOP sends a digest and works
 * without TLS, but only for accounts that keep a reversible secret
 * (`tern user add --apop`, docs/security.md).
 *
 * The checks run through service_auth(): in the auth pool, behind the
 * failed-login throttle, with a growing delay after each failure;
 * limits.auth_failures failures end the connection. A good login then
 * opens the maildrop (pop3_mail_login), which answers.
 */
#include "pop3-private.h"
#include "accounts.h"
#include "accounts-pool.h"
#include "arena.h"
#include "connection.h"
#include "log.h"
#include "sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* RFC 3206 5 / RFC 2595 4: the client must change something (use STLS)
   before a plaintext password is taken */
#define PLAINTEXT_REFUSED "[AUTH] Plaintext authentication disallowed on non-secure " \
	"connections: use STLS first"

struct auth_check {
	struct pop3_session *session;
	struct accounts_pool *pool;
	char *user;
	/* USER/PASS and SASL: the password; APOP: the digest */
	char *secret;
	size_t secret_size;
	char *timestamp;            /* APOP: the greeting's timestamp */
	bool apop;
	bool authzid_ok;
};

static void start_check(struct pop3_session *session, const char *user, const char *secret,
			bool apop, bool authzid_ok);
static void handle_step(struct pop3_session *session, enum sasl_result result,
			const char *challenge);
static int auth_verify(void *ctx);
static int apop_verify(struct auth_check *check);
static void auth_check_free(void *ctx);
static void auth_done(struct service_session *base, enum service_auth_result result,
		      bool disconnect, void *ctx);

/* RFC 1939 7 USER: the answer says nothing about whether the mailbox
   exists (that would let anyone probe for accounts) */
void pop3_cmd_user(struct pop3_session *session, const struct pop3_command *cmd)
{
	if (!pop3_session_secure(session)) {
		pop3_err(session, PLAINTEXT_REFUSED);
		return;
	}
	session->user = i_strdup(cmd->arg);
	pop3_ok(session, "Send your password");
}

void pop3_cmd_pass(struct pop3_session *session, const struct pop3_command *cmd)
{
	char *user = session->user;

	if (user == NULL) {
		/* RFC 1939 7: PASS only right after a successful USER */
		pop3_err(session, "Send USER first");
		return;
	}
	session->user = NULL;
	start_check(session, user, cmd->arg, false, true);
	i_free(user);
}

void pop3_cmd_apop(struct pop3_session *session, const struct pop3_command *cmd)
{
	start_check(session, cmd->arg, cmd->arg2, true, true);
}

/* RFC 5034 4 */
void pop3_cmd_auth(struct pop3_session *session, const struct pop3_command *cmd)
{
	const char *challenge;
	enum sasl_result result;

	if (cmd->arg == NULL) {
		/* a bare AUTH lists the mechanisms (the form of RFC 1734's
		   successors that Outlook and others still send); none where
		   plaintext passwords may not go */
		const char *p = SASL_MECHANISMS, *sp;

		pop3_ok(session, "Supported mechanisms follow");
		while (pop3_session_secure(session) && *p != '\0') {
			sp = strchr(p, ' ');
			if (sp == NULL)
				sp = p + strlen(p);
			pop3_write(session, p, (size_t)(sp - p));
			pop3_write(session, "\r\n", 2);
			p = *sp == ' ' ? sp + 1 : sp;
		}
		pop3_write(session, ".\r\n", 3);
		return;
	}
	if (!pop3_session_secure(session)) {
		pop3_err(session, PLAINTEXT_REFUSED);
		return;
	}
	session->sasl = sasl_server_new(cmd->arg);
	if (session->sasl == NULL) {
		pop3_err(session, "Unsupported authentication mechanism");
		return;
	}
	/* RFC 5034 4: an initial response, "=" for an empty one */
	result = sasl_server_step(session->sasl, cmd->arg2, cmd->arg2_len, &challenge);
	handle_step(session, result, challenge);
}

void pop3_auth_continue(struct pop3_session *session, const char *line, size_t len)
{
	const char *challenge;
	enum sasl_result result;

	result = sasl_server_step(session->sasl, line, len, &challenge);
	handle_step(session, result, challenge);
}

void pop3_auth_cancel(struct pop3_session *session)
{
	sasl_server_free(&session->sasl);
}

static void handle_step(struct pop3_session *session, enum sasl_result result,
			const char *challenge)
{
	struct sasl_server *sasl = session->sasl;

	switch (result) {
	case SASL_CONTINUE:
		/* RFC 5034 4: "+" SP base64 */
		net_conn_printf(session->conn, "+ %s\r\n", challenge);
		return;
	case SASL_CANCELLED:
		/* RFC 5034 4: a "*" line; the server rejects the AUTH */
		sasl_server_free(&session->sasl);
		pop3_err(session, "Authentication cancelled");
		return;
	case SASL_MALFORMED:
		sasl_server_free(&session->sasl);
		pop3_err(session, "Invalid authentication data");
		return;
	case SASL_DONE:
		break;
	}
	start_check(session, sasl_server_authcid(sasl), sasl_server_password(sasl), false,
		    sasl_server_authzid_ok(sasl));
	sasl_server_free(&session->sasl);
}

static void start_check(struct pop3_session *session, const char *user, const char *secret,
			bool apop, bool authzid_ok)
{
	struct auth_check *check = i_malloc(sizeof(*check));

	check->session = session;
	check->pool = session->server->acc_pool;
	check->user = i_strdup(user);
	check->secret_size = strlen(secret) + 1;
	check->secret = i_malloc(check->secret_size);
	memcpy(check->secret, secret, check->secret_size);
	check->apop = apop;
	check->authzid_ok = authzid_ok;
	if (apop)
		check->timestamp = i_strdup(session->timestamp);
	session->auth_running = true;
	pop3_session_update_input(session);
	service_auth(&session->base, check->user, auth_verify, auth_check_free, check,
		     auth_done, check);
}

/* In an auth pool thread. */
static int auth_verify(void *ctx)
{
	struct auth_check *check = ctx;
	int ret;

	if (check->apop)
		return apop_verify(check);
	/* checked even with a bad authzid: the same time either way */
	ret = accounts_pool_verify(check->pool, check->user, check->secret);
	explicit_bzero(check->secret, check->secret_size);
	if (ret == 1 && !check->authzid_ok)
		ret = 0;
	return ret;
}

/* RFC 1939 7: digest = MD5(timestamp secret), as 32 lowercase hex
   digits. Only accounts that opted in have a secret; the others fail
   like a wrong digest. */
static int apop_verify(struct auth_check *check)
{
	static const char hex[] = "0123456789abcdef";
	struct accounts *acc = accounts_pool_get(check->pool);
	struct arena *arena;
	const char *secret;
	unsigned char md[EVP_MAX_MD_SIZE];
	char expect[POP3_APOP_DIGEST_LEN + 1];
	unsigned int md_len = 0, i;
	EVP_MD_CTX *md_ctx;
	int ret;

	if (acc == NULL)
		return -1;
	arena = arena_new(0);
	ret = accounts_user_apop_secret(acc, arena, check->user, &secret);
	accounts_pool_put(check->pool, acc);
	if (ret <= 0) {
		arena_free(&arena);
		return ret;
	}
	md_ctx = EVP_MD_CTX_new();
	if (md_ctx == NULL || EVP_DigestInit_ex(md_ctx, EVP_md5(), NULL) != 1 ||
	    EVP_DigestUpdate(md_ctx, check->timestamp, strlen(check->timestamp)) != 1 ||
	    EVP_DigestUpdate(md_ctx, secret, strlen(secret)) != 1 ||
	    EVP_DigestFinal_ex(md_ctx, md, &md_len) != 1 || md_len != POP3_APOP_DIGEST_LEN / 2) {
		EVP_MD_CTX_free(md_ctx);
		explicit_bzero((void *)(uintptr_t)secret, strlen(secret));
		arena_free(&arena);
		return -1;
	}
	EVP_MD_CTX_free(md_ctx);
	explicit_bzero((void *)(uintptr_t)secret, strlen(secret));
	arena_free(&arena);
	for (i = 0; i < md_len; i++) {
		expect[i * 2] = hex[md[i] >> 4];
		expect[i * 2 + 1] = hex[md[i] & 0xf];
	}
	expect[POP3_APOP_DIGEST_LEN] = '\0';
	/* the parser lowercased the client's digest */
	ret = CRYPTO_memcmp(expect, check->secret, POP3_APOP_DIGEST_LEN) == 0 ? 1 : 0;
	explicit_bzero(expect, sizeof(expect));
	explicit_bzero(md, sizeof(md));
	return ret;
}

static void auth_check_free(void *ctx)
{
	struct auth_check *check = ctx;

	explicit_bzero(check->secret, check->secret_size);
	i_free(check->secret);
	i_free(check->user);
	i_free(check->timestamp);
	i_free(check);
}

static void auth_done(struct service_session *base, enum service_auth_result result,
		      bool disconnect, void *ctx)
{
	struct auth_check *check = ctx;
	struct pop3_session *session = check->session;

	session->auth_running = false;
	pop3_session_update_input(session);
	switch (result) {
	case SERVICE_AUTH_OK:
		if (session->disconnect) {
			/* stopping: the login is not used */
			break;
		}
		/* the maildrop answers: +OK, or -ERR [IN-USE] / [SYS/TEMP] */
		pop3_mail_login(session, check->user);
		break;
	case SERVICE_AUTH_TEMPFAIL:
		/* RFC 3206 4 */
		pop3_err_nocount(session, "[SYS/TEMP] Temporary authentication failure");
		break;
	case SERVICE_AUTH_THROTTLED:
		/* RFC 2449 8.1.1: logins are refused for a while */
		pop3_err_nocount(session, "[LOGIN-DELAY] Too many failed logins, try again later");
		break;
	case SERVICE_AUTH_FAILED:
		/* RFC 3206 5 */
		pop3_err_nocount(session, "[AUTH] Authentication failed");
		break;
	}
	if (disconnect)
		pop3_session_disconnect(session, NULL, "auth-failures");
	if (pop3_session_check_disconnect(session))
		pop3_session_idle_check(session);
}
