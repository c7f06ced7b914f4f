/*
 * Byte-stuffing of RETR and TOP responses (pop3-stuff.h), RFC 1939 3 and
 * 7. Runs in the store job that reads a message (pop3-mail.c), and in the
 * unit tests and fuzz target, fed one byte at a time.
 */
#include "pop3-stuff.h"

void pop3_stuff_init(struct pop3_stuff *st, uint64_t body_lines)
{
	memset(st, 0, sizeof(*st));
	st->body_lines = body_lines;
}

/* A line has ended: is the header over, is TOP done? */
static void line_end(struct pop3_stuff *st, bool empty)
{
	if (!st->in_body) {
		/* RFC 5322 2.1: the header ends at the first empty line */
		if (empty) {
			st->in_body = true;
			if (st->body_lines == 0)
				st->done = true;
		}
	} else if (st->body_lines != POP3_STUFF_ALL) {
		/* RFC 1939 7 TOP: the body lines asked for */
		if (--st->body_lines == 0)
			st->done = true;
	}
}

ssize_t pop3_stuff_feed(struct pop3_stuff *st, const unsigned char *data, size_t len,
			buf_t *out)
{
	const struct pop3_stuff saved = *st;
	size_t start_used = out->used, i = 0;

	while (i < len && !st->done) {
		const unsigned char *lf;
		size_t end, content;
		bool ended_cr;

		/* RFC 1939 3: a line that starts with "." gets one more */
		if (st->line_len == 0 && data[i] == '.' && buf_append_c(out, '.') < 0)
			goto full;
		lf = memchr(data + i, '\n', len - i);
		end = lf != NULL ? (size_t)(lf - data) + 1 : len;
		if (buf_append(out, data + i, end - i) < 0)
			goto full;
		if (lf == NULL) {
			st->line_len += end - i;
			st->last_cr = data[end - 1] == '\r';
			i = end;
			break;
		}
		/* the line's length without its LF, and whether a CR ends it
		   (the CR may have come in an earlier piece) */
		content = st->line_len + (size_t)(lf - (data + i));
		ended_cr = lf > data + i ? lf[-1] == '\r' : st->last_cr;
		st->line_len = 0;
		st->last_cr = false;
		i = end;
		line_end(st, content == 0 || (content == 1 && ended_cr));
	}
	return (ssize_t)i;
full:
	buf_truncate(out, start_used);
	*st = saved;
	return -1;
}

int pop3_stuff_finish(struct pop3_stuff *st, buf_t *out)
{
	size_t start_used = out->used;

	if (st->line_len > 0 && buf_append(out, "\r\n", 2) < 0)
		return -1;
	if (buf_append(out, ".\r\n", 3) < 0) {
		buf_truncate(out, start_used);
		return -1;
	}
	st->line_len = 0;
	st->done = true;
	return 0;
}
