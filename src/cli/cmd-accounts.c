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

int cmd_user(int argc, char **argv)
{
	static const char usage[] =
		"usage: tern user add [-c FILE] [--apop] ADDRESS   (password from stdin or prompted)\n"
		"       tern user passwd [-c FILE] ADDRESS\n"
		"       tern user del [-c FILE] ADDRESS\n"
		"       tern user list [-c FILE]\n";
	struct tern_settings *set = NULL;
	struct accounts *acc;
	const char *error = NULL, *sub;
	bool apop = false;
	char *pw;
	int i, ret = -1;

	if (argc < 2) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	sub = argv[1];
	if ((acc = open_for_command(&argc, argv, &set)) == NULL)
		return 1;
	/* --apop anywhere after the subcommand */
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--apop") == 0) {
			apop = true;
			memmove(&argv[i], &argv[i + 1], sizeof(*argv) * (size_t)(argc - i));
			argc--;
			i--;
		}
	}
	if (strcmp(sub, "list") == 0 && argc == 2) {
		ret = accounts_user_list(acc, print_user, NULL, &error);
	} else if (strcmp(sub, "add") == 0 && argc == 3) {
		if ((pw = cli_read_password("Password: ")) == NULL)
			return finish(&acc, &set, -1, NULL);
		ret = accounts_user_add(acc, argv[2], pw, apop, &error);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		if (ret == 0)
			printf("added %s%s\n", argv[2], apop ? " (APOP enabled)" : "");
	} else if (strcmp(sub, "passwd") == 0 && argc == 3 && !apop) {
		if (accounts_user_exists(acc, argv[2]) <= 0)
			return finish(&acc, &set, -1, "no such user");
		if ((pw = cli_read_password("New password: ")) == NULL)
			return finish(&acc, &set, -1, NULL);
		ret = accounts_user_passwd(acc, argv[2], pw, &error);
		explicit_bzero(pw, strlen(pw));
		free(pw);
	} else if (strcmp(sub, "del") == 0 && argc == 3 && !apop) {
		ret = accounts_user_del(acc, argv[2], &error);
	} else {
		fputs(usage, stderr);
		finish(&acc, &set, 0, NULL);
		return EX_USAGE;
	}
	return finish(&acc, &set, ret, error);
}

int cmd_alias(int argc, char **argv)
{
	static const char usage[] =
		"usage: tern alias add [-c FILE] ALIAS TARGET...   (ALIAS: name@domain, or @domain for a catch-all)\n"
		"       tern alias del [-c FILE] ALIAS [TARGET]\n"
		"       tern alias list [-c FILE]\n";
	struct tern_settings *set = NULL;
	struct accounts *acc;
	const char *error = NULL, *sub;
	int ret = -1;

	if (argc < 2) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	sub = argv[1];
	if ((acc = open_for_command(&argc, argv, &set)) == NULL)
		return 1;
	if (strcmp(sub, "list") == 0 && argc == 2) {
		ret = accounts_alias_list(acc, print_alias, NULL, &error);
	} else if (strcmp(sub, "add") == 0 && argc >= 4) {
		ret = accounts_alias_add(acc, argv[2], (const char *const *)&argv[3],
					 (size_t)(argc - 3), &error);
	} else if (strcmp(sub, "del") == 0 && (argc == 3 || argc == 4)) {
		ret = accounts_alias_del(acc, argv[2], argc == 4 ? argv[3] : NULL, &error);
	} else {
		fputs(usage, stderr);
		finish(&acc, &set, 0, NULL);
		return EX_USAGE;
	}
	return finish(&acc, &set, ret, error);
}

int cmd_domain(int argc, char **argv)
{
	static const char usage[] =
		"usage: tern domain add|del [-c FILE] DOMAIN\n"
		"       tern domain list [-c FILE]\n";
	struct tern_settings *set = NULL;
	struct accounts *acc;
	const char *error = NULL, *sub;
	int ret = -1;

	if (argc < 2) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	sub = argv[1];
	if ((acc = open_for_command(&argc, argv, &set)) == NULL)
		return 1;
	if (strcmp(sub, "list") == 0 && argc == 2) {
		ret = accounts_domain_list(acc, print_domain, NULL, &error);
	} else if (strcmp(sub, "add") == 0 && argc == 3) {
		ret = accounts_domain_add(acc, argv[2], &error);
	} else if (strcmp(sub, "del") == 0 && argc == 3) {
		ret = accounts_domain_del(acc, argv[2], &error);
	} else {
		fputs(usage, stderr);
		finish(&acc, &set, 0, NULL);
		return EX_USAGE;
	}
	return finish(&acc, &set, ret, error);
}
