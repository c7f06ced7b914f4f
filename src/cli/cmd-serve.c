/*
 * tern serve [-c FILE] [--dev] [--check]: run the mail server in the
 * foreground until SIGTERM/SIGINT.
 *
 * Order matters (docs/architecture.md lists it): read the config and
 * check everything it names (serve-check.c: nothing has happened yet if
 * anything is wrong), prepare data_dir, make the event loop, bind the
 * listeners (as root, for ports below 1024), read a configured TLS pair
 * (as root: the key need not be the server user's to read), drop to the
 * configured user, take the lock on data_dir/tern.pid (one server per
 * data_dir), then open what lives in data_dir (so its files belong to
 * that user): the self-signed pair, the queue, accounts, the delivery
 * threads; then serve.
 *
 * Stopping (SIGTERM/SIGINT): stop accepting, let sessions in a transaction
 * finish for a few seconds (idle ones get 421 at once), close the rest,
 * wait for the jobs in flight (a commit that started completes), stop the
 * delivery threads.
 */
#include "lib.h"
#include "cli.h"
#include "log.h"
#include "settings.h"
#include "net-loop.h"
#include "privileges.h"
#include "accounts.h"
#include "accounts-pool.h"
#include "arena.h"
#include "base64.h"
#include "buf.h"
#include "deliver.h"
#include "mailbox.h"
#include "dmarc-send.h"
#include "fs.h"
#include "job-pool.h"
#include "maildrop.h"
#include "msgauth-context.h"
#include "outbound.h"
#include "queue.h"
#include "service.h"
#include "smtp-server.h"
#include "imap-server.h"
#include "mailbox.h"
#include "pop3-server.h"
#include "tls.h"
#include "serve-check.h"
#include "cli-common.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define EX_USAGE 64
/* Blocking work in three pools, so that one kind cannot starve another
   (a flood of password checks must not delay the fsync of accepted mail):
   queue commits wait on fsync (group commit batches the concurrent ones,
   so more threads make bigger batches); accounts lookups are short
   SQLite reads; password checks burn CPU (one thread per core is all
   they can use). */
#define SERVE_COMMIT_THREADS 32
#define SERVE_LOOKUP_THREADS 8
/* mailbox work of IMAP (and POP3) sessions: index reads and writes,
   message files, fsync of appended mail */
#define SERVE_STORE_THREADS 8
#define SERVE_AUTH_THREADS_MIN 2
#define SERVE_DELIVERY_THREADS 2
#define SERVE_STOP_GRACE_SECS 10
/* how often to look whether a day is over for DMARC aggregate reports */
#define SERVE_REPORT_CHECK_SECS 3600
#define DEV_DEMO_USER "demo@example.test"

struct serve {
	struct tern_settings *set;
	struct net_loop *loop;
	struct job_pool *commit_pool, *lookup_pool, *auth_pool;
	struct accounts_pool *acc_pool;
	struct service *service;
	struct smtp_server *smtp;
	struct imap_server *imap;
	struct job_pool *store_pool;
	char *tmp_dir;
	struct pop3_server *pop3;
	struct queue *queue;
	struct deliverer *deliverer;
	struct mail_store *mail_store;   /* the mailboxes (src/store/mailbox.h) */
	struct outbound *outbound;
	struct maildrop_pickup *pickup;
	struct msgauth_context *msgauth;
	struct job_client *jobs;           /* the server's own blocking work */
	struct event *report_timer;
	bool report_running;
	char **report_ids;
	unsigned int report_count;
	struct event *flush_event;
	char *pid_path;
	int pid_fd;
	SSL_CTX *tls;
	struct event *stop_timer;
	time_t stop_deadline;
};

static void serve_usage(FILE *out);
static int mkdir_parents(const char *path, const char **error_r);
static int prepare_data_dir(const struct tern_settings *set, bool as_root, const char **error_r);
static void serve_stop(void *ctx, int signo);
static void serve_reload(void *ctx);
static void serve_stop_check(evutil_socket_t fd, short what, void *arg);
static void serve_committed(void *ctx, const char *queue_id);
static void report_tick(evutil_socket_t fd, short what, void *arg);
static int serve_open_stores(struct serve *serve, const char **error_r);
static void serve_dev_demo(struct serve *serve);
static void serve_cleanup(struct serve *serve);

/* user = "root" (or another name of uid 0): root kept on purpose. */
static bool user_is_root(const char *user)
{
	const char *error;
	uid_t uid;
	gid_t gid;

	return privileges_lookup(user, &uid, &gid, &error) == 0 && uid == 0;
}

static void serve_usage(FILE *out)
{
	fprintf(out, "usage: tern serve [-c FILE | --dev] [--check]\n"
		"  -c FILE   the config file (default: $" TERN_CONFIG_ENV ", else " TERN_DEFAULT_CONFIG ")\n"
		"  --dev     development defaults: data in ./var, listeners on 127.0.0.1:2525 and up;\n"
		"            as root, runs as root (a config file given with -c goes over them)\n"
		"  --check   check everything tern serve would use (config, user, data_dir,\n"
		"            certificate and key, listeners), change nothing, and exit:\n"
		"            0 usable (warnings may be printed), 1 not (every problem printed)\n"
		"SIGTERM/SIGINT stop it gracefully; SIGHUP re-checks the config and reloads the\n"
		"TLS certificate and key; SIGUSR1 retries the queue now.\n");
}

/* The settings, and everything they name checked (serve-check.h), before
   anything is created; every problem printed at once. 0 with *set_r (NULL
   with check_only, after printing the verdict), or -1 when tern serve must
   not start. */
static int serve_settings(const char *config_path, bool dev, bool check_only,
			  struct tern_settings **set_r)
{
	struct tern_settings *set;
	struct serve_check check;
	char *error = NULL;
	const char *name;
	unsigned int errors = 0;

	if (settings_load_partial(config_path, dev, &set, &error) < 0) {
		const char *p;

		cli_print_errors("tern serve: ", error);
		for (errors = 1, p = error; (p = strchr(p, '\n')) != NULL; p++)
			errors++;
		i_free(error);
		if (set == NULL)
			return -1;
	}
	name = set->config_path != NULL ? set->config_path : "--dev defaults";
	serve_check_init(&check);
	check.starting = !check_only;
	errors += serve_check_run(&check, set, geteuid() == 0);
	if (check.error_count > 0)
		cli_print_errors("tern serve: ", buf_str(&check.errors));
	if (check.warning_count > 0) {
		if (check_only || errors > 0) {
			cli_print_errors("tern serve: warning: ", buf_str(&check.warnings));
		} else {
			const char *p = buf_str(&check.warnings), *nl;

			do {
				nl = strchr(p, '\n');
				log_warning("serve", "check warning=%s",
					    log_value(p, nl == NULL ? strlen(p) : (size_t)(nl - p), 1000));
				p = nl + 1;
			} while (nl != NULL);
		}
	}
	if (errors > 0)
		fprintf(stderr, "tern serve: %s: %u problem%s, not started\n", name, errors,
			errors == 1 ? "" : "s");
	else if (check_only)
		printf("%s: ok%s\n", name, check.warning_count == 0 ? "" :
		       check.warning_count == 1 ? " (1 warning)" : " (with warnings)");
	serve_check_deinit(&check);
	if (errors > 0 || check_only)
		settings_free(&set);
	*set_r = set;
	return errors > 0 ? -1 : 0;
}

/* mkdir -p: parents get 0755, the directory itself 0700. */
static int mkdir_parents(const char *path, const char **error_r)
{
	static __thread char error[512];
	char *failed = NULL;

	if (fs_mkdir_parents(path, 0755, 0700, &failed) < 0) {
		snprintf(error, sizeof(error), "data_dir %s: mkdir %s: %s", path,
			 failed == NULL ? path : failed, strerror(errno));
		i_free(failed);
		*error_r = error;
		return -1;
	}
	return 0;
}

static int prepare_data_dir(const struct tern_settings *set, bool as_root, const char **error_r)
{
	static __thread char error[512];
	struct stat st;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int fd, ret;

	if (mkdir_parents(set->data_dir, error_r) < 0)
		return -1;
	/* data_dir is the administrator's path (a symlink they made is
	   followed); what lies inside belongs to the server's user and is
	   changed only through descriptors (maildrop_prepare) */
	fd = open(set->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(error, sizeof(error), "data_dir %s: %s", set->data_dir,
			 errno == ENOTDIR ? "not a directory" : strerror(errno));
		*error_r = error;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (as_root && set->user[0] != '\0') {
		/* the server runs as set->user from now on: the data is theirs */
		if (privileges_lookup(set->user, &uid, &gid, error_r) < 0) {
			close(fd);
			return -1;
		}
		if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0) {
			snprintf(error, sizeof(error), "data_dir %s: chown to %s: %s",
				 set->data_dir, set->user, strerror(errno));
			*error_r = error;
			close(fd);
			return -1;
		}
	}
	/* data_dir 0711 with its files private, and the maildrop through which
	   other users' sendmail reaches us */
	ret = maildrop_prepare(fd, set->data_dir, uid, gid, error_r);
	close(fd);
	return ret;
}

static void serve_stop(void *ctx, int signo)
{
	struct serve *serve = ctx;
	struct timeval tv = { 0, 100 * 1000 };

	log_info("serve", "stopping signal=%s", signo == SIGINT ? "INT" : "TERM");
	if (serve->service == NULL) {
		net_loop_stop(serve->loop);
		return;
	}
	service_shutdown(serve->service);
	serve->stop_deadline = time(NULL) + SERVE_STOP_GRACE_SECS;
	serve->stop_timer = event_new(net_loop_base(serve->loop), -1, EV_PERSIST,
				      serve_stop_check, serve);
	if (serve->stop_timer == NULL || event_add(serve->stop_timer, &tv) < 0)
		net_loop_stop(serve->loop);
}

/* Every 100 ms while stopping: done when no session is left, or when the
   grace time is over. */
static void serve_stop_check(evutil_socket_t fd, short what, void *arg)
{
	struct serve *serve = arg;

	if (service_session_count(serve->service) == 0 || time(NULL) >= serve->stop_deadline)
		net_loop_stop(serve->loop);
}

static void serve_committed(void *ctx, const char *queue_id)
{
	struct serve *serve = ctx;

	if (serve->deliverer != NULL)
		deliverer_notify(serve->deliverer, queue_id);
}

/* RFC 5321 4.5.1: say at start when postmaster@ would get 451 because
   the administrator's address leads nowhere (an account not made yet). */
static void serve_check_postmaster(const struct tern_settings *set, struct accounts *acc)
{
	struct arena *arena;
	struct accounts_target *targets;
	unsigned int n;
	const char *error;

	if (set->postmaster[0] == '\0' || set->dev)
		return;
	arena = arena_new(0);
	if (accounts_resolve(acc, arena, set->postmaster, &targets, &n, &error) == 0)
		log_warning("serve", "postmaster leads to no mailbox postmaster=%s: mail to "
			    "postmaster@ and root gets 451 until it exists (tern user add, or "
			    "tern alias add)", log_str(set->postmaster));
	arena_free(&arena);
}

/* data_dir's layout (DESIGN.md "On disk"): mail/, queue/, tls/ (only for
   the self-signed pair), accounts.db, maildrop/ and corrupt/ (maildrop.h). */
static int serve_open_stores(struct serve *serve, const char **error_r)
{
	static __thread char error[512];
	const struct tern_settings *set = serve->set;
	char *mail_dir = i_strdup_printf("%s/mail", set->data_dir);

	if (mkdir(mail_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(error, sizeof(error), "mkdir %s: %s", mail_dir, strerror(errno));
		i_free(mail_dir);
		*error_r = error;
		return -1;
	}
	i_free(mail_dir);
	/* data_dir/tmp: APPEND literals wait here as unnamed files */
	serve->tmp_dir = i_strdup_printf("%s/tmp", set->data_dir);
	if (mkdir(serve->tmp_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(error, sizeof(error), "mkdir %s: %s", serve->tmp_dir, strerror(errno));
		*error_r = error;
		return -1;
	}
	/* a configured pair was loaded before root was dropped; the
	   self-signed one lives in data_dir, the server's user's */
	if (serve->tls == NULL &&
	    (serve->tls = tls_server_ctx_new(set->tls_cert, set->tls_key, set->data_dir,
					     set->hostname, error_r)) == NULL)
		return -1;
	if (queue_open(set->data_dir, &serve->queue, error_r) < 0)
		return -1;
	/* SPF/DKIM/DMARC/ARC/SRS: the Public Suffix List, keys, the SRS secret */
	if (msgauth_context_new(set, &serve->msgauth, error_r) < 0)
		return -1;
	smtp_server_set_msgauth(serve->smtp, serve->msgauth);
	/* threads only now: privileges_drop() wants none before it */
	serve->commit_pool = job_pool_new(SERVE_COMMIT_THREADS);
	serve->lookup_pool = job_pool_new(SERVE_LOOKUP_THREADS);
	serve->auth_pool = job_pool_new(I_MAX(SERVE_AUTH_THREADS_MIN,
					      (unsigned int)sysconf(_SC_NPROCESSORS_ONLN)));
	serve->acc_pool = accounts_pool_new(set->data_dir, set->domains, set->domains_count);
	accounts_pool_set_system(serve->acc_pool, set->hostname, set->postmaster);
	{
		struct mail_store_settings ms = { .data_dir = set->data_dir };
		struct mail_error merr;

		if (mail_store_create(&ms, &serve->mail_store, &merr) < 0) {
			snprintf(error, sizeof(error), "mailbox store: %s", merr.text);
			*error_r = error;
			return -1;
		}
	}
	{
		/* accounts.db made (or checked) now, as the server's user */
		struct accounts *acc = accounts_pool_get(serve->acc_pool);

		if (acc == NULL) {
			*error_r = "cannot open accounts.db in data_dir";
			return -1;
		}
		serve_check_postmaster(set, acc);
		accounts_pool_put(serve->acc_pool, acc);
	}
	serve->store_pool = job_pool_new(SERVE_STORE_THREADS);
	service_start(serve->service, serve->auth_pool);
	if (smtp_server_start(serve->smtp, serve->commit_pool, serve->lookup_pool, serve->acc_pool,
			      serve->queue, serve->tls, error_r) < 0)
		return -1;
	imap_server_start(serve->imap, serve->store_pool, serve->acc_pool, serve->mail_store,
			  serve->tls, serve->tmp_dir);
	pop3_server_start(serve->pop3, serve->store_pool, serve->acc_pool, serve->mail_store,
			  serve->tls);
	if (set->dev)
		serve_dev_demo(serve);
	serve->deliverer = deliverer_start(set, serve->queue, SERVE_DELIVERY_THREADS, error_r);
	if (serve->deliverer == NULL)
		return -1;
	deliverer_set_mail_store(serve->deliverer, serve->mail_store);
	serve->outbound = outbound_start(set, serve->queue, error_r);
	if (serve->outbound == NULL)
		return -1;
	outbound_set_msgauth(serve->outbound, serve->msgauth);
	deliverer_set_outbound(serve->deliverer, serve->outbound);
	serve->pickup = maildrop_pickup_start(set, serve->queue, serve->deliverer, error_r);
	if (serve->pickup == NULL)
		return -1;
	smtp_server_set_committed_callback(serve->smtp, serve_committed, serve);
	/* the server's own blocking work (DMARC reports): a lookup-sized pool */
	serve->jobs = job_client_new(serve->lookup_pool, serve->loop);
	if (serve->msgauth->reports != NULL) {
		struct timeval tv = { SERVE_REPORT_CHECK_SECS, 0 };

		serve->report_timer = event_new(net_loop_base(serve->loop), -1, EV_PERSIST,
						report_tick, serve);
		if (serve->report_timer == NULL || event_add(serve->report_timer, &tv) < 0) {
			*error_r = "cannot add the DMARC report timer";
			return -1;
		}
		/* the days that ended while the server was down */
		report_tick(-1, 0, serve);
	}
	return 0;
}

/* DMARC aggregate reports ([dmarc] reports): at start and every hour, the
   records of the UTC days that are over become reports, mailed from the
   job pool (dmarc-send.h). */
static time_t utc_day_start(time_t t)
{
	return t - t % 86400;
}

static void report_run(void *ctx)
{
	struct serve *serve = ctx;
	const char *error;

	if (dmarc_send_reports(serve->set, serve->msgauth, serve->queue,
			       utc_day_start(time(NULL)), &serve->report_ids, &serve->report_count,
			       &error) < 0)
		log_error("dmarc", "reports failed error=%s", log_str(error));
}

static void report_done(void *ctx)
{
	struct serve *serve = ctx;
	unsigned int i;

	for (i = 0; i < serve->report_count; i++) {
		if (serve->deliverer != NULL)
			deliverer_notify(serve->deliverer, serve->report_ids[i]);
		free(serve->report_ids[i]);
	}
	free(serve->report_ids);
	serve->report_ids = NULL;
	serve->report_count = 0;
	serve->report_running = false;
}

static void report_tick(evutil_socket_t fd, short what, void *arg)
{
	struct serve *serve = arg;

	if (serve->report_running || serve->msgauth == NULL || serve->msgauth->reports == NULL)
		return;
	serve->report_running = true;
	job_submit(serve->jobs, report_run, report_done, serve);
}

/* SIGUSR1 (`tern queue flush`, `tern sendmail` after queueing remote
   recipients): retry every deferred recipient now. */
static void serve_flush(evutil_socket_t sig, short what, void *arg)
{
	struct serve *serve = arg;

	if (serve->deliverer != NULL)
		deliverer_flush(serve->deliverer);
}

/* data_dir/tern.pid: tells `tern queue flush` and `tern sendmail` whom to
   signal, and (locked for the server's life) keeps a second server from
   running on the same data_dir, which would mean two queue managers.

   Two locks on the one open file, for two readers: flock(LOCK_EX) keeps a
   second server out (as every earlier tern did), and a POSIX write lock
   over the whole file lets a client ask the kernel which process holds it
   (fcntl F_GETLK gives the holder's pid, see cli_server_pid()): the pid
   written in the file may be a stale one from a crash, reused since by an
   unrelated process, and must never be signalled on its own word. A POSIX
   lock belongs to the process and goes away when the process closes ANY
   descriptor of the file, so nothing else in tern serve may open tern.pid. */
static int serve_pidfile(struct serve *serve, const char **error_r)
{
	static __thread char error[512];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	char pid[32];
	int len;

	serve->pid_path = i_strdup_printf("%s/tern.pid", serve->set->data_dir);
	serve->pid_fd = open(serve->pid_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (serve->pid_fd < 0) {
		snprintf(error, sizeof(error), "%s: %s", serve->pid_path, strerror(errno));
		*error_r = error;
		return -1;
	}
	if (flock(serve->pid_fd, LOCK_EX | LOCK_NB) < 0 || fcntl(serve->pid_fd, F_SETLK, &fl) < 0) {
		snprintf(error, sizeof(error), "another tern serve is running on data_dir %s (%s is locked)",
			 serve->set->data_dir, serve->pid_path);
		*error_r = error;
		close(serve->pid_fd);
		serve->pid_fd = -1;
		return -1;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(serve->pid_fd, 0) < 0 || pwrite(serve->pid_fd, pid, (size_t)len, 0) != len) {
		snprintf(error, sizeof(error), "%s: %s", serve->pid_path, strerror(errno));
		*error_r = error;
		return -1;
	}
	return 0;
}

/* --dev: how to try the demo account, printed at every start (make run). */
static void serve_dev_print(const struct tern_settings *set, const char *password, bool created)
{
	const struct tern_hostport *sub = set->listen[TERN_LISTEN_SUBMISSION].count > 0 ?
		&set->listen[TERN_LISTEN_SUBMISSION].addrs[0] : NULL;
	const struct tern_hostport *imap = set->listen[TERN_LISTEN_IMAP].count > 0 ?
		&set->listen[TERN_LISTEN_IMAP].addrs[0] : NULL;

	printf("tern --dev: %s %s, password %s\n"
	       "  send:  swaks --server %s -tls --auth-user %s --auth-password %s "
	       "--from %s --to %s\n",
	       created ? "created the demo account" : "demo account", DEV_DEMO_USER, password,
	       sub != NULL ? sub->text : "127.0.0.1:2587", DEV_DEMO_USER, password,
	       DEV_DEMO_USER, DEV_DEMO_USER);
	if (imap != NULL)
		printf("  read:  IMAP at %s (user %s), or the files in %s/mail/example.test/demo/new/\n",
		       imap->text, DEV_DEMO_USER, set->data_dir);
	fflush(stdout);
}

/* The demo password kept in data_dir/demo-password; NULL when unreadable. */
static char *read_demo_password(const char *path)
{
	char line[128];
	FILE *f = fopen(path, "re");
	char *pw = NULL;

	if (f == NULL)
		return NULL;
	if (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0')
			pw = i_strdup(line);
	}
	fclose(f);
	return pw;
}

/* --dev: a demo account on first start, its password kept in
   data_dir/demo-password (0600); how to use it printed at every start. */
static void serve_dev_demo(struct serve *serve)
{
	const struct tern_settings *set = serve->set;
	struct accounts *acc;
	unsigned char rnd[12];
	char *path, *old;
	const char *error;
	buf_t pw;
	int fd, exists;

	if (accounts_open_settings(set, &acc, &error) < 0) {
		log_error("serve", "dev demo account error=%s", log_str(error));
		return;
	}
	path = i_strdup_printf("%s/demo-password", set->data_dir);
	exists = accounts_user_exists(acc, DEV_DEMO_USER);
	if (exists != 0) {
		if (exists > 0 && (old = read_demo_password(path)) != NULL) {
			serve_dev_print(set, old, false);
			explicit_bzero(old, strlen(old));
			i_free(old);
		} else if (exists > 0) {
			printf("tern --dev: demo account %s (its password file %s is gone: "
			       "tern user passwd --dev %s)\n", DEV_DEMO_USER, path, DEV_DEMO_USER);
		}
		goto out;
	}
	buf_init(&pw, 64);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd) ||
	    base64_encode(rnd, sizeof(rnd), &pw) < 0) {
		log_error("serve", "dev demo account error=no-random");
		buf_free(&pw);
		goto out;
	}
	/* base64 of 12 bytes has no padding; '/' and '+' are awkward in shells */
	for (size_t i = 0; i < pw.used; i++) {
		if (pw.data[i] == '/' || pw.data[i] == '+')
			pw.data[i] = 'x';
	}
	if (accounts_user_add(acc, DEV_DEMO_USER, buf_str(&pw), false, &error) < 0) {
		log_error("serve", "dev demo account error=%s", log_str(error));
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (write(fd, pw.data, pw.used) < 0 || write(fd, "\n", 1) < 0)
				log_error("serve", "write %s failed", path);
			close(fd);
		}
		serve_dev_print(set, buf_str(&pw), true);
	}
	explicit_bzero(pw.data, pw.alloc);
	buf_free(&pw);
out:
	fflush(stdout);
	i_free(path);
	accounts_close(&acc);
}

/* Every connection is a descriptor: raise the soft limit to the hard
   one (Debian's default soft limit of 1024 would refuse clients long
   before limits.connections), and say so when even that is too low. */
static void serve_raise_nofile(const struct tern_settings *set)
{
	struct rlimit rl;
	/* descriptors beside the client connections: listeners, queue and
	   Maildir files, SQLite, outbound connections, DNS */
	const rlim_t reserve = 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)set->limits.connections + reserve)
		log_warning("serve", "file limit below limits.connections nofile=%llu "
			    "connections=%u: raise LimitNOFILE or lower limits.connections",
			    (unsigned long long)rl.rlim_cur, set->limits.connections);
}

static void serve_cleanup(struct serve *serve)
{
	if (serve->stop_timer != NULL)
		event_free(serve->stop_timer);
	if (serve->flush_event != NULL)
		event_free(serve->flush_event);
	if (serve->report_timer != NULL)
		event_free(serve->report_timer);
	/* sessions first (closed, then freed as their jobs finish), then
	   delivery (outbound before the queue manager that records its
	   outcomes), then the rest */
	if (serve->service != NULL)
		service_close_all(serve->service);
	smtp_server_free(&serve->smtp);
	imap_server_free(&serve->imap);
	pop3_server_free(&serve->pop3);
	service_free(&serve->service);
	/* a report job still running finishes first */
	job_client_free(&serve->jobs);
	maildrop_pickup_stop(&serve->pickup);
	outbound_stop(&serve->outbound);
	deliverer_stop(&serve->deliverer);
	msgauth_context_free(&serve->msgauth);
	if (serve->pid_fd >= 0) {
		(void)unlink(serve->pid_path);
		close(serve->pid_fd);
	}
	i_free(serve->pid_path);
	job_pool_free(&serve->commit_pool);
	job_pool_free(&serve->lookup_pool);
	job_pool_free(&serve->auth_pool);
	job_pool_free(&serve->store_pool);
	accounts_pool_free(&serve->acc_pool);
	queue_close(&serve->queue);
	if (serve->mail_store != NULL)
		mail_store_destroy(&serve->mail_store);
	i_free(serve->tmp_dir);
	if (serve->tls != NULL)
		SSL_CTX_free(serve->tls);
	serve->tls = NULL;
	net_loop_free(&serve->loop);
	settings_free(&serve->set);
}

/* SIGHUP, part one: the configured certificate and key again (certbot
   renewed them in place), read now as the server's user. Unreadable or
   wrong: the old pair stays and the log says why. */
static void serve_reload_tls(struct serve *serve)
{
	const struct tern_settings *set = serve->set;
	const char *error;
	time_t not_after;
	char when[32] = "-";
	struct tm tm;

	if (set->tls_cert[0] == '\0' || serve->tls == NULL)
		return;
	if (tls_server_ctx_reload(serve->tls, set->tls_cert, set->tls_key, &not_after,
				  &error) < 0) {
		log_error("serve", "reload tls=kept cert=%s error=%s", log_str(set->tls_cert),
			  log_value(error, strlen(error), 500));
		return;
	}
	if (not_after != 0 && gmtime_r(&not_after, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_info("serve", "reload tls=reloaded cert=%s not_after=%s", log_str(set->tls_cert), when);
}

static void serve_reload(void *ctx)
{
	struct serve *serve = ctx;
	struct tern_settings *set;
	char *error;

	serve_reload_tls(serve);
	/* A config only root may read (it may hold the smarthost password)
	   was read as root at start; the server's user cannot check it now,
	   which is no mistake of the file: say so, not "invalid". */
	if (serve->set->config_path != NULL && access(serve->set->config_path, R_OK) < 0 &&
	    errno == EACCES) {
		log_warning("serve", "reload config=unreadable path=%s error=%s checked=no",
			    log_str(serve->set->config_path), log_str(strerror(EACCES)));
		return;
	}
	/* Re-read to report mistakes early; running with changed settings
	   needs a restart (listeners and the user are fixed at start). */
	if (settings_load(serve->set->config_path, serve->set->dev, &set, &error) < 0) {
		const char *p = error, *nl;

		do {
			nl = strchr(p, '\n');
			log_error("serve", "reload config=invalid error=%s",
				  log_value(p, nl == NULL ? strlen(p) : (size_t)(nl - p), 500));
			p = nl + 1;
		} while (nl != NULL);
		i_free(error);
		return;
	}
	settings_free(&set);
	log_info("serve", "reload checked config=%s result=ok restart_needed=yes",
		 log_str(serve->set->config_path));
}

int cmd_serve(int argc, char **argv)
{
	struct serve serve;
	const char *config_path = NULL, *error;
	bool dev = false, check = false, as_root;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "tern serve: %s needs a FILE\n", argv[i]);
				serve_usage(stderr);
				return EX_USAGE;
			}
			config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--dev") == 0) {
			dev = true;
		} else if (strcmp(argv[i], "--check") == 0) {
			check = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			serve_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "tern serve: unknown argument '%s'\n", argv[i]);
			serve_usage(stderr);
			return EX_USAGE;
		}
	}

	memset(&serve, 0, sizeof(serve));
	serve.pid_fd = -1;
	/* the journal stamps lines itself and reads priorities; anything
	   else gets ISO 8601 times */
	if (log_stderr_is_journal())
		log_set_journal(true);
	else
		log_set_timestamps(true);
	/* everything checked before anything is made (issue 9) */
	if (serve_settings(config_path, dev, check, &serve.set) < 0)
		return 1;
	if (check)
		return 0;

	as_root = geteuid() == 0;
	/* what we create is ours alone (accounts.db holds password hashes);
	   the few files others may see get their modes explicitly */
	umask(077);
	if (prepare_data_dir(serve.set, as_root, &error) < 0) {
		fprintf(stderr, "tern serve: %s\n", error);
		settings_free(&serve.set);
		return 1;
	}

	serve_raise_nofile(serve.set);
	serve.loop = net_loop_new();
	net_loop_handle_signals(serve.loop, serve_stop, serve_reload, &serve);
	serve.service = service_new(serve.set, serve.loop);
	serve.smtp = smtp_server_new(serve.set, serve.loop, serve.service);
	serve.imap = imap_server_new(serve.set, serve.loop, serve.service);
	serve.pop3 = pop3_server_new(serve.set, serve.loop, serve.service);

	/* bind while still root (ports below 1024), then give root up */
	if (service_listen_all(serve.service, &error) < 0) {
		fprintf(stderr, "tern serve: %s\n", error);
		serve_cleanup(&serve);
		return 1;
	}
	/* the configured certificate and key while still root: the key need
	   not be readable by the server's user (issue 8) */
	if (serve.set->tls_cert[0] != '\0' &&
	    (serve.tls = tls_server_ctx_new(serve.set->tls_cert, serve.set->tls_key,
					    serve.set->data_dir, serve.set->hostname,
					    &error)) == NULL) {
		fprintf(stderr, "tern serve: %s\n", error);
		serve_cleanup(&serve);
		return 1;
	}
	if (as_root && serve.set->user[0] != '\0' && !user_is_root(serve.set->user)) {
		if (privileges_drop(serve.set->user, &error) < 0) {
			fprintf(stderr, "tern serve: %s\n", error);
			serve_cleanup(&serve);
			return 1;
		}
	} else if (as_root) {
		/* --dev, or user = "root" on purpose (serve_check_run()
		   refused the rest) */
		log_warning("serve", "running as root user=%s",
			    serve.set->user[0] == '\0' ? "-" : log_str(serve.set->user));
	}
	if (access(serve.set->data_dir, R_OK | W_OK | X_OK) < 0) {
		fprintf(stderr, "tern serve: data_dir %s: %s\n", serve.set->data_dir,
			strerror(errno));
		serve_cleanup(&serve);
		return 1;
	}
	serve.flush_event = evsignal_new(net_loop_base(serve.loop), SIGUSR1, serve_flush, &serve);
	if (serve.flush_event == NULL || event_add(serve.flush_event, NULL) < 0) {
		fprintf(stderr, "tern serve: cannot handle SIGUSR1\n");
		serve_cleanup(&serve);
		return 1;
	}
	/* the lock on data_dir before the queue and the delivery threads (a
	   second server that slipped past the check stops here, having
	   touched nothing); with SIGUSR1 handled, others may signal us now */
	if (serve_pidfile(&serve, &error) < 0) {
		fprintf(stderr, "tern serve: %s\n", error);
		serve_cleanup(&serve);
		return 1;
	}
	if (serve_open_stores(&serve, &error) < 0) {
		fprintf(stderr, "tern serve: %s\n", error);
		serve_cleanup(&serve);
		return 1;
	}

	log_info("serve", "started hostname=%s data_dir=%s config=%s pid=%ld",
		 log_str(serve.set->hostname), log_str(serve.set->data_dir),
		 serve.set->config_path != NULL ? log_str(serve.set->config_path) : "dev-defaults",
		 (long)getpid());
	ret = net_loop_run(serve.loop);
	if (ret < 0)
		log_error("serve", "event loop failed");
	serve_cleanup(&serve);
	log_info("serve", "stopped");
	return ret < 0 ? 1 : 0;
}
