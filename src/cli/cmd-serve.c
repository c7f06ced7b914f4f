/* Placeholder until the serve command lands (being written now). */
#include "lib.h"
#include "cli.h"
#include <stdio.h>
int cmd_serve(int argc, char **argv)
{
	fprintf(stderr, "tern serve: not built yet\n");
	return 1;
}
