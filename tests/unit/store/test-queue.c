#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "queue.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/tern-test-queue-XXXXXX";

static struct queue *open_queue(void)
{
	struct queue *q;
	const char *error;

	assert_int_equal(queue_open(tmpdir, &q, &error), 0);
	return q;
}

static const char *commit_one(struct queue *q, const char *sender, const char *body,
			      unsigned int rcpts, char *id_out)
{
	struct queue_writer *w;
	struct queue_envelope env;
	struct queue_rcpt r[3];
	const char *error;
	unsigned int i;

	memset(&env, 0, sizeof(env));
	memset(r, 0, sizeof(r));
	w = queue_writer_new(q, &error);
	assert_non_null(w);
	strcpy(id_out, queue_writer_id(w));
	assert_int_equal(queue_writer_write(w, body, strlen(body), &error), 0);
	env.created = 1700000000;
	env.sender = sender;
	env.envid = "env\r\nid%x";
	env.ret = QUEUE_RET_HDRS;
	env.body_8bit = true;
	env.client = "client.test [127.0.0.1]";
	env.auth_results = "mx.example.test;\r\n\tspf=pass smtp.mailfrom=a@b.test";
	env.quarantine = true;
	env.local_origin = true;
	env.dkim_signatures = "DKIM-Signature: v=1; a=ed25519-sha256;\r\n\tb=AAA\r\n";
	for (i = 0; i < rcpts; i++) {
		r[i].address = i == 0 ? "bob@example.test" : i == 1 ? "carol@example.test" : "x@remote.test";
		r[i].notify = i == 1 ? (QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY) : 0;
		r[i].orcpt = i == 2 ? "rfc822;x@remote.test" : NULL;
		r[i].original = i == 1 ? "list@example.test" : NULL;
	}
	env.rcpts = r;
	env.rcpt_count = rcpts;
	assert_int_equal(queue_commit(&w, &env, &error), 0);
	assert_null(w);
	return id_out;
}

static void test_commit_read(void **state)
{
	struct queue *q = open_queue();
	struct arena *arena = arena_new(0);
	struct queue_envelope *env;
	struct queue_rcpt r;
	const char *error;
	char id[64], buf[64];
	int fd;
	ssize_t n;

	commit_one(q, "", "Subject: hi\r\n\r\nbody\r\n", 3, id);
	assert_int_equal(queue_read(q, arena, id, &env, &error), 1);
	assert_string_equal(env->id, id);
	assert_string_equal(env->sender, "");
	assert_string_equal(env->envid, "env\r\nid%x");
	assert_int_equal(env->ret, QUEUE_RET_HDRS);
	assert_true(env->body_8bit);
	assert_string_equal(env->auth_results, "mx.example.test;\r\n\tspf=pass smtp.mailfrom=a@b.test");
	assert_true(env->quarantine);
	assert_true(env->local_origin);
	assert_string_equal(env->dkim_signatures, "DKIM-Signature: v=1; a=ed25519-sha256;\r\n\tb=AAA\r\n");
	assert_int_equal(env->size, 21);
	assert_int_equal(env->rcpt_count, 3);
	assert_string_equal(env->rcpts[1].address, "carol@example.test");
	assert_int_equal(env->rcpts[1].notify, QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY);
	assert_string_equal(env->rcpts[2].orcpt, "rfc822;x@remote.test");
	assert_string_equal(env->rcpts[1].original, "list@example.test");
	assert_null(env->rcpts[0].original);
	assert_int_equal(env->rcpts[0].state, QUEUE_RCPT_PENDING);

	fd = queue_open_message(q, id, &error);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, 21);

	memset(&r, 0, sizeof(r));
	r.state = QUEUE_RCPT_DELIVERED;
	r.attempts = 1;
	r.last_error = "250 2.0.0 ok\r\nwith 100% newline";
	assert_int_equal(queue_set_rcpt_state(q, id, 0, &r, true, &error), 0);
	r.state = QUEUE_RCPT_DEFERRED;
	r.attempts = 2;
	r.next_attempt = 1700000300;
	r.last_error = "451 4.3.0 try later";
	assert_int_equal(queue_set_rcpt_state(q, id, 2, &r, false, &error), 0);
	assert_int_equal(queue_sync(q, &error), 0);
	assert_int_equal(queue_read(q, arena, id, &env, &error), 1);
	assert_int_equal(env->rcpts[0].state, QUEUE_RCPT_DELIVERED);
	assert_string_equal(env->rcpts[0].last_error, "250 2.0.0 ok\r\nwith 100% newline");
	assert_int_equal(env->rcpts[1].state, QUEUE_RCPT_PENDING);
	assert_int_equal(env->rcpts[2].state, QUEUE_RCPT_DEFERRED);
	assert_int_equal(env->rcpts[2].attempts, 2);
	assert_int_equal(env->rcpts[2].next_attempt, 1700000300);
	assert_false(queue_envelope_done(env));

	assert_int_equal(queue_remove(q, id, &error), 0);
	assert_int_equal(queue_read(q, arena, id, &env, &error), 0);
	arena_free(&arena);
	queue_close(&q);
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void test_crash_leftovers(void **state)
{
	struct queue *q = open_queue();
	struct arena *arena = arena_new(0);
	struct queue_envelope *env;
	struct queue_writer *w;
	const char **ids;
	unsigned int count, i;
	const char *error;
	char id[64], path[512];
	char *env_path;
	FILE *f;

	/* a committed message with a torn state line appended */
	commit_one(q, "alice@example.test", "x\r\n", 1, id);
	env_path = malloc(strlen(tmpdir) + 100);
	sprintf(env_path, "%s/queue/env/%s", tmpdir, id);
	f = fopen(env_path, "a");
	fputs("state 0 delivered 1 0 0 0 cut", f);   /* no newline: torn */
	fclose(f);
	/* a reception in progress, an envelope without end, a message without envelope */
	w = queue_writer_new(q, &error);
	assert_int_equal(queue_writer_write(w, "partial", 7, &error), 0);
	snprintf(path, sizeof(path), "%s/queue/env/ZZtorn", tmpdir);
	write_file(path, "tern-queue 1\nid ZZtorn\nsender a@b\nrcpt 0 c@d\n");
	snprintf(path, sizeof(path), "%s/queue/msg/ZZtorn", tmpdir);
	write_file(path, "body");
	snprintf(path, sizeof(path), "%s/queue/msg/ZZorphan", tmpdir);
	write_file(path, "body");
	/* complete envelope, message shorter than it says: a cut-short commit */
	snprintf(path, sizeof(path), "%s/queue/env/ZZshort", tmpdir);
	write_file(path, "tern-queue 1\nid ZZshort\nsender a@b\nsize 100\nrcpt 0 c@d\nend\n");
	snprintf(path, sizeof(path), "%s/queue/msg/ZZshort", tmpdir);
	write_file(path, "body");

	assert_int_equal(queue_recover(q, arena, &ids, &count, &error), 0);
	assert_int_equal(count, 1);
	assert_string_equal(ids[0], id);
	for (i = 0; i < 4; i++) {
		struct stat st;
		const char *names[] = { "env/ZZtorn", "msg/ZZtorn", "msg/ZZorphan", "env/ZZshort" };

		snprintf(path, sizeof(path), "%s/queue/%s", tmpdir, names[i]);
		assert_int_equal(stat(path, &st), -1);
	}
	snprintf(path, sizeof(path), "%s/queue/msg/%s", tmpdir, queue_writer_id(w));
	assert_int_equal(access(path, F_OK), -1);
	/* the torn state line is ignored: still pending */
	assert_int_equal(queue_read(q, arena, id, &env, &error), 1);
	assert_int_equal(env->rcpts[0].state, QUEUE_RCPT_PENDING);
	/* the writer's file is gone already; aborting is still clean */
	queue_writer_abort(&w);
	assert_int_equal(queue_remove(q, id, &error), 0);
	assert_int_equal(queue_remove(q, "../etc", &error), -1);
	free(env_path);
	arena_free(&arena);
	queue_close(&q);
}

#define THREADS 8
#define PER_THREAD 20

static void *commit_thread(void *ctx)
{
	struct queue *q = ctx;
	char id[64];
	int i;

	for (i = 0; i < PER_THREAD; i++)
		commit_one(q, "a@example.test", "Subject: x\r\n\r\nconcurrent\r\n", 2, id);
	return NULL;
}

static void test_group_commit(void **state)
{
	struct queue *q = open_queue();
	struct arena *arena = arena_new(0);
	pthread_t threads[THREADS];
	const char **ids;
	unsigned int count, i;
	const char *error;

	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, commit_thread, q), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(queue_scan(q, arena, &ids, &count, &error), 0);
	assert_int_equal(count, THREADS * PER_THREAD);
	for (i = 1; i < count; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	for (i = 0; i < count; i++)
		assert_int_equal(queue_remove(q, ids[i], &error), 0);
	arena_free(&arena);
	queue_close(&q);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_read),
		cmocka_unit_test(test_crash_leftovers),
		cmocka_unit_test(test_group_commit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
