#include "net-loop.h"
#include "log.h"

#include <event2/event.h>
#include <signal.h>
#include <sys/time.h>

struct net_loop {
	struct event_base *base;
	struct event *sig_term, *sig_int, *sig_hup;
	net_stop_cb *stop;
	net_reload_cb *reload;
	void *ctx;
	int stop_signal;
	bool stopped;
};

static void signal_cb(evutil_socket_t signo, short what, void *arg);
static void once_timeout_cb(evutil_socket_t fd, short what, void *arg);

static void signal_cb(evutil_socket_t signo, short what, void *arg)
{
	struct net_loop *loop = arg;

	if (signo == SIGHUP) {
		if (loop->reload != NULL) {
			log_info("serve", "reload signal=HUP");
			loop->reload(loop->ctx);
		} else {
			log_info("serve", "reload signal=HUP action=ignored");
		}
		return;
	}
	if (loop->stop_signal != 0) {
		/* a second TERM/INT while stopping: stop at once */
		net_loop_stop(loop);
		return;
	}
	loop->stop_signal = (int)signo;
	if (loop->stop != NULL)
		loop->stop(loop->ctx, (int)signo);
	else
		net_loop_stop(loop);
}

struct net_loop *net_loop_new(void)
{
	struct net_loop *loop = i_malloc(sizeof(*loop));
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		i_fatal("sigaction(SIGPIPE) failed");
	loop->base = event_base_new();
	if (loop->base == NULL)
		i_fatal("event_base_new() failed");
	return loop;
}

void net_loop_free(struct net_loop **_loop)
{
	struct net_loop *loop = *_loop;

	if (loop == NULL)
		return;
	if (loop->sig_term != NULL) {
		event_free(loop->sig_term);
		event_free(loop->sig_int);
		event_free(loop->sig_hup);
	}
	event_base_free(loop->base);
	i_free(loop);
	*_loop = NULL;
}

struct event_base *net_loop_base(struct net_loop *loop)
{
	return loop->base;
}

void net_loop_handle_signals(struct net_loop *loop, net_stop_cb *stop,
			     net_reload_cb *reload, void *ctx)
{
	i_assert(loop->sig_term == NULL);
	loop->stop = stop;
	loop->reload = reload;
	loop->ctx = ctx;
	loop->sig_term = evsignal_new(loop->base, SIGTERM, signal_cb, loop);
	loop->sig_int = evsignal_new(loop->base, SIGINT, signal_cb, loop);
	loop->sig_hup = evsignal_new(loop->base, SIGHUP, signal_cb, loop);
	if (loop->sig_term == NULL || loop->sig_int == NULL || loop->sig_hup == NULL ||
	    evsignal_add(loop->sig_term, NULL) < 0 || evsignal_add(loop->sig_int, NULL) < 0 ||
	    evsignal_add(loop->sig_hup, NULL) < 0)
		i_fatal("cannot install signal handlers");
}

int net_loop_run(struct net_loop *loop)
{
	loop->stopped = false;
	/* EVLOOP_NO_EXIT_ON_EMPTY: a server with nothing to do keeps waiting
	   for signals; net_loop_stop() ends it. */
	if (event_base_loop(loop->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
		return -1;
	return 0;
}

void net_loop_stop(struct net_loop *loop)
{
	loop->stopped = true;
	event_base_loopbreak(loop->base);
}

int net_loop_stop_signal(const struct net_loop *loop)
{
	return loop->stop_signal;
}

static void once_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
}

int net_loop_run_once(struct net_loop *loop, unsigned int timeout_msecs)
{
	struct event *timer;
	struct timeval tv;
	int ret;

	/* an event of our own (not loopexit, which would outlive this call
	   and end a later run) so that EVLOOP_ONCE returns in time */
	tv.tv_sec = timeout_msecs / 1000;
	tv.tv_usec = (timeout_msecs % 1000) * 1000;
	timer = evtimer_new(loop->base, once_timeout_cb, NULL);
	if (timer == NULL)
		return -1;
	evtimer_add(timer, &tv);
	ret = event_base_loop(loop->base, EVLOOP_ONCE);
	event_free(timer);
	return ret < 0 ? -1 : 0;
}
