/* End to end: outbound delivery through a DNS server and fake SMTP servers
   on 127.0.0.x (tests/unit/outbound/harness.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "outbound.h"
#include "queue.h"
#include "settings.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HARNESS TERN_TEST_DATA "/../unit/outbound/harness.py"

static char data_dir[] = "/tmp/tern-outbound-XXXXXX";
static char out_dir[256];
static pid_t harness_pid;
static int harness_stdin = -1;
static unsigned int dns_port, smtp_port;
static struct tern_settings *set;
static struct queue *queue;
static struct outbound *ob;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool done;
static struct {
	unsigned int rcpt_index;
	enum outbound_status status;
	char *diagnostic, *status_code, *remote_mta;
} results[16];
static unsigned int result_count;

static void start_harness(void)
{
	int in[2], out[2];
	char line[256];
	FILE *f;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	harness_pid = fork();
	assert_true(harness_pid >= 0);
	if (harness_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", HARNESS, out_dir, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	harness_stdin = in[1];
	f = fdopen(out[0], "r");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(sscanf(line, "DNS %u SMTP %u", &dns_port, &smtp_port), 2);
	fclose(f);
}

static void done_cb(void *ctx, const char *queue_id, const struct outbound_result *res,
		    unsigned int count)
{
	unsigned int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < count && i < N_ELEMENTS(results); i++) {
		results[i].rcpt_index = res[i].rcpt_index;
		results[i].status = res[i].status;
		results[i].diagnostic = i_strdup(res[i].diagnostic);
		results[i].status_code = i_strdup(res[i].status_code);
		results[i].remote_mta = i_strdup(res[i].remote_mta);
	}
	result_count = count;
	done = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

static void clear_results(void)
{
	unsigned int i;

	for (i = 0; i < result_count; i++) {
		i_free(results[i].diagnostic);
		i_free(results[i].status_code);
		i_free(results[i].remote_mta);
	}
	result_count = 0;
	done = false;
}

/* Queue a message and deliver all its recipients; results[] in order. */
static void deliver(const char *sender, const char *const *rcpts, const char *body,
		    bool body_8bit, bool smtputf8)
{
	struct queue_writer *w;
	struct queue_envelope env;
	struct queue_rcpt qr[16];
	unsigned int idx[16], n = 0, i;
	const char *error;
	char id[64];

	clear_results();
	w = queue_writer_new(queue, &error);
	assert_non_null(w);
	snprintf(id, sizeof(id), "%s", queue_writer_id(w));
	assert_int_equal(queue_writer_write(w, body, strlen(body), &error), 0);
	memset(&env, 0, sizeof(env));
	memset(qr, 0, sizeof(qr));
	env.sender = sender;
	env.body_8bit = body_8bit;
	env.smtputf8 = smtputf8;
	for (n = 0; rcpts[n] != NULL; n++) {
		qr[n].address = rcpts[n];
		idx[n] = n;
	}
	env.rcpts = qr;
	env.rcpt_count = n;
	assert_int_equal(queue_commit(&w, &env, &error), 0);

	outbound_submit(ob, id, &env, idx, n, done_cb, NULL);
	pthread_mutex_lock(&lock);
	while (!done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	assert_int_equal(result_count, n);
	for (i = 0; i < n; i++)
		assert_int_equal(results[i].rcpt_index, i);
}

static void deliver1(const char *rcpt, const char *body)
{
	const char *rcpts[] = { rcpt, NULL };

	deliver("sender@example.test", rcpts, body, false, false);
}

#define assert_result(i, st, code) do { \
	if (results[i].status != (st) || strcmp(results[i].status_code, (code)) != 0) \
		fail_msg("result %u: status %d code %s diag %s", (unsigned int)(i), \
			 (int)results[i].status, results[i].status_code, results[i].diagnostic); \
	} while (0)

/* The text of the newest message file of a fake server (ip), or NULL. */
static char *received(const char *ip, unsigned int *count_r)
{
	DIR *dir = opendir(out_dir);
	struct dirent *de;
	unsigned int best = 0, n;
	char path[512];
	size_t iplen = strlen(ip);
	char *text = NULL;
	FILE *f;
	long size;

	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, ip, iplen) == 0 && de->d_name[iplen] == '-' &&
		    sscanf(de->d_name + iplen + 1, "%u.json", &n) == 1 && n > best &&
		    strstr(de->d_name, ".tmp") == NULL)
			best = n;
	}
	closedir(dir);
	*count_r = best;
	if (best == 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s-%u.json", out_dir, ip, best);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = i_malloc((size_t)size + 1);
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return text;
}

static int setup(void **state)
{
	struct outbound_options opts;
	const char *error;

	assert_non_null(mkdtemp(data_dir));
	snprintf(out_dir, sizeof(out_dir), "%s/out", data_dir);
	assert_int_equal(mkdir(out_dir, 0700), 0);
	start_harness();

	set = settings_new(false);
	set->hostname = "me.test";
	set->data_dir = data_dir;
	set->delivery_mx_port = smtp_port;
	set->delivery_nameserver = arena_new_type(set->arena, struct tern_hostport);
	{
		char ns[64];

		snprintf(ns, sizeof(ns), "127.0.0.1:%u", dns_port);
		assert_int_equal(settings_parse_hostport(set->arena, ns, true, 0,
							 set->delivery_nameserver, &error), 0);
	}
	assert_int_equal(queue_open(data_dir, &queue, &error), 0);
	memset(&opts, 0, sizeof(opts));
	opts.dns_timeout_msecs = 1000;
	opts.dns_tries = 1;
	opts.idle_secs = 2;
	opts.smtp_timeout = 10;
	ob = outbound_start_opts(set, queue, &opts, &error);
	if (ob == NULL)
		fail_msg("outbound_start: %s", error);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	outbound_stop(&ob);
	clear_results();
	queue_close(&queue);
	settings_free(&set);
	close(harness_stdin);
	waitpid(harness_pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", data_dir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static const char plain[] = "From: a@example.test\r\nTo: b@good.test\r\nSubject: hi\r\n\r\n"
			    "hello\r\n.leading dot\r\n";

static void test_delivered_one_transaction(void **state)
{
	const char *rcpts[] = { "one@good.test", "two@good.test", NULL };
	unsigned int n;
	char *text;

	deliver("sender@example.test", rcpts, plain, false, false);
	assert_result(0, OUTBOUND_DELIVERED, "2.0.0");
	assert_result(1, OUTBOUND_DELIVERED, "2.0.0");
	assert_string_equal(results[0].remote_mta, "mx.good.test [127.0.0.2]");
	assert_non_null(strstr(results[0].diagnostic, "250 2.0.0 queued"));
	text = received("127.0.0.2", &n);
	assert_non_null(text);
	/* both recipients in one transaction, dot-stuffing undone by the server */
	assert_non_null(strstr(text, "RCPT TO:<one@good.test>"));
	assert_non_null(strstr(text, "RCPT TO:<two@good.test>"));
	assert_non_null(strstr(text, "\\r\\n.leading dot\\r\\n"));
	assert_non_null(strstr(text, "MAIL FROM:<sender@example.test> SIZE="));
	free(text);
}

static void test_mx_preference_fallback(void **state)
{
	/* down.pref.test (preference 10) refuses connections */
	deliver1("x@pref.test", plain);
	assert_result(0, OUTBOUND_DELIVERED, "2.0.0");
	assert_string_equal(results[0].remote_mta, "up.pref.test [127.0.0.2]");
}

static void test_implicit_mx(void **state)
{
	deliver1("x@implicit.test", plain);
	assert_result(0, OUTBOUND_DELIVERED, "2.0.0");
	assert_string_equal(results[0].remote_mta, "implicit.test [127.0.0.2]");
}

static void test_dns_failures(void **state)
{
	deliver1("x@nullmx.test", plain);
	assert_result(0, OUTBOUND_FAILED, "5.1.10");
	deliver1("x@nx.test", plain);
	assert_result(0, OUTBOUND_FAILED, "5.1.2");
	assert_non_null(strstr(results[0].diagnostic, "dns;"));
	deliver1("x@servfail.test", plain);
	assert_result(0, OUTBOUND_DEFERRED, "4.4.3");
	deliver1("x@nohost.test", plain);
	assert_result(0, OUTBOUND_FAILED, "5.4.4");
	deliver1("x@loop.test", plain);
	assert_result(0, OUTBOUND_FAILED, "5.4.6");
}

static void test_rcpt_and_data_rejects(void **state)
{
	const char *rcpts[] = { "good@rcpt550.test", "bad@rcpt550.test", NULL };

	deliver("s@example.test", rcpts, plain, false, false);
	assert_result(0, OUTBOUND_DELIVERED, "2.0.0");
	assert_result(1, OUTBOUND_FAILED, "5.1.1");
	assert_string_equal(results[1].diagnostic,
			    "smtp; 550 5.1.1 <bad@rcpt550.test> no such user");

	deliver1("x@data550.test", plain);
	assert_result(0, OUTBOUND_FAILED, "5.7.1");
}

static void test_temporary_then_success(void **state)
{
	deliver1("x@later.test", plain);
	assert_result(0, OUTBOUND_DEFERRED, "4.3.0");
	deliver1("x@later.test", plain);
	assert_result(0, OUTBOUND_DELIVERED, "2.0.0");
}

static void test_drop_mid_data(void **state)
{
	deliver1("x@drop.test", plain);
	assert_result(0, OUTBOUND_DEFERRED, "4.4.2");
}

static void test_helo_fallback(void **state)
{
	unsigned int n;
	char *text;

	deliver1("x@helo.test", plain);
	assert_result(0, OUTBOUND_DELIVERED, "2.0.0");
	text = received("127.0.0.9", &n);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"helo\": \"HELO me.test\""));
	free(text);
}

static void test_8bitmime_downgrade(void **state)
{
	static const char msg8[] =
		"From: a@example.test\r\nTo: x@seven.test\r\nSubject: 8bit\r\n"
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n"
		"caf\xc3\xa9 cr\xc3\xa8me\r\n";
	const char *rcpts[] = { "x@seven.test", NULL };
	unsigned int n;
	char *text;

	deliver("s@example.test", rcpts, msg8, true, false);
	assert_result(0, OUTBOUND_DELIVERED, "2.0.0");
	text = received("127.0.0.8", &n);
	assert_non_null(text);
	assert_non_null(strstr(text, "Content-Transfer-Encoding: quoted-printable"));
	assert_null(strstr(text, "Content-Transfer-Encoding: 8bit"));
	assert_non_null(strstr(text, "caf=C3=A9 cr=C3=A8me"));
	/* no BODY=8BITMIME to a server that did not offer it */
	assert_null(strstr(text, "BODY="));
	free(text);
}

static void test_size_and_smtputf8(void **state)
{
	const char *rcpts[] = { "x@seven.test", NULL };
	const char *urcpts[] = { "j\xc3\xb6rg@seven.test", NULL };
	char *big = i_malloc(5000);

	memcpy(big, "Subject: big\r\n\r\n", 16);
	memset(big + 16, 'a', 4000);
	memcpy(big + 4016, "\r\n", 3);
	deliver("s@example.test", rcpts, big, false, false);
	assert_result(0, OUTBOUND_FAILED, "5.3.4");
	free(big);

	deliver("s@example.test", urcpts, plain, false, true);
	assert_result(0, OUTBOUND_FAILED, "5.6.7");
}

static void test_mixed_destinations(void **state)
{
	const char *rcpts[] = { "a@good.test", "b@nullmx.test", "bad@rcpt550.test",
				"c@good.test", "d@servfail.test", NULL };

	deliver("s@example.test", rcpts, plain, false, false);
	assert_result(0, OUTBOUND_DELIVERED, "2.0.0");
	assert_result(1, OUTBOUND_FAILED, "5.1.10");
	assert_result(2, OUTBOUND_FAILED, "5.1.1");
	assert_result(3, OUTBOUND_DELIVERED, "2.0.0");
	assert_result(4, OUTBOUND_DEFERRED, "4.4.3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivered_one_transaction),
		cmocka_unit_test(test_mx_preference_fallback),
		cmocka_unit_test(test_implicit_mx),
		cmocka_unit_test(test_dns_failures),
		cmocka_unit_test(test_rcpt_and_data_rejects),
		cmocka_unit_test(test_temporary_then_success),
		cmocka_unit_test(test_drop_mid_data),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_8bitmime_downgrade),
		cmocka_unit_test(test_size_and_smtputf8),
		cmocka_unit_test(test_mixed_destinations),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
