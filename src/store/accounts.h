#ifndef TERN_ACCOUNTS_H
#define TERN_ACCOUNTS_H

#include "lib.h"

/*
 * Accounts, local domains and aliases in data_dir/accounts.db (SQLite, WAL
 * mode so the server and `tern user|alias|domain` share it safely). Every
 * lookup reads the database, so changes take effect in a running server
 * without a restart. All accounts are virtual; addresses are compared
 * case-insensitively (stored lowercased).
 *
 * A handle is not thread-safe: open one per thread.
 */

struct arena;
struct accounts;

/* Open (creating when missing) data_dir/accounts.db. config_domains are the
   local domains from the config, which count as local beside the ones in the
   database. Returns 0, or -1 with *error_r (static or arena-free text valid
   until the next call). */
int accounts_open(const char *data_dir, const char *const *config_domains,
		  size_t config_domains_count, struct accounts **acc_r, const char **error_r);
void accounts_close(struct accounts **acc);
/* Open an existing data_dir/accounts.db for reading only, creating and
   changing nothing, not even SQLite's -wal and -shm files (for `tern serve
   --check`). Without a -wal file (no writer since the last clean close)
   the file is read as immutable; with one, read-only through it. A writer
   at the same moment may be seen half-way: for checks and warnings only.
   Returns 0, or -1 with *error_r (errno ENOENT when there is no file). */
int accounts_open_readonly(const char *data_dir, const char *const *config_domains,
			   size_t config_domains_count, struct accounts **acc_r,
			   const char **error_r);

/* The server's own addresses (RFC 5321 4.5.1): hostname is the machine's
   name (set->hostname), postmaster the administrator's address (the
   `postmaster` key; "" or NULL: none). Once set, unless an alias or an
   account says otherwise:
     - postmaster@ every local domain,
     - postmaster, root, mailer-daemon and noreply-dmarc (the default
       sender of DMARC reports) at hostname, and the name of any
       Unix account of this machine at hostname (cron's and sendmail's
       senders: root@, www-data@),
   lead to postmaster. An alias for such an address (root@hostname) sends
   it elsewhere. Without a postmaster they are unknown. The strings are
   copied. */
void accounts_set_system(struct accounts *acc, const char *hostname, const char *postmaster);

struct tern_settings;
/* accounts_open() with the settings' data_dir and domains, then
   accounts_set_system() with their hostname and postmaster. */
int accounts_open_settings(const struct tern_settings *set, struct accounts **acc_r,
			   const char **error_r);

/* Lowercase and check "local@domain" (RFC 5321 4.1.2 shapes, UTF-8 allowed).
   Returns an arena copy, or NULL when it is not a plausible address. */
const char *accounts_normalize(struct arena *arena, const char *address);

/* Domains. */
bool accounts_domain_is_local(struct accounts *acc, const char *domain);
/* Is address (normalized) ours to resolve: in a local domain, or one of
   the system addresses at the hostname (accounts_set_system), or an alias
   for an address at the hostname? */
bool accounts_address_is_local(struct accounts *acc, const char *address);
int accounts_domain_add(struct accounts *acc, const char *domain, const char **error_r);
int accounts_domain_del(struct accounts *acc, const char *domain, const char **error_r);
/* Calls cb for every local domain (config ones first, flagged). */
int accounts_domain_list(struct accounts *acc,
			 void (*cb)(const char *domain, bool from_config, void *ctx), void *ctx,
			 const char **error_r);

/* Users. apop: also keep a recoverable secret for POP3 APOP (RFC 1939 7),
   which is password-equivalent (docs/security.md says so). */
int accounts_user_add(struct accounts *acc, const char *address, const char *password,
		      bool apop, const char **error_r);
int accounts_user_del(struct accounts *acc, const char *address, const char **error_r);
int accounts_user_passwd(struct accounts *acc, const char *address, const char *password,
			 const char **error_r);
/* 1 exists, 0 not, -1 error. */
int accounts_user_exists(struct accounts *acc, const char *address);
int accounts_user_list(struct accounts *acc, void (*cb)(const char *address, bool apop, void *ctx),
		       void *ctx, const char **error_r);
/* Check a password: 1 good, 0 bad or no such user (the same time either
   way), -1 error. */
int accounts_user_verify(struct accounts *acc, const char *address, const char *password);
/* The APOP secret: 1 and *secret_r (arena), 0 none, -1 error. */
int accounts_user_apop_secret(struct accounts *acc, struct arena *arena, const char *address,
			      const char **secret_r);

/* Aliases: ALIAS is "local@domain" (a local domain, or a system address
   at the hostname such as root@hostname) or "@domain" (catch-all);
   targets are addresses, local or remote. Refused, with a message naming
   the culprit: an alias whose target is itself (unless it is also an
   account, which keeps a copy), a local target that leads to no mailbox
   (no account, alias or catch-all for it, or a loop back through this
   alias). Remote targets are the caller's to warn about
   (accounts_address_is_local()). */
int accounts_alias_add(struct accounts *acc, const char *alias, const char *const *targets,
		       size_t count, const char **error_r);
/* target NULL: remove the whole alias. */
int accounts_alias_del(struct accounts *acc, const char *alias, const char *target,
		       const char **error_r);
int accounts_alias_list(struct accounts *acc,
			void (*cb)(const char *alias, const char *target, void *ctx), void *ctx,
			const char **error_r);

struct accounts_target {
	const char *address;   /* lowercased final address */
	bool local;            /* a local mailbox (user, or the implicit postmaster) */
};

/* Where mail for address goes: aliases expanded recursively (loop-safe,
   bounded depth and count, duplicates removed), then users; "user+detail"
   falls back to "user"; "@domain" catch-all next; then the system
   addresses of accounts_set_system() (RFC 5321 4.5.1). Non-local
   addresses resolve to themselves (remote). Returns 1 with targets in arena, 0 for an unknown
   local recipient, -1 on error. */
int accounts_resolve(struct accounts *acc, struct arena *arena, const char *address,
		     struct accounts_target **targets_r, unsigned int *count_r,
		     const char **error_r);

/* May user send with this MAIL FROM? Its own address, or an alias that
   leads to it. 1 yes, 0 no, -1 error. */
int accounts_user_may_send_as(struct accounts *acc, const char *user, const char *from);

#endif
