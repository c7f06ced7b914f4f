#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tls.h"

#include <openssl/ssl.h>
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
		cmocka_unit_test(test_client_ctx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
