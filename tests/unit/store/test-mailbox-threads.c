/*
 * The store under concurrency: several threads of one process appending,
 * flagging and syncing one folder while an MDA delivers into new/, and the
 * same across two store objects on one data_dir (two processes: separate
 * index connections and locks). No update may be lost, UIDs are unique and
 * increase in the order messages were added, none is ever reused.
 */
#include "store-test.h"

#include <pthread.h>

#define THREADS 4
#define PER_THREAD 40
#define DELIVERIES 40

struct worker {
	struct store_test *t;
	struct mail_user *user;
	unsigned int id;
	uint32_t uids[PER_THREAD];
	int failed;
	char error[400];
};

static void *worker_main(void *context)
{
	struct worker *w = context;
	struct arena *arena = arena_new(0);
	struct mailbox_view *view;
	struct mail_error error;
	char kwname[16];
	const char *kw[] = { kwname };
	unsigned int i;

	snprintf(kwname, sizeof(kwname), "thread%u", w->id);
	if (mailbox_open(w->user, "INBOX", 0, &view, &error) < 0) {
		snprintf(w->error, sizeof(w->error), "open: %s", error.text);
		w->failed = 1;
		arena_free(&arena);
		return NULL;
	}
	for (i = 0; i < PER_THREAD && !w->failed; i++) {
		char msg[128];
		struct mail_append_input in;
		uint32_t uidv;
		struct mailbox_changes c;
		struct mail_flags_change ch = { .op = MAIL_FLAGS_ADD, .flags = MAIL_SEEN,
						.keywords = kw, .keyword_count = 1 };
		struct mail_uid_range r;
		struct mail_flags_result *res;
		uint32_t *mod;
		unsigned int nres, nmod;

		snprintf(msg, sizeof(msg), "Subject: t%u m%u\r\n\r\nbody\r\n", w->id, i);
		memset(&in, 0, sizeof(in));
		in.data = msg;
		in.size = strlen(msg);
		in.fd = -1;
		if (mail_append(w->user, "INBOX", &in, 1, &uidv, &w->uids[i], &error) < 0 ||
		    mailbox_sync(view, i % 3 == 0 ? MAILBOX_SYNC_NO_EXPUNGES : 0, arena, &c,
				 &error) < 0) {
			snprintf(w->error, sizeof(w->error), "append/sync: %s", error.text);
			w->failed = 1;
			break;
		}
		/* its own message is in the view now: flag it */
		r.first = r.last = w->uids[i];
		if (mailbox_uid_to_seq(view, w->uids[i]) == 0 ||
		    mailbox_store(view, &r, 1, &ch, arena, &res, &nres, &mod, &nmod, &error) < 0 ||
		    nres != 1) {
			snprintf(w->error, sizeof(w->error), "store uid %u: %s", w->uids[i],
				 error.text);
			w->failed = 1;
			break;
		}
		/* and another flag on the first message of all, from every
		   thread: a read-modify-write that must not lose anyone's */
		if (i == PER_THREAD / 2) {
			struct mail_flags_change c2 = { .op = MAIL_FLAGS_ADD, .keywords = kw,
							.keyword_count = 1 };
			struct mail_uid_range first = { 1, 1 };

			if (mailbox_store(view, &first, 1, &c2, arena, &res, &nres, &mod, &nmod,
					  &error) < 0) {
				snprintf(w->error, sizeof(w->error), "store 1: %s", error.text);
				w->failed = 1;
			}
		}
		arena_clear(arena);
	}
	mailbox_close(&view);
	arena_free(&arena);
	return NULL;
}

struct deliverer {
	struct store_test *t;
};

static void *deliver_main(void *context)
{
	struct deliverer *d = context;
	unsigned int i;

	for (i = 0; i < DELIVERIES; i++) {
		char name[64], msg[64];

		snprintf(name, sizeof(name), "%u.M%uP1.mda", 1800000000 + i, i);
		snprintf(msg, sizeof(msg), "Subject: mda %u\r\n\r\nx\r\n", i);
		st_deliver(d->t, ".", name, msg);
		mail_store_notify(d->t->store, TEST_USER, "INBOX");
	}
	return NULL;
}

static void check_result(struct store_test *t, struct worker *w, unsigned int nw)
{
	struct mailbox_view *view = st_view(t, "INBOX", 0);
	struct mail_fetch_iter *it;
	const struct mail_record *rec;
	unsigned int i, k, total = 0, mda = 0, first_kw = 0;
	uint32_t last_mda = 0;

	for (i = 0; i < nw; i++) {
		if (w[i].failed)
			fail_msg("worker %u: %s", i, w[i].error);
		for (k = 1; k < PER_THREAD; k++)
			assert_true(w[i].uids[k] > w[i].uids[k - 1]);
	}
	/* a UID is handed out once */
	for (i = 0; i < nw; i++) {
		unsigned int j, m;

		for (j = i + 1; j < nw; j++) {
			for (k = 0; k < PER_THREAD; k++)
				for (m = 0; m < PER_THREAD; m++)
					assert_true(w[i].uids[k] != w[j].uids[m]);
		}
	}
	it = mailbox_fetch_begin(view, NULL, 0, MAIL_FETCH_FLAGS | MAIL_FETCH_ENVELOPE, 0);
	while (mailbox_fetch_next(it, &rec)) {
		unsigned int tid, mid;
		const char *s = strstr(rec->envelope, "\"t");

		total++;
		if (rec->uid == 1)
			first_kw = rec->keyword_count;
		if (s != NULL && sscanf(s, "\"t%u m%u\"", &tid, &mid) == 2) {
			char want[16];

			snprintf(want, sizeof(want), "thread%u", tid);
			assert_int_equal(rec->uid, w[tid].uids[mid]);
			assert_true((rec->flags & MAIL_SEEN) != 0);
			assert_true(rec->keyword_count >= 1);
			for (k = 0; k < rec->keyword_count; k++) {
				if (strcmp(rec->keywords[k], want) == 0)
					break;
			}
			assert_true(k < rec->keyword_count);
		} else {
			/* MDA deliveries get UIDs in delivery order */
			assert_non_null(strstr(rec->envelope, "\"mda "));
			assert_true(rec->uid > last_mda);
			last_mda = rec->uid;
			mda++;
		}
	}
	assert_int_equal(mailbox_fetch_end(&it, &t->error), 0);
	assert_int_equal(total, nw * PER_THREAD + DELIVERIES);
	assert_int_equal(mda, DELIVERIES);
	/* every thread's keyword landed on message 1 */
	assert_int_equal(first_kw, nw);
	mailbox_close(&view);
}

static void run(struct store_test *t, struct mail_user **users, unsigned int nusers)
{
	pthread_t th[THREADS + 1];
	struct worker w[THREADS];
	struct deliverer d = { t };
	unsigned int i;

	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].t = t;
		w[i].user = users[i % nusers];
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	assert_int_equal(pthread_create(&th[THREADS], NULL, deliver_main, &d), 0);
	for (i = 0; i <= THREADS; i++)
		pthread_join(th[i], NULL);
	check_result(t, w, THREADS);
}

static void test_threads_one_store(void **state)
{
	struct store_test *t = *state;
	struct mail_user *users[1] = { t->user };

	run(t, users, 1);
}

static void test_two_stores(void **state)
{
	struct store_test *t = *state;
	struct mail_store_settings set = { .data_dir = t->dir };
	struct mail_store *other;
	struct mail_user *users[2] = { t->user, NULL };

	/* the second one with its background thread, as the server has */
	assert_int_equal(mail_store_create(&set, &other, &t->error), 0);
	assert_int_equal(mail_user_open(other, TEST_USER, &users[1], &t->error), 0);
	run(t, users, 2);
	mail_user_unref(&users[1]);
	mail_store_destroy(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_threads_one_store, st_setup, st_teardown),
		cmocka_unit_test_setup_teardown(test_two_stores, st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
