#ifndef TERN_SERVICE_H
#define TERN_SERVICE_H

#include "lib.h"
#include "settings.h"
#include "uid.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

/*
 * The service layer: what every protocol server of `tern serve` needs,
 * written once (Dovecot's lib-master is the model). SMTP, IMAP and POP3
 * each register a protocol; the service owns
 *   - the listeners of every [listen] kind a protocol serves;
 *   - one list of sessions across all protocols, with the global limit
 *     (limits.connections) and the per-client-address limit
 *     (limits.connections_per_ip; IPv6 counted per /64) holding for all
 *     protocols together; clients in relay.networks are exempt from the
 *     per-address limit, as Postfix exempts $mynetworks;
 *   - stress mode, as Postfix's: when the sessions pass 80% of the global
 *     limit, sessions that are not engaged (no SMTP transaction, not logged
 *     in to IMAP/POP3) get limits.stress_timeout instead of their normal
 *     idle timeout, and at the limit the oldest of them are closed (with the
 *     protocol's goodbye) to admit new clients;
 *   - idle timeouts: the protocol's timeout once engaged, the pre-login
 *     timeout (limits.login_timeout, IMAP/POP3) before, the stress timeout
 *     under stress; and a total session time limit where a protocol wants
 *     one (SMTP, POP3);
 *   - graceful shutdown: listeners closed, every session told to finish;
 *   - authentication: the password check runs in the auth job pool (never
 *     on the loop), a failure is answered after a growing delay, and
 *     failures are counted per client address and per account across
 *     connections and protocols (auth-throttle.h), so that a guesser who
 *     reconnects for every try or switches protocols is slowed, then
 *     refused for a while.
 *
 * The service lives on one event loop (the main one); everything here is
 * called on that loop's thread. It does not know accounts: the protocol
 * gives the password check as a function that runs in a pool thread.
 */
struct net_loop;
struct net_conn;
struct job_pool;
struct service;
struct service_session;

enum service_kick_reason {
	SERVICE_KICK_SHUTDOWN,      /* the server is stopping: finish and close */
	SERVICE_KICK_STRESS,        /* room is needed for a new client */
	SERVICE_KICK_SESSION_TIME,  /* the session's total time limit is over */
	SERVICE_KICK_CLOSE,         /* close now, whatever it is doing (end of shutdown) */
};

struct service_protocol {
	const char *name;           /* log tag: "smtp", "imap", "pop3" */
	/* A new connection passed the limits: make the protocol's session,
	   which calls service_session_init() and then sets ->conn. The
	   protocol owns fd from here on. */
	void (*accept)(void *ctx, enum tern_listen_kind kind, int fd,
		       const struct sockaddr *peer, socklen_t peer_len);
	/* The line sent to a client refused at connect time (no session is
	   made), without CRLF: "421 4.7.0 mx.example Too many connections". */
	void (*refuse_line)(void *ctx, enum tern_listen_kind kind, const char *why,
			    char *line, size_t size);
	/* Close the session with the protocol's goodbye (421, "* BYE",
	   "-ERR"). A protocol may let a session in the middle of something
	   finish first (a DATA reply), but must then close it. */
	void (*kick)(struct service_session *session, enum service_kick_reason reason);
	/* Free the protocol's session: called once the connection is gone and
	   no job holds the session any more (service_session_release). */
	void (*free)(struct service_session *session);
};

/* Embedded (first member) in every protocol's session. Fields are read
   by the protocol; the service writes them. */
struct service_session {
	struct service_session *prev, *next;
	struct service *service;
	const struct service_protocol *proto;
	void *proto_ctx;
	struct net_conn *conn;      /* set by the protocol; NULL once closed */
	enum tern_listen_kind kind;
	char id[UID_MAX_LEN];
	char ip[INET6_ADDRSTRLEN];
	struct sockaddr_storage peer;
	socklen_t peer_len;
	time_t started;
	unsigned int timeout;       /* the protocol's idle timeout once engaged */
	unsigned int login_timeout; /* before that (0: the same as timeout) */
	unsigned int max_lifetime;  /* total session time limit, 0 = none */
	bool trusted;               /* the client is in relay.networks */
	bool engaged;               /* in a transaction / logged in */
	bool gone;                  /* the connection is closed */
	bool kicked;                /* told to finish (shutdown, stress, time) */
	unsigned int holds;         /* jobs and timers that still use it */
	unsigned int auth_failures; /* failed logins on this connection */
	struct service_auth *auth;  /* a login check in progress */
};

/* set and loop must outlive the service. pools are made by the caller
   after the privilege drop: see service_start(). */
struct service *service_new(const struct tern_settings *set, struct net_loop *loop);
/* Serve these listener kinds with proto (ctx is passed to its callbacks).
   Call before service_listen_all(). */
void service_register(struct service *service, const struct service_protocol *proto,
		      void *ctx, const enum tern_listen_kind *kinds, unsigned int count);
/* Bind every configured listener of a registered kind (as root, before
   dropping privileges). A configured kind that no protocol serves is an
   error. 0, or -1 with *error_r. */
int service_listen_all(struct service *service, const char **error_r);
/* The port a listener of kind was bound to (the first one), 0 if none. */
unsigned int service_listener_port(const struct service *service, enum tern_listen_kind kind);
/* Threads may start now: the auth job pool (password checks) is given
   here; it must outlive the service. */
void service_start(struct service *service, struct job_pool *auth_pool);

/* Refuse a connection the protocol does not want (its refuse_line, then
   close fd); for the accept callback. */
void service_refuse(struct service *service, enum tern_listen_kind kind, int fd,
		    const char *why);

/* Graceful stop, step 1: close the listeners and kick every session
   (SERVICE_KICK_SHUTDOWN). */
void service_shutdown(struct service *service);
/* The end of a stop: close every session now (SERVICE_KICK_CLOSE).
   Sessions held by jobs are freed when those jobs are done. */
void service_close_all(struct service *service);
bool service_is_shutting_down(const struct service *service);
/* Sessions still open or held by a job. */
unsigned int service_session_count(const struct service *service);
/* Close every session still open (their free callbacks run once their
   jobs are done) and free. */
void service_free(struct service **service);

/* For the protocol's accept callback: fill the base and add it to the
   list (the connection itself is the protocol's to make). */
void service_session_init(struct service *service, struct service_session *session,
			  enum tern_listen_kind kind, const struct sockaddr *peer,
			  socklen_t peer_len);
/* The connection was made: apply the idle timeout. */
void service_session_set_conn(struct service_session *session, struct net_conn *conn);
/* The protocol closed (or is closing) the connection: the session leaves
   the counts. Its free callback runs now or when the last hold goes. */
void service_session_closed(struct service_session *session);
/* Engaged sessions are never closed to make room and keep their normal
   timeout under stress. */
void service_session_set_engaged(struct service_session *session, bool engaged);
/* A job or timer keeps the session's memory alive past its connection. */
void service_session_hold(struct service_session *session);
/* Returns false when this was the last hold of a closed session, which
   has now been freed: the caller must not touch it again. */
bool service_session_release(struct service_session *session);
/* Is the connection safe for plaintext passwords: TLS, or loopback when
   auth.plaintext_on_loopback allows it? */
bool service_session_secure(const struct service_session *session, bool tls);

/*
 * Authentication. The protocol decodes the credentials (SASL, LOGIN,
 * USER/PASS, APOP) and calls service_auth(); verify() runs in a pool
 * thread and returns 1 (good), 0 (bad) or -1 (temporary failure). The
 * service first consults the throttle: an address or account under attack
 * is delayed or refused before any check; a failure is answered after a
 * delay that grows with the failures. done() runs on the loop, once,
 * unless the session went away meanwhile (then it is not called).
 */
enum service_auth_result {
	SERVICE_AUTH_OK,
	SERVICE_AUTH_FAILED,        /* wrong credentials */
	SERVICE_AUTH_TEMPFAIL,      /* could not check (database error) */
	SERVICE_AUTH_THROTTLED,     /* refused without a check: too many failures */
};
typedef int service_verify_cb(void *ctx);
/* disconnect: the session reached limits.auth_failures; say so and close. */
typedef void service_auth_done_cb(struct service_session *session,
				  enum service_auth_result result, bool disconnect, void *ctx);
/* user is the login name as given (for the account throttle and logs).
   The service owns verify_ctx from here on: free_ctx(verify_ctx) is
   called on the loop after done() returns (or instead of it when the
   session went away); free_ctx may be NULL. done_ctx may be verify_ctx. */
void service_auth(struct service_session *session, const char *user,
		  service_verify_cb *verify, void (*free_ctx)(void *ctx), void *verify_ctx,
		  service_auth_done_cb *done, void *done_ctx);

#endif
