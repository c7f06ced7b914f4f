#include "uid.h"
#include "arena.h"

#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#define TIME_CHARS 11     /* 55 bits of microseconds: until the year 3111 */
#define SEQ_CHARS 3       /* 15 bits */
#define RANDOM_CHARS 8    /* 40 bits */
#define SEQ_LIMIT (1U << (5 * SEQ_CHARS))

static void put_base32(char *out, uint64_t value, unsigned int chars);
static uint64_t random_bits(void);

/* RFC 4648 7: base32 with the extended hex alphabet sorts as numbers do */
static const char base32hex[32] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

static pthread_mutex_t uid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_usec;
static unsigned int seq;
static uint64_t process_random;
static pid_t process_pid;

static void put_base32(char *out, uint64_t value, unsigned int chars)
{
	while (chars > 0) {
		out[--chars] = base32hex[value & 31];
		value >>= 5;
	}
}

static uint64_t random_bits(void)
{
	uint64_t v;
	ssize_t ret;

	do {
		ret = getrandom(&v, sizeof(v), 0);
	} while (ret < 0 && errno == EINTR);
	if (ret != (ssize_t)sizeof(v))
		i_fatal("getrandom() failed: %s", strerror(errno));
	return v;
}

const char *uid_generate(char buf[UID_MAX_LEN])
{
	struct timeval tv;
	uint64_t usec, rnd;
	unsigned int s;
	pid_t pid = getpid();

	gettimeofday(&tv, NULL);
	usec = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;

	pthread_mutex_lock(&uid_lock);
	if (process_pid != pid) {
		/* first call, or a forked child: its own random part so it
		   cannot repeat its parent's ids */
		process_pid = pid;
		process_random = random_bits();
		last_usec = 0;
		seq = 0;
	}
	if (usec > last_usec) {
		last_usec = usec;
		seq = 0;
	} else if (++seq == SEQ_LIMIT) {
		/* the clock went back, or many ids in one microsecond:
		   borrow from the future so the order holds */
		last_usec++;
		seq = 0;
	}
	usec = last_usec;
	s = seq;
	rnd = process_random;
	pthread_mutex_unlock(&uid_lock);

	put_base32(buf, usec, TIME_CHARS);
	put_base32(buf + TIME_CHARS, s, SEQ_CHARS);
	put_base32(buf + TIME_CHARS + SEQ_CHARS, rnd, RANDOM_CHARS);
	buf[UID_LEN] = '\0';
	return buf;
}

const char *uid_message_id(struct arena *arena, const char *hostname)
{
	char id[UID_MAX_LEN];

	if (hostname == NULL || hostname[0] == '\0')
		hostname = "localhost";
	return arena_printf(arena, "<%s@%s>", uid_generate(id), hostname);
}
