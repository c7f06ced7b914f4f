/*
 * Local submission into the queue: see submit.h. Used by `tern sendmail`
 * (src/cli/cmd-sendmail.c) and by the maildrop pickup (maildrop.c).
 */
#include "submit.h"
#include "accounts.h"
#include "address.h"
#include "arena.h"
#include "date.h"
#include "header.h"
#include "log.h"
#include "mime.h"
#include "settings.h"
#include "tern-limits.h"
#include "uid.h"

#include <pwd.h>
#include <stdio.h>
#include <time.h>

void submit_init(struct submit *s, const struct tern_settings *set)
{
	s->set = set;
	s->qualify = set->domains_count > 0 ? set->domains[0] : set->hostname;
	s->max_size = set->limits.message_size > 0 ? (uint64_t)set->limits.message_size :
		(uint64_t)TERN_DEFAULT_MESSAGE_SIZE;
}

static const char *qualify(struct submit *s, const char *address)
{
	if (strchr(address, '@') != NULL)
		return address;
	return arena_printf(s->arena, "%s@%s", address, s->qualify);
}

/* Is the local part of address the name of a Unix account here? */
static bool unix_account(const char *address)
{
	struct passwd pw, *res = NULL;
	char buf[4096], name[256];
	size_t len = strcspn(address, "@");

	if (len == 0 || len >= sizeof(name))
		return false;
	memcpy(name, address, len);
	name[len] = '\0';
	return getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res != NULL;
}

static struct queue_rcpt *rcpt_new(struct submit *s, struct submit_rcpts *rs)
{
	struct queue_rcpt *r;

	if (rs->count == rs->alloc) {
		unsigned int nalloc = rs->alloc == 0 ? 8 : rs->alloc * 2;

		rs->rcpts = arena_realloc(s->arena, rs->rcpts, sizeof(*rs->rcpts) * rs->alloc,
					  sizeof(*rs->rcpts) * nalloc);
		rs->alloc = nalloc;
	}
	r = &rs->rcpts[rs->count++];
	memset(r, 0, sizeof(*r));
	r->state = QUEUE_RCPT_PENDING;
	return r;
}

static bool rcpt_known(const struct submit_rcpts *rs, const char *address)
{
	unsigned int k;

	for (k = 0; k < rs->count; k++) {
		if (strcmp(rs->rcpts[k].address, address) == 0)
			return true;
	}
	return false;
}

/* A new recipient for address, or NULL when the set has it already: one
   queue recipient per mailbox, however many ways lead to it. */
static struct queue_rcpt *rcpt_add(struct submit *s, struct submit_rcpts *rs,
				   const char *address, const char *original,
				   const char *orcpt, unsigned int notify)
{
	struct queue_rcpt *r;

	if (rcpt_known(rs, address))
		return NULL;
	r = rcpt_new(s, rs);
	r->address = address;
	r->original = original;
	r->orcpt = orcpt;
	r->notify = notify;
	return r;
}

enum submit_add submit_add_recipient(struct submit *s, struct submit_rcpts *rs,
				     const char *address, unsigned int notify,
				     const char *orcpt, const char **error_r)
{
	struct accounts_target *targets;
	struct queue_rcpt *r;
	const char *norm;
	bool bare = strchr(address, '@') == NULL;
	unsigned int n, i;
	int ret;

	norm = accounts_normalize(s->arena, qualify(s, address));
	if (norm == NULL)
		return SUBMIT_ADD_BAD;
	if (s->acc == NULL) {
		/* syntax only: the maildrop pickup expands it later, a bare
		   name included (it may be a Unix account's, below) */
		rs->given++;
		(void)rcpt_add(s, rs, bare ? arena_strndup(s->arena, norm, strcspn(norm, "@")) :
			       norm, NULL, orcpt, notify);
		return SUBMIT_ADD_OK;
	}
	ret = accounts_resolve(s->acc, s->arena, norm, &targets, &n, error_r);
	if (ret == 0 && bare && unix_account(norm)) {
		/* cron's "root", a daemon's "www-data": the machine's accounts
		   are the administrator's (accounts_set_system), unless
		   name@domain or name@hostname is an alias */
		ret = accounts_resolve(s->acc, s->arena,
				       arena_printf(s->arena, "%.*s@%s", (int)strcspn(norm, "@"),
						    norm, s->set->hostname),
				       &targets, &n, error_r);
	}
	if (ret < 0)
		return SUBMIT_ADD_ERROR;
	if (ret == 0 && !s->fail_unknown)
		return SUBMIT_ADD_UNKNOWN;
	rs->given++;
	if (ret == 0) {
		/* RFC 3463 5.1.1: the bounce tells the sender (deliver.c sends
		   it for a recipient committed as failed) */
		if ((r = rcpt_add(s, rs, norm, NULL, orcpt, notify)) != NULL) {
			r->state = QUEUE_RCPT_FAILED;
			r->attempts = 1;
			r->last_attempt = time(NULL);
			r->last_error = "x-tern; 5.1.1 no such user here";
			rs->failed++;
		}
		return SUBMIT_ADD_OK;
	}
	for (i = 0; i < n; i++) {
		r = rcpt_add(s, rs, targets[i].address,
			     strcmp(norm, targets[i].address) != 0 ? norm : NULL, orcpt, notify);
		if (r == NULL)
			continue;
		if (targets[i].local)
			rs->local++;
		else
			rs->remote++;
	}
	return SUBMIT_ADD_OK;
}

enum submit_add submit_add_list(struct submit *s, struct submit_rcpts *rs, const char *text,
				size_t len, unsigned int notify, const char **bad_r,
				const char **error_r)
{
	struct msg_address *a;
	enum submit_add ret;
	const char *spec;

	for (a = msg_address_parse(s->arena, text, len); a != NULL; a = a->next) {
		if (a->group_start || a->group_end)
			continue;
		if (a->mailbox == NULL || a->mailbox[0] == '\0') {
			*bad_r = arena_strndup(s->arena, text, len);
			return SUBMIT_ADD_BAD;
		}
		/* a bare name is qualified by submit_add_recipient() */
		spec = a->domain == NULL ? a->mailbox : msg_address_spec(s->arena, a);
		ret = submit_add_recipient(s, rs, spec, notify, NULL, error_r);
		if (ret != SUBMIT_ADD_OK) {
			*bad_r = spec;
			return ret;
		}
	}
	return SUBMIT_ADD_OK;
}

enum submit_add submit_add_from_header(struct submit *s, struct submit_rcpts *rs,
				       const struct submit_message *msg, const char **bad_r,
				       const char **error_r)
{
	/* RFC 5322 3.6.6: a resent message goes to its Resent- recipients */
	static const char *const plain[] = { "To", "Cc", "Bcc" };
	static const char *const resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc" };
	const char *const *fields = plain;
	const struct msg_header_field *hf;
	enum submit_add ret;
	unsigned int f, k;

	for (f = 0; f < 3; f++) {
		if (msg_header_get(msg->header, resent[f]) != NULL)
			fields = resent;
	}
	for (f = 0; f < 3; f++) {
		for (k = 0; (hf = msg_header_get_nth(msg->header, fields[f], k)) != NULL; k++) {
			ret = submit_add_list(s, rs, hf->value, hf->value_len, s->notify, bad_r,
					      error_r);
			if (ret != SUBMIT_ADD_OK)
				return ret;
		}
	}
	return SUBMIT_ADD_OK;
}

int submit_canonicalize(const unsigned char *in, size_t len, bool mbox_from, bool stop_at_dot,
			uint64_t max, buf_t *out)
{
	size_t pos = 0, end, line_len;
	const unsigned char *nl;

	if (mbox_from && len >= 5 && memcmp(in, "From ", 5) == 0) {
		nl = memchr(in, '\n', len);
		pos = nl == NULL ? len : (size_t)(nl - in) + 1;
	}
	while (pos < len) {
		nl = memchr(in + pos, '\n', len - pos);
		end = nl == NULL ? len : (size_t)(nl - in);
		line_len = end - pos;
		if (line_len > 0 && in[end - 1] == '\r' && nl != NULL)
			line_len--;
		if (stop_at_dot && line_len == 1 && in[pos] == '.')
			return 0;
		/* size arithmetic: the line plus CRLF */
		if ((uint64_t)buf_len(out) + line_len + 2 > max)
			return -1;
		if (buf_append(out, in + pos, line_len) < 0 || buf_append(out, "\r\n", 2) < 0)
			return -1;
		pos = nl == NULL ? len : end + 1;
	}
	return 0;
}

static bool is_field_name(const unsigned char *p, size_t len)
{
	size_t i = 0;

	/* RFC 5322 3.6.8 ftext, then optional WSP (obsolete syntax, 4.5.8) */
	while (i < len && p[i] >= 33 && p[i] <= 126 && p[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < len && p[i] == ':';
}

void submit_scan(struct arena *arena, const buf_t *b, struct submit_message *msg_r)
{
	const unsigned char *d = b->data;
	size_t len = buf_len(b), pos = 0, eol;
	const unsigned char *crlf;
	struct mime_part *root;

	memset(msg_r, 0, sizeof(*msg_r));
	msg_r->data = d;
	msg_r->size = len;
	while (pos < len) {
		crlf = memmem(d + pos, len - pos, "\r\n", 2);
		eol = crlf == NULL ? len : (size_t)(crlf - d);
		if (eol == pos) {
			msg_r->header_end = pos;
			msg_r->body = pos + 2;
			goto parse;
		}
		if (d[pos] == ' ' || d[pos] == '\t') {
			if (pos == 0)
				break;
		} else if (!is_field_name(d + pos, eol - pos)) {
			break;
		}
		pos = crlf == NULL ? len : eol + 2;
	}
	msg_r->header_end = pos;
	msg_r->body = pos;
parse:
	root = mime_parse(arena, d, msg_r->header_end, NULL);
	msg_r->header = &root->header;
	msg_r->have_from = msg_header_get(msg_r->header, "From") != NULL;
	msg_r->have_date = msg_header_get(msg_r->header, "Date") != NULL;
	msg_r->have_message_id = msg_header_get(msg_r->header, "Message-ID") != NULL;
}

/* Bcc and Resent-Bcc never leave with the message (RFC 5322 3.6.3: the
   first method, as sendmail does, with or without -t). */
static bool is_removed_field(const struct msg_header_field *f)
{
	return i_strcasecmp(f->name, "Bcc") == 0 || i_strcasecmp(f->name, "Resent-Bcc") == 0;
}

const char *submit_sender(struct submit *s, const char *from)
{
	size_t len;

	if (from == NULL)
		return NULL;
	len = strlen(from);
	/* "<a@b>" and "<>" as some callers write them */
	if (len >= 2 && from[0] == '<' && from[len - 1] == '>')
		from = arena_strndup(s->arena, from + 1, len - 2);
	if (from[0] == '\0')
		return from;
	/* a bare name is a user here, as the default sender is */
	if (strchr(from, '@') == NULL)
		from = arena_printf(s->arena, "%s@%s", from, s->set->hostname);
	/* the same shapes as a recipient: nothing that could break out of
	   MAIL FROM:<...> later */
	return accounts_normalize(s->arena, from) == NULL ? NULL : from;
}

/* A -F name or a passwd full name on one line, without controls. */
static const char *clean_name(struct arena *arena, const char *name)
{
	char *copy;
	size_t i;

	if (name == NULL)
		return NULL;
	copy = arena_strdup(arena, name);
	for (i = 0; copy[i] != '\0'; i++) {
		if ((unsigned char)copy[i] < 0x20 || copy[i] == 0x7f)
			copy[i] = ' ';
	}
	return copy;
}

const char *submit_default_sender(struct submit *s)
{
	if (s->from != NULL)
		return s->from;
	return arena_printf(s->arena, "%s@%s", s->user, s->set->hostname);
}

int submit_queue(struct submit *s, const char *sender, const struct submit_rcpts *rs,
		 const struct submit_message *msg, const char **id_r, const char **error_r)
{
	struct queue_writer *w;
	struct queue_envelope env;
	time_t now = time(NULL);
	char date[MSG_DATE_MAX];
	const char *id;
	size_t pos, hdr_len;
	unsigned int i;
	buf_t b;
	int ret = -1;

	*error_r = NULL;
	if ((w = queue_writer_new(s->queue, error_r)) == NULL)
		return -1;
	id = arena_strdup(s->arena, queue_writer_id(w));
	msg_date_format(now, msg_date_local_offset(now), date);
	buf_init(&b, BUF_MAX_UNLIMITED);
	/* RFC 5321 4.4: our trace field first */
	if (buf_printf(&b, "Received: by %s (tern sendmail, from userid %u)\r\n\tid %s; %s\r\n",
		       s->set->hostname, s->uid, id, date) < 0)
		goto out;
	/* the header as given, without Bcc */
	pos = 0;
	for (i = 0; i < msg->header->count; i++) {
		const struct msg_header_field *f = &msg->header->fields[i];

		if (!is_removed_field(f))
			continue;
		if (buf_append(&b, msg->data + pos, f->offset - pos) < 0)
			goto out;
		pos = f->offset + f->size;
	}
	if (buf_append(&b, msg->data + pos, msg->header_end - pos) < 0)
		goto out;
	/* RFC 6409 8.1-8.3: what a submission lacks */
	if (!msg->have_from) {
		const char *addr = sender[0] != '\0' ? sender :
			arena_printf(s->arena, "%s@%s", s->user, s->set->hostname);
		const char *at = strrchr(addr, '@');
		const char *name = clean_name(s->arena,
					      s->full_name != NULL ? s->full_name : s->gecos);

		if (buf_printf(&b, "From: %s\r\n",
			       msg_address_format(s->arena, name,
						  at == NULL ? addr :
						  arena_strndup(s->arena, addr, (size_t)(at - addr)),
						  at == NULL ? NULL : at + 1)) < 0)
			goto out;
	}
	if (!msg->have_date && buf_printf(&b, "Date: %s\r\n", date) < 0)
		goto out;
	if (!msg->have_message_id &&
	    buf_printf(&b, "Message-ID: %s\r\n", uid_message_id(s->arena, s->set->hostname)) < 0)
		goto out;
	hdr_len = buf_len(&b);
	if (buf_append(&b, "\r\n", 2) < 0 ||
	    buf_append(&b, msg->data + msg->body, msg->size - msg->body) < 0)
		goto out;

	if (queue_writer_write(w, b.data, buf_len(&b), error_r) < 0)
		goto out;
	memset(&env, 0, sizeof(env));
	env.created = now;
	env.sender = sender;
	env.envid = s->envid;
	env.ret = s->ret;
	env.body_8bit = i_mem_has_8bit(b.data, buf_len(&b));
	/* RFC 6531: an internationalised header or address */
	env.smtputf8 = i_mem_has_8bit(b.data, hdr_len) || i_str_has_8bit(sender);
	for (i = 0; i < rs->count; i++) {
		if (i_str_has_8bit(rs->rcpts[i].address))
			env.smtputf8 = true;
	}
	env.auth_user = NULL;
	env.client = arena_printf(s->arena, "sendmail uid=%u user=%s", s->uid, s->user);
	/* a local user's mail: DKIM-signed on its way out */
	env.local_origin = true;
	env.rcpts = rs->rcpts;
	env.rcpt_count = rs->count;
	ret = queue_commit(&w, &env, error_r);
	if (ret == 0) {
		*id_r = id;
		log_info("sendmail", "queued id=%s from=<%s> rcpts=%u size=%llu uid=%u", id,
			 log_str(sender), rs->count, (unsigned long long)env.size, s->uid);
	}
out:
	if (w != NULL) {
		if (ret < 0 && *error_r == NULL)
			*error_r = "message too large";
		queue_writer_abort(&w);
	}
	buf_free(&b);
	return ret;
}
