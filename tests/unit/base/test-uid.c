#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "uid.h"
#include "arena.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER_THREAD 5000
#define THREADS 4

static char ids[THREADS][PER_THREAD][UID_MAX_LEN];

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void check_format(const char *id)
{
	size_t i;

	assert_int_equal(strlen(id), UID_LEN);
	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		assert_true((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
	}
}

static void test_format_and_order(void **state)
{
	char prev[UID_MAX_LEN], cur[UID_MAX_LEN];
	int i;

	uid_generate(prev);
	check_format(prev);
	for (i = 0; i < 100000; i++) {
		uid_generate(cur);
		/* within a process, later ids sort after earlier ones */
		assert_true(strcmp(prev, cur) < 0);
		memcpy(prev, cur, sizeof(cur));
	}
	check_format(cur);
}

static void *thread_main(void *arg)
{
	char (*mine)[UID_MAX_LEN] = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++)
		uid_generate(mine[i]);
	return NULL;
}

static void test_threads_unique(void **state)
{
	pthread_t th[THREADS];
	int i;

	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, ids[i]), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	qsort(ids, THREADS * PER_THREAD, UID_MAX_LEN, cmp_id);
	for (i = 1; i < THREADS * PER_THREAD; i++)
		assert_true(strcmp(((char (*)[UID_MAX_LEN])ids)[i - 1], ((char (*)[UID_MAX_LEN])ids)[i]) < 0);
}

static void test_fork_unique(void **state)
{
	char parent[UID_MAX_LEN], child[UID_MAX_LEN];
	int fds[2], status;
	pid_t pid;

	uid_generate(parent);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uid_generate(child);
		if (write(fds[1], child, UID_LEN) != UID_LEN)
			_exit(1);
		_exit(0);
	}
	uid_generate(parent);
	assert_int_equal(read(fds[0], child, UID_LEN), UID_LEN);
	child[UID_LEN] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	close(fds[1]);
	check_format(child);
	/* the child has its own random part */
	assert_string_not_equal(parent + 14, child + 14);
	assert_string_not_equal(parent, child);
}

static void test_message_id(void **state)
{
	struct arena *arena = arena_new(0);
	const char *id = uid_message_id(arena, "mx.example.test");

	assert_int_equal(strlen(id), UID_LEN + 2 + strlen("@mx.example.test"));
	assert_int_equal(id[0], '<');
	assert_string_equal(id + 1 + UID_LEN, "@mx.example.test>");
	assert_string_equal(uid_message_id(arena, NULL) + 1 + UID_LEN, "@localhost>");
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_order),
		cmocka_unit_test(test_threads_unique),
		cmocka_unit_test(test_fork_unique),
		cmocka_unit_test(test_message_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
