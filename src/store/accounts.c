#include "accounts.h"
#include "arena.h"
#include "buf.h"
#include "password.h"
#include "settings.h"
#include "tern-limits.h"

#include <errno.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACCOUNTS_DB "accounts.db"
#define ACCOUNTS_BUSY_TIMEOUT_MS 5000
/* ACCOUNTS_RESOLVE_MAX_DEPTH, ACCOUNTS_RESOLVE_MAX_TARGETS: tern-limits.h */

struct accounts {
	sqlite3 *db;
	char **config_domains;
	size_t config_domains_count;
	char *hostname;          /* NULL: no system addresses (accounts_set_system) */
	char *postmaster;        /* NULL: none */
	char error[256];
};

static const char *const schema[] = {
	"PRAGMA journal_mode=WAL",
	"PRAGMA synchronous=FULL",
	"CREATE TABLE IF NOT EXISTS domains (name TEXT PRIMARY KEY NOT NULL)",
	"CREATE TABLE IF NOT EXISTS users ("
	" address TEXT PRIMARY KEY NOT NULL,"
	" hash TEXT NOT NULL,"
	" apop_secret TEXT,"
	" created INTEGER NOT NULL)",
	"CREATE TABLE IF NOT EXISTS aliases ("
	" alias TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" PRIMARY KEY (alias, target))",
};

static void ascii_lower(char *s);
static bool is_system_address(struct accounts *acc, const char *address, bool *at_host_r);

static const char *db_error(struct accounts *acc, const char *what)
{
	snprintf(acc->error, sizeof(acc->error), "%s: %s", what, sqlite3_errmsg(acc->db));
	return acc->error;
}

static const char *set_error(struct accounts *acc, const char *fmt, ...) ATTR_FORMAT(2, 3);
static const char *set_error(struct accounts *acc, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(acc->error, sizeof(acc->error), fmt, args);
	va_end(args);
	return acc->error;
}

/* The config's local domains, lowercased copies. */
static void set_config_domains(struct accounts *acc, const char *const *config_domains,
			       size_t config_domains_count)
{
	size_t i;

	acc->config_domains = i_malloc(sizeof(char *) * (config_domains_count + 1));
	for (i = 0; i < config_domains_count; i++) {
		acc->config_domains[i] = i_strdup(config_domains[i]);
		i_str_lower(acc->config_domains[i]);
	}
	acc->config_domains_count = config_domains_count;
}

int accounts_open(const char *data_dir, const char *const *config_domains,
		  size_t config_domains_count, struct accounts **acc_r, const char **error_r)
{
	static char open_error[512];
	struct accounts *acc;
	char *path;
	size_t i;

	acc = i_malloc(sizeof(*acc));
	path = i_strdup_printf("%s/%s", data_dir, ACCOUNTS_DB);
	if (sqlite3_open_v2(path, &acc->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(open_error, sizeof(open_error), "cannot open %s: %s", path,
			 acc->db == NULL ? "out of memory" : sqlite3_errmsg(acc->db));
		sqlite3_close(acc->db);
		free(path);
		free(acc);
		*error_r = open_error;
		return -1;
	}
	sqlite3_busy_timeout(acc->db, ACCOUNTS_BUSY_TIMEOUT_MS);
	for (i = 0; i < N_ELEMENTS(schema); i++) {
		if (sqlite3_exec(acc->db, schema[i], NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(open_error, sizeof(open_error), "cannot set up %s: %s", path,
				 sqlite3_errmsg(acc->db));
			sqlite3_close(acc->db);
			free(path);
			free(acc);
			*error_r = open_error;
			return -1;
		}
	}
	free(path);
	set_config_domains(acc, config_domains, config_domains_count);
	*acc_r = acc;
	return 0;
}

int accounts_open_readonly(const char *data_dir, const char *const *config_domains,
			   size_t config_domains_count, struct accounts **acc_r,
			   const char **error_r)
{
	static char open_error[512];
	struct accounts *acc;
	struct stat st;
	char *path, *wal, *uri;
	bool immutable;

	path = i_strdup_printf("%s/%s", data_dir, ACCOUNTS_DB);
	if (stat(path, &st) < 0) {
		int saved = errno;

		snprintf(open_error, sizeof(open_error), "%s: %s", path, strerror(saved));
		free(path);
		*error_r = open_error;
		errno = saved;
		return -1;
	}
	/* a read-only connection to a WAL database makes -wal and -shm when
	   they are missing (and leaves them): immutable reads the file alone,
	   which is all there is when no -wal exists */
	wal = i_strdup_printf("%s-wal", path);
	immutable = access(wal, F_OK) < 0;
	free(wal);
	/* RFC 8089 file: URI; SQLite takes the path as written, but '?' and
	   '#' would end it */
	if (strpbrk(path, "?#%") != NULL) {
		snprintf(open_error, sizeof(open_error), "%s: the path has a character "
			 "a file: URI cannot hold", path);
		free(path);
		*error_r = open_error;
		errno = EINVAL;
		return -1;
	}
	uri = i_strdup_printf("file:%s?mode=ro%s", path, immutable ? "&immutable=1" : "");
	acc = i_malloc(sizeof(*acc));
	if (sqlite3_open_v2(uri, &acc->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(open_error, sizeof(open_error), "cannot open %s: %s", path,
			 acc->db == NULL ? "out of memory" : sqlite3_errmsg(acc->db));
		sqlite3_close(acc->db);
		free(uri);
		free(path);
		free(acc);
		*error_r = open_error;
		errno = EIO;
		return -1;
	}
	free(uri);
	free(path);
	sqlite3_busy_timeout(acc->db, ACCOUNTS_BUSY_TIMEOUT_MS);
	set_config_domains(acc, config_domains, config_domains_count);
	*acc_r = acc;
	return 0;
}

void accounts_set_system(struct accounts *acc, const char *hostname, const char *postmaster)
{
	i_free(acc->hostname);
	i_free(acc->postmaster);
	acc->hostname = hostname == NULL ? NULL : i_strdup(hostname);
	if (acc->hostname != NULL)
		ascii_lower(acc->hostname);
	acc->postmaster = postmaster == NULL || postmaster[0] == '\0' ? NULL : i_strdup(postmaster);
	if (acc->postmaster != NULL)
		ascii_lower(acc->postmaster);
}

int accounts_open_settings(const struct tern_settings *set, struct accounts **acc_r,
			   const char **error_r)
{
	if (accounts_open(set->data_dir, set->domains, set->domains_count, acc_r, error_r) < 0)
		return -1;
	accounts_set_system(*acc_r, set->hostname, set->postmaster);
	return 0;
}

void accounts_close(struct accounts **accp)
{
	struct accounts *acc = *accp;
	size_t i;

	if (acc == NULL)
		return;
	i_free(acc->hostname);
	i_free(acc->postmaster);
	sqlite3_close(acc->db);
	for (i = 0; i < acc->config_domains_count; i++)
		free(acc->config_domains[i]);
	free(acc->config_domains);
	free(acc);
	*accp = NULL;
}

/* Lowercase ASCII letters only: UTF-8 local parts (RFC 6531) keep their bytes. */
static void ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = i_tolower(*s);
}

static bool domain_is_plausible(const char *d)
{
	size_t len = strlen(d);
	const unsigned char *p;

	if (len == 0 || len > 255)
		return false;
	if (d[0] == '[')   /* address literal: RFC 5321 4.1.3 */
		return d[len - 1] == ']';
	for (p = (const unsigned char *)d; *p != '\0'; p++) {
		if (*p < 0x80 && !(*p == '-' || *p == '.' || *p == '_' ||
				   (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
				   (*p >= 'A' && *p <= 'Z')))
			return false;
	}
	return d[0] != '.' && d[len - 1] != '.' && strstr(d, "..") == NULL;
}

const char *accounts_normalize(struct arena *arena, const char *address)
{
	const char *at = strrchr(address, '@');
	const unsigned char *p;
	char *copy;

	if (at == NULL || at == address || !domain_is_plausible(at + 1))
		return NULL;
	if ((size_t)(at - address) > 64 * 4 || strlen(address) > 320)
		return NULL;
	for (p = (const unsigned char *)address; p < (const unsigned char *)at; p++) {
		/* no controls, spaces or path tricks in stored addresses */
		if (*p <= ' ' || *p == 0x7f || *p == '/' || *p == '\\' || *p == '"' || *p == '@' ||
		    *p == '<' || *p == '>' || *p == '(' || *p == ')' || *p == ',' ||
		    *p == ';' || *p == ':')
			return NULL;
	}
	if (address[0] == '.' || at[-1] == '.')
		return NULL;
	copy = arena_strdup(arena, address);
	ascii_lower(copy);
	return copy;
}

/* "@domain" catch-all, or a normal address */
static const char *normalize_alias(struct arena *arena, const char *alias)
{
	char *copy;

	if (alias[0] == '@') {
		if (!domain_is_plausible(alias + 1))
			return NULL;
		copy = arena_strdup(arena, alias);
		ascii_lower(copy);
		return copy;
	}
	return accounts_normalize(arena, alias);
}

bool accounts_domain_is_local(struct accounts *acc, const char *domain)
{
	sqlite3_stmt *stmt;
	bool found = false;
	size_t i;

	for (i = 0; i < acc->config_domains_count; i++) {
		if (i_strcasecmp(acc->config_domains[i], domain) == 0)
			return true;
	}
	if (sqlite3_prepare_v2(acc->db, "SELECT 1 FROM domains WHERE name = lower(?1)", -1,
			       &stmt, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(stmt, 1, domain, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return found;
}

/* Is local@domain one of the system addresses (accounts_set_system)?
   *at_host_r: domain is the hostname and not a local domain. */
static bool is_system_address(struct accounts *acc, const char *address, bool *at_host_r)
{
	const char *at = strrchr(address, '@');
	size_t len = (size_t)(at - address);
	bool local_domain;

	*at_host_r = false;
	if (acc->hostname == NULL)
		return false;
	local_domain = accounts_domain_is_local(acc, at + 1);
	*at_host_r = !local_domain && i_strcasecmp(at + 1, acc->hostname) == 0;
	/* RFC 5321 4.5.1: postmaster of every domain we receive mail for */
	if (len == 10 && i_strncasecmp(address, "postmaster", 10) == 0)
		return local_domain || *at_host_r;
	if (!*at_host_r && i_strcasecmp(at + 1, acc->hostname) != 0)
		return false;
	/* the machine's own: root (cron), MAILER-DAEMON (bounces' From),
	   noreply-dmarc (the default sender of DMARC reports: a report that
	   bounces reaches the administrator, not a 550 of our own), and
	   every Unix account (sendmail's senders) */
	if ((len == 4 && i_strncasecmp(address, "root", 4) == 0) ||
	    (len == 13 && i_strncasecmp(address, "mailer-daemon", 13) == 0) ||
	    (len == 13 && i_strncasecmp(address, "noreply-dmarc", 13) == 0))
		return true;
	{
		struct passwd pw, *res = NULL;
		char buf[4096], name[256];

		if (len >= sizeof(name))
			return false;
		memcpy(name, address, len);
		name[len] = '\0';
		/* addresses are compared without case; Unix names are lowercase */
		ascii_lower(name);
		return getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res != NULL;
	}
}

static int alias_exact_exists(struct accounts *acc, const char *alias);

bool accounts_address_is_local(struct accounts *acc, const char *address)
{
	const char *at = strrchr(address, '@');
	bool at_host;

	if (at == NULL)
		return false;
	if (accounts_domain_is_local(acc, at + 1))
		return true;
	return is_system_address(acc, address, &at_host) ||
	       (acc->hostname != NULL && i_strcasecmp(at + 1, acc->hostname) == 0 &&
		alias_exact_exists(acc, address) > 0);
}

/* Run one statement with up to three text parameters; returns the number of
   rows changed, or -1. */
static int exec_text(struct accounts *acc, const char *sql, const char *a, const char *b,
		     const char *c, const char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(acc->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		*error_r = db_error(acc, "prepare");
		return -1;
	}
	if (a != NULL)
		sqlite3_bind_text(stmt, 1, a, -1, SQLITE_TRANSIENT);
	if (b != NULL)
		sqlite3_bind_text(stmt, 2, b, -1, SQLITE_TRANSIENT);
	if (c != NULL)
		sqlite3_bind_text(stmt, 3, c, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*error_r = db_error(acc, "update");
		return -1;
	}
	return sqlite3_changes(acc->db);
}

int accounts_domain_add(struct accounts *acc, const char *domain, const char **error_r)
{
	char *d;
	int ret;

	if (!domain_is_plausible(domain) || domain[0] == '[') {
		*error_r = set_error(acc, "not a valid domain name: %s", domain);
		return -1;
	}
	d = i_strdup(domain);
	ascii_lower(d);
	ret = exec_text(acc, "INSERT OR IGNORE INTO domains (name) VALUES (?1)", d, NULL, NULL,
			error_r);
	free(d);
	return ret < 0 ? -1 : 0;
}

int accounts_domain_del(struct accounts *acc, const char *domain, const char **error_r)
{
	size_t i;
	int ret;

	for (i = 0; i < acc->config_domains_count; i++) {
		if (i_strcasecmp(acc->config_domains[i], domain) == 0) {
			*error_r = set_error(acc, "%s is set in the config file; remove it there",
					     domain);
			return -1;
		}
	}
	ret = exec_text(acc, "DELETE FROM domains WHERE name = lower(?1)", domain, NULL, NULL,
			error_r);
	if (ret == 0) {
		*error_r = set_error(acc, "no such domain: %s", domain);
		return -1;
	}
	return ret < 0 ? -1 : 0;
}

int accounts_domain_list(struct accounts *acc,
			 void (*cb)(const char *domain, bool from_config, void *ctx), void *ctx,
			 const char **error_r)
{
	sqlite3_stmt *stmt;
	size_t i;
	int rc;

	for (i = 0; i < acc->config_domains_count; i++)
		cb(acc->config_domains[i], true, ctx);
	if (sqlite3_prepare_v2(acc->db, "SELECT name FROM domains ORDER BY name", -1, &stmt,
			       NULL) != SQLITE_OK) {
		*error_r = db_error(acc, "prepare");
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 0);
		bool dup = false;

		for (i = 0; i < acc->config_domains_count; i++)
			dup = dup || strcmp(acc->config_domains[i], name) == 0;
		if (!dup)
			cb(name, false, ctx);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*error_r = db_error(acc, "list");
		return -1;
	}
	return 0;
}

static const char *check_local_address(struct accounts *acc, struct arena *arena,
				       const char *address, const char **error_r)
{
	const char *norm = accounts_normalize(arena, address);

	if (norm == NULL) {
		*error_r = set_error(acc, "not a valid address: %s", address);
		return NULL;
	}
	if (!accounts_domain_is_local(acc, strrchr(norm, '@') + 1)) {
		*error_r = set_error(acc, "%s is not in a local domain (add the domain with "
				     "'tern domain add' or in the config file)", norm);
		return NULL;
	}
	return norm;
}

int accounts_user_add(struct accounts *acc, const char *address, const char *password,
		      bool apop, const char **error_r)
{
	struct arena *arena = arena_new(0);
	const char *norm;
	char *hash = NULL;
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	if ((norm = check_local_address(acc, arena, address, error_r)) == NULL)
		goto out;
	if (password[0] == '\0') {
		*error_r = set_error(acc, "%s", "empty password");
		goto out;
	}
	if ((hash = password_hash(password)) == NULL) {
		*error_r = set_error(acc, "%s", "password hashing failed");
		goto out;
	}
	if (sqlite3_prepare_v2(acc->db, "INSERT INTO users (address, hash, apop_secret, created) "
			       "VALUES (?1, ?2, ?3, strftime('%s','now'))", -1, &stmt,
			       NULL) != SQLITE_OK) {
		*error_r = db_error(acc, "prepare");
		goto out;
	}
	sqlite3_bind_text(stmt, 1, norm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, hash, -1, SQLITE_TRANSIENT);
	if (apop) {
		/* The password itself is the APOP shared secret (RFC 1939 7):
		   stored recoverably, hence password-equivalent. */
		sqlite3_bind_text(stmt, 3, password, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(stmt, 3);
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_CONSTRAINT) {
		*error_r = set_error(acc, "user %s exists already", norm);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		*error_r = db_error(acc, "insert");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(stmt);
	if (hash != NULL) {
		explicit_bzero(hash, strlen(hash));
		free(hash);
	}
	arena_free(&arena);
	return ret;
}

int accounts_user_del(struct accounts *acc, const char *address, const char **error_r)
{
	int ret = exec_text(acc, "DELETE FROM users WHERE address = lower(?1)", address, NULL,
			    NULL, error_r);

	if (ret == 0) {
		*error_r = set_error(acc, "no such user: %s", address);
		return -1;
	}
	return ret < 0 ? -1 : 0;
}

int accounts_user_passwd(struct accounts *acc, const char *address, const char *password,
			 const char **error_r)
{
	char *hash;
	int ret;

	if (password[0] == '\0') {
		*error_r = set_error(acc, "%s", "empty password");
		return -1;
	}
	if ((hash = password_hash(password)) == NULL) {
		*error_r = set_error(acc, "%s", "password hashing failed");
		return -1;
	}
	/* an APOP user's secret follows the new password */
	ret = exec_text(acc, "UPDATE users SET hash = ?2, apop_secret = CASE WHEN apop_secret "
			"IS NULL THEN NULL ELSE ?3 END WHERE address = lower(?1)",
			address, hash, password, error_r);
	explicit_bzero(hash, strlen(hash));
	free(hash);
	if (ret == 0) {
		*error_r = set_error(acc, "no such user: %s", address);
		return -1;
	}
	return ret < 0 ? -1 : 0;
}

/* One text column of the row for address; 1 found (*value_r malloc'd, may be
   NULL for SQL NULL), 0 not found, -1 error. */
static int user_column(struct accounts *acc, const char *sql, const char *address,
		       char **value_r)
{
	sqlite3_stmt *stmt;
	int rc, ret;

	*value_r = NULL;
	if (sqlite3_prepare_v2(acc->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(stmt, 1, address, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(stmt, 0);

		*value_r = v == NULL ? NULL : i_strdup((const char *)v);
		ret = 1;
	} else {
		ret = rc == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(stmt);
	return ret;
}

int accounts_user_exists(struct accounts *acc, const char *address)
{
	char *v;
	int ret = user_column(acc, "SELECT 1 FROM users WHERE address = lower(?1)", address, &v);

	free(v);
	return ret;
}

int accounts_user_list(struct accounts *acc, void (*cb)(const char *address, bool apop, void *ctx),
		       void *ctx, const char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(acc->db, "SELECT address, apop_secret IS NOT NULL FROM users "
			       "ORDER BY substr(address, instr(address, '@') + 1), address",
			       -1, &stmt, NULL) != SQLITE_OK) {
		*error_r = db_error(acc, "prepare");
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(stmt, 0), sqlite3_column_int(stmt, 1) != 0, ctx);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*error_r = db_error(acc, "list");
		return -1;
	}
	return 0;
}

int accounts_user_verify(struct accounts *acc, const char *address, const char *password)
{
	char *hash;
	int ret = user_column(acc, "SELECT hash FROM users WHERE address = lower(?1)", address,
			      &hash);

	if (ret <= 0 || hash == NULL) {
		/* same work as a real check: no user enumeration by timing */
		password_verify_dummy(password);
		free(hash);
		return ret < 0 ? -1 : 0;
	}
	ret = password_verify(password, hash);
	free(hash);
	return ret;
}

int accounts_user_apop_secret(struct accounts *acc, struct arena *arena, const char *address,
			      const char **secret_r)
{
	char *secret;
	int ret = user_column(acc, "SELECT apop_secret FROM users WHERE address = lower(?1)",
			      address, &secret);

	*secret_r = NULL;
	if (ret <= 0)
		return ret;
	if (secret == NULL)
		return 0;
	*secret_r = arena_strdup(arena, secret);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	return 1;
}

int accounts_alias_add(struct accounts *acc, const char *alias, const char *const *targets,
		       size_t count, const char **error_r)
{
	struct arena *arena = arena_new(0);
	const char *norm, *t;
	size_t i;
	int ret = -1;

	if ((norm = normalize_alias(arena, alias)) == NULL) {
		*error_r = set_error(acc, "not a valid alias: %s", alias);
		goto out;
	}
	if (norm[0] == '@' ? !accounts_domain_is_local(acc, norm + 1) :
	    !accounts_address_is_local(acc, norm)) {
		*error_r = set_error(acc, "%s is not in a local domain", norm);
		goto out;
	}
	if (count == 0) {
		*error_r = set_error(acc, "%s", "an alias needs at least one target");
		goto out;
	}
	if (sqlite3_exec(acc->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = db_error(acc, "begin");
		goto out;
	}
	for (i = 0; i < count; i++) {
		if ((t = accounts_normalize(arena, targets[i])) == NULL) {
			*error_r = set_error(acc, "not a valid target address: %s", targets[i]);
			sqlite3_exec(acc->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		if (strcmp(t, norm) == 0 && accounts_user_exists(acc, norm) <= 0) {
			*error_r = set_error(acc, "alias %s cannot point to itself (only an account "
					     "of that name can keep a copy)", norm);
			sqlite3_exec(acc->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		if (exec_text(acc, "INSERT OR IGNORE INTO aliases (alias, target) VALUES (?1, ?2)",
			      norm, t, NULL, error_r) < 0) {
			sqlite3_exec(acc->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	}
	/* with the new rows in place (this transaction sees them): every
	   local target must reach a mailbox, which also refuses a loop back
	   through this alias */
	for (i = 0; i < count; i++) {
		struct accounts_target *found;
		unsigned int n;
		int r;

		t = accounts_normalize(arena, targets[i]);
		if (strcmp(t, norm) == 0 || !accounts_address_is_local(acc, t))
			continue;
		r = accounts_resolve(acc, arena, t, &found, &n, error_r);
		if (r <= 0) {
			if (r == 0)
				*error_r = set_error(acc, "alias %s: target %s does not exist (no "
						     "account, alias or catch-all for it%s)", norm, t,
						     alias_exact_exists(acc, t) > 0 ?
						     "; its aliases loop" : "");
			sqlite3_exec(acc->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	}
	if (sqlite3_exec(acc->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = db_error(acc, "commit");
		sqlite3_exec(acc->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	ret = 0;
out:
	arena_free(&arena);
	return ret;
}

int accounts_alias_del(struct accounts *acc, const char *alias, const char *target,
		       const char **error_r)
{
	int ret;

	if (target == NULL)
		ret = exec_text(acc, "DELETE FROM aliases WHERE alias = lower(?1)", alias, NULL,
				NULL, error_r);
	else
		ret = exec_text(acc, "DELETE FROM aliases WHERE alias = lower(?1) AND "
				"target = lower(?2)", alias, target, NULL, error_r);
	if (ret == 0) {
		*error_r = set_error(acc, "no such alias: %s", alias);
		return -1;
	}
	return ret < 0 ? -1 : 0;
}

int accounts_alias_list(struct accounts *acc,
			void (*cb)(const char *alias, const char *target, void *ctx), void *ctx,
			const char **error_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(acc->db, "SELECT alias, target FROM aliases ORDER BY alias, target",
			       -1, &stmt, NULL) != SQLITE_OK) {
		*error_r = db_error(acc, "prepare");
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(stmt, 0),
		   (const char *)sqlite3_column_text(stmt, 1), ctx);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*error_r = db_error(acc, "list");
		return -1;
	}
	return 0;
}

struct resolve_ctx {
	struct accounts *acc;
	struct arena *arena;
	struct accounts_target *targets;
	unsigned int count, alloc;
	const char **seen;        /* every address expanded so far (loop safety) */
	unsigned int seen_count, seen_alloc;
	bool failed;
};

static bool resolve_seen(struct resolve_ctx *ctx, const char *address)
{
	unsigned int i;

	for (i = 0; i < ctx->seen_count; i++) {
		if (strcmp(ctx->seen[i], address) == 0)
			return true;
	}
	if (ctx->seen_count == ctx->seen_alloc) {
		unsigned int n = ctx->seen_alloc == 0 ? 16 : ctx->seen_alloc * 2;

		ctx->seen = arena_realloc(ctx->arena, ctx->seen, sizeof(*ctx->seen) * ctx->seen_alloc,
					  sizeof(*ctx->seen) * n);
		ctx->seen_alloc = n;
	}
	ctx->seen[ctx->seen_count++] = address;
	return false;
}

static void resolve_add(struct resolve_ctx *ctx, const char *address, bool local)
{
	unsigned int i;

	for (i = 0; i < ctx->count; i++) {
		if (strcmp(ctx->targets[i].address, address) == 0)
			return;   /* one copy per final mailbox */
	}
	if (ctx->count >= ACCOUNTS_RESOLVE_MAX_TARGETS)
		return;
	if (ctx->count == ctx->alloc) {
		unsigned int n = ctx->alloc == 0 ? 8 : ctx->alloc * 2;

		ctx->targets = arena_realloc(ctx->arena, ctx->targets,
					     sizeof(*ctx->targets) * ctx->alloc,
					     sizeof(*ctx->targets) * n);
		ctx->alloc = n;
	}
	ctx->targets[ctx->count].address = address;
	ctx->targets[ctx->count].local = local;
	ctx->count++;
}

/* The targets of an alias key; NULL-terminated array in arena, or NULL if none. */
static const char **alias_targets(struct resolve_ctx *ctx, const char *key)
{
	sqlite3_stmt *stmt;
	const char **list = NULL;
	unsigned int n = 0, alloc = 0;
	int rc;

	if (sqlite3_prepare_v2(ctx->acc->db, "SELECT target FROM aliases WHERE alias = ?1 "
			       "ORDER BY target", -1, &stmt, NULL) != SQLITE_OK) {
		ctx->failed = true;
		return NULL;
	}
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n + 1 >= alloc) {
			unsigned int na = alloc == 0 ? 8 : alloc * 2;

			list = arena_realloc(ctx->arena, list, sizeof(*list) * alloc,
					     sizeof(*list) * na);
			alloc = na;
		}
		list[n++] = arena_strdup(ctx->arena, (const char *)sqlite3_column_text(stmt, 0));
		list[n] = NULL;
	}
	if (rc != SQLITE_DONE)
		ctx->failed = true;
	sqlite3_finalize(stmt);
	return list;
}

static bool resolve_admin(struct resolve_ctx *ctx, const char *address, unsigned int depth);

/* Returns true when address led somewhere. */
static bool resolve_address(struct resolve_ctx *ctx, const char *address, unsigned int depth)
{
	const char *at = strrchr(address, '@');
	const char *domain = at + 1;
	const char **targets;
	const char *plus;
	bool found = false;
	unsigned int i;
	int exists;

	if (!accounts_address_is_local(ctx->acc, address)) {
		resolve_add(ctx, address, false);
		return true;
	}
	if (depth > ACCOUNTS_RESOLVE_MAX_DEPTH || resolve_seen(ctx, address))
		return false;

	targets = alias_targets(ctx, address);
	if (targets != NULL) {
		for (i = 0; targets[i] != NULL; i++) {
			/* an alias listing itself keeps a copy in its own mailbox */
			if (strcmp(targets[i], address) == 0) {
				if (accounts_user_exists(ctx->acc, address) > 0) {
					resolve_add(ctx, address, true);
					found = true;
				}
				continue;
			}
			if (resolve_address(ctx, targets[i], depth + 1))
				found = true;
		}
		return found;
	}
	if (!accounts_domain_is_local(ctx->acc, domain)) {
		/* root@hostname and the like: only the administrator */
		return resolve_admin(ctx, address, depth);
	}
	exists = accounts_user_exists(ctx->acc, address);
	if (exists < 0) {
		ctx->failed = true;
		return false;
	}
	if (exists > 0) {
		resolve_add(ctx, address, true);
		return true;
	}
	/* user+detail@domain: deliver to user@domain (subaddressing) */
	plus = memchr(address, '+', (size_t)(at - address));
	if (plus != NULL && plus != address) {
		const char *base = arena_printf(ctx->arena, "%.*s%s", (int)(plus - address),
						address, at);

		if (resolve_address(ctx, base, depth + 1))
			return true;
	}
	/* catch-all */
	targets = alias_targets(ctx, arena_printf(ctx->arena, "@%s", domain));
	if (targets != NULL) {
		for (i = 0; targets[i] != NULL; i++) {
			if (resolve_address(ctx, targets[i], depth + 1))
				found = true;
		}
		if (found)
			return true;
	}
	/* RFC 5321 4.5.1: postmaster always exists; without an alias or a user
	   of its own it is the administrator */
	return resolve_admin(ctx, address, depth);
}

/* A system address (is_system_address) nothing else claimed: the
   administrator's address, resolved in turn. */
static bool resolve_admin(struct resolve_ctx *ctx, const char *address, unsigned int depth)
{
	bool at_host;

	if (ctx->acc->postmaster == NULL || !is_system_address(ctx->acc, address, &at_host))
		return false;
	/* the targets live in the caller's arena, beyond this handle */
	return resolve_address(ctx, arena_strdup(ctx->arena, ctx->acc->postmaster), depth + 1);
}

int accounts_resolve(struct accounts *acc, struct arena *arena, const char *address,
		     struct accounts_target **targets_r, unsigned int *count_r,
		     const char **error_r)
{
	struct resolve_ctx ctx;
	const char *norm = accounts_normalize(arena, address);

	*targets_r = NULL;
	*count_r = 0;
	if (norm == NULL)
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.acc = acc;
	ctx.arena = arena;
	(void)resolve_address(&ctx, norm, 0);
	if (ctx.failed) {
		*error_r = db_error(acc, "lookup");
		return -1;
	}
	*targets_r = ctx.targets;
	*count_r = ctx.count;
	return ctx.count > 0 ? 1 : 0;
}

static int alias_exact_exists(struct accounts *acc, const char *alias)
{
	char *v;
	int ret = user_column(acc, "SELECT 1 FROM aliases WHERE alias = ?1 LIMIT 1", alias, &v);

	free(v);
	return ret;
}

int accounts_user_may_send_as(struct accounts *acc, const char *user, const char *from)
{
	struct arena *arena;
	struct accounts_target *targets;
	const char *norm_user, *norm_from, *err;
	unsigned int i, count;
	int ret = 0;

	arena = arena_new(0);
	norm_user = accounts_normalize(arena, user);
	norm_from = accounts_normalize(arena, from);
	if (norm_user == NULL || norm_from == NULL) {
		arena_free(&arena);
		return 0;
	}
	if (strcmp(norm_user, norm_from) == 0) {
		arena_free(&arena);
		return 1;
	}
	/* an address whose mail reaches this user, other than by catch-all */
	switch (accounts_resolve(acc, arena, norm_from, &targets, &count, &err)) {
	case -1:
		ret = -1;
		break;
	case 1:
		for (i = 0; i < count; i++) {
			if (targets[i].local && strcmp(targets[i].address, norm_user) == 0)
				ret = 1;
		}
		if (ret == 1) {
			/* a catch-all must not let a user send as anyone@domain */
			if (alias_exact_exists(acc, norm_from) <= 0 &&
			    strchr(norm_from, '+') == NULL)
				ret = 0;
		}
		break;
	default:
		break;
	}
	arena_free(&arena);
	return ret;
}
