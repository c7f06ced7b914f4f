/* Unit tests for src/base/log.c: the line format, timestamps, journal
   priorities, and how stderr is recognised as the journal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "log.h"

#include <regex.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Run fn with log lines going to a temporary file; returns what was written. */
static char *capture(void (*fn)(void))
{
	char path[] = "/tmp/tern-test-log-XXXXXX";
	int fd = mkstemp(path);
	char *out = calloc(1, 8192);
	ssize_t n;

	assert_true(fd >= 0);
	log_set_fd(fd);
	fn();
	log_set_fd(-1);
	assert_true(lseek(fd, 0, SEEK_SET) == 0);
	n = read(fd, out, 8191);
	assert_true(n >= 0);
	close(fd);
	unlink(path);
	return out;
}

static void write_three(void)
{
	log_info("serve", "started pid=%d", 42);
	log_warning("serve", "check warning=%s", log_str("a b"));
	log_error("smtp", "queue write failed id=%s", "Q1");
}

static bool matches(const char *text, const char *pattern)
{
	regex_t re;
	bool ok;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
	ok = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static void test_plain(void **state)
{
	char *out = capture(write_three);

	assert_string_equal(out, "serve started pid=42\n"
			    "serve level=warning check warning=\"a b\"\n"
			    "smtp level=error queue write failed id=Q1\n");
	free(out);
}

static void test_timestamps(void **state)
{
	char *out;

	log_set_timestamps(true);
	out = capture(write_three);
	log_set_timestamps(false);
	assert_true(matches(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
			    "\\.[0-9]{3}Z serve started pid=42$"));
	assert_true(matches(out, "^[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z smtp level=error "));
	free(out);
}

static void test_journal(void **state)
{
	char *out;

	/* journal: priorities (sd-daemon(3)), never a timestamp */
	log_set_timestamps(true);
	log_set_journal(true);
	out = capture(write_three);
	log_set_journal(false);
	log_set_timestamps(false);
	assert_string_equal(out, "<6>serve started pid=42\n"
			    "<4>serve level=warning check warning=\"a b\"\n"
			    "<3>smtp level=error queue write failed id=Q1\n");
	free(out);
}

static void test_stderr_is_journal(void **state)
{
	struct stat st;
	char env[64];

	unsetenv("JOURNAL_STREAM");
	assert_false(log_stderr_is_journal());
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	assert_true(log_stderr_is_journal());
	/* inherited from a parent whose stderr was the journal: not ours */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	assert_false(log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_false(log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "1:2:3", 1);
	assert_false(log_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_stderr_is_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
