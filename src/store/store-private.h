#ifndef TERN_STORE_PRIVATE_H
#define TERN_STORE_PRIVATE_H

/*
 * What the files of the mailbox store share and nobody else sees: the
 * store, user and view structures, the user lock, errors, and the internal
 * entry points between files (names, sync, cache). See mailbox.h for the
 * public contract and docs/store.md for the design.
 *
 *   mail-store.c     store, users, the lock and lazy index, the idle reaper
 *   mail-notify.c    the change hub (watchers)
 *   maildir-names.c  file names (U=, flags, GUID), folder names <-> dirs
 *   maildir-sync.c   scanning a folder's Maildir into the index
 *   maildir-files.c  tern-uidlist, dovecot-keywords, tern-subscriptions
 *   mail-parts.c     the cache of a message (envelope, structure, part table)
 *   mail-folder.c    folder list, create, delete, rename, subscribe, status
 *   maildir-folders.c  the folder list in step with the Maildir++ directories
 *   mailbox-view.c   views: open, sync, the sequence map accessors
 *   mail-change.c    store flags, expunge
 *   mail-save.c      append, copy, move
 *   mail-fetch.c     record iteration, message files and sections
 *   mail-search.c    search
 *   mail-rebuild.c   rebuild
 *   index-sqlite.c   the SQL (behind index-private.h)
 */

#include "mailbox.h"
#include "index-private.h"
#include "seqmap.h"

#include <pthread.h>
#include <stdarg.h>

struct mail_hub;

struct mail_store {
	char *data_dir;
	unsigned int idle_close_secs;
	pthread_mutex_t lock;            /* the user table and refcounts */
	struct mail_user **users;        /* hash table by address */
	unsigned int users_size, user_count;
	struct mail_hub *hub;
	pthread_t reaper;
	pthread_cond_t reaper_cond;
	bool reaper_started, stopping;
	char hostname[128];              /* for new Maildir file names */

	/* group commit of new mail (mail_store_fs_sync): one syncfs for every
	   APPEND that arrives while another one syncs */
	int fs_fd;                       /* data_dir, on the mail filesystem; -1: fsync instead */
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_cond;
	uint64_t sync_ticket, sync_done, sync_failed_upto;
	int sync_failed_errno;
	bool syncing;
};

/* Make every write and rename done before this call durable: one syncfs
   shared by all callers that come while another one runs (group commit,
   as the queue does). 0, or -1 with TEMP. */
int mail_store_fs_sync(struct mail_store *store, struct mail_error *error_r);

struct mail_user {
	struct mail_store *store;
	struct mail_user *hash_next;
	char *address;
	char *root;                      /* the INBOX Maildir: data_dir/mail/<domain>/<local> */
	unsigned int refcount;           /* store->lock */
	time_t unused_since;             /* store->lock: when refcount went 0 */

	pthread_mutex_t lock;            /* everything below, and the Maildir */
	struct mail_index *index;        /* NULL while closed */
	time_t last_used;
	int64_t epoch;                   /* meta "epoch": changes with every rebuild */
	bool pop3_locked;
};

/* A view's own flag change, not to be reported back to it. */
struct view_own_change {
	uint32_t uid;
	uint64_t modseq;
};

struct mailbox_view {
	struct mail_user *user;
	uint32_t folder_id;              /* = UIDVALIDITY */
	char *name;
	unsigned int open_flags;
	struct seqmap map;               /* seq -> UID as the client knows it */
	/* expunged by others, not yet announced: sorted UIDs still in map */
	uint32_t *pending;
	unsigned int pending_count, pending_alloc;
	/* \Recent: claimed UID ranges */
	struct mail_uid_range *recent;
	unsigned int recent_count, recent_alloc;
	uint32_t uidnext;                /* UIDs at or above are new to the view */
	uint64_t modseq;                 /* changes up to here are known */
	int64_t epoch;
	unsigned int keyword_count;      /* folder keywords the client was told of */
	struct view_own_change *own;
	unsigned int own_count, own_alloc;
	bool own_overflow;
	struct mail_watch *watch;
};

/* ---- errors ---- */
int mail_error_set(struct mail_error *error, enum mail_error_code code, const char *fmt, ...)
	ATTR_FORMAT(3, 4);
/* An index failure: TEMP with the backend's text; logged. Returns -1. */
int mail_error_index(struct mail_user *user, struct mail_error *error);
/* A system call failure: TEMP "what path: strerror"; logged. Returns -1. */
int mail_error_sys(struct mail_error *error, const char *what, const char *path);

/* ---- users (mail-store.c) ---- */
/* A referenced user object (its index not opened). NULL for a bad address. */
struct mail_user *user_get(struct mail_store *store, const char *address,
			   struct mail_error *error);
/* Open the index (user->lock held, index closed), moving a damaged one
   aside; *created_r: it is new and empty. */
int user_index_open_raw(struct mail_user *user, bool *created_r, struct mail_error *error);
/* Close and delete a half-made index, so the next open starts again. */
void user_index_discard(struct mail_user *user);
/* Lock the user and make sure its index is open (opening, checking,
   rebuilding it as needed). -1 with the lock NOT held. */
int user_lock(struct mail_user *user, struct mail_error *error);
void user_unlock(struct mail_user *user);
/* Begin / commit the one write transaction of an operation. */
int user_begin(struct mail_user *user, struct mail_error *error);
int user_commit(struct mail_user *user, struct mail_error *error);
void user_rollback(struct mail_user *user);
/* The directory of a folder: root for INBOX, root/.a.b otherwise. malloc'd. */
char *user_folder_dir(struct mail_user *user, const char *name);
/* A new UIDVALIDITY never handed out for this user (meta + time). */
int user_new_uidvalidity(struct mail_user *user, uint32_t *uidvalidity_r,
			 struct mail_error *error);
/* Tell the hub (user lock may be held). */
void user_notify(struct mail_user *user, const char *folder_name, uint32_t folder_id);

/* ---- rebuild (mail-rebuild.c) ---- */
/* Rebuild every folder of the user from the Maildir (user locked, no
   transaction open). in_place: the current index is sound, keep its
   knowledge (UIDVALIDITY, which UIDs it handed out, MODSEQ) and rewrite it
   in one transaction; else it is new and empty. */
int user_rebuild_locked(struct mail_user *user, bool in_place,
			struct mail_rebuild_stats *stats, struct mail_error *error);

/* ---- folders (mail-folder.c) ---- */
/* Find a folder by (normalized) name: 0, or -1 with NOTFOUND. */
int folder_lookup(struct mail_user *user, struct arena *arena, const char *name,
		  struct index_folder *folder_r, struct mail_error *error);
/* The Maildir++ folders on disk (canonical names with a cur/), sorted. */
int folder_disk_list(struct mail_user *user, struct arena *arena, const char ***names_r,
		     unsigned int *count_r, struct mail_error *error);
/* Create a folder row and its Maildir (no parents). */
int folder_create_one(struct mail_user *user, const char *name, unsigned int special_use,
		      uint32_t uidvalidity, uint32_t uidnext, struct mail_error *error);
/* The default folders of a new account (mailbox.h mail_user_open). */
int folder_create_defaults(struct mail_user *user, struct mail_error *error);

/* ---- Maildir sync (maildir-sync.c) ---- */
enum folder_sync_flags {
	FOLDER_SYNC_FORCE = 1 << 0,      /* scan new/ and cur/ whatever the mtimes say */
};
/* Bring the folder's index up to date with its Maildir (user locked, no
   transaction open; one is begun only when there is something to do).
   *folder is re-read afterwards. GONE when the folder's directory is gone
   (its row is removed). */
int folder_sync(struct mail_user *user, struct arena *arena, struct index_folder *folder,
		unsigned int flags, struct mail_error *error);
/* UIDNEXT as the index and tern-uidlist see it (the higher). */
uint32_t folder_uidnext_floor(const char *dir, const struct index_folder *folder);
/* Make tern-uidlist's N at least uidnext (fsynced) before UIDs below it
   are committed: raised with headroom, so most calls write nothing;
   folder->uidlist_n records what was written (the caller updates the
   folder row in the same transaction). INBOX's keeps the UIDVALIDITY
   counter. */
int folder_uidlist_raise(struct mail_user *user, const char *dir,
			 struct index_folder *folder, uint32_t uidnext,
			 struct mail_error *error);
/* cur/ of the folder in dir was changed by this process (renames, new
   files, unlinks) while the index was updated to match: record its new
   mtime so the next sync need not scan it at once. */
void folder_note_cur_changed(const char *dir, struct index_folder *folder);
/* Match the index's folder list with the Maildir++ directories (folders
   made or removed by other programs); user locked, no transaction. */
int folder_list_sync(struct mail_user *user, bool force, struct mail_error *error);

/* What an old index knew of a folder's messages, for a rebuild: UID ->
   file name, ascending UID. */
struct rebuild_known_msg {
	uint32_t uid;
	const char *name;
};
struct rebuild_known {
	struct rebuild_known_msg *msgs;
	unsigned int count;
};
/* The rebuild of one folder inside the caller's transaction: every file
   of new/ and cur/ indexed anew into the folder row (which has no
   messages). known NULL: there was no old index, U= values are trusted
   (duplicates aside); else a U= is kept when the old index knew that UID
   for that file, or when it is >= folder->uidnext (handed out but not
   committed before a crash). renumber: the UIDVALIDITY is new, every
   file gets a new UID. *folder is updated (uidnext, modseq). */
int folder_rebuild_scan(struct mail_user *user, struct arena *arena, struct index_folder *folder,
			const struct rebuild_known *known, bool renumber,
			struct mail_rebuild_stats *stats, struct mail_error *error);

/* ---- the cache of one message (mail-parts.c) ---- */
/* Read the message from fd (size bytes) and fill what the index keeps:
   size, sent date, envelope, bodystructure, body, part table, root
   header. Strings in arena. 0, or -1 with *error_r (a read error). */
int mail_cache_build(struct arena *arena, int fd, uint64_t size, struct index_message *msg,
		     struct index_cache *cache, const char **error_r);

/* ---- keywords (mail-change.c) ---- */
/* Map keyword names to the folder's bits, adding new ones to *folder
   (in arena) when create. 0, or -1 with LIMIT / PARAMS. *changed_r: the
   folder's keyword list grew. */
int keywords_to_bits(struct arena *arena, struct index_folder *folder,
		     const char *const *names, unsigned int count, bool create,
		     uint32_t *bits_r, bool *changed_r, struct mail_error *error);
/* The names of the bits, in arena. */
void keywords_from_bits(struct arena *arena, const struct index_folder *folder, uint32_t bits,
			const char *const **names_r, unsigned int *count_r);
/* Rename a message file so its ":2," suffix says flags/keywords; the new
   name in *new_name_r (arena). A vanished file: 0 with *new_name_r NULL. */
int message_file_set_flags(struct arena *arena, const char *cur_dir, const char *name,
			   uint32_t uid, unsigned int flags, uint32_t keywords,
			   const char **new_name_r, struct mail_error *error);

/* ---- fetching (mail-fetch.c) ---- */
/* Asked for every row of a fetch iterator before its record is made,
   with the row as the index holds it (valid during the call only): true
   makes no record for it, as if the fetch had not named it. SEARCH
   decides most messages here, without copying them. */
typedef bool mail_fetch_skip_cb(const struct index_message *msg,
				const struct index_cache *cache, void *context);
void mail_fetch_set_skip(struct mail_fetch_iter *iter, mail_fetch_skip_cb *skip, void *context);

/* ---- views (mailbox-view.c) ---- */
bool view_is_pending(const struct mailbox_view *view, uint32_t uid);
/* Record the view's own change at modseq (see view_own_change). */
void view_note_own_change(struct mailbox_view *view, uint32_t uid, uint64_t modseq);
/* Remove uid from the map (own expunge): its seq, or 0. */
uint32_t view_remove_uid(struct mailbox_view *view, uint32_t uid);
/* Sorted, merged copy of a UID range list (in arena); ranges NULL: one
   range 1:UINT32_MAX. */
void ranges_normalize(struct arena *arena, const struct mail_uid_range *ranges,
		      unsigned int count, struct mail_uid_range **out_r, unsigned int *count_r);
/* The view's next UID >= from inside the (normalized) ranges, or 0. */
uint32_t view_next_uid(const struct mailbox_view *view, const struct mail_uid_range *ranges,
		       unsigned int range_count, uint32_t from);
/* Lock the view's user and read its folder: GONE when it was deleted or
   its UIDVALIDITY changed. -1 with the lock not held. */
int view_lock(struct mailbox_view *view, struct arena *arena, struct index_folder *folder_r,
	      struct mail_error *error);

#endif
