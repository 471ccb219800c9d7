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
void	listener_send_later(void *listener, const void *owner,
	    const struct sockaddr *peer,
	    socklen_t peerlen, const struct cmsghdr *pktinfo,
	    const void *data, size_t len, enum udpd_verdict v);
/* Hands a kept socket to the service that now owns its address. */
void	listener_retarget(struct listener *l, struct service_conf *svc,
	    size_t i);
/* Closes the socket (never systemd's: see listener_mark_passed) and frees
 * l; its late replies are dropped. */
void	listener_close(struct listener *l);

/*
 * What the server asks of a listener.  The server keeps each worker's
 * listeners in a list it owns through these; it never touches a field.
 */
struct listener *listener_next(const struct listener *l);
void	listener_push(struct listener **head, struct listener *l);
/*
 * Takes out of the list at *head the listener bound to listen address i of
 * svc, to keep its socket across a reload; NULL if there is none.  Port 0
 * means "any port": only a listener of the same service matches it.
 */
struct listener *listener_take_bound_to(struct listener **head,
	    const struct service_conf *svc, size_t i);
/* A new descriptor for l's socket (the workers share a passed socket);
 * -1 with errno. */
int	listener_dup_socket(const struct listener *l);
/* The socket came from systemd (its index in the passed fds): it is
 * never closed by listener_close(), free for a later reload. */
void	listener_mark_passed(struct listener *l, int index);
int	listener_passed(const struct listener *l);	/* index, or -1 */
void	listener_set_worker(struct listener *l, int worker);
int	listener_worker(const struct listener *l);
const struct service_conf *listener_service(const struct listener *l);
/* The address as bound (the real port, when port 0 was asked). */
const struct udpd_sockaddr *listener_local(const struct listener *l);
const char *listener_label(const struct listener *l);	/* "name addr" */
/* A snapshot of the counters (each read atomically). */
void	listener_counters(const struct listener *l, struct udpd_counters *c);
/* The socket now serves another service: counting starts again. */
void	listener_reset_counters(struct listener *l);

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
