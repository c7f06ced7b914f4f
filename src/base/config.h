#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include "lib.h"

/*
 * A TOML subset (https://toml.io/en/v1.0.0) for tern's config file:
 *   - comments (# to end of line), blank lines
 *   - [table] and [a.b] headers (bare or quoted key parts)
 *   - key = value, with bare (A-Za-z0-9_-) or quoted keys, dotted keys
 *   - values: basic strings "..." with escapes (\b \t \n \f \r \" \\
 *     \uXXXX \UXXXXXXXX), literal strings '...', decimal integers (sign,
 *     '_' between digits), booleans, arrays (multi-line, trailing comma,
 *     comments inside, nested up to CONFIG_MAX_DEPTH)
 * Not supported (a clear error, never a silent misreading): floats, dates,
 * multi-line strings, inline tables, arrays of tables, hex/octal/binary.
 *
 * The whole input must be UTF-8 and at most CONFIG_MAX_FILE_SIZE bytes.
 * Errors read "FILE:LINE: message".
 */

#define CONFIG_MAX_FILE_SIZE (1024 * 1024)
#define CONFIG_MAX_DEPTH 16          /* table nesting and array nesting */

struct arena;

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_BOOL,
	CONFIG_ARRAY,
	CONFIG_TABLE,
};

struct config_table;

struct config_value {
	enum config_type type;
	unsigned int line;              /* where the value (or table) was defined */
	union {
		struct {
			const char *str;        /* NUL-terminated; may contain NUL via \u0000 */
			size_t len;
		} s;
		int64_t i;
		bool b;
		struct {
			struct config_value **items;
			size_t count;
		} array;
		struct config_table *table;
	} u;
};

struct config_entry {
	const char *key;
	struct config_value *value;
	struct config_entry *next;
};

struct config_table {
	const char *name;               /* dotted path ("" for the root table) */
	unsigned int line;              /* header line (0 for root or implicit tables) */
	bool header_defined;            /* a [header] named it (may not be repeated) */
	bool dotted_defined;            /* created by a dotted key (no [header] later) */
	struct config_entry *first, *last;  /* in file order */
	size_t count;
};

/* Parse data (size bytes, need not be NUL-terminated). filename is used in
   error messages. Everything (tree and error text) is allocated in arena and
   lives as long as it. Returns the root table, or NULL with *error_r set
   to "FILE:LINE: message". */
struct config_table *config_parse_buffer(struct arena *arena, const char *filename,
					 const void *data, size_t size,
					 const char **error_r);

/* Read path (at most CONFIG_MAX_FILE_SIZE bytes) and parse it, as above.
   An unreadable file gives "FILE: strerror". */
struct config_table *config_parse_file(struct arena *arena, const char *path,
				       const char **error_r);

/* The value of key in table, or NULL. */
const struct config_value *config_table_get(const struct config_table *table,
					    const char *key);

/* "string", "integer", "boolean", "array" or "table". */
const char *config_type_name(enum config_type type);

#endif
