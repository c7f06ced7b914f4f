/* Placeholder until the msg command lands (being written now). */
#include "lib.h"
#include "cli.h"
#include <stdio.h>
int cmd_msg(int argc, char **argv)
{
	fprintf(stderr, "tern msg: not built yet\n");
	return 1;
}
