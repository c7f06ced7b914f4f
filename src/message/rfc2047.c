#include "rfc2047.h"

#include "arena.h"
#include "base64.h"
#include "buf.h"
#include "charset.h"
#include "qp.h"
#include "utf8.h"

/*
 * Decoding walks the value once. Runs of plain text are appended as they
 * are (valid UTF-8 kept, other bytes taken as Windows-1252); encoded words
 * are decoded to their charset's bytes and held in `pending` so that the
 * next encoded word, when only whitespace separates them and the charset is
 * the same, is joined before conversion: real mail splits multibyte
 * characters across words.
 */

/* RFC 2047 2: an encoded word is at most 75 bytes; a line holding encoded
   words at most 76 columns. */
#define RFC2047_WORD_MAX 75
#define RFC2047_LINE_MAX 76
/* "=?utf-8?q?" + "?=" */
#define RFC2047_UTF8_OVERHEAD 12

struct encoded_word {
	const char *charset;   /* points into the input, charset_len bytes */
	size_t charset_len;
	char encoding;         /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total_len;      /* bytes from "=?" through "?=" */
};

struct decoder {
	buf_t out;             /* UTF-8 result */
	buf_t pending;         /* decoded bytes of adjacent same-charset words */
	char *pending_charset; /* NUL-terminated, malloc'd; NULL when nothing pending */
};

static bool is_lwsp(unsigned char c);
static bool is_plain_ascii(const char *s, size_t len);
static bool is_charset_char(unsigned char c);
static bool parse_encoded_word(const char *p, size_t len, struct encoded_word *word_r);
static void flush_pending(struct decoder *dec);
static void append_raw_text(buf_t *out, const unsigned char *p, size_t len);
static void decode_word(struct decoder *dec, const struct encoded_word *word);
static const char *finish_output(struct arena *arena, const buf_t *out);
static bool needs_encoding(const char *s, size_t len);
static bool is_atext(unsigned char c);
static bool q_allowed(unsigned char c, enum rfc2047_context ctx);
static size_t q_char_len(const unsigned char *p, size_t n, enum rfc2047_context ctx);
static void encode_region(buf_t *out, const unsigned char *p, size_t len,
			  enum rfc2047_context ctx, size_t column);
static void fold(buf_t *out);
static size_t current_column(const buf_t *out, size_t first_line_used);
static void append_plain(buf_t *out, const char *s, size_t len, size_t first_line_used);
static void append(buf_t *out, const void *data, size_t len);
static void append_str(buf_t *out, const char *str);
static void append_c(buf_t *out, unsigned char c);

static const uint16_t cp1252_high[32] = {
	/* 0x80..0x9f; 0 marks bytes Windows-1252 leaves undefined */
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static bool is_lwsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Printable ASCII and TAB only, and no "=?" that could start an encoded
   word: rfc2047_decode() would return such text unchanged. */
static bool is_plain_ascii(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char bad = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		/* control bytes (TAB aside), DEL and 8-bit bytes */
		bad |= (unsigned char)((p[i] < 0x20 && p[i] != '\t') | (p[i] >= 0x7f));
	}
	if (bad != 0)
		return false;
	for (i = 0; i + 1 < len; i++) {
		const unsigned char *eq = memchr(p + i, '=', len - 1 - i);

		if (eq == NULL)
			break;
		if (eq[1] == '?')
			return false;
		i = (size_t)(eq - p);
	}
	return true;
}

/* RFC 2047 2: charset = token, minus especials; "*" allowed for the RFC 2231
   language suffix, which is stripped later. */
static bool is_charset_char(unsigned char c)
{
	if (c <= ' ' || c >= 0x7f)
		return false;
	/* especials, except "." which real charset names ("utf.8") carry */
	switch (c) {
	case '(': case ')': case '<': case '>': case '@': case ',': case ';':
	case ':': case '"': case '/': case '[': case ']': case '?': case '=':
		return false;
	default:
		return true;
	}
}

/* Recognise "=?charset?E?text?=" at p. The encoded text may contain SP/TAB
   (seen in real mail inside Q words) but not CR/LF and not "?". */
static bool parse_encoded_word(const char *p, size_t len, struct encoded_word *word_r)
{
	size_t i = 2, start;

	if (len < 8 || p[0] != '=' || p[1] != '?')
		return false;
	start = i;
	while (i < len && is_charset_char((unsigned char)p[i]))
		i++;
	if (i == start || i >= len || p[i] != '?')
		return false;
	word_r->charset = p + start;
	word_r->charset_len = i - start;
	i++;
	if (i + 1 >= len || p[i + 1] != '?')
		return false;
	word_r->encoding = i_toupper(p[i]);
	if (word_r->encoding != 'B' && word_r->encoding != 'Q')
		return false;
	i += 2;
	start = i;
	while (i < len && p[i] != '?') {
		if (p[i] == '\r' || p[i] == '\n')
			return false;
		/* RFC 2047 2: encoded-text has no SPACE. Base64 never does, so
		   "=?utf-8?b?bad base64!?=" is plain text; broken Q words with
		   spaces are common in real mail and still decoded, as readers do. */
		if ((p[i] == ' ' || p[i] == '\t') && word_r->encoding == 'B')
			return false;
		i++;
	}
	if (i + 1 >= len || p[i + 1] != '=')
		return false;
	word_r->text = p + start;
	word_r->text_len = i - start;
	word_r->total_len = i + 2;
	return true;
}

static void flush_pending(struct decoder *dec)
{
	if (dec->pending_charset == NULL)
		return;
	/* -1 (unknown charset) still leaves sanitized text in out; the output
	   buffer has no practical limit, so -2 cannot happen. */
	(void)charset_to_utf8(dec->pending_charset, dec->pending.data == NULL ? "" :
			      (const char *)dec->pending.data, buf_len(&dec->pending), &dec->out);
	buf_reset(&dec->pending);
	i_free(dec->pending_charset);
}

/* Plain text: valid UTF-8 sequences are kept, every other byte is taken as
   Windows-1252 (what mail readers assume for raw 8-bit headers). CR and LF
   are fold remnants and dropped; NUL and undefined bytes become U+FFFD. */
static void append_raw_text(buf_t *out, const unsigned char *p, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {
			size_t run = i;

			/* a run of ASCII to keep, in one append */
			while (run < len && p[run] < 0x80 && p[run] != '\0' &&
			       p[run] != '\r' && p[run] != '\n')
				run++;
			if (run > i) {
				append(out, p + i, run - i);
				i = run;
				continue;
			}
			if (p[i] == '\0')
				(void)utf8_append_codepoint(out, UTF8_REPLACEMENT_CHAR);
			i++;	/* CR and LF are dropped */
			continue;
		}
		n = utf8_decode_char(p + i, len - i, &cp);
		if (n > 1) {
			append(out, p + i, n);
			i += n;
			continue;
		}
		if (p[i] >= 0xa0)
			cp = p[i];
		else if (cp1252_high[p[i] - 0x80] != 0)
			cp = cp1252_high[p[i] - 0x80];
		else
			cp = UTF8_REPLACEMENT_CHAR;
		(void)utf8_append_codepoint(out, cp);
		i++;
	}
}

static void decode_word(struct decoder *dec, const struct encoded_word *word)
{
	size_t cs_len = word->charset_len;
	const char *star = memchr(word->charset, '*', cs_len);

	/* RFC 2231 5: "charset*language" */
	if (star != NULL)
		cs_len = (size_t)(star - word->charset);
	if (dec->pending_charset != NULL &&
	    (strlen(dec->pending_charset) != cs_len ||
	     i_strncasecmp(dec->pending_charset, word->charset, cs_len) != 0))
		flush_pending(dec);
	if (dec->pending_charset == NULL)
		dec->pending_charset = i_strndup(word->charset, cs_len);
	if (word->encoding == 'B')
		(void)base64_decode(word->text, word->text_len, &dec->pending);
	else
		(void)qp_decode(word->text, word->text_len, &dec->pending, true);
}

/* The decoded text as an arena string. Decoded words may carry any byte:
   CR and LF are dropped (a header value has no line breaks: "=0D=0A"
   must not reach a display or a re-emitted header) and NUL becomes
   U+FFFD so the C string is the whole text. */
static const char *finish_output(struct arena *arena, const buf_t *out)
{
	const unsigned char *p = out->data;
	size_t i, n = 0, len = buf_len(out), extra = 0;
	char *ret;

	for (i = 0; i < len; i++) {
		if (p[i] == '\0')
			extra += 2; /* 1 byte becomes 3 */
	}
	ret = arena_alloc(arena, i_size_add(len + 1, extra));
	for (i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n')
			continue;
		if (p[i] == '\0') {
			memcpy(ret + n, "\xef\xbf\xbd", 3);
			n += 3;
			continue;
		}
		ret[n++] = (char)p[i];
	}
	ret[n] = '\0';
	return ret;
}

const char *rfc2047_decode(struct arena *arena, const char *value, size_t len)
{
	struct decoder dec;
	struct encoded_word word;
	size_t i = 0, text_start = 0, ws_start;
	const char *result;
	bool after_word = false;

	/* Nearly every field (Received, Message-ID, Date...) is printable
	   ASCII without "=?": the decoding below would give it back as it is. */
	if (is_plain_ascii(value, len))
		return arena_strndup(arena, value, len);

	buf_init(&dec.out, BUF_MAX_UNLIMITED);
	buf_init(&dec.pending, BUF_MAX_UNLIMITED);
	dec.pending_charset = NULL;

	while (i < len) {
		if (value[i] == '=' && i + 1 < len && value[i + 1] == '?' &&
		    parse_encoded_word(value + i, len - i, &word)) {
			/* RFC 2047 6.2: whitespace between two encoded words is
			   dropped; other text before the word is kept. */
			if (after_word) {
				ws_start = text_start;
				while (ws_start < i && is_lwsp((unsigned char)value[ws_start]))
					ws_start++;
				if (ws_start < i) {
					flush_pending(&dec);
					append_raw_text(&dec.out, (const unsigned char *)value + text_start,
							i - text_start);
				}
			} else if (i > text_start) {
				append_raw_text(&dec.out, (const unsigned char *)value + text_start,
						i - text_start);
			}
			decode_word(&dec, &word);
			i += word.total_len;
			text_start = i;
			after_word = true;
			continue;
		}
		if (after_word && !is_lwsp((unsigned char)value[i])) {
			/* plain text follows: the held word is complete */
			flush_pending(&dec);
			after_word = false;
		}
		i++;
	}
	flush_pending(&dec);
	if (text_start < len) {
		append_raw_text(&dec.out, (const unsigned char *)value + text_start,
				len - text_start);
	}
	result = finish_output(arena, &dec.out);
	buf_free(&dec.out);
	buf_free(&dec.pending);
	return result;
}

/* --- encoding --- */

/* Text needs encoding when it is not plain printable ASCII, or when it
   contains "=?" and so could be mistaken for an encoded word. */
static bool needs_encoding(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x7f || (c < ' ' && c != '\t'))
			return true;
		if (c == '=' && i + 1 < len && s[i + 1] == '?')
			return true;
	}
	return false;
}

/* RFC 5322 3.2.3 atext */
static bool is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Characters a Q word may carry literally. RFC 2047 5.(3): in a phrase only
   letters, digits and "!*+-/"; 5.(1)/4.2: elsewhere any printable ASCII but
   "=", "?", "_" (and SP, written as "_"). */
static bool q_allowed(unsigned char c, enum rfc2047_context ctx)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	if (ctx == RFC2047_PHRASE)
		return c != '\0' && strchr("!*+-/", c) != NULL;
	return c > ' ' && c < 0x7f && c != '=' && c != '?' && c != '_';
}

/* Bytes the n-byte character at p takes in Q encoding. */
static size_t q_char_len(const unsigned char *p, size_t n, enum rfc2047_context ctx)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += (p[i] == ' ' || q_allowed(p[i], ctx)) ? 1 : 3;
	return total;
}

/* Encode len bytes of valid UTF-8 as a run of encoded words, the first one
   fitting in what remains of a line that already has `column` columns
   (or, with too little room left, folded onto a line of its own), the next
   ones each on their own folded line. */
static void encode_region(buf_t *out, const unsigned char *p, size_t len,
			  enum rfc2047_context ctx, size_t column)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t q_total = 0, b_total, i, k, n, start, room, payload, need;
	bool use_b, first = true;
	uint32_t cp;

	/* Pick the shorter encoding for the whole region (RFC 2047 4). */
	for (i = 0; i < len; i += n) {
		n = utf8_decode_char(p + i, len - i, &cp);
		q_total += q_char_len(p + i, n, ctx);
	}
	b_total = (len + 2) / 3 * 4; /* base64 size */
	use_b = b_total < q_total;

	i = 0;
	while (i < len) {
		room = RFC2047_WORD_MAX - RFC2047_UTF8_OVERHEAD;
		if (first && column > 0) {
			/* 76-column lines (RFC 2047 2); one character needs
			   at most 12 bytes (4 bytes as Q "=XX") */
			if (column + RFC2047_UTF8_OVERHEAD + 12 > RFC2047_LINE_MAX &&
			    buf_len(out) > 0) {
				fold(out);
				/* the word now starts a line: no second fold */
				column = 0;
				continue;
			}
			/* nothing before us: folding here would leave the
			   field's first line blank (RFC 5322 3.2.2 says not
			   to), so take the short room (at least a character) */
			room = column + RFC2047_UTF8_OVERHEAD < RFC2047_LINE_MAX ?
				I_MIN(room, RFC2047_LINE_MAX - column - RFC2047_UTF8_OVERHEAD) : 0;
		} else if (!first) {
			fold(out);
		}
		first = false;
		/* take whole characters while they fit; at least one */
		start = i;
		payload = 0;
		while (i < len) {
			n = utf8_decode_char(p + i, len - i, &cp);
			if (use_b)
				need = (i + n - start + 2) / 3 * 4;
			else
				need = payload + q_char_len(p + i, n, ctx);
			if (need > room && i > start)
				break;
			payload = need;
			i += n;
		}
		append_str(out, use_b ? "=?utf-8?b?" : "=?utf-8?q?");
		if (use_b) {
			if (base64_encode(p + start, i - start, out) < 0)
				i_panic("rfc2047: base64 output limit");
		} else {
			for (k = start; k < i; k++) {
				if (p[k] == ' ') {
					append_c(out, '_');
				} else if (q_allowed(p[k], ctx)) {
					append_c(out, p[k]);
				} else {
					append_c(out, '=');
					append_c(out, (unsigned char)hex[p[k] >> 4]);
					append_c(out, (unsigned char)hex[p[k] & 0xf]);
				}
			}
		}
		append_str(out, "?=");
	}
}

/* Fold before an encoded word: "\r\n " replaces a space just written, so
   unfolding gives back exactly one space. */
static void fold(buf_t *out)
{
	if (buf_len(out) > 0 && out->data[buf_len(out) - 1] == ' ')
		buf_truncate(out, buf_len(out) - 1);
	append_str(out, "\r\n ");
}

/* Columns used on the last line of out (the first line started at
   first_line_used). */
static size_t current_column(const buf_t *out, size_t first_line_used)
{
	size_t i = buf_len(out);

	while (i > 0) {
		if (out->data[i - 1] == '\n')
			return buf_len(out) - i;
		i--;
	}
	return first_line_used + buf_len(out);
}

/* Plain words, folded (RFC 5322 2.2.3: CRLF inserted before whitespace) where
   a word would pass column 76. A longer word stays whole. */
static void append_plain(buf_t *out, const char *s, size_t len, size_t first_line_used)
{
	size_t i = 0, ws, word, col;

	while (i < len) {
		ws = i;
		while (i < len && s[i] == ' ')
			i++;
		word = i;
		while (i < len && s[i] != ' ')
			i++;
		col = current_column(out, first_line_used);
		if (word > ws && col > 0 && col + (i - ws) > RFC2047_LINE_MAX)
			append_str(out, "\r\n");
		append(out, s + ws, i - ws);
	}
}

static void append(buf_t *out, const void *data, size_t len)
{
	/* every buffer here is BUF_MAX_UNLIMITED: bounded by the input */
	if (buf_append(out, data, len) < 0)
		i_panic("rfc2047: output buffer limit");
}

static void append_str(buf_t *out, const char *str)
{
	append(out, str, strlen(str));
}

static void append_c(buf_t *out, unsigned char c)
{
	append(out, &c, 1);
}

const char *rfc2047_encode(struct arena *arena, const char *utf8, enum rfc2047_context ctx,
			   size_t first_line_used)
{
	buf_t clean, out;
	const char *s, *result;
	size_t len, i, wstart, wend, first = (size_t)-1, last_end = 0, enc_start, enc_end;
	bool plain_ok = true;

	len = strlen(utf8);
	if (!needs_encoding(utf8, len))
		return arena_strndup(arena, utf8, len);

	buf_init(&clean, BUF_MAX_UNLIMITED);
	(void)utf8_sanitize(utf8, len, &clean);
	s = buf_str(&clean);
	len = buf_len(&clean);

	/* Find the first and last space-separated words that need encoding;
	   the words before and after stay plain. */
	for (i = 0; i < len; ) {
		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		wstart = i;
		while (i < len && s[i] != ' ')
			i++;
		wend = i;
		if (needs_encoding(s + wstart, wend - wstart)) {
			if (first == (size_t)-1)
				first = wstart;
			last_end = wend;
		}
	}
	if (first == (size_t)-1) {
		/* cannot happen: needs_encoding() matched a non-space byte */
		first = 0;
		last_end = len;
	}
	enc_start = first;
	enc_end = last_end;
	if (ctx == RFC2047_PHRASE) {
		/* A phrase's plain words must be atoms (RFC 5322 3.2.5): an
		   encoded word cannot sit in a quoted string (RFC 2047 5.(3)),
		   so anything else means encoding the whole phrase. */
		for (i = 0; i < len; i++) {
			if (i >= enc_start && i < enc_end)
				continue;
			if (s[i] != ' ' && !is_atext((unsigned char)s[i]))
				plain_ok = false;
		}
		if (!plain_ok) {
			enc_start = 0;
			enc_end = len;
		}
	}

	buf_init(&out, BUF_MAX_UNLIMITED);
	append_plain(&out, s, enc_start, first_line_used);
	encode_region(&out, (const unsigned char *)s + enc_start, enc_end - enc_start, ctx,
		      current_column(&out, first_line_used));
	append_plain(&out, s + enc_end, len - enc_end, first_line_used);
	result = arena_strndup(arena, buf_str(&out), buf_len(&out));
	buf_free(&out);
	buf_free(&clean);
	return result;
}
