/*
 * The POP3 benchmark's client (bench/pop3/bench.py runs it against tern and
 * Dovecot alike): one session that downloads a whole maildrop the way a
 * download-and-delete client does, one command at a time, as fetchmail and
 * most mail programs do:
 *
 *   USER, PASS, STAT, LIST, UIDL, then RETR n and DELE n for every message,
 *   then QUIT, and the time until the server has answered QUIT.
 *
 * Standalone (libc only), so neither server's code is in the client. Every
 * response is checked ("+OK", multi-line responses end with ".", the RETR
 * bytes agree with the octet count LIST gave after unstuffing); any
 * surprise exits 1 with a message.
 *
 *   pop3-fetch -p PORT -u USER -w PASSWORD [-k] [-l] [-P DEPTH]
 *     -k  keep: no DELE (QUIT then removes nothing)
 *     -l  list only: no RETR, no DELE
 *     -P  pipelining (RFC 2449 6.6, both servers offer it): up to DEPTH
 *         RETR/DELE commands sent ahead of their responses, as a client
 *         built for bulk downloads would; default 1 (one at a time)
 *
 * Prints one line: messages= octets= (as LIST said) wire= (bytes read,
 * stuffing and terminators included) login_s= list_s= (STAT+LIST+UIDL)
 * retr_s= (every RETR and DELE) quit_s= total_s= msgs_s= mb_s=
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1024 * 1024)

static int fd = -1;
static char *buf;
static size_t buf_start, buf_end;
static uint64_t wire_bytes;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "pop3-fetch: ");
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(void)
{
	ssize_t n;

	if (buf_start > 0) {
		memmove(buf, buf + buf_start, buf_end - buf_start);
		buf_end -= buf_start;
		buf_start = 0;
	}
	if (buf_end == BUF_SIZE)
		die("line longer than %d bytes", BUF_SIZE);
	do {
		n = read(fd, buf + buf_end, BUF_SIZE - buf_end);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die("read: %s", strerror(errno));
	if (n == 0)
		die("the server closed the connection");
	buf_end += (size_t)n;
	wire_bytes += (uint64_t)n;
}

/* The next line without its CRLF; valid until the next call. */
static char *line(size_t *len_r)
{
	for (;;) {
		char *nl = memchr(buf + buf_start, '\n', buf_end - buf_start);

		if (nl != NULL) {
			char *start = buf + buf_start;
			size_t len = (size_t)(nl - start);

			buf_start += len + 1;
			if (len > 0 && start[len - 1] == '\r')
				len--;
			start[len] = '\0';
			*len_r = len;
			return start;
		}
		fill();
	}
}

static void send_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void send_cmd(const char *fmt, ...)
{
	char cmd[512];
	va_list args;
	int len;
	size_t off = 0;

	va_start(args, fmt);
	len = vsnprintf(cmd, sizeof(cmd) - 2, fmt, args);
	va_end(args);
	memcpy(cmd + len, "\r\n", 2);
	len += 2;
	while (off < (size_t)len) {
		ssize_t n = write(fd, cmd + off, (size_t)len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("write: %s", strerror(errno));
		off += (size_t)n;
	}
}

static char *ok(const char *what)
{
	size_t len;
	char *l = line(&len);

	if (strncmp(l, "+OK", 3) != 0)
		die("%s: %s", what, l);
	return l;
}

/* A multi-line body: the octets after unstuffing, lines with CRLF. */
static uint64_t multi(unsigned int *lines_r)
{
	uint64_t octets = 0;
	unsigned int lines = 0;
	size_t len;

	for (;;) {
		char *l = line(&len);

		if (l[0] == '.') {
			if (len == 1)
				break;
			len--;     /* RFC 1939 3: the stuffed dot */
		}
		octets += len + 2;
		lines++;
	}
	if (lines_r != NULL)
		*lines_r = lines;
	return octets;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	const char *user = NULL, *pass = NULL;
	int port = 0, opt, one = 1;
	int keep = 0, list_only = 0, depth = 1;
	unsigned int count, i, listed;
	uint64_t *sizes, total = 0, octets;
	double t0, t_login, t_list, t_retr, t_quit;

	while ((opt = getopt(argc, argv, "p:u:w:klP:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'u': user = optarg; break;
		case 'w': pass = optarg; break;
		case 'k': keep = 1; break;
		case 'l': list_only = 1; break;
		case 'P': depth = atoi(optarg); break;
		default: die("usage: pop3-fetch -p PORT -u USER -w PASSWORD [-k] [-l] [-P DEPTH]");
		}
	}
	if (port <= 0 || user == NULL || pass == NULL)
		die("usage: pop3-fetch -p PORT -u USER -w PASSWORD [-k] [-l] [-P DEPTH]");
	buf = malloc(BUF_SIZE + 1);
	if (buf == NULL)
		die("out of memory");

	t0 = now();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("connect 127.0.0.1:%d: %s", port, strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ok("greeting");
	send_cmd("USER %s", user);
	ok("USER");
	send_cmd("PASS %s", pass);
	ok("PASS");
	t_login = now();

	send_cmd("STAT");
	{
		char *l = ok("STAT");

		if (sscanf(l, "+OK %u", &count) != 1)
			die("STAT: %s", l);
	}
	sizes = calloc(count + 1, sizeof(*sizes));
	send_cmd("LIST");
	ok("LIST");
	for (listed = 0;; listed++) {
		size_t len;
		char *l = line(&len);
		unsigned int n;
		unsigned long long size;

		if (strcmp(l, ".") == 0)
			break;
		if (sscanf(l, "%u %llu", &n, &size) != 2 || n == 0 || n > count)
			die("LIST line: %s", l);
		sizes[n] = size;
		total += size;
	}
	if (listed != count)
		die("LIST gave %u messages, STAT %u", listed, count);
	send_cmd("UIDL");
	ok("UIDL");
	{
		unsigned int lines;

		multi(&lines);
		if (lines != count)
			die("UIDL gave %u lines for %u messages", lines, count);
	}
	t_list = now();

	if (depth < 1)
		depth = 1;
	if (!list_only) {
		/* commands in order: RETR 1, DELE 1, RETR 2, ...; command k
		   (0-based) is message k / per + 1, a DELE when k % per == 1 */
		unsigned int per = keep ? 1 : 2, ncmds = count * per, sent = 0, done = 0;

		while (done < ncmds) {
			while (sent < ncmds && sent - done < (unsigned int)depth) {
				unsigned int msg = sent / per + 1;

				if (sent % per == 0)
					send_cmd("RETR %u", msg);
				else
					send_cmd("DELE %u", msg);
				sent++;
			}
			i = done / per + 1;
			if (done % per == 0) {
				ok("RETR");
				octets = multi(NULL);
				if (octets != sizes[i])
					die("RETR %u: %llu octets, LIST said %llu", i,
					    (unsigned long long)octets, (unsigned long long)sizes[i]);
			} else {
				ok("DELE");
			}
			done++;
		}
	}
	t_retr = now();
	send_cmd("QUIT");
	ok("QUIT");
	t_quit = now();
	close(fd);

	printf("messages=%u octets=%llu wire=%llu login_s=%.3f list_s=%.3f retr_s=%.3f "
	       "quit_s=%.3f total_s=%.3f msgs_s=%.0f mb_s=%.1f\n",
	       count, (unsigned long long)total, (unsigned long long)wire_bytes, t_login - t0,
	       t_list - t_login, t_retr - t_list, t_quit - t_retr, t_quit - t0,
	       count / (t_quit - t0), (double)total / 1e6 / (t_quit - t0));
	free(sizes);
	free(buf);
	return 0;
}
