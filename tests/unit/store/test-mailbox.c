/*
 * The mailbox store's operations (src/store/mailbox.h): folders, append,
 * views and their sync, flags, expunge, copy and move, fetch, message
 * bytes in CRLF form, notifications.
 */
#include "store-test.h"

#define MSG1 "From: a@example.test\r\nSubject: one\r\n\r\nfirst\r\n"
#define MSG2 "From: b@example.test\r\nSubject: two\r\n\r\nsecond\r\n"
#define MSG3 "From: c@example.test\r\nSubject: three\r\n\r\nthird\r\n"

static void test_defaults(void **state)
{
	struct store_test *t = *state;
	struct mail_folder_info *f;
	unsigned int n, i;
	static const char *const want[] = { "INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash" };

	assert_int_equal(mail_folder_list(t->user, t->arena, &f, &n, &t->error), 0);
	assert_int_equal(n, N_ELEMENTS(want));
	for (i = 0; i < n; i++) {
		assert_string_equal(f[i].name, want[i]);
		assert_true((f[i].flags & MAIL_FOLDER_SUBSCRIBED) != 0);
		assert_true((f[i].flags & MAIL_FOLDER_NONEXISTENT) == 0);
	}
	assert_int_equal(f[1].special_use, MAIL_SPECIAL_ARCHIVE);
	assert_int_equal(f[4].special_use, MAIL_SPECIAL_SENT);
	assert_int_equal(f[5].special_use, MAIL_SPECIAL_TRASH);
	/* Maildir++ on disk */
	assert_int_equal(access(t->root, F_OK), 0);
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/.Sent/maildirfolder", t->root);
		assert_int_equal(access(p, F_OK), 0);
	}
	/* a second open does not make them again (a deleted one stays deleted) */
	assert_int_equal(mail_folder_delete(t->user, "Junk", &t->error), 0);
	st_restart(t);
	assert_int_equal(mail_folder_list(t->user, t->arena, &f, &n, &t->error), 0);
	for (i = 0; i < n; i++)
		assert_true(strcmp(f[i].name, "Junk") != 0 ||
			    (f[i].flags & MAIL_FOLDER_NONEXISTENT) != 0);
}

static void test_append_fetch(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mail_fetch_iter *it;
	const struct mail_record *r;
	uint32_t u1, u2;
	unsigned int n = 0;

	u1 = st_append(t, "INBOX", MSG1, MAIL_SEEN);
	u2 = st_append(t, "INBOX", MSG2, 0);
	assert_int_equal(u1, 1);
	assert_int_equal(u2, 2);
	view = st_view(t, "inbox", 0);
	assert_int_equal(mailbox_count(view), 2);
	assert_int_equal(mailbox_seq_to_uid(view, 2), 2);
	assert_int_equal(mailbox_uid_to_seq(view, 1), 1);
	it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_FLAGS | MAIL_FETCH_ENVELOPE |
				 MAIL_FETCH_SIZE | MAIL_FETCH_HEADER | MAIL_FETCH_GUID |
				 MAIL_FETCH_BODYSTRUCTURE, 0);
	while (mailbox_fetch_next(it, &r)) {
		n++;
		assert_false(r->expunged);
		assert_int_equal(r->seq, n);
		assert_int_equal(r->flags, n == 1 ? MAIL_SEEN : 0);
		assert_int_equal(r->size, strlen(n == 1 ? MSG1 : MSG2));
		assert_non_null(strstr(r->envelope, n == 1 ? "\"one\"" : "\"two\""));
		assert_int_equal(strlen(r->guid), MAIL_GUID_LEN);
		assert_non_null(r->header);
		assert_true(r->header_size > 10);
		assert_memory_equal(r->header, n == 1 ? MSG1 : MSG2, r->header_size);
		assert_true(r->recent);
	}
	assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	assert_int_equal(n, 2);
	mailbox_close(&view);
	/* files in cur/ with U= and flags */
	assert_non_null(strstr(st_ls(t, "cur"), ",U=1:2,S "));
	assert_non_null(strstr(st_ls(t, "cur"), ",U=2:2, "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_append_fetch, st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
