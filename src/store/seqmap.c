/*
 * Sequence map as runs of consecutive UIDs (see seqmap.h).
 */
#include "seqmap.h"

#include <stdlib.h>

void seqmap_init(struct seqmap *map)
{
	memset(map, 0, sizeof(*map));
}

void seqmap_free(struct seqmap *map)
{
	free(map->runs);
	memset(map, 0, sizeof(*map));
}

static void grow(struct seqmap *map, uint32_t need)
{
	if (need <= map->run_alloc)
		return;
	map->run_alloc = map->run_alloc < 4 ? 4 : map->run_alloc * 2;
	if (map->run_alloc < need)
		map->run_alloc = need;
	map->runs = i_realloc(map->runs, i_size_mul(sizeof(*map->runs), map->run_alloc));
}

void seqmap_append(struct seqmap *map, uint32_t uid)
{
	struct seqmap_run *last = map->run_count == 0 ? NULL : &map->runs[map->run_count - 1];

	if (last != NULL) {
		i_assert(uid >= last->first_uid + last->count);
		if (uid == last->first_uid + last->count) {
			last->count++;
			map->total++;
			return;
		}
	}
	grow(map, map->run_count + 1);
	map->runs[map->run_count].first_uid = uid;
	map->runs[map->run_count].count = 1;
	map->runs[map->run_count].seq = map->total + 1;
	map->run_count++;
	map->total++;
}

/* The index of the last run whose first_uid <= uid, or -1. */
static int64_t run_by_uid(const struct seqmap *map, uint32_t uid)
{
	int64_t lo = 0, hi = (int64_t)map->run_count - 1, found = -1;

	while (lo <= hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (map->runs[mid].first_uid <= uid) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

uint32_t seqmap_seq_to_uid(const struct seqmap *map, uint32_t seq)
{
	int64_t lo = 0, hi = (int64_t)map->run_count - 1;

	if (seq == 0 || seq > map->total)
		return 0;
	while (lo <= hi) {
		int64_t mid = lo + (hi - lo) / 2;
		const struct seqmap_run *r = &map->runs[mid];

		if (seq < r->seq)
			hi = mid - 1;
		else if (seq >= r->seq + r->count)
			lo = mid + 1;
		else
			return r->first_uid + (seq - r->seq);
	}
	i_panic("seqmap: seq %u not found in %u", seq, map->total);
}

uint32_t seqmap_uid_to_seq(const struct seqmap *map, uint32_t uid)
{
	int64_t i = run_by_uid(map, uid);
	const struct seqmap_run *r;

	if (i < 0 || uid == 0)
		return 0;
	r = &map->runs[i];
	if (uid - r->first_uid >= r->count)
		return 0;
	return r->seq + (uid - r->first_uid);
}

uint32_t seqmap_uid_to_seq_ceil(const struct seqmap *map, uint32_t uid)
{
	int64_t i = run_by_uid(map, uid);
	const struct seqmap_run *r;

	if (i < 0)
		return map->run_count == 0 ? map->total + 1 : map->runs[0].seq;
	r = &map->runs[i];
	if (uid - r->first_uid < r->count)
		return r->seq + (uid - r->first_uid);
	return r->seq + r->count;   /* the next run's first, or total + 1 */
}

uint32_t seqmap_next_uid(const struct seqmap *map, uint32_t uid)
{
	int64_t i = run_by_uid(map, uid);
	const struct seqmap_run *r;

	if (i < 0)
		return map->run_count == 0 ? 0 : map->runs[0].first_uid;
	r = &map->runs[i];
	if (uid - r->first_uid < r->count)
		return uid;
	if ((uint32_t)i + 1 < map->run_count)
		return map->runs[i + 1].first_uid;
	return 0;
}

uint32_t seqmap_last_uid(const struct seqmap *map)
{
	const struct seqmap_run *r;

	if (map->run_count == 0)
		return 0;
	r = &map->runs[map->run_count - 1];
	return r->first_uid + r->count - 1;
}

uint32_t seqmap_remove(struct seqmap *map, uint32_t uid)
{
	int64_t i = run_by_uid(map, uid);
	struct seqmap_run *r;
	uint32_t seq, j, after;

	if (i < 0 || uid == 0)
		return 0;
	r = &map->runs[i];
	if (uid - r->first_uid >= r->count)
		return 0;
	seq = r->seq + (uid - r->first_uid);
	if (r->count == 1) {
		memmove(r, r + 1, sizeof(*r) * (map->run_count - (uint32_t)i - 1));
		map->run_count--;
		after = (uint32_t)i;
	} else if (uid == r->first_uid) {
		/* the next UID takes uid's sequence number, r->seq */
		r->first_uid++;
		r->count--;
		after = (uint32_t)i + 1;
	} else if (uid == r->first_uid + r->count - 1) {
		r->count--;
		after = (uint32_t)i + 1;
	} else {
		/* split: [first, uid) and (uid, end] */
		uint32_t end = r->first_uid + r->count;

		grow(map, map->run_count + 1);
		r = &map->runs[i];
		memmove(r + 2, r + 1, sizeof(*r) * (map->run_count - (uint32_t)i - 1));
		map->run_count++;
		r->count = uid - r->first_uid;
		r[1].first_uid = uid + 1;
		r[1].count = end - uid - 1;
		r[1].seq = seq;            /* the UID after takes uid's place */
		after = (uint32_t)i + 2;
	}
	/* every later message moves one sequence number down */
	for (j = after; j < map->run_count; j++)
		map->runs[j].seq--;
	map->total--;
	return seq;
}

size_t seqmap_memory(const struct seqmap *map)
{
	return sizeof(*map->runs) * map->run_alloc;
}
