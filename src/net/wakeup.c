/*
 * Cross-thread wake-ups (wakeup.h): a mutex-protected list of signalled
 * targets and an eventfd that makes the loop drain it.
 */
#include "wakeup.h"
#include "net-loop.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct net_wakeup {
	pthread_mutex_t lock;
	struct net_wakeup_target *head, *tail;
	int efd;
	struct event *ev;
};

static void wakeup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_wakeup *w = arg;
	struct net_wakeup_target *t;
	uint64_t n;

	if (read(w->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		i_fatal("wakeup: eventfd read: %s", strerror(errno));
	/* one at a time: a callback may cancel targets still queued */
	for (;;) {
		pthread_mutex_lock(&w->lock);
		t = w->head;
		if (t != NULL) {
			w->head = t->next;
			if (w->head == NULL)
				w->tail = NULL;
			t->next = NULL;
			t->queued = false;
		}
		pthread_mutex_unlock(&w->lock);
		if (t == NULL)
			break;
		t->cb(t->ctx);
	}
}

struct net_wakeup *net_wakeup_new(struct net_loop *loop)
{
	struct net_wakeup *w = i_malloc(sizeof(*w));

	pthread_mutex_init(&w->lock, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		i_fatal("wakeup: eventfd: %s", strerror(errno));
	w->ev = event_new(net_loop_base(loop), w->efd, EV_READ | EV_PERSIST, wakeup_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) < 0)
		i_fatal("wakeup: cannot add the event");
	return w;
}

void net_wakeup_free(struct net_wakeup **wp)
{
	struct net_wakeup *w = *wp;

	if (w == NULL)
		return;
	i_assert(w->head == NULL);
	event_free(w->ev);
	close(w->efd);
	pthread_mutex_destroy(&w->lock);
	i_free(w);
	*wp = NULL;
}

void net_wakeup_target_init(struct net_wakeup_target *t, void (*cb)(void *ctx), void *ctx)
{
	t->next = NULL;
	t->cb = cb;
	t->ctx = ctx;
	t->queued = false;
}

void net_wakeup_signal(struct net_wakeup *w, struct net_wakeup_target *t)
{
	uint64_t one = 1;
	bool wake = false;

	pthread_mutex_lock(&w->lock);
	if (!t->queued) {
		t->queued = true;
		t->next = NULL;
		if (w->tail != NULL)
			w->tail->next = t;
		else
			w->head = t;
		w->tail = t;
		wake = true;
	}
	pthread_mutex_unlock(&w->lock);
	if (wake && write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		i_fatal("wakeup: eventfd write: %s", strerror(errno));
}

void net_wakeup_cancel(struct net_wakeup *w, struct net_wakeup_target *t)
{
	struct net_wakeup_target **pp, *prev = NULL;

	pthread_mutex_lock(&w->lock);
	if (t->queued) {
		for (pp = &w->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
			if (*pp == t) {
				*pp = t->next;
				if (w->tail == t)
					w->tail = prev;
				break;
			}
		}
		t->queued = false;
		t->next = NULL;
	}
	pthread_mutex_unlock(&w->lock);
}
