/*
 * The SQLite backend of the mailbox index (index-private.h): one database
 * per user, <maildir>/tern-index.db, in WAL mode so readers never wait for
 * the writer and `tern mailbox` in another process can work beside the
 * server. synchronous=NORMAL: a power cut may lose the last transactions
 * but never breaks the file; the message files themselves are fsynced, the
 * UID high-water mark is in the fsynced tern-uidlist files, and the index
 * can be rebuilt from the Maildir (docs/store.md). This is the only file
 * of tern with mailbox SQL in it.
 */
#include "index-private.h"
#include "arena.h"
#include "buf.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 2
#define COLUMN_SETS 32   /* every combination of enum index_columns */
#define BUSY_TIMEOUT_MS 30000
/* a small page cache per user (KiB): many users are open at once */
#define CACHE_KIB 512
/* PRAGMA quick_check reads the whole file: done at open only for indexes
   up to this size; damage in larger ones shows as SQLITE_CORRUPT when the
   bad page is read, which leads to the same rebuild */
#define QUICK_CHECK_MAX_BYTES (32 * 1024 * 1024)

enum stmt_id {
	ST_META_GET,
	ST_META_SET,
	ST_FOLDER_LIST,
	ST_FOLDER_GET,
	ST_FOLDER_FIND,
	ST_FOLDER_INSERT,
	ST_FOLDER_UPDATE,
	ST_FOLDER_DEL,
	ST_FOLDER_DEL_MSGS,
	ST_FOLDER_DEL_CACHE,
	ST_FOLDER_DEL_HEADERS,
	ST_FOLDER_DEL_EXPUNGED,
	ST_MSG_INSERT,
	ST_CACHE_INSERT,
	ST_HEADER_INSERT,
	ST_MSG_FLAGS,
	ST_MSG_DEL,
	ST_CACHE_DEL,
	ST_HEADER_DEL,
	ST_EXPUNGE_LOG,
	ST_MOVE_MSGS,
	ST_MOVE_CACHE,
	ST_MOVE_HEADERS,
	ST_CHANGED,
	ST_EXPUNGED_SINCE,
	ST_STATS,
	ST_STATS_RECENT,
	ST_FIRST_UNSEEN,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
		"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_FOLDER_LIST] = "SELECT id, name, special_use, uidnext, recent_uid, highestmodseq, "
		"cur_mtime, cur_safe, keywords, uidlist_n FROM folders ORDER BY name",
	[ST_FOLDER_GET] = "SELECT id, name, special_use, uidnext, recent_uid, highestmodseq, "
		"cur_mtime, cur_safe, keywords, uidlist_n FROM folders WHERE id = ?1",
	[ST_FOLDER_FIND] = "SELECT id, name, special_use, uidnext, recent_uid, highestmodseq, "
		"cur_mtime, cur_safe, keywords, uidlist_n FROM folders WHERE name = ?1",
	[ST_FOLDER_INSERT] = "INSERT INTO folders (id, name, special_use, uidnext, recent_uid, "
		"highestmodseq, cur_mtime, cur_safe, keywords, uidlist_n) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_FOLDER_UPDATE] = "UPDATE folders SET name = ?2, special_use = ?3, uidnext = ?4, "
		"recent_uid = ?5, highestmodseq = ?6, cur_mtime = ?7, cur_safe = ?8, "
		"keywords = ?9, uidlist_n = ?10 WHERE id = ?1",
	[ST_FOLDER_DEL] = "DELETE FROM folders WHERE id = ?1",
	[ST_FOLDER_DEL_MSGS] = "DELETE FROM messages WHERE folder = ?1",
	[ST_FOLDER_DEL_CACHE] = "DELETE FROM cache WHERE folder = ?1",
	[ST_FOLDER_DEL_HEADERS] = "DELETE FROM headers WHERE folder = ?1",
	[ST_FOLDER_DEL_EXPUNGED] = "DELETE FROM expunged WHERE folder = ?1",
	[ST_MSG_INSERT] = "INSERT OR REPLACE INTO messages (folder, uid, name, flags, keywords, "
		"internal_date, tz, size, raw_size, modseq, guid, sent_date, sent_tz) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[ST_CACHE_INSERT] = "INSERT OR REPLACE INTO cache (folder, uid, envelope, envelope8, "
		"bodystructure, bodystructure8, body, body8, parts) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_HEADER_INSERT] = "INSERT OR REPLACE INTO headers (folder, uid, header) VALUES (?1, ?2, ?3)",
	[ST_MSG_FLAGS] = "UPDATE messages SET name = ?3, flags = ?4, keywords = ?5, modseq = ?6 "
		"WHERE folder = ?1 AND uid = ?2",
	[ST_MSG_DEL] = "DELETE FROM messages WHERE folder = ?1 AND uid = ?2",
	[ST_CACHE_DEL] = "DELETE FROM cache WHERE folder = ?1 AND uid = ?2",
	[ST_HEADER_DEL] = "DELETE FROM headers WHERE folder = ?1 AND uid = ?2",
	[ST_EXPUNGE_LOG] = "INSERT OR REPLACE INTO expunged (folder, uid, modseq) VALUES (?1, ?2, ?3)",
	[ST_MOVE_MSGS] = "UPDATE messages SET folder = ?2 WHERE folder = ?1",
	[ST_MOVE_CACHE] = "UPDATE cache SET folder = ?2 WHERE folder = ?1",
	[ST_MOVE_HEADERS] = "UPDATE headers SET folder = ?2 WHERE folder = ?1",
	[ST_CHANGED] = "SELECT uid, name, flags, keywords, internal_date, tz, size, raw_size, "
		"modseq, guid, sent_date, sent_tz FROM messages "
		"WHERE folder = ?1 AND modseq > ?2 ORDER BY uid",
	[ST_EXPUNGED_SINCE] = "SELECT uid, modseq FROM expunged WHERE folder = ?1 AND modseq > ?2 "
		"ORDER BY uid",
	[ST_STATS] = "SELECT count(*), coalesce(sum((flags & 1) = 0), 0), "
		"coalesce(sum((flags & 8) != 0), 0), coalesce(sum(size), 0) "
		"FROM messages WHERE folder = ?1",
	[ST_STATS_RECENT] = "SELECT count(*) FROM messages WHERE folder = ?1 AND uid >= ?2",
	[ST_FIRST_UNSEEN] = "SELECT min(uid) FROM messages WHERE folder = ?1 AND (flags & 1) = 0",
};

static const char *const schema_sql =
	"CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE folders ("
	" id INTEGER PRIMARY KEY,"            /* UIDVALIDITY */
	" name TEXT NOT NULL UNIQUE,"
	" special_use INTEGER NOT NULL,"
	" uidnext INTEGER NOT NULL,"
	" recent_uid INTEGER NOT NULL,"
	" highestmodseq INTEGER NOT NULL,"
	" cur_mtime INTEGER NOT NULL,"        /* cur/ as last scanned (ns) */
	" cur_safe INTEGER NOT NULL,"         /* ... old enough to trust */
	" keywords TEXT NOT NULL,"            /* names by letter, "\n"-separated */
	" uidlist_n INTEGER NOT NULL);"       /* N last written to tern-uidlist */
	"CREATE TABLE messages ("
	" folder INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" flags INTEGER NOT NULL,"
	" keywords INTEGER NOT NULL,"
	" internal_date INTEGER NOT NULL,"
	" tz INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" raw_size INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" guid TEXT NOT NULL,"
	" sent_date INTEGER,"
	" sent_tz INTEGER,"
	" PRIMARY KEY (folder, uid)) WITHOUT ROWID;"
	"CREATE INDEX messages_modseq ON messages (folder, modseq);"
	"CREATE TABLE cache ("
	" folder INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" envelope TEXT, envelope8 TEXT,"
	" bodystructure TEXT, bodystructure8 TEXT,"
	" body TEXT, body8 TEXT,"
	" parts BLOB,"
	" PRIMARY KEY (folder, uid));"
	/* WITHOUT ROWID: a scan in UID order (header SEARCH over a folder)
	   reads the blobs in key order, no rowid seek per row */
	"CREATE TABLE headers ("
	" folder INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" header BLOB,"             /* NULL: too large to cache */
	" PRIMARY KEY (folder, uid)) WITHOUT ROWID;"
	"CREATE TABLE expunged ("
	" folder INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (folder, uid)) WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged (folder, modseq);";

struct sqlite_index {
	struct mail_index idx;
	sqlite3 *db;
	sqlite3_stmt *stmts[ST_COUNT];
	sqlite3_stmt *read_stmts[2][COLUMN_SETS];
	sqlite3_stmt *header_range;      /* the headers of a UID range, in order */
	bool corrupt;
	bool in_transaction;
	char error[256];
};

static struct sqlite_index *SI(struct mail_index *idx)
{
	return (struct sqlite_index *)idx;
}

static int fail(struct sqlite_index *si, const char *what)
{
	int code = sqlite3_errcode(si->db);

	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		si->corrupt = true;
	snprintf(si->error, sizeof(si->error), "index %s: %s", what, sqlite3_errmsg(si->db));
	return -1;
}

static sqlite3_stmt *stmt(struct sqlite_index *si, enum stmt_id id)
{
	sqlite3_stmt *s = si->stmts[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(si->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
				       NULL) != SQLITE_OK) {
			(void)fail(si, "prepare");
			return NULL;
		}
		si->stmts[id] = s;
	}
	return s;
}

static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows. */
static int run(struct sqlite_index *si, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	done(s);
	if (rc != SQLITE_DONE)
		return fail(si, what);
	return 0;
}

static void bind_text(sqlite3_stmt *s, int i, const char *text)
{
	if (text == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
}

static void bind_blob(sqlite3_stmt *s, int i, const void *data, size_t size)
{
	if (data == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_blob64(s, i, size == 0 ? "" : data, size, SQLITE_TRANSIENT);
}

/* ---- open / close ---- */

static void sqlite_close(struct mail_index *idx)
{
	struct sqlite_index *si = SI(idx);
	unsigned int i;

	if (si->in_transaction)
		(void)sqlite3_exec(si->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(si->stmts[i]);
	for (i = 0; i < COLUMN_SETS; i++) {
		sqlite3_finalize(si->read_stmts[0][i]);
		sqlite3_finalize(si->read_stmts[1][i]);
	}
	sqlite3_finalize(si->header_range);
	sqlite3_close(si->db);
	free(si);
}

static const char *sqlite_last_error(struct mail_index *idx)
{
	return SI(idx)->error;
}

static bool sqlite_is_corrupt(struct mail_index *idx)
{
	return SI(idx)->corrupt;
}

static int exec_sql(struct sqlite_index *si, const char *sql)
{
	if (sqlite3_exec(si->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(si, sql);
	return 0;
}

static int sqlite_begin(struct mail_index *idx)
{
	struct sqlite_index *si = SI(idx);

	i_assert(!si->in_transaction);
	/* IMMEDIATE: take the write lock now, so two processes never both
	   scan a Maildir and assign the same UIDs */
	if (exec_sql(si, "BEGIN IMMEDIATE") < 0)
		return -1;
	si->in_transaction = true;
	return 0;
}

static int sqlite_commit(struct mail_index *idx)
{
	struct sqlite_index *si = SI(idx);

	i_assert(si->in_transaction);
	if (exec_sql(si, "COMMIT") < 0) {
		(void)sqlite3_exec(si->db, "ROLLBACK", NULL, NULL, NULL);
		si->in_transaction = false;
		return -1;
	}
	si->in_transaction = false;
	return 0;
}

static void sqlite_rollback(struct mail_index *idx)
{
	struct sqlite_index *si = SI(idx);

	if (si->in_transaction)
		(void)sqlite3_exec(si->db, "ROLLBACK", NULL, NULL, NULL);
	si->in_transaction = false;
}

/* ---- meta ---- */

static int sqlite_meta_get(struct mail_index *idx, const char *key, int64_t *value_r)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_META_GET);
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*value_r = sqlite3_column_int64(s, 0);
		done(s);
		return 1;
	}
	done(s);
	if (rc != SQLITE_DONE)
		return fail(si, "meta");
	return 0;
}

static int sqlite_meta_set(struct mail_index *idx, const char *key, int64_t value)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_META_SET);

	if (s == NULL)
		return -1;
	bind_text(s, 1, key);
	sqlite3_bind_int64(s, 2, value);
	return run(si, s, "meta");
}

/* ---- folders ---- */

static void split_keywords(struct arena *arena, const char *text, struct index_folder *f)
{
	const char *p, *nl;
	unsigned int n = 0;

	f->keywords = NULL;
	f->keyword_count = 0;
	if (text == NULL || *text == '\0')
		return;
	for (p = text; p != NULL; p = nl == NULL ? NULL : nl + 1) {
		nl = strchr(p, '\n');
		n++;
	}
	f->keywords = arena_new_array(arena, const char *, n);
	for (p = text; p != NULL; p = nl == NULL ? NULL : nl + 1) {
		nl = strchr(p, '\n');
		f->keywords[f->keyword_count++] = nl == NULL ? arena_strdup(arena, p) :
			arena_strndup(arena, p, (size_t)(nl - p));
	}
}

static char *join_keywords(const struct index_folder *f)
{
	buf_t b;
	unsigned int i;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = 0; i < f->keyword_count; i++) {
		if ((i > 0 && buf_append_c(&b, '\n') < 0) ||
		    buf_append_str(&b, f->keywords[i] == NULL ? "" : f->keywords[i]) < 0)
			i_panic("unlimited buffer full");
	}
	return buf_steal(&b, NULL);
}

static void read_folder(sqlite3_stmt *s, struct arena *arena, struct index_folder *f)
{
	memset(f, 0, sizeof(*f));
	f->id = (uint32_t)sqlite3_column_int64(s, 0);
	f->name = arena_strdup(arena, (const char *)sqlite3_column_text(s, 1));
	f->special_use = (unsigned int)sqlite3_column_int(s, 2);
	f->uidnext = (uint32_t)sqlite3_column_int64(s, 3);
	f->recent_uid = (uint32_t)sqlite3_column_int64(s, 4);
	f->highestmodseq = (uint64_t)sqlite3_column_int64(s, 5);
	f->cur_mtime = sqlite3_column_int64(s, 6);
	f->cur_safe = sqlite3_column_int(s, 7) != 0;
	split_keywords(arena, (const char *)sqlite3_column_text(s, 8), f);
	f->uidlist_n = (uint32_t)sqlite3_column_int64(s, 9);
}

static int sqlite_folder_list(struct mail_index *idx, struct arena *arena,
			      struct index_folder **folders_r, unsigned int *count_r)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_FOLDER_LIST);
	struct index_folder *folders = NULL;
	unsigned int count = 0, alloc = 0;
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (count == alloc) {
			unsigned int n = alloc == 0 ? 16 : alloc * 2;

			folders = arena_realloc(arena, folders, sizeof(*folders) * alloc,
						sizeof(*folders) * n);
			alloc = n;
		}
		read_folder(s, arena, &folders[count++]);
	}
	done(s);
	if (rc != SQLITE_DONE)
		return fail(si, "folder list");
	*folders_r = folders;
	*count_r = count;
	return 0;
}

static int folder_one(struct sqlite_index *si, sqlite3_stmt *s, struct arena *arena,
		      struct index_folder *folder_r)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		read_folder(s, arena, folder_r);
		done(s);
		return 1;
	}
	done(s);
	if (rc != SQLITE_DONE)
		return fail(si, "folder");
	return 0;
}

static int sqlite_folder_get(struct mail_index *idx, struct arena *arena, uint32_t id,
			     struct index_folder *folder_r)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_FOLDER_GET);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return folder_one(si, s, arena, folder_r);
}

static int sqlite_folder_find(struct mail_index *idx, struct arena *arena, const char *name,
			      struct index_folder *folder_r)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_FOLDER_FIND);

	if (s == NULL)
		return -1;
	bind_text(s, 1, name);
	return folder_one(si, s, arena, folder_r);
}

static int folder_write(struct sqlite_index *si, enum stmt_id id, const struct index_folder *f)
{
	sqlite3_stmt *s = stmt(si, id);
	char *keywords;
	int ret;

	if (s == NULL)
		return -1;
	keywords = join_keywords(f);
	sqlite3_bind_int64(s, 1, f->id);
	bind_text(s, 2, f->name);
	sqlite3_bind_int(s, 3, (int)f->special_use);
	sqlite3_bind_int64(s, 4, f->uidnext);
	sqlite3_bind_int64(s, 5, f->recent_uid);
	sqlite3_bind_int64(s, 6, (int64_t)f->highestmodseq);
	sqlite3_bind_int64(s, 7, f->cur_mtime);
	sqlite3_bind_int(s, 8, f->cur_safe ? 1 : 0);
	bind_text(s, 9, keywords);
	sqlite3_bind_int64(s, 10, f->uidlist_n);
	ret = run(si, s, "folder write");
	free(keywords);
	return ret;
}

static int sqlite_folder_insert(struct mail_index *idx, const struct index_folder *folder)
{
	return folder_write(SI(idx), ST_FOLDER_INSERT, folder);
}

static int sqlite_folder_update(struct mail_index *idx, const struct index_folder *folder)
{
	return folder_write(SI(idx), ST_FOLDER_UPDATE, folder);
}

static int run_folder(struct sqlite_index *si, enum stmt_id id, uint32_t folder)
{
	sqlite3_stmt *s = stmt(si, id);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	return run(si, s, "folder delete");
}

static int sqlite_folder_delete(struct mail_index *idx, uint32_t id)
{
	struct sqlite_index *si = SI(idx);

	if (run_folder(si, ST_FOLDER_DEL_MSGS, id) < 0 ||
	    run_folder(si, ST_FOLDER_DEL_CACHE, id) < 0 ||
	    run_folder(si, ST_FOLDER_DEL_HEADERS, id) < 0 ||
	    run_folder(si, ST_FOLDER_DEL_EXPUNGED, id) < 0 ||
	    run_folder(si, ST_FOLDER_DEL, id) < 0)
		return -1;
	return 0;
}

/* ---- messages ---- */

static int sqlite_message_insert(struct mail_index *idx, uint32_t folder,
				 const struct index_message *m, const struct index_cache *c)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_MSG_INSERT);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, m->uid);
	bind_text(s, 3, m->name);
	sqlite3_bind_int(s, 4, (int)m->flags);
	sqlite3_bind_int64(s, 5, m->keywords);
	sqlite3_bind_int64(s, 6, m->internal_date);
	sqlite3_bind_int(s, 7, m->tz_offset);
	sqlite3_bind_int64(s, 8, (int64_t)m->size);
	sqlite3_bind_int64(s, 9, (int64_t)m->raw_size);
	sqlite3_bind_int64(s, 10, (int64_t)m->modseq);
	bind_text(s, 11, m->guid);
	if (m->has_sent_date) {
		sqlite3_bind_int64(s, 12, m->sent_date);
		sqlite3_bind_int(s, 13, m->sent_tz);
	} else {
		sqlite3_bind_null(s, 12);
		sqlite3_bind_null(s, 13);
	}
	if (run(si, s, "message insert") < 0)
		return -1;

	if ((s = stmt(si, ST_CACHE_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, m->uid);
	bind_text(s, 3, c->envelope);
	bind_text(s, 4, c->envelope_utf8);
	bind_text(s, 5, c->bodystructure);
	bind_text(s, 6, c->bodystructure_utf8);
	bind_text(s, 7, c->body);
	bind_text(s, 8, c->body_utf8);
	bind_blob(s, 9, c->parts, c->parts_size);
	if (run(si, s, "cache insert") < 0)
		return -1;

	if ((s = stmt(si, ST_HEADER_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, m->uid);
	bind_blob(s, 3, c->header, c->header_size);
	return run(si, s, "header insert");
}

static int sqlite_message_set_flags(struct mail_index *idx, uint32_t folder, uint32_t uid,
				    const char *name, unsigned int flags, uint32_t keywords,
				    uint64_t modseq)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_MSG_FLAGS);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, uid);
	bind_text(s, 3, name);
	sqlite3_bind_int(s, 4, (int)flags);
	sqlite3_bind_int64(s, 5, keywords);
	sqlite3_bind_int64(s, 6, (int64_t)modseq);
	return run(si, s, "flags update");
}

static int run_uid(struct sqlite_index *si, enum stmt_id id, uint32_t folder, uint32_t uid)
{
	sqlite3_stmt *s = stmt(si, id);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, uid);
	return run(si, s, "expunge");
}

static int sqlite_message_expunge(struct mail_index *idx, uint32_t folder, uint32_t uid,
				  uint64_t modseq)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s;

	if (run_uid(si, ST_MSG_DEL, folder, uid) < 0 ||
	    run_uid(si, ST_CACHE_DEL, folder, uid) < 0 ||
	    run_uid(si, ST_HEADER_DEL, folder, uid) < 0)
		return -1;
	if ((s = stmt(si, ST_EXPUNGE_LOG)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, (int64_t)modseq);
	return run(si, s, "expunge log");
}

static int run_move(struct sqlite_index *si, enum stmt_id id, uint32_t from, uint32_t to)
{
	sqlite3_stmt *s = stmt(si, id);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	return run(si, s, "move");
}

static int sqlite_messages_move_all(struct mail_index *idx, uint32_t from, uint32_t to)
{
	struct sqlite_index *si = SI(idx);

	if (run_move(si, ST_MOVE_MSGS, from, to) < 0 ||
	    run_move(si, ST_MOVE_CACHE, from, to) < 0 ||
	    run_move(si, ST_MOVE_HEADERS, from, to) < 0)
		return -1;
	return 0;
}

/* The hot columns, in this order, start every message query. */
#define HOT_COLUMNS "m.uid, m.name, m.flags, m.keywords, m.internal_date, m.tz, m.size, " \
	"m.raw_size, m.modseq, m.guid, m.sent_date, m.sent_tz"
#define HOT_COUNT 12

static void read_message(sqlite3_stmt *s, struct index_message *m)
{
	memset(m, 0, sizeof(*m));
	m->uid = (uint32_t)sqlite3_column_int64(s, 0);
	m->name = (const char *)sqlite3_column_text(s, 1);
	m->flags = (unsigned int)sqlite3_column_int(s, 2);
	m->keywords = (uint32_t)sqlite3_column_int64(s, 3);
	m->internal_date = sqlite3_column_int64(s, 4);
	m->tz_offset = sqlite3_column_int(s, 5);
	m->size = (uint64_t)sqlite3_column_int64(s, 6);
	m->raw_size = (uint64_t)sqlite3_column_int64(s, 7);
	m->modseq = (uint64_t)sqlite3_column_int64(s, 8);
	m->guid = (const char *)sqlite3_column_text(s, 9);
	if (sqlite3_column_type(s, 10) != SQLITE_NULL) {
		m->has_sent_date = true;
		m->sent_date = sqlite3_column_int64(s, 10);
		m->sent_tz = sqlite3_column_int(s, 11);
	}
	if (m->name == NULL)
		m->name = "";
	if (m->guid == NULL)
		m->guid = "";
}

/* The query for a column set: hot columns, then the cold ones asked for,
   joined. One prepared statement per column set (and per shape: a range
   with a LIMIT, or one UID) is kept. */
static __thread char query_text[1024];

static const char *read_sql(unsigned int columns, bool single)
{
	bool cache = (columns & (INDEX_COL_ENVELOPE | INDEX_COL_BODYSTRUCTURE |
				 INDEX_COL_BODY | INDEX_COL_PARTS)) != 0;
	bool header = (columns & INDEX_COL_HEADER) != 0;

	snprintf(query_text, sizeof(query_text),
		 "SELECT " HOT_COLUMNS "%s%s%s%s%s FROM messages m%s%s "
		 "WHERE m.folder = ?1 AND m.uid >= ?2 AND m.uid <= ?3 ORDER BY m.uid%s",
		 (columns & INDEX_COL_ENVELOPE) != 0 ? ", c.envelope, c.envelope8" : ", NULL, NULL",
		 (columns & INDEX_COL_BODYSTRUCTURE) != 0 ?
		 ", c.bodystructure, c.bodystructure8" : ", NULL, NULL",
		 (columns & INDEX_COL_BODY) != 0 ? ", c.body, c.body8" : ", NULL, NULL",
		 (columns & INDEX_COL_PARTS) != 0 ? ", c.parts" : ", NULL",
		 header ? ", h.header" : ", NULL",
		 cache ? " LEFT JOIN cache c ON c.folder = m.folder AND c.uid = m.uid" : "",
		 header ? " LEFT JOIN headers h ON h.folder = m.folder AND h.uid = m.uid" : "",
		 single ? "" : " LIMIT ?4");
	return query_text;
}

static sqlite3_stmt *read_stmt(struct sqlite_index *si, unsigned int columns, bool single)
{
	sqlite3_stmt **slot = &si->read_stmts[single ? 1 : 0][columns % COLUMN_SETS];

	if (*slot == NULL &&
	    sqlite3_prepare_v3(si->db, read_sql(columns % COLUMN_SETS, single), -1,
			       SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) {
		(void)fail(si, "prepare read");
		*slot = NULL;
		return NULL;
	}
	return *slot;
}

static void read_cache(sqlite3_stmt *s, struct index_cache *c)
{
	memset(c, 0, sizeof(*c));
	c->envelope = (const char *)sqlite3_column_text(s, HOT_COUNT + 0);
	c->envelope_utf8 = (const char *)sqlite3_column_text(s, HOT_COUNT + 1);
	c->bodystructure = (const char *)sqlite3_column_text(s, HOT_COUNT + 2);
	c->bodystructure_utf8 = (const char *)sqlite3_column_text(s, HOT_COUNT + 3);
	c->body = (const char *)sqlite3_column_text(s, HOT_COUNT + 4);
	c->body_utf8 = (const char *)sqlite3_column_text(s, HOT_COUNT + 5);
	c->parts = sqlite3_column_blob(s, HOT_COUNT + 6);
	c->parts_size = (size_t)sqlite3_column_bytes(s, HOT_COUNT + 6);
	if (sqlite3_column_type(s, HOT_COUNT + 7) != SQLITE_NULL) {
		c->header = sqlite3_column_blob(s, HOT_COUNT + 7);
		c->header_size = (size_t)sqlite3_column_bytes(s, HOT_COUNT + 7);
		if (c->header == NULL)
			c->header = "";
	}
	if (c->parts == NULL)
		c->parts_size = 0;
}

static int read_rows(struct sqlite_index *si, sqlite3_stmt *s, index_message_cb *cb,
		     void *context, unsigned int *rows_r)
{
	struct index_message m;
	struct index_cache c;
	unsigned int rows = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_message(s, &m);
		if (sqlite3_column_count(s) > HOT_COUNT)
			read_cache(s, &c);
		else
			memset(&c, 0, sizeof(c));
		rows++;
		if (cb(&m, &c, context) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rows_r != NULL)
		*rows_r = rows;
	if (rc != SQLITE_DONE)
		return fail(si, "read");
	return 0;
}

/* A range read with headers: the messages (and cache) rows and the
   headers rows of the same UID range are two scans in UID order merged
   here, rather than one index seek into headers per message. */
static int read_rows_with_headers(struct sqlite_index *si, sqlite3_stmt *s, sqlite3_stmt *h,
				  index_message_cb *cb, void *context)
{
	struct index_message m;
	struct index_cache c;
	int rc, hrc = sqlite3_step(h);

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_message(s, &m);
		if (sqlite3_column_count(s) > HOT_COUNT)
			read_cache(s, &c);
		else
			memset(&c, 0, sizeof(c));
		while (hrc == SQLITE_ROW && (uint32_t)sqlite3_column_int64(h, 0) < m.uid)
			hrc = sqlite3_step(h);
		if (hrc == SQLITE_ROW && (uint32_t)sqlite3_column_int64(h, 0) == m.uid &&
		    sqlite3_column_type(h, 1) != SQLITE_NULL) {
			c.header = sqlite3_column_blob(h, 1);
			c.header_size = (size_t)sqlite3_column_bytes(h, 1);
			if (c.header == NULL)
				c.header = "";
		}
		if (cb(&m, &c, context) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE || (hrc != SQLITE_ROW && hrc != SQLITE_DONE))
		return fail(si, "read");
	return 0;
}

static int sqlite_messages_read(struct mail_index *idx, uint32_t folder, uint32_t first,
				uint32_t last, unsigned int columns, unsigned int limit,
				index_message_cb *cb, void *context)
{
	struct sqlite_index *si = SI(idx);
	bool header = (columns & INDEX_COL_HEADER) != 0;
	sqlite3_stmt *s = read_stmt(si, header ? columns & ~INDEX_COL_HEADER : columns, false);
	int ret;

	if (s == NULL)
		return -1;
	if (header && si->header_range == NULL &&
	    sqlite3_prepare_v3(si->db, "SELECT uid, header FROM headers WHERE folder = ?1 AND "
			       "uid >= ?2 AND uid <= ?3 ORDER BY uid", -1,
			       SQLITE_PREPARE_PERSISTENT, &si->header_range, NULL) != SQLITE_OK) {
		si->header_range = NULL;
		return fail(si, "prepare read");
	}
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, first);
	sqlite3_bind_int64(s, 3, last);
	sqlite3_bind_int64(s, 4, limit == 0 ? -1 : (int64_t)limit);
	if (header) {
		sqlite3_bind_int64(si->header_range, 1, folder);
		sqlite3_bind_int64(si->header_range, 2, first);
		sqlite3_bind_int64(si->header_range, 3, last);
		ret = read_rows_with_headers(si, s, si->header_range, cb, context);
		done(si->header_range);
	} else {
		ret = read_rows(si, s, cb, context, NULL);
	}
	done(s);
	return ret;
}

static int sqlite_message_get(struct mail_index *idx, uint32_t folder, uint32_t uid,
			      unsigned int columns, index_message_cb *cb, void *context)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = read_stmt(si, columns, true);
	unsigned int rows;
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, uid);
	ret = read_rows(si, s, cb, context, &rows);
	done(s);
	return ret < 0 ? -1 : rows > 0 ? 1 : 0;
}

static int sqlite_messages_changed(struct mail_index *idx, uint32_t folder, uint64_t since,
				   index_message_cb *cb, void *context)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_CHANGED);
	int ret;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, (int64_t)since);
	ret = read_rows(si, s, cb, context, NULL);
	done(s);
	return ret;
}

static int sqlite_expunged_since(struct mail_index *idx, uint32_t folder, uint64_t since,
				 index_uid_cb *cb, void *context)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s = stmt(si, ST_EXPUNGED_SINCE);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder);
	sqlite3_bind_int64(s, 2, (int64_t)since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb((uint32_t)sqlite3_column_int64(s, 0), (uint64_t)sqlite3_column_int64(s, 1),
		   context);
	done(s);
	if (rc != SQLITE_DONE)
		return fail(si, "expunge log");
	return 0;
}

static int sqlite_folder_stats(struct mail_index *idx, const struct index_folder *folder,
			       struct index_stats *st)
{
	struct sqlite_index *si = SI(idx);
	sqlite3_stmt *s;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((s = stmt(si, ST_STATS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder->id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		st->messages = (uint32_t)sqlite3_column_int64(s, 0);
		st->unseen = (uint32_t)sqlite3_column_int64(s, 1);
		st->deleted = (uint32_t)sqlite3_column_int64(s, 2);
		st->size = (uint64_t)sqlite3_column_int64(s, 3);
	}
	done(s);
	if (rc != SQLITE_ROW)
		return fail(si, "stats");

	if ((s = stmt(si, ST_STATS_RECENT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, folder->id);
	sqlite3_bind_int64(s, 2, folder->recent_uid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		st->recent = (uint32_t)sqlite3_column_int64(s, 0);
	done(s);
	if (rc != SQLITE_ROW)
		return fail(si, "stats");

	if (st->unseen > 0) {
		if ((s = stmt(si, ST_FIRST_UNSEEN)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, folder->id);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			st->first_unseen_uid = (uint32_t)sqlite3_column_int64(s, 0);
		done(s);
		if (rc != SQLITE_ROW)
			return fail(si, "stats");
	}
	return 0;
}

static int sqlite_clear(struct mail_index *idx)
{
	struct sqlite_index *si = SI(idx);

	return exec_sql(si, "DELETE FROM messages; DELETE FROM cache; DELETE FROM headers; "
			"DELETE FROM expunged; DELETE FROM folders");
}

static const struct index_backend_vfuncs sqlite_vfuncs = {
	.close = sqlite_close,
	.last_error = sqlite_last_error,
	.is_corrupt = sqlite_is_corrupt,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.meta_get = sqlite_meta_get,
	.meta_set = sqlite_meta_set,
	.folder_list = sqlite_folder_list,
	.folder_get = sqlite_folder_get,
	.folder_find = sqlite_folder_find,
	.folder_insert = sqlite_folder_insert,
	.folder_update = sqlite_folder_update,
	.folder_delete = sqlite_folder_delete,
	.message_insert = sqlite_message_insert,
	.message_set_flags = sqlite_message_set_flags,
	.message_expunge = sqlite_message_expunge,
	.messages_move_all = sqlite_messages_move_all,
	.messages_read = sqlite_messages_read,
	.messages_changed = sqlite_messages_changed,
	.expunged_since = sqlite_expunged_since,
	.folder_stats = sqlite_folder_stats,
	.message_get = sqlite_message_get,
	.clear = sqlite_clear,
};

static int quick_check(struct sqlite_index *si)
{
	sqlite3_stmt *s;
	bool ok = false;

	if (sqlite3_prepare_v2(si->db, "PRAGMA quick_check(1)", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);

		ok = r != NULL && strcmp(r, "ok") == 0;
	}
	sqlite3_finalize(s);
	return ok ? 0 : -1;
}

enum index_open_result index_sqlite_open(const char *dir, struct mail_index **idx_r,
					 const char **error_r)
{
	static __thread char open_error[512];
	char pragmas[160];
	struct sqlite_index *si;
	struct stat st;
	char *path = i_strdup_printf("%s/%s", dir, INDEX_SQLITE_FILE);
	bool existed;
	sqlite3_stmt *s;
	int version = -1, rc;

	existed = stat(path, &st) == 0 && st.st_size > 0;
	si = i_malloc(sizeof(*si));
	si->idx.v = &sqlite_vfuncs;
	rc = sqlite3_open_v2(path, &si->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(open_error, sizeof(open_error), "cannot open %s: %s", path,
			 si->db == NULL ? "out of memory" : sqlite3_errmsg(si->db));
		goto error;
	}
	sqlite3_busy_timeout(si->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(si->db, 0);
	/* journal_mode is the first read of the file: a file that is no
	   database fails here (SQLITE_NOTADB) */
	if (sqlite3_exec(si->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)
		goto corrupt;
	snprintf(pragmas, sizeof(pragmas), "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-%d; "
		 "PRAGMA temp_store=MEMORY", CACHE_KIB);
	if (sqlite3_exec(si->db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
		goto corrupt;
	if (sqlite3_prepare_v2(si->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		goto corrupt;
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version == 0 && !existed) {
		char *sql = i_strdup_printf("BEGIN; %s PRAGMA user_version=%d; COMMIT",
					    schema_sql, SCHEMA_VERSION);

		rc = sqlite3_exec(si->db, sql, NULL, NULL, NULL);
		free(sql);
		if (rc != SQLITE_OK) {
			snprintf(open_error, sizeof(open_error), "cannot create %s: %s", path,
				 sqlite3_errmsg(si->db));
			goto error;
		}
		free(path);
		*idx_r = &si->idx;
		return INDEX_OPEN_CREATED;
	}
	if (version != SCHEMA_VERSION)
		goto corrupt;
	if (st.st_size <= QUICK_CHECK_MAX_BYTES && quick_check(si) < 0)
		goto corrupt;
	free(path);
	*idx_r = &si->idx;
	return INDEX_OPEN_OK;

corrupt:
	snprintf(open_error, sizeof(open_error), "%s: %s", path,
		 version > 0 && version != SCHEMA_VERSION ? "schema version mismatch" :
		 sqlite3_errmsg(si->db));
	*error_r = open_error;
	sqlite3_close(si->db);
	free(si);
	free(path);
	return INDEX_OPEN_CORRUPT;
error:
	*error_r = open_error;
	sqlite3_close(si->db);
	free(si);
	free(path);
	return INDEX_OPEN_ERROR;
}

int index_sqlite_move_aside(const char *dir, char **new_path_r)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char *from, *to;
	time_t now = time(NULL);
	unsigned int n = 0;
	struct stat st;
	size_t i;
	int ret = 0;

	*new_path_r = NULL;
	/* never over an earlier damaged file: the administrator may want it */
	for (;;) {
		to = i_strdup_printf("%s/%s.corrupt-%lld-%u", dir, INDEX_SQLITE_FILE,
				     (long long)now, n);
		if (stat(to, &st) < 0 || ++n > 1000)
			break;
		free(to);
	}
	free(to);
	for (i = 0; i < N_ELEMENTS(suffixes); i++) {
		from = i_strdup_printf("%s/%s%s", dir, INDEX_SQLITE_FILE, suffixes[i]);
		to = i_strdup_printf("%s/%s.corrupt-%lld-%u%s", dir, INDEX_SQLITE_FILE,
				     (long long)now, n, suffixes[i]);
		if (rename(from, to) < 0 && errno != ENOENT && i == 0)
			ret = -1;
		if (i == 0)
			*new_path_r = i_strdup(to);
		free(from);
		free(to);
	}
	return ret;
}
