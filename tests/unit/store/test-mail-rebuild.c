/*
 * Rebuilding the index (src/store/mail-rebuild.c): deleted, corrupted and
 * truncated index files, missing tern-uidlist files, a rebuild on demand
 * while a view is open, MODSEQ never going back.
 */
#include "store-test.h"

#define M(n) "Subject: m" #n "\r\n\r\nbody " #n "\r\n"

struct snapshot {
	uint32_t uidvalidity[3];
	char flags[3][512];
	uint64_t modseq;
	unsigned int special_use;
};

static const char *const folders[] = { "INBOX", "Work/2026", "Sent" };

/* Every message of the folder as "uid:flags:keywords:guid;". */
static void describe(struct store_test *t, const char *folder, char *out, size_t size)
{
	struct mailbox_view *view = st_view(t, folder, MAILBOX_OPEN_READONLY);
	struct mail_fetch_iter *it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_FLAGS |
							 MAIL_FETCH_GUID, 0);
	const struct mail_record *rec;
	unsigned int i;

	out[0] = '\0';
	while (mailbox_fetch_next(it, &rec)) {
		snprintf(out + strlen(out), size - strlen(out), "%u:%u:", rec->uid, rec->flags);
		for (i = 0; i < rec->keyword_count; i++)
			snprintf(out + strlen(out), size - strlen(out), "%s,", rec->keywords[i]);
		snprintf(out + strlen(out), size - strlen(out), ":%.8s;", rec->guid);
	}
	assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	mailbox_close(&view);
}

static void snap(struct store_test *t, struct snapshot *s)
{
	struct mail_status st;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(folders); i++) {
		assert_int_equal(mail_folder_status(t->user, folders[i], MAIL_STATUS_UIDVALIDITY |
						    MAIL_STATUS_HIGHESTMODSEQ, &st, &t->error), 0);
		s->uidvalidity[i] = st.uidvalidity;
		if (i == 0)
			s->modseq = st.highestmodseq;
		if (i == 2)
			s->special_use = st.special_use;
		describe(t, folders[i], s->flags[i], sizeof(s->flags[i]));
	}
}

static void populate(struct store_test *t)
{
	struct mailbox_view *view;
	struct mail_flags_result *res;
	struct mailbox_expunge *ex;
	uint32_t *mod;
	unsigned int nres, nmod, i;
	const char *kw[] = { "Later" };
	struct mail_flags_change ch = { .op = MAIL_FLAGS_ADD, .flags = MAIL_FLAGGED,
					.keywords = kw, .keyword_count = 1 };
	struct mail_uid_range r = { 2, 3 }, one = { 1, 1 };

	assert_int_equal(mail_folder_create(t->user, "Work/2026", 0, &t->error), 0);
	for (i = 0; i < 4; i++)
		st_append(t, "INBOX", M(1), i == 0 ? MAIL_SEEN : 0);
	st_append(t, "Work/2026", M(2), MAIL_ANSWERED);
	st_append(t, "Sent", M(3), MAIL_SEEN);
	view = st_view(t, "INBOX", 0);
	assert_int_equal(mailbox_store(view, &r, 1, &ch, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), 0);
	ch.flags = MAIL_DELETED;
	ch.keyword_count = 0;
	assert_int_equal(mailbox_store(view, &one, 1, &ch, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), 0);
	assert_int_equal(mailbox_expunge(view, NULL, 0, t->arena, &ex, &nres, &t->error), 0);
	mailbox_close(&view);
	/* a message delivered and never seen by a session stays in new/ */
	st_deliver(t, ".", "1700000005.M1P1.host", M(9));
	assert_int_equal(mail_folder_subscribe(t->user, "Work/2026", true, &t->error), 0);
}

static void check_same(struct store_test *t, const struct snapshot *before)
{
	struct snapshot after;
	unsigned int i;
	struct mail_folder_info *f;
	unsigned int n;
	bool sub = false;

	memset(&after, 0, sizeof(after));
	snap(t, &after);
	for (i = 0; i < N_ELEMENTS(folders); i++) {
		assert_int_equal(after.uidvalidity[i], before->uidvalidity[i]);
		assert_string_equal(after.flags[i], before->flags[i]);
	}
	assert_true(after.modseq > before->modseq);
	assert_int_equal(after.special_use, MAIL_SPECIAL_SENT);
	assert_int_equal(mail_folder_list(t->user, t->arena, &f, &n, &t->error), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(f[i].name, "Work/2026") == 0)
			sub = (f[i].flags & MAIL_FOLDER_SUBSCRIBED) != 0;
	}
	assert_true(sub);
}

static void test_index_deleted(void **state)
{
	struct store_test *t = *state;
	struct snapshot before;

	populate(t);
	memset(&before, 0, sizeof(before));
	snap(t, &before);
	/* the message in new/ was taken in by snap's STATUS */
	assert_non_null(strstr(before.flags[0], "5:0::"));
	st_close_all(t);
	st_run("rm %s/tern-index.db*", t->root);
	st_store_open(t);
	st_user_open(t);
	check_same(t, &before);
}

static void test_index_corrupt(void **state)
{
	struct store_test *t = *state;
	struct snapshot before;
	static const char *const damage[] = {
		"dd if=/dev/urandom of=tern-index.db bs=1024 count=8 conv=notrunc 2>/dev/null",
		"truncate -s 3000 tern-index.db",
		"echo garbage > tern-index.db",
	};
	unsigned int i;

	populate(t);
	memset(&before, 0, sizeof(before));
	snap(t, &before);
	for (i = 0; i < N_ELEMENTS(damage); i++) {
		st_close_all(t);
		st_run("rm -f %s/tern-index.db-wal %s/tern-index.db-shm", t->root, t->root);
		st_run("cd %s && %s", t->root, damage[i]);
		st_store_open(t);
		st_user_open(t);
		check_same(t, &before);
		snap(t, &before);
	}
	/* the damaged files were kept aside */
	st_run("ls %s/tern-index.db.corrupt-* > /dev/null", t->root);
}

static void test_uidlist_missing(void **state)
{
	struct store_test *t = *state;
	struct snapshot before, after;

	populate(t);
	memset(&before, 0, sizeof(before));
	snap(t, &before);
	/* with the index: nothing is lost, the file comes back */
	st_run("rm %s/tern-uidlist", t->root);
	assert_int_equal(st_append(t, "INBOX", M(4), 0), 6);
	st_run("test -s %s/tern-uidlist", t->root);
	/* without either: a new UIDVALIDITY, every message renumbered */
	snap(t, &before);
	st_close_all(t);
	st_run("rm %s/tern-index.db* %s/.Work.2026/tern-uidlist", t->root, t->root);
	st_store_open(t);
	st_user_open(t);
	memset(&after, 0, sizeof(after));
	snap(t, &after);
	assert_int_equal(after.uidvalidity[0], before.uidvalidity[0]);
	assert_true(after.uidvalidity[1] != before.uidvalidity[1]);
	assert_true(after.uidvalidity[1] != after.uidvalidity[0]);
	assert_true(strncmp(after.flags[1], "1:2::", 5) == 0);
	st_run("ls %s/.Work.2026/cur/*,U=1:2,R > /dev/null", t->root);
}

static void test_rebuild_with_view_open(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mailbox_changes c;
	struct mail_rebuild_stats stats;
	struct mail_store *cli;
	struct mail_store_settings set = { .data_dir = t->dir, .no_background_thread = true };
	struct snapshot before;

	populate(t);
	memset(&before, 0, sizeof(before));
	snap(t, &before);
	view = st_view(t, "INBOX", 0);
	st_tick();
	st_run("rm %s/cur/*,U=3:*", t->root);
	/* `tern mailbox rebuild` in another process: another store object */
	assert_int_equal(mail_store_create(&set, &cli, &t->error), 0);
	assert_int_equal(mail_user_rebuild(cli, TEST_USER, &stats, &t->error), 0);
	mail_store_destroy(&cli);
	assert_int_equal(stats.folders, 8);
	assert_int_equal(stats.messages, 5);
	assert_int_equal(stats.new_uids, 0);
	assert_int_equal(stats.new_uidvalidity, 0);
	c = st_sync(t, view, 0);
	assert_int_equal(c.expunge_count, 1);
	assert_int_equal(c.expunges[0].uid, 3);
	assert_int_equal(mailbox_count(view), 3);
	c = st_sync(t, view, 0);
	assert_int_equal(c.expunge_count + c.update_count, 0);
	mailbox_close(&view);
	{
		struct mail_status st;

		assert_int_equal(mail_folder_status(t->user, "INBOX", MAIL_STATUS_HIGHESTMODSEQ |
						    MAIL_STATUS_UIDVALIDITY, &st, &t->error), 0);
		assert_true(st.highestmodseq > before.modseq);
		assert_int_equal(st.uidvalidity, before.uidvalidity[0]);
	}
	/* no mailbox at all */
	assert_int_equal(mail_store_create(&set, &cli, &t->error), 0);
	assert_int_equal(mail_user_rebuild(cli, "nobody@example.test", &stats, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTFOUND);
	mail_store_destroy(&cli);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_index_deleted, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_index_corrupt, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_uidlist_missing, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_with_view_open, st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
