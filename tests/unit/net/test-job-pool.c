#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "job-pool.h"
#include "net-loop.h"

#include <pthread.h>
#include <unistd.h>

#define JOBS 200

struct job_state {
	pthread_t loop_thread;
	unsigned int ran;
	unsigned int done;
	unsigned int done_on_loop_thread;
	unsigned int order_errors;
	unsigned int last_done;
	pthread_mutex_t lock;
};

struct one_job {
	struct job_state *st;
	unsigned int index;
	bool ran;
};

static void run_cb(void *ctx)
{
	struct one_job *j = ctx;

	usleep(100);
	j->ran = true;
	pthread_mutex_lock(&j->st->lock);
	j->st->ran++;
	pthread_mutex_unlock(&j->st->lock);
}

static void done_cb(void *ctx)
{
	struct one_job *j = ctx;

	assert_true(j->ran);
	j->st->done++;
	if (pthread_equal(pthread_self(), j->st->loop_thread))
		j->st->done_on_loop_thread++;
	free(j);
}

static void test_jobs_complete_on_loop(void **state)
{
	struct job_pool *pool = job_pool_new(4);
	struct net_loop *loop = net_loop_new();
	struct job_client *client = job_client_new(pool, loop);
	struct job_state st;
	unsigned int i, rounds = 0;

	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.lock, NULL);
	st.loop_thread = pthread_self();
	for (i = 0; i < JOBS; i++) {
		struct one_job *j = calloc(1, sizeof(*j));

		j->st = &st;
		j->index = i;
		job_submit(client, run_cb, done_cb, j);
	}
	assert_int_equal(job_client_pending(client), JOBS);
	while (st.done < JOBS && rounds++ < 1000)
		net_loop_run_once(loop, 100);
	assert_int_equal(st.done, JOBS);
	assert_int_equal(st.ran, JOBS);
	assert_int_equal(st.done_on_loop_thread, JOBS);
	assert_int_equal(job_client_pending(client), 0);

	job_client_free(&client);
	assert_null(client);
	net_loop_free(&loop);
	job_pool_free(&pool);
	assert_null(pool);
	pthread_mutex_destroy(&st.lock);
}

static void test_free_waits_for_jobs(void **state)
{
	struct job_pool *pool = job_pool_new(2);
	struct net_loop *loop = net_loop_new();
	struct job_client *client = job_client_new(pool, loop);
	struct job_state st;
	unsigned int i;

	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.lock, NULL);
	st.loop_thread = pthread_self();
	for (i = 0; i < 20; i++) {
		struct one_job *j = calloc(1, sizeof(*j));

		j->st = &st;
		job_submit(client, run_cb, done_cb, j);
	}
	/* without running the loop: free runs the done callbacks itself */
	job_client_free(&client);
	assert_int_equal(st.done, 20);
	assert_int_equal(st.done_on_loop_thread, 20);
	net_loop_free(&loop);
	job_pool_free(&pool);
	pthread_mutex_destroy(&st.lock);
}

static unsigned int deferred_count;
static void deferred_done(void *ctx)
{
	deferred_count++;
}

static void test_null_run(void **state)
{
	struct job_pool *pool = job_pool_new(1);
	struct net_loop *loop = net_loop_new();
	struct job_client *client = job_client_new(pool, loop);
	unsigned int rounds = 0;

	job_submit(client, NULL, deferred_done, NULL);
	assert_int_equal(deferred_count, 0);
	while (deferred_count == 0 && rounds++ < 100)
		net_loop_run_once(loop, 100);
	assert_int_equal(deferred_count, 1);
	job_client_free(&client);
	net_loop_free(&loop);
	job_pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_complete_on_loop),
		cmocka_unit_test(test_free_waits_for_jobs),
		cmocka_unit_test(test_null_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
