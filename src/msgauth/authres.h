#ifndef TERN_AUTHRES_H
#define TERN_AUTHRES_H

#include "msgauth.h"
#include "buf.h"

/*
 * Authentication-Results (RFC 8601): the parser of the field's value (and
 * of ARC-Authentication-Results, RFC 8617 4.1.1, after its "i=N;"), the
 * writer of tern's own, and the removal of fields that claim tern's
 * authserv-id from an incoming header block (forgeries, 5).
 */

struct arena;

struct authres_prop {
	const char *ptype;        /* "smtp", "header", "body", "policy", ... (lowercase) */
	const char *property;     /* "mailfrom", "d", ... (lowercase) */
	const char *value;
};

struct authres_entry {
	const char *method;       /* "spf", "dkim", "dmarc", "arc", ... (lowercase, without /version) */
	const char *result;       /* "pass", ... (lowercase) */
	const char *reason;       /* reason=, or NULL */
	struct authres_prop *props;
	unsigned int prop_count;
};

struct authres {
	const char *authserv_id;
	unsigned int version;     /* 1 when absent */
	struct authres_entry *entries;
	unsigned int count;       /* 0 for "none" */
};

/* Parse a field value (after the colon; folds, comments and all; 2.2).
   Lenient where real fields are sloppy (unknown methods and properties are
   kept; a resinfo that cannot be read ends the list), but an authserv-id
   is required. 0, or -1 with a static *error_r. Strings in arena. */
int authres_parse(struct arena *arena, const char *value, size_t len, struct authres *ar_r,
		  const char **error_r);

/* Only the authserv-id (what forgery removal needs), or NULL. */
const char *authres_authserv_id(struct arena *arena, const char *value, size_t len);

/* The result of the first entry for method, or -1. */
int authres_find(const struct authres *ar, const char *method);

/* Writing tern's field value, one resinfo at a time:
     authres_begin(&b, "mx.example.test");
     authres_add(&b, "spf", MSGAUTH_PASS, "comment", "smtp.mailfrom", "a@b.test", NULL);
   gives "mx.example.test;\r\n\tspf=pass (comment) smtp.mailfrom=a@b.test"; with no
   entry at all, authres_finish() writes "none" (2.2 no-result). Property
   values that are not tokens are quoted; comments lose what would break
   them. Pairs of property and value end with NULL. */
void authres_begin(buf_t *b, const char *authserv_id);
void authres_add(buf_t *b, const char *method, enum msgauth_result result, const char *comment,
		 ...) __attribute__((sentinel));
void authres_finish(buf_t *b);

/* Copy a header block (raw, up to and including the empty line that ends
   it, if any) to out without the Authentication-Results fields whose
   authserv-id is authserv_id (case-insensitive): RFC 8601 5. Returns how
   many were removed. */
unsigned int authres_remove_forged(const char *raw, size_t len, const char *authserv_id,
				   buf_t *out);

#endif
