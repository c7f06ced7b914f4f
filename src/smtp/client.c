/*
 * The SMTP client session: a small state machine over a net_conn.
 *
 * Connection phase: connect, 220 greeting, EHLO (HELO when EHLO gets a 5xx,
 * RFC 5321 4.1.1.1 / 3.2), STARTTLS (RFC 3207) then EHLO again (4.2: the
 * capabilities learnt before TLS are forgotten), AUTH (RFC 4954).
 *
 * Transactions: [RSET] MAIL RCPT... DATA, all written at once when the
 * server offers PIPELINING (RFC 2920 3.1: RSET, MAIL and RCPT may be
 * grouped, DATA ends the group), else one at a time; then the body with
 * CRLF line ends and dot-stuffing (RFC 5321 4.5.2), then ".".
 */
#include "client.h"

#include "arena.h"
#include "base64.h"
#include "buf.h"
#include "connection.h"
#include "log.h"
#include "net-loop.h"

#include <errno.h>
#include <event2/event.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>

/* Input of the message consumed per write while sending the body; the
   next piece follows when the output has drained. */
#define BODY_CHUNK (64 * 1024)
#define DEFAULT_CONNECT_TIMEOUT 30

enum client_state {
	ST_CONNECTING,
	ST_GREETING,
	ST_EHLO,
	ST_HELO,
	ST_STARTTLS,
	ST_TLS_HANDSHAKE,
	ST_AUTH_PLAIN,
	ST_AUTH_LOGIN_USER,
	ST_AUTH_LOGIN_PASS,
	ST_AUTH_LOGIN_DONE,
	ST_READY,          /* idle, between transactions */
	ST_TXN,            /* waiting for transaction replies */
	ST_BODY,           /* writing the body */
	ST_FAILED,
};

enum cmd_kind {
	CMD_RSET,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_DOT,
};

enum rcpt_state {
	RCPT_WAITING,      /* no reply yet */
	RCPT_ACCEPTED,     /* 2xx to RCPT, outcome waits for the end of data */
	RCPT_DONE,         /* outcome set */
};

struct smtp_client {
	struct net_loop *loop;
	struct net_conn *conn;
	/* inside one of our callbacks (which may call the owner back, and the
	   owner may free us): smtp_client_free() then only closes the
	   connection, and the last callback to return frees the memory */
	unsigned int busy;
	bool free_pending;
	struct smtp_client_settings set;
	enum client_state state;
	char peer[INET6_ADDRSTRLEN + 10];
	bool peer_loopback;

	struct arena *arena;              /* replies; cleared after each */
	struct smtp_reply_parser *parser;

	smtp_client_ready_cb *ready_cb;
	void *ready_ctx;
	struct event *defer_ev;           /* failure reported from the loop */
	char *defer_error;

	unsigned int caps;
	uint64_t max_size;
	bool tls_used, tls_verified;
	bool dead;                        /* connection lost while idle */
	unsigned int txn_done;

	/* the transaction in progress */
	struct smtp_client_txn *txn;
	smtp_client_txn_cb *txn_cb;
	void *txn_ctx;
	enum rcpt_state *rcpt_states;
	enum cmd_kind *cmds;              /* commands in the transaction, in order */
	unsigned int *cmd_rcpt;           /* rcpt index of each CMD_RCPT */
	unsigned int cmd_count, cmd_sent, cmd_answered;
	bool mail_failed;
	bool ignore_dot;                  /* body sent only to satisfy a 354 with no recipients */
	unsigned int accepted;
	unsigned int replies_in_txn;
	size_t body_pos;
	bool body_line_start, body_last_cr;
};

static void conn_line(struct net_conn *conn, void *ctx, const char *line, size_t len);
static void conn_event(struct net_conn *conn, void *ctx, enum net_conn_event event);
static void conn_drained(struct net_conn *conn, void *ctx);
static void defer_event(evutil_socket_t fd, short what, void *ctx);
static void fail_connect(struct smtp_client *c, const char *error, const struct smtp_reply *reply);
static void handle_reply(struct smtp_client *c, const struct smtp_reply *reply);
static void connection_reply(struct smtp_client *c, const struct smtp_reply *reply);
static void txn_reply(struct smtp_client *c, const struct smtp_reply *reply);
static void after_ehlo(struct smtp_client *c);
static void start_auth(struct smtp_client *c);
static void become_ready(struct smtp_client *c);
static void send_cmd(struct smtp_client *c, unsigned int i);
static void send_body_chunk(struct smtp_client *c);
static void txn_finish(struct smtp_client *c, bool connection_ok, bool retry_elsewhere);
static void txn_connection_lost(struct smtp_client *c, const char *why);
static void rcpt_set(struct smtp_client_rcpt *r, enum smtp_client_rcpt_status st,
		     unsigned int code, const char *status_code, const char *diagnostic);
static void rcpt_set_reply(struct smtp_client_rcpt *r, const struct smtp_reply *reply);
static const char *cmd_name(enum cmd_kind kind);
static void timeout(struct smtp_client *c, unsigned int secs, unsigned int def);

static const struct net_conn_callbacks client_callbacks = {
	.line = conn_line,
	.event = conn_event,
	.drained = conn_drained,
};

static void timeout(struct smtp_client *c, unsigned int secs, unsigned int def)
{
	if (c->conn != NULL)
		net_conn_set_idle_timeout(c->conn, secs != 0 ? secs : def);
}

struct smtp_client *smtp_client_connect(struct net_loop *loop, const struct sockaddr *addr,
					socklen_t addr_len, const struct smtp_client_settings *set,
					smtp_client_ready_cb *ready, void *ctx)
{
	struct smtp_client *c = i_malloc(sizeof(*c));
	char ip[INET6_ADDRSTRLEN] = "?";
	const char *error;
	unsigned int port = 0;

	c->loop = loop;
	c->set = *set;
	c->ready_cb = ready;
	c->ready_ctx = ctx;
	c->arena = arena_new(4096);
	c->parser = smtp_reply_parser_init(c->arena);
	c->defer_ev = event_new(net_loop_base(loop), -1, 0, defer_event, c);
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
		snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, port);
		c->peer_loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		port = ntohs(sin6->sin6_port);
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, port);
		c->peer_loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	c->state = ST_CONNECTING;
	c->conn = net_conn_connect(loop, addr, addr_len, SMTP_REPLY_MAX_LINE, &client_callbacks,
				   c, &error);
	if (c->conn == NULL) {
		c->defer_error = i_strdup_printf("connect to %s: %s", c->peer, error);
		c->state = ST_FAILED;
		event_active(c->defer_ev, EV_TIMEOUT, 0);
		return c;
	}
	timeout(c, c->set.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
	return c;
}

static void txn_free_arrays(struct smtp_client *c)
{
	i_free(c->rcpt_states);
	i_free(c->cmds);
	i_free(c->cmd_rcpt);
}

static void client_destroy(struct smtp_client *c)
{
	net_conn_close(&c->conn);
	event_free(c->defer_ev);
	smtp_reply_parser_deinit(&c->parser);
	arena_free(&c->arena);
	txn_free_arrays(c);
	free(c->defer_error);
	free(c);
}

void smtp_client_free(struct smtp_client **client)
{
	struct smtp_client *c = *client;

	if (c == NULL)
		return;
	*client = NULL;
	if (c->busy > 0) {
		/* freed from inside our own callback: no more input, and the
		   memory goes when that callback returns */
		net_conn_close(&c->conn);
		event_del(c->defer_ev);
		c->free_pending = true;
		return;
	}
	client_destroy(c);
}

static void client_unbusy(struct smtp_client *c)
{
	i_assert(c->busy > 0);
	if (--c->busy == 0 && c->free_pending)
		client_destroy(c);
}

void smtp_client_quit(struct smtp_client **client)
{
	struct smtp_client *c = *client;

	if (c == NULL)
		return;
	if (c->conn != NULL && !c->dead && c->state == ST_READY) {
		/* RFC 5321 4.1.1.10; we do not wait for the 221 */
		net_conn_write_str(c->conn, "QUIT\r\n");
		net_conn_close_after_write(&c->conn);
	}
	smtp_client_free(client);
}

unsigned int smtp_client_caps(const struct smtp_client *client)
{
	return client->caps;
}

uint64_t smtp_client_max_size(const struct smtp_client *client)
{
	return client->max_size;
}

bool smtp_client_tls_used(const struct smtp_client *client)
{
	return client->tls_used;
}

bool smtp_client_tls_verified(const struct smtp_client *client)
{
	return client->tls_verified;
}

const char *smtp_client_peer(const struct smtp_client *client)
{
	return client->peer;
}

unsigned int smtp_client_txn_count(const struct smtp_client *client)
{
	return client->txn_done;
}

bool smtp_client_usable(const struct smtp_client *client)
{
	return client->state == ST_READY && !client->dead && client->conn != NULL;
}

static void defer_event_inner(evutil_socket_t fd, short what, void *ctx);

static void defer_event(evutil_socket_t fd, short what, void *ctx)
{
	struct smtp_client *c = ctx;

	c->busy++;
	defer_event_inner(fd, what, ctx);
	client_unbusy(c);
}

static void defer_event_inner(evutil_socket_t fd, short what, void *ctx)
{
	struct smtp_client *c = ctx;

	if (c->txn != NULL) {
		txn_connection_lost(c, c->defer_error);
		return;
	}
	c->ready_cb(c, c->ready_ctx, c->defer_error, NULL);
}

static void fail_connect(struct smtp_client *c, const char *error, const struct smtp_reply *reply)
{
	c->state = ST_FAILED;
	net_conn_close(&c->conn);
	c->ready_cb(c, c->ready_ctx, error, reply);
}

static void conn_event_inner(struct net_conn *conn, void *ctx, enum net_conn_event event);

static void conn_event(struct net_conn *conn, void *ctx, enum net_conn_event event)
{
	struct smtp_client *c = ctx;

	c->busy++;
	conn_event_inner(conn, ctx, event);
	client_unbusy(c);
}

static void conn_event_inner(struct net_conn *conn, void *ctx, enum net_conn_event event)
{
	struct smtp_client *c = ctx;
	int err = errno;
	const char *what;
	char *error;

	if (event == NET_CONN_CONNECTED) {
		c->state = ST_GREETING;
		timeout(c, c->set.greeting_timeout, 300);
		return;
	}
	if (event == NET_CONN_TLS_READY) {
		SSL *ssl = net_conn_ssl(c->conn);

		c->tls_used = true;
		c->tls_verified = ssl != NULL && SSL_get0_peer_certificate(ssl) != NULL &&
				  SSL_get_verify_result(ssl) == X509_V_OK;
		if (c->set.tls == SMTP_CLIENT_TLS_VERIFY && !c->tls_verified) {
			error = i_strdup_printf("TLS certificate of %s (%s) not verified: %s",
						c->set.server_name, c->peer,
						X509_verify_cert_error_string(
							SSL_get_verify_result(ssl)));
			fail_connect(c, error, NULL);
			free(error);
			return;
		}
		/* RFC 3207 4.2: discard what we knew, greet again */
		c->caps = 0;
		c->max_size = 0;
		c->state = ST_EHLO;
		timeout(c, c->set.command_timeout, 300);
		net_conn_printf(c->conn, "EHLO %s\r\n", c->set.helo_name);
		return;
	}
	switch (event) {
	case NET_CONN_EOF:
		what = "connection closed by the server";
		break;
	case NET_CONN_TIMEOUT:
		what = "timeout";
		break;
	case NET_CONN_TLS_ERROR:
		what = "TLS failure";
		break;
	case NET_CONN_LINE_TOO_LONG:
		what = "reply line too long";
		break;
	default:
		what = err != 0 ? strerror(err) : "I/O error";
		break;
	}
	switch (c->state) {
	case ST_CONNECTING:
		error = i_strdup_printf("connect to %s: %s", c->peer,
					event == NET_CONN_TIMEOUT ? "timeout" : what);
		fail_connect(c, error, NULL);
		free(error);
		return;
	case ST_READY:
		/* the server went away between transactions */
		c->dead = true;
		net_conn_close(&c->conn);
		return;
	case ST_TXN:
	case ST_BODY:
		txn_connection_lost(c, what);
		return;
	case ST_FAILED:
		return;
	default:
		error = i_strdup_printf("%s with %s during %s", what, c->peer,
					c->state == ST_GREETING ? "greeting" :
					c->state == ST_TLS_HANDSHAKE ? "TLS handshake" :
					c->state == ST_EHLO || c->state == ST_HELO ? "EHLO" :
					c->state == ST_STARTTLS ? "STARTTLS" : "AUTH");
		fail_connect(c, error, NULL);
		free(error);
		return;
	}
}

static void conn_line_inner(struct net_conn *conn, void *ctx, const char *line, size_t len);

static void conn_line(struct net_conn *conn, void *ctx, const char *line, size_t len)
{
	struct smtp_client *c = ctx;

	c->busy++;
	conn_line_inner(conn, ctx, line, len);
	client_unbusy(c);
}

static void conn_line_inner(struct net_conn *conn, void *ctx, const char *line, size_t len)
{
	struct smtp_client *c = ctx;
	struct smtp_reply *reply;
	const char *error;
	int ret;

	if (c->state == ST_READY) {
		/* nothing asked: a server talking out of turn (or a 421
		   before closing); forget the connection */
		c->dead = true;
		net_conn_close(&c->conn);
		return;
	}
	ret = smtp_reply_parser_line(c->parser, line, len, &reply, &error);
	if (ret == 0)
		return;
	if (ret < 0) {
		char *msg = i_strdup_printf("protocol error from %s: %s", c->peer, error);

		if (c->state == ST_TXN || c->state == ST_BODY) {
			txn_connection_lost(c, msg);
		} else {
			fail_connect(c, msg, NULL);
		}
		free(msg);
		return;
	}
	handle_reply(c, reply);
}

static void handle_reply(struct smtp_client *c, const struct smtp_reply *reply)
{
	if (c->state == ST_TXN || c->state == ST_BODY)
		txn_reply(c, reply);
	else
		connection_reply(c, reply);
	if (c->arena != NULL)
		arena_clear(c->arena);
}

static void auth_plain(struct smtp_client *c)
{
	buf_t raw, b64;
	size_t ulen = strlen(c->set.auth_user), plen = strlen(c->set.auth_password);

	/* RFC 4616 2: authzid NUL authcid NUL passwd */
	buf_init(&raw, BUF_MAX_UNLIMITED);
	buf_init(&b64, BUF_MAX_UNLIMITED);
	if (buf_append_c(&raw, 0) < 0 || buf_append(&raw, c->set.auth_user, ulen) < 0 ||
	    buf_append_c(&raw, 0) < 0 || buf_append(&raw, c->set.auth_password, plen) < 0)
		i_panic("auth buffer");
	base64_encode(raw.data, raw.used, &b64);
	/* RFC 4954 4: the initial response on the AUTH line */
	net_conn_printf(c->conn, "AUTH PLAIN %s\r\n", buf_str(&b64));
	memset(raw.data, 0, raw.used);
	buf_free(&raw);
	buf_free(&b64);
}

static void send_b64(struct smtp_client *c, const char *s)
{
	buf_t b64;

	buf_init(&b64, BUF_MAX_UNLIMITED);
	base64_encode(s, strlen(s), &b64);
	net_conn_printf(c->conn, "%s\r\n", buf_str(&b64));
	buf_free(&b64);
}

static void start_auth(struct smtp_client *c)
{
	if ((c->caps & SMTP_CAP_AUTH) == 0) {
		fail_connect(c, "the server offers no AUTH but credentials are configured", NULL);
		return;
	}
	/* never a password in the clear over the network (RFC 4954 4, RFC
	   8314): only under TLS, to a loopback server, or when TLS is off by
	   configuration */
	if (!c->tls_used && !c->peer_loopback && c->set.tls != SMTP_CLIENT_TLS_NONE) {
		fail_connect(c, "refusing to send a password without TLS", NULL);
		return;
	}
	timeout(c, c->set.command_timeout, 300);
	if ((c->caps & SMTP_CAP_AUTH_PLAIN) != 0) {
		c->state = ST_AUTH_PLAIN;
		auth_plain(c);
	} else if ((c->caps & SMTP_CAP_AUTH_LOGIN) != 0) {
		c->state = ST_AUTH_LOGIN_USER;
		net_conn_write_str(c->conn, "AUTH LOGIN\r\n");
	} else {
		fail_connect(c, "the server offers neither AUTH PLAIN nor LOGIN", NULL);
	}
}

static void become_ready(struct smtp_client *c)
{
	c->state = ST_READY;
	/* idle: the server's own timeout will close it; ours is longer */
	timeout(c, c->set.command_timeout, 300);
	c->ready_cb(c, c->ready_ctx, NULL, NULL);
}

static void after_ehlo(struct smtp_client *c)
{
	bool want_tls = c->set.tls != SMTP_CLIENT_TLS_NONE && c->set.ssl_ctx != NULL;

	if (want_tls && !c->tls_used) {
		if ((c->caps & SMTP_CAP_STARTTLS) != 0) {
			c->state = ST_STARTTLS;
			net_conn_write_str(c->conn, "STARTTLS\r\n");
			return;
		}
		if (c->set.tls >= SMTP_CLIENT_TLS_REQUIRED) {
			fail_connect(c, "the server does not offer STARTTLS, which is required",
				     NULL);
			return;
		}
	}
	if (c->set.auth_user != NULL) {
		start_auth(c);
		return;
	}
	become_ready(c);
}

static void connection_reply(struct smtp_client *c, const struct smtp_reply *reply)
{
	unsigned int cls = reply->code / 100;
	const char *error;
	char *msg;

	switch (c->state) {
	case ST_GREETING:
		if (reply->code != 220) {
			/* RFC 5321 3.1: 554 means no service here */
			msg = i_strdup_printf("%s refused to talk to us: %s", c->peer, reply->text);
			fail_connect(c, msg, reply);
			free(msg);
			return;
		}
		c->state = ST_EHLO;
		timeout(c, c->set.command_timeout, 300);
		net_conn_printf(c->conn, "EHLO %s\r\n", c->set.helo_name);
		return;
	case ST_EHLO:
		if (cls == 2) {
			c->caps = smtp_client_parse_ehlo(reply, &c->max_size);
			after_ehlo(c);
			return;
		}
		if (cls == 5 && !c->tls_used) {
			/* RFC 5321 3.2: an old server that does not know EHLO */
			c->state = ST_HELO;
			net_conn_printf(c->conn, "HELO %s\r\n", c->set.helo_name);
			return;
		}
		msg = i_strdup_printf("EHLO refused by %s: %s", c->peer, reply->text);
		fail_connect(c, msg, reply);
		free(msg);
		return;
	case ST_HELO:
		if (cls != 2) {
			msg = i_strdup_printf("HELO refused by %s: %s", c->peer, reply->text);
			fail_connect(c, msg, reply);
			free(msg);
			return;
		}
		c->caps = 0;
		after_ehlo(c);
		return;
	case ST_STARTTLS:
		if (reply->code != 220) {
			if (c->set.tls >= SMTP_CLIENT_TLS_REQUIRED) {
				msg = i_strdup_printf("STARTTLS refused by %s: %s", c->peer,
						      reply->text);
				fail_connect(c, msg, reply);
				free(msg);
				return;
			}
			/* opportunistic: go on in the clear */
			c->caps &= ~(unsigned int)SMTP_CAP_STARTTLS;
			if (c->set.auth_user != NULL)
				start_auth(c);
			else
				become_ready(c);
			return;
		}
		c->state = ST_TLS_HANDSHAKE;
		if (net_conn_starttls(c->conn, c->set.ssl_ctx, false, c->set.server_name,
				      &error) < 0) {
			fail_connect(c, error, NULL);
			return;
		}
		if (c->set.server_name != NULL)
			SSL_set1_host(net_conn_ssl(c->conn), c->set.server_name);
		return;
	case ST_AUTH_PLAIN:
		if (reply->code == 334) {
			/* a server that ignored the initial response: send it again */
			buf_t raw, b64;

			buf_init(&raw, BUF_MAX_UNLIMITED);
			buf_init(&b64, BUF_MAX_UNLIMITED);
			if (buf_append_c(&raw, 0) < 0 ||
			    buf_append_str(&raw, c->set.auth_user) < 0 ||
			    buf_append_c(&raw, 0) < 0 ||
			    buf_append_str(&raw, c->set.auth_password) < 0)
				i_panic("auth buffer");
			base64_encode(raw.data, raw.used, &b64);
			net_conn_printf(c->conn, "%s\r\n", buf_str(&b64));
			memset(raw.data, 0, raw.used);
			buf_free(&raw);
			buf_free(&b64);
			c->state = ST_AUTH_LOGIN_DONE;
			return;
		}
		/* fall through */
	case ST_AUTH_LOGIN_DONE:
		if (reply->code == 235) {
			become_ready(c);
			return;
		}
		msg = i_strdup_printf("authentication to %s failed: %s", c->peer, reply->text);
		fail_connect(c, msg, reply);
		free(msg);
		return;
	case ST_AUTH_LOGIN_USER:
	case ST_AUTH_LOGIN_PASS:
		if (reply->code != 334) {
			msg = i_strdup_printf("authentication to %s failed: %s", c->peer,
					      reply->text);
			fail_connect(c, msg, reply);
			free(msg);
			return;
		}
		if (c->state == ST_AUTH_LOGIN_USER) {
			send_b64(c, c->set.auth_user);
			c->state = ST_AUTH_LOGIN_PASS;
		} else {
			send_b64(c, c->set.auth_password);
			c->state = ST_AUTH_LOGIN_DONE;
		}
		return;
	default:
		msg = i_strdup_printf("unexpected reply from %s: %s", c->peer, reply->text);
		fail_connect(c, msg, reply);
		free(msg);
		return;
	}
}

/* ---- transactions --------------------------------------------------------- */

static const char *cmd_name(enum cmd_kind kind)
{
	switch (kind) {
	case CMD_RSET:
		return "RSET";
	case CMD_MAIL:
		return "MAIL FROM";
	case CMD_RCPT:
		return "RCPT TO";
	case CMD_DATA:
		return "DATA";
	case CMD_DOT:
		return "end of data";
	}
	return "?";
}

void smtp_client_send(struct smtp_client *client, struct smtp_client_txn *txn,
		      smtp_client_txn_cb *cb, void *ctx)
{
	struct smtp_client *c = client;
	unsigned int i, n = 0;

	i_assert(c->txn == NULL);
	i_assert(txn->rcpt_count > 0);
	c->txn = txn;
	c->txn_cb = cb;
	c->txn_ctx = ctx;
	c->rcpt_states = i_malloc(sizeof(*c->rcpt_states) * txn->rcpt_count);
	c->cmds = i_malloc(sizeof(*c->cmds) * (txn->rcpt_count + 4));
	c->cmd_rcpt = i_malloc(sizeof(*c->cmd_rcpt) * (txn->rcpt_count + 4));
	c->mail_failed = false;
	c->ignore_dot = false;
	c->accepted = 0;
	c->replies_in_txn = 0;
	c->cmd_sent = 0;
	c->cmd_answered = 0;
	for (i = 0; i < txn->rcpt_count; i++) {
		txn->rcpts[i].status = SMTP_RCPT_DEFERRED;
		txn->rcpts[i].reply_code = 0;
		txn->rcpts[i].status_code = NULL;
		txn->rcpts[i].diagnostic = NULL;
	}
	/* a used connection: RSET first, which also shows it is alive */
	if (c->txn_done > 0)
		c->cmds[n++] = CMD_RSET;
	c->cmds[n++] = CMD_MAIL;
	for (i = 0; i < txn->rcpt_count; i++) {
		c->cmd_rcpt[n] = i;
		c->cmds[n++] = CMD_RCPT;
	}
	c->cmds[n++] = CMD_DATA;
	c->cmd_count = n;

	if (c->state != ST_READY || c->dead || c->conn == NULL) {
		free(c->defer_error);
		c->defer_error = i_strdup("connection lost while idle");
		c->state = ST_TXN;
		event_active(c->defer_ev, EV_TIMEOUT, 0);
		return;
	}
	c->state = ST_TXN;
	timeout(c, c->set.command_timeout, 300);
	if ((c->caps & SMTP_CAP_PIPELINING) != 0) {
		for (i = 0; i < n; i++)
			send_cmd(c, i);
	} else {
		send_cmd(c, 0);
	}
}

static void send_cmd(struct smtp_client *c, unsigned int i)
{
	struct smtp_client_txn *txn = c->txn;
	struct smtp_client_rcpt *r;
	char *x;

	i_assert(i == c->cmd_sent);
	c->cmd_sent++;
	switch (c->cmds[i]) {
	case CMD_RSET:
		net_conn_write_str(c->conn, "RSET\r\n");
		break;
	case CMD_MAIL:
		net_conn_printf(c->conn, "MAIL FROM:<%s>", txn->sender);
		if ((c->caps & SMTP_CAP_SIZE) != 0)    /* RFC 1870 6 */
			net_conn_printf(c->conn, " SIZE=%llu", (unsigned long long)txn->size);
		if (txn->body_8bit && (c->caps & SMTP_CAP_8BITMIME) != 0)   /* RFC 6152 2 */
			net_conn_write_str(c->conn, " BODY=8BITMIME");
		if (txn->smtputf8 && (c->caps & SMTP_CAP_SMTPUTF8) != 0)    /* RFC 6531 3.4 */
			net_conn_write_str(c->conn, " SMTPUTF8");
		if ((c->caps & SMTP_CAP_DSN) != 0) {
			/* RFC 3461 4.3, 4.4 */
			if (txn->ret == 1)
				net_conn_write_str(c->conn, " RET=FULL");
			else if (txn->ret == 2)
				net_conn_write_str(c->conn, " RET=HDRS");
			if (txn->envid != NULL) {
				x = smtp_xtext_encode(txn->envid);
				net_conn_printf(c->conn, " ENVID=%s", x);
				free(x);
			}
		}
		net_conn_write_str(c->conn, "\r\n");
		break;
	case CMD_RCPT:
		r = &txn->rcpts[c->cmd_rcpt[i]];
		net_conn_printf(c->conn, "RCPT TO:<%s>", r->address);
		if ((c->caps & SMTP_CAP_DSN) != 0) {
			/* RFC 3461 4.1, 4.2; the bit values are enum queue_notify */
			if ((r->notify & 1) != 0) {
				net_conn_write_str(c->conn, " NOTIFY=NEVER");
			} else if ((r->notify & (2 | 4 | 8)) != 0) {
				const char *sep = " NOTIFY=";

				if ((r->notify & 2) != 0) {
					net_conn_printf(c->conn, "%sSUCCESS", sep);
					sep = ",";
				}
				if ((r->notify & 4) != 0) {
					net_conn_printf(c->conn, "%sFAILURE", sep);
					sep = ",";
				}
				if ((r->notify & 8) != 0)
					net_conn_printf(c->conn, "%sDELAY", sep);
			}
			if (r->orcpt != NULL) {
				/* "addr-type;addr": the type stays, the address is xtext */
				const char *semi = strchr(r->orcpt, ';');

				if (semi != NULL) {
					x = smtp_xtext_encode(semi + 1);
					net_conn_printf(c->conn, " ORCPT=%.*s;%s",
							(int)(semi - r->orcpt), r->orcpt, x);
					free(x);
				}
			}
		}
		net_conn_write_str(c->conn, "\r\n");
		break;
	case CMD_DATA:
		net_conn_write_str(c->conn, "DATA\r\n");
		break;
	case CMD_DOT:
		break;
	}
}

static void rcpt_set(struct smtp_client_rcpt *r, enum smtp_client_rcpt_status st,
		     unsigned int code, const char *status_code, const char *diagnostic)
{
	free(r->status_code);
	free(r->diagnostic);
	r->status = st;
	r->reply_code = code;
	r->status_code = i_strdup(status_code);
	r->diagnostic = i_strdup(diagnostic);
}

static void rcpt_set_reply(struct smtp_client_rcpt *r, const struct smtp_reply *reply)
{
	unsigned int cls = reply->code / 100;
	char code[16];
	char *diag;

	snprintf(code, sizeof(code), "%u.0.0", cls);
	diag = i_strdup_printf("smtp; %s", reply->text);
	rcpt_set(r, cls == 2 ? SMTP_RCPT_DELIVERED : cls == 5 ? SMTP_RCPT_FAILED :
		 SMTP_RCPT_DEFERRED, reply->code,
		 reply->enhanced != NULL ? reply->enhanced : code, diag);
	free(diag);
}

static void txn_reply(struct smtp_client *c, const struct smtp_reply *reply)
{
	struct smtp_client_txn *txn = c->txn;
	unsigned int i, cls = reply->code / 100, idx;
	enum cmd_kind kind;

	c->replies_in_txn++;
	if (c->cmd_answered >= c->cmd_sent) {
		/* a reply nobody asked for */
		txn_connection_lost(c, "unexpected reply");
		return;
	}
	idx = c->cmd_answered++;
	kind = c->cmds[idx];
	switch (kind) {
	case CMD_RSET:
		if (cls != 2) {
			for (i = 0; i < txn->rcpt_count; i++)
				rcpt_set_reply(&txn->rcpts[i], reply);
			/* a refused RSET: never a failure of the recipients */
			for (i = 0; i < txn->rcpt_count; i++)
				txn->rcpts[i].status = SMTP_RCPT_DEFERRED;
			txn_finish(c, false, true);
			return;
		}
		break;
	case CMD_MAIL:
		if (cls != 2) {
			/* every recipient shares the sender's fate */
			for (i = 0; i < txn->rcpt_count; i++) {
				rcpt_set_reply(&txn->rcpts[i], reply);
				c->rcpt_states[i] = RCPT_DONE;
			}
			c->mail_failed = true;
		}
		break;
	case CMD_RCPT:
		i = c->cmd_rcpt[idx];
		if (c->mail_failed)
			break;
		if (cls == 2) {
			c->rcpt_states[i] = RCPT_ACCEPTED;
			c->accepted++;
		} else {
			rcpt_set_reply(&txn->rcpts[i], reply);
			c->rcpt_states[i] = RCPT_DONE;
		}
		break;
	case CMD_DATA:
		if (reply->code == 354) {
			if (c->mail_failed || c->accepted == 0) {
				/* RFC 2920 3.1: DATA accepted with no valid
				   recipient: send an empty body and ignore the reply */
				net_conn_write_str(c->conn, ".\r\n");
				c->ignore_dot = true;
				c->cmds[c->cmd_count] = CMD_DOT;
				c->cmd_count++;
				c->cmd_sent++;
				timeout(c, c->set.final_timeout, 600);
				return;
			}
			c->state = ST_BODY;
			c->body_pos = 0;
			c->body_line_start = true;
			c->body_last_cr = false;
			timeout(c, c->set.block_timeout, 180);
			send_body_chunk(c);
			return;
		}
		if (!c->mail_failed) {
			for (i = 0; i < txn->rcpt_count; i++) {
				if (c->rcpt_states[i] != RCPT_DONE) {
					rcpt_set_reply(&txn->rcpts[i], reply);
					if (c->accepted == 0 && cls == 5)
						/* refused only because no recipient was left */
						txn->rcpts[i].status = SMTP_RCPT_DEFERRED;
					c->rcpt_states[i] = RCPT_DONE;
				}
			}
		}
		txn_finish(c, true, false);
		return;
	case CMD_DOT:
		if (!c->ignore_dot) {
			for (i = 0; i < txn->rcpt_count; i++) {
				if (c->rcpt_states[i] == RCPT_ACCEPTED) {
					rcpt_set_reply(&txn->rcpts[i], reply);
					c->rcpt_states[i] = RCPT_DONE;
				}
			}
		}
		txn_finish(c, true, false);
		return;
	}

	/* not pipelining: the next command, or stop early */
	if (c->cmd_sent == c->cmd_answered && c->cmd_sent < c->cmd_count) {
		enum cmd_kind next = c->cmds[c->cmd_sent];

		if (c->mail_failed || (next == CMD_DATA && c->accepted == 0)) {
			/* nothing to send: MAIL refused or every RCPT refused */
			txn_finish(c, true, false);
			return;
		}
		if (next == CMD_DATA)
			timeout(c, c->set.data_timeout, 120);
		send_cmd(c, c->cmd_sent);
	}
}

static void send_body_chunk(struct smtp_client *c)
{
	struct smtp_client_txn *txn = c->txn;
	size_t end = I_MIN(txn->data_size, c->body_pos + BODY_CHUNK), start, i;
	const unsigned char *d = txn->data;
	buf_t out;

	buf_init(&out, BUF_MAX_UNLIMITED);
	start = c->body_pos;
	/* a line at a time: bare LF becomes CRLF, a leading dot is doubled
	   (RFC 5321 4.5.2 transparency) */
	for (i = start; i < end; ) {
		const unsigned char *nl = memchr(d + i, '\n', end - i);
		size_t stop = nl == NULL ? end : (size_t)(nl - d);
		bool cr_before;

		if (c->body_line_start && d[i] == '.' && buf_append_c(&out, '.') < 0)
			i_panic("body buffer");
		if (stop > i && buf_append(&out, d + i, stop - i) < 0)
			i_panic("body buffer");
		cr_before = stop > i ? d[stop - 1] == '\r' : c->body_last_cr;
		if (nl == NULL) {
			if (stop > i) {
				c->body_line_start = false;
				c->body_last_cr = cr_before;
			}
			i = end;
			break;
		}
		if ((!cr_before && buf_append_c(&out, '\r') < 0) || buf_append_c(&out, '\n') < 0)
			i_panic("body buffer");
		c->body_line_start = true;
		c->body_last_cr = false;
		i = stop + 1;
	}
	c->body_pos = end;
	if (end == txn->data_size) {
		/* the last line needs its CRLF before the dot */
		if (!c->body_line_start) {
			if (buf_append_str(&out, c->body_last_cr ? "\n" : "\r\n") < 0)
				i_panic("body buffer");
		}
		if (buf_append_str(&out, ".\r\n") < 0)
			i_panic("body buffer");
		c->state = ST_TXN;
		c->cmds[c->cmd_count] = CMD_DOT;
		c->cmd_count++;
		c->cmd_sent++;
		timeout(c, c->set.final_timeout, 600);
	}
	net_conn_write(c->conn, out.data, out.used);
	buf_free(&out);
}

static void conn_drained_inner(struct net_conn *conn, void *ctx);

static void conn_drained(struct net_conn *conn, void *ctx)
{
	struct smtp_client *c = ctx;

	c->busy++;
	conn_drained_inner(conn, ctx);
	client_unbusy(c);
}

static void conn_drained_inner(struct net_conn *conn, void *ctx)
{
	struct smtp_client *c = ctx;

	if (c->state == ST_BODY)
		send_body_chunk(c);
}

static void txn_connection_lost(struct smtp_client *c, const char *why)
{
	struct smtp_client_txn *txn = c->txn;
	bool nothing_heard = c->replies_in_txn == 0 && c->txn_done > 0;
	unsigned int i;
	char *diag;

	i_assert(txn != NULL);
	if (c->state == ST_BODY)
		diag = i_strdup_printf("%s with %s while sending the message", why, c->peer);
	else if (c->cmd_answered < c->cmd_count)
		diag = i_strdup_printf("%s with %s after %s", why, c->peer,
				       cmd_name(c->cmds[c->cmd_answered]));
	else
		diag = i_strdup_printf("%s with %s", why, c->peer);
	for (i = 0; i < txn->rcpt_count; i++) {
		if (c->rcpt_states[i] == RCPT_DONE)
			continue;
		/* RFC 5321 6.1: no end-of-data reply, no responsibility taken:
		   try again later (a duplicate is better than a loss) */
		rcpt_set(&txn->rcpts[i], SMTP_RCPT_DEFERRED, 0, "4.4.2", diag);
		c->rcpt_states[i] = RCPT_DONE;
	}
	free(diag);
	c->dead = true;
	net_conn_close(&c->conn);
	txn_finish(c, false, nothing_heard);
}

static void txn_finish(struct smtp_client *c, bool connection_ok, bool retry_elsewhere)
{
	struct smtp_client_txn *txn = c->txn;
	smtp_client_txn_cb *cb = c->txn_cb;
	void *ctx = c->txn_ctx;
	unsigned int i;

	for (i = 0; i < txn->rcpt_count; i++) {
		if (txn->rcpts[i].diagnostic == NULL)
			rcpt_set(&txn->rcpts[i], SMTP_RCPT_DEFERRED, 0, "4.4.2",
				 "transaction ended without a reply");
	}
	txn->retry_elsewhere = retry_elsewhere;
	c->txn = NULL;
	c->txn_cb = NULL;
	txn_free_arrays(c);
	c->txn_done++;
	if (connection_ok && c->conn != NULL && !c->dead) {
		c->state = ST_READY;
		timeout(c, c->set.command_timeout, 300);
	} else {
		c->dead = true;
		c->state = ST_FAILED;
		net_conn_close(&c->conn);
	}
	cb(c, ctx, txn, connection_ok && !c->dead);
}

void smtp_client_txn_clear_results(struct smtp_client_txn *txn)
{
	unsigned int i;

	for (i = 0; i < txn->rcpt_count; i++) {
		i_free(txn->rcpts[i].status_code);
		i_free(txn->rcpts[i].diagnostic);
	}
}
