/*
 * Delivery status notifications: RFC 3464 (the report format), RFC 3461
 * (when they are owed, what they return), RFC 6522 (multipart/report),
 * RFC 3463 (status codes), RFC 3834 (Auto-Submitted).
 */
#include "dsn.h"
#include "accounts.h"
#include "arena.h"
#include "builder.h"
#include "date.h"
#include "header.h"
#include "log.h"
#include "mime.h"
#include "queue.h"
#include "rfc2047.h"
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* DSN_MAX_SIZE, DSN_HEADER_READ_MAX, DSN_DIAGNOSTIC_MAX: tern-limits.h */

struct rcpt_report {
	const struct queue_rcpt *rcpt;
	const char *status;
	const char *remote_mta;
	const char *diagnostic;     /* "type; text", sanitised, or NULL */
	const char *reason;         /* the diagnostic's text for people, or NULL */
};

static const char *sanitize(struct arena *arena, const char *s, bool allow_8bit);
static const char *status_from(struct arena *arena, const char *diagnostic,
			       enum dsn_action action);
static int append_field(buf_t *b, const char *name, const char *value);
static size_t header_end(const unsigned char *data, size_t size);
static const char *address_type(const char *address);
static const char *plain_date(time_t t, char buf[MSG_DATE_MAX]);

const char *dsn_action_name(enum dsn_action action)
{
	switch (action) {
	case DSN_ACTION_FAILED:
		return "failed";
	case DSN_ACTION_DELAYED:
		return "delayed";
	case DSN_ACTION_DELIVERED:
		return "delivered";
	case DSN_ACTION_RELAYED:
		return "relayed";
	case DSN_ACTION_EXPANDED:
		return "expanded";
	}
	i_panic("dsn: bad action %d", (int)action);
}

bool dsn_wanted(const struct queue_envelope *env, const struct queue_rcpt *rcpt,
		enum dsn_action action)
{
	/* RFC 3461 5.2.1 / RFC 5321 4.5.5: no notification to the null
	   reverse path, so a bounce is never bounced */
	if (env->sender == NULL || env->sender[0] == '\0')
		return false;
	if ((rcpt->notify & QUEUE_NOTIFY_NEVER) != 0)
		return false;
	switch (action) {
	case DSN_ACTION_FAILED:
		return rcpt->notify == QUEUE_NOTIFY_DEFAULT ||
		       (rcpt->notify & QUEUE_NOTIFY_FAILURE) != 0;
	case DSN_ACTION_DELAYED:
		/* RFC 3461 4.1: without NOTIFY "FAILURE" or "FAILURE,DELAY"
		   at the MTA's choice; we take the latter */
		return rcpt->notify == QUEUE_NOTIFY_DEFAULT ||
		       (rcpt->notify & QUEUE_NOTIFY_DELAY) != 0;
	case DSN_ACTION_DELIVERED:
	case DSN_ACTION_RELAYED:
	case DSN_ACTION_EXPANDED:
		/* RFC 3461 5.2.2, 5.2.3: only when SUCCESS was asked for */
		return (rcpt->notify & QUEUE_NOTIFY_SUCCESS) != 0;
	}
	return false;
}

bool dsn_return_full(const struct queue_envelope *env, enum dsn_action action,
		     uint64_t original_size)
{
	switch (env->ret) {
	case QUEUE_RET_HDRS:
		return false;
	case QUEUE_RET_FULL:
		return original_size <= DSN_RETURN_FULL_MAX;
	case QUEUE_RET_DEFAULT:
		break;
	}
	return action == DSN_ACTION_FAILED && original_size <= DSN_RETURN_DEFAULT_MAX;
}

/* One line of printable text for a report field: control bytes (CR, LF,
   TAB...) become spaces, runs of spaces shrink to one, 8-bit bytes become
   '?' unless allowed, and the result is cut at DSN_DIAGNOSTIC_MAX. */
static const char *sanitize(struct arena *arena, const char *s, bool allow_8bit)
{
	size_t len = strlen(s), i, o = 0;
	char *out = arena_alloc(arena, len + 1);

	for (i = 0; i < len && o < DSN_DIAGNOSTIC_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (c >= 0x80 && !allow_8bit)
			c = '?';
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

static bool is_status_code(const char *p, size_t *len_r)
{
	/* RFC 3463 2: class "." subject "." detail; class 2, 4 or 5,
	   subject and detail 1-3 digits */
	size_t i = 0, n;
	int part;

	if (p[0] != '2' && p[0] != '4' && p[0] != '5')
		return false;
	i = 1;
	for (part = 0; part < 2; part++) {
		if (p[i] != '.')
			return false;
		i++;
		for (n = 0; p[i] >= '0' && p[i] <= '9'; i++, n++)
			;
		if (n < 1 || n > 3)
			return false;
	}
	if (p[i] != '\0' && p[i] != ' ' && p[i] != '\t')
		return false;
	*len_r = i;
	return true;
}

/* The RFC 3463 status from an SMTP reply in the diagnostic ("smtp; 550
   5.1.1 ..."): its enhanced code, else the reply's class with ".0.0";
   else x.0.0 by action. */
static const char *status_from(struct arena *arena, const char *diagnostic,
			       enum dsn_action action)
{
	const char *p, *semi;
	size_t len;

	if (diagnostic != NULL) {
		semi = strchr(diagnostic, ';');
		p = semi != NULL ? semi + 1 : diagnostic;
		while (*p == ' ')
			p++;
		if (p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
		    p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-' || p[3] == '\0')) {
			const char *q = p + 3;

			while (*q == ' ' || *q == '-')
				q++;
			if (is_status_code(q, &len))
				return arena_strndup(arena, q, len);
			if (p[0] == '2' || p[0] == '4' || p[0] == '5')
				return arena_printf(arena, "%c.0.0", p[0]);
		}
		if (is_status_code(p, &len))
			return arena_strndup(arena, p, len);
	}
	switch (action) {
	case DSN_ACTION_FAILED:
		return "5.0.0";
	case DSN_ACTION_DELAYED:
		return "4.0.0";
	default:
		return "2.0.0";
	}
}

/* "Name: value" folded at spaces near 78 columns (RFC 5322 2.2.3, which
   RFC 3464 2.1 applies to the report's fields). */
static int append_field(buf_t *b, const char *name, const char *value)
{
	size_t col, len;
	const char *p = value, *sp;
	int ret = 0;

	ret |= buf_printf(b, "%s: ", name);
	col = strlen(name) + 2;
	while (*p != '\0') {
		sp = strchr(p + 1, ' ');
		len = sp == NULL ? strlen(p) : (size_t)(sp - p);
		if (col + len > MSG_BUILDER_LINE_PREFERRED && p != value && *p == ' ') {
			ret |= buf_append_str(b, "\r\n");
			col = 0;
		}
		ret |= buf_append(b, p, len);
		col += len;
		p += len;
	}
	ret |= buf_append_str(b, "\r\n");
	return ret == 0 ? 0 : -1;
}

/* Offset just past the blank line ending the header, or size when none. */
static size_t header_end(const unsigned char *data, size_t size)
{
	size_t i;

	if (size > 0 && data[0] == '\n')
		return 1;
	if (size > 1 && data[0] == '\r' && data[1] == '\n')
		return 2;
	for (i = 0; i + 1 < size; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < size && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return size;
}

/* RFC 3464 2.3.2 address-type: rfc822, or utf-8 (RFC 6533 3) for
   internationalised addresses. */
static const char *address_type(const char *address)
{
	return i_str_has_8bit(address) ? "utf-8" : "rfc822";
}

static const char *plain_date(time_t t, char buf[MSG_DATE_MAX])
{
	return msg_date_format(t, msg_date_local_offset(t), buf);
}

static int build_status_part(const struct tern_settings *set, struct arena *arena,
			     const struct queue_envelope *env, const struct rcpt_report *reports, unsigned int count,
			     enum dsn_action action, time_t now, bool utf8, buf_t *b)
{
	char date[MSG_DATE_MAX];
	unsigned int i;
	int ret = 0;

	/* RFC 3464 2.2: per-message fields */
	ret |= buf_printf(b, "Reporting-MTA: dns; %s\r\n", set->hostname);
	if (env->envid != NULL && env->envid[0] != '\0')
		ret |= append_field(b, "Original-Envelope-Id", sanitize(arena, env->envid, false));
	if (env->created != 0)
		ret |= buf_printf(b, "Arrival-Date: %s\r\n", plain_date(env->created, date));

	/* RFC 3464 2.3: one group per recipient, each after a blank line */
	for (i = 0; i < count; i++) {
		const struct rcpt_report *r = &reports[i];
		const struct queue_rcpt *rcpt = r->rcpt;
		const char *orig = rcpt->original != NULL ? rcpt->original : rcpt->address;

		ret |= buf_append_str(b, "\r\n");
		/* RFC 3464 2.3.1: the ORCPT as given (RFC 3461 4.2); without
		   one, the address the sender's RCPT TO named */
		if (rcpt->orcpt != NULL && strchr(rcpt->orcpt, ';') != NULL)
			ret |= append_field(b, "Original-Recipient",
					    sanitize(arena, rcpt->orcpt, utf8));
		else
			ret |= buf_printf(b, "Original-Recipient: %s;%s\r\n", address_type(orig),
					  sanitize(arena, orig, utf8));
		ret |= buf_printf(b, "Final-Recipient: %s;%s\r\n", address_type(rcpt->address),
				  sanitize(arena, rcpt->address, utf8));
		ret |= buf_printf(b, "Action: %s\r\n", dsn_action_name(action));
		ret |= buf_printf(b, "Status: %s\r\n", r->status);
		/* RFC 3464 2.3.5: mta-name-type "dns", the host's name only
		   ("mx.example.test [192.0.2.7]" -> "mx.example.test") */
		if (r->remote_mta != NULL && r->remote_mta[0] != '\0')
			ret |= buf_printf(b, "Remote-MTA: dns; %.*s\r\n",
					  (int)strcspn(r->remote_mta, " "), r->remote_mta);
		if (r->diagnostic != NULL)
			ret |= append_field(b, "Diagnostic-Code", r->diagnostic);
		ret |= buf_printf(b, "Last-Attempt-Date: %s\r\n",
				  plain_date(rcpt->last_attempt != 0 ? rcpt->last_attempt : now, date));
		if (action == DSN_ACTION_DELAYED && set->delivery_bounce_after > 0 && env->created != 0)
			ret |= buf_printf(b, "Will-Retry-Until: %s\r\n",
					  plain_date(env->created + (time_t)set->delivery_bounce_after,
						     date));
	}
	return ret == 0 ? 0 : -1;
}

static int build_text_part(const struct tern_settings *set, struct arena *arena,
			   const struct queue_envelope *env, const struct msg_header *hdr,
			   const struct rcpt_report *reports, unsigned int count,
			   enum dsn_action action, buf_t *t)
{
	const struct msg_header_field *subject, *date;
	char until[MSG_DATE_MAX];
	unsigned int i;
	int ret = 0;

	ret |= buf_printf(t, "This is the mail system at %s.\n\n", set->hostname);
	switch (action) {
	case DSN_ACTION_FAILED:
		ret |= buf_append_str(t,
			"Your message could not be delivered to the recipients below.\n"
			"This is a permanent failure: the mail system has given up on them.\n");
		break;
	case DSN_ACTION_DELAYED:
		ret |= buf_append_str(t,
			"Your message has not yet been delivered to the recipients below.\n"
			"The mail system keeps trying; you do not need to send it again.\n");
		if (set->delivery_bounce_after > 0 && env->created != 0)
			ret |= buf_printf(t, "If it still cannot be delivered by %s,\n"
					  "you will get another notice.\n",
					  plain_date(env->created + (time_t)set->delivery_bounce_after,
						     until));
		break;
	case DSN_ACTION_DELIVERED:
		ret |= buf_append_str(t,
			"Your message was delivered to the recipients below,\n"
			"as you asked to be told.\n");
		break;
	case DSN_ACTION_RELAYED:
		ret |= buf_append_str(t,
			"Your message was passed on to the recipients below through a mail\n"
			"system that does not report delivery, so this is the last notice\n"
			"you will get about them.\n");
		break;
	case DSN_ACTION_EXPANDED:
		ret |= buf_append_str(t,
			"Your message was delivered to the recipients below, which are lists\n"
			"or aliases; they passed it on to their members.\n");
		break;
	}
	ret |= buf_append_str(t, "\n");
	for (i = 0; i < count; i++) {
		const struct queue_rcpt *rcpt = reports[i].rcpt;

		ret |= buf_printf(t, "<%s>", rcpt->address);
		if (rcpt->original != NULL && strcmp(rcpt->original, rcpt->address) != 0)
			ret |= buf_printf(t, " (reached through <%s>)", rcpt->original);
		if (reports[i].reason != NULL)
			ret |= buf_printf(t, ":\n    %s", reports[i].reason);
		ret |= buf_append_str(t, "\n");
	}
	subject = hdr == NULL ? NULL : msg_header_get(hdr, "Subject");
	date = hdr == NULL ? NULL : msg_header_get(hdr, "Date");
	ret |= buf_append_str(t, "\nThe message");
	if (subject != NULL)
		ret |= buf_printf(t, " \"%s\"",
				  sanitize(arena, rfc2047_decode(arena, subject->value,
								 subject->value_len), true));
	if (date != NULL)
		ret |= buf_printf(t, " of %s", sanitize(arena, date->value, false));
	ret |= buf_append_str(t, action == DSN_ACTION_FAILED ?
			      " is attached, with the technical report.\n" :
			      " (its header) is attached, with the technical report.\n");
	if (action == DSN_ACTION_FAILED)
		ret |= buf_printf(t, "\nFor help, write to postmaster@%s and include this notice.\n",
				  set->hostname);
	return ret == 0 ? 0 : -1;
}

int dsn_build(const struct tern_settings *set, struct arena *arena,
	      const struct queue_envelope *env, const void *original, size_t original_size,
	      const unsigned int *rcpt_indexes, const struct dsn_rcpt_detail *details,
	      unsigned int count, enum dsn_action action, time_t now, buf_t *out,
	      bool *is_8bit_r, const char **error_r)
{
	struct rcpt_report *reports;
	struct msg_builder *b;
	struct mime_part *root = NULL;
	const struct msg_header_field *msgid;
	buf_t status, text;
	size_t hdr_len;
	uint64_t whole;
	bool utf8, full;
	unsigned int i;
	int ret = -1;

	if (is_8bit_r != NULL)
		*is_8bit_r = false;
	hdr_len = header_end(original, original_size);
	whole = env->size != 0 ? env->size : original_size;
	/* the caller may have read the header only */
	full = original_size >= whole && dsn_return_full(env, action, whole);
	/* RFC 6533: internationalised addresses need a global report */
	utf8 = env->smtputf8 || i_str_has_8bit(env->sender);
	reports = arena_new_array(arena, struct rcpt_report, count > 0 ? count : 1);
	for (i = 0; i < count; i++) {
		const struct dsn_rcpt_detail *d = details == NULL ? NULL : &details[i];
		const struct queue_rcpt *rcpt;
		const char *diag;

		i_assert(rcpt_indexes[i] < env->rcpt_count);
		rcpt = &env->rcpts[rcpt_indexes[i]];
		reports[i].rcpt = rcpt;
		if (i_str_has_8bit(rcpt->address) ||
		    (rcpt->original != NULL && i_str_has_8bit(rcpt->original)))
			utf8 = true;
		diag = d != NULL && d->diagnostic != NULL ? d->diagnostic : rcpt->last_error;
		if (diag != NULL && diag[0] != '\0') {
			const char *clean = sanitize(arena, diag, false);
			const char *semi = strchr(clean, ';');
			size_t k, tlen = semi == NULL ? 0 : (size_t)(semi - clean);

			/* RFC 3464 2.3.6: "diagnostic-type; text"; a bare text
			   (a local error) gets our own X- type */
			for (k = 0; k < tlen; k++) {
				char c = clean[k];

				if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				      (c >= '0' && c <= '9') || c == '-'))
					break;
			}
			if (semi != NULL && tlen > 0 && k == tlen) {
				reports[i].diagnostic = clean;
				reports[i].reason = semi + 1;
				while (*reports[i].reason == ' ')
					reports[i].reason++;
			} else {
				reports[i].diagnostic = arena_printf(arena, "X-tern; %s", clean);
				reports[i].reason = clean;
			}
		}
		reports[i].status = d != NULL && d->status != NULL ?
			sanitize(arena, d->status, false) :
			status_from(arena, reports[i].diagnostic, action);
		reports[i].remote_mta = d == NULL || d->remote_mta == NULL ? NULL :
			sanitize(arena, d->remote_mta, false);
	}
	if (hdr_len > 0)
		root = mime_parse(arena, original, hdr_len, NULL);

	buf_init(&status, BUF_MAX_UNLIMITED);
	buf_init(&text, BUF_MAX_UNLIMITED);
	if (build_status_part(set, arena, env, reports, count, action, now, utf8, &status) < 0 ||
	    build_text_part(set, arena, env, root == NULL ? NULL : &root->header, reports, count,
			    action, &text) < 0) {
		*error_r = "dsn: out of buffer space";
		goto out;
	}

	b = msg_builder_create(arena, set->hostname);
	msg_builder_set_time(b, now, msg_date_local_offset(now));
	if (utf8)
		msg_builder_set_allow_8bit(b, true);
	if (msg_builder_add_address(b, "From", "Mail Delivery System",
				    arena_printf(arena, "MAILER-DAEMON@%s", set->hostname),
				    error_r) < 0)
		goto out;
	if (msg_builder_add_address(b, "To", NULL, env->sender, error_r) < 0 &&
	    msg_builder_add_header(b, "To", "undisclosed-recipients:;", error_r) < 0)
		goto out;
	switch (action) {
	case DSN_ACTION_FAILED:
		msg_builder_set_subject(b, "Undelivered Mail Returned to Sender");
		break;
	case DSN_ACTION_DELAYED:
		msg_builder_set_subject(b, "Delayed Mail (still being retried)");
		break;
	default:
		msg_builder_set_subject(b, "Successful Mail Delivery Report");
		break;
	}
	/* RFC 3834 5: machine-generated, in reply to a message */
	if (msg_builder_add_header(b, "Auto-Submitted", "auto-replied", error_r) < 0)
		goto out;
	msgid = root == NULL ? NULL : msg_header_get(&root->header, "Message-ID");
	if (msgid != NULL) {
		/* thread the notice under the original when its id is sane */
		const char *id = sanitize(arena, msgid->value, false);
		const char *dummy;

		if (id[0] == '<' && strchr(id, ' ') == NULL && id[strlen(id) - 1] == '>')
			(void)msg_builder_set_reply(b, id, NULL, &dummy);
	}
	msg_builder_set_text(b, buf_str(&text), buf_len(&text));
	msg_builder_set_report(b, "delivery-status");
	if (msg_builder_add_part(b, utf8 ? "message/global-delivery-status" :
				 "message/delivery-status",
				 buf_str(&status), buf_len(&status), error_r) < 0)
		goto out;
	if (full)
		msg_builder_add_message(b, NULL, original, original_size);
	else if (msg_builder_add_part(b, "text/rfc822-headers", original, hdr_len, error_r) < 0)
		goto out;
	if (msg_builder_build(b, out, error_r) < 0)
		goto out;
	if (is_8bit_r != NULL)
		*is_8bit_r = msg_builder_is_8bit(b) || msg_builder_is_utf8_header(b);
	ret = 0;
out:
	buf_free(&status);
	buf_free(&text);
	return ret;
}

/* The original message (or its header only) into *data_r (arena). */
static int read_original(struct queue *queue, struct arena *arena, const struct queue_envelope *env,
			 bool full, unsigned char **data_r, size_t *size_r, const char **error_r)
{
	size_t max = full ? (size_t)env->size : DSN_HEADER_READ_MAX;
	size_t alloc = max < 65536 ? max + 1 : 65536, used = 0;
	unsigned char *data;
	ssize_t n;
	int fd;

	if ((fd = queue_open_message(queue, env->id, error_r)) < 0)
		return -1;
	data = arena_alloc(arena, alloc);
	for (;;) {
		if (used == alloc) {
			size_t nalloc = alloc * 2 > max + 1 ? max + 1 : alloc * 2;

			if (nalloc <= alloc)
				break;
			data = arena_realloc(arena, data, alloc, nalloc);
			alloc = nalloc;
		}
		n = read(fd, data + used, alloc - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*error_r = arena_printf(arena, "read queue message %s: %s", env->id,
						strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (!full && header_end(data, used) < used)
			break;
		if (used >= max)
			break;
	}
	close(fd);
	*data_r = data;
	*size_r = used;
	return 0;
}

/* The DSN's recipients: the original sender's final targets. 0 with
   *count_r == 0 when the sender is an unknown local address. */
static int dsn_recipients(const struct tern_settings *set, struct arena *arena,
			  const char *sender, struct queue_rcpt **rcpts_r, unsigned int *count_r,
			  const char **error_r)
{
	struct accounts *acc;
	struct accounts_target *targets;
	struct queue_rcpt *rcpts;
	unsigned int n, i;
	int ret;

	if (accounts_open_settings(set, &acc, error_r) < 0)
		return -1;
	ret = accounts_resolve(acc, arena, sender, &targets, &n, error_r);
	if (ret < 0) {
		*error_r = arena_strdup(arena, *error_r);
		accounts_close(&acc);
		return -1;
	}
	accounts_close(&acc);
	if (ret == 0)
		n = 0;
	rcpts = arena_new_array(arena, struct queue_rcpt, n > 0 ? n : 1);
	for (i = 0; i < n; i++) {
		rcpts[i].address = targets[i].address;
		if (strcmp(targets[i].address, sender) != 0)
			rcpts[i].original = sender;
		/* a notice is never itself reported on (RFC 3461 5.2.1 spirit) */
		rcpts[i].notify = QUEUE_NOTIFY_NEVER;
		rcpts[i].state = QUEUE_RCPT_PENDING;
	}
	*rcpts_r = rcpts;
	*count_r = n;
	return 0;
}

int dsn_queue_details(const struct tern_settings *set, struct queue *queue,
		      struct arena *arena, const struct queue_envelope *env,
		      const unsigned int *rcpt_indexes, const struct dsn_rcpt_detail *details,
		      unsigned int count, enum dsn_action action, const char **dsn_id_r,
		      const char **error_r)
{
	unsigned int *idx, n = 0, i, rcpt_count;
	struct dsn_rcpt_detail *dets = NULL;
	struct queue_rcpt *rcpts;
	struct queue_envelope denv;
	struct queue_writer *w;
	unsigned char *original;
	size_t original_size;
	time_t now = time(NULL);
	bool is_8bit;
	buf_t out;
	char *id;
	int ret;

	*dsn_id_r = NULL;
	idx = arena_new_array(arena, unsigned int, count > 0 ? count : 1);
	if (details != NULL)
		dets = arena_new_array(arena, struct dsn_rcpt_detail, count > 0 ? count : 1);
	for (i = 0; i < count; i++) {
		if (rcpt_indexes[i] >= env->rcpt_count ||
		    !dsn_wanted(env, &env->rcpts[rcpt_indexes[i]], action))
			continue;
		if (dets != NULL)
			dets[n] = details[i];
		idx[n++] = rcpt_indexes[i];
	}
	if (n == 0)
		return 0;

	if (dsn_recipients(set, arena, env->sender, &rcpts, &rcpt_count, error_r) < 0)
		return -1;
	if (rcpt_count == 0) {
		log_warning("dsn", "dropped id=%s to=<%s> reason=\"unknown local sender\"",
			    env->id, log_str(env->sender));
		return 0;
	}
	if (read_original(queue, arena, env, dsn_return_full(env, action, env->size),
			  &original, &original_size, error_r) < 0)
		return -1;

	buf_init(&out, DSN_MAX_SIZE);
	if (dsn_build(set, arena, env, original, original_size, idx, dets, n, action, now,
		      &out, &is_8bit, error_r) < 0) {
		buf_free(&out);
		return -1;
	}
	if ((w = queue_writer_new(queue, error_r)) == NULL) {
		buf_free(&out);
		return -1;
	}
	id = arena_strdup(arena, queue_writer_id(w));
	if (queue_writer_write(w, buf_str(&out), buf_len(&out), error_r) < 0) {
		queue_writer_abort(&w);
		buf_free(&out);
		return -1;
	}
	buf_free(&out);
	memset(&denv, 0, sizeof(denv));
	denv.created = now;
	denv.sender = "";          /* RFC 3464 / RFC 5321 4.5.5: the null reverse path */
	denv.ret = QUEUE_RET_HDRS;
	denv.body_8bit = is_8bit;
	denv.smtputf8 = is_8bit && (env->smtputf8 || i_str_has_8bit(env->sender));
	denv.client = "dsn";
	/* tern's own notice: DKIM-signed on its way out */
	denv.local_origin = true;
	denv.rcpts = rcpts;
	denv.rcpt_count = rcpt_count;
	if ((ret = queue_commit(&w, &denv, error_r)) < 0)
		return -1;
	log_info("dsn", "queued id=%s orig=%s action=%s to=<%s> rcpts=%u", id, env->id,
		 dsn_action_name(action), log_str(env->sender), n);
	*dsn_id_r = id;
	return 0;
}

int dsn_queue(const struct tern_settings *set, struct queue *queue, struct arena *arena,
	      const struct queue_envelope *env, const unsigned int *rcpt_indexes,
	      unsigned int count, enum dsn_action action, const char **dsn_id_r,
	      const char **error_r)
{
	return dsn_queue_details(set, queue, arena, env, rcpt_indexes, NULL, count, action,
				 dsn_id_r, error_r);
}
