#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tls.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <time.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *data = calloc(1, 65536);

	assert_non_null(f);
	assert_true(fread(data, 1, 65535, f) > 0);
	fclose(f);
	return data;
}

static void test_selfsigned_made_once(void **state)
{
	char dir[] = "/tmp/tern-test-tls-XXXXXX";
	char path[256];
	const char *error = NULL;
	struct stat st;
	char *cert1, *cert2;
	SSL_CTX *ctx;

	assert_non_null(mkdtemp(dir));
	ctx = tls_server_ctx_new("", "", dir, "mx.example.test", &error);
	if (ctx == NULL)
		fail_msg("%s", error);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);

	snprintf(path, sizeof(path), "%s/tls/key.pem", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/tls/cert.pem", dir);
	cert1 = read_all(path);
	assert_non_null(strstr(cert1, "BEGIN CERTIFICATE"));

	/* the second start reuses the pair */
	ctx = tls_server_ctx_new(NULL, NULL, dir, "mx.example.test", &error);
	assert_non_null(ctx);
	SSL_CTX_free(ctx);
	cert2 = read_all(path);
	assert_string_equal(cert1, cert2);

	/* the configured files work too */
	{
		char key[256];

		snprintf(key, sizeof(key), "%s/tls/key.pem", dir);
		ctx = tls_server_ctx_new(path, key, "/nonexistent", "x", &error);
		assert_non_null(ctx);
		SSL_CTX_free(ctx);
		/* a missing file is an error with a text */
		ctx = tls_server_ctx_new("/nonexistent/cert.pem", key, dir, "x", &error);
		assert_null(ctx);
		assert_non_null(error);
		unlink(key);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/tls", dir);
	rmdir(path);
	rmdir(dir);
	free(cert1);
	free(cert2);
}

/* A self-signed pair made in dir/tls (as tern serve makes one). */
static void make_pair(const char *dir, const char *host, char *cert, char *key, size_t size)
{
	const char *error;

	if (tls_selfsigned_ensure(dir, host, &error) < 0)
		fail_msg("%s", error);
	snprintf(cert, size, "%s/tls/cert.pem", dir);
	snprintf(key, size, "%s/tls/key.pem", dir);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* tls_pair_check() (tern serve --check) and tls_server_ctx_reload()
   (SIGHUP): a pair is read, checked and swapped in whole, or not at all. */
static void test_pair_check_and_reload(void **state)
{
	char a[] = "/tmp/tern-test-tls-a-XXXXXX", b[] = "/tmp/tern-test-tls-b-XXXXXX";
	char cert_a[256], key_a[256], cert_b[256], key_b[256], both[300], junk[300];
	const char *error = NULL;
	time_t not_after = 0;
	X509 *leaf_a, *leaf_b;
	SSL_CTX *ctx;
	char *text;

	assert_non_null(mkdtemp(a));
	assert_non_null(mkdtemp(b));
	make_pair(a, "a.example.test", cert_a, key_a, sizeof(cert_a));
	make_pair(b, "b.example.test", cert_b, key_b, sizeof(cert_b));
	leaf_a = read_cert(cert_a);
	leaf_b = read_cert(cert_b);

	assert_int_equal(tls_pair_check(cert_a, key_a, &not_after, &error), 0);
	assert_true(not_after > time(NULL) + 365 * 86400);
	/* the key of another certificate */
	assert_int_equal(tls_pair_check(cert_a, key_b, &not_after, &error), -1);
	assert_non_null(strstr(error, "does not belong to the certificate"));
	assert_non_null(strstr(error, key_b));
	/* missing, and not PEM */
	assert_int_equal(tls_pair_check("/nonexistent/c.pem", key_a, &not_after, &error), -1);
	assert_string_equal(error, "certificate /nonexistent/c.pem: No such file or directory");
	assert_int_equal(tls_pair_check(cert_a, "/nonexistent/k.pem", &not_after, &error), -1);
	assert_string_equal(error, "key /nonexistent/k.pem: No such file or directory");
	snprintf(junk, sizeof(junk), "%s/junk.pem", a);
	write_file(junk, "not a certificate\n");
	assert_int_equal(tls_pair_check(junk, key_a, &not_after, &error), -1);
	assert_non_null(strstr(error, "no PEM certificate"));
	assert_int_equal(tls_pair_check(cert_a, junk, &not_after, &error), -1);
	assert_non_null(strstr(error, "no PEM private key"));
	/* certificate and key in one file, key "" */
	snprintf(both, sizeof(both), "%s/both.pem", a);
	text = read_all(cert_a);
	{
		char *k = read_all(key_a);
		FILE *f = fopen(both, "w");

		assert_non_null(f);
		fputs(text, f);
		fputs(k, f);
		fclose(f);
		free(k);
	}
	free(text);
	assert_int_equal(tls_pair_check(both, "", &not_after, &error), 0);

	/* reload: the new pair for new connections */
	ctx = tls_server_ctx_new(cert_a, key_a, "/nonexistent", "x", &error);
	assert_non_null(ctx);
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(ctx), leaf_a), 0);
	assert_int_equal(tls_server_ctx_reload(ctx, cert_b, key_b, &not_after, &error), 0);
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(ctx), leaf_b), 0);
	assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
	/* a bad pair leaves the context as it was */
	assert_int_equal(tls_server_ctx_reload(ctx, cert_a, key_b, &not_after, &error), -1);
	assert_int_equal(tls_server_ctx_reload(ctx, "/nonexistent/c.pem", key_b, &not_after,
						&error), -1);
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(ctx), leaf_b), 0);
	assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
	/* and back, from the one-file form */
	assert_int_equal(tls_server_ctx_reload(ctx, both, NULL, &not_after, &error), 0);
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(ctx), leaf_a), 0);
	assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
	SSL_CTX_free(ctx);

	X509_free(leaf_a);
	X509_free(leaf_b);
	unlink(junk);
	unlink(both);
	unlink(cert_a);
	unlink(key_a);
	unlink(cert_b);
	unlink(key_b);
	snprintf(junk, sizeof(junk), "%s/tls", a);
	rmdir(junk);
	snprintf(junk, sizeof(junk), "%s/tls", b);
	rmdir(junk);
	rmdir(a);
	rmdir(b);
}

static void test_client_ctx(void **state)
{
	const char *error;
	SSL_CTX *ctx = tls_client_ctx_new(true, &error);

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
	SSL_CTX_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selfsigned_made_once),
		cmocka_unit_test(test_pair_check_and_reload),
		cmocka_unit_test(test_client_ctx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
