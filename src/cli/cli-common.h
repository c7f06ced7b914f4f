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

/* Take "-c FILE" / "-cFILE" / "--config FILE" out of argv (anywhere after the
   command words), shifting the rest down. Returns 0 (with *path_r NULL when
   absent), or -1 when -c has no argument. */
int cli_take_config_opt(int *argc, char **argv, const char **path_r);

/* Load settings per DESIGN.md (-c FILE; else ./tern.toml; else --dev
   defaults), make data_dir exist, and, when running as root with a `user`
   configured, become that user so the files made belong to the server.
   Prints the error and returns NULL on failure. */
struct tern_settings *cli_load_settings(const char *config_path);

/* Open accounts.db for a command; prints the error and returns NULL. */
struct accounts *cli_open_accounts(const struct tern_settings *set);

/* Read a password: one line from stdin when it is not a terminal, else
   prompted twice on the terminal with echo off. Returns a malloc'd string
   (caller explicit_bzero()s and frees) or NULL after printing why. */
char *cli_read_password(const char *prompt);

#endif
