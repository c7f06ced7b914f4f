/*
 * tern serve [-c FILE] [--dev] [--check]: run the mail server in the
 * foreground until SIGTERM/SIGINT.
 *
 * Order matters: read and check the whole config (nothing has happened
 * yet if it is bad), prepare data_dir, make the event loop, bind the
 * listeners (as root, for ports below 1024), drop to the configured user,
 * then serve.
 */
#include "lib.h"
#include "cli.h"
#include "log.h"
#include "settings.h"
#include "net-loop.h"
#include "privileges.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define EX_USAGE 64

struct serve {
	struct tern_settings *set;
	struct net_loop *loop;
};

static void serve_usage(FILE *out);
static int mkdir_parents(const char *path, const char **error_r);
static int prepare_data_dir(const struct tern_settings *set, bool as_root, const char **error_r);
static void serve_stop(void *ctx, int signo);
static void serve_reload(void *ctx);

static void serve_usage(FILE *out)
{
	fprintf(out, "usage: tern serve [-c FILE] [--dev] [--check]\n"
		"  -c FILE   config file (default: ./tern.toml if it exists, else the --dev defaults)\n"
		"  --dev     development defaults: data in ./var, listeners on 127.0.0.1:2xxx\n"
		"  --check   check the config and exit (0: valid, 1: not)\n");
}

/* mkdir -p: parents get 0755, the directory itself 0700. */
static int mkdir_parents(const char *path, const char **error_r)
{
	static __thread char error[512];
	char *copy = i_strdup(path), *p;
	int ret = 0;

	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST) {
			snprintf(error, sizeof(error), "data_dir %s: mkdir %s: %s",
				 path, copy, strerror(errno));
			ret = -1;
			break;
		}
		*p = '/';
	}
	if (ret == 0 && mkdir(copy, 0700) < 0 && errno != EEXIST) {
		snprintf(error, sizeof(error), "data_dir %s: %s", path, strerror(errno));
		ret = -1;
	}
	i_free(copy);
	if (ret < 0)
		*error_r = error;
	return ret;
}

static int prepare_data_dir(const struct tern_settings *set, bool as_root, const char **error_r)
{
	static __thread char error[512];
	struct stat st;

	if (mkdir_parents(set->data_dir, error_r) < 0)
		return -1;
	if (stat(set->data_dir, &st) < 0) {
		snprintf(error, sizeof(error), "data_dir %s: %s", set->data_dir, strerror(errno));
		*error_r = error;
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(error, sizeof(error), "data_dir %s: not a directory", set->data_dir);
		*error_r = error;
		return -1;
	}
	if (as_root && set->user[0] != '\0') {
		/* the server runs as set->user from now on: the data is theirs */
		uid_t uid;
		gid_t gid;

		if (privileges_lookup(set->user, &uid, &gid, error_r) < 0)
			return -1;
		if ((st.st_uid != uid || st.st_gid != gid) &&
		    chown(set->data_dir, uid, gid) < 0) {
			snprintf(error, sizeof(error), "data_dir %s: chown to %s: %s",
				 set->data_dir, set->user, strerror(errno));
			*error_r = error;
			return -1;
		}
	}
	return 0;
}

static void serve_stop(void *ctx, int signo)
{
	struct serve *serve = ctx;

	log_info("serve", "stopping signal=%s", signo == SIGINT ? "INT" : "TERM");
	net_loop_stop(serve->loop);
}

static void serve_reload(void *ctx)
{
	struct serve *serve = ctx;
	struct tern_settings *set;
	char *error;

	/* Re-read to report mistakes early; running with changed settings
	   needs a restart (listeners and the user are fixed at start). */
	if (settings_load(serve->set->config_path, serve->set->dev, &set, &error) < 0) {
		log_error("serve", "reload failed error=%s", log_str(error));
		i_free(error);
		return;
	}
	settings_free(&set);
	log_info("serve", "reload checked config=%s result=ok restart_needed=yes",
		 log_str(serve->set->config_path));
}

int cmd_serve(int argc, char **argv)
{
	struct serve serve;
	const char *config_path = NULL, *error;
	char *load_error;
	bool dev = false, check = false, as_root;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "tern serve: %s needs a FILE\n", argv[i]);
				serve_usage(stderr);
				return EX_USAGE;
			}
			config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--dev") == 0) {
			dev = true;
		} else if (strcmp(argv[i], "--check") == 0) {
			check = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			serve_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "tern serve: unknown argument '%s'\n", argv[i]);
			serve_usage(stderr);
			return EX_USAGE;
		}
	}

	memset(&serve, 0, sizeof(serve));
	if (settings_load(config_path, dev, &serve.set, &load_error) < 0) {
		fprintf(stderr, "tern serve: %s\n", load_error);
		i_free(load_error);
		return 1;
	}
	if (check) {
		printf("%s: ok\n", serve.set->config_path != NULL ?
		       serve.set->config_path : "--dev defaults");
		settings_free(&serve.set);
		return 0;
	}

	as_root = geteuid() == 0;
	if (prepare_data_dir(serve.set, as_root, &error) < 0) {
		fprintf(stderr, "tern serve: %s\n", error);
		settings_free(&serve.set);
		return 1;
	}

	serve.loop = net_loop_new();
	net_loop_handle_signals(serve.loop, serve_stop, serve_reload, &serve);

	/* Listeners are bound here, while still root, by the protocol
	   services as they arrive; then root is given up for good. */
	if (as_root && serve.set->user[0] != '\0') {
		if (privileges_drop(serve.set->user, &error) < 0) {
			fprintf(stderr, "tern serve: %s\n", error);
			net_loop_free(&serve.loop);
			settings_free(&serve.set);
			return 1;
		}
	} else if (as_root) {
		log_warning("serve", "running as root: set user in the config to drop privileges");
	}
	if (access(serve.set->data_dir, R_OK | W_OK | X_OK) < 0) {
		fprintf(stderr, "tern serve: data_dir %s: %s\n", serve.set->data_dir,
			strerror(errno));
		net_loop_free(&serve.loop);
		settings_free(&serve.set);
		return 1;
	}

	log_info("serve", "started hostname=%s data_dir=%s config=%s pid=%ld",
		 log_str(serve.set->hostname), log_str(serve.set->data_dir),
		 serve.set->config_path != NULL ? log_str(serve.set->config_path) : "dev-defaults",
		 (long)getpid());
	ret = net_loop_run(serve.loop);
	if (ret < 0)
		log_error("serve", "event loop failed");
	log_info("serve", "stopped");
	net_loop_free(&serve.loop);
	settings_free(&serve.set);
	return ret < 0 ? 1 : 0;
}
