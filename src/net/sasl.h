#ifndef TERN_SASL_H
#define TERN_SASL_H

#include "buf.h"
#include "tern-limits.h"

/*
 * Server side of the SASL mechanisms tern offers (shared by SMTP AUTH,
 * IMAP AUTHENTICATE and POP3 AUTH): PLAIN (RFC 4616) and LOGIN (the
 * de-facto mechanism of draft-murchison-sasl-login, with the base64
 * "Username:" and "Password:" prompts). The protocol carries base64 text;
 * this module decodes it strictly, runs the exchange and hands back the
 * credentials. Checking them is the caller's business (a job, since
 * password hashes are slow on purpose).
 *
 *   s = sasl_server_new("PLAIN");              // NULL: mechanism unknown
 *   r = sasl_server_step(s, ir, ir_len, &challenge);  // first step: the
 *        // initial response (RFC 4954 "AUTH PLAIN <ir>"), or NULL for none
 *   while (r == SASL_CONTINUE) {
 *       send "334 " challenge; read a line;
 *       r = sasl_server_step(s, line, len, &challenge);
 *   }
 *   SASL_DONE: sasl_server_authcid(s) / sasl_server_password(s)
 *   SASL_CANCELLED ("*" line): 501;  SASL_MALFORMED: 501 (RFC 4954 4)
 *
 * The password is wiped (explicit_bzero) when the state is freed. Never
 * log it.
 */

/* SASL_MAX_RESPONSE, SASL_MAX_NAME, SASL_MAX_PASSWORD: tern-limits.h */

enum sasl_result {
	SASL_CONTINUE,    /* send the challenge (base64 text, may be "") and read a response */
	SASL_DONE,        /* credentials available */
	SASL_CANCELLED,   /* the client sent "*" */
	SASL_MALFORMED,   /* bad base64, bad message shape, too long, NUL in a name... */
};

struct sasl_server;

/* The mechanisms offered, for capability lists: "PLAIN LOGIN". */
#define SASL_MECHANISMS "PLAIN LOGIN"

/* mech is matched case-insensitively; NULL when not supported. */
struct sasl_server *sasl_server_new(const char *mech);
void sasl_server_free(struct sasl_server **s);
/* "PLAIN" or "LOGIN". */
const char *sasl_server_mech(const struct sasl_server *s);

/* Feed the next client response, base64 text without its line end.
   The first call passes the initial response, NULL if there was none;
   "=" is an empty initial response (RFC 4954 4). On SASL_CONTINUE,
   *challenge_r is the base64 challenge to send (static text). */
enum sasl_result sasl_server_step(struct sasl_server *s, const char *response, size_t len,
				  const char **challenge_r);

/* After SASL_DONE: the authentication identity (user name as given) and
   the password, NUL-terminated, valid until sasl_server_free. */
const char *sasl_server_authcid(const struct sasl_server *s);
const char *sasl_server_password(const struct sasl_server *s);
/* The PLAIN authorization identity if one was given ("" otherwise). tern
   accepts it only when empty or equal to authcid; the caller checks
   that with sasl_server_authzid_ok(). */
const char *sasl_server_authzid(const struct sasl_server *s);
bool sasl_server_authzid_ok(const struct sasl_server *s);

/* Strict base64 decoding of a SASL response (RFC 4648 4; RFC 4954 4: a
   response that isn't valid base64 is an error): only the alphabet, the
   length a multiple of 4, padding only at the end. Appends to dest (whose
   max bounds the output). 0, or -1. */
int sasl_base64_decode_strict(const char *text, size_t len, buf_t *dest);

#endif
