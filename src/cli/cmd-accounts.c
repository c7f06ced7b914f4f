/*
 * tern user|alias|domain: accounts, aliases and local domains in
 * data_dir/accounts.db. A running server sees changes at once.
 */
#include "lib.h"
#include "cli.h"
#include "cli-common.h"
#include "accounts.h"
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

/* Common start: -c FILE out of argv, settings, accounts. */
static struct accounts *open_for_command(int *argc, char **argv, struct tern_settings **set_r)
{
	const char *config_path;
	struct accounts *acc;

	if (cli_take_config_opt(argc, argv, &config_path) < 0) {
		fprintf(stderr, "tern: -c needs a file name\n");
		return NULL;
	}
	if ((*set_r = cli_load_settings(config_path)) == NULL)
		return NULL;
	if ((acc = cli_open_accounts(*set_r)) == NULL)
		settings_free(set_r);
	return acc;
}

static int finish(struct accounts **acc, struct tern_settings **set, int ret, const char *error)
{
	if (ret < 0 && error != NULL)
		fprintf(stderr, "tern: %s\n", error);
	accounts_close(acc);
	settings_free(set);
	return ret < 0 ? 1 : 0;
}

/* Returned by a subcommand runner for bad usage. */
#define RUN_USAGE (-2)

/* One subcommand of user|alias|domain on an open accounts.db: 0, -1 with
   *error_r (NULL when already reported), or RUN_USAGE. argv[1] is the
   subcommand; -c FILE is already taken out. */
typedef int accounts_run(struct accounts *acc, const char *sub, int argc, char **argv,
			 const char **error_r);

/* What user, alias and domain share: usage, -c FILE, settings, accounts.db,
   the exit status. */
static int accounts_command(int argc, char **argv, const char *usage, accounts_run *run)
{
	struct tern_settings *set = NULL;
	struct accounts *acc;
	const char *error = NULL;
	int ret;

	if (argc < 2) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	if ((acc = open_for_command(&argc, argv, &set)) == NULL)
		return 1;
	/* "tern user -c FILE": nothing left once -c FILE is taken out */
	ret = argc < 2 ? RUN_USAGE : run(acc, argv[1], argc, argv, &error);
	if (ret == RUN_USAGE) {
		fputs(usage, stderr);
		finish(&acc, &set, 0, NULL);
		return EX_USAGE;
	}
	return finish(&acc, &set, ret, error);
}

static int run_user(struct accounts *acc, const char *sub, int argc, char **argv,
		    const char **error_r)
{
	bool apop = false;
	char *pw;
	int i, ret;

	/* --apop anywhere after the subcommand */
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--apop") == 0) {
			apop = true;
			memmove(&argv[i], &argv[i + 1], sizeof(*argv) * (size_t)(argc - i));
			argc--;
			i--;
		}
	}
	if (strcmp(sub, "list") == 0 && argc == 2)
		return accounts_user_list(acc, print_user, NULL, error_r);
	if (strcmp(sub, "add") == 0 && argc == 3) {
		if ((pw = cli_read_password("Password: ")) == NULL)
			return -1;
		ret = accounts_user_add(acc, argv[2], pw, apop, error_r);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		if (ret == 0)
			printf("added %s%s\n", argv[2], apop ? " (APOP enabled)" : "");
		return ret;
	}
	if (strcmp(sub, "passwd") == 0 && argc == 3 && !apop) {
		if (accounts_user_exists(acc, argv[2]) <= 0) {
			*error_r = "no such user";
			return -1;
		}
		if ((pw = cli_read_password("New password: ")) == NULL)
			return -1;
		ret = accounts_user_passwd(acc, argv[2], pw, error_r);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		return ret;
	}
	if (strcmp(sub, "del") == 0 && argc == 3 && !apop)
		return accounts_user_del(acc, argv[2], error_r);
	return RUN_USAGE;
}

int cmd_user(int argc, char **argv)
{
	return accounts_command(argc, argv,
		"usage: tern user add [-c FILE] [--apop] ADDRESS   (password from stdin or prompted)\n"
		"       tern user passwd [-c FILE] ADDRESS\n"
		"       tern user del [-c FILE] ADDRESS\n"
		"       tern user list [-c FILE]\n", run_user);
}

static int run_alias(struct accounts *acc, const char *sub, int argc, char **argv,
		     const char **error_r)
{
	if (strcmp(sub, "list") == 0 && argc == 2)
		return accounts_alias_list(acc, print_alias, NULL, error_r);
	if (strcmp(sub, "add") == 0 && argc >= 4)
		return accounts_alias_add(acc, argv[2], (const char *const *)&argv[3],
					  (size_t)(argc - 3), error_r);
	if (strcmp(sub, "del") == 0 && (argc == 3 || argc == 4))
		return accounts_alias_del(acc, argv[2], argc == 4 ? argv[3] : NULL, error_r);
	return RUN_USAGE;
}

int cmd_alias(int argc, char **argv)
{
	return accounts_command(argc, argv,
		"usage: tern alias add [-c FILE] ALIAS TARGET...   (ALIAS: name@domain, or @domain for a catch-all)\n"
		"       tern alias del [-c FILE] ALIAS [TARGET]\n"
		"       tern alias list [-c FILE]\n", run_alias);
}

static int run_domain(struct accounts *acc, const char *sub, int argc, char **argv,
		      const char **error_r)
{
	if (strcmp(sub, "list") == 0 && argc == 2)
		return accounts_domain_list(acc, print_domain, NULL, error_r);
	if (strcmp(sub, "add") == 0 && argc == 3)
		return accounts_domain_add(acc, argv[2], error_r);
	if (strcmp(sub, "del") == 0 && argc == 3)
		return accounts_domain_del(acc, argv[2], error_r);
	return RUN_USAGE;
}

int cmd_domain(int argc, char **argv)
{
	return accounts_command(argc, argv,
		"usage: tern domain add|del [-c FILE] DOMAIN\n"
		"       tern domain list [-c FILE]\n", run_domain);
}
