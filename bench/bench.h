#ifndef TERN_BENCH_H
#define TERN_BENCH_H

/*
 * The shared driver of the parser benchmarks (bench-main.c): it loads the
 * files, times the runs and measures memory; each program (parse-tern.c,
 * parse-gmime.c) supplies the four functions below and does the same work
 * for each message: the full part tree, every header field decoded (RFC 2047
 * text, or an address list for address fields), every Content-Type and
 * Content-Disposition parameter.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* What was seen, summed over messages: both programs print it so that one
   can check they did the same work (and so the compiler cannot drop it). */
struct bench_stats {
	uint64_t parts;     /* MIME parts, a message/rfc822's inner message counted once */
	uint64_t fields;    /* header fields */
	uint64_t addrs;     /* addresses (group members included, groups not) */
	uint64_t params;    /* Content-Type and Content-Disposition parameters */
	uint64_t chars;     /* bytes of decoded header text, names, addresses and params */
};

extern const char *bench_name;
/* Once, before anything is measured. */
void bench_init(void);
/* Parse one message held in memory and do the per-message work. */
void bench_parse_mem(const unsigned char *data, size_t size, struct bench_stats *st);
/* The same, reading the message from fd in pieces (streaming). */
void bench_parse_fd(int fd, struct bench_stats *st);

/* RFC 5322 3.6.2, 3.6.3, 3.6.6: the fields whose value is an address list. */
bool bench_is_address_field(const char *name);

#endif
