/*
 * The mailbox store object and its users (mailbox.h): a table of the users
 * open in this process, each with one index connection shared by all its
 * sessions under the user's mutex, opened lazily, checked and rebuilt when
 * missing or damaged, and closed by a background thread after
 * idle_close_secs unused. Errors and small helpers shared by the other
 * store files live here too.
 */
#include "store-private.h"
#include "mail-notify.h"
#include "maildir.h"
#include "maildir-files.h"
#include "maildir-names.h"
#include "arena.h"
#include "log.h"
#include "tern-limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REAPER_INTERVAL_SECS 5

int mail_error_set(struct mail_error *error, enum mail_error_code code, const char *fmt, ...)
{
	va_list args;

	error->code = code;
	va_start(args, fmt);
	vsnprintf(error->text, sizeof(error->text), fmt, args);
	va_end(args);
	return -1;
}

int mail_error_index(struct mail_user *user, struct mail_error *error)
{
	const char *text = user->index == NULL ? "index not open" :
		user->index->v->last_error(user->index);

	log_error("store", "user=%s error=%s", log_str(user->address), log_str(text));
	return mail_error_set(error, MAIL_ERROR_TEMP, "Internal error in the mailbox index");
}

int mail_error_sys(struct mail_error *error, const char *what, const char *path)
{
	int saved = errno;

	log_error("store", "%s path=%s error=%s", what, log_str(path), log_str(strerror(saved)));
	errno = saved;
	return mail_error_set(error, MAIL_ERROR_TEMP, "%s failed: %s", what, strerror(saved));
}

/* ---- special use ---- */

static const struct {
	const char *name;
	unsigned int bit;
} special_uses[] = {
	{ "\\All", MAIL_SPECIAL_ALL },
	{ "\\Archive", MAIL_SPECIAL_ARCHIVE },
	{ "\\Drafts", MAIL_SPECIAL_DRAFTS },
	{ "\\Flagged", MAIL_SPECIAL_FLAGGED },
	{ "\\Junk", MAIL_SPECIAL_JUNK },
	{ "\\Sent", MAIL_SPECIAL_SENT },
	{ "\\Trash", MAIL_SPECIAL_TRASH },
};

unsigned int mail_special_use_parse(const char *attr)
{
	size_t i;

	for (i = 0; i < N_ELEMENTS(special_uses); i++) {
		if (i_strcasecmp(attr, special_uses[i].name) == 0)
			return special_uses[i].bit;
	}
	return 0;
}

const char *mail_special_use_name(unsigned int bit)
{
	size_t i;

	for (i = 0; i < N_ELEMENTS(special_uses); i++) {
		if (special_uses[i].bit == bit)
			return special_uses[i].name;
	}
	return NULL;
}

/* ---- the user table ---- */

static unsigned int hash_str(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void users_grow(struct mail_store *store)
{
	unsigned int size = store->users_size * 2, i;
	struct mail_user **users = i_malloc(sizeof(*users) * size);

	for (i = 0; i < store->users_size; i++) {
		struct mail_user *u = store->users[i], *next;

		for (; u != NULL; u = next) {
			unsigned int b = hash_str(u->address) % size;

			next = u->hash_next;
			u->hash_next = users[b];
			users[b] = u;
		}
	}
	free(store->users);
	store->users = users;
	store->users_size = size;
}

static void user_free(struct mail_user *user)
{
	if (user->index != NULL)
		user->index->v->close(user->index);
	pthread_mutex_destroy(&user->lock);
	free(user->address);
	free(user->root);
	free(user);
}

/* Unlink from the table (store->lock held). */
static void users_remove(struct mail_store *store, struct mail_user *user)
{
	struct mail_user **p = &store->users[hash_str(user->address) % store->users_size];

	for (; *p != NULL; p = &(*p)->hash_next) {
		if (*p == user) {
			*p = user->hash_next;
			store->user_count--;
			return;
		}
	}
}

static void close_idle(struct mail_store *store, bool all)
{
	time_t now = time(NULL);
	unsigned int i;

	pthread_mutex_lock(&store->lock);
	for (i = 0; i < store->users_size; i++) {
		struct mail_user *u = store->users[i], *next;

		for (; u != NULL; u = next) {
			next = u->hash_next;
			if (u->index != NULL && pthread_mutex_trylock(&u->lock) == 0) {
				if (u->index != NULL &&
				    (all || now - u->last_used >= (time_t)store->idle_close_secs)) {
					u->index->v->close(u->index);
					u->index = NULL;
				}
				pthread_mutex_unlock(&u->lock);
			}
			if (u->refcount == 0 && u->index == NULL &&
			    (all || now - u->unused_since >= (time_t)store->idle_close_secs)) {
				users_remove(store, u);
				user_free(u);
			}
		}
	}
	pthread_mutex_unlock(&store->lock);
}

static void *reaper_main(void *context)
{
	struct mail_store *store = context;

	pthread_mutex_lock(&store->lock);
	while (!store->stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += REAPER_INTERVAL_SECS;
		(void)pthread_cond_timedwait(&store->reaper_cond, &store->lock, &ts);
		if (store->stopping)
			break;
		pthread_mutex_unlock(&store->lock);
		close_idle(store, false);
		pthread_mutex_lock(&store->lock);
	}
	pthread_mutex_unlock(&store->lock);
	return NULL;
}

int mail_store_create(const struct mail_store_settings *set, struct mail_store **store_r,
		      struct mail_error *error_r)
{
	struct mail_store *store;
	char *c;

	if (set->data_dir == NULL || set->data_dir[0] == '\0')
		return mail_error_set(error_r, MAIL_ERROR_PARAMS, "no data_dir");
	store = i_malloc(sizeof(*store));
	store->data_dir = i_strdup(set->data_dir);
	store->idle_close_secs = set->idle_close_secs > 0 ? set->idle_close_secs :
		TERN_STORE_IDLE_CLOSE;
	pthread_mutex_init(&store->lock, NULL);
	pthread_cond_init(&store->reaper_cond, NULL);
	pthread_mutex_init(&store->sync_lock, NULL);
	pthread_cond_init(&store->sync_cond, NULL);
	store->fs_fd = open(store->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	store->users_size = 64;
	store->users = i_malloc(sizeof(*store->users) * store->users_size);
	store->hub = mail_hub_new();
	if (gethostname(store->hostname, sizeof(store->hostname) - 1) < 0 ||
	    store->hostname[0] == '\0')
		strcpy(store->hostname, "localhost");
	/* ':' separates the flags, '/' paths, ',' fields (U=, S=) */
	for (c = store->hostname; *c != '\0'; c++) {
		if (*c == '/' || *c == ':' || *c == ',' || (unsigned char)*c <= ' ')
			*c = '_';
	}
	if (!set->no_background_thread) {
		if (pthread_create(&store->reaper, NULL, reaper_main, store) != 0)
			i_fatal("store: cannot start a thread: %s", strerror(errno));
		store->reaper_started = true;
	}
	*store_r = store;
	return 0;
}

int mail_store_fs_sync(struct mail_store *store, struct mail_error *error_r)
{
	uint64_t mine, target;
	int ret = 0, err = 0;

	if (store->fs_fd < 0) {
		sync();
		return 0;
	}
	pthread_mutex_lock(&store->sync_lock);
	mine = ++store->sync_ticket;
	while (store->sync_done < mine) {
		if (store->sync_failed_upto >= mine) {
			err = store->sync_failed_errno;
			ret = -1;
			break;
		}
		if (store->syncing) {
			pthread_cond_wait(&store->sync_cond, &store->sync_lock);
			continue;
		}
		/* sync for everyone who asked so far: one writeback and one
		   journal commit for their files and renames */
		store->syncing = true;
		target = store->sync_ticket;
		pthread_mutex_unlock(&store->sync_lock);
		ret = syncfs(store->fs_fd);
		err = errno;
		pthread_mutex_lock(&store->sync_lock);
		store->syncing = false;
		if (ret == 0) {
			store->sync_done = target;
		} else {
			store->sync_failed_upto = target;
			store->sync_failed_errno = err;
		}
		pthread_cond_broadcast(&store->sync_cond);
	}
	pthread_mutex_unlock(&store->sync_lock);
	if (ret < 0) {
		errno = err;
		return mail_error_sys(error_r, "syncfs", store->data_dir);
	}
	return 0;
}

void mail_store_destroy(struct mail_store **storep)
{
	struct mail_store *store = *storep;

	if (store == NULL)
		return;
	if (store->reaper_started) {
		pthread_mutex_lock(&store->lock);
		store->stopping = true;
		pthread_cond_signal(&store->reaper_cond);
		pthread_mutex_unlock(&store->lock);
		pthread_join(store->reaper, NULL);
	}
	close_idle(store, true);
	*storep = NULL;
	if (store->user_count != 0) {
		/* a caller's bug; its views still point here, so nothing can be
		   freed safely: say so and leak */
		log_error("store", "destroyed with %u users still referenced", store->user_count);
		return;
	}
	mail_hub_free(&store->hub);
	if (store->fs_fd >= 0)
		close(store->fs_fd);
	pthread_cond_destroy(&store->sync_cond);
	pthread_mutex_destroy(&store->sync_lock);
	pthread_cond_destroy(&store->reaper_cond);
	pthread_mutex_destroy(&store->lock);
	free(store->users);
	free(store->data_dir);
	free(store);
}

/* ---- the index of a user ---- */

int user_new_uidvalidity(struct mail_user *user, uint32_t *uidvalidity_r,
			 struct mail_error *error)
{
	struct mail_index *idx = user->index;
	struct arena *arena = arena_new(0);
	struct index_folder f;
	struct uidlist ul;
	int64_t last = 0;
	uint64_t v;
	int ret;
	bool have_ul;

	if (idx->v->meta_get(idx, "last_uidvalidity", &last) < 0) {
		arena_free(&arena);
		return mail_error_index(user, error);
	}
	/* RFC 3501 2.3.1.1: never the same value again for this user. The
	   counter is in the index and in INBOX's tern-uidlist (which
	   survives the index), and time keeps it going up otherwise. */
	have_ul = uidlist_read(user->root, &ul) > 0;
	if (have_ul && ul.last_uidvalidity > last)
		last = ul.last_uidvalidity;
	v = (uint64_t)time(NULL);
	if (v <= (uint64_t)last)
		v = (uint64_t)last + 1;
	for (;;) {
		if (v == 0 || v > UINT32_MAX)
			v = 1;
		ret = idx->v->folder_get(idx, arena, (uint32_t)v, &f);
		if (ret < 0) {
			arena_free(&arena);
			return mail_error_index(user, error);
		}
		if (ret == 0)
			break;
		v++;
	}
	arena_free(&arena);
	if (idx->v->meta_set(idx, "last_uidvalidity", (int64_t)v) < 0)
		return mail_error_index(user, error);
	if (!have_ul) {
		/* INBOX's file is missing: make it again from the index */
		struct arena *a2 = arena_new(0);
		struct index_folder inbox;

		ret = idx->v->folder_find(idx, a2, MAIL_INBOX, &inbox);
		if (ret < 0) {
			arena_free(&a2);
			return mail_error_index(user, error);
		}
		have_ul = ret > 0;
		ul.uidvalidity = inbox.id;
		ul.uidnext = I_MAX(inbox.uidnext, inbox.uidlist_n);
		ul.special_use = inbox.special_use;
		arena_free(&a2);
	}
	if (have_ul) {
		ul.last_uidvalidity = (uint32_t)v;
		if (uidlist_write(user->root, &ul) < 0)
			return mail_error_sys(error, "write", user->root);
	}
	*uidvalidity_r = (uint32_t)v;
	return 0;
}

char *user_folder_dir(struct mail_user *user, const char *name)
{
	buf_t b;
	char *dir;

	buf_init(&b, BUF_MAX_UNLIMITED);
	if (folder_name_to_dir(name, &b) < 0)
		i_panic("folder name %s has no directory", name);
	dir = i_strdup_printf("%s%s%s", user->root, buf_len(&b) > 0 ? "/" : "", buf_str(&b));
	buf_free(&b);
	return dir;
}

/* A new index: index what the Maildir holds. */
static int index_populate(struct mail_user *user, struct mail_error *error)
{
	struct mail_rebuild_stats stats;

	if (user_rebuild_locked(user, false, &stats, error) < 0)
		return -1;
	if (stats.messages > 0 || stats.folders > 1)
		log_info("store", "indexed user=%s folders=%u messages=%u new_uids=%u",
			 log_str(user->address), stats.folders, stats.messages, stats.new_uids);
	return 0;
}

/* The first open of the account: tern-subscriptions is written by the
   defaults (and kept ever after), so it says whether they were made. */
static int account_setup(struct mail_user *user, struct mail_error *error)
{
	char *path = i_strdup_printf("%s/%s", user->root, SUBSCRIPTIONS_FILE);
	bool first = access(path, F_OK) < 0 && errno == ENOENT;

	free(path);
	return first ? folder_create_defaults(user, error) : 0;
}

int user_index_open_raw(struct mail_user *user, bool *created_r, struct mail_error *error)
{
	enum index_open_result r;
	const char *err;
	char *aside;

	r = index_sqlite_open(user->root, &user->index, &err);
	if (r == INDEX_OPEN_CORRUPT) {
		if (index_sqlite_move_aside(user->root, &aside) < 0) {
			free(aside);
			return mail_error_sys(error, "rename", user->root);
		}
		log_warning("store", "index damaged, rebuilding user=%s reason=%s moved=%s",
			    log_str(user->address), log_str(err), log_str(aside));
		free(aside);
		r = index_sqlite_open(user->root, &user->index, &err);
	}
	if (r == INDEX_OPEN_ERROR || r == INDEX_OPEN_CORRUPT) {
		log_error("store", "user=%s error=%s", log_str(user->address), log_str(err));
		user->index = NULL;
		return mail_error_set(error, MAIL_ERROR_TEMP, "Cannot open the mailbox index");
	}
	*created_r = r == INDEX_OPEN_CREATED;
	return 0;
}

void user_index_discard(struct mail_user *user)
{
	char *path = i_strdup_printf("%s/%s", user->root, INDEX_SQLITE_FILE);

	user->index->v->close(user->index);
	user->index = NULL;
	(void)unlink(path);
	free(path);
}

static int index_open(struct mail_user *user, struct mail_error *error)
{
	struct arena *arena;
	struct index_folder inbox;
	bool created;
	int ret;

	if (user_index_open_raw(user, &created, error) < 0)
		return -1;
	if (!created) {
		/* an index without INBOX is no index of ours (an interrupted
		   first rebuild): make it again */
		arena = arena_new(0);
		ret = user->index->v->folder_find(user->index, arena, MAIL_INBOX, &inbox);
		arena_free(&arena);
		if (ret < 0) {
			(void)mail_error_index(user, error);
			user->index->v->close(user->index);
			user->index = NULL;
			return -1;
		}
		created = ret == 0;
	}
	if (created && index_populate(user, error) < 0) {
		user_index_discard(user);
		return -1;
	}
	if (account_setup(user, error) < 0) {
		user->index->v->close(user->index);
		user->index = NULL;
		return -1;
	}
	if (user->index->v->meta_get(user->index, "epoch", &user->epoch) < 0) {
		(void)mail_error_index(user, error);
		user->index->v->close(user->index);
		user->index = NULL;
		return -1;
	}
	return 0;
}

int user_lock(struct mail_user *user, struct mail_error *error)
{
	pthread_mutex_lock(&user->lock);
	if (user->index == NULL && index_open(user, error) < 0) {
		pthread_mutex_unlock(&user->lock);
		return -1;
	}
	user->last_used = time(NULL);
	return 0;
}

void user_unlock(struct mail_user *user)
{
	if (user->index != NULL && user->index->v->is_corrupt(user->index)) {
		char *aside;

		/* the next user_lock() rebuilds from the Maildir */
		user->index->v->close(user->index);
		user->index = NULL;
		if (index_sqlite_move_aside(user->root, &aside) == 0)
			log_warning("store", "index damaged, moved aside user=%s moved=%s",
				    log_str(user->address), log_str(aside));
		free(aside);
	}
	pthread_mutex_unlock(&user->lock);
}

int user_begin(struct mail_user *user, struct mail_error *error)
{
	if (user->index->v->begin(user->index) < 0)
		return mail_error_index(user, error);
	return 0;
}

int user_commit(struct mail_user *user, struct mail_error *error)
{
	if (user->index->v->commit(user->index) < 0)
		return mail_error_index(user, error);
	return 0;
}

void user_rollback(struct mail_user *user)
{
	user->index->v->rollback(user->index);
}

void user_notify(struct mail_user *user, const char *folder_name, uint32_t folder_id)
{
	mail_hub_notify(user->store->hub, user->address, folder_name, folder_id);
}

/* ---- users ---- */

struct mail_user *user_get(struct mail_store *store, const char *address,
			   struct mail_error *error)
{
	struct mail_user *user;
	char *root = maildir_path_for(store->data_dir, address);
	unsigned int b;

	if (root == NULL) {
		(void)mail_error_set(error, MAIL_ERROR_PARAMS, "Invalid address");
		return NULL;
	}
	pthread_mutex_lock(&store->lock);
	b = hash_str(address) % store->users_size;
	for (user = store->users[b]; user != NULL; user = user->hash_next) {
		if (strcmp(user->address, address) == 0)
			break;
	}
	if (user == NULL) {
		user = i_malloc(sizeof(*user));
		user->store = store;
		user->address = i_strdup(address);
		user->root = root;
		root = NULL;
		pthread_mutex_init(&user->lock, NULL);
		user->hash_next = store->users[b];
		store->users[b] = user;
		if (++store->user_count > store->users_size * 2)
			users_grow(store);
	}
	user->refcount++;
	pthread_mutex_unlock(&store->lock);
	free(root);
	return user;
}

int mail_user_open(struct mail_store *store, const char *address, struct mail_user **user_r,
		   struct mail_error *error_r)
{
	struct mail_user *user = user_get(store, address, error_r);
	const char *error;

	if (user == NULL)
		return -1;
	if (maildir_create(user->root, "", &error) < 0) {
		mail_user_unref(&user);
		log_error("store", "user=%s error=%s", log_str(address), log_str(error));
		return mail_error_set(error_r, MAIL_ERROR_TEMP, "Cannot create the mailbox");
	}
	if (user_lock(user, error_r) < 0) {
		mail_user_unref(&user);
		return -1;
	}
	user_unlock(user);
	*user_r = user;
	return 0;
}

void mail_user_ref(struct mail_user *user)
{
	pthread_mutex_lock(&user->store->lock);
	user->refcount++;
	pthread_mutex_unlock(&user->store->lock);
}

void mail_user_unref(struct mail_user **userp)
{
	struct mail_user *user = *userp;
	struct mail_store *store;

	if (user == NULL)
		return;
	*userp = NULL;
	store = user->store;
	pthread_mutex_lock(&store->lock);
	i_assert(user->refcount > 0);
	if (--user->refcount == 0) {
		user->unused_since = time(NULL);
		if (!store->reaper_started) {
			users_remove(store, user);
			user_free(user);
		}
	}
	pthread_mutex_unlock(&store->lock);
}

const char *mail_user_address(const struct mail_user *user)
{
	return user->address;
}

bool mail_user_pop3_lock(struct mail_user *user)
{
	bool taken;

	pthread_mutex_lock(&user->lock);
	taken = !user->pop3_locked;
	user->pop3_locked = true;
	pthread_mutex_unlock(&user->lock);
	return taken;
}

void mail_user_pop3_unlock(struct mail_user *user)
{
	pthread_mutex_lock(&user->lock);
	user->pop3_locked = false;
	pthread_mutex_unlock(&user->lock);
}
