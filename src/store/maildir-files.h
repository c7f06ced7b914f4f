#ifndef TERN_MAILDIR_FILES_H
#define TERN_MAILDIR_FILES_H

#include "lib.h"

/*
 * tern's small files inside a Maildir (internal to the store), each
 * written whole to a temporary file and renamed over the old one:
 * - tern-uidlist in every folder directory:
 *     "V<uidvalidity> N<uidnext> S<special-use bits>[ L<last uidvalidity>]\n"
 *   fsynced (file and directory) BEFORE the index commits UIDs below N, so
 *   a rebuild from the Maildir alone knows UIDVALIDITY and a UIDNEXT no
 *   UID handed out reaches (docs/store.md "UIDs");
 * - dovecot-keywords in every folder directory: "<letter index> <name>\n"
 *   per keyword, Dovecot's own format, so both map the letters a-z of
 *   file names to the same keywords;
 * - tern-subscriptions in the INBOX directory: one UTF-8 folder name per
 *   line.
 */

struct arena;

struct uidlist {
	uint32_t uidvalidity;
	uint32_t uidnext;
	unsigned int special_use;
	/* INBOX's only: the last UIDVALIDITY handed out for the user, so one
	   is never handed out again even when the index is lost (0: none) */
	uint32_t last_uidvalidity;
};

#define UIDLIST_FILE "tern-uidlist"
#define KEYWORDS_FILE "dovecot-keywords"
#define SUBSCRIPTIONS_FILE "tern-subscriptions"

/* 1 read, 0 missing or unreadable (a rebuild then picks a new
   UIDVALIDITY), -1 error other than ENOENT (errno). */
int uidlist_read(const char *dir, struct uidlist *uidlist_r);
/* 0, or -1 with errno. */
int uidlist_write(const char *dir, const struct uidlist *uidlist);

/* The keyword names by letter index ("" for gaps), in arena; a missing
   file is no keywords. */
void keywords_file_read(struct arena *arena, const char *dir, const char ***names_r,
			unsigned int *count_r);
int keywords_file_write(const char *dir, const char *const *names, unsigned int count);

/* Subscribed names (in file order), in arena. */
void subscriptions_read(struct arena *arena, const char *root, const char ***names_r,
			unsigned int *count_r);
int subscriptions_write(const char *root, const char *const *names, unsigned int count);

#endif
