#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "settings.h"
#include "tern-limits.h"

static int apply(struct tern_settings *set, const char *text, const char **error_r)
{
	return settings_apply_buffer(set, "c.toml", text, strlen(text), error_r);
}

static void test_settings_defaults(void **state)
{
	struct tern_settings *set = settings_new(false);
	static const unsigned int dev_ports[TERN_LISTEN_COUNT] = {
		2525, 2587, 2465, 2143, 2993, 2110, 2995,
	};
	unsigned int i;

	assert_string_equal(set->data_dir, "/var/lib/tern");
	assert_int_equal(set->domains_count, 0);
	assert_string_equal(set->user, "");
	assert_true(set->hostname[0] != '\0');
	for (i = 0; i < TERN_LISTEN_COUNT; i++)
		assert_int_equal(set->listen[i].count, 0);
	assert_true(set->auth_plaintext_on_loopback);
	assert_int_equal(set->relay_networks_count, 0);
	assert_null(set->relay_smarthost);
	assert_null(set->delivery_nameserver);
	assert_int_equal(set->delivery_mx_port, 25);
	assert_int_equal(set->delivery_retry_count, 5);
	assert_int_equal(set->delivery_retry[0], 60);
	assert_int_equal(set->delivery_retry[4], 4 * 3600);
	assert_int_equal(set->delivery_bounce_after, 5 * 24 * 3600);
	assert_int_equal(set->limits.message_size, 52428800);
	assert_int_equal(set->limits.recipients, 100);
	assert_int_equal(set->limits.line_length, TERN_DEFAULT_LINE_LENGTH);
	assert_int_equal(set->limits.smtp_timeout, 300);
	assert_null(set->config_path);
	assert_false(set->dev);
	settings_free(&set);
	assert_null(set);

	set = settings_new(true);
	assert_true(set->dev);
	assert_string_equal(set->data_dir, "./var");
	assert_int_equal(set->domains_count, 1);
	assert_string_equal(set->domains[0], "example.test");
	assert_true(settings_is_local_domain(set, "EXAMPLE.test"));
	assert_false(settings_is_local_domain(set, "example.org"));
	for (i = 0; i < TERN_LISTEN_COUNT; i++) {
		const struct sockaddr_in *sin;

		assert_int_equal(set->listen[i].count, 1);
		assert_int_equal(set->listen[i].addrs[0].port, dev_ports[i]);
		assert_string_equal(set->listen[i].addrs[0].host, "127.0.0.1");
		sin = (const struct sockaddr_in *)&set->listen[i].addrs[0].addr;
		assert_int_equal(sin->sin_family, AF_INET);
		assert_int_equal(ntohs(sin->sin_port), dev_ports[i]);
		assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	}
	assert_string_equal(settings_listen_kind_name(TERN_LISTEN_SUBMISSIONS), "submissions");
	settings_free(&set);
}

static void test_settings_full(void **state)
{
	static const char text[] =
		"hostname = \"mx.example.test\"\n"
		"data_dir = \"/srv/tern\"\n"
		"domains  = [\"Example.TEST\", \"b.test\"]\n"
		"user     = \"tern\"\n"
		"[listen]\n"
		"smtp        = [\"0.0.0.0:25\", \"[::]:25\"]\n"
		"submission  = [\"127.0.0.1:587\"]\n"
		"submissions = [\"[::1]:465\"]\n"
		"imap  = []\n"
		"imaps = [\"0.0.0.0:993\"]\n"
		"pop3  = [\"0.0.0.0:110\"]\n"
		"pop3s = [\"0.0.0.0:995\"]\n"
		"[tls]\n"
		"cert = \"/etc/tern/fullchain.pem\"\n"
		"key  = \"/etc/tern/key.pem\"\n"
		"[auth]\n"
		"plaintext_on_loopback = false\n"
		"[relay]\n"
		"networks  = [\"192.0.2.0/24\", \"2001:db8::/32\", \"10.1.2.3\"]\n"
		"smarthost = \"relay.example.net:2525\"\n"
		"[delivery]\n"
		"nameserver = \"127.0.0.1:5353\"\n"
		"mx_port    = 2526\n"
		"retry      = [\"30s\", \"1m\", \"4h\", \"5d\"]\n"
		"bounce_after = \"2w\"\n"
		"[limits]\n"
		"message_size = 1_000_000\n"
		"recipients = 50\n"
		"line_length = 4096\n"
		"bad_commands = 5\n"
		"auth_failures = 2\n"
		"connections = 100\n"
		"connections_per_ip = 7\n"
		"smtp_timeout = \"1m\"\n"
		"imap_timeout = \"31m\"\n"
		"pop3_timeout = \"10m\"\n"
		"session_timeout = \"2h\"\n"
		"hops = 30\n";
	struct tern_settings *set = settings_new(false);
	const struct sockaddr_in6 *sin6;
	const char *error = NULL;

	if (apply(set, text, &error) < 0)
		fail_msg("%s", error);
	assert_string_equal(set->config_path, "c.toml");
	assert_string_equal(set->hostname, "mx.example.test");
	assert_string_equal(set->data_dir, "/srv/tern");
	assert_int_equal(set->domains_count, 2);
	assert_string_equal(set->domains[0], "example.test");
	assert_string_equal(set->user, "tern");
	assert_int_equal(set->listen[TERN_LISTEN_SMTP].count, 2);
	assert_string_equal(set->listen[TERN_LISTEN_SMTP].addrs[1].host, "::");
	assert_string_equal(set->listen[TERN_LISTEN_SMTP].addrs[1].text, "[::]:25");
	sin6 = (const struct sockaddr_in6 *)&set->listen[TERN_LISTEN_SUBMISSIONS].addrs[0].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 465);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(set->listen[TERN_LISTEN_IMAP].count, 0);
	assert_int_equal(set->listen[TERN_LISTEN_POP3S].addrs[0].port, 995);
	assert_string_equal(set->tls_cert, "/etc/tern/fullchain.pem");
	assert_string_equal(set->tls_key, "/etc/tern/key.pem");
	assert_false(set->auth_plaintext_on_loopback);
	assert_int_equal(set->relay_networks_count, 3);
	assert_int_equal(set->relay_networks[1].family, AF_INET6);
	assert_int_equal(set->relay_networks[1].prefix, 32);
	assert_int_equal(set->relay_networks[2].prefix, 32);
	assert_non_null(set->relay_smarthost);
	assert_string_equal(set->relay_smarthost->host, "relay.example.net");
	assert_int_equal(set->relay_smarthost->port, 2525);
	assert_int_equal(set->relay_smarthost->addr_len, 0);
	assert_non_null(set->delivery_nameserver);
	assert_int_equal(set->delivery_nameserver->port, 5353);
	assert_int_equal(set->delivery_mx_port, 2526);
	assert_int_equal(set->delivery_retry_count, 4);
	assert_int_equal(set->delivery_retry[0], 30);
	assert_int_equal(set->delivery_retry[3], 5 * 86400);
	assert_int_equal(set->delivery_bounce_after, 14 * 86400);
	assert_int_equal(set->limits.message_size, 1000000);
	assert_int_equal(set->limits.recipients, 50);
	assert_int_equal(set->limits.line_length, 4096);
	assert_int_equal(set->limits.bad_commands, 5);
	assert_int_equal(set->limits.auth_failures, 2);
	assert_int_equal(set->limits.connections, 100);
	assert_int_equal(set->limits.connections_per_ip, 7);
	assert_int_equal(set->limits.smtp_timeout, 60);
	assert_int_equal(set->limits.imap_timeout, 31 * 60);
	assert_int_equal(set->limits.pop3_timeout, 600);
	assert_int_equal(set->limits.session_timeout, 7200);
	assert_int_equal(set->limits.hops, 30);
	settings_free(&set);

	/* an empty smarthost/nameserver means "none" */
	set = settings_new(false);
	assert_int_equal(apply(set, "[relay]\nsmarthost = \"\"\n[delivery]\nnameserver = \"\"\n",
			       &error), 0);
	assert_null(set->relay_smarthost);
	assert_null(set->delivery_nameserver);
	/* smarthost without port: 25; nameserver without port: 53 */
	assert_int_equal(apply(set, "[relay]\nsmarthost = \"192.0.2.1\"\n"
			       "[delivery]\nnameserver = \"[::1]\"\n", &error), 0);
	assert_int_equal(set->relay_smarthost->port, 25);
	assert_int_equal(set->relay_smarthost->addr_len, sizeof(struct sockaddr_in));
	assert_int_equal(set->delivery_nameserver->port, 53);
	settings_free(&set);
}

struct error_case {
	const char *text;
	const char *error;
};

static const struct error_case error_cases[] = {
	{ "foo = 1\n", "c.toml:1: unknown key 'foo'" },
	{ "[listen]\nsmtp = []\nftp = [\"0.0.0.0:21\"]\n", "c.toml:3: unknown key 'ftp' in [listen]" },
	{ "\n[bogus]\nx = 1\n", "c.toml:2: unknown section [bogus]" },
	{ "listen = 1\n", "c.toml:1: listen must be a table ([listen])" },
	{ "hostname = 5\n", "c.toml:1: hostname: expected a string, got integer" },
	{ "hostname = \"bad host\"\n", "c.toml:1: hostname: bad host name 'bad host'" },
	{ "data_dir = \"\"\n", "c.toml:1: data_dir: must not be empty" },
	{ "data_dir = \"a\\u0000b\"\n", "c.toml:1: data_dir: NUL character in string" },
	{ "domains = \"example.test\"\n", "c.toml:1: domains: expected an array of strings, got string" },
	{ "domains = [\n\"ok.test\",\n\"-bad\"]\n", "c.toml:3: domains: bad domain name '-bad'" },
	{ "domains = [1]\n", "c.toml:1: domains: expected a string, got integer" },
	{ "[listen]\nsmtp = \"0.0.0.0:25\"\n", "c.toml:2: listen.smtp: expected an array of strings, got string" },
	{ "[listen]\nsmtp = [\"0.0.0.0\"]\n", "c.toml:2: listen.smtp: bad address '0.0.0.0': missing ':port'" },
	{ "[listen]\nsmtp = [\"0.0.0.0:0\"]\n", "c.toml:2: listen.smtp: bad address '0.0.0.0:0': port out of range (1-65535)" },
	{ "[listen]\nsmtp = [\"0.0.0.0:65536\"]\n", "c.toml:2: listen.smtp: bad address '0.0.0.0:65536': port out of range (1-65535)" },
	{ "[listen]\nsmtp = [\"0.0.0.0:2x\"]\n", "c.toml:2: listen.smtp: bad address '0.0.0.0:2x': bad port" },
	{ "[listen]\nsmtp = [\"1.2.3:25\"]\n", "c.toml:2: listen.smtp: bad address '1.2.3:25': not a numeric IPv4 address or [IPv6] address" },
	{ "[listen]\nsmtp = [\"localhost:25\"]\n", "c.toml:2: listen.smtp: bad address 'localhost:25': not a numeric IPv4 address or [IPv6] address" },
	{ "[listen]\nimap = [\"::1:143\"]\n", "c.toml:2: listen.imap: bad address '::1:143': IPv6 addresses need brackets: [addr]:port" },
	{ "[listen]\nimap = [\"[::1:143\"]\n", "c.toml:2: listen.imap: bad address '[::1:143': missing ']' after IPv6 address" },
	{ "[listen]\nimap = [\"[::g]:143\"]\n", "c.toml:2: listen.imap: bad address '[::g]:143': bad IPv6 address" },
	{ "[listen]\nimap = [\":143\"]\n", "c.toml:2: listen.imap: bad address ':143': missing address" },
	{ "[tls]\ncert = true\n", "c.toml:2: tls.cert: expected a string, got boolean" },
	{ "[auth]\nplaintext_on_loopback = \"yes\"\n", "c.toml:2: auth.plaintext_on_loopback: expected a boolean (true or false), got string" },
	{ "[relay]\nnetworks = [\"10.0.0.0/33\"]\n", "c.toml:2: relay.networks: bad CIDR '10.0.0.0/33': CIDR prefix length out of range" },
	{ "[relay]\nnetworks = [\"10.0.0.1/8\"]\n", "c.toml:2: relay.networks: bad CIDR '10.0.0.1/8': CIDR has host bits set past the prefix length" },
	{ "[relay]\nnetworks = [\"10.0.0/8\"]\n", "c.toml:2: relay.networks: bad CIDR '10.0.0/8': bad CIDR address" },
	{ "[relay]\nnetworks = [\"10.0.0.0/\"]\n", "c.toml:2: relay.networks: bad CIDR '10.0.0.0/': bad CIDR prefix length" },
	{ "[relay]\nsmarthost = \"bad_host!:25\"\n", "c.toml:2: relay.smarthost: bad address 'bad_host!:25': bad host name" },
	{ "[delivery]\nnameserver = \"dns.example:53\"\n", "c.toml:2: delivery.nameserver: bad address 'dns.example:53': not a numeric IPv4 address or [IPv6] address" },
	{ "[delivery]\nmx_port = 0\n", "c.toml:2: delivery.mx_port: 0 out of range (1-65535)" },
	{ "[delivery]\nmx_port = \"25\"\n", "c.toml:2: delivery.mx_port: expected an integer, got string" },
	{ "[delivery]\nretry = []\n", "c.toml:2: delivery.retry: needs at least one duration" },
	{ "[delivery]\nretry = [\"1m\", \"5x\"]\n", "c.toml:2: delivery.retry: '5x': bad duration: a number and a unit s, m, h, d or w (e.g. \"30s\", \"4h\")" },
	{ "[delivery]\nbounce_after = 5\n", "c.toml:2: delivery.bounce_after: expected a duration string (e.g. \"5m\"), got integer" },
	{ "[delivery]\nbounce_after = \"0s\"\n", "c.toml:2: delivery.bounce_after: '0s': duration must be more than 0" },
	{ "[delivery]\nbounce_after = \"400d\"\n", "c.toml:2: delivery.bounce_after: '400d': duration too long (max a year)" },
	{ "[delivery]\nbounce_after = \"d\"\n", "c.toml:2: delivery.bounce_after: 'd': bad duration (e.g. \"30s\", \"5m\", \"4h\", \"5d\")" },
	{ "[limits]\nmessage_size = -1\n", "c.toml:2: limits.message_size: -1 out of range (1024-1099511627776)" },
	{ "[limits]\nrecipients = 0\n", "c.toml:2: limits.recipients: 0 out of range (1-100000)" },
	{ "[limits]\nline_length = 100\n", "c.toml:2: limits.line_length: 100 out of range (512-1048576)" },
	{ "[limits]\nsmtp_timeout = \"5\"\n", "c.toml:2: limits.smtp_timeout: '5': bad duration: a number and a unit s, m, h, d or w (e.g. \"30s\", \"4h\")" },
	{ "[limits]\nfoo = 1\n", "c.toml:2: unknown key 'foo' in [limits]" },
	{ "[dmarc]\nreject = \"bounce\"\n", "c.toml:2: dmarc.reject: 'bounce' is not one of: reject|quarantine|none" },
	{ "[dmarc]\nquarantine = \"spam\"\n", "c.toml:2: dmarc.quarantine: 'spam' is not one of: junk|none" },
	{ "[spf]\nverify = \"yes\"\n", "c.toml:2: spf.verify: expected a boolean (true or false), got string" },
	{ "[srs]\nmax_age = \"0d\"\n", "c.toml:2: srs.max_age: '0d': duration must be more than 0" },
	{ "[dkim]\nselector = \"x\"\n", "c.toml:2: unknown key 'selector' in [dkim]" },
	/* parser errors come through as they are */
	{ "hostname = \"x\n", "c.toml:1: unterminated string" },
	{ "user = \"a\"\nuser = \"b\"\n", "c.toml:2: duplicate key 'user' (first defined on line 1)" },
};

static void test_settings_errors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct tern_settings *set = settings_new(false);
		const char *error = NULL;

		if (apply(set, error_cases[i].text, &error) == 0)
			fail_msg("case %zu was accepted: %s", i, error_cases[i].text);
		if (strcmp(error, error_cases[i].error) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, error, error_cases[i].error);
		settings_free(&set);
	}
}

static void test_settings_msgauth(void **state)
{
	struct tern_settings *set = settings_new(false);
	const char *error = NULL;

	/* the defaults: everything checked and signed, reports off */
	assert_true(set->spf_verify && set->dkim_verify && set->dmarc_verify && set->arc_verify);
	assert_true(set->dkim_sign && set->arc_seal && set->srs_enabled);
	assert_false(set->spf_reject_fail);
	assert_false(set->dmarc_reports);
	assert_string_equal(set->dmarc_reject, "reject");
	assert_string_equal(set->dmarc_quarantine, "junk");
	assert_int_equal(set->limits.auth_check_timeout, 20);
	assert_int_equal(apply(set, "[spf]\nverify = false\nreject_fail = true\n"
			       "[dkim]\nsign = false\n"
			       "[dmarc]\nreject = \"quarantine\"\nquarantine = \"none\"\nreports = true\n"
			       "report_from = \"dmarc@example.test\"\n"
			       "[arc]\ndomain = \"example.test\"\n"
			       "[srs]\ndomain = \"fwd.example.test\"\nsecret = \"s3cret\"\nmax_age = \"7d\"\n"
			       "[limits]\nauth_check_timeout = \"5s\"\n", &error), 0);
	assert_false(set->spf_verify);
	assert_true(set->spf_reject_fail);
	assert_false(set->dkim_sign);
	assert_string_equal(set->dmarc_reject, "quarantine");
	assert_string_equal(set->dmarc_quarantine, "none");
	assert_true(set->dmarc_reports);
	assert_string_equal(set->dmarc_report_from, "dmarc@example.test");
	assert_string_equal(set->arc_domain, "example.test");
	assert_string_equal(set->srs_domain, "fwd.example.test");
	assert_string_equal(set->srs_secret, "s3cret");
	assert_int_equal(set->srs_max_age, 7 * 86400);
	assert_int_equal(set->limits.auth_check_timeout, 5);
	settings_free(&set);
}

static void test_settings_cidr(void **state)
{
	struct arena *arena = arena_new(0);
	struct tern_cidr cidr;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const char *error;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;

	assert_int_equal(settings_parse_cidr(arena, "192.0.2.0/25", &cidr, &error), 0);
	inet_pton(AF_INET, "192.0.2.127", &sin.sin_addr);
	assert_true(settings_cidr_match(&cidr, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "192.0.2.128", &sin.sin_addr);
	assert_false(settings_cidr_match(&cidr, (struct sockaddr *)&sin));
	/* IPv4-mapped IPv6 peers match IPv4 networks */
	inet_pton(AF_INET6, "::ffff:192.0.2.5", &sin6.sin6_addr);
	assert_true(settings_cidr_match(&cidr, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	assert_false(settings_cidr_match(&cidr, (struct sockaddr *)&sin6));

	assert_int_equal(settings_parse_cidr(arena, "2001:db8::/33", &cidr, &error), 0);
	assert_true(settings_cidr_match(&cidr, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "2001:db8:8000::1", &sin6.sin6_addr);
	assert_false(settings_cidr_match(&cidr, (struct sockaddr *)&sin6));
	assert_false(settings_cidr_match(&cidr, (struct sockaddr *)&sin));

	assert_int_equal(settings_parse_cidr(arena, "0.0.0.0/0", &cidr, &error), 0);
	assert_true(settings_cidr_match(&cidr, (struct sockaddr *)&sin));
	assert_int_equal(settings_parse_cidr(arena, "::1", &cidr, &error), 0);
	assert_int_equal(cidr.prefix, 128);
	assert_int_equal(settings_parse_cidr(arena, "", &cidr, &error), -1);
	assert_int_equal(settings_parse_cidr(arena, "1.2.3.4/1234", &cidr, &error), -1);
	assert_int_equal(settings_parse_cidr(arena, "1.2.3.4/-1", &cidr, &error), -1);
	arena_free(&arena);
}

static void test_settings_duration(void **state)
{
	unsigned int secs;
	const char *error;

	assert_int_equal(settings_parse_duration("30s", &secs, &error), 0);
	assert_int_equal(secs, 30);
	assert_int_equal(settings_parse_duration("1m", &secs, &error), 0);
	assert_int_equal(secs, 60);
	assert_int_equal(settings_parse_duration("4h", &secs, &error), 0);
	assert_int_equal(secs, 4 * 3600);
	assert_int_equal(settings_parse_duration("5d", &secs, &error), 0);
	assert_int_equal(secs, 5 * 86400);
	assert_int_equal(settings_parse_duration("365d", &secs, &error), 0);
	assert_int_equal(settings_parse_duration("366d", &secs, &error), -1);
	assert_int_equal(settings_parse_duration("99999999999999999999s", &secs, &error), -1);
	assert_int_equal(settings_parse_duration("", &secs, &error), -1);
	assert_int_equal(settings_parse_duration("5", &secs, &error), -1);
	assert_int_equal(settings_parse_duration("5ms", &secs, &error), -1);
	assert_int_equal(settings_parse_duration("-5s", &secs, &error), -1);
	assert_int_equal(settings_parse_duration(" 5s", &secs, &error), -1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* DESIGN.md "Commands": -c FILE; else $TERN_CONFIG; else /etc/tern/tern.toml;
   else an error. --dev: the development defaults, a file over them. */
static void test_settings_load(void **state)
{
	char dir[] = "/tmp/tern-test-settings-XXXXXX";
	char cwd[4096];
	struct tern_settings *set;
	char *error = NULL;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chdir(dir), 0);
	unsetenv("TERN_CONFIG");

	/* nothing: an error that says what to do, unless the machine has
	   the default file (then it is what is read) */
	if (access(TERN_DEFAULT_CONFIG, F_OK) < 0) {
		assert_int_equal(settings_load(NULL, false, &set, &error), -1);
		assert_null(set);
		assert_non_null(strstr(error, "no config file"));
		assert_non_null(strstr(error, TERN_DEFAULT_CONFIG));
		assert_non_null(strstr(error, "-c FILE"));
		assert_non_null(strstr(error, "--dev"));
		free(error);
	}
	/* ./tern.toml is no longer read on its own */
	write_file("tern.toml", "data_dir = \"/x\"\n");
	if (access(TERN_DEFAULT_CONFIG, F_OK) < 0) {
		assert_int_equal(settings_load(NULL, false, &set, &error), -1);
		free(error);
	}

	/* --dev: the development defaults alone */
	assert_int_equal(settings_load(NULL, true, &set, &error), 0);
	assert_true(set->dev);
	assert_null(set->config_path);
	assert_string_equal(set->data_dir, "./var");
	assert_string_equal(set->postmaster, "demo@example.test");
	settings_free(&set);

	/* $TERN_CONFIG */
	setenv("TERN_CONFIG", "tern.toml", 1);
	assert_int_equal(settings_load(NULL, false, &set, &error), 0);
	assert_false(set->dev);
	assert_string_equal(set->config_path, "tern.toml");
	assert_string_equal(set->data_dir, "/x");
	assert_int_equal(set->listen[TERN_LISTEN_SMTP].count, 0);
	settings_free(&set);
	setenv("TERN_CONFIG", "missing.toml", 1);
	assert_int_equal(settings_load(NULL, false, &set, &error), -1);
	assert_string_equal(error, "missing.toml: No such file or directory");
	free(error);
	unsetenv("TERN_CONFIG");

	/* --dev and a file: the file over the dev defaults */
	assert_int_equal(settings_load("tern.toml", true, &set, &error), 0);
	assert_string_equal(set->data_dir, "/x");
	assert_int_equal(set->listen[TERN_LISTEN_SMTP].count, 1);
	settings_free(&set);

	/* -c FILE: every bad key at once, one a line */
	write_file("other.toml", "data_dir = \"/y\"\nhostname = 1\n[limits]\nbogus = 1\n"
		   "recipients = 0\n");
	assert_int_equal(settings_load("other.toml", false, &set, &error), -1);
	assert_null(set);
	assert_string_equal(error, "other.toml:2: hostname: expected a string, got integer\n"
			    "other.toml:4: unknown key 'bogus' in [limits]\n"
			    "other.toml:5: limits.recipients: 0 out of range (1-100000)");
	free(error);
	/* --check's variant keeps what it could read */
	assert_int_equal(settings_load_partial("other.toml", false, &set, &error), -1);
	assert_non_null(set);
	free(error);
	assert_string_equal(set->data_dir, "/y");
	assert_int_equal(settings_key_line(set, "data_dir"), 1);
	assert_false(settings_key_failed(set, "data_dir"));
	assert_true(settings_key_failed(set, "hostname"));
	assert_true(settings_key_failed(set, "limits.recipients"));
	assert_int_equal(settings_key_line(set, "limits.recipients"), 5);
	assert_int_equal(settings_key_line(set, "user"), 0);
	settings_free(&set);
	/* a file that cannot be parsed gives nothing */
	write_file("broken.toml", "data_dir = \"/y\n");
	assert_int_equal(settings_load_partial("broken.toml", false, &set, &error), -1);
	assert_null(set);
	assert_string_equal(error, "broken.toml:1: unterminated string");
	free(error);

	unlink("tern.toml");
	unlink("other.toml");
	unlink("broken.toml");
	assert_int_equal(chdir(cwd), 0);
	rmdir(dir);
}

/* Lines of keys and listener addresses, for the messages of tern serve --check. */
static void test_settings_lines(void **state)
{
	static const char text[] =
		"hostname = \"mx.example.test\"\n"
		"postmaster = \"Admin@Example.TEST\"\n"
		"[listen]\n"
		"smtp = [\"127.0.0.1:25\",\n"
		"        \"[::1]:25\"]\n"
		"[relay]\n"
		"smarthost_tls = \"verify\"\n";
	struct tern_settings *set = settings_new(false);
	const char *error;

	assert_string_equal(set->postmaster, "");
	assert_int_equal(apply(set, text, &error), 0);
	assert_string_equal(set->postmaster, "admin@example.test");
	assert_int_equal(settings_key_line(set, "hostname"), 1);
	assert_int_equal(settings_key_line(set, "listen.smtp"), 4);
	assert_int_equal(set->listen[TERN_LISTEN_SMTP].addrs[0].line, 4);
	assert_int_equal(set->listen[TERN_LISTEN_SMTP].addrs[1].line, 5);
	assert_int_equal(settings_key_line(set, "relay.smarthost_tls"), 7);
	assert_string_equal(set->relay_smarthost_tls, "verify");
	assert_int_equal(settings_key_line(set, "data_dir"), 0);
	settings_free(&set);

	set = settings_new(false);
	assert_int_equal(apply(set, "postmaster = \"admin\"\n[relay]\nsmarthost_tls = \"yes\"\n",
			       &error), -1);
	assert_string_equal(error, "c.toml:1: postmaster: not an address (local@domain): 'admin'\n"
			    "c.toml:3: relay.smarthost_tls: 'yes' is not one of: "
			    "none|opportunistic|required|verify");
	settings_free(&set);

	assert_true(settings_valid_address("a@b.test"));
	assert_false(settings_valid_address("a b@b.test"));
	assert_false(settings_valid_address("@b.test"));
	assert_false(settings_valid_address("a@"));
	assert_false(settings_valid_address("a@-b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_defaults),
		cmocka_unit_test(test_settings_full),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_settings_msgauth),
		cmocka_unit_test(test_settings_cidr),
		cmocka_unit_test(test_settings_duration),
		cmocka_unit_test(test_settings_load),
		cmocka_unit_test(test_settings_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
