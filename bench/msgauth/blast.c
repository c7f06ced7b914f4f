/*
 * A plain SMTP load generator for the sender-authentication benchmark
 * (bench/msgauth/bench.py): S sessions (one thread each) send M messages
 * in all, each the same file (a DKIM-signed message), one command at a
 * time, and the wall time from the first connect to the last 250 is
 * printed. Postfix's smtp-source cannot send a given message, and a
 * Python client would measure itself.
 *
 *   blast -p PORT -s SESSIONS -m MESSAGES -f FROM -t TO FILE
 *
 * Prints "messages=N secs=S msgs_s=R errors=E". Exit 0 when every message
 * got its 250.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct job {
	int port;
	const char *from, *to;
	const char *data;       /* dot-stuffed, CRLF, ending with ".\r\n" */
	size_t len;
	int count;              /* messages for this session */
	int errors;
};

static int read_reply(int fd, char *buf, size_t size)
{
	size_t used = 0;

	/* a reply ends with a line "NNN text\r\n" (no '-' after the code) */
	for (;;) {
		ssize_t n = recv(fd, buf + used, size - used - 1, 0);
		char *line;

		if (n <= 0)
			return -1;
		used += (size_t)n;
		buf[used] = '\0';
		for (line = buf;;) {
			char *nl = strstr(line, "\r\n");

			if (nl == NULL)
				break;
			if (nl - line >= 4 && line[3] == ' ')
				return atoi(line);
			line = nl + 2;
		}
		if (used + 1 >= size)
			return -1;
	}
}

static int send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cmd(int fd, const char *line, char *buf, size_t size)
{
	if (send_all(fd, line, strlen(line)) < 0)
		return -1;
	return read_reply(fd, buf, size);
}

static void *session(void *arg)
{
	struct job *j = arg;
	struct sockaddr_in sin;
	char buf[8192], line[1024];
	int fd, one = 1, i;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)j->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		j->errors += j->count;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (read_reply(fd, buf, sizeof(buf)) != 220 ||
	    cmd(fd, "EHLO blast.example.org\r\n", buf, sizeof(buf)) != 250) {
		j->errors += j->count;
		close(fd);
		return NULL;
	}
	for (i = 0; i < j->count; i++) {
		snprintf(line, sizeof(line), "MAIL FROM:<%s>\r\n", j->from);
		if (cmd(fd, line, buf, sizeof(buf)) != 250)
			goto fail;
		snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", j->to);
		if (cmd(fd, line, buf, sizeof(buf)) != 250 || cmd(fd, "DATA\r\n", buf, sizeof(buf)) != 354)
			goto fail;
		if (send_all(fd, j->data, j->len) < 0 || read_reply(fd, buf, sizeof(buf)) != 250)
			goto fail;
		continue;
fail:
		j->errors++;
		(void)cmd(fd, "RSET\r\n", buf, sizeof(buf));
	}
	(void)cmd(fd, "QUIT\r\n", buf, sizeof(buf));
	close(fd);
	return NULL;
}

/* The message as DATA sends it: CRLF lines, leading dots doubled, ".". */
static char *load(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *in, *out;
	long size;
	size_t i, n = 0;
	int bol = 1;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
		perror(path);
		exit(1);
	}
	rewind(f);
	in = malloc((size_t)size + 1);
	out = malloc((size_t)size * 2 + 8);
	if (in == NULL || out == NULL || fread(in, 1, (size_t)size, f) != (size_t)size)
		exit(1);
	fclose(f);
	for (i = 0; i < (size_t)size; i++) {
		if (bol && in[i] == '.')
			out[n++] = '.';
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = in[i];
		bol = in[i] == '\n';
	}
	if (!bol) {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	memcpy(out + n, ".\r\n", 3);
	n += 3;
	free(in);
	*len_r = n;
	return out;
}

int main(int argc, char **argv)
{
	int port = 0, sessions = 1, messages = 1, opt, i, errors = 0;
	const char *from = "sender@example.org", *to = NULL;
	struct timespec t0, t1;
	struct job *jobs;
	pthread_t *threads;
	size_t len;
	char *data;
	double secs;

	while ((opt = getopt(argc, argv, "p:s:m:f:t:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 's': sessions = atoi(optarg); break;
		case 'm': messages = atoi(optarg); break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || port <= 0 || sessions <= 0 || messages <= 0 || to == NULL)
		goto usage;
	data = load(argv[optind], &len);
	jobs = calloc((size_t)sessions, sizeof(*jobs));
	threads = calloc((size_t)sessions, sizeof(*threads));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < sessions; i++) {
		jobs[i].port = port;
		jobs[i].from = from;
		jobs[i].to = to;
		jobs[i].data = data;
		jobs[i].len = len;
		jobs[i].count = messages / sessions + (i < messages % sessions ? 1 : 0);
		pthread_create(&threads[i], NULL, session, &jobs[i]);
	}
	for (i = 0; i < sessions; i++) {
		pthread_join(threads[i], NULL);
		errors += jobs[i].errors;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("messages=%d secs=%.3f msgs_s=%.1f errors=%d\n", messages, secs,
	       (messages - errors) / secs, errors);
	free(data);
	free(jobs);
	free(threads);
	return errors == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: blast -p PORT -s SESSIONS -m MESSAGES -f FROM -t TO FILE\n");
	return 2;
}
