#ifndef TERN_SERVE_CHECK_H
#define TERN_SERVE_CHECK_H

#include "lib.h"
#include "buf.h"

/*
 * Everything `tern serve` will use, checked before it creates anything
 * (issue 9 "Checking and starting"), and all `tern serve --check` does:
 * the user to run as, the administrator's address, data_dir, the TLS
 * certificate and key, what sender authentication reads (the Public Suffix
 * List; DKIM keys of the local domains), the listeners (bound for a moment
 * and let go), and settings that are valid one by one but wrong together. Nothing is
 * created or changed: no directory, no file, no database.
 *
 * Every problem is one line, "FILE:LINE: text" when the config file gave
 * the value (settings_key_line()), "FILE: text" for what it lacks, and
 * "text" for the --dev defaults. Errors stop the server; warnings are
 * told and it starts.
 */

struct tern_settings;

struct serve_check {
	buf_t errors;            /* one problem a line */
	buf_t warnings;
	unsigned int error_count, warning_count;
	/* set by the caller before serve_check_run(): tern serve is about to
	   start (not --check), so a server already running on data_dir is an
	   error, not a note */
	bool starting;
};

void serve_check_init(struct serve_check *check);
void serve_check_deinit(struct serve_check *check);

/* Run every check on set (keys that failed to parse, settings_key_failed(),
   are skipped: their errors were told already). as_root: whether the
   server would start with root's privileges (geteuid() == 0). Returns the
   number of errors. */
unsigned int serve_check_run(struct serve_check *check, const struct tern_settings *set,
			     bool as_root);

#endif
