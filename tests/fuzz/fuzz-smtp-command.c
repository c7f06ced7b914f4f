/*
 * Fuzz target for what an SMTP client controls on the server side: the
 * command line parser (every LF-separated line of the input is parsed as
 * a command; whatever parses must hold consistent fields), and the
 * DATA/BDAT stream decoder, fed the same bytes whole and split one byte
 * at a time: both runs must give identical output (the decoder is
 * resumable), and its invariants must hold.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "smtp-command.h"
#include "smtp-data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_command(struct arena *arena, const uint8_t *line, size_t len)
{
	struct smtp_command cmd;
	struct smtp_parse_error err;

	if (smtp_command_parse(arena, line, len, &cmd, &err) < 0) {
		if (err.code < 500 || err.code > 555 || err.enhanced == NULL || err.text == NULL)
			abort();
		return;
	}
	if (cmd.verb >= SMTP_VERB_COUNT || cmd.name == NULL || cmd.args == NULL)
		abort();
	if (cmd.verb == SMTP_VERB_MAIL || cmd.verb == SMTP_VERB_RCPT) {
		if (cmd.path.address == NULL)
			abort();
		if (!cmd.path.null && !cmd.path.postmaster) {
			if (cmd.path.domain == NULL || cmd.path.local_part == NULL ||
			    strlen(cmd.path.local_part) > SMTP_MAX_LOCAL_PART ||
			    strlen(cmd.path.domain) > SMTP_MAX_DOMAIN)
				abort();
			/* the address ends with "@" domain */
			size_t al = strlen(cmd.path.address), dl = strlen(cmd.path.domain);

			if (al <= dl || cmd.path.address[al - dl - 1] != '@' ||
			    strcmp(cmd.path.address + al - dl, cmd.path.domain) != 0)
				abort();
		}
		if (cmd.verb == SMTP_VERB_RCPT && cmd.path.null)
			abort();
	}
	if (cmd.verb == SMTP_VERB_HELO || cmd.verb == SMTP_VERB_EHLO) {
		if (cmd.helo == NULL || cmd.helo[0] == '\0')
			abort();
	}
}

static void decode(const uint8_t *data, size_t size, bool dot_mode, size_t step, buf_t *out,
		   size_t *consumed_r)
{
	struct smtp_data_reader r;
	size_t pos = 0, consumed;

	smtp_data_reader_init(&r, dot_mode);
	while (pos < size || r.header_end_pending) {
		size_t n = step == 0 ? size - pos : I_MIN(step, size - pos);
		enum smtp_data_status st = smtp_data_reader_feed(&r, data + pos, n, &consumed, out);

		if (consumed > n)
			abort();
		pos += consumed;
		if (st == SMTP_DATA_DONE)
			break;
		if (st == SMTP_DATA_MORE && consumed != n)
			abort();
		if (st == SMTP_DATA_HEADER_END && buf_append_str(out, "|") < 0)
			abort();
	}
	(void)smtp_data_reader_finish(&r, out);
	if (r.size + (out->used - r.size) != out->used)
		abort();
	smtp_data_reader_deinit(&r);
	*consumed_r = pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	const uint8_t *p = data, *end = data + size;
	buf_t a, b;
	size_t ca, cb;
	bool dot_mode = size > 0 && (data[0] & 1) == 0;

	while (p < end) {
		const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);

		if (len > 0 && p[len - 1] == '\r')
			check_command(arena, p, len - 1);
		else
			check_command(arena, p, len);
		arena_clear(arena);
		p += len + 1;
	}
	arena_free(&arena);

	buf_init(&a, BUF_MAX_UNLIMITED);
	buf_init(&b, BUF_MAX_UNLIMITED);
	decode(data, size, dot_mode, 0, &a, &ca);
	decode(data, size, dot_mode, 1, &b, &cb);
	if (ca != cb || a.used != b.used || memcmp(a.data, b.data, a.used) != 0)
		abort();
	/* output never holds a bare LF: every LF follows a CR */
	for (size_t i = 0; i < a.used; i++) {
		if (a.data[i] == '\n' && (i == 0 || a.data[i - 1] != '\r'))
			abort();
	}
	buf_free(&a);
	buf_free(&b);
	return 0;
}
