#ifndef TERN_MAILDIR_H
#define TERN_MAILDIR_H

#include "lib.h"

/*
 * Delivery into Maildir (the layout of DESIGN.md "On disk": the INBOX is
 * data_dir/mail/<domain>/<localpart>/ with cur/ new/ tmp/, other folders
 * are Maildir++ subfolders ".Sent", ".Archive.2026"), so mutt or Dovecot can
 * open it. Delivery writes tmp/<name>, fsyncs it, renames it into new/ and
 * fsyncs new/: once maildir_deliver() returns 0 the message survives a crash.
 *
 * File names are "<secs>.M<usecs>Q<tag>.<host>,S=<size>": <tag> identifies
 * the queued recipient (queue id + recipient index), so that after a crash
 * between the rename and the queue's state update, maildir_has_delivery()
 * finds the copy and the recipient is not delivered twice.
 */

/* data_dir/mail/<domain>/<localpart> for a normalized address, or NULL when
   the address cannot name a directory safely. malloc'd. */
char *maildir_path_for(const char *data_dir, const char *address);

/* Create the Maildir (and folder, "" = INBOX) with cur/ new/ tmp/ when
   missing. 0 or -1 with *error_r. */
int maildir_create(const char *maildir, const char *folder, const char **error_r);

/* Deliver: prepend (e.g. "Return-Path: <a@b>\r\nDelivered-To: c@d\r\n", may
   be NULL) followed by the size bytes readable from fd at offset 0. tag is
   [A-Za-z0-9_] only. sync: fsync the file and new/ before returning; without
   it the caller makes the batch durable itself (syncfs) before saying so.
   Returns 0 with the final file name in *name_r (malloc'd, may be NULL to
   ignore), or -1 with *error_r. */
int maildir_deliver(const char *maildir, const char *folder, const char *tag,
		    const char *hostname, const void *prepend, size_t prepend_size,
		    int fd, uint64_t size, bool sync, char **name_r, const char **error_r);

/* Is a message with this delivery tag in new/ or cur/ already? 1 yes, 0 no, -1 error. */
int maildir_has_delivery(const char *maildir, const char *folder, const char *tag,
			 const char **error_r);

#endif
