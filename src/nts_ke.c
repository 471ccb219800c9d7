/*
 * nts_ke.c - the NTS-KE server: a thread of its own ("udpd-ntske") with its
 * own event loop, so that no handshake delays a UDP worker; TCP listeners
 * accepted there, one TLS session per client through libevent's
 * bufferevent_openssl, the request parsed by nts_ke_records.c, the keys
 * exported by nts_tls.c and the cookies sealed by the service's module
 * (its running instance's cookie keys, thread-safe).  A session answers
 * one request and closes.
 *
 * The main thread binds the listeners (nts_ke_prepare) and switches the
 * services (nts_ke_commit) only while the thread is parked
 * (nts_ke_pause, a mutex and condition variable rendezvous reached
 * through a pipe), so the thread never sees an instance being freed.
 * The session counters are atomic: the metrics endpoint reads them from
 * the main thread.
 *
 * Bounded: at most NTS_KE_SESSIONS_MAX sessions open (past it a new one is
 * closed at once), NTS_KE_PER_SOURCE_MAX of them from one source, a
 * per-source rate of new sessions per service, the service's allow/deny,
 * a deadline for the handshake and another for the request, and at most
 * NTS_KE_REQUEST_MAX bytes of request held.  A slow
 * or hostile client costs one slot until its deadline, nothing else.
 */
#include "config.h"

#include <string.h>

#include "nts_ke.h"

#ifdef HAVE_NTS_KE

#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>

#include "acl.h"
#include "log.h"
#include "module.h"
#include "nts_conf.h"
#include "nts_ke_records.h"
#include "nts_tls.h"
#include "ratelimit.h"

#define NTS_KE_BACKLOG		128
/* Room for a response: 8 cookies of up to NTS_KE_COOKIE_MAX bytes. */
#define NTS_KE_COOKIE_MAX	256
#define NTS_KE_RESPONSE_MAX	(64 + NTS_KE_SERVER_MAX + \
				 NTS_KE_COOKIES * (4 + NTS_KE_COOKIE_MAX))

/* One service that serves NTS-KE: what a session needs of it. */
struct nts_ke_service {
	char			*name;
	const struct udpd_module *module;
	void			*instance;	/* the running one */
	struct nts_tls		*tls;		/* for new sessions */
	char			*ntp_server;
	int			 ntp_port;
	struct acl		 acl;
	struct ratelimit	*rl;
	uint64_t		 results[NTS_KE_NRESULTS];
	struct nts_ke_service	*next;
};

/* One listening address. */
struct nts_ke_sock {
	struct nts_ke		*k;
	char			*service;
	struct udpd_sockaddr	 want;		/* as configured */
	struct udpd_sockaddr	 local;		/* as bound */
	struct evconnlistener	*l;
	int			 keep;
	int			 logged;	/* "listening" said */
	struct nts_ke_sock	*next;
};

/* One session. */
struct nts_ke_conn {
	struct nts_ke		*k;
	char			*service;
	struct bufferevent	*bev;
	struct event		*deadline;
	int			 handshaken;
	int			 answered;	/* response queued */
	enum nts_ke_result	 result;
	struct sockaddr_storage	 peer;
	size_t			 len;
	uint8_t			 in[NTS_KE_REQUEST_MAX];
	struct nts_ke_conn	*prev, *next;
};

struct nts_ke {
	struct event_base	*base;		/* the thread's own */
	int			 wake[2];	/* 'p' park, 'q' quit */
	struct event		*wake_ev;
	pthread_t		 thread;
	int			 may_start;	/* nts_ke_start() was called */
	int			 started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 parked;	/* in nts_ke_park, under mu */
	int			 go;		/* main says: leave the park */
	int			 exited;	/* its loop ended */
	struct nts_ke_service	*services;
	struct nts_ke_sock	*socks;		/* serving */
	struct nts_ke_sock	*next;		/* prepared */
	struct nts_ke_conn	*conns;
	size_t			 nconns;
};

static void	nts_ke_run(struct nts_ke *);

static struct nts_ke_service *
nts_ke_find(const struct nts_ke *k, const char *name)
{
	for (struct nts_ke_service *s = k->services; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static uint64_t
nts_ke_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- sessions ---------------------------------------------------------- */

static void
nts_ke_count(struct nts_ke *k, const char *service, enum nts_ke_result r)
{
	struct nts_ke_service *s = nts_ke_find(k, service);

	if (s != NULL)
		__atomic_add_fetch(&s->results[r], 1, __ATOMIC_RELAXED);
}

static void
nts_ke_close(struct nts_ke_conn *c, enum nts_ke_result r)
{
	struct nts_ke *k = c->k;

	nts_ke_count(k, c->service, r);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		k->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	k->nconns--;
	event_free(c->deadline);
	bufferevent_free(c->bev);	/* close_notify, SSL_free, close */
	OPENSSL_cleanse(c->in, sizeof(c->in));
	free(c->service);
	free(c);
}

static void
nts_ke_send(struct nts_ke_conn *c, const uint8_t *buf, size_t len,
    enum nts_ke_result r)
{
	c->answered = 1;
	c->result = r;
	bufferevent_disable(c->bev, EV_READ);
	if (len == 0 || bufferevent_write(c->bev, buf, len) < 0)
		nts_ke_close(c, r);
}

static void
nts_ke_send_error(struct nts_ke_conn *c, uint16_t code,
    enum nts_ke_result r)
{
	uint8_t buf[16];

	nts_ke_send(c, buf, nts_ke_write_error(code, buf, sizeof(buf)), r);
}

/* Eight cookies of one length into out; their length, or 0. */
static size_t
nts_ke_cookies(const struct nts_ke_service *s, uint16_t aead,
    const uint8_t *c2s, const uint8_t *s2c, uint8_t *out)
{
	size_t len = 0;

	if (s->module->nts_cookie == NULL || s->instance == NULL)
		return 0;
	for (size_t i = 0; i < NTS_KE_COOKIES; i++) {
		size_t n = s->module->nts_cookie(s->instance, aead, c2s, s2c,
		    NTS_KE_KEY_LEN, out + i * NTS_KE_COOKIE_MAX,
		    NTS_KE_COOKIE_MAX);

		if (n == 0 || (len != 0 && n != len))
			return 0;
		len = n;
	}
	/* Back to back, as the writer takes them. */
	for (size_t i = 1; i < NTS_KE_COOKIES; i++)
		memmove(out + i * len, out + i * NTS_KE_COOKIE_MAX, len);
	return len;
}

static void
nts_ke_answer(struct nts_ke_conn *c, const struct nts_ke_request *req)
{
	struct nts_ke_service *s = nts_ke_find(c->k, c->service);
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	uint8_t c2s[NTS_KE_KEY_LEN], s2c[NTS_KE_KEY_LEN];
	uint8_t cookies[NTS_KE_COOKIES * NTS_KE_COOKIE_MAX];
	uint8_t out[NTS_KE_RESPONSE_MAX];
	struct nts_ke_response resp = { .ntpv4 = req->ntpv4,
	    .aead = req->aead };

	if (s == NULL) {	/* NTS removed by a reload meanwhile */
		nts_ke_send_error(c, NTS_KE_ERR_INTERNAL, NTS_KE_INTERNAL);
		return;
	}
	if (req->ntpv4 && req->aead != 0) {
		if (nts_tls_export(ssl, req->aead, 0, c2s, sizeof(c2s)) < 0 ||
		    nts_tls_export(ssl, req->aead, 1, s2c, sizeof(s2c)) < 0 ||
		    (resp.cookie_len = nts_ke_cookies(s, req->aead, c2s, s2c,
		    cookies)) == 0) {
			OPENSSL_cleanse(c2s, sizeof(c2s));
			OPENSSL_cleanse(s2c, sizeof(s2c));
			nts_ke_send_error(c, NTS_KE_ERR_INTERNAL,
			    NTS_KE_INTERNAL);
			return;
		}
		OPENSSL_cleanse(c2s, sizeof(c2s));
		OPENSSL_cleanse(s2c, sizeof(s2c));
		resp.cookies = cookies;
		resp.ncookies = NTS_KE_COOKIES;
		resp.server = s->ntp_server;
		resp.port = (uint16_t)s->ntp_port;
	}
	nts_ke_send(c, out, nts_ke_write_response(&resp, out, sizeof(out)),
	    NTS_KE_OK);
}

static void
nts_ke_read(struct bufferevent *bev, void *arg)
{
	struct nts_ke_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct nts_ke_request req;
	int n;

	if (c->answered) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	/* One byte past the limit is enough to refuse the request. */
	n = evbuffer_remove(in, c->in + c->len, sizeof(c->in) - c->len);
	if (n > 0)
		c->len += (size_t)n;
	if (evbuffer_get_length(in) > 0 && c->len == sizeof(c->in)) {
		nts_ke_send_error(c, NTS_KE_ERR_BAD_REQUEST,
		    NTS_KE_BAD_REQUEST);
		return;
	}
	switch (nts_ke_parse_request(c->in, c->len, &req)) {
	case NTS_KE_MORE:
		return;
	case NTS_KE_COMPLETE:
		nts_ke_answer(c, &req);
		return;
	case NTS_KE_UNRECOGNIZED:
		nts_ke_send_error(c, NTS_KE_ERR_UNRECOGNIZED,
		    NTS_KE_BAD_REQUEST);
		return;
	case NTS_KE_BAD:
	default:
		nts_ke_send_error(c, NTS_KE_ERR_BAD_REQUEST,
		    NTS_KE_BAD_REQUEST);
	}
}

/* The response is with the kernel: the session is over. */
static void
nts_ke_written(struct bufferevent *bev, void *arg)
{
	struct nts_ke_conn *c = arg;

	(void)bev;
	if (c->answered)
		nts_ke_close(c, c->result);
}

static void
nts_ke_arm(struct nts_ke_conn *c, int secs)
{
	struct timeval tv = { secs, 0 };

	event_add(c->deadline, &tv);
}

static void
nts_ke_event(struct bufferevent *bev, short what, void *arg)
{
	struct nts_ke_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		if (!nts_tls_alpn_ok(bufferevent_openssl_get_ssl(bev))) {
			nts_ke_close(c, NTS_KE_TLS);
			return;
		}
		c->handshaken = 1;
		nts_ke_arm(c, NTS_KE_REQUEST_SECS);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		nts_ke_close(c, c->answered ? c->result : c->handshaken ?
		    NTS_KE_BAD_REQUEST : NTS_KE_TLS);
}

static void
nts_ke_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nts_ke_close(arg, NTS_KE_TIMEOUT);
}

/* *ssl, handed over: *ssl is NULL afterwards, so no error path frees
 * what its new owner may already have freed. */
static SSL *
nts_ke_give(SSL **ssl)
{
	SSL *s = *ssl;

	*ssl = NULL;
	return s;
}

/* The same source: one IPv4 address, or one IPv6 /64. */
static int
nts_ke_same_source(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 8) == 0;
	return 0;
}

/* Has sa as many sessions open as one source may? */
static int
nts_ke_source_full(const struct nts_ke *k, const struct sockaddr *sa)
{
	int n = 0;

	for (const struct nts_ke_conn *c = k->conns; c != NULL; c = c->next)
		if (nts_ke_same_source((const struct sockaddr *)&c->peer, sa) &&
		    ++n >= NTS_KE_PER_SOURCE_MAX)
			return 1;
	return 0;
}

/* Refuses fd (counted) or starts its TLS session. */
static void
nts_ke_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct nts_ke_sock *sock = arg;
	struct nts_ke *k = sock->k;
	struct nts_ke_service *s = nts_ke_find(k, sock->service);
	struct nts_ke_conn *c;
	SSL *ssl = NULL;

	(void)l;
	if (s == NULL || k->nconns >= NTS_KE_SESSIONS_MAX ||
	    (size_t)salen > sizeof(struct sockaddr_storage) || nts_ke_source_full(k, sa) ||
	    !acl_match(&s->acl, sa) ||
	    (s->rl != NULL && !ratelimit_allow(s->rl, sa, nts_ke_now_ns())) ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		if (s != NULL)
			nts_ke_count(k, s->name, NTS_KE_REFUSED);
		evutil_closesocket(fd);
		return;
	}
	c->k = k;
	memcpy(&c->peer, sa, (size_t)salen);
	/* With BEV_OPT_CLOSE_ON_FREE the bufferevent owns ssl from the call
	 * on: libevent 2.1.12 and 2.2 free it when they fail to make one
	 * (the fd is left to us), and bufferevent_free() frees both. */
	if ((c->service = strdup(s->name)) == NULL ||
	    (ssl = SSL_new(nts_tls_ctx(s->tls))) == NULL ||
	    (c->bev = bufferevent_openssl_socket_new(k->base, fd,
	    nts_ke_give(&ssl), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->deadline = evtimer_new(k->base, nts_ke_timeout, c)) == NULL) {
		log_warnx("NTS-KE of service \"%s\": out of memory", s->name);
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else {
			SSL_free(ssl);		/* NULL once given away */
			evutil_closesocket(fd);
		}
		free(c->service);
		free(c);
		nts_ke_count(k, s->name, NTS_KE_REFUSED);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, nts_ke_read, nts_ke_written, nts_ke_event,
	    c);
	bufferevent_enable(c->bev, EV_READ);
	nts_ke_arm(c, NTS_KE_HANDSHAKE_SECS);
	c->next = k->conns;
	if (k->conns != NULL)
		k->conns->prev = c;
	k->conns = c;
	k->nconns++;
}

/* EMFILE and friends: stop accepting for a second, log once. */
static void
nts_ke_relisten(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

static void
nts_ke_accept_error(struct evconnlistener *l, void *arg)
{
	struct nts_ke_sock *sock = arg;
	struct timeval tv = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	if (e == EINTR || e == EAGAIN || e == ECONNABORTED)
		return;
	log_warnx("NTS-KE of service \"%s\": accept: %s; pausing 1 s",
	    sock->service, evutil_socket_error_to_string(e));
	evconnlistener_disable(l);
	event_base_once(sock->k->base, -1, EV_TIMEOUT, nts_ke_relisten, l, &tv);
}

/* ---- listeners and reloads --------------------------------------------- */

static void
nts_ke_sock_free(struct nts_ke_sock *s)
{
	if (s->l != NULL)
		evconnlistener_free(s->l);
	free(s->service);
	free(s);
}

/*
 * The running socket bound as want (kept: already claimed, or not): the
 * same configured address, or the port the kernel chose for it.
 */
static struct nts_ke_sock *
nts_ke_match(struct nts_ke_sock *list, const struct udpd_sockaddr *want,
    int kept)
{
	const struct sockaddr *w = (const struct sockaddr *)&want->ss;

	if (addr_port(w) == 0)
		return NULL;
	for (struct nts_ke_sock *s = list; s != NULL; s = s->next)
		if (s->keep == kept && s->l != NULL &&
		    (addr_equal((const struct sockaddr *)&s->want.ss, w) ||
		    addr_equal((const struct sockaddr *)&s->local.ss, w)))
			return s;
	return NULL;
}

static int
nts_ke_bind(struct nts_ke *k, struct nts_ke_sock *s, const char *text,
    char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&s->want.ss;
	evutil_socket_t fd;
	int on = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, sa, s->want.len) < 0 || listen(fd, NTS_KE_BACKLOG) < 0) {
		snprintf(err, errlen, "service \"%s\": NTS-KE address %s: %s",
		    s->service, text, strerror(errno));
		if (fd >= 0)
			evutil_closesocket(fd);
		return -1;
	}
	s->local.len = sizeof(s->local.ss);
	getsockname(fd, (struct sockaddr *)&s->local.ss, &s->local.len);
	s->l = evconnlistener_new(k->base, nts_ke_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_DISABLED, -1, fd);
	if (s->l == NULL) {
		snprintf(err, errlen, "service \"%s\": NTS-KE address %s: "
		    "cannot listen", s->service, text);
		evutil_closesocket(fd);
		return -1;
	}
	evconnlistener_set_error_cb(s->l, nts_ke_accept_error);
	return 0;
}

/* One address of service name into k->next: the running socket, or new. */
static int
nts_ke_prepare_one(struct nts_ke *k, const char *name,
    const struct udpd_sockaddr *want, const char *text, char *err,
    size_t errlen)
{
	struct nts_ke_sock *s = nts_ke_match(k->socks, want, 0);
	struct nts_ke_sock *n = calloc(1, sizeof(*n));

	if (n == NULL || (n->service = strdup(name)) == NULL) {
		free(n);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n->k = k;
	n->want = *want;
	n->next = k->next;
	k->next = n;
	if (s != NULL) {	/* taken over at commit */
		s->keep = 1;
		n->local = s->local;
		return 0;
	}
	return nts_ke_bind(k, n, text, err, errlen);
}

static const struct nts_conf *
nts_ke_conf_of(const struct service_conf *svc)
{
	if (!svc->enabled || svc->module->nts == NULL)
		return NULL;
	return svc->module->nts(svc->options);
}

int
nts_ke_prepare(struct nts_ke *k, const struct udpd_conf *conf, char *err,
    size_t errlen)
{
	nts_ke_abort(k);
	for (size_t i = 0; conf != NULL && i < conf->nservices; i++) {
		const struct service_conf *svc = &conf->services[i];
		const struct nts_conf *nc = nts_ke_conf_of(svc);

		for (size_t j = 0; nc != NULL && j < nc->nlisten; j++)
			if (nts_ke_prepare_one(k, svc->name, &nc->listen[j],
			    nc->listen_text[j], err, errlen) < 0) {
				nts_ke_abort(k);
				return -1;
			}
	}
	return 0;
}

void
nts_ke_abort(struct nts_ke *k)
{
	while (k->next != NULL) {
		struct nts_ke_sock *n = k->next;

		k->next = n->next;
		nts_ke_sock_free(n);
	}
	for (struct nts_ke_sock *s = k->socks; s != NULL; s = s->next)
		s->keep = 0;
}

static void
nts_ke_service_free(struct nts_ke_service *s)
{
	nts_tls_free(s->tls);
	acl_clear(&s->acl);
	ratelimit_free(s->rl);
	free(s->ntp_server);
	free(s->name);
	free(s);
}

/* The service's rate_limit, or NTS-KE's default when it sets none. */
static struct ratelimit *
nts_ke_ratelimit(const struct service_conf *svc)
{
	const struct rate_limit_conf *rc = &svc->rate_limit;
	struct ratelimit *rl;

	if (rc->enabled && !rc->is_default) {
		rl = ratelimit_new(rc->rate, rc->burst, 0);
		if (rl != NULL && rc->ipv6_prefix != 0)
			ratelimit_set_ipv6_prefix(rl, rc->ipv6_prefix);
		return rl;
	}
	return ratelimit_new(NTS_KE_RATE_DEFAULT, NTS_KE_BURST_DEFAULT, 0);
}

/* The service as it now runs, its counters carried over. */
static struct nts_ke_service *
nts_ke_service_new(const struct nts_ke *k, const struct service_conf *svc,
    const struct nts_conf *nc)
{
	struct nts_ke_service *s = calloc(1, sizeof(*s)), *old;

	if (s == NULL || (s->name = strdup(svc->name)) == NULL ||
	    (nc->ntp_server != NULL &&
	    (s->ntp_server = strdup(nc->ntp_server)) == NULL))
		fatal("NTS-KE: out of memory");
	s->module = svc->module;
	s->instance = svc->instance;
	s->tls = nts_tls_ref(nc->tls);
	s->ntp_port = nc->ntp_port;
	acl_copy(&s->acl, &svc->acl);
	if ((s->rl = nts_ke_ratelimit(svc)) == NULL)
		fatal("NTS-KE: cannot make a rate limit table");
	if ((old = nts_ke_find(k, svc->name)) != NULL)
		for (size_t r = 0; r < NTS_KE_NRESULTS; r++)
			s->results[r] = __atomic_load_n(&old->results[r],
			    __ATOMIC_RELAXED);
	return s;
}

void
nts_ke_commit(struct nts_ke *k, const struct udpd_conf *conf)
{
	struct nts_ke_service *services = NULL;

	for (size_t i = 0; conf != NULL && i < conf->nservices; i++) {
		const struct service_conf *svc = &conf->services[i];
		const struct nts_conf *nc = nts_ke_conf_of(svc);
		struct nts_ke_service *s;

		if (nc == NULL || nc->nlisten == 0)
			continue;
		s = nts_ke_service_new(k, svc, nc);
		s->next = services;
		services = s;
	}
	while (k->services != NULL) {
		struct nts_ke_service *s = k->services;

		k->services = s->next;
		nts_ke_service_free(s);
	}
	k->services = services;
	/* The prepared sockets take over the kept listeners. */
	for (struct nts_ke_sock *n = k->next; n != NULL; n = n->next) {
		struct nts_ke_sock *s;

		if (n->l != NULL)
			continue;
		s = nts_ke_match(k->socks, &n->want, 1);
		n->l = s->l;
		n->logged = s->logged;
		s->l = NULL;
		evconnlistener_set_cb(n->l, nts_ke_accept, n);
		evconnlistener_set_error_cb(n->l, nts_ke_accept_error);
	}
	while (k->socks != NULL) {
		struct nts_ke_sock *s = k->socks;

		k->socks = s->next;
		nts_ke_sock_free(s);
	}
	k->socks = k->next;
	k->next = NULL;
	for (struct nts_ke_sock *s = k->socks; s != NULL; s = s->next) {
		char text[INET6_ADDRSTRLEN + 16];

		if (!s->logged)
			log_notice("%s NTS-KE %s: listening", s->service,
			    addr_format((const struct sockaddr *)&s->local.ss,
			    text, sizeof(text)));
		s->logged = 1;
		evconnlistener_enable(s->l);
	}
	nts_ke_run(k);
}

/* ---- the thread ------------------------------------------------------- */

/* In the thread: wait, doing nothing, until nts_ke_resume(). */
static void
nts_ke_park(struct nts_ke *k)
{
	pthread_mutex_lock(&k->mu);
	k->parked = 1;
	pthread_cond_broadcast(&k->cv);
	while (!k->go)
		pthread_cond_wait(&k->cv, &k->mu);
	k->go = 0;
	k->parked = 0;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

static void
nts_ke_wake(evutil_socket_t fd, short what, void *arg)
{
	struct nts_ke *k = arg;
	char cmd[16];
	ssize_t n;

	(void)what;
	while ((n = read(fd, cmd, sizeof(cmd))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (cmd[i] == 'q') {
				event_base_loopbreak(k->base);
				return;
			}
			nts_ke_park(k);
		}
}

static void *
nts_ke_main(void *arg)
{
	struct nts_ke *k = arg;
	sigset_t all;

	/* Signals are the main thread's (libevent's handler there). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (event_base_loop(k->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
		log_warnx("NTS-KE: event loop failed: no more key exchanges");
	pthread_mutex_lock(&k->mu);
	k->exited = 1;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

static void
nts_ke_tell(struct nts_ke *k, char cmd)
{
	while (write(k->wake[1], &cmd, 1) < 0)
		if (errno != EINTR)
			fatal("NTS-KE: cannot wake its thread");
}

/* The thread, once allowed and once there is something to serve. */
static void
nts_ke_run(struct nts_ke *k)
{
	if (k->started || !k->may_start || k->socks == NULL)
		return;
	if (pthread_create(&k->thread, NULL, nts_ke_main, k) != 0)
		fatalx("cannot start the NTS-KE thread");
	pthread_setname_np(k->thread, "udpd-ntske");
	k->started = 1;
}

void
nts_ke_start(struct nts_ke *k)
{
	k->may_start = 1;
	nts_ke_run(k);
}

void
nts_ke_pause(struct nts_ke *k)
{
	if (!k->started)
		return;
	nts_ke_tell(k, 'p');
	pthread_mutex_lock(&k->mu);
	while (!k->parked && !k->exited)
		pthread_cond_wait(&k->cv, &k->mu);
	pthread_mutex_unlock(&k->mu);
}

void
nts_ke_resume(struct nts_ke *k)
{
	if (!k->started)
		return;
	pthread_mutex_lock(&k->mu);
	if (k->parked) {
		k->go = 1;
		pthread_cond_broadcast(&k->cv);
		while (k->parked)
			pthread_cond_wait(&k->cv, &k->mu);
	}
	pthread_mutex_unlock(&k->mu);
}

void
nts_ke_stop(struct nts_ke *k)
{
	if (k == NULL)
		return;
	k->may_start = 0;
	if (!k->started)
		return;
	nts_ke_tell(k, 'q');
	pthread_join(k->thread, NULL);
	k->started = 0;
}

int
nts_ke_after_fork(struct nts_ke *k)
{
	return event_reinit(k->base);
}

struct nts_ke *
nts_ke_new(void)
{
	struct nts_ke *k = calloc(1, sizeof(*k));

	if (k == NULL)
		fatal("calloc");
	if ((k->base = event_base_new()) == NULL)
		fatalx("NTS-KE: event_base_new failed");
	if (pipe2(k->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		fatal("NTS-KE: pipe");
	k->wake_ev = event_new(k->base, k->wake[0], EV_READ | EV_PERSIST,
	    nts_ke_wake, k);
	if (k->wake_ev == NULL || event_add(k->wake_ev, NULL) < 0)
		fatalx("NTS-KE: cannot watch its pipe");
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	return k;
}

int
nts_ke_counts(const struct nts_ke *k, const char *name,
    uint64_t out[NTS_KE_NRESULTS])
{
	const struct nts_ke_service *s = k != NULL ? nts_ke_find(k, name) :
	    NULL;

	if (s == NULL)
		return -1;
	for (size_t r = 0; r < NTS_KE_NRESULTS; r++)
		out[r] = __atomic_load_n(&s->results[r], __ATOMIC_RELAXED);
	return 0;
}

void
nts_ke_write_ports(const struct nts_ke *k, FILE *f)
{
	char text[INET6_ADDRSTRLEN + 16];

	for (const struct nts_ke_sock *s = k->socks; s != NULL; s = s->next)
		fprintf(f, "@nts %s %s\n", s->service, addr_format(
		    (const struct sockaddr *)&s->local.ss, text,
		    sizeof(text)));
}

void
nts_ke_free(struct nts_ke *k)
{
	if (k == NULL)
		return;
	nts_ke_stop(k);
	while (k->conns != NULL)
		nts_ke_close(k->conns, NTS_KE_TIMEOUT);
	nts_ke_abort(k);
	nts_ke_commit(k, NULL);
	event_free(k->wake_ev);
	close(k->wake[0]);
	close(k->wake[1]);
	event_base_free(k->base);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k);
}

#else /* !HAVE_NTS_KE: the configuration refuses nts.listen */

#include <stdlib.h>

#include "log.h"

struct nts_ke {
	int	unused;
};

struct nts_ke *
nts_ke_new(void)
{
	struct nts_ke *k = calloc(1, sizeof(*k));

	if (k == NULL)
		fatal("calloc");
	return k;
}

void
nts_ke_start(struct nts_ke *k)
{
	(void)k;
}

void
nts_ke_pause(struct nts_ke *k)
{
	(void)k;
}

void
nts_ke_resume(struct nts_ke *k)
{
	(void)k;
}

void
nts_ke_stop(struct nts_ke *k)
{
	(void)k;
}

int
nts_ke_after_fork(struct nts_ke *k)
{
	(void)k;
	return 0;
}

int
nts_ke_prepare(struct nts_ke *k, const struct udpd_conf *conf, char *err,
    size_t errlen)
{
	(void)k;
	(void)conf;
	(void)err;
	(void)errlen;
	return 0;
}

void
nts_ke_commit(struct nts_ke *k, const struct udpd_conf *conf)
{
	(void)k;
	(void)conf;
}

void
nts_ke_abort(struct nts_ke *k)
{
	(void)k;
}

int
nts_ke_counts(const struct nts_ke *k, const char *name,
    uint64_t out[NTS_KE_NRESULTS])
{
	(void)k;
	(void)name;
	(void)out;
	return -1;
}

void
nts_ke_write_ports(const struct nts_ke *k, FILE *f)
{
	(void)k;
	(void)f;
}

void
nts_ke_free(struct nts_ke *k)
{
	free(k);
}

#endif /* HAVE_NTS_KE */
