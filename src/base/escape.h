#ifndef TERN_ESCAPE_H
#define TERN_ESCAPE_H

#include "lib.h"
#include "buf.h"

/*
 * %XX escaping for tern's line-oriented "key value" files (the queue's
 * envelopes, maildrop files): CR, LF, NUL, every other control, DEL and '%'
 * are written as %XX, so a value never spans lines. Decoding turns any
 * "%XX" (two hex digits) back into its byte and leaves other '%' as they are.
 */

struct arena;

int escape_append(buf_t *b, const char *value) ATTR_WARN_UNUSED;
/* The same, spaces escaped too: for a value followed by another on its line. */
int escape_append_word(buf_t *b, const char *value) ATTR_WARN_UNUSED;
/* The decoded value of value[0..len) in arena, NUL-terminated (a decoded
   NUL ends the C string early). */
char *escape_decode(struct arena *arena, const char *value, size_t len);

#endif
