/*
 * pending.h - replies that come later: one bounded table per worker of
 * the requests a module answers after handle() returned (a store that
 * waits on the network).  A slot keeps what the reply needs (where it
 * goes, the local address it must leave from) and a deadline; the table
 * sends through a function of the listener, so modules stay free of
 * sockets.  Everything here runs on the worker's thread, except while the
 * worker is paused or stopped (reload, shutdown).
 *
 * The module side (udpd_later_take, udpd_later_reply) is in module.h.
 */
#ifndef UDPD_PENDING_H
#define UDPD_PENDING_H

#include <sys/socket.h>
#include <stddef.h>

#include "module.h"
#include "timer.h"

struct pending_table;

/* Sends a late reply from sender (a listener) to peer; v says how it
 * counts (UDPD_REPLY or UDPD_REPLY_ERROR), owner for whom (the service
 * that had the socket when the request came). */
typedef void	(*pending_send_fn)(void *sender, const void *owner,
		    const struct sockaddr *peer, socklen_t peerlen,
		    const struct cmsghdr *pktinfo, const void *data,
		    size_t len, enum udpd_verdict v);

/* What the listener hands a request, for a reply given later. */
struct udpd_origin {
	struct pending_table	*table;
	void			*sender;	/* the listener */
	const void		*owner;		/* its service, now */
	const struct cmsghdr	*pktinfo;	/* as received, or NULL */
};

/* Room for the largest pktinfo control message (IPv6). */
#define PENDING_CTL_SIZE	64

/* A table of max slots whose deadlines run on timers (the worker's loop,
 * or a test's clock).  NULL: no memory. */
struct pending_table *pending_new(struct udpd_timers timers, size_t max,
	    pending_send_fn send);
/*
 * Frees the table.  A slot still waiting for its module is dropped: the
 * stores were stopped before, and a stopped store answers nothing more.
 */
void	pending_free(struct pending_table *t);
/* The sender is going away (a listener closed by a reload or at exit):
 * each client still waiting on it gets its timeout reply now, once, and
 * the module's answer is dropped when it comes. */
void	pending_forget_sender(struct pending_table *t, const void *sender);
/* Slots in use (waiting, or timed out and waiting for the module). */
size_t	pending_in_use(const struct pending_table *t);

#endif
