/*
 * timer.h - one-shot timers and a monotonic clock behind a small table of
 * functions: in the daemon they run on a worker's libevent loop (timer.c);
 * in a unit test on a clock the test advances (tests/fake_timer.h), so
 * deadlines and backoff are tested without waiting.  What keeps deadlines
 * (the pending replies, a store's timeouts and reconnect backoff) takes a
 * struct udpd_timers rather than an event base.
 */
#ifndef UDPD_TIMER_H
#define UDPD_TIMER_H

#include <stdint.h>

struct event_base;
struct udpd_timer;

typedef void	(*udpd_timer_fn)(void *arg);

struct udpd_timer_ops {
	/* A disarmed timer that calls fire(arg) when it expires; NULL if
	 * out of memory. */
	struct udpd_timer *(*create)(void *ctx, udpd_timer_fn fire,
			    void *arg);
	/* (Re)arms t to fire once, ms from now; -1 if it cannot. */
	int		(*arm)(struct udpd_timer *t, unsigned ms);
	void		(*disarm)(struct udpd_timer *t);
	void		(*destroy)(struct udpd_timer *t);
	/* Monotonic milliseconds (for backoff and elapsed time). */
	uint64_t	(*now_ms)(void *ctx);
};

struct udpd_timers {
	const struct udpd_timer_ops	*ops;
	void				*ctx;
};

/* Timers on a libevent loop. */
struct udpd_timers udpd_timers_event(struct event_base *base);

#endif
