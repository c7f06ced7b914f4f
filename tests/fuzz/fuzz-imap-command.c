/*
 * Fuzz target for what an IMAP client controls before any mailbox is
 * touched: the command parser (imap-parser.h) fed the input as the
 * session would (CRLF lines, literals taking the bytes their "{N}" names),
 * and the FETCH item and SEARCH parsers on whatever command parsed. Every
 * parse must end in DONE or ERROR with a message, and what parsed must be
 * a consistent tree.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "imap-fetch.h"
#include "imap-parser.h"
#include "imap-search.h"
#include "tern-limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const struct imap_arg *args, unsigned int count, unsigned int depth)
{
	unsigned int i;

	if (depth > IMAP_MAX_LIST_DEPTH)
		abort();
	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (a->type == IMAP_ARG_LIST) {
			if (a->count > 0 && a->list == NULL)
				abort();
			check_tree(a->list, a->count, depth + 1);
		} else if (a->type != IMAP_ARG_EXTERNAL) {
			if (a->str == NULL || strlen(a->str) > a->len || a->str[a->len] != '\0')
				abort();
			if (a->type == IMAP_ARG_ATOM && a->len == 0)
				abort();
		}
	}
}

static void check_command(struct arena *arena, struct imap_parser *p)
{
	const struct imap_arg *args;
	unsigned int count;
	const char *name = imap_parser_name(p), *error;

	args = imap_parser_args_list(p, &count);
	check_tree(args, count, 0);
	if (strcmp(name, "FETCH") == 0 || strcmp(name, "UID FETCH") == 0) {
		struct imap_fetch_request req;

		if (count >= 2 && imap_fetch_parse(arena, &args[1], name[0] == 'U', &req, &error) == 0) {
			for (unsigned int i = 0; i < req.count; i++) {
				if (req.items[i].kind >= IMAP_FETCH_SECTION &&
				    (req.items[i].response_name == NULL || req.items[i].part == NULL))
					abort();
			}
		}
	} else if (strcmp(name, "SEARCH") == 0 || strcmp(name, "UID SEARCH") == 0) {
		struct imap_search search;
		enum imap_search_error kind;

		if (imap_search_parse(arena, args, count, &search, &kind, &error) < 0 &&
		    error == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct imap_parser_limits limits = {
		.max_depth = IMAP_MAX_LIST_DEPTH, .max_args = 1000,
		.max_literal = 4096, .max_command = 65536,
	};
	const char *s = (const char *)data, *end = s + size;

	/* one command after another, as a session reads them */
	while (s < end) {
		struct arena *arena = arena_new(0);
		struct imap_parser *p = imap_parser_new(arena, &limits);
		enum imap_parse_result r;
		const char *eol = memchr(s, '\n', (size_t)(end - s)), *rest;
		size_t len = eol != NULL ? (size_t)(eol - s) : (size_t)(end - s), rest_len;
		bool first = true;

		for (;;) {
			size_t l = len;

			if (l > 0 && s[l - 1] == '\r')
				l--;
			if (first) {
				first = false;
				if (imap_parser_head(p, s, l, &rest, &rest_len) < 0) {
					if (imap_parser_error(p) == NULL)
						abort();
					r = IMAP_PARSE_ERROR;
				} else {
					imap_parser_set_flags(p, strstr(imap_parser_name(p), "FETCH") != NULL ?
							      IMAP_PARSE_FLAG_FETCH : 0);
					r = imap_parser_args(p, rest, rest_len);
				}
			} else {
				r = imap_parser_line(p, s, l);
			}
			s += len + (eol != NULL ? 1 : 0);
			if (r != IMAP_PARSE_LITERAL)
				break;
			{
				struct imap_literal_info info;
				size_t n;

				imap_parser_literal_info(p, &info);
				if (info.size > limits.max_literal || info.size > (uint64_t)(end - s)) {
					s = end;
					r = IMAP_PARSE_ERROR;
					break;
				}
				n = (size_t)info.size;
				imap_parser_literal(p, s, n);
				s += n;
				if (imap_parser_error(p) != NULL) {
					r = IMAP_PARSE_ERROR;
					break;
				}
			}
			if (s >= end) {
				r = IMAP_PARSE_ERROR;
				break;
			}
			eol = memchr(s, '\n', (size_t)(end - s));
			len = eol != NULL ? (size_t)(eol - s) : (size_t)(end - s);
		}
		if (r == IMAP_PARSE_DONE)
			check_command(arena, p);
		else if (r == IMAP_PARSE_ERROR && imap_parser_error(p) == NULL && s < end)
			abort();
		arena_free(&arena);
	}
	return 0;
}
