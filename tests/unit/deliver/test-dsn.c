#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "accounts.h"
#include "arena.h"
#include "dsn.h"
#include "mime.h"
#include "queue.h"
#include "settings.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define CHECK_DSN TERN_TEST_DATA "/../unit/deliver/check_dsn.py"

static char tmpdir[] = "/tmp/tern-test-dsn-XXXXXX";
static struct tern_settings *set;
static struct queue *queue;

static const char MSG[] =
	"Received: from x by mx.example.test; Mon, 2 Mar 2026 10:00:00 +0000\r\n"
	"From: Alice <alice@remote.test>\r\n"
	"To: list@example.test\r\n"
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Alice\r\n"
	"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n"
	"Message-ID: <orig-1@remote.test>\r\n"
	"\r\n"
	"Hello there.\r\n"
	".leading dot line\r\n";

/* Three recipients: one reached through an alias with an ORCPT and a
   remote 550, one with a local error, one with NOTIFY=NEVER. */
static void make_env(struct queue_envelope *env, struct queue_rcpt *r)
{
	memset(env, 0, sizeof(*env));
	memset(r, 0, sizeof(*r) * 3);
	env->id = "QTEST";
	env->created = 1772445600;     /* 2026-03-02 10:00 UTC */
	env->sender = "alice@remote.test";
	env->envid = "ENV-42";
	env->size = sizeof(MSG) - 1;
	r[0].address = "bob@far.test";
	r[0].original = "list@example.test";
	r[0].orcpt = "rfc822;list@example.test";
	r[0].state = QUEUE_RCPT_FAILED;
	r[0].last_attempt = 1772449200;
	r[0].last_error = "smtp; 550 5.1.1 <bob@far.test>: Recipient address rejected";
	r[1].address = "carol@example.test";
	r[1].state = QUEUE_RCPT_FAILED;
	r[1].last_error = "mailbox quota exceeded\r\nsecond line";
	r[2].address = "dave@example.test";
	r[2].notify = QUEUE_NOTIFY_NEVER;
	env->rcpts = r;
	env->rcpt_count = 3;
}

static struct mime_part *child(struct mime_part *p, unsigned int n)
{
	struct mime_part *c = p->children;

	while (c != NULL && n-- > 0)
		c = c->next;
	assert_non_null(c);
	return c;
}

static const char *body(const buf_t *b, const struct mime_part *p, struct arena *arena)
{
	return arena_strndup(arena, b->data + p->body_offset, p->body_size);
}

static void run_check(const buf_t *b, const char *args)
{
	char path[256], cmd[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/dsn.eml", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->data, b->used), (ssize_t)b->used);
	close(fd);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s %s", CHECK_DSN, path, args);
	assert_int_equal(system(cmd), 0);
}

static void test_wanted(void **state)
{
	struct queue_envelope env;
	struct queue_rcpt r;

	memset(&env, 0, sizeof(env));
	memset(&r, 0, sizeof(r));
	env.sender = "a@b.test";
	assert_true(dsn_wanted(&env, &r, DSN_ACTION_FAILED));
	assert_true(dsn_wanted(&env, &r, DSN_ACTION_DELAYED));
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_DELIVERED));
	r.notify = QUEUE_NOTIFY_NEVER;
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_FAILED));
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_DELAYED));
	r.notify = QUEUE_NOTIFY_SUCCESS;
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_FAILED));
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_DELAYED));
	assert_true(dsn_wanted(&env, &r, DSN_ACTION_DELIVERED));
	assert_true(dsn_wanted(&env, &r, DSN_ACTION_RELAYED));
	r.notify = QUEUE_NOTIFY_DELAY;
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_FAILED));
	assert_true(dsn_wanted(&env, &r, DSN_ACTION_DELAYED));
	r.notify = QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_SUCCESS;
	assert_true(dsn_wanted(&env, &r, DSN_ACTION_FAILED));
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_DELAYED));
	assert_true(dsn_wanted(&env, &r, DSN_ACTION_EXPANDED));
	/* never bounce a bounce */
	env.sender = "";
	r.notify = QUEUE_NOTIFY_DEFAULT;
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_FAILED));
	r.notify = QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY;
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_FAILED));
	assert_false(dsn_wanted(&env, &r, DSN_ACTION_DELIVERED));
}

static void test_return_full(void **state)
{
	struct queue_envelope env;

	memset(&env, 0, sizeof(env));
	assert_true(dsn_return_full(&env, DSN_ACTION_FAILED, 1000));
	assert_true(dsn_return_full(&env, DSN_ACTION_FAILED, DSN_RETURN_DEFAULT_MAX));
	assert_false(dsn_return_full(&env, DSN_ACTION_FAILED, DSN_RETURN_DEFAULT_MAX + 1));
	assert_false(dsn_return_full(&env, DSN_ACTION_DELAYED, 1000));
	assert_false(dsn_return_full(&env, DSN_ACTION_DELIVERED, 1000));
	env.ret = QUEUE_RET_FULL;
	assert_true(dsn_return_full(&env, DSN_ACTION_DELAYED, DSN_RETURN_DEFAULT_MAX + 1));
	assert_false(dsn_return_full(&env, DSN_ACTION_FAILED, DSN_RETURN_FULL_MAX + 1));
	env.ret = QUEUE_RET_HDRS;
	assert_false(dsn_return_full(&env, DSN_ACTION_FAILED, 10));
}

static void test_build_failed(void **state)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope env;
	struct queue_rcpt r[3];
	struct dsn_rcpt_detail details[2];
	struct mime_part *root, *text, *status, *orig;
	const unsigned int idx[] = { 0, 1 };
	const char *error, *s;
	buf_t out;
	bool is_8bit;

	make_env(&env, r);
	memset(details, 0, sizeof(details));
	details[0].remote_mta = "mx.far.test [192.0.2.7]";
	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(dsn_build(set, arena, &env, MSG, sizeof(MSG) - 1, idx, details, 2,
				   DSN_ACTION_FAILED, 1772460000, &out, &is_8bit, &error), 0);
	assert_false(is_8bit);

	root = mime_parse(arena, out.data, out.used, NULL);
	assert_true(mime_part_is(root, "multipart", "report"));
	assert_string_equal(mime_part_param(root, "report-type"), "delivery-status");
	assert_int_equal(root->child_count, 3);
	s = msg_header_get(&root->header, "From")->value;
	assert_non_null(strstr(s, "<MAILER-DAEMON@mx.example.test>"));
	assert_string_equal(msg_header_get(&root->header, "To")->value, "alice@remote.test");
	assert_string_equal(msg_header_get(&root->header, "Subject")->value,
			    "Undelivered Mail Returned to Sender");
	assert_string_equal(msg_header_get(&root->header, "Auto-Submitted")->value,
			    "auto-replied");
	assert_string_equal(msg_header_get(&root->header, "In-Reply-To")->value,
			    "<orig-1@remote.test>");

	text = child(root, 0);
	assert_true(mime_part_is(text, "text", "plain"));
	s = body(&out, text, arena);
	assert_non_null(strstr(s, "<bob@far.test> (reached through <list@example.test>)"));
	assert_non_null(strstr(s, "Recipient address rejected"));
	assert_non_null(strstr(s, "mailbox quota exceeded second line"));
	assert_null(strstr(s, "dave@"));

	status = child(root, 1);
	assert_true(mime_part_is(status, "message", "delivery-status"));
	s = body(&out, status, arena);
	assert_non_null(strstr(s, "Reporting-MTA: dns; mx.example.test\r\n"));
	assert_non_null(strstr(s, "Original-Envelope-Id: ENV-42\r\n"));
	assert_non_null(strstr(s, "Arrival-Date: "));
	assert_non_null(strstr(s, "\r\n\r\nOriginal-Recipient: rfc822;list@example.test\r\n"
				  "Final-Recipient: rfc822;bob@far.test\r\n"
				  "Action: failed\r\nStatus: 5.1.1\r\n"
				  "Remote-MTA: dns; mx.far.test\r\n"
				  "Diagnostic-Code: smtp; 550 5.1.1 <bob@far.test>: Recipient address"));
	assert_non_null(strstr(s, "\r\n\r\nOriginal-Recipient: rfc822;carol@example.test\r\n"
				  "Final-Recipient: rfc822;carol@example.test\r\n"
				  "Action: failed\r\nStatus: 5.0.0\r\n"
				  "Diagnostic-Code: X-tern; mailbox quota exceeded second line\r\n"
				  "Last-Attempt-Date: "));
	assert_null(strstr(s, "Will-Retry-Until"));

	orig = child(root, 2);
	assert_true(mime_part_is(orig, "message", "rfc822"));
	s = body(&out, orig, arena);
	assert_string_equal(s, MSG);

	run_check(&out, "action=failed final=bob@far.test,carol@example.test "
		  "status=5.1.1,5.0.0 returned=rfc822 envid=ENV-42 to=alice@remote.test "
		  "'subject=Undelivered Mail Returned to Sender'");
	buf_free(&out);
	arena_free(&arena);
}

static void test_build_delayed(void **state)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope env;
	struct queue_rcpt r[3];
	struct mime_part *root, *orig;
	const unsigned int idx[] = { 0 };
	const char *error, *s;
	buf_t out;

	make_env(&env, r);
	r[0].state = QUEUE_RCPT_DEFERRED;
	r[0].last_error = "smtp; 451 4.7.1 greylisted, try later";
	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(dsn_build(set, arena, &env, MSG, sizeof(MSG) - 1, idx, NULL, 1,
				   DSN_ACTION_DELAYED, 1772460000, &out, NULL, &error), 0);
	root = mime_parse(arena, out.data, out.used, NULL);
	assert_string_equal(msg_header_get(&root->header, "Subject")->value,
			    "Delayed Mail (still being retried)");
	s = body(&out, child(root, 1), arena);
	assert_non_null(strstr(s, "Action: delayed\r\nStatus: 4.7.1\r\n"));
	assert_non_null(strstr(s, "Will-Retry-Until: "));
	assert_null(strstr(s, "Remote-MTA"));
	/* delays return the header only by default */
	orig = child(root, 2);
	assert_true(mime_part_is(orig, "text", "rfc822-headers"));
	s = body(&out, orig, arena);
	assert_non_null(strstr(s, "Message-ID: <orig-1@remote.test>"));
	assert_null(strstr(s, "Hello there"));
	s = body(&out, child(root, 0), arena);
	assert_non_null(strstr(s, "greylisted"));
	assert_non_null(strstr(s, "do not need to send it again"));
	run_check(&out, "action=delayed status=4.7.1 returned=headers final=bob@far.test");
	buf_free(&out);
	arena_free(&arena);
}

static void test_build_hdrs_and_large(void **state)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope env;
	struct queue_rcpt r[3];
	struct mime_part *root;
	const unsigned int idx[] = { 1 };
	const char *error;
	size_t hdr_len = strstr(MSG, "\r\n\r\n") + 4 - MSG;
	char *big;
	buf_t out;

	/* RET=HDRS on a failure */
	make_env(&env, r);
	env.ret = QUEUE_RET_HDRS;
	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(dsn_build(set, arena, &env, MSG, sizeof(MSG) - 1, idx, NULL, 1,
				   DSN_ACTION_FAILED, 1772460000, &out, NULL, &error), 0);
	root = mime_parse(arena, out.data, out.used, NULL);
	assert_true(mime_part_is(child(root, 2), "text", "rfc822-headers"));
	run_check(&out, "action=failed returned=headers status=5.0.0");
	buf_reset(&out);

	/* a large message without RET: its header only */
	env.ret = QUEUE_RET_DEFAULT;
	env.size = DSN_RETURN_DEFAULT_MAX + 100;
	big = malloc(env.size);
	memcpy(big, MSG, hdr_len);
	memset(big + hdr_len, 'x', env.size - hdr_len);
	assert_int_equal(dsn_build(set, arena, &env, big, env.size, idx, NULL, 1,
				   DSN_ACTION_FAILED, 1772460000, &out, NULL, &error), 0);
	root = mime_parse(arena, out.data, out.used, NULL);
	assert_true(mime_part_is(child(root, 2), "text", "rfc822-headers"));
	assert_true(out.used < 16384);
	buf_reset(&out);

	/* only the header was read: never claims to return the whole */
	env.size = 5000;
	assert_int_equal(dsn_build(set, arena, &env, MSG, hdr_len, idx, NULL, 1,
				   DSN_ACTION_FAILED, 1772460000, &out, NULL, &error), 0);
	root = mime_parse(arena, out.data, out.used, NULL);
	assert_true(mime_part_is(child(root, 2), "text", "rfc822-headers"));
	free(big);
	buf_free(&out);
	arena_free(&arena);
}

static void test_build_success(void **state)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope env;
	struct queue_rcpt r[3];
	struct mime_part *root;
	const unsigned int idx[] = { 1 };
	const char *error, *s;
	buf_t out;

	make_env(&env, r);
	r[1].state = QUEUE_RCPT_DELIVERED;
	r[1].last_error = NULL;
	r[1].notify = QUEUE_NOTIFY_SUCCESS;
	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(dsn_build(set, arena, &env, MSG, sizeof(MSG) - 1, idx, NULL, 1,
				   DSN_ACTION_DELIVERED, 1772460000, &out, NULL, &error), 0);
	root = mime_parse(arena, out.data, out.used, NULL);
	s = body(&out, child(root, 1), arena);
	assert_non_null(strstr(s, "Action: delivered\r\nStatus: 2.0.0\r\n"));
	assert_null(strstr(s, "Diagnostic-Code"));
	run_check(&out, "action=delivered status=2.0.0 returned=headers");
	buf_free(&out);
	arena_free(&arena);
}

static void commit_original(const char *sender, struct queue_rcpt *r, unsigned int n,
			    struct arena *arena, struct queue_envelope **env_r)
{
	struct queue_writer *w;
	struct queue_envelope env;
	const char *error, *id;

	w = queue_writer_new(queue, &error);
	assert_non_null(w);
	id = arena_strdup(arena, queue_writer_id(w));
	assert_int_equal(queue_writer_write(w, MSG, sizeof(MSG) - 1, &error), 0);
	memset(&env, 0, sizeof(env));
	env.created = time(NULL);
	env.sender = sender;
	env.rcpts = r;
	env.rcpt_count = n;
	assert_int_equal(queue_commit(&w, &env, &error), 0);
	assert_int_equal(queue_read(queue, arena, id, env_r, &error), 1);
}

static void test_queue(void **state)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope *env, *denv;
	struct queue_rcpt r[2];
	const unsigned int idx[] = { 0, 1 };
	const char *error, *dsn_id;
	char buf[65536];
	ssize_t n;
	int fd;

	memset(r, 0, sizeof(r));
	r[0].address = "x@far.test";
	r[1].address = "y@far.test";
	r[1].notify = QUEUE_NOTIFY_NEVER;
	commit_original("alice@remote.test", r, 2, arena, &env);
	env->rcpts[0].last_error = "smtp; 550 no such user";
	env->rcpts[0].state = QUEUE_RCPT_FAILED;

	assert_int_equal(dsn_queue(set, queue, arena, env, idx, 2, DSN_ACTION_FAILED, &dsn_id,
				   &error), 0);
	assert_non_null(dsn_id);
	assert_int_equal(queue_read(queue, arena, dsn_id, &denv, &error), 1);
	assert_string_equal(denv->sender, "");
	assert_int_equal(denv->rcpt_count, 1);
	assert_string_equal(denv->rcpts[0].address, "alice@remote.test");
	assert_int_equal(denv->rcpts[0].notify, QUEUE_NOTIFY_NEVER);
	assert_int_equal(denv->rcpts[0].state, QUEUE_RCPT_PENDING);
	fd = queue_open_message(queue, dsn_id, &error);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "Final-Recipient: rfc822;x@far.test\r\n"));
	assert_null(strstr(buf, "Final-Recipient: rfc822;y@far.test"));
	assert_non_null(strstr(buf, "Status: 5.0.0\r\n"));
	assert_non_null(strstr(buf, "Hello there."));

	/* only a NOTIFY=NEVER recipient: nothing owed */
	assert_int_equal(dsn_queue(set, queue, arena, env, idx + 1, 1, DSN_ACTION_FAILED,
				   &dsn_id, &error), 0);
	assert_null(dsn_id);
	/* the notice itself is never bounced */
	assert_int_equal(dsn_queue(set, queue, arena, denv, idx, 1, DSN_ACTION_FAILED,
				   &dsn_id, &error), 0);
	assert_null(dsn_id);
	arena_free(&arena);
}

static void test_queue_local_sender(void **state)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope *env, *denv;
	struct queue_rcpt r[1];
	const unsigned int idx[] = { 0 };
	const char *error, *dsn_id;

	/* the sender is a local alias: the notice goes to its target */
	memset(r, 0, sizeof(r));
	r[0].address = "x@far.test";
	commit_original("sales@example.test", r, 1, arena, &env);
	env->rcpts[0].state = QUEUE_RCPT_FAILED;
	env->rcpts[0].last_error = "dns; no such domain";
	assert_int_equal(dsn_queue(set, queue, arena, env, idx, 1, DSN_ACTION_FAILED, &dsn_id,
				   &error), 0);
	assert_non_null(dsn_id);
	assert_int_equal(queue_read(queue, arena, dsn_id, &denv, &error), 1);
	assert_int_equal(denv->rcpt_count, 1);
	assert_string_equal(denv->rcpts[0].address, "bob@example.test");
	assert_string_equal(denv->rcpts[0].original, "sales@example.test");

	/* an unknown local sender cannot be told */
	commit_original("nobody@example.test", r, 1, arena, &env);
	env->rcpts[0].state = QUEUE_RCPT_FAILED;
	assert_int_equal(dsn_queue(set, queue, arena, env, idx, 1, DSN_ACTION_FAILED, &dsn_id,
				   &error), 0);
	assert_null(dsn_id);
	arena_free(&arena);
}

static int setup(void **state)
{
	static const char *domains[] = { "example.test" };
	static const char *const targets[] = { "bob@example.test" };
	struct accounts *acc;
	const char *error;

	if (mkdtemp(tmpdir) == NULL)
		return -1;
	set = settings_new(true);
	set->data_dir = tmpdir;
	set->hostname = "mx.example.test";
	set->domains = domains;
	set->domains_count = 1;
	if (accounts_open(tmpdir, domains, 1, &acc, &error) < 0 ||
	    accounts_user_add(acc, "bob@example.test", "pw", false, &error) < 0 ||
	    accounts_alias_add(acc, "sales@example.test", targets, 1, &error) < 0)
		return -1;
	accounts_close(&acc);
	return queue_open(tmpdir, &queue, &error);
}

static int teardown(void **state)
{
	char cmd[256];

	queue_close(&queue);
	settings_free(&set);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_return_full),
		cmocka_unit_test(test_build_failed),
		cmocka_unit_test(test_build_delayed),
		cmocka_unit_test(test_build_hdrs_and_large),
		cmocka_unit_test(test_build_success),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_queue_local_sender),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
