/*
 * listener.h - the sockets of the running services and their read path:
 * one non-blocking UDP socket per listen address per worker, one persistent
 * libevent read event each, datagrams read and answered in batches
 * (recvmmsg/sendmmsg), guards applied before any module sees a byte.
 */
#ifndef UDPD_LISTENER_H
#define UDPD_LISTENER_H

#include <event2/event.h>

#include "addr.h"
#include "ratelimit.h"
#include "conf.h"
#include "module.h"
#include "pending.h"

struct listener;
struct batch;

/* Ports a reply must never go to: 0, the classic looping services, ours. */
struct loop_guard {
	uint8_t	ports[65536 / 8];
};

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
	int				 worker_index;
	int				 passed_index;	/* systemd's fd, or -1 */
	uint64_t			 mono_ns;	/* batch time, for rl */
	struct listener			*next;
	char				 label[128];	/* "name addr:port" */
};

/*
 * Opens and binds the socket for listen address i of svc.  reuseport is set
 * when several workers bind the same address.  On failure returns NULL with
 * a message naming the service and address in err.
 */
struct listener *listener_open(struct service_conf *svc, size_t i,
	    const struct udpd_sockaddr *at, int reuseport, char *err,
	    size_t errlen);
/*
 * With several workers, steers each source address to one worker's socket
 * (a classic BPF program on the SO_REUSEPORT group), so a source's rate
 * limit bucket lives in one place.  Best effort: the kernel's default
 * 4-tuple hash remains if it cannot be attached.
 */
void	listener_steer(struct listener *first, int nworkers);
/* Logs what was dropped since the last call: one line per kind. */
void	listener_summarise(struct listener *l,
	    void (*rate_line)(void *arg, const char *text));
/* Wraps an already bound socket (systemd socket activation). */
struct listener *listener_adopt(struct service_conf *svc, size_t i, int fd,
	    char *err, size_t errlen);
/* A listener with no socket, for listener_process() alone (unit tests);
 * freed with listener_close(). */
struct listener *listener_new_unbound(struct service_conf *svc, size_t i,
	    const struct loop_guard *guard);
/* Starts reading on base with the worker's buffers and late replies. */
int	listener_attach(struct listener *l, struct event_base *base,
	    struct batch *b, struct pending_table *pending,
	    const struct loop_guard *guard);
/* Sends a reply given later (pending.h's pending_send_fn). */
void	listener_send_later(void *listener, const struct sockaddr *peer,
	    socklen_t peerlen, const struct cmsghdr *pktinfo,
	    const void *data, size_t len, enum udpd_verdict v);
/* Hands a kept socket to the service that now owns its address. */
void	listener_retarget(struct listener *l, struct service_conf *svc,
	    size_t i);
void	listener_close(struct listener *l);

struct batch	*batch_new(void);
void		 batch_free(struct batch *b);

void	loop_guard_init(struct loop_guard *g);
void	loop_guard_add(struct loop_guard *g, uint16_t port);

/* Realtime clock for modules (CLOCK_REALTIME). */
void	listener_clock(struct timespec *now);

/* Handles one received datagram: the guards (size, loop, access list,
 * rate) in that order, then the module.  Returns the verdict, fills rep. */
enum udpd_verdict listener_process(struct listener *l,
	    const struct udpd_request *req, int truncated,
	    struct udpd_reply *rep);

#endif
