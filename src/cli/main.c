/* tern: one binary, subcommands. */
#include "lib.h"
#include "log.h"
#include "cli.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "serve", cmd_serve },
	{ "user", cmd_user },
	{ "alias", cmd_alias },
	{ "domain", cmd_domain },
	{ "queue", cmd_queue },
	{ "sendmail", cmd_sendmail },
	{ "mailbox", cmd_mailbox },
	{ "msg", cmd_msg },
	{ "dkim", cmd_dkim },
};

/* Every command and option, aligned (tern(8) says the same at length). */
static const char usage_text[] =
	"usage: tern COMMAND [ARGS]        tern COMMAND --help: one command's usage\n"
	"\n"
	"the server\n"
	"  tern serve [--check]                        run the mail server in the foreground;\n"
	"                                              --check: check everything, change nothing\n"
	"  tern user add [--apop] ADDRESS              add an account (password from stdin or prompted)\n"
	"  tern user passwd ADDRESS                    change an account's password\n"
	"  tern user del ADDRESS                       delete an account\n"
	"  tern user list                              list the accounts\n"
	"  tern alias add ALIAS TARGET...              mail to ALIAS goes to every TARGET\n"
	"  tern alias del ALIAS [TARGET]               delete an alias, or one of its targets\n"
	"  tern alias list                             list the aliases\n"
	"  tern domain add|del DOMAIN                  add or delete a local domain\n"
	"  tern domain list                            list the local domains\n"
	"  tern queue list [--json]                    the queue: messages, recipients, states\n"
	"  tern queue flush                            retry deferred recipients now\n"
	"  tern queue del ID...                        remove messages from the queue\n"
	"  tern mailbox rebuild ADDRESS                rebuild a user's mailbox index from the Maildir\n"
	"  tern mailbox list [--json] ADDRESS          a user's folders and their counts\n"
	"  tern sendmail [OPTIONS] [RCPT...]           submit a message from stdin, as sendmail(8)\n"
	"                                              (also installed as sendmail and mailq)\n"
	"  tern dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]\n"
	"                                              make a DKIM key; prints its DNS record\n"
	"  tern dkim show|check DOMAIN                 the DNS record again / check it in DNS\n"
	"\n"
	"options of the commands above, after the command words\n"
	"  -c FILE                                     the config file; default $TERN_CONFIG,\n"
	"                                              else " TERN_DEFAULT_CONFIG "\n"
	"  --dev                                       the development defaults: data in ./var,\n"
	"                                              listeners on 127.0.0.1:2525 and up\n"
	"  --help                                      the command's usage; touches nothing\n"
	"\n"
	"messages\n"
	"  tern msg inspect FILE                       how a message parses, as JSON\n"
	"  tern msg bodystructure|envelope FILE        its IMAP BODYSTRUCTURE or ENVELOPE\n"
	"\n"
	"  tern help, tern --help                      this text\n"
	"  tern version, tern --version                the version\n";

static void usage(FILE *out)
{
	fputs(usage_text, out);
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
