/*
 * The job pool (job-pool.h): a mutex-protected FIFO of jobs shared by a
 * fixed set of threads; finished jobs go to their client's done list and
 * the client's eventfd wakes its loop, which runs the done callbacks.
 */
#include "job-pool.h"
#include "net-loop.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
	struct job *next;
	struct job_client *client;
	job_run_cb *run;
	job_done_cb *done;
	void *ctx;
};

struct job_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;          /* a job was queued, or stopping */
	pthread_cond_t done_cond;     /* a job finished (job_client_free waits) */
	struct job *head, *tail;
	pthread_t *threads;
	unsigned int thread_count;
	unsigned int clients;
	bool stopping;
};

struct job_client {
	struct job_pool *pool;
	struct event *ev;
	int efd;
	/* protected by pool->lock */
	struct job *done_head, *done_tail;
	unsigned int running;         /* queued or running in a thread */
	/* loop thread only */
	unsigned int pending;         /* submitted, done not yet called */
};

static void *worker_main(void *arg);
static void client_event_cb(evutil_socket_t fd, short what, void *arg);
static void client_run_done(struct job_client *client);

static void *worker_main(void *arg)
{
	struct job_pool *pool = arg;
	struct job *job;
	uint64_t one = 1;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->head == NULL)
			break;
		job = pool->head;
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);

		if (job->run != NULL)
			job->run(job->ctx);

		pthread_mutex_lock(&pool->lock);
		job->next = NULL;
		if (job->client->done_tail != NULL)
			job->client->done_tail->next = job;
		else
			job->client->done_head = job;
		job->client->done_tail = job;
		job->client->running--;
		/* under the lock: the client can't be freed meanwhile, since
		   job_client_free waits for running == 0 under this lock */
		if (write(job->client->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			i_panic("job pool: eventfd write failed: %s", strerror(errno));
		pthread_cond_broadcast(&pool->done_cond);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

struct job_pool *job_pool_new(unsigned int threads)
{
	struct job_pool *pool = i_malloc(sizeof(*pool));
	unsigned int i;
	int err;

	if (threads == 0)
		threads = 1;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pthread_cond_init(&pool->done_cond, NULL);
	pool->threads = i_malloc(i_size_mul(threads, sizeof(pthread_t)));
	for (i = 0; i < threads; i++) {
		err = pthread_create(&pool->threads[i], NULL, worker_main, pool);
		if (err != 0)
			i_fatal("job pool: pthread_create: %s", strerror(err));
		pool->thread_count++;
	}
	return pool;
}

void job_pool_free(struct job_pool **poolp)
{
	struct job_pool *pool = *poolp;
	unsigned int i;

	if (pool == NULL)
		return;
	i_assert(pool->clients == 0);
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->thread_count; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	pthread_cond_destroy(&pool->done_cond);
	i_free(pool->threads);
	i_free(pool);
	*poolp = NULL;
}

struct job_client *job_client_new(struct job_pool *pool, struct net_loop *loop)
{
	struct job_client *client = i_malloc(sizeof(*client));

	client->pool = pool;
	client->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (client->efd < 0)
		i_fatal("job pool: eventfd: %s", strerror(errno));
	client->ev = event_new(net_loop_base(loop), client->efd, EV_READ | EV_PERSIST,
			       client_event_cb, client);
	if (client->ev == NULL || event_add(client->ev, NULL) < 0)
		i_fatal("job pool: cannot add the wake-up event");
	pthread_mutex_lock(&pool->lock);
	pool->clients++;
	pthread_mutex_unlock(&pool->lock);
	return client;
}

/* Take the finished jobs and call their done callbacks (loop thread). */
static void client_run_done(struct job_client *client)
{
	struct job_pool *pool = client->pool;
	struct job *list, *job;
	uint64_t count;

	if (read(client->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		i_panic("job pool: eventfd read failed: %s", strerror(errno));
	pthread_mutex_lock(&pool->lock);
	list = client->done_head;
	client->done_head = client->done_tail = NULL;
	pthread_mutex_unlock(&pool->lock);

	while ((job = list) != NULL) {
		list = job->next;
		client->pending--;
		if (job->done != NULL)
			job->done(job->ctx);
		i_free(job);
	}
}

static void client_event_cb(evutil_socket_t fd, short what, void *arg)
{
	client_run_done(arg);
}

void job_client_free(struct job_client **clientp)
{
	struct job_client *client = *clientp;
	struct job_pool *pool;

	if (client == NULL)
		return;
	pool = client->pool;
	pthread_mutex_lock(&pool->lock);
	while (client->running > 0)
		pthread_cond_wait(&pool->done_cond, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
	/* done callbacks may submit more jobs: drain until nothing is left */
	while (client->pending > 0) {
		client_run_done(client);
		if (client->pending == 0)
			break;
		pthread_mutex_lock(&pool->lock);
		while (client->running > 0)
			pthread_cond_wait(&pool->done_cond, &pool->lock);
		pthread_mutex_unlock(&pool->lock);
	}
	event_free(client->ev);
	close(client->efd);
	pthread_mutex_lock(&pool->lock);
	pool->clients--;
	pthread_mutex_unlock(&pool->lock);
	i_free(client);
	*clientp = NULL;
}

void job_submit(struct job_client *client, job_run_cb *run, job_done_cb *done, void *ctx)
{
	struct job_pool *pool = client->pool;
	struct job *job = i_malloc(sizeof(*job));

	job->client = client;
	job->run = run;
	job->done = done;
	job->ctx = ctx;
	client->pending++;
	pthread_mutex_lock(&pool->lock);
	client->running++;
	if (pool->tail != NULL)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

unsigned int job_client_pending(const struct job_client *client)
{
	return client->pending;
}
