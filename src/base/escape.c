#include "escape.h"
#include "arena.h"

static int append(buf_t *b, const char *value, bool word)
{
	const unsigned char *p;

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 0x20 || *p == '%' || *p == 0x7f || (word && *p == ' ')) {
			if (buf_printf(b, "%%%02X", *p) < 0)
				return -1;
		} else if (buf_append_c(b, *p) < 0) {
			return -1;
		}
	}
	return 0;
}

int escape_append(buf_t *b, const char *value)
{
	return append(b, value, false);
}

int escape_append_word(buf_t *b, const char *value)
{
	return append(b, value, true);
}

char *escape_decode(struct arena *arena, const char *value, size_t len)
{
	char *out = arena_alloc(arena, len + 1);
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (value[i] == '%' && len - i > 2 && (hi = i_hex_value(value[i + 1])) >= 0 &&
		    (lo = i_hex_value(value[i + 2])) >= 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = value[i];
		}
	}
	out[o] = '\0';
	return out;
}
