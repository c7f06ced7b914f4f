/*
 * The shared sender-authentication context of the server. See
 * msgauth-context.h.
 */
#include "msgauth-context.h"
#include "dkim-keys.h"
#include "dmarc-report.h"
#include "fs.h"
#include "psl.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#define SRS_SECRET_BYTES 32

const char *msgauth_srs_domain(const struct tern_settings *set)
{
	if (set->srs_domain[0] != '\0')
		return set->srs_domain;
	return set->domains_count > 0 ? set->domains[0] : set->hostname;
}

/* data_dir/srs.secret: made once (random), kept, so that addresses
   rewritten before a restart still take their bounces. */
static int load_srs_secret(struct msgauth_context *ctx, const char **error_r)
{
	static __thread char error[512];
	const struct tern_settings *set = ctx->set;
	char *path;
	ssize_t n;
	int fd;

	if (set->srs_secret[0] != '\0') {
		size_t len = strlen(set->srs_secret);

		if (len > sizeof(ctx->srs_secret))
			len = sizeof(ctx->srs_secret);
		memcpy(ctx->srs_secret, set->srs_secret, len);
		ctx->srs.secret_len = len;
		return 0;
	}
	path = i_strdup_printf("%s/srs.secret", set->data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, ctx->srs_secret, sizeof(ctx->srs_secret));
		close(fd);
		if (n >= 16) {
			ctx->srs.secret_len = (size_t)n;
			free(path);
			return 0;
		}
	} else if (errno != ENOENT) {
		snprintf(error, sizeof(error), "%s: %s", path, strerror(errno));
		free(path);
		*error_r = error;
		return -1;
	}
	if (getrandom(ctx->srs_secret, SRS_SECRET_BYTES, 0) != SRS_SECRET_BYTES) {
		free(path);
		*error_r = "no randomness for the SRS secret";
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fs_write_full(fd, ctx->srs_secret, SRS_SECRET_BYTES) < 0 || fsync(fd) < 0) {
		snprintf(error, sizeof(error), "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		*error_r = error;
		return -1;
	}
	close(fd);
	free(path);
	ctx->srs.secret_len = SRS_SECRET_BYTES;
	return 0;
}

int msgauth_context_new(const struct tern_settings *set, struct msgauth_context **ctx_r,
			const char **error_r)
{
	struct msgauth_context *ctx = i_malloc(sizeof(*ctx));

	ctx->set = set;
	ctx->authserv_id = set->hostname;
	*ctx_r = ctx;
	if (set->dmarc_verify) {
		ctx->psl = psl_load(set->dmarc_public_suffix_list, error_r);
		if (ctx->psl == NULL)
			goto fail;
	}
	ctx->keys = dkim_keystore_new(set->data_dir);
	if (set->srs_enabled) {
		if (load_srs_secret(ctx, error_r) < 0)
			goto fail;
		ctx->srs_on = true;
		ctx->srs.secret = ctx->srs_secret;
		ctx->srs.domain = msgauth_srs_domain(set);
		ctx->srs.max_age_days = (set->srs_max_age + 86399) / 86400;
	}
	if (set->arc_seal) {
		ctx->arc_domain = set->arc_domain[0] != '\0' ? set->arc_domain :
			set->domains_count > 0 ? set->domains[0] : NULL;
	}
	if (set->dmarc_reports && set->dmarc_verify) {
		ctx->reports = dmarc_reports_open(set->data_dir, error_r);
		if (ctx->reports == NULL)
			goto fail;
	}
	return 0;
fail:
	msgauth_context_free(ctx_r);
	return -1;
}

void msgauth_context_free(struct msgauth_context **ctxp)
{
	struct msgauth_context *ctx = *ctxp;

	if (ctx == NULL)
		return;
	*ctxp = NULL;
	psl_free(&ctx->psl);
	dkim_keystore_free(&ctx->keys);
	dmarc_reports_close(&ctx->reports);
	explicit_bzero(ctx->srs_secret, sizeof(ctx->srs_secret));
	free(ctx);
}
