/*
 * The failed-login throttle (auth-throttle.h): two bounded hash tables
 * (client addresses, accounts) of sliding-window failure counters. A window
 * is kept as AUTH_THROTTLE_BUCKETS counters of window/BUCKETS seconds each,
 * so a count is exact to within one bucket and an entry has a fixed size.
 * Called by the service layer on its loop thread only.
 */
#include "auth-throttle.h"
#include "tern-limits.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <string.h>

#define AUTH_THROTTLE_BUCKETS 16
#define KEY_SIZE 17
#define KEY_ACCOUNT 0xff

struct entry {
	uint8_t key[KEY_SIZE];     /* family (or KEY_ACCOUNT) + 16 bytes */
	bool used;
	uint16_t counts[AUTH_THROTTLE_BUCKETS];
	int64_t epoch;             /* the bucket counts[epoch % BUCKETS] is for */
	time_t last_failure;
	time_t blocked_until;      /* addresses: refused until then */
};

struct table {
	struct entry *slots;
	size_t size;               /* a power of two */
	size_t count;
};

struct auth_throttle {
	struct auth_throttle_settings set;
	unsigned int bucket_secs;
	struct table addrs, accounts;
};

static void table_init(struct table *t, size_t size);
static struct entry *table_find(struct table *t, const uint8_t *key);
static struct entry *table_insert(struct auth_throttle *th, struct table *t, const uint8_t *key,
				  time_t now);
static void table_rebuild(struct auth_throttle *th, struct table *t, size_t size, time_t drop_before);
static unsigned int entry_count(struct auth_throttle *th, struct entry *e, time_t now);

struct auth_throttle *auth_throttle_new(const struct auth_throttle_settings *set)
{
	struct auth_throttle *th = i_malloc(sizeof(*th));

	th->set = *set;
	if (th->set.window == 0)
		th->set.window = 1;
	th->bucket_secs = th->set.window / AUTH_THROTTLE_BUCKETS;
	if (th->bucket_secs == 0)
		th->bucket_secs = 1;
	table_init(&th->addrs, 256);
	table_init(&th->accounts, 256);
	return th;
}

void auth_throttle_free(struct auth_throttle **thp)
{
	struct auth_throttle *th = *thp;

	if (th == NULL)
		return;
	i_free(th->addrs.slots);
	i_free(th->accounts.slots);
	i_free(th);
	*thp = NULL;
}

static void table_init(struct table *t, size_t size)
{
	t->slots = i_malloc(i_size_mul(size, sizeof(*t->slots)));
	t->size = size;
	t->count = 0;
}

/* FNV-1a over the key */
static size_t key_hash(const uint8_t *key)
{
	uint64_t h = 14695981039346656037ULL;
	unsigned int i;

	for (i = 0; i < KEY_SIZE; i++) {
		h ^= key[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

static struct entry *table_find(struct table *t, const uint8_t *key)
{
	size_t i = key_hash(key) & (t->size - 1);

	while (t->slots[i].used) {
		if (memcmp(t->slots[i].key, key, KEY_SIZE) == 0)
			return &t->slots[i];
		i = (i + 1) & (t->size - 1);
	}
	return NULL;
}

static struct entry *slot_for(struct table *t, const uint8_t *key)
{
	size_t i = key_hash(key) & (t->size - 1);

	while (t->slots[i].used)
		i = (i + 1) & (t->size - 1);
	return &t->slots[i];
}

/* Re-insert every entry whose last failure is at or after drop_before
   (and any that is still blocked) into a table of the given size. */
static void table_rebuild(struct auth_throttle *th, struct table *t, size_t size, time_t drop_before)
{
	struct table old = *t;
	size_t i;

	table_init(t, size);
	for (i = 0; i < old.size; i++) {
		struct entry *e = &old.slots[i];

		if (!e->used)
			continue;
		if (e->last_failure < drop_before && e->blocked_until < drop_before)
			continue;
		*slot_for(t, e->key) = *e;
		t->count++;
	}
	i_free(old.slots);
	(void)th;
}

static struct entry *table_insert(struct auth_throttle *th, struct table *t, const uint8_t *key,
				  time_t now)
{
	struct entry *e;

	if (t->count >= AUTH_THROTTLE_MAX_ENTRIES) {
		/* full: forget what no longer counts; if nothing is stale, the
		   eighth whose last failure is oldest */
		time_t horizon = now - (time_t)I_MAX(th->set.window, th->set.block_time);
		time_t oldest = now, newest = 0;
		size_t i;

		table_rebuild(th, t, t->size, horizon);
		if (t->count >= AUTH_THROTTLE_MAX_ENTRIES) {
			for (i = 0; i < t->size; i++) {
				if (!t->slots[i].used)
					continue;
				oldest = I_MIN(oldest, t->slots[i].last_failure);
				newest = I_MAX(newest, t->slots[i].last_failure);
			}
			table_rebuild(th, t, t->size, oldest + (newest - oldest) / 8 + 1);
		}
	} else if ((t->count + 1) * 2 > t->size) {
		table_rebuild(th, t, t->size * 2, 0);
	}
	e = slot_for(t, key);
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, KEY_SIZE);
	e->used = true;
	e->epoch = (int64_t)(now / th->bucket_secs);
	t->count++;
	return e;
}

/* Failures in the window; moves the window up to now first. */
static unsigned int entry_count(struct auth_throttle *th, struct entry *e, time_t now)
{
	int64_t cur = (int64_t)(now / th->bucket_secs);
	unsigned int i, sum = 0;

	if (cur > e->epoch) {
		int64_t b;

		if (cur - e->epoch >= AUTH_THROTTLE_BUCKETS) {
			memset(e->counts, 0, sizeof(e->counts));
		} else {
			for (b = e->epoch + 1; b <= cur; b++)
				e->counts[b % AUTH_THROTTLE_BUCKETS] = 0;
		}
		e->epoch = cur;
	}
	for (i = 0; i < AUTH_THROTTLE_BUCKETS; i++)
		sum += e->counts[i];
	return sum;
}

static void entry_add(struct auth_throttle *th, struct entry *e, time_t now)
{
	uint16_t *c;

	(void)entry_count(th, e, now);
	c = &e->counts[e->epoch % AUTH_THROTTLE_BUCKETS];
	if (*c < UINT16_MAX)
		(*c)++;
	e->last_failure = now;
}

/* IPv4 (also IPv4-mapped IPv6) whole; IPv6 per /64. */
static void addr_key(const struct sockaddr *addr, uint8_t key[KEY_SIZE])
{
	memset(key, 0, KEY_SIZE);
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;

		key[0] = AF_INET;
		memcpy(key + 1, &sin->sin_addr, 4);
	} else if (addr->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key[0] = AF_INET;
			memcpy(key + 1, a->s6_addr + 12, 4);
		} else {
			key[0] = AF_INET6;
			memcpy(key + 1, a->s6_addr, 8);
		}
	}
}

/* Accounts by a digest of the lowercased name: fixed-size keys, and no
   login names (which may be mistyped passwords) kept in memory. */
static bool account_key(const char *account, uint8_t key[KEY_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx;
	size_t i, len;

	if (account == NULL || account[0] == '\0')
		return false;
	len = strlen(account);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		i_fatal("auth throttle: SHA-256 unavailable");
	for (i = 0; i < len; i++) {
		char c = i_tolower(account[i]);

		EVP_DigestUpdate(ctx, &c, 1);
	}
	EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	key[0] = KEY_ACCOUNT;
	memcpy(key + 1, md, KEY_SIZE - 1);
	return true;
}

enum auth_throttle_verdict auth_throttle_check(struct auth_throttle *th,
					       const struct sockaddr *addr, const char *account,
					       time_t now, unsigned int *delay_msecs_r)
{
	uint8_t key[KEY_SIZE];
	struct entry *e, *acc;
	unsigned int n, extra;

	*delay_msecs_r = 0;
	addr_key(addr, key);
	e = table_find(&th->addrs, key);
	if (e == NULL)
		return AUTH_THROTTLE_OK;         /* a clean address: never held back */
	if (e->blocked_until > now)
		return AUTH_THROTTLE_REFUSE;
	n = entry_count(th, e, now);
	if (n == 0)
		return AUTH_THROTTLE_OK;
	if (n >= th->set.block_after) {
		e->blocked_until = e->last_failure + (time_t)th->set.block_time;
		if (e->blocked_until > now)
			return AUTH_THROTTLE_REFUSE;
	}
	if (account_key(account, key) && (acc = table_find(&th->accounts, key)) != NULL &&
	    entry_count(th, acc, now) >= th->set.account_limit)
		return AUTH_THROTTLE_REFUSE;     /* an account under attack, a failing address */
	if (n < th->set.delay_after)
		return AUTH_THROTTLE_OK;
	extra = n - th->set.delay_after;
	*delay_msecs_r = extra >= 4 ? AUTH_THROTTLE_MAX_DELAY_SECS * 1000 :
		I_MIN(1000u << extra, AUTH_THROTTLE_MAX_DELAY_SECS * 1000u);
	return AUTH_THROTTLE_DELAY;
}

unsigned int auth_throttle_failure(struct auth_throttle *th, const struct sockaddr *addr,
				   const char *account, time_t now)
{
	uint8_t key[KEY_SIZE];
	struct entry *e;
	unsigned int n;

	addr_key(addr, key);
	if ((e = table_find(&th->addrs, key)) == NULL)
		e = table_insert(th, &th->addrs, key, now);
	entry_add(th, e, now);
	n = entry_count(th, e, now);
	if (n >= th->set.block_after)
		e->blocked_until = now + (time_t)th->set.block_time;
	if (account_key(account, key)) {
		if ((e = table_find(&th->accounts, key)) == NULL)
			e = table_insert(th, &th->accounts, key, now);
		entry_add(th, e, now);
	}
	return n;
}

unsigned int auth_throttle_addr_failures(struct auth_throttle *th, const struct sockaddr *addr,
					 time_t now)
{
	uint8_t key[KEY_SIZE];
	struct entry *e;

	addr_key(addr, key);
	e = table_find(&th->addrs, key);
	return e == NULL ? 0 : entry_count(th, e, now);
}

unsigned int auth_throttle_account_failures(struct auth_throttle *th, const char *account,
					    time_t now)
{
	uint8_t key[KEY_SIZE];
	struct entry *e;

	if (!account_key(account, key))
		return 0;
	e = table_find(&th->accounts, key);
	return e == NULL ? 0 : entry_count(th, e, now);
}
