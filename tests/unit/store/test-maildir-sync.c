/*
 * The Maildir sync (src/store/maildir-sync.c): files added, removed and
 * renamed behind the store's back, duplicate and restored U= values, a
 * crash between rename and commit, keywords from dovecot-keywords,
 * folders made and removed by hand.
 */
#include "store-test.h"

#define M(n) "Subject: m" #n "\r\n\r\nbody " #n "\r\n"

/* The uid of the file in cur/ whose name contains part, or 0. */
static uint32_t uid_of_file(struct store_test *t, const char *part)
{
	char path[512];
	DIR *d;
	struct dirent *de;
	uint32_t uid = 0;

	snprintf(path, sizeof(path), "%s/cur", t->root);
	d = opendir(path);
	while ((de = readdir(d)) != NULL) {
		const char *u;

		if (strstr(de->d_name, part) != NULL && (u = strstr(de->d_name, ",U=")) != NULL)
			uid = (uint32_t)strtoul(u + 3, NULL, 10);
	}
	closedir(d);
	return uid;
}

static void test_added_in_new_and_cur(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mailbox_changes c;
	struct mail_fetch_iter *it;
	const struct mail_record *rec;

	st_append(t, "INBOX", M(1), 0);
	view = st_view(t, "INBOX", 0);
	st_tick();
	/* delivered out of order: UIDs follow the delivery time in the names */
	st_deliver(t, ".", "1700000002.M5P9.other", M(3));
	st_deliver(t, ".", "1700000001.M7P9.other", M(2));
	/* a file mutt put straight into cur/, read */
	st_run("printf 'Subject: m4\\r\\n\\r\\nx\\r\\n' > %s/cur/1700000003.M1P1.mutt:2,S", t->root);
	c = st_sync(t, view, 0);
	assert_true(c.exists_changed);
	assert_int_equal(c.exists, 4);
	assert_int_equal(st_count_files(t, "new"), 0);
	assert_int_equal(uid_of_file(t, "1700000001.M7P9.other,U=2:2,"), 2);
	assert_int_equal(uid_of_file(t, "1700000002.M5P9.other,U=3:2,"), 3);
	assert_int_equal(uid_of_file(t, "1700000003.M1P1.mutt,U=4:2,S"), 4);
	it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_FLAGS | MAIL_FETCH_ENVELOPE, 0);
	assert_true(mailbox_fetch_next(it, &rec));
	assert_true(mailbox_fetch_next(it, &rec));
	assert_non_null(strstr(rec->envelope, "\"m2\""));
	assert_true(rec->recent);
	assert_true(mailbox_fetch_next(it, &rec));
	assert_true(mailbox_fetch_next(it, &rec));
	assert_int_equal(rec->flags, MAIL_SEEN);
	assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	mailbox_close(&view);
}

static void test_removed_and_renamed(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mailbox_changes c;
	uint64_t modseq;

	st_append(t, "INBOX", M(1), 0);
	st_append(t, "INBOX", M(2), 0);
	st_append(t, "INBOX", M(3), 0);
	view = st_view(t, "INBOX", 0);
	modseq = st_sync(t, view, 0).highestmodseq;
	st_tick();
	/* mutt: reads 1 (rename to :2,S), deletes 2 */
	st_run("cd %s/cur && mv *,U=1:2, \"$(ls *,U=1:2, | sed 's/:2,$/:2,FS/')\"", t->root);
	st_run("rm %s/cur/*,U=2:2,", t->root);
	c = st_sync(t, view, 0);
	assert_int_equal(c.expunge_count, 1);
	assert_int_equal(c.expunges[0].uid, 2);
	assert_int_equal(c.expunges[0].seq, 2);
	assert_int_equal(c.update_count, 1);
	assert_int_equal(c.updates[0].uid, 1);
	assert_int_equal(c.updates[0].seq, 1);
	assert_int_equal(c.updates[0].flags, MAIL_SEEN | MAIL_FLAGGED);
	assert_true(c.updates[0].modseq > modseq);
	assert_true(c.highestmodseq > modseq);
	/* nothing more the next time */
	c = st_sync(t, view, 0);
	assert_int_equal(c.expunge_count + c.update_count, 0);
	mailbox_close(&view);
}

static void test_duplicate_and_restored(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mailbox_changes c;
	struct mail_fetch_iter *it;
	const struct mail_record *rec;
	char guids[4][MAIL_GUID_LEN + 1];
	unsigned int n = 0;

	st_append(t, "INBOX", M(1), 0);
	st_append(t, "INBOX", M(2), 0);
	view = st_view(t, "INBOX", 0);
	st_tick();
	/* keep a copy of 2 (a backup), then expunge it */
	st_run("cp %s/cur/*,U=2:2, %s/backup", t->root, t->dir);
	st_run("rm %s/cur/*,U=2:2,", t->root);
	c = st_sync(t, view, 0);
	assert_int_equal(c.expunge_count, 1);
	st_tick();
	/* the restore brings it back with U=2: a UID may never be reused */
	st_run("cp %s/backup %s/cur/$(basename $(ls %s/cur/*,U=1:2, | sed 's/U=1:/U=2:/'))",
	       t->dir, t->root, t->root);
	/* a duplicate of 1 under another name (same base, other flags) */
	st_run("cd %s/cur && cp *,U=1:2, \"$(ls *,U=1:2, | sed 's/:2,$/:2,S/')\"", t->root);
	c = st_sync(t, view, 0);
	assert_int_equal(c.exists, 3);
	assert_int_equal(mailbox_seq_to_uid(view, 1), 1);
	assert_int_equal(mailbox_seq_to_uid(view, 2), 3);
	assert_int_equal(mailbox_seq_to_uid(view, 3), 4);
	assert_int_equal(st_count_files(t, "cur"), 3);
	it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_GUID, 0);
	while (mailbox_fetch_next(it, &rec))
		strcpy(guids[n++], rec->guid);
	assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	assert_int_equal(n, 3);
	/* GUIDs stay unique in a folder */
	assert_string_not_equal(guids[0], guids[1]);
	assert_string_not_equal(guids[0], guids[2]);
	assert_string_not_equal(guids[1], guids[2]);
	mailbox_close(&view);
}

static void test_crash_before_commit(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mail_status st;

	st_append(t, "INBOX", M(1), 0);
	view = st_view(t, "INBOX", 0);
	st_tick();
	/* a file renamed with U=7 whose index commit never happened */
	st_run("printf 'Subject: lost\\r\\n\\r\\nx\\r\\n' > %s/cur/1700000009.M1P1.host,U=7:2,R",
	       t->root);
	st_sync(t, view, 0);
	assert_int_equal(mailbox_last_uid(view), 7);
	assert_int_equal(mail_folder_status(t->user, "INBOX", MAIL_STATUS_UIDNEXT, &st,
					    &t->error), 0);
	assert_int_equal(st.uidnext, 8);
	assert_int_equal(st_append(t, "INBOX", M(2), 0), 8);
	mailbox_close(&view);
}

static void test_keywords_by_hand(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mailbox_changes c;

	st_append(t, "INBOX", M(1), 0);
	view = st_view(t, "INBOX", 0);
	st_tick();
	/* another program defines keyword b and sets it (and P) */
	st_run("printf '1 Project\\n' > %s/dovecot-keywords", t->root);
	st_run("cd %s/cur && mv *,U=1:2, \"$(ls *,U=1:2, | sed 's/:2,$/:2,Pb/')\"", t->root);
	c = st_sync(t, view, 0);
	assert_int_equal(c.update_count, 1);
	assert_int_equal(c.updates[0].keyword_count, 2);
	assert_string_equal(c.updates[0].keywords[0], "$Forwarded");
	assert_string_equal(c.updates[0].keywords[1], "Project");
	assert_true(c.keywords_changed);
	mailbox_close(&view);
}

static void test_folders_by_hand(void **state)
{
	struct store_test *t = *state;
	struct mail_folder_info *f;
	struct mail_status st;
	unsigned int n, i;
	bool found = false;

	st_tick();
	st_run("mkdir -p %s/.Lists.tern/cur %s/.Lists.tern/new %s/.Lists.tern/tmp", t->root,
	       t->root, t->root);
	st_run("printf 'Subject: l\\r\\n\\r\\nx\\r\\n' > %s/.Lists.tern/new/1700000000.M1P1.h",
	       t->root);
	/* not canonical, not ours: ignored */
	st_run("mkdir -p %s/.weird..name/cur", t->root);
	assert_int_equal(mail_folder_list(t->user, t->arena, &f, &n, &t->error), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(f[i].name, "Lists/tern") == 0)
			found = true;
		assert_null(strstr(f[i].name, "weird"));
	}
	assert_true(found);
	assert_int_equal(mail_folder_status(t->user, "Lists/tern", MAIL_STATUS_MESSAGES |
					    MAIL_STATUS_UIDNEXT, &st, &t->error), 0);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.uidnext, 2);
	st_tick();
	st_run("rm -rf %s/.Lists.tern", t->root);
	assert_int_equal(mail_folder_status(t->user, "Lists/tern", MAIL_STATUS_MESSAGES, &st,
					    &t->error), -1);
	assert_int_equal(mail_folder_list(t->user, t->arena, &f, &n, &t->error), 0);
	for (i = 0; i < n; i++)
		assert_true(strcmp(f[i].name, "Lists/tern") != 0 ||
			    (f[i].flags & MAIL_FOLDER_NONEXISTENT) != 0);
}

/* Junk in new/ and cur/ (a directory, a dangling symlink) is left alone
   and does not stop the mailbox. */
static void test_junk_skipped(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mailbox_changes c;

	st_append(t, "INBOX", M(1), 0);
	view = st_view(t, "INBOX", 0);
	st_tick();
	st_run("mkdir %s/new/1700000000.M1P1.dir && ln -s /nonexistent %s/cur/1700000000.M2P1.link",
	       t->root, t->root);
	st_deliver(t, ".", "1700000001.M3P1.mda", M(2));
	c = st_sync(t, view, 0);
	assert_int_equal(c.exists, 2);
	st_run("test -d %s/new/1700000000.M1P1.dir", t->root);
	mailbox_close(&view);
}

/* A view whose folder directory vanishes gets GONE. */
static void test_folder_gone(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view = st_view(t, "Junk", 0);
	struct mailbox_changes c;

	st_run("rm -rf %s/.Junk", t->root);
	assert_int_equal(mailbox_sync(view, 0, t->arena, &c, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_GONE);
	mailbox_close(&view);
	view = st_view(t, "Trash", 0);
	assert_int_equal(mail_folder_delete(t->user, "Trash", &t->error), 0);
	assert_int_equal(mailbox_sync(view, 0, t->arena, &c, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_GONE);
	mailbox_close(&view);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_added_in_new_and_cur, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_removed_and_renamed, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_and_restored, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_commit, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_keywords_by_hand, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_folders_by_hand, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_folder_gone, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_junk_skipped, st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
