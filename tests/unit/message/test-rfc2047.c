#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "rfc2047.h"
#include "utf8.h"

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

static const char *dec(const char *s)
{
	const char *r = rfc2047_decode(arena, s, strlen(s));

	assert_true(utf8_is_valid(r, strlen(r)));
	return r;
}

/* RFC 2047 section 8, the examples of how whitespace is treated */
static void test_rfc2047_section8_whitespace(void **state)
{
	assert_string_equal(dec("(=?ISO-8859-1?Q?a?=)"), "(a)");
	assert_string_equal(dec("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
	assert_string_equal(dec("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
	assert_string_equal(dec("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)"), "(ab)");
	assert_string_equal(dec("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)"), "(ab)");
	assert_string_equal(dec("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
	assert_string_equal(dec("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"), "(a b)");
}

/* RFC 2047 section 8, the header examples */
static void test_rfc2047_section8_headers(void **state)
{
	assert_string_equal(dec("=?US-ASCII?Q?Keith_Moore?="), "Keith Moore");
	assert_string_equal(dec("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?="), "Keld J\xc3\xb8rn Simonsen");
	assert_string_equal(dec("=?ISO-8859-1?Q?Andr=E9?= Pirard"), "Andr\xc3\xa9 Pirard");
	assert_string_equal(dec("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
				"    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="),
			    "If you can read this you understand the example.");
	assert_string_equal(dec("=?ISO-8859-1?Q?Olle_J=E4rnefors?="), "Olle J\xc3\xa4rnefors");
	assert_string_equal(dec("=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?="),
			    "Patrik F\xc3\xa4ltstr\xc3\xb6m");
	/* Hebrew in ISO-8859-8, inside a comment */
	assert_string_equal(dec("(=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)"),
			    "(\xd7\x9d\xd7\x95\xd7\x9c\xd7\xa9 \xd7\x9f\xd7\x91 "
			    "\xd7\x99\xd7\x9c\xd7\x98\xd7\xa4\xd7\xa0)");
}

static void test_rfc2047_decode_basic(void **state)
{
	assert_string_equal(dec(""), "");
	assert_string_equal(dec("plain text"), "plain text");
	assert_string_equal(dec("=?utf-8?q?caf=C3=A9?="), "caf\xc3\xa9");
	assert_string_equal(dec("=?UTF-8?B?Y2Fmw6k=?="), "caf\xc3\xa9");
	assert_string_equal(dec("=?utf-8?b?Y2Fmw6k?="), "caf\xc3\xa9"); /* missing padding */
	/* text around words keeps its whitespace */
	assert_string_equal(dec("Re: =?utf-8?q?caf=C3=A9?= ok"), "Re: caf\xc3\xa9 ok");
	/* RFC 2231 language suffix */
	assert_string_equal(dec("=?utf-8*fr?q?caf=C3=A9?="), "caf\xc3\xa9");
	assert_string_equal(dec("=?ISO-8859-1*en-us?Q?Andr=E9?="), "Andr\xc3\xa9");
	/* other charsets */
	assert_string_equal(dec("=?windows-1252?q?=80?="), "\xe2\x82\xac");
	assert_string_equal(dec("=?koi8-r?b?8NLJ18XU?="), "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	assert_string_equal(dec("=?iso-2022-jp?b?GyRCJEskWyRzGyhC?="),
			    "\xe3\x81\xab\xe3\x81\xbb\xe3\x82\x93");
	/* lowercase encodings, tab separators */
	assert_string_equal(dec("=?utf-8?q?a?=\t=?utf-8?b?Yg==?="), "ab");
}

/* Real mail splits multibyte characters across adjacent words: the bytes
   are joined before conversion. */
static void test_rfc2047_decode_split_multibyte(void **state)
{
	assert_string_equal(dec("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?="), "caf\xc3\xa9");
	assert_string_equal(dec("=?UTF-8?B?w6nD?= =?utf-8?B?qQ==?="), "\xc3\xa9\xc3\xa9");
	/* three-byte char over three words */
	assert_string_equal(dec("=?utf-8?q?=E2?==?utf-8?q?=82?=\r\n =?utf-8?q?=AC?="), "\xe2\x82\xac");
	/* Shift_JIS split */
	assert_string_equal(dec("=?shift_jis?b?gg==?= =?shift_jis?b?oA==?="), "\xe3\x81\x82");
	/* a different charset in between stops the joining: the partial
	   character becomes U+FFFD */
	assert_string_equal(dec("=?utf-8?q?=C3?= =?iso-8859-1?q?=E9?="), "\xef\xbf\xbd\xc3\xa9");
	/* plain text between words also stops it */
	assert_string_equal(dec("=?utf-8?q?=C3?= x =?utf-8?q?=A9?="),
			    "\xef\xbf\xbd x \xef\xbf\xbd");
}

static void test_rfc2047_decode_lenient(void **state)
{
	/* not separated from text */
	assert_string_equal(dec("foo=?utf-8?q?bar?=baz"), "foobarbaz");
	assert_string_equal(dec("\"=?utf-8?q?caf=C3=A9?=\""), "\"caf\xc3\xa9\"");
	/* spaces inside a Q word */
	assert_string_equal(dec("=?utf-8?q?hello world?="), "hello world");
	/* malformed words stay as they are */
	assert_string_equal(dec("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
	assert_string_equal(dec("=?utf-8?q?abc"), "=?utf-8?q?abc");
	assert_string_equal(dec("=?" "?q?abc?="), "=?" "?q?abc?=");
	assert_string_equal(dec("=?utf-8?q?"), "=?utf-8?q?");
	assert_string_equal(dec("=?"), "=?");
	assert_string_equal(dec("a =?utf-8?q?broken =?utf-8?q?ok?="), "a =?utf-8?q?broken ok");
	/* bad base64 is salvaged */
	assert_string_equal(dec("=?utf-8?b?Y2F!mw6k=?="), "caf\xc3\xa9");
	/* unknown charset: valid UTF-8 kept, else Windows-1252 */
	assert_string_equal(dec("=?x-nonsense?q?caf=C3=A9?="), "caf\xc3\xa9");
	assert_string_equal(dec("=?x-nonsense?q?caf=E9?="), "caf\xc3\xa9");
	/* invalid bytes in the charset give U+FFFD, output stays UTF-8 */
	assert_string_equal(dec("=?utf-8?q?=FF?="), "\xef\xbf\xbd");
	/* an empty encoded text */
	assert_string_equal(dec("a =?utf-8?q?" "?= b"), "a  b");
	/* fold remnants outside words are dropped */
	assert_string_equal(dec("a\r\n b"), "a b");
}

static void test_rfc2047_decode_raw_8bit(void **state)
{
	/* valid UTF-8 kept */
	assert_string_equal(dec("caf\xc3\xa9"), "caf\xc3\xa9");
	/* Latin-1 / Windows-1252 */
	assert_string_equal(dec("caf\xe9"), "caf\xc3\xa9");
	assert_string_equal(dec("\x80 \x93q\x94"), "\xe2\x82\xac \xe2\x80\x9cq\xe2\x80\x9d");
	/* mixed, per character */
	assert_string_equal(dec("\xc3\xa9\xe9"), "\xc3\xa9\xc3\xa9");
	/* undefined 1252 bytes, NUL */
	assert_string_equal(rfc2047_decode(arena, "a\x81\0b", 4), "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	/* raw 8-bit next to a word */
	assert_string_equal(dec("\xe9 =?utf-8?q?=C3=A9?="), "\xc3\xa9 \xc3\xa9");
}

/* Checks that the encoded output follows RFC 2047 2 and 5: words <= 75
   bytes, lines <= 76 columns (the first after first_line_used), each word's
   text valid UTF-8 alone, and that it decodes back to the input. */
static void check_encoded(const char *in, const char *out, size_t first_used,
			  enum rfc2047_context ctx)
{
	const char *p, *line = out, *w;
	size_t col;

	assert_string_equal(dec(out), in);
	for (p = out; ; p++) {
		if (*p == '\r' || *p == '\0') {
			col = (size_t)(p - line) + (line == out ? first_used : 0);
			/* a first line with no room for a 12-byte character gets one
			   character rather than a blank first line */
			assert_true(col <= 76 || (line == out && first_used + 24 > 76 &&
						  (size_t)(p - line) <= 24));
			if (*p == '\0')
				break;
			assert_int_equal(p[1], '\n');
			assert_int_equal(p[2], ' ');
			line = p + 2;
		}
	}
	for (w = strstr(out, "=?"); w != NULL; w = strstr(w + 2, "=?")) {
		const char *e = strstr(w + 10, "?=");
		const char *d;
		assert_non_null(e);
		assert_true((size_t)(e + 2 - w) <= 75);
		d = rfc2047_decode(arena, w, (size_t)(e + 2 - w));
		/* each word alone decodes with no replacement character */
		assert_null(strstr(d, "\xef\xbf\xbd"));
		if (ctx == RFC2047_PHRASE && (w[8] == 'q' || w[8] == 'Q')) {
			/* RFC 2047 5.(3) */
			for (p = w + 10; p < e; p++)
				assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						   "0123456789!*+-/=_", *p) != NULL);
		}
		w = e;
	}
}

static void test_rfc2047_encode(void **state)
{
	const char *long_text =
		"\xc3\x89t\xc3\xa9 \xc3\xa0 la plage, nous avons mang\xc3\xa9 des cr\xc3\xaa"
		"pes et bu du caf\xc3\xa9 pendant que le soleil se couchait sur la mer "
		"\xe2\x80\x94 un souvenir inoubliable \xe2\x98\x80\xf0\x9f\x8c\x8a "
		"et encore plus de texte pour d\xc3\xa9passer plusieurs lignes.";
	const char *cjk = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6"
		"\xe5\x90\x8d\xe3\x81\xa7\xe3\x81\x99\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
		"\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d\xe3\x81\xa7\xe3\x81\x99\xe6\x97\xa5"
		"\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d\xe3\x81\xa7";
	const char *r;
	size_t used;

	/* ASCII needs nothing */
	assert_string_equal(rfc2047_encode(arena, "Hello world", RFC2047_TEXT, 9), "Hello world");
	assert_string_equal(rfc2047_encode(arena, "", RFC2047_TEXT, 9), "");
	/* Q is shorter for mostly-ASCII text; plain words stay plain */
	r = rfc2047_encode(arena, "Re: Caf\xc3\xa9teria time", RFC2047_TEXT, 9);
	assert_string_equal(r, "Re: =?utf-8?q?Caf=C3=A9teria?= time");
	check_encoded("Re: Caf\xc3\xa9teria time", r, 9, RFC2047_TEXT);
	/* ... and B when that is shorter, even for one short word */
	r = rfc2047_encode(arena, "Re: caf\xc3\xa9 time", RFC2047_TEXT, 9);
	assert_string_equal(r, "Re: =?utf-8?b?Y2Fmw6k=?= time");
	/* B is shorter for non-Latin text */
	r = rfc2047_encode(arena, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", RFC2047_TEXT, 9);
	assert_string_equal(r, "=?utf-8?b?0J/RgNC40LLQtdGC?=");
	/* interior spaces are inside the encoded region */
	r = rfc2047_encode(arena, "a \xc3\xa9t\xc3\xa9 fraiche b", RFC2047_TEXT, 0);
	assert_string_equal(r, "a =?utf-8?b?w6l0w6k=?= fraiche b");
	r = rfc2047_encode(arena, "a \xc3\xa9t\xc3\xa9 \xc3\xa9 b", RFC2047_TEXT, 0);
	assert_string_equal(r, "a =?utf-8?b?w6l0w6kgw6k=?= b");
	r = rfc2047_encode(arena, "a Caf\xc3\xa9teria Cafeteria b", RFC2047_TEXT, 0);
	assert_string_equal(r, "a =?utf-8?q?Caf=C3=A9teria?= Cafeteria b");
	r = rfc2047_encode(arena, "Caf\xc3\xa9 cafeteria x\xc3\xa9", RFC2047_TEXT, 0);
	assert_string_equal(r, "=?utf-8?q?Caf=C3=A9_cafeteria_x=C3=A9?=");
	/* text that looks like an encoded word is encoded */
	r = rfc2047_encode(arena, "=?utf-8?q?x?=", RFC2047_TEXT, 0);
	assert_string_not_equal(r, "=?utf-8?q?x?=");
	check_encoded("=?utf-8?q?x?=", r, 0, RFC2047_TEXT);
	/* long texts fold, never split characters */
	for (used = 0; used < 80; used += 7) {
		r = rfc2047_encode(arena, long_text, RFC2047_TEXT, used);
		check_encoded(long_text, r, used, RFC2047_TEXT);
		r = rfc2047_encode(arena, cjk, RFC2047_TEXT, used);
		check_encoded(cjk, r, used, RFC2047_TEXT);
		r = rfc2047_encode(arena, long_text, RFC2047_PHRASE, used);
		check_encoded(long_text, r, used, RFC2047_PHRASE);
	}
	assert_non_null(strstr(rfc2047_encode(arena, long_text, RFC2047_TEXT, 9), "\r\n "));
	/* invalid UTF-8 input is repaired first */
	r = rfc2047_encode(arena, "a\xff", RFC2047_TEXT, 0);
	assert_string_equal(dec(r), "a\xef\xbf\xbd");
	/* control characters are carried encoded */
	r = rfc2047_encode(arena, "a\r\nb", RFC2047_TEXT, 0);
	assert_null(strchr(r, '\n'));
	assert_string_equal(dec(r), "ab"); /* decoding drops CR/LF again, but nothing leaks */
}

static void test_rfc2047_encode_phrase(void **state)
{
	const char *r;

	/* 5.(3): only letters, digits, !*+-/ literally */
	r = rfc2047_encode(arena, "Andr\xc3\xa9 (the) \"boss\"", RFC2047_PHRASE, 0);
	check_encoded("Andr\xc3\xa9 (the) \"boss\"", r, 0, RFC2047_PHRASE);
	/* the plain words around would need quoting: everything encoded */
	assert_true(strncmp(r, "=?utf-8?", 8) == 0);
	/* atoms around may stay plain */
	r = rfc2047_encode(arena, "Andr\xc3\xa9s Pirard", RFC2047_PHRASE, 0);
	assert_string_equal(r, "=?utf-8?q?Andr=C3=A9s?= Pirard");
	r = rfc2047_encode(arena, "Pirard Caf\xc3\xa9teria", RFC2047_PHRASE, 0);
	assert_string_equal(r, "Pirard =?utf-8?q?Caf=C3=A9teria?=");
	r = rfc2047_encode(arena, "Dr. J\xc3\xb6rg", RFC2047_PHRASE, 0);
	check_encoded("Dr. J\xc3\xb6rg", r, 0, RFC2047_PHRASE);
	assert_true(strncmp(r, "=?utf-8?", 8) == 0);
	r = rfc2047_encode(arena, "caf\xc3\xa9=x_y?z", RFC2047_PHRASE, 0);
	check_encoded("caf\xc3\xa9=x_y?z", r, 0, RFC2047_PHRASE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rfc2047_section8_whitespace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2047_section8_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2047_decode_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2047_decode_split_multibyte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2047_decode_lenient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2047_decode_raw_8bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2047_encode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2047_encode_phrase, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
