/* The c-ares resolver on the event loop, against tests/integration/dnsserver.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dns.h"
#include "net-loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define DNSSERVER TERN_TEST_DATA "/../integration/dnsserver.py"

static const char zone_json[] =
	"{\"ex.test\": {\"MX\": [[20, \"mx2.ex.test\"], [10, \"MX1.ex.test.\"]]},"
	" \"mx1.ex.test\": {\"A\": [\"127.0.0.2\", \"127.0.0.3\"], \"AAAA\": [\"::1\"]},"
	" \"nomx.test\": {\"A\": [\"127.0.0.4\"]},"
	" \"null.test\": {\"MX\": [[0, \".\"]]},"
	" \"broken.test\": \"SERVFAIL\","
	" \"slow.test\": \"TIMEOUT\","
	" \"txt.test\": {\"TXT\": [\"v=spf1 -all\", [\"split \", \"in two\"]]},"
	" \"big.test\": {\"TXT\": [\"%s\"]},"
	" \"2.0.0.127.in-addr.arpa\": {\"PTR\": [\"MX1.ex.test.\", \"other.test\"]}}";

#define BIG_TXT 600

static pid_t server_pid;
static char zone_path[] = "/tmp/tern-dns-zone-XXXXXX";
static char servers[64];
static struct net_loop *loop;
static struct dns_resolver *resolver;

struct answer {
	bool done;
	enum dns_status status;
	unsigned int count;
	char first[64];
	unsigned int first_pref;
	char txt[2][1024];
	size_t txt_len[2];
};

static int setup(void **state)
{
	int fd = mkstemp(zone_path), out[2];
	char line[64];
	FILE *f;
	const char *error;
	struct dns_resolver_settings set = { servers, 300, 1 };

	char big[BIG_TXT + 1];
	FILE *zf;

	/* a 600-byte record: three character-strings, over the 512 bytes of
	   classic UDP DNS */
	memset(big, 'k', BIG_TXT);
	big[BIG_TXT] = '\0';
	assert_true(fd >= 0);
	zf = fdopen(fd, "w");
	assert_non_null(zf);
	fprintf(zf, zone_json, big);
	fclose(zf);
	assert_int_equal(pipe(out), 0);
	server_pid = fork();
	if (server_pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl("/usr/bin/python3", "python3", DNSSERVER, zone_path, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", atoi(line));
	loop = net_loop_new();
	resolver = dns_resolver_new(net_loop_base(loop), &set, &error);
	assert_non_null(resolver);
	return 0;
}

static int teardown(void **state)
{
	dns_resolver_free(&resolver);
	net_loop_free(&loop);
	kill(server_pid, SIGTERM);
	waitpid(server_pid, NULL, 0);
	unlink(zone_path);
	return 0;
}

static void answer_cb(const struct dns_result *res, void *ctx)
{
	struct answer *a = ctx;

	a->done = true;
	a->status = res->status;
	if (res->txt_count > 0) {
		a->count = res->txt_count;
		for (unsigned int i = 0; i < res->txt_count && i < 2; i++) {
			assert_true(res->txt_lens[i] < sizeof(a->txt[i]));
			memcpy(a->txt[i], res->txt[i], res->txt_lens[i] + 1);
			a->txt_len[i] = res->txt_lens[i];
		}
	}
	if (res->name_count > 0) {
		a->count = res->name_count;
		snprintf(a->first, sizeof(a->first), "%s", res->names[0]);
	}
	if (res->mx_count > 0) {
		a->count = res->mx_count;
		snprintf(a->first, sizeof(a->first), "%s", res->mx[0].host);
		a->first_pref = res->mx[0].preference;
	} else if (res->addr_count > 0) {
		a->count = res->addr_count;
		if (res->addrs[0].ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&res->addrs[0])->sin_addr,
				  a->first, sizeof(a->first));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&res->addrs[0])->sin6_addr,
				  a->first, sizeof(a->first));
	}
}

static void wait_for_(struct answer *a, int line)
{
	time_t end = time(NULL) + 10;

	while (!a->done && time(NULL) < end)
		net_loop_run_once(loop, 10);
	if (!a->done) fail_msg("line %d", line);
}

#define wait_for(a) wait_for_(a, __LINE__)
static void test_mx(void **state)
{
	struct answer a = { 0 };

	dns_lookup_mx(resolver, "ex.test", answer_cb, &a);
	/* never called from inside the lookup */
	assert_false(a.done);
	wait_for(&a);
	assert_int_equal(a.status, DNS_FOUND);
	assert_int_equal(a.count, 2);
	/* as sent (sorting is the caller's); lowercase, no trailing dot */
	assert_string_equal(a.first, "mx2.ex.test");

	memset(&a, 0, sizeof(a));
	dns_lookup_mx(resolver, "null.test", answer_cb, &a);
	wait_for(&a);
	assert_int_equal(a.status, DNS_FOUND);
	assert_int_equal(a.count, 1);
	assert_string_equal(a.first, "");
}

static void test_addresses(void **state)
{
	struct answer a = { 0 }, b = { 0 };

	dns_lookup_a(resolver, "mx1.ex.test", answer_cb, &a);
	dns_lookup_aaaa(resolver, "MX1.EX.TEST", answer_cb, &b);
	wait_for(&a);
	wait_for(&b);
	assert_int_equal(a.status, DNS_FOUND);
	assert_int_equal(a.count, 2);
	assert_string_equal(a.first, "127.0.0.2");
	assert_int_equal(b.status, DNS_FOUND);
	assert_string_equal(b.first, "::1");
}

static void test_classification(void **state)
{
	struct answer nx = { 0 }, nodata = { 0 }, servfail = { 0 }, slow = { 0 };

	dns_lookup_mx(resolver, "nowhere.test", answer_cb, &nx);
	dns_lookup_mx(resolver, "nomx.test", answer_cb, &nodata);
	dns_lookup_mx(resolver, "broken.test", answer_cb, &servfail);
	dns_lookup_a(resolver, "slow.test", answer_cb, &slow);
	wait_for(&nx);
	wait_for(&nodata);
	wait_for(&servfail);
	wait_for(&slow);
	assert_int_equal(nx.status, DNS_NXDOMAIN);
	assert_int_equal(nodata.status, DNS_NODATA);
	assert_int_equal(servfail.status, DNS_TEMPFAIL);
	assert_int_equal(slow.status, DNS_TEMPFAIL);
}

static void test_txt(void **state)
{
	struct answer a = { 0 }, big = { 0 }, none = { 0 };

	dns_lookup(resolver, DNS_TYPE_TXT, "txt.test", answer_cb, &a);
	dns_lookup(resolver, DNS_TYPE_TXT, "big.test", answer_cb, &big);
	dns_lookup(resolver, DNS_TYPE_TXT, "mx1.ex.test", answer_cb, &none);
	wait_for(&a);
	wait_for(&big);
	wait_for(&none);
	assert_int_equal(a.status, DNS_FOUND);
	assert_int_equal(a.count, 2);
	assert_string_equal(a.txt[0], "v=spf1 -all");
	/* RFC 7208 3.3: the strings of one record are joined with nothing between */
	assert_string_equal(a.txt[1], "split in two");
	assert_int_equal(big.status, DNS_FOUND);
	assert_int_equal(big.count, 1);
	assert_int_equal(big.txt_len[0], BIG_TXT);
	assert_int_equal(none.status, DNS_NODATA);
}

static void test_ptr(void **state)
{
	struct answer a = { 0 }, nx = { 0 };

	dns_lookup(resolver, DNS_TYPE_PTR, "2.0.0.127.in-addr.arpa", answer_cb, &a);
	dns_lookup(resolver, DNS_TYPE_PTR, "3.0.0.127.in-addr.arpa", answer_cb, &nx);
	wait_for(&a);
	wait_for(&nx);
	assert_int_equal(a.status, DNS_FOUND);
	assert_int_equal(a.count, 2);
	assert_string_equal(a.first, "mx1.ex.test");
	assert_int_equal(nx.status, DNS_NXDOMAIN);
	assert_string_equal(dns_type_name(DNS_TYPE_PTR), "PTR");
}

static void test_cancel(void **state)
{
	struct answer a = { 0 }, b = { 0 };
	struct dns_query *q = dns_lookup_mx(resolver, "ex.test", answer_cb, &a);

	dns_query_cancel(&q);
	assert_null(q);
	dns_lookup_mx(resolver, "ex.test", answer_cb, &b);
	wait_for(&b);
	net_loop_run_once(loop, 50);
	assert_false(a.done);
	/* a lookup still running when the resolver goes: no callback */
	dns_lookup_a(resolver, "slow.test", answer_cb, &a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_classification),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
