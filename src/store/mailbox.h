#ifndef TERN_MAILBOX_H
#define TERN_MAILBOX_H

#include "lib.h"
#include "buf.h"

#include <time.h>

/*
 * The mailbox store: what IMAP, POP3 and later JMAP, webmail and Sieve
 * share. Messages are files in the user's Maildir (DESIGN.md "On disk":
 * data_dir/mail/<domain>/<localpart>/ is the INBOX, other folders are
 * Maildir++ subfolders ".Sent", ".Archive.2026"); a per-user index
 * (tern-index.db beside them) holds folders, UIDs, flags, MODSEQs and the
 * cached ENVELOPE/BODYSTRUCTURE/part offsets, and can always be rebuilt from
 * the Maildir alone. docs/store.md has the layout, the index, the UID rules
 * and how sync works.
 *
 * Calling rules:
 * - Every function here is synchronous and may block on disk: call it from
 *   a job-pool thread, never from an event loop. The only exceptions are
 *   the view accessors marked "memory only" (mailbox_count(),
 *   mailbox_seq_to_uid(), ...) and mail_store_notify().
 * - Everything is thread-safe across objects: sessions of one user may run
 *   in different threads at once, beside delivery threads and `tern mailbox`
 *   in another process. One object (a view, a mail_file, a fetch iterator)
 *   is used by one thread at a time (a session hands its commands to
 *   workers one after the other).
 * - No SQL and no paths leave src/store: callers name users by address and
 *   folders by IMAP name.
 *
 * Folder names are UTF-8 with "/" as the hierarchy delimiter (IMAP's
 * LIST delimiter); "INBOX" is case-insensitive and always spelled "INBOX"
 * in results. Modified UTF-7 on the wire (IMAP4rev1 without UTF8=ACCEPT) is
 * the protocol's business (mutf7.h), not the store's.
 *
 * Errors: functions that can fail return -1 and fill a struct mail_error
 * (a code that maps onto IMAP response codes, RFC 5530, and a text for
 * humans and logs), or 0 on success.
 */

struct arena;
struct mail_store;
struct mail_user;
struct mailbox_view;
struct mail_file;
struct mail_fetch_iter;

/* ------------------------------------------------------------------ */
/* Errors                                                              */

enum mail_error_code {
	MAIL_ERROR_NONE = 0,
	/* disk or index trouble; may work later ([UNAVAILABLE] / [SERVERBUG]) */
	MAIL_ERROR_TEMP,
	/* no such folder or message part ([NONEXISTENT]) */
	MAIL_ERROR_NOTFOUND,
	/* the folder exists already ([ALREADYEXISTS]) */
	MAIL_ERROR_EXISTS,
	/* a bad name or argument: empty component, control characters, an
	   unknown special-use... ([CANNOT], or BAD when it is syntax) */
	MAIL_ERROR_PARAMS,
	/* not allowed: deleting INBOX, a \Noselect name, renaming a folder
	   into itself, writing in a read-only view ([CANNOT]) */
	MAIL_ERROR_NOTPOSSIBLE,
	/* a limit of tern-limits.h: keywords per folder, folders per user,
	   name length ([LIMIT]) */
	MAIL_ERROR_LIMIT,
	/* the message was expunged (by another session, the view keeps it
	   until it may announce it) ([EXPUNGEISSUED]) */
	MAIL_ERROR_EXPUNGED,
	/* the message file vanished or does not match the index: that
	   message only gives NO, the session goes on ([CORRUPTION]) */
	MAIL_ERROR_CORRUPT,
	/* the selected folder was deleted, or its UIDVALIDITY changed (an
	   index rebuild had to renumber): the view is dead, the session must
	   leave the folder (IMAP: untagged BYE, or NO + unselect) */
	MAIL_ERROR_GONE,
	/* an UNCHANGEDSINCE condition failed for some message (RFC 7162 3.1.3);
	   only from mailbox_store() when every message failed */
	MAIL_ERROR_MODIFIED,
};

#define MAIL_ERROR_TEXT_MAX 256

struct mail_error {
	enum mail_error_code code;
	char text[MAIL_ERROR_TEXT_MAX];   /* one line, safe to send to a client */
};

/* ------------------------------------------------------------------ */
/* The store (one per process) and users                                */

struct mail_store_settings {
	const char *data_dir;          /* copied */
	/* Close a user's index connection after this many seconds unused
	   (0: TERN_STORE_IDLE_CLOSE). Views keep working: the connection is
	   reopened by the next call. */
	unsigned int idle_close_secs;
	/* No background thread (for short-lived programs such as `tern
	   mailbox`): connections close when the last reference goes. */
	bool no_background_thread;
};

/* Create the store: the notification hub, the cache of open users and (by
   default) one thread that closes idle index connections. Cannot fail
   except for a bad data_dir (-1 with *error_r). */
int mail_store_create(const struct mail_store_settings *set, struct mail_store **store_r,
		      struct mail_error *error_r);
/* Every user reference and watch must be gone (else the store is left
   allocated, logged as a bug). Sets *store NULL. */
void mail_store_destroy(struct mail_store **store);

/* Take a reference to a user's mailboxes. address is the normalized
   account address (accounts_normalize(): lowercase); the caller has
   authenticated it: the store does not check the account exists. The
   first open of an account creates its Maildir and the default folders
   INBOX, Sent, Drafts, Trash, Junk and Archive (SPECIAL-USE, RFC 6154),
   subscribed. A missing or corrupt index is rebuilt here (logged). Users
   are shared: two opens of one address return the same object. */
int mail_user_open(struct mail_store *store, const char *address, struct mail_user **user_r,
		   struct mail_error *error_r);
void mail_user_ref(struct mail_user *user);
/* Drop a reference; sets *user NULL. Views hold their own reference. */
void mail_user_unref(struct mail_user **user);
/* The address given to mail_user_open(); valid while the user is. */
const char *mail_user_address(const struct mail_user *user);

/* POP3's maildrop lock (RFC 1939 8: [IN-USE], RFC 2449): at most one holder
   per user in this process. Returns true when taken, false when someone
   holds it. IMAP sessions are not affected. */
bool mail_user_pop3_lock(struct mail_user *user);
void mail_user_pop3_unlock(struct mail_user *user);

/* ------------------------------------------------------------------ */
/* Flags, keywords, UID sets                                           */

/* System flags (RFC 3501 2.3.2), as written in the Maildir ":2," suffix:
   \Seen S, \Answered R, \Flagged F, \Deleted T, \Draft D. \Recent is not
   stored: it belongs to a view (mailbox_is_recent()). */
enum mail_flags {
	MAIL_SEEN     = 1 << 0,
	MAIL_ANSWERED = 1 << 1,
	MAIL_FLAGGED  = 1 << 2,
	MAIL_DELETED  = 1 << 3,
	MAIL_DRAFT    = 1 << 4,
};
#define MAIL_FLAGS_ALL 0x1fU

/* Keywords are atoms (RFC 3501 9 flag-keyword), compared
   case-insensitively, kept in the case first used. At most
   TERN_STORE_MAX_KEYWORDS per folder (Maildir letters a-z); "$Forwarded"
   is the Maildir "P" (passed) flag, so mutt and tern agree. */
#define MAIL_KEYWORD_MAX_LEN 128

/* An inclusive UID range, first <= last. Lists of them are ascending and
   need not be merged. A sequence range maps to exactly one UID range of
   the view (mailbox_seq_to_uid() of both ends), which is how IMAP turns
   sequence sets into these. */
struct mail_uid_range {
	uint32_t first, last;
};

/* ------------------------------------------------------------------ */
/* Folders                                                             */

#define MAIL_INBOX "INBOX"
#define MAIL_FOLDER_DELIMITER '/'

/* SPECIAL-USE attributes (RFC 6154 2), a bit set. */
enum mail_special_use {
	MAIL_SPECIAL_ALL     = 1 << 0,   /* \All */
	MAIL_SPECIAL_ARCHIVE = 1 << 1,   /* \Archive */
	MAIL_SPECIAL_DRAFTS  = 1 << 2,   /* \Drafts */
	MAIL_SPECIAL_FLAGGED = 1 << 3,   /* \Flagged */
	MAIL_SPECIAL_JUNK    = 1 << 4,   /* \Junk */
	MAIL_SPECIAL_SENT    = 1 << 5,   /* \Sent */
	MAIL_SPECIAL_TRASH   = 1 << 6,   /* \Trash */
};
/* "\Sent" (any case) -> MAIL_SPECIAL_SENT; 0 when unknown. */
unsigned int mail_special_use_parse(const char *attr);
/* The attribute of one bit ("\Sent"), or NULL. */
const char *mail_special_use_name(unsigned int bit);

enum mail_folder_flags {
	/* no mailbox by this name: only a parent of others, or only a
	   subscription (RFC 5258 \NonExistent, which implies \Noselect) */
	MAIL_FOLDER_NONEXISTENT  = 1 << 0,
	MAIL_FOLDER_HAS_CHILDREN = 1 << 1,  /* \HasChildren (else \HasNoChildren) */
	MAIL_FOLDER_SUBSCRIBED   = 1 << 2,  /* \Subscribed (RFC 5258) */
};

struct mail_folder_info {
	const char *name;            /* UTF-8, "/" delimiter; "INBOX" */
	unsigned int flags;          /* enum mail_folder_flags */
	unsigned int special_use;    /* enum mail_special_use bits */
};

/* Every name LIST may need, sorted with INBOX first then by name
   (bytewise): each folder; each parent name that is no folder (a
   Maildir++ ".a.b" made by another program without ".a": NONEXISTENT |
   HAS_CHILDREN, shown as \Noselect); each subscription naming no folder
   (NONEXISTENT | SUBSCRIBED). Pattern matching is the caller's. Results
   in arena. */
int mail_folder_list(struct mail_user *user, struct arena *arena,
		     struct mail_folder_info **folders_r, unsigned int *count_r,
		     struct mail_error *error_r);

/* CREATE (RFC 3501 6.3.3, RFC 6154 3 CREATE-SPECIAL-USE): the folder and
   any missing parents (which get no special use). A trailing "/" is
   ignored. special_use may be 0. EXISTS when it exists; PARAMS for a bad
   name; LIMIT past TERN_STORE_MAX_FOLDERS or the name limits. A new folder
   gets a UIDVALIDITY never used before for this user. */
int mail_folder_create(struct mail_user *user, const char *name, unsigned int special_use,
		       struct mail_error *error_r);
/* DELETE (RFC 3501 6.3.4): its messages and Maildir go. INBOX cannot be
   deleted (NOTPOSSIBLE). A folder with children is deleted all the same;
   its name stays listed as a \Noselect parent of the children; deleting a
   name that is only such a parent is NOTFOUND. Views on it get GONE at
   their next sync. The subscription stays (RFC 3501 6.3.9). */
int mail_folder_delete(struct mail_user *user, const char *name, struct mail_error *error_r);
/* RENAME (RFC 3501 6.3.5): children move with it, keeping UIDVALIDITY and
   UIDs. Renaming INBOX moves its messages into a new folder (new
   UIDVALIDITY) and leaves INBOX empty (UIDNEXT kept). EXISTS when the new
   name exists; NOTFOUND when the old one does not; NOTPOSSIBLE for a
   rename into its own child. Views of renamed folders stay valid.
   Subscriptions are not renamed (RFC 3501 6.3.9 leaves them alone). */
int mail_folder_rename(struct mail_user *user, const char *old_name, const char *new_name,
		       struct mail_error *error_r);
/* SUBSCRIBE / UNSUBSCRIBE (RFC 3501 6.3.6-7): any valid name, existing or
   not; subscribing twice or unsubscribing an unsubscribed name is fine.
   Kept in the Maildir (tern-subscriptions), so rebuilds keep them. */
int mail_folder_subscribe(struct mail_user *user, const char *name, bool subscribe,
			  struct mail_error *error_r);

enum mail_status_items {
	MAIL_STATUS_MESSAGES      = 1 << 0,
	MAIL_STATUS_RECENT        = 1 << 1,
	MAIL_STATUS_UIDNEXT       = 1 << 2,
	MAIL_STATUS_UIDVALIDITY   = 1 << 3,
	MAIL_STATUS_UNSEEN        = 1 << 4,
	MAIL_STATUS_SIZE          = 1 << 5,   /* RFC 8438 */
	MAIL_STATUS_HIGHESTMODSEQ = 1 << 6,   /* RFC 7162 */
	MAIL_STATUS_DELETED       = 1 << 7,   /* RFC 9051 */
};

struct mail_status {
	uint32_t messages;
	uint32_t recent;          /* messages no session has claimed as \Recent yet */
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint32_t unseen;          /* messages without \Seen */
	uint32_t deleted;         /* messages with \Deleted */
	uint64_t size;            /* sum of RFC822.SIZE */
	uint64_t highestmodseq;
	unsigned int special_use;
};

/* STATUS (RFC 3501 6.3.10) without opening a view: the folder is first
   brought up to date with its Maildir (mail delivered since is counted).
   items selects what is computed (the rest is 0). NOTFOUND for no folder;
   NOTPOSSIBLE for a \Noselect name. */
int mail_folder_status(struct mail_user *user, const char *name, unsigned int items,
		       struct mail_status *status_r, struct mail_error *error_r);

/* ------------------------------------------------------------------ */
/* Appending                                                           */

struct mail_append_input {
	/* The message: data/size, or (fd >= 0) size bytes read from fd at
	   offset 0. Stored byte for byte (bare LF or CRLF, as given). */
	const void *data;
	int fd;
	uint64_t size;
	unsigned int flags;              /* enum mail_flags */
	const char *const *keywords;
	unsigned int keyword_count;
	/* INTERNALDATE (RFC 3501 6.3.11); has_internal_date false: now */
	bool has_internal_date;
	time_t internal_date;
	int tz_offset_min;               /* the zone it was given in, minutes east */
};

/* APPEND / MULTIAPPEND (RFC 3502): all count messages or none. Each is
   written to tmp/ and fsynced before any is renamed into cur/ with its
   UID. Fills *uidvalidity_r and uids_r[0..count) for APPENDUID (RFC 4315).
   NOTFOUND for no folder (IMAP: [TRYCREATE]); LIMIT when the keywords
   would pass TERN_STORE_MAX_KEYWORDS. */
int mail_append(struct mail_user *user, const char *folder,
		const struct mail_append_input *messages, unsigned int count,
		uint32_t *uidvalidity_r, uint32_t *uids_r, struct mail_error *error_r);

/* ------------------------------------------------------------------ */
/* Views: one per session per selected folder                          */

enum mailbox_open_flags {
	/* EXAMINE (RFC 3501 6.3.2): claims no \Recent; store, expunge and
	   move from this view are NOTPOSSIBLE */
	MAILBOX_OPEN_READONLY  = 1 << 0,
	/* read-write, but claims no \Recent (POP3) */
	MAILBOX_OPEN_NO_RECENT = 1 << 1,
};

/* SELECT / EXAMINE: bring the folder up to date with its Maildir, then
   make a view of it as it is now. A read-write open claims the messages
   no session has seen yet as \Recent for this view alone (RFC 3501
   2.3.2). NOTFOUND for no folder; NOTPOSSIBLE for a \Noselect name. The
   view holds a reference to the user. Memory: a few dozen bytes plus 12
   bytes per run of consecutive UIDs. */
int mailbox_open(struct mail_user *user, const char *name, unsigned int flags,
		 struct mailbox_view **view_r, struct mail_error *error_r);
/* Close (UNSELECT / CLOSE after any expunge the caller wanted). Unwatches
   the view. Sets *view NULL. */
void mailbox_close(struct mailbox_view **view);

struct mailbox_info {
	const char *name;              /* current name (a rename by another session shows) */
	uint32_t uidvalidity;
	uint32_t uidnext;              /* as the view last saw it (UIDNEXT) */
	uint64_t highestmodseq;        /* as the view last saw it */
	uint32_t exists, recent;
	uint32_t first_unseen_seq;     /* [UNSEEN n] of IMAP4rev1; 0 = none */
	const char *const *keywords;   /* the folder's keywords (FLAGS, PERMANENTFLAGS) */
	unsigned int keyword_count;
	bool can_create_keywords;      /* PERMANENTFLAGS \* */
	bool readonly;
	unsigned int special_use;
};
/* What SELECT announces, as of the last open/sync. Strings in arena.
   Memory and index reads only (no Maildir scan). */
int mailbox_get_info(struct mailbox_view *view, struct arena *arena, struct mailbox_info *info_r,
		     struct mail_error *error_r);

/* Memory only (no locks, no disk): the sequence map as the client knows
   it. Messages expunged but pending (see mailbox_sync) still count. */
uint32_t mailbox_count(const struct mailbox_view *view);        /* EXISTS */
uint32_t mailbox_seq_to_uid(const struct mailbox_view *view, uint32_t seq); /* 0: out of range */
uint32_t mailbox_uid_to_seq(const struct mailbox_view *view, uint32_t uid); /* 0: not in view */
/* The first seq whose UID is >= uid (count + 1 when none), for turning UID
   ranges into sequence ranges. */
uint32_t mailbox_uid_to_seq_ceil(const struct mailbox_view *view, uint32_t uid);
uint32_t mailbox_last_uid(const struct mailbox_view *view);     /* 0 when empty */
bool mailbox_is_recent(const struct mailbox_view *view, uint32_t uid);
uint32_t mailbox_recent_count(const struct mailbox_view *view);
/* Expunged by someone else, still in the map until it can be announced. */
bool mailbox_is_expunged(const struct mailbox_view *view, uint32_t uid);
bool mailbox_is_readonly(const struct mailbox_view *view);

enum mailbox_sync_flags {
	/* A FETCH, STORE or SEARCH (not UID ...) is running: IMAP must not
	   send EXPUNGE now (RFC 3501 7.4.1, RFC 9051 7.5.1). Expunges by
	   others are kept as pending: the messages stay in the map, flagged
	   (mailbox_is_expunged()), opening them gives EXPUNGED, and they are
	   reported by the next sync without this flag. */
	MAILBOX_SYNC_NO_EXPUNGES = 1 << 0,
};

struct mailbox_expunge {
	uint32_t seq, uid;
};

struct mailbox_flag_update {
	uint32_t seq, uid;             /* seq valid after this sync's expunges */
	unsigned int flags;            /* enum mail_flags */
	const char *const *keywords;
	unsigned int keyword_count;
	uint64_t modseq;
};

struct mailbox_changes {
	/* Send in this order: the expunges (each seq valid when it is sent:
	   they come in descending seq), then EXISTS / RECENT when they
	   changed, FLAGS when keywords_changed, then the flag updates. */
	struct mailbox_expunge *expunges;
	unsigned int expunge_count;
	uint32_t exists;               /* count after this sync */
	uint32_t recent;
	bool exists_changed;           /* new messages arrived (EXISTS must be sent) */
	bool recent_changed;
	bool keywords_changed;         /* the folder's keyword list grew */
	struct mailbox_flag_update *updates;  /* ascending seq */
	unsigned int update_count;
	uint32_t uidnext;
	uint64_t highestmodseq;
};

/* NOOP, CHECK, IDLE wake-ups and the end of every command: bring the
   folder up to date with its Maildir (files added, removed or renamed
   behind tern's back, new deliveries) and report what others changed
   since this view last looked: new messages (claimed \Recent in a
   read-write view), expunges, and flag/keyword changes made by OTHER
   views or programs (this view's own STORE results were returned by
   mailbox_store() and are not repeated). Results in arena. GONE when the
   folder was deleted or renumbered. */
int mailbox_sync(struct mailbox_view *view, unsigned int flags, struct arena *arena,
		 struct mailbox_changes *changes_r, struct mail_error *error_r);

/* ------------------------------------------------------------------ */
/* Changing messages                                                   */

enum mail_flags_op {
	MAIL_FLAGS_REPLACE,   /* FLAGS */
	MAIL_FLAGS_ADD,       /* +FLAGS */
	MAIL_FLAGS_REMOVE,    /* -FLAGS */
};

struct mail_flags_change {
	enum mail_flags_op op;
	unsigned int flags;              /* enum mail_flags */
	const char *const *keywords;
	unsigned int keyword_count;
	/* RFC 7162 3.1.3 UNCHANGEDSINCE: 0 = no condition; else messages
	   whose MODSEQ is above it are not changed and listed in modified */
	uint64_t unchanged_since;
};

struct mail_flags_result {
	uint32_t seq, uid;
	unsigned int flags;
	const char *const *keywords;
	unsigned int keyword_count;
	uint64_t modseq;
	bool changed;                    /* false: the flags were already so */
};

/* STORE (RFC 3501 6.4.6): change the flags of the view's messages in the
   UID ranges (messages the view does not hold, or holds as expunged, are
   skipped). results_r gets one entry per message of the set in the view,
   ascending, for the untagged FETCH of a non-.SILENT STORE; modified_r the
   UIDs refused by unchanged_since (RFC 7162 [MODIFIED]). New keywords are
   added to the folder (LIMIT past TERN_STORE_MAX_KEYWORDS, nothing
   changed then). Each changed message gets a new MODSEQ and its file is
   renamed (the ":2," flags). NOTPOSSIBLE in a read-only view. Results
   in arena. */
int mailbox_store(struct mailbox_view *view, const struct mail_uid_range *uids,
		  unsigned int range_count, const struct mail_flags_change *change,
		  struct arena *arena, struct mail_flags_result **results_r,
		  unsigned int *result_count_r, uint32_t **modified_r,
		  unsigned int *modified_count_r, struct mail_error *error_r);

/* EXPUNGE / UID EXPUNGE (RFC 4315 2.1) / CLOSE: remove the view's messages
   that have \Deleted (uids NULL: all of them; else only those in the
   ranges). The view drops them at once and returns them for the untagged
   EXPUNGEs, in the order to send. NOTPOSSIBLE in a read-only view. */
int mailbox_expunge(struct mailbox_view *view, const struct mail_uid_range *uids,
		    unsigned int range_count, struct arena *arena,
		    struct mailbox_expunge **expunged_r, unsigned int *count_r,
		    struct mail_error *error_r);

/* POP3's UPDATE state (RFC 1939 6): remove the view's messages in the
   ranges whatever their flags, in one step (no \Deleted flag is written
   first: a download-and-delete of a large maildrop renames nothing).
   Otherwise as mailbox_expunge(); uids must not be NULL. */
int mailbox_expunge_uids(struct mailbox_view *view, const struct mail_uid_range *uids,
			 unsigned int range_count, struct arena *arena,
			 struct mailbox_expunge **expunged_r, unsigned int *count_r,
			 struct mail_error *error_r);

struct mail_copy_result {
	uint32_t dest_uidvalidity;
	/* parallel, ascending source UIDs: COPYUID (RFC 4315 3) */
	uint32_t *src_uids, *dest_uids;
	unsigned int count;
	/* move only: what the view dropped, in the order to send (RFC 6851 3.3) */
	struct mailbox_expunge *expunges;
	unsigned int expunge_count;
};

/* COPY / MOVE (RFC 3501 6.4.7, RFC 6851): the view's messages in the
   ranges (pending-expunged ones skipped) into dest, with their flags,
   keywords and INTERNALDATE (\Recent is not copied: the destination's
   first read-write view claims them). Copies are hard links where the
   filesystem allows, else byte copies. move = copy and expunge from the
   source in one step (NOTPOSSIBLE in a read-only view). dest may be the
   view's own folder (new UIDs). NOTFOUND for no dest folder (IMAP:
   [TRYCREATE]). Results in arena. */
int mailbox_copy(struct mailbox_view *view, const struct mail_uid_range *uids,
		 unsigned int range_count, const char *dest, bool move, struct arena *arena,
		 struct mail_copy_result *result_r, struct mail_error *error_r);

/* ------------------------------------------------------------------ */
/* Reading records (FETCH of everything but body bytes)                */

enum mail_fetch_fields {
	MAIL_FETCH_FLAGS         = 1 << 0,  /* flags and keywords */
	MAIL_FETCH_INTERNALDATE  = 1 << 1,
	MAIL_FETCH_SIZE          = 1 << 2,  /* RFC822.SIZE: octets of the CRLF form */
	MAIL_FETCH_MODSEQ        = 1 << 3,
	MAIL_FETCH_GUID          = 1 << 4,
	MAIL_FETCH_ENVELOPE      = 1 << 5,
	MAIL_FETCH_BODYSTRUCTURE = 1 << 6,
	MAIL_FETCH_BODY          = 1 << 7,  /* the non-extensible BODY */
	MAIL_FETCH_HEADER        = 1 << 8,  /* the root header block */
	MAIL_FETCH_SENT_DATE     = 1 << 9,  /* the Date: field, parsed */
};

/* The stable message id: 32 lowercase hex digits (0-9a-f), derived from
   the Maildir base name, so it survives index rebuilds and moves (not
   copies). Unique within a folder. POP3 UIDL (RFC 1939 7: 1-70 chars of
   0x21-0x7E) and, later, the JMAP Email id. */
#define MAIL_GUID_LEN 32

struct mail_record {
	uint32_t seq, uid;
	/* pending expunge (see MAILBOX_SYNC_NO_EXPUNGES): only seq and uid
	   are set; IMAP answers for it as RFC 2180 4.1 lets it */
	bool expunged;
	bool recent;                    /* \Recent in this view */
	unsigned int flags;
	const char *const *keywords;
	unsigned int keyword_count;
	time_t internal_date;
	int tz_offset_min;              /* the zone to show INTERNALDATE in */
	uint64_t size;
	uint64_t modseq;
	const char *guid;
	/* As FETCH sends them (RFC 3501 7.4.2), parentheses included, written
	   with the quote_flags given to mailbox_fetch_begin()
	   (IMAP_QUOTE_FLAG_UTF8 after ENABLE UTF8=ACCEPT / IMAP4rev2). */
	const char *envelope;
	const char *bodystructure;
	const char *body;
	/* The root header block in CRLF form, with the empty line ending it
	   (if the message has one): BODY[HEADER], HEADER.FIELDS (filtered by
	   the caller) and RFC822.HEADER without opening the file. */
	const unsigned char *header;
	size_t header_size;
	/* The Date: field (RFC 5322 3.6.1) when present and parseable */
	bool has_sent_date;
	time_t sent_date;
	int sent_tz_offset_min;
};

/* Iterate the view's messages in the UID ranges (ranges NULL: all), in
   ascending UID order, reading the fields asked for from the index (no
   message file is opened). Rows are read in batches; the user is locked
   only while a batch is read, so the caller may do slow work (write to
   the network, open files) between calls. Never NULL. */
struct mail_fetch_iter *mailbox_fetch_begin(struct mailbox_view *view,
					    const struct mail_uid_range *uids,
					    unsigned int range_count, unsigned int fields,
					    unsigned int quote_flags);
/* The next record, valid until the next call; false at the end or on
   error (then mailbox_fetch_end() says which). */
bool mailbox_fetch_next(struct mail_fetch_iter *iter, const struct mail_record **record_r);
/* Free the iterator; -1 when the iteration stopped on an error. */
int mailbox_fetch_end(struct mail_fetch_iter **iter, struct mail_error *error_r);

/* ------------------------------------------------------------------ */
/* Reading message bytes                                               */

/* Which bytes of a part (RFC 3501 6.4.5 section-text). */
enum mail_section_text {
	MAIL_SECTION_ALL,      /* BODY[] / BODY[1.2]: the whole message or the part's body */
	MAIL_SECTION_HEADER,   /* BODY[HEADER], BODY[1.2.HEADER]: a message's header block */
	MAIL_SECTION_TEXT,     /* BODY[TEXT], BODY[1.2.TEXT]: a message's body */
	MAIL_SECTION_MIME,     /* BODY[1.2.MIME]: the part's MIME header block */
};

/* A resolved section: sizes and offsets count the CRLF form, the bytes
   FETCH sends. */
struct mail_section {
	uint64_t size;                  /* octets of the CRLF form */
	uint32_t lines;                 /* body lines (text parts, as BODYSTRUCTURE) */
	/* the part's Content-Transfer-Encoding (BINARY, RFC 3516); an
	   enum mime_cte value; 7bit for headers */
	int cte;
	bool is_multipart, is_message;
	/* private to the store */
	uint64_t raw_offset, raw_size;
};

/* Open a message of the view for reading its bytes. EXPUNGED when it is
   pending-expunged or gone from the folder; CORRUPT when its file
   vanished or no longer matches the index (size): only this message
   fails, and a wrong body is never served. The file stays readable even
   if it is renamed or expunged meanwhile. */
int mail_open(struct mailbox_view *view, uint32_t uid, struct mail_file **file_r,
	      struct mail_error *error_r);
/* mail_open() of several messages at once (POP3's read-ahead): uids
   ascending; files_r[i] is the file of uids[i], or NULL with errors_r[i]
   saying why (as mail_open()). The index is read once for all of them
   where the UIDs are close together. Returns how many were opened. */
unsigned int mail_open_many(struct mailbox_view *view, const uint32_t *uids, unsigned int count,
			    struct mail_file **files_r, struct mail_error *errors_r);
/* RFC822.SIZE: octets of the CRLF form. */
uint64_t mail_file_size(const struct mail_file *file);
/* Resolve part ("" for the whole message, "1.2.3") and text to a section
   through the cached part table (the message is not re-parsed). HEADER and
   TEXT apply to the message ("") or to a message/rfc822 part; MIME needs a
   part number. NOTFOUND for a part that does not exist or text that does
   not apply (IMAP then sends an empty string, as Dovecot does). */
int mail_file_section(struct mail_file *file, const char *part, enum mail_section_text text,
		      struct mail_section *section_r, struct mail_error *error_r);
/* Append the CRLF form of the section's bytes [offset, offset + len) to dest
   (clamped to the section: partial FETCH, RFC 3501 6.4.5 <o.n>). Bare LF
   line ends in the file are sent as CRLF. -1 with CORRUPT when the file
   is shorter than the index said, TEMP on a read error or when dest's max
   is hit. */
int mail_file_read(struct mail_file *file, const struct mail_section *section, uint64_t offset,
		   uint64_t len, buf_t *dest, struct mail_error *error_r);
/* The section's bytes exactly as stored, bare LFs and all: the content of
   a Content-Transfer-Encoding: binary part for BINARY (RFC 3516), where a
   0x0A byte is data, not a line end. Errors as mail_file_read(). */
int mail_file_read_raw(struct mail_file *file, const struct mail_section *section, buf_t *dest,
		       struct mail_error *error_r);
void mail_file_close(struct mail_file **file);

/* ------------------------------------------------------------------ */
/* Notifications                                                       */

/* Called from ANY thread (a delivery thread, another session's worker),
   with the hub's lock held: it must only schedule work (net_wakeup_signal)
   and must not call into the store. */
typedef void mail_watch_callback(void *context);
struct mail_watch;

/* Watch a user's folder (name as in mail_folder_*; NULL: every folder of
   the user). The callback runs after any change committed to it by any
   session, by delivery (mail_store_notify()) or by this process's store. */
struct mail_watch *mail_store_watch(struct mail_store *store, const char *address,
				    const char *folder, mail_watch_callback *callback,
				    void *context);
/* Watch the view's folder (follows renames). */
struct mail_watch *mailbox_watch(struct mailbox_view *view, mail_watch_callback *callback,
				 void *context);
/* After it returns the callback is not running and will not run again. Must
   not be called from the callback. Sets *watch NULL. */
void mail_store_unwatch(struct mail_watch **watch);
/* Something changed in a user's folder (folder NULL: unknown which): wake
   its watchers. Never blocks on disk; safe from any thread. Delivery calls
   it after a message lands in new/ (the store takes it in at the next
   sync of that folder). */
void mail_store_notify(struct mail_store *store, const char *address, const char *folder);

/* ------------------------------------------------------------------ */
/* Rebuild                                                             */

struct mail_rebuild_stats {
	unsigned int folders;
	unsigned int messages;
	unsigned int new_uids;          /* files that got a UID they did not have */
	unsigned int new_uidvalidity;   /* folders whose UIDVALIDITY had to change */
};

/* `tern mailbox rebuild`: rebuild the user's whole index from the Maildir
   alone (every folder), keeping UIDVALIDITY and the U= UIDs of file names
   where the rules of docs/store.md allow, and keywords, subscriptions and
   special-use from their files. Works while a server runs (its views
   resync; GONE where a UIDVALIDITY changed). */
int mail_user_rebuild(struct mail_store *store, const char *address,
		      struct mail_rebuild_stats *stats_r, struct mail_error *error_r);

#endif
