#ifndef TERN_MAIL_PARTS_H
#define TERN_MAIL_PARTS_H

#include "mailbox.h"

/*
 * The part table cached in the index for every message (internal to the
 * store): per MIME part, in pre-order, where its header and body lie in
 * the file, their sizes raw and in CRLF form, its body lines, its kind and
 * transfer encoding. With it, FETCH BODY[1.2.HEADER], BODY[1.MIME] and
 * partials are served from the file without parsing the message again.
 *
 * Serialized form: a version byte, then per part: one byte kind | cte << 2,
 * then LEB128 varints: child count, header offset, header size, header
 * CRLF size, body size, body CRLF size, body lines (the body follows the
 * header).
 */

struct mime_part;
struct arena;

enum mail_part_kind {
	MAIL_PART_LEAF = 0,
	MAIL_PART_MULTIPART = 1,   /* with children */
	MAIL_PART_MESSAGE = 2,     /* message/rfc822 or global with its one child parsed */
	MAIL_PART_EMPTY_MULTIPART = 3, /* a multipart without parts (no boundary found):
					  its part 1 is empty, as BODYSTRUCTURE says */
};

struct mail_part {
	uint64_t header_offset, header_size, header_crlf_size;
	uint64_t body_size, body_crlf_size;
	uint32_t body_lines;
	uint32_t child_count;
	uint32_t first_child, next;  /* indices; 0 = none (the root is never a child) */
	uint8_t kind, cte;
};

/* Append the table of the tree rooted at root. */
void mail_parts_write(const struct mime_part *root, buf_t *dest);
/* Decode a table (arena). -1 when it is damaged. */
int mail_parts_read(struct arena *arena, const void *data, size_t size,
		    struct mail_part **parts_r, unsigned int *count_r);
/* Resolve an IMAP section (RFC 3501 6.4.5) to a byte range. -1 when the
   part or the text does not exist. */
int mail_parts_section(const struct mail_part *parts, unsigned int count, const char *section,
		       enum mail_section_text text, struct mail_section *section_r);

#endif
