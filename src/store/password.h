#ifndef TERN_PASSWORD_H
#define TERN_PASSWORD_H

#include "lib.h"

/*
 * Password hashing through libcrypt (libxcrypt): yescrypt ("$y$"), the
 * Debian 12 default, with a fresh random salt per hash. Verification
 * accepts any scheme libxcrypt knows (so hashes imported from another
 * system, e.g. bcrypt "$2b$" or SHA-512 "$6$", keep working) and compares
 * in constant time.
 */

/* A new hash of password (malloc'd, free it). NULL only if libcrypt fails. */
char *password_hash(const char *password);
/* 1 when password matches hash, 0 when not (or the hash is malformed). */
int password_verify(const char *password, const char *hash);
/* Spend about the time of one verification without a real hash, so that
   "no such user" and "wrong password" take as long as each other. */
void password_verify_dummy(const char *password);

#endif
