/*
 * tern user|alias|domain: accounts, aliases and local domains in
 * data_dir/accounts.db. A running server sees changes at once.
 */
#include "lib.h"
#include "cli.h"
#include "cli-common.h"
#include "accounts.h"
#include "arena.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>

static void print_user(const char *address, bool apop, void *ctx)
{
	printf("%s%s\n", address, apop ? " apop" : "");
}

static void print_alias(const char *alias, const char *target, void *ctx)
{
	printf("%s %s\n", alias, target);
}

static void print_domain(const char *domain, bool from_config, void *ctx)
{
	printf("%s%s\n", domain, from_config ? " (config)" : "");
}

/* user del: the aliases that list the deleted address among their targets */
struct alias_scan {
	const char *target;
	struct arena *arena;
	const char **aliases;
	unsigned int count, alloc;
};

static void find_alias_target(const char *alias, const char *target, void *ctx)
{
	struct alias_scan *scan = ctx;

	if (i_strcasecmp(target, scan->target) != 0)
		return;
	if (scan->count == scan->alloc) {
		scan->alloc = scan->alloc == 0 ? 8 : scan->alloc * 2;
		scan->aliases = i_realloc(scan->aliases, sizeof(*scan->aliases) * scan->alloc);
	}
	scan->aliases[scan->count++] = arena_strdup(scan->arena, alias);
}

/* After user del: what still points at the address that is gone (issue 9:
   an alias must not lead to a mailbox nobody owns), said as warnings. */
static void warn_dangling(const struct tern_settings *set, struct accounts *acc,
			  const char *address)
{
	struct alias_scan scan;
	const char *error;
	unsigned int i;

	memset(&scan, 0, sizeof(scan));
	scan.target = address;
	scan.arena = arena_new(0);
	if (accounts_alias_list(acc, find_alias_target, &scan, &error) == 0) {
		for (i = 0; i < scan.count; i++)
			fprintf(stderr, "tern: warning: alias %s still lists %s, which no longer "
				"exists (tern alias del %s %s)\n", scan.aliases[i], address,
				scan.aliases[i], address);
	}
	if (set->postmaster[0] != '\0' && i_strcasecmp(set->postmaster, address) == 0)
		fprintf(stderr, "tern: warning: %s is the postmaster of %s: mail to postmaster@ "
			"and root gets 451 until it exists again or postmaster names another "
			"address\n", address, set->config_path != NULL ? set->config_path : "--dev");
	free(scan.aliases);
	arena_free(&scan.arena);
}

/* Returned by a subcommand runner for bad usage. */
#define RUN_USAGE (-2)

/* One subcommand of user|alias|domain on an open accounts.db: 0, -1 with
   *error_r (NULL when already reported), or RUN_USAGE. argv[1] is the
   subcommand; the options of struct cli_opts are already taken out. */
typedef int accounts_run(const struct tern_settings *set, struct accounts *acc, const char *sub,
			 int argc, char **argv, bool apop, const char **error_r);

/* A subcommand's name and how many words may follow it. */
struct sub_spec {
	const char *name;
	int min_args, max_args;     /* -1: no maximum */
};

static accounts_run run_user, run_alias, run_domain;

static bool usage_ok(const struct sub_spec *specs, int argc, char **argv)
{
	int nargs = argc - 2;

	if (argc < 2)
		return false;
	for (; specs->name != NULL; specs++) {
		if (strcmp(argv[1], specs->name) == 0)
			return nargs >= specs->min_args &&
				(specs->max_args < 0 || nargs <= specs->max_args);
	}
	return false;
}

/* Take "--apop" out of argv (anywhere after the subcommand). */
static bool take_apop(int *argc, char **argv)
{
	bool apop = false;
	int i;

	for (i = 2; i < *argc; i++) {
		if (strcmp(argv[i], "--apop") == 0) {
			apop = true;
			memmove(&argv[i], &argv[i + 1], sizeof(*argv) * (size_t)(*argc - i));
			(*argc)--;
			i--;
		}
	}
	return apop;
}

/* What user, alias and domain share: --help, usage checked before anything
   is opened, -c FILE or --dev, settings, accounts.db, the exit status. */
static int accounts_command(int argc, char **argv, const char *usage,
			    const struct sub_spec *specs, accounts_run *run)
{
	struct tern_settings *set;
	struct accounts *acc;
	struct cli_opts opts;
	const char *error = NULL;
	bool apop;
	int i, ret;

	if (cli_take_opts(&argc, argv, &opts) < 0) {
		fprintf(stderr, "tern: -c needs a file name\n");
		fputs(usage, stderr);
		return EX_USAGE;
	}
	for (i = 1; i < argc && !opts.help; i++)
		opts.help = strcmp(argv[i], "-h") == 0 || (i == 1 && strcmp(argv[i], "help") == 0);
	if (opts.help) {
		fputs(usage, stdout);
		return EX_OK;
	}
	/* only user add takes --apop */
	apop = take_apop(&argc, argv);
	if (!usage_ok(specs, argc, argv) || (opts.dev && opts.config_path != NULL) ||
	    (apop && (run != run_user || strcmp(argv[1], "add") != 0))) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	if ((set = cli_settings(&opts)) == NULL)
		return 1;
	if ((acc = cli_open_accounts(set)) == NULL) {
		settings_free(&set);
		return 1;
	}
	ret = run(set, acc, argv[1], argc, argv, apop, &error);
	if (ret == RUN_USAGE)
		fputs(usage, stderr);
	else if (ret < 0 && error != NULL)
		fprintf(stderr, "tern: %s\n", error);
	accounts_close(&acc);
	settings_free(&set);
	return ret == RUN_USAGE ? EX_USAGE : ret < 0 ? 1 : 0;
}

static int run_user(const struct tern_settings *set, struct accounts *acc, const char *sub,
		    int argc, char **argv, bool apop, const char **error_r)
{
	char *pw;
	int ret;

	if (strcmp(sub, "list") == 0)
		return accounts_user_list(acc, print_user, NULL, error_r);
	if (strcmp(sub, "add") == 0) {
		if ((pw = cli_read_password("Password: ")) == NULL)
			return -1;
		ret = accounts_user_add(acc, argv[2], pw, apop, error_r);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		if (ret == 0)
			printf("added %s%s\n", argv[2], apop ? " (APOP enabled)" : "");
		return ret;
	}
	if (strcmp(sub, "passwd") == 0) {
		if (accounts_user_exists(acc, argv[2]) <= 0) {
			*error_r = "no such user";
			return -1;
		}
		if ((pw = cli_read_password("New password: ")) == NULL)
			return -1;
		ret = accounts_user_passwd(acc, argv[2], pw, error_r);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		if (ret == 0)
			printf("changed the password of %s\n", argv[2]);
		return ret;
	}
	if (strcmp(sub, "del") == 0) {
		if (accounts_user_del(acc, argv[2], error_r) < 0)
			return -1;
		printf("deleted %s (its mail stays in %s/mail until you remove it)\n", argv[2],
		       set->data_dir);
		warn_dangling(set, acc, argv[2]);
		return 0;
	}
	return RUN_USAGE;
}

int cmd_user(int argc, char **argv)
{
	static const struct sub_spec specs[] = {
		{ "add", 1, 1 }, { "passwd", 1, 1 }, { "del", 1, 1 }, { "list", 0, 0 }, { NULL, 0, 0 },
	};

	return accounts_command(argc, argv,
		"usage: tern user add [-c FILE | --dev] [--apop] ADDRESS   add an account; the password\n"
		"                                                          from stdin (one line) or prompted\n"
		"       tern user passwd [-c FILE | --dev] ADDRESS         change its password\n"
		"       tern user del [-c FILE | --dev] ADDRESS            delete it (its Maildir stays)\n"
		"       tern user list [-c FILE | --dev]                   list the accounts\n", specs,
		run_user);
}

static int run_alias(const struct tern_settings *set, struct accounts *acc, const char *sub,
		     int argc, char **argv, bool apop, const char **error_r)
{
	struct arena *arena;
	int i;

	if (strcmp(sub, "list") == 0)
		return accounts_alias_list(acc, print_alias, NULL, error_r);
	if (strcmp(sub, "del") == 0) {
		if (accounts_alias_del(acc, argv[2], argc == 4 ? argv[3] : NULL, error_r) < 0)
			return -1;
		if (argc == 4)
			printf("removed %s from alias %s\n", argv[3], argv[2]);
		else
			printf("deleted alias %s\n", argv[2]);
		return 0;
	}
	if (accounts_alias_add(acc, argv[2], (const char *const *)&argv[3], (size_t)(argc - 3),
			       error_r) < 0)
		return -1;
	arena = arena_new(0);
	printf("added alias %s ->", argv[2]);
	for (i = 3; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	for (i = 3; i < argc; i++) {
		const char *t = accounts_normalize(arena, argv[i]);

		/* RFC 5321 3.9.1: forwarding; the target's server decides */
		if (t != NULL && !accounts_address_is_local(acc, t))
			fprintf(stderr, "tern: warning: %s is not local: mail to %s is forwarded "
				"there, and this server cannot tell whether it exists\n", t, argv[2]);
	}
	arena_free(&arena);
	return 0;
}

int cmd_alias(int argc, char **argv)
{
	static const struct sub_spec specs[] = {
		{ "add", 2, -1 }, { "del", 1, 2 }, { "list", 0, 0 }, { NULL, 0, 0 },
	};

	return accounts_command(argc, argv,
		"usage: tern alias add [-c FILE | --dev] ALIAS TARGET...   mail to ALIAS goes to every\n"
		"                                                          TARGET (local or remote); ALIAS:\n"
		"                                                          name@domain, @domain (catch-all),\n"
		"                                                          or root@HOSTNAME\n"
		"       tern alias del [-c FILE | --dev] ALIAS [TARGET]    delete it, or one of its targets\n"
		"       tern alias list [-c FILE | --dev]                  list aliases and targets\n",
		specs, run_alias);
}

static int run_domain(const struct tern_settings *set, struct accounts *acc, const char *sub,
		      int argc, char **argv, bool apop, const char **error_r)
{
	if (strcmp(sub, "list") == 0)
		return accounts_domain_list(acc, print_domain, NULL, error_r);
	if (strcmp(sub, "add") == 0) {
		/* nothing to add: said, so that the administrator is not misled */
		if (accounts_domain_is_local(acc, argv[2])) {
			printf("%s is a local domain already\n", argv[2]);
			return 0;
		}
		if (accounts_domain_add(acc, argv[2], error_r) < 0)
			return -1;
		printf("added domain %s\n", argv[2]);
		return 0;
	}
	if (accounts_domain_del(acc, argv[2], error_r) < 0)
		return -1;
	printf("deleted domain %s\n", argv[2]);
	return 0;
}

int cmd_domain(int argc, char **argv)
{
	static const struct sub_spec specs[] = {
		{ "add", 1, 1 }, { "del", 1, 1 }, { "list", 0, 0 }, { NULL, 0, 0 },
	};

	return accounts_command(argc, argv,
		"usage: tern domain add [-c FILE | --dev] DOMAIN   receive mail for DOMAIN here\n"
		"       tern domain del [-c FILE | --dev] DOMAIN   stop (domains of the config file stay)\n"
		"       tern domain list [-c FILE | --dev]         list the local domains\n", specs,
		run_domain);
}
