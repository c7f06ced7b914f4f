#ifndef TERN_SEQMAP_H
#define TERN_SEQMAP_H

#include "lib.h"

/*
 * A view's message sequence numbers (RFC 3501 2.3.1.2): seq -> UID and
 * back, stored as runs of consecutive UIDs, so a folder whose UIDs have few
 * gaps costs a few bytes however many messages it holds (IMAP keeps
 * thousands of idle views). Lookups are binary searches over the runs;
 * removing a UID (an expunge) is linear in the number of runs.
 */

struct seqmap_run {
	uint32_t first_uid;
	uint32_t count;
	uint32_t seq;        /* the sequence number of first_uid */
};

struct seqmap {
	struct seqmap_run *runs;
	uint32_t run_count, run_alloc;
	uint32_t total;      /* messages */
};

void seqmap_init(struct seqmap *map);
void seqmap_free(struct seqmap *map);
/* Append a UID above every UID in the map. */
void seqmap_append(struct seqmap *map, uint32_t uid);
static inline uint32_t seqmap_count(const struct seqmap *map) { return map->total; }
/* 0 when seq is out of range. */
uint32_t seqmap_seq_to_uid(const struct seqmap *map, uint32_t seq);
/* 0 when uid is not in the map. */
uint32_t seqmap_uid_to_seq(const struct seqmap *map, uint32_t uid);
/* The seq of the first UID >= uid; total + 1 when none. */
uint32_t seqmap_uid_to_seq_ceil(const struct seqmap *map, uint32_t uid);
/* The first UID >= uid in the map, 0 when none. */
uint32_t seqmap_next_uid(const struct seqmap *map, uint32_t uid);
uint32_t seqmap_last_uid(const struct seqmap *map);
/* Remove uid: its seq before removal, or 0 when it was not there. */
uint32_t seqmap_remove(struct seqmap *map, uint32_t uid);
/* Bytes allocated. */
size_t seqmap_memory(const struct seqmap *map);

#endif
