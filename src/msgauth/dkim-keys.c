/*
 * DKIM keys on disk and the cache outbound signing reads them through.
 * See dkim-keys.h.
 */
#include "dkim-keys.h"
#include "base64.h"
#include "fs.h"
#include "msgauth.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYSTORE_MAX_DOMAINS 1024
#define KEYS_PER_DOMAIN_MAX 16

struct domain_keys {
	char *domain;
	struct timespec mtime;       /* of the domain's folder when read */
	bool exists;
	struct dkim_key_file *files;
	unsigned int count;
};

struct dkim_keystore {
	char *dir;                   /* data_dir/dkim */
	pthread_mutex_t lock;
	struct domain_keys *domains;
	unsigned int count;
};

bool dkim_selector_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= 63 && name[0] != '.' && name[len - 1] != '.' &&
	       strstr(name, "..") == NULL && msgauth_domain_valid(name, len, false);
}

struct dkim_keystore *dkim_keystore_new(const char *data_dir)
{
	struct dkim_keystore *ks = i_malloc(sizeof(*ks));

	ks->dir = i_strdup_printf("%s/dkim", data_dir);
	pthread_mutex_init(&ks->lock, NULL);
	return ks;
}

void dkim_key_files_free(struct dkim_key_file *files, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		free(files[i].selector);
		free(files[i].path);
		EVP_PKEY_free(files[i].pkey);
	}
	free(files);
}

void dkim_keystore_free(struct dkim_keystore **ksp)
{
	struct dkim_keystore *ks = *ksp;
	unsigned int i;

	if (ks == NULL)
		return;
	*ksp = NULL;
	for (i = 0; i < ks->count; i++) {
		free(ks->domains[i].domain);
		dkim_key_files_free(ks->domains[i].files, ks->domains[i].count);
	}
	free(ks->domains);
	pthread_mutex_destroy(&ks->lock);
	free(ks->dir);
	free(ks);
}

static EVP_PKEY *read_key(const char *path, const char **error_r)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *pkey;

	if (f == NULL) {
		*error_r = strerror(errno);
		return NULL;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL)
		*error_r = "not a PEM private key";
	return pkey;
}

static int cmp_files(const void *a, const void *b)
{
	const struct dkim_key_file *fa = a, *fb = b;

	/* RSA first (the widest support), then by selector */
	if (fa->alg != fb->alg)
		return fa->alg == DKIM_ALG_RSA_SHA256 ? -1 : 1;
	return strcmp(fa->selector, fb->selector);
}

/* A domain name safe as a folder name. */
static bool domain_ok(const char *domain)
{
	return msgauth_domain_valid(domain, strlen(domain), false) && domain[0] != '.' &&
	       strstr(domain, "..") == NULL && domain[strlen(domain) - 1] != '.';
}

static int read_folder(const char *dir, struct dkim_key_file **files_r, unsigned int *count_r,
		       const char **error_r)
{
	static __thread char error[512];
	struct dkim_key_file *files = NULL;
	unsigned int count = 0;
	struct dirent *de;
	DIR *d;

	*files_r = NULL;
	*count_r = 0;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(error, sizeof(error), "%s: %s", dir, strerror(errno));
		*error_r = error;
		return -1;
	}
	while ((de = readdir(d)) != NULL && count < KEYS_PER_DOMAIN_MAX) {
		size_t len = strlen(de->d_name);
		char *selector, *path;
		const char *kerror;
		EVP_PKEY *pkey;
		int type;

		if (len <= 4 || strcmp(de->d_name + len - 4, ".key") != 0)
			continue;
		selector = i_strndup(de->d_name, len - 4);
		if (!dkim_selector_valid(selector)) {
			free(selector);
			continue;
		}
		path = i_strdup_printf("%s/%s", dir, de->d_name);
		pkey = read_key(path, &kerror);
		type = pkey != NULL ? EVP_PKEY_get_base_id(pkey) : 0;
		if (type != EVP_PKEY_RSA && type != EVP_PKEY_ED25519) {
			EVP_PKEY_free(pkey);
			free(selector);
			free(path);
			continue;
		}
		files = i_realloc(files, sizeof(*files) * (count + 1));
		files[count].selector = selector;
		files[count].path = path;
		files[count].pkey = pkey;
		files[count].alg = type == EVP_PKEY_ED25519 ? DKIM_ALG_ED25519_SHA256 :
			DKIM_ALG_RSA_SHA256;
		count++;
	}
	closedir(d);
	if (count > 1)
		qsort(files, count, sizeof(*files), cmp_files);
	*files_r = files;
	*count_r = count;
	return 0;
}

int dkim_key_files(const char *data_dir, const char *domain, struct dkim_key_file **files_r,
		   unsigned int *count_r, const char **error_r)
{
	char *dir;
	int ret;

	if (!domain_ok(domain)) {
		*error_r = "bad domain name";
		return -1;
	}
	dir = i_strdup_printf("%s/dkim/%s", data_dir, domain);
	ret = read_folder(dir, files_r, count_r, error_r);
	free(dir);
	return ret;
}

unsigned int dkim_keystore_signers(struct dkim_keystore *ks, const char *domain,
				   struct dkim_signer **signers_r)
{
	struct domain_keys *dk = NULL;
	struct dkim_signer *signers;
	struct stat st;
	unsigned int i, n;
	bool exists;
	char *dir;

	*signers_r = NULL;
	if (!domain_ok(domain))
		return 0;
	dir = i_strdup_printf("%s/%s", ks->dir, domain);
	exists = stat(dir, &st) == 0;
	pthread_mutex_lock(&ks->lock);
	for (i = 0; i < ks->count; i++) {
		if (strcmp(ks->domains[i].domain, domain) == 0) {
			dk = &ks->domains[i];
			break;
		}
	}
	if (dk == NULL && ks->count < KEYSTORE_MAX_DOMAINS) {
		ks->domains = i_realloc(ks->domains, sizeof(*ks->domains) * (ks->count + 1));
		dk = &ks->domains[ks->count++];
		memset(dk, 0, sizeof(*dk));
		dk->domain = i_strdup(domain);
		dk->mtime.tv_sec = -1;
	}
	if (dk != NULL && (exists != dk->exists || (exists &&
	    (st.st_mtim.tv_sec != dk->mtime.tv_sec || st.st_mtim.tv_nsec != dk->mtime.tv_nsec)))) {
		/* the folder came, went or changed: read it again */
		const char *error;

		dkim_key_files_free(dk->files, dk->count);
		dk->files = NULL;
		dk->count = 0;
		dk->exists = exists;
		if (exists) {
			dk->mtime = st.st_mtim;
			if (read_folder(dir, &dk->files, &dk->count, &error) < 0)
				dk->count = 0;
		}
	}
	n = dk != NULL ? dk->count : 0;
	signers = n > 0 ? i_malloc(sizeof(*signers) * n) : NULL;
	for (i = 0; i < n; i++) {
		signers[i].domain = i_strdup(dk->domain);
		signers[i].selector = i_strdup(dk->files[i].selector);
		signers[i].alg = dk->files[i].alg;
		signers[i].pkey = dk->files[i].pkey;
		EVP_PKEY_up_ref(signers[i].pkey);
	}
	pthread_mutex_unlock(&ks->lock);
	free(dir);
	*signers_r = signers;
	return n;
}

void dkim_signers_free(struct dkim_signer *signers, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		free((char *)(uintptr_t)signers[i].domain);
		free((char *)(uintptr_t)signers[i].selector);
		EVP_PKEY_free(signers[i].pkey);
	}
	free(signers);
}

char *dkim_keygen(const char *data_dir, const char *domain, const char *selector,
		  enum dkim_key_type type, const char **error_r)
{
	static __thread char error[512];
	EVP_PKEY *pkey = NULL;
	char *dir, *path, *failed = NULL;
	FILE *f;
	int fd;

	if (!domain_ok(domain)) {
		*error_r = "bad domain name";
		return NULL;
	}
	if (!dkim_selector_valid(selector)) {
		*error_r = "bad selector (letters, digits, '-' and '_', dots between)";
		return NULL;
	}
	pkey = type == DKIM_KEY_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
		EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIM_RSA_BITS);
	if (pkey == NULL) {
		*error_r = "key generation failed";
		return NULL;
	}
	dir = i_strdup_printf("%s/dkim/%s", data_dir, domain);
	if (fs_mkdir_parents(dir, 0700, 0700, &failed) < 0) {
		snprintf(error, sizeof(error), "mkdir %s: %s", failed != NULL ? failed : dir,
			 strerror(errno));
		free(failed);
		free(dir);
		EVP_PKEY_free(pkey);
		*error_r = error;
		return NULL;
	}
	path = i_strdup_printf("%s/%s.key", dir, selector);
	free(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(error, sizeof(error), "%s: %s", path,
			 errno == EEXIST ? "a key with this selector exists already" : strerror(errno));
		free(path);
		EVP_PKEY_free(pkey);
		*error_r = error;
		return NULL;
	}
	f = fdopen(fd, "w");
	if (f == NULL || PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fflush(f) != 0 || fsync(fileno(f)) < 0) {
		snprintf(error, sizeof(error), "%s: cannot write the key", path);
		if (f != NULL)
			fclose(f);
		else
			close(fd);
		unlink(path);
		free(path);
		EVP_PKEY_free(pkey);
		*error_r = error;
		return NULL;
	}
	fclose(f);
	EVP_PKEY_free(pkey);
	return path;
}

int dkim_key_record(EVP_PKEY *pkey, buf_t *out)
{
	unsigned char raw[64], *der = NULL;
	size_t raw_len = sizeof(raw);
	int der_len, ret;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		/* RFC 8463 4: the raw 32-byte public key */
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len) != 1)
			return -1;
		if (buf_append_str(out, "v=DKIM1; k=ed25519; p=") < 0)
			return -1;
		return base64_encode(raw, raw_len, out);
	}
	/* the SubjectPublicKeyInfo, as every signer publishes */
	der_len = i2d_PUBKEY(pkey, &der);
	if (der_len <= 0)
		return -1;
	ret = buf_append_str(out, "v=DKIM1; k=rsa; p=");
	if (ret == 0)
		ret = base64_encode(der, (size_t)der_len, out);
	OPENSSL_free(der);
	return ret;
}

int dkim_key_zone_line(const char *selector, const char *domain, const char *record,
		       buf_t *out)
{
	size_t len = strlen(record), i;

	if (buf_printf(out, "%s._domainkey.%s. IN TXT", selector, domain) < 0)
		return -1;
	for (i = 0; i < len; i += 255) {
		if (buf_printf(out, " \"%.*s\"", (int)I_MIN(255, len - i), record + i) < 0)
			return -1;
	}
	return 0;
}
