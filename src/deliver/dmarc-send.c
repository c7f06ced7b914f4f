/*
 * DMARC aggregate reports as mail. See dmarc-send.h.
 */
#include "dmarc-send.h"
#include "arena.h"
#include "buf.h"
#include "builder.h"
#include "dmarc-report.h"
#include "dns.h"
#include "log.h"
#include "msgauth-context.h"
#include "net-loop.h"
#include "psl.h"
#include "queue.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>

#define EXTERNAL_CHECK_TIMEOUT_SECS 10

struct send_ctx {
	const struct tern_settings *set;
	const struct msgauth_context *ctx;
	struct queue *queue;
	char **ids;
	unsigned int count;
};

struct txt_answer {
	bool done;
	bool ok;
};

static void txt_done(const struct dns_result *res, void *ctx)
{
	struct txt_answer *a = ctx;
	unsigned int i;

	a->done = true;
	for (i = 0; res->status == DNS_FOUND && i < res->txt_count; i++) {
		if (dmarc_record_is_dmarc(res->txt[i], res->txt_lens[i]))
			a->ok = true;
	}
}

/* RFC 7489 7.1: may rua_domain have reports about policy_domain? It may when
   both belong to one organization, or when
   <policy_domain>._report._dmarc.<rua_domain> says v=DMARC1. */
static bool external_ok(struct arena *arena, const struct msgauth_context *ctx,
			const struct tern_settings *set, const char *policy_domain,
			const char *rua_domain)
{
	const char *a = psl_org_domain(ctx->psl, arena, policy_domain);
	const char *b = psl_org_domain(ctx->psl, arena, rua_domain);
	struct dns_resolver_settings dset = { NULL, 0, 0 };
	struct dns_resolver *resolver;
	struct net_loop *loop;
	struct txt_answer answer = { false, false };
	const char *error;
	time_t end;

	if (a != NULL && b != NULL && strcmp(a, b) == 0)
		return true;
	loop = net_loop_new();
	dset.servers = set->delivery_nameserver != NULL ? set->delivery_nameserver->text : NULL;
	resolver = dns_resolver_new(net_loop_base(loop), &dset, &error);
	if (resolver == NULL) {
		net_loop_free(&loop);
		return false;
	}
	dns_lookup(resolver, DNS_TYPE_TXT,
		   arena_printf(arena, "%s._report._dmarc.%s", policy_domain, rua_domain),
		   txt_done, &answer);
	end = time(NULL) + EXTERNAL_CHECK_TIMEOUT_SECS;
	while (!answer.done && time(NULL) < end)
		net_loop_run_once(loop, 100);
	dns_resolver_free(&resolver);
	net_loop_free(&loop);
	return answer.ok;
}

/* RFC 3986 2.1 percent-decoding of a mailto: address. */
static char *uri_decode(struct arena *arena, const char *s, size_t len)
{
	char *out = arena_alloc(arena, len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && i_hex_value((unsigned char)s[i + 1]) >= 0 &&
		    i_hex_value((unsigned char)s[i + 2]) >= 0) {
			out[n++] = (char)(i_hex_value((unsigned char)s[i + 1]) * 16 +
					  i_hex_value((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[n++] = s[i];
		}
	}
	out[n] = '\0';
	return out;
}

/* "!10m": a size limit (6.2), in bytes; 0 for none. */
static uint64_t size_limit(const char *bang)
{
	uint64_t n = 0;
	const char *p = bang + 1;

	while (*p >= '0' && *p <= '9' && n < UINT64_MAX / 10)
		n = n * 10 + (uint64_t)(*p++ - '0');
	switch (*p) {
	case 'k': return n * 1024;
	case 'm': return n * 1024 * 1024;
	case 'g': return n * 1024 * 1024 * 1024;
	case 't': return n * 1024ULL * 1024 * 1024 * 1024;
	default: return n;
	}
}

const char *const *dmarc_report_recipients(struct arena *arena, const struct msgauth_context *ctx,
					   const struct tern_settings *set,
					   const char *policy_domain, const char *const *rua,
					   unsigned int rua_count, size_t gz_size)
{
	const char **out = arena_new_array(arena, const char *, rua_count + 1);
	unsigned int i, n = 0;

	for (i = 0; i < rua_count; i++) {
		const char *uri = rua[i], *bang, *at;
		char *addr;

		if (i_strncasecmp(uri, "mailto:", 7) != 0)
			continue;   /* only mailto: is defined (6.2) */
		uri += 7;
		bang = strchr(uri, '!');
		addr = uri_decode(arena, uri, bang != NULL ? (size_t)(bang - uri) : strlen(uri));
		if (bang != NULL && size_limit(bang) > 0 && gz_size > size_limit(bang)) {
			log_info("dmarc", "report too big for rua=%s size=%zu", log_str(addr), gz_size);
			continue;
		}
		at = strrchr(addr, '@');
		if (at == NULL || at == addr || at[1] == '\0')
			continue;
		if (!external_ok(arena, ctx, set, policy_domain, at + 1)) {
			log_info("dmarc", "report not sent rua=%s domain=%s reason=\"no _report._dmarc "
				 "record (RFC 7489 7.1)\"", log_str(addr), log_str(policy_domain));
			continue;
		}
		out[n++] = addr;
	}
	out[n] = NULL;
	return out;
}

static const char *report_from(struct arena *arena, const struct tern_settings *set)
{
	if (set->dmarc_report_from[0] != '\0')
		return set->dmarc_report_from;
	return arena_printf(arena, "noreply-dmarc@%s", set->hostname);
}

static const char *org_name(const struct tern_settings *set)
{
	return set->dmarc_report_org[0] != '\0' ? set->dmarc_report_org : set->hostname;
}

static int send_one(const struct dmarc_report *report, void *context)
{
	struct send_ctx *s = context;
	struct arena *arena = arena_new(0);
	const char *const *to, *from = report_from(arena, s->set), *error;
	struct msg_builder *b;
	struct queue_writer *w;
	struct queue_envelope env;
	struct queue_rcpt *rcpts;
	unsigned int n, i;
	buf_t msg;
	char *text;

	to = dmarc_report_recipients(arena, s->ctx, s->set, report->policy_domain, report->rua,
				     report->rua_count, report->gz_size);
	for (n = 0; to[n] != NULL; n++)
		;
	if (n == 0) {
		/* nobody to send it to: its records go all the same */
		arena_free(&arena);
		return 0;
	}
	b = msg_builder_create(arena, s->set->hostname);
	buf_init(&msg, BUF_MAX_UNLIMITED);
	/* RFC 7489 7.2.1.1 */
	text = arena_printf(arena, "Report Domain: %s Submitter: %s Report-ID: <%s>",
			    report->policy_domain, org_name(s->set), report->report_id);
	msg_builder_set_subject(b, text);
	if (msg_builder_add_address(b, "From", NULL, from, &error) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (msg_builder_add_address(b, "To", NULL, to[i], &error) < 0)
			goto fail;
	}
	text = arena_printf(arena, "This is a DMARC aggregate report from %s for %s,\r\n"
			    "covering mail received from %lld to %lld (RFC 7489 7.2).\r\n",
			    org_name(s->set), report->policy_domain, (long long)report->begin,
			    (long long)report->end);
	msg_builder_set_text(b, text, strlen(text));
	if (msg_builder_add_attachment(b, report->filename, "application/gzip", report->gz,
				       report->gz_size, &error) < 0 ||
	    msg_builder_build(b, &msg, &error) < 0)
		goto fail;

	rcpts = arena_new_array(arena, struct queue_rcpt, n);
	for (i = 0; i < n; i++) {
		rcpts[i].address = to[i];
		/* no bounces about reports (RFC 7489 7.2.1.2 spirit: not worth it) */
		rcpts[i].notify = QUEUE_NOTIFY_NEVER;
		rcpts[i].state = QUEUE_RCPT_PENDING;
	}
	if ((w = queue_writer_new(s->queue, &error)) == NULL)
		goto fail;
	if (queue_writer_write(w, msg.data, msg.used, &error) < 0) {
		queue_writer_abort(&w);
		goto fail;
	}
	memset(&env, 0, sizeof(env));
	env.created = time(NULL);
	env.sender = from;
	env.client = "dmarc-report";
	env.local_origin = true;
	env.rcpts = rcpts;
	env.rcpt_count = n;
	text = arena_strdup(arena, queue_writer_id(w));
	if (queue_commit(&w, &env, &error) < 0)
		goto fail;
	log_info("dmarc", "report queued id=%s domain=%s rcpts=%u size=%zu", text,
		 log_str(report->policy_domain), n, report->gz_size);
	s->ids = i_realloc(s->ids, sizeof(char *) * (s->count + 1));
	s->ids[s->count++] = i_strdup(text);
	buf_free(&msg);
	arena_free(&arena);
	return 0;
fail:
	log_error("dmarc", "report not queued domain=%s error=%s", log_str(report->policy_domain),
		  log_str(error));
	buf_free(&msg);
	arena_free(&arena);
	return -1;
}

int dmarc_send_reports(const struct tern_settings *set, const struct msgauth_context *ctx,
		       struct queue *queue, time_t until, char ***ids_r, unsigned int *count_r,
		       const char **error_r)
{
	struct send_ctx s;
	struct arena *arena = arena_new(0);
	int ret;

	memset(&s, 0, sizeof(s));
	s.set = set;
	s.ctx = ctx;
	s.queue = queue;
	ret = dmarc_reports_generate(ctx->reports, org_name(set), report_from(arena, set), until,
				     send_one, &s, error_r);
	arena_free(&arena);
	*ids_r = s.ids;
	*count_r = s.count;
	return ret;
}
