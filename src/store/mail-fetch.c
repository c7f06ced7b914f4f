/*
 * Reading messages (mailbox.h): records from the index in batches (the
 * user is locked only while a batch is read), and message bytes from the
 * files through the cached part table, in CRLF form: a file stored with
 * bare LF line ends is sent with CRLF, and sizes and partial offsets count
 * that form (RFC 3501 2.3.4, 6.4.5). A file that vanished or no longer
 * matches its index row fails for that message only.
 */
#include "store-private.h"
#include "mail-parts.h"
#include "arena.h"
#include "imap-quote.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FETCH_BATCH 256
#define READ_CHUNK (64 * 1024)
#define OPEN_RETRIES 5

struct mail_fetch_iter {
	struct mailbox_view *view;
	struct arena *pool;             /* lives as long as the iterator */
	struct arena *batch;            /* cleared for every batch */
	struct mail_uid_range *ranges;
	unsigned int range_count;
	unsigned int fields, quote_flags, columns;
	uint32_t next_uid;              /* where the next batch starts; 0: done */
	struct mail_record *records;
	unsigned int count, pos;
	bool failed;
	struct mail_error error;
	/* store-internal: rows this says no to make no record (SEARCH) */
	mail_fetch_skip_cb *skip;
	void *skip_context;
};

struct mail_file {
	int fd;
	uint64_t size, raw_size;
	struct arena *arena;
	struct mail_part *parts;
	unsigned int part_count;
	uint32_t uid;
	/* where the last read of a section with bare LFs stopped, so that
	   reading one in order (POP3 RETR, IMAP partial FETCHes) does not walk
	   it from its start every time */
	bool resume_valid;
	uint64_t resume_sec_offset, resume_sec_size;  /* the section (raw) */
	uint64_t resume_raw_pos, resume_pos;          /* raw offset, CRLF-form offset */
	unsigned char resume_prev;                    /* the raw byte before resume_raw_pos */
};

/* The CRLF form of data (bare LF -> CRLF), in arena; data itself when it
   has no bare LF. */
static const unsigned char *crlf_form(struct arena *arena, const unsigned char *data,
				      size_t size, size_t *size_r)
{
	size_t i, bare = 0, n = 0;
	unsigned char *out;

	for (i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			bare++;
	}
	*size_r = size + bare;
	if (bare == 0)
		return data;
	out = arena_alloc(arena, size + bare + 1);
	for (i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = data[i];
	}
	return out;
}

/* ---- records ---- */

struct batch_ctx {
	struct mail_fetch_iter *iter;
	const struct index_folder *folder;
	const uint32_t *uids;           /* the batch's view UIDs, ascending */
	unsigned int uid_count, next;   /* next: the first not yet emitted */
};

static struct mail_record *record_add(struct mail_fetch_iter *iter, uint32_t uid)
{
	struct mail_record *r = &iter->records[iter->count++];

	memset(r, 0, sizeof(*r));
	r->uid = uid;
	r->seq = seqmap_uid_to_seq(&iter->view->map, uid);
	return r;
}

static const char *pick(struct arena *arena, const char *plain, const char *utf8,
			unsigned int quote_flags)
{
	if ((quote_flags & IMAP_QUOTE_FLAG_UTF8) != 0 && utf8 != NULL)
		return arena_strdup(arena, utf8);
	return arena_strdup(arena, plain);
}

static int batch_row_cb(const struct index_message *msg, const struct index_cache *cache,
			void *context)
{
	struct batch_ctx *ctx = context;
	struct mail_fetch_iter *iter = ctx->iter;
	struct arena *a = iter->batch;
	struct mail_record *r;

	/* view UIDs without a row were expunged meanwhile */
	while (ctx->next < ctx->uid_count && ctx->uids[ctx->next] < msg->uid)
		record_add(iter, ctx->uids[ctx->next++])->expunged = true;
	if (ctx->next >= ctx->uid_count || ctx->uids[ctx->next] != msg->uid)
		return 0;	/* not in the view (new to it) */
	ctx->next++;
	if (iter->skip != NULL && iter->skip(msg, cache, iter->skip_context))
		return 0;
	r = record_add(iter, msg->uid);
	if (view_is_pending(iter->view, msg->uid)) {
		r->expunged = true;
		return 0;
	}
	r->recent = mailbox_is_recent(iter->view, msg->uid);
	r->flags = msg->flags;
	keywords_from_bits(a, ctx->folder, msg->keywords, &r->keywords, &r->keyword_count);
	r->internal_date = (time_t)msg->internal_date;
	r->tz_offset_min = msg->tz_offset;
	r->size = msg->size;
	r->modseq = msg->modseq;
	r->guid = arena_strdup(a, msg->guid);
	r->has_sent_date = msg->has_sent_date;
	r->sent_date = (time_t)msg->sent_date;
	r->sent_tz_offset_min = msg->sent_tz;
	if ((iter->fields & MAIL_FETCH_ENVELOPE) != 0)
		r->envelope = pick(a, cache->envelope, cache->envelope_utf8, iter->quote_flags);
	if ((iter->fields & MAIL_FETCH_BODYSTRUCTURE) != 0)
		r->bodystructure = pick(a, cache->bodystructure, cache->bodystructure_utf8,
					iter->quote_flags);
	if ((iter->fields & MAIL_FETCH_BODY) != 0)
		r->body = pick(a, cache->body, cache->body_utf8, iter->quote_flags);
	if ((iter->fields & MAIL_FETCH_HEADER) != 0 && cache->header != NULL) {
		const unsigned char *h = arena_memdup(a, cache->header, cache->header_size);

		r->header = crlf_form(a, h, cache->header_size, &r->header_size);
	}
	return 0;
}

void mail_fetch_set_skip(struct mail_fetch_iter *iter, mail_fetch_skip_cb *skip, void *context)
{
	iter->skip = skip;
	iter->skip_context = context;
}

struct mail_fetch_iter *mailbox_fetch_begin(struct mailbox_view *view,
					    const struct mail_uid_range *uids,
					    unsigned int range_count, unsigned int fields,
					    unsigned int quote_flags)
{
	struct mail_fetch_iter *iter = i_malloc(sizeof(*iter));

	iter->view = view;
	iter->pool = arena_new(0);
	iter->batch = arena_new(0);
	ranges_normalize(iter->pool, uids, range_count, &iter->ranges, &iter->range_count);
	iter->fields = fields;
	iter->quote_flags = quote_flags;
	if ((fields & MAIL_FETCH_ENVELOPE) != 0)
		iter->columns |= INDEX_COL_ENVELOPE;
	if ((fields & MAIL_FETCH_BODYSTRUCTURE) != 0)
		iter->columns |= INDEX_COL_BODYSTRUCTURE;
	if ((fields & MAIL_FETCH_BODY) != 0)
		iter->columns |= INDEX_COL_BODY;
	if ((fields & MAIL_FETCH_HEADER) != 0)
		iter->columns |= INDEX_COL_HEADER;
	iter->next_uid = view_next_uid(view, iter->ranges, iter->range_count, 1);
	iter->records = i_malloc(sizeof(*iter->records) * FETCH_BATCH);
	return iter;
}

static int fetch_batch(struct mail_fetch_iter *iter)
{
	struct mailbox_view *view = iter->view;
	struct index_folder folder;
	struct batch_ctx ctx;
	uint32_t *uids, uid;
	unsigned int n = 0;

	arena_clear(iter->batch);
	iter->count = 0;
	iter->pos = 0;
	uids = arena_new_array(iter->batch, uint32_t, FETCH_BATCH);
	for (uid = iter->next_uid; uid != 0 && n < FETCH_BATCH;
	     uid = uid == UINT32_MAX ? 0 : view_next_uid(view, iter->ranges, iter->range_count,
							 uid + 1))
		uids[n++] = uid;
	iter->next_uid = uid;
	if (n == 0)
		return 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.iter = iter;
	ctx.uids = uids;
	ctx.uid_count = n;
	if (view_lock(view, iter->batch, &folder, &iter->error) < 0)
		return -1;
	ctx.folder = &folder;
	if (view->user->index->v->messages_read(view->user->index, view->folder_id, uids[0],
						uids[n - 1], iter->columns, 0, batch_row_cb,
						&ctx) < 0) {
		(void)mail_error_index(view->user, &iter->error);
		user_unlock(view->user);
		return -1;
	}
	user_unlock(view->user);
	while (ctx.next < n)
		record_add(iter, uids[ctx.next++])->expunged = true;
	return 0;
}

bool mailbox_fetch_next(struct mail_fetch_iter *iter, const struct mail_record **record_r)
{
	if (iter->failed)
		return false;
	while (iter->pos == iter->count) {
		if (iter->next_uid == 0)
			return false;
		if (fetch_batch(iter) < 0) {
			iter->failed = true;
			return false;
		}
	}
	*record_r = &iter->records[iter->pos++];
	return true;
}

int mailbox_fetch_end(struct mail_fetch_iter **iterp, struct mail_error *error_r)
{
	struct mail_fetch_iter *iter = *iterp;
	int ret = 0;

	if (iter == NULL)
		return 0;
	*iterp = NULL;
	if (iter->failed) {
		*error_r = iter->error;
		ret = -1;
	}
	arena_free(&iter->batch);
	arena_free(&iter->pool);
	free(iter->records);
	free(iter);
	return ret;
}

/* ---- message files ---- */

struct open_row {
	struct arena *arena;
	const char *name;
	uint64_t size, raw_size;
	const void *parts;
	size_t parts_size;
};

static int open_row_cb(const struct index_message *msg, const struct index_cache *cache,
		       void *context)
{
	struct open_row *o = context;

	o->name = arena_strdup(o->arena, msg->name);
	o->size = msg->size;
	o->raw_size = msg->raw_size;
	o->parts = cache->parts == NULL ? NULL :
		arena_memdup(o->arena, cache->parts, cache->parts_size);
	o->parts_size = cache->parts_size;
	return 0;
}

/* The row of uid: 1, 0 when gone, -1 error. */
static int lookup_row(struct mailbox_view *view, uint32_t uid, struct open_row *o,
		      char **dir_r, struct mail_error *error)
{
	struct index_folder f;
	int ret;

	if (view_lock(view, o->arena, &f, error) < 0)
		return -1;
	ret = view->user->index->v->message_get(view->user->index, view->folder_id, uid,
						INDEX_COL_PARTS, open_row_cb, o);
	if (ret < 0)
		(void)mail_error_index(view->user, error);
	if (ret > 0)
		*dir_r = user_folder_dir(view->user, f.name);
	user_unlock(view->user);
	return ret;
}

/* The mail_file of an open descriptor and its row: checks that the file is
   the one the index describes. Takes over fd and o->arena either way. */
static int file_from_row(struct mailbox_view *view, uint32_t uid, int fd, struct open_row *o,
			 struct mail_file **file_r, struct mail_error *error_r)
{
	struct mail_file *file;
	struct stat st;

	file = i_malloc(sizeof(*file));
	file->fd = fd;
	file->size = o->size;
	file->raw_size = o->raw_size;
	file->arena = o->arena;
	file->uid = uid;
	o->arena = NULL;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != o->raw_size || o->parts == NULL ||
	    mail_parts_read(file->arena, o->parts, o->parts_size, &file->parts,
			    &file->part_count) < 0) {
		log_error("store", "user=%s folder=%s uid=%u error=%s", log_str(view->user->address),
			  log_str(view->name), uid, "message file does not match the index");
		mail_file_close(&file);
		return mail_error_set(error_r, MAIL_ERROR_CORRUPT,
				      "The message file does not match the index");
	}
	*file_r = file;
	return 0;
}

static int file_missing(struct mailbox_view *view, uint32_t uid, int err,
			struct mail_error *error_r)
{
	log_error("store", "user=%s folder=%s uid=%u error=%s", log_str(view->user->address),
		  log_str(view->name), uid,
		  log_str(err == ENOENT ? "message file vanished" : strerror(err)));
	return mail_error_set(error_r, MAIL_ERROR_CORRUPT,
			      "The message file is missing or unreadable");
}

int mail_open(struct mailbox_view *view, uint32_t uid, struct mail_file **file_r,
	      struct mail_error *error_r)
{
	struct open_row o;
	char *dir = NULL, *path;
	unsigned int attempt;
	int fd = -1, ret;

	if (view_is_pending(view, uid))
		return mail_error_set(error_r, MAIL_ERROR_EXPUNGED, "Message was expunged");
	if (seqmap_uid_to_seq(&view->map, uid) == 0)
		return mail_error_set(error_r, MAIL_ERROR_NOTFOUND, "No such message");
	memset(&o, 0, sizeof(o));
	o.arena = arena_new(0);
	for (attempt = 0; attempt < OPEN_RETRIES; attempt++) {
		free(dir);
		dir = NULL;
		ret = lookup_row(view, uid, &o, &dir, error_r);
		if (ret <= 0) {
			arena_free(&o.arena);
			if (ret == 0)
				return mail_error_set(error_r, MAIL_ERROR_EXPUNGED,
						      "Message was expunged");
			return -1;
		}
		path = i_strdup_printf("%s/cur/%s", dir, o.name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (fd >= 0 || errno != ENOENT)
			break;
		/* renamed meanwhile (its flags changed): look it up again */
	}
	free(dir);
	if (fd < 0) {
		arena_free(&o.arena);
		return file_missing(view, uid, errno, error_r);
	}
	return file_from_row(view, uid, fd, &o, file_r, error_r);
}

/* mail_open_many(): the rows of the UIDs asked for, from one range read */
struct many_ctx {
	const uint32_t *uids;
	unsigned int count, next;
	struct open_row *rows;
	bool *found;
};

static int many_row_cb(const struct index_message *msg, const struct index_cache *cache,
		       void *context)
{
	struct many_ctx *ctx = context;

	while (ctx->next < ctx->count && ctx->uids[ctx->next] < msg->uid)
		ctx->next++;
	if (ctx->next == ctx->count || ctx->uids[ctx->next] != msg->uid)
		return 0;
	ctx->rows[ctx->next].arena = arena_new(256);
	(void)open_row_cb(msg, cache, &ctx->rows[ctx->next]);
	ctx->found[ctx->next] = true;
	ctx->next++;
	return 0;
}

unsigned int mail_open_many(struct mailbox_view *view, const uint32_t *uids, unsigned int count,
			    struct mail_file **files_r, struct mail_error *errors_r)
{
	struct arena *arena = arena_new(0);
	struct many_ctx ctx;
	struct index_folder f;
	struct mail_error error;
	char *dir = NULL;
	unsigned int i, opened = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.uids = uids;
	ctx.count = count;
	ctx.rows = arena_new_array(arena, struct open_row, count > 0 ? count : 1);
	ctx.found = arena_new_array(arena, bool, count > 0 ? count : 1);
	for (i = 0; i < count; i++) {
		files_r[i] = NULL;
		i_assert(i == 0 || uids[i] > uids[i - 1]);
	}
	/* one lock and one statement for the whole set, when it is dense
	   enough that the range read does not walk many rows for nothing */
	if (count > 1 && uids[count - 1] - uids[0] < count * 4 &&
	    view_lock(view, arena, &f, &error) == 0) {
		if (view->user->index->v->messages_read(view->user->index, view->folder_id,
							uids[0], uids[count - 1],
							INDEX_COL_PARTS, 0, many_row_cb,
							&ctx) < 0) {
			(void)mail_error_index(view->user, &error);
			memset(ctx.found, 0, sizeof(bool) * count);
		} else {
			dir = user_folder_dir(view->user, f.name);
		}
		user_unlock(view->user);
	}
	for (i = 0; i < count; i++) {
		struct open_row *o = &ctx.rows[i];
		char *path;
		int fd;

		if (!ctx.found[i] || dir == NULL || view_is_pending(view, uids[i]) ||
		    seqmap_uid_to_seq(&view->map, uids[i]) == 0) {
			/* not read above: the way of a single open */
			arena_free(&o->arena);
			if (mail_open(view, uids[i], &files_r[i], &errors_r[i]) == 0)
				opened++;
			continue;
		}
		path = i_strdup_printf("%s/cur/%s", dir, o->name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (fd < 0) {
			arena_free(&o->arena);
			/* renamed meanwhile (ENOENT): mail_open() looks it up again */
			if (errno == ENOENT ? mail_open(view, uids[i], &files_r[i], &errors_r[i]) == 0 :
			    (file_missing(view, uids[i], errno, &errors_r[i]), false))
				opened++;
			continue;
		}
		if (file_from_row(view, uids[i], fd, o, &files_r[i], &errors_r[i]) == 0)
			opened++;
	}
	free(dir);
	arena_free(&arena);
	return opened;
}

uint64_t mail_file_size(const struct mail_file *file)
{
	return file->size;
}

int mail_file_section(struct mail_file *file, const char *part, enum mail_section_text text,
		      struct mail_section *section_r, struct mail_error *error_r)
{
	if (mail_parts_section(file->parts, file->part_count, part, text, section_r) < 0)
		return mail_error_set(error_r, MAIL_ERROR_NOTFOUND, "No such part: %s", part);
	if (section_r->raw_offset > file->raw_size ||
	    section_r->raw_size > file->raw_size - section_r->raw_offset)
		return mail_error_set(error_r, MAIL_ERROR_CORRUPT,
				      "The message file does not match the index");
	return 0;
}

static int read_at(struct mail_file *file, void *buf, size_t size, uint64_t offset,
		   struct mail_error *error)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = pread(file->fd, (char *)buf + got, size - got, (off_t)(offset + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mail_error_sys(error, "read", "message file");
		if (n == 0)
			return mail_error_set(error, MAIL_ERROR_CORRUPT,
					      "The message file is shorter than the index says");
		got += (size_t)n;
	}
	return 0;
}

int mail_file_read_raw(struct mail_file *file, const struct mail_section *sec, buf_t *dest,
		       struct mail_error *error_r)
{
	unsigned char *out;

	if (sec->raw_size == 0)
		return 0;
	if (sec->raw_size > SIZE_MAX / 2 || (out = buf_reserve(dest, (size_t)sec->raw_size)) == NULL)
		return mail_error_set(error_r, MAIL_ERROR_TEMP, "Message part too large to send");
	if (read_at(file, out, (size_t)sec->raw_size, sec->raw_offset, error_r) < 0)
		return -1;
	buf_commit(dest, (size_t)sec->raw_size);
	return 0;
}

int mail_file_read(struct mail_file *file, const struct mail_section *sec, uint64_t offset,
		   uint64_t len, buf_t *dest, struct mail_error *error_r)
{
	unsigned char *chunk, *out;
	uint64_t raw_pos, raw_end, pos = 0, produced = 0;
	unsigned char prev = 0;

	if (offset >= sec->size || len == 0)
		return 0;
	if (len > sec->size - offset)
		len = sec->size - offset;
	if (len > SIZE_MAX / 2 || (out = buf_reserve(dest, (size_t)len)) == NULL)
		return mail_error_set(error_r, MAIL_ERROR_TEMP, "Message part too large to send");
	if (sec->raw_size == sec->size) {
		/* no bare LF: the bytes as they are */
		if (read_at(file, out, (size_t)len, sec->raw_offset + offset, error_r) < 0)
			return -1;
		buf_commit(dest, (size_t)len);
		return 0;
	}
	/* bare LFs become CRLF: walk from the section's start (or from where
	   the last read of this section stopped, when that is not past the
	   window), counting the CRLF form, up to the window asked for */
	raw_pos = sec->raw_offset;
	if (file->resume_valid && file->resume_sec_offset == sec->raw_offset &&
	    file->resume_sec_size == sec->raw_size && file->resume_pos <= offset) {
		raw_pos = file->resume_raw_pos;
		pos = file->resume_pos;
		prev = file->resume_prev;
	}
	file->resume_valid = false;
	chunk = i_malloc(READ_CHUNK);
	raw_end = sec->raw_offset + sec->raw_size;
	while (produced < len && raw_pos < raw_end) {
		size_t n = raw_end - raw_pos > READ_CHUNK ? READ_CHUNK : (size_t)(raw_end - raw_pos);
		size_t i;
		bool stop = false;

		if (read_at(file, chunk, n, raw_pos, error_r) < 0) {
			free(chunk);
			return -1;
		}
		for (i = 0; i < n; i++) {
			unsigned char c = chunk[i];

			if (produced == len) {
				stop = true;
				break;
			}
			if (c == '\n' && prev != '\r') {
				if (pos >= offset)
					out[produced++] = '\r';
				pos++;
				if (produced == len) {
					/* the window ends between the CR and its
					   LF: the next read starts at that LF again */
					pos--;
					stop = true;
					break;
				}
			}
			if (pos >= offset)
				out[produced++] = c;
			pos++;
			prev = c;
		}
		raw_pos += i;
		if (stop)
			break;
	}
	free(chunk);
	if (produced != len)
		return mail_error_set(error_r, MAIL_ERROR_CORRUPT,
				      "The message file does not match the index");
	/* (raw_pos, pos, prev) is the first byte not yet read */
	file->resume_valid = true;
	file->resume_sec_offset = sec->raw_offset;
	file->resume_sec_size = sec->raw_size;
	file->resume_raw_pos = raw_pos;
	file->resume_pos = pos;
	file->resume_prev = prev;
	buf_commit(dest, (size_t)len);
	return 0;
}

void mail_file_close(struct mail_file **filep)
{
	struct mail_file *file = *filep;

	if (file == NULL)
		return;
	*filep = NULL;
	if (file->fd >= 0)
		close(file->fd);
	arena_free(&file->arena);
	free(file);
}
