#ifndef TERN_POP3_STUFF_H
#define TERN_POP3_STUFF_H

#include "buf.h"

/*
 * The body of a RETR or TOP response (RFC 1939 3, 7): the message in its
 * CRLF form (as the mailbox store reads it) with every line that starts
 * with "." given one more ("byte-stuffing"), then the terminating ".".
 * For TOP the output stops after the header, the blank line that ends
 * it, and the first n lines of the body.
 *
 * Resumable: the message may be fed in pieces of any size, one byte at a
 * time included, and the output is the same. Pure memory work, no I/O:
 * the session runs it in the job that reads the message bytes.
 *
 *   pop3_stuff_init(&st, top ? n : POP3_STUFF_ALL);
 *   while (bytes) pop3_stuff_feed(&st, bytes, len, &out);  // until st.done
 *   pop3_stuff_finish(&st, &out);                          // CRLF if needed, ".\r\n"
 */

#define POP3_STUFF_ALL ((uint64_t)-1)

struct pop3_stuff {
	uint64_t body_lines;        /* TOP: body lines still to send; POP3_STUFF_ALL: every line */
	size_t line_len;            /* bytes of the current line so far (its LF excluded) */
	bool last_cr;               /* the current line's last byte so far is CR */
	bool in_body;               /* past the empty line that ends the header */
	bool done;                  /* TOP's lines are all out: feed no more */
};

void pop3_stuff_init(struct pop3_stuff *st, uint64_t body_lines);
/* Append the stuffed form of data to out. Returns how many bytes of data
   were used: all of them, unless TOP's last line ended inside data (then
   st->done is set and the rest is not wanted). -1 when out's max would be
   passed (nothing of this call is then in out; st is unchanged). */
ssize_t pop3_stuff_feed(struct pop3_stuff *st, const unsigned char *data, size_t len,
			buf_t *out);
/* The end of the response: CRLF when the message did not end with a line
   end (RFC 1939 3: the terminator is a line of its own), then ".\r\n".
   -1 when out's max would be passed. */
int pop3_stuff_finish(struct pop3_stuff *st, buf_t *out);

#endif
