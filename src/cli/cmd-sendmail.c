/*
 * tern sendmail: the sendmail(8) interface that cron, git send-email, mutt
 * and other Unix programs use to submit mail. It queues the message in
 * data_dir/queue itself (no network), delivers its local recipients at
 * once, and leaves remote ones to the server. Exit status per sysexits(3).
 * Options and behaviour: docs/sendmail.md.
 */
#include "lib.h"
#include "cli.h"
#include "cli-common.h"
#include "accounts.h"
#include "address.h"
#include "arena.h"
#include "buf.h"
#include "date.h"
#include "deliver.h"
#include "header.h"
#include "log.h"
#include "mime.h"
#include "queue.h"
#include "settings.h"
#include "smtp-command.h"
#include "tern-limits.h"
#include "uid.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* -bs: longest command line read (RFC 5321 4.5.3.1.4 says 512 with
   extensions; leave room for long parameters) */
#define BS_LINE_MAX 4096

enum mode {
	MODE_DELIVER,    /* -bm (default): a message on stdin */
	MODE_SMTP,       /* -bs: SMTP on stdin/stdout */
	MODE_PRINT,      /* -bp: list the queue (mailq) */
	MODE_VERIFY,     /* -bv: check recipients, send nothing */
	MODE_NEWALIASES, /* -bi: nothing to do */
	MODE_FLUSH,      /* -q: process the queue */
};

struct sendmail {
	struct tern_settings *set;
	struct arena *perm;         /* lives as long as the command */
	struct arena *arena;        /* one message (cleared between -bs transactions) */
	struct accounts *acc;
	struct queue *queue;

	const char *user;           /* the calling Unix user's login name */
	unsigned int uid;
	const char *gecos;          /* the user's full name from passwd, or NULL */
	const char *full_name;      /* -F */
	const char *from;           /* -f/-r: "" for <>, NULL when not given */
	const char *qualify;        /* domain for addresses without one */
	bool extract;               /* -t */
	bool ignore_dots;           /* -i, -oi */
	unsigned int notify;        /* -N (enum queue_notify), 0 = not given */
	enum queue_ret ret;         /* -R */
	const char *envid;          /* -V */
	uint64_t max_size;
};

/* The envelope being built: final targets, one per mailbox. */
struct rcpt_set {
	struct queue_rcpt *rcpts;
	unsigned int count, alloc;
	unsigned int local, remote;
	unsigned int given;         /* recipients as given (before expansion) */
};

enum add_result {
	ADD_OK,
	ADD_UNKNOWN,    /* an unknown local recipient */
	ADD_BAD,        /* not an address */
	ADD_ERROR,      /* accounts.db failed */
};

/* A message read and put into canonical form (CRLF) */
struct message {
	const unsigned char *data;
	size_t size;
	size_t header_end;          /* end of the header fields */
	size_t body;                /* start of the body (after the blank line, if any) */
	struct msg_header *header;
	bool have_from, have_date, have_message_id;
};

static const char *qualify(struct sendmail *sm, struct arena *arena, const char *address);
static enum add_result add_recipient(struct sendmail *sm, struct rcpt_set *rs,
				     const char *address, unsigned int notify,
				     const char *orcpt, const char **error_r);
static int add_address_list(struct sendmail *sm, struct rcpt_set *rs, const char *text,
			    size_t len, const char *what);
static int canonicalize(const unsigned char *in, size_t len, bool stop_at_dot, uint64_t max,
			buf_t *out);
static void message_scan(struct arena *arena, const buf_t *b, struct message *msg_r);
static bool is_removed_field(const struct msg_header_field *f);
static int queue_message(struct sendmail *sm, const char *sender, struct rcpt_set *rs,
			 const struct message *msg, const char **id_r, const char **error_r);
static void deliver_now(struct sendmail *sm, const char *id, const struct rcpt_set *rs);

static const char *qualify(struct sendmail *sm, struct arena *arena, const char *address)
{
	if (strchr(address, '@') != NULL)
		return address;
	return arena_printf(arena, "%s@%s", address, sm->qualify);
}

static enum add_result add_recipient(struct sendmail *sm, struct rcpt_set *rs,
				     const char *address, unsigned int notify,
				     const char *orcpt, const char **error_r)
{
	struct accounts_target *targets;
	const char *norm;
	unsigned int n, i, k;
	int ret;

	norm = accounts_normalize(sm->arena, qualify(sm, sm->arena, address));
	if (norm == NULL)
		return ADD_BAD;
	ret = accounts_resolve(sm->acc, sm->arena, norm, &targets, &n, error_r);
	if (ret < 0)
		return ADD_ERROR;
	if (ret == 0)
		return ADD_UNKNOWN;
	rs->given++;
	for (i = 0; i < n; i++) {
		struct queue_rcpt *r;

		/* one queue recipient per mailbox, however many ways lead to it */
		for (k = 0; k < rs->count; k++) {
			if (strcmp(rs->rcpts[k].address, targets[i].address) == 0)
				break;
		}
		if (k < rs->count)
			continue;
		if (rs->count == rs->alloc) {
			unsigned int nalloc = rs->alloc == 0 ? 8 : rs->alloc * 2;

			rs->rcpts = arena_realloc(sm->arena, rs->rcpts,
						  sizeof(*rs->rcpts) * rs->alloc,
						  sizeof(*rs->rcpts) * nalloc);
			rs->alloc = nalloc;
		}
		r = &rs->rcpts[rs->count++];
		memset(r, 0, sizeof(*r));
		r->address = targets[i].address;
		if (strcmp(norm, targets[i].address) != 0)
			r->original = norm;
		r->orcpt = orcpt;
		r->notify = notify;
		r->state = QUEUE_RCPT_PENDING;
		if (targets[i].local)
			rs->local++;
		else
			rs->remote++;
	}
	return ADD_OK;
}

/* Recipients from an argument or a header field: an address list
   ("a@x, Name <b@y>", groups allowed); a bare name is qualified with the
   first local domain. Returns EX_OK or the exit status after printing why. */
static int add_address_list(struct sendmail *sm, struct rcpt_set *rs, const char *text,
			    size_t len, const char *what)
{
	struct msg_address *a;
	const char *spec, *error = NULL;

	for (a = msg_address_parse(sm->arena, text, len); a != NULL; a = a->next) {
		if (a->group_start || a->group_end)
			continue;
		if (a->mailbox == NULL || a->mailbox[0] == '\0') {
			fprintf(stderr, "tern sendmail: %s: bad address %s\n", what,
				log_value(text, len, 200));
			return EX_DATAERR;
		}
		spec = a->domain == NULL ? qualify(sm, sm->arena, a->mailbox) :
			msg_address_spec(sm->arena, a);
		switch (add_recipient(sm, rs, spec, sm->notify, NULL, &error)) {
		case ADD_OK:
			break;
		case ADD_UNKNOWN:
			fprintf(stderr, "tern sendmail: <%s>: unknown local recipient\n", spec);
			return EX_NOUSER;
		case ADD_BAD:
			fprintf(stderr, "tern sendmail: %s: bad address <%s>\n", what, spec);
			return EX_DATAERR;
		case ADD_ERROR:
			fprintf(stderr, "tern sendmail: %s\n", error);
			return EX_TEMPFAIL;
		}
	}
	return EX_OK;
}

/* Copy the message into out with every line ending in CRLF (RFC 5322
   2.1: bare LF becomes CRLF, a lone CR is kept), dropping a leading mbox
   "From " line. stop_at_dot: a line holding only "." ends the message
   (sendmail without -i); the rest is ignored. -1 when over max. */
static int canonicalize(const unsigned char *in, size_t len, bool stop_at_dot, uint64_t max,
			buf_t *out)
{
	size_t pos = 0, end, line_len;
	const unsigned char *nl;

	if (len >= 5 && memcmp(in, "From ", 5) == 0) {
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

/* Where the header ends: at the empty line, or before the first line that
   is not a header field (then the body starts there and a blank line is
   put in when the message is written). */
static void message_scan(struct arena *arena, const buf_t *b, struct message *msg_r)
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

static bool has_8bit(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] >= 0x80)
			return true;
	}
	return false;
}

/* The envelope sender: -f, else user@hostname ("" for <>). */
static const char *default_sender(struct sendmail *sm)
{
	if (sm->from != NULL)
		return sm->from;
	return arena_printf(sm->arena, "%s@%s", sm->user, sm->set->hostname);
}

static int queue_message(struct sendmail *sm, const char *sender, struct rcpt_set *rs,
			 const struct message *msg, const char **id_r, const char **error_r)
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

	if ((w = queue_writer_new(sm->queue, error_r)) == NULL)
		return -1;
	id = arena_strdup(sm->arena, queue_writer_id(w));
	msg_date_format(now, msg_date_local_offset(now), date);
	buf_init(&b, BUF_MAX_UNLIMITED);
	/* RFC 5321 4.4: our trace field first */
	if (buf_printf(&b, "Received: by %s (tern sendmail, from userid %u)\r\n\tid %s; %s\r\n",
		       sm->set->hostname, sm->uid, id, date) < 0)
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
			arena_printf(sm->arena, "%s@%s", sm->user, sm->set->hostname);
		const char *at = strrchr(addr, '@');
		const char *name = sm->full_name != NULL ? sm->full_name : sm->gecos;

		if (buf_printf(&b, "From: %s\r\n",
			       msg_address_format(sm->arena, name,
						  at == NULL ? addr :
						  arena_strndup(sm->arena, addr, (size_t)(at - addr)),
						  at == NULL ? NULL : at + 1)) < 0)
			goto out;
	}
	if (!msg->have_date && buf_printf(&b, "Date: %s\r\n", date) < 0)
		goto out;
	if (!msg->have_message_id &&
	    buf_printf(&b, "Message-ID: %s\r\n", uid_message_id(sm->arena, sm->set->hostname)) < 0)
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
	env.envid = sm->envid;
	env.ret = sm->ret;
	env.body_8bit = has_8bit(b.data, buf_len(&b));
	/* RFC 6531: an internationalised header or address */
	env.smtputf8 = has_8bit(b.data, hdr_len) ||
		       has_8bit((const unsigned char *)sender, strlen(sender));
	for (i = 0; i < rs->count; i++) {
		if (has_8bit((const unsigned char *)rs->rcpts[i].address,
			     strlen(rs->rcpts[i].address)))
			env.smtputf8 = true;
	}
	env.auth_user = NULL;
	env.client = arena_printf(sm->arena, "sendmail uid=%u user=%s", sm->uid, sm->user);
	env.rcpts = rs->rcpts;
	env.rcpt_count = rs->count;
	ret = queue_commit(&w, &env, error_r);
	if (ret == 0) {
		*id_r = id;
		log_info("sendmail", "queued id=%s from=<%s> rcpts=%u size=%llu uid=%u", id,
			 log_str(sender), rs->count, (unsigned long long)env.size, sm->uid);
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

/* Local recipients now (no cross-process notify to a server yet);
   remote ones stay queued: nudge a running server to look. */
static void deliver_now(struct sendmail *sm, const char *id, const struct rcpt_set *rs)
{
	const char *error;
	int pid;

	if (rs->local > 0 && deliver_message_now(sm->set, sm->queue, id, false, &error) < 0)
		fprintf(stderr, "tern sendmail: %s: queued, delivery will be retried: %s\n", id,
			error);
	if (rs->remote > 0 && (pid = cli_server_pid(sm->set)) > 0)
		(void)kill((pid_t)pid, SIGUSR1);
}

/* Read all of stdin (up to max bytes, more is an error). */
static int read_all(FILE *in, uint64_t max, buf_t *out)
{
	unsigned char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		if ((uint64_t)buf_len(out) + n > max || buf_append(out, chunk, n) < 0)
			return -1;
	}
	return ferror(in) ? -2 : 0;
}

/* -bm: one message from stdin. */
static int run_deliver(struct sendmail *sm, int argc, char **argv)
{
	struct rcpt_set rs;
	struct message msg;
	buf_t raw, canon;
	const char *id, *error = NULL;
	int i, ret, r;

	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < argc; i++) {
		if ((ret = add_address_list(sm, &rs, argv[i], strlen(argv[i]), "argument")) != EX_OK)
			return ret;
	}
	if (!sm->extract && rs.count == 0) {
		fprintf(stderr, "tern sendmail: no recipients given (use -t to take them from the header)\n");
		return EX_USAGE;
	}
	/* the limit is the message as stored, a little header added */
	buf_init(&raw, BUF_MAX_UNLIMITED);
	buf_init(&canon, BUF_MAX_UNLIMITED);
	r = read_all(stdin, sm->max_size * 2, &raw);
	if (r == -2) {
		fprintf(stderr, "tern sendmail: reading standard input: %s\n", strerror(errno));
		ret = EX_IOERR;
		goto out;
	}
	if (r < 0 || canonicalize(raw.data, buf_len(&raw), !sm->ignore_dots, sm->max_size,
				  &canon) < 0) {
		fprintf(stderr, "tern sendmail: message larger than the limit (%llu bytes)\n",
			(unsigned long long)sm->max_size);
		ret = EX_DATAERR;
		goto out;
	}
	message_scan(sm->arena, &canon, &msg);
	if (sm->extract) {
		/* RFC 5322 3.6.6: a resent message goes to its Resent- recipients */
		static const char *const plain[] = { "To", "Cc", "Bcc" };
		static const char *const resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc" };
		const char *const *fields = plain;
		unsigned int f, k;

		for (f = 0; f < 3; f++) {
			if (msg_header_get(msg.header, resent[f]) != NULL)
				fields = resent;
		}
		for (f = 0; f < 3; f++) {
			const struct msg_header_field *hf;

			for (k = 0; (hf = msg_header_get_nth(msg.header, fields[f], k)) != NULL; k++) {
				ret = add_address_list(sm, &rs, hf->value, hf->value_len, fields[f]);
				if (ret != EX_OK)
					goto out;
			}
		}
		if (rs.count == 0) {
			fprintf(stderr, "tern sendmail: no recipients in the message header (-t)\n");
			ret = EX_DATAERR;
			goto out;
		}
	}
	if (queue_message(sm, default_sender(sm), &rs, &msg, &id, &error) < 0) {
		fprintf(stderr, "tern sendmail: cannot queue the message: %s\n", error);
		ret = EX_TEMPFAIL;
		goto out;
	}
	deliver_now(sm, id, &rs);
	ret = EX_OK;
out:
	buf_free(&raw);
	buf_free(&canon);
	return ret;
}

/* -bs: a small SMTP server on stdin/stdout (RFC 5321), enough for mail
   programs that speak SMTP to a local sendmail. */
struct bs_txn {
	bool have_mail;
	const char *sender;
	struct rcpt_set rs;
	bool helo;
};

static void reply(const char *fmt, ...) ATTR_FORMAT(1, 2);
static void reply(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vprintf(fmt, args);
	va_end(args);
	printf("\r\n");
	fflush(stdout);
}

static void bs_reset(struct sendmail *sm, struct bs_txn *t)
{
	bool helo = t->helo;

	arena_clear(sm->arena);
	memset(t, 0, sizeof(*t));
	t->helo = helo;
	/* MAIL's RET and ENVID belong to one transaction (they lived in
	   the arena just cleared) */
	sm->ret = QUEUE_RET_DEFAULT;
	sm->envid = NULL;
}

/* Read DATA up to the "." line, undoing dot transparency (RFC 5321
   4.5.2). 0 done, 1 too large (read to the end all the same), -1 EOF. */
static int bs_read_data(struct sendmail *sm, buf_t *out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool too_big = false;
	int ret = -1;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		size_t len = (size_t)n;
		const char *p = line;

		while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
			len--;
		if (len == 1 && p[0] == '.') {
			ret = too_big ? 1 : 0;
			break;
		}
		if (p[0] == '.') {
			p++;
			len--;
		}
		if (too_big)
			continue;
		if ((uint64_t)buf_len(out) + len + 2 > sm->max_size ||
		    buf_append(out, p, len) < 0 || buf_append(out, "\r\n", 2) < 0)
			too_big = true;
	}
	free(line);
	return ret;
}

/* false when stdin ended inside the message */
static bool bs_data(struct sendmail *sm, struct bs_txn *t)
{
	struct message msg;
	buf_t data;
	const char *id, *error = NULL;
	int r;

	reply("354 End data with <CR><LF>.<CR><LF>");
	buf_init(&data, BUF_MAX_UNLIMITED);
	r = bs_read_data(sm, &data);
	if (r < 0) {
		/* the client vanished: nothing was acknowledged */
		buf_free(&data);
		bs_reset(sm, t);
		return false;
	}
	if (r > 0) {
		reply("552 5.3.4 Message too big (limit %llu bytes)",
		      (unsigned long long)sm->max_size);
	} else {
		message_scan(sm->arena, &data, &msg);
		if (queue_message(sm, t->sender, &t->rs, &msg, &id, &error) < 0) {
			reply("451 4.3.0 Cannot queue the message: %s", error);
		} else {
			reply("250 2.0.0 Ok: queued as %s", id);
			deliver_now(sm, id, &t->rs);
		}
	}
	buf_free(&data);
	bs_reset(sm, t);
	return true;
}

static void bs_rcpt(struct sendmail *sm, struct bs_txn *t, const struct smtp_command *cmd)
{
	const char *error = NULL, *addr;

	if (!t->have_mail) {
		reply("503 5.5.1 Error: need MAIL command");
		return;
	}
	if (t->rs.given >= sm->set->limits.recipients) {
		reply("452 4.5.3 Error: too many recipients");
		return;
	}
	addr = cmd->path.postmaster ? "postmaster" : cmd->path.address;
	switch (add_recipient(sm, &t->rs, addr, cmd->rcpt.notify,
			      arena_strdup(sm->arena, cmd->rcpt.orcpt), &error)) {
	case ADD_OK:
		reply("250 2.1.5 Ok");
		break;
	case ADD_UNKNOWN:
		reply("550 5.1.1 <%s>: Recipient address rejected: no such user here", addr);
		break;
	case ADD_BAD:
		reply("501 5.1.3 Bad recipient address syntax");
		break;
	case ADD_ERROR:
		reply("451 4.3.0 Temporary lookup failure");
		break;
	}
}

static int run_smtp(struct sendmail *sm)
{
	struct arena *cmd_arena = arena_new(0);
	struct bs_txn t;
	struct smtp_command cmd;
	struct smtp_parse_error perr;
	char *line = NULL;
	size_t cap = 0, len;
	ssize_t n;

	memset(&t, 0, sizeof(t));
	reply("220 %s ESMTP tern sendmail", sm->set->hostname);
	while ((n = getline(&line, &cap, stdin)) > 0) {
		len = (size_t)n;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		arena_clear(cmd_arena);
		if (len > BS_LINE_MAX) {
			reply("500 5.5.2 Error: line too long");
			continue;
		}
		if (smtp_command_parse(cmd_arena, (const unsigned char *)line, len, &cmd, &perr) < 0) {
			reply("%u %s %s", perr.code, perr.enhanced, perr.text);
			continue;
		}
		switch (cmd.verb) {
		case SMTP_VERB_HELO:
			t.helo = true;
			bs_reset(sm, &t);
			reply("250 %s", sm->set->hostname);
			break;
		case SMTP_VERB_EHLO:
			t.helo = true;
			bs_reset(sm, &t);
			printf("250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n250-8BITMIME\r\n"
			       "250-SMTPUTF8\r\n250-DSN\r\n250 ENHANCEDSTATUSCODES\r\n",
			       sm->set->hostname, (unsigned long long)sm->max_size);
			fflush(stdout);
			break;
		case SMTP_VERB_MAIL:
			if (t.have_mail) {
				reply("503 5.5.1 Error: nested MAIL command");
				break;
			}
			if (cmd.mail.size_given && cmd.mail.size > sm->max_size) {
				reply("552 5.3.4 Message size exceeds the limit");
				break;
			}
			t.have_mail = true;
			t.sender = arena_strdup(sm->arena, cmd.path.null ? "" : cmd.path.address);
			/* DSN parameters (RFC 3461 4.3, 4.4) for this message */
			sm->ret = cmd.mail.ret == SMTP_RET_FULL ? QUEUE_RET_FULL :
				  cmd.mail.ret == SMTP_RET_HDRS ? QUEUE_RET_HDRS : QUEUE_RET_DEFAULT;
			sm->envid = arena_strdup(sm->arena, cmd.mail.envid);
			reply("250 2.1.0 Ok");
			break;
		case SMTP_VERB_RCPT:
			bs_rcpt(sm, &t, &cmd);
			break;
		case SMTP_VERB_DATA:
			if (!t.have_mail)
				reply("503 5.5.1 Error: need MAIL command");
			else if (t.rs.count == 0)
				reply("554 5.5.1 Error: no valid recipients");
			else if (!bs_data(sm, &t))
				goto done;
			break;
		case SMTP_VERB_RSET:
			bs_reset(sm, &t);
			reply("250 2.0.0 Ok");
			break;
		case SMTP_VERB_NOOP:
			reply("250 2.0.0 Ok");
			break;
		case SMTP_VERB_QUIT:
			reply("221 2.0.0 Bye");
			goto done;
		case SMTP_VERB_VRFY:
			reply("252 2.1.5 Cannot verify, but send mail and it will be tried");
			break;
		case SMTP_VERB_HELP:
			reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT");
			break;
		default:
			reply("502 5.5.1 Error: command not implemented");
			break;
		}
	}
done:
	free(line);
	arena_free(&cmd_arena);
	return EX_OK;
}

/* -bv: say where each recipient would go; nothing is sent. */
static int run_verify(struct sendmail *sm, int argc, char **argv)
{
	int i, ret = EX_OK;

	if (argc == 0) {
		fprintf(stderr, "tern sendmail: -bv needs recipients\n");
		return EX_USAGE;
	}
	for (i = 0; i < argc; i++) {
		struct rcpt_set rs;
		const char *error = NULL;
		unsigned int k;

		memset(&rs, 0, sizeof(rs));
		switch (add_recipient(sm, &rs, argv[i], 0, NULL, &error)) {
		case ADD_OK:
			for (k = 0; k < rs.count; k++) {
				const char *at = strrchr(rs.rcpts[k].address, '@');
				bool local = at != NULL &&
					accounts_domain_is_local(sm->acc, at + 1);

				printf("%s... deliverable: %s <%s>\n", argv[i],
				       local ? "mailbox" : "remote", rs.rcpts[k].address);
			}
			break;
		case ADD_UNKNOWN:
			printf("%s... unknown local recipient\n", argv[i]);
			ret = EX_NOUSER;
			break;
		case ADD_BAD:
			printf("%s... bad address\n", argv[i]);
			ret = EX_DATAERR;
			break;
		case ADD_ERROR:
			fprintf(stderr, "tern sendmail: %s\n", error);
			return EX_TEMPFAIL;
		}
	}
	return ret;
}

/* RFC 3461 4.1 NOTIFY for -N: "never" or a list of success, failure, delay. */
static int parse_notify(const char *text, unsigned int *notify_r)
{
	char *copy = i_strdup(text), *tok, *save = NULL;
	unsigned int notify = 0;
	int ret = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (i_strcasecmp(tok, "never") == 0)
			notify |= QUEUE_NOTIFY_NEVER;
		else if (i_strcasecmp(tok, "success") == 0)
			notify |= QUEUE_NOTIFY_SUCCESS;
		else if (i_strcasecmp(tok, "failure") == 0)
			notify |= QUEUE_NOTIFY_FAILURE;
		else if (i_strcasecmp(tok, "delay") == 0)
			notify |= QUEUE_NOTIFY_DELAY;
		else
			ret = -1;
	}
	free(copy);
	/* NEVER cannot be combined (RFC 3461 4.1) */
	if (notify == 0 || ((notify & QUEUE_NOTIFY_NEVER) != 0 && notify != QUEUE_NOTIFY_NEVER))
		ret = -1;
	*notify_r = notify;
	return ret;
}

static bool is_printable(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		if (*s < 33 || *s > 126)
			return false;
	}
	return n > 0 && n <= max;
}

static const char usage_text[] =
	"usage: tern sendmail [-c FILE] [-t] [-i] [-f FROM] [-F NAME] [-N DSN] [-R RET] [-V ENVID]\n"
	"                     [-bm|-bs|-bp|-bv|-bi] [-q] [RCPT...]   (message on stdin)\n"
	"see docs/sendmail.md\n";

int cmd_sendmail(int argc, char **argv)
{
	struct sendmail sm;
	enum mode mode = MODE_DELIVER;
	const char *config_path = NULL, *error;
	struct passwd *pw;
	int i, ret;

	memset(&sm, 0, sizeof(sm));
	if (cli_take_config_opt(&argc, argv, &config_path) < 0) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	/* sendmail(8) options, getopt style ("-ti", "-fFROM", "-f FROM",
	   "-oi", "-bs"); recipients follow. */
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *p = argv[i] + 1;

		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		while (*p != '\0') {
			char opt = *p++;
			const char *arg = NULL;

			if (strchr("ABbCFfhLNOoRrVXpqMde", opt) != NULL) {
				/* options with an argument, attached or next */
				if (*p != '\0') {
					arg = p;
				} else if (opt != 'q' && i + 1 < argc) {
					arg = argv[++i];
				} else if (opt != 'q') {
					fprintf(stderr, "tern sendmail: -%c needs an argument\n", opt);
					return EX_USAGE;
				}
				p = "";
			}
			switch (opt) {
			case 't':
				sm.extract = true;
				break;
			case 'i':
				sm.ignore_dots = true;
				break;
			case 'f':
			case 'r':
				sm.from = arg;
				break;
			case 'F':
				sm.full_name = arg;
				break;
			case 'C':
				config_path = arg;
				break;
			case 'o':
				/* -oi; -oem -oep -oeq -oew -oee -odb -odi -odq and
				   others are harmless to ignore */
				if (strcmp(arg, "i") == 0 || strcmp(arg, "itrue") == 0)
					sm.ignore_dots = true;
				break;
			case 'b':
				if (strcmp(arg, "m") == 0)
					mode = MODE_DELIVER;
				else if (strcmp(arg, "s") == 0)
					mode = MODE_SMTP;
				else if (strcmp(arg, "p") == 0)
					mode = MODE_PRINT;
				else if (strcmp(arg, "v") == 0)
					mode = MODE_VERIFY;
				else if (strcmp(arg, "i") == 0)
					mode = MODE_NEWALIASES;
				else {
					fprintf(stderr, "tern sendmail: -b%s is not supported%s\n", arg,
						arg[0] == 'd' || arg[0] == 'D' ?
						" (run the server with tern serve)" : "");
					return EX_USAGE;
				}
				break;
			case 'q':
				if (arg != NULL) {
					fprintf(stderr, "tern sendmail: -q%s is not supported; "
						"-q alone flushes the queue\n", arg);
					return EX_USAGE;
				}
				mode = MODE_FLUSH;
				break;
			case 'N':
				if (parse_notify(arg, &sm.notify) < 0) {
					fprintf(stderr, "tern sendmail: -N %s: want never, or success,failure,delay\n",
						arg);
					return EX_USAGE;
				}
				break;
			case 'R':
				if (i_strcasecmp(arg, "full") == 0)
					sm.ret = QUEUE_RET_FULL;
				else if (i_strcasecmp(arg, "hdrs") == 0)
					sm.ret = QUEUE_RET_HDRS;
				else {
					fprintf(stderr, "tern sendmail: -R %s: want full or hdrs\n", arg);
					return EX_USAGE;
				}
				break;
			case 'V':
				/* RFC 3461 4.4: ENVID, printable ASCII, at most 100 */
				if (!is_printable(arg, 100)) {
					fprintf(stderr, "tern sendmail: -V: bad envelope id\n");
					return EX_USAGE;
				}
				sm.envid = arg;
				break;
			case 'A': case 'B': case 'h': case 'L': case 'O': case 'X': case 'p':
			case 'M': case 'd': case 'e':
				/* -B 8BITMIME (we look at the bytes), -X logfile,
				   -h hops, -L tag, -O option=value...: ignored */
				break;
			case 'v': case 'm': case 'n': case 'U': case 'G': case 'I': case 's': case 'T':
				break;
			default:
				fprintf(stderr, "tern sendmail: unknown option -%c\n", opt);
				fputs(usage_text, stderr);
				return EX_USAGE;
			}
		}
	}
	argc -= i;
	argv += i;

	/* who is calling, before privileges may change */
	sm.uid = (unsigned int)getuid();
	sm.perm = arena_new(0);
	pw = getpwuid(getuid());
	if (pw != NULL) {
		sm.user = arena_strdup(sm.perm, pw->pw_name);
		if (pw->pw_gecos != NULL && pw->pw_gecos[0] != '\0' && pw->pw_gecos[0] != ',')
			sm.gecos = arena_strndup(sm.perm, pw->pw_gecos, strcspn(pw->pw_gecos, ","));
	} else {
		sm.user = arena_printf(sm.perm, "uid%u", sm.uid);
	}
	if (sm.from != NULL) {
		size_t len = strlen(sm.from);

		/* "<a@b>" and "<>" as some callers write them */
		if (len >= 2 && sm.from[0] == '<' && sm.from[len - 1] == '>')
			sm.from = arena_strndup(sm.perm, sm.from + 1, len - 2);
	}

	if ((sm.set = cli_load_settings(config_path)) == NULL) {
		arena_free(&sm.perm);
		return EX_CONFIG;
	}
	if (mode == MODE_PRINT || mode == MODE_FLUSH) {
		char *qargv[4];
		char cmdname[] = "queue", sub[16], copt[] = "-c";

		settings_free(&sm.set);
		arena_free(&sm.perm);
		snprintf(sub, sizeof(sub), "%s", mode == MODE_PRINT ? "list" : "flush");
		qargv[0] = cmdname;
		qargv[1] = sub;
		qargv[2] = config_path == NULL ? NULL : copt;
		qargv[3] = (char *)(uintptr_t)config_path;
		return cmd_queue(config_path == NULL ? 2 : 4, qargv);
	}
	if (mode == MODE_NEWALIASES) {
		settings_free(&sm.set);
		arena_free(&sm.perm);
		return EX_OK;     /* aliases live in accounts.db: nothing to rebuild */
	}
	/* quiet: cron mails whatever a command prints */
	log_set_level(LOG_WARNING);
	sm.qualify = sm.set->domains_count > 0 ? sm.set->domains[0] : sm.set->hostname;
	sm.max_size = sm.set->limits.message_size > 0 ? (uint64_t)sm.set->limits.message_size :
		(uint64_t)TERN_DEFAULT_MESSAGE_SIZE;
	sm.arena = arena_new(0);
	/* a bare -f name is a user here, as the default sender is */
	if (sm.from != NULL && sm.from[0] != '\0' && strchr(sm.from, '@') == NULL)
		sm.from = arena_printf(sm.perm, "%s@%s", sm.from, sm.set->hostname);
	ret = EX_OK;
	if ((sm.acc = cli_open_accounts(sm.set)) == NULL) {
		ret = EX_TEMPFAIL;
		goto out;
	}
	if (queue_open(sm.set->data_dir, &sm.queue, &error) < 0) {
		fprintf(stderr, "tern sendmail: %s\n", error);
		ret = EX_CANTCREAT;
		goto out;
	}
	switch (mode) {
	case MODE_SMTP:
		ret = run_smtp(&sm);
		break;
	case MODE_VERIFY:
		ret = run_verify(&sm, argc, argv);
		break;
	default:
		ret = run_deliver(&sm, argc, argv);
		break;
	}
out:
	if (sm.queue != NULL)
		queue_close(&sm.queue);
	if (sm.acc != NULL)
		accounts_close(&sm.acc);
	settings_free(&sm.set);
	arena_free(&sm.arena);
	arena_free(&sm.perm);
	return ret;
}
