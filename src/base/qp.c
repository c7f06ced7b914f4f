#include "qp.h"

#define NOT_HEX 0xff

static size_t decode_block(struct qp_decoder *dec, const unsigned char *src, size_t len,
			   unsigned char *out);
static size_t encode_into(const unsigned char *s, size_t len, unsigned int flags,
			  unsigned char *out);

static const char hex_upper[16] = "0123456789ABCDEF";

/* hex digit values, either case; NOT_HEX elsewhere */
static unsigned char hex_values[256];
/* bytes that leave the plain-text fast path of the decoder */
static unsigned char decode_special[256];
/* RFC 2045 6.7 rules 2 and 3: bytes that may appear literally */
static unsigned char encode_literal[256];

static void qp_tables_init(void) __attribute__((constructor));
static void qp_tables_init(void)
{
	unsigned int i;

	for (i = 0; i < 256; i++) {
		hex_values[i] = NOT_HEX;
		encode_literal[i] = (i >= 33 && i <= 126 && i != '=') || i == ' ' || i == '\t';
	}
	for (i = 0; i < 10; i++)
		hex_values['0' + i] = (unsigned char)i;
	for (i = 0; i < 6; i++) {
		hex_values['A' + i] = (unsigned char)(10 + i);
		hex_values['a' + i] = (unsigned char)(10 + i);
	}
	decode_special['='] = 1;
	decode_special[' '] = 1;
	decode_special['\t'] = 1;
	decode_special['\r'] = 1;
	decode_special['\n'] = 1;
	decode_special['_'] = 1;
}

void qp_decoder_init(struct qp_decoder *dec, bool header_mode)
{
	dec->state = QP_STATE_TEXT;
	dec->header_mode = header_mode;
	dec->hex1 = 0;
	dec->ws_len = 0;
}

/* Decode src into out, which has room for len + QP_MAX_PENDING_WS + 3
   bytes; returns the bytes written. One state machine for every way the
   input is split, so streaming gives the same output as one call. */
static size_t decode_block(struct qp_decoder *dec, const unsigned char *src, size_t len,
			   unsigned char *out)
{
	const unsigned char *s = src, *end = src + len, *run;
	unsigned char *o = out, c;

	while (s < end) {
		c = *s;
		switch (dec->state) {
		case QP_STATE_TEXT:
			if (decode_special[c] == 0 || (c == '_' && !dec->header_mode)) {
				/* the whitespace held back was not trailing */
				if (dec->ws_len > 0) {
					memcpy(o, dec->ws, dec->ws_len);
					o += dec->ws_len;
					dec->ws_len = 0;
				}
				run = s++;
				while (s < end && decode_special[*s] == 0)
					s++;
				memcpy(o, run, (size_t)(s - run));
				o += s - run;
				continue;
			}
			s++;
			switch (c) {
			case '=':
				if (dec->ws_len > 0) {
					memcpy(o, dec->ws, dec->ws_len);
					o += dec->ws_len;
					dec->ws_len = 0;
				}
				dec->state = QP_STATE_EQ;
				break;
			case ' ':
			case '\t':
				if (dec->header_mode) {
					*o++ = c;
					break;
				}
				/* RFC 2045 6.7 rule 3: hold back, it is dropped if
				   the line ends here */
				if (dec->ws_len == QP_MAX_PENDING_WS) {
					memcpy(o, dec->ws, dec->ws_len);
					o += dec->ws_len;
					dec->ws_len = 0;
				}
				dec->ws[dec->ws_len++] = c;
				break;
			case '\r':
				dec->state = QP_STATE_CR;
				break;
			case '\n':
				dec->ws_len = 0;
				*o++ = '\n';
				break;
			case '_':
				/* RFC 2047 4.2 (2): '_' is a space in Q */
				*o++ = ' ';
				break;
			}
			break;
		case QP_STATE_CR:
			dec->state = QP_STATE_TEXT;
			if (c == '\n') {
				s++;
				dec->ws_len = 0;
				*o++ = '\r';
				*o++ = '\n';
			} else {
				/* a lone CR is not a line end: text */
				if (dec->ws_len > 0) {
					memcpy(o, dec->ws, dec->ws_len);
					o += dec->ws_len;
					dec->ws_len = 0;
				}
				*o++ = '\r';
			}
			break;
		case QP_STATE_EQ:
			if (hex_values[c] != NOT_HEX) {
				s++;
				dec->hex1 = c;
				dec->state = QP_STATE_EQ_HEX;
			} else if (c == '\n') {
				/* soft line break (rule 5), bare LF form */
				s++;
				dec->state = QP_STATE_TEXT;
			} else if (c == '\r') {
				s++;
				dec->state = QP_STATE_EQ_CR;
			} else if (c == ' ' || c == '\t') {
				s++;
				dec->ws[dec->ws_len++] = c;
				dec->state = QP_STATE_EQ_WS;
			} else {
				/* not an escape: keep the '=' and look at c again */
				*o++ = '=';
				dec->state = QP_STATE_TEXT;
			}
			break;
		case QP_STATE_EQ_HEX:
			dec->state = QP_STATE_TEXT;
			if (hex_values[c] != NOT_HEX) {
				s++;
				*o++ = (unsigned char)((hex_values[dec->hex1] << 4) | hex_values[c]);
			} else {
				*o++ = '=';
				*o++ = dec->hex1;
			}
			break;
		case QP_STATE_EQ_WS:
			if ((c == ' ' || c == '\t') && dec->ws_len < QP_MAX_PENDING_WS) {
				s++;
				dec->ws[dec->ws_len++] = c;
			} else if (c == '\n') {
				/* '=' with trailing whitespace: still a soft break */
				s++;
				dec->ws_len = 0;
				dec->state = QP_STATE_TEXT;
			} else if (c == '\r') {
				s++;
				dec->state = QP_STATE_EQ_CR;
			} else {
				/* a literal '='; the whitespace stays pending as
				   ordinary text */
				*o++ = '=';
				dec->state = QP_STATE_TEXT;
			}
			break;
		case QP_STATE_EQ_CR:
			/* "=\r\n" is the soft break; "=\r" before anything else
			   is taken as one too (a CR-only line end) */
			if (c == '\n')
				s++;
			dec->ws_len = 0;
			dec->state = QP_STATE_TEXT;
			break;
		}
	}
	return (size_t)(o - out);
}

int qp_decode_more(struct qp_decoder *dec, const void *src, size_t len, buf_t *dest)
{
	const unsigned char *s = src;
	unsigned char *out, tmp[1024 + QP_MAX_PENDING_WS + 3];
	size_t n, chunk;

	if (len == 0)
		return 0;
	/* output never exceeds input plus what the state holds */
	out = len < BUF_MAX_UNLIMITED ? buf_reserve(dest, len + QP_MAX_PENDING_WS + 3) : NULL;
	if (out != NULL) {
		n = decode_block(dec, s, len, out);
		buf_commit(dest, n);
		return 0;
	}
	/* near dest's max: go in chunks so the estimate does not fail an
	   output that fits */
	while (len > 0) {
		chunk = I_MIN(len, (size_t)1024);
		n = decode_block(dec, s, chunk, tmp);
		if (buf_append(dest, tmp, n) < 0)
			return -1;
		s += chunk;
		len -= chunk;
	}
	return 0;
}

int qp_decode_finish(struct qp_decoder *dec, buf_t *dest)
{
	unsigned char tail[2];
	size_t n = 0;

	switch (dec->state) {
	case QP_STATE_TEXT:
		/* whitespace at the end of the data ends the last line:
		   dropped (rule 3) */
		break;
	case QP_STATE_CR:
		tail[n++] = '\r';
		break;
	case QP_STATE_EQ:
	case QP_STATE_EQ_WS:
	case QP_STATE_EQ_CR:
		/* a final '=' is a soft break: the text ends without a
		   line break, as encoders write it */
		break;
	case QP_STATE_EQ_HEX:
		tail[n++] = '=';
		tail[n++] = dec->hex1;
		break;
	}
	qp_decoder_init(dec, dec->header_mode);
	return buf_append(dest, tail, n);
}

int qp_decode(const void *src, size_t len, buf_t *dest, bool header_mode)
{
	struct qp_decoder dec;

	qp_decoder_init(&dec, header_mode);
	if (qp_decode_more(&dec, src, len, dest) < 0)
		return -1;
	return qp_decode_finish(&dec, dest);
}

/* Encode into out, which has room for the worst case; returns its length. */
static size_t encode_into(const unsigned char *s, size_t len, unsigned int flags,
			  unsigned char *out)
{
	bool binary = (flags & QP_ENCODE_BINARY) != 0;
	unsigned char *o = out, c;
	size_t i = 0, col = 0, tok, limit;
	bool encode, at_eol;

	while (i < len) {
		c = s[i];
		if (!binary) {
			/* hard line breaks: LF or CRLF in, CRLF out */
			if (c == '\n' || (c == '\r' && i + 1 < len && s[i + 1] == '\n')) {
				*o++ = '\r';
				*o++ = '\n';
				col = 0;
				i += c == '\r' ? 2 : 1;
				continue;
			}
			at_eol = i + 1 == len || s[i + 1] == '\n' ||
				(s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n');
		} else {
			at_eol = i + 1 == len;
		}
		encode = encode_literal[c] == 0;
		/* rule 3: whitespace must not end an encoded line */
		if ((c == ' ' || c == '\t') && at_eol)
			encode = true;
		if ((flags & QP_ENCODE_FROM_DOT) != 0 && col == 0 &&
		    (c == '.' || (c == 'F' && len - i >= 5 && memcmp(s + i, "From ", 5) == 0)))
			encode = true;
		tok = encode ? 3 : 1;
		/* rule 5: 76 characters, one kept for the soft break's '='
		   unless the line ends here */
		limit = at_eol ? QP_LINE_MAX : QP_LINE_MAX - 1;
		if (col + tok > limit) {
			*o++ = '=';
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
			continue; /* start of line again: re-check "From "/'.' */
		}
		if (encode) {
			*o++ = '=';
			*o++ = (unsigned char)hex_upper[c >> 4];
			*o++ = (unsigned char)hex_upper[c & 0x0f];
		} else {
			*o++ = c;
		}
		col += tok;
		i++;
	}
	return (size_t)(o - out);
}

int qp_encode(const void *src, size_t len, buf_t *dest, unsigned int flags)
{
	unsigned char *out;
	size_t worst, n;
	buf_t tmp;
	int ret;

	if (len > BUF_MAX_UNLIMITED / 8)
		return -1;
	/* at most 3 characters per byte, plus a 3-byte soft break per 24
	   input bytes (73 characters a line) and one more */
	worst = len * 3 + (len / 24 + 1) * 3;
	out = buf_reserve(dest, worst);
	if (out != NULL) {
		buf_commit(dest, encode_into(src, len, flags, out));
		return 0;
	}
	/* the worst case does not fit, the real output may */
	buf_init(&tmp, BUF_MAX_UNLIMITED);
	out = buf_reserve(&tmp, worst);
	n = encode_into(src, len, flags, out);
	buf_commit(&tmp, n);
	ret = buf_append(dest, tmp.data, n);
	buf_free(&tmp);
	return ret;
}
