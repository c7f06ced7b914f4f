/*
 * RFC 2047: decode arbitrary bytes (the output must be valid UTF-8), and
 * encode the decoded text in both contexts (the result must decode back to
 * the same text, with every line inside the RFC 2047 2 limits). The same
 * bytes also go through the other header-value.h parsers (unstructured
 * display, msg-id lists, Keywords), which rest on the same decoding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "header-value.h"
#include "rfc2047.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 2047 2: encoded words at most 75 bytes, and a line ending in an
   encoded word at most 76 columns; the one exception is a first line that
   already had no room (first_used), which gets its word anyway rather than
   being left blank. Plain words longer than a line cannot be folded, so
   only lines ending in an encoded word are checked. */
static void check_lines(const char *enc, size_t first_used)
{
	const char *line = enc, *p, *w;
	size_t col, n;

	for (p = enc; ; p++) {
		if (*p != '\r' && *p != '\0')
			continue;
		col = (size_t)(p - line) + (line == enc ? first_used : 0);
		for (w = p; w > line && w[-1] != ' '; w--)
			;
		n = (size_t)(p - w);
		if (n >= 12 && strncmp(w, "=?utf-8?", 8) == 0 && w[n - 2] == '?' && w[n - 1] == '=') {
			if (n > 75 || (col > 76 && !(line == enc && w == enc && first_used + 24 > 76))) {
				fprintf(stderr, "long line (%zu, word %zu): [%s]\n", col, n, enc);
				abort();
			}
		}
		if (*p == '\0')
			break;
		line = p + 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	const char *dec, *enc, *back, **list;
	unsigned int i, n;
	size_t used = size > 0 ? data[0] % 80 : 0;

	dec = rfc2047_decode(arena, (const char *)data, size);
	if (!utf8_is_valid(dec, strlen(dec)))
		abort();
	enc = rfc2047_encode(arena, dec, RFC2047_TEXT, used);
	back = rfc2047_decode(arena, enc, strlen(enc));
	if (strcmp(back, dec) != 0 && strstr(dec, "=?") == NULL) {
		fprintf(stderr, "round trip text:\n[%s]\n[%s]\n[%s]\n", dec, enc, back);
		abort();
	}
	check_lines(enc, used);
	enc = rfc2047_encode(arena, dec, RFC2047_PHRASE, used);
	back = rfc2047_decode(arena, enc, strlen(enc));
	if (strcmp(back, dec) != 0 && strstr(dec, "=?") == NULL) {
		fprintf(stderr, "round trip phrase:\n[%s]\n[%s]\n[%s]\n", dec, enc, back);
		abort();
	}
	dec = msg_hv_decode_unstructured(arena, (const char *)data, size);
	if (!utf8_is_valid(dec, strlen(dec)))
		abort();
	n = msg_hv_parse_msgids(arena, (const char *)data, size, &list);
	for (i = 0; i < n; i++) {
		size_t len = strlen(list[i]);
		if (len < 3 || list[i][0] != '<' || list[i][len - 1] != '>')
			abort();
	}
	n = msg_hv_parse_keywords(arena, (const char *)data, size, &list);
	for (i = 0; i < n; i++) {
		if (list[i][0] == '\0' || !utf8_is_valid(list[i], strlen(list[i])))
			abort();
	}
	arena_free(&arena);
	return 0;
}
