#ifndef TERN_MAILDIR_NAMES_H
#define TERN_MAILDIR_NAMES_H

#include "lib.h"
#include "buf.h"

struct arena;

/*
 * Names in a Maildir (internal to the store; docs/store.md "Layout").
 *
 * Message files: "<base>:2,<flags>", the base as its writer made it
 * (tern: "<secs>.M<usecs>Q<tag>.<host>,S=<size>" from delivery,
 * "<secs>.M<usecs>P<pid>N<n>.<host>,S=<size>" from APPEND and COPY). When
 * tern takes a file into the index it adds ",U=<uid>" to the base, so the
 * UID survives a rebuild (the Maildir++ way of Dovecot's W=, S= fields).
 * Flags after ":2," in ASCII order: D F P R S T (\Draft, \Flagged, passed
 * = $Forwarded, \Answered, \Seen, \Deleted), then the keyword letters a-z
 * (dovecot-keywords maps them to names).
 *
 * Folders: IMAP name "Archive/2026" <-> directory ".Archive.2026" under the
 * INBOX Maildir. Each component is modified UTF-7 (RFC 3501 5.1.3, as
 * Dovecot and Courier store non-ASCII names), then "." and "%" inside it
 * are written "%2E" and "%25", so "." only ever separates components.
 */

struct maildir_name {
	size_t base_len;        /* bytes before the ':' (the whole name without one) */
	uint32_t uid;           /* ",U=<n>" in the base, 0 when absent or invalid */
	size_t uid_pos, uid_len;/* where ",U=<n>" sits in the base (uid_len 0: none) */
	bool has_info;          /* ":2," seen */
	unsigned int flags;     /* enum mail_flags from the info */
	uint32_t keywords;      /* letters a-z (bits 0-25), P (INDEX_KEYWORD_PASSED) */
};

/* Parse a file name (never fails; junk gives no flags and no UID). */
void maildir_name_parse(const char *name, struct maildir_name *parsed_r);
/* Is this a file name we may take (not "." or "..", no '/', not hidden
   temporaries of other programs: names starting with '.')? */
bool maildir_name_is_message(const char *name);
/* "<base without U=>,U=<uid>:2,<flags>" (uid 0: no U= field). In arena. */
char *maildir_name_make(struct arena *arena, const char *name, const struct maildir_name *parsed,
			uint32_t uid, unsigned int flags, uint32_t keywords);
/* The base without its U= field (what identifies the message). In arena. */
char *maildir_name_base(struct arena *arena, const char *name, const struct maildir_name *parsed);
/* MAIL_GUID_LEN hex digits of SHA-256 of the base without U=, NUL-terminated. */
void maildir_name_guid(const char *name, const struct maildir_name *parsed, char *guid_r);
/* The delivery time in the name ("<secs>.M<usecs>..."), for the order
   new files get UIDs in; 0 when the name has none. */
void maildir_name_time(const char *name, uint64_t *secs_r, uint32_t *usecs_r);
/* A new unique base for a file tern writes: "<secs>.M<usecs>P<pid>N<n>.<host>,S=<size>". */
char *maildir_name_new_base(struct arena *arena, const char *hostname, uint64_t size);

/* Check and normalize an IMAP folder name: UTF-8 without controls, no
   empty component (a trailing "/" is dropped), TERN_STORE_MAX_FOLDER_NAME
   bytes and TERN_STORE_MAX_FOLDER_DEPTH components at most, "INBOX" in any
   case as the first component spelled "INBOX". 0 with *name_r (arena), or
   -1 with *error_r and *limit_r (true when a limit, not the syntax, was
   hit). */
int folder_name_normalize(struct arena *arena, const char *name, const char **name_r,
			  bool *limit_r, const char **error_r);
/* The directory name of a normalized folder name: "" for INBOX, else
   ".a.b". -1 when it would not fit NAME_MAX. */
int folder_name_to_dir(const char *name, buf_t *dest);
/* The folder name of a Maildir++ directory entry (".a.b"), or -1 when the
   entry is no folder of ours (not canonical, bad encoding). */
int folder_dir_to_name(const char *entry, buf_t *dest);
/* true when name is INBOX (normalized names only) */
bool folder_name_is_inbox(const char *name);

#endif
