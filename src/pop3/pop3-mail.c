/*
 * The POP3 server's only door to mail: every mailbox store call of a
 * session (src/store/mailbox.h), each run in a store job, never on the
 * loop. POP3 keeps no index of its own: the maildrop is a read-write view
 * of the user's INBOX that claims no \Recent, listed once at login (RFC
 * 1939 8: numbers and sizes stay fixed for the session).
 *
 *   login:   the store's per-user POP3 lock ([IN-USE]: one POP3 session
 *            per user; IMAP sessions of the user are not affected), the
 *            INBOX view, its sizes and GUIDs (the UIDL);
 *   RETR:    the message read a chunk at a time in its CRLF form, stuffed;
 *            the read-ahead opens its batch with one index read
 *            (mail_open_many);
 *   QUIT:    the UPDATE state (RFC 1939 6): \Seen on what was retrieved
 *            and kept, the deleted messages expunged in one store call, so
 *            IMAP sessions see both at once;
 *   a session that ends without QUIT (dropped, timed out, kicked) gets
 *            its \Seen flags and nothing else: nothing is deleted.
 */
#include "pop3-private.h"
#include "accounts.h"
#include "arena.h"
#include "job-pool.h"
#include "log.h"
#include "mailbox.h"

#include <stdio.h>

struct pop3_retr_mail {
	struct mail_file *file;
	struct mail_section section;
	uint64_t offset;            /* CRLF-form bytes read so far */
	buf_t raw;                  /* one chunk before stuffing */
};

struct login_job {
	struct pop3_session *session;
	struct pop3_server *server;
	char *address;              /* normalized */
	struct mail_user *user;
	struct mailbox_view *view;
	struct pop3_msg *msgs;
	uint32_t count;
	uint64_t total_size;
	bool in_use;
	bool failed;
	struct mail_error error;
};

/* What the end of a session does to the store, with everything it needs:
   the session itself may be gone by the time it runs. */
struct end_job {
	struct pop3_server *server;
	struct pop3_session *session;   /* UPDATE: answered when done; NULL when abandoned */
	struct mail_user *user;
	struct mailbox_view *view;
	struct mail_file *file;         /* a RETR's file left open */
	struct mail_uid_range *seen, *expunge;
	unsigned int seen_count, expunge_count;
	unsigned int expunged;
	bool failed;
	struct mail_error error;
};

static void login_run(void *ctx);
static void login_done(void *ctx);
static void login_release(struct login_job *job);
static int guid_parse(const char *text, unsigned char guid[POP3_GUID_BYTES]);
static void end_run(void *ctx);
static void update_done(void *ctx);
static void abandon_done(void *ctx);
static struct end_job *end_job_new(struct pop3_session *session, bool update);
static void end_job_free(struct end_job *job);

/* ---- login ---- */

void pop3_mail_login(struct pop3_session *session, const char *user)
{
	struct login_job *job = i_malloc(sizeof(*job));
	struct arena *arena = arena_new(256);
	const char *norm = accounts_normalize(arena, user);

	job->session = session;
	job->server = session->server;
	job->address = i_strdup(norm != NULL ? norm : user);
	i_str_lower(job->address);
	arena_free(&arena);
	if (session->server->store == NULL) {
		job->failed = true;
		job->error.code = MAIL_ERROR_TEMP;
		snprintf(job->error.text, sizeof(job->error.text), "no mailbox store");
		pop3_session_job(session, NULL, login_done, job);
		return;
	}
	pop3_session_job(session, login_run, login_done, job);
}

static int guid_parse(const char *text, unsigned char guid[POP3_GUID_BYTES])
{
	unsigned int i;

	if (strlen(text) != POP3_GUID_BYTES * 2)
		return -1;
	for (i = 0; i < POP3_GUID_BYTES; i++) {
		int hi = i_hex_value((unsigned char)text[i * 2]);
		int lo = i_hex_value((unsigned char)text[i * 2 + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		guid[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* In a store job thread. */
static void login_run(void *ctx)
{
	struct login_job *job = ctx;
	struct mail_fetch_iter *iter;
	const struct mail_record *rec;
	uint32_t count, n = 0;

	if (mail_user_open(job->server->store, job->address, &job->user, &job->error) < 0) {
		job->failed = true;
		return;
	}
	/* RFC 1939 8 / RFC 2449 8.1.2: one POP3 session per maildrop */
	if (!mail_user_pop3_lock(job->user)) {
		job->in_use = true;
		mail_user_unref(&job->user);
		return;
	}
	/* read-write (UPDATE expunges), but \Recent stays for IMAP */
	if (mailbox_open(job->user, MAIL_INBOX, MAILBOX_OPEN_NO_RECENT, &job->view,
			 &job->error) < 0) {
		job->failed = true;
		login_release(job);
		return;
	}
	count = I_MIN(mailbox_count(job->view), POP3_MAX_MESSAGES);
	job->msgs = i_malloc(i_size_mul(sizeof(*job->msgs), count > 0 ? count : 1));
	iter = mailbox_fetch_begin(job->view, NULL, 0, MAIL_FETCH_SIZE | MAIL_FETCH_GUID, 0);
	while (n < count && mailbox_fetch_next(iter, &rec)) {
		struct pop3_msg *m = &job->msgs[n];

		if (rec->expunged)
			continue;
		if (guid_parse(rec->guid, m->guid) < 0) {
			job->failed = true;
			job->error.code = MAIL_ERROR_CORRUPT;
			snprintf(job->error.text, sizeof(job->error.text),
				 "message uid %u has no valid GUID", rec->uid);
			break;
		}
		m->uid = rec->uid;
		m->size = rec->size;
		job->total_size += rec->size;
		n++;
	}
	{
		struct mail_error error;

		if (mailbox_fetch_end(&iter, &error) < 0 && !job->failed) {
			job->failed = true;
			job->error = error;
		}
	}
	if (job->failed) {
		login_release(job);
		return;
	}
	job->count = n;
}

/* Give back what a failed or unused login took (store job thread). */
static void login_release(struct login_job *job)
{
	mailbox_close(&job->view);
	if (job->user != NULL) {
		mail_user_pop3_unlock(job->user);
		mail_user_unref(&job->user);
	}
	i_free(job->msgs);
}

static void login_release_run(void *ctx)
{
	login_release(ctx);
}

static void login_job_free(void *ctx)
{
	struct login_job *job = ctx;

	i_free(job->msgs);
	i_free(job->address);
	i_free(job);
}

static void login_done(void *ctx)
{
	struct login_job *job = ctx;
	struct pop3_session *session = job->session;

	if (!pop3_session_job_end(session)) {
		/* the client went away meanwhile: give the maildrop back */
		if (job->view != NULL)
			job_submit(job->server->store_jobs, login_release_run, login_job_free, job);
		else
			login_job_free(job);
		return;
	}
	if (job->in_use) {
		log_info("pop3", "login session=%s user=%s result=in-use", session->base.id,
			 log_str(job->address));
		/* RFC 2449 8.1.2 */
		pop3_err_nocount(session, "[IN-USE] Mailbox is locked by another POP3 session");
	} else if (job->failed) {
		log_error("pop3", "login session=%s user=%s error=%s", session->base.id,
			  log_str(job->address), log_str(job->error.text));
		/* RFC 3206 4 */
		pop3_err_nocount(session, "[SYS/TEMP] Cannot open the mailbox, try again later");
	} else {
		session->state = POP3_STATE_TRANSACTION;
		session->auth_user = job->address;
		job->address = NULL;
		session->mail_user = job->user;
		session->view = job->view;
		session->msgs = job->msgs;
		job->msgs = NULL;
		session->count = job->count;
		session->total_size = job->total_size;
		/* logged in: the normal idle timeout, kept under stress, and
		   no total time limit (pop3-session.c says why) */
		session->base.max_lifetime = 0;
		service_session_set_engaged(&session->base, true);
		log_info("pop3", "login session=%s user=%s messages=%u size=%llu",
			 session->base.id, log_str(session->auth_user), session->count,
			 (unsigned long long)session->total_size);
		/* RFC 1939 7 */
		pop3_ok(session, "Logged in, %u messages (%llu octets)", session->count,
			(unsigned long long)session->total_size);
	}
	login_job_free(job);
	if (pop3_session_check_disconnect(session))
		pop3_session_idle_check(session);
}

/* ---- RETR / TOP ---- */

static void retr_open_failed(struct pop3_retr *retr, const struct mail_error *error)
{
	retr->failed = true;
	retr->error = i_strdup(error->text);
	switch (error->code) {
	case MAIL_ERROR_EXPUNGED:
	case MAIL_ERROR_NOTFOUND:
		retr->client_error = "Message was removed by another session";
		break;
	case MAIL_ERROR_CORRUPT:
		retr->client_error = "Message cannot be read";
		break;
	default:
		retr->client_error = "[SYS/TEMP] Cannot read the message, try again later";
		break;
	}
}

/* The message is open: its whole CRLF form is the section to send. */
static void retr_opened(struct pop3_retr *retr, struct mail_file *file)
{
	struct pop3_retr_mail *rm = i_malloc(sizeof(*rm));
	struct mail_error error;

	rm->file = file;
	if (mail_file_section(file, "", MAIL_SECTION_ALL, &rm->section, &error) < 0) {
		mail_file_close(&rm->file);
		i_free(rm);
		retr_open_failed(retr, &error);
		return;
	}
	buf_init(&rm->raw, POP3_RETR_CHUNK);
	retr->mail = rm;
}

/* The next chunk: read, stuffed into retr->out; the file is closed at
   the end or on an error. */
static void retr_read(struct pop3_retr *retr)
{
	struct pop3_retr_mail *rm = retr->mail;
	struct mail_error error;

	buf_reset(&rm->raw);
	if (mail_file_read(rm->file, &rm->section, rm->offset, POP3_RETR_CHUNK, &rm->raw,
			   &error) < 0) {
		retr->failed = true;
		retr->error = i_strdup(error.text);
		retr->client_error = "[SYS/TEMP] Cannot read the message, try again later";
	} else {
		rm->offset += rm->raw.used;
		/* out holds twice a chunk: stuffing cannot overflow it */
		if (pop3_stuff_feed(&retr->stuff, rm->raw.data, rm->raw.used, &retr->out) < 0)
			i_panic("pop3: RETR output buffer");
		if (retr->stuff.done || rm->offset >= rm->section.size || rm->raw.used == 0) {
			if (pop3_stuff_finish(&retr->stuff, &retr->out) < 0)
				i_panic("pop3: RETR output buffer");
			retr->finished = true;
		}
	}
	if (retr->failed || retr->finished) {
		mail_file_close(&rm->file);
		buf_free(&rm->raw);
		i_free(retr->mail);
	}
}

/* In a store job thread. */
void pop3_mail_retr_run(struct pop3_session *session, struct pop3_retr *retr)
{
	if (retr->mail == NULL) {
		struct mail_file *file;
		struct mail_error error;

		if (mail_open(session->view, session->msgs[retr->index].uid, &file, &error) < 0) {
			retr_open_failed(retr, &error);
			return;
		}
		retr_opened(retr, file);
		if (retr->failed)
			return;
	}
	retr_read(retr);
}

/* In a store job thread: the read-ahead, every message opened at once. */
void pop3_mail_retr_many(struct pop3_session *session, struct pop3_retr *const *retrs,
			 unsigned int count)
{
	uint32_t uids[POP3_PREFETCH_COUNT] = { 0 };
	struct mail_file *files[POP3_PREFETCH_COUNT];
	struct mail_error errors[POP3_PREFETCH_COUNT];
	unsigned int i;

	i_assert(count <= POP3_PREFETCH_COUNT);
	for (i = 0; i < count; i++)
		uids[i] = session->msgs[retrs[i]->index].uid;
	(void)mail_open_many(session->view, uids, count, files, errors);
	for (i = 0; i < count; i++) {
		if (files[i] == NULL) {
			retr_open_failed(retrs[i], &errors[i]);
			continue;
		}
		retr_opened(retrs[i], files[i]);
		if (!retrs[i]->failed)
			retr_read(retrs[i]);
	}
}

/* ---- the end of a session ---- */

/* Ranges of the messages with (or without) a flag: runs of consecutive
   message numbers. The view holds no message between two of them that is
   not in the listing (UIDs only grow and the view is never synced), so a
   run is one UID range. */
static unsigned int ranges_of(const struct pop3_session *session, uint8_t want, uint8_t skip,
			      struct mail_uid_range **ranges_r)
{
	struct mail_uid_range *ranges = NULL;
	unsigned int n = 0, alloc = 0;
	uint32_t i;
	bool open = false;

	for (i = 0; i < session->count; i++) {
		const struct pop3_msg *m = &session->msgs[i];
		bool in = (m->flags & want) != 0 && (m->flags & skip) == 0;

		if (!in) {
			open = false;
			continue;
		}
		if (open) {
			ranges[n - 1].last = m->uid;
			continue;
		}
		if (n == alloc) {
			alloc = alloc == 0 ? 16 : alloc * 2;
			ranges = i_realloc(ranges, sizeof(*ranges) * alloc);
		}
		ranges[n].first = ranges[n].last = m->uid;
		n++;
		open = true;
	}
	*ranges_r = ranges;
	return n;
}

static struct end_job *end_job_new(struct pop3_session *session, bool update)
{
	struct end_job *job = i_malloc(sizeof(*job));

	job->server = session->server;
	job->session = update ? session : NULL;
	job->user = session->mail_user;
	job->view = session->view;
	session->mail_user = NULL;
	session->view = NULL;
	if (session->retr != NULL && session->retr->mail != NULL) {
		job->file = session->retr->mail->file;
		buf_free(&session->retr->mail->raw);
		i_free(session->retr->mail);
	}
	/* \Seen for what was retrieved (and is not being expunged) */
	job->seen_count = ranges_of(session, POP3_MSG_RETRIEVED,
				    update ? POP3_MSG_DELETED : 0, &job->seen);
	if (update)
		job->expunge_count = ranges_of(session, POP3_MSG_DELETED, 0, &job->expunge);
	return job;
}

static void end_job_free(struct end_job *job)
{
	i_free(job->seen);
	i_free(job->expunge);
	i_free(job);
}

/* In a store job thread: flags, expunges, then everything closed and the
   lock given back. */
static void end_run(void *ctx)
{
	struct end_job *job = ctx;
	struct arena *arena = arena_new(0);
	struct mail_flags_change seen = { .op = MAIL_FLAGS_ADD, .flags = MAIL_SEEN };
	struct mail_flags_result *res;
	struct mailbox_expunge *ex;
	uint32_t *mod;
	unsigned int nres, nmod;

	mail_file_close(&job->file);
	if (job->seen_count > 0 &&
	    mailbox_store(job->view, job->seen, job->seen_count, &seen, arena, &res, &nres,
			  &mod, &nmod, &job->error) < 0) {
		/* flags are a courtesy: the deletions still go ahead */
		log_error("pop3", "seen flags user=%s error=%s",
			  log_str(mail_user_address(job->user)), log_str(job->error.text));
	}
	arena_clear(arena);
	/* RFC 1939 6: the UPDATE state removes the deleted messages */
	if (job->expunge_count > 0) {
		if (mailbox_expunge_uids(job->view, job->expunge, job->expunge_count, arena, &ex,
					 &job->expunged, &job->error) < 0)
			job->failed = true;
	}
	arena_free(&arena);
	mailbox_close(&job->view);
	mail_user_pop3_unlock(job->user);
	mail_user_unref(&job->user);
}

/* QUIT in TRANSACTION. */
void pop3_mail_update(struct pop3_session *session)
{
	struct end_job *job = end_job_new(session, true);

	pop3_session_job(session, end_run, update_done, job);
}

static void update_done(void *ctx)
{
	struct end_job *job = ctx;
	struct pop3_session *session = job->session;

	session->expunged = job->expunged;
	if (!pop3_session_job_end(session)) {
		end_job_free(job);
		return;
	}
	if (job->failed) {
		log_error("pop3", "update session=%s user=%s error=%s", session->base.id,
			  log_str(session->auth_user), log_str(job->error.text));
		/* RFC 1939 6 */
		pop3_err_nocount(session, "[SYS/TEMP] Some deleted messages not removed");
	} else {
		uint32_t left = session->count - session->deleted_count;

		if (left == 0)
			pop3_ok(session, "tern POP3 server signing off (maildrop empty)");
		else
			pop3_ok(session, "tern POP3 server signing off (%u messages left)", left);
	}
	end_job_free(job);
	session->disconnect = true;
	session->disconnect_reason = "quit";
	pop3_session_check_disconnect(session);
}

/* The session is being freed without QUIT. */
void pop3_mail_abandon(struct pop3_session *session)
{
	struct end_job *job;

	if (session->view == NULL)
		return;
	job = end_job_new(session, false);
	job_submit(session->server->store_jobs, end_run, abandon_done, job);
}

static void abandon_done(void *ctx)
{
	end_job_free(ctx);
}
