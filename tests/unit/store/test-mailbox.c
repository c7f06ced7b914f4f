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

static unsigned int info_flags(struct store_test *t, const char *name)
{
	struct mail_folder_info *f;
	unsigned int n, i;

	assert_int_equal(mail_folder_list(t->user, t->arena, &f, &n, &t->error), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(f[i].name, name) == 0)
			return f[i].flags | 0x100;   /* 0x100: listed */
	}
	return 0;
}

static uint32_t uidvalidity_of(struct store_test *t, const char *name)
{
	struct mail_status st;

	if (mail_folder_status(t->user, name, MAIL_STATUS_UIDVALIDITY, &st, &t->error) < 0)
		fail_msg("status %s: %s", name, t->error.text);
	return st.uidvalidity;
}

static void test_folders(void **state)
{
	struct store_test *t = *state;
	char path[512];
	uint32_t v;

	assert_int_equal(mail_folder_create(t->user, "a/b/c", 0, &t->error), 0);
	assert_int_equal(info_flags(t, "a"), 0x100 | MAIL_FOLDER_HAS_CHILDREN);
	assert_int_equal(info_flags(t, "a/b/c"), 0x100);
	assert_int_equal(mail_folder_create(t->user, "a/b", 0, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_EXISTS);
	assert_int_equal(mail_folder_create(t->user, "inbox", 0, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_EXISTS);
	assert_int_equal(mail_folder_create(t->user, "x//y", 0, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_PARAMS);
	assert_int_equal(mail_folder_create(t->user, "bad\tname", 0, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_PARAMS);
	/* "foo/" creates foo (RFC 3501 6.3.3) */
	assert_int_equal(mail_folder_create(t->user, "foo/", 0, &t->error), 0);
	assert_int_equal(info_flags(t, "foo"), 0x100);

	/* on disk: modified UTF-7, "." and "%" escaped */
	assert_int_equal(mail_folder_create(t->user, "Caf\xc3\xa9/\xc3\x9c" "bung", 0, &t->error), 0);
	snprintf(path, sizeof(path), "%s/.Caf&AOk-.&ANw-bung/cur", t->root);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(mail_folder_create(t->user, "v1.2 50%", 0, &t->error), 0);
	snprintf(path, sizeof(path), "%s/.v1%%2E2 50%%25/cur", t->root);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(info_flags(t, "v1.2 50%"), 0x100);

	/* rename keeps UIDVALIDITY and moves the children */
	st_append(t, "a/b", MSG1, 0);
	v = uidvalidity_of(t, "a/b");
	assert_int_equal(mail_folder_rename(t->user, "a", "z/a", &t->error), 0);
	assert_int_equal(info_flags(t, "a"), 0);
	assert_int_equal(uidvalidity_of(t, "z/a/b"), v);
	assert_int_equal(info_flags(t, "z/a/b/c"), 0x100);
	assert_int_equal(info_flags(t, "z"), 0x100 | MAIL_FOLDER_HAS_CHILDREN);
	{
		struct mail_status st;

		assert_int_equal(mail_folder_status(t->user, "z/a/b", MAIL_STATUS_MESSAGES, &st,
						    &t->error), 0);
		assert_int_equal(st.messages, 1);
	}
	assert_int_equal(mail_folder_rename(t->user, "z/a", "z/a/b/c/d", &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTPOSSIBLE);
	assert_int_equal(mail_folder_rename(t->user, "z/a", "foo", &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_EXISTS);
	assert_int_equal(mail_folder_rename(t->user, "nothere", "bar", &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTFOUND);

	/* delete with children: the name stays as a \Noselect parent */
	assert_int_equal(mail_folder_delete(t->user, "z/a", &t->error), 0);
	assert_int_equal(info_flags(t, "z/a"),
			 0x100 | MAIL_FOLDER_NONEXISTENT | MAIL_FOLDER_HAS_CHILDREN);
	assert_int_equal(mail_folder_delete(t->user, "z/a", &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTFOUND);
	{
		struct mailbox_view *view;

		assert_int_equal(mailbox_open(t->user, "z/a", 0, &view, &t->error), -1);
		assert_int_equal(t->error.code, MAIL_ERROR_NOTPOSSIBLE);
	}
	assert_int_equal(mail_folder_delete(t->user, "INBOX", &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTPOSSIBLE);

	/* UIDVALIDITY is never reused for a name */
	v = uidvalidity_of(t, "foo");
	assert_int_equal(mail_folder_delete(t->user, "foo", &t->error), 0);
	assert_int_equal(mail_folder_create(t->user, "foo", 0, &t->error), 0);
	assert_true(uidvalidity_of(t, "foo") > v);

	/* subscriptions may name nothing */
	assert_int_equal(mail_folder_subscribe(t->user, "ghost/x", true, &t->error), 0);
	assert_int_equal(info_flags(t, "ghost/x"),
			 0x100 | MAIL_FOLDER_NONEXISTENT | MAIL_FOLDER_SUBSCRIBED);
	assert_int_equal(mail_folder_subscribe(t->user, "ghost/x", false, &t->error), 0);
	assert_int_equal(info_flags(t, "ghost/x"), 0);
	assert_int_equal(mail_folder_subscribe(t->user, "foo", true, &t->error), 0);
	st_restart(t);
	assert_int_equal(info_flags(t, "foo"), 0x100 | MAIL_FOLDER_SUBSCRIBED);

	/* special use by CREATE-SPECIAL-USE */
	assert_int_equal(mail_folder_create(t->user, "Everything", MAIL_SPECIAL_ALL, &t->error), 0);
	{
		struct mail_status st;

		assert_int_equal(mail_folder_status(t->user, "Everything", 0, &st, &t->error), 0);
		assert_int_equal(st.special_use, MAIL_SPECIAL_ALL);
	}
	assert_int_equal(mail_special_use_parse("\\sent"), MAIL_SPECIAL_SENT);
	assert_string_equal(mail_special_use_name(MAIL_SPECIAL_JUNK), "\\Junk");
}

static void test_status(void **state)
{
	struct store_test *t = *state;
	struct mail_status st;
	struct mailbox_view *view;
	unsigned int all = MAIL_STATUS_MESSAGES | MAIL_STATUS_RECENT | MAIL_STATUS_UIDNEXT |
		MAIL_STATUS_UIDVALIDITY | MAIL_STATUS_UNSEEN | MAIL_STATUS_SIZE |
		MAIL_STATUS_HIGHESTMODSEQ | MAIL_STATUS_DELETED;
	uint64_t m1;

	st_append(t, "INBOX", MSG1, MAIL_SEEN);
	st_append(t, "INBOX", MSG2, MAIL_DELETED);
	st_deliver(t, ".", "1700000000.M1P1.host", MSG3);
	assert_int_equal(mail_folder_status(t->user, "INBOX", all, &st, &t->error), 0);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.recent, 3);
	assert_int_equal(st.unseen, 2);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(st.uidnext, 4);
	assert_int_equal(st.size, strlen(MSG1) + strlen(MSG2) + strlen(MSG3));
	assert_true(st.uidvalidity > 0);
	m1 = st.highestmodseq;
	/* a read-write view claims \Recent: no more left for others */
	view = st_view(t, "INBOX", 0);
	assert_int_equal(mailbox_recent_count(view), 3);
	assert_int_equal(mail_folder_status(t->user, "INBOX", all, &st, &t->error), 0);
	assert_int_equal(st.recent, 0);
	assert_int_equal(st.highestmodseq, m1);
	mailbox_close(&view);
	assert_int_equal(mail_folder_status(t->user, "nothere", all, &st, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTFOUND);
}

static void test_inbox_rename(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mailbox_changes c;
	struct mail_status st;
	uint32_t inbox_v = uidvalidity_of(t, "INBOX");

	st_append(t, "INBOX", MSG1, MAIL_SEEN);
	st_append(t, "INBOX", MSG2, 0);
	view = st_view(t, "INBOX", 0);
	assert_int_equal(mail_folder_rename(t->user, "INBOX", "Old/Mail", &t->error), 0);
	c = st_sync(t, view, 0);
	assert_int_equal(c.expunge_count, 2);
	assert_int_equal(mailbox_count(view), 0);
	mailbox_close(&view);
	assert_int_equal(mail_folder_status(t->user, "INBOX", MAIL_STATUS_MESSAGES |
					    MAIL_STATUS_UIDNEXT | MAIL_STATUS_UIDVALIDITY, &st,
					    &t->error), 0);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.uidnext, 3);
	assert_int_equal(st.uidvalidity, inbox_v);
	assert_int_equal(mail_folder_status(t->user, "Old/Mail", MAIL_STATUS_MESSAGES |
					    MAIL_STATUS_UNSEEN | MAIL_STATUS_UIDVALIDITY, &st,
					    &t->error), 0);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.unseen, 1);
	assert_true(st.uidvalidity != inbox_v);
	assert_int_equal(st_count_files(t, "cur"), 0);
	/* INBOX keeps working */
	assert_int_equal(st_append(t, "INBOX", MSG3, 0), 3);
}

static void fetch_flags(struct store_test *t, struct mailbox_view *view, uint32_t uid,
			unsigned int *flags_r, const char **kw_r)
{
	struct mail_uid_range r = { uid, uid };
	struct mail_fetch_iter *it = mailbox_fetch_begin(view, &r, 1, MAIL_FETCH_FLAGS, 0);
	const struct mail_record *rec;
	static char kw[512];
	unsigned int i;

	assert_true(mailbox_fetch_next(it, &rec));
	*flags_r = rec->flags;
	kw[0] = '\0';
	for (i = 0; i < rec->keyword_count; i++) {
		strcat(kw, i > 0 ? " " : "");
		strcat(kw, rec->keywords[i]);
	}
	*kw_r = kw;
	assert_false(mailbox_fetch_next(it, &rec));
	assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
}

static void test_store_flags(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mail_flags_result *res;
	uint32_t *mod;
	unsigned int nres, nmod, flags, i;
	const char *kw;
	const char *kws[] = { "Junk", "$Label1" };
	struct mail_uid_range all = { 1, 3 };
	struct mail_flags_change ch;
	uint64_t modseq;
	char path[512], buf[256];
	FILE *f;
	size_t n;

	st_append(t, "INBOX", MSG1, 0);
	st_append(t, "INBOX", MSG2, 0);
	st_append(t, "INBOX", MSG3, 0);
	view = st_view(t, "INBOX", 0);
	modseq = 0;
	memset(&ch, 0, sizeof(ch));
	ch.op = MAIL_FLAGS_ADD;
	ch.flags = MAIL_SEEN | MAIL_FLAGGED;
	ch.keywords = kws;
	ch.keyword_count = 2;
	assert_int_equal(mailbox_store(view, &all, 1, &ch, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), 0);
	assert_int_equal(nres, 3);
	assert_int_equal(nmod, 0);
	for (i = 0; i < nres; i++) {
		assert_int_equal(res[i].seq, i + 1);
		assert_true(res[i].changed);
		assert_int_equal(res[i].flags, MAIL_SEEN | MAIL_FLAGGED);
		assert_int_equal(res[i].keyword_count, 2);
		modseq = res[i].modseq;
	}
	fetch_flags(t, view, 2, &flags, &kw);
	assert_int_equal(flags, MAIL_SEEN | MAIL_FLAGGED);
	assert_string_equal(kw, "Junk $Label1");
	/* the file names carry them: F S and letters a b */
	assert_non_null(strstr(st_ls(t, "cur"), ",U=2:2,FSab "));
	snprintf(path, sizeof(path), "%s/dovecot-keywords", t->root);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, "0 Junk\n1 $Label1\n");

	/* remove one flag from one message; $Forwarded is Maildir P */
	{
		struct mail_uid_range one = { 2, 2 };
		const char *fw[] = { "$forwarded" };

		ch.op = MAIL_FLAGS_REMOVE;
		ch.flags = MAIL_FLAGGED;
		ch.keyword_count = 0;
		assert_int_equal(mailbox_store(view, &one, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), 0);
		assert_int_equal(nres, 1);
		assert_true(res[0].modseq > modseq);
		ch.op = MAIL_FLAGS_ADD;
		ch.flags = 0;
		ch.keywords = fw;
		ch.keyword_count = 1;
		assert_int_equal(mailbox_store(view, &one, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), 0);
		assert_non_null(strstr(st_ls(t, "cur"), ",U=2:2,PSab "));
		fetch_flags(t, view, 2, &flags, &kw);
		assert_int_equal(flags, MAIL_SEEN);
		assert_string_equal(kw, "$Forwarded Junk $Label1");
		/* a no-op store changes nothing */
		modseq = res[0].modseq;
		assert_int_equal(mailbox_store(view, &one, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), 0);
		assert_false(res[0].changed);
		assert_int_equal(res[0].modseq, modseq);
	}
	/* UNCHANGEDSINCE (RFC 7162) */
	{
		struct mail_uid_range two = { 1, 2 };

		ch.op = MAIL_FLAGS_REPLACE;
		ch.flags = MAIL_ANSWERED;
		ch.keyword_count = 0;
		ch.unchanged_since = modseq - 1;
		assert_int_equal(mailbox_store(view, &two, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), 0);
		assert_int_equal(nres, 1);
		assert_int_equal(res[0].uid, 1);
		assert_int_equal(nmod, 1);
		assert_int_equal(mod[0], 2);
		ch.unchanged_since = 0;
	}
	/* the keyword limit: 26 letters */
	{
		const char *many[30];
		char names[30][16];

		for (i = 0; i < 30; i++) {
			snprintf(names[i], sizeof(names[i]), "kw%u", i);
			many[i] = names[i];
		}
		ch.op = MAIL_FLAGS_ADD;
		ch.keywords = many;
		ch.keyword_count = 24;
		assert_int_equal(mailbox_store(view, &all, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), 0);
		ch.keywords = many + 24;
		ch.keyword_count = 1;
		assert_int_equal(mailbox_store(view, &all, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), -1);
		assert_int_equal(t->error.code, MAIL_ERROR_LIMIT);
		ch.keywords = (const char *[]){ "bad keyword" };
		assert_int_equal(mailbox_store(view, &all, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), -1);
		assert_int_equal(t->error.code, MAIL_ERROR_PARAMS);
	}
	mailbox_close(&view);
	/* read-only views cannot store */
	view = st_view(t, "INBOX", MAILBOX_OPEN_READONLY);
	ch.keyword_count = 0;
	assert_int_equal(mailbox_store(view, &all, 1, &ch, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTPOSSIBLE);
	mailbox_close(&view);
}

static void test_expunge_two_views(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *a, *b;
	struct mailbox_changes c;
	struct mailbox_expunge *ex;
	struct mail_flags_result *res;
	struct mail_file *file;
	uint32_t *mod;
	unsigned int n, nres, nmod, i;
	struct mail_flags_change ch = { .op = MAIL_FLAGS_ADD, .flags = MAIL_DELETED };
	struct mail_uid_range r24[] = { { 2, 2 }, { 4, 4 } };

	for (i = 0; i < 5; i++)
		st_append(t, "INBOX", MSG1, 0);
	a = st_view(t, "INBOX", 0);
	b = st_view(t, "INBOX", 0);
	/* \Recent in exactly one view */
	assert_int_equal(mailbox_recent_count(a), 5);
	assert_int_equal(mailbox_recent_count(b), 0);

	assert_int_equal(mailbox_store(a, r24, 2, &ch, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), 0);
	/* a's own change is not reported back to a; b hears of it */
	c = st_sync(t, a, 0);
	assert_int_equal(c.update_count, 0);
	c = st_sync(t, b, 0);
	assert_int_equal(c.update_count, 2);
	assert_int_equal(c.updates[0].seq, 2);
	assert_int_equal(c.updates[1].seq, 4);
	assert_int_equal(c.updates[1].flags, MAIL_DELETED);

	/* a expunges 2 and 4: told directly, highest seq first */
	assert_int_equal(mailbox_expunge(a, NULL, 0, t->arena, &ex, &n, &t->error), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ex[0].seq, 4);
	assert_int_equal(ex[1].seq, 2);
	assert_int_equal(mailbox_count(a), 3);
	assert_int_equal(st_count_files(t, "cur"), 3);

	/* b is in a FETCH: the expunges wait */
	c = st_sync(t, b, MAILBOX_SYNC_NO_EXPUNGES);
	assert_int_equal(c.expunge_count, 0);
	assert_int_equal(mailbox_count(b), 5);
	assert_true(mailbox_is_expunged(b, 2));
	assert_int_equal(mail_open(b, 2, &file, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_EXPUNGED);
	{
		struct mail_fetch_iter *it = mailbox_fetch_begin(b, NULL, 0, MAIL_FETCH_FLAGS, 0);
		const struct mail_record *rec;
		unsigned int k = 0, gone = 0;

		while (mailbox_fetch_next(it, &rec)) {
			k++;
			if (rec->expunged)
				gone++;
		}
		assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
		assert_int_equal(k, 5);
		assert_int_equal(gone, 2);
	}
	/* a flag change by a on a message after the expunged ones: b's seq
	   numbers are still those the client knows */
	{
		struct mail_uid_range five = { 5, 5 };

		ch.flags = MAIL_FLAGGED;
		assert_int_equal(mailbox_store(a, &five, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), 0);
		assert_int_equal(res[0].seq, 3);
	}
	c = st_sync(t, b, MAILBOX_SYNC_NO_EXPUNGES);
	assert_int_equal(c.update_count, 1);
	assert_int_equal(c.updates[0].seq, 5);
	/* then they may be sent */
	c = st_sync(t, b, 0);
	assert_int_equal(c.expunge_count, 2);
	assert_int_equal(c.expunges[0].seq, 4);
	assert_int_equal(c.expunges[0].uid, 4);
	assert_int_equal(c.expunges[1].seq, 2);
	assert_int_equal(mailbox_count(b), 3);
	assert_int_equal(mailbox_seq_to_uid(b, 3), 5);
	assert_false(c.exists_changed);

	/* new mail: both see it, \Recent in one */
	st_append(t, "INBOX", MSG2, 0);
	c = st_sync(t, b, 0);
	assert_true(c.exists_changed);
	assert_int_equal(c.exists, 4);
	assert_int_equal(mailbox_recent_count(b), 1);
	c = st_sync(t, a, 0);
	assert_int_equal(c.exists, 4);
	assert_int_equal(mailbox_recent_count(a), 3);
	assert_false(mailbox_is_recent(a, 6));
	assert_true(mailbox_is_recent(b, 6));

	/* UID EXPUNGE touches only the set */
	ch.flags = MAIL_DELETED;
	{
		struct mail_uid_range r = { 1, 6 }, one = { 1, 1 };

		assert_int_equal(mailbox_store(a, &r, 1, &ch, t->arena, &res, &nres, &mod, &nmod,
					       &t->error), 0);
		assert_int_equal(mailbox_expunge(a, &one, 1, t->arena, &ex, &n, &t->error), 0);
		assert_int_equal(n, 1);
		assert_int_equal(ex[0].uid, 1);
	}
	mailbox_close(&a);
	mailbox_close(&b);
}

/* POP3's UPDATE state: the messages named go whatever their flags; the
   others stay, \Deleted or not; another view hears of it at its sync */
static void test_expunge_uids(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *pop, *imap;
	struct mailbox_changes c;
	struct mailbox_expunge *ex;
	struct mail_flags_result *res;
	uint32_t *mod;
	unsigned int n, nres, nmod, i;
	struct mail_flags_change del = { .op = MAIL_FLAGS_ADD, .flags = MAIL_DELETED };
	struct mail_uid_range four = { 4, 4 }, gone[] = { { 1, 2 }, { 5, 5 } };

	for (i = 0; i < 5; i++)
		st_append(t, "INBOX", MSG1, i == 0 ? MAIL_SEEN : 0);
	pop = st_view(t, "INBOX", MAILBOX_OPEN_NO_RECENT);
	imap = st_view(t, "INBOX", 0);
	assert_int_equal(mailbox_recent_count(pop), 0);
	/* \Deleted by someone else on a message POP3 keeps */
	assert_int_equal(mailbox_store(imap, &four, 1, &del, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), 0);
	assert_int_equal(mailbox_expunge_uids(pop, gone, 2, t->arena, &ex, &n, &t->error), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ex[0].uid, 5);
	assert_int_equal(ex[1].uid, 2);
	assert_int_equal(ex[2].uid, 1);
	assert_int_equal(mailbox_count(pop), 2);
	assert_int_equal(st_count_files(t, "cur"), 2);
	c = st_sync(t, imap, 0);
	assert_int_equal(c.expunge_count, 3);
	assert_int_equal(mailbox_count(imap), 2);
	assert_int_equal(mailbox_seq_to_uid(imap, 1), 3);
	assert_int_equal(mailbox_seq_to_uid(imap, 2), 4);
	/* nothing named: nothing happens */
	assert_int_equal(mailbox_expunge_uids(pop, &four, 0, t->arena, &ex, &n, &t->error), 0);
	assert_int_equal(n, 0);
	mailbox_close(&pop);
	mailbox_close(&imap);
}

/* Several messages opened at once, as one by one: found, expunged by
   another view, file gone, not in the view */
static void test_open_many(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *pop, *imap;
	struct mailbox_expunge *ex;
	struct mail_flags_result *res;
	struct mail_file *files[7];
	struct mail_error errors[7];
	struct mail_section sec;
	uint32_t *mod, uids[] = { 1, 2, 3, 4, 5, 6, 9 };
	unsigned int n, nres, nmod, i;
	struct mail_flags_change del = { .op = MAIL_FLAGS_ADD, .flags = MAIL_DELETED };
	struct mail_uid_range three = { 3, 3 };
	char msg[64];
	buf_t b;

	for (i = 1; i <= 6; i++) {
		snprintf(msg, sizeof(msg), "Subject: m%u\n\nbody %u\n", i, i);
		st_append(t, "INBOX", msg, 0);
	}
	pop = st_view(t, "INBOX", MAILBOX_OPEN_NO_RECENT);
	imap = st_view(t, "INBOX", 0);
	assert_int_equal(mailbox_store(imap, &three, 1, &del, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), 0);
	assert_int_equal(mailbox_expunge(imap, &three, 1, t->arena, &ex, &n, &t->error), 0);
	assert_int_equal(n, 1);
	st_run("rm %s/cur/*,U=5:*", t->root);

	assert_int_equal(mail_open_many(pop, uids, 7, files, errors), 4);
	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = 0; i < 7; i++) {
		if (uids[i] == 3) {
			assert_null(files[i]);
			assert_int_equal(errors[i].code, MAIL_ERROR_EXPUNGED);
		} else if (uids[i] == 5) {
			assert_null(files[i]);
			assert_int_equal(errors[i].code, MAIL_ERROR_CORRUPT);
		} else if (uids[i] == 9) {
			assert_null(files[i]);
			assert_int_equal(errors[i].code, MAIL_ERROR_NOTFOUND);
		} else {
			assert_non_null(files[i]);
			snprintf(msg, sizeof(msg), "Subject: m%u\r\n\r\nbody %u\r\n", uids[i], uids[i]);
			assert_int_equal(mail_file_size(files[i]), strlen(msg));
			assert_int_equal(mail_file_section(files[i], "", MAIL_SECTION_ALL, &sec,
							   &t->error), 0);
			buf_reset(&b);
			assert_int_equal(mail_file_read(files[i], &sec, 0, sec.size, &b, &t->error), 0);
			assert_memory_equal(b.data, msg, strlen(msg));
			mail_file_close(&files[i]);
		}
	}
	/* one message (the way of mail_open()), and another mixed set */
	{
		uint32_t one[] = { 4 }, spread[] = { 1, 3, 5, 6 };

		assert_int_equal(mail_open_many(pop, one, 1, files, errors), 1);
		mail_file_close(&files[0]);
		assert_int_equal(mail_open_many(pop, spread, 4, files, errors), 2);
		assert_non_null(files[0]);
		assert_int_equal(errors[1].code, MAIL_ERROR_EXPUNGED);
		assert_int_equal(errors[2].code, MAIL_ERROR_CORRUPT);
		assert_non_null(files[3]);
		mail_file_close(&files[0]);
		mail_file_close(&files[3]);
	}
	assert_int_equal(mail_open_many(pop, uids, 0, files, errors), 0);
	buf_free(&b);
	mailbox_close(&pop);
	mailbox_close(&imap);
}

static void test_copy_move(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view, *arch;
	struct mail_copy_result cr;
	struct mail_flags_result *res;
	uint32_t *mod;
	unsigned int nres, nmod, flags;
	const char *kw, *kws[] = { "Work" };
	struct mail_flags_change ch = { .op = MAIL_FLAGS_ADD, .flags = MAIL_FLAGGED,
					.keywords = kws, .keyword_count = 1 };
	struct mail_uid_range r = { 1, 3 }, two = { 2, 2 };
	char guid1[MAIL_GUID_LEN + 1], guid2[MAIL_GUID_LEN + 1];
	struct stat st;
	char path[1024];

	st_append(t, "INBOX", MSG1, MAIL_SEEN);
	st_append(t, "INBOX", MSG2, 0);
	st_append(t, "INBOX", MSG3, 0);
	/* Archive gets another keyword first: its letters differ */
	st_append(t, "Archive", MSG1, 0);
	arch = st_view(t, "Archive", 0);
	{
		const char *other[] = { "Other" };
		struct mail_flags_change c2 = { .op = MAIL_FLAGS_ADD, .keywords = other,
						.keyword_count = 1 };
		struct mail_uid_range one = { 1, 1 };

		assert_int_equal(mailbox_store(arch, &one, 1, &c2, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), 0);
	}
	view = st_view(t, "INBOX", 0);
	assert_int_equal(mailbox_store(view, &two, 1, &ch, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), 0);
	{
		struct mail_fetch_iter *it = mailbox_fetch_begin(view, &two, 1, MAIL_FETCH_GUID, 0);
		const struct mail_record *rec;

		assert_true(mailbox_fetch_next(it, &rec));
		strcpy(guid1, rec->guid);
		assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	}
	assert_int_equal(mailbox_copy(view, &r, 1, "Archive", false, t->arena, &cr, &t->error), 0);
	assert_int_equal(cr.count, 3);
	assert_int_equal(cr.src_uids[1], 2);
	assert_int_equal(cr.dest_uids[0], 2);
	assert_int_equal(cr.dest_uids[2], 4);
	assert_int_equal(cr.dest_uidvalidity, uidvalidity_of(t, "Archive"));
	assert_int_equal(cr.expunge_count, 0);
	assert_int_equal(mailbox_count(view), 3);
	st_sync(t, arch, 0);
	assert_int_equal(mailbox_count(arch), 4);
	fetch_flags(t, arch, 3, &flags, &kw);
	assert_int_equal(flags, MAIL_FLAGGED);
	assert_string_equal(kw, "Work");
	fetch_flags(t, arch, 2, &flags, &kw);
	assert_int_equal(flags, MAIL_SEEN);
	/* a copy is a hard link with a name (and GUID) of its own */
	snprintf(path, sizeof(path), "ls %s/.Archive/cur/*,U=3:2,* > /dev/null", t->root);
	st_run("%s", path);
	{
		struct mail_fetch_iter *it;
		const struct mail_record *rec;
		struct mail_uid_range three = { 3, 3 };

		it = mailbox_fetch_begin(arch, &three, 1, MAIL_FETCH_GUID | MAIL_FETCH_ENVELOPE, 0);
		assert_true(mailbox_fetch_next(it, &rec));
		assert_string_not_equal(rec->guid, guid1);
		assert_non_null(strstr(rec->envelope, "\"two\""));
		assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	}
	snprintf(path, sizeof(path), "%s/cur", t->root);
	{
		DIR *d = opendir(path);
		struct dirent *de;
		bool linked = false;

		while ((de = readdir(d)) != NULL) {
			char p2[2048];

			if (de->d_name[0] == '.')
				continue;
			snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
			assert_int_equal(stat(p2, &st), 0);
			if (st.st_nlink == 2)
				linked = true;
		}
		closedir(d);
		assert_true(linked);
	}

	/* MOVE: gone from the source at once, the GUID follows */
	assert_int_equal(mailbox_copy(view, &two, 1, "Trash", true, t->arena, &cr, &t->error), 0);
	assert_int_equal(cr.count, 1);
	assert_int_equal(cr.expunge_count, 1);
	assert_int_equal(cr.expunges[0].seq, 2);
	assert_int_equal(mailbox_count(view), 2);
	{
		struct mailbox_view *trash = st_view(t, "Trash", 0);
		struct mail_fetch_iter *it = mailbox_fetch_begin(trash, NULL, 0, MAIL_FETCH_GUID |
								 MAIL_FETCH_FLAGS, 0);
		const struct mail_record *rec;

		assert_true(mailbox_fetch_next(it, &rec));
		strcpy(guid2, rec->guid);
		assert_string_equal(guid2, guid1);
		assert_int_equal(rec->keyword_count, 1);
		assert_string_equal(rec->keywords[0], "Work");
		assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
		mailbox_close(&trash);
	}
	/* copy into its own folder: new UIDs */
	assert_int_equal(mailbox_copy(view, NULL, 0, "INBOX", false, t->arena, &cr, &t->error), 0);
	assert_int_equal(cr.count, 2);
	assert_int_equal(cr.dest_uids[0], 4);
	st_sync(t, view, 0);
	assert_int_equal(mailbox_count(view), 4);
	assert_int_equal(mailbox_copy(view, &r, 1, "Nowhere", false, t->arena, &cr, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTFOUND);
	mailbox_close(&view);
	mailbox_close(&arch);
}

/* LF-only messages are served in CRLF form with matching sizes. */
static void test_crlf_form(void **state)
{
	struct store_test *t = *state;
	static const char lf[] =
		"Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\npre\n--b\n"
		"Content-Type: text/plain\n\none\ntwo\n\n--b\n"
		"Content-Type: message/rfc822\n\nSubject: inner\n\nx\ny\n--b--\n";
	char crlf[1024];
	struct mailbox_view *view;
	struct mail_file *file;
	struct mail_section sec;
	const char *p;
	char *q = crlf;
	buf_t b;
	uint64_t off, len;
	static const struct {
		const char *part;
		enum mail_section_text text;
		const char *want;
	} sections[] = {
		{ "1", MAIL_SECTION_ALL, "one\r\ntwo\r\n" },
		{ "1", MAIL_SECTION_MIME, "Content-Type: text/plain\r\n\r\n" },
		{ "2", MAIL_SECTION_HEADER, "Subject: inner\r\n\r\n" },
		{ "2", MAIL_SECTION_TEXT, "x\r\ny" },
		{ "2.1", MAIL_SECTION_ALL, "x\r\ny" },
		{ "", MAIL_SECTION_HEADER,
		  "Subject: lf\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" },
	};
	unsigned int i;

	for (p = lf; *p != '\0'; p++) {
		if (*p == '\n')
			*q++ = '\r';
		*q++ = *p;
	}
	*q = '\0';
	st_append(t, "INBOX", lf, 0);
	view = st_view(t, "INBOX", 0);
	{
		struct mail_fetch_iter *it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_SIZE |
								 MAIL_FETCH_HEADER |
								 MAIL_FETCH_BODYSTRUCTURE, 0);
		const struct mail_record *rec;

		assert_true(mailbox_fetch_next(it, &rec));
		assert_int_equal(rec->size, strlen(crlf));
		assert_int_equal(rec->header_size, strstr(crlf, "\r\n\r\n") + 4 - crlf);
		assert_memory_equal(rec->header, crlf, rec->header_size);
		/* part 1: "one\r\ntwo\r\n" = 10 octets, 2 lines */
		assert_non_null(strstr(rec->bodystructure, "\"7bit\" 10 2 "));
		assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	}
	assert_int_equal(mail_open(view, 1, &file, &t->error), 0);
	assert_int_equal(mail_file_size(file), strlen(crlf));
	assert_int_equal(mail_file_section(file, "", MAIL_SECTION_ALL, &sec, &t->error), 0);
	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_int_equal(mail_file_read(file, &sec, 0, sec.size, &b, &t->error), 0);
	assert_int_equal(buf_len(&b), strlen(crlf));
	assert_memory_equal(b.data, crlf, strlen(crlf));
	/* every partial window is the same slice of the CRLF form */
	for (off = 0; off <= strlen(crlf) + 2; off += 3) {
		for (len = 1; len < 12; len += 5) {
			size_t want_len = off >= strlen(crlf) ? 0 :
				I_MIN(len, strlen(crlf) - off);

			buf_reset(&b);
			assert_int_equal(mail_file_read(file, &sec, off, len, &b, &t->error), 0);
			assert_int_equal(buf_len(&b), want_len);
			if (want_len > 0)
				assert_memory_equal(b.data, crlf + off, want_len);
		}
	}
	/* read in order, window after window (as POP3's RETR does), every
	   window size: the pieces join into the CRLF form, windows ending
	   between a CR and its LF included; a read of another section in
	   between and a step back must not disturb it */
	for (len = 1; len <= 7; len++) {
		struct mail_section whole = sec, other;

		buf_reset(&b);
		for (off = 0; off < strlen(crlf); off += len) {
			assert_int_equal(mail_file_read(file, &whole, off, len, &b, &t->error), 0);
			if (off == 20) {
				buf_t tmp;

				buf_init(&tmp, BUF_MAX_UNLIMITED);
				assert_int_equal(mail_file_section(file, "1", MAIL_SECTION_ALL, &other,
								   &t->error), 0);
				assert_int_equal(mail_file_read(file, &other, 2, 3, &tmp, &t->error), 0);
				assert_memory_equal(tmp.data, "e\r\n", 3);
				buf_reset(&tmp);
				assert_int_equal(mail_file_read(file, &whole, 1, 4, &tmp, &t->error), 0);
				assert_memory_equal(tmp.data, crlf + 1, 4);
				buf_free(&tmp);
			}
		}
		assert_int_equal(buf_len(&b), strlen(crlf));
		assert_memory_equal(b.data, crlf, strlen(crlf));
	}
	for (i = 0; i < N_ELEMENTS(sections); i++) {
		assert_int_equal(mail_file_section(file, sections[i].part, sections[i].text, &sec,
						   &t->error), 0);
		assert_int_equal(sec.size, strlen(sections[i].want));
		buf_reset(&b);
		assert_int_equal(mail_file_read(file, &sec, 0, UINT64_MAX, &b, &t->error), 0);
		assert_int_equal(buf_len(&b), strlen(sections[i].want));
		assert_memory_equal(b.data, sections[i].want, buf_len(&b));
	}
	assert_int_equal(mail_file_section(file, "3", MAIL_SECTION_ALL, &sec, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTFOUND);
	assert_int_equal(mail_file_section(file, "1", MAIL_SECTION_HEADER, &sec, &t->error), -1);
	assert_int_equal(mail_file_section(file, "", MAIL_SECTION_MIME, &sec, &t->error), -1);
	buf_free(&b);
	mail_file_close(&file);
	mailbox_close(&view);
}

/* A vanished or changed message file fails for that message only. */
static void test_broken_file(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mail_file *file;
	struct mailbox_changes c;

	st_append(t, "INBOX", MSG1, 0);
	st_append(t, "INBOX", MSG2, 0);
	view = st_view(t, "INBOX", 0);
	st_run("f=$(ls %s/cur/*,U=1:*) && truncate -s 10 \"$f\"", t->root);
	st_run("rm %s/cur/*,U=2:*", t->root);
	assert_int_equal(mail_open(view, 1, &file, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_CORRUPT);
	assert_int_equal(mail_open(view, 2, &file, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_CORRUPT);
	/* the next sync sees message 2 gone */
	st_tick();
	c = st_sync(t, view, 0);
	assert_int_equal(c.expunge_count, 1);
	assert_int_equal(c.expunges[0].uid, 2);
	mailbox_close(&view);
}

static int notified;

static void notify_cb(void *context)
{
	(*(int *)context)++;
}

static void test_notify(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view = st_view(t, "INBOX", 0);
	struct mail_watch *w1, *w2, *w3;
	int all = 0, sent = 0;

	notified = 0;
	w1 = mailbox_watch(view, notify_cb, &notified);
	w2 = mail_store_watch(t->store, TEST_USER, NULL, notify_cb, &all);
	w3 = mail_store_watch(t->store, TEST_USER, "Sent", notify_cb, &sent);
	st_append(t, "INBOX", MSG1, 0);
	assert_true(notified >= 1);
	assert_int_equal(sent, 0);
	mail_store_notify(t->store, TEST_USER, "inbox");
	mail_store_notify(t->store, "bob@example.test", "INBOX");
	st_append(t, "Sent", MSG1, 0);
	assert_true(sent >= 1);
	assert_true(all >= 3);
	/* renames: the view's watch follows its folder */
	notified = 0;
	assert_int_equal(mail_folder_create(t->user, "F", 0, &t->error), 0);
	mail_store_unwatch(&w1);
	mailbox_close(&view);
	view = st_view(t, "F", 0);
	w1 = mailbox_watch(view, notify_cb, &notified);
	assert_int_equal(mail_folder_rename(t->user, "F", "G", &t->error), 0);
	st_sync(t, view, 0);
	notified = 0;
	st_append(t, "G", MSG1, 0);
	assert_true(notified >= 1);
	mail_store_unwatch(&w2);
	mail_store_unwatch(&w3);
	/* closing the view unwatches it */
	mailbox_close(&view);
	assert_null(w1 == NULL ? NULL : NULL);
}

static void test_modseq(void **state)
{
	struct store_test *t = *state;
	struct mail_status st;
	uint64_t last;
	struct mailbox_view *view;
	struct mail_flags_result *res;
	struct mailbox_expunge *ex;
	uint32_t *mod;
	unsigned int nres, nmod, n;
	struct mail_flags_change ch = { .op = MAIL_FLAGS_ADD, .flags = MAIL_DELETED };
	struct mail_copy_result cr;

#define BUMPED(name) do { \
		assert_int_equal(mail_folder_status(t->user, name, MAIL_STATUS_HIGHESTMODSEQ, \
						    &st, &t->error), 0); \
		assert_true(st.highestmodseq > last); \
		last = st.highestmodseq; \
	} while (0)

	assert_int_equal(mail_folder_status(t->user, "INBOX", MAIL_STATUS_HIGHESTMODSEQ, &st,
					    &t->error), 0);
	last = st.highestmodseq;
	st_append(t, "INBOX", MSG1, 0);
	BUMPED("INBOX");
	st_deliver(t, ".", "1700000001.M2P2.host", MSG2);
	BUMPED("INBOX");
	view = st_view(t, "INBOX", 0);
	assert_int_equal(mailbox_store(view, NULL, 0, &ch, t->arena, &res, &nres, &mod, &nmod,
				       &t->error), 0);
	BUMPED("INBOX");
	{
		struct mail_uid_range one = { 1, 1 };

		assert_int_equal(mailbox_copy(view, &one, 1, "INBOX", true, t->arena, &cr,
					      &t->error), 0);
		BUMPED("INBOX");
	}
	/* the moved message has a new UID the view learns of at its sync */
	st_sync(t, view, 0);
	assert_int_equal(mailbox_expunge(view, NULL, 0, t->arena, &ex, &n, &t->error), 0);
	assert_int_equal(n, 2);
	BUMPED("INBOX");
	mailbox_close(&view);
	assert_int_equal(mail_folder_create(t->user, "M", 0, &t->error), 0);
	last = 0;
	BUMPED("M");
	assert_int_equal(mail_folder_rename(t->user, "M", "N", &t->error), 0);
	BUMPED("N");
#undef BUMPED
}

static void test_multiappend(void **state)
{
	struct store_test *t = *state;
	struct mail_append_input in[3];
	uint32_t uidv, uids[3];
	const char *kw[] = { "Important" };
	struct mailbox_view *view;
	struct mail_fetch_iter *it;
	const struct mail_record *rec;
	char tmpl[] = "/tmp/tern-append-XXXXXX";
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, MSG3, strlen(MSG3)), (ssize_t)strlen(MSG3));
	unlink(tmpl);
	memset(in, 0, sizeof(in));
	in[0].data = MSG1;
	in[0].size = strlen(MSG1);
	in[0].fd = -1;
	in[0].has_internal_date = true;
	in[0].internal_date = 1000000000;
	in[0].tz_offset_min = 120;
	in[1].data = MSG2;
	in[1].size = strlen(MSG2);
	in[1].fd = -1;
	in[1].keywords = kw;
	in[1].keyword_count = 1;
	in[1].flags = MAIL_DRAFT | MAIL_SEEN;
	in[2].fd = fd;
	in[2].size = strlen(MSG3);
	assert_int_equal(mail_append(t->user, "Drafts", in, 3, &uidv, uids, &t->error), 0);
	close(fd);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[2], 3);
	assert_int_equal(uidv, uidvalidity_of(t, "Drafts"));
	view = st_view(t, "Drafts", 0);
	it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_FLAGS | MAIL_FETCH_INTERNALDATE |
				 MAIL_FETCH_ENVELOPE, 0);
	assert_true(mailbox_fetch_next(it, &rec));
	assert_int_equal(rec->internal_date, 1000000000);
	assert_int_equal(rec->tz_offset_min, 120);
	assert_true(mailbox_fetch_next(it, &rec));
	assert_int_equal(rec->flags, MAIL_DRAFT | MAIL_SEEN);
	assert_int_equal(rec->keyword_count, 1);
	assert_true(mailbox_fetch_next(it, &rec));
	assert_non_null(strstr(rec->envelope, "three"));
	assert_false(mailbox_fetch_next(it, &rec));
	assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	mailbox_close(&view);
	/* the internal date survives a rebuild: it is the file's mtime */
	{
		struct mail_rebuild_stats rs;

		assert_int_equal(mail_user_rebuild(t->store, TEST_USER, &rs, &t->error), 0);
		view = st_view(t, "Drafts", 0);
		it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_INTERNALDATE, 0);
		assert_true(mailbox_fetch_next(it, &rec));
		assert_int_equal(rec->internal_date, 1000000000);
		assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
		mailbox_close(&view);
	}
	/* all or nothing: a missing folder */
	assert_int_equal(mail_append(t->user, "Nope", in, 2, &uidv, uids, &t->error), -1);
	assert_int_equal(t->error.code, MAIL_ERROR_NOTFOUND);
	/* a keyword past the limit fails the whole MULTIAPPEND, nothing left behind */
	{
		const char *many[27];
		char names[27][8];
		unsigned int i;

		for (i = 0; i < 27; i++) {
			snprintf(names[i], sizeof(names[i]), "k%u", i);
			many[i] = names[i];
		}
		in[1].keywords = many;
		in[1].keyword_count = 27;
		assert_int_equal(mail_append(t->user, "Drafts", in, 2, &uidv, uids, &t->error), -1);
		assert_int_equal(t->error.code, MAIL_ERROR_LIMIT);
		assert_int_equal(st_count_files(t, ".Drafts/cur"), 3);
		assert_int_equal(st_count_files(t, ".Drafts/tmp"), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_append_fetch, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_folders, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_status, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_inbox_rename, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_store_flags, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_expunge_two_views, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_expunge_uids, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_open_many, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_copy_move, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_crlf_form, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_broken_file, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_notify, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_modseq, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_multiappend, st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
