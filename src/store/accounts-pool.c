/*
 * The accounts handle pool (accounts-pool.h): a mutex-protected stack of
 * open handles. Used from job-pool threads; never blocks except on the
 * mutex (opening a handle is local disk work).
 */
#include "accounts-pool.h"
#include "accounts.h"
#include "log.h"

#include <pthread.h>

struct accounts_pool {
	const char *data_dir;
	const char *const *domains;
	size_t domains_count;
	const char *hostname, *postmaster;   /* NULL: not set */
	pthread_mutex_t lock;
	struct accounts **spare;
	unsigned int spare_count, spare_alloc;
	unsigned int out;             /* handles given and not put back */
};

struct accounts_pool *accounts_pool_new(const char *data_dir, const char *const *config_domains,
					size_t config_domains_count)
{
	struct accounts_pool *pool = i_malloc(sizeof(*pool));

	pool->data_dir = data_dir;
	pool->domains = config_domains;
	pool->domains_count = config_domains_count;
	pthread_mutex_init(&pool->lock, NULL);
	return pool;
}

void accounts_pool_set_system(struct accounts_pool *pool, const char *hostname,
			      const char *postmaster)
{
	pool->hostname = hostname;
	pool->postmaster = postmaster;
}

void accounts_pool_free(struct accounts_pool **poolp)
{
	struct accounts_pool *pool = *poolp;
	unsigned int i;

	if (pool == NULL)
		return;
	if (pool->out != 0)
		i_panic("accounts pool freed with %u handles out", pool->out);
	for (i = 0; i < pool->spare_count; i++)
		accounts_close(&pool->spare[i]);
	i_free(pool->spare);
	pthread_mutex_destroy(&pool->lock);
	i_free(pool);
	*poolp = NULL;
}

struct accounts *accounts_pool_get(struct accounts_pool *pool)
{
	struct accounts *acc = NULL;
	const char *error;

	pthread_mutex_lock(&pool->lock);
	if (pool->spare_count > 0)
		acc = pool->spare[--pool->spare_count];
	pool->out++;
	pthread_mutex_unlock(&pool->lock);
	if (acc != NULL)
		return acc;
	if (accounts_open(pool->data_dir, pool->domains, pool->domains_count, &acc, &error) < 0) {
		log_error("accounts", "open failed error=%s", log_str(error));
		pthread_mutex_lock(&pool->lock);
		pool->out--;
		pthread_mutex_unlock(&pool->lock);
		return NULL;
	}
	if (pool->hostname != NULL)
		accounts_set_system(acc, pool->hostname, pool->postmaster);
	return acc;
}

void accounts_pool_put(struct accounts_pool *pool, struct accounts *acc)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->spare_count == pool->spare_alloc) {
		pool->spare_alloc = pool->spare_alloc == 0 ? 8 : pool->spare_alloc * 2;
		pool->spare = i_realloc(pool->spare, i_size_mul(pool->spare_alloc, sizeof(acc)));
	}
	pool->spare[pool->spare_count++] = acc;
	i_assert(pool->out > 0);
	pool->out--;
	pthread_mutex_unlock(&pool->lock);
}

int accounts_pool_verify(struct accounts_pool *pool, const char *user, const char *password)
{
	struct accounts *acc = accounts_pool_get(pool);
	int ret;

	if (acc == NULL)
		return -1;
	ret = accounts_user_verify(acc, user, password);
	accounts_pool_put(pool, acc);
	return ret;
}
