/*
 * Sequence sets (imap-seqset.h).
 */
#include "imap-seqset.h"
#include "arena.h"
#include "buf.h"
#include "tern-limits.h"

#include <stdlib.h>

static int parse_number(const char **p, uint32_t *n_r)
{
	uint64_t n = 0;
	const char *s = *p;

	if (*s == '*') {
		*n_r = IMAP_SEQ_STAR;
		*p = s + 1;
		return 0;
	}
	/* RFC 9051 9: nz-number = digit-nz *DIGIT */
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX - 1)
			return -1;
		s++;
	}
	*n_r = (uint32_t)n;
	*p = s;
	return 0;
}

int imap_seqset_parse(struct arena *arena, const char *text, struct imap_seqset *set_r,
		      const char **error_r)
{
	const char *p = text;
	unsigned int count = 1, alloc;

	memset(set_r, 0, sizeof(*set_r));
	if (strcmp(text, "$") == 0) {
		set_r->saved = true;
		return 0;
	}
	for (const char *c = text; *c != '\0'; c++) {
		if (*c == ',')
			count++;
	}
	if (count > IMAP_MAX_SEQSET_RANGES) {
		*error_r = "Too many ranges in sequence set";
		return -1;
	}
	alloc = count;
	set_r->ranges = arena_new_array(arena, struct imap_seq_range, alloc);
	for (;;) {
		struct imap_seq_range *r = &set_r->ranges[set_r->count];

		if (parse_number(&p, &r->first) < 0) {
			*error_r = "Invalid sequence set";
			return -1;
		}
		r->last = r->first;
		if (*p == ':') {
			p++;
			if (parse_number(&p, &r->last) < 0) {
				*error_r = "Invalid sequence set";
				return -1;
			}
		}
		set_r->count++;
		if (*p == '\0')
			return 0;
		if (*p != ',' || set_r->count == alloc) {
			*error_r = "Invalid sequence set";
			return -1;
		}
		p++;
	}
}

void imap_seqset_resolve(struct imap_seqset *set, uint32_t star)
{
	unsigned int i;

	for (i = 0; i < set->count; i++) {
		struct imap_seq_range *r = &set->ranges[i];

		if (r->first == IMAP_SEQ_STAR)
			r->first = star;
		if (r->last == IMAP_SEQ_STAR)
			r->last = star;
		if (r->first > r->last) {
			uint32_t t = r->first;

			r->first = r->last;
			r->last = t;
		}
	}
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned int i;

	for (i = 0; i < set->count; i++) {
		if (n >= set->ranges[i].first && n <= set->ranges[i].last)
			return true;
	}
	return false;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

uint64_t imap_seqset_normalize(struct imap_seqset *set)
{
	unsigned int i, out = 0;
	uint64_t total = 0;

	if (set->count == 0)
		return 0;
	qsort(set->ranges, set->count, sizeof(*set->ranges), range_cmp);
	for (i = 1; i < set->count; i++) {
		struct imap_seq_range *cur = &set->ranges[out];

		if (set->ranges[i].first <= (uint64_t)cur->last + 1) {
			if (set->ranges[i].last > cur->last)
				cur->last = set->ranges[i].last;
		} else {
			set->ranges[++out] = set->ranges[i];
		}
	}
	set->count = out + 1;
	for (i = 0; i < set->count; i++)
		total += (uint64_t)set->ranges[i].last - set->ranges[i].first + 1;
	return total;
}

int imap_seqset_write_numbers(struct buf *dest, const uint32_t *nums, unsigned int count)
{
	unsigned int i = 0;

	while (i < count) {
		unsigned int j = i;

		while (j + 1 < count && nums[j + 1] == nums[j] + 1)
			j++;
		if (buf_printf(dest, i == 0 ? "%u" : ",%u", nums[i]) < 0)
			return -1;
		if (j > i && buf_printf(dest, ":%u", nums[j]) < 0)
			return -1;
		i = j + 1;
	}
	return 0;
}
