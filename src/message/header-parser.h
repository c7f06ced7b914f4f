#ifndef TERN_HEADER_PARSER_H
#define TERN_HEADER_PARSER_H

#include "header.h"

struct arena;

/*
 * Header blocks (RFC 5322 2.2, 3.6; RFC 2045 for MIME part headers), split
 * into fields leniently:
 *  - a field name runs up to ':'; WSP between the name and ':' is allowed
 *    (obsolete syntax, RFC 5322 4.5) and removed from the name;
 *  - a line starting with SP or HTAB continues the previous field (folding);
 *  - line ends may be CRLF or a bare LF; 8-bit bytes and NULs are kept;
 *  - a line that is not "name:" (an mbox "From " line, garbage, a first
 *    line that starts with WSP) is kept as a field with an EMPTY name
 *    (name_len 0) whose value is the whole unfolded line, as Dovecot keeps
 *    broken lines, rather than dropped as GMime does: the bytes remain
 *    visible to `tern msg inspect`; only a lookup of the name "" finds them;
 *  - the block ends at the first empty line (CRLF or LF alone), which is
 *    part of the block, or at the end of the data.
 */

/* Split a complete raw header block of `size` bytes found at `offset` in the
   message. Fields (names, unfolded values) are copied into the arena;
   `data` may be freed afterwards. At most max_fields fields are kept (more:
   hdr_r->truncated). `cut` says the block was cut short by a size limit:
   a field that reaches the end of the data is then incomplete and dropped,
   and hdr_r->truncated is set. hdr_r->size = size, hdr_r->lines = the lines
   in the data (a last line without line break counts). */
void msg_header_parse_block(struct arena *arena, const void *data, size_t size, size_t offset,
			    unsigned int max_fields, bool cut, struct msg_header *hdr_r);

/*
 * A streaming header parser for callers that read a header from a stream
 * (mime.c has its own line machine, because boundaries can also end a part
 * header; it shares msg_header_parse_block). Feed pieces of any size; the
 * parser stops consuming right after the empty line that ends the header.
 * Memory: at most max_size bytes are buffered; beyond that the block is
 * counted but not split (truncated).
 */
struct msg_header_parser;

struct msg_header_parser *msg_header_parser_init(struct arena *arena, size_t offset,
						 size_t max_size, unsigned int max_fields);
/* Returns how many bytes of data were consumed: all of them, or fewer when
   the header ended inside this piece (the rest is the body). */
size_t msg_header_parser_feed(struct msg_header_parser *parser, const void *data, size_t size);
/* true once the empty line ending the header was consumed */
bool msg_header_parser_is_done(const struct msg_header_parser *parser);
/* Finish (after the empty line, or at end of input): fill *hdr_r, whose
   fields live in the arena; frees the parser and sets *parser to NULL. */
void msg_header_parser_finish(struct msg_header_parser **parser, struct msg_header *hdr_r);

#endif
