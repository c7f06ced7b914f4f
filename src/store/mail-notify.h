#ifndef TERN_MAIL_NOTIFY_H
#define TERN_MAIL_NOTIFY_H

#include "lib.h"

/*
 * The change hub of the store (internal; the public side is in mailbox.h:
 * mail_store_watch(), mailbox_watch(), mail_store_unwatch(),
 * mail_store_notify()). Watches are kept in a hash table by address under
 * one mutex; a notification calls the matching callbacks with that mutex
 * held, so that once mail_store_unwatch() returns no callback runs.
 */

struct mail_hub;

struct mail_hub *mail_hub_new(void);
/* Every watch must be gone. */
void mail_hub_free(struct mail_hub **hub);
/* Wake the watchers of (address, folder): folder_id (a UIDVALIDITY) when
   known, else 0; folder NULL: every folder. */
void mail_hub_notify(struct mail_hub *hub, const char *address, const char *folder,
		     uint32_t folder_id);
/* A view's folder has a new name: update its watch. */
void mail_hub_watch_set_name(struct mail_watch *watch, const char *folder);

#endif
