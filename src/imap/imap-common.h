#ifndef TERN_IMAP_COMMON_H
#define TERN_IMAP_COMMON_H

/*
 * Inside the IMAP server (src/imap, server side): the server, its
 * sessions and commands, shared by imap-server.c, imap-session.c,
 * imap-commands.c and the cmd-*.c files (one per command family).
 *
 * How a command runs: the session reads it (lines and literals, through
 * imap-parser.h) on the loop; the command's prepare() checks its
 * arguments on the loop; its run() does the work in a store job thread
 * (never on the loop: the store may block) and writes untagged responses
 * into cmd->out; back on the loop the output is sent and, once run() has
 * said it is done, the tagged response. A command whose output is large
 * (FETCH 1:*) returns IMAP_RUN_MORE from run(): the loop sends what there
 * is, waits until the client has read most of it, and runs it again, so a
 * client that never reads cannot make the server buffer without limit.
 * One command runs at a time per session; input is paused meanwhile.
 */
#include "service.h"
#include "buf.h"
#include "imap-parser.h"
#include "imap-server.h"
#include "mailbox.h"
#include "wakeup.h"

#include <time.h>

struct net_conn;
struct job_client;
struct arena;
struct accounts_pool;
struct event;
struct imap_append_file;
struct imap_seqset;
struct imap_command;
typedef struct ssl_ctx_st SSL_CTX;

/* run() hands the loop this much output before it must return MORE */
#define IMAP_OUTPUT_CHUNK (256 * 1024)
/* a command's output is resumed once the client has read down to this */
#define IMAP_OUTPUT_LOW (64 * 1024)
/* reading stops while more than this waits for the client */
#define IMAP_OUTPUT_MAX (1024 * 1024)

struct imap_server {
	const struct tern_settings *set;
	struct net_loop *loop;
	struct service *service;
	struct job_client *store_jobs;    /* mailbox work of every session */
	struct accounts_pool *acc_pool;
	struct mail_store *store;
	SSL_CTX *tls;
	struct net_wakeup *wakeup;        /* store notifications -> sessions */
	const char *tmp_dir;              /* APPEND literals wait here (data_dir/tmp) */
};

enum imap_state {
	IMAP_STATE_NOAUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

/* ENABLE (RFC 5161) */
enum imap_enabled {
	IMAP_ENABLED_UTF8 = 1 << 0,       /* UTF8=ACCEPT (RFC 6855) */
	IMAP_ENABLED_REV2 = 1 << 1,       /* IMAP4rev2 (RFC 9051) */
};

struct imap_session {
	struct service_session base;      /* first: id, ip, limits (service.h) */
	struct imap_server *server;
	struct net_conn *conn;
	enum imap_state state;
	bool tls;
	unsigned int enabled;             /* enum imap_enabled */

	char *user;                       /* the logged-in account, lowercased */
	struct mail_user *mail_user;      /* its mail (store), after login */
	struct mailbox_view *box;         /* the selected mailbox */
	bool box_readonly;                /* EXAMINE */
	bool box_gone;                    /* deleted under us: BYE sent, closing */
	/* SEARCHRES (RFC 5182): the UIDs SEARCH RETURN (SAVE) kept, for "$" */
	uint32_t *saved_uids;
	unsigned int saved_count;
	/* store notifications while IDLE */
	struct mail_watch *watch;
	struct net_wakeup_target wake;
	struct event *idle_timer;
	time_t idle_last_keepalive;

	/* reading a command */
	struct arena *cmd_arena;          /* the command being read and run */
	struct imap_parser *parser;
	const struct imap_command_def *reading_def;
	bool in_literal;                  /* raw mode: literal bytes */
	uint64_t literal_left;
	buf_t literal;                    /* an in-memory literal as it arrives */
	void *append_stream;              /* APPEND: the message literal's writer */
	struct imap_append_file *append_files; /* APPEND: the literals of this command */
	bool literal_discard;             /* read and drop (a refused literal) */
	bool discard_line;                /* the rest of a refused command follows */

	struct imap_command *cmd;         /* the command running */
	bool job_running;
	bool auth_running;
	bool output_paused;
	bool disconnect;                  /* close once the output is sent */
	bool in_input;                    /* inside a connection callback */
	bool idling;                      /* IDLE: waiting for DONE */
	bool idle_wakeup;                 /* a change arrived while idling */
	bool cmd_wants_input;             /* IDLE, AUTHENTICATE: lines flow while it runs */
	bool cmd_waits_drain;             /* a command's output waits for the client */
	const char *disconnect_reason;
	unsigned int bad_commands;        /* BAD responses in a row */
	unsigned int commands;
	struct sasl_server *sasl;         /* AUTHENTICATE in progress */
	const char *sasl_tag;
};

enum imap_command_flags {
	IMAP_CMD_NOAUTH   = 1 << 0,   /* allowed before login */
	IMAP_CMD_AUTH     = 1 << 1,   /* allowed once logged in */
	IMAP_CMD_SELECTED = 1 << 2,   /* needs a selected mailbox */
	IMAP_CMD_FETCH    = 1 << 3,   /* the parser reads section atoms */
	/* RFC 9051 7.5.1 / RFC 3501 7.4.1: no untagged EXPUNGE may follow
	   FETCH, STORE and SEARCH (it would change the sequence numbers the
	   client is working with) */
	IMAP_CMD_NO_EXPUNGE = 1 << 4,
	/* run() does store work: a job; without it prepare() does everything */
	IMAP_CMD_JOB      = 1 << 5,
	/* after the command, report mailbox changes (EXISTS, EXPUNGE, FLAGS) */
	IMAP_CMD_SYNC     = 1 << 6,
};

enum imap_run_result {
	IMAP_RUN_DONE,
	IMAP_RUN_MORE,                /* output waits: run again once it drained */
};

struct imap_command_def {
	const char *name;             /* "FETCH", "UID FETCH" */
	unsigned int flags;           /* enum imap_command_flags */
	/* On the loop: check the arguments; set the result for a BAD/NO (or
	   for a command that needs no job). false: the command is over. */
	bool (*prepare)(struct imap_command *cmd);
	/* In a store job thread (IMAP_CMD_JOB). */
	enum imap_run_result (*run)(struct imap_command *cmd);
	/* On the loop after the last run(), before the tagged response
	   (state changes that belong to the loop). May be NULL. */
	void (*finish)(struct imap_command *cmd);
};

enum imap_result {
	IMAP_RESULT_OK,
	IMAP_RESULT_NO,
	IMAP_RESULT_BAD,
};

struct imap_command {
	struct imap_session *session;
	struct arena *arena;
	const struct imap_command_def *def;
	const char *tag;
	const char *name;
	const struct imap_arg *args;
	unsigned int arg_count;
	bool uid;                     /* the UID form */

	buf_t out;                    /* untagged responses (written by run()) */
	enum imap_result result;
	const char *result_text;      /* "[CODE] text" after the result */
	bool result_set;
	void *ctx;                    /* the command's own state */
	/* frees what ctx holds outside the arena (an open file, a store
	   iterator); runs on the loop at the end, or when the session goes */
	void (*cleanup)(struct imap_command *cmd);
	unsigned int runs;            /* run() calls so far */
	struct arena *job_arena;      /* run()'s scratch, cleared between runs */
	bool more;                    /* run() returned IMAP_RUN_MORE */
	bool async;                   /* prepare() started something that ends
					 the command later (login checks) */
	bool bye_after;               /* close after the tagged response (LOGOUT) */
};

/* For commands that end later (cmd->async): run def->run in a store job
   now (then the tagged response), or end at once with the result set. */
void imap_command_submit(struct imap_command *cmd);
void imap_command_end(struct imap_command *cmd);

/* imap-commands.c */
const struct imap_command_def *imap_command_find(const char *name);

/* imap-session.c */
void imap_session_create(struct imap_server *server, enum tern_listen_kind kind, int fd,
			 const struct sockaddr *peer, socklen_t peer_len);
void imap_session_kick(struct service_session *base, enum service_kick_reason reason);
void imap_session_free(struct service_session *base);
/* Say "* BYE text" and close once it is sent. */
void imap_session_bye(struct imap_session *session, const char *text, const char *reason);
/* Is plaintext authentication allowed here (TLS, or loopback when
   auth.plaintext_on_loopback)? */
bool imap_session_secure(const struct imap_session *session);
/* The CAPABILITY list for the session's state (no "CAPABILITY" word). */
const char *imap_session_capabilities(const struct imap_session *session, struct arena *arena);
/* Write raw protocol text now (loop only). */
void imap_session_write(struct imap_session *session, const char *text);
/* Quote flags for strings sent to this client (UTF8=ACCEPT / rev2). */
unsigned int imap_session_quote_flags(const struct imap_session *session);
void imap_session_update_input(struct imap_session *session);
/* Close if a BYE asked for it and nothing runs. false: the session is
   gone (loop only, outside input callbacks). */
bool imap_session_check_disconnect(struct imap_session *session);
/* The store's watch callback (any thread): wake the session's loop. */
void imap_session_watch_cb(void *ctx);

/* The command's result; text is printf-style ("[TRYCREATE] No such
   mailbox"). The last call counts. */
void imap_cmd_ok(struct imap_command *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
void imap_cmd_no(struct imap_command *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
void imap_cmd_bad(struct imap_command *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);
/* Untagged output: "* " + printf + CRLF into cmd->out. */
void imap_cmd_untagged(struct imap_command *cmd, const char *fmt, ...) ATTR_FORMAT(2, 3);

/* imap-mail.c: the store side of a session */
/* In a job: open the logged-in user's mail (session->user). */
int imap_mail_open(struct imap_session *session, const char **error_r);
/* Loop: let go of the view, the watch and the user (logout, free). */
void imap_session_release_mail(struct imap_session *session);
/* In a job, at the end of a command: report what changed in the selected
   mailbox (EXPUNGE unless allow_expunge is false, EXISTS, RECENT, FLAGS,
   FETCH FLAGS). */
void imap_sync_run(struct imap_command *cmd, bool allow_expunge);
/* A mailbox name argument in tern's form (UTF-8, INBOX normalized), or
   NULL with the command's BAD/NO set. */
const char *imap_cmd_mailbox_arg(struct imap_command *cmd, const struct imap_arg *arg);
/* Does the client use UTF-8 mailbox names (UTF8=ACCEPT, IMAP4rev2)? */
bool imap_session_utf8_names(const struct imap_session *session);
/* Write a store error as the command's NO (with its response code). */
void imap_cmd_mail_error(struct imap_command *cmd, const struct mail_error *error);
/* The UID ranges of a sequence set (or UID set) in the selected view,
   "$" included; false with the command's BAD set. In the job thread. */
bool imap_seqset_to_uids(struct imap_command *cmd, const struct imap_seqset *set, bool uid,
			 struct mail_uid_range **ranges_r, unsigned int *count_r);
/* Send FLAGS and PERMANENTFLAGS for the selected mailbox into cmd->out. */
void imap_write_flags_info(struct imap_command *cmd, const struct mailbox_info *info);

/* imap-idle.c */
void imap_idle_line(struct imap_session *session, const char *line, size_t len);
/* The wake-up's callback (loop): report changes if the session idles. */
void imap_session_wake(void *ctx);
void imap_session_idle_stop(struct imap_session *session);

/* cmd-append.c: APPEND's message literals stream to a file */
int imap_append_stream_begin(struct imap_session *session, uint64_t size, bool binary,
			     const char **error_r);
int imap_append_stream_write(struct imap_session *session, const void *data, size_t size,
			     const char **error_r);
/* The literal is complete: the argument value (an imap_append_file). */
void *imap_append_stream_finish(struct imap_session *session);
void imap_append_stream_abort(struct imap_session *session);
/* Close the literal files of the command being read or run. */
void imap_append_files_free(struct imap_session *session);

/* cmd-login.c */
void imap_authenticate_abort(struct imap_session *session);

/* cmd-*.c: one table entry each (imap-commands.c lists them) */
bool cmd_capability(struct imap_command *cmd);
bool cmd_noop(struct imap_command *cmd);
bool cmd_logout(struct imap_command *cmd);
bool cmd_id(struct imap_command *cmd);
bool cmd_enable(struct imap_command *cmd);
bool cmd_starttls(struct imap_command *cmd);
bool cmd_login(struct imap_command *cmd);
bool cmd_authenticate(struct imap_command *cmd);
enum imap_run_result cmd_login_run(struct imap_command *cmd);
void cmd_login_finish(struct imap_command *cmd);
bool cmd_namespace(struct imap_command *cmd);
enum imap_run_result cmd_noop_run(struct imap_command *cmd);
bool cmd_select(struct imap_command *cmd);
enum imap_run_result cmd_select_run(struct imap_command *cmd);
void cmd_select_finish(struct imap_command *cmd);
bool cmd_unselect(struct imap_command *cmd);
enum imap_run_result cmd_unselect_run(struct imap_command *cmd);
void cmd_unselect_finish(struct imap_command *cmd);
bool cmd_create(struct imap_command *cmd);
enum imap_run_result cmd_create_run(struct imap_command *cmd);
bool cmd_delete(struct imap_command *cmd);
enum imap_run_result cmd_delete_run(struct imap_command *cmd);
void cmd_delete_finish(struct imap_command *cmd);
bool cmd_rename(struct imap_command *cmd);
enum imap_run_result cmd_rename_run(struct imap_command *cmd);
bool cmd_subscribe(struct imap_command *cmd);
enum imap_run_result cmd_subscribe_run(struct imap_command *cmd);
bool cmd_list(struct imap_command *cmd);
enum imap_run_result cmd_list_run(struct imap_command *cmd);
bool cmd_status(struct imap_command *cmd);
enum imap_run_result cmd_status_run(struct imap_command *cmd);
bool cmd_append(struct imap_command *cmd);
enum imap_run_result cmd_append_run(struct imap_command *cmd);
bool cmd_expunge(struct imap_command *cmd);
enum imap_run_result cmd_expunge_run(struct imap_command *cmd);
bool cmd_search(struct imap_command *cmd);
enum imap_run_result cmd_search_run(struct imap_command *cmd);
bool cmd_fetch(struct imap_command *cmd);
enum imap_run_result cmd_fetch_run(struct imap_command *cmd);
bool cmd_store(struct imap_command *cmd);
enum imap_run_result cmd_store_run(struct imap_command *cmd);
bool cmd_copy(struct imap_command *cmd);
enum imap_run_result cmd_copy_run(struct imap_command *cmd);
bool cmd_idle(struct imap_command *cmd);
/* AUTHENTICATE continuation lines (imap-session.c hands them over) */
void imap_authenticate_continue(struct imap_session *session, const char *line, size_t len);

#endif
