/*
 * IDLE (RFC 2177, RFC 9051 6.3.13). While a client idles, changes to its
 * selected mailbox reach it at once: the store's watch (registered at
 * SELECT) signals the session's wake-up from whatever thread made the
 * change (a delivery, another session), and a store job reports them. A
 * timer also resyncs every IMAP_IDLE_CHECK_SECS for changes made behind
 * the store's back (another program writing the Maildir) and says
 * "* OK Still here" every IMAP_IDLE_KEEPALIVE_SECS, so NAT boxes keep the
 * connection. "DONE" ends it.
 */
#include "imap-common.h"
#include "arena.h"
#include "connection.h"
#include "job-pool.h"
#include "net-loop.h"

#include <event2/event.h>

#define IMAP_IDLE_CHECK_SECS 30
#define IMAP_IDLE_KEEPALIVE_SECS 120

static void idle_sync_start(struct imap_session *session);

static void idle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *session = arg;
	time_t now = time(NULL);

	if (!session->idling || session->conn == NULL)
		return;
	if (now - session->idle_last_keepalive >= IMAP_IDLE_KEEPALIVE_SECS) {
		net_conn_write_str(session->conn, "* OK Still here\r\n");
		session->idle_last_keepalive = now;
	}
	if (session->box != NULL)
		idle_sync_start(session);
}

/* The store's watch fired (on this loop now, through the wake-up). */
void imap_session_wake(void *ctx)
{
	struct imap_session *session = ctx;

	if (session->idling && session->box != NULL)
		idle_sync_start(session);
}

bool cmd_idle(struct imap_command *cmd)
{
	struct imap_session *session = cmd->session;
	struct timeval tv = { IMAP_IDLE_CHECK_SECS, 0 };

	if (cmd->arg_count != 0) {
		imap_cmd_bad(cmd, "IDLE takes no arguments");
		return false;
	}
	net_conn_write_str(session->conn, "+ idling\r\n");
	session->idling = true;
	session->cmd_wants_input = true;
	session->idle_last_keepalive = time(NULL);
	cmd->async = true;
	if (session->idle_timer == NULL)
		session->idle_timer = event_new(net_loop_base(session->server->loop), -1, EV_PERSIST,
						idle_timer_cb, session);
	if (session->idle_timer == NULL || event_add(session->idle_timer, &tv) < 0)
		i_fatal("imap: cannot add the idle timer");
	imap_session_update_input(session);
	/* changes since the last command are reported now */
	if (session->box != NULL)
		idle_sync_start(session);
	return false;
}

static void idle_sync_run(void *ctx)
{
	struct imap_session *session = ctx;

	imap_sync_run(session->cmd, true);
}

static void idle_sync_done(void *ctx)
{
	struct imap_session *session = ctx;
	struct imap_command *cmd = session->cmd;

	session->job_running = false;
	if (!service_session_release(&session->base))
		return;
	if (session->conn != NULL && cmd->out.used > 0)
		net_conn_write(session->conn, cmd->out.data, cmd->out.used);
	buf_reset(&cmd->out);
	if (session->box_gone) {
		session->disconnect = true;
		session->disconnect_reason = "mailbox-gone";
	}
	imap_session_update_input(session);
	imap_session_check_disconnect(session);
	/* a wake-up that came while this job ran */
	if (session->idle_wakeup && session->idling) {
		session->idle_wakeup = false;
		idle_sync_start(session);
	}
}

static void idle_sync_start(struct imap_session *session)
{
	if (session->job_running) {
		session->idle_wakeup = true;
		return;
	}
	session->job_running = true;
	service_session_hold(&session->base);
	imap_session_update_input(session);
	job_submit(session->server->store_jobs, idle_sync_run, idle_sync_done, session);
}

void imap_session_idle_stop(struct imap_session *session)
{
	session->idling = false;
	session->idle_wakeup = false;
	if (session->idle_timer != NULL) {
		event_free(session->idle_timer);
		session->idle_timer = NULL;
	}
}

/* RFC 9051 6.3.13: "DONE" ends IDLE; anything else is a BAD that ends it
   too. */
void imap_idle_line(struct imap_session *session, const char *line, size_t len)
{
	struct imap_command *cmd = session->cmd;

	imap_session_idle_stop(session);
	session->cmd_wants_input = false;
	if (len == 4 && i_memcaseeq(line, 4, "DONE"))
		imap_cmd_ok(cmd, "IDLE terminated");
	else
		imap_cmd_bad(cmd, "Expected DONE");
	imap_command_end(cmd);
}
