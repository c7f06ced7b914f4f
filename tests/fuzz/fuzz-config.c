/* The config parser and the settings checks on arbitrary bytes. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new(0);
	struct tern_settings *set;
	const char *error = NULL;

	if (config_parse_buffer(arena, "fuzz.toml", data, size, &error) == NULL &&
	    error == NULL)
		__builtin_trap();
	arena_free(&arena);

	/* the whole path a config file takes, over both sets of defaults */
	set = settings_new(size % 2 == 0);
	if (settings_apply_buffer(set, "fuzz.toml", data, size, &error) < 0) {
		const char *p = error;

		/* every mistake told, each on a line of its own naming the file */
		if (p == NULL)
			__builtin_trap();
		for (;;) {
			if (strncmp(p, "fuzz.toml", 9) != 0)
				__builtin_trap();
			if ((p = strchr(p, '\n')) == NULL)
				break;
			p++;
		}
	}
	/* what --check asks of a partly applied file */
	(void)settings_key_line(set, "listen.smtp");
	(void)settings_key_failed(set, "postmaster");
	if (set->postmaster[0] != '\0' && !settings_valid_address(set->postmaster))
		__builtin_trap();
	settings_free(&set);
	return 0;
}
