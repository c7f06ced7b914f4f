#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_min_level = LOG_INFO;
static int log_fd = STDERR_FILENO;
static bool log_timestamps;
static bool log_journal;

void log_set_level(enum log_level level) { log_min_level = level; }
enum log_level log_get_level(void) { return log_min_level; }
void log_set_fd(int fd) { log_fd = fd < 0 ? STDERR_FILENO : fd; }
void log_set_timestamps(bool enable) { log_timestamps = enable; }
void log_set_journal(bool enable) { log_journal = enable; }

/* RFC 5424 6.2.1 severities, as sd-daemon(3) prefixes spell them */
static int journal_priority(enum log_level level)
{
	switch (level) {
	case LOG_DEBUG: return 7;
	case LOG_INFO: return 6;
	case LOG_WARNING: return 4;
	case LOG_ERROR: return 3;
	case LOG_FATAL: return 2;
	}
	return 6;
}

bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_DEBUG: return "debug";
	case LOG_INFO: return NULL;
	case LOG_WARNING: return "warning";
	case LOG_ERROR: return "error";
	case LOG_FATAL: return "fatal";
	}
	return NULL;
}

void log_write(enum log_level level, const char *tag, const char *fmt, ...)
{
	/* One write(2) per line so lines from threads never interleave. */
	char line[4096];
	size_t pos = 0;
	const char *lname;
	va_list args;
	int n;

	if (level < log_min_level)
		return;
	if (log_journal) {
		n = snprintf(line, sizeof(line), "<%d>", journal_priority(level));
		if (n > 0)
			pos += (size_t)n;
	} else if (log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		pos += strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line + pos, sizeof(line) - pos, ".%03ldZ ", ts.tv_nsec / 1000000);
		if (n > 0)
			pos += (size_t)n;
	}
	lname = level_name(level);
	n = snprintf(line + pos, sizeof(line) - pos, "%s%s%s ",
		     tag, lname == NULL ? "" : " level=", lname == NULL ? "" : lname);
	if (n > 0)
		pos += (size_t)n < sizeof(line) - pos ? (size_t)n : sizeof(line) - pos - 1;
	va_start(args, fmt);
	n = vsnprintf(line + pos, sizeof(line) - pos, fmt, args);
	va_end(args);
	if (n > 0)
		pos += (size_t)n < sizeof(line) - pos ? (size_t)n : sizeof(line) - pos - 1;
	/* room for the newline: the line is cut if it was too long */
	if (pos >= sizeof(line) - 1)
		pos = sizeof(line) - 2;
	line[pos++] = '\n';
	while (write(log_fd, line, pos) < 0 && errno == EINTR)
		;
}

#define LOG_VALUE_BUFS 8
#define LOG_VALUE_BUFSIZE 1024

const char *log_value(const void *data, size_t len, size_t max_len)
{
	static __thread char bufs[LOG_VALUE_BUFS][LOG_VALUE_BUFSIZE];
	static __thread unsigned int next;
	const unsigned char *d = data;
	char *out = bufs[next++ % LOG_VALUE_BUFS];
	size_t i, pos = 0;
	bool plain = len > 0;

	for (i = 0; i < len && plain; i++) {
		if (d[i] <= ' ' || d[i] >= 0x7f || d[i] == '"' || d[i] == '\\')
			plain = false;
	}
	if (plain && len <= max_len && len < LOG_VALUE_BUFSIZE) {
		memcpy(out, d, len);
		out[len] = '\0';
		return out;
	}
	out[pos++] = '"';
	for (i = 0; i < len && i < max_len; i++) {
		/* worst case 4 bytes per input byte, plus "...\"\0" */
		if (pos + 4 + 5 >= LOG_VALUE_BUFSIZE)
			break;
		if (d[i] == '"' || d[i] == '\\') {
			out[pos++] = '\\';
			out[pos++] = (char)d[i];
		} else if (d[i] < ' ' || d[i] >= 0x7f) {
			pos += (size_t)snprintf(out + pos, 5, "\\x%02x", d[i]);
		} else {
			out[pos++] = (char)d[i];
		}
	}
	if (i < len) {
		memcpy(out + pos, "...", 3);
		pos += 3;
	}
	out[pos++] = '"';
	out[pos] = '\0';
	return out;
}

const char *log_str(const char *s)
{
	if (s == NULL)
		return "-";
	return log_value(s, strlen(s), 200);
}
