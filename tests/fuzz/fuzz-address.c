/*
 * Address lists: parse arbitrary bytes, then take every entry through
 * msg_address_spec() and msg_address_format() and parse the formatted
 * result again. Aborts when a decoded name is not valid UTF-8 or when a
 * formatted address no longer parses to one entry with the same mailbox.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "address.h"
#include "arena.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct msg_address *addr, *again;
	const char *spec, *fmt;

	for (addr = msg_address_parse(arena, (const char *)data, size); addr != NULL;
	     addr = addr->next) {
		if (addr->name_decoded != NULL &&
		    !utf8_is_valid(addr->name_decoded, strlen(addr->name_decoded)))
			abort();
		spec = msg_address_spec(arena, addr);
		if (addr->group_start || addr->group_end || addr->mailbox == NULL)
			continue;
		fmt = msg_address_format(arena, addr->name_decoded, addr->mailbox, addr->domain);
		again = msg_address_parse(arena, fmt, strlen(fmt));
		(void)spec;
		/* what we format must read back as the same address, as long
		   as it was a sane one (no NUL cut it short, a real domain) */
		if (!addr->invalid && addr->domain != NULL && addr->mailbox[0] != '\0' &&
		    strlen(addr->domain) > 0 && addr->domain[0] != '[' &&
		    memchr(data, '\0', size) == NULL) {
			if (again == NULL || again->next != NULL ||
			    strcmp(again->mailbox, addr->mailbox) != 0 ||
			    again->domain == NULL || strcmp(again->domain, addr->domain) != 0) {
				fprintf(stderr, "round trip: [%s] -> [%s]\n", spec, fmt);
				abort();
			}
		}
	}
	arena_free(&arena);
	return 0;
}
