/* Unit tests for RETR/TOP byte-stuffing (src/pop3/pop3-stuff.c): every
   case is fed whole, one byte at a time and in pieces of three, and must
   give the same output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pop3-stuff.h"

/* Feed input in pieces of step bytes (0: whole); the output. */
static char *run(const char *input, uint64_t lines, size_t step)
{
	struct pop3_stuff st;
	size_t len = strlen(input), pos = 0;
	buf_t out;

	buf_init(&out, 1024 * 1024);
	pop3_stuff_init(&st, lines);
	while (pos < len && !st.done) {
		size_t n = step == 0 ? len - pos : I_MIN(step, len - pos);
		ssize_t used = pop3_stuff_feed(&st, (const unsigned char *)input + pos, n, &out);

		assert_true(used >= 0);
		assert_true((size_t)used <= n);
		if ((size_t)used < n)
			assert_true(st.done);
		pos += (size_t)used;
	}
	assert_int_equal(pop3_stuff_finish(&st, &out), 0);
	return buf_steal(&out, NULL);
}

static void check(const char *input, uint64_t lines, const char *expect)
{
	static const size_t steps[] = { 0, 1, 2, 3, 7 };
	unsigned int i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char *got = run(input, lines, steps[i]);

		if (strcmp(got, expect) != 0)
			fail_msg("step %zu: got '%s', expected '%s'", steps[i], got, expect);
		free(got);
	}
}

static void test_plain(void **state)
{
	check("Subject: x\r\n\r\nHello\r\n", POP3_STUFF_ALL, "Subject: x\r\n\r\nHello\r\n.\r\n");
	check("", POP3_STUFF_ALL, ".\r\n");
	check("\r\n", POP3_STUFF_ALL, "\r\n.\r\n");
}

static void test_dots(void **state)
{
	/* RFC 1939 3: every line starting with "." gets one more */
	check("A: b\r\n\r\n.\r\n..\r\n.x\r\nx.\r\n. \r\n", POP3_STUFF_ALL,
	      "A: b\r\n\r\n..\r\n...\r\n..x\r\nx.\r\n.. \r\n.\r\n");
	check(".first\r\n", POP3_STUFF_ALL, "..first\r\n.\r\n");
	check(".", POP3_STUFF_ALL, "..\r\n.\r\n");
	/* a dot after a bare CR is not at a line start */
	check("a\r.b\r\n", POP3_STUFF_ALL, "a\r.b\r\n.\r\n");
}

static void test_no_final_newline(void **state)
{
	/* RFC 1939 3: the terminator is a line of its own */
	check("A: b\r\n\r\nbody", POP3_STUFF_ALL, "A: b\r\n\r\nbody\r\n.\r\n");
	check("A: b\r\n\r\n.", POP3_STUFF_ALL, "A: b\r\n\r\n..\r\n.\r\n");
}

static void test_top(void **state)
{
	const char *msg = "A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";

	/* RFC 1939 7 TOP: the header, the blank line, n body lines */
	check(msg, 0, "A: 1\r\nB: 2\r\n\r\n.\r\n");
	check(msg, 1, "A: 1\r\nB: 2\r\n\r\nl1\r\n.\r\n");
	check(msg, 2, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check(msg, 3, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	check(msg, 100, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	check(msg, UINT32_MAX, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* no blank line: all of it is header */
	check("A: 1\r\nB: 2\r\n", 0, "A: 1\r\nB: 2\r\n.\r\n");
	/* an empty body line counts as a line */
	check("A: 1\r\n\r\n\r\n\r\nx\r\n", 2, "A: 1\r\n\r\n\r\n\r\n.\r\n");
	/* a message that starts with its blank line (no header) */
	check("\r\nbody\r\nmore\r\n", 1, "\r\nbody\r\n.\r\n");
	/* a last body line without its line end */
	check("A: 1\r\n\r\nx", 5, "A: 1\r\n\r\nx\r\n.\r\n");
}

static void test_full_buffer(void **state)
{
	struct pop3_stuff st, saved;
	buf_t out;

	buf_init(&out, 8);
	pop3_stuff_init(&st, POP3_STUFF_ALL);
	assert_int_equal(pop3_stuff_feed(&st, (const unsigned char *)"ab\r\n", 4, &out), 4);
	saved = st;
	/* nothing of a call that does not fit is kept */
	assert_int_equal(pop3_stuff_feed(&st, (const unsigned char *)"..cdef\r\n", 8, &out), -1);
	assert_int_equal(out.used, 4);
	assert_memory_equal(&st, &saved, sizeof(st));
	assert_int_equal(pop3_stuff_feed(&st, (const unsigned char *)".c", 2, &out), 2);
	assert_memory_equal(out.data, "ab\r\n..c", 7);
	assert_int_equal(pop3_stuff_finish(&st, &out), -1);
	assert_int_equal(out.used, 7);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_dots),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_full_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
