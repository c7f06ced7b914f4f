#ifndef TERN_SUBMIT_H
#define TERN_SUBMIT_H

#include "lib.h"
#include "buf.h"
#include "queue.h"

/*
 * Local submission: a message from a Unix user of this host put into the
 * queue, as `tern sendmail` does it directly (root and the server's user)
 * and as the server's maildrop pickup does it for everyone else (maildrop.h).
 * One code path for both: the same recipients, the same header fixes (our
 * Received field, Bcc removed, From/Date/Message-ID added when missing,
 * RFC 6409 8) and the same envelope. docs/sendmail.md describes the result.
 */

struct accounts;
struct arena;
struct msg_header;
struct tern_settings;

struct submit {
	const struct tern_settings *set;
	struct accounts *acc;       /* NULL: recipients are checked for syntax only */
	struct queue *queue;
	struct arena *arena;        /* one message's allocations */

	unsigned int uid;           /* the submitting Unix user */
	const char *user;           /* their login name ("uid1234" without a passwd entry) */
	const char *gecos;          /* their full name from passwd, or NULL */
	const char *full_name;      /* -F, or NULL */
	const char *from;           /* -f: "" for <>, NULL when not given */
	const char *qualify;        /* domain for recipients without one */
	unsigned int notify;        /* -N (enum queue_notify), 0 = not given */
	enum queue_ret ret;         /* -R */
	const char *envid;          /* -V */
	uint64_t max_size;
	/* An unknown local recipient becomes a failed recipient of the queued
	   message (its sender gets a bounce) instead of refusing the message:
	   for the maildrop, whose caller has gone by the time we look. */
	bool fail_unknown;
};

/* The envelope being built: final targets, one per mailbox. */
struct submit_rcpts {
	struct queue_rcpt *rcpts;
	unsigned int count, alloc;
	unsigned int local, remote, failed;
	unsigned int given;         /* recipients as given (before expansion) */
};

enum submit_add {
	SUBMIT_ADD_OK,
	SUBMIT_ADD_UNKNOWN,         /* an unknown local recipient */
	SUBMIT_ADD_BAD,             /* not an address */
	SUBMIT_ADD_ERROR,           /* accounts.db failed */
};

/* A message read and put into canonical form (CRLF) */
struct submit_message {
	const unsigned char *data;
	size_t size;
	size_t header_end;          /* end of the header fields */
	size_t body;                /* start of the body (after the blank line, if any) */
	struct msg_header *header;
	bool have_from, have_date, have_message_id;
};

/* Fill in what follows from set: qualify, max_size. */
void submit_init(struct submit *s, const struct tern_settings *set);

/* One recipient address (a bare name is qualified with the first local
   domain, else the hostname), expanded through aliases when s->acc is
   set. A bare name that leads nowhere but is a Unix account here (root,
   www-data) goes where name@hostname goes: the administrator, unless an
   alias says otherwise (accounts_set_system). Without s->acc (the
   maildrop) a bare name is kept bare for the server to do this.
   *error_r for SUBMIT_ADD_ERROR. */
enum submit_add submit_add_recipient(struct submit *s, struct submit_rcpts *rs,
				     const char *address, unsigned int notify,
				     const char *orcpt, const char **error_r);
/* An address list ("a@x, Name <b@y>", groups allowed), as sendmail's
   arguments and -t's header fields hold them. On anything but OK, *bad_r is
   the address at fault (or the text) and *error_r for SUBMIT_ADD_ERROR. */
enum submit_add submit_add_list(struct submit *s, struct submit_rcpts *rs, const char *text,
				size_t len, unsigned int notify, const char **bad_r,
				const char **error_r);
/* -t: recipients from To, Cc and Bcc, or from the Resent- ones when the
   message has any (RFC 5322 3.6.6). Same results as submit_add_list(). */
enum submit_add submit_add_from_header(struct submit *s, struct submit_rcpts *rs,
				       const struct submit_message *msg, const char **bad_r,
				       const char **error_r);

/* Copy a message into out with every line ending in CRLF (RFC 5322 2.1:
   bare LF becomes CRLF, a lone CR is kept). mbox_from: drop a leading mbox
   "From " line. stop_at_dot: a line holding only "." ends the message
   (sendmail without -i). -1 when over max. */
int submit_canonicalize(const unsigned char *in, size_t len, bool mbox_from, bool stop_at_dot,
			uint64_t max, buf_t *out);
/* Find the header of a canonical message: it ends at the empty line, or
   before the first line that is not a header field. */
void submit_scan(struct arena *arena, const buf_t *b, struct submit_message *msg_r);

/* -f as given ("<a@b>", "<>", "", "name", "a@b"): the envelope sender
   to store in s->from ("" for <>, a bare name qualified with the hostname),
   or NULL when it is not an address. NULL in, NULL out. */
const char *submit_sender(struct submit *s, const char *from);
/* The envelope sender: s->from, else user@hostname. */
const char *submit_default_sender(struct submit *s);

/* Put the message into the queue (blocks on the commit). 0 with *id_r
   (in s->arena), or -1 with *error_r. */
int submit_queue(struct submit *s, const char *sender, const struct submit_rcpts *rs,
		 const struct submit_message *msg, const char **id_r, const char **error_r);

#endif
