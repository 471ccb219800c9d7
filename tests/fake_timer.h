/*
 * fake_timer.h - the timers of timer.h on a clock the test advances
 * (as unbound's testcode/fake_event.c): fake_advance(ms) fires, in
 * deadline order, every timer that falls due.  fake_arm_fails makes arming
 * fail, as evtimer_add can.  One clock per test program.
 */
#ifndef UDPD_TESTS_FAKE_TIMER_H
#define UDPD_TESTS_FAKE_TIMER_H

#include <stdlib.h>

#include "timer.h"

#define FAKE_TIMERS_MAX	256

struct udpd_timer {
	udpd_timer_fn	fire;
	void		*arg;
	int		armed;
	uint64_t	due;
};

static struct udpd_timer *fake_timers[FAKE_TIMERS_MAX];
static uint64_t fake_now;
static int fake_arm_fails;

static struct udpd_timer *
fake_create(void *ctx, udpd_timer_fn fire, void *arg)
{
	struct udpd_timer *t = calloc(1, sizeof(*t));

	(void)ctx;
	if (t == NULL)
		return NULL;
	t->fire = fire;
	t->arg = arg;
	for (int i = 0; i < FAKE_TIMERS_MAX; i++)
		if (fake_timers[i] == NULL) {
			fake_timers[i] = t;
			return t;
		}
	free(t);
	return NULL;
}

static int
fake_arm(struct udpd_timer *t, unsigned ms)
{
	if (fake_arm_fails)
		return -1;
	t->armed = 1;
	t->due = fake_now + ms;
	return 0;
}

static void
fake_disarm(struct udpd_timer *t)
{
	t->armed = 0;
}

static void
fake_destroy(struct udpd_timer *t)
{
	for (int i = 0; i < FAKE_TIMERS_MAX; i++)
		if (fake_timers[i] == t)
			fake_timers[i] = NULL;
	free(t);
}

static uint64_t
fake_now_ms(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static const struct udpd_timer_ops fake_timer_ops = {
	fake_create, fake_arm, fake_disarm, fake_destroy, fake_now_ms,
};

static __attribute__((unused)) struct udpd_timers
fake_timers_get(void)
{
	return (struct udpd_timers){ &fake_timer_ops, NULL };
}

/* Moves the clock ms ahead, firing what falls due on the way; returns
 * how many timers fired. */
static __attribute__((unused)) int
fake_advance(unsigned ms)
{
	uint64_t end = fake_now + ms;
	int fired = 0;

	for (;;) {
		struct udpd_timer *next = NULL;

		for (int i = 0; i < FAKE_TIMERS_MAX; i++) {
			struct udpd_timer *t = fake_timers[i];

			if (t != NULL && t->armed && t->due <= end &&
			    (next == NULL || t->due < next->due))
				next = t;
		}
		if (next == NULL)
			break;
		fake_now = next->due;
		next->armed = 0;
		next->fire(next->arg);
		fired++;
	}
	fake_now = end;
	return fired;
}

#endif
