/*
 * Fuzz target for the SMTP client's reply parser (a network parser: the
 * remote server is untrusted). The input is split into lines at LF and fed
 * as the client's connection would; every complete reply is checked for
 * consistency and its EHLO keywords parsed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct smtp_reply_parser *p = smtp_reply_parser_init(arena);
	size_t start = 0, i;

	for (i = 0; i <= size; i++) {
		struct smtp_reply *reply;
		const char *error;
		uint64_t max_size;
		unsigned int l;
		int ret;

		if (i < size && data[i] != '\n')
			continue;
		ret = smtp_reply_parser_line(p, (const char *)data + start, i - start, &reply, &error);
		start = i + 1;
		if (ret <= 0)
			continue;
		if (reply->code < 200 || reply->code > 599 || reply->line_count == 0 ||
		    reply->line_count > SMTP_REPLY_MAX_LINES || reply->text == NULL)
			abort();
		if (reply->enhanced != NULL &&
		    (!smtp_enhanced_code_valid(reply->enhanced, strlen(reply->enhanced)) ||
		     (unsigned int)(reply->enhanced[0] - '0') != reply->code / 100))
			abort();
		for (l = 0; l < reply->line_count; l++) {
			if (reply->lines[l] == NULL)
				abort();
		}
		(void)smtp_client_parse_ehlo(reply, &max_size);
	}
	smtp_reply_parser_deinit(&p);
	arena_free(&arena);
	return 0;
}
