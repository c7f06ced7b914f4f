/*
 * The change hub (mail-notify.h): who wants to hear about which user's
 * folders, and telling them. Called from any thread; never touches disk.
 */
#include "store-private.h"
#include "mail-notify.h"

#include <stdlib.h>

#define HUB_BUCKETS 1024

struct mail_watch {
	struct mail_hub *hub;
	struct mail_watch *prev, *next;
	char *address;
	char *folder;                   /* NULL: every folder */
	uint32_t folder_id;             /* a view's folder (follows renames); 0: by name */
	struct mailbox_view *view;
	mail_watch_callback *callback;
	void *context;
};

struct mail_hub {
	pthread_mutex_t lock;
	struct mail_watch *buckets[HUB_BUCKETS];
	unsigned int count;
};

static unsigned int bucket_of(const char *address)
{
	unsigned int h = 2166136261u;

	for (; *address != '\0'; address++)
		h = (h ^ (unsigned char)*address) * 16777619u;
	return h % HUB_BUCKETS;
}

struct mail_hub *mail_hub_new(void)
{
	struct mail_hub *hub = i_malloc(sizeof(*hub));

	pthread_mutex_init(&hub->lock, NULL);
	return hub;
}

void mail_hub_free(struct mail_hub **hubp)
{
	struct mail_hub *hub = *hubp;

	if (hub == NULL)
		return;
	if (hub->count != 0)
		i_panic("mail hub freed with %u watches", hub->count);
	pthread_mutex_destroy(&hub->lock);
	free(hub);
	*hubp = NULL;
}

static bool names_equal(const char *a, const char *b)
{
	/* INBOX is case-insensitive (RFC 3501 5.1); other names are exact */
	if (i_strcasecmp(a, MAIL_INBOX) == 0)
		return i_strcasecmp(b, MAIL_INBOX) == 0;
	return strcmp(a, b) == 0;
}

void mail_hub_notify(struct mail_hub *hub, const char *address, const char *folder,
		     uint32_t folder_id)
{
	struct mail_watch *w;

	pthread_mutex_lock(&hub->lock);
	for (w = hub->buckets[bucket_of(address)]; w != NULL; w = w->next) {
		if (strcmp(w->address, address) != 0)
			continue;
		if (folder != NULL && w->folder != NULL) {
			bool match = w->folder_id != 0 && folder_id != 0 ?
				w->folder_id == folder_id : names_equal(w->folder, folder);

			if (!match)
				continue;
		}
		w->callback(w->context);
	}
	pthread_mutex_unlock(&hub->lock);
}

static struct mail_watch *watch_add(struct mail_hub *hub, const char *address, const char *folder,
				    uint32_t folder_id, mail_watch_callback *callback,
				    void *context)
{
	struct mail_watch *w = i_malloc(sizeof(*w));
	unsigned int b = bucket_of(address);

	w->hub = hub;
	w->address = i_strdup(address);
	w->folder = i_strdup(folder);
	w->folder_id = folder_id;
	w->callback = callback;
	w->context = context;
	pthread_mutex_lock(&hub->lock);
	w->next = hub->buckets[b];
	if (w->next != NULL)
		w->next->prev = w;
	hub->buckets[b] = w;
	hub->count++;
	pthread_mutex_unlock(&hub->lock);
	return w;
}

struct mail_watch *mail_store_watch(struct mail_store *store, const char *address,
				    const char *folder, mail_watch_callback *callback,
				    void *context)
{
	return watch_add(store->hub, address, folder, 0, callback, context);
}

struct mail_watch *mailbox_watch(struct mailbox_view *view, mail_watch_callback *callback,
				 void *context)
{
	struct mail_watch *w;

	i_assert(view->watch == NULL);
	w = watch_add(view->user->store->hub, view->user->address, view->name, view->folder_id,
		      callback, context);
	w->view = view;
	view->watch = w;
	return w;
}

void mail_hub_watch_set_name(struct mail_watch *w, const char *folder)
{
	char *copy = i_strdup(folder), *old;

	pthread_mutex_lock(&w->hub->lock);
	old = w->folder;
	w->folder = copy;
	pthread_mutex_unlock(&w->hub->lock);
	free(old);
}

void mail_store_unwatch(struct mail_watch **watchp)
{
	struct mail_watch *w = *watchp;
	struct mail_hub *hub;

	if (w == NULL)
		return;
	*watchp = NULL;
	hub = w->hub;
	pthread_mutex_lock(&hub->lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		hub->buckets[bucket_of(w->address)] = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	hub->count--;
	pthread_mutex_unlock(&hub->lock);
	if (w->view != NULL)
		w->view->watch = NULL;
	free(w->address);
	free(w->folder);
	free(w);
}

void mail_store_notify(struct mail_store *store, const char *address, const char *folder)
{
	mail_hub_notify(store->hub, address, folder, 0);
}
