#ifndef TERN_MSGAUTH_INBOUND_H
#define TERN_MSGAUTH_INBOUND_H

#include "msgauth.h"
#include "buf.h"

#include <sys/socket.h>
#include <time.h>

/*
 * The checks of one incoming message, for the SMTP server: SPF from MAIL
 * FROM on (RFC 7208), DKIM (RFC 6376) and ARC (RFC 8617) while the message
 * streams in, DMARC (RFC 7489) at its end, and the verdict: accept, reject
 * (550 5.7.1 at the end of data) or quarantine (the Junk folder), with the
 * Authentication-Results field (RFC 8601) to add at delivery. A DNS
 * temperror never becomes a rejection.
 *
 * The message passes through: the header block is held until it is
 * complete (at most TERN_MSGAUTH_MAX_HEADER_SIZE), then given back without
 * Authentication-Results fields that claim tern's authserv-id (RFC 8601
 * 5); every listener does this, also when the checks are off
 * (authenticated submission).
 *
 * Everything runs on the caller's event loop; lookups go through the DNS
 * seam; the verdict callback comes from the loop, never from inside a
 * call of this API.
 */

struct event_base;
struct msgauth_context;
struct msgauth_inbound;

enum msgauth_action {
	MSGAUTH_ACCEPT,
	MSGAUTH_REJECT,
	MSGAUTH_QUARANTINE,
};

struct msgauth_verdict {
	enum msgauth_action action;
	unsigned int code;            /* REJECT: 550 */
	const char *enhanced;         /* REJECT: "5.7.1" */
	const char *text;             /* REJECT: the reply text */
	/* The Authentication-Results value to add at delivery
	   ("authserv-id;\r\n\tspf=pass ..."), NULL when nothing was checked */
	const char *auth_results;
	enum msgauth_result spf, dkim, dmarc, arc;  /* dkim: the best of the signatures */
	const char *dmarc_domain;     /* the From domain, or NULL */
	const char *log;              /* "spf=pass dkim=pass dmarc=pass arc=none ..." for the log */
	unsigned int forged_removed;  /* Authentication-Results fields taken out */
};

/* verdict is valid until the check is freed. */
typedef void msgauth_inbound_cb(const struct msgauth_verdict *verdict, void *ctx);

struct msgauth_inbound_params {
	struct sockaddr_storage ip;   /* the client */
	const char *helo;
	const char *mail_from;        /* "" for the null sender */
	bool verify;                  /* run the checks (port 25, neither authenticated nor
	                                 from relay.networks); false: removal of forgeries only */
	bool sign;                    /* of local origin: prepare its DKIM signatures
	                                 (msgauth_inbound_sign) */
	time_t now;
	unsigned int random_pct;      /* DMARC pct= sampling: [0, 100) */
};

/* Start (at MAIL FROM): SPF begins now. ctx, base and dns must outlive the
   check. */
struct msgauth_inbound *msgauth_inbound_new(const struct msgauth_context *ctx,
					    struct event_base *base, const struct msgauth_dns *dns,
					    const struct msgauth_inbound_params *params);
/* Message bytes as received (CRLF lines, dot-stuffing undone); appends
   what is to be stored to out. -1 when out's maximum is passed. */
int msgauth_inbound_feed(struct msgauth_inbound *in, const void *data, size_t len, buf_t *out);
/* The end of the message: appends what is still held to out, then waits
   for the lookups (at most limits.auth_check_timeout); cb follows. -1 when
   out's maximum is passed (then cb is not called). */
int msgauth_inbound_finish(struct msgauth_inbound *in, buf_t *out, msgauth_inbound_cb *cb,
			   void *ctx);
/* After the verdict, for a message of local origin: its DKIM-Signature
   fields (one per key of its From domain, [dkim] sign), appended to out.
   The private-key work happens here: call it where blocking is fine (the
   commit job), while nothing else uses the check. Returns how many. */
int msgauth_inbound_sign(struct msgauth_inbound *in, buf_t *out);

/* Cancels everything (no callback); NULL-safe; sets *in NULL. */
void msgauth_inbound_free(struct msgauth_inbound **in);

#endif
