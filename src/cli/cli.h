#ifndef TERN_CLI_H
#define TERN_CLI_H

/* Each subcommand: argv[0] is the subcommand's name ("serve", "msg").
   Returns the process exit status. */
int cmd_serve(int argc, char **argv);
int cmd_msg(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_alias(int argc, char **argv);
int cmd_domain(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_sendmail(int argc, char **argv);
int cmd_dkim(int argc, char **argv);

struct tern_settings;
/* The pid of the running server (data_dir/tern.pid, written by tern serve),
   or 0 when there is none (no file, or a stale one). */
int cli_server_pid(const struct tern_settings *set);

#endif
