#ifndef TERN_TAG_LIST_H
#define TERN_TAG_LIST_H

#include "lib.h"

/*
 * Tag=value lists (RFC 6376 3.2), the syntax of DKIM-Signature fields, DKIM
 * key records, DMARC records (RFC 7489 6.4) and the ARC fields (RFC 8617):
 *
 *   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  = ALPHA *( ALPHA / DIGIT / "_" )
 *   tag-value = [ tval *( 1*(WSP / FWS) tval ) ]     tval: %x21-3A / %x3C-7E
 *
 * FWS here is any run of SP, HTAB, CR and LF (a folded header field or a
 * DNS record). A tag named twice makes the whole list invalid (3.2); so do
 * a bad name, a missing "=" and control or 8-bit bytes. An empty tag-spec
 * (";;") is skipped, as real records have them. Tag names are compared
 * case-sensitively (3.2).
 */

struct arena;

struct msgauth_tag {
	const char *name;          /* NUL-terminated */
	const char *value;         /* without the FWS around it; FWS inside kept as is */
	size_t value_len;
	/* where the value sits in the input (value_end == value_start: empty):
	   DKIM removes the b= value from the signed copy of its field */
	size_t value_start, value_end;
};

struct msgauth_tag_list {
	struct msgauth_tag *tags;  /* in the order written */
	unsigned int count;
};

/* Parse len bytes of data; everything is copied into arena. Returns 0, or
   -1 with a static *error_r. At most TERN_TAG_LIST_MAX_TAGS tags. */
int msgauth_tag_list_parse(struct arena *arena, const char *data, size_t len,
			   struct msgauth_tag_list *list_r, const char **error_r);

/* The tag with this name, or NULL. */
const struct msgauth_tag *msgauth_tag_get(const struct msgauth_tag_list *list, const char *name);

/* The value with every FWS character removed (base64 values like b= and
   p= may be folded anywhere, RFC 6376 3.5), in arena. */
char *msgauth_tag_value_compact(struct arena *arena, const struct msgauth_tag *tag);

#endif
