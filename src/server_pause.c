/*
 * server_pause.c - the workers' pause while a reload swaps their sockets:
 * main asks every worker to park, waits for them until a deadline, and
 * lets them go again; a worker that does not come fails the reload.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "log.h"
#include "server.h"
#include "server_pause.h"

/* The pause's lock and condition, on the monotonic clock (deadlines). */
void
server_pause_init(struct server *srv)
{
	pthread_condattr_t ca;

	if (pthread_mutex_init(&srv->park_lock, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&srv->park_cond, &ca) != 0)
		fatalx("cannot create the workers' pause lock");
	pthread_condattr_destroy(&ca);
}

/*
 * Runs in a worker, when main wants every worker paused: parks there until
 * main resumes this pause.  Asked late (main gave up waiting) it goes on.
 */
void
server_park(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct server *srv = w->srv;
	unsigned gen;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&srv->park_lock);
	gen = srv->pause_gen;
	if (srv->pausing) {
		w->parked_in = gen;
		pthread_cond_broadcast(&srv->park_cond);
		while (srv->pausing && srv->pause_gen == gen)
			pthread_cond_wait(&srv->park_cond, &srv->park_lock);
	}
	pthread_mutex_unlock(&srv->park_lock);
}

/*
 * A running worker that has not parked in this pause, one whose loop ended
 * first (*gone set then); -1 if every one has parked.  Under park_lock.
 */
static int
server_unparked(const struct server *srv, int *gone)
{
	int late = -1;

	for (int i = 1; i < srv->nworkers; i++) {
		const struct worker *w = &srv->workers[i];

		if (!w->running || w->parked_in == srv->pause_gen)
			continue;
		if (w->gone) {
			*gone = 1;
			return i;
		}
		if (late < 0)
			late = i;
	}
	return late;
}

/* The deadline of a pause begun now, on the monotonic clock. */
static struct timespec
server_pause_deadline(const struct server *srv)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += srv->pause_timeout_ms / 1000;
	t.tv_nsec += (long)(srv->pause_timeout_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/*
 * Pauses every other worker (they wait in server_park) while main swaps.
 * A worker that does not come by the deadline (stuck, or its loop ended)
 * makes it give up: -1 with err, the ones parked go on, nothing changed.
 */
int
server_pause(struct server *srv, char *err, size_t errlen)
{
	struct timespec deadline = server_pause_deadline(srv);
	int late, gone = 0, timedout = 0;

	if (atomic_load(&srv->worker_failed)) {
		snprintf(err, errlen, "a worker stopped (its event loop "
		    "failed): not reloading; udpd is stopping");
		return -1;
	}
	pthread_mutex_lock(&srv->park_lock);
	srv->pause_gen++;
	srv->pausing = 1;
	pthread_mutex_unlock(&srv->park_lock);
	for (int i = 1; i < srv->nworkers; i++)
		if (srv->workers[i].running)
			event_active(srv->workers[i].park_ev, EV_READ, 0);
	pthread_mutex_lock(&srv->park_lock);
	while ((late = server_unparked(srv, &gone)) >= 0 && !gone &&
	    !timedout)
		timedout = pthread_cond_timedwait(&srv->park_cond,
		    &srv->park_lock, &deadline) != 0;
	if (late >= 0) {
		srv->pausing = 0;
		pthread_cond_broadcast(&srv->park_cond);
	}
	pthread_mutex_unlock(&srv->park_lock);
	if (late < 0)
		return 0;
	if (gone)
		snprintf(err, errlen, "worker %d did not pause: its event "
		    "loop ended; not reloading", late);
	else
		snprintf(err, errlen, "worker %d did not pause within %d ms "
		    "(busy or stuck): not reloading", late,
		    srv->pause_timeout_ms);
	return -1;
}

void
server_resume(struct server *srv)
{
	pthread_mutex_lock(&srv->park_lock);
	srv->pausing = 0;
	pthread_cond_broadcast(&srv->park_cond);
	pthread_mutex_unlock(&srv->park_lock);
}

void
server_worker_gone(struct worker *w)
{
	struct server *srv = w->srv;

	pthread_mutex_lock(&srv->park_lock);
	w->gone = 1;
	pthread_cond_broadcast(&srv->park_cond);
	pthread_mutex_unlock(&srv->park_lock);
}

void
server_pause_free(struct server *srv)
{
	pthread_cond_destroy(&srv->park_cond);
	pthread_mutex_destroy(&srv->park_lock);
}
