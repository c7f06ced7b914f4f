#ifndef TERN_ACCOUNTS_POOL_H
#define TERN_ACCOUNTS_POOL_H

#include "lib.h"

/*
 * A thread-safe pool of accounts handles (accounts.h handles are not
 * thread-safe: one per thread at a time). Job-pool threads of every
 * protocol take one for a password check or a recipient lookup and give
 * it back; handles are opened on demand and kept for reuse.
 */
struct accounts;
struct accounts_pool;

/* data_dir and the config's domains must outlive the pool. Nothing is
   opened yet. */
struct accounts_pool *accounts_pool_new(const char *data_dir, const char *const *config_domains,
					size_t config_domains_count);
/* Handles get accounts_set_system(hostname, postmaster); both must
   outlive the pool. Call before the first accounts_pool_get(). */
void accounts_pool_set_system(struct accounts_pool *pool, const char *hostname,
			      const char *postmaster);
/* Every handle must have been put back. */
void accounts_pool_free(struct accounts_pool **pool);

/* A handle for this thread's exclusive use until accounts_pool_put(), or
   NULL (logged) when accounts.db cannot be opened. */
struct accounts *accounts_pool_get(struct accounts_pool *pool);
void accounts_pool_put(struct accounts_pool *pool, struct accounts *acc);

/* accounts_user_verify() through a pooled handle: 1 good, 0 bad, -1 error. */
int accounts_pool_verify(struct accounts_pool *pool, const char *user, const char *password);

#endif
