/*
 * timer.c - the timers of timer.h on a libevent loop (evtimer), and the
 * monotonic clock.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "timer.h"

struct udpd_timer {
	struct event	*ev;
	udpd_timer_fn	 fire;
	void		*arg;
};

static void
timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udpd_timer *t = arg;

	(void)fd;
	(void)what;
	t->fire(t->arg);
}

static struct udpd_timer *
timer_event_create(void *ctx, udpd_timer_fn fire, void *arg)
{
	struct udpd_timer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->fire = fire;
	t->arg = arg;
	if ((t->ev = evtimer_new(ctx, timer_event_cb, t)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static int
timer_event_arm(struct udpd_timer *t, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return evtimer_add(t->ev, &tv) == 0 ? 0 : -1;
}

static void
timer_event_disarm(struct udpd_timer *t)
{
	evtimer_del(t->ev);
}

static void
timer_event_destroy(struct udpd_timer *t)
{
	if (t == NULL)
		return;
	event_free(t->ev);
	free(t);
}

static uint64_t
timer_event_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const struct udpd_timer_ops timer_event_ops = {
	.create = timer_event_create,
	.arm = timer_event_arm,
	.disarm = timer_event_disarm,
	.destroy = timer_event_destroy,
	.now_ms = timer_event_now_ms,
};

struct udpd_timers
udpd_timers_event(struct event_base *base)
{
	return (struct udpd_timers){ &timer_event_ops, base };
}
