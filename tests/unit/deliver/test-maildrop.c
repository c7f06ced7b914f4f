#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "maildrop.h"
#include "queue.h"

#include <stdio.h>

static struct arena *arena;

static const unsigned char MSG[] =
	"From: Alice <alice@example.test>\r\n"
	"Subject: caf\xc3\xa9\r\n"
	"\r\n"
	"binary \0 NUL and 8-bit \xff\x80\r\n"
	"bare LF\n"
	".dot\r\n";

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

/* data must parse; md gets the result. */
static void assert_parsed(const void *data, size_t size, struct maildrop *md)
{
	const char *error = NULL;

	if (maildrop_parse(arena, data, size, md, &error) < 0)
		fail_msg("refused (%s): %.*s", error, (int)I_MIN(size, 200), (const char *)data);
}

/* The whole drop file for md: header and message. */
static void make_file(const struct maildrop *md, buf_t *out)
{
	buf_init(out, BUF_MAX_UNLIMITED);
	assert_int_equal(maildrop_format(md, out), 0);
	assert_int_equal(buf_append(out, md->message, md->message_size), 0);
}

static void assert_str_eq_or_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_maildrop_equal(const struct maildrop *a, const struct maildrop *b)
{
	unsigned int i;

	assert_str_eq_or_null(a->from, b->from);
	assert_str_eq_or_null(a->full_name, b->full_name);
	assert_int_equal(a->ret, b->ret);
	assert_str_eq_or_null(a->envid, b->envid);
	assert_int_equal(a->rcpt_count, b->rcpt_count);
	for (i = 0; i < a->rcpt_count; i++) {
		assert_string_equal(a->rcpts[i].address, b->rcpts[i].address);
		assert_int_equal(a->rcpts[i].notify, b->rcpts[i].notify);
		assert_str_eq_or_null(a->rcpts[i].orcpt, b->rcpts[i].orcpt);
	}
	assert_int_equal(a->message_size, b->message_size);
	if (a->message_size > 0)
		assert_memory_equal(a->message, b->message, a->message_size);
}

static void round_trip(const struct maildrop *md)
{
	struct maildrop parsed;
	buf_t file;

	make_file(md, &file);
	assert_parsed(file.data, file.used, &parsed);
	assert_maildrop_equal(md, &parsed);
	/* the message points into the file, not a copy */
	assert_ptr_equal(parsed.message, file.data + file.used - md->message_size);
	buf_free(&file);
}

static struct maildrop_rcpt full_rcpts[] = {
	{ "bob@example.test", QUEUE_NOTIFY_DEFAULT, NULL },
	{ "carol@example.test", QUEUE_NOTIFY_NEVER, "rfc822;carol@example.test" },
	{ "dave@example.test", QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY,
	  "rfc822;Dave Smith 100%@example.test" },
	{ "\"john q doe\"@example.test", QUEUE_NOTIFY_FAILURE, "rfc822;\"john q doe\"@example.test" },
	{ "j\xc3\xb6rg@example.test", QUEUE_NOTIFY_DELAY, "utf-8;j\xc3\xb6rg@example.test%x" },
	{ "%41@example.test", QUEUE_NOTIFY_SUCCESS, "%%41 %" },
};

static void full_maildrop(struct maildrop *md)
{
	memset(md, 0, sizeof(*md));
	md->from = "alice@example.test";
	md->full_name = "Alice Q. \xc3\x89xample-M\xc3\xbcller";
	md->ret = QUEUE_RET_FULL;
	md->envid = "ENV-42+x=y";
	md->rcpts = full_rcpts;
	md->rcpt_count = N_ELEMENTS(full_rcpts);
	md->message = MSG;
	md->message_size = sizeof(MSG) - 1;
}

static void test_round_trip_full(void **state)
{
	struct maildrop md;

	full_maildrop(&md);
	round_trip(&md);
	md.ret = QUEUE_RET_HDRS;
	round_trip(&md);
	/* null sender */
	md.from = "";
	round_trip(&md);
	/* controls and '%' in every string field */
	md.full_name = "tab\there\r\nnewline 50% \x7f";
	md.from = "odd\rsender%00@example.test";
	round_trip(&md);
}

static void test_round_trip_minimal(void **state)
{
	struct maildrop_rcpt r = { "bob@example.test", 0, NULL };
	struct maildrop md;

	memset(&md, 0, sizeof(md));
	md.rcpts = &r;
	md.rcpt_count = 1;
	md.message = (const unsigned char *)"";
	md.message_size = 0;
	/* from, name, envid absent stay NULL; ret stays default */
	round_trip(&md);
}

static void test_format_text(void **state)
{
	struct maildrop md;
	buf_t b;

	full_maildrop(&md);
	md.rcpt_count = 4;
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(maildrop_format(&md, &b), 0);
	assert_string_equal(buf_str(&b),
		"tern-maildrop 1\n"
		"from alice@example.test\n"
		"name Alice Q. \xc3\x89xample-M\xc3\xbcller\n"
		"ret full\n"
		"envid ENV-42+x=y\n"
		"rcpt 0  bob@example.test\n"
		"rcpt 1 rfc822;carol@example.test carol@example.test\n"
		"rcpt 14 rfc822;Dave%20Smith%20100%25@example.test dave@example.test\n"
		"rcpt 4 rfc822;\"john%20q%20doe\"@example.test \"john q doe\"@example.test\n"
		"size 93\n"
		"\n");
	assert_int_equal(sizeof(MSG) - 1, 93);
	buf_free(&b);

	/* a header limit is honoured */
	buf_init(&b, 20);
	assert_int_equal(maildrop_format(&md, &b), -1);
	buf_free(&b);
}

static void test_parse_size_zero(void **state)
{
	static const char file[] =
		"tern-maildrop 1\n"
		"rcpt 0  bob@example.test\n"
		"size 0\n"
		"\n";
	struct maildrop md;

	assert_parsed(file, sizeof(file) - 1, &md);
	assert_int_equal(md.message_size, 0);
	assert_int_equal(md.rcpt_count, 1);
	assert_string_equal(md.rcpts[0].address, "bob@example.test");
	assert_null(md.rcpts[0].orcpt);
	assert_int_equal(md.rcpts[0].notify, 0);
	assert_null(md.from);
	assert_null(md.full_name);
	assert_null(md.envid);
	assert_int_equal(md.ret, QUEUE_RET_DEFAULT);
}

static void test_parse_hand_written(void **state)
{
	/* keys in any order, leading zeros, escapes in every field, an empty
	   from for <>, an address with spaces as the line's last field */
	static const char file[] =
		"tern-maildrop 1\n"
		"size 0005\n"
		"rcpt 06 rfc822;a%20b@x \"a b\"@x\n"
		"envid %41B\n"
		"from \n"
		"ret hdrs\n"
		"name Na%0Ame\n"
		"rcpt 8  c@x\n"
		"\n"
		"hello";
	struct maildrop md;

	assert_parsed(file, sizeof(file) - 1, &md);
	assert_string_equal(md.from, "");
	assert_string_equal(md.full_name, "Na\nme");
	assert_string_equal(md.envid, "AB");
	assert_int_equal(md.ret, QUEUE_RET_HDRS);
	assert_int_equal(md.rcpt_count, 2);
	assert_int_equal(md.rcpts[0].notify, 6);
	assert_string_equal(md.rcpts[0].orcpt, "rfc822;a b@x");
	assert_string_equal(md.rcpts[0].address, "\"a b\"@x");
	assert_int_equal(md.rcpts[1].notify, 8);
	assert_null(md.rcpts[1].orcpt);
	assert_string_equal(md.rcpts[1].address, "c@x");
	assert_int_equal(md.message_size, 5);
	assert_memory_equal(md.message, "hello", 5);
}

/* data must be refused, with expected_error when it is not NULL. */
static void assert_refused_data(const void *data, size_t size, const char *expected_error)
{
	struct maildrop md;
	const char *error = NULL;

	if (maildrop_parse(arena, data, size, &md, &error) == 0)
		fail_msg("accepted: %.*s", (int)I_MIN(size, 200), (const char *)data);
	assert_non_null(error);
	if (expected_error != NULL)
		assert_string_equal(error, expected_error);
}

static void assert_refused(const char *file, const char *expected_error)
{
	assert_refused_data(file, strlen(file), expected_error);
}

#define HDR "tern-maildrop 1\n"
#define RCPT "rcpt 0  bob@example.test\n"
#define SIZE0 "size 0\n\n"

static void test_refuse_first_line(void **state)
{
	assert_refused("", "truncated header");
	assert_refused("tern-maildrop 2\n" RCPT SIZE0, "not a tern maildrop file");
	assert_refused("tern-maildrop 1\r\n" RCPT SIZE0, "not a tern maildrop file");
	assert_refused("tern-maildrop 1 \n" RCPT SIZE0, "not a tern maildrop file");
	assert_refused("tern-maildrop\n" RCPT SIZE0, "not a tern maildrop file");
	assert_refused("\n" HDR RCPT SIZE0, "not a tern maildrop file");
	assert_refused(RCPT HDR SIZE0, "not a tern maildrop file");
	assert_refused("tern-maildrop 1", "truncated header");
}

static void test_refuse_size(void **state)
{
	/* missing */
	assert_refused(HDR RCPT "\n", "no size");
	assert_refused(HDR RCPT "\nabc", "no size");
	/* larger and smaller than the rest */
	assert_refused(HDR RCPT "size 4\n\nabc", "size does not match the file");
	assert_refused(HDR RCPT "size 2\n\nabc", "size does not match the file");
	assert_refused(HDR RCPT "size 1\n\n", "size does not match the file");
	assert_refused(HDR RCPT "size 0\n\nx", "size does not match the file");
	/* not a number */
	assert_refused(HDR RCPT "size \n\n", NULL);
	assert_refused(HDR RCPT "size -1\n\n", NULL);
	assert_refused(HDR RCPT "size +3\n\nabc", NULL);
	assert_refused(HDR RCPT "size 3 \n\nabc", NULL);
	assert_refused(HDR RCPT "size 0x3\n\nabc", NULL);
	assert_refused(HDR RCPT "size 3a\n\nabc", NULL);
	/* 25 digits, and just past 64 bits */
	assert_refused(HDR RCPT "size 1234567890123456789012345\n\n", NULL);
	assert_refused(HDR RCPT "size 0000000000000000000000000\n\n", NULL);
	assert_refused(HDR RCPT "size 18446744073709551616\n\n", NULL);
	assert_refused(HDR RCPT "size 18446744073709551615\n\n", "size does not match the file");
}

static void test_refuse_repeated(void **state)
{
	assert_refused(HDR "from a@x\nfrom b@x\n" RCPT SIZE0, NULL);
	assert_refused(HDR "from \nfrom \n" RCPT SIZE0, NULL);
	assert_refused(HDR RCPT "size 0\nsize 0\n\n", NULL);
	assert_refused(HDR "ret full\nret full\n" RCPT SIZE0, NULL);
	assert_refused(HDR "ret full\nret hdrs\n" RCPT SIZE0, NULL);
	assert_refused(HDR "name a\nname b\n" RCPT SIZE0, NULL);
	assert_refused(HDR "envid a\nenvid b\n" RCPT SIZE0, NULL);
}

static void test_refuse_keys(void **state)
{
	assert_refused(HDR "frob x\n" RCPT SIZE0, "unknown key");
	assert_refused(HDR "From a@x\n" RCPT SIZE0, "unknown key");
	assert_refused(HDR "fromx a@x\n" RCPT SIZE0, "unknown key");
	assert_refused(HDR " from a@x\n" RCPT SIZE0, "unknown key");
	/* a line without a space */
	assert_refused(HDR "from\n" RCPT SIZE0, NULL);
	assert_refused(HDR "rcpt\n" RCPT SIZE0, NULL);
	/* a CR before the LF belongs to the value: not "full" */
	assert_refused(HDR "ret full\r\n" RCPT SIZE0, NULL);
}

static void test_refuse_notify(void **state)
{
	assert_refused(HDR "rcpt 16  a@x\n" SIZE0, NULL);
	assert_refused(HDR "rcpt 3  a@x\n" SIZE0, NULL);     /* NEVER + SUCCESS */
	assert_refused(HDR "rcpt 5  a@x\n" SIZE0, NULL);     /* NEVER + FAILURE */
	assert_refused(HDR "rcpt 9  a@x\n" SIZE0, NULL);     /* NEVER + DELAY */
	assert_refused(HDR "rcpt 15  a@x\n" SIZE0, NULL);
	assert_refused(HDR "rcpt x  a@x\n" SIZE0, NULL);
	assert_refused(HDR "rcpt 1x  a@x\n" SIZE0, NULL);
	assert_refused(HDR "rcpt -1  a@x\n" SIZE0, NULL);
	assert_refused(HDR "rcpt   a@x\n" SIZE0, NULL);
	assert_refused(HDR "rcpt 99999999999999999999999  a@x\n" SIZE0, NULL);
}

static void test_accept_notify(void **state)
{
	static const unsigned int good[] = { 0, 1, 2, 4, 6, 8, 10, 12, 14 };
	struct maildrop md;
	unsigned int i;
	char file[128];

	for (i = 0; i < N_ELEMENTS(good); i++) {
		snprintf(file, sizeof(file), HDR "rcpt %u  a@x\n" SIZE0, good[i]);
		assert_parsed(file, strlen(file), &md);
		assert_int_equal(md.rcpts[0].notify, good[i]);
	}
}

static void test_refuse_ret(void **state)
{
	assert_refused(HDR "ret maybe\n" RCPT SIZE0, NULL);
	assert_refused(HDR "ret \n" RCPT SIZE0, NULL);
	assert_refused(HDR "ret FULL\n" RCPT SIZE0, NULL);
	assert_refused(HDR "ret fullx\n" RCPT SIZE0, NULL);
	assert_refused(HDR "ret ful\n" RCPT SIZE0, NULL);
}

static void test_envid(void **state)
{
	struct maildrop md;
	char file[512], envid[MAILDROP_ENVID_MAX + 2];

	/* exactly the maximum is fine */
	memset(envid, 'e', MAILDROP_ENVID_MAX);
	envid[MAILDROP_ENVID_MAX] = '\0';
	snprintf(file, sizeof(file), HDR "envid %s\n" RCPT SIZE0, envid);
	assert_parsed(file, strlen(file), &md);
	assert_string_equal(md.envid, envid);
	/* one more is not */
	envid[MAILDROP_ENVID_MAX] = 'e';
	envid[MAILDROP_ENVID_MAX + 1] = '\0';
	snprintf(file, sizeof(file), HDR "envid %s\n" RCPT SIZE0, envid);
	assert_refused(file, NULL);
	/* neither is one that only decodes to something long... */
	memset(envid, 'e', MAILDROP_ENVID_MAX);
	envid[MAILDROP_ENVID_MAX] = '\0';
	snprintf(file, sizeof(file), HDR "envid %s%%41\n" RCPT SIZE0, envid);
	assert_refused(file, NULL);
	/* ...while escapes decoding to 100 bytes are fine */
	snprintf(file, sizeof(file), HDR "envid %%41%s\n" RCPT SIZE0, envid + 1);
	assert_parsed(file, strlen(file), &md);
	assert_int_equal(strlen(md.envid), MAILDROP_ENVID_MAX);

	/* RFC 3461 4.4: printable ASCII only */
	assert_refused(HDR "envid a%20b\n" RCPT SIZE0, NULL);
	assert_refused(HDR "envid a b\n" RCPT SIZE0, NULL);
	assert_refused(HDR "envid a%0Db\n" RCPT SIZE0, NULL);
	assert_refused(HDR "envid a%7Fb\n" RCPT SIZE0, NULL);
	assert_refused(HDR "envid caf\xc3\xa9\n" RCPT SIZE0, NULL);
	assert_refused(HDR "envid \n" RCPT SIZE0, NULL);
	assert_refused(HDR "envid %00abc\n" RCPT SIZE0, NULL);
}

static void test_refuse_rcpt(void **state)
{
	/* empty address */
	assert_refused(HDR "rcpt 0  \n" SIZE0, NULL);
	assert_refused(HDR "rcpt 0 rfc822;a@x \n" SIZE0, NULL);
	assert_refused(HDR "rcpt 0  %00\n" SIZE0, NULL);
	/* fields missing */
	assert_refused(HDR "rcpt 0\n" SIZE0, NULL);
	assert_refused(HDR "rcpt 0 \n" SIZE0, NULL);
	assert_refused(HDR "rcpt 0 a@x\n" SIZE0, NULL);
	assert_refused(HDR "rcpt \n" SIZE0, NULL);
	assert_refused(HDR "rcpt  a@x\n" SIZE0, NULL);
	/* one good recipient does not save a bad one */
	assert_refused(HDR RCPT "rcpt 0 a@x\n" SIZE0, NULL);
	/* none at all */
	assert_refused(HDR SIZE0, "no recipients");
	assert_refused(HDR "from a@x\nsize 3\n\nabc", "no recipients");
}

static void test_refuse_no_blank_line(void **state)
{
	assert_refused(HDR RCPT "size 0\n", "truncated header");
	assert_refused(HDR RCPT "size 3\nabc", "truncated header");
	assert_refused(HDR RCPT "size 0", "truncated header");
	/* CRLF is not the blank line */
	assert_refused(HDR RCPT "size 0\n\r\n", NULL);
	assert_refused(HDR RCPT "size 2\n\r\n", NULL);
}

static void test_header_max(void **state)
{
	static const char head[] = HDR RCPT "size 0\nname ";
	struct maildrop md;
	size_t fill;
	buf_t b;
	unsigned char *p;

	/* a header line longer than the limit, without a newline */
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(buf_append_str(&b, head), 0);
	p = buf_reserve(&b, MAILDROP_HEADER_MAX + 100);
	assert_non_null(p);
	memset(p, 'x', MAILDROP_HEADER_MAX + 100);
	buf_commit(&b, MAILDROP_HEADER_MAX + 100);
	assert_refused_data(b.data, b.used, "header too long");
	/* with its newline far past the limit too */
	assert_int_equal(buf_append_str(&b, "\n\n"), 0);
	assert_refused_data(b.data, b.used, "header too long");
	buf_free(&b);

	/* exactly MAILDROP_HEADER_MAX bytes of header, blank line included */
	fill = MAILDROP_HEADER_MAX - (sizeof(head) - 1) - 2;
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(buf_append_str(&b, head), 0);
	p = buf_reserve(&b, fill);
	memset(p, 'n', fill);
	buf_commit(&b, fill);
	assert_int_equal(buf_append_str(&b, "\n\n"), 0);
	assert_int_equal(b.used, MAILDROP_HEADER_MAX);
	assert_parsed(b.data, b.used, &md);
	assert_int_equal(strlen(md.full_name), fill);
	/* one byte more is too long, with or without a message after it */
	buf_truncate(&b, b.used - 2);
	assert_int_equal(buf_append_str(&b, "n\n\n"), 0);
	assert_refused_data(b.data, b.used, "header too long");
	buf_free(&b);
}

static void test_large_message(void **state)
{
	/* only the header is bounded: a message past MAILDROP_HEADER_MAX is fine */
	struct maildrop_rcpt r = { "bob@example.test", 0, NULL };
	struct maildrop md;
	unsigned char *msg;
	size_t size = MAILDROP_HEADER_MAX + 4096;

	msg = malloc(size);
	assert_non_null(msg);
	memset(msg, '\n', size);
	memset(&md, 0, sizeof(md));
	md.rcpts = &r;
	md.rcpt_count = 1;
	md.message = msg;
	md.message_size = size;
	round_trip(&md);
	free(msg);
}

static void many_rcpts(unsigned int count, buf_t *b)
{
	unsigned int i;

	buf_init(b, BUF_MAX_UNLIMITED);
	assert_int_equal(buf_append_str(b, HDR), 0);
	for (i = 0; i < count; i++)
		assert_int_equal(buf_printf(b, "rcpt 0  u%u@example.test\n", i), 0);
	assert_int_equal(buf_append_str(b, SIZE0), 0);
}

static void test_rcpts_max(void **state)
{
	struct maildrop md;
	buf_t b;

	many_rcpts(MAILDROP_RCPTS_MAX, &b);
	assert_parsed(b.data, b.used, &md);
	assert_int_equal(md.rcpt_count, MAILDROP_RCPTS_MAX);
	assert_string_equal(md.rcpts[0].address, "u0@example.test");
	assert_string_equal(md.rcpts[MAILDROP_RCPTS_MAX - 1].address, "u9999@example.test");
	buf_free(&b);

	many_rcpts(MAILDROP_RCPTS_MAX + 1, &b);
	assert_refused_data(b.data, b.used, "too many recipients");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_minimal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_size_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_hand_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_first_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_repeated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_ret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_rcpt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_no_blank_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rcpts_max, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
