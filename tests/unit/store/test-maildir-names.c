/*
 * Maildir names (src/store/maildir-names.c): U= and flags in file names,
 * GUIDs, delivery times, folder names <-> Maildir++ directories.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "maildir-names.h"
#include "mailbox.h"
#include "index-private.h"
#include "arena.h"
#include "tern-limits.h"

static void test_file_names(void **state)
{
	struct arena *arena = arena_new(0);
	struct maildir_name p;
	char g1[MAIL_GUID_LEN + 1], g2[MAIL_GUID_LEN + 1];
	uint64_t secs;
	uint32_t usecs;

	maildir_name_parse("1700000000.M12P3.host,S=42:2,FRSab", &p);
	assert_int_equal(p.uid, 0);
	assert_true(p.has_info);
	assert_int_equal(p.flags, MAIL_FLAGGED | MAIL_ANSWERED | MAIL_SEEN);
	assert_int_equal(p.keywords, 3);
	assert_string_equal(maildir_name_make(arena, "1700000000.M12P3.host,S=42:2,FRSab", &p, 9,
					      MAIL_DELETED | MAIL_DRAFT, INDEX_KEYWORD_PASSED | 4),
			    "1700000000.M12P3.host,S=42,U=9:2,DPTc");
	maildir_name_guid("1700000000.M12P3.host,S=42:2,FRSab", &p, g1);

	maildir_name_parse("1700000000.M12P3.host,S=42,U=9:2,DPTc", &p);
	assert_int_equal(p.uid, 9);
	assert_int_equal(p.flags, MAIL_DELETED | MAIL_DRAFT);
	assert_int_equal(p.keywords, INDEX_KEYWORD_PASSED | 4);
	assert_string_equal(maildir_name_base(arena, "1700000000.M12P3.host,S=42,U=9:2,DPTc", &p),
			    "1700000000.M12P3.host,S=42");
	/* the GUID ignores U= and flags: it names the message */
	maildir_name_guid("1700000000.M12P3.host,S=42,U=9:2,DPTc", &p, g2);
	assert_string_equal(g1, g2);
	assert_int_equal(strlen(g1), MAIL_GUID_LEN);
	assert_int_equal(strspn(g1, "0123456789abcdef"), MAIL_GUID_LEN);
	/* renumbering keeps one U= */
	maildir_name_parse("a,U=9,W=3:2,S", &p);
	assert_int_equal(p.uid, 9);
	assert_string_equal(maildir_name_make(arena, "a,U=9,W=3:2,S", &p, 12, MAIL_SEEN, 0),
			    "a,W=3,U=12:2,S");
	/* junk is no UID */
	maildir_name_parse("x,U=0:2,", &p);
	assert_int_equal(p.uid, 0);
	maildir_name_parse("x,U=12a:2,", &p);
	assert_int_equal(p.uid, 0);
	maildir_name_parse("x,U=99999999999", &p);
	assert_int_equal(p.uid, 0);
	/* the last valid U= counts: tern's own is appended after others */
	maildir_name_parse("d,U=0,U=7,U=4:2,", &p);
	assert_int_equal(p.uid, 4);
	assert_string_equal(maildir_name_make(arena, "d,U=0,U=7,U=4:2,", &p, 9, 0, 0),
			    "d,U=0,U=7,U=9:2,");
	maildir_name_parse("noinfo", &p);
	assert_false(p.has_info);
	assert_string_equal(maildir_name_make(arena, "noinfo", &p, 1, 0, 0), "noinfo,U=1:2,");
	assert_false(maildir_name_is_message(".hidden"));
	assert_true(maildir_name_is_message("1.M1.h"));

	maildir_name_time("1700000001.M000345P12.host", &secs, &usecs);
	assert_int_equal(secs, 1700000001);
	assert_int_equal(usecs, 345);
	maildir_name_time("1700000001.12345_1.host", &secs, &usecs);
	assert_int_equal(usecs, 0);
	maildir_name_time("weird", &secs, &usecs);
	assert_int_equal(secs, 0);
	arena_free(&arena);
}

static void test_folder_names(void **state)
{
	struct arena *arena = arena_new(0);
	static const struct {
		const char *name, *dir;
	} pairs[] = {
		{ "INBOX", "" },
		{ "Sent", ".Sent" },
		{ "Archive/2026", ".Archive.2026" },
		{ "a.b/c%d", ".a%2Eb.c%25d" },
		{ "Caf\xc3\xa9", ".Caf&AOk-" },
		{ "&", ".&-" },
		{ "INBOX/sub", ".INBOX.sub" },
		{ "\xe6\x97\xa5\xe6\x9c\xac/x y", ".&ZeVnLA-.x y" },
	};
	const char *norm, *err;
	bool limit;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(pairs); i++) {
		buf_t b;

		buf_init(&b, BUF_MAX_UNLIMITED);
		assert_int_equal(folder_name_to_dir(pairs[i].name, &b), 0);
		assert_string_equal(buf_str(&b), pairs[i].dir);
		buf_reset(&b);
		if (pairs[i].dir[0] != '\0') {
			assert_int_equal(folder_dir_to_name(pairs[i].dir, &b), 0);
			assert_string_equal(buf_str(&b), pairs[i].name);
		}
		buf_free(&b);
	}
	/* not canonical, not ours */
	{
		static const char *const bad[] = { ".", "..", ".a..b", ".a.", ".%2e", ".Caf\xc3\xa9",
						   ".&AOk", ".INBOX", ".inbox.x", ".a%2Fb" };
		buf_t b;

		for (i = 0; i < N_ELEMENTS(bad); i++) {
			buf_init(&b, BUF_MAX_UNLIMITED);
			assert_int_equal(folder_dir_to_name(bad[i], &b), -1);
			buf_free(&b);
		}
	}
	assert_int_equal(folder_name_normalize(arena, "inbox", &norm, &limit, &err), 0);
	assert_string_equal(norm, "INBOX");
	assert_int_equal(folder_name_normalize(arena, "InBoX/Sub/", &norm, &limit, &err), 0);
	assert_string_equal(norm, "INBOX/Sub");
	assert_int_equal(folder_name_normalize(arena, "inboxes", &norm, &limit, &err), 0);
	assert_string_equal(norm, "inboxes");
	assert_int_equal(folder_name_normalize(arena, "", &norm, &limit, &err), -1);
	assert_int_equal(folder_name_normalize(arena, "/a", &norm, &limit, &err), -1);
	assert_int_equal(folder_name_normalize(arena, "a\x01", &norm, &limit, &err), -1);
	assert_int_equal(folder_name_normalize(arena, "a\xff", &norm, &limit, &err), -1);
	assert_false(limit);
	{
		char deep[200] = "";

		for (i = 0; i < TERN_STORE_MAX_FOLDER_DEPTH + 1; i++)
			strcat(deep, "a/");
		strcat(deep, "a");
		assert_int_equal(folder_name_normalize(arena, deep, &norm, &limit, &err), -1);
		assert_true(limit);
	}
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_folder_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
