#include "cli-common.h"
#include "accounts.h"
#include "fs.h"
#include "privileges.h"
#include "settings.h"
#include "tern-limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* a password longer than a login may carry (SASL_MAX_PASSWORD,
   tern-limits.h) could never be used */
#define PASSWORD_MAX SASL_MAX_PASSWORD

int cli_take_opts(int *argc, char **argv, struct cli_opts *opts_r)
{
	int i, j, n;

	memset(opts_r, 0, sizeof(*opts_r));
	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= *argc)
				return -1;
			opts_r->config_path = argv[i + 1];
			n = 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			opts_r->config_path = argv[i] + 9;
			n = 1;
		} else if (strncmp(argv[i], "-c", 2) == 0) {
			opts_r->config_path = argv[i] + 2;
			n = 1;
		} else if (strcmp(argv[i], "--dev") == 0) {
			opts_r->dev = true;
			n = 1;
		} else if (strcmp(argv[i], "--help") == 0) {
			opts_r->help = true;
			n = 1;
		} else {
			continue;
		}
		for (j = i; j + n <= *argc; j++)
			argv[j] = argv[j + n];
		*argc -= n;
		i--;
	}
	return 0;
}

int cli_take_config_opt(int *argc, char **argv, const char **path_r)
{
	int i, j, n;

	*path_r = NULL;
	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= *argc)
				return -1;
			*path_r = argv[i + 1];
			n = 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			*path_r = argv[i] + 9;
			n = 1;
		} else if (strncmp(argv[i], "-c", 2) == 0) {
			*path_r = argv[i] + 2;
			n = 1;
		} else {
			continue;
		}
		for (j = i; j + n <= *argc; j++)
			argv[j] = argv[j + n];
		*argc -= n;
		i--;
	}
	return 0;
}

void cli_print_errors(const char *prefix, const char *text)
{
	const char *p = text, *nl;

	do {
		nl = strchr(p, '\n');
		fprintf(stderr, "%s%.*s\n", prefix, nl == NULL ? (int)strlen(p) : (int)(nl - p), p);
		p = nl + 1;
	} while (nl != NULL);
}

struct tern_settings *cli_settings(const struct cli_opts *opts)
{
	struct tern_settings *set;
	const char *error;
	char *merror;

	/* files made in data_dir are the server's alone */
	umask(077);
	if (settings_load(opts->config_path, opts->dev, &set, &merror) < 0) {
		cli_print_errors("tern: ", merror);
		i_free(merror);
		return NULL;
	}
	if (fs_mkdir_parents(set->data_dir, 0755, 0700, NULL) < 0) {
		fprintf(stderr, "tern: data_dir %s: %s\n", set->data_dir, strerror(errno));
		settings_free(&set);
		return NULL;
	}
	if (geteuid() == 0 && set->user[0] != '\0') {
		uid_t uid;
		gid_t gid;
		struct stat st;
		int fd = -1;

		/* user = "root": nothing to become */
		if (privileges_lookup(set->user, &uid, &gid, &error) == 0 && uid == 0)
			return set;

		/* files made now must belong to the server's user (data_dir
		   itself changed through a descriptor, never by path again) */
		if (privileges_lookup(set->user, &uid, &gid, &error) < 0 ||
		    (fd = open(set->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    (fstat(fd, &st) == 0 && st.st_uid != uid && fchown(fd, uid, gid) < 0) ||
		    privileges_drop(set->user, &error) < 0) {
			if (fd >= 0)
				close(fd);
			fprintf(stderr, "tern: cannot become user %s: %s\n", set->user,
				errno != 0 ? strerror(errno) : error);
			settings_free(&set);
			return NULL;
		}
		close(fd);
	}
	return set;
}

struct tern_settings *cli_load_settings(const char *config_path)
{
	struct cli_opts opts = { .config_path = config_path };

	return cli_settings(&opts);
}

struct accounts *cli_open_accounts(const struct tern_settings *set)
{
	struct accounts *acc;
	const char *error;

	if (accounts_open_settings(set, &acc, &error) < 0) {
		fprintf(stderr, "tern: %s\n", error);
		return NULL;
	}
	return acc;
}

static char *read_line(FILE *f)
{
	char *line = i_malloc(PASSWORD_MAX + 2);
	size_t len;

	if (fgets(line, PASSWORD_MAX + 2, f) == NULL) {
		free(line);
		return NULL;
	}
	len = strlen(line);
	if (len > PASSWORD_MAX) {
		explicit_bzero(line, len);
		free(line);
		return NULL;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	return line;
}

static char *prompt_noecho(FILE *tty, const char *prompt)
{
	struct termios old, noecho;
	char *line;
	bool restore;

	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	restore = tcgetattr(fileno(tty), &old) == 0;
	if (restore) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		(void)tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	}
	line = read_line(tty);
	if (restore)
		(void)tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(stderr, "\n");
	return line;
}

char *cli_read_password(const char *prompt)
{
	char *pw, *again;

	if (!isatty(STDIN_FILENO)) {
		pw = read_line(stdin);
		if (pw == NULL) {
			fprintf(stderr, "tern: no password on standard input (one line, at most %d bytes)\n",
				PASSWORD_MAX);
			return NULL;
		}
	} else {
		pw = prompt_noecho(stdin, prompt);
		again = pw == NULL ? NULL : prompt_noecho(stdin, "Again: ");
		if (pw == NULL || again == NULL || strcmp(pw, again) != 0) {
			fprintf(stderr, "tern: the passwords did not match\n");
			if (pw != NULL) {
				explicit_bzero(pw, strlen(pw));
				free(pw);
			}
			if (again != NULL) {
				explicit_bzero(again, strlen(again));
				free(again);
			}
			return NULL;
		}
		explicit_bzero(again, strlen(again));
		free(again);
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "tern: empty password\n");
		free(pw);
		return NULL;
	}
	return pw;
}
