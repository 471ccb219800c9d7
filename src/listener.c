/*
 * listener.c - the UDP sockets of the services: opened and bound (or
 * adopted from systemd), kept or handed on across a reload, steered to
 * workers, closed; and what the server may ask of one.  The read path is in
 * listener_io.c, the guards in listener_guard.c.
 */
#include "config.h"

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

#include "listener_int.h"
#include "log.h"

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
	int family = l->local.ss.ss_family, e;

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
	e = errno;		/* the caller tells a missing address by it */
	listener_close(l);
	errno = e;
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
#define LOAD(f) c->f = __atomic_load_n(&l->counters.f, __ATOMIC_RELAXED);
	UDPD_COUNTERS(LOAD)
#undef LOAD
}

void
listener_reset_counters(struct listener *l)
{
#define ZERO(f) __atomic_store_n(&l->counters.f, 0, __ATOMIC_RELAXED);
	UDPD_COUNTERS(ZERO)
#undef ZERO
	memset(&l->summarised, 0, sizeof(l->summarised));
}
