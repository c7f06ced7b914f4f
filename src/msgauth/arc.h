#ifndef TERN_ARC_H
#define TERN_ARC_H

#include "msgauth.h"
#include "dkim.h"

/*
 * ARC (RFC 8617): the ARC-Seal parser, validation of an incoming chain
 * (5.2) while the message arrives, and sealing a message tern forwards
 * (5.1). The ARC-Message-Signature is a DKIM signature with an instance
 * (dkim.h does it); the seal signs the ARC sets, relaxed, in instance
 * order.
 */

struct arena;
struct msg_header;
struct arc_verifier;

enum arc_cv {
	ARC_CV_NONE,
	ARC_CV_PASS,
	ARC_CV_FAIL,
};

/* "none", "pass", "fail" */
const char *arc_cv_name(enum arc_cv cv);

/* An ARC-Seal field (4.1.3): i, a, b, cv, d, s, t. */
struct arc_seal {
	unsigned int instance;
	enum dkim_alg alg;
	enum arc_cv cv;
	const char *domain;
	const char *selector;
	const unsigned char *b;
	size_t b_len;
	size_t b_start, b_end;     /* the b= value in the value given to the parser */
	int64_t timestamp;         /* t=, 0 when absent */
};

/* 0, or -1 with a static *error_r. */
int arc_seal_parse(struct arena *arena, const char *value, size_t len, struct arc_seal *seal_r,
		   const char **error_r);

/* The instance of an ARC-Authentication-Results value ("i=N; ..."), and
   where its authres payload starts; 0 when it has none. */
unsigned int arc_aar_instance(const char *value, size_t len, size_t *payload_r);

/* Validation, used as the DKIM verifier (dkim-verify.h):
   new, header, body..., body_end (or wait for done), result. */
typedef void arc_verifier_done_cb(void *ctx);
struct arc_verifier *arc_verifier_new(struct arena *arena, const struct msgauth_dns *dns,
				      time_t now, arc_verifier_done_cb *done, void *ctx);
void arc_verifier_header(struct arc_verifier *v, const struct msg_header *hdr, const char *raw);
void arc_verifier_body(struct arc_verifier *v, const void *data, size_t len);
bool arc_verifier_body_end(struct arc_verifier *v);
/* The chain status (5.2): NONE (no ARC sets), PASS, FAIL (or TEMPERROR when
   a key could not be fetched). *reason_r: why not a pass (NULL for a pass);
   *instances_r: the highest instance seen (0: none); *sealer_r: d= of the
   newest seal, or NULL. */
enum msgauth_result arc_verifier_result(struct arc_verifier *v, const char **reason_r,
					unsigned int *instances_r, const char **sealer_r);
void arc_verifier_timeout(struct arc_verifier *v);
void arc_verifier_free(struct arc_verifier **v);

/* Seal msg (5.1): make the fields of ARC set N+1, where N is the highest
   instance in msg's header (at most TERN_ARC_MAX_SETS - 1), with cv from
   chain (the status of the chain as validated when the message arrived:
   ARC_CV_NONE when it had none), aar the Authentication-Results value to
   record ("authserv-id; resinfo..."), signer an RSA or Ed25519 key.
   Appends "ARC-Seal: ...\r\nARC-Message-Signature: ...\r\n
   ARC-Authentication-Results: ...\r\n" to out, to be put on top of the
   message. 0, or -1 with a static *error_r (chain too long...). */
int arc_seal_message(const struct dkim_signer *signer, const unsigned char *msg, size_t size,
		     enum arc_cv chain, const char *aar, time_t now, buf_t *out,
		     const char **error_r);

#endif
