/*
 * struct tern_settings: defaults, and reading a config file into it with
 * every key checked against a table of known keys (an unknown key or a bad
 * value is an error naming FILE:LINE; the reading goes on, so that every
 * mistake of a file is told at once), where each key was set (for the
 * messages of tern serve --check), and which file to read (the lookup of
 * DESIGN.md "Commands"). Used by every command; never reads anything but
 * the config file and $TERN_CONFIG.
 */
#include "settings.h"
#include "arena.h"
#include "buf.h"
#include "config.h"
#include "tern-limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum key_kind {
	KEY_HOSTNAME,        /* string: a DNS name */
	KEY_PATH,            /* string: non-empty */
	KEY_STRING,          /* string: may be empty */
	KEY_DOMAINS,         /* array of DNS names */
	KEY_LISTEN,          /* array of numeric "addr:port" */
	KEY_BOOL,
	KEY_CIDRS,           /* array of CIDRs */
	KEY_SMARTHOST,       /* "" or "host[:port]" */
	KEY_NAMESERVER,      /* "" or "addr[:port]" */
	KEY_UINT,            /* integer in [min, max] (unsigned int field) */
	KEY_INT64,           /* integer in [min, max] (int64_t field) */
	KEY_DURATION,        /* "30s" (unsigned int field, seconds) */
	KEY_DURATIONS,       /* non-empty array of durations */
	KEY_DURATION_OFF,    /* "off" (0) or a duration */
	KEY_ADDRESS,         /* string: "" or local@domain (lowercased) */
	KEY_CHOICE,          /* string: one of choices ("a|b|c") */
};

struct key_def {
	const char *section;     /* "" for the top level */
	const char *key;
	enum key_kind kind;
	size_t offset;
	int64_t min, max;
	int listen_kind;
	const char *choices;     /* KEY_CHOICE: the values allowed, "|" between them */
};


#define OFF(field) offsetof(struct tern_settings, field)

static const struct key_def key_defs[] = {
	{ "", "hostname", KEY_HOSTNAME, OFF(hostname), 0, 0, 0 },
	{ "", "data_dir", KEY_PATH, OFF(data_dir), 0, 0, 0 },
	{ "", "domains", KEY_DOMAINS, 0, 0, 0, 0 },
	{ "", "user", KEY_STRING, OFF(user), 0, 0, 0 },
	{ "", "postmaster", KEY_ADDRESS, OFF(postmaster), 0, 0, 0 },
	{ "listen", "smtp", KEY_LISTEN, 0, 0, 0, TERN_LISTEN_SMTP },
	{ "listen", "submission", KEY_LISTEN, 0, 0, 0, TERN_LISTEN_SUBMISSION },
	{ "listen", "submissions", KEY_LISTEN, 0, 0, 0, TERN_LISTEN_SUBMISSIONS },
	{ "listen", "imap", KEY_LISTEN, 0, 0, 0, TERN_LISTEN_IMAP },
	{ "listen", "imaps", KEY_LISTEN, 0, 0, 0, TERN_LISTEN_IMAPS },
	{ "listen", "pop3", KEY_LISTEN, 0, 0, 0, TERN_LISTEN_POP3 },
	{ "listen", "pop3s", KEY_LISTEN, 0, 0, 0, TERN_LISTEN_POP3S },
	{ "tls", "cert", KEY_STRING, OFF(tls_cert), 0, 0, 0 },
	{ "tls", "key", KEY_STRING, OFF(tls_key), 0, 0, 0 },
	{ "auth", "plaintext_on_loopback", KEY_BOOL, OFF(auth_plaintext_on_loopback), 0, 0, 0 },
	{ "auth", "throttle_window", KEY_DURATION, OFF(auth_throttle_window), 0, 0, 0 },
	{ "auth", "throttle_delay_after", KEY_UINT, OFF(auth_throttle_delay_after), 1, 100000, 0 },
	{ "auth", "throttle_block_after", KEY_UINT, OFF(auth_throttle_block_after), 1, 100000, 0 },
	{ "auth", "throttle_block_time", KEY_DURATION, OFF(auth_throttle_block_time), 0, 0, 0 },
	{ "auth", "throttle_account_limit", KEY_UINT, OFF(auth_throttle_account_limit), 1, 1000000, 0 },
	{ "relay", "networks", KEY_CIDRS, 0, 0, 0, 0 },
	{ "relay", "smarthost", KEY_SMARTHOST, 0, 0, 0, 0 },
	{ "relay", "smarthost_user", KEY_STRING, OFF(relay_smarthost_user), 0, 0, 0 },
	{ "relay", "smarthost_password", KEY_STRING, OFF(relay_smarthost_password), 0, 0, 0 },
	{ "relay", "smarthost_tls", KEY_CHOICE, OFF(relay_smarthost_tls), 0, 0, 0,
	  "none|opportunistic|required|verify" },
	{ "delivery", "nameserver", KEY_NAMESERVER, 0, 0, 0, 0 },
	{ "delivery", "mx_port", KEY_UINT, OFF(delivery_mx_port), 1, 65535, 0 },
	{ "delivery", "retry", KEY_DURATIONS, 0, 0, 0, 0 },
	{ "delivery", "bounce_after", KEY_DURATION, OFF(delivery_bounce_after), 0, 0, 0 },
	{ "delivery", "delay_warning", KEY_DURATION_OFF, OFF(delivery_delay_warning), 0, 0, 0 },
	{ "delivery", "connections_per_destination", KEY_UINT,
	  OFF(delivery_connections_per_destination), 1, 1000, 0 },
	{ "limits", "message_size", KEY_INT64, OFF(limits.message_size), 1024, TERN_LIMIT_MAX_MESSAGE_SIZE, 0 },
	{ "limits", "recipients", KEY_UINT, OFF(limits.recipients), 1, 100000, 0 },
	{ "limits", "line_length", KEY_UINT, OFF(limits.line_length),
	  TERN_LIMIT_MIN_LINE_LENGTH, TERN_LIMIT_MAX_LINE_LENGTH, 0 },
	{ "limits", "bad_commands", KEY_UINT, OFF(limits.bad_commands), 1, 100000, 0 },
	{ "limits", "auth_failures", KEY_UINT, OFF(limits.auth_failures), 1, 100000, 0 },
	{ "limits", "connections", KEY_UINT, OFF(limits.connections), 1, 1000000, 0 },
	{ "limits", "connections_per_ip", KEY_UINT, OFF(limits.connections_per_ip), 1, 1000000, 0 },
	{ "limits", "smtp_timeout", KEY_DURATION, OFF(limits.smtp_timeout), 0, 0, 0 },
	{ "limits", "imap_timeout", KEY_DURATION, OFF(limits.imap_timeout), 0, 0, 0 },
	{ "limits", "pop3_timeout", KEY_DURATION, OFF(limits.pop3_timeout), 0, 0, 0 },
	{ "limits", "session_timeout", KEY_DURATION, OFF(limits.session_timeout), 0, 0, 0 },
	{ "limits", "login_timeout", KEY_DURATION, OFF(limits.login_timeout), 0, 0, 0 },
	{ "limits", "stress_timeout", KEY_DURATION, OFF(limits.stress_timeout), 0, 0, 0 },
	{ "limits", "hops", KEY_UINT, OFF(limits.hops), 1, 1000, 0 },
	{ "limits", "auth_check_timeout", KEY_DURATION, OFF(limits.auth_check_timeout), 0, 0, 0 },
	{ "spf", "verify", KEY_BOOL, OFF(spf_verify), 0, 0, 0 },
	{ "spf", "reject_fail", KEY_BOOL, OFF(spf_reject_fail), 0, 0, 0 },
	{ "dkim", "verify", KEY_BOOL, OFF(dkim_verify), 0, 0, 0 },
	{ "dkim", "sign", KEY_BOOL, OFF(dkim_sign), 0, 0, 0 },
	{ "dmarc", "verify", KEY_BOOL, OFF(dmarc_verify), 0, 0, 0 },
	{ "dmarc", "reject", KEY_CHOICE, OFF(dmarc_reject), 0, 0, 0, "reject|quarantine|none" },
	{ "dmarc", "quarantine", KEY_CHOICE, OFF(dmarc_quarantine), 0, 0, 0, "junk|none" },
	{ "dmarc", "reports", KEY_BOOL, OFF(dmarc_reports), 0, 0, 0 },
	{ "dmarc", "report_from", KEY_STRING, OFF(dmarc_report_from), 0, 0, 0 },
	{ "dmarc", "report_org", KEY_STRING, OFF(dmarc_report_org), 0, 0, 0 },
	{ "dmarc", "public_suffix_list", KEY_PATH, OFF(dmarc_public_suffix_list), 0, 0, 0 },
	{ "arc", "verify", KEY_BOOL, OFF(arc_verify), 0, 0, 0 },
	{ "arc", "seal", KEY_BOOL, OFF(arc_seal), 0, 0, 0 },
	{ "arc", "domain", KEY_STRING, OFF(arc_domain), 0, 0, 0 },
	{ "srs", "enabled", KEY_BOOL, OFF(srs_enabled), 0, 0, 0 },
	{ "srs", "domain", KEY_STRING, OFF(srs_domain), 0, 0, 0 },
	{ "srs", "secret", KEY_STRING, OFF(srs_secret), 0, 0, 0 },
	{ "srs", "max_age", KEY_DURATION, OFF(srs_max_age), 0, 0, 0 },
};

static const char *const section_names[] = {
	"listen", "tls", "auth", "relay", "delivery", "limits", "spf", "dkim", "dmarc", "arc", "srs",
};

static const char *const listen_names[TERN_LISTEN_COUNT] = {
	"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s",
};

static const uint16_t dev_ports[TERN_LISTEN_COUNT] = {
	2525, 2587, 2465, 2143, 2993, 2110, 2995,
};

static const unsigned int default_retry[] = { 60, 300, 900, 3600, 4 * 3600 };

/* Settings errors past this many are summed up in one line. */
#define SETTINGS_MAX_ERRORS 50

struct apply_ctx {
	struct tern_settings *set;
	const char *filename;
	const char *error;       /* the last one */
	buf_t errors;            /* every one, a line each */
	unsigned int error_count;
};

/* One key the file set: its dotted name, line, and whether its value was bad. */
struct settings_key {
	const char *name;
	unsigned int line;
	bool failed;
};

struct settings_keys {
	struct settings_key *keys;
	size_t count, alloc;
};

static int kerr(struct apply_ctx *ctx, const struct config_value *v, const char *fmt, ...) ATTR_FORMAT(3, 4);
static bool valid_dns_name(const char *name, size_t len);
static int get_string(struct apply_ctx *ctx, const char *name, const struct config_value *v,
		      const char **str_r);
static int apply_key(struct apply_ctx *ctx, const struct key_def *def, const char *name,
		     const struct config_value *v);
static int apply_table(struct apply_ctx *ctx, const struct config_table *table, const char *section);
static const char *safe_key(struct apply_ctx *ctx, const char *key);

static int kerr(struct apply_ctx *ctx, const struct config_value *v, const char *fmt, ...)
{
	char msg[512];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	ctx->error = arena_printf(ctx->set->arena, "%s:%u: %s", ctx->filename, v->line, msg);
	/* an unlimited buffer: appending cannot fail */
	if (ctx->error_count++ < SETTINGS_MAX_ERRORS &&
	    buf_printf(&ctx->errors, "%s%s", ctx->errors.used > 0 ? "\n" : "", ctx->error) < 0)
		i_panic("settings: error text");
	return -1;
}

static void key_record(struct tern_settings *set, const char *name, unsigned int line,
		       bool failed)
{
	struct settings_keys *k = set->keys;

	if (k == NULL)
		k = set->keys = arena_new_type(set->arena, struct settings_keys);
	if (k->count == k->alloc) {
		size_t n = k->alloc == 0 ? 32 : k->alloc * 2;

		k->keys = arena_realloc(set->arena, k->keys, sizeof(*k->keys) * k->alloc,
					sizeof(*k->keys) * n);
		k->alloc = n;
	}
	k->keys[k->count].name = arena_strdup(set->arena, name);
	k->keys[k->count].line = line;
	k->keys[k->count].failed = failed;
	k->count++;
}

static const struct settings_key *key_find(const struct tern_settings *set, const char *name)
{
	size_t i;

	if (set->keys == NULL)
		return NULL;
	/* the last one wins, as in the file */
	for (i = set->keys->count; i > 0; i--) {
		if (strcmp(set->keys->keys[i - 1].name, name) == 0)
			return &set->keys->keys[i - 1];
	}
	return NULL;
}

unsigned int settings_key_line(const struct tern_settings *set, const char *name)
{
	const struct settings_key *k = key_find(set, name);

	return k == NULL ? 0 : k->line;
}

bool settings_key_failed(const struct tern_settings *set, const char *name)
{
	const struct settings_key *k = key_find(set, name);

	return k != NULL && k->failed;
}

/* A key (which may hold any character through escapes) for a message. */
static const char *safe_key(struct apply_ctx *ctx, const char *key)
{
	size_t i, len = strlen(key);
	char *out;

	if (len > 64)
		len = 64;
	out = arena_strndup(ctx->set->arena, key, len);
	for (i = 0; i < len; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	}
	return out;
}

const char *settings_listen_kind_name(enum tern_listen_kind kind)
{
	i_assert(kind < TERN_LISTEN_COUNT);
	return listen_names[kind];
}

static void set_dev_listeners(struct tern_settings *set)
{
	unsigned int i;

	for (i = 0; i < TERN_LISTEN_COUNT; i++) {
		struct tern_hostport *hp = arena_new_type(set->arena, struct tern_hostport);
		const char *error;
		char text[32];

		snprintf(text, sizeof(text), "127.0.0.1:%u", dev_ports[i]);
		if (settings_parse_hostport(set->arena, text, true, 0, hp, &error) < 0)
			i_panic("dev listener %s: %s", text, error);
		set->listen[i].addrs = hp;
		set->listen[i].count = 1;
	}
}

struct tern_settings *settings_new(bool dev)
{
	struct arena *arena = arena_new(0);
	struct tern_settings *set = arena_new_type(arena, struct tern_settings);
	const char **domains;
	char host[256];

	set->arena = arena;
	set->dev = dev;
	if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0') {
		host[sizeof(host) - 1] = '\0';
		set->hostname = arena_strdup(arena, host);
		if (!valid_dns_name(host, strlen(host)))
			set->hostname = "localhost";
	} else {
		set->hostname = "localhost";
	}
	set->user = "";
	set->postmaster = "";
	set->tls_cert = "";
	set->tls_key = "";
	set->auth_plaintext_on_loopback = true;
	set->auth_throttle_window = TERN_DEFAULT_AUTH_THROTTLE_WINDOW;
	set->auth_throttle_delay_after = TERN_DEFAULT_AUTH_THROTTLE_DELAY_AFTER;
	set->auth_throttle_block_after = TERN_DEFAULT_AUTH_THROTTLE_BLOCK_AFTER;
	set->auth_throttle_block_time = TERN_DEFAULT_AUTH_THROTTLE_BLOCK_TIME;
	set->auth_throttle_account_limit = TERN_DEFAULT_AUTH_THROTTLE_ACCOUNT_LIMIT;
	set->delivery_mx_port = 25;
	set->relay_smarthost_user = "";
	set->relay_smarthost_password = "";
	set->relay_smarthost_tls = "opportunistic";
	set->delivery_connections_per_destination = 10;
	set->delivery_retry = arena_memdup(arena, default_retry, sizeof(default_retry));
	set->delivery_retry_count = N_ELEMENTS(default_retry);
	set->delivery_bounce_after = TERN_DEFAULT_BOUNCE_AFTER;

	set->limits.message_size = TERN_DEFAULT_MESSAGE_SIZE;
	set->limits.recipients = TERN_DEFAULT_RECIPIENTS;
	set->limits.line_length = TERN_DEFAULT_LINE_LENGTH;
	set->limits.bad_commands = TERN_DEFAULT_BAD_COMMANDS;
	set->limits.auth_failures = TERN_DEFAULT_AUTH_FAILURES;
	set->limits.connections = TERN_DEFAULT_CONNECTIONS;
	set->limits.connections_per_ip = TERN_DEFAULT_CONNECTIONS_PER_IP;
	set->limits.smtp_timeout = TERN_DEFAULT_SMTP_TIMEOUT;
	set->limits.imap_timeout = TERN_DEFAULT_IMAP_TIMEOUT;
	set->limits.pop3_timeout = TERN_DEFAULT_POP3_TIMEOUT;
	set->limits.session_timeout = TERN_DEFAULT_SESSION_TIMEOUT;
	set->limits.login_timeout = TERN_DEFAULT_LOGIN_TIMEOUT;
	set->limits.stress_timeout = TERN_DEFAULT_STRESS_TIMEOUT;
	set->limits.hops = TERN_DEFAULT_HOPS;
	set->limits.auth_check_timeout = TERN_DEFAULT_AUTH_CHECK_TIMEOUT;

	/* as an administrator of Postfix with OpenDKIM and OpenDMARC, or of
	   rspamd, expects: everything checked, mail of local domains signed
	   once they have keys, DMARC policies applied, reports off */
	set->spf_verify = true;
	set->dkim_verify = true;
	set->dkim_sign = true;
	set->dmarc_verify = true;
	set->dmarc_reject = "reject";
	set->dmarc_quarantine = "junk";
	set->dmarc_report_from = "";
	set->dmarc_report_org = "";
	set->dmarc_public_suffix_list = "/usr/share/publicsuffix/public_suffix_list.dat";
	set->arc_verify = true;
	set->arc_seal = true;
	set->arc_domain = "";
	set->srs_enabled = true;
	set->srs_domain = "";
	set->srs_secret = "";
	set->srs_max_age = TERN_DEFAULT_SRS_MAX_AGE;

	if (dev) {
		set->data_dir = "./var";
		domains = arena_new_array(arena, const char *, 1);
		domains[0] = "example.test";
		set->domains = domains;
		set->domains_count = 1;
		/* the demo account `tern serve --dev` makes */
		set->postmaster = "demo@example.test";
		set_dev_listeners(set);
	} else {
		set->data_dir = "/var/lib/tern";
	}
	return set;
}

void settings_free(struct tern_settings **set)
{
	struct arena *arena;

	if (*set == NULL)
		return;
	arena = (*set)->arena;
	arena_free(&arena);
	*set = NULL;
}

/* RFC 1035 2.3.1 / RFC 1123 2.1: labels of letters, digits and hyphens,
   not starting or ending with a hyphen; 63 bytes a label, 253 in all. */
static bool valid_dns_name(const char *name, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return name[len - 1] != '-';
}

int settings_parse_hostport(struct arena *arena, const char *text, bool numeric,
			    uint16_t default_port, struct tern_hostport *hp_r,
			    const char **error_r)
{
	const char *host_start, *host_end, *port_str = NULL, *colon;
	char host[256];
	size_t host_len;

	memset(hp_r, 0, sizeof(*hp_r));
	if (text[0] == '[') {
		host_start = text + 1;
		host_end = strchr(host_start, ']');
		if (host_end == NULL) {
			*error_r = "missing ']' after IPv6 address";
			return -1;
		}
		if (host_end[1] == ':')
			port_str = host_end + 2;
		else if (host_end[1] != '\0') {
			*error_r = "expected ':port' after ']'";
			return -1;
		}
	} else {
		host_start = text;
		colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			*error_r = "IPv6 addresses need brackets: [addr]:port";
			return -1;
		}
		host_end = colon != NULL ? colon : text + strlen(text);
		if (colon != NULL)
			port_str = colon + 1;
	}
	host_len = (size_t)(host_end - host_start);
	if (host_len == 0) {
		*error_r = "missing address";
		return -1;
	}
	if (host_len >= sizeof(host)) {
		*error_r = "address too long";
		return -1;
	}
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';

	if (port_str == NULL) {
		if (default_port == 0) {
			*error_r = "missing ':port'";
			return -1;
		}
		hp_r->port = default_port;
	} else {
		unsigned long port = 0;
		const char *p;

		if (*port_str == '\0') {
			*error_r = "missing port after ':'";
			return -1;
		}
		for (p = port_str; *p != '\0'; p++) {
			if (*p < '0' || *p > '9' || port > 65535) {
				*error_r = "bad port";
				return -1;
			}
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535) {
			*error_r = "port out of range (1-65535)";
			return -1;
		}
		hp_r->port = (uint16_t)port;
	}

	if (text[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&hp_r->addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*error_r = "bad IPv6 address";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(hp_r->port);
		hp_r->addr_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&hp_r->addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(hp_r->port);
			hp_r->addr_len = sizeof(*sin);
		} else if (numeric) {
			*error_r = "not a numeric IPv4 address or [IPv6] address";
			return -1;
		} else if (!valid_dns_name(host, host_len)) {
			*error_r = "bad host name";
			return -1;
		}
	}
	hp_r->text = arena_strdup(arena, text);
	hp_r->host = arena_strdup(arena, host);
	return 0;
}

int settings_parse_cidr(struct arena *arena, const char *text, struct tern_cidr *cidr_r,
			const char **error_r)
{
	const char *slash = strchr(text, '/');
	char addr[INET6_ADDRSTRLEN + 1];
	size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned int max_prefix, i;

	memset(cidr_r, 0, sizeof(*cidr_r));
	if (len == 0 || len >= sizeof(addr)) {
		*error_r = "bad CIDR address";
		return -1;
	}
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, cidr_r->addr) == 1) {
		cidr_r->family = AF_INET;
		max_prefix = 32;
	} else if (inet_pton(AF_INET6, addr, cidr_r->addr) == 1) {
		cidr_r->family = AF_INET6;
		max_prefix = 128;
	} else {
		*error_r = "bad CIDR address";
		return -1;
	}
	cidr_r->prefix = max_prefix;
	if (slash != NULL) {
		const char *p = slash + 1;
		unsigned int prefix = 0;

		if (*p == '\0' || strlen(p) > 3) {
			*error_r = "bad CIDR prefix length";
			return -1;
		}
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9') {
				*error_r = "bad CIDR prefix length";
				return -1;
			}
			prefix = prefix * 10 + (unsigned int)(*p - '0');
		}
		if (prefix > max_prefix) {
			*error_r = "CIDR prefix length out of range";
			return -1;
		}
		cidr_r->prefix = prefix;
	}
	for (i = cidr_r->prefix; i < max_prefix; i++) {
		if ((cidr_r->addr[i / 8] & (0x80 >> (i % 8))) != 0) {
			*error_r = "CIDR has host bits set past the prefix length";
			return -1;
		}
	}
	cidr_r->text = arena_strdup(arena, text);
	return 0;
}

bool settings_cidr_match(const struct tern_cidr *cidr, const struct sockaddr *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;
	unsigned int i, full, rest;

	if (addr->sa_family == AF_INET) {
		if (cidr->family != AF_INET)
			return false;
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)addr)->sin_addr;
	} else if (addr->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;
		if (cidr->family == AF_INET) {
			if (memcmp(a, v4mapped, sizeof(v4mapped)) != 0)
				return false;
			a += sizeof(v4mapped);
		}
	} else {
		return false;
	}
	full = cidr->prefix / 8;
	rest = cidr->prefix % 8;
	for (i = 0; i < full; i++) {
		if (a[i] != cidr->addr[i])
			return false;
	}
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((a[full] & mask) != cidr->addr[full])
			return false;
	}
	return true;
}

int settings_parse_duration(const char *text, unsigned int *secs_r, const char **error_r)
{
	unsigned long long n = 0, mult;
	const char *p = text;

	if (*p < '0' || *p > '9') {
		*error_r = "bad duration (e.g. \"30s\", \"5m\", \"4h\", \"5d\")";
		return -1;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long long)(*p - '0');
		if (n > 365ULL * 24 * 3600) {
			*error_r = "duration too long (max a year)";
			return -1;
		}
	}
	switch (*p) {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 24 * 3600; break;
	case 'w': mult = 7 * 24 * 3600; break;
	default:
		*error_r = "bad duration: a number and a unit s, m, h, d or w (e.g. \"30s\", \"4h\")";
		return -1;
	}
	if (p[1] != '\0') {
		*error_r = "bad duration: a number and a unit s, m, h, d or w (e.g. \"30s\", \"4h\")";
		return -1;
	}
	n *= mult;
	if (n == 0) {
		*error_r = "duration must be more than 0";
		return -1;
	}
	if (n > 365ULL * 24 * 3600) {
		*error_r = "duration too long (max a year)";
		return -1;
	}
	*secs_r = (unsigned int)n;
	return 0;
}

bool settings_valid_address(const char *address)
{
	const char *at = strrchr(address, '@'), *p;

	if (at == NULL || at == address || at - address > 64)
		return false;
	for (p = address; p < at; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == '"')
			return false;
	}
	return valid_dns_name(at + 1, strlen(at + 1));
}

bool settings_is_local_domain(const struct tern_settings *set, const char *domain)
{
	size_t i;

	for (i = 0; i < set->domains_count; i++) {
		if (i_strcasecmp(set->domains[i], domain) == 0)
			return true;
	}
	return false;
}

static int get_string(struct apply_ctx *ctx, const char *name, const struct config_value *v,
		      const char **str_r)
{
	if (v->type != CONFIG_STRING)
		return kerr(ctx, v, "%s: expected a string, got %s", name,
			    config_type_name(v->type));
	if (strlen(v->u.s.str) != v->u.s.len)
		return kerr(ctx, v, "%s: NUL character in string", name);
	*str_r = v->u.s.str;
	return 0;
}

static int get_string_array(struct apply_ctx *ctx, const char *name, const struct config_value *v)
{
	size_t i;

	if (v->type != CONFIG_ARRAY)
		return kerr(ctx, v, "%s: expected an array of strings, got %s", name,
			    config_type_name(v->type));
	for (i = 0; i < v->u.array.count; i++) {
		const char *s;

		if (get_string(ctx, name, v->u.array.items[i], &s) < 0)
			return -1;
	}
	return 0;
}

static unsigned int *field_uint(struct tern_settings *set, size_t offset)
{
	return (unsigned int *)(void *)((char *)set + offset);
}

static int apply_key(struct apply_ctx *ctx, const struct key_def *def, const char *name,
		     const struct config_value *v)
{
	struct tern_settings *set = ctx->set;
	struct arena *arena = set->arena;
	const char *s = NULL, *error;
	size_t i, n;

	switch (def->kind) {
	case KEY_HOSTNAME:
		if (get_string(ctx, name, v, &s) < 0)
			return -1;
		if (!valid_dns_name(s, strlen(s)))
			return kerr(ctx, v, "%s: bad host name '%s'", name, s);
		*(const char **)(void *)((char *)set + def->offset) = s;
		return 0;
	case KEY_PATH:
		if (get_string(ctx, name, v, &s) < 0)
			return -1;
		if (*s == '\0')
			return kerr(ctx, v, "%s: must not be empty", name);
		*(const char **)(void *)((char *)set + def->offset) = s;
		return 0;
	case KEY_STRING:
		if (get_string(ctx, name, v, &s) < 0)
			return -1;
		*(const char **)(void *)((char *)set + def->offset) = s;
		return 0;
	case KEY_ADDRESS: {
		char *lower;

		if (get_string(ctx, name, v, &s) < 0)
			return -1;
		if (*s != '\0' && !settings_valid_address(s))
			return kerr(ctx, v, "%s: not an address (local@domain): '%s'", name, s);
		lower = arena_strdup(arena, s);
		i_str_lower(lower);
		*(const char **)(void *)((char *)set + def->offset) = lower;
		return 0;
	}
	case KEY_CHOICE: {
		const char *p = def->choices;
		size_t len;

		if (get_string(ctx, name, v, &s) < 0)
			return -1;
		len = strlen(s);
		while (*p != '\0') {
			size_t plen = strcspn(p, "|");

			if (plen == len && memcmp(p, s, plen) == 0) {
				*(const char **)(void *)((char *)set + def->offset) = s;
				return 0;
			}
			p += plen + (p[plen] == '|' ? 1 : 0);
		}
		return kerr(ctx, v, "%s: '%s' is not one of: %s", name, s, def->choices);
	}
	case KEY_BOOL:
		if (v->type != CONFIG_BOOL)
			return kerr(ctx, v, "%s: expected a boolean (true or false), got %s",
				    name, config_type_name(v->type));
		*(bool *)(void *)((char *)set + def->offset) = v->u.b;
		return 0;
	case KEY_DOMAINS: {
		const char **domains;

		if (get_string_array(ctx, name, v) < 0)
			return -1;
		n = v->u.array.count;
		domains = arena_new_array(arena, const char *, n == 0 ? 1 : n);
		for (i = 0; i < n; i++) {
			char *d = arena_strdup(arena, v->u.array.items[i]->u.s.str);

			if (!valid_dns_name(d, strlen(d)))
				return kerr(ctx, v->u.array.items[i], "%s: bad domain name '%s'",
					    name, d);
			i_str_lower(d);
			domains[i] = d;
		}
		set->domains = domains;
		set->domains_count = n;
		return 0;
	}
	case KEY_LISTEN: {
		struct tern_hostport *addrs;

		if (get_string_array(ctx, name, v) < 0)
			return -1;
		n = v->u.array.count;
		addrs = arena_new_array(arena, struct tern_hostport, n == 0 ? 1 : n);
		for (i = 0; i < n; i++) {
			const struct config_value *item = v->u.array.items[i];

			if (settings_parse_hostport(arena, item->u.s.str, true, 0,
						    &addrs[i], &error) < 0)
				return kerr(ctx, item, "%s: bad address '%s': %s", name,
					    item->u.s.str, error);
			addrs[i].line = item->line;
		}
		set->listen[def->listen_kind].addrs = addrs;
		set->listen[def->listen_kind].count = n;
		return 0;
	}
	case KEY_CIDRS: {
		struct tern_cidr *cidrs;

		if (get_string_array(ctx, name, v) < 0)
			return -1;
		n = v->u.array.count;
		cidrs = arena_new_array(arena, struct tern_cidr, n == 0 ? 1 : n);
		for (i = 0; i < n; i++) {
			const struct config_value *item = v->u.array.items[i];

			if (settings_parse_cidr(arena, item->u.s.str, &cidrs[i], &error) < 0)
				return kerr(ctx, item, "%s: bad CIDR '%s': %s", name,
					    item->u.s.str, error);
		}
		set->relay_networks = cidrs;
		set->relay_networks_count = n;
		return 0;
	}
	case KEY_SMARTHOST:
	case KEY_NAMESERVER: {
		struct tern_hostport *hp;
		bool ns = def->kind == KEY_NAMESERVER;

		if (get_string(ctx, name, v, &s) < 0)
			return -1;
		if (*s == '\0') {
			if (ns)
				set->delivery_nameserver = NULL;
			else
				set->relay_smarthost = NULL;
			return 0;
		}
		hp = arena_new_type(arena, struct tern_hostport);
		if (settings_parse_hostport(arena, s, ns, ns ? 53 : 25, hp, &error) < 0)
			return kerr(ctx, v, "%s: bad address '%s': %s", name, s, error);
		if (ns)
			set->delivery_nameserver = hp;
		else
			set->relay_smarthost = hp;
		return 0;
	}
	case KEY_UINT:
	case KEY_INT64:
		if (v->type != CONFIG_INT)
			return kerr(ctx, v, "%s: expected an integer, got %s", name,
				    config_type_name(v->type));
		if (v->u.i < def->min || v->u.i > def->max)
			return kerr(ctx, v, "%s: %lld out of range (%lld-%lld)", name,
				    (long long)v->u.i, (long long)def->min, (long long)def->max);
		if (def->kind == KEY_UINT)
			*field_uint(set, def->offset) = (unsigned int)v->u.i;
		else
			*(int64_t *)(void *)((char *)set + def->offset) = v->u.i;
		return 0;
	case KEY_DURATION:
		if (v->type != CONFIG_STRING)
			return kerr(ctx, v, "%s: expected a duration string (e.g. \"5m\"), got %s",
				    name, config_type_name(v->type));
		if (settings_parse_duration(v->u.s.str, field_uint(set, def->offset), &error) < 0)
			return kerr(ctx, v, "%s: '%s': %s", name, v->u.s.str, error);
		return 0;
	case KEY_DURATION_OFF:
		if (v->type != CONFIG_STRING)
			return kerr(ctx, v, "%s: expected \"off\" or a duration string (e.g. \"4h\"), got %s",
				    name, config_type_name(v->type));
		if (strcmp(v->u.s.str, "off") == 0) {
			*field_uint(set, def->offset) = 0;
			return 0;
		}
		if (settings_parse_duration(v->u.s.str, field_uint(set, def->offset), &error) < 0)
			return kerr(ctx, v, "%s: '%s': %s (or \"off\")", name, v->u.s.str, error);
		return 0;
	case KEY_DURATIONS: {
		unsigned int *secs;

		if (get_string_array(ctx, name, v) < 0)
			return -1;
		n = v->u.array.count;
		if (n == 0)
			return kerr(ctx, v, "%s: needs at least one duration", name);
		secs = arena_new_array(arena, unsigned int, n);
		for (i = 0; i < n; i++) {
			const struct config_value *item = v->u.array.items[i];

			if (settings_parse_duration(item->u.s.str, &secs[i], &error) < 0)
				return kerr(ctx, item, "%s: '%s': %s", name, item->u.s.str, error);
		}
		set->delivery_retry = secs;
		set->delivery_retry_count = n;
		return 0;
	}
	}
	i_panic("unknown key kind %d", def->kind);
}

static int apply_table(struct apply_ctx *ctx, const struct config_table *table, const char *section)
{
	const struct config_entry *e;

	for (e = table->first; e != NULL; e = e->next) {
		const struct key_def *def = NULL;
		const char *name;
		size_t i;

		for (i = 0; i < N_ELEMENTS(key_defs); i++) {
			if (strcmp(key_defs[i].section, section) == 0 &&
			    strcmp(key_defs[i].key, e->key) == 0) {
				def = &key_defs[i];
				break;
			}
		}
		name = section[0] == '\0' ? e->key :
		       arena_printf(ctx->set->arena, "%s.%s", section, e->key);
		if (def != NULL) {
			/* a bad value keeps the default; the next keys are
			   still checked, so that every mistake is told at once */
			key_record(ctx->set, name, e->value->line,
				   apply_key(ctx, def, name, e->value) < 0);
			continue;
		}
		if (section[0] == '\0') {
			for (i = 0; i < N_ELEMENTS(section_names); i++) {
				if (strcmp(section_names[i], e->key) == 0)
					break;
			}
			if (i < N_ELEMENTS(section_names)) {
				if (e->value->type != CONFIG_TABLE)
					(void)kerr(ctx, e->value, "%s must be a table ([%s])",
						   e->key, e->key);
				else
					(void)apply_table(ctx, e->value->u.table, section_names[i]);
				continue;
			}
			if (e->value->type == CONFIG_TABLE)
				(void)kerr(ctx, e->value, "unknown section [%s]",
					   safe_key(ctx, e->key));
			else
				(void)kerr(ctx, e->value, "unknown key '%s'", safe_key(ctx, e->key));
			continue;
		}
		(void)kerr(ctx, e->value, "unknown key '%s' in [%s]",
			   safe_key(ctx, e->key), section);
	}
	return ctx->error_count > 0 ? -1 : 0;
}

/* Every error of a file, one a line (the first SETTINGS_MAX_ERRORS, then
   how many more), in the settings' arena. */
static const char *apply_errors(struct apply_ctx *ctx)
{
	const char *text;

	if (ctx->error_count > SETTINGS_MAX_ERRORS &&
	    buf_printf(&ctx->errors, "\n%s: %u more errors", ctx->filename,
		       ctx->error_count - SETTINGS_MAX_ERRORS) < 0)
		i_panic("settings: error text");
	text = arena_strdup(ctx->set->arena, buf_str(&ctx->errors));
	buf_free(&ctx->errors);
	return text;
}

int settings_apply_buffer(struct tern_settings *set, const char *filename,
			  const void *data, size_t size, const char **error_r)
{
	struct config_table *root;
	struct apply_ctx ctx;

	root = config_parse_buffer(set->arena, filename, data, size, error_r);
	if (root == NULL)
		return -1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.set = set;
	ctx.filename = filename;
	buf_init(&ctx.errors, BUF_MAX_UNLIMITED);
	set->config_path = arena_strdup(set->arena, filename);
	if (apply_table(&ctx, root, "") < 0) {
		*error_r = apply_errors(&ctx);
		return -1;
	}
	buf_free(&ctx.errors);
	return 0;
}

int settings_apply_file(struct tern_settings *set, const char *path, const char **error_r)
{
	struct config_table *root;
	struct apply_ctx ctx;

	root = config_parse_file(set->arena, path, error_r);
	if (root == NULL)
		return -1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.set = set;
	ctx.filename = path;
	buf_init(&ctx.errors, BUF_MAX_UNLIMITED);
	set->config_path = arena_strdup(set->arena, path);
	if (apply_table(&ctx, root, "") < 0) {
		*error_r = apply_errors(&ctx);
		return -1;
	}
	buf_free(&ctx.errors);
	return 0;
}

/* Which file to read: *path_r NULL for the --dev defaults alone; -1 with
   *error_r (malloc'd) when none can be found. */
static int config_path_find(const char *path, bool dev, const char **path_r, char **error_r)
{
	const char *env;

	*path_r = path;
	if (path != NULL || dev)
		return 0;
	env = getenv(TERN_CONFIG_ENV);
	if (env != NULL && env[0] != '\0') {
		*path_r = env;
		return 0;
	}
	if (access(TERN_DEFAULT_CONFIG, F_OK) == 0) {
		*path_r = TERN_DEFAULT_CONFIG;
		return 0;
	}
	*error_r = i_strdup_printf("no config file: %s does not exist and neither -c FILE nor $"
				   TERN_CONFIG_ENV " names one (--dev: the development "
				   "defaults, data in ./var)", TERN_DEFAULT_CONFIG);
	return -1;
}

int settings_load_partial(const char *path, bool dev, struct tern_settings **set_r,
			  char **error_r)
{
	struct tern_settings *set;
	const char *error;

	*set_r = NULL;
	if (config_path_find(path, dev, &path, error_r) < 0)
		return -1;
	set = settings_new(dev);
	if (path == NULL) {
		*set_r = set;
		return 0;
	}
	if (settings_apply_file(set, path, &error) < 0) {
		*error_r = i_strdup(error);
		/* read and parsed (config_path is set once it is), some
		   keys bad: the rest may be checked */
		if (set->config_path != NULL)
			*set_r = set;
		else
			settings_free(&set);
		return -1;
	}
	*set_r = set;
	return 0;
}

int settings_load(const char *path, bool dev, struct tern_settings **set_r, char **error_r)
{
	if (settings_load_partial(path, dev, set_r, error_r) < 0) {
		settings_free(set_r);
		return -1;
	}
	return 0;
}
