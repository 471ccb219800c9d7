/*
 * server_pause.h - the workers' pause during a reload (server_pause.c),
 * for server.c.  Worker 0 is the main thread and never parks.
 */
#ifndef UDPD_SERVER_PAUSE_H
#define UDPD_SERVER_PAUSE_H

#include <stddef.h>

#include <event2/event.h>

#include "server.h"

#define SERVER_PAUSE_TIMEOUT_MS	5000	/* a reload waits for the workers */

/* The lock and condition, once the workers exist; freed by the last. */
void	server_pause_init(struct server *srv);
void	server_pause_free(struct server *srv);
/* Each worker's park_ev callback: parks until main resumes this pause. */
void	server_park(evutil_socket_t fd, short what, void *arg);
/*
 * Parks workers 1..N-1 (0 on success).  One that has not parked by
 * srv->pause_timeout_ms, or whose loop ended, fails it: -1 with err, the
 * others go on, nothing changed.  Main thread only.
 */
int	server_pause(struct server *srv, char *err, size_t errlen);
void	server_resume(struct server *srv);
/* A worker thread whose loop ended says so (a pause stops waiting). */
void	server_worker_gone(struct worker *w);

#endif
