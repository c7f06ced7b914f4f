#ifndef TERN_JOB_POOL_H
#define TERN_JOB_POOL_H

#include "lib.h"

/*
 * A few threads that run blocking jobs for the event loops: a queue commit
 * (fsync, shared by group commit), a password check (yescrypt costs tens of
 * milliseconds of CPU), other bounded disk work. An event loop never blocks
 * on them: it submits a job through its own job_client, and the job's done
 * callback later runs on that loop's thread, from the loop.
 *
 *   pool = job_pool_new(8);
 *   client = job_client_new(pool, loop);        // one per loop
 *   job_submit(client, run, done, ctx);         // run(ctx) in a pool thread,
 *                                               // then done(ctx) on the loop
 *
 * Jobs start in the order submitted. A submitted job always runs and its
 * done callback always follows (a caller that goes away meanwhile keeps
 * its ctx alive until done). Wake-ups go through an eventfd per client.
 */
struct net_loop;
struct job_pool;
struct job_client;

/* Runs in a pool thread; may block. */
typedef void job_run_cb(void *ctx);
/* Runs on the submitting loop's thread after run() has returned. */
typedef void job_done_cb(void *ctx);

/* Start threads (at least 1). */
struct job_pool *job_pool_new(unsigned int threads);
/* Finish every job submitted so far, then join the threads and free the
   pool. Every client must have been freed. Sets *pool NULL. */
void job_pool_free(struct job_pool **pool);

/* A loop's connection to the pool. Must be freed (on the loop's thread)
   before the loop and the pool. */
struct job_client *job_client_new(struct job_pool *pool, struct net_loop *loop);
/* Waits for this client's jobs still running or queued, then runs their
   done callbacks (from inside this call), then frees. Sets *client NULL. */
void job_client_free(struct job_client **client);

/* Queue a job; never blocks and never fails. run may be NULL (done is then
   just deferred to the loop). */
void job_submit(struct job_client *client, job_run_cb *run, job_done_cb *done, void *ctx);
/* Jobs of this client submitted and whose done callback has not run yet. */
unsigned int job_client_pending(const struct job_client *client);

#endif
