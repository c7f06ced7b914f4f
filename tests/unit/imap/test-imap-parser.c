#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "imap-parser.h"
#include "imap-fetch.h"
#include "imap-search.h"
#include "imap-seqset.h"
#include "arena.h"
#include "buf.h"

#include <stdio.h>
#include <string.h>

static const struct imap_parser_limits test_limits = {
	.max_depth = 10, .max_args = 100, .max_literal = 1000, .max_command = 10000,
};

/* Feed "text" split into lines at CRLF; literals "{N}" take the next N
   bytes. Returns the final result; *p_r the parser. */
static enum imap_parse_result feed(struct arena *arena, const char *text, unsigned int flags,
				   struct imap_parser **p_r)
{
	struct imap_parser *p = imap_parser_new(arena, &test_limits);
	const char *s = text, *eol, *rest;
	enum imap_parse_result r;
	size_t rest_len;
	bool first = true;

	*p_r = p;
	for (;;) {
		eol = strstr(s, "\r\n");
		assert_non_null(eol);
		if (first) {
			if (imap_parser_head(p, s, (size_t)(eol - s), &rest, &rest_len) < 0)
				return IMAP_PARSE_ERROR;
			imap_parser_set_flags(p, flags);
			r = imap_parser_args(p, rest, rest_len);
			first = false;
		} else {
			r = imap_parser_line(p, s, (size_t)(eol - s));
		}
		s = eol + 2;
		if (r != IMAP_PARSE_LITERAL)
			return r;
		{
			struct imap_literal_info info;

			imap_parser_literal_info(p, &info);
			imap_parser_literal(p, s, (size_t)info.size);
			if (imap_parser_error(p) != NULL)
				return IMAP_PARSE_ERROR;
			s += info.size;
		}
	}
}

static void test_simple(void **state)
{
	struct arena *arena = arena_new(0);
	struct imap_parser *p;
	const struct imap_arg *args;
	unsigned int count;

	assert_int_equal(feed(arena, "a1 login alice \"pass \\\"word\\\\\"\r\n", 0, &p),
			 IMAP_PARSE_DONE);
	assert_string_equal(imap_parser_tag(p), "a1");
	assert_string_equal(imap_parser_name(p), "LOGIN");
	args = imap_parser_args_list(p, &count);
	assert_int_equal(count, 2);
	assert_int_equal(args[0].type, IMAP_ARG_ATOM);
	assert_string_equal(imap_arg_astring(&args[0]), "alice");
	assert_int_equal(args[1].type, IMAP_ARG_QUOTED);
	assert_string_equal(args[1].str, "pass \"word\\");
	arena_free(&arena);
}

static void test_lists_and_literals(void **state)
{
	struct arena *arena = arena_new(0);
	struct imap_parser *p;
	const struct imap_arg *args;
	unsigned int count;

	assert_int_equal(feed(arena, "t APPEND INBOX (\\Seen $Work) {5}\r\nhello {3+}\r\nabc\r\n",
			      0, &p), IMAP_PARSE_DONE);
	args = imap_parser_args_list(p, &count);
	assert_int_equal(count, 4);
	assert_int_equal(args[1].type, IMAP_ARG_LIST);
	assert_int_equal(args[1].count, 2);
	assert_string_equal(args[1].list[0].str, "\\Seen");
	assert_string_equal(args[1].list[1].str, "$Work");
	assert_int_equal(args[2].type, IMAP_ARG_LITERAL);
	assert_string_equal(args[2].str, "hello");
	assert_string_equal(args[3].str, "abc");
	arena_free(&arena);

	arena = arena_new(0);
	assert_int_equal(feed(arena, "t X ((a) (b (c)) ())\r\n", 0, &p), IMAP_PARSE_DONE);
	args = imap_parser_args_list(p, &count);
	assert_int_equal(count, 1);
	assert_int_equal(args[0].count, 3);
	assert_int_equal(args[0].list[1].list[1].list[0].type, IMAP_ARG_ATOM);
	assert_int_equal(args[0].list[2].count, 0);
	arena_free(&arena);
}

static void test_uid_and_fetch_atoms(void **state)
{
	struct arena *arena = arena_new(0);
	struct imap_parser *p;
	const struct imap_arg *args;
	unsigned int count;

	assert_int_equal(feed(arena, "t uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>)\r\n",
			      IMAP_PARSE_FLAG_FETCH, &p), IMAP_PARSE_DONE);
	assert_string_equal(imap_parser_name(p), "UID FETCH");
	args = imap_parser_args_list(p, &count);
	assert_int_equal(count, 2);
	assert_string_equal(args[0].str, "1:*");
	assert_int_equal(args[1].count, 2);
	assert_string_equal(args[1].list[1].str, "BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.100>");
	arena_free(&arena);
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
		"\r\n",                       /* empty */
		"+tag NOOP\r\n",              /* "+" in tag */
		"t\r\n",                      /* no name */
		"t NOOP (a\r\n",              /* unbalanced */
		"t NOOP a)\r\n",
		"t NOOP \"abc\r\n",           /* unterminated quote */
		"t NOOP \"a\\b\"\r\n",        /* bad escape */
		"t NOOP {5} x\r\n",           /* literal not at the end */
		"t NOOP {}\r\n",
		"t NOOP {99999999999999999999}\r\n",
		"t NOOP ((((((((((((x))))))))))))\r\n",  /* too deep */
		"t NOOP a(b)\r\n",            /* missing space */
		"t NOOP \x80x\r\n",           /* 8-bit atom */
		"t NOOP {3}\r\na\0b\r\n",     /* NUL in literal */
	};
	struct arena *arena;
	struct imap_parser *p;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		arena = arena_new(0);
		if (feed(arena, bad[i], 0, &p) != IMAP_PARSE_ERROR) {
			arena_free(&arena);
			fail_msg("accepted: %s", bad[i]);
		}
		assert_non_null(imap_parser_error(p));
		arena_free(&arena);
	}
	/* the tag is known when the error is later on the line */
	arena = arena_new(0);
	assert_int_equal(feed(arena, "x7 NOOP (\r\n", 0, &p), IMAP_PARSE_ERROR);
	assert_string_equal(imap_parser_tag(p), "x7");
	arena_free(&arena);
}

static void test_literal_limit(void **state)
{
	struct arena *arena = arena_new(0);
	struct imap_parser *p = imap_parser_new(arena, &test_limits);
	struct imap_literal_info info;
	char big[2000];
	const char *rest;
	size_t len;

	memset(big, 'x', sizeof(big));
	assert_int_equal(imap_parser_head(p, "t X {2000}", 10, &rest, &len), 0);
	assert_int_equal(imap_parser_args(p, rest, len), IMAP_PARSE_LITERAL);
	imap_parser_literal_info(p, &info);
	assert_int_equal(info.size, 2000);
	assert_true(info.sync);
	imap_parser_literal(p, big, sizeof(big));
	assert_non_null(imap_parser_error(p));
	assert_true(imap_parser_error_toobig(p));
	arena_free(&arena);
}

static void test_seqset(void **state)
{
	struct arena *arena = arena_new(0);
	struct imap_seqset set;
	const char *error;
	buf_t b;
	static const uint32_t nums[] = { 1, 2, 3, 5, 7, 8 };

	assert_int_equal(imap_seqset_parse(arena, "1:3,7,9:*,*:20", &set, &error), 0);
	assert_int_equal(set.count, 4);
	imap_seqset_resolve(&set, 12);
	assert_true(imap_seqset_contains(&set, 2));
	assert_false(imap_seqset_contains(&set, 5));
	assert_true(imap_seqset_contains(&set, 12));
	assert_true(imap_seqset_contains(&set, 20));
	assert_int_equal(set.ranges[3].first, 12);
	assert_int_equal(imap_seqset_normalize(&set), 3 + 1 + 12);
	assert_int_equal(imap_seqset_parse(arena, "$", &set, &error), 0);
	assert_true(set.saved);
	assert_int_equal(imap_seqset_parse(arena, "0", &set, &error), -1);
	assert_int_equal(imap_seqset_parse(arena, "1,", &set, &error), -1);
	assert_int_equal(imap_seqset_parse(arena, "1::2", &set, &error), -1);
	assert_int_equal(imap_seqset_parse(arena, "4294967296", &set, &error), -1);
	assert_int_equal(imap_seqset_parse(arena, "", &set, &error), -1);
	buf_init(&b, 100);
	assert_int_equal(imap_seqset_write_numbers(&b, nums, 6), 0);
	assert_string_equal(buf_str(&b), "1:3,5,7:8");
	buf_free(&b);
	arena_free(&arena);
}

static const struct imap_arg *parse_args(struct arena *arena, const char *line,
					 unsigned int flags, unsigned int *count_r)
{
	struct imap_parser *p;

	assert_int_equal(feed(arena, line, flags, &p), IMAP_PARSE_DONE);
	return imap_parser_args_list(p, count_r);
}

static void test_fetch_items(void **state)
{
	struct arena *arena = arena_new(0);
	struct imap_fetch_request req;
	const struct imap_arg *args;
	const char *error;
	unsigned int count;

	args = parse_args(arena, "t FETCH 1 (flags body.peek[1.2.header.fields (from \"x-y\")]<5.10> "
			  "RFC822.HEADER BINARY[2]<0.3> BINARY.SIZE[1] BODY[])\r\n",
			  IMAP_PARSE_FLAG_FETCH, &count);
	assert_int_equal(imap_fetch_parse(arena, &args[1], false, &req, &error), 0);
	assert_int_equal(req.count, 6);
	assert_int_equal(req.items[1].kind, IMAP_FETCH_SECTION);
	assert_string_equal(req.items[1].part, "1.2");
	assert_int_equal(req.items[1].text, IMAP_SECTION_HEADER_FIELDS);
	assert_int_equal(req.items[1].field_count, 2);
	assert_string_equal(req.items[1].fields[1], "X-Y");
	assert_true(req.items[1].peek && req.items[1].partial);
	assert_int_equal(req.items[1].offset, 5);
	assert_string_equal(req.items[1].response_name, "BODY[1.2.HEADER.FIELDS (FROM X-Y)]<5>");
	assert_string_equal(req.items[2].response_name, "RFC822.HEADER");
	assert_string_equal(req.items[3].response_name, "BINARY[2]");
	assert_string_equal(req.items[4].response_name, "BINARY.SIZE[1]");
	assert_string_equal(req.items[5].response_name, "BODY[]");
	assert_true(req.sets_seen);

	args = parse_args(arena, "t FETCH 1 FULL\r\n", IMAP_PARSE_FLAG_FETCH, &count);
	assert_int_equal(imap_fetch_parse(arena, &args[1], true, &req, &error), 0);
	assert_int_equal(req.count, 6);  /* UID + FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY */
	assert_false(req.sets_seen);

	static const char *const bad[] = {
		"t FETCH 1 BODY[MIME]\r\n", "t FETCH 1 BODY[0]\r\n", "t FETCH 1 BODY[1.]\r\n",
		"t FETCH 1 BODY[]<1.0>\r\n", "t FETCH 1 BODY[HEADER.FIELDS]\r\n",
		"t FETCH 1 BINARY[TEXT]\r\n", "t FETCH 1 FOO\r\n", "t FETCH 1 ()\r\n",
		"t FETCH 1 BODY[HEADER.FIELDS (a:b)]\r\n",
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		args = parse_args(arena, bad[i], IMAP_PARSE_FLAG_FETCH, &count);
		if (imap_fetch_parse(arena, &args[1], false, &req, &error) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	arena_free(&arena);
}

static void test_search(void **state)
{
	struct arena *arena = arena_new(0);
	struct imap_search s;
	enum imap_search_error kind;
	const struct imap_arg *args;
	const char *error;
	unsigned int count;
	int64_t day;

	args = parse_args(arena, "t SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (FROM alice SINCE "
			  "1-Feb-1994) NOT UID 5:* unseen 1,3 HEADER X-Spam yes LARGER 100\r\n",
			  0, &count);
	assert_int_equal(imap_search_parse(arena, args, count, &s, &kind, &error), 0);
	assert_true(s.esearch);
	assert_int_equal(s.return_opts, IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_COUNT);
	assert_int_equal(s.root.type, IMAP_SK_AND);
	assert_int_equal(s.root.child_count, 5);
	assert_int_equal(s.root.children[0].type, IMAP_SK_OR);
	assert_int_equal(s.root.children[0].children[0].type, IMAP_SK_AND);
	assert_string_equal(s.root.children[0].children[0].children[0].field, "From");
	assert_int_equal(s.root.children[0].children[1].type, IMAP_SK_NOT);
	assert_int_equal(s.root.children[0].children[1].children[0].type, IMAP_SK_UIDSET);
	assert_int_equal(s.root.children[1].type, IMAP_SK_FLAG);
	assert_true(s.root.children[1].negated);
	assert_int_equal(s.root.children[2].type, IMAP_SK_SEQSET);
	assert_string_equal(s.root.children[3].field, "X-Spam");
	assert_int_equal(s.root.children[4].size, 100);

	args = parse_args(arena, "t SEARCH CHARSET KOI8-R ALL\r\n", 0, &count);
	assert_int_equal(imap_search_parse(arena, args, count, &s, &kind, &error), -1);
	assert_int_equal(kind, IMAP_SEARCH_ERROR_BADCHARSET);
	args = parse_args(arena, "t SEARCH FROM\r\n", 0, &count);
	assert_int_equal(imap_search_parse(arena, args, count, &s, &kind, &error), -1);
	assert_int_equal(kind, IMAP_SEARCH_ERROR_SYNTAX);
	args = parse_args(arena, "t SEARCH NOT\r\n", 0, &count);
	assert_int_equal(imap_search_parse(arena, args, count, &s, &kind, &error), -1);
	args = parse_args(arena, "t SEARCH ()\r\n", 0, &count);
	assert_int_equal(imap_search_parse(arena, args, count, &s, &kind, &error), -1);
	args = parse_args(arena, "t SEARCH BEFORE 30-Feb-2020\r\n", 0, &count);
	assert_int_equal(imap_search_parse(arena, args, count, &s, &kind, &error), -1);

	assert_int_equal(imap_date_parse("1-Jan-1970", &day), 0);
	assert_int_equal(day, 0);
	assert_int_equal(imap_date_parse("29-Feb-2000", &day), 0);
	assert_int_equal(day, 11016);
	assert_int_equal(imap_date_parse("29-Feb-1900", &day), -1);
	arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_lists_and_literals),
		cmocka_unit_test(test_uid_and_fetch_atoms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_literal_limit),
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_fetch_items),
		cmocka_unit_test(test_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
