/*
 * The command table: every command tern's IMAP server knows, the states it
 * is valid in, and the functions that do it (imap-common.h says how a
 * command runs). Adding a command (CONDSTORE's, SORT, THREAD...) is a line
 * here and a cmd-*.c file.
 */
#include "imap-common.h"

#define ANY (IMAP_CMD_NOAUTH | IMAP_CMD_AUTH)
#define SEL (IMAP_CMD_SELECTED)
#define JOB (IMAP_CMD_JOB)
#define SYNC (IMAP_CMD_SYNC)

static const struct imap_command_def commands[] = {
	/* RFC 9051 6.1: any state */
	{ "CAPABILITY", ANY, cmd_capability, NULL, NULL },
	{ "NOOP", ANY | JOB | SYNC, cmd_noop, cmd_noop_run, NULL },
	{ "LOGOUT", ANY, cmd_logout, NULL, NULL },
	{ "ID", ANY, cmd_id, NULL, NULL },                       /* RFC 2971 */
	/* 6.2: not authenticated */
	{ "STARTTLS", IMAP_CMD_NOAUTH, cmd_starttls, NULL, NULL },
	{ "AUTHENTICATE", IMAP_CMD_NOAUTH, cmd_authenticate, cmd_login_run, cmd_login_finish },
	{ "LOGIN", IMAP_CMD_NOAUTH, cmd_login, cmd_login_run, cmd_login_finish },
	/* 6.3: authenticated (and selected) */
	{ "ENABLE", IMAP_CMD_AUTH, cmd_enable, NULL, NULL },
	{ "SELECT", IMAP_CMD_AUTH | JOB, cmd_select, cmd_select_run, cmd_select_finish },
	{ "EXAMINE", IMAP_CMD_AUTH | JOB, cmd_select, cmd_select_run, cmd_select_finish },
	{ "CREATE", IMAP_CMD_AUTH | JOB | SYNC, cmd_create, cmd_create_run, NULL },
	{ "DELETE", IMAP_CMD_AUTH | JOB | SYNC, cmd_delete, cmd_delete_run, cmd_delete_finish },
	{ "RENAME", IMAP_CMD_AUTH | JOB | SYNC, cmd_rename, cmd_rename_run, NULL },
	{ "SUBSCRIBE", IMAP_CMD_AUTH | JOB | SYNC, cmd_subscribe, cmd_subscribe_run, NULL },
	{ "UNSUBSCRIBE", IMAP_CMD_AUTH | JOB | SYNC, cmd_subscribe, cmd_subscribe_run, NULL },
	{ "LIST", IMAP_CMD_AUTH | JOB | SYNC, cmd_list, cmd_list_run, NULL },
	{ "LSUB", IMAP_CMD_AUTH | JOB | SYNC, cmd_list, cmd_list_run, NULL },
	{ "NAMESPACE", IMAP_CMD_AUTH, cmd_namespace, NULL, NULL },  /* RFC 2342 */
	{ "STATUS", IMAP_CMD_AUTH | JOB | SYNC, cmd_status, cmd_status_run, NULL },
	{ "APPEND", IMAP_CMD_AUTH | JOB | SYNC, cmd_append, cmd_append_run, NULL },
	{ "IDLE", IMAP_CMD_AUTH, cmd_idle, NULL, NULL },          /* RFC 2177 */
	/* 6.4: selected */
	{ "CHECK", SEL | JOB | SYNC, cmd_expunge, cmd_expunge_run, NULL },
	{ "CLOSE", SEL | JOB, cmd_unselect, cmd_unselect_run, cmd_unselect_finish },
	{ "UNSELECT", SEL | JOB, cmd_unselect, cmd_unselect_run, cmd_unselect_finish },
	{ "EXPUNGE", SEL | JOB | SYNC, cmd_expunge, cmd_expunge_run, NULL },
	{ "SEARCH", SEL | JOB | SYNC | IMAP_CMD_NO_EXPUNGE, cmd_search, cmd_search_run, NULL },
	{ "FETCH", SEL | JOB | SYNC | IMAP_CMD_NO_EXPUNGE | IMAP_CMD_FETCH,
	  cmd_fetch, cmd_fetch_run, NULL },
	{ "STORE", SEL | JOB | SYNC | IMAP_CMD_NO_EXPUNGE, cmd_store, cmd_store_run, NULL },
	{ "COPY", SEL | JOB | SYNC, cmd_copy, cmd_copy_run, NULL },
	{ "MOVE", SEL | JOB | SYNC, cmd_copy, cmd_copy_run, NULL },   /* RFC 6851 */
	/* 6.4.9: the UID forms; their EXPUNGEs may be sent (RFC 9051 7.5.1) */
	{ "UID SEARCH", SEL | JOB | SYNC, cmd_search, cmd_search_run, NULL },
	{ "UID FETCH", SEL | JOB | SYNC | IMAP_CMD_FETCH, cmd_fetch, cmd_fetch_run, NULL },
	{ "UID STORE", SEL | JOB | SYNC, cmd_store, cmd_store_run, NULL },
	{ "UID COPY", SEL | JOB | SYNC, cmd_copy, cmd_copy_run, NULL },
	{ "UID MOVE", SEL | JOB | SYNC, cmd_copy, cmd_copy_run, NULL },
	{ "UID EXPUNGE", SEL | JOB | SYNC, cmd_expunge, cmd_expunge_run, NULL },  /* RFC 4315 */
};

const struct imap_command_def *imap_command_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(commands); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}
