/*
 * tern dkim keygen|show|check DOMAIN: the DKIM keys of a local domain
 * (data_dir/dkim/<domain>/<selector>.key, src/msgauth/dkim-keys.h) and the
 * DNS records to publish for them, as opendkim-genkey and
 * opendkim-testkey would give an administrator. Outbound mail from the
 * domain is signed with its keys as soon as they exist.
 */
#include "lib.h"
#include "cli.h"
#include "cli-common.h"
#include "arena.h"
#include "buf.h"
#include "dkim-keys.h"
#include "dkim-verify.h"
#include "dns.h"
#include "net-loop.h"
#include "settings.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK_TIMEOUT_SECS 15

static const char usage[] =
	"usage: tern dkim keygen DOMAIN [-c FILE] [--selector S] [--algorithm rsa|ed25519]\n"
	"                          make a key (default: RSA-2048 and Ed25519, selectors\n"
	"                          rsa-YYYYMMDD and ed25519-YYYYMMDD) and print its DNS record\n"
	"       tern dkim show DOMAIN [-c FILE]    print the DNS records of the domain's keys\n"
	"       tern dkim check DOMAIN [-c FILE]   look the records up in DNS and compare\n";

static int print_record(const char *domain, const struct dkim_key_file *f)
{
	buf_t rec, line;
	int ret = 0;

	buf_init(&rec, BUF_MAX_UNLIMITED);
	buf_init(&line, BUF_MAX_UNLIMITED);
	if (dkim_key_record(f->pkey, &rec) < 0 ||
	    dkim_key_zone_line(f->selector, domain, buf_str(&rec), &line) < 0) {
		fprintf(stderr, "tern dkim: %s: cannot make the record\n", f->path);
		ret = -1;
	} else {
		printf("%s\n", buf_str(&line));
	}
	buf_free(&rec);
	buf_free(&line);
	return ret;
}

static int show(const struct tern_settings *set, const char *domain, const char *only)
{
	struct dkim_key_file *files;
	unsigned int count, i, shown = 0;
	const char *error;

	if (dkim_key_files(set->data_dir, domain, &files, &count, &error) < 0) {
		fprintf(stderr, "tern dkim: %s: %s\n", domain, error);
		return 1;
	}
	for (i = 0; i < count; i++) {
		if (only != NULL && strcmp(files[i].selector, only) != 0)
			continue;
		if (print_record(domain, &files[i]) < 0) {
			dkim_key_files_free(files, count);
			return 1;
		}
		shown++;
	}
	dkim_key_files_free(files, count);
	if (shown == 0) {
		fprintf(stderr, "tern dkim: no DKIM key for %s (make one: tern dkim keygen %s)\n",
			domain, domain);
		return 1;
	}
	return 0;
}

static int keygen(const struct tern_settings *set, const char *domain, const char *selector,
		  const char *algorithm)
{
	char date[16], sel[80];
	time_t now = time(NULL);
	struct tm tm;
	const char *error;
	int ret = 0;
	unsigned int i;
	static const enum dkim_key_type both[] = { DKIM_KEY_RSA, DKIM_KEY_ED25519 };

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	for (i = 0; i < N_ELEMENTS(both); i++) {
		enum dkim_key_type type = both[i];
		char *path;

		if (algorithm != NULL && strcmp(algorithm, type == DKIM_KEY_RSA ? "rsa" : "ed25519") != 0)
			continue;
		/* --selector alone: one key, RSA (what every verifier knows) */
		if (algorithm == NULL && selector != NULL && type != DKIM_KEY_RSA)
			continue;
		snprintf(sel, sizeof(sel), "%s", selector != NULL ? selector :
			 type == DKIM_KEY_RSA ? "rsa-" : "ed25519-");
		if (selector == NULL)
			snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), "%s", date);
		path = dkim_keygen(set->data_dir, domain, sel, type, &error);
		if (path == NULL) {
			fprintf(stderr, "tern dkim: %s\n", error);
			return 1;
		}
		fprintf(stderr, "tern dkim: wrote %s; publish:\n", path);
		free(path);
		ret |= show(set, domain, sel);
	}
	return ret;
}

struct lookup {
	bool done;
	enum dns_status status;
	char **txt;
	size_t *lens;
	unsigned int count;
	const char *error;
};

static void lookup_done(const struct dns_result *res, void *ctx)
{
	struct lookup *l = ctx;
	unsigned int i;

	l->done = true;
	l->status = res->status;
	l->error = res->error;
	l->count = res->txt_count;
	l->txt = i_malloc(sizeof(char *) * (res->txt_count + 1));
	l->lens = i_malloc(sizeof(size_t) * (res->txt_count + 1));
	for (i = 0; i < res->txt_count; i++) {
		l->txt[i] = i_strndup(res->txt[i], res->txt_lens[i]);
		l->lens[i] = res->txt_lens[i];
	}
}

/* Is the published record the key of f? NULL, or what is wrong. */
static const char *compare(const struct lookup *l, const struct dkim_key_file *f)
{
	struct arena *arena;
	const char *result = "the published record is not a DKIM key";
	unsigned int i;

	if (l->status == DNS_NXDOMAIN || l->status == DNS_NODATA)
		return "no record published";
	if (l->status != DNS_FOUND)
		return "DNS lookup failed";
	arena = arena_new(0);
	for (i = 0; i < l->count; i++) {
		struct dkim_key key;
		unsigned int bits;
		const char *error;
		EVP_PKEY *pub;

		if (dkim_key_parse(arena, l->txt[i], l->lens[i], &key, &error) < 0)
			continue;
		pub = dkim_key_load(&key, f->alg, &bits, &error);
		if (pub == NULL) {
			result = "the published key is revoked or unusable";
			continue;
		}
		result = EVP_PKEY_eq(pub, f->pkey) == 1 ? NULL :
			"the published record does not match the key";
		EVP_PKEY_free(pub);
		if (result == NULL)
			break;
	}
	arena_free(&arena);
	return result;
}

static int check(const struct tern_settings *set, const char *domain)
{
	struct dkim_key_file *files;
	unsigned int count, i, k;
	const char *error;
	struct net_loop *loop;
	struct dns_resolver *resolver;
	struct dns_resolver_settings dset = { NULL, 0, 0 };
	int ret = 0;

	if (dkim_key_files(set->data_dir, domain, &files, &count, &error) < 0) {
		fprintf(stderr, "tern dkim: %s: %s\n", domain, error);
		return 1;
	}
	if (count == 0) {
		fprintf(stderr, "tern dkim: no DKIM key for %s (make one: tern dkim keygen %s)\n",
			domain, domain);
		return 1;
	}
	loop = net_loop_new();
	dset.servers = set->delivery_nameserver != NULL ? set->delivery_nameserver->text : NULL;
	resolver = dns_resolver_new(net_loop_base(loop), &dset, &error);
	if (resolver == NULL) {
		fprintf(stderr, "tern dkim: DNS: %s\n", error);
		dkim_key_files_free(files, count);
		net_loop_free(&loop);
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct arena *arena = arena_new(0);
		const char *name = dkim_key_name(arena, files[i].selector, domain), *problem;
		struct lookup l;
		time_t end = time(NULL) + CHECK_TIMEOUT_SECS;

		memset(&l, 0, sizeof(l));
		dns_lookup(resolver, DNS_TYPE_TXT, name, lookup_done, &l);
		while (!l.done && time(NULL) < end)
			net_loop_run_once(loop, 100);
		problem = l.done ? compare(&l, &files[i]) : "DNS lookup timed out";
		if (problem == NULL) {
			printf("%s: ok (%s key matches)\n", name, dkim_alg_name(files[i].alg));
		} else {
			printf("%s: %s%s%s\n", name, problem,
			       l.done && l.status == DNS_TEMPFAIL ? ": " : "",
			       l.done && l.status == DNS_TEMPFAIL ? l.error : "");
			ret = 1;
		}
		for (k = 0; k < l.count; k++)
			free(l.txt[k]);
		free(l.txt);
		free(l.lens);
		arena_free(&arena);
	}
	dns_resolver_free(&resolver);
	net_loop_free(&loop);
	dkim_key_files_free(files, count);
	return ret;
}

int cmd_dkim(int argc, char **argv)
{
	struct tern_settings *set;
	const char *config_path, *sub, *domain = NULL, *selector = NULL, *algorithm = NULL;
	char *lower;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
	}
	if (argc < 3 || cli_take_config_opt(&argc, argv, &config_path) < 0) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	sub = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc)
			selector = argv[++i];
		else if (strcmp(argv[i], "--algorithm") == 0 && i + 1 < argc)
			algorithm = argv[++i];
		else if (argv[i][0] != '-' && domain == NULL)
			domain = argv[i];
		else {
			fprintf(stderr, "tern dkim: unexpected argument '%s'\n", argv[i]);
			fputs(usage, stderr);
			return EX_USAGE;
		}
	}
	if (domain == NULL || (strcmp(sub, "keygen") != 0 && (selector != NULL || algorithm != NULL)) ||
	    (strcmp(sub, "keygen") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "check") != 0)) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	if (algorithm != NULL && strcmp(algorithm, "rsa") != 0 && strcmp(algorithm, "ed25519") != 0) {
		fprintf(stderr, "tern dkim: --algorithm is rsa or ed25519\n");
		return EX_USAGE;
	}
	if (selector != NULL && !dkim_selector_valid(selector)) {
		fprintf(stderr, "tern dkim: bad selector '%s'\n", selector);
		return EX_USAGE;
	}
	if ((set = cli_load_settings(config_path)) == NULL)
		return 1;
	lower = i_strdup(domain);
	i_str_lower(lower);
	if (lower[0] != '\0' && lower[strlen(lower) - 1] == '.')
		lower[strlen(lower) - 1] = '\0';
	if (strcmp(sub, "keygen") == 0)
		ret = keygen(set, lower, selector, algorithm);
	else if (strcmp(sub, "show") == 0)
		ret = show(set, lower, NULL);
	else
		ret = check(set, lower);
	free(lower);
	settings_free(&set);
	return ret;
}
