#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "header-parser.h"
#include "arena.h"

static const char hdr_text[] =
	"Received: from a\r\n"
	"\tby b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	"Subject\t: obsolete colon\n"
	"X-8bit: caf\xc3\xa9\r\n"
	"X-Nul: a\0b\r\n"
	" leading continuation of X-Nul\r\n"
	"no colon here\r\n"
	"To:\r\n"
	" folded-only@example.test\r\n"
	"\r\n"
	"body line\r\n";

static void check_hdr(const struct msg_header *hdr)
{
	const struct msg_header_field *f;

	assert_int_equal(hdr->count, 6);
	assert_int_equal(hdr->size, sizeof(hdr_text) - 1 - strlen("body line\r\n"));
	assert_int_equal(hdr->lines, 10);
	assert_false(hdr->truncated);
	f = &hdr->fields[0];
	assert_string_equal(f->name, "Received");
	assert_string_equal(f->value, "from a\tby b; Mon, 1 Jan 2024 00:00:00 +0000");
	assert_int_equal(f->offset, 100);
	assert_int_equal(f->size, strlen("Received: from a\r\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"));
	f = &hdr->fields[1];
	assert_string_equal(f->name, "Subject");
	assert_int_equal(f->name_len, 7);
	assert_string_equal(f->value, "obsolete colon");
	assert_string_equal(msg_header_get(hdr, "x-8bit")->value, "caf\xc3\xa9");
	f = msg_header_get(hdr, "X-NUL");
	assert_int_equal(f->value_len, strlen("a") + 2 + strlen(" leading continuation of X-Nul"));
	assert_memory_equal(f->value, "a\0b leading continuation of X-Nul", f->value_len);
	f = &hdr->fields[4];
	assert_int_equal(f->name_len, 0);
	assert_string_equal(f->name, "");
	assert_string_equal(f->value, "no colon here");
	assert_string_equal(msg_header_get(hdr, "to")->value, "folded-only@example.test");
	assert_ptr_equal(msg_header_get(hdr, ""), &hdr->fields[4]);
	assert_null(msg_header_get(hdr, "body line"));
}

static void test_block(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_header hdr;
	size_t len = sizeof(hdr_text) - 1 - strlen("body line\r\n");

	msg_header_parse_block(arena, hdr_text, len, 100, 1000, false, &hdr);
	check_hdr(&hdr);

	/* max_fields */
	msg_header_parse_block(arena, hdr_text, len, 100, 2, false, &hdr);
	assert_int_equal(hdr.count, 2);
	assert_true(hdr.truncated);

	/* cut: the field reaching the cut is dropped */
	msg_header_parse_block(arena, hdr_text, 30, 0, 1000, true, &hdr);
	assert_int_equal(hdr.count, 0);
	assert_true(hdr.truncated);
	msg_header_parse_block(arena, hdr_text, 80, 0, 1000, true, &hdr);
	assert_int_equal(hdr.count, 1);

	/* a first line starting with WSP, and no final line break */
	msg_header_parse_block(arena, " x\r\nA: b", 8, 0, 1000, false, &hdr);
	assert_int_equal(hdr.count, 2);
	assert_int_equal(hdr.fields[0].name_len, 0);
	assert_string_equal(hdr.fields[0].value, " x");
	assert_string_equal(hdr.fields[1].value, "b");
	assert_int_equal(hdr.lines, 2);
	arena_free(&arena);
}

static void test_stream(void **state)
{
	size_t piece;

	for (piece = 1; piece <= sizeof(hdr_text); piece++) {
		struct arena *arena = arena_new(0);
		struct msg_header_parser *p = msg_header_parser_init(arena, 100, 1024 * 1024, 1000);
		struct msg_header hdr;
		size_t pos = 0, consumed = 0;

		while (pos < sizeof(hdr_text) - 1) {
			size_t n = I_MIN(piece, sizeof(hdr_text) - 1 - pos);
			size_t used = msg_header_parser_feed(p, hdr_text + pos, n);

			consumed += used;
			if (used < n) {
				assert_true(msg_header_parser_is_done(p));
				break;
			}
			pos += n;
		}
		assert_true(msg_header_parser_is_done(p));
		assert_int_equal(consumed, sizeof(hdr_text) - 1 - strlen("body line\r\n"));
		msg_header_parser_finish(&p, &hdr);
		assert_null(p);
		check_hdr(&hdr);
		arena_free(&arena);
	}
}

static void test_stream_limits(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_header_parser *p = msg_header_parser_init(arena, 0, 40, 1000);
	struct msg_header hdr;
	const char *text = "A: 1\r\nB: 2\r\nC: 0123456789012345678901234567890123456789\r\nD: 4\r\n\r\nbody";

	assert_int_equal(msg_header_parser_feed(p, text, strlen(text)), strlen(text) - 4);
	msg_header_parser_finish(&p, &hdr);
	assert_true(hdr.truncated);
	assert_int_equal(hdr.count, 2);
	assert_int_equal(hdr.size, strlen(text) - 4);
	assert_int_equal(hdr.lines, 5);

	/* EOF without an empty line */
	p = msg_header_parser_init(arena, 0, 1024, 1000);
	assert_int_equal(msg_header_parser_feed(p, "A: 1\nB: 2", 9), 9);
	assert_false(msg_header_parser_is_done(p));
	msg_header_parser_finish(&p, &hdr);
	assert_int_equal(hdr.count, 2);
	assert_int_equal(hdr.lines, 2);
	assert_false(hdr.truncated);

	/* an empty header: a bare LF */
	p = msg_header_parser_init(arena, 0, 1024, 1000);
	assert_int_equal(msg_header_parser_feed(p, "\nbody", 5), 1);
	msg_header_parser_finish(&p, &hdr);
	assert_int_equal(hdr.count, 0);
	assert_int_equal(hdr.size, 1);
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
