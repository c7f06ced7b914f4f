#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "json.h"

static const char *str_of(const char *data, size_t len)
{
	static buf_t b;

	buf_free(&b);
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(json_append_string(&b, data, len), 0);
	return buf_str(&b);
}

static void test_json_escape(void **state)
{
	assert_string_equal(str_of("", 0), "\"\"");
	assert_string_equal(str_of("abc", 3), "\"abc\"");
	assert_string_equal(str_of("a\"b\\c/", 6), "\"a\\\"b\\\\c/\"");
	assert_string_equal(str_of("\b\f\n\r\t", 5), "\"\\b\\f\\n\\r\\t\"");
	assert_string_equal(str_of("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\x7f\"");
	assert_string_equal(str_of("a\0b", 3), "\"a\\u0000b\"");
	/* valid UTF-8 passes through */
	assert_string_equal(str_of("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
			    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

#define FFFD "\xef\xbf\xbd"

static void test_json_invalid_utf8(void **state)
{
	/* Latin-1 byte */
	assert_string_equal(str_of("caf\xe9", 4), "\"caf" FFFD "\"");
	/* lone continuation bytes: one U+FFFD each */
	assert_string_equal(str_of("\x80\x80", 2), "\"" FFFD FFFD "\"");
	/* truncated 3-byte sequence: one U+FFFD for the maximal subpart */
	assert_string_equal(str_of("\xe2\x82x", 3), "\"" FFFD "x\"");
	assert_string_equal(str_of("\xe2\x82", 2), "\"" FFFD "\"");
	/* overlong, surrogate, > U+10FFFF, C0/C1/F5 */
	assert_string_equal(str_of("\xc0\xaf", 2), "\"" FFFD FFFD "\"");
	assert_string_equal(str_of("\xed\xa0\x80", 3), "\"" FFFD FFFD FFFD "\"");
	assert_string_equal(str_of("\xf4\x90\x80\x80", 4), "\"" FFFD FFFD FFFD FFFD "\"");
	assert_string_equal(str_of("\xf5", 1), "\"" FFFD "\"");
	assert_string_equal(str_of("\xf0\x9f\x98", 3), "\"" FFFD "\"");
}

static void test_json_pretty(void **state)
{
	struct json_writer w;
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	json_writer_init(&w, &b, true);
	json_object_begin(&w);
	json_key(&w, "a");
	json_int(&w, -5);
	json_key(&w, "b");
	json_array_begin(&w);
	json_uint(&w, 18446744073709551615ULL);
	json_bool(&w, true);
	json_bool(&w, false);
	json_null(&w);
	json_string(&w, NULL);
	json_double(&w, 1.5);
	json_array_end(&w);
	json_key(&w, "empty");
	json_array_begin(&w);
	json_array_end(&w);
	json_key(&w, "o");
	json_object_begin(&w);
	json_object_end(&w);
	json_key(&w, "n");
	json_object_begin(&w);
	json_key(&w, "x\"");
	json_string(&w, "y");
	json_object_end(&w);
	json_object_end(&w);
	assert_int_equal(json_writer_finish(&w), 0);
	assert_string_equal(buf_str(&b),
		"{\n"
		"  \"a\": -5,\n"
		"  \"b\": [\n"
		"    18446744073709551615,\n"
		"    true,\n"
		"    false,\n"
		"    null,\n"
		"    null,\n"
		"    1.5\n"
		"  ],\n"
		"  \"empty\": [],\n"
		"  \"o\": {},\n"
		"  \"n\": {\n"
		"    \"x\\\"\": \"y\"\n"
		"  }\n"
		"}");
	buf_free(&b);
}

static void test_json_compact(void **state)
{
	struct json_writer w;
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	json_writer_init(&w, &b, false);
	json_array_begin(&w);
	json_object_begin(&w);
	json_key(&w, "k");
	json_string_n(&w, "v\n", 2);
	json_key(&w, "l");
	json_array_begin(&w);
	json_int(&w, 1);
	json_int(&w, 2);
	json_array_end(&w);
	json_object_end(&w);
	json_double(&w, 1.0 / 0.0);
	json_array_end(&w);
	assert_int_equal(json_writer_finish(&w), 0);
	assert_string_equal(buf_str(&b), "[{\"k\":\"v\\n\",\"l\":[1,2]},null]");
	buf_free(&b);
}

static void test_json_deep(void **state)
{
	struct json_writer w;
	buf_t b;
	int i;

	/* nesting deeper than the first allocation of the kind stack */
	buf_init(&b, BUF_MAX_UNLIMITED);
	json_writer_init(&w, &b, false);
	for (i = 0; i < 200; i++) {
		if (i % 2 == 0) {
			json_array_begin(&w);
		} else {
			json_object_begin(&w);
			json_key(&w, "k");
		}
	}
	json_int(&w, 7);
	for (i = 199; i >= 0; i--) {
		if (i % 2 == 0)
			json_array_end(&w);
		else
			json_object_end(&w);
	}
	assert_int_equal(json_writer_finish(&w), 0);
	assert_int_equal(buf_len(&b), 100 * 2 + 100 * 6 + 1);
	buf_free(&b);
}

static void test_json_limit(void **state)
{
	struct json_writer w;
	buf_t b;

	buf_init(&b, 10);
	json_writer_init(&w, &b, false);
	json_array_begin(&w);
	json_string(&w, "0123456789");
	json_int(&w, 1);
	json_array_end(&w);
	assert_int_equal(json_writer_finish(&w), -1);
	assert_true(buf_len(&b) <= 10);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escape),
		cmocka_unit_test(test_json_invalid_utf8),
		cmocka_unit_test(test_json_pretty),
		cmocka_unit_test(test_json_compact),
		cmocka_unit_test(test_json_deep),
		cmocka_unit_test(test_json_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
