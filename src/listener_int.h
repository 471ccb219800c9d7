/*
 * listener_int.h - what the listener's three files share and nothing else
 * includes: the listener itself (listener.c owns its socket, listener_io.c
 * its batched reads and sends, listener_guard.c the guards before a module).
 */
#ifndef UDPD_LISTENER_INT_H
#define UDPD_LISTENER_INT_H

#include <net/if.h>

#include "listener.h"

/* One socket of one worker. */
struct listener {
	int				 fd;
	struct event			*ev;
	struct service_conf		*svc;		/* may be switched on reload */
	const struct loop_guard		*guard;
	struct batch			*batch;		/* the worker's buffers */
	struct pending_table		*pending;	/* the worker's late replies */
	struct udpd_sockaddr		 local;		/* as bound (real port) */
	size_t				 listen_index;	/* in svc->listen */
	int				 wildcard;	/* needs IP_PKTINFO */
	int				 timestamps;	/* SO_TIMESTAMPNS on */
	struct udpd_counters		 counters;	/* this socket's share */
	struct udpd_counters		 summarised;	/* at the last summary */
	struct ratelimit		*rl;		/* per-source buckets */
	struct rate_limit_conf		 rl_conf;	/* what rl was made for */
	char				 device[IFNAMSIZ]; /* SO_BINDTODEVICE */
	int				 worker_index;
	int				 passed_index;	/* systemd's fd, or -1 */
	uint64_t			 mono_ns;	/* batch time, for rl */
	struct listener			*next;
	char				 label[128];	/* "name addr:port" */
};

/* Counters have one writer (the worker); stats may read from another. */
#define COUNT(l, field, v) __atomic_store_n(&(l)->counters.field, \
	(l)->counters.field + (v), __ATOMIC_RELAXED)

/* (Re)creates the rate-limit table when the service's settings ask
 * (listener_guard.c). */
void	listener_rate_table(struct listener *l);

#endif
