/* The event loop: signals (TERM/INT stop, HUP reloads), run_once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <event2/event.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net-loop.h"

struct sigstate {
	struct net_loop *loop;
	int stops, reloads, last_signo;
};

static void on_stop(void *ctx, int signo)
{
	struct sigstate *st = ctx;

	st->stops++;
	st->last_signo = signo;
	net_loop_stop(st->loop);
}

static void on_reload(void *ctx)
{
	struct sigstate *st = ctx;

	st->reloads++;
}

static void send_signals(evutil_socket_t fd, short what, void *arg)
{
	kill(getpid(), SIGHUP);
	kill(getpid(), SIGHUP);
	/* a moment later: TERM (the HUPs are handled first or together) */
	kill(getpid(), (int)(intptr_t)arg);
}

static void run_with_signal(int signo)
{
	struct sigstate st = { 0 };
	struct timeval tv = { 0, 20 * 1000 };
	struct event *ev;

	st.loop = net_loop_new();
	net_loop_handle_signals(st.loop, on_stop, on_reload, &st);
	ev = evtimer_new(net_loop_base(st.loop), send_signals, (void *)(intptr_t)signo);
	evtimer_add(ev, &tv);
	/* returns only through on_stop */
	assert_int_equal(net_loop_run(st.loop), 0);
	assert_int_equal(st.stops, 1);
	assert_int_equal(st.last_signo, signo);
	assert_true(st.reloads >= 1);
	assert_int_equal(net_loop_stop_signal(st.loop), signo);
	event_free(ev);
	net_loop_free(&st.loop);
	assert_null(st.loop);
}

static void test_loop_sigterm(void **state)
{
	run_with_signal(SIGTERM);
}

static void test_loop_sigint(void **state)
{
	run_with_signal(SIGINT);
}

static void test_loop_run_once(void **state)
{
	struct net_loop *loop = net_loop_new();
	struct timespec a, b;

	/* nothing to do: returns after the timeout */
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(net_loop_run_once(loop, 50), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= 45);
	/* SIGPIPE is ignored once a loop exists */
	assert_int_equal(kill(getpid(), SIGPIPE), 0);
	net_loop_free(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_sigterm),
		cmocka_unit_test(test_loop_sigint),
		cmocka_unit_test(test_loop_run_once),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
