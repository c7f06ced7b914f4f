/*
 * DKIM-Signature fields and DKIM key records (src/msgauth/dkim-record.c),
 * and ARC-Seal fields (arc.c): the first byte picks the parser, the rest
 * is the field value or TXT record. Whatever parses must hold what the
 * parser promises: decoded signatures, the b= value's place inside the
 * input, From among the signed fields, an instance within 1-50.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "arena.h"
#include "dkim.h"
#include "tag-list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena;
	struct dkim_signature sig;
	struct dkim_key key;
	struct arc_seal seal;
	struct msgauth_tag_list list;
	const char *error, *text;
	unsigned int i;
	bool from = false;

	if (size < 1)
		return 0;
	arena = arena_new(0);
	text = (const char *)data + 1;
	size--;
	switch (data[0] % 4) {
	case 0:
	case 1:
		if (dkim_signature_parse(arena, text, size, data[0] % 4 == 1, &sig, &error) < 0)
			break;
		if (sig.b_len == 0 || sig.bh_len == 0 || sig.b_end > size || sig.b_start > sig.b_end)
			abort();
		for (i = 0; i < sig.header_count; i++) {
			if (strcasecmp(sig.headers[i], "from") == 0)
				from = true;
		}
		if (!from || sig.domain == NULL || sig.selector == NULL)
			abort();
		if (data[0] % 4 == 1 && (sig.arc_instance < 1 || sig.arc_instance > 50))
			abort();
		break;
	case 2:
		if (dkim_key_parse(arena, text, size, &key, &error) == 0 &&
		    key.revoked != (key.pub_len == 0))
			abort();
		break;
	case 3:
		if (arc_seal_parse(arena, text, size, &seal, &error) == 0 &&
		    (seal.instance < 1 || seal.instance > 50 || seal.b_end > size))
			abort();
		if (msgauth_tag_list_parse(arena, text, size, &list, &error) == 0) {
			for (i = 0; i < list.count; i++) {
				if (list.tags[i].value_end > size ||
				    list.tags[i].value_start > list.tags[i].value_end)
					abort();
			}
		}
		break;
	}
	arena_free(&arena);
	return 0;
}
