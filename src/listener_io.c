/*
 * listener_io.c - the batched read path of a listener's socket.
 *
 * On each readable event a worker reads up to BATCH datagrams with one
 * recvmmsg, runs each through the guards (size, loop, access list) and its
 * module, and sends every reply with one sendmmsg, from the local address
 * the request was sent to.  At most ROUNDS batches per wake-up, so one busy
 * socket cannot starve the others.  Buffers belong to the worker and are
 * allocated once: nothing is allocated per datagram.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "listener_int.h"
#include "log.h"

#define BATCH		32
#define ROUNDS		4
#define RX_SIZE		65536	/* > any UDP payload: bigger is MSG_TRUNC */
#define CTL_SIZE	128	/* pktinfo (v4 or v6) + a timespec stamp */

static void	listener_prepare_rx(struct batch *b, size_t n);

struct batch {
	struct mmsghdr		 rx[BATCH];
	struct mmsghdr		 tx[BATCH];
	struct iovec		 riov[BATCH];
	struct iovec		 tiov[BATCH];
	struct sockaddr_storage	 peer[BATCH];
	struct udpd_reply	 rep[BATCH];
	enum udpd_verdict	 verdict[BATCH];
	unsigned char		 tx_error[BATCH];	/* counted already */
	union {
		char		 buf[CTL_SIZE];
		struct cmsghdr	 align;
	}			 rctl[BATCH], tctl[BATCH];
	unsigned char		*rbuf;		/* BATCH * RX_SIZE */
	unsigned char		*tbuf;		/* BATCH * UDPD_MAX_DATAGRAM */
};

void
listener_clock(struct timespec *now)
{
	clock_gettime(CLOCK_REALTIME, now);
}

/*
 * Large buffers come from mmap: untouched pages cost no memory, so a worker
 * that only ever sees small datagrams stays small.
 */
static void *
batch_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct batch *
batch_new(void)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->rbuf = batch_map((size_t)BATCH * RX_SIZE);
	b->tbuf = batch_map((size_t)BATCH * UDPD_MAX_DATAGRAM);
	if (b->rbuf == NULL || b->tbuf == NULL) {
		batch_free(b);
		return NULL;
	}
	for (size_t i = 0; i < BATCH; i++) {
		b->riov[i].iov_base = b->rbuf + i * RX_SIZE;
		b->riov[i].iov_len = RX_SIZE;
		b->rep[i].buf = b->tbuf + i * UDPD_MAX_DATAGRAM;
		b->rep[i].cap = UDPD_MAX_DATAGRAM;
	}
	listener_prepare_rx(b, BATCH);
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	if (b->rbuf != NULL)
		munmap(b->rbuf, (size_t)BATCH * RX_SIZE);
	if (b->tbuf != NULL)
		munmap(b->tbuf, (size_t)BATCH * UDPD_MAX_DATAGRAM);
	free(b);
}

/* The arrival time and local address from a received message's cmsgs. */
static void
listener_parse_cmsgs(struct msghdr *m, struct timespec *stamp,
    struct cmsghdr **pktinfo)
{
	struct cmsghdr *c;

	*pktinfo = NULL;
	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS)
			memcpy(stamp, CMSG_DATA(c), sizeof(*stamp));
		else if ((c->cmsg_level == IPPROTO_IP &&
		    c->cmsg_type == IP_PKTINFO) ||
		    (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO))
			*pktinfo = c;
	}
}

/* Sets the reply's source address to the request's destination. */
static socklen_t
listener_reply_pktinfo(const struct cmsghdr *in, void *ctl)
{
	struct cmsghdr *out = ctl;

	if (in->cmsg_level == IPPROTO_IP) {
		struct in_pktinfo pi;

		/* ipi_spec_dst is the local address the kernel picked for this
		 * request: right for unicast, and for broadcast (where the
		 * destination, ipi_addr, cannot be a source). */
		memcpy(&pi, CMSG_DATA(in), sizeof(pi));
		pi.ipi_ifindex = 0;
		out->cmsg_level = IPPROTO_IP;
		out->cmsg_type = IP_PKTINFO;
		out->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(out), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	/* IPv6: keep the interface too, which link-local addresses need. */
	out->cmsg_level = IPPROTO_IPV6;
	out->cmsg_type = IPV6_PKTINFO;
	out->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
	memcpy(CMSG_DATA(out), CMSG_DATA(in), sizeof(struct in6_pktinfo));
	return CMSG_SPACE(sizeof(struct in6_pktinfo));
}

/*
 * recvmmsg() rewrites the lengths of the headers it filled: reset those
 * (the first n) for the next call, not the whole batch every time.
 */
static void
listener_prepare_rx(struct batch *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct msghdr *m = &b->rx[i].msg_hdr;

		m->msg_name = &b->peer[i];
		m->msg_namelen = sizeof(b->peer[i]);
		m->msg_iov = &b->riov[i];
		m->msg_iovlen = 1;
		m->msg_control = b->rctl[i].buf;
		m->msg_controllen = CTL_SIZE;
		m->msg_flags = 0;
	}
}

/* Queues reply i for sendmmsg; returns the new count. */
static unsigned
listener_queue_reply(struct listener *l, struct batch *b, size_t i,
    unsigned n, const struct cmsghdr *pktinfo)
{
	struct msghdr *m = &b->tx[n].msg_hdr;

	memset(m, 0, sizeof(*m));
	m->msg_name = &b->peer[i];
	m->msg_namelen = b->rx[i].msg_hdr.msg_namelen;
	b->tx_error[n] = b->verdict[i] == UDPD_REPLY_ERROR;
	b->tiov[n].iov_base = b->rep[i].buf;
	b->tiov[n].iov_len = b->rep[i].len;
	m->msg_iov = &b->tiov[n];
	m->msg_iovlen = 1;
	if (l->wildcard && pktinfo != NULL) {
		m->msg_control = b->tctl[n].buf;
		m->msg_controllen = listener_reply_pktinfo(pktinfo,
		    b->tctl[n].buf);
	}
	return n + 1;
}

void
listener_send_later(void *listener, const void *owner,
    const struct sockaddr *peer,
    socklen_t peerlen, const struct cmsghdr *pktinfo, const void *data,
    size_t len, enum udpd_verdict v)
{
	struct listener *l = listener;
	union {
		char		 buf[CTL_SIZE];
		struct cmsghdr	 align;
	} ctl;
	struct iovec iov = { (void *)(uintptr_t)data, len };
	struct msghdr m = {
		.msg_name = (void *)(uintptr_t)peer, .msg_namelen = peerlen,
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	/* A reload gave the socket to another service since the request
	 * came: the reply still goes, but the new service did not make it. */
	int counted = owner == l->svc;
	ssize_t r;

	if (pktinfo != NULL) {
		m.msg_control = ctl.buf;
		m.msg_controllen = listener_reply_pktinfo(pktinfo, ctl.buf);
	}
	if (counted && v == UDPD_REPLY_ERROR)
		COUNT(l, errors, 1);
	do
		r = sendmsg(l->fd, &m, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		log_debug("%s: send: %s", l->label, strerror(errno));
		if (counted && v != UDPD_REPLY_ERROR)	/* else counted above */
			COUNT(l, errors, 1);
		return;
	}
	if (!counted)
		return;
	COUNT(l, replies, 1);
	COUNT(l, bytes_out, (uint64_t)r);
}

static void
listener_send(struct listener *l, struct batch *b, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		int r = sendmmsg(l->fd, b->tx + done, n - done, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* This reply cannot go (buffer full, unreachable):
			 * count it (once) and go on with the rest. */
			log_debug("%s: send: %s", l->label, strerror(errno));
			if (!b->tx_error[done])
				COUNT(l, errors, 1);
			done++;
			continue;
		}
		for (int k = 0; k < r; k++) {
			COUNT(l, replies, 1);
			COUNT(l, bytes_out, b->tx[done + (unsigned)k].msg_len);
		}
		done += (unsigned)r;
	}
}

/* The module's end-of-batch work (group fsync), which may fail replies. */
static void
listener_batch_end(struct listener *l, struct batch *b, int n)
{
	enum udpd_verdict before[BATCH];

	memcpy(before, b->verdict, sizeof(before[0]) * (size_t)n);
	l->svc->module->batch_end(l->svc->instance, b->rep, b->verdict,
	    (size_t)n);
	for (int i = 0; i < n; i++)
		if (b->verdict[i] == UDPD_REPLY_ERROR && before[i] != b->verdict[i])
			COUNT(l, errors, 1);
}

/* One recvmmsg batch; returns how many datagrams it read (-1: stop). */
static int
listener_round(struct listener *l, struct batch *b)
{
	struct cmsghdr *pktinfo[BATCH];
	struct timespec batch_time;
	unsigned nreply = 0;
	int n;

	n = recvmmsg(l->fd, b->rx, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		/* ICMP errors from earlier replies surface here: not ours. */
		if (errno == ECONNREFUSED || errno == EHOSTUNREACH ||
		    errno == ENETUNREACH || errno == EINTR)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			log_warn("%s: recvmmsg", l->label);
		return -1;
	}
	listener_clock(&batch_time);
	if (l->rl != NULL) {
		struct timespec mono;

		clock_gettime(CLOCK_MONOTONIC, &mono);
		l->mono_ns = (uint64_t)mono.tv_sec * 1000000000ULL +
		    (uint64_t)mono.tv_nsec;
	}
	for (int i = 0; i < n; i++) {
		struct msghdr *m = &b->rx[i].msg_hdr;
		struct udpd_origin origin = { l->pending, l, l->svc, NULL };
		struct udpd_request req = {
			.data = b->riov[i].iov_base,
			.len = b->rx[i].msg_len,
			.peer = (struct sockaddr *)&b->peer[i],
			.peerlen = m->msg_namelen,
			.rx_time = batch_time,
			.now = listener_clock,
			.worker = l->worker_index,
			.origin = &origin,
		};

		listener_parse_cmsgs(m, &req.rx_time, &pktinfo[i]);
		if (l->wildcard)
			origin.pktinfo = pktinfo[i];
		b->verdict[i] = listener_process(l, &req,
		    (m->msg_flags & MSG_TRUNC) != 0, &b->rep[i]);
	}
	if (l->svc->module->batch_end != NULL)
		listener_batch_end(l, b, n);
	for (int i = 0; i < n; i++)
		if (b->verdict[i] == UDPD_REPLY ||
		    b->verdict[i] == UDPD_REPLY_ERROR)
			nreply = listener_queue_reply(l, b, (size_t)i, nreply,
			    pktinfo[i]);
	if (nreply > 0)
		listener_send(l, b, nreply);
	listener_prepare_rx(b, (size_t)n);
	return n;
}

static void
listener_readable(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	for (int round = 0; round < ROUNDS; round++)
		if (listener_round(l, l->batch) < BATCH)
			break;
}

int
listener_attach(struct listener *l, struct event_base *base, struct batch *b,
    struct pending_table *pending, const struct loop_guard *guard)
{
	l->batch = b;
	l->pending = pending;
	l->guard = guard;
	l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST, listener_readable,
	    l);
	if (l->ev == NULL || event_add(l->ev, NULL) < 0)
		return -1;
	return 0;
}
