/*
 * Authentication-Results values (src/msgauth/authres.c), and forgery
 * removal over a header block made of the input: parsing never fails
 * without a reason, and removal only ever takes bytes away.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct authres ar;
	const char *error;
	unsigned int i;
	buf_t out;

	if (authres_parse(arena, (const char *)data, size, &ar, &error) == 0) {
		if (ar.authserv_id == NULL)
			abort();
		for (i = 0; i < ar.count; i++) {
			if (ar.entries[i].method == NULL || ar.entries[i].result == NULL)
				abort();
		}
	}
	buf_init(&out, size + 1);
	(void)authres_remove_forged((const char *)data, size, "mx.example.test", &out);
	if (out.used > size)
		abort();
	buf_free(&out);
	arena_free(&arena);
	return 0;
}
