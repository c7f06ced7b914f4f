#ifndef TERN_HEADER_H
#define TERN_HEADER_H

#include "lib.h"

struct arena;

/*
 * RFC 5322 header fields as they appear in a message. Parsing is lenient:
 * obsolete syntax (WSP before the colon), 8-bit bytes, NULs, bare LF, very
 * long lines and duplicates are all kept. Nothing is decoded here: see
 * rfc2047.h for encoded words and address.h for address lists.
 */
struct msg_header_field {
	const char *name;      /* NUL-terminated, original case, WSP before ':' removed */
	size_t name_len;
	/* Unfolded value: the line breaks of folds removed (the WSP after them
	   kept), WSP right after the colon and the final line break removed.
	   Raw bytes: may be 8-bit and may contain NUL (use value_len).
	   NUL-terminated for convenience. */
	const char *value;
	size_t value_len;
	size_t offset;         /* first byte of the field in the message */
	size_t size;           /* raw size, including its final line break */
};

/* A header block: the fields of a message or of a MIME part. */
struct msg_header {
	struct msg_header_field *fields;
	unsigned int count;
	size_t offset;         /* first byte of the block in the message */
	size_t size;           /* raw size including the empty line ending it (if any) */
	unsigned int lines;
	bool truncated;        /* a limit (field count, block size) was hit: the rest of the
	                          block was kept as raw bytes but not split into fields */
};

/* The first field with this name (ASCII case-insensitive), or NULL. */
const struct msg_header_field *msg_header_get(const struct msg_header *hdr, const char *name);
/* The index-th field (0-based) with this name, or NULL. */
const struct msg_header_field *msg_header_get_nth(const struct msg_header *hdr,
						  const char *name, unsigned int index);
/* How many fields have this name. */
unsigned int msg_header_count(const struct msg_header *hdr, const char *name);

#endif
