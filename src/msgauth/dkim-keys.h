#ifndef TERN_DKIM_KEYS_H
#define TERN_DKIM_KEYS_H

#include "dkim.h"

/*
 * DKIM signing keys on disk: data_dir/dkim/<domain>/<selector>.key, one PEM
 * private key each (RSA or Ed25519; mode 0600, the server's user's). `tern
 * dkim keygen` writes them; outbound delivery signs with every key of the
 * From domain. The store notices a domain's folder changing (a new key)
 * on the next message: no restart or reload is needed.
 */

struct dkim_keystore;

/* Default key size and selectors of `tern dkim keygen` */
#define DKIM_RSA_BITS 2048

struct dkim_keystore *dkim_keystore_new(const char *data_dir);
void dkim_keystore_free(struct dkim_keystore **ks);

/* The signers for domain (lowercase), RSA first: *signers_r is an array
   of count (0: the domain has no key) whose keys are referenced for the
   caller: free with dkim_signers_free(). Thread-safe. */
unsigned int dkim_keystore_signers(struct dkim_keystore *ks, const char *domain,
				   struct dkim_signer **signers_r);
void dkim_signers_free(struct dkim_signer *signers, unsigned int count);

/* The keys of a domain as files (for `tern dkim show|check`), sorted by
   selector. 0 (count may be 0), or -1 with *error_r. */
struct dkim_key_file {
	char *selector;
	char *path;
	enum dkim_alg alg;
	EVP_PKEY *pkey;
};
int dkim_key_files(const char *data_dir, const char *domain, struct dkim_key_file **files_r,
		   unsigned int *count_r, const char **error_r);
void dkim_key_files_free(struct dkim_key_file *files, unsigned int count);

/* Make a key: RSA of DKIM_RSA_BITS or Ed25519, written to
   data_dir/dkim/<domain>/<selector>.key (never over an existing one).
   Returns the path (malloc'd) or NULL with *error_r. */
char *dkim_keygen(const char *data_dir, const char *domain, const char *selector,
		  enum dkim_key_type type, const char **error_r);

/* The key record to publish: "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or
   "v=DKIM1; k=ed25519; p=<32 bytes>" (RFC 6376 3.6.1, RFC 8463 4). */
int dkim_key_record(EVP_PKEY *pkey, buf_t *out);
/* One zone-file line: S._domainkey.D. IN TXT "..." with the record cut
   into strings of at most 255 bytes (RFC 1035 3.3.14). */
int dkim_key_zone_line(const char *selector, const char *domain, const char *record,
		       buf_t *out);
/* Is name a selector we can use as a file name (letters, digits, '-',
   '_', dots between labels)? */
bool dkim_selector_valid(const char *name);

#endif
