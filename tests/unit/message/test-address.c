#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "address.h"
#include "arena.h"
#include "tern-limits.h"
#include "utf8.h"

static struct arena *arena;

static int setup(void **state)
{
	arena = arena_new(0);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&arena);
	return 0;
}

#define F_GSTART 1
#define F_GEND 2
#define F_INVALID 4

static void assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

/* Checks one entry field by field and returns the next. */
static struct msg_address *check(struct msg_address *a, const char *name, const char *name_decoded,
				 const char *route, const char *mailbox, const char *domain, int flags)
{
	assert_non_null(a);
	assert_str_or_null(a->name, name);
	assert_str_or_null(a->name_decoded, name_decoded);
	assert_str_or_null(a->route, route);
	assert_str_or_null(a->mailbox, mailbox);
	assert_str_or_null(a->domain, domain);
	assert_int_equal(a->group_start, (flags & F_GSTART) != 0);
	assert_int_equal(a->group_end, (flags & F_GEND) != 0);
	assert_int_equal(a->invalid, (flags & F_INVALID) != 0);
	return a->next;
}

static struct msg_address *parse(const char *s)
{
	return msg_address_parse(arena, s, strlen(s));
}

static unsigned int count(const struct msg_address *a)
{
	unsigned int n = 0;

	for (; a != NULL; a = a->next)
		n++;
	return n;
}

/* RFC 5322 A.1.1 - A.1.3 */
static void test_address_rfc5322_a1(void **state)
{
	struct msg_address *a;

	a = parse("John Doe <jdoe@machine.example>");
	a = check(a, "John Doe", "John Doe", NULL, "jdoe", "machine.example", 0);
	assert_null(a);
	a = parse("Michael Jones <mjones@machine.example>");
	check(a, "Michael Jones", "Michael Jones", NULL, "mjones", "machine.example", 0);

	/* A.1.2 */
	a = parse("\"Joe Q. Public\" <john.q.public@example.com>");
	a = check(a, "Joe Q. Public", "Joe Q. Public", NULL, "john.q.public", "example.com", 0);
	assert_null(a);
	a = parse("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>");
	a = check(a, "Mary Smith", "Mary Smith", NULL, "mary", "x.test", 0);
	a = check(a, NULL, NULL, NULL, "jdoe", "example.org", 0);
	a = check(a, "Who?", "Who?", NULL, "one", "y.test", 0);
	assert_null(a);
	a = parse("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>");
	a = check(a, NULL, NULL, NULL, "boss", "nil.test", 0);
	a = check(a, "Giant; \"Big\" Box", "Giant; \"Big\" Box", NULL, "sysservices", "example.net", 0);
	assert_null(a);

	/* A.1.3 */
	a = parse("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;");
	a = check(a, NULL, "A Group", NULL, "A Group", NULL, F_GSTART);
	a = check(a, "Ed Jones", "Ed Jones", NULL, "c", "a.test", 0);
	a = check(a, NULL, NULL, NULL, "joe", "where.test", 0);
	a = check(a, "John", "John", NULL, "jdoe", "one.test", 0);
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	assert_null(a);
	a = parse("Undisclosed recipients:;");
	a = check(a, NULL, "Undisclosed recipients", NULL, "Undisclosed recipients", NULL, F_GSTART);
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	assert_null(a);
}

/* RFC 5322 A.5: white space, comments, and other oddities */
static void test_address_rfc5322_a5(void **state)
{
	struct msg_address *a;

	a = parse("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>");
	a = check(a, "Pete", "Pete", NULL, "pete", "silly.test", 0);
	assert_null(a);
	a = parse("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
		  "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)");
	a = check(a, NULL, "A Group", NULL, "A Group", NULL, F_GSTART);
	a = check(a, "Chris Jones", "Chris Jones", NULL, "c", "public.example", 0);
	a = check(a, NULL, NULL, NULL, "joe", "example.org", 0);
	a = check(a, "John", "John", NULL, "jdoe", "one.test", 0);
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	assert_null(a);
	a = parse("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;");
	a = check(a, NULL, "Hidden recipients", NULL, "Hidden recipients", NULL, F_GSTART);
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	assert_null(a);
}

/* RFC 5322 A.6: obsolete syntax */
static void test_address_rfc5322_a6(void **state)
{
	struct msg_address *a;

	/* A.6.1 */
	a = parse("Joe Q. Public <john.q.public@example.com>");
	check(a, "Joe Q. Public", "Joe Q. Public", NULL, "john.q.public", "example.com", 0);
	a = parse("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example");
	a = check(a, "Mary Smith", "Mary Smith", "@node.test", "mary", "example.net", 0);
	a = check(a, NULL, NULL, NULL, "jdoe", "test.example", 0);
	assert_null(a);
	/* A.6.3 */
	a = parse("John Doe <jdoe@machine(comment).  example>");
	check(a, "John Doe", "John Doe", NULL, "jdoe", "machine.example", 0);
	a = parse("Mary Smith\r\n  \r\n          <mary@example.net>");
	check(a, "Mary Smith", "Mary Smith", NULL, "mary", "example.net", 0);
	/* obs-local-part with CFWS around the dots */
	a = parse("john . q (x). public @ example . com");
	check(a, "x", "x", NULL, "john.q.public", "example.com", 0);
	/* routes, with empty elements */
	a = parse("<@a,@b:c@d>");
	check(a, NULL, NULL, "@a,@b", "c", "d", 0);
	a = parse("Name <@a.test,,@b.test : c@d>");
	check(a, "Name", "Name", "@a.test,@b.test", "c", "d", 0);
	/* a route with no local part */
	a = parse("<@a.test>");
	check(a, NULL, NULL, NULL, "", "a.test", F_INVALID);
}

static void test_address_names(void **state)
{
	struct msg_address *a;

	/* comment as the name (Dovecot) */
	a = parse("a@b (Real Name)");
	check(a, "Real Name", "Real Name", NULL, "a", "b", 0);
	a = parse("a@b (Outer (inner) \\) x)");
	check(a, "Outer (inner) ) x", "Outer (inner) ) x", NULL, "a", "b", 0);
	/* a phrase wins over a comment */
	a = parse("Name <a@b> (Other)");
	check(a, "Name", "Name", NULL, "a", "b", 0);
	/* quoted strings: escapes, commas, whitespace kept inside, folded outside */
	a = parse("\"Doe, John \\\"JD\\\"\"   <j@x.test>, b@y.test");
	a = check(a, "Doe, John \"JD\"", "Doe, John \"JD\"", NULL, "j", "x.test", 0);
	a = check(a, NULL, NULL, NULL, "b", "y.test", 0);
	assert_null(a);
	a = parse("John   \t Q.  \"de  la\"   Doe <j@x>");
	check(a, "John Q. de  la Doe", "John Q. de  la Doe", NULL, "j", "x", 0);
	a = parse("\"a\"\"b\" <j@x>");
	check(a, "ab", "ab", NULL, "j", "x", 0);
	a = parse("\"\" <j@x>");
	check(a, NULL, NULL, NULL, "j", "x", 0);
	/* encoded words: raw in name, decoded in name_decoded */
	a = parse("=?utf-8?q?Doe,_John?= <j@x>");
	check(a, "=?utf-8?q?Doe,_John?=", "Doe, John", NULL, "j", "x", 0);
	a = parse("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>");
	check(a, "=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard", NULL,
	      "PIRARD", "vm1.ulg.ac.be", 0);
	a = parse("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?= <e@x>");
	check(a, "=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "\xc3\xa9\xc3\xa9", NULL, "e", "x", 0);
	/* RFC 2047 section 8: encoded word in the comment */
	a = parse("Nathaniel Borenstein <nsb@thumper.bellcore.com>\r\n"
		  "    (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)");
	check(a, "Nathaniel Borenstein", "Nathaniel Borenstein", NULL, "nsb",
	      "thumper.bellcore.com", 0);
	a = parse("nsb@thumper.bellcore.com (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)");
	check(a, "=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=",
	      "\xd7\x9d\xd7\x95\xd7\x9c\xd7\xa9 \xd7\x9f\xd7\x91 \xd7\x99\xd7\x9c\xd7\x98\xd7\xa4\xd7\xa0",
	      NULL, "nsb", "thumper.bellcore.com", 0);
	/* RFC 6532 UTF-8 and raw Latin-1 */
	a = parse("Zo\xc3\xab <zo\xc3\xab@ex\xc3\xa4mple.test>");
	check(a, "Zo\xc3\xab", "Zo\xc3\xab", NULL, "zo\xc3\xab", "ex\xc3\xa4mple.test", 0);
	a = parse("Zo\xeb <z@x>");
	check(a, "Zo\xeb", "Zo\xc3\xab", NULL, "z", "x", 0);
	/* a comment before the address names it when there is no phrase */
	a = parse("(Boss) <boss@x>");
	check(a, "Boss", "Boss", NULL, "boss", "x", 0);
}

static void test_address_local_domain(void **state)
{
	struct msg_address *a;

	a = parse("\"john doe\"@example.test");
	check(a, NULL, NULL, NULL, "john doe", "example.test", 0);
	assert_string_equal(msg_address_spec(arena, a), "\"john doe\"@example.test");
	a = parse("<\"a@b\\\\c\"@x>");
	check(a, NULL, NULL, NULL, "a@b\\c", "x", 0);
	assert_string_equal(msg_address_spec(arena, a), "\"a@b\\\\c\"@x");
	/* quoted but a dot-atom: canonical form unquoted */
	a = parse("\"john\"@x");
	assert_string_equal(msg_address_spec(arena, a), "john@x");
	a = parse("a@[1.2.3.4]");
	check(a, NULL, NULL, NULL, "a", "[1.2.3.4]", 0);
	assert_string_equal(msg_address_spec(arena, a), "a@[1.2.3.4]");
	a = parse("Name <a@[IPv6:: 1]>");
	check(a, "Name", "Name", NULL, "a", "[IPv6::1]", 0);
	a = parse("<>");
	check(a, NULL, NULL, NULL, "", NULL, 0);
	assert_string_equal(msg_address_spec(arena, a), "");
}

static void test_address_groups(void **state)
{
	struct msg_address *a;

	a = parse("undisclosed-recipients:;");
	a = check(a, NULL, "undisclosed-recipients", NULL, "undisclosed-recipients", NULL, F_GSTART);
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	assert_null(a);
	a = parse("a@x, Team: b@y, \"C\" <c@z>;, d@w");
	a = check(a, NULL, NULL, NULL, "a", "x", 0);
	a = check(a, NULL, "Team", NULL, "Team", NULL, F_GSTART);
	a = check(a, NULL, NULL, NULL, "b", "y", 0);
	a = check(a, "C", "C", NULL, "c", "z", 0);
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	a = check(a, NULL, NULL, NULL, "d", "w", 0);
	assert_null(a);
	/* unterminated group: closed at the end, start flagged */
	a = parse("Team: b@y");
	a = check(a, NULL, "Team", NULL, "Team", NULL, F_GSTART | F_INVALID);
	a = check(a, NULL, NULL, NULL, "b", "y", 0);
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	assert_null(a);
	/* nested junk: groups do not nest */
	a = parse("A: B: c@d; e@f;");
	a = check(a, NULL, "A", NULL, "A", NULL, F_GSTART);
	a = check(a, NULL, NULL, NULL, "B", NULL, F_INVALID);
	a = check(a, NULL, NULL, NULL, "c", "d", F_INVALID); /* no comma after "B:" */
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	a = check(a, NULL, NULL, NULL, "e", "f", F_INVALID); /* no comma after the group */
	assert_null(a);
	/* a group with no name */
	a = parse(":a@b;");
	a = check(a, NULL, NULL, NULL, "", NULL, F_GSTART | F_INVALID);
	a = check(a, NULL, NULL, NULL, "a", "b", 0);
	a = check(a, NULL, NULL, NULL, NULL, NULL, F_GEND);
	assert_null(a);
	/* encoded group name */
	a = parse("=?utf-8?q?=C3=A9quipe?=: a@b;");
	a = check(a, NULL, "\xc3\xa9quipe", NULL, "=?utf-8?q?=C3=A9quipe?=", NULL, F_GSTART);
	assert_string_equal(msg_address_spec(arena, check(a, NULL, NULL, NULL, "a", "b", 0)), "");
}

static void test_address_broken(void **state)
{
	struct msg_address *a;

	assert_null(parse(""));
	assert_null(parse("   \r\n "));
	assert_null(parse(",,, ,"));
	assert_null(parse("(only a comment)"));
	/* empty entries */
	a = parse("a@x,,b@y");
	a = check(a, NULL, NULL, NULL, "a", "x", 0);
	a = check(a, NULL, NULL, NULL, "b", "y", 0);
	assert_null(a);
	/* missing commas */
	a = parse("a@x b@y <c@z> Name <d@w>");
	a = check(a, NULL, NULL, NULL, "a", "x", 0);
	a = check(a, NULL, NULL, NULL, "b", "y", F_INVALID);
	a = check(a, NULL, NULL, NULL, "c", "z", F_INVALID);
	a = check(a, "Name", "Name", NULL, "d", "w", F_INVALID);
	assert_null(a);
	/* missing domain */
	a = parse("root, a@, @b");
	a = check(a, NULL, NULL, NULL, "root", NULL, F_INVALID);
	a = check(a, NULL, NULL, NULL, "a", NULL, F_INVALID);
	a = check(a, NULL, NULL, NULL, "", "b", 0);
	assert_null(a);
	/* a forgotten "<": the last word is the local part */
	a = parse("John Doe@example.test");
	check(a, "John", "John", NULL, "Doe", "example.test", F_INVALID);
	a = parse("\"Name\" a@b");
	check(a, "Name", "Name", NULL, "a", "b", F_INVALID);
	/* unbalanced brackets */
	a = parse("John <a@b, c@d");
	a = check(a, "John", "John", NULL, "a", "b", F_INVALID);
	a = check(a, NULL, NULL, NULL, "c", "d", 0);
	assert_null(a);
	a = parse("John <a@b x> , c@d");
	a = check(a, "John", "John", NULL, "a", "b", F_INVALID);
	a = check(a, NULL, NULL, NULL, "c", "d", 0);
	assert_null(a);
	a = parse("a@b>, c@d");
	a = check(a, NULL, NULL, NULL, "a", "b", 0);
	a = check(a, NULL, NULL, NULL, "", NULL, F_INVALID); /* the stray ">" */
	a = check(a, NULL, NULL, NULL, "c", "d", 0);
	assert_null(a);
	/* unbalanced quote: runs to the end */
	a = parse("\"John <a@b>");
	a = check(a, NULL, NULL, NULL, "John <a@b>", NULL, F_INVALID);
	assert_null(a);
	/* unbalanced parenthesis */
	a = parse("a@b (Name");
	check(a, "Name", "Name", NULL, "a", "b", 0);
	a = parse("Name) <a@b>");
	check(a, "Name", "Name", NULL, "a", "b", F_INVALID);
	/* unterminated domain literal */
	a = parse("a@[1.2.3.4");
	check(a, NULL, NULL, NULL, "a", "[1.2.3.4]", F_INVALID);
	/* double dots, trailing dots */
	a = parse("a@b..c, d@e.");
	a = check(a, NULL, NULL, NULL, "a", "b..c", F_INVALID);
	a = check(a, NULL, NULL, NULL, "d", "e.", F_INVALID);
	assert_null(a);
	/* bare "<local>" */
	a = parse("<postmaster>");
	check(a, NULL, NULL, NULL, "postmaster", NULL, F_INVALID);
	/* stray specials */
	a = parse("; a@b ;");
	a = check(a, NULL, NULL, NULL, "a", "b", 0);
	assert_null(a);
	/* NUL and control bytes are whitespace */
	a = msg_address_parse(arena, "a\0@b\x01, c@d", 11);
	a = check(a, NULL, NULL, NULL, "a", "b", 0);
	a = check(a, NULL, NULL, NULL, "c", "d", 0);
	assert_null(a);
	/* only part of the value given */
	a = msg_address_parse(arena, "a@bc, d@e", 3);
	a = check(a, NULL, NULL, NULL, "a", "b", 0);
	assert_null(a);
}

static void test_address_limit(void **state)
{
	buf_t b;
	struct msg_address *a;
	unsigned int i;

	buf_init(&b, BUF_MAX_UNLIMITED);
	for (i = 0; i < TERN_ADDRESS_MAX_COUNT + 50; i++)
		assert_int_equal(buf_printf(&b, "u%u@x,", i), 0);
	a = msg_address_parse(arena, buf_str(&b), buf_len(&b));
	assert_int_equal(count(a), TERN_ADDRESS_MAX_COUNT);

	/* a group hitting the limit still ends */
	buf_reset(&b);
	assert_int_equal(buf_append_str(&b, "G:"), 0);
	for (i = 0; i < TERN_ADDRESS_MAX_COUNT + 50; i++)
		assert_int_equal(buf_printf(&b, "u%u@x,", i), 0);
	assert_int_equal(buf_append_str(&b, ";"), 0);
	a = msg_address_parse(arena, buf_str(&b), buf_len(&b));
	assert_int_equal(count(a), TERN_ADDRESS_MAX_COUNT + 1);
	assert_true(a->group_start);
	while (a->next != NULL)
		a = a->next;
	assert_true(a->group_end);

	/* memory stays linear in the input: many quoted strings and comments
	   in a long value (each once took a copy of the rest of the value) */
	buf_reset(&b);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_printf(&b, "\"n%u\" <a@b> (c), ", i), 0);
	arena_clear(arena);
	a = msg_address_parse(arena, buf_str(&b), buf_len(&b));
	assert_int_equal(count(a), 5000);
	assert_true(arena_used(arena) < 100 * buf_len(&b));
	buf_free(&b);
}

static void test_address_spec(void **state)
{
	struct msg_address addr;

	memset(&addr, 0, sizeof(addr));
	addr.mailbox = "john.doe";
	addr.domain = "x";
	assert_string_equal(msg_address_spec(arena, &addr), "john.doe@x");
	addr.mailbox = ".john";
	assert_string_equal(msg_address_spec(arena, &addr), "\".john\"@x");
	addr.mailbox = "a..b";
	assert_string_equal(msg_address_spec(arena, &addr), "\"a..b\"@x");
	addr.mailbox = "a.";
	assert_string_equal(msg_address_spec(arena, &addr), "\"a.\"@x");
	addr.mailbox = "say \"hi\"";
	assert_string_equal(msg_address_spec(arena, &addr), "\"say \\\"hi\\\"\"@x");
	addr.mailbox = "";
	assert_string_equal(msg_address_spec(arena, &addr), "\"\"@x");
	addr.mailbox = "z\xc3\xab+tag";
	assert_string_equal(msg_address_spec(arena, &addr), "z\xc3\xab+tag@x");
	addr.domain = NULL;
	addr.mailbox = "root";
	assert_string_equal(msg_address_spec(arena, &addr), "root");
	addr.mailbox = "a b";
	assert_string_equal(msg_address_spec(arena, &addr), "\"a b\"");
}

static void test_address_format(void **state)
{
	struct msg_address *a;
	const char *s;

	assert_string_equal(msg_address_format(arena, NULL, "a", "b"), "a@b");
	assert_string_equal(msg_address_format(arena, "", "a", "b"), "a@b");
	assert_string_equal(msg_address_format(arena, "John Doe", "a", "b"), "John Doe <a@b>");
	assert_string_equal(msg_address_format(arena, "Doe, John", "a", "b"), "\"Doe, John\" <a@b>");
	assert_string_equal(msg_address_format(arena, "Joe Q. Public", "a", "b"),
			    "\"Joe Q. Public\" <a@b>");
	assert_string_equal(msg_address_format(arena, "Say \"hi\" \\o/", "a", "b"),
			    "\"Say \\\"hi\\\" \\\\o/\" <a@b>");
	assert_string_equal(msg_address_format(arena, "John  Doe", "a", "b"), "\"John  Doe\" <a@b>");
	assert_string_equal(msg_address_format(arena, "J", "john doe", "b"), "J <\"john doe\"@b>");
	assert_string_equal(msg_address_format(arena, "J", "root", NULL), "J <root>");
	assert_string_equal(msg_address_format(arena, "Zo\xc3\xab", "zoe", "x"),
			    "=?utf-8?q?Zo=C3=AB?= <zoe@x>");
	/* round trips */
	s = msg_address_format(arena, "Zo\xc3\xab (caf\xc3\xa9), \"Boss\"", "zoe", "x");
	a = parse(s);
	check(a, a->name, "Zo\xc3\xab (caf\xc3\xa9), \"Boss\"", NULL, "zoe", "x", 0);
	assert_null(a->next);
	s = msg_address_format(arena, "Doe, \"John\" (JD)", "john doe", "x");
	a = parse(s);
	check(a, "Doe, \"John\" (JD)", "Doe, \"John\" (JD)", NULL, "john doe", "x", 0);
	s = msg_address_format(arena, "=?utf-8?q?x?=", "a", "b");
	a = parse(s);
	check(a, a->name, "=?utf-8?q?x?=", NULL, "a", "b", 0);
	/* a long name folds into several encoded words */
	s = msg_address_format(arena,
			       "\xd0\x94\xd0\xbb\xd0\xb8\xd0\xbd\xd0\xbd\xd0\xbe\xd0\xb5 \xd0\x98\xd0\xbc\xd1\x8f "
			       "\xd0\x94\xd0\xbb\xd0\xb8\xd0\xbd\xd0\xbd\xd0\xbe\xd0\xb5 \xd0\x98\xd0\xbc\xd1\x8f "
			       "\xd0\x94\xd0\xbb\xd0\xb8\xd0\xbd\xd0\xbd\xd0\xbe\xd0\xb5 \xd0\x98\xd0\xbc\xd1\x8f",
			       "a", "b");
	assert_non_null(strstr(s, "\r\n "));
	a = parse(s);
	check(a, a->name,
	      "\xd0\x94\xd0\xbb\xd0\xb8\xd0\xbd\xd0\xbd\xd0\xbe\xd0\xb5 \xd0\x98\xd0\xbc\xd1\x8f "
	      "\xd0\x94\xd0\xbb\xd0\xb8\xd0\xbd\xd0\xbd\xd0\xbe\xd0\xb5 \xd0\x98\xd0\xbc\xd1\x8f "
	      "\xd0\x94\xd0\xbb\xd0\xb8\xd0\xbd\xd0\xbd\xd0\xbe\xd0\xb5 \xd0\x98\xd0\xbc\xd1\x8f",
	      NULL, "a", "b", 0);
}

/* Every prefix of tricky inputs parses without reading past its length. */
static void test_address_prefixes(void **state)
{
	static const char *inputs[] = {
		"\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>, (c(d)\\) <@a,@b:c@[1.2\\].3]>",
		"A Group(Some people):Chris Jones <c@(Chris's host.)public.example>;",
		"=?utf-8?q?Doe,_John?= <j@x>, a@b (c",
	};
	struct msg_address *a;
	unsigned int i;
	size_t len, n;

	for (i = 0; i < N_ELEMENTS(inputs); i++) {
		len = strlen(inputs[i]);
		for (n = 0; n <= len; n++) {
			char *copy = malloc(n == 0 ? 1 : n);
			memcpy(copy, inputs[i], n);
			for (a = msg_address_parse(arena, copy, n); a != NULL; a = a->next) {
				if (a->name_decoded != NULL)
					assert_true(utf8_is_valid(a->name_decoded, strlen(a->name_decoded)));
				(void)msg_address_spec(arena, a);
			}
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_address_rfc5322_a1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_rfc5322_a5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_rfc5322_a6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_local_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_prefixes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
