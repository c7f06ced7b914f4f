/*
 * Fuzz target for what a POP3 client controls on the server side, and for
 * the server's message output:
 *   - the command line parser (src/pop3/pop3-command.c): every LF-separated
 *     line of the input is parsed; whatever parses must hold consistent
 *     fields, whatever fails must say why;
 *   - the RETR/TOP byte-stuffing (src/pop3/pop3-stuff.c), fed the whole
 *     input as a message at once and one byte at a time: both runs must
 *     give the same output, RETR's output must unstuff back to the message,
 *     and no output line may be a lone "." before the terminator.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "buf.h"
#include "pop3-command.h"
#include "pop3-stuff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_command(struct arena *arena, const uint8_t *line, size_t len)
{
	struct pop3_command cmd;
	enum pop3_parse_error err;
	const char *text = NULL;

	if (pop3_command_parse(arena, line, len, &cmd, &err, &text) < 0) {
		if (text == NULL || text[0] == '\0' || err > POP3_PARSE_BAD_CHARS)
			abort();
		return;
	}
	if (cmd.verb >= POP3_VERB_COUNT || strcmp(cmd.name, pop3_verb_name(cmd.verb)) != 0)
		abort();
	switch (cmd.verb) {
	case POP3_VERB_USER:
	case POP3_VERB_PASS:
		if (cmd.arg == NULL || memchr(line, '\0', len) != NULL)
			abort();
		break;
	case POP3_VERB_APOP:
		if (cmd.arg == NULL || cmd.arg2 == NULL || strlen(cmd.arg2) != POP3_APOP_DIGEST_LEN)
			abort();
		break;
	case POP3_VERB_AUTH:
		if (cmd.arg2 != NULL && (cmd.arg == NULL || strlen(cmd.arg2) != cmd.arg2_len ||
					 cmd.arg2_len > SASL_MAX_RESPONSE))
			abort();
		break;
	case POP3_VERB_RETR:
	case POP3_VERB_DELE:
	case POP3_VERB_TOP:
		if (!cmd.has_msg)
			abort();
		break;
	default:
		break;
	}
}

static void stuff(const uint8_t *data, size_t size, uint64_t lines, size_t step, buf_t *out)
{
	struct pop3_stuff st;
	size_t pos = 0;

	pop3_stuff_init(&st, lines);
	while (pos < size && !st.done) {
		size_t n = step == 0 ? size - pos : I_MIN(step, size - pos);
		ssize_t used = pop3_stuff_feed(&st, data + pos, n, out);

		if (used < 0 || (size_t)used > n || ((size_t)used < n && !st.done))
			abort();
		pos += (size_t)used;
	}
	if (pop3_stuff_finish(&st, out) < 0)
		abort();
}

/* Undo the stuffing: the message as the client reads it. */
static void unstuff(const buf_t *in, buf_t *out)
{
	size_t pos = 0;

	while (pos < in->used) {
		const unsigned char *lf = memchr(in->data + pos, '\n', in->used - pos);
		size_t end = lf != NULL ? (size_t)(lf - in->data) + 1 : in->used;
		size_t start = pos;

		if (lf == NULL)
			abort();    /* every output line ends with LF */
		if (in->data[pos] == '.') {
			if (end - pos == 3 && in->data[pos + 1] == '\r') {
				/* the terminator: it must be the very end */
				if (end != in->used)
					abort();
				return;
			}
			/* RFC 1939 3: a stuffed line starts with ".." */
			if (in->data[pos + 1] != '.')
				abort();
			start++;
		}
		if (buf_append(out, in->data + start, end - start) < 0)
			abort();
		pos = end;
	}
	abort();    /* no terminator */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	const uint8_t *p = data, *end = data + size;
	buf_t whole, bytewise, plain;
	uint64_t lines;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		/* the connection strips a CR before the LF */
		check_command(arena, p, len > 0 && p[len - 1] == '\r' ? len - 1 : len);
		arena_clear(arena);
		p += len + (nl != NULL ? 1 : 0);
	}
	arena_free(&arena);

	buf_init(&whole, BUF_MAX_UNLIMITED);
	buf_init(&bytewise, BUF_MAX_UNLIMITED);
	buf_init(&plain, BUF_MAX_UNLIMITED);
	/* RETR */
	stuff(data, size, POP3_STUFF_ALL, 0, &whole);
	stuff(data, size, POP3_STUFF_ALL, 1, &bytewise);
	if (whole.used != bytewise.used || memcmp(whole.data, bytewise.data, whole.used) != 0)
		abort();
	unstuff(&whole, &plain);
	if (plain.used < size || memcmp(plain.data, data, size) != 0)
		abort();
	if (plain.used != size && !(plain.used == size + 2 && size > 0 && data[size - 1] != '\n'))
		abort();
	/* TOP, with a line count from the first byte */
	lines = size > 0 ? data[0] % 8 : 0;
	buf_reset(&whole);
	buf_reset(&bytewise);
	buf_reset(&plain);
	stuff(data, size, lines, 0, &whole);
	stuff(data, size, lines, 1, &bytewise);
	if (whole.used != bytewise.used || memcmp(whole.data, bytewise.data, whole.used) != 0)
		abort();
	unstuff(&whole, &plain);
	/* TOP's output is a prefix of the message (plus a line end) */
	if (plain.used > size + 2 || memcmp(plain.data, data, I_MIN(plain.used, size)) != 0)
		abort();
	buf_free(&whole);
	buf_free(&bytewise);
	buf_free(&plain);
	return 0;
}
