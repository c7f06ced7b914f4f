#ifndef TERN_PRIVILEGES_H
#define TERN_PRIVILEGES_H

#include "lib.h"

#include <sys/types.h>

/*
 * Dropping root (DESIGN.md "Threads, processes, privileges"): tern binds
 * its ports as root, then becomes the configured unprivileged user for
 * good. Errors are static strings or thread-local text valid until the
 * next call.
 */

/* The uid and primary gid of user. -1 if there is no such user. */
int privileges_lookup(const char *user, uid_t *uid_r, gid_t *gid_r, const char **error_r);

/* Become user for good: supplementary groups (initgroups), gid, then uid;
   then check that root can't be regained. Returns 0, or -1 with *error_r.
   Must be called before any other thread starts. */
int privileges_drop(const char *user, const char **error_r);

#endif
