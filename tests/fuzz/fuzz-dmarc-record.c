/*
 * DMARC policy records (src/msgauth/dmarc-record.c): any bytes parse or
 * fail cleanly, and a parsed record is within its ranges (pct 0-100, sp
 * defaulting to p, np to sp, a report interval).
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct dmarc_record r;
	const char *error;
	unsigned int i;

	if (dmarc_record_parse(arena, (const char *)data, size, &r, &error) == 0) {
		if (!dmarc_record_is_dmarc((const char *)data, size) || r.pct > 100 || r.ri == 0)
			abort();
		if (!r.has_sp && r.sp != r.p)
			abort();
		if (!r.has_np && r.np != r.sp)
			abort();
		for (i = 0; i < r.rua_count; i++) {
			if (r.rua[i] == NULL || r.rua[i][0] == '\0')
				abort();
		}
	}
	arena_free(&arena);
	return 0;
}
