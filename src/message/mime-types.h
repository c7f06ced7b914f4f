#ifndef TERN_MIME_TYPES_H
#define TERN_MIME_TYPES_H

#include "lib.h"

/*
 * The Content-Type to give an attachment, guessed from its file name's
 * extension (what follows the last '.'), ASCII case-insensitively, from a
 * table of common types (the IANA media types registry names; where the
 * registry has none, the name the major mail clients use).
 */

#define MIME_TYPE_DEFAULT "application/octet-stream"

/* "type/subtype" for filename (UTF-8, a path is allowed: only the last
   component counts), or MIME_TYPE_DEFAULT when there is no extension or it
   is unknown. filename may be NULL. The result is a static string. */
const char *mime_type_from_filename(const char *filename);

/* The same for a bare extension without the dot ("pdf", "JPG"), or NULL
   when unknown. */
const char *mime_type_from_extension(const char *ext);

#endif
