/*
 * A part's body as text (src/message/part-text.c): transfer decoding
 * (base64, quoted-printable) and charset conversion (src/base/charset.c,
 * iconv) on arbitrary bytes. The input is either a whole message (first
 * byte's high bit set), whose every part is decoded, or a body for a
 * single text part whose charset and transfer encoding the first two
 * bytes choose from the names real mail uses (so the fuzzer reaches every
 * converter without having to spell its name). For every part: the text
 * is valid UTF-8; converting the transfer-decoded bytes in pieces (the
 * streaming charset_translation, pieces sized from the input) gives
 * exactly what one conversion gives; a decode into a buffer with a small
 * maximum fails with a valid-UTF-8 prefix of the full text; the file name,
 * if any, is valid UTF-8.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "buf.h"
#include "charset.h"
#include "mime.h"
#include "part-text.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const charsets[] = {
	NULL, "", "us-ascii", "utf-8", "UTF8", "iso-8859-1", "latin1", "windows-1252",
	"iso-8859-2", "iso-8859-8-i", "iso-8859-15", "koi8-r", "windows-1251", "win-1251",
	"iso-2022-jp", "shift_jis", "x-sjis", "euc-jp", "gb2312", "gbk", "gb18030", "big5",
	"ks_c_5601-1987", "euc-kr", "utf-7", "unicode-1-1-utf-7", "utf-16", "utf-16le",
	"utf-16be", "utf-32", "tis-620", "x-unknown", "unknown-8bit", "utf-8*en",
	"no-such-charset",
};
static const char *const ctes[] = {
	NULL, "7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode",
};

static void fail(const char *what, const char *charset)
{
	fprintf(stderr, "fuzz-part-text: %s (charset %s)\n", what,
		charset == NULL ? "(none)" : charset);
	abort();
}

static bool buf_equal(const buf_t *a, const buf_t *b)
{
	return a->used == b->used && (a->used == 0 || memcmp(a->data, b->data, a->used) == 0);
}

/* part_text_decode()'s conversion, done in pieces: the same text */
static void check_streaming(const struct mime_part *part, const uint8_t *msg, size_t size,
			    const buf_t *text, uint32_t seed)
{
	const char *charset = part_text_charset(part);
	struct charset_translation *t;
	buf_t raw, whole, split;
	size_t pos = 0, n;

	buf_init(&raw, BUF_MAX_UNLIMITED);
	buf_init(&whole, BUF_MAX_UNLIMITED);
	buf_init(&split, BUF_MAX_UNLIMITED);
	if (part_text_decode_cte(part, msg, size, &raw) < 0)
		fail("transfer decoding into an unlimited buffer failed", charset);
	if (charset == NULL || !charset_is_known(charset))
		charset = "x-unknown";
	if (charset_to_utf8(charset, raw.data, raw.used, &whole) != 0)
		fail("a known charset failed", charset);
	if (!utf8_is_valid((const char *)whole.data, whole.used))
		fail("charset_to_utf8 gave invalid UTF-8", charset);
	t = charset_translation_new(charset);
	if (t == NULL)
		fail("a known charset has no translation", charset);
	while (pos < raw.used) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 8 == 0 ? (seed >> 8) % 512 : (seed >> 16) % 4;
		if (n > raw.used - pos)
			n = raw.used - pos;
		if (charset_translate_more(t, raw.data + pos, n, &split) < 0)
			fail("streaming conversion failed", charset);
		pos += n;
	}
	if (charset_translate_finish(t, &split) < 0)
		fail("streaming conversion finish failed", charset);
	charset_translation_free(&t);
	/* After an undecodable sequence a stateful converter (UTF-7 inside a
	   base64 run) resumes from a state that depends on where the input
	   was cut (charset.h): the pieces must agree only when nothing was
	   undecodable, i.e. no U+FFFD came out */
	if (!buf_equal(&whole, &split) &&
	    memmem(whole.data, whole.used, "\xef\xbf\xbd", 3) == NULL) {
		size_t d = 0;

		while (d < whole.used && d < split.used && whole.data[d] == split.data[d])
			d++;
		fprintf(stderr, "whole %zu bytes, split %zu, first difference at %zu\n",
			whole.used, split.used, d);
		fail("whole and split conversions differ", charset);
	}
	(void)text;
	buf_free(&raw);
	buf_free(&whole);
	buf_free(&split);
}

static void check_part(struct arena *arena, const struct mime_part *part, const uint8_t *msg,
		       size_t size, uint32_t seed)
{
	const struct mime_part *c;
	const char *name;
	buf_t text, small;

	buf_init(&text, BUF_MAX_UNLIMITED);
	if (part_text_decode(part, msg, size, &text) < 0)
		fail("decode into an unlimited buffer failed", part_text_charset(part));
	if (!utf8_is_valid((const char *)text.data, text.used))
		fail("part text is not valid UTF-8", part_text_charset(part));
	if (part->children == NULL)
		check_streaming(part, msg, size, &text, seed);
	if (text.used > 1) {
		buf_init(&small, text.used / 2);
		if (part_text_decode(part, msg, size, &small) == 0)
			fail("decode past the buffer maximum succeeded", part_text_charset(part));
		if (!utf8_is_valid((const char *)small.data, small.used) ||
		    small.used > text.used ||
		    (small.used > 0 && memcmp(small.data, text.data, small.used) != 0))
			fail("a limited decode is not a valid UTF-8 prefix", part_text_charset(part));
		buf_free(&small);
	}
	buf_free(&text);
	name = part_text_filename(arena, part);
	if (name != NULL && !utf8_is_valid(name, strlen(name)))
		fail("file name is not valid UTF-8", NULL);
	for (c = part->children; c != NULL; c = c->next)
		check_part(arena, c, msg, size, seed * 31u + 7u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct mime_limits limits;
	const struct mime_part *root;
	const uint8_t *msg = data;
	buf_t built;
	uint32_t seed = 2166136261u;
	size_t i, msg_size = size;

	for (i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[i]) * 16777619u;
	mime_limits_default(&limits);
	limits.max_depth = 8;
	limits.max_parts = 64;
	buf_init(&built, BUF_MAX_UNLIMITED);
	if (size >= 1 && (data[0] & 0x80) != 0) {
		/* a whole message */
		msg = data + 1;
		msg_size = size - 1;
	} else if (size >= 2) {
		/* a text part with a chosen charset and transfer encoding */
		const char *cs = charsets[data[0] % (sizeof(charsets) / sizeof(charsets[0]))];
		const char *cte = ctes[data[1] % (sizeof(ctes) / sizeof(ctes[0]))];

		if (buf_append_str(&built, "Content-Type: text/plain") < 0 ||
		    (cs != NULL && buf_printf(&built, "; charset=\"%s\"", cs) < 0) ||
		    buf_append_str(&built, "\r\n") < 0 ||
		    (cte != NULL && buf_printf(&built, "Content-Transfer-Encoding: %s\r\n", cte) < 0) ||
		    buf_append_str(&built, "\r\n") < 0 || buf_append(&built, data + 2, size - 2) < 0)
			fail("building the message", cs);
		msg = built.data;
		msg_size = built.used;
	} else {
		arena_free(&arena);
		buf_free(&built);
		return 0;
	}
	root = mime_parse(arena, msg, msg_size, &limits);
	check_part(arena, root, msg, msg_size, seed);
	buf_free(&built);
	arena_free(&arena);
	return 0;
}
