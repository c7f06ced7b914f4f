#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "escape.h"

static struct arena *arena;

static int setup(void **state)
{
	arena = arena_new(0);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&arena);
	return 0;
}

static const char *encode(const char *value, bool word)
{
	const char *ret;
	buf_t b;

	buf_init(&b, BUF_MAX_UNLIMITED);
	if (word)
		assert_int_equal(escape_append_word(&b, value), 0);
	else
		assert_int_equal(escape_append(&b, value), 0);
	ret = arena_strndup(arena, b.data, b.used);
	buf_free(&b);
	return ret;
}

static const char *decode(const char *value)
{
	return escape_decode(arena, value, strlen(value));
}

/* Nothing that ends a line or a field survives encoding unescaped. */
static void assert_no_raw_controls(const char *enc, bool word)
{
	const unsigned char *p;

	for (p = (const unsigned char *)enc; *p != '\0'; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		if (word)
			assert_true(*p != ' ');
		if (*p == '%') {
			/* always a complete %XX with upper-case hex */
			assert_true(strchr("0123456789ABCDEF", p[1]) != NULL && p[1] != '\0');
			assert_true(strchr("0123456789ABCDEF", p[2]) != NULL && p[2] != '\0');
		}
	}
}

/* value through both forms and back, nothing raw on the way */
static void assert_round_trip(const char *value)
{
	const char *enc;

	enc = encode(value, false);
	assert_no_raw_controls(enc, false);
	assert_string_equal(decode(enc), value);
	enc = encode(value, true);
	assert_no_raw_controls(enc, true);
	assert_string_equal(decode(enc), value);
}

static void test_every_byte(void **state)
{
	char value[4];
	unsigned int c;

	for (c = 1; c <= 255; c++) {
		/* alone, and between other bytes */
		value[0] = (char)c;
		value[1] = '\0';
		assert_round_trip(value);

		value[0] = 'a';
		value[1] = (char)c;
		value[2] = 'z';
		value[3] = '\0';
		assert_round_trip(value);
	}
}

static void test_all_bytes_at_once(void **state)
{
	char value[256];
	unsigned int c;

	for (c = 1; c <= 255; c++)
		value[c - 1] = (char)c;
	value[255] = '\0';
	assert_round_trip(value);
}

static void test_encoding(void **state)
{
	assert_string_equal(encode("", false), "");
	assert_string_equal(encode("", true), "");
	assert_string_equal(encode("plain@example.test", false), "plain@example.test");
	assert_string_equal(encode("a\r\nb", false), "a%0D%0Ab");
	assert_string_equal(encode("100%", false), "100%25");
	assert_string_equal(encode("del\x7f", false), "del%7F");
	assert_string_equal(encode("tab\there", false), "tab%09here");
	assert_string_equal(encode("\x1f", false), "%1F");
	/* spaces: kept by the plain form, escaped in a word */
	assert_string_equal(encode("Alice Example", false), "Alice Example");
	assert_string_equal(encode("Alice Example", true), "Alice%20Example");
	assert_string_equal(encode(" ", true), "%20");
	/* 8-bit bytes (UTF-8) pass through */
	assert_string_equal(encode("Gr\xc3\xbc\xc3\x9f" "e", false), "Gr\xc3\xbc\xc3\x9f" "e");
	assert_string_equal(encode("\x80\xff", true), "\x80\xff");
}

static void test_decoding(void **state)
{
	assert_string_equal(decode(""), "");
	assert_string_equal(decode("abc"), "abc");
	assert_string_equal(decode("%41%42%43"), "ABC");
	/* both cases of hex digits */
	assert_string_equal(decode("%7f%7F%0a%0A"), "\x7f\x7f\n\n");
	assert_string_equal(decode("%c3%BC"), "\xc3\xbc");
	assert_string_equal(decode("a%20b"), "a b");
	assert_string_equal(decode("%25"), "%");
	/* an escaped '%' is not decoded twice */
	assert_string_equal(decode("%2541"), "%41");
	/* only len bytes are read */
	assert_string_equal(escape_decode(arena, "%41%42", 3), "A");
	assert_string_equal(escape_decode(arena, "%41%42", 5), "A%4");
	assert_string_equal(escape_decode(arena, "abc", 0), "");
}

static void test_malformed_literal(void **state)
{
	assert_string_equal(decode("%"), "%");
	assert_string_equal(decode("%4"), "%4");
	assert_string_equal(decode("%zz"), "%zz");
	assert_string_equal(decode("%4z"), "%4z");
	assert_string_equal(decode("%z4"), "%z4");
	assert_string_equal(decode("%g0"), "%g0");
	assert_string_equal(decode("%%"), "%%");
	assert_string_equal(decode("a%"), "a%");
	assert_string_equal(decode("a%4"), "a%4");
	assert_string_equal(decode("%+1"), "%+1");
	assert_string_equal(decode("% 1"), "% 1");
	/* the first '%' is not followed by hex: kept; the second starts a
	   valid escape */
	assert_string_equal(decode("%%41"), "%A");
	assert_string_equal(decode("%%%"), "%%%");
	assert_string_equal(decode("%4%41"), "%4A");
}

static void test_decoded_nul(void **state)
{
	const char *s;

	s = decode("a%00b");
	assert_string_equal(s, "a");
	s = decode("%00");
	assert_string_equal(s, "");
	s = decode("%00%41");
	assert_string_equal(s, "");
	/* a raw NUL inside the given length ends the C string too */
	s = escape_decode(arena, "ab\0cd", 5);
	assert_string_equal(s, "a" "b");
}

static void test_limit(void **state)
{
	buf_t b;

	/* "a%0D" needs 4 bytes (+NUL accounted by buf) */
	buf_init(&b, 3);
	assert_int_equal(escape_append(&b, "a\r"), -1);
	buf_free(&b);
	buf_init(&b, 3);
	assert_int_equal(escape_append_word(&b, "a b"), -1);
	buf_free(&b);
	buf_init(&b, 64);
	assert_int_equal(escape_append(&b, "a\r"), 0);
	assert_string_equal(buf_str(&b), "a%0D");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_bytes_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_literal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decoded_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
