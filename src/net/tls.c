/*
 * TLS contexts (tls.h) and the self-signed certificate made on first start.
 */
#include "tls.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* TLS 1.2: forward secrecy and AEAD only (TLS 1.3 suites are all fine). */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!MD5:!DSS"
#define SELFSIGNED_DAYS 3650

static __thread char tls_error[512];

static const char *ssl_error(const char *what);
static int write_pem_file(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
			  const char **error_r);
static int make_selfsigned(const char *cert_path, const char *key_path, const char *hostname,
			   const char **error_r);

static const char *ssl_error(const char *what)
{
	unsigned long err = ERR_get_error();
	char text[256];

	if (err == 0)
		snprintf(text, sizeof(text), "unknown error");
	else
		ERR_error_string_n(err, text, sizeof(text));
	ERR_clear_error();
	snprintf(tls_error, sizeof(tls_error), "%s: %s", what, text);
	return tls_error;
}

/* Write key (if not NULL) or cert to a new file, atomically (tmp + rename). */
static int write_pem_file(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
			  const char **error_r)
{
	char *tmp = i_strdup_printf("%s.tmp", path);
	FILE *f = NULL;
	int fd, ok;

	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(tls_error, sizeof(tls_error), "create %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	if (key != NULL)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, cert);
	if (!ok) {
		fclose(f);
		(void)ssl_error(path);
		goto fail;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		snprintf(tls_error, sizeof(tls_error), "write %s: %s", tmp, strerror(errno));
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		snprintf(tls_error, sizeof(tls_error), "write %s: %s", path, strerror(errno));
		goto fail;
	}
	i_free(tmp);
	return 0;
fail:
	(void)unlink(tmp);
	i_free(tmp);
	*error_r = tls_error;
	return -1;
}

static int make_selfsigned(const char *cert_path, const char *key_path, const char *hostname,
			   const char **error_r)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char *san;
	int ret = -1;

	key = EVP_EC_gen("P-256");
	if (key == NULL) {
		*error_r = ssl_error("generate P-256 key");
		return -1;
	}
	cert = X509_new();
	if (cert == NULL || !X509_set_version(cert, 2)) {
		*error_r = ssl_error("X509_new");
		goto out;
	}
	/* RFC 5280 4.1.2.2: a positive serial of up to 20 octets */
	if (RAND_bytes_ex(NULL, serial, sizeof(serial), 0) != 1 ||
	    (serial[0] &= 0x7f, bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL) {
		*error_r = ssl_error("certificate serial");
		goto out;
	}
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), (long)SELFSIGNED_DAYS * 24 * 3600);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				   (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(cert, name);
	if (!X509_set_pubkey(cert, key)) {
		*error_r = ssl_error("X509_set_pubkey");
		goto out;
	}
	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	san = i_strdup_printf("DNS:%s", hostname);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	i_free(san);
	if (ext == NULL || !X509_add_ext(cert, ext, -1)) {
		X509_EXTENSION_free(ext);
		*error_r = ssl_error("subjectAltName");
		goto out;
	}
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:FALSE");
	if (ext != NULL) {
		X509_add_ext(cert, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!X509_sign(cert, key, EVP_sha256())) {
		*error_r = ssl_error("X509_sign");
		goto out;
	}
	/* the key first: a certificate without its key is useless */
	if (write_pem_file(key_path, 0600, key, NULL, error_r) < 0 ||
	    write_pem_file(cert_path, 0644, NULL, cert, error_r) < 0)
		goto out;
	ret = 0;
out:
	BN_free(bn);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

int tls_selfsigned_ensure(const char *data_dir, const char *hostname, const char **error_r)
{
	char *dir = i_strdup_printf("%s/tls", data_dir);
	char *cert_path = i_strdup_printf("%s/cert.pem", dir);
	char *key_path = i_strdup_printf("%s/key.pem", dir);
	int ret = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(tls_error, sizeof(tls_error), "mkdir %s: %s", dir, strerror(errno));
		*error_r = tls_error;
		ret = -1;
	} else if (access(cert_path, R_OK) < 0 || access(key_path, R_OK) < 0) {
		ret = make_selfsigned(cert_path, key_path, hostname, error_r);
		if (ret == 0)
			log_info("tls", "self-signed certificate created cert=%s hostname=%s",
				 log_str(cert_path), log_str(hostname));
	}
	i_free(dir);
	i_free(cert_path);
	i_free(key_path);
	return ret;
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file,
			    const char *data_dir, const char *hostname, const char **error_r)
{
	char *cert_path = NULL, *key_path = NULL;
	SSL_CTX *ctx;

	if (cert_file == NULL || cert_file[0] == '\0') {
		if (tls_selfsigned_ensure(data_dir, hostname, error_r) < 0)
			return NULL;
		cert_path = i_strdup_printf("%s/tls/cert.pem", data_dir);
		key_path = i_strdup_printf("%s/tls/key.pem", data_dir);
	} else {
		cert_path = i_strdup(cert_file);
		key_path = i_strdup(key_file != NULL && key_file[0] != '\0' ? key_file : cert_file);
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = ssl_error("SSL_CTX_new");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_RENEGOTIATION);
	/* idle connections keep no 16 KiB record buffers (memory per connection) */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		*error_r = ssl_error("cipher list");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		*error_r = ssl_error(cert_path);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		*error_r = ssl_error(key_path);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = ssl_error("key does not match the certificate");
		goto fail;
	}
	i_free(cert_path);
	i_free(key_path);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	i_free(cert_path);
	i_free(key_path);
	return NULL;
}

/* A configured pair in memory: the leaf, the rest of the chain, the key. */
struct tls_pair {
	X509 *leaf;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
};

static void tls_pair_free(struct tls_pair *pair)
{
	X509_free(pair->leaf);
	if (pair->chain != NULL)
		sk_X509_pop_free(pair->chain, X509_free);
	EVP_PKEY_free(pair->key);
	memset(pair, 0, sizeof(*pair));
}

/* Open path for reading, saying why not in tls_error. */
static FILE *pem_open(const char *path, const char *what)
{
	FILE *f = fopen(path, "re");

	if (f == NULL)
		snprintf(tls_error, sizeof(tls_error), "%s %s: %s", what, path, strerror(errno));
	return f;
}

static int tls_pair_load(const char *cert_file, const char *key_file, struct tls_pair *pair,
			 const char **error_r)
{
	const char *key_path = key_file != NULL && key_file[0] != '\0' ? key_file : cert_file;
	X509 *extra;
	FILE *f;

	memset(pair, 0, sizeof(*pair));
	ERR_clear_error();
	if ((f = pem_open(cert_file, "certificate")) == NULL) {
		*error_r = tls_error;
		return -1;
	}
	pair->leaf = PEM_read_X509(f, NULL, NULL, NULL);
	pair->chain = sk_X509_new_null();
	while (pair->leaf != NULL && pair->chain != NULL &&
	       (extra = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(pair->chain, extra) <= 0) {
			X509_free(extra);
			break;
		}
	}
	fclose(f);
	ERR_clear_error();   /* the end of the file after the last certificate */
	if (pair->leaf == NULL || pair->chain == NULL) {
		snprintf(tls_error, sizeof(tls_error), "certificate %s: no PEM certificate in it",
			 cert_file);
		*error_r = tls_error;
		tls_pair_free(pair);
		return -1;
	}
	if ((f = pem_open(key_path, "key")) == NULL) {
		*error_r = tls_error;
		tls_pair_free(pair);
		return -1;
	}
	pair->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pair->key == NULL) {
		snprintf(tls_error, sizeof(tls_error), "key %s: no PEM private key in it "
			 "(or one with a passphrase)", key_path);
		ERR_clear_error();
		*error_r = tls_error;
		tls_pair_free(pair);
		return -1;
	}
	if (X509_check_private_key(pair->leaf, pair->key) != 1) {
		ERR_clear_error();
		snprintf(tls_error, sizeof(tls_error), "key %s does not belong to the certificate %s",
			 key_path, cert_file);
		*error_r = tls_error;
		tls_pair_free(pair);
		return -1;
	}
	return 0;
}

static time_t pair_not_after(const struct tls_pair *pair)
{
	const ASN1_TIME *t = X509_get0_notAfter(pair->leaf);
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

int tls_pair_check(const char *cert_file, const char *key_file, time_t *not_after_r,
		   const char **error_r)
{
	struct tls_pair pair;

	if (tls_pair_load(cert_file, key_file, &pair, error_r) < 0)
		return -1;
	*not_after_r = pair_not_after(&pair);
	tls_pair_free(&pair);
	return 0;
}

int tls_server_ctx_reload(SSL_CTX *ctx, const char *cert_file, const char *key_file,
			  time_t *not_after_r, const char **error_r)
{
	struct tls_pair pair;

	if (tls_pair_load(cert_file, key_file, &pair, error_r) < 0)
		return -1;
	/* the leaf, its key and the chain replace the old ones together */
	if (SSL_CTX_use_cert_and_key(ctx, pair.leaf, pair.key, pair.chain, 1) != 1) {
		*error_r = ssl_error("installing the new certificate");
		tls_pair_free(&pair);
		return -1;
	}
	*not_after_r = pair_not_after(&pair);
	tls_pair_free(&pair);
	return 0;
}

SSL_CTX *tls_client_ctx_new(bool verify, const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		*error_r = ssl_error("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		*error_r = ssl_error("trust store");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return ctx;
}

const char *tls_version_name(SSL *ssl)
{
	return SSL_get_version(ssl);
}

const char *tls_describe(SSL *ssl)
{
	static __thread char text[160];
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	int bits = 0;

	if (cipher == NULL) {
		snprintf(text, sizeof(text), "%s", SSL_get_version(ssl));
		return text;
	}
	SSL_CIPHER_get_bits(cipher, &bits);
	snprintf(text, sizeof(text), "%s cipher=%s bits=%d", SSL_get_version(ssl),
		 SSL_CIPHER_get_name(cipher), bits);
	return text;
}
