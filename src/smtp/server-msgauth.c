/*
 * Sender authentication in the SMTP server (src/msgauth/inbound.h does the
 * work): the check starts at MAIL FROM, the message streams through it on
 * its way to the queue (it holds the header back until it is whole, to
 * drop forged Authentication-Results fields), and at the end of data the
 * session waits for the verdict before the commit: a DMARC reject is the
 * 550 5.7.1 reply, a quarantine marks the envelope for the Junk folder,
 * and the Authentication-Results value goes into the envelope for
 * delivery. Also: the reverse of SRS for bounces to rewritten senders.
 *
 * The other server files call the smtp_msgauth_* functions of
 * server-private.h and know nothing else of it.
 */
#include "server-private.h"
#include "connection.h"
#include "arena.h"
#include "inbound.h"
#include "log.h"
#include "msgauth-context.h"
#include "net-loop.h"
#include "srs.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

static void verdict_cb(const struct msgauth_verdict *v, void *ctx);

int smtp_msgauth_start(struct smtp_server *server, const char **error_r)
{
	const struct tern_settings *set = server->set;
	struct dns_resolver_settings dset;

	if (server->msgauth == NULL)
		return 0;
	memset(&dset, 0, sizeof(dset));
	dset.servers = set->delivery_nameserver != NULL ? set->delivery_nameserver->text : NULL;
	server->dns = dns_resolver_new(net_loop_base(server->loop), &dset, error_r);
	if (server->dns == NULL)
		return -1;
	msgauth_dns_init_resolver(&server->mdns, server->dns);
	return 0;
}

void smtp_msgauth_stop(struct smtp_server *server)
{
	dns_resolver_free(&server->dns);
}

void smtp_msgauth_mail(struct smtp_session *session)
{
	struct smtp_server *server = session->server;
	struct smtp_transaction *trans = session->trans;
	struct msgauth_inbound_params p;
	const struct sockaddr *peer;
	socklen_t peer_len;
	uint32_t rnd = 0;

	if (server->msgauth == NULL)
		return;
	memset(&p, 0, sizeof(p));
	peer = net_conn_peer(session->conn, &peer_len);
	if (peer != NULL && peer_len <= sizeof(p.ip))
		memcpy(&p.ip, peer, peer_len);
	p.helo = session->helo;
	p.mail_from = trans->from;
	/* checked: mail from strangers on port 25; submission and clients of
	   relay.networks are ours (their forged Authentication-Results
	   fields go all the same) */
	p.verify = session->kind == TERN_LISTEN_SMTP && !trans->local_origin;
	/* ours: its DKIM signatures are made in the commit job */
	p.sign = trans->local_origin;
	p.now = time(NULL);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)random();
	p.random_pct = rnd % 100;
	trans->auth = msgauth_inbound_new(server->msgauth, net_loop_base(server->loop),
					  &server->mdns, &p);
	buf_init(&trans->auth_out, BUF_MAX_UNLIMITED);
}

int smtp_msgauth_filter(struct smtp_transaction *trans, const unsigned char **data,
			size_t *len)
{
	if (trans->auth == NULL)
		return 0;
	buf_reset(&trans->auth_out);
	if (msgauth_inbound_feed(trans->auth, *data, *len, &trans->auth_out) < 0)
		return -1;
	*data = trans->auth_out.data;
	*len = trans->auth_out.used;
	return 0;
}

bool smtp_msgauth_finish(struct smtp_session *session)
{
	struct smtp_transaction *trans = session->trans;
	const char *error;

	if (trans->auth == NULL)
		return false;
	buf_reset(&trans->auth_out);
	if (msgauth_inbound_finish(trans->auth, &trans->auth_out, verdict_cb, session) < 0)
		i_panic("smtp: unlimited buffer full");
	if (trans->writer != NULL && trans->auth_out.used > 0 &&
	    queue_writer_write(trans->writer, trans->auth_out.data, trans->auth_out.used,
			       &error) < 0) {
		trans->write_error = arena_strdup(trans->arena, error);
		log_error("smtp", "queue write failed session=%s id=%s error=%s", session->base.id,
			  trans->id, log_str(error));
		queue_writer_abort(&trans->writer);
	}
	/* no more input until the verdict is in */
	session->checking = true;
	smtp_session_update_input(session);
	return true;
}

static void verdict_cb(const struct msgauth_verdict *v, void *ctx)
{
	struct smtp_session *session = ctx;
	struct smtp_transaction *trans = session->trans;

	session->checking = false;
	smtp_session_update_input(session);
	if (v->forged_removed > 0)
		log_info("smtp", "forged authentication-results removed session=%s id=%s count=%u",
			 session->base.id, trans->id, v->forged_removed);
	if (v->log != NULL)
		log_info("smtp", "authentication session=%s id=%s %s action=%s", session->base.id,
			 trans->id, v->log, v->action == MSGAUTH_REJECT ? "reject" :
			 v->action == MSGAUTH_QUARANTINE ? "quarantine" : "accept");
	if (v->action == MSGAUTH_REJECT) {
		log_info("smtp", "rejected session=%s id=%s reason=%s from=<%s>", session->base.id,
			 trans->id, v->enhanced != NULL && strcmp(v->enhanced, "5.7.23") == 0 ?
			 "spf" : "dmarc", log_value(trans->from, strlen(trans->from), 200));
		queue_writer_abort(&trans->writer);
		smtp_reply(session, v->code, v->enhanced, "%s", v->text);
		smtp_data_transaction_over(session);
		smtp_session_check_disconnect(session);
		return;
	}
	trans->auth_results = arena_strdup(trans->arena, v->auth_results);
	trans->quarantine = v->action == MSGAUTH_QUARANTINE;
	smtp_data_commit(session);
}

void smtp_msgauth_sign(struct smtp_transaction *trans)
{
	buf_t sigs;

	if (trans->auth == NULL || !trans->local_origin)
		return;
	buf_init(&sigs, BUF_MAX_UNLIMITED);
	if (msgauth_inbound_sign(trans->auth, &sigs) > 0)
		trans->env.dkim_signatures = arena_strndup(trans->arena, sigs.data, sigs.used);
	buf_free(&sigs);
}

int smtp_msgauth_rcpt_srs(struct smtp_session *session, const char *address,
			  const char *domain, const char *local_part, const char **orig_r)
{
	const struct msgauth_context *ctx = session->server->msgauth;
	struct smtp_transaction *trans = session->trans;
	const char *error;
	int ret;

	if (ctx == NULL || !ctx->srs_on || i_strcasecmp(domain, ctx->srs.domain) != 0 ||
	    !srs_is_srs(local_part))
		return 0;
	ret = srs_reverse(trans->arena, &ctx->srs, address, time(NULL), orig_r, &error);
	if (ret < 0) {
		log_info("smtp", "srs refused session=%s rcpt=%s error=%s", session->base.id,
			 log_str(address), error);
		smtp_reply(session, 550, "5.1.1", "<%s>: Recipient address rejected: %s", address,
			   error);
		return -1;
	}
	if (ret > 0)
		log_info("smtp", "srs reversed session=%s rcpt=%s to=<%s>", session->base.id,
			 log_str(address), log_str(*orig_r));
	return ret;
}
