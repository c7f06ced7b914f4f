/* The queue manager's remote path, with outbound replaced by a fake that
   answers from a thread of its own: outcomes recorded, retries scheduled,
   failures bounced (DSN queued to the sender), the message removed exactly
   when its last recipient is done. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "accounts.h"
#include "arena.h"
#include "deliver.h"
#include "outbound.h"
#include "queue.h"
#include "settings.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/tern-test-deliver-remote-XXXXXX";
static struct tern_settings *set;
static struct queue *queue;

/* fake outbound: each submit is answered by a new thread */
struct fake_call {
	char id[64];
	unsigned int idx[8], count;
	outbound_done_cb *done;
	void *ctx;
};
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int fake_submits;
static unsigned int fake_rcpts_seen[8];

static void *fake_answer(void *arg)
{
	struct fake_call *c = arg;
	struct outbound_result res[8] = { 0 };
	unsigned int i, n;

	usleep(10000);
	pthread_mutex_lock(&fake_lock);
	n = ++fake_submits;
	pthread_mutex_unlock(&fake_lock);
	for (i = 0; i < c->count; i++) {
		unsigned int seen;

		pthread_mutex_lock(&fake_lock);
		seen = fake_rcpts_seen[c->idx[i]]++;
		pthread_mutex_unlock(&fake_lock);
		res[i].rcpt_index = c->idx[i];
		res[i].remote_mta = "mx.remote.test [127.0.0.9]";
		/* rcpt 0: deferred once, then delivered; rcpt 1: refused */
		if (c->idx[i] == 1) {
			res[i].status = OUTBOUND_FAILED;
			res[i].diagnostic = "smtp; 550 5.1.1 <y@remote.test> no such user";
			res[i].status_code = "5.1.1";
		} else if (seen == 0) {
			res[i].status = OUTBOUND_DEFERRED;
			res[i].diagnostic = "smtp; 451 4.3.0 try later";
			res[i].status_code = "4.3.0";
		} else {
			res[i].status = OUTBOUND_DELIVERED;
			res[i].diagnostic = "smtp; 250 2.0.0 ok";
			res[i].status_code = "2.0.0";
		}
	}
	(void)n;
	c->done(c->ctx, c->id, res, c->count);
	free(c);
	return NULL;
}

void outbound_submit(struct outbound *ob, const char *queue_id, const struct queue_envelope *env,
		     const unsigned int *rcpt_indexes, unsigned int count,
		     outbound_done_cb *done, void *ctx)
{
	struct fake_call *c = calloc(1, sizeof(*c));
	pthread_t t;
	unsigned int i;

	snprintf(c->id, sizeof(c->id), "%s", queue_id);
	for (i = 0; i < count && i < 8; i++)
		c->idx[i] = rcpt_indexes[i];
	c->count = count;
	c->done = done;
	c->ctx = ctx;
	pthread_create(&t, NULL, fake_answer, c);
	pthread_detach(t);
}

static unsigned int count_new(const char *user)
{
	char path[1024];
	DIR *d;
	struct dirent *de;
	unsigned int n = 0;

	snprintf(path, sizeof(path), "%s/mail/example.test/%s/new", tmpdir, user);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_remote_outcomes(void **state)
{
	struct queue_writer *w;
	struct queue_envelope env, *env2;
	struct queue_rcpt r[3];
	struct deliverer *d;
	struct arena *arena = arena_new(0);
	const char *error;
	const char *msg = "From: bob@example.test\r\nSubject: out\r\n\r\nhi\r\n";
	char id[64];
	unsigned int tries;
	int ret = 1;

	memset(&env, 0, sizeof(env));
	memset(r, 0, sizeof(r));
	w = queue_writer_new(queue, &error);
	strcpy(id, queue_writer_id(w));
	assert_int_equal(queue_writer_write(w, msg, strlen(msg), &error), 0);
	env.created = time(NULL);
	env.sender = "bob@example.test";
	r[0].address = "x@remote.test";
	r[1].address = "y@remote.test";
	r[2].address = "bob@example.test";
	env.rcpts = r;
	env.rcpt_count = 3;
	assert_int_equal(queue_commit(&w, &env, &error), 0);

	d = deliverer_start(set, queue, 2, &error);
	assert_non_null(d);
	deliverer_set_outbound(d, (struct outbound *)(uintptr_t)1);
	deliverer_notify(d, id);
	/* the retry is 1s: wait (bounded) until the message leaves the queue */
	for (tries = 0; tries < 400; tries++) {
		ret = queue_read(queue, arena, id, &env2, &error);
		if (ret == 0)
			break;
		usleep(25000);
	}
	/* the bounce for y@ goes to bob, locally */
	for (tries = 0; tries < 200 && count_new("bob") < 2; tries++)
		usleep(25000);
	deliverer_stop(&d);
	assert_int_equal(ret, 0);
	assert_int_equal(fake_rcpts_seen[0], 2);   /* deferred once, then delivered */
	assert_int_equal(fake_rcpts_seen[1], 1);   /* failed: never retried */
	/* bob got the message and the bounce */
	assert_int_equal(count_new("bob"), 2);
	arena_free(&arena);
}

/* The first attempt of a message that has waited an hour is deferred:
   with delivery.delay_warning = 1m the sender gets one "delayed" notice,
   then the recipient is delivered (no further notice). */
static void test_delay_warning(void **state)
{
	struct queue_writer *w;
	struct queue_envelope env, *env2;
	struct queue_rcpt r[1];
	struct deliverer *d;
	struct arena *arena = arena_new(0);
	const char *error;
	const char *msg = "From: bob@example.test\r\nSubject: slow\r\n\r\nhi\r\n";
	char id[64], path[1024], buf[8192];
	unsigned int tries, before = count_new("bob");
	int ret = 1;
	FILE *f;
	DIR *dir;
	struct dirent *de;
	bool found = false;

	memset(&env, 0, sizeof(env));
	memset(r, 0, sizeof(r));
	memset(fake_rcpts_seen, 0, sizeof(fake_rcpts_seen));
	set->delivery_delay_warning = 60;
	w = queue_writer_new(queue, &error);
	strcpy(id, queue_writer_id(w));
	assert_int_equal(queue_writer_write(w, msg, strlen(msg), &error), 0);
	env.created = time(NULL) - 3600;
	env.sender = "bob@example.test";
	r[0].address = "late@remote.test";
	env.rcpts = r;
	env.rcpt_count = 1;
	assert_int_equal(queue_commit(&w, &env, &error), 0);

	d = deliverer_start(set, queue, 1, &error);
	assert_non_null(d);
	deliverer_set_outbound(d, (struct outbound *)(uintptr_t)1);
	for (tries = 0; tries < 400; tries++) {
		ret = queue_read(queue, arena, id, &env2, &error);
		if (ret == 0 && count_new("bob") >= before + 1)
			break;
		usleep(25000);
	}
	deliverer_stop(&d);
	set->delivery_delay_warning = 0;
	assert_int_equal(ret, 0);
	assert_int_equal(fake_rcpts_seen[0], 2);
	assert_int_equal(count_new("bob"), before + 1);
	/* the one new message is the delay warning */
	snprintf(path, sizeof(path), "%s/mail/example.test/bob/new", tmpdir);
	dir = opendir(path);
	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL && !found) {
		char file[2048];
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		f = fopen(file, "r");
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		found = strstr(buf, "Action: delayed") != NULL;
	}
	closedir(dir);
	assert_true(found);
	arena_free(&arena);
}

static int setup(void **state)
{
	struct accounts *acc;
	const char *error;
	static const char *domains[] = { "example.test" };
	static unsigned int retry[] = { 1 };

	if (mkdtemp(tmpdir) == NULL)
		return -1;
	set = settings_new(true);
	set->data_dir = tmpdir;
	set->domains = domains;
	set->domains_count = 1;
	set->delivery_retry = retry;
	set->delivery_retry_count = 1;
	if (accounts_open(tmpdir, domains, 1, &acc, &error) < 0 ||
	    accounts_user_add(acc, "bob@example.test", "pw", false, &error) < 0)
		return -1;
	accounts_close(&acc);
	return queue_open(tmpdir, &queue, &error);
}

static int teardown(void **state)
{
	char cmd[256];

	queue_close(&queue);
	settings_free(&set);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_outcomes),
		cmocka_unit_test(test_delay_warning),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
