#ifndef TERN_SMTP_DATA_H
#define TERN_SMTP_DATA_H

#include "buf.h"
#include "tern-limits.h"

/*
 * The message stream of DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030): a
 * resumable decoder that works on input split anywhere, down to one byte
 * at a time.
 *
 *   - DATA: dot transparency undone (RFC 5321 4.5.2: a line's leading "."
 *     is removed), the end marker found: CRLF "." CRLF only, never a
 *     bare LF variant ("\n.\n", "\r\n.\n", "\n.\r\n"), which other
 *     servers may read differently (SMTP smuggling); such a line is data;
 *     BDAT: the chunk bytes taken as they are, no end marker.
 *   - Line ends: a bare LF becomes CRLF (so the spool holds canonical
 *     CRLF text, as RFC 5322 requires); a lone CR is kept as is. Lines of
 *     any length are kept whole (never truncated or folded).
 *   - The header block is scanned as it goes by: Received fields are
 *     counted (hop limit, RFC 5321 6.3), Date and Message-ID noticed, and
 *     the point where the header ends is reported before any byte of the
 *     body (or of the blank separator line) is output, so the caller can
 *     add fields there (submission, RFC 6409 8).
 */

/* SMTP_DATA_MAX_HEADER_LINE: tern-limits.h */

enum smtp_data_status {
	SMTP_DATA_MORE,          /* all input consumed, more wanted */
	SMTP_DATA_HEADER_END,    /* the header block ends here (see header_end_blank) */
	SMTP_DATA_DONE,          /* DATA: the end marker was consumed */
};

struct smtp_data_reader {
	bool dot_mode;
	bool done;
	/* decoding */
	bool line_start;          /* the next input byte starts a line */
	bool crlf_start;          /* ... and the line before ended with CRLF */
	bool pending_cr;          /* a CR seen, not yet output */
	unsigned int dot_state;   /* 0, 1: "." at line start, 2: ".\r" */
	/* header scan */
	bool in_header;
	bool header_end_pending;  /* the held line must go out before anything else */
	bool header_end_blank;    /* the header ended with the empty separator line */
	buf_t hline;              /* the header line being collected */
	unsigned int received_count;
	bool has_date;
	bool has_message_id;
	/* output */
	uint64_t size;            /* bytes output so far */
	bool out_line_start;      /* the last byte output was LF (or nothing was output) */
};

/* dot_mode: true for DATA, false for BDAT. */
void smtp_data_reader_init(struct smtp_data_reader *r, bool dot_mode);
void smtp_data_reader_deinit(struct smtp_data_reader *r);

/* Decode input, appending the message bytes to out (whose max must leave
   room for 2 * len + SMTP_DATA_MAX_HEADER_LINE + 2 bytes: the caller
   empties it between calls). *consumed_r says how much input was used:
   all of it with SMTP_DATA_MORE; up to the end marker with
   SMTP_DATA_DONE (the rest is the client's next command); up to the end
   of the first non-header line with SMTP_DATA_HEADER_END (call again
   with the rest, even if it is empty). */
enum smtp_data_status smtp_data_reader_feed(struct smtp_data_reader *r, const unsigned char *in,
					    size_t len, size_t *consumed_r, buf_t *out);

/* The end of a BDAT message (or of DATA after DONE): output what is held
   back (a trailing CR, a partial header line). Returns true when the
   header block had ended (SMTP_DATA_HEADER_END was returned). */
bool smtp_data_reader_finish(struct smtp_data_reader *r, buf_t *out);

#endif
