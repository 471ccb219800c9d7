/*
 * listener.c - UDP sockets and the batched read path.
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
#include <net/if.h>
#include <linux/filter.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"

#define BATCH		32
#define ROUNDS		4
#define RX_SIZE		65536	/* > any UDP payload: bigger is MSG_TRUNC */
#define CTL_SIZE	128	/* pktinfo (v4 or v6) + a timespec stamp */

static void	listener_prepare_rx(struct batch *b, size_t n);

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

struct batch {
	struct mmsghdr		 rx[BATCH];
	struct mmsghdr		 tx[BATCH];
	struct iovec		 riov[BATCH];
	struct iovec		 tiov[BATCH];
	struct sockaddr_storage	 peer[BATCH];
	struct udpd_reply	 rep[BATCH];
	enum udpd_verdict	 verdict[BATCH];
	union {
		char		 buf[CTL_SIZE];
		struct cmsghdr	 align;
	}			 rctl[BATCH], tctl[BATCH];
	unsigned char		*rbuf;		/* BATCH * RX_SIZE */
	unsigned char		*tbuf;		/* BATCH * UDPD_MAX_DATAGRAM */
};

static void	listener_rate_table(struct listener *l);

/* Counters have one writer (the worker); stats may read from another. */
#define COUNT(l, field, v) __atomic_store_n(&(l)->counters.field, \
	(l)->counters.field + (v), __ATOMIC_RELAXED)

void
listener_clock(struct timespec *now)
{
	clock_gettime(CLOCK_REALTIME, now);
}

void
loop_guard_init(struct loop_guard *g)
{
	/* Services that answer anything: a reply to them could loop. */
	static const uint16_t classic[] = { 0, 7, 13, 19, 37, 123 };

	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < sizeof(classic) / sizeof(classic[0]); i++)
		loop_guard_add(g, classic[i]);
}

void
loop_guard_add(struct loop_guard *g, uint16_t port)
{
	g->ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

static int
loop_guard_has(const struct loop_guard *g, uint16_t port)
{
	return (g->ports[port / 8] >> (port % 8)) & 1;
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

/* Options that must be set before bind(). */
static int
listener_bind_opts(int fd, int family, int reuseport)
{
	int on = 1;

	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &on, sizeof(on)) < 0)
		return -1;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) < 0)
		return -1;
	return 0;
}

/* What each received datagram must carry: local address, arrival time. */
static int
listener_recv_opts(int fd, int family, int wildcard, int timestamps)
{
	int on = 1;

	/* A wildcard socket must learn each request's local address so the
	 * reply leaves from it (multi-homed hosts). */
	if (wildcard && family == AF_INET && setsockopt(fd, IPPROTO_IP,
	    IP_PKTINFO, &on, sizeof(on)) < 0)
		return -1;
	if (wildcard && family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_RECVPKTINFO, &on, sizeof(on)) < 0)
		return -1;
	if (timestamps && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on,
	    sizeof(on)) < 0)
		return -1;
	return 0;
}

/* "service addr:port", for every log line about this socket. */
static void
listener_set_label(struct listener *l)
{
	char addr[INET6_ADDRSTRLEN + 16];

	snprintf(l->label, sizeof(l->label), "%s %s", l->svc->name,
	    addr_format((struct sockaddr *)&l->local.ss, addr, sizeof(addr)));
}

static struct listener *
listener_new(struct service_conf *svc, size_t i)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		fatal("calloc");
	l->fd = -1;
	l->passed_index = -1;
	l->svc = svc;
	l->listen_index = i;
	l->local = svc->listen[i];
	l->wildcard = addr_is_wildcard((struct sockaddr *)&l->local.ss);
	l->timestamps = svc->module->wants_rx_timestamp;
	listener_set_label(l);
	return l;
}

struct listener *
listener_new_unbound(struct service_conf *svc, size_t i,
    const struct loop_guard *guard)
{
	struct listener *l = listener_new(svc, i);

	l->guard = guard;
	listener_rate_table(l);
	return l;
}

/*
 * Binds l's socket to the service's interface (or to none): -1 with errno.
 * Setting a device needs CAP_NET_RAW before Linux 5.7, changing or
 * removing one always does.
 */
static int
listener_bind_device(struct listener *l)
{
	const char *want = l->svc->interface != NULL ? l->svc->interface : "";

	if (strcmp(want, l->device) == 0)
		return 0;
	if (setsockopt(l->fd, SOL_SOCKET, SO_BINDTODEVICE, want,
	    (socklen_t)strlen(want)) < 0)
		return -1;
	snprintf(l->device, sizeof(l->device), "%s", want);
	return 0;
}

/* "service s: cannot bind to interface eth0: reason (hint)". */
static void
listener_device_error(const struct listener *l, char *err, size_t errlen)
{
	int e = errno;

	snprintf(err, errlen, "service %s: cannot bind %s to interface %s: "
	    "%s%s", l->svc->name, l->svc->listen_text[l->listen_index],
	    l->svc->interface != NULL ? l->svc->interface : "(none)",
	    strerror(e), e == EPERM ? " (needs CAP_NET_RAW or root)" : "");
}

struct listener *
listener_open(struct service_conf *svc, size_t i,
    const struct udpd_sockaddr *at, int reuseport, char *err, size_t errlen)
{
	struct listener *l = listener_new(svc, i);
	char addr[INET6_ADDRSTRLEN + 16];
	int family = l->local.ss.ss_family;

	if (at != NULL)
		l->local = *at;
	addr_format((struct sockaddr *)&l->local.ss, addr, sizeof(addr));
	l->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || listener_bind_opts(l->fd, family, reuseport) < 0 ||
	    listener_recv_opts(l->fd, family, l->wildcard, l->timestamps) < 0) {
		snprintf(err, errlen, "service %s: socket for %s: %s",
		    svc->name, addr, strerror(errno));
		goto fail;
	}
	if (listener_bind_device(l) < 0) {
		listener_device_error(l, err, errlen);
		goto fail;
	}
	if (bind(l->fd, (struct sockaddr *)&l->local.ss, l->local.len) < 0) {
		snprintf(err, errlen, "service %s: cannot bind %s (%s): %s",
		    svc->name, svc->listen_text[i], addr, strerror(errno));
		goto fail;
	}
	/* Port 0 lets the kernel choose: learn what it chose. */
	l->local.len = sizeof(l->local.ss);
	getsockname(l->fd, (struct sockaddr *)&l->local.ss, &l->local.len);
	listener_set_label(l);
	return l;
fail:
	listener_close(l);
	return NULL;
}

struct listener *
listener_adopt(struct service_conf *svc, size_t i, int fd, char *err,
    size_t errlen)
{
	struct listener *l = listener_new(svc, i);

	l->fd = fd;
	if (listener_recv_opts(fd, l->local.ss.ss_family, l->wildcard,
	    l->timestamps) < 0) {
		snprintf(err, errlen, "service %s: passed socket: %s",
		    svc->name, strerror(errno));
		l->fd = -1;		/* systemd's: never closed by us */
		listener_close(l);
		return NULL;
	}
	/* systemd may have bound it already (BindToDevice=). */
	{
		socklen_t len = sizeof(l->device) - 1;

		if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, l->device,
		    &len) < 0)
			len = 0;
		l->device[len] = '\0';
	}
	if (listener_bind_device(l) < 0) {
		listener_device_error(l, err, errlen);
		l->fd = -1;
		listener_close(l);
		return NULL;
	}
	evutil_make_socket_nonblocking(fd);
	return l;
}

void
listener_retarget(struct listener *l, struct service_conf *svc, size_t i)
{
	l->svc = svc;
	l->listen_index = i;
	if (svc->module->wants_rx_timestamp && !l->timestamps &&
	    listener_recv_opts(l->fd, l->local.ss.ss_family, 0, 1) == 0)
		l->timestamps = 1;
	listener_set_label(l);
	listener_rate_table(l);
	/* A kept socket follows a changed interface if the kernel lets it. */
	if (listener_bind_device(l) < 0) {
		char why[256];

		listener_device_error(l, why, sizeof(why));
		log_warnx("%s (the socket keeps its old interface until a "
		    "restart)", why);
	}
}

/* (Re)creates the rate-limit table when the service's settings ask. */
static void
listener_rate_table(struct listener *l)
{
	const struct rate_limit_conf *want = &l->svc->rate_limit;

	if (l->rl != NULL && want->enabled && want->rate == l->rl_conf.rate &&
	    want->burst == l->rl_conf.burst &&
	    want->ipv6_prefix == l->rl_conf.ipv6_prefix)
		return;
	ratelimit_free(l->rl);
	l->rl = NULL;
	l->rl_conf = *want;
	if (want->enabled &&
	    ((l->rl = ratelimit_new(want->rate, want->burst, 0)) == NULL ||
	    (want->ipv6_prefix != 0 &&
	    ratelimit_set_ipv6_prefix(l->rl, want->ipv6_prefix) < 0)))
		fatal("%s: rate limit table", l->label);
}

void
listener_steer(struct listener *first, int nworkers)
{
	/* Worker = hash(source address, IPv6 by /64 or the rate limit's
	 * shorter prefix, so that one bucket key is on one worker) mod
	 * nworkers. */
	unsigned prefix = first->svc->rate_limit.enabled &&
	    first->svc->rate_limit.ipv6_prefix != 0 ?
	    first->svc->rate_limit.ipv6_prefix : 64;
	uint32_t mask = prefix >= 64 ? 0xffffffffu : prefix <= 32 ? 0 :
	    0xffffffffu << (64 - prefix);
	struct sock_filter v4[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, (unsigned)nworkers),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_filter v6[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 8),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, (unsigned)nworkers),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog;

	if (first->local.ss.ss_family == AF_INET6) {
		prog.len = sizeof(v6) / sizeof(v6[0]);
		prog.filter = v6;
	} else {
		prog.len = sizeof(v4) / sizeof(v4[0]);
		prog.filter = v4;
	}
	if (setsockopt(first->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
	    sizeof(prog)) < 0)
		log_warning("%s: cannot steer sources to workers (%s): the "
		    "kernel's 4-tuple hash is used", first->label,
		    strerror(errno));
}

void
listener_summarise(struct listener *l,
    void (*rate_line)(void *arg, const char *text))
{
	struct udpd_counters now, *was = &l->summarised;

	if (l->rl != NULL)
		ratelimit_report(l->rl, rate_line, l->label);
	now.drop_acl = __atomic_load_n(&l->counters.drop_acl,
	    __ATOMIC_RELAXED);
	now.drop_size = __atomic_load_n(&l->counters.drop_size,
	    __ATOMIC_RELAXED);
	now.drop_loop = __atomic_load_n(&l->counters.drop_loop,
	    __ATOMIC_RELAXED);
	now.drop_malformed = __atomic_load_n(&l->counters.drop_malformed,
	    __ATOMIC_RELAXED);
	if (now.drop_acl != was->drop_acl || now.drop_size != was->drop_size ||
	    now.drop_loop != was->drop_loop ||
	    now.drop_malformed != was->drop_malformed)
		log_notice("%s: dropped since the last summary: %llu refused "
		    "by allow/deny, %llu too large, %llu to looping ports, "
		    "%llu malformed", l->label,
		    (unsigned long long)(now.drop_acl - was->drop_acl),
		    (unsigned long long)(now.drop_size - was->drop_size),
		    (unsigned long long)(now.drop_loop - was->drop_loop),
		    (unsigned long long)(now.drop_malformed -
		    was->drop_malformed));
	was->drop_acl = now.drop_acl;
	was->drop_size = now.drop_size;
	was->drop_loop = now.drop_loop;
	was->drop_malformed = now.drop_malformed;
}

void
listener_close(struct listener *l)
{
	if (l == NULL)
		return;
	pending_forget_sender(l->pending, l);
	ratelimit_free(l->rl);
	if (l->ev != NULL)
		event_free(l->ev);
	/* systemd's socket stays open, free for a later reload */
	if (l->fd >= 0 && l->passed_index < 0)
		close(l->fd);
	free(l);
}

struct listener *
listener_next(const struct listener *l)
{
	return l->next;
}

void
listener_push(struct listener **head, struct listener *l)
{
	l->next = *head;
	*head = l;
}

struct listener *
listener_take_bound_to(struct listener **head, const struct service_conf *svc,
    size_t i)
{
	const struct sockaddr *want =
	    (const struct sockaddr *)&svc->listen[i].ss;

	for (struct listener **pp = head; *pp != NULL; pp = &(*pp)->next) {
		struct listener *l = *pp;
		const struct sockaddr *have = (const struct sockaddr *)
		    &l->svc->listen[l->listen_index].ss;

		if (!addr_equal(have, want))
			continue;
		if (addr_port(want) == 0 && strcmp(l->svc->name, svc->name))
			continue;
		*pp = l->next;
		l->next = NULL;
		return l;
	}
	return NULL;
}

int
listener_dup_socket(const struct listener *l)
{
	return fcntl(l->fd, F_DUPFD_CLOEXEC, 0);
}

void
listener_mark_passed(struct listener *l, int index)
{
	l->passed_index = index;
}

int
listener_passed(const struct listener *l)
{
	return l->passed_index;
}

void
listener_set_worker(struct listener *l, int worker)
{
	l->worker_index = worker;
}

int
listener_worker(const struct listener *l)
{
	return l->worker_index;
}

const struct service_conf *
listener_service(const struct listener *l)
{
	return l->svc;
}

const struct udpd_sockaddr *
listener_local(const struct listener *l)
{
	return &l->local;
}

const char *
listener_label(const struct listener *l)
{
	return l->label;
}

void
listener_counters(const struct listener *l, struct udpd_counters *c)
{
	const uint64_t *src = (const uint64_t *)&l->counters;
	uint64_t *dst = (uint64_t *)c;

	for (size_t i = 0; i < sizeof(*c) / sizeof(*dst); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void
listener_reset_counters(struct listener *l)
{
	uint64_t *c = (uint64_t *)&l->counters;

	for (size_t i = 0; i < sizeof(l->counters) / sizeof(*c); i++)
		__atomic_store_n(&c[i], 0, __ATOMIC_RELAXED);
	memset(&l->summarised, 0, sizeof(l->summarised));
}

/* Access lists: deny wins; with an allow list, only its blocks pass. */
static int
listener_acl_ok(const struct service_conf *svc, const struct sockaddr *peer)
{
	for (size_t i = 0; i < svc->ndeny; i++)
		if (cidr_match(&svc->deny[i], peer))
			return 0;
	if (svc->nallow == 0)
		return 1;
	for (size_t i = 0; i < svc->nallow; i++)
		if (cidr_match(&svc->allow[i], peer))
			return 1;
	return 0;
}

static void
listener_debug(const struct listener *l, const struct udpd_request *req,
    const char *what)
{
	char peer[INET6_ADDRSTRLEN + 16], text[200];

	log_debug("%s: %s from %s: %s", l->label, what,
	    addr_format(req->peer, peer, sizeof(peer)),
	    log_escape(req->data, req->len < 48 ? req->len : 48, text,
	    sizeof(text)));
}

enum udpd_verdict
listener_process(struct listener *l, const struct udpd_request *req,
    int truncated, struct udpd_reply *rep)
{
	const struct service_conf *svc = l->svc;
	uint16_t port = addr_port(req->peer);
	enum udpd_verdict v;

	COUNT(l, requests, 1);
	COUNT(l, bytes_in, req->len);
	rep->len = 0;
	rep->mark = 0;
	if (truncated || req->len > svc->max_request) {
		COUNT(l, drop_size, 1);
		return UDPD_DROP_SILENT;
	}
	if (loop_guard_has(l->guard, port) && !(port == 123 &&
	    svc->reply_is_terminal)) {
		COUNT(l, drop_loop, 1);
		return UDPD_DROP_SILENT;
	}
	if (!listener_acl_ok(svc, req->peer)) {
		COUNT(l, drop_acl, 1);
		return UDPD_DROP_SILENT;
	}
	if (l->rl != NULL && !ratelimit_allow(l->rl, req->peer, l->mono_ns)) {
		COUNT(l, drop_rate, 1);
		if (svc->module->limited != NULL &&
		    ratelimit_should_kod(l->rl, req->peer, l->mono_ns))
			return svc->module->limited(svc->instance, req, rep);
		return UDPD_DROP_SILENT;
	}
	v = svc->module->handle(svc->instance, req, rep);
	switch (v) {
	case UDPD_REPLY_ERROR:
		COUNT(l, errors, 1);
		break;
	case UDPD_DROP:
		COUNT(l, drop_malformed, 1);
		break;
	default:
		break;
	}
	if (log_get_level() >= LOG_DEBUG)
		listener_debug(l, req, v == UDPD_DROP ? "dropped" : "request");
	return v;
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
listener_send_later(void *listener, const struct sockaddr *peer,
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
	ssize_t r;

	if (pktinfo != NULL) {
		m.msg_control = ctl.buf;
		m.msg_controllen = listener_reply_pktinfo(pktinfo, ctl.buf);
	}
	if (v == UDPD_REPLY_ERROR)
		COUNT(l, errors, 1);
	do
		r = sendmsg(l->fd, &m, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		log_debug("%s: send: %s", l->label, strerror(errno));
		COUNT(l, errors, 1);
		return;
	}
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
			 * count it and go on with the rest. */
			log_debug("%s: send: %s", l->label, strerror(errno));
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
		struct udpd_origin origin = { l->pending, l, NULL };
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
