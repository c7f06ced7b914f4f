#ifndef TERN_UID_H
#define TERN_UID_H

#include "lib.h"

struct arena;

/*
 * Unique ids for queue files, Message-IDs and session ids: 22 characters of
 * [0-9A-V] (base32 hex, RFC 4648 7, so ASCII order is numeric order):
 * 11 of microseconds since the epoch, 3 of a per-process sequence number
 * (time and sequence never go backwards within a process), 8 of random
 * bits chosen per process with getrandom() (renewed after fork). Ids from
 * one process sort in the order they were made; ids from different
 * processes sort by time to the microsecond. Thread-safe.
 */
#define UID_MAX_LEN 32
#define UID_LEN 22

/* Write a new id into buf (NUL-terminated) and return buf. */
const char *uid_generate(char buf[UID_MAX_LEN]);

/* "<id@hostname>" for a Message-ID (RFC 5322 3.6.4), allocated from arena;
   hostname NULL or empty gives "localhost". */
const char *uid_message_id(struct arena *arena, const char *hostname);

#endif
