#ifndef TERN_SETTINGS_H
#define TERN_SETTINGS_H

#include "lib.h"

#include <sys/socket.h>

/*
 * tern's settings: every key of the config contract (DESIGN.md, documented
 * in docs/config.md) in one struct, passed to whoever needs it; there are
 * no configuration globals. Everything a struct tern_settings points to
 * lives in its arena and is freed by settings_free().
 */

struct arena;

enum tern_listen_kind {
	TERN_LISTEN_SMTP,
	TERN_LISTEN_SUBMISSION,
	TERN_LISTEN_SUBMISSIONS,
	TERN_LISTEN_IMAP,
	TERN_LISTEN_IMAPS,
	TERN_LISTEN_POP3,
	TERN_LISTEN_POP3S,
	TERN_LISTEN_COUNT
};

/* "host:port". For listeners and the nameserver the host is a numeric
   address (IPv4, or IPv6 in brackets) and addr holds it; for the smarthost
   it may be a DNS name, and addr_len is 0 unless it is numeric. */
struct tern_hostport {
	const char *text;                 /* as written in the config */
	const char *host;                 /* without brackets: "::1", "mx.example" */
	uint16_t port;
	struct sockaddr_storage addr;
	socklen_t addr_len;               /* 0: host is not a numeric address */
	unsigned int line;                /* where the config file gave it; 0: a default */
};

struct tern_cidr {
	const char *text;                 /* as written */
	int family;                       /* AF_INET or AF_INET6 */
	uint8_t addr[16];                 /* network address, host bits zero */
	unsigned int prefix;              /* 0..32 or 0..128 */
};

/* The [limits] table; defaults in tern-limits.h. Timeouts in seconds. */
struct tern_limits {
	int64_t message_size;
	unsigned int recipients;
	unsigned int line_length;
	unsigned int bad_commands;
	unsigned int auth_failures;
	unsigned int connections;
	unsigned int connections_per_ip;
	unsigned int smtp_timeout;
	unsigned int imap_timeout;
	unsigned int pop3_timeout;
	unsigned int session_timeout;
	unsigned int login_timeout;
	unsigned int stress_timeout;
	unsigned int hops;
	unsigned int auth_check_timeout;  /* all sender-authentication lookups of one message */
};

struct settings_keys;

struct tern_settings {
	struct arena *arena;
	struct settings_keys *keys;       /* private (settings.c): where each key was set */
	const char *config_path;          /* the file read; NULL when none was */
	bool dev;                         /* started from the --dev defaults */

	const char *hostname;
	const char *data_dir;
	const char *const *domains;       /* lowercase */
	size_t domains_count;
	const char *user;                 /* "" = do not change user */
	const char *postmaster;           /* the administrator's address (lowercased);
					     "" = not set (tern serve refuses to start
					     without it, --dev excepted) */

	struct {
		struct tern_hostport *addrs;
		size_t count;             /* 0 = listener off */
	} listen[TERN_LISTEN_COUNT];

	const char *tls_cert;             /* "" = absent */
	const char *tls_key;

	bool auth_plaintext_on_loopback;
	/* failed-login throttle (src/net/auth-throttle.h); durations in seconds */
	unsigned int auth_throttle_window;
	unsigned int auth_throttle_delay_after;
	unsigned int auth_throttle_block_after;
	unsigned int auth_throttle_block_time;
	unsigned int auth_throttle_account_limit;

	struct tern_cidr *relay_networks;
	size_t relay_networks_count;
	struct tern_hostport *relay_smarthost;    /* NULL = deliver by MX */
	const char *relay_smarthost_user;         /* "" = no AUTH to the smarthost */
	const char *relay_smarthost_password;
	const char *relay_smarthost_tls;          /* "none", "opportunistic", "required", "verify" */

	struct tern_hostport *delivery_nameserver; /* NULL = /etc/resolv.conf */
	unsigned int delivery_mx_port;
	unsigned int *delivery_retry;     /* seconds, at least one */
	size_t delivery_retry_count;
	unsigned int delivery_bounce_after; /* seconds */
	unsigned int delivery_delay_warning; /* seconds; 0 = no delay warnings (the default) */
	unsigned int delivery_connections_per_destination; /* outbound SMTP connections per domain */

	/* sender authentication (docs/msgauth.md) */
	bool spf_verify;                  /* [spf] verify: check SPF on port 25 */
	bool spf_reject_fail;             /* [spf] reject_fail: 550 for an SPF fail */
	bool dkim_verify;                 /* [dkim] verify */
	bool dkim_sign;                   /* [dkim] sign: outbound mail of local domains with keys */
	bool dmarc_verify;                /* [dmarc] verify */
	const char *dmarc_reject;         /* [dmarc] reject: "reject", "quarantine" or "none" */
	const char *dmarc_quarantine;     /* [dmarc] quarantine: "junk" or "none" */
	bool dmarc_reports;               /* [dmarc] reports: send aggregate reports daily */
	const char *dmarc_report_from;    /* [dmarc] report_from: "" = noreply-dmarc@hostname */
	const char *dmarc_report_org;     /* [dmarc] report_org: "" = hostname */
	const char *dmarc_public_suffix_list; /* [dmarc] public_suffix_list: path */
	bool arc_verify;                  /* [arc] verify */
	bool arc_seal;                    /* [arc] seal: forwarded mail */
	const char *arc_domain;           /* [arc] domain: "" = the first local domain */
	bool srs_enabled;                 /* [srs] enabled */
	const char *srs_domain;           /* [srs] domain: "" = the first local domain, else hostname */
	const char *srs_secret;           /* [srs] secret: "" = random, kept in data_dir/srs.secret */
	unsigned int srs_max_age;         /* [srs] max_age, seconds */

	struct tern_limits limits;
};

/* The defaults: dev=false gives the contract's defaults (no listener on,
   data_dir /var/lib/tern), dev=true those of `tern serve --dev` (data in
   ./var, domain example.test, every listener on 127.0.0.1:2xxx). Never NULL. */
struct tern_settings *settings_new(bool dev);
void settings_free(struct tern_settings **set);

/* Read config text over the current values; filename names it in errors.
   Returns 0, or -1 with *error_r = "FILE:LINE: message" (allocated in
   set->arena). On error set is left partly updated: discard it. */
int settings_apply_buffer(struct tern_settings *set, const char *filename,
			  const void *data, size_t size, const char **error_r);
int settings_apply_file(struct tern_settings *set, const char *path, const char **error_r);

/* Where a config is looked for when neither -c FILE nor $TERN_CONFIG
   names one (DESIGN.md "Commands"). */
#ifndef TERN_DEFAULT_CONFIG
#define TERN_DEFAULT_CONFIG "/etc/tern/tern.toml"
#endif
#define TERN_CONFIG_ENV "TERN_CONFIG"

/* What every command does (DESIGN.md "Commands"): the defaults (the --dev
   ones when dev), then the file: path when given; else, without dev,
   $TERN_CONFIG when set and not empty, else TERN_DEFAULT_CONFIG when it
   exists; else an error that says how to name one. dev without path: the
   --dev defaults alone. Returns 0 and a new *set_r, or -1 with *error_r
   (malloc'd: the caller frees it): every bad key of the file, one
   "FILE:LINE: message" a line. */
int settings_load(const char *path, bool dev, struct tern_settings **set_r, char **error_r);
/* The same, for `tern serve --check`: when the file was read but some keys
   are bad, returns -1 and still gives *set_r (those keys keep their
   defaults and settings_key_failed() names them), so the rest can be
   checked too. *set_r is NULL when no file could be read or parsed. */
int settings_load_partial(const char *path, bool dev, struct tern_settings **set_r,
			  char **error_r);

/* The line of config_path that set a key ("data_dir", "tls.cert",
   "listen.smtp"), 0 when the file did not set it (a default). */
unsigned int settings_key_line(const struct tern_settings *set, const char *name);
/* Was the key in the file with a bad value (so its default is in place)? */
bool settings_key_failed(const struct tern_settings *set, const char *name);

/* "smtp", "submission", ... (also the [listen] key). */
const char *settings_listen_kind_name(enum tern_listen_kind kind);

/* Parse "addr:port" / "[v6addr]:port" / "host:port". numeric: host must be
   an IP address. default_port: used when ":port" is absent, 0 = port
   required. Strings are allocated in arena. -1 with a static *error_r. */
int settings_parse_hostport(struct arena *arena, const char *text, bool numeric,
			    uint16_t default_port, struct tern_hostport *hp_r,
			    const char **error_r);
/* Parse "192.0.2.0/24", "2001:db8::/32" or a bare address (a /32 or /128).
   Host bits set past the prefix are an error (a likely typo). */
int settings_parse_cidr(struct arena *arena, const char *text, struct tern_cidr *cidr_r,
			const char **error_r);
/* Does addr (AF_INET/AF_INET6; IPv4-mapped IPv6 counts as IPv4) fall in cidr? */
bool settings_cidr_match(const struct tern_cidr *cidr, const struct sockaddr *addr);
/* "30s", "1m", "4h", "5d", "2w" -> seconds (> 0, at most a year). */
int settings_parse_duration(const char *text, unsigned int *secs_r, const char **error_r);
/* Is address a plausible "local@domain" (no spaces or control
   characters, one domain that is a DNS name)? */
bool settings_valid_address(const char *address);
/* Is domain (any case) one of set->domains? */
bool settings_is_local_domain(const struct tern_settings *set, const char *domain);

#endif
