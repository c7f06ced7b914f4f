#ifndef TERN_LOG_H
#define TERN_LOG_H

#include "lib.h"

/*
 * One line per event on stderr: a short tag, then key=value pairs, e.g.
 *   smtp accepted session=S1a2b id=Q7f3a from=<a@x.test> rcpts=2
 * Values with spaces, quotes or control bytes are quoted and escaped by
 * log_kv helpers; callers format with printf and use log_value() for
 * untrusted strings. Never log a password.
 */
enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARNING,
	LOG_ERROR,
	LOG_FATAL,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Send log lines to fd instead of stderr (tests); -1 restores stderr. */
void log_set_fd(int fd);
/* Prefix each line with an ISO 8601 UTC timestamp with milliseconds
   ("2026-11-23T10:00:00.123Z "; default off). */
void log_set_timestamps(bool enable);
/* Lines for systemd's journal: no timestamp (the journal adds its own),
   and each line starts with its syslog priority, "<3>" error, "<4>"
   warning, "<6>" info, "<7>" debug (sd-daemon(3); systemd reads it with
   SyslogLevelPrefix=, on by default), so journalctl -p filters them. */
void log_set_journal(bool enable);
/* Is stderr systemd's journal? It is when $JOURNAL_STREAM ("DEV:INODE",
   systemd.exec(5)) names the very file stderr is: the journal stamps
   lines itself. */
bool log_stderr_is_journal(void);

/* tag: short word ("smtp", "serve", "config"); the rest is printf-formatted
   key=value text. A trailing newline is added. */
void log_write(enum log_level level, const char *tag, const char *fmt, ...) ATTR_FORMAT(3, 4);
#define log_debug(tag, ...) \
	do { if (log_get_level() <= LOG_DEBUG) log_write(LOG_DEBUG, tag, __VA_ARGS__); } while (0)
#define log_info(tag, ...) log_write(LOG_INFO, tag, __VA_ARGS__)
#define log_warning(tag, ...) log_write(LOG_WARNING, tag, __VA_ARGS__)
#define log_error(tag, ...) log_write(LOG_ERROR, tag, __VA_ARGS__)

/* Make an untrusted string safe as a log value: printable ASCII without
   spaces/quotes is returned as-is; anything else is double-quoted with
   \", \\, \xNN escapes, truncated to max_len source bytes with "..." .
   Returns a pointer into a small rotating set of thread-local buffers
   (valid for the next 8 calls in this thread). */
const char *log_value(const void *data, size_t len, size_t max_len);
const char *log_str(const char *s);  /* log_value(s, strlen(s), 200); NULL -> "-" */

#endif
