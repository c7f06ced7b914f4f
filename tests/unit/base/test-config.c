#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"

static struct config_table *parse(struct arena *arena, const char *text, const char **error_r)
{
	return config_parse_buffer(arena, "t.toml", text, strlen(text), error_r);
}

static const struct config_value *get_path(const struct config_table *root, const char *table,
					   const char *key)
{
	const struct config_value *v;

	if (table != NULL) {
		v = config_table_get(root, table);
		if (v == NULL || v->type != CONFIG_TABLE)
			return NULL;
		root = v->u.table;
	}
	return config_table_get(root, key);
}

static void test_config_valid(void **state)
{
	static const char text[] =
		"# tern config\n"
		"hostname = \"mx.example.test\"   # greeting\n"
		"data_dir='/var/lib/tern'\n"
		"domains  = [\"example.test\", \"b.test\",]\n"
		"\n"
		"[listen]\n"
		"smtp = [\n"
		"  \"0.0.0.0:25\",  # v4\n"
		"  # a comment line inside the array\n"
		"  \"[::]:25\",\n"
		"]\n"
		"imap = []\n"
		"\t[ limits ]\r\n"
		"message_size = 52_428_800\r\n"
		"negative = -17\n"
		"plus = +3\n"
		"zero = 0\n"
		"big = 9223372036854775807\n"
		"small = -9223372036854775808\n"
		"[auth]\n"
		"plaintext_on_loopback = true\n"
		"off = false\n"
		"[\"quoted table\".sub]\n"
		"\"quoted key\" = 1\n"
		"'literal key' = 2\n"
		"a.b.c = \"dotted\"\n"
		"a.d = [[1, 2], [\"x\"], []]\n";
	struct arena *arena = arena_new(0);
	const struct config_table *root;
	const struct config_value *v, *t;
	const char *error = NULL;

	root = parse(arena, text, &error);
	assert_non_null(root);
	assert_null(error);

	v = get_path(root, NULL, "hostname");
	assert_non_null(v);
	assert_int_equal(v->type, CONFIG_STRING);
	assert_string_equal(v->u.s.str, "mx.example.test");
	assert_int_equal(v->line, 2);
	v = get_path(root, NULL, "data_dir");
	assert_string_equal(v->u.s.str, "/var/lib/tern");
	v = get_path(root, NULL, "domains");
	assert_int_equal(v->type, CONFIG_ARRAY);
	assert_int_equal(v->u.array.count, 2);
	assert_string_equal(v->u.array.items[1]->u.s.str, "b.test");

	v = get_path(root, "listen", "smtp");
	assert_int_equal(v->type, CONFIG_ARRAY);
	assert_int_equal(v->line, 7);
	assert_int_equal(v->u.array.count, 2);
	assert_string_equal(v->u.array.items[0]->u.s.str, "0.0.0.0:25");
	assert_int_equal(v->u.array.items[0]->line, 8);
	assert_string_equal(v->u.array.items[1]->u.s.str, "[::]:25");
	assert_int_equal(v->u.array.items[1]->line, 10);
	v = get_path(root, "listen", "imap");
	assert_int_equal(v->u.array.count, 0);

	assert_int_equal(get_path(root, "limits", "message_size")->u.i, 52428800);
	assert_int_equal(get_path(root, "limits", "message_size")->line, 14);
	assert_int_equal(get_path(root, "limits", "negative")->u.i, -17);
	assert_int_equal(get_path(root, "limits", "plus")->u.i, 3);
	assert_int_equal(get_path(root, "limits", "zero")->u.i, 0);
	assert_true(get_path(root, "limits", "big")->u.i == INT64_MAX);
	assert_true(get_path(root, "limits", "small")->u.i == INT64_MIN);

	v = get_path(root, "auth", "plaintext_on_loopback");
	assert_int_equal(v->type, CONFIG_BOOL);
	assert_true(v->u.b);
	assert_false(get_path(root, "auth", "off")->u.b);

	t = get_path(root, NULL, "quoted table");
	assert_non_null(t);
	assert_int_equal(t->type, CONFIG_TABLE);
	v = get_path(t->u.table, "sub", "quoted key");
	assert_int_equal(v->u.i, 1);
	v = get_path(t->u.table, "sub", "literal key");
	assert_int_equal(v->u.i, 2);
	t = get_path(t->u.table, "sub", "a");
	assert_int_equal(t->type, CONFIG_TABLE);
	assert_string_equal(t->u.table->name, "quoted table.sub.a");
	v = get_path(t->u.table, "b", "c");
	assert_string_equal(v->u.s.str, "dotted");
	v = config_table_get(t->u.table, "d");
	assert_int_equal(v->u.array.count, 3);
	assert_int_equal(v->u.array.items[0]->u.array.items[1]->u.i, 2);
	assert_string_equal(v->u.array.items[1]->u.array.items[0]->u.s.str, "x");
	assert_int_equal(v->u.array.items[2]->u.array.count, 0);

	/* entries keep file order */
	assert_string_equal(root->first->key, "hostname");
	assert_string_equal(root->last->key, "quoted table");
	arena_free(&arena);
}

static void test_config_strings(void **state)
{
	static const char text[] =
		"a = \"q\\\"b\\\\s\\n\\t\\b\\f\\r\"\n"
		"u = \"\\u00e9\\U0001F600\\u0041\"\n"
		"lit = 'C:\\path\\\"x\"'\n"
		"tab = \"a\tb\"\n"
		"utf8 = \"caf\xc3\xa9\"\n"
		"empty = \"\"\n"
		"nul = \"a\\u0000b\"\n"
		"hash = \"# not a comment\"\n";
	struct arena *arena = arena_new(0);
	const struct config_table *root;
	const struct config_value *v;
	const char *error = NULL;

	root = parse(arena, text, &error);
	assert_non_null(root);
	assert_string_equal(config_table_get(root, "a")->u.s.str, "q\"b\\s\n\t\b\f\r");
	assert_string_equal(config_table_get(root, "u")->u.s.str, "\xc3\xa9\xf0\x9f\x98\x80" "A");
	assert_string_equal(config_table_get(root, "lit")->u.s.str, "C:\\path\\\"x\"");
	assert_string_equal(config_table_get(root, "tab")->u.s.str, "a\tb");
	assert_string_equal(config_table_get(root, "utf8")->u.s.str, "caf\xc3\xa9");
	assert_string_equal(config_table_get(root, "empty")->u.s.str, "");
	v = config_table_get(root, "nul");
	assert_int_equal(v->u.s.len, 3);
	assert_memory_equal(v->u.s.str, "a\0b", 3);
	assert_string_equal(config_table_get(root, "hash")->u.s.str, "# not a comment");
	arena_free(&arena);
}

struct error_case {
	const char *text;
	const char *error;     /* expected exactly */
	size_t len;            /* 0: strlen(text) */
};

static const struct error_case error_cases[] = {
	{ "a = 1\na = 2\n", "t.toml:2: duplicate key 'a' (first defined on line 1)" },
	{ "a = \"abc\n", "t.toml:1: unterminated string" },
	{ "\n\na = 'abc", "t.toml:3: unterminated string" },
	{ "a = \"x\x01y\"\n", "t.toml:1: control character in string (use an escape)" },
	{ "a = 'x\x7fy'\n", "t.toml:1: control character in string" },
	{ "# x\x01\n", "t.toml:1: control character in comment" },
	{ "[a]\nx=1\n[a]\n", "t.toml:3: table [a] defined twice (first on line 1)" },
	{ "[a\n", "t.toml:1: bad table header: expected ']'" },
	{ "[]\n", "t.toml:1: bad key: ']'" },
	{ "a = 1\n[a]\n", "t.toml:2: bad table header: key 'a' is already a value (line 1)" },
	{ "[[a]]\n", "t.toml:1: arrays of tables ([[...]]) are not supported" },
	{ "a = yes\n", "t.toml:1: bad value 'yes' (strings need quotes)" },
	{ "a = 1.5\n", "t.toml:1: bad value: floats are not supported" },
	{ "a = 1e3\n", "t.toml:1: bad value: floats are not supported" },
	{ "a = inf\n", "t.toml:1: bad value: floats are not supported" },
	{ "a = 1979-05-27\n", "t.toml:1: bad value: dates and times are not supported" },
	{ "a = 0x1f\n", "t.toml:1: bad value: only decimal integers are supported" },
	{ "a = 012\n", "t.toml:1: bad integer: leading zeros are not allowed" },
	{ "a = 1__2\n", "t.toml:1: bad integer: '_' must be between digits" },
	{ "a = 12_\n", "t.toml:1: bad integer: '_' must be between digits" },
	{ "a = 9223372036854775808\n", "t.toml:1: integer out of range" },
	{ "a = -9223372036854775809\n", "t.toml:1: integer out of range" },
	{ "a = { b = 1 }\n", "t.toml:1: inline tables ({...}) are not supported" },
	{ "a = \"\"\"x\"\"\"\n", "t.toml:1: multi-line strings (\"\"\") are not supported" },
	{ "a\n", "t.toml:1: key 'a' without '= value'" },
	{ "a b = 1\n", "t.toml:1: expected '=' after key 'a'" },
	{ "= 1\n", "t.toml:1: missing key before '='" },
	{ "a =\n", "t.toml:1: missing value for key 'a'" },
	{ "a = 1 2\n", "t.toml:1: expected end of line, found '2'" },
	{ "a = true1\n", "t.toml:1: bad value 'true1' (strings need quotes)" },
	{ "a = \"\\q\"\n", "t.toml:1: bad escape sequence '\\q' in string" },
	{ "a = \"\\u12\"\n", "t.toml:1: bad \\u escape: needs 4 hex digits" },
	{ "a = \"\\uD800\"\n", "t.toml:1: bad \\u escape: U+D800 is not a Unicode scalar value" },
	{ "a = \"\\U00110000\"\n", "t.toml:1: bad \\U escape: U+110000 is not a Unicode scalar value" },
	{ "a = [1,\n2\n", "t.toml:3: unterminated array (opened on line 1)" },
	{ "a = [1 2]\n", "t.toml:1: bad array: expected ',' or ']', found '2]'" },
	{ "a = [,]\n", "t.toml:1: bad array: unexpected ','" },
	{ "a = [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]\n", "t.toml:1: arrays nested too deeply (max 16)" },
	{ "ok = 1\nx = \"\xc3\x28\"\n", "t.toml:2: invalid UTF-8" },
	{ "x = \"\xed\xa0\x80\"\n", "t.toml:1: invalid UTF-8" },
	{ "x = \"\xc0\xaf\"\n", "t.toml:1: invalid UTF-8" },
	{ "a.b = 1\na.b.c = 2\n", "t.toml:2: duplicate key 'b' (first defined on line 1)" },
	{ "a = 1\r", "t.toml:1: expected end of line, found '\\x0d'" },
	{ "a = \"x\"\x00\n", "t.toml:1: expected end of line, found '\\x00'", 9 },
};

static void test_config_errors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct arena *arena = arena_new(0);
		const char *error = NULL;
		const char *text = error_cases[i].text;
		size_t len = error_cases[i].len != 0 ? error_cases[i].len : strlen(text);

		if (config_parse_buffer(arena, "t.toml", text, len, &error) != NULL)
			fail_msg("case %zu parsed: %s", i, text);
		assert_non_null(error);
		if (strcmp(error, error_cases[i].error) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, error, error_cases[i].error);
		arena_free(&arena);
	}
}

/* Every prefix of a valid file parses or fails cleanly (no crash, no read
   past the end: ASan builds check that). */
static void test_config_prefixes(void **state)
{
	static const char text[] =
		"hostname = \"mx.example.test\"\n[listen]\nsmtp = [\"0.0.0.0:25\", # c\n]\n"
		"[a.\"b\"]\nx = -12_3\ny = '\\u'\nz = \"\\u00e9\"\n";
	size_t len;

	for (len = 0; len <= sizeof(text) - 1; len++) {
		struct arena *arena = arena_new(0);
		const char *error = NULL;
		char *copy = malloc(len + 1);

		memcpy(copy, text, len);
		if (config_parse_buffer(arena, "t.toml", copy, len, &error) == NULL)
			assert_non_null(strstr(error, "t.toml:"));
		free(copy);
		arena_free(&arena);
	}
}

static void test_config_file(void **state)
{
	char path[] = "/tmp/tern-test-config-XXXXXX";
	struct arena *arena = arena_new(0);
	const struct config_table *root;
	const char *error = NULL;
	int fd = mkstemp(path);
	char *big;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x = 5\n", 6), 6);
	close(fd);
	root = config_parse_file(arena, path, &error);
	assert_non_null(root);
	assert_int_equal(config_table_get(root, "x")->u.i, 5);

	/* more than CONFIG_MAX_FILE_SIZE: refused */
	big = malloc(CONFIG_MAX_FILE_SIZE + 2);
	memset(big, '\n', CONFIG_MAX_FILE_SIZE + 1);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, big, CONFIG_MAX_FILE_SIZE + 1), CONFIG_MAX_FILE_SIZE + 1);
	close(fd);
	free(big);
	assert_null(config_parse_file(arena, path, &error));
	assert_non_null(strstr(error, "larger than 1048576 bytes"));
	unlink(path);

	assert_null(config_parse_file(arena, path, &error));
	assert_non_null(strstr(error, "No such file or directory"));
	assert_null(config_parse_file(arena, "/tmp", &error));
	assert_string_equal(error, "/tmp: is a directory");
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_valid),
		cmocka_unit_test(test_config_strings),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_prefixes),
		cmocka_unit_test(test_config_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
