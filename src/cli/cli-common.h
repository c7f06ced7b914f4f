#ifndef TERN_CLI_COMMON_H
#define TERN_CLI_COMMON_H

#include "lib.h"

struct tern_settings;
struct accounts;

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOUSER 67
#define EX_SOFTWARE 70
#define EX_OSERR 71
#define EX_CANTCREAT 73
#define EX_IOERR 74
#define EX_TEMPFAIL 75
#define EX_NOPERM 77
#define EX_CONFIG 78

/* The options of every command that touches the server's data, taken
   from anywhere after its command words (DESIGN.md "Commands"). */
struct cli_opts {
	const char *config_path;   /* -c FILE, -cFILE, --config FILE, --config=FILE; NULL */
	bool dev;                  /* --dev: the development defaults */
	bool help;                 /* --help: print the usage, touch nothing */
};

/* Take the options of struct cli_opts out of argv (before a "--"),
   shifting the rest down. Returns 0, or -1 when -c has no argument. */
int cli_take_opts(int *argc, char **argv, struct cli_opts *opts_r);
/* Only -c FILE (commands that take no --dev); the same rules. */
int cli_take_config_opt(int *argc, char **argv, const char **path_r);

/* Load the settings per DESIGN.md (-c FILE; else $TERN_CONFIG; else
   /etc/tern/tern.toml; else an error; --dev: the development defaults),
   make data_dir exist, and, when running as root with a `user`
   configured, become that user so the files made belong to the server.
   Prints every error (prefixed "tern: ") and returns NULL on failure. */
struct tern_settings *cli_settings(const struct cli_opts *opts);
/* cli_settings() with only a config path (no --dev). */
struct tern_settings *cli_load_settings(const char *config_path);

/* Print a multi-line error text, every line prefixed with prefix
   ("tern serve: "). */
void cli_print_errors(const char *prefix, const char *text);

/* Open accounts.db for a command; prints the error and returns NULL. */
struct accounts *cli_open_accounts(const struct tern_settings *set);

/* Read a password: one line from stdin when it is not a terminal, else
   prompted twice on the terminal with echo off. Returns a malloc'd string
   (caller explicit_bzero()s and frees) or NULL after printing why. */
char *cli_read_password(const char *prompt);

#endif
