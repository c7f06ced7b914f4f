#include "password.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>

#define PASSWORD_SCHEME "$y$"   /* yescrypt, default cost */

char *password_hash(const char *password)
{
	struct crypt_data *cd = i_malloc(sizeof(*cd));
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	char *hash = NULL;

	/* NULL random bytes: libxcrypt reads them from the kernel itself */
	if (crypt_gensalt_rn(PASSWORD_SCHEME, 0, NULL, 0, salt, sizeof(salt)) != NULL) {
		const char *h = crypt_r(password, salt, cd);

		if (h != NULL && h[0] != '*')
			hash = i_strdup(h);
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return hash;
}

int password_verify(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *h;
	size_t len = strlen(hash);
	int ret = 0;

	if (len == 0 || hash[0] == '*' || hash[0] == '!')
		return 0;   /* locked or disabled */
	cd = i_malloc(sizeof(*cd));
	h = crypt_r(password, hash, cd);
	if (h != NULL && h[0] != '*' && strlen(h) == len &&
	    CRYPTO_memcmp(h, hash, len) == 0)
		ret = 1;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

void password_verify_dummy(const char *password)
{
	/* a fixed, valid yescrypt setting: the work is the same as a real check */
	static const char dummy[] =
		"$y$j9T$2sV7Pj1U5fN6S0nQ9d3mX.$Xk8m2D7Cp6m3n0h1vJm6hJbq5o8b0i4u6e1vZlN2qTD";

	(void)password_verify(password, dummy);
}
