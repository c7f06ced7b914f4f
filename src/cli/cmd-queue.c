/*
 * tern queue list|flush|del: the outbound queue (data_dir/queue) as an
 * administrator sees it, in the manner of Postfix's mailq, postqueue -f
 * and postsuper -d.
 */
#include "lib.h"
#include "cli.h"
#include "cli-common.h"
#include "accounts.h"
#include "arena.h"
#include "buf.h"
#include "deliver.h"
#include "json.h"
#include "queue.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *state_name(enum queue_rcpt_state state);
static const char *format_age(long long secs, char *buf, size_t size);
static int queue_list(const struct tern_settings *set, struct queue *queue, bool json);
static int queue_flush(const struct tern_settings *set, struct queue *queue);
static int queue_del(struct queue *queue, int count, char **ids);

static const char *state_name(enum queue_rcpt_state state)
{
	switch (state) {
	case QUEUE_RCPT_PENDING:
		return "pending";
	case QUEUE_RCPT_DEFERRED:
		return "deferred";
	case QUEUE_RCPT_DELIVERED:
		return "delivered";
	case QUEUE_RCPT_FAILED:
		return "failed";
	}
	return "unknown";
}

/* "42s", "5m", "3h", "2d" (the largest whole unit, as mailq users expect). */
static const char *format_age(long long secs, char *buf, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, size, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, size, "%lldm", secs / 60);
	else if (secs < 86400)
		snprintf(buf, size, "%lldh", secs / 3600);
	else
		snprintf(buf, size, "%lldd", secs / 86400);
	return buf;
}

int cli_server_pid(const struct tern_settings *set)
{
	char *path = i_strdup_printf("%s/tern.pid", set->data_dir);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	i_free(path);
	if (fd < 0)
		return 0;
	/* Only the lock says a server runs (serve_pidfile() in cmd-serve.c):
	   a file nobody holds is left by a server that died, and the pid in
	   it may belong to any process by now. F_GETLK takes no lock (a
	   probe that did could make a starting server think another runs). */
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	if (fl.l_pid > 0) {
		/* the kernel's word for who holds the lock: exactly the server */
		close(fd);
		return (int)fl.l_pid;
	}
	/* locked by a process the kernel cannot name for us (in a pid
	   namespace we do not see): a server runs, but no pid of ours is it */
	close(fd);
	return -1;
}

static void json_rcpt(struct json_writer *j, const struct queue_rcpt *r)
{
	json_object_begin(j);
	json_key(j, "address");
	json_string(j, r->address);
	json_key(j, "original");
	json_string(j, r->original);
	json_key(j, "state");
	json_string(j, state_name(r->state));
	json_key(j, "attempts");
	json_uint(j, r->attempts);
	json_key(j, "last_attempt");
	if (r->last_attempt != 0)
		json_int(j, (long long)r->last_attempt);
	else
		json_null(j);
	json_key(j, "next_attempt");
	if (r->next_attempt != 0)
		json_int(j, (long long)r->next_attempt);
	else
		json_null(j);
	json_key(j, "last_error");
	json_string(j, r->last_error);
	json_object_end(j);
}

static int queue_list(const struct tern_settings *set, struct queue *queue, bool json)
{
	struct arena *arena = arena_new(0);
	struct json_writer j;
	const char **ids, *error;
	unsigned int count, i, k, shown = 0;
	time_t now = time(NULL);
	char age[32], next[32];
	buf_t out;
	int ret = 0;

	if (queue_scan(queue, arena, &ids, &count, &error) < 0) {
		fprintf(stderr, "tern: %s\n", error);
		arena_free(&arena);
		return 1;
	}
	buf_init(&out, BUF_MAX_UNLIMITED);
	json_writer_init(&j, &out, true);
	if (json)
		json_array_begin(&j);
	for (i = 0; i < count; i++) {
		struct queue_envelope *env;

		/* a message may leave the queue while we look: skip it */
		if (queue_read(queue, arena, ids[i], &env, &error) <= 0)
			continue;
		shown++;
		if (json) {
			json_object_begin(&j);
			json_key(&j, "id");
			json_string(&j, env->id);
			json_key(&j, "created");
			json_int(&j, (long long)env->created);
			json_key(&j, "age");
			json_int(&j, (long long)(now - env->created));
			json_key(&j, "size");
			json_uint(&j, env->size);
			json_key(&j, "sender");
			json_string(&j, env->sender);
			json_key(&j, "recipients");
			json_array_begin(&j);
			for (k = 0; k < env->rcpt_count; k++)
				json_rcpt(&j, &env->rcpts[k]);
			json_array_end(&j);
			json_object_end(&j);
			continue;
		}
		if (shown == 1)
			printf("%-22s %6s %10s  %s\n", "ID", "AGE", "SIZE", "SENDER");
		printf("%-22s %6s %10llu  <%s>\n", env->id,
		       format_age((long long)(now - env->created), age, sizeof(age)),
		       (unsigned long long)env->size, env->sender);
		for (k = 0; k < env->rcpt_count; k++) {
			const struct queue_rcpt *r = &env->rcpts[k];

			printf("    %-9s %s", state_name(r->state), r->address);
			if (r->original != NULL)
				printf(" (to <%s>)", r->original);
			if (r->attempts > 0)
				printf(" attempts=%u", r->attempts);
			if (r->state == QUEUE_RCPT_DEFERRED && r->next_attempt != 0)
				printf(" retry in %s",
				       format_age((long long)(r->next_attempt - now), next, sizeof(next)));
			printf("\n");
			if (r->last_error != NULL)
				printf("              %s\n", r->last_error);
		}
	}
	if (json) {
		json_array_end(&j);
		if (json_writer_finish(&j) < 0)
			ret = 1;
		else
			printf("%s\n", buf_str(&out));
	} else {
		(void)json_writer_finish(&j);
		if (shown == 0)
			printf("Mail queue is empty\n");
		else
			printf("-- %u message%s in the queue\n", shown, shown == 1 ? "" : "s");
	}
	buf_free(&out);
	arena_free(&arena);
	return ret;
}

static bool is_local_address(struct accounts *acc, const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL && accounts_domain_is_local(acc, at + 1);
}

static int queue_flush(const struct tern_settings *set, struct queue *queue)
{
	struct accounts *acc;
	struct arena *arena;
	const char **ids, *error;
	unsigned int count, i, k, local = 0, remote = 0, failed = 0;
	int pid;

	/* a running server does it all: it has the outbound client */
	if ((pid = cli_server_pid(set)) < 0) {
		fprintf(stderr, "tern: a server runs on data_dir %s (its tern.pid is locked) "
			"in a pid namespace this command cannot signal\n", set->data_dir);
		return 1;
	}
	if (pid > 0) {
		if (kill((pid_t)pid, SIGUSR1) < 0) {
			fprintf(stderr, "tern: cannot signal the server (pid %d): %s\n", pid,
				strerror(errno));
			return 1;
		}
		printf("queue flush requested from the server (pid %d)\n", pid);
		return 0;
	}
	if ((acc = cli_open_accounts(set)) == NULL)
		return 1;
	arena = arena_new(0);
	if (queue_scan(queue, arena, &ids, &count, &error) < 0) {
		fprintf(stderr, "tern: %s\n", error);
		accounts_close(&acc);
		arena_free(&arena);
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct queue_envelope *env;
		bool has_local = false;

		if (queue_read(queue, arena, ids[i], &env, &error) <= 0)
			continue;
		for (k = 0; k < env->rcpt_count; k++) {
			const struct queue_rcpt *r = &env->rcpts[k];

			if (r->state != QUEUE_RCPT_PENDING && r->state != QUEUE_RCPT_DEFERRED)
				continue;
			if (is_local_address(acc, r->address)) {
				has_local = true;
				local++;
			} else {
				remote++;
			}
		}
		if (!has_local)
			continue;
		/* recovered: no server runs, an earlier run may have died
		   half-way through this message */
		if (deliver_message_now(set, queue, env->id, true, &error) < 0) {
			fprintf(stderr, "tern: %s: %s\n", env->id, error);
			failed++;
		}
	}
	printf("no server running: tried %u local recipient%s now\n", local, local == 1 ? "" : "s");
	if (remote > 0)
		printf("%u remote recipient%s wait for the server (tern serve)\n", remote,
		       remote == 1 ? "" : "s");
	accounts_close(&acc);
	arena_free(&arena);
	return failed > 0 ? 1 : 0;
}

static int queue_del(struct queue *queue, int count, char **ids)
{
	struct arena *arena = arena_new(0);
	struct queue_envelope *env;
	const char *error;
	int i, ret = 0, r;

	for (i = 0; i < count; i++) {
		r = queue_read(queue, arena, ids[i], &env, &error);
		if (r == 0) {
			fprintf(stderr, "tern: %s: no such message in the queue\n", ids[i]);
			ret = 1;
			continue;
		}
		if (r < 0 || queue_remove(queue, ids[i], &error) < 0) {
			fprintf(stderr, "tern: %s: %s\n", ids[i], error);
			ret = 1;
			continue;
		}
		printf("deleted %s\n", ids[i]);
	}
	arena_free(&arena);
	return ret;
}

int cmd_queue(int argc, char **argv)
{
	static const char usage[] =
		"usage: tern queue list [-c FILE | --dev] [--json]   messages, their recipients and states\n"
		"       tern queue flush [-c FILE | --dev]           retry deferred recipients now\n"
		"       tern queue del [-c FILE | --dev] ID...       remove messages from the queue\n";
	struct tern_settings *set;
	struct queue *queue;
	struct cli_opts opts;
	const char *error, *sub;
	bool json = false;
	int ret, i;

	if (cli_take_opts(&argc, argv, &opts) < 0) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	for (i = 1; i < argc && !opts.help; i++)
		opts.help = strcmp(argv[i], "-h") == 0 || (i == 1 && strcmp(argv[i], "help") == 0);
	if (opts.help) {
		fputs(usage, stdout);
		return EX_OK;
	}
	if (argc < 2 || (opts.dev && opts.config_path != NULL)) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	sub = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && strcmp(sub, "list") == 0) {
			json = true;
			memmove(&argv[i], &argv[i + 1], sizeof(*argv) * (size_t)(argc - i));
			argc--;
			i--;
		}
	}
	if (!((strcmp(sub, "list") == 0 && argc == 2) || (strcmp(sub, "flush") == 0 && argc == 2) ||
	      (strcmp(sub, "del") == 0 && argc >= 3))) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	if ((set = cli_settings(&opts)) == NULL)
		return 1;
	if (queue_open(set->data_dir, &queue, &error) < 0) {
		fprintf(stderr, "tern: %s\n", error);
		settings_free(&set);
		return 1;
	}
	if (strcmp(sub, "list") == 0)
		ret = queue_list(set, queue, json);
	else if (strcmp(sub, "flush") == 0)
		ret = queue_flush(set, queue);
	else
		ret = queue_del(queue, argc - 2, argv + 2);
	queue_close(&queue);
	settings_free(&set);
	return ret;
}
