#ifndef TERN_IMAP_STATUS_H
#define TERN_IMAP_STATUS_H

/*
 * Status items, shared by STATUS (cmd-status.c) and LIST-STATUS
 * (cmd-list.c, RFC 5819).
 */
struct imap_command;
struct imap_arg;
struct mail_status;

/* "(MESSAGES UNSEEN ...)" -> MAIL_STATUS_* bits; false with BAD set. */
bool imap_status_items_parse(struct imap_command *cmd, const struct imap_arg *list,
			     unsigned int *items_r);
/* "* STATUS name (MESSAGES 3 ...)" into cmd->out (name in tern's form). */
void imap_status_write(struct imap_command *cmd, const char *name, unsigned int items,
		       const struct mail_status *st);

#endif
