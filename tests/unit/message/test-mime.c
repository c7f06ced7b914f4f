#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "mime.h"
#include "arena.h"
#include "buf.h"
#include "tern-limits.h"

/* Parse whole, one byte at a time, in 7-byte pieces and in pieces of
   varying sizes; all trees must be identical. Returns the whole parse. */
static struct mime_part *parse_all(struct arena *arena, const char *msg, size_t len,
				   const struct mime_limits *limits);
static void check_bounds(const struct mime_part *part, size_t size);

static struct mime_part *parse_split(struct arena *arena, const char *msg, size_t len,
				     const struct mime_limits *limits, size_t piece, bool vary)
{
	struct mime_parser *p = mime_parser_init(arena, limits);
	size_t pos = 0, n = piece;

	while (pos < len) {
		size_t take = I_MIN(n, len - pos);

		mime_parser_feed(p, msg + pos, take);
		mime_parser_feed(p, msg + pos, 0);
		pos += take;
		if (vary)
			n = n % 13 + 1;
	}
	return mime_parser_finish(&p);
}

static void check_bounds(const struct mime_part *part, size_t size)
{
	const struct mime_part *c;
	unsigned int n = 0;

	assert_true(part->offset <= size);
	assert_true(part->offset + part->header_size <= size);
	assert_int_equal(part->offset + part->header_size, part->body_offset);
	assert_true(part->body_offset + part->body_size <= size);
	assert_true(part->preamble_offset + part->preamble_size <= size);
	assert_true(part->epilogue_offset + part->epilogue_size <= size);
	for (c = part->children; c != NULL; c = c->next) {
		assert_ptr_equal(c->parent, part);
		assert_true(c->offset >= part->body_offset);
		/* a child ends inside its parent's body; only an empty body may
		   sit past it, by the line break that RFC 2046 5.1.1 gives to the
		   boundary after the child's header */
		if (c->body_size == 0)
			assert_true(c->body_offset <= part->body_offset + part->body_size + 2);
		else
			assert_true(c->body_offset + c->body_size <=
				    part->body_offset + part->body_size);
		check_bounds(c, size);
		n++;
	}
	assert_int_equal(n, part->child_count);
}

/* The CRLF-form sizes of `a` (a parse of some message) are the plain sizes
   of `b` (a parse of that message with every bare LF made CRLF), part by
   part. */
static void check_crlf_tree(const struct mime_part *a, const struct mime_part *b)
{
	const struct mime_part *ca, *cb;

	assert_int_equal(a->child_count, b->child_count);
	assert_int_equal(a->header_crlf_size, b->header_size);
	assert_int_equal(a->body_crlf_size, b->body_size);
	assert_int_equal(b->header_crlf_size, b->header_size);
	assert_int_equal(b->body_crlf_size, b->body_size);
	assert_int_equal(a->body_lines, b->body_lines);
	if ((a->flags & MIME_PART_FLAG_BARE_LF) == 0) {
		assert_int_equal(a->header_crlf_size, a->header_size);
		assert_int_equal(a->body_crlf_size, a->body_size);
	}
	for (ca = a->children, cb = b->children; ca != NULL; ca = ca->next, cb = cb->next)
		check_crlf_tree(ca, cb);
}

/* Make every bare LF CRLF (crlf true), or every CRLF a bare LF. */
static char *convert_eol(const char *msg, size_t len, bool crlf, size_t *len_r)
{
	char *out = malloc(len * 2 + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (crlf && msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			out[n++] = '\r';
		if (!crlf && msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')
			continue;
		out[n++] = msg[i];
	}
	*len_r = n;
	return out;
}

/* The CRLF-form sizes hold against a parse of the CRLF form, and a message
   made LF-only has the sizes of the original CRLF one. */
static void check_crlf_sizes(const struct mime_part *whole, const char *msg, size_t len)
{
	struct arena *a2 = arena_new(0);
	size_t clen, i;
	char *c = convert_eol(msg, len, true, &clen);
	bool lone_cr = false;

	check_crlf_tree(whole, mime_parse(a2, c, clen, NULL));
	for (i = 0; i < clen; i++) {
		if (c[i] == '\r' && (i + 1 == clen || c[i + 1] != '\n'))
			lone_cr = true;
	}
	if (!lone_cr) {
		/* c has CRLF only: its LF-only twin must size as c */
		struct mime_part *crlf_tree = mime_parse(a2, c, clen, NULL);
		size_t llen;
		char *l = convert_eol(c, clen, false, &llen);

		check_crlf_tree(mime_parse(a2, l, llen, NULL), crlf_tree);
		free(l);
	}
	free(c);
	arena_free(&a2);
}

static struct mime_part *parse_all(struct arena *arena, const char *msg, size_t len,
				   const struct mime_limits *limits)
{
	struct mime_part *whole = mime_parse(arena, msg, len, limits);
	static const size_t pieces[] = { 1, 2, 7, 64 };
	unsigned int i;

	check_bounds(whole, len);
	if (limits == NULL)
		check_crlf_sizes(whole, msg, len);
	for (i = 0; i < N_ELEMENTS(pieces); i++) {
		struct arena *a2 = arena_new(0);

		assert_true(mime_part_tree_equal(whole, parse_split(a2, msg, len, limits,
								    pieces[i], false)));
		arena_free(&a2);
	}
	{
		struct arena *a2 = arena_new(0);

		assert_true(mime_part_tree_equal(whole, parse_split(a2, msg, len, limits, 5, true)));
		arena_free(&a2);
	}
	return whole;
}

static char *body_of(const char *msg, const struct mime_part *part)
{
	static char out[4096];

	assert_true(part->body_size < sizeof(out));
	memcpy(out, msg + part->body_offset, part->body_size);
	out[part->body_size] = '\0';
	return out;
}

static char *header_of(const char *msg, const struct mime_part *part)
{
	static char out[4096];

	assert_true(part->header_size < sizeof(out));
	memcpy(out, msg + part->offset, part->header_size);
	out[part->header_size] = '\0';
	return out;
}

#define PARSE(msg) parse_all(arena, msg, strlen(msg), NULL)

static const char nested_msg[] =
	"From: a@example.test\r\n"
	"Subject: nested\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"This is the preamble.\r\n"
	"--outer\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"Hello\r\n"
	"world\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"plain\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/html\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"<p>html</p>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner message\r\n"
	"\r\n"
	"inner body\r\n"
	"line 2\r\n"
	"--outer--\r\n"
	"epilogue\r\n";

static void test_nested(void **state)
{
	struct arena *arena = arena_new(0);
	const char *msg = nested_msg;
	struct mime_part *root = PARSE(msg), *p1, *p2, *p21, *p22, *p3, *p31;

	assert_string_equal(root->type, "multipart");
	assert_string_equal(root->subtype, "mixed");
	assert_string_equal(root->boundary, "outer");
	assert_int_equal(root->child_count, 3);
	assert_int_equal(root->flags, 0);
	assert_int_equal(root->header.count, 4);
	assert_int_equal(root->header_lines, 5);
	assert_string_equal(header_of(msg, root), "From: a@example.test\r\nSubject: nested\r\n"
			    "MIME-Version: 1.0\r\n"
			    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n");
	assert_int_equal(root->body_offset + root->body_size, strlen(msg));
	assert_int_equal(root->preamble_size, strlen("This is the preamble."));
	assert_int_equal(root->epilogue_size, strlen("epilogue\r\n"));
	assert_memory_equal(msg + root->epilogue_offset, "epilogue\r\n", root->epilogue_size);

	p1 = root->children;
	assert_string_equal(p1->type, "text");
	assert_string_equal(mime_part_param(p1, "charset"), "utf-8");
	assert_string_equal(body_of(msg, p1), "Hello\r\nworld");
	assert_int_equal(p1->body_lines, 2);
	assert_int_equal(p1->header_lines, 2);
	assert_string_equal(header_of(msg, p1), "Content-Type: text/plain; charset=utf-8\r\n\r\n");

	p2 = p1->next;
	assert_true(mime_part_is_multipart(p2));
	assert_int_equal(p2->child_count, 2);
	p21 = p2->children;
	p22 = p21->next;
	assert_string_equal(body_of(msg, p21), "plain\r\n");
	assert_int_equal(p21->body_lines, 1);
	assert_string_equal(p22->subtype, "html");
	assert_int_equal(p22->cte, MIME_CTE_QUOTED_PRINTABLE);
	assert_string_equal(p22->cte_name, "quoted-printable");
	assert_string_equal(body_of(msg, p22), "<p>html</p>");
	assert_int_equal(p22->depth, 2);
	/* the multipart's body runs up to the line break before --outer */
	assert_true(strncmp(msg + p2->body_offset, "--inner\r\n", 9) == 0);
	assert_true(strncmp(msg + p2->body_offset + p2->body_size, "\r\n--outer\r\n", 11) == 0);
	assert_int_equal(p2->body_lines, 11);
	assert_int_equal(p2->epilogue_size, 0);

	p3 = p22->next;
	assert_null(p3);
	p3 = p2->next;
	assert_true(mime_part_is_message(p3));
	assert_int_equal(p3->child_count, 1);
	p31 = p3->children;
	assert_int_equal(p31->offset, p3->body_offset);
	assert_string_equal(body_of(msg, p3), "Subject: inner message\r\n\r\ninner body\r\nline 2");
	assert_int_equal(p3->body_lines, 4);
	assert_string_equal(body_of(msg, p31), "inner body\r\nline 2");
	assert_int_equal(p31->body_lines, 2);
	assert_non_null(msg_header_get(&p31->header, "subject"));
	assert_string_equal(msg_header_get(&p31->header, "subject")->value, "inner message");
	assert_null(p3->next);

	/* IMAP sections, RFC 3501 6.4.5 */
	assert_ptr_equal(mime_part_find_section(root, ""), root);
	assert_ptr_equal(mime_part_find_section(root, "1"), p1);
	assert_ptr_equal(mime_part_find_section(root, "2"), p2);
	assert_ptr_equal(mime_part_find_section(root, "2.2"), p22);
	assert_ptr_equal(mime_part_find_section(root, "3"), p3);
	assert_ptr_equal(mime_part_find_section(root, "3.1"), p31);
	assert_null(mime_part_find_section(root, "3.2"));
	assert_null(mime_part_find_section(root, "4"));
	assert_null(mime_part_find_section(root, "1.1"));
	assert_null(mime_part_find_section(root, "0"));
	assert_null(mime_part_find_section(root, "2."));
	assert_null(mime_part_find_section(root, "x"));
	arena_free(&arena);
}

static void test_section_single(void **state)
{
	struct arena *arena = arena_new(0);
	const char *msg =
		"Content-Type: message/rfc822\r\n\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n";
	struct mime_part *root = PARSE(msg), *m, *two;

	m = root->children;
	assert_non_null(m);
	assert_int_equal(m->child_count, 2);
	two = m->children->next;
	assert_ptr_equal(mime_part_find_section(root, "1"), root);
	assert_ptr_equal(mime_part_find_section(root, "1.2"), two);
	assert_string_equal(body_of(msg, two), "two");
	assert_null(mime_part_find_section(root, "2"));

	root = PARSE("Subject: x\r\n\r\nbody\r\n");
	assert_ptr_equal(mime_part_find_section(root, "1"), root);
	assert_null(mime_part_find_section(root, "1.1"));
	assert_null(mime_part_find_section(root, "2"));
	arena_free(&arena);
}

static void test_digest(void **state)
{
	struct arena *arena = arena_new(0);
	const char *msg =
		"Content-Type: multipart/digest; boundary=d\r\n\r\n"
		"--d\r\n\r\nSubject: one\r\n\r\nbody one\r\n"
		"--d\r\nContent-Type: text/plain\r\n\r\nnot a message\r\n"
		"--d--\r\n";
	struct mime_part *root = PARSE(msg), *c1, *c2;

	c1 = root->children;
	c2 = c1->next;
	assert_string_equal(c1->type, "message");
	assert_string_equal(c1->subtype, "rfc822");
	assert_false(c1->content_type_explicit);
	assert_true(mime_part_is_message(c1));
	assert_string_equal(msg_header_get(&c1->children->header, "Subject")->value, "one");
	assert_string_equal(body_of(msg, c1->children), "body one");
	assert_string_equal(c2->type, "text");
	assert_null(c2->children);
	arena_free(&arena);
}

static void test_missing_end(void **state)
{
	struct arena *arena = arena_new(0);
	const char *msg =
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\nlast";
	struct mime_part *root = PARSE(msg);

	assert_true(root->flags & MIME_PART_FLAG_MISSING_END_BOUNDARY);
	assert_int_equal(root->child_count, 2);
	assert_string_equal(body_of(msg, root->children->next), "two\r\nlast");
	assert_int_equal(root->children->next->body_lines, 2);
	assert_int_equal(root->body_offset + root->body_size, strlen(msg));

	/* boundary never found: no children, everything is preamble */
	msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts here\r\n";
	root = PARSE(msg);
	assert_int_equal(root->child_count, 0);
	assert_false(mime_part_is_multipart(root));
	assert_true(root->flags & MIME_PART_FLAG_MISSING_END_BOUNDARY);
	assert_int_equal(root->preamble_size, root->body_size);
	assert_string_equal(body_of(msg, root), "no parts here\r\n");
	assert_int_equal(root->body_lines, 1);

	/* no boundary parameter */
	msg = "Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n";
	root = PARSE(msg);
	assert_true(root->flags & MIME_PART_FLAG_NO_BOUNDARY);
	assert_string_equal(root->type, "text");
	assert_int_equal(root->child_count, 0);
	assert_string_equal(body_of(msg, root), "--b\r\n\r\nx\r\n");
	arena_free(&arena);
}

static void test_outer_closes_inner(void **state)
{
	struct arena *arena = arena_new(0);
	const char *msg =
		"Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
		"--outer\r\n"
		"Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
		"--inner\r\n\r\ninner one\r\n"
		"--outer\r\n\r\nouter two\r\n"
		"--outer--\r\n";
	struct mime_part *root = PARSE(msg), *inner, *two;

	assert_int_equal(root->child_count, 2);
	assert_false(root->flags & MIME_PART_FLAG_MISSING_END_BOUNDARY);
	inner = root->children;
	assert_true(inner->flags & MIME_PART_FLAG_MISSING_END_BOUNDARY);
	assert_int_equal(inner->child_count, 1);
	assert_string_equal(body_of(msg, inner->children), "inner one");
	two = inner->next;
	assert_string_equal(body_of(msg, two), "outer two");

	/* a header ended by a boundary (no empty line) */
	msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	      "--b\r\nContent-Type: text/html\r\n--b\r\n\r\nx\r\n--b--\r\n";
	root = PARSE(msg);
	assert_int_equal(root->child_count, 2);
	assert_string_equal(root->children->subtype, "html");
	assert_int_equal(root->children->body_size, 0);
	assert_string_equal(header_of(msg, root->children), "Content-Type: text/html\r\n");
	arena_free(&arena);
}

static void test_boundary_variants(void **state)
{
	struct arena *arena = arena_new(0);
	const char *msg =
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
		"--b  \t\r\n\r\none\r\n"
		"--b junk after\r\n\r\ntwo\r\n"
		"--bb\r\n\r\nthree\r\n"
		"--b--   \r\n";
	struct mime_part *root = PARSE(msg), *c;

	assert_int_equal(root->child_count, 3);
	c = root->children;
	assert_string_equal(body_of(msg, c), "one");
	c = c->next;
	assert_string_equal(body_of(msg, c), "two");
	c = c->next;
	assert_string_equal(body_of(msg, c), "three");
	assert_int_equal(root->flags & MIME_PART_FLAG_MISSING_END_BOUNDARY, 0);

	/* exact match preferred over prefix: inner "a", outer "ab" */
	msg = "Content-Type: multipart/mixed; boundary=ab\r\n\r\n"
	      "--ab\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n"
	      "--a\r\n\r\nin\r\n"
	      "--ab\r\n\r\nout\r\n--ab--\r\n";
	root = PARSE(msg);
	assert_int_equal(root->child_count, 2);
	assert_int_equal(root->children->child_count, 1);
	assert_string_equal(body_of(msg, root->children->children), "in");
	assert_string_equal(body_of(msg, root->children->next), "out");

	/* a long run of whitespace after the boundary (past the line buffer) */
	{
		char big[2048];

		snprintf(big, sizeof(big), "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
			 "--b%300s\r\n\r\nx\r\n--b--\r\n", "");
		root = parse_all(arena, big, strlen(big), NULL);
		assert_int_equal(root->child_count, 1);
		assert_string_equal(body_of(big, root->children), "x");
	}
	/* a boundary as the last line without line break */
	msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--";
	root = PARSE(msg);
	assert_int_equal(root->flags, 0);
	assert_string_equal(body_of(msg, root->children), "x");
	assert_int_equal(root->body_lines, 4);
	arena_free(&arena);
}

static void test_bare_lf_nul_8bit(void **state)
{
	struct arena *arena = arena_new(0);
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\n\nbare\nlines\n"
		"--b\r\n\r\nnul\0here\r\n"
		"--b\r\n\r\n8bit \xc3\xa9\r\n"
		"--b--\n";
	struct mime_part *root = parse_all(arena, msg, sizeof(msg) - 1, NULL), *c;

	c = root->children;
	assert_true(c->flags & MIME_PART_FLAG_BARE_LF);
	assert_false(c->flags & MIME_PART_FLAG_NUL);
	assert_memory_equal(msg + c->body_offset, "bare\nlines", c->body_size);
	assert_int_equal(c->body_lines, 2);
	c = c->next;
	assert_true(c->flags & MIME_PART_FLAG_NUL);
	assert_false(c->flags & MIME_PART_FLAG_8BIT);
	assert_int_equal(c->body_size, 8);
	c = c->next;
	assert_true(c->flags & MIME_PART_FLAG_8BIT);
	assert_false(c->flags & MIME_PART_FLAG_NUL);
	assert_true(root->flags & MIME_PART_FLAG_BARE_LF);
	assert_true(root->flags & MIME_PART_FLAG_NUL);
	assert_true(root->flags & MIME_PART_FLAG_8BIT);
	assert_int_equal(root->header_size, strlen("Content-Type: multipart/mixed; boundary=b\n\n"));
	arena_free(&arena);
}

static void test_cte(void **state)
{
	struct arena *arena = arena_new(0);
	static const struct {
		const char *value;
		enum mime_cte cte;
		const char *name;
	} tests[] = {
		{ "7bit", MIME_CTE_7BIT, "7bit" },
		{ "8BIT", MIME_CTE_8BIT, "8bit" },
		{ " Binary (comment)", MIME_CTE_BINARY, "binary" },
		{ "base64", MIME_CTE_BASE64, "base64" },
		{ "Quoted-Printable", MIME_CTE_QUOTED_PRINTABLE, "quoted-printable" },
		{ "x-uuencode", MIME_CTE_UNKNOWN, "x-uuencode" },
	};
	struct mime_part *root;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(tests); i++) {
		char msg[256];

		snprintf(msg, sizeof(msg), "Content-Transfer-Encoding: %s\r\n\r\nbody\r\n",
			 tests[i].value);
		root = parse_all(arena, msg, strlen(msg), NULL);
		assert_int_equal(root->cte, tests[i].cte);
		assert_string_equal(root->cte_name, tests[i].name);
	}
	root = PARSE("Subject: x\r\n\r\nbody\r\n");
	assert_null(root->cte_name);
	assert_int_equal(root->cte, MIME_CTE_7BIT);

	/* base64 message/rfc822 stays opaque; 8bit one is parsed */
	root = PARSE("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		     "U3ViamVjdDogeA0KDQpib2R5DQo=\r\n");
	assert_null(root->children);
	assert_false(mime_part_is_message(root));
	root = PARSE("Content-Type: message/global\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
		     "Subject: x\r\n\r\nbody\r\n");
	assert_true(mime_part_is_message(root));
	/* message/partial and external-body are leaves with their fields */
	root = PARSE("Content-Type: message/partial; id=\"abc\"; number=2; total=3\r\n\r\n"
		     "Subject: x\r\n\r\nbody\r\n");
	assert_null(root->children);
	assert_string_equal(mime_part_param(root, "number"), "2");
	arena_free(&arena);
}

static void test_content_fields(void **state)
{
	struct arena *arena = arena_new(0);
	const char *msg =
		"Content-Type: text/plain;\r\n"
		"\tname*0*=utf-8''na%C3%AF;\r\n"
		"\tname*1=\"ve.txt\"\r\n"
		"Content-ID: <id@x>\r\n"
		"Content-Description: a description\r\n"
		"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
		"Content-Location: http://example.test/x\r\n"
		"Content-Disposition: ATTACHMENT; filename=\"a b.txt\"\r\n"
		"Content-Language: en, fr (French)\r\n"
		"Content-Type: text/html\r\n"
		"\r\n"
		"x";
	struct mime_part *root = PARSE(msg);

	assert_string_equal(root->subtype, "plain");
	assert_true(root->content_type_explicit);
	assert_string_equal(mime_part_param(root, "name"), "na\xc3\xafve.txt");
	assert_string_equal(root->params[0].raw, "utf-8''na%C3%AFve.txt");
	assert_true(root->params[0].extended);
	assert_string_equal(root->params[0].charset, "utf-8");
	assert_string_equal(root->content_id, "<id@x>");
	assert_string_equal(root->description, "a description");
	assert_string_equal(root->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	assert_string_equal(root->location, "http://example.test/x");
	assert_string_equal(root->disposition, "attachment");
	assert_string_equal(mime_param_get(root->disposition_params,
					   root->disposition_param_count, "FILENAME"), "a b.txt");
	assert_int_equal(root->language_count, 2);
	assert_string_equal(root->languages[0], "en");
	assert_string_equal(root->languages[1], "fr");
	assert_int_equal(root->body_size, 1);
	assert_int_equal(root->body_lines, 1);

	root = PARSE("Content-Type: /;;\r\n\r\nx");
	assert_true(root->flags & MIME_PART_FLAG_BAD_CONTENT_TYPE);
	assert_string_equal(root->type, "text");
	assert_false(root->content_type_explicit);
	arena_free(&arena);
}

static void test_headers(void **state)
{
	struct arena *arena = arena_new(0);
	static const char msg[] =
		"From foo@bar Mon Jan  1 00:00:00 2024\n"
		"Subject : folded\r\n"
		"  value\r\n"
		"X-Nul: a\0b\r\n"
		"garbage line\r\n"
		"X-Empty:\r\n"
		"\r\n";
	struct mime_part *root = parse_all(arena, msg, sizeof(msg) - 1, NULL);
	const struct msg_header_field *f;

	assert_int_equal(root->header.count, 5);
	f = &root->header.fields[0];
	assert_int_equal(f->name_len, 0);
	assert_string_equal(f->value, "From foo@bar Mon Jan  1 00:00:00 2024");
	f = msg_header_get(&root->header, "subject");
	assert_non_null(f);
	assert_string_equal(f->name, "Subject");
	assert_string_equal(f->value, "folded  value");
	assert_int_equal(f->size, strlen("Subject : folded\r\n  value\r\n"));
	assert_int_equal(f->offset, strlen("From foo@bar Mon Jan  1 00:00:00 2024\n"));
	f = msg_header_get(&root->header, "x-nul");
	assert_int_equal(f->value_len, 3);
	assert_memory_equal(f->value, "a\0b", 3);
	assert_string_equal(root->header.fields[3].value, "garbage line");
	assert_string_equal(msg_header_get(&root->header, "x-empty")->value, "");
	assert_true(root->flags & MIME_PART_FLAG_BARE_LF);
	assert_int_equal(root->header_size, sizeof(msg) - 1);
	assert_int_equal(root->header_lines, 7);
	assert_int_equal(root->body_size, 0);
	arena_free(&arena);
}

static void test_degenerate(void **state)
{
	struct arena *arena = arena_new(0);
	struct mime_part *root;

	/* empty message */
	root = parse_all(arena, "", 0, NULL);
	assert_int_equal(root->header_size, 0);
	assert_int_equal(root->body_size, 0);
	assert_int_equal(root->body_lines, 0);
	assert_string_equal(root->type, "text");

	/* header only, with the empty line */
	root = PARSE("Subject: x\r\n\r\n");
	assert_int_equal(root->header_size, 14);
	assert_int_equal(root->body_size, 0);
	assert_int_equal(root->body_offset, 14);
	assert_int_equal(root->body_lines, 0);

	/* header without empty line */
	root = PARSE("Subject: x\r\nFrom: y\r\n");
	assert_int_equal(root->header.count, 2);
	assert_int_equal(root->header_size, 21);
	assert_int_equal(root->body_size, 0);
	root = PARSE("Subject: x");
	assert_int_equal(root->header.count, 1);
	assert_string_equal(root->header.fields[0].value, "x");
	assert_int_equal(root->header_size, 10);
	assert_int_equal(root->header_lines, 1);

	/* body only (starts with an empty line) */
	root = PARSE("\r\nbody\r\n\r\n");
	assert_int_equal(root->header_size, 2);
	assert_int_equal(root->header.count, 0);
	assert_int_equal(root->body_size, 8);
	assert_int_equal(root->body_lines, 2);

	/* a multipart whose header ends at EOF */
	root = PARSE("Content-Type: multipart/mixed; boundary=b\r\n");
	assert_true(root->flags & MIME_PART_FLAG_MISSING_END_BOUNDARY);
	assert_int_equal(root->child_count, 0);
	arena_free(&arena);
}

static void test_depth_limit(void **state)
{
	struct arena *arena = arena_new(0);
	buf_t msg;
	struct mime_part *root, *p;
	unsigned int i, depth = 0;

	buf_init(&msg, BUF_MAX_UNLIMITED);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(buf_printf(&msg, "Content-Type: multipart/mixed; boundary=b%u\r\n\r\n"
					    "--b%u\r\n", i, i), 0);
	}
	assert_int_equal(buf_append_str(&msg, "\r\ndeep\r\n"), 0);
	root = parse_all(arena, (const char *)msg.data, buf_len(&msg), NULL);
	for (p = root; p->children != NULL; p = p->children)
		depth++;
	assert_int_equal(depth, TERN_MIME_MAX_DEPTH);
	assert_true(p->flags & MIME_PART_FLAG_DEPTH_LIMIT);

	/* nested message/rfc822 */
	buf_reset(&msg);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_append_str(&msg, "Content-Type: message/rfc822\r\n\r\n"), 0);
	root = parse_all(arena, (const char *)msg.data, buf_len(&msg), NULL);
	for (depth = 0, p = root; p->children != NULL; p = p->children)
		depth++;
	assert_int_equal(depth, TERN_MIME_MAX_DEPTH);
	assert_true(p->flags & MIME_PART_FLAG_DEPTH_LIMIT);
	buf_free(&msg);
	arena_free(&arena);
}

static unsigned int count_parts(const struct mime_part *part)
{
	const struct mime_part *c;
	unsigned int n = 1;

	for (c = part->children; c != NULL; c = c->next)
		n += count_parts(c);
	return n;
}

static void test_part_limit(void **state)
{
	struct arena *arena = arena_new(0);
	struct mime_limits limits;
	buf_t msg;
	struct mime_part *root;
	unsigned int i;

	buf_init(&msg, BUF_MAX_UNLIMITED);
	assert_int_equal(buf_append_str(&msg, "Content-Type: multipart/mixed; boundary=b\r\n\r\n"), 0);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_append_str(&msg, "--b\r\n\r\nx\r\n"), 0);
	assert_int_equal(buf_append_str(&msg, "--b--\r\n"), 0);
	root = mime_parse(arena, msg.data, buf_len(&msg), NULL);
	check_bounds(root, buf_len(&msg));
	assert_int_equal(count_parts(root), 10000);
	assert_true(root->flags & MIME_PART_FLAG_PART_LIMIT);
	assert_int_equal(root->body_offset + root->body_size, buf_len(&msg));
	assert_true(root->epilogue_size > 0);

	/* the same bounded by smaller limits, split */
	mime_limits_default(&limits);
	limits.max_parts = 50;
	root = parse_all(arena, (const char *)msg.data, buf_len(&msg), &limits);
	assert_int_equal(count_parts(root), 50);
	buf_free(&msg);
	arena_free(&arena);
}

static void test_header_limit(void **state)
{
	struct arena *arena = arena_new(0);
	struct mime_limits limits;
	buf_t msg;
	struct mime_part *root;
	unsigned int i;

	buf_init(&msg, BUF_MAX_UNLIMITED);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_printf(&msg, "X-Field-%u: value %u\r\n", i, i), 0);
	assert_int_equal(buf_append_str(&msg, "\r\nbody\r\n"), 0);
	mime_limits_default(&limits);
	limits.max_header_size = 200;
	root = parse_all(arena, (const char *)msg.data, buf_len(&msg), &limits);
	assert_true(root->flags & MIME_PART_FLAG_HEADER_LIMIT);
	assert_true(root->header.truncated);
	assert_true(root->header.count > 0 && root->header.count < 100);
	assert_int_equal(root->body_size, 6);
	assert_int_equal(root->header_lines, 101);

	mime_limits_default(&limits);
	limits.max_header_fields = 10;
	root = parse_all(arena, (const char *)msg.data, buf_len(&msg), &limits);
	assert_int_equal(root->header.count, 10);
	assert_true(root->flags & MIME_PART_FLAG_HEADER_LIMIT);
	buf_free(&msg);
	arena_free(&arena);
}

static struct mime_part *parse_pieces(struct arena *arena, const unsigned char *d, size_t len,
				      size_t piece)
{
	struct mime_parser *p = mime_parser_init(arena, NULL);
	size_t pos;

	for (pos = 0; pos < len; pos += piece)
		mime_parser_feed(p, d + pos, I_MIN(piece, len - pos));
	return mime_parser_finish(&p);
}

static void test_big_body(void **state)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct arena *arena = arena_new(0);
	const char *head = "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n";
	const char *tail = "--zz--\r\n";
	size_t body = 20 * 1024 * 1024, len, pos, line = 0;
	unsigned char *d;
	struct mime_part *whole, *r;
	static const size_t pieces[] = { 1, 7, 65536 };
	unsigned int i;

	len = strlen(head) + body + strlen(tail);
	d = malloc(len);
	memcpy(d, head, strlen(head));
	pos = strlen(head);
	while (pos < strlen(head) + body) {
		if (line == 76) {
			d[pos++] = '\r';
			if (pos < strlen(head) + body)
				d[pos++] = '\n';
			line = 0;
		} else {
			d[pos] = (unsigned char)b64[(pos * 7) % 64];
			pos++;
			line++;
		}
	}
	/* make sure the body ends with CRLF */
	d[pos - 2] = '\r';
	d[pos - 1] = '\n';
	memcpy(d + pos, tail, strlen(tail));

	whole = mime_parse(arena, d, len, NULL);
	check_bounds(whole, len);
	assert_int_equal(whole->child_count, 1);
	assert_int_equal(whole->children->body_size, body - 2);
	for (i = 0; i < N_ELEMENTS(pieces); i++) {
		struct arena *a2 = arena_new(0);

		r = parse_pieces(a2, d, len, pieces[i]);
		assert_true(mime_part_tree_equal(whole, r));
		/* memory is bounded: the arena holds the tree, not the body */
		assert_true(arena_used(a2) < 64 * 1024);
		arena_free(&a2);
	}
	{
		/* the same LF-only: the fast body scan counts bare LFs, and the
		   CRLF-form sizes are those of the CRLF message */
		size_t llen;
		char *l = convert_eol((const char *)d, len, false, &llen);

		for (i = 0; i < N_ELEMENTS(pieces); i++) {
			struct arena *a2 = arena_new(0);

			r = parse_pieces(a2, (const unsigned char *)l, llen, pieces[i]);
			check_crlf_tree(r, whole);
			assert_true(r->body_size < whole->body_size);
			arena_free(&a2);
		}
		free(l);
	}
	free(d);
	arena_free(&arena);
}

/* Every message of tests/data/corpus: whole == split, bounds hold. A
   missing or empty corpus fails: a test that checked nothing must not
   pass. */
static void test_corpus(void **state)
{
	const char *dir_path = TERN_TEST_DATA "/corpus";
	DIR *dir = opendir(dir_path);
	struct dirent *d;
	unsigned int count = 0, eml = 0;

	if (dir == NULL)
		fail_msg("corpus %s: %s", dir_path, strerror(errno));
	while ((d = readdir(dir)) != NULL) {
		char path[4096];
		struct stat st;
		FILE *f;
		char *data;
		struct arena *arena;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, d->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 4 * 1024 * 1024)
			continue;
		f = fopen(path, "rb");
		assert_non_null(f);
		data = malloc((size_t)st.st_size + 1);
		assert_int_equal(fread(data, 1, (size_t)st.st_size, f), (size_t)st.st_size);
		fclose(f);
		arena = arena_new(0);
		(void)parse_all(arena, data, (size_t)st.st_size, NULL);
		arena_free(&arena);
		free(data);
		count++;
		if (strlen(d->d_name) > 4 && strcmp(d->d_name + strlen(d->d_name) - 4, ".eml") == 0)
			eml++;
	}
	closedir(dir);
	print_message("corpus: %u files, %u messages\n", count, eml);
	if (eml == 0)
		fail_msg("corpus %s holds no .eml message", dir_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_section_single),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_missing_end),
		cmocka_unit_test(test_outer_closes_inner),
		cmocka_unit_test(test_boundary_variants),
		cmocka_unit_test(test_bare_lf_nul_8bit),
		cmocka_unit_test(test_cte),
		cmocka_unit_test(test_content_fields),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_part_limit),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_big_body),
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
