#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "imap-util.h"
#include "imap-parser.h"
#include "imap-search.h"
#include "arena.h"

#include <string.h>

static void test_list_match(void **state)
{
	assert_true(imap_list_match("*", "a/b/c"));
	assert_true(imap_list_match("%", "a"));
	assert_false(imap_list_match("%", "a/b"));
	assert_true(imap_list_match("a/%", "a/b"));
	assert_false(imap_list_match("a/%", "a/b/c"));
	assert_true(imap_list_match("a/*", "a/b/c"));
	assert_false(imap_list_match("a/*", "a"));
	assert_true(imap_list_match("*c", "a/b/c"));
	assert_true(imap_list_match("%/%", "a/b"));
	assert_false(imap_list_match("%/%", "a"));
	assert_true(imap_list_match("inbox", "INBOX"));
	assert_true(imap_list_match("iNbOx/%", "INBOX/x"));
	assert_false(imap_list_match("sent", "Sent"));
	assert_true(imap_list_match("S%t", "Sent"));
	assert_true(imap_list_match("", "") );
	/* could something below the name match? */
	assert_true(imap_list_match_prefix("a/%", "a"));
	assert_false(imap_list_match_prefix("%", "a"));
	assert_true(imap_list_match_prefix("*", "a"));
	assert_true(imap_list_match_prefix("a/b/%", "a"));
	assert_false(imap_list_match_prefix("b/%", "a"));
}

static void test_datetime(void **state)
{
	time_t t;
	int tz;
	char out[IMAP_DATETIME_SIZE];

	assert_int_equal(imap_datetime_parse("17-Jul-1996 02:44:25 -0700", &t, &tz), 0);
	assert_int_equal(tz, -7 * 3600);
	assert_int_equal(t, 837596665);
	imap_datetime_format(t, tz, out);
	assert_string_equal(out, "\"17-Jul-1996 02:44:25 -0700\"");
	assert_int_equal(imap_datetime_parse(" 7-Feb-2026 10:00:00 +0100", &t, &tz), 0);
	imap_datetime_format(t, tz, out);
	assert_string_equal(out, "\"07-Feb-2026 10:00:00 +0100\"");
	assert_int_equal(imap_datetime_parse("31-Feb-2026 10:00:00 +0100", &t, &tz), -1);
	assert_int_equal(imap_datetime_parse("7-Feb-2026 10:00:00 +0100", &t, &tz), -1);
	assert_int_equal(imap_datetime_parse("07-Feb-2026 10:00:00", &t, &tz), -1);
	assert_int_equal(imap_datetime_parse("07-Fob-2026 10:00:00 +0100", &t, &tz), -1);
	assert_int_equal(imap_datetime_parse("07-Feb-2026 24:00:00 +0100", &t, &tz), -1);
}

static void test_mailbox_names(void **state)
{
	struct arena *arena = arena_new(0);
	const char *error;

	assert_string_equal(imap_mailbox_from_client(arena, "inbox", false, &error), "INBOX");
	assert_string_equal(imap_mailbox_from_client(arena, "Inbox/Sub", false, &error), "INBOX/Sub");
	assert_string_equal(imap_mailbox_from_client(arena, "Inboxes", false, &error), "Inboxes");
	assert_string_equal(imap_mailbox_from_client(arena, "Entw&APw-rfe", false, &error),
			    "Entw\xc3\xbcrfe");
	assert_string_equal(imap_mailbox_from_client(arena, "Entw\xc3\xbcrfe", true, &error),
			    "Entw\xc3\xbcrfe");
	assert_string_equal(imap_mailbox_to_client(arena, "Entw\xc3\xbcrfe", false), "Entw&APw-rfe");
	assert_null(imap_mailbox_from_client(arena, "Entw\xc3\xbcrfe", false, &error));
	assert_null(imap_mailbox_from_client(arena, "", false, &error));
	assert_null(imap_mailbox_from_client(arena, "a//b", false, &error));
	assert_null(imap_mailbox_from_client(arena, "/a", false, &error));
	assert_null(imap_mailbox_from_client(arena, "a/", false, &error));
	assert_null(imap_mailbox_from_client(arena, "a\tb", true, &error));
	arena_free(&arena);
}

static void test_flags(void **state)
{
	struct arena *arena = arena_new(0);
	struct imap_arg args[4];
	struct imap_flags f;
	const char *error, *kw[] = { "$Work" };
	buf_t b;

	memset(args, 0, sizeof(args));
	args[0].type = args[1].type = args[2].type = args[3].type = IMAP_ARG_ATOM;
	args[0].str = "\\seen";
	args[1].str = "$Work";
	args[2].str = "\\DELETED";
	args[3].str = "$work";
	assert_int_equal(imap_flags_parse(arena, args, 4, &f, &error), 0);
	assert_int_equal(f.system, IMAP_FLAG_SEEN | IMAP_FLAG_DELETED);
	assert_int_equal(f.keyword_count, 1);
	args[0].str = "\\Recent";
	assert_int_equal(imap_flags_parse(arena, args, 1, &f, &error), -1);
	args[0].str = "\\Foo";
	assert_int_equal(imap_flags_parse(arena, args, 1, &f, &error), -1);
	buf_init(&b, 200);
	assert_int_equal(imap_flags_write(&b, IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED, kw, 1, true, true), 0);
	assert_string_equal(buf_str(&b), "(\\Answered \\Seen $Work \\Recent)");
	buf_free(&b);
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_match),
		cmocka_unit_test(test_datetime),
		cmocka_unit_test(test_mailbox_names),
		cmocka_unit_test(test_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
