/*
 * Driver of the parser benchmarks. Usage:
 *
 *   parse-X [-n RUNS] [-l LABEL] PATH...     throughput: every *.eml under the
 *       PATHs (files or directories) is read into memory first (not timed),
 *       then parsed RUNS times over; the best run is reported.
 *   parse-X -m [-s] FILE                     memory: peak RSS of parsing one
 *       message, minus the RSS before the file was read (-s: the parser reads
 *       the file descriptor in pieces instead of a copy in memory).
 *
 * Output is one line of key=value pairs on stdout, for bench/run.sh.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct input {
	char *path;
	unsigned char *data;
	size_t size;
};

static struct input *inputs;
static size_t input_count, input_alloc;

static void die(const char *what) __attribute__((noreturn));
static void add_path(const char *path);
static unsigned char *read_file(const char *path, size_t *size_r);
static double now(void);
static long maxrss_kb(void);
static int cmp_input(const void *a, const void *b);

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", bench_name, what, strerror(errno));
	exit(1);
}

bool bench_is_address_field(const char *name)
{
	static const char *const names[] = {
		"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
		"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
	};
	/* a cheap first-letter filter: most fields are not addresses */
	switch (name[0]) {
	case 'f': case 'F': case 's': case 'S': case 'r': case 'R':
	case 't': case 'T': case 'c': case 'C': case 'b': case 'B':
		break;
	default:
		return false;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i]) == 0)
			return true;
	}
	return false;
}

static unsigned char *read_file(const char *path, size_t *size_r)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	size_t size = (size_t)st.st_size;
	unsigned char *data = malloc(size + 1);
	if (data == NULL)
		die(path);
	size_t done = 0;
	while (done < size) {
		ssize_t n = read(fd, data + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(path);
		done += (size_t)n;
	}
	data[size] = '\0';
	close(fd);
	*size_r = size;
	return data;
}

static int cmp_input(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->path, ((const struct input *)b)->path);
}

static void add_file(const char *path)
{
	if (input_count == input_alloc) {
		input_alloc = input_alloc ? input_alloc * 2 : 256;
		inputs = realloc(inputs, input_alloc * sizeof(*inputs));
		if (inputs == NULL)
			die("realloc");
	}
	struct input *in = &inputs[input_count++];
	in->path = strdup(path);
	in->data = read_file(path, &in->size);
}

static void add_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		die(path);
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	DIR *dir = opendir(path);
	if (dir == NULL)
		die(path);
	size_t first = input_count;
	struct dirent *d;
	while ((d = readdir(dir)) != NULL) {
		size_t len = strlen(d->d_name);
		if (len < 4 || strcmp(d->d_name + len - 4, ".eml") != 0)
			continue;
		char *full = malloc(strlen(path) + len + 2);
		sprintf(full, "%s/%s", path, d->d_name);
		add_file(full);
		free(full);
	}
	closedir(dir);
	qsort(inputs + first, input_count - first, sizeof(*inputs), cmp_input);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss; /* kilobytes on Linux */
}

static void print_stats(const struct bench_stats *st)
{
	printf(" parts=%llu fields=%llu addrs=%llu params=%llu chars=%llu",
	       (unsigned long long)st->parts, (unsigned long long)st->fields,
	       (unsigned long long)st->addrs, (unsigned long long)st->params,
	       (unsigned long long)st->chars);
}

static int run_memory(const char *path, bool stream)
{
	struct bench_stats st;
	struct stat sb;
	long base, peak;
	double t0, t1;

	memset(&st, 0, sizeof(st));
	if (stat(path, &sb) < 0)
		die(path);
	base = maxrss_kb();
	t0 = now();
	if (stream) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			die(path);
		bench_parse_fd(fd, &st);
		close(fd);
	} else {
		size_t size;
		unsigned char *data = read_file(path, &size);
		bench_parse_mem(data, size, &st);
		free(data);
	}
	t1 = now();
	peak = maxrss_kb();
	printf("memory name=%s mode=%s file=%s size=%lld baseline_kb=%ld peak_kb=%ld delta_kb=%ld seconds=%.3f",
	       bench_name, stream ? "stream" : "mem", path, (long long)sb.st_size,
	       base, peak, peak - base, t1 - t0);
	print_stats(&st);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 3, opt;
	bool memory = false, stream = false;
	const char *label = "-";

	while ((opt = getopt(argc, argv, "n:l:ms")) != -1) {
		switch (opt) {
		case 'n': runs = atoi(optarg); break;
		case 'l': label = optarg; break;
		case 'm': memory = true; break;
		case 's': stream = true; break;
		default:
			fprintf(stderr, "usage: %s [-n RUNS] [-l LABEL] PATH... | -m [-s] FILE\n", argv[0]);
			return 2;
		}
	}
	if (optind >= argc || runs < 1) {
		fprintf(stderr, "usage: %s [-n RUNS] [-l LABEL] PATH... | -m [-s] FILE\n", argv[0]);
		return 2;
	}
	bench_init();
	if (memory)
		return run_memory(argv[optind], stream);

	for (int i = optind; i < argc; i++)
		add_path(argv[i]);
	if (input_count == 0) {
		fprintf(stderr, "%s: no *.eml files\n", bench_name);
		return 1;
	}
	uint64_t bytes = 0;
	for (size_t i = 0; i < input_count; i++)
		bytes += inputs[i].size;

	/* Wall time is what counts; the process CPU time is printed beside it
	   because on a shared machine it is less disturbed by other load. */
	struct bench_stats st;
	double best = 0, best_cpu = 0;
	for (int r = 0; r < runs; r++) {
		memset(&st, 0, sizeof(st));
		double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = now();
		for (size_t i = 0; i < input_count; i++)
			bench_parse_mem(inputs[i].data, inputs[i].size, &st);
		double t = now() - t0, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (r == 0 || t < best)
			best = t;
		if (r == 0 || c < best_cpu)
			best_cpu = c;
	}
	printf("throughput name=%s set=%s files=%zu bytes=%llu runs=%d best_s=%.4f mb_s=%.1f msgs_s=%.0f"
	       " best_cpu_s=%.4f cpu_mb_s=%.1f",
	       bench_name, label, input_count, (unsigned long long)bytes, runs, best,
	       (double)bytes / 1e6 / best, (double)input_count / best,
	       best_cpu, (double)bytes / 1e6 / best_cpu);
	print_stats(&st);
	printf("\n");
	return 0;
}
