#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "smtp-data.h"

struct result {
	buf_t out;
	size_t consumed;          /* input used up to DONE (or all) */
	bool done;
	unsigned int header_ends;
	size_t header_end_at;     /* output size when the header ended */
	bool header_end_blank;
	unsigned int received;
	bool has_date, has_message_id;
};

/* Feed input in pieces of `step` bytes (0: all at once), inserting the
   marker "<HDR>" where the header ends, as the session adds fields. */
static void run(const char *input, size_t len, bool dot_mode, size_t step, struct result *res)
{
	struct smtp_data_reader r;
	size_t pos = 0;

	memset(res, 0, sizeof(*res));
	buf_init(&res->out, BUF_MAX_UNLIMITED);
	smtp_data_reader_init(&r, dot_mode);
	while (pos < len || r.header_end_pending) {
		size_t n = step == 0 ? len - pos : I_MIN(step, len - pos), consumed;
		enum smtp_data_status st;

		st = smtp_data_reader_feed(&r, (const unsigned char *)input + pos, n, &consumed,
					   &res->out);
		assert_true(consumed <= n);
		pos += consumed;
		if (st == SMTP_DATA_HEADER_END) {
			res->header_ends++;
			res->header_end_at = res->out.used;
			res->header_end_blank = r.header_end_blank;
			assert_int_equal(buf_append_str(&res->out, "<HDR>"), 0);
			continue;
		}
		if (st == SMTP_DATA_DONE) {
			res->done = true;
			break;
		}
		assert_int_equal(consumed, n);
	}
	if (!smtp_data_reader_finish(&r, &res->out))
		assert_int_equal(buf_append_str(&res->out, "<END>"), 0);
	res->consumed = pos;
	res->received = r.received_count;
	res->has_date = r.has_date;
	res->has_message_id = r.has_message_id;
	smtp_data_reader_deinit(&r);
}

/* The same result for every split: all at once, byte by byte, odd sizes. */
static void check_all_splits(const char *input, bool dot_mode, const char *want,
			     const char *rest, bool want_done)
{
	size_t want_consumed = strlen(input) - strlen(rest);
	static const size_t steps[] = { 0, 1, 2, 3, 5, 7, 64 };
	size_t len = strlen(input);
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(steps); i++) {
		struct result res;

		run(input, len, dot_mode, steps[i], &res);
		if (strcmp(buf_str(&res.out), want) != 0)
			fail_msg("step %zu: got [%s] wanted [%s]", steps[i], buf_str(&res.out), want);
		if (res.consumed != want_consumed || res.done != want_done)
			fail_msg("step %zu [%s]: consumed %zu done %d, wanted %zu %d", steps[i], input,
				 res.consumed, res.done, want_consumed, want_done);
		buf_free(&res.out);
	}
}

static void test_simple_data(void **state)
{
	const char *in = "Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";

	check_all_splits(in, true, "Subject: hi\r\n<HDR>\r\nbody\r\n", "QUIT\r\n", true);
}

static void test_empty_message(void **state)
{
	check_all_splits(".\r\n", true, "<END>", "", true);
	/* only a blank line: the header ends at once */
	check_all_splits("\r\n.\r\n", true, "<HDR>\r\n", "", true);
}

static void test_dot_unstuffing(void **state)
{
	/* RFC 5321 4.5.2: a leading dot is removed, whatever follows */
	const char *in = "A: b\r\n\r\n..\r\n...x\r\n.y\r\nz.\r\n. \r\n.\r\n";

	check_all_splits(in, true, "A: b\r\n<HDR>\r\n.\r\n..x\r\ny\r\nz.\r\n \r\n", "", true);
}

static void test_end_marker_variants(void **state)
{
	/* only CRLF.CRLF ends the data: bare-LF variants are data (SMTP
	   smuggling), the line's dot kept when it is alone */
	check_all_splits("A: b\n\nbody\n.\nNEXT", true, "A: b\r\n<HDR>\r\nbody\r\n.\r\nNEXT", "", false);
	check_all_splits("A: b\r\n\r\nx\r\n.\nMAIL\r\n.\r\n", true,
			 "A: b\r\n<HDR>\r\nx\r\n.\r\nMAIL\r\n", "", true);
	check_all_splits("A: b\r\n\r\nx\n.\r\nMAIL\r\n.\r\n", true,
			 "A: b\r\n<HDR>\r\nx\r\n.\r\nMAIL\r\n", "", true);
	check_all_splits("A: b\r\n\r\nx\n..y\r\n.\r\n", true,
			 "A: b\r\n<HDR>\r\nx\r\n..y\r\n", "", true);
	/* ".\r" followed by something else is not the end: dot dropped, CR kept */
	check_all_splits("A: b\r\n\r\n.\rx\r\n.\r\n", true, "A: b\r\n<HDR>\r\n\rx\r\n", "", true);
	/* a dot in the middle of a line is data */
	check_all_splits("A: b\r\n\r\nx.\r\n.\r\n", true, "A: b\r\n<HDR>\r\nx.\r\n", "", true);
	/* not the end: data goes on, input all used */
	check_all_splits("A: b\r\n\r\nx\r\n", true, "A: b\r\n<HDR>\r\nx\r\n", "", false);
}

static void test_line_ends(void **state)
{
	/* bare LF made CRLF; lone CR kept; CRCRLF: a CR then CRLF */
	check_all_splits("A: b\n\na\nb\rc\r\r\n\r\n.\r\n", true,
			 "A: b\r\n<HDR>\r\na\r\nb\rc\r\r\n\r\n", "", true);
}

static void test_header_scan(void **state)
{
	const char *in = "Received: from a\r\n\tby b\r\nreceived : x\r\nDate: now\r\n"
			 "Message-Id: <x@y>\r\nSubject: Received: no\r\n\r\nReceived: body\r\n.\r\n";
	struct result res;

	run(in, strlen(in), true, 1, &res);
	assert_true(res.done);
	assert_int_equal(res.received, 2);
	assert_true(res.has_date);
	assert_true(res.has_message_id);
	assert_int_equal(res.header_ends, 1);
	assert_true(res.header_end_blank);
	buf_free(&res.out);
}

static void test_header_without_blank_line(void **state)
{
	/* a body line where a field was expected: the header ends there */
	check_all_splits("Subject: x\r\nhello world\r\n.\r\n", true,
			 "Subject: x\r\n<HDR>hello world\r\n", "", true);
	/* no header at all */
	check_all_splits("hello\r\n.\r\n", true, "<HDR>hello\r\n", "", true);
	/* a header and nothing else */
	check_all_splits("Subject: x\r\n.\r\n", true, "Subject: x\r\n<END>", "", true);
}

static void test_bdat_mode(void **state)
{
	/* no dot handling, no end marker; line ends normalized */
	const char *in = "A: b\r\n\r\n.\r\n..x\n";

	check_all_splits(in, false, "A: b\r\n<HDR>\r\n.\r\n..x\r\n", "", false);
	/* a trailing CR and a partial last line come out at finish */
	check_all_splits("A: b\r\n\r\nend\r", false, "A: b\r\n<HDR>\r\nend\r", "", false);
	check_all_splits("A: partial", false, "A: partial<END>", "", false);
}

static void test_long_lines_kept(void **state)
{
	/* a 100 KiB body line and a 70 KiB "header" line are kept whole */
	size_t body_len = 100 * 1024, hdr_len = 70 * 1024;
	char *in = malloc(body_len + hdr_len + 64);
	struct result res;
	size_t o = 0;

	memcpy(in + o, "X: ", 3);
	o += 3;
	memset(in + o, 'h', hdr_len);
	o += hdr_len;
	memcpy(in + o, "\r\n\r\n", 4);
	o += 4;
	memset(in + o, 'b', body_len);
	o += body_len;
	memcpy(in + o, "\r\n.\r\n", 5);
	o += 5;
	in[o] = '\0';

	run(in, o, true, 4096, &res);
	assert_true(res.done);
	assert_int_equal(res.header_ends, 1);
	/* the long line ended the header scan: it went out as body, then
	   the blank line and the body follow unchanged */
	assert_int_equal(res.header_end_at, 0);
	assert_int_equal(res.out.used, 5 + 3 + hdr_len + 4 + body_len + 2);
	assert_memory_equal(res.out.data + 5, in, o - 3);
	buf_free(&res.out);
	free(in);
}

static void test_size_counts_output(void **state)
{
	struct smtp_data_reader r;
	buf_t out;
	size_t consumed;

	buf_init(&out, BUF_MAX_UNLIMITED);
	smtp_data_reader_init(&r, true);
	assert_int_equal(smtp_data_reader_feed(&r, (const unsigned char *)"\r\n..ab\r\n.\r\n", 11,
					       &consumed, &out), SMTP_DATA_HEADER_END);
	assert_int_equal(smtp_data_reader_feed(&r, (const unsigned char *)"\r\n..ab\r\n.\r\n" + consumed,
					       11 - consumed, &consumed, &out), SMTP_DATA_DONE);
	/* "\r\n" + ".ab\r\n" */
	assert_int_equal(r.size, 7);
	assert_int_equal(out.used, 7);
	smtp_data_reader_deinit(&r);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_data),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_dot_unstuffing),
		cmocka_unit_test(test_end_marker_variants),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_header_scan),
		cmocka_unit_test(test_header_without_blank_line),
		cmocka_unit_test(test_bdat_mode),
		cmocka_unit_test(test_long_lines_kept),
		cmocka_unit_test(test_size_counts_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
