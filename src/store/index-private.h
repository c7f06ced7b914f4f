#ifndef TERN_INDEX_PRIVATE_H
#define TERN_INDEX_PRIVATE_H

#include "lib.h"

/*
 * The seam between the mailbox store and where its index lives. Today one
 * backend: SQLite, one file per user (index-sqlite.c, the only file with
 * SQL). A later PostgreSQL backend, for several tern nodes sharing one
 * index, implements the same table of functions; nothing above this header
 * knows which one runs. The store calls these with the user's lock held;
 * a backend connection is used by one thread at a time.
 *
 * The data (docs/store.md "Index"):
 * - meta: a few integers (schema version, the last UIDVALIDITY handed out,
 *   the rebuild epoch, the scan state of the folder list);
 * - folders, keyed by their UIDVALIDITY (unique per user forever, so it is
 *   also a stable folder id that survives rebuilds);
 * - messages per folder by UID: the hot record (flags, MODSEQ, file name,
 *   ...), the cache (ENVELOPE, BODYSTRUCTURE, BODY, part table) and the
 *   root header, each in its own table so flag scans read none of the cold
 *   bytes;
 * - the expunge log (folder, UID, MODSEQ) for views and, later, QRESYNC.
 *
 * Strings given to the backend are copied; strings it returns live in the
 * arena passed in (or until the next call, for callbacks).
 */

struct arena;
struct mail_index;

struct index_folder {
	uint32_t id;                  /* = UIDVALIDITY */
	const char *name;             /* IMAP name, UTF-8, "/"; "INBOX" */
	unsigned int special_use;     /* enum mail_special_use */
	uint32_t uidnext;
	/* the N tern last wrote to tern-uidlist (committed with the UIDs
	   below it): a file with a higher N means a commit was lost */
	uint32_t uidlist_n;
	uint32_t recent_uid;          /* the first UID no view has claimed as \Recent */
	uint64_t highestmodseq;
	/* Maildir scan state of cur/ (new/ is listed at every sync): the
	   directory mtime (ns) seen by the last scan or own change, and
	   whether it was old enough (TERN_STORE_MTIME_SLACK) to trust as
	   "nothing changed since" */
	int64_t cur_mtime;
	bool cur_safe;
	/* keyword names by Maildir letter index (0 = 'a'); "" = unused slot */
	const char **keywords;
	unsigned int keyword_count;
};

struct index_message {
	uint32_t uid;
	const char *name;             /* the file's current name in cur/ */
	unsigned int flags;           /* enum mail_flags */
	uint32_t keywords;            /* bit n = letter 'a' + n; INDEX_KEYWORD_PASSED */
	int64_t internal_date;
	int tz_offset;                /* minutes east */
	uint64_t size;                /* RFC822.SIZE, CRLF form */
	uint64_t raw_size;            /* the file's size */
	uint64_t modseq;
	const char *guid;
	bool has_sent_date;
	int64_t sent_date;
	int sent_tz;
};

/* the Maildir "P" (passed) flag, shown as the keyword $Forwarded */
#define INDEX_KEYWORD_PASSED (1U << 26)

struct index_cache {
	const char *envelope, *envelope_utf8;          /* _utf8: NULL = the same */
	const char *bodystructure, *bodystructure_utf8;
	const char *body, *body_utf8;
	const void *parts;                             /* mail-parts.h table */
	size_t parts_size;
	const void *header;                            /* the raw root header block */
	size_t header_size;
};

/* Which cold columns a read wants besides the hot record. */
enum index_columns {
	INDEX_COL_ENVELOPE      = 1 << 0,
	INDEX_COL_BODYSTRUCTURE = 1 << 1,
	INDEX_COL_BODY          = 1 << 2,
	INDEX_COL_PARTS         = 1 << 3,
	INDEX_COL_HEADER        = 1 << 4,
};

struct index_stats {
	uint32_t messages, unseen, deleted, recent;
	uint64_t size;
	uint32_t first_unseen_uid;    /* 0: none */
};

/* Called per row; the pointers are valid during the call only. Return 0
   to go on, 1 to stop early (not an error). */
typedef int index_message_cb(const struct index_message *msg, const struct index_cache *cache,
			     void *context);
typedef void index_uid_cb(uint32_t uid, uint64_t modseq, void *context);

struct index_backend_vfuncs {
	void (*close)(struct mail_index *idx);
	/* the last error's text (valid until the next call) */
	const char *(*last_error)(struct mail_index *idx);
	/* an error said the file is damaged: the store rebuilds it */
	bool (*is_corrupt)(struct mail_index *idx);

	/* A write transaction: exclusive against every other writer, in
	   other processes too; reads inside it see its own writes. Every
	   store operation is one transaction. */
	int (*begin)(struct mail_index *idx);
	int (*commit)(struct mail_index *idx);
	void (*rollback)(struct mail_index *idx);

	/* meta integers: 1 found, 0 absent, -1 error */
	int (*meta_get)(struct mail_index *idx, const char *key, int64_t *value_r);
	int (*meta_set)(struct mail_index *idx, const char *key, int64_t value);

	/* folders, by name order */
	int (*folder_list)(struct mail_index *idx, struct arena *arena,
			   struct index_folder **folders_r, unsigned int *count_r);
	/* 1 found, 0 not, -1 error */
	int (*folder_get)(struct mail_index *idx, struct arena *arena, uint32_t id,
			  struct index_folder *folder_r);
	int (*folder_find)(struct mail_index *idx, struct arena *arena, const char *name,
			   struct index_folder *folder_r);
	int (*folder_insert)(struct mail_index *idx, const struct index_folder *folder);
	/* every field but id */
	int (*folder_update)(struct mail_index *idx, const struct index_folder *folder);
	/* the folder with its messages, cache and expunge log */
	int (*folder_delete)(struct mail_index *idx, uint32_t id);

	int (*message_insert)(struct mail_index *idx, uint32_t folder,
			      const struct index_message *msg, const struct index_cache *cache);
	int (*message_set_flags)(struct mail_index *idx, uint32_t folder, uint32_t uid,
				 const char *name, unsigned int flags, uint32_t keywords,
				 uint64_t modseq);
	/* remove the message and log (uid, modseq) as expunged */
	int (*message_expunge)(struct mail_index *idx, uint32_t folder, uint32_t uid,
			       uint64_t modseq);
	/* move every message of one folder to another (INBOX rename), keeping UIDs */
	int (*messages_move_all)(struct mail_index *idx, uint32_t from, uint32_t to);

	/* messages with first <= uid <= last, ascending, at most limit (0:
	   all), with the cold columns asked for */
	int (*messages_read)(struct mail_index *idx, uint32_t folder, uint32_t first,
			     uint32_t last, unsigned int columns, unsigned int limit,
			     index_message_cb *cb, void *context);
	/* messages whose modseq > since, ascending UID */
	int (*messages_changed)(struct mail_index *idx, uint32_t folder, uint64_t since,
				index_message_cb *cb, void *context);
	/* the expunge log: entries with modseq > since */
	int (*expunged_since)(struct mail_index *idx, uint32_t folder, uint64_t since,
			      index_uid_cb *cb, void *context);
	int (*folder_stats)(struct mail_index *idx, const struct index_folder *folder,
			    struct index_stats *stats_r);
	/* one message's hot record, 1/0/-1 */
	int (*message_get)(struct mail_index *idx, uint32_t folder, uint32_t uid,
			   unsigned int columns, index_message_cb *cb, void *context);
	/* empty every table but meta (rebuild) */
	int (*clear)(struct mail_index *idx);
};

struct mail_index {
	const struct index_backend_vfuncs *v;
};

enum index_open_result {
	INDEX_OPEN_OK,
	INDEX_OPEN_CREATED,     /* there was none: a new, empty index */
	INDEX_OPEN_CORRUPT,     /* unreadable or another schema: move it aside, rebuild */
	INDEX_OPEN_ERROR,       /* could not open (permissions, disk): *error_r */
};

/* The SQLite backend: dir/tern-index.db. */
#define INDEX_SQLITE_FILE "tern-index.db"
enum index_open_result index_sqlite_open(const char *dir, struct mail_index **idx_r,
					 const char **error_r);
/* Move a damaged index (and its -wal, -shm) aside as
   tern-index.db.corrupt-<time>: 0 or -1 with errno. */
int index_sqlite_move_aside(const char *dir, char **new_path_r);

#endif
