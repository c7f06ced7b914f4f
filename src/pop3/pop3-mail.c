/*
 * The POP3 server's only door to mail: every mailbox store call of a
 * session, each run in a store job (never on the loop).
 *
 * The mailbox store (src/store/mailbox.h) is not on this branch yet: until
 * it is, a good login is answered "-ERR [SYS/TEMP]" and no session ever
 * reaches the TRANSACTION state.
 */
#include "pop3-private.h"
#include "log.h"

void pop3_mail_login(struct pop3_session *session, const char *user)
{
	log_error("pop3", "login session=%s user=%s error=no-mailbox-store", session->base.id,
		  log_str(user));
	pop3_err_nocount(session, "[SYS/TEMP] Mailbox not available, try again later");
}

void pop3_mail_retr_run(struct pop3_session *session, struct pop3_retr *retr)
{
	retr->failed = true;
	retr->client_error = "[SYS/TEMP] Cannot read the message";
}

void pop3_mail_update(struct pop3_session *session)
{
	pop3_ok(session, "tern POP3 server signing off");
	session->disconnect = true;
	session->disconnect_reason = "quit";
}

void pop3_mail_abandon(struct pop3_session *session)
{
}
