#ifndef TERN_TLS_H
#define TERN_TLS_H

#include "lib.h"

#include <time.h>

/*
 * TLS contexts (OpenSSL 3) for tern's servers and clients.
 *
 * Servers: the [tls] cert/key files of the config, or, when both are
 * absent, a self-signed pair that tern makes on first start in
 * data_dir/tls/ (P-256 key, SAN = hostname, key file 0600) and reuses
 * afterwards. TLS 1.2 and 1.3 only; TLS 1.2 limited to ECDHE with AEAD
 * ciphers; the server's cipher order; no compression, no renegotiation;
 * idle connections give their buffers back (SSL_MODE_RELEASE_BUFFERS).
 */
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

/* cert_file/key_file: PEM paths, or both "" (or NULL) for the self-signed
   pair in data_dir/tls (hostname goes in its subject and SAN). Returns the
   context (the caller frees it with SSL_CTX_free), or NULL with *error_r
   (thread-local text, valid until the next call). */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file,
			    const char *data_dir, const char *hostname, const char **error_r);

/* Read a configured pair (cert_file: PEM chain, leaf first; key_file: PEM
   key, or "" for the key inside cert_file) and check that the key belongs
   to the certificate, using nothing. *not_after_r: when the leaf expires.
   0, or -1 with *error_r naming the file and why (thread-local text, valid
   until the next call): missing, unreadable (errno text), not PEM, or the
   key of another certificate. */
int tls_pair_check(const char *cert_file, const char *key_file, time_t *not_after_r,
		   const char **error_r);

/* Put a new pair into a live server context (SIGHUP after a certificate
   renewal): read and checked as tls_pair_check() does, then swapped in at
   once, so that connections from now on use it and those open keep
   theirs. On any error the context is left as it was. Must run on the
   thread that makes connections from ctx. 0, or -1 with *error_r. */
int tls_server_ctx_reload(SSL_CTX *ctx, const char *cert_file, const char *key_file,
			  time_t *not_after_r, const char **error_r);

/* Make (or keep) the self-signed pair: paths data_dir/tls/cert.pem and
   data_dir/tls/key.pem. 0 if they exist or were made, -1 with *error_r. */
int tls_selfsigned_ensure(const char *data_dir, const char *hostname, const char **error_r);

/* A client context (the outbound SMTP client, `tern mail`): TLS >= 1.2,
   the system's trust store; verify: check the peer's certificate chain
   (the caller still checks the host name, e.g. with SSL_set1_host).
   NULL with *error_r on failure. */
SSL_CTX *tls_client_ctx_new(bool verify, const char **error_r);

/* "TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256" for a Received field
   or a log line: into a thread-local buffer valid until the next call. */
const char *tls_describe(SSL *ssl);
/* "TLSv1.3" (static). */
const char *tls_version_name(SSL *ssl);

#endif
