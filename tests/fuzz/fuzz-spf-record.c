/*
 * SPF records (src/msgauth/spf-record.c) as DNS hands them to us: any
 * bytes must parse or fail cleanly; every domain-spec and modifier the
 * parser keeps must be valid by its own check and expand (RFC 7208 7)
 * without error or overflow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "spf.h"

#include <netinet/in.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct spf_record rec;
	struct spf_request req;
	const char *error;
	unsigned int i;

	(void)spf_record_is_spf((const char *)data, size);
	if (spf_record_parse(arena, (const char *)data, size, &rec, &error) < 0) {
		if (error == NULL)
			abort();
		arena_free(&arena);
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.ip.ss_family = AF_INET;
	req.sender = "strong-bad@email.example.com";
	req.domain = "email.example.com";
	req.helo = "mx.example.org";
	for (i = 0; i < rec.count; i++) {
		const struct spf_term *t = &rec.terms[i];

		if (t->mech == SPF_IP4 && t->cidr4 > 32)
			abort();
		if (t->mech == SPF_IP6 && t->cidr6 > 128)
			abort();
		if (t->domain_spec == NULL)
			continue;
		if (!spf_domain_spec_valid(t->domain_spec, false))
			abort();
		/* a valid domain-spec expands, unless it grows past the limit */
		if (spf_macro_expand(arena, t->domain_spec, &req, "email.example.com", NULL, false,
				     true, &error) == NULL && strcmp(error, "macro expansion too long") != 0)
			abort();
	}
	if (rec.redirect != NULL && !spf_domain_spec_valid(rec.redirect, false))
		abort();
	arena_free(&arena);
	return 0;
}
