#ifndef TERN_MSGAUTH_CONTEXT_H
#define TERN_MSGAUTH_CONTEXT_H

#include "lib.h"
#include "srs.h"

/*
 * What every part of the server shares for sender authentication, made
 * once at start from the settings and read-only afterwards (the key
 * store and the report collector lock for themselves): the authserv-id,
 * the Public Suffix List, the DKIM keys, the SRS secret, the DMARC
 * aggregate report collector.
 */

struct tern_settings;
struct psl;
struct dkim_keystore;
struct dmarc_reports;

struct msgauth_context {
	const struct tern_settings *set;
	const char *authserv_id;          /* the hostname (RFC 8601 2.5) */
	struct psl *psl;                  /* NULL when DMARC is off */
	struct dkim_keystore *keys;
	bool srs_on;
	struct srs srs;
	unsigned char srs_secret[64];
	const char *arc_domain;           /* signing domain of ARC seals; NULL: no sealing */
	struct dmarc_reports *reports;    /* NULL when reports are off */
};

/* Read the Public Suffix List, open the key store, load (or make, in
   data_dir/srs.secret) the SRS secret, open the report collector. Call
   as the server's user. 0, or -1 with *error_r. */
int msgauth_context_new(const struct tern_settings *set, struct msgauth_context **ctx_r,
			const char **error_r);
void msgauth_context_free(struct msgauth_context **ctx);

/* The SRS domain the settings mean ([srs] domain, else the first local
   domain, else the hostname). */
const char *msgauth_srs_domain(const struct tern_settings *set);

#endif
