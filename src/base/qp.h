#ifndef TERN_QP_H
#define TERN_QP_H

#include "buf.h"
#include "tern-limits.h"

/*
 * Quoted-printable (RFC 2045 6.7), and the Q encoding of RFC 2047 4.2
 * (header_mode). Decoding is lenient as mail readers are; encoding is exact.
 */

/* QP_MAX_PENDING_WS (tern-limits.h): trailing whitespace the decoder holds
   back at most, waiting to see whether a line break follows (RFC 2045 6.7
   rule 3 says to drop it). A longer run is passed through. */

enum qp_decode_state {
	QP_STATE_TEXT,
	QP_STATE_CR,       /* '\r' seen */
	QP_STATE_EQ,       /* '=' seen */
	QP_STATE_EQ_HEX,   /* '=' and one hex digit seen */
	QP_STATE_EQ_WS,    /* '=' and whitespace seen: soft break if a line end follows */
	QP_STATE_EQ_CR,    /* '=' [whitespace] '\r' seen */
};

struct qp_decoder {
	enum qp_decode_state state;
	bool header_mode;
	unsigned char hex1;                    /* QP_STATE_EQ_HEX */
	unsigned int ws_len;                   /* pending whitespace */
	unsigned char ws[QP_MAX_PENDING_WS];
};

/*
 * Decode: "=XX" (hex digits of either case); soft line breaks "=\r\n",
 * "=\n", and '=' followed by whitespace then a line break; a '=' at the very
 * end of the data is a soft break too; other '=' sequences are kept
 * literally; whitespace at the end of a line (before CRLF, LF or the end of
 * the data) is removed (6.7 rule 3); hard line breaks are kept as they are
 * (CRLF or LF). header_mode is RFC 2047 Q: '_' is a space, whitespace is
 * kept as is. Appends to dest; 0, or -1 when dest's max is exceeded (dest
 * then holds a prefix of the output).
 */
int qp_decode(const void *src, size_t len, buf_t *dest, bool header_mode);

/* Streaming decoder with the same rules: input fed in pieces of any size,
   even one byte at a time, gives byte-identical output. */
void qp_decoder_init(struct qp_decoder *dec, bool header_mode);
int qp_decode_more(struct qp_decoder *dec, const void *src, size_t len, buf_t *dest);
/* End of input: flushes what the state holds. 0 or -1 (dest max). */
int qp_decode_finish(struct qp_decoder *dec, buf_t *dest);

/* qp_encode() flags */
enum qp_encode_flags {
	/* encode 'F' of "From " and '.' at the start of a line, so the text
	   survives mbox "From " escaping and SMTP dot handling */
	QP_ENCODE_FROM_DOT = 0x01,
	/* binary data: CR and LF are encoded too, only soft breaks are made */
	QP_ENCODE_BINARY = 0x02,
};
/* RFC 2045 6.7 rule 5: encoded lines are at most 76 characters. */
#define QP_LINE_MAX 76

/*
 * Encode a body: every output line is at most 76 characters (soft breaks
 * "=\r\n" as needed); LF or CRLF in the input are hard line breaks, written
 * as CRLF; space or tab before a line break or at the end of the data is
 * encoded; '=', control characters (a lone CR too) and 8-bit bytes are
 * encoded as "=XX" (upper-case hex). The output ends with a line break
 * only when the input does. 0, or -1 when dest's max would be exceeded
 * (dest unchanged).
 */
int qp_encode(const void *src, size_t len, buf_t *dest, unsigned int flags);

#endif
