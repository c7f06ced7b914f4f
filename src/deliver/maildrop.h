#ifndef TERN_MAILDROP_H
#define TERN_MAILDROP_H

#include "lib.h"
#include "buf.h"
#include "queue.h"
#include "tern-limits.h"

/*
 * The maildrop: how Unix users who cannot reach data_dir (mode 0711, its
 * files 0600, owned by the server's user) submit mail with `tern sendmail`.
 *
 *   data_dir/maildrop/   mode 1733 (sticky, writable by all, listable by
 *                        none but its owner)
 *     t.<random>         a file being written by sendmail
 *     d.<random>         a complete one: renamed from t. after syncfs
 *   data_dir/corrupt/    drop files the server could not use, kept for the
 *                        administrator (logged)
 *
 * sendmail writes its options, recipients and the message (already in
 * canonical CRLF form) into t.<random>, makes it durable and renames it to
 * d.<random>. The server's pickup thread (inotify on the directory, and a
 * scan every minute) reads each d. file, takes its owner's uid as the
 * sender's identity (nothing in the file says who wrote it), submits it
 * through the same code as a privileged sendmail (submit.h) and removes it.
 * Because the caller has gone, an unknown local recipient is bounced to the
 * sender instead of refusing the message.
 *
 * File format (text lines "key value", values %XX-escaped as in escape.h),
 * then the message. sendmail has already qualified the recipients, taken
 * them from the header for -t and checked their syntax; the pickup checks
 * everything again.
 *
 *   tern-maildrop 1
 *   from alice@example.test      -f ("" for <>; absent: the default)
 *   name Alice Example           -F
 *   ret full|hdrs                -R
 *   envid ...                    -V
 *   rcpt 6 rfc822;a@x a@x        NOTIFY bits (enum queue_notify; -N or
 *                                -bs's NOTIFY), ORCPT ("" for none, spaces
 *                                escaped too), the address
 *   size 1234                    message bytes after the blank line
 *   (empty line)
 *   message bytes (CRLF lines)
 */

struct arena;
struct deliverer;
struct tern_settings;

#define MAILDROP_DIR "maildrop"
#define MAILDROP_CORRUPT_DIR "corrupt"
/* bounds on what the pickup reads from a file anyone can write:
   MAILDROP_HEADER_MAX, MAILDROP_RCPTS_MAX, MAILDROP_ENVID_MAX (tern-limits.h) */

struct maildrop_rcpt {
	const char *address;
	unsigned int notify;       /* enum queue_notify */
	const char *orcpt;         /* RFC 3461 ORCPT, or NULL */
};

struct maildrop {
	const char *from;          /* NULL: not given; "" for <> */
	const char *full_name;
	enum queue_ret ret;
	const char *envid;
	struct maildrop_rcpt *rcpts;
	unsigned int rcpt_count;
	const unsigned char *message;
	size_t message_size;
};

/* The file's header (everything before the message bytes) into out. */
int maildrop_format(const struct maildrop *md, buf_t *out);
/* Parse a whole drop file. Strings point into arena; md_r->message into
   data. 0, or -1 with *error_r (a static text) for anything malformed:
   unknown or repeated keys, bad numbers, more than MAILDROP_RCPTS_MAX
   recipients, a header over MAILDROP_HEADER_MAX, a size that is not the
   rest of the file. */
int maildrop_parse(struct arena *arena, const unsigned char *data, size_t size,
		   struct maildrop *md_r, const char **error_r);

/* sendmail's side: write md into data_dir/maildrop durably. 0, or -1 with
   *error_r and errno (ENOENT: no maildrop, the server never ran). */
int maildrop_write(const char *data_dir, const struct maildrop *md, const char **error_r);

/* Server start (before privileges are dropped, owner being the server's
   user; -1 for uid/gid: leave as is and take the running user as the
   owner): data_dir 0711, maildrop/ 1733 and corrupt/ 0700 owned by
   owner:group, and no other entry of data_dir that owner owns readable by
   others. data_dir_fd is data_dir opened as a directory; data_dir is its
   path, for messages only. Every change goes through a descriptor opened
   with O_NOFOLLOW (fs.h): a symlink at maildrop/ or corrupt/ is an error,
   one elsewhere in data_dir is left alone, and no target is ever changed.
   Must run before this process opens a database in data_dir (closing a
   descriptor of a file drops the process's POSIX locks on it). 0, or -1
   with *error_r. */
int maildrop_prepare(int data_dir_fd, const char *data_dir, uid_t owner, gid_t group,
		     const char **error_r);

/* One drop file: submit it and remove it. Returns 1 done (submitted, or
   moved to corrupt/ with a log line), 0 try again later (accounts or queue
   unavailable, or a file that does not parse but changed less than
   MAILDROP_SETTLE_SECS ago: its writer may still be at it), -1 when the
   file vanished. *queue_id_r is set when a
   message was queued (in arena). */
struct accounts;
int maildrop_process(const struct tern_settings *set, struct accounts *acc, struct queue *queue,
		     struct arena *arena, int dir_fd, const char *name,
		     const char **queue_id_r);

/* The server's pickup thread. deliverer is told about each queued message. */
struct maildrop_pickup;
struct maildrop_pickup *maildrop_pickup_start(const struct tern_settings *set,
					      struct queue *queue, struct deliverer *deliverer,
					      const char **error_r);
void maildrop_pickup_stop(struct maildrop_pickup **p);

#endif
