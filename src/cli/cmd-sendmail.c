/*
 * tern sendmail: the sendmail(8) interface that cron, git send-email, mutt
 * and other Unix programs use to submit mail. Run by root or the server's
 * user, it queues the message in data_dir/queue itself (no network,
 * submit.h), delivers its local recipients at once, and leaves remote ones
 * to the server. Run by anyone else, it leaves the message in the maildrop
 * for the server to submit (maildrop.h). Exit status per sysexits(3).
 * Options and behaviour: docs/sendmail.md.
 */
#include "lib.h"
#include "cli.h"
#include "cli-common.h"
#include "accounts.h"
#include "arena.h"
#include "buf.h"
#include "deliver.h"
#include "log.h"
#include "maildrop.h"
#include "queue.h"
#include "settings.h"
#include "smtp-command.h"
#include "smtp-data.h"
#include "tern-limits.h"
#include "submit.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* -bs: how much stdin is read at once */
#define BS_READ_CHUNK (64 * 1024)

enum mode {
	MODE_DELIVER,    /* -bm (default): a message on stdin */
	MODE_SMTP,       /* -bs: SMTP on stdin/stdout */
	MODE_PRINT,      /* -bp: list the queue (mailq) */
	MODE_VERIFY,     /* -bv: check recipients, send nothing */
	MODE_NEWALIASES, /* -bi: nothing to do */
	MODE_FLUSH,      /* -q: process the queue */
};

struct sendmail {
	struct submit sub;          /* who, -f -F -N -R -V, and where it goes */
	struct tern_settings *set;
	struct arena *perm;         /* lives as long as the command */
	bool extract;               /* -t */
	bool ignore_dots;           /* -i, -oi */
	/* the caller cannot reach data_dir: messages go through the maildrop
	   (maildrop.h) and the server checks the recipients */
	bool drop;
};

/* What a failed submit_add*() means for the caller: the exit status, after
   saying why. */
static int add_failed(enum submit_add result, const char *what, const char *bad,
		      const char *error)
{
	switch (result) {
	case SUBMIT_ADD_OK:
		return EX_OK;
	case SUBMIT_ADD_UNKNOWN:
		fprintf(stderr, "tern sendmail: <%s>: unknown local recipient\n", bad);
		return EX_NOUSER;
	case SUBMIT_ADD_BAD:
		fprintf(stderr, "tern sendmail: %s: bad address %s\n", what, log_value(bad, strlen(bad), 200));
		return EX_DATAERR;
	case SUBMIT_ADD_ERROR:
		fprintf(stderr, "tern sendmail: %s\n", error);
		return EX_TEMPFAIL;
	}
	return EX_SOFTWARE;
}

/* Local recipients now (no cross-process notify to a server yet);
   remote ones stay queued: nudge a running server to look. */
static void deliver_now(struct sendmail *sm, const char *id, const struct submit_rcpts *rs)
{
	const char *error;
	int pid;

	if (rs->local > 0 && deliver_message_now(sm->set, sm->sub.queue, id, false, &error) < 0)
		fprintf(stderr, "tern sendmail: %s: queued, delivery will be retried: %s\n", id,
			error);
	if (rs->remote > 0 && (pid = cli_server_pid(sm->set)) > 0)
		(void)kill((pid_t)pid, SIGUSR1);
}

/* Hand a message over: into the queue, or into the maildrop for the server
   to take. 0, or -1 after saying why. */
static int submit_message(struct sendmail *sm, const char *from, const struct submit_rcpts *rs,
			  const struct submit_message *msg, const char **id_r)
{
	const char *sender = from != NULL ? from : submit_default_sender(&sm->sub);
	const char *error = NULL;
	struct maildrop md;
	unsigned int i;

	*id_r = NULL;
	if (!sm->drop) {
		if (submit_queue(&sm->sub, sender, rs, msg, id_r, &error) < 0) {
			fprintf(stderr, "tern sendmail: cannot queue the message: %s\n", error);
			return -1;
		}
		deliver_now(sm, *id_r, rs);
		return 0;
	}
	if (rs->count > MAILDROP_RCPTS_MAX) {
		fprintf(stderr, "tern sendmail: more than %u recipients\n", MAILDROP_RCPTS_MAX);
		return -1;
	}
	memset(&md, 0, sizeof(md));
	/* the server works the default sender out itself, from the owner */
	md.from = from;
	md.full_name = sm->sub.full_name;
	md.ret = sm->sub.ret;
	md.envid = sm->sub.envid;
	md.rcpts = arena_new_array(sm->sub.arena, struct maildrop_rcpt, rs->count);
	for (i = 0; i < rs->count; i++) {
		md.rcpts[i].address = rs->rcpts[i].address;
		md.rcpts[i].notify = rs->rcpts[i].notify;
		md.rcpts[i].orcpt = rs->rcpts[i].orcpt;
	}
	md.rcpt_count = rs->count;
	md.message = msg->data;
	md.message_size = msg->size;
	if (maildrop_write(sm->set->data_dir, &md, &error) < 0) {
		fprintf(stderr, "tern sendmail: cannot hand the message to the server: %s%s\n", error,
			errno == ENOENT ? " (tern serve makes the maildrop when it starts)" : "");
		return -1;
	}
	return 0;
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
	struct submit *s = &sm->sub;
	struct submit_rcpts rs;
	struct submit_message msg;
	enum submit_add add;
	buf_t raw, canon;
	const char *id, *bad = NULL, *error = NULL;
	int i, ret, r;

	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < argc; i++) {
		add = submit_add_list(s, &rs, argv[i], strlen(argv[i]), s->notify, &bad, &error);
		if (add != SUBMIT_ADD_OK)
			return add_failed(add, "argument", bad, error);
	}
	if (!sm->extract && rs.count == 0) {
		fprintf(stderr, "tern sendmail: no recipients given (use -t to take them from the header)\n");
		return EX_USAGE;
	}
	/* the limit is the message as stored, a little header added */
	buf_init(&raw, BUF_MAX_UNLIMITED);
	buf_init(&canon, BUF_MAX_UNLIMITED);
	r = read_all(stdin, s->max_size * 2, &raw);
	if (r == -2) {
		fprintf(stderr, "tern sendmail: reading standard input: %s\n", strerror(errno));
		ret = EX_IOERR;
		goto out;
	}
	if (r < 0 || submit_canonicalize(raw.data, buf_len(&raw), true, !sm->ignore_dots,
					 s->max_size, &canon) < 0) {
		fprintf(stderr, "tern sendmail: message larger than the limit (%llu bytes)\n",
			(unsigned long long)s->max_size);
		ret = EX_DATAERR;
		goto out;
	}
	submit_scan(s->arena, &canon, &msg);
	if (sm->extract) {
		add = submit_add_from_header(s, &rs, &msg, &bad, &error);
		if (add != SUBMIT_ADD_OK) {
			ret = add_failed(add, "header", bad, error);
			goto out;
		}
		if (rs.count == 0) {
			fprintf(stderr, "tern sendmail: no recipients in the message header (-t)\n");
			ret = EX_DATAERR;
			goto out;
		}
	}
	ret = submit_message(sm, s->from, &rs, &msg, &id) < 0 ?
		EX_TEMPFAIL : EX_OK;
out:
	buf_free(&raw);
	buf_free(&canon);
	return ret;
}

/* -bs: a small SMTP server on stdin/stdout (RFC 5321), enough for mail
   programs that speak SMTP to a local sendmail. Command lines and the
   message follow the SMTP server's rules: a line ends at LF (one CR before
   it dropped), longer than limits.line_length is "500 5.5.2", and DATA
   goes through the server's own reader (smtp-data.h): the same dot
   transparency, end of data only at CRLF "." CRLF, bare LF made CRLF, a
   lone CR kept. */
struct bs_txn {
	bool have_mail;
	const char *sender;
	struct submit_rcpts rs;
	bool helo;
};

/* stdin through read(2), one buffer for command lines and message data
   alike (a pipelining client sends its next commands right behind the
   message; stdio's buffering would hide them from a read(2)) */
struct bs_input {
	buf_t buf;
	size_t pos;          /* unread input starts here */
	bool eof;
	bool discarding;     /* skipping the rest of a too long line */
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

	arena_clear(sm->sub.arena);
	memset(t, 0, sizeof(*t));
	t->helo = helo;
	/* MAIL's RET and ENVID belong to one transaction (they lived in
	   the arena just cleared) */
	sm->sub.ret = QUEUE_RET_DEFAULT;
	sm->sub.envid = NULL;
}

/* More input behind what is buffered. false at the end of stdin (or a
   read error, which ends the dialogue the same way). */
static bool bs_fill(struct bs_input *in)
{
	unsigned char *p;
	ssize_t n;

	if (in->eof)
		return false;
	if (in->pos > 0) {
		/* drop what was used */
		size_t left = in->buf.used - in->pos;

		memmove(in->buf.data, in->buf.data + in->pos, left);
		in->buf.used = left;
		in->pos = 0;
	}
	if ((p = buf_reserve(&in->buf, BS_READ_CHUNK)) == NULL)
		i_panic("sendmail -bs: input buffer");
	do
		n = read(STDIN_FILENO, p, BS_READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		in->eof = true;
		return false;
	}
	buf_commit(&in->buf, (size_t)n);
	return true;
}

/* The next command line, without its LF and one CR before it, as
   connection.c cuts them for the server. NULL at the end of stdin (an
   unterminated last line is not a command, as for the server). A line
   over max_line sets *too_long_r instead (the rest of it is skipped). */
static const char *bs_line(struct bs_input *in, size_t max_line, size_t *len_r,
			   bool *too_long_r)
{
	*too_long_r = false;
	for (;;) {
		unsigned char *start = in->buf.data + in->pos;
		size_t avail = in->buf.used - in->pos;
		unsigned char *lf = avail == 0 ? NULL : memchr(start, '\n', avail);

		if (lf == NULL) {
			/* max_line bytes and a CR could still end well; more cannot */
			if (!in->discarding && avail > max_line + 1) {
				in->discarding = true;
				*too_long_r = true;
			}
			if (in->discarding)
				in->pos = in->buf.used;
			if (*too_long_r)
				return NULL;
			if (!bs_fill(in))
				return NULL;
			continue;
		}
		in->pos += (size_t)(lf - start) + 1;
		if (in->discarding) {
			in->discarding = false;
			continue;
		}
		*len_r = (size_t)(lf - start);
		if (*len_r > 0 && start[*len_r - 1] == '\r')
			(*len_r)--;
		if (*len_r > max_line) {
			*too_long_r = true;
			return NULL;
		}
		*lf = '\0';
		if (*len_r < (size_t)(lf - start))
			start[*len_r] = '\0';
		return (const char *)start;
	}
}

/* The message after DATA, decoded by the SMTP server's reader up to its
   end marker; input behind the marker stays buffered for the next
   command. 0 done, 1 too large or too many hops (read to the end all the
   same, RFC 1870 6.3; *received_r says which), -1 stdin ended first. */
static int bs_read_data(struct sendmail *sm, struct bs_input *in, buf_t *out,
			unsigned int *received_r)
{
	struct smtp_data_reader r;
	enum smtp_data_status status;
	buf_t chunk;
	size_t consumed;
	bool too_big = false;
	int ret = -1;

	smtp_data_reader_init(&r, true);
	buf_init(&chunk, BUF_MAX_UNLIMITED);
	for (;;) {
		if (in->pos == in->buf.used && !bs_fill(in))
			break;
		status = smtp_data_reader_feed(&r, in->buf.data + in->pos, in->buf.used - in->pos,
					       &consumed, &chunk);
		in->pos += consumed;
		if (status == SMTP_DATA_DONE)
			(void)smtp_data_reader_finish(&r, &chunk);
		/* the limit is the server's: the message as the client sent it
		   (submit_queue adds its fields on top) */
		if (r.size > sm->sub.max_size)
			too_big = true;
		if (!too_big && buf_append(out, chunk.data, chunk.used) < 0)
			too_big = true;
		buf_reset(&chunk);
		if (status == SMTP_DATA_DONE) {
			ret = too_big || r.received_count > sm->set->limits.hops ? 1 : 0;
			break;
		}
	}
	*received_r = r.received_count;
	buf_free(&chunk);
	smtp_data_reader_deinit(&r);
	return ret;
}

/* false when stdin ended inside the message */
static bool bs_data(struct sendmail *sm, struct bs_txn *t, struct bs_input *in)
{
	struct submit_message msg;
	buf_t data;
	const char *id;
	unsigned int received;
	int r;

	reply("354 End data with <CR><LF>.<CR><LF>");
	buf_init(&data, BUF_MAX_UNLIMITED);
	r = bs_read_data(sm, in, &data, &received);
	if (r < 0) {
		/* the client vanished: nothing was acknowledged */
		buf_free(&data);
		bs_reset(sm, t);
		return false;
	}
	if (r > 0 && received > sm->set->limits.hops) {
		/* RFC 5321 6.3, as the server says it */
		reply("554 5.4.6 Too many hops (%u Received fields): mail loop?", received);
	} else if (r > 0) {
		reply("552 5.3.4 Message too big (limit %llu bytes)",
		      (unsigned long long)sm->sub.max_size);
	} else {
		submit_scan(sm->sub.arena, &data, &msg);
		if (submit_message(sm, t->sender, &t->rs, &msg, &id) < 0)
			reply("451 4.3.0 Cannot queue the message");
		else if (id != NULL)
			reply("250 2.0.0 Ok: queued as %s", id);
		else
			reply("250 2.0.0 Ok: handed to the server");
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
	switch (submit_add_recipient(&sm->sub, &t->rs, addr, cmd->rcpt.notify,
				     arena_strdup(sm->sub.arena, cmd->rcpt.orcpt), &error)) {
	case SUBMIT_ADD_OK:
		reply("250 2.1.5 Ok");
		break;
	case SUBMIT_ADD_UNKNOWN:
		reply("550 5.1.1 <%s>: Recipient address rejected: no such user here", addr);
		break;
	case SUBMIT_ADD_BAD:
		reply("501 5.1.3 Bad recipient address syntax");
		break;
	case SUBMIT_ADD_ERROR:
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
	struct bs_input in;
	const char *line;
	size_t len = 0;
	bool too_long;

	memset(&t, 0, sizeof(t));
	memset(&in, 0, sizeof(in));
	buf_init(&in.buf, BUF_MAX_UNLIMITED);
	reply("220 %s ESMTP tern sendmail", sm->set->hostname);
	for (;;) {
		line = bs_line(&in, sm->set->limits.line_length, &len, &too_long);
		arena_clear(cmd_arena);
		if (too_long) {
			/* RFC 5321 4.5.3.1.4, the server's words */
			reply("500 5.5.2 Line too long");
			continue;
		}
		if (line == NULL)
			break;
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
			       sm->set->hostname, (unsigned long long)sm->sub.max_size);
			fflush(stdout);
			break;
		case SMTP_VERB_MAIL:
			if (t.have_mail) {
				reply("503 5.5.1 Error: nested MAIL command");
				break;
			}
			if (cmd.mail.size_given && cmd.mail.size > sm->sub.max_size) {
				reply("552 5.3.4 Message size exceeds the limit");
				break;
			}
			t.have_mail = true;
			t.sender = arena_strdup(sm->sub.arena, cmd.path.null ? "" : cmd.path.address);
			/* DSN parameters (RFC 3461 4.3, 4.4) for this message */
			sm->sub.ret = cmd.mail.ret == SMTP_RET_FULL ? QUEUE_RET_FULL :
				      cmd.mail.ret == SMTP_RET_HDRS ? QUEUE_RET_HDRS :
				      QUEUE_RET_DEFAULT;
			sm->sub.envid = arena_strdup(sm->sub.arena, cmd.mail.envid);
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
			else if (!bs_data(sm, &t, &in))
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
	buf_free(&in.buf);
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
		struct submit_rcpts rs;
		const char *error = NULL;
		unsigned int k;

		memset(&rs, 0, sizeof(rs));
		switch (submit_add_recipient(&sm->sub, &rs, argv[i], 0, NULL, &error)) {
		case SUBMIT_ADD_OK:
			for (k = 0; k < rs.count; k++) {
				const char *at = strrchr(rs.rcpts[k].address, '@');
				bool local = at != NULL &&
					accounts_domain_is_local(sm->sub.acc, at + 1);

				printf("%s... deliverable: %s <%s>\n", argv[i],
				       local ? "mailbox" : "remote", rs.rcpts[k].address);
			}
			break;
		case SUBMIT_ADD_UNKNOWN:
			printf("%s... unknown local recipient\n", argv[i]);
			ret = EX_NOUSER;
			break;
		case SUBMIT_ADD_BAD:
			printf("%s... bad address\n", argv[i]);
			ret = EX_DATAERR;
			break;
		case SUBMIT_ADD_ERROR:
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
	"usage: tern sendmail [-c FILE | --dev] [OPTIONS] [RCPT...]   a message on stdin\n"
	"       (also as sendmail and mailq; tern-sendmail(8), docs/sendmail.md)\n"
	"  -t           recipients from To, Cc and Bcc (Bcc removed), beside RCPT...\n"
	"  -i, -oi      a line with a single dot does not end the message\n"
	"  -f FROM      envelope sender (-r too); -F NAME: the From name\n"
	"  -N DSN       never, or success,failure,delay (RFC 3461 NOTIFY)\n"
	"  -R full|hdrs what a bounce returns; -V ENVID: the envelope id\n"
	"  -bm          a message on stdin (the default); -bs: SMTP on stdin/stdout\n"
	"  -bp          list the queue (mailq); -q: flush it; -bv: check the recipients\n"
	"  -bi          newaliases (nothing to do: aliases are in accounts.db)\n"
	"  RCPT         an address, or a Unix user name (root, www-data): the administrator\n"
	"               (the postmaster key) unless an alias says otherwise\n";

int cmd_sendmail(int argc, char **argv)
{
	struct sendmail sm;
	struct cli_opts opts;
	enum mode mode = MODE_DELIVER;
	const char *config_path = NULL, *from_arg = NULL, *error;
	struct passwd *pw;
	int i, ret;

	memset(&sm, 0, sizeof(sm));
	if (cli_take_opts(&argc, argv, &opts) < 0) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	if (opts.help) {
		fputs(usage_text, stdout);
		return EX_OK;
	}
	config_path = opts.config_path;
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
				from_arg = arg;
				break;
			case 'F':
				sm.sub.full_name = arg;
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
				if (parse_notify(arg, &sm.sub.notify) < 0) {
					fprintf(stderr, "tern sendmail: -N %s: want never, or success,failure,delay\n",
						arg);
					return EX_USAGE;
				}
				break;
			case 'R':
				if (i_strcasecmp(arg, "full") == 0)
					sm.sub.ret = QUEUE_RET_FULL;
				else if (i_strcasecmp(arg, "hdrs") == 0)
					sm.sub.ret = QUEUE_RET_HDRS;
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
				sm.sub.envid = arg;
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
	sm.perm = arena_new(0);
	sm.sub.uid = (unsigned int)getuid();
	pw = getpwuid(getuid());
	if (pw != NULL) {
		sm.sub.user = arena_strdup(sm.perm, pw->pw_name);
		if (pw->pw_gecos != NULL && pw->pw_gecos[0] != '\0' && pw->pw_gecos[0] != ',')
			sm.sub.gecos = arena_strndup(sm.perm, pw->pw_gecos,
						     strcspn(pw->pw_gecos, ","));
	} else {
		sm.sub.user = arena_printf(sm.perm, "uid%u", sm.sub.uid);
	}

	opts.config_path = config_path;
	if (opts.dev && config_path != NULL) {
		fputs(usage_text, stderr);
		arena_free(&sm.perm);
		return EX_USAGE;
	}
	if ((sm.set = cli_settings(&opts)) == NULL) {
		arena_free(&sm.perm);
		return EX_CONFIG;
	}
	/* data_dir is the server's (0711): anyone else goes through the
	   maildrop, and may only send */
	sm.drop = access(sm.set->data_dir, W_OK) < 0;
	if (sm.drop && mode != MODE_DELIVER && mode != MODE_SMTP && mode != MODE_NEWALIASES) {
		fprintf(stderr, "tern sendmail: -%s needs the server's data (%s); "
			"run it as root or as the server's user\n",
			mode == MODE_FLUSH ? "q" : mode == MODE_PRINT ? "bp" : "bv",
			sm.set->data_dir);
		settings_free(&sm.set);
		arena_free(&sm.perm);
		return EX_NOPERM;
	}
	if (mode == MODE_PRINT || mode == MODE_FLUSH) {
		char *qargv[5];
		char cmdname[] = "queue", sub[16], copt[] = "-c", dev[] = "--dev";
		int qargc = 2;

		settings_free(&sm.set);
		arena_free(&sm.perm);
		snprintf(sub, sizeof(sub), "%s", mode == MODE_PRINT ? "list" : "flush");
		qargv[0] = cmdname;
		qargv[1] = sub;
		if (config_path != NULL) {
			qargv[qargc++] = copt;
			qargv[qargc++] = (char *)(uintptr_t)config_path;
		} else if (opts.dev) {
			qargv[qargc++] = dev;
		}
		qargv[qargc] = NULL;
		return cmd_queue(qargc, qargv);
	}
	if (mode == MODE_NEWALIASES) {
		settings_free(&sm.set);
		arena_free(&sm.perm);
		return EX_OK;     /* aliases live in accounts.db: nothing to rebuild */
	}
	/* quiet: cron mails whatever a command prints */
	log_set_level(LOG_WARNING);
	submit_init(&sm.sub, sm.set);
	sm.sub.arena = arena_new(0);
	if (from_arg != NULL && (sm.sub.from = submit_sender(&sm.sub, from_arg)) == NULL) {
		fprintf(stderr, "tern sendmail: -f %s: bad sender address\n",
			log_value(from_arg, strlen(from_arg), 200));
		ret = EX_DATAERR;
		goto out;
	}
	ret = EX_OK;
	if (!sm.drop) {
		if ((sm.sub.acc = cli_open_accounts(sm.set)) == NULL) {
			ret = EX_TEMPFAIL;
			goto out;
		}
		if (queue_open(sm.set->data_dir, &sm.sub.queue, &error) < 0) {
			fprintf(stderr, "tern sendmail: %s\n", error);
			ret = EX_CANTCREAT;
			goto out;
		}
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
	if (sm.sub.queue != NULL)
		queue_close(&sm.sub.queue);
	if (sm.sub.acc != NULL)
		accounts_close(&sm.sub.acc);
	settings_free(&sm.set);
	arena_free(&sm.sub.arena);
	arena_free(&sm.perm);
	return ret;
}
