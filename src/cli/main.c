/* tern: one binary, subcommands. */
#include "lib.h"
#include "log.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{ "serve", cmd_serve, "serve [-c FILE] [--dev]      run the mail server in the foreground" },
	{ "user", cmd_user, "user add|del|passwd|list [-c FILE] ...   accounts" },
	{ "alias", cmd_alias, "alias add|del|list [-c FILE] ...         aliases and lists" },
	{ "domain", cmd_domain, "domain add|del|list [-c FILE] ...       local domains" },
	{ "queue", cmd_queue, "queue list|flush|del [-c FILE] ...       the outbound queue" },
	{ "sendmail", cmd_sendmail, "sendmail [-c FILE] [-t] [-f FROM] [-i] [RCPT...]   submit a message from stdin" },
	{ "mailbox", cmd_mailbox, "mailbox rebuild|list [-c FILE] ADDRESS      a user's mailbox index and folders" },
	{ "msg", cmd_msg, "msg inspect|bodystructure|envelope FILE   show how a message parses" },
	{ "dkim", cmd_dkim, "dkim keygen|show|check DOMAIN [-c FILE]   DKIM keys and their DNS records" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: tern COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < N_ELEMENTS(commands); i++)
		fprintf(out, "  tern %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
	const char *base;
	size_t i;

	/* installed as /usr/sbin/sendmail or mailq (a symlink to tern), as
	   Unix programs expect (docs/sendmail.md) */
	base = strrchr(argv[0], '/');
	base = base == NULL ? argv[0] : base + 1;
	if (strcmp(base, "sendmail") == 0)
		return cmd_sendmail(argc, argv);
	if (strcmp(base, "mailq") == 0) {
		/* mailq [-c FILE] [--json] = tern queue list ... */
		static char list[] = "list";
		char **qargv = i_malloc(sizeof(char *) * ((size_t)argc + 2));
		int ret;

		qargv[0] = argv[0];
		qargv[1] = list;
		for (i = 1; i < (size_t)argc; i++)
			qargv[i + 1] = argv[i];
		ret = cmd_queue(argc + 1, qargv);
		free(qargv);
		return ret;
	}
	if (argc < 2) {
		usage(stderr);
		return 64; /* EX_USAGE */
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("tern 0.1\n");
		return 0;
	}
	for (i = 0; i < N_ELEMENTS(commands); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "tern: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 64;
}
