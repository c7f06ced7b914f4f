/*
 * The checks `tern serve` runs before it creates anything, and all that
 * `tern serve --check` does (serve-check.h). Called by cmd-serve.c only;
 * nothing here may create or change a file, a directory or a database:
 * it stats, opens for reading, and binds sockets for a moment.
 */
#include "serve-check.h"
#include "accounts.h"
#include "arena.h"
#include "cli.h"
#include "dkim-keys.h"
#include "privileges.h"
#include "psl.h"
#include "settings.h"
#include "tls.h"

#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* a certificate expiring sooner than this is worth a warning */
#define CHECK_CERT_WARN_DAYS 14
/* descriptors beside client connections (as serve_raise_nofile() counts) */
#define CHECK_NOFILE_RESERVE 256

struct check_ctx {
	struct serve_check *check;
	const struct tern_settings *set;
	bool as_root;
	bool server_user_known;      /* uid/gid are the server's user */
	uid_t uid;
	gid_t gid;
	int running_pid;             /* a tern serve holds data_dir's tern.pid */
};

static void problem(struct check_ctx *ctx, bool error, const char *key, unsigned int line,
		    const char *fmt, ...) ATTR_FORMAT(5, 6);

void serve_check_init(struct serve_check *check)
{
	memset(check, 0, sizeof(*check));
	buf_init(&check->errors, BUF_MAX_UNLIMITED);
	buf_init(&check->warnings, BUF_MAX_UNLIMITED);
}

void serve_check_deinit(struct serve_check *check)
{
	buf_free(&check->errors);
	buf_free(&check->warnings);
}

/* One problem: "FILE:LINE: text". line 0: the line of key, if the file set
   it; no line: "FILE: text"; no file (--dev): "text". */
static void problem(struct check_ctx *ctx, bool error, const char *key, unsigned int line,
		    const char *fmt, ...)
{
	const struct tern_settings *set = ctx->set;
	buf_t *out = error ? &ctx->check->errors : &ctx->check->warnings;
	va_list args;
	int ret = 0;

	if (line == 0 && key != NULL)
		line = settings_key_line(set, key);
	if (out->used > 0)
		ret |= buf_append_c(out, '\n');
	if (set->config_path != NULL && line > 0)
		ret |= buf_printf(out, "%s:%u: ", set->config_path, line);
	else if (set->config_path != NULL)
		ret |= buf_printf(out, "%s: ", set->config_path);
	va_start(args, fmt);
	ret |= buf_vprintf(out, fmt, args);
	va_end(args);
	/* the buffers have no limit: appending cannot fail */
	if (ret < 0)
		i_panic("serve check: problem text");
	if (error)
		ctx->check->error_count++;
	else
		ctx->check->warning_count++;
}

/* The user to run as: it must exist, and root must not stay root unless
   asked to (issue 8: root without `user` refuses to start, --dev aside). */
static void check_user(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;
	const char *error;
	struct passwd *me;

	if (settings_key_failed(set, "user"))
		return;
	if (set->user[0] == '\0') {
		if (ctx->as_root && !set->dev)
			problem(ctx, true, NULL, 0, "user is not set: tern serve run by root must "
				"drop to an unprivileged user; set user = \"tern\" (made with: adduser "
				"--system --group --home %s tern), or use --dev for development",
				set->data_dir);
		return;
	}
	if (privileges_lookup(set->user, &ctx->uid, &ctx->gid, &error) < 0) {
		problem(ctx, true, "user", 0, "user: no such user '%s' (made with: adduser "
			"--system --group --home %s %s)", set->user, set->data_dir, set->user);
		return;
	}
	if (!ctx->as_root) {
		me = getpwuid(geteuid());
		if (ctx->uid != geteuid())
			problem(ctx, false, "user", 0, "user '%s' is not used: tern serve is not "
				"started as root, so it runs as %s", set->user,
				me != NULL ? me->pw_name : "the invoking user");
		return;
	}
	ctx->server_user_known = true;
	if (ctx->uid == 0)
		problem(ctx, false, "user", 0, "user '%s' is root: the server keeps every "
			"privilege; an unprivileged user is safer", set->user);
}

/* RFC 5321 4.5.1: postmaster must reach a person. */
static void check_postmaster(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;

	if (settings_key_failed(set, "postmaster") || set->postmaster[0] != '\0')
		return;
	problem(ctx, true, NULL, 0, "postmaster is not set: mail to postmaster@ every local "
		"domain and to root must reach a person (RFC 5321 4.5.1); set postmaster = "
		"\"you@example.org\" (an account here, or an address elsewhere)");
}

/* --check: does the postmaster address lead to a mailbox yet? Mail to
   postmaster@ and root would get 451 until it does (the server logs the
   same at start). accounts.db is only read, never made or changed; one
   that cannot be read is not looked into. */
static void check_postmaster_mailbox(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;
	struct accounts *acc;
	struct accounts_target *targets;
	struct arena *arena;
	const char *error, *domain;
	unsigned int count, i;
	bool leads_nowhere = false;

	if (ctx->check->starting || set->dev || set->postmaster[0] == '\0' ||
	    settings_key_failed(set, "postmaster") || settings_key_failed(set, "data_dir") ||
	    settings_key_failed(set, "domains"))
		return;
	if (accounts_open_readonly(set->data_dir, set->domains, set->domains_count, &acc,
				   &error) < 0) {
		if (errno != ENOENT)
			return;
		/* no accounts yet: an address of a config domain has no mailbox */
		domain = strrchr(set->postmaster, '@');
		for (i = 0; domain != NULL && i < set->domains_count; i++) {
			if (i_strcasecmp(domain + 1, set->domains[i]) == 0)
				leads_nowhere = true;
		}
	} else {
		accounts_set_system(acc, set->hostname, set->postmaster);
		arena = arena_new(0);
		leads_nowhere = accounts_resolve(acc, arena, set->postmaster, &targets, &count,
						 &error) == 0;
		arena_free(&arena);
		accounts_close(&acc);
	}
	if (leads_nowhere)
		problem(ctx, false, "postmaster", 0, "postmaster: %s has no mailbox yet: mail to "
			"postmaster@ and root gets 451 until it does (tern user add %s, or tern "
			"alias add %s SOMEONE)", set->postmaster, set->postmaster, set->postmaster);
}

/* May uid (with primary gid) pass through directory st? An
   approximation that ignores supplementary groups and ACLs. */
static bool searchable_by(const struct stat *st, uid_t uid, gid_t gid)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return (st->st_mode & S_IXUSR) != 0;
	if (st->st_gid == gid)
		return (st->st_mode & S_IXGRP) != 0;
	return (st->st_mode & S_IXOTH) != 0;
}

/* May uid (with primary gid) read the file st? The same approximation. */
static bool readable_by(const struct stat *st, uid_t uid, gid_t gid)
{
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return (st->st_mode & S_IRUSR) != 0;
	if (st->st_gid == gid)
		return (st->st_mode & S_IRGRP) != 0;
	return (st->st_mode & S_IROTH) != 0;
}

/* The directory of path (a copy) that uid cannot pass through, or NULL. */
static char *unsearchable_parent(const char *path, uid_t uid, gid_t gid)
{
	char *copy, *slash;
	struct stat st;

	if (path[0] != '/')
		return NULL;
	copy = i_strdup(path);
	for (slash = strchr(copy + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (stat(copy, &st) == 0 && S_ISDIR(st.st_mode) && !searchable_by(&st, uid, gid))
			return copy;
		*slash = '/';
	}
	i_free(copy);
	return NULL;
}

/* After dropping root, the server's user must still reach data_dir:
   every directory above it must let that user through. */
static void check_path_reachable(struct check_ctx *ctx, const char *path)
{
	char *copy, *slash;
	struct stat st;

	if (path[0] != '/')
		return;   /* relative: below the working directory, not walked */
	copy = i_strdup(path);
	for (slash = strchr(copy + 1, '/'); ; slash = strchr(slash + 1, '/')) {
		const char *dir;
		char saved = '\0';

		if (slash != NULL) {
			saved = *slash;
			*slash = '\0';
		}
		dir = copy;
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
		    !searchable_by(&st, ctx->uid, ctx->gid)) {
			problem(ctx, true, "data_dir", 0, "data_dir %s: user %s cannot reach it once "
				"root is dropped: %s is mode %04o, owner uid %u", path, ctx->set->user,
				dir, (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_uid);
			break;
		}
		if (slash == NULL)
			break;
		*slash = saved;
	}
	i_free(copy);
}

/* data_dir: a directory the server can use, or one it can make. */
static void check_data_dir(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;
	struct stat st;
	char *parent, *slash;

	if (settings_key_failed(set, "data_dir"))
		return;
	if (stat(set->data_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			problem(ctx, true, "data_dir", 0, "data_dir %s: not a directory", set->data_dir);
			return;
		}
		if (access(set->data_dir, R_OK | W_OK | X_OK) < 0) {
			problem(ctx, true, "data_dir", 0, "data_dir %s: %s%s", set->data_dir,
				strerror(errno), ctx->as_root ? "" :
				" (tern serve is not started as root: it needs the directory "
				"to be its own)");
			return;
		}
	} else if (errno == ENOENT || errno == ENOTDIR) {
		/* made at start, by the process that starts: its nearest
		   existing parent must let it */
		parent = i_strdup(set->data_dir);
		for (;;) {
			slash = strrchr(parent, '/');
			if (slash == NULL) {
				strcpy(parent, ".");
			} else if (slash == parent) {
				parent[1] = '\0';
			} else {
				*slash = '\0';
			}
			if (stat(parent, &st) == 0 || errno != ENOENT || strcmp(parent, ".") == 0 ||
			    strcmp(parent, "/") == 0)
				break;
		}
		if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
			problem(ctx, true, "data_dir", 0, "data_dir %s cannot be made: %s is not a "
				"directory", set->data_dir, parent);
		else if (access(parent, W_OK | X_OK) < 0)
			problem(ctx, true, "data_dir", 0, "data_dir %s cannot be made: %s: %s",
				set->data_dir, parent, strerror(errno));
		i_free(parent);
	} else {
		problem(ctx, true, "data_dir", 0, "data_dir %s: %s", set->data_dir, strerror(errno));
		return;
	}
	if (ctx->server_user_known)
		check_path_reachable(ctx, set->data_dir);
}

/* The configured certificate and key: there, readable by the process that
   starts (it reads them before dropping root), and a pair. */
static void check_tls(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;
	const char *error;
	time_t not_after, now = time(NULL);
	bool any_tls_listener = false;
	unsigned int i;

	if (settings_key_failed(set, "tls.cert") || settings_key_failed(set, "tls.key"))
		return;
	for (i = 0; i < TERN_LISTEN_COUNT; i++) {
		if (i != TERN_LISTEN_SMTP && set->listen[i].count > 0)
			any_tls_listener = true;
	}
	if (set->tls_cert[0] == '\0') {
		if (set->tls_key[0] != '\0')
			problem(ctx, true, "tls.key", 0, "tls.key is set but tls.cert is not");
		else if (any_tls_listener && !set->dev)
			problem(ctx, false, NULL, 0, "[tls] names no certificate: a self-signed one "
				"is made in %s/tls, which mail clients warn about "
				"(docs/deployment.md: certbot)", set->data_dir);
		return;
	}
	if (tls_pair_check(set->tls_cert, set->tls_key, &not_after, &error) < 0) {
		/* the line of the file at fault */
		const char *key = strncmp(error, "key ", 4) == 0 && set->tls_key[0] != '\0' ?
			"tls.key" : "tls.cert";

		problem(ctx, true, key, 0, "%s: %s", key, error);
		return;
	}
	if (not_after != 0 && not_after < now) {
		problem(ctx, false, "tls.cert", 0, "tls.cert: the certificate %s expired %lld days "
			"ago: clients will refuse it", set->tls_cert,
			(long long)((now - not_after) / 86400));
	} else if (not_after != 0 && not_after - now < CHECK_CERT_WARN_DAYS * 86400) {
		problem(ctx, false, "tls.cert", 0, "tls.cert: the certificate %s expires in %lld "
			"days", set->tls_cert, (long long)((not_after - now) / 86400));
	}
}

/* Sender authentication (docs/msgauth.md) reads at start, as the server's
   user: the Public Suffix List that DMARC needs. A missing one would stop
   tern serve after data_dir and the self-signed pair were made. */
static void check_psl(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;
	const char *path = set->dmarc_public_suffix_list, *error;
	struct psl *psl;
	struct stat st;
	char *dir;

	if (!set->dmarc_verify || settings_key_failed(set, "dmarc.verify") ||
	    settings_key_failed(set, "dmarc.public_suffix_list"))
		return;
	if ((psl = psl_load(path, &error)) == NULL) {
		problem(ctx, true, "dmarc.public_suffix_list", 0, "dmarc.public_suffix_list: %s "
			"(DMARC needs it: Debian's publicsuffix package installs %s; or set "
			"[dmarc] verify = false)", error, PSL_DEFAULT_PATH);
		return;
	}
	psl_free(&psl);
	/* read again after root is dropped (msgauth_context_new()) */
	if (!ctx->server_user_known || ctx->uid == 0)
		return;
	if ((dir = unsearchable_parent(path, ctx->uid, ctx->gid)) != NULL) {
		problem(ctx, true, "dmarc.public_suffix_list", 0, "dmarc.public_suffix_list: user %s "
			"cannot read %s once root is dropped: %s is closed to it", set->user, path,
			dir);
		i_free(dir);
	} else if (stat(path, &st) == 0 && !readable_by(&st, ctx->uid, ctx->gid)) {
		problem(ctx, true, "dmarc.public_suffix_list", 0, "dmarc.public_suffix_list: user %s "
			"cannot read %s once root is dropped (mode %04o, owner uid %u)", set->user,
			path, (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_uid);
	}
}

/* [dkim] sign with a local domain that has no key: its mail leaves
   unsigned (not a mistake, but the first thing a receiver's DMARC check
   holds against it). A data_dir we may not read is not looked into. */
static void check_dkim_keys(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;
	struct dkim_key_file *files;
	unsigned int i, count;
	const char *error;
	buf_t missing;

	if (!set->dkim_sign || set->dev || settings_key_failed(set, "dkim.sign") ||
	    settings_key_failed(set, "domains") || settings_key_failed(set, "data_dir"))
		return;
	buf_init(&missing, BUF_MAX_UNLIMITED);
	for (i = 0; i < set->domains_count; i++) {
		if (dkim_key_files(set->data_dir, set->domains[i], &files, &count, &error) < 0)
			continue;
		dkim_key_files_free(files, count);
		if (count > 0)
			continue;
		/* the buffer has no limit: appending cannot fail */
		if ((missing.used > 0 && buf_append_str(&missing, ", ") < 0) ||
		    buf_append_str(&missing, set->domains[i]) < 0)
			i_panic("serve check: dkim domains");
	}
	if (missing.used > 0)
		problem(ctx, false, "dkim.sign", 0, "dkim.sign: no DKIM key for %s: mail from there "
			"leaves unsigned, which DMARC checks elsewhere hold against it (tern dkim "
			"keygen DOMAIN, then publish the record it prints)", buf_str(&missing));
	buf_free(&missing);
	/* an ARC sealing domain of its own (the default, the first local
	   domain, was looked at above) seals with that domain's keys */
	if (set->arc_seal && set->arc_domain[0] != '\0' && !settings_key_failed(set, "arc.domain") &&
	    dkim_key_files(set->data_dir, set->arc_domain, &files, &count, &error) == 0) {
		dkim_key_files_free(files, count);
		if (count == 0)
			problem(ctx, false, "arc.domain", 0, "arc.domain: no DKIM key for %s: forwarded "
				"mail leaves without an ARC seal (tern dkim keygen %s)", set->arc_domain,
				set->arc_domain);
	}
}

/* Bind every configured listener for a moment, all at once (so that the
   same address twice is found too), as the listener layer does. */
static void check_listeners(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;
	int fds[256];
	unsigned int nfds = 0, i, k, total = 0;
	char key[64];

	for (i = 0; i < TERN_LISTEN_COUNT; i++) {
		snprintf(key, sizeof(key), "listen.%s", settings_listen_kind_name(i));
		if (settings_key_failed(set, key))
			continue;
		for (k = 0; k < set->listen[i].count; k++) {
			const struct tern_hostport *hp = &set->listen[i].addrs[k];
			const struct sockaddr *sa = (const struct sockaddr *)&hp->addr;
			int one = 1, fd, err;

			total++;
			fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				problem(ctx, true, key, hp->line, "%s: %s: %s", key, hp->text,
					strerror(errno));
				continue;
			}
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (sa->sa_family == AF_INET6)
				(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			/* listening too: a second bind of the same address
			   succeeds under SO_REUSEADDR until the first listens */
			if (bind(fd, sa, hp->addr_len) == 0 && listen(fd, 1) == 0) {
				if (nfds < N_ELEMENTS(fds))
					fds[nfds++] = fd;
				else
					close(fd);
				continue;
			}
			err = errno;
			close(fd);
			if (err == EACCES && hp->port < 1024) {
				problem(ctx, true, key, hp->line, "%s: cannot bind %s: %s: ports below "
					"1024 need root (start tern serve as root, with user set) or "
					"the capability to bind them (setcap "
					"cap_net_bind_service=+ep on the tern binary)",
					key, hp->text, strerror(err));
			} else if (err == EADDRINUSE && ctx->running_pid != 0) {
				problem(ctx, false, key, hp->line, "%s: %s is in use, probably by the "
					"tern serve that runs on this data_dir (pid %d)", key,
					hp->text, ctx->running_pid);
			} else if (err == EADDRINUSE) {
				problem(ctx, true, key, hp->line, "%s: cannot bind %s: %s (another "
					"server listens there, or it is configured twice; "
					"ss -ltnp shows which program)", key, hp->text, strerror(err));
			} else if (err == EADDRNOTAVAIL) {
				problem(ctx, true, key, hp->line, "%s: cannot bind %s: %s (not an "
					"address of this machine)", key, hp->text, strerror(err));
			} else {
				problem(ctx, true, key, hp->line, "%s: cannot bind %s: %s", key,
					hp->text, strerror(err));
			}
		}
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (total == 0 && !set->dev)
		problem(ctx, false, NULL, 0, "no listener is configured ([listen]): the server "
			"accepts no connections, it only delivers what tern sendmail queues");
}

/* Settings each valid alone but not together, and limits of the machine. */
static void check_consistency(struct check_ctx *ctx)
{
	const struct tern_settings *set = ctx->set;
	struct rlimit rl;

	if (set->relay_smarthost == NULL && set->relay_smarthost_user[0] != '\0')
		problem(ctx, false, "relay.smarthost_user", 0, "relay.smarthost_user is set but "
			"relay.smarthost is not: it is not used");
	if (set->relay_smarthost != NULL && set->relay_smarthost_password[0] != '\0' &&
	    strcmp(set->relay_smarthost_tls, "none") == 0)
		problem(ctx, false, "relay.smarthost_tls", 0, "relay.smarthost_tls = \"none\": "
			"the smarthost password is sent without encryption");
	if (set->listen[TERN_LISTEN_SMTP].count > 0 && !set->dev &&
	    strchr(set->hostname, '.') == NULL)
		problem(ctx, false, "hostname", 0, "hostname '%s' is not a fully qualified domain "
			"name: other servers may refuse its greeting (RFC 5321 2.3.5)",
			set->hostname);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < (rlim_t)set->limits.connections + CHECK_NOFILE_RESERVE)
		problem(ctx, false, "limits.connections", 0, "limits.connections = %u, but the "
			"file limit allows %llu descriptors: raise it (systemd: LimitNOFILE=) or "
			"lower limits.connections", set->limits.connections,
			(unsigned long long)rl.rlim_max);
}

unsigned int serve_check_run(struct serve_check *check, const struct tern_settings *set,
			     bool as_root)
{
	struct check_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.check = check;
	ctx.set = set;
	ctx.as_root = as_root;
	/* a server already running here holds its ports: not a mistake */
	ctx.running_pid = settings_key_failed(set, "data_dir") ? 0 : cli_server_pid(set);
	/* Two servers on one data_dir would both run its queue: the second
	   must stop here, before it opens anything (serve_pidfile() would
	   find the lock only after the delivery threads had started). */
	if (check->starting && ctx.running_pid != 0) {
		if (ctx.running_pid > 0)
			problem(&ctx, true, "data_dir", 0, "data_dir %s: another tern serve runs on "
				"it (pid %d): stop it first, or reload it with SIGHUP",
				set->data_dir, ctx.running_pid);
		else
			problem(&ctx, true, "data_dir", 0, "data_dir %s: another tern serve runs on "
				"it (its tern.pid is locked): stop it first", set->data_dir);
	}
	check_user(&ctx);
	check_postmaster(&ctx);
	check_postmaster_mailbox(&ctx);
	check_data_dir(&ctx);
	check_tls(&ctx);
	check_psl(&ctx);
	check_dkim_keys(&ctx);
	check_listeners(&ctx);
	check_consistency(&ctx);
	return check->error_count;
}
