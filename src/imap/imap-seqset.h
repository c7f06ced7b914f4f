#ifndef TERN_IMAP_SEQSET_H
#define TERN_IMAP_SEQSET_H

#include "lib.h"

/*
 * IMAP sequence sets (RFC 9051 9 sequence-set, 6.4.4.1 "$"):
 * "1:5,7,9:*" as a list of ranges. "*" is the largest number in use and is
 * resolved when the set is applied (for UIDs: the highest UID, so "5:*"
 * with nothing above 5 still means the last message, RFC 9051 6.4.9).
 * A range "b:a" with b > a is the same as "a:b".
 */
struct arena;

#define IMAP_SEQ_STAR UINT32_MAX

struct imap_seq_range {
	uint32_t first, last;     /* IMAP_SEQ_STAR for "*" */
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	unsigned int count;
	bool saved;               /* "$": the saved search result (RFC 5182) */
};

/* Parse text (an atom). Numbers are 1..2^32-1 (0 is an error); at most
   IMAP_MAX_SEQSET_RANGES ranges. 0, or -1 with *error_r (static). */
int imap_seqset_parse(struct arena *arena, const char *text, struct imap_seqset *set_r,
		      const char **error_r);

/* Replace "*" with star and order every range (first <= last). */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t star);

/* Is n in the (resolved) set? */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);

/* Sort and merge the (resolved) ranges; returns the number of distinct
   numbers. */
uint64_t imap_seqset_normalize(struct imap_seqset *set);

/* Append "1:3,5" for sorted distinct numbers (UIDs for COPYUID, ESEARCH
   ALL) to a buffer. */
struct buf;
int imap_seqset_write_numbers(struct buf *dest, const uint32_t *nums, unsigned int count);

#endif
