/*
 * What outbound delivery adds for sender authentication, on the outbound
 * thread, to the bytes that are actually sent (after any 8-bit
 * conversion, so that the signatures cover what the next hop sees):
 *
 *   - DKIM-Signature fields (RFC 6376), one per key of the From domain,
 *     for mail that started here (a local user, sendmail, relay.networks,
 *     tern's own notices: queue_envelope.local_origin), never for mail from
 *     outside that an alias forwards;
 *   - an ARC set (RFC 8617) on mail from outside that an alias forwards to
 *     another domain, recording the checks made when it came in;
 *   - SRS for such mail's MAIL FROM, so that SPF at the destination
 *     passes and bounces come back (src/msgauth/srs.h).
 */
#include "outbound.h"
#include "address.h"
#include "arc.h"
#include "arena.h"
#include "authres.h"
#include "dkim-keys.h"
#include "header-parser.h"
#include "header.h"
#include "log.h"
#include "msgauth-context.h"
#include "queue.h"
#include "settings.h"
#include "srs.h"
#include "tern-limits.h"

#include <time.h>

/* The domain of the one From address, lowercase, or NULL. */
static const char *from_domain(struct arena *arena, const unsigned char *msg, size_t size)
{
	struct msg_header hdr;
	const struct msg_header_field *f;
	struct msg_address *a;
	char *domain;

	msg_header_parse_block(arena, msg, dkim_header_end(msg, size), 0,
			       TERN_MIME_MAX_HEADER_FIELDS, false, &hdr);
	if (msg_header_count(&hdr, "From") != 1)
		return NULL;
	f = msg_header_get(&hdr, "From");
	for (a = msg_address_parse(arena, f->value, f->value_len); a != NULL; a = a->next) {
		if (a->group_start || a->group_end || a->domain == NULL)
			continue;
		domain = arena_strdup(arena, a->domain);
		i_str_lower(domain);
		return domain;
	}
	return NULL;
}

int outbound_dkim_sign(const struct msgauth_context *ctx, const struct queue_envelope *env,
		       const unsigned char *msg, size_t size, buf_t *out)
{
	struct arena *arena;
	struct dkim_signer *signers;
	const char *domain, *error;
	unsigned int n, i;
	int signed_count = 0;

	if (ctx == NULL || !ctx->set->dkim_sign || !env->local_origin)
		return 0;
	arena = arena_new(0);
	domain = from_domain(arena, msg, size);
	n = domain == NULL ? 0 : dkim_keystore_signers(ctx->keys, domain, &signers);
	for (i = 0; i < n; i++) {
		if (dkim_sign_message(&signers[i], msg, size, dkim_default_signed_headers, 0,
				      time(NULL), out, &error) < 0)
			log_error("outbound", "dkim signing failed id=%s domain=%s selector=%s error=%s",
				  env->id, domain, signers[i].selector, error);
		else
			signed_count++;
	}
	if (n > 0)
		dkim_signers_free(signers, n);
	arena_free(&arena);
	return signed_count;
}

int outbound_arc_seal(const struct msgauth_context *ctx, const struct queue_envelope *env,
		      const unsigned char *msg, size_t size, buf_t *out)
{
	struct arena *arena;
	struct dkim_signer *signers;
	struct authres ar;
	enum arc_cv cv = ARC_CV_NONE;
	const char *error;
	unsigned int n, i, pick = 0;
	int ret = 0, found;

	if (ctx == NULL || ctx->arc_domain == NULL || env->local_origin || env->auth_results == NULL)
		return 0;
	n = dkim_keystore_signers(ctx->keys, ctx->arc_domain, &signers);
	if (n == 0)
		return 0;
	arena = arena_new(0);
	/* the chain as it was validated when the message came in */
	if (authres_parse(arena, env->auth_results, strlen(env->auth_results), &ar, &error) == 0) {
		found = authres_find(&ar, "arc");
		cv = found == MSGAUTH_PASS ? ARC_CV_PASS : found == MSGAUTH_NONE || found < 0 ?
			ARC_CV_NONE : ARC_CV_FAIL;
	}
	/* RSA: what every ARC validator knows */
	for (i = 0; i < n; i++) {
		if (signers[i].alg == DKIM_ALG_RSA_SHA256) {
			pick = i;
			break;
		}
	}
	if (arc_seal_message(&signers[pick], msg, size, cv, env->auth_results, time(NULL), out,
			     &error) < 0)
		log_error("outbound", "arc seal failed id=%s error=%s", env->id, error);
	else
		ret = 1;
	dkim_signers_free(signers, n);
	arena_free(&arena);
	return ret;
}

const char *outbound_srs_sender(const struct msgauth_context *ctx, struct arena *arena,
				const struct queue_envelope *env)
{
	const char *at;

	/* tern's own users' mail keeps its sender: its SPF is ours */
	if (ctx == NULL || !ctx->srs_on || env->sender[0] == '\0' || env->local_origin)
		return NULL;
	/* a sender of a local domain keeps its address: SPF is ours anyway */
	at = strrchr(env->sender, '@');
	if (at == NULL || settings_is_local_domain(ctx->set, at + 1))
		return NULL;
	return srs_forward(arena, &ctx->srs, env->sender, time(NULL));
}
