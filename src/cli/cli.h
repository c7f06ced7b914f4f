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
int cmd_mailbox(int argc, char **argv);
int cmd_dkim(int argc, char **argv);

struct tern_settings;
/* The pid of the running server: the process holding the lock on
   data_dir/tern.pid (written and locked by tern serve), as the kernel
   reports it, never the number in the file on its own word. 0 when no
   server runs (no file, or a stale one nobody holds), -1 when one runs
   in a pid namespace the caller cannot see. Must not be called inside
   tern serve itself (closing a descriptor of tern.pid would drop the
   server's own POSIX lock). */
int cli_server_pid(const struct tern_settings *set);

#endif
