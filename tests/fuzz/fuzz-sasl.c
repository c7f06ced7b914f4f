/*
 * Fuzz target for the SASL server side (src/net/sasl.c): the base64 text a
 * client sends after AUTH. The first byte picks the mechanism (PLAIN or
 * LOGIN); the rest is split at LF into successive responses, the first one
 * being the initial response when the second byte is odd.
 */
#include "sasl.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl_server *s;
	const char *challenge;
	const char *p, *end;
	enum sasl_result r;
	unsigned int steps = 0;

	if (size < 2)
		return 0;
	s = sasl_server_new((data[0] & 1) != 0 ? "LOGIN" : "PLAIN");
	if (s == NULL)
		return 0;
	p = (const char *)data + 2;
	end = (const char *)data + size;
	if ((data[1] & 1) != 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);

		r = sasl_server_step(s, p, len, &challenge);
		p = nl == NULL ? end : nl + 1;
	} else {
		r = sasl_server_step(s, NULL, 0, &challenge);
	}
	while (r == SASL_CONTINUE && p < end && steps++ < 8) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);

		r = sasl_server_step(s, p, len, &challenge);
		p = nl == NULL ? end : nl + 1;
	}
	if (r == SASL_DONE) {
		/* the credentials are C strings within their bounds */
		if (strlen(sasl_server_authcid(s)) > SASL_MAX_NAME ||
		    strlen(sasl_server_password(s)) > SASL_MAX_PASSWORD)
			__builtin_trap();
		(void)sasl_server_authzid_ok(s);
	}
	sasl_server_free(&s);
	return 0;
}
