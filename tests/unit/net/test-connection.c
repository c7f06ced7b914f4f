/*
 * Listener + connection over loopback: a small line server (echo with a
 * few commands) driven by clients in the same thread (plain sockets, the
 * loop pumped between steps) or in a thread (blocking TLS clients).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "connection.h"
#include "listener.h"
#include "log.h"
#include "net-loop.h"

#define MAX_SCONNS 256

struct server {
	struct net_loop *loop;
	struct net_listener *listener;
	SSL_CTX *ssl_ctx;           /* for STARTTLS and implicit TLS */
	bool implicit_tls;
	size_t max_line;
	unsigned int idle_secs;
	unsigned int port;
	unsigned int accepted, open, too_long, timeouts, tls_ready;
};

struct sconn {
	struct server *srv;
	struct net_conn *conn;
	struct event *resume_timer;
	size_t raw_left;
};

static void s_line(struct net_conn *conn, void *ctx, const char *line, size_t len);
static size_t s_raw(struct net_conn *conn, void *ctx, const unsigned char *data, size_t len);
static void s_event(struct net_conn *conn, void *ctx, enum net_conn_event event);

static const struct net_conn_callbacks server_callbacks = {
	.line = s_line,
	.raw = s_raw,
	.event = s_event,
};

static void sconn_free(struct sconn *sc)
{
	sc->srv->open--;
	if (sc->resume_timer != NULL)
		event_free(sc->resume_timer);
	free(sc);
}

static void resume_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct sconn *sc = arg;

	net_conn_write_str(sc->conn, "resumed\r\n");
	net_conn_resume(sc->conn);
}

static void s_line(struct net_conn *conn, void *ctx, const char *line, size_t len)
{
	struct sconn *sc = ctx;
	const char *error;

	assert_int_equal(strlen(line), len);
	if (strcmp(line, "quit") == 0) {
		net_conn_write_str(conn, "bye\r\n");
		net_conn_close_after_write(&sc->conn);
		sconn_free(sc);
	} else if (strcmp(line, "starttls") == 0) {
		net_conn_write_str(conn, "go\r\n");
		assert_int_equal(net_conn_starttls(conn, sc->srv->ssl_ctx, true, NULL, &error), 0);
		assert_true(net_conn_is_tls(conn));
		assert_int_equal(net_conn_starttls(conn, sc->srv->ssl_ctx, true, NULL, &error), -1);
	} else if (strcmp(line, "pause") == 0) {
		struct timeval tv = { 0, 100 * 1000 };

		net_conn_write_str(conn, "paused\r\n");
		net_conn_pause(conn);
		sc->resume_timer = evtimer_new(net_loop_base(sc->srv->loop), resume_timeout, sc);
		evtimer_add(sc->resume_timer, &tv);
	} else if (strncmp(line, "raw ", 4) == 0) {
		sc->raw_left = (size_t)atoi(line + 4);
		net_conn_set_raw(conn, true);
	} else if (strcmp(line, "close") == 0) {
		net_conn_close(&sc->conn);
		sconn_free(sc);
	} else {
		net_conn_printf(conn, "%s%s\r\n", net_conn_is_tls(conn) ? "tls:" : "got:", line);
	}
}

static size_t s_raw(struct net_conn *conn, void *ctx, const unsigned char *data, size_t len)
{
	struct sconn *sc = ctx;
	size_t n = len < sc->raw_left ? len : sc->raw_left;

	net_conn_write_str(conn, "raw:");
	net_conn_write(conn, data, n);
	net_conn_write_str(conn, "\r\n");
	sc->raw_left -= n;
	if (sc->raw_left == 0)
		net_conn_set_raw(conn, false);
	return n;
}

static void s_event(struct net_conn *conn, void *ctx, enum net_conn_event event)
{
	struct sconn *sc = ctx;

	switch (event) {
	case NET_CONN_LINE_TOO_LONG:
		sc->srv->too_long++;
		net_conn_write_str(conn, "toolong\r\n");
		return;
	case NET_CONN_TLS_READY:
		sc->srv->tls_ready++;
		return;
	case NET_CONN_TIMEOUT:
		sc->srv->timeouts++;
		break;
	default:
		break;
	}
	net_conn_close(&sc->conn);
	sconn_free(sc);
}

static void s_accept(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len)
{
	struct server *srv = ctx;
	struct sconn *sc = calloc(1, sizeof(*sc));

	sc->srv = srv;
	sc->conn = net_conn_new(srv->loop, fd, peer, peer_len,
				srv->implicit_tls ? srv->ssl_ctx : NULL,
				srv->max_line, &server_callbacks, sc);
	assert_true(net_conn_peer_is_loopback(sc->conn));
	assert_string_equal(net_conn_peer_ip(sc->conn), "127.0.0.1");
	net_conn_set_idle_timeout(sc->conn, srv->idle_secs);
	srv->accepted++;
	srv->open++;
}

static void server_start(struct server *srv, size_t max_line, unsigned int idle_secs)
{
	struct sockaddr_in sin;
	const char *error;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv->loop = net_loop_new();
	srv->max_line = max_line;
	srv->idle_secs = idle_secs;
	srv->listener = net_listener_open(srv->loop, "test", (struct sockaddr *)&sin,
					  sizeof(sin), s_accept, srv, &error);
	if (srv->listener == NULL)
		fail_msg("%s", error);
	srv->port = net_listener_port(srv->listener);
	assert_true(srv->port > 0);
}

static void server_stop(struct server *srv)
{
	net_listener_close(&srv->listener);
	assert_null(srv->listener);
	net_loop_free(&srv->loop);
	if (srv->ssl_ctx != NULL)
		SSL_CTX_free(srv->ssl_ctx);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int client_connect(unsigned int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void client_send(int fd, const char *data, size_t len)
{
	assert_int_equal(write(fd, data, len), (ssize_t)len);
}

#define SEND(fd, str) client_send(fd, str, strlen(str))

/* Pump the loop until fd has produced want bytes (or EOF/deadline);
   returns what was read. */
static char *client_read(struct server *srv, int fd, size_t want, double secs, bool *eof_r)
{
	buf_t b;
	double deadline = now() + secs;

	buf_init(&b, BUF_MAX_UNLIMITED);
	*eof_r = false;
	while (buf_len(&b) < want && now() < deadline) {
		char tmp[4096];
		ssize_t n;

		net_loop_run_once(srv->loop, 10);
		n = read(fd, tmp, sizeof(tmp));
		if (n == 0) {
			*eof_r = true;
			break;
		}
		if (n > 0)
			assert_int_equal(buf_append(&b, tmp, (size_t)n), 0);
	}
	return buf_steal(&b, NULL);
}

static void client_expect(struct server *srv, int fd, const char *expected)
{
	bool eof;
	char *got = client_read(srv, fd, strlen(expected), 3.0, &eof);

	assert_string_equal(got, expected);
	free(got);
}

static void client_expect_eof(struct server *srv, int fd, double secs)
{
	bool eof;
	char *got = client_read(srv, fd, (size_t)-1, secs, &eof);

	assert_string_equal(got, "");
	free(got);
	assert_true(eof);
}

static void pump(struct server *srv, unsigned int msecs)
{
	double deadline = now() + msecs / 1000.0;

	while (now() < deadline)
		net_loop_run_once(srv->loop, 10);
}

static void test_lines_split(void **state)
{
	struct server srv = { 0 };
	const char *text = "one\r\ntwo\nthree\r\n\r\n";
	size_t i;
	int fd;

	server_start(&srv, 64, 0);
	fd = client_connect(srv.port);
	SEND(fd, "hel");
	pump(&srv, 20);
	SEND(fd, "lo\r\nwor");
	client_expect(&srv, fd, "got:hello\r\n");
	SEND(fd, "ld\n");
	client_expect(&srv, fd, "got:world\r\n");
	/* one byte at a time, CRLF and bare LF, an empty line */
	for (i = 0; text[i] != '\0'; i++) {
		client_send(fd, text + i, 1);
		pump(&srv, 2);
	}
	client_expect(&srv, fd, "got:one\r\ngot:two\r\ngot:three\r\ngot:\r\n");
	/* many lines in one write (pipelining); a CR inside a line stays */
	SEND(fd, "a\r\nb\rc\r\nd\r\n");
	client_expect(&srv, fd, "got:a\r\ngot:b\rc\r\ngot:d\r\n");
	SEND(fd, "quit\r\n");
	client_expect(&srv, fd, "bye\r\n");
	client_expect_eof(&srv, fd, 2.0);
	close(fd);
	pump(&srv, 20);
	assert_int_equal(srv.open, 0);
	server_stop(&srv);
}

static void test_line_too_long(void **state)
{
	struct server srv = { 0 };
	char line[64];
	int fd;

	server_start(&srv, 16, 0);
	fd = client_connect(srv.port);
	/* exactly max_line: fine, also with the CR */
	SEND(fd, "0123456789abcdef\r\n");
	client_expect(&srv, fd, "got:0123456789abcdef\r\n");
	SEND(fd, "0123456789abcdef\n");
	client_expect(&srv, fd, "got:0123456789abcdef\r\n");
	/* one more: an error, never a truncated line; then lines go on */
	SEND(fd, "0123456789abcdefg\r\nok\r\n");
	client_expect(&srv, fd, "toolong\r\ngot:ok\r\n");
	assert_int_equal(srv.too_long, 1);
	/* a long line arriving in pieces, reported once, discarded to its LF */
	memset(line, 'x', sizeof(line));
	client_send(fd, line, 10);
	pump(&srv, 20);
	client_send(fd, line, 30);
	pump(&srv, 20);
	client_send(fd, line, 64);
	client_expect(&srv, fd, "toolong\r\n");
	client_send(fd, line, 64);
	SEND(fd, "tail\nnext\n");
	client_expect(&srv, fd, "got:next\r\n");
	assert_int_equal(srv.too_long, 2);
	/* max_line bytes and a CR, then the LF later: a good line */
	SEND(fd, "fedcba9876543210\r");
	pump(&srv, 20);
	SEND(fd, "\n");
	client_expect(&srv, fd, "got:fedcba9876543210\r\n");
	close(fd);
	pump(&srv, 20);
	assert_int_equal(srv.open, 0);
	server_stop(&srv);
}

static void test_idle_timeout(void **state)
{
	struct server srv = { 0 };
	double start;
	int fd;

	server_start(&srv, 64, 1);
	fd = client_connect(srv.port);
	SEND(fd, "hi\n");
	client_expect(&srv, fd, "got:hi\r\n");
	start = now();
	client_expect_eof(&srv, fd, 3.0);
	assert_true(now() - start >= 0.9);
	assert_int_equal(srv.timeouts, 1);
	assert_int_equal(srv.open, 0);
	close(fd);
	server_stop(&srv);
}

static void test_many_connections(void **state)
{
	struct server srv = { 0 };
	int fds[200];
	unsigned int i;

	server_start(&srv, 64, 0);
	for (i = 0; i < N_ELEMENTS(fds); i++)
		fds[i] = client_connect(srv.port);
	for (i = 0; i < N_ELEMENTS(fds); i++) {
		char line[32];

		snprintf(line, sizeof(line), "c%u\r\n", i);
		SEND(fds[i], line);
	}
	for (i = 0; i < N_ELEMENTS(fds); i++) {
		char expect[32];

		snprintf(expect, sizeof(expect), "got:c%u\r\n", i);
		client_expect(&srv, fds[i], expect);
	}
	assert_int_equal(srv.accepted, N_ELEMENTS(fds));
	assert_int_equal(srv.open, N_ELEMENTS(fds));
	for (i = 0; i < N_ELEMENTS(fds); i++)
		close(fds[i]);
	pump(&srv, 100);
	assert_int_equal(srv.open, 0);
	server_stop(&srv);
}

static void test_pause_raw_close(void **state)
{
	struct server srv = { 0 };
	double start;
	bool eof;
	char *got;
	int fd;

	server_start(&srv, 64, 0);
	fd = client_connect(srv.port);
	/* pipelined after "pause": held back until resumed */
	start = now();
	SEND(fd, "pause\r\nafter\r\n");
	client_expect(&srv, fd, "paused\r\nresumed\r\ngot:after\r\n");
	assert_true(now() - start >= 0.09);
	/* raw bytes (here with a CRLF inside) and back to lines */
	SEND(fd, "raw 7\r\nab\r\ncdeline\r\n");
	got = client_read(&srv, fd, strlen("raw:ab\r\ncde\r\ngot:line\r\n"), 3.0, &eof);
	assert_string_equal(got, "raw:ab\r\ncde\r\ngot:line\r\n");
	free(got);
	SEND(fd, "raw 3\r\n");
	pump(&srv, 20);
	SEND(fd, "x");
	pump(&srv, 20);
	SEND(fd, "yzend\n");
	got = client_read(&srv, fd, 1000, 0.5, &eof);
	/* raw delivers what has come: how it is split depends on timing */
	assert_non_null(strstr(got, "got:end\r\n"));
	free(got);
	/* closed from inside the line callback, input after it ignored */
	SEND(fd, "close\r\nignored\r\n");
	client_expect_eof(&srv, fd, 2.0);
	close(fd);
	assert_int_equal(srv.open, 0);
	server_stop(&srv);
}

/* --- TLS --- */

static SSL_CTX *make_server_ctx(void)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x509 = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	assert_non_null(pkey);
	ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
	X509_gmtime_adj(X509_getm_notBefore(x509), 0);
	X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
	X509_set_pubkey(x509, pkey);
	name = X509_get_subject_name(x509);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
				   -1, -1, 0);
	X509_set_issuer_name(x509, name);
	assert_true(X509_sign(x509, pkey, EVP_sha256()) > 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x509), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
	X509_free(x509);
	EVP_PKEY_free(pkey);
	return ctx;
}

struct tls_client {
	unsigned int port;
	bool starttls;
	volatile bool done;
	char result[512];
};

static int blocking_read_line(int fd, SSL *ssl, char *out, size_t size)
{
	size_t used = 0;

	while (used + 1 < size) {
		char c;
		int n = ssl != NULL ? SSL_read(ssl, &c, 1) : (int)read(fd, &c, 1);

		if (n <= 0)
			return -1;
		out[used++] = c;
		if (c == '\n')
			break;
	}
	out[used] = '\0';
	return 0;
}

static void *tls_client_thread(void *arg)
{
	struct tls_client *tc = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct sockaddr_in sin;
	char line[256];
	SSL *ssl;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)tc->port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		snprintf(tc->result, sizeof(tc->result), "connect failed");
		goto out;
	}
	if (tc->starttls) {
		/* "injected" is sent in the clear after STARTTLS: it must be
		   thrown away, not run inside the TLS session */
		const char *cmd = "plain\r\nstarttls\r\ninjected\r\n";

		if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) ||
		    blocking_read_line(fd, NULL, line, sizeof(line)) < 0 ||
		    strcmp(line, "got:plain\r\n") != 0 ||
		    blocking_read_line(fd, NULL, line, sizeof(line)) < 0 ||
		    strcmp(line, "go\r\n") != 0) {
			snprintf(tc->result, sizeof(tc->result), "plaintext part failed");
			goto out;
		}
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		snprintf(tc->result, sizeof(tc->result), "handshake failed");
		SSL_free(ssl);
		goto out;
	}
	SSL_write(ssl, "secret\r\n", 8);
	if (blocking_read_line(fd, ssl, line, sizeof(line)) < 0)
		snprintf(tc->result, sizeof(tc->result), "read failed");
	else
		snprintf(tc->result, sizeof(tc->result), "%s", line);
	SSL_write(ssl, "quit\r\n", 6);
	if (blocking_read_line(fd, ssl, line, sizeof(line)) == 0)
		strncat(tc->result, line, sizeof(tc->result) - strlen(tc->result) - 1);
	SSL_free(ssl);
out:
	close(fd);
	SSL_CTX_free(ctx);
	tc->done = true;
	return NULL;
}

static void run_tls_client(struct server *srv, struct tls_client *tc)
{
	pthread_t thread;
	double deadline = now() + 10;

	tc->port = srv->port;
	assert_int_equal(pthread_create(&thread, NULL, tls_client_thread, tc), 0);
	while (!tc->done && now() < deadline)
		net_loop_run_once(srv->loop, 10);
	pthread_join(thread, NULL);
	pump(srv, 50);
}

static void test_starttls(void **state)
{
	struct server srv = { 0 };
	struct tls_client tc = { .starttls = true };

	server_start(&srv, 64, 5);
	srv.ssl_ctx = make_server_ctx();
	run_tls_client(&srv, &tc);
	assert_string_equal(tc.result, "tls:secret\r\nbye\r\n");
	assert_int_equal(srv.tls_ready, 1);
	assert_int_equal(srv.open, 0);
	server_stop(&srv);
}

static void test_implicit_tls(void **state)
{
	struct server srv = { 0 };
	struct tls_client tc = { .starttls = false };
	int fd;

	server_start(&srv, 64, 5);
	srv.ssl_ctx = make_server_ctx();
	srv.implicit_tls = true;
	run_tls_client(&srv, &tc);
	assert_string_equal(tc.result, "tls:secret\r\nbye\r\n");
	assert_int_equal(srv.tls_ready, 1);
	/* a plaintext client on a TLS port: an error event, then closed */
	fd = client_connect(srv.port);
	SEND(fd, "EHLO plain\r\n\r\n\r\n");
	client_expect_eof(&srv, fd, 3.0);
	close(fd);
	assert_int_equal(srv.open, 0);
	server_stop(&srv);
}

/* --- the client side: net_conn_connect --- */

struct cclient {
	struct net_conn *conn;
	bool connected, refused;
	char got[256];
};

static void c_line(struct net_conn *conn, void *ctx, const char *line, size_t len)
{
	struct cclient *cc = ctx;

	snprintf(cc->got, sizeof(cc->got), "%s", line);
}

static void c_event(struct net_conn *conn, void *ctx, enum net_conn_event event)
{
	struct cclient *cc = ctx;

	if (event == NET_CONN_CONNECTED) {
		cc->connected = true;
		net_conn_write_str(conn, "from client\r\n");
		return;
	}
	cc->refused = event == NET_CONN_IO_ERROR;
	net_conn_close(&cc->conn);
}

static void test_connect(void **state)
{
	static const struct net_conn_callbacks ccb = { .line = c_line, .event = c_event };
	struct server srv = { 0 };
	struct cclient cc = { 0 };
	struct sockaddr_in sin;
	const char *error;
	double deadline;

	server_start(&srv, 64, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)srv.port);
	cc.conn = net_conn_connect(srv.loop, (struct sockaddr *)&sin, sizeof(sin), 64,
				   &ccb, &cc, &error);
	assert_non_null(cc.conn);
	deadline = now() + 3;
	while (cc.got[0] == '\0' && now() < deadline)
		net_loop_run_once(srv.loop, 10);
	assert_true(cc.connected);
	assert_string_equal(cc.got, "got:from client");
	net_conn_close(&cc.conn);
	pump(&srv, 50);
	assert_int_equal(srv.open, 0);

	/* nobody listening: an error event */
	net_listener_close(&srv.listener);
	memset(&cc, 0, sizeof(cc));
	cc.conn = net_conn_connect(srv.loop, (struct sockaddr *)&sin, sizeof(sin), 64,
				   &ccb, &cc, &error);
	assert_non_null(cc.conn);
	deadline = now() + 3;
	while (cc.conn != NULL && now() < deadline)
		net_loop_run_once(srv.loop, 10);
	assert_null(cc.conn);
	assert_false(cc.connected);
	assert_true(cc.refused);
	server_stop(&srv);
}

/* Out of descriptors: the listener pauses instead of spinning, and
   accepts the waiting client once descriptors are free again. */
static void test_emfile(void **state)
{
	struct server srv = { 0 };
	struct rlimit old, lim;
	int fds[64], nfds = 0, fd, i;

	server_start(&srv, 64, 0);
	fd = client_connect(srv.port);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	/* leave no descriptor free (stdin may be closed: use /dev/null) */
	i = open("/dev/null", O_RDONLY);
	assert_true(i >= 0);
	lim.rlim_cur = (rlim_t)i;
	close(i);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	while (nfds < (int)N_ELEMENTS(fds)) {
		int d = open("/dev/null", O_RDONLY);

		if (d < 0)
			break;
		fds[nfds++] = d;
	}
	assert_int_equal(errno, EMFILE);
	pump(&srv, 200);
	assert_int_equal(srv.accepted, 0);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	SEND(fd, "back\r\n");
	client_expect(&srv, fd, "got:back\r\n");
	assert_int_equal(srv.accepted, 1);
	close(fd);
	pump(&srv, 20);
	server_stop(&srv);
}

static void test_addr_strings(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(25);
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	assert_string_equal(net_addr_str((struct sockaddr *)&sin), "192.0.2.1:25");
	assert_false(net_addr_is_loopback((struct sockaddr *)&sin));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(143);
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	assert_string_equal(net_addr_str((struct sockaddr *)&sin6), "[::1]:143");
	assert_string_equal(net_ip_str((struct sockaddr *)&sin6), "::1");
	assert_true(net_addr_is_loopback((struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &sin6.sin6_addr);
	assert_true(net_addr_is_loopback((struct sockaddr *)&sin6));
}

static void test_bind_error(void **state)
{
	struct server srv = { 0 };
	struct sockaddr_in sin;
	struct net_listener *l;
	const char *error;

	server_start(&srv, 64, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)srv.port);
	l = net_listener_open(srv.loop, "dup", (struct sockaddr *)&sin, sizeof(sin),
			      s_accept, &srv, &error);
	assert_null(l);
	assert_non_null(strstr(error, "bind 127.0.0.1:"));
	assert_non_null(strstr(error, "Address already in use"));
	server_stop(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_split),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_many_connections),
		cmocka_unit_test(test_pause_raw_close),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_implicit_tls),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_emfile),
		cmocka_unit_test(test_addr_strings),
		cmocka_unit_test(test_bind_error),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
