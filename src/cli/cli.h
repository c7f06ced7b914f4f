#ifndef TERN_CLI_H
#define TERN_CLI_H

/* Each subcommand: argv[0] is the subcommand's name ("serve", "msg").
   Returns the process exit status. */
int cmd_serve(int argc, char **argv);
int cmd_msg(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_alias(int argc, char **argv);
int cmd_domain(int argc, char **argv);

#endif
