/*
 * The streaming MIME parser (RFC 2045 5.1, 5.2; RFC 2046 5.1, 5.2.1).
 *
 * It works on lines. A line is only inspected at its end, and only what is
 * needed is kept of it: the bytes of a header line go into the header
 * buffer (bounded by max_header_size), and of a line starting with '-' (while
 * some multipart boundary is active) the first bytes that can hold
 * "--" boundary "--" plus some trailing whitespace. Every other body line is
 * only searched for its '\n' with memchr and scanned word-at-a-time for NUL
 * and 8-bit bytes. Because every decision is taken at a line end with the
 * same information however the bytes were split, the tree is identical
 * whether the message is fed whole or one byte at a time.
 *
 * Two shortcuts give the same results as that line-by-line path, only
 * faster, when a fed piece holds whole lines: in a body, the run of whole
 * lines up to the next one starting with '-' (or every whole line, when no
 * boundary is active) is taken in one pass that counts lines and notes bare
 * LFs, NUL and 8-bit bytes (body_lines(), span_scan()); and a header block
 * lying whole in the piece is parsed in place rather than copied line by
 * line (header_block()).
 *
 * Offsets. Every part begins at a line start. When a boundary line at offset
 * L ends a part, the line break before it belongs to the boundary (RFC 2046
 * 5.1.1), so the body ends at L minus that line break (CRLF or bare LF);
 * body_lines counts the lines of the body so cut (a last line without
 * newline counts). Line counts come from one message-wide line counter: a
 * part remembers the line index where its body began.
 *
 * Choices where real mail breaks the rules (the flags record them):
 *  - boundary lines: "--" boundary, optional "--", then only whitespace is a
 *    boundary; failing that, any line that merely starts with "--" boundary
 *    (junk after it) is one too, as Dovecot accepts. Exact matches are
 *    preferred over prefix matches, then inner multiparts over outer ones.
 *    The boundaries of ALL enclosing multiparts are checked: an outer one
 *    closes the inner parts, and inner multiparts get MISSING_END_BOUNDARY;
 *  - a part header ended by a boundary line (no empty line): the header
 *    runs up to the boundary line, the body is empty;
 *  - a multipart whose boundary never appears: no children, its whole body is
 *    the preamble, MISSING_END_BOUNDARY (Dovecot's choice; IMAP writers then
 *    emit an empty text/plain part for it);
 *  - multipart without a boundary parameter: NO_BOUNDARY, and the part is
 *    reported as text/plain (params kept) so every consumer treats it as
 *    the leaf it is;
 *  - message/rfc822 and message/global are parsed as one encapsulated
 *    message only with an identity transfer encoding (absent, 7bit, 8bit,
 *    binary); base64 or quoted-printable ones stay opaque leaves;
 *  - a part at depth > max_depth is never created: its container stays an
 *    opaque leaf flagged DEPTH_LIMIT; when max_parts parts exist, a
 *    message/rfc822 stays opaque and a multipart stops recognizing its
 *    boundary, both flagged PART_LIMIT (a multipart's remaining body, from
 *    the boundary line that could not start a part, is reported as its
 *    epilogue);
 *  - BARE_LF, NUL and 8BIT are seen in the part that owns the line (a
 *    header's bare LF counts too) and propagate to every ancestor, whose
 *    body contains the part.
 *  - Content-Type absent: text/plain (message/rfc822 in multipart/digest)
 *    with NO parameters (the implicit charset=us-ascii of RFC 2045 5.2 is
 *    not added); unparseable: the same default plus BAD_CONTENT_TYPE.
 */
#include "mime.h"
#include "header-parser.h"
#include "arena.h"
#include "buf.h"
#include "tern-limits.h"

#include <stdlib.h>

#if defined(__SSE2__) && !defined(TERN_MIME_NO_SIMD)
#include <emmintrin.h>
#define MIME_SIMD 1
#endif

/* how much whitespace after "--boundary--" is examined in the line buffer;
   more is tracked as a flag, never buffered */
#define BOUNDARY_SLACK 32

#define FLAGS_PROPAGATE (MIME_PART_FLAG_BARE_LF | MIME_PART_FLAG_NUL | MIME_PART_FLAG_8BIT)
#define FLAGS_BYTES (MIME_PART_FLAG_NUL | MIME_PART_FLAG_8BIT)

enum frame_state {
	FRAME_HEADER,
	FRAME_BODY,
};

enum frame_kind {
	FRAME_LEAF,
	FRAME_MULTIPART,
	FRAME_MESSAGE,
};

/* An open part. */

/* Appends whose room was checked (or to an unlimited buffer) cannot fail. */
static void must_append(buf_t *buf, const void *data, size_t len)
{
	if (buf_append(buf, data, len) < 0)
		i_panic("buffer overflow after room check");
}

struct frame {
	struct mime_part *part;
	struct mime_part *last_child;
	enum frame_state state;
	enum frame_kind kind;
	size_t body_start_line;  /* message-wide index of the body's first line */
	size_t start_bare;       /* message-wide bare-LF count at the part's first byte */
	size_t body_start_bare;  /* ... and at its body's first byte */
	unsigned int header_lines;
	size_t boundary_len;
	bool boundary_active;    /* multipart whose boundary still delimits parts */
	bool seen_boundary;      /* a first boundary line ended the preamble */
	bool closed;             /* the close-delimiter was seen: epilogue */
};

struct mime_parser {
	struct arena *arena;
	struct mime_limits limits;

	struct frame *frames;
	unsigned int frame_count, frame_alloc;
	unsigned int part_count;
	unsigned int active_boundaries;

	buf_t hdr;               /* the current header block (bounded) */
	bool hdr_truncated;

	/* the current line */
	size_t line_start;       /* offset of its first byte */
	size_t line_len;         /* bytes so far, line break included */
	size_t line_idx;         /* lines completed before it */
	size_t bare_idx;         /* bare LFs (no CR before) in the lines before it */
	bool cur_bare;           /* in line_end(): the line ends with a bare LF */
	bool line_dash;          /* starts with '-' and boundaries are active */
	bool tail_ws;            /* bytes past lbuf_cap are all whitespace */
	unsigned char *lbuf;     /* its first bytes when line_dash */
	size_t lbuf_len, lbuf_cap;
	unsigned char last_byte;

	/* the line before it */
	unsigned int prev_eol_len;
	bool prev_line_empty;
};

static struct mime_part *part_new(struct mime_parser *p, struct frame *parent, size_t offset);
static struct frame *frame_push(struct mime_parser *p, struct mime_part *part, size_t start_bare);
static void line_end(struct mime_parser *p, unsigned int eol_len);
static int match_boundary(struct mime_parser *p, unsigned int eol_len, bool *closing_r);
static void handle_boundary(struct mime_parser *p, unsigned int idx, bool closing);
static void header_finish(struct mime_parser *p, struct frame *f, size_t end, size_t end_bare,
			  const void *block, size_t block_size);
static size_t header_block(struct mime_parser *p, struct frame *f, const unsigned char *d, size_t size);
static void body_start(struct mime_parser *p, size_t body_offset, size_t start_line,
		       size_t start_bare);
static void frame_close(struct mime_parser *p, bool at_eof);
static void apply_headers(struct mime_parser *p, struct mime_part *part, bool in_digest);
static void update_lbuf_cap(struct mime_parser *p);
static unsigned int scan_bytes(const unsigned char *d, size_t n);
static size_t body_lines(struct mime_parser *p, struct frame *f, const unsigned char *d, size_t size);

void mime_limits_default(struct mime_limits *limits_r)
{
	limits_r->max_depth = TERN_MIME_MAX_DEPTH;
	limits_r->max_parts = TERN_MIME_MAX_PARTS;
	limits_r->max_header_fields = TERN_MIME_MAX_HEADER_FIELDS;
	limits_r->max_header_size = TERN_MIME_MAX_HEADER_SIZE;
	limits_r->max_line_length = TERN_MIME_MAX_LINE_LENGTH;
}

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* NUL and 8-bit bytes, eight at a time. */
static unsigned int scan_bytes(const unsigned char *d, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t acc = 0, zero = 0;
	unsigned int flags = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, d + i, 8);
		acc |= w;
		/* nonzero exactly when some byte of w is zero */
		zero |= (w - ones) & ~w & highs;
	}
	for (; i < n; i++) {
		acc |= d[i];
		if (d[i] == 0)
			flags |= MIME_PART_FLAG_NUL;
	}
	if ((acc & highs) != 0)
		flags |= MIME_PART_FLAG_8BIT;
	if (zero != 0)
		flags |= MIME_PART_FLAG_NUL;
	return flags;
}

/* What a run of whole body lines adds up to. */
struct span {
	size_t lines;
	size_t bare;             /* LFs without CR before them */
	unsigned int flags;      /* BARE_LF, NUL, 8BIT */
};

/* Scan b[0..n) byte by byte, prev being the byte before b[0]: count the
   lines, note bare LFs, NUL and 8-bit bytes. With stop_dash, stop before
   a '-' that starts a line (after an LF). Returns the bytes taken. */
static size_t span_scalar(const unsigned char *b, size_t n, unsigned char prev, bool stop_dash,
			  struct span *s)
{
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < n; prev = b[i], i++) {
		unsigned char c = b[i];

		if (c == '-' && prev == '\n' && stop_dash)
			break;
		acc |= c;
		if (c == '\0')
			s->flags |= MIME_PART_FLAG_NUL;
		else if (c == '\n') {
			s->lines++;
			if (prev != '\r') {
				s->flags |= MIME_PART_FLAG_BARE_LF;
				s->bare++;
			}
		}
	}
	if ((acc & 0x80) != 0)
		s->flags |= MIME_PART_FLAG_8BIT;
	return i;
}

#ifdef MIME_SIMD
/* The sum of the 16 byte lanes of v. */
static size_t lane_sum(__m128i v)
{
	__m128i sum = _mm_sad_epu8(v, _mm_setzero_si128());

	return (size_t)_mm_cvtsi128_si64(sum) + (size_t)_mm_cvtsi128_si64(_mm_srli_si128(sum, 8));
}
#endif

/*
 * d[0..n) is a run of whole body lines (d at a line start, d[n - 1] the
 * '\n'). Take the lines up to the first that starts with '-' when stop_dash
 * (the first line never does): what the per-line path of
 * mime_parser_feed() would do with them, in one pass. Returns the bytes
 * taken, always whole lines.
 *
 * With SSE2, 64 bytes a round: LFs counted in byte lanes, an LF whose
 * previous byte is not CR noted, bytes ORed (8-bit) and min'ed (NUL); a
 * round holding a '-' is redone byte by byte, and stops the run when a '-'
 * starts a line.
 */
static size_t span_scan(const unsigned char *d, size_t n, bool stop_dash, struct span *s)
{
	size_t i = 0;
#ifdef MIME_SIMD
	const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	const __m128i dash = _mm_set1_epi8('-'), zero = _mm_setzero_si128();
	__m128i acc = zero, minv = _mm_set1_epi8((char)0xff), bcnt = zero, cnt = zero;
	/* a copy of a round that must not be read in place: the first (whose
	   previous byte is outside d) and a last short one, padded with a
	   byte that is none of those looked for */
	unsigned char blk[16 + 64];
	unsigned int rounds = 0;
	size_t lines = 0, bare = 0;

	while (i < n) {
		size_t take = n - i >= 64 ? 64 : n - i;
		const unsigned char *b = d + i;
		__m128i v0, v1, v2, v3, l0, l1, l2, l3, b0, b1, b2, b3;

		if (i == 0 || take < 64) {
			memset(blk, 'x', sizeof(blk));
			if (i > 0)
				blk[15] = d[i - 1];
			memcpy(blk + 16, b, take);
			b = blk + 16;
		}
		v0 = _mm_loadu_si128((const void *)b);
		v1 = _mm_loadu_si128((const void *)(b + 16));
		v2 = _mm_loadu_si128((const void *)(b + 32));
		v3 = _mm_loadu_si128((const void *)(b + 48));
		if (stop_dash) {
			__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v0, dash),
							      _mm_cmpeq_epi8(v1, dash)),
						 _mm_or_si128(_mm_cmpeq_epi8(v2, dash),
							      _mm_cmpeq_epi8(v3, dash)));

			if (_mm_movemask_epi8(m) != 0) {
				size_t q = span_scalar(b, take, b[-1], true, s);

				i += q;
				if (q < take)
					break;
				continue;
			}
		}
		l0 = _mm_cmpeq_epi8(v0, lf);
		l1 = _mm_cmpeq_epi8(v1, lf);
		l2 = _mm_cmpeq_epi8(v2, lf);
		l3 = _mm_cmpeq_epi8(v3, lf);
		/* an LF whose previous byte is not CR */
		b0 = _mm_andnot_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const void *)(b - 1)), cr), l0);
		b1 = _mm_andnot_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const void *)(b + 15)), cr), l1);
		b2 = _mm_andnot_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const void *)(b + 31)), cr), l2);
		b3 = _mm_andnot_si128(_mm_cmpeq_epi8(_mm_loadu_si128((const void *)(b + 47)), cr), l3);
		/* each lane gains at most 4 a round: flushed before 256 */
		cnt = _mm_sub_epi8(cnt, _mm_add_epi8(_mm_add_epi8(l0, l1), _mm_add_epi8(l2, l3)));
		bcnt = _mm_sub_epi8(bcnt, _mm_add_epi8(_mm_add_epi8(b0, b1), _mm_add_epi8(b2, b3)));
		acc = _mm_or_si128(acc, _mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3)));
		minv = _mm_min_epu8(minv, _mm_min_epu8(_mm_min_epu8(v0, v1), _mm_min_epu8(v2, v3)));
		if (++rounds == 63) {
			lines += lane_sum(cnt);
			bare += lane_sum(bcnt);
			cnt = zero;
			bcnt = zero;
			rounds = 0;
		}
		i += take;
	}
	lines += lane_sum(cnt);
	bare += lane_sum(bcnt);
	s->lines += lines;
	s->bare += bare;
	if (bare > 0)
		s->flags |= MIME_PART_FLAG_BARE_LF;
	if (_mm_movemask_epi8(acc) != 0)
		s->flags |= MIME_PART_FLAG_8BIT;
	if (_mm_movemask_epi8(_mm_cmpeq_epi8(minv, zero)) != 0)
		s->flags |= MIME_PART_FLAG_NUL;
#else
	/* d is at a line start: the byte before it is no CR and no LF */
	i = span_scalar(d, n, 'x', stop_dash, s);
#endif
	return i;
}

/*
 * At the start of a header block: when the whole block, up to and with its
 * empty line, lies in d[0..size), fits max_header_size and has no line
 * starting with '-' while a boundary is active (only those can end it
 * early), parse it where it is rather than copying it line by line into
 * p->hdr, doing what line_end() would for each of its lines. Returns the
 * bytes taken: the block, or 0 when the line-by-line path must do it.
 */
static size_t header_block(struct mime_parser *p, struct frame *f, const unsigned char *d, size_t size)
{
	size_t pos = 0, lines = 0, bare = 0, limit = I_MIN(size, p->limits.max_header_size);
	size_t body_offset;
	unsigned int flags = 0, eol;

	for (;;) {
		const unsigned char *nl;
		size_t len;

		if (pos >= limit)
			return 0;
		if (d[pos] == '-' && p->active_boundaries > 0)
			return 0;
		nl = memchr(d + pos, '\n', limit - pos);
		if (nl == NULL)
			return 0;
		len = (size_t)(nl - d) + 1 - pos;
		eol = len >= 2 && nl[-1] == '\r' ? 2 : 1;
		if (eol == 1) {
			flags |= MIME_PART_FLAG_BARE_LF;
			bare++;
		}
		lines++;
		pos += len;
		if (len == eol)
			break;	/* the empty line ends the header (RFC 5322 2.1) */
	}
	f->part->flags |= flags;
	f->header_lines = (unsigned int)lines;
	body_offset = p->line_start + pos;
	header_finish(p, f, body_offset, p->bare_idx + bare, d, pos);
	body_start(p, body_offset, p->line_idx + lines, p->bare_idx + bare);
	p->prev_eol_len = eol;
	p->prev_line_empty = true;
	p->line_idx += lines;
	p->bare_idx += bare;
	p->line_start += pos;
	p->last_byte = '\n';
	return pos;
}

/* At a line start in a body: take the whole lines of d[0..size) that only
   count (no '-' line while a boundary is active: only those can be one),
   exactly as line by line. Returns the bytes taken (0: none). */
static size_t body_lines(struct mime_parser *p, struct frame *f, const unsigned char *d, size_t size)
{
	const unsigned char *last_nl = memrchr(d, '\n', size);
	struct span s = { 0, 0, 0 };
	size_t n, l;
	unsigned int eol;

	if (last_nl == NULL)
		return 0;
	n = span_scan(d, (size_t)(last_nl - d) + 1, p->active_boundaries > 0, &s);
	if (n == 0)
		return 0;
	f->part->flags |= s.flags;
	/* the last line taken, ending with the LF at d[l] */
	l = n - 1;
	eol = l > 0 && d[l - 1] == '\r' ? 2 : 1;
	p->prev_eol_len = eol;
	p->prev_line_empty = l + 1 == eol || d[l - eol] == '\n';
	p->line_idx += s.lines;
	p->bare_idx += s.bare;
	p->line_start += n;
	p->last_byte = '\n';
	return n;
}

static struct mime_part *part_new(struct mime_parser *p, struct frame *parent, size_t offset)
{
	struct mime_part *part = arena_new_type(p->arena, struct mime_part);

	part->offset = offset;
	part->body_offset = offset;
	part->type = "text";
	part->subtype = "plain";
	part->header.offset = offset;
	if (parent != NULL) {
		part->parent = parent->part;
		part->depth = parent->part->depth + 1;
		if (parent->last_child == NULL)
			parent->part->children = part;
		else
			parent->last_child->next = part;
		parent->last_child = part;
		parent->part->child_count++;
	}
	p->part_count++;
	return part;
}

/* Push a frame for a new part, in header state. May move p->frames.
   start_bare: the bare LFs before the part's first byte. */
static struct frame *frame_push(struct mime_parser *p, struct mime_part *part, size_t start_bare)
{
	struct frame *f;

	if (p->frame_count == p->frame_alloc) {
		p->frame_alloc = p->frame_alloc == 0 ? 16 : p->frame_alloc * 2;
		p->frames = i_realloc(p->frames, sizeof(*p->frames) * p->frame_alloc);
	}
	f = &p->frames[p->frame_count++];
	memset(f, 0, sizeof(*f));
	f->part = part;
	f->start_bare = start_bare;
	f->state = FRAME_HEADER;
	f->kind = FRAME_LEAF;
	return f;
}

static void update_lbuf_cap(struct mime_parser *p)
{
	size_t max = 0, cap;
	unsigned int i;

	for (i = 0; i < p->frame_count; i++) {
		if (p->frames[i].boundary_active && p->frames[i].boundary_len > max)
			max = p->frames[i].boundary_len;
	}
	cap = max + 4 + BOUNDARY_SLACK;	/* "--" boundary "--" slack */
	if (cap > p->lbuf_cap) {
		p->lbuf = i_realloc(p->lbuf, cap);
		p->lbuf_cap = cap;
	}
}

struct mime_parser *mime_parser_init(struct arena *arena, const struct mime_limits *limits)
{
	struct mime_parser *p = i_malloc(sizeof(*p));

	p->arena = arena;
	if (limits != NULL)
		p->limits = *limits;
	else
		mime_limits_default(&p->limits);
	if (p->limits.max_header_size == 0)
		p->limits.max_header_size = 1;
	if (p->limits.max_parts == 0)
		p->limits.max_parts = 1;
	buf_init(&p->hdr, p->limits.max_header_size);
	update_lbuf_cap(p);
	p->prev_line_empty = false;
	(void)frame_push(p, part_new(p, NULL, 0), 0);
	return p;
}

void mime_parser_feed(struct mime_parser *p, const void *data, size_t size)
{
	const unsigned char *d = data, *end = d + size;

	while (d < end) {
		struct frame *f = &p->frames[p->frame_count - 1];
		const unsigned char *nl, *seg_end;
		size_t n;

		if (p->line_len == 0 && f->state == FRAME_BODY &&
		    (*d != '-' || p->active_boundaries == 0)) {
			n = body_lines(p, f, d, (size_t)(end - d));
			if (n > 0) {
				d += n;
				continue;
			}
		} else if (p->line_len == 0 && f->state == FRAME_HEADER && f->header_lines == 0) {
			n = header_block(p, f, d, (size_t)(end - d));
			if (n > 0) {
				d += n;
				continue;
			}
		}
		if (p->line_len == 0) {
			p->line_dash = *d == '-' && p->active_boundaries > 0;
			p->lbuf_len = 0;
			p->tail_ws = true;
		}
		nl = memchr(d, '\n', (size_t)(end - d));
		seg_end = nl == NULL ? end : nl + 1;
		n = (size_t)(seg_end - d);

		if (p->line_dash) {
			size_t room = p->lbuf_cap - p->lbuf_len, take = I_MIN(room, n), i;

			memcpy(p->lbuf + p->lbuf_len, d, take);
			p->lbuf_len += take;
			for (i = take; i < n && p->tail_ws; i++) {
				if (!is_wsp(d[i]))
					p->tail_ws = false;
			}
		}
		if (f->state == FRAME_HEADER) {
			size_t room = p->hdr.max - buf_len(&p->hdr);

			if (n > room) {
				p->hdr_truncated = true;
				if (room > 0)
					must_append(&p->hdr, d, room);
			} else {
				must_append(&p->hdr, d, n);
			}
		} else if ((f->part->flags & FLAGS_BYTES) != FLAGS_BYTES) {
			f->part->flags |= scan_bytes(d, n);
		}
		p->line_len += n;
		if (nl != NULL) {
			bool cr = n >= 2 ? nl[-1] == '\r' : (p->line_len >= 2 && p->last_byte == '\r');

			line_end(p, cr ? 2 : 1);
		}
		p->last_byte = seg_end[-1];
		d = seg_end;
	}
}

/* The active multipart whose boundary this line is, or -1. */
static int match_boundary(struct mime_parser *p, unsigned int eol_len, bool *closing_r)
{
	size_t content_len = p->line_len - eol_len;
	size_t have = I_MIN(p->lbuf_len, content_len);
	const unsigned char *l = p->lbuf;
	int prefix = -1;
	bool prefix_closing = false;
	unsigned int i;

	if (have < 2 || l[0] != '-' || l[1] != '-')
		return -1;
	for (i = p->frame_count; i-- > 0; ) {
		const struct frame *f = &p->frames[i];
		size_t n = f->boundary_len, r;
		bool closing, exact = true;

		if (!f->boundary_active || have < 2 + n ||
		    memcmp(l + 2, f->part->boundary, n) != 0)
			continue;
		r = 2 + n;
		closing = have >= r + 2 && l[r] == '-' && l[r + 1] == '-';
		if (closing)
			r += 2;
		for (; r < have; r++) {
			if (!is_wsp(l[r])) {
				exact = false;
				break;
			}
		}
		if (content_len > p->lbuf_len && !p->tail_ws)
			exact = false;
		if (exact) {
			*closing_r = closing;
			return (int)i;
		}
		if (prefix < 0) {
			prefix = (int)i;
			prefix_closing = closing;
		}
	}
	*closing_r = prefix_closing;
	return prefix;
}

static void line_end(struct mime_parser *p, unsigned int eol_len)
{
	struct frame *f = &p->frames[p->frame_count - 1];
	bool closing = false;
	int idx = -1;

	p->cur_bare = eol_len == 1;
	if (eol_len == 1)
		f->part->flags |= MIME_PART_FLAG_BARE_LF;
	if (p->line_dash)
		idx = match_boundary(p, eol_len, &closing);
	if (idx >= 0) {
		handle_boundary(p, (unsigned int)idx, closing);
	} else if (f->state == FRAME_HEADER) {
		f->header_lines++;
		if (p->line_len == eol_len && eol_len > 0) {
			/* the empty line ends the header (RFC 5322 2.1) */
			size_t body_offset = p->line_start + p->line_len;
			size_t bare = p->bare_idx + (p->cur_bare ? 1 : 0);

			header_finish(p, f, body_offset, bare, p->hdr.data, buf_len(&p->hdr));
			body_start(p, body_offset, p->line_idx + 1, bare);
		}
	}
	p->prev_eol_len = eol_len;
	p->prev_line_empty = p->line_len == eol_len;
	p->line_idx++;
	if (p->cur_bare)
		p->bare_idx++;
	p->cur_bare = false;
	p->line_start += p->line_len;
	p->line_len = 0;
	p->line_dash = false;
}

/* The header of a part: the bytes of its block, in p->hdr or in place. */
static void header_finish(struct mime_parser *p, struct frame *f, size_t end, size_t end_bare,
			  const void *block, size_t block_size)
{
	struct mime_part *part = f->part;
	bool in_digest = part->parent != NULL &&
		strcmp(part->parent->type, "multipart") == 0 &&
		strcmp(part->parent->subtype, "digest") == 0 &&
		p->frame_count >= 2 && p->frames[p->frame_count - 2].kind == FRAME_MULTIPART;

	msg_header_parse_block(p->arena, block == NULL ? (const void *)"" : block,
			       block_size, part->offset, p->limits.max_header_fields,
			       p->hdr_truncated, &part->header);
	part->header_size = end - part->offset;
	/* size arithmetic: each bare LF is one byte more as CRLF */
	part->header_crlf_size = part->header_size + (end_bare - f->start_bare);
	part->header_lines = f->header_lines;
	part->header.size = part->header_size;
	part->header.lines = f->header_lines;
	if (part->header.truncated)
		part->flags |= MIME_PART_FLAG_HEADER_LIMIT;
	buf_reset(&p->hdr);
	p->hdr_truncated = false;
	part->body_offset = end;
	apply_headers(p, part, in_digest);
	f->state = FRAME_BODY;
}

static bool cte_is_identity(const struct mime_part *part)
{
	return part->cte == MIME_CTE_7BIT || part->cte == MIME_CTE_8BIT ||
	       part->cte == MIME_CTE_BINARY;
}

/* The header of the top part ended: decide what its body is. */
static void body_start(struct mime_parser *p, size_t body_offset, size_t start_line,
		       size_t start_bare)
{
	struct frame *f = &p->frames[p->frame_count - 1];
	struct mime_part *part = f->part;

	f->body_start_line = start_line;
	f->body_start_bare = start_bare;
	if (strcmp(part->type, "multipart") == 0) {
		const char *boundary = mime_part_param(part, "boundary");

		if (boundary == NULL || *boundary == '\0') {
			/* RFC 2046 5.1.1: the boundary parameter is required */
			part->flags |= MIME_PART_FLAG_NO_BOUNDARY;
			part->type = "text";
			part->subtype = "plain";
			return;
		}
		part->boundary = boundary;
		if (part->depth + 1 > p->limits.max_depth) {
			part->flags |= MIME_PART_FLAG_DEPTH_LIMIT;
			return;
		}
		f->kind = FRAME_MULTIPART;
		f->boundary_len = strlen(boundary);
		f->boundary_active = true;
		p->active_boundaries++;
		update_lbuf_cap(p);
	} else if (strcmp(part->type, "message") == 0 &&
		   (strcmp(part->subtype, "rfc822") == 0 ||
		    strcmp(part->subtype, "global") == 0) &&
		   cte_is_identity(part)) {
		/* RFC 2046 5.2.1 (RFC 6532 3.7 for message/global): the body
		   is a whole message; only identity encodings are parsed */
		if (part->depth + 1 > p->limits.max_depth) {
			part->flags |= MIME_PART_FLAG_DEPTH_LIMIT;
			return;
		}
		if (p->part_count >= p->limits.max_parts) {
			part->flags |= MIME_PART_FLAG_PART_LIMIT;
			return;
		}
		f->kind = FRAME_MESSAGE;
		(void)frame_push(p, part_new(p, f, body_offset), start_bare);
	}
}

/* A boundary of frames[idx] at the current line: close everything inside
   it, then start its next part (or its epilogue). */
static void handle_boundary(struct mime_parser *p, unsigned int idx, bool closing)
{
	size_t line_start = p->line_start, next = p->line_start + p->line_len;
	struct frame *f;

	while (p->frame_count - 1 > idx)
		frame_close(p, false);
	f = &p->frames[idx];
	if (!f->seen_boundary) {
		struct mime_part *part = f->part;

		part->preamble_offset = part->body_offset;
		/* RFC 2046 5.1.1: the line break before the boundary is the boundary's */
		if (line_start > part->body_offset)
			part->preamble_size = line_start - p->prev_eol_len - part->body_offset;
		f->seen_boundary = true;
	}
	if (closing || p->part_count >= p->limits.max_parts) {
		f->boundary_active = false;
		f->closed = true;
		p->active_boundaries--;
		if (closing) {
			f->part->epilogue_offset = next;
		} else {
			f->part->flags |= MIME_PART_FLAG_PART_LIMIT;
			f->part->epilogue_offset = line_start;
		}
		return;
	}
	(void)frame_push(p, part_new(p, f, next), p->bare_idx + (p->cur_bare ? 1 : 0));
}

/* Close the top frame: at the current line (a boundary of an enclosing
   multipart starts there), or at the end of the message. */
static void frame_close(struct mime_parser *p, bool at_eof)
{
	struct frame *f = &p->frames[p->frame_count - 1];
	struct mime_part *part = f->part;
	size_t L = p->line_start, region_end;

	if (f->state == FRAME_HEADER) {
		/* no empty line: the header runs to the boundary line or EOF */
		header_finish(p, f, L, p->bare_idx, p->hdr.data, buf_len(&p->hdr));
		if (strcmp(part->type, "multipart") == 0) {
			/* a multipart without body: as if its boundary never came */
			part->boundary = mime_part_param(part, "boundary");
			if (part->boundary == NULL || *part->boundary == '\0') {
				part->flags |= MIME_PART_FLAG_NO_BOUNDARY;
				part->type = "text";
				part->subtype = "plain";
			} else {
				part->flags |= MIME_PART_FLAG_MISSING_END_BOUNDARY;
			}
		}
		part->body_size = 0;
		part->body_lines = 0;
		region_end = L;
	} else if (at_eof) {
		region_end = L;
		part->body_size = L - part->body_offset;
		part->body_crlf_size = part->body_size + (p->bare_idx - f->body_start_bare);
		part->body_lines = (unsigned int)(p->line_idx - f->body_start_line);
	} else if (L > part->body_offset) {
		/* RFC 2046 5.1.1: the line break before the boundary is the boundary's */
		region_end = L - p->prev_eol_len;
		part->body_size = region_end - part->body_offset;
		part->body_crlf_size = part->body_size + (p->bare_idx - f->body_start_bare) -
			(p->prev_eol_len == 1 ? 1 : 0);
		part->body_lines = (unsigned int)(p->line_idx - f->body_start_line) -
			(p->prev_line_empty ? 1 : 0);
	} else {
		region_end = part->body_offset;
		part->body_size = 0;
		part->body_lines = 0;
	}
	if (f->kind == FRAME_MULTIPART) {
		if (!f->seen_boundary) {
			part->preamble_offset = part->body_offset;
			part->preamble_size = part->body_size;
			part->flags |= MIME_PART_FLAG_MISSING_END_BOUNDARY;
		} else if (f->closed) {
			/* empty when the closing line is the body's last line */
			if (region_end > part->epilogue_offset)
				part->epilogue_size = region_end - part->epilogue_offset;
		} else {
			part->flags |= MIME_PART_FLAG_MISSING_END_BOUNDARY;
		}
		if (f->boundary_active) {
			f->boundary_active = false;
			p->active_boundaries--;
		}
	}
	if (part->parent != NULL)
		part->parent->flags |= part->flags & FLAGS_PROPAGATE;
	p->frame_count--;
}

struct mime_part *mime_parser_finish(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;
	struct mime_part *root = p->frames[0].part;

	if (p->line_len > 0)
		line_end(p, 0);	/* a last line without line break */
	while (p->frame_count > 0)
		frame_close(p, true);
	buf_free(&p->hdr);
	free(p->lbuf);
	free(p->frames);
	i_free(p);
	*pp = NULL;
	return root;
}

struct mime_part *mime_parse(struct arena *arena, const void *data, size_t size,
			     const struct mime_limits *limits)
{
	struct mime_parser *p = mime_parser_init(arena, limits);

	mime_parser_feed(p, data, size);
	return mime_parser_finish(&p);
}

/* Content-Transfer-Encoding (RFC 2045 6.1): a token, comments allowed. */
static void parse_cte(struct arena *arena, struct mime_part *part, const char *value, size_t len)
{
	size_t start = 0, end;
	char *name;

	while (start < len && (is_wsp((unsigned char)value[start]) || value[start] == '('))
	{
		if (value[start] == '(') {
			const char *close = memchr(value + start, ')', len - start);

			start = close == NULL ? len : (size_t)(close - value) + 1;
		} else {
			start++;
		}
	}
	for (end = start; end < len && !is_wsp((unsigned char)value[end]) &&
	     value[end] != '(' && value[end] != ';'; end++)
		;
	name = arena_strndup(arena, value + start, end - start);
	i_str_lower(name);
	part->cte_name = name;
	if (*name == '\0' || strcmp(name, "7bit") == 0)
		part->cte = MIME_CTE_7BIT;
	else if (strcmp(name, "8bit") == 0)
		part->cte = MIME_CTE_8BIT;
	else if (strcmp(name, "binary") == 0)
		part->cte = MIME_CTE_BINARY;
	else if (strcmp(name, "base64") == 0)
		part->cte = MIME_CTE_BASE64;
	else if (strcmp(name, "quoted-printable") == 0)
		part->cte = MIME_CTE_QUOTED_PRINTABLE;
	else
		part->cte = MIME_CTE_UNKNOWN;
}

/* The Content-* fields of a part header (RFC 2045 5-8, RFC 2183, RFC 3282,
   RFC 1864, RFC 2557): the first of each wins. */
static void apply_headers(struct mime_parser *p, struct mime_part *part, bool in_digest)
{
	bool seen_type = false, seen_cte = false, seen_disp = false, seen_lang = false;
	unsigned int i;

	part->type = in_digest ? "message" : "text";
	part->subtype = in_digest ? "rfc822" : "plain";
	part->cte = MIME_CTE_7BIT;
	for (i = 0; i < part->header.count; i++) {
		const struct msg_header_field *field = &part->header.fields[i];
		const char *name = field->name;

		if (field->name_len < 8 || i_strncasecmp(name, "content-", 8) != 0)
			continue;
		name += 8;
		if (i_strcasecmp(name, "type") == 0 && !seen_type) {
			const char *type, *subtype;

			seen_type = true;
			if (mime_content_type_parse(p->arena, field->value, field->value_len,
						    &type, &subtype, &part->params,
						    &part->param_count) < 0) {
				part->flags |= MIME_PART_FLAG_BAD_CONTENT_TYPE;
			} else {
				part->type = type;
				part->subtype = subtype;
				part->content_type_explicit = true;
			}
		} else if (i_strcasecmp(name, "transfer-encoding") == 0 && !seen_cte) {
			seen_cte = true;
			parse_cte(p->arena, part, field->value, field->value_len);
		} else if (i_strcasecmp(name, "id") == 0 && part->content_id == NULL) {
			part->content_id = field->value;
		} else if (i_strcasecmp(name, "description") == 0 && part->description == NULL) {
			part->description = field->value;
		} else if (i_strcasecmp(name, "md5") == 0 && part->md5 == NULL) {
			part->md5 = field->value;
		} else if (i_strcasecmp(name, "location") == 0 && part->location == NULL) {
			part->location = field->value;
		} else if (i_strcasecmp(name, "disposition") == 0 && !seen_disp) {
			seen_disp = true;
			(void)mime_disposition_parse(p->arena, field->value, field->value_len,
						     &part->disposition,
						     &part->disposition_params,
						     &part->disposition_param_count);
		} else if (i_strcasecmp(name, "language") == 0 && !seen_lang) {
			seen_lang = true;
			(void)mime_language_parse(p->arena, field->value, field->value_len,
						  &part->languages, &part->language_count);
		}
	}
}

const char *mime_part_param(const struct mime_part *part, const char *name)
{
	return mime_param_get(part->params, part->param_count, name);
}

bool mime_part_is_multipart(const struct mime_part *part)
{
	return part->children != NULL && strcmp(part->type, "multipart") == 0;
}

bool mime_part_is_message(const struct mime_part *part)
{
	return part->children != NULL && strcmp(part->type, "message") == 0;
}

/* Parse one section number component; 0 on error. */
static unsigned long section_number(const char **s)
{
	unsigned long n = 0;
	const char *p = *s;

	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > 100000000)
			return 0;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	*s = p;
	return n;
}

static const struct mime_part *nth_child(const struct mime_part *part, unsigned long n)
{
	const struct mime_part *c;

	for (c = part->children; c != NULL && n > 1; c = c->next)
		n--;
	return c;
}

const struct mime_part *mime_part_find_section(const struct mime_part *root, const char *section)
{
	const struct mime_part *part = root;
	const char *s = section;
	bool is_message = true;	/* `part` is a message: its numbers address its body */

	if (*s == '\0')
		return root;
	for (;;) {
		unsigned long n = section_number(&s);

		if (n == 0 || part == NULL)
			return NULL;
		if (!is_message && mime_part_is_message(part)) {
			/* RFC 3501 6.4.5: in a message/rfc822 part, the numbers
			   address the encapsulated message's body */
			part = part->children;
			is_message = true;
		}
		if (mime_part_is_multipart(part))
			part = nth_child(part, n);
		else if (is_message && n == 1)
			;	/* a non-multipart message's only part is its body */
		else
			return NULL;
		is_message = false;
		if (part == NULL)
			return NULL;
		if (*s == '\0')
			return part;
		if (*s != '.')
			return NULL;
		s++;
	}
}

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool params_equal(const struct mime_param *a, unsigned int na,
			 const struct mime_param *b, unsigned int nb)
{
	unsigned int i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		if (!str_eq(a[i].name, b[i].name) || !str_eq(a[i].value, b[i].value) ||
		    !str_eq(a[i].raw, b[i].raw) || !str_eq(a[i].charset, b[i].charset) ||
		    !str_eq(a[i].language, b[i].language) || a[i].extended != b[i].extended)
			return false;
	}
	return true;
}

static bool header_equal(const struct msg_header *a, const struct msg_header *b)
{
	unsigned int i;

	if (a->count != b->count || a->offset != b->offset || a->size != b->size ||
	    a->lines != b->lines || a->truncated != b->truncated)
		return false;
	for (i = 0; i < a->count; i++) {
		const struct msg_header_field *fa = &a->fields[i], *fb = &b->fields[i];

		if (fa->name_len != fb->name_len || fa->value_len != fb->value_len ||
		    fa->offset != fb->offset || fa->size != fb->size ||
		    memcmp(fa->name, fb->name, fa->name_len) != 0 ||
		    memcmp(fa->value, fb->value, fa->value_len) != 0)
			return false;
	}
	return true;
}

bool mime_part_tree_equal(const struct mime_part *a, const struct mime_part *b)
{
	const struct mime_part *ca, *cb;
	unsigned int i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->child_count != b->child_count || a->depth != b->depth ||
	    !str_eq(a->type, b->type) || !str_eq(a->subtype, b->subtype) ||
	    a->content_type_explicit != b->content_type_explicit ||
	    !params_equal(a->params, a->param_count, b->params, b->param_count) ||
	    !str_eq(a->cte_name, b->cte_name) || a->cte != b->cte ||
	    !str_eq(a->content_id, b->content_id) || !str_eq(a->description, b->description) ||
	    !str_eq(a->md5, b->md5) || !str_eq(a->location, b->location) ||
	    !str_eq(a->disposition, b->disposition) ||
	    !params_equal(a->disposition_params, a->disposition_param_count,
			  b->disposition_params, b->disposition_param_count) ||
	    a->language_count != b->language_count || !str_eq(a->boundary, b->boundary) ||
	    a->offset != b->offset || a->header_size != b->header_size ||
	    a->header_lines != b->header_lines || a->body_offset != b->body_offset ||
	    a->body_size != b->body_size || a->body_lines != b->body_lines ||
	    a->header_crlf_size != b->header_crlf_size ||
	    a->body_crlf_size != b->body_crlf_size ||
	    a->preamble_offset != b->preamble_offset || a->preamble_size != b->preamble_size ||
	    a->epilogue_offset != b->epilogue_offset || a->epilogue_size != b->epilogue_size ||
	    a->flags != b->flags || !header_equal(&a->header, &b->header))
		return false;
	for (i = 0; i < a->language_count; i++) {
		if (!str_eq(a->languages[i], b->languages[i]))
			return false;
	}
	for (ca = a->children, cb = b->children; ca != NULL && cb != NULL;
	     ca = ca->next, cb = cb->next) {
		if (!mime_part_tree_equal(ca, cb))
			return false;
	}
	return ca == NULL && cb == NULL;
}
