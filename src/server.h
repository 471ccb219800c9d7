/*
 * server.h - the running daemon: the loaded configuration, its module
 * instances, the worker threads and their sockets, and the switch to a new
 * configuration (reload).
 *
 * Each worker has its own event_base, read buffers and one socket per
 * listen address (SO_REUSEPORT when there are several workers), and shares
 * nothing with the others on the hot path.  Worker 0 runs in the main
 * thread, which also handles signals.
 */
#ifndef UDPD_SERVER_H
#define UDPD_SERVER_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "conf.h"
#include "listener.h"

struct server;

struct worker {
	struct server		*srv;
	int			 index;
	struct event_base	*base;
	struct batch		*batch;
	struct pending_table	*pending;	/* replies that come later */
	struct listener		*listeners;
	struct event		*park_ev;	/* main asks it to pause */
	struct event		*summary_ev;	/* rate-limit log summary */
	pthread_t		 thread;
	int			 running;	/* thread started */
	unsigned		 parked_in;	/* pause it parked in (park_lock) */
	int			 gone;		/* its loop ended (park_lock) */
};

struct server {
	struct udpd_conf	*conf;
	struct event_base	*base;		/* the main thread's */
	struct worker		*workers;
	struct event_base	**bases;	/* workers[i].base, for modules */
	struct udpd_timers	*timers;	/* timers on bases[i] */
	int			 nworkers;
	struct loop_guard	 guard;
	struct udpd_stats_view	 stats;
	struct timespec		 started;	/* CLOCK_MONOTONIC */
	struct timespec		 started_real;	/* CLOCK_REALTIME, metrics */
	/* The pause of a reload: main waits for the workers at most
	 * pause_timeout_ms; they wait for main to resume them. */
	pthread_mutex_t		 park_lock;
	pthread_cond_t		 park_cond;	/* any change below */
	unsigned		 pause_gen;	/* the pause in progress */
	int			 pausing;	/* workers asked to park */
	int			 pause_timeout_ms;
	int			*passed;	/* socket activation fds */
	unsigned char		*passed_used;
	size_t			 npassed;
	atomic_int		 worker_failed;	/* a worker's loop ended */
};

void	server_init(struct server *srv, struct event_base *base);
/* After fork() (detaching): every event base made before it is
 * reinitialised (epoll, signal pipes), as libevent asks.  -1 on failure. */
int	server_after_fork(struct server *srv);
/*
 * Binds every enabled service of conf (keeping the sockets of addresses
 * that srv already serves) and switches to it.  On failure nothing
 * changes, conf is not taken, and err names the service and address.
 */
int	server_apply(struct server *srv, struct udpd_conf *conf, char *err,
	    size_t errlen);
/* Starts the threads of workers 1..N-1 (worker 0 is the main loop). */
void	server_start_workers(struct server *srv);
/* Stops and joins them: called after the main loop ends. */
void	server_stop_workers(struct server *srv);
void	server_take_passed(struct server *srv);
void	server_warn_unused_passed(const struct server *srv);
void	server_reopen(struct server *srv);	/* SIGHUP for modules */
void	server_log_stats(const struct server *srv);
/*
 * Calls fn for each enabled service with its counters summed over the
 * workers, read while they run (the metrics).  Main thread only: the
 * socket lists change only there.
 */
void	server_foreach_service(const struct server *srv,
	    void (*fn)(void *arg, const struct service_conf *svc,
	    const struct udpd_counters *c), void *arg);
size_t	server_socket_count(const struct server *srv);
/* Writes "service addr:port" per socket to path (tests use port 0). */
int	server_write_ports(const struct server *srv, const char *path);
void	server_free(struct server *srv);

#endif
