/*
 * nts_ke_session.c - the NTS-KE server's sessions: a connection accepted
 * (or refused, counted), one TLS session per client through libevent's
 * bufferevent_openssl, the request parsed by nts_ke_records.c, the keys
 * exported by nts_tls.c and the cookies sealed by the service's module
 * (its running instance's cookie keys, thread-safe).  A session answers
 * one request and closes.  All of it runs in the NTS-KE thread (nts_ke.c).
 *
 * Bounded: at most NTS_KE_SESSIONS_MAX sessions open (past it a new one is
 * closed at once), NTS_KE_PER_SOURCE_MAX of them from one source, a
 * per-source rate of new sessions per service, the service's allow/deny,
 * a deadline for the handshake and another for the request, and at most
 * NTS_KE_REQUEST_MAX bytes of request held.  A slow
 * or hostile client costs one slot until its deadline, nothing else.
 */
#include "config.h"

#include "nts_ke.h"

#ifdef HAVE_NTS_KE

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "log.h"
#include "module.h"
#include "nts_ke_int.h"
#include "nts_tls.h"

/* Room for a response: 8 cookies of up to NTS_KE_COOKIE_MAX bytes. */
#define NTS_KE_COOKIE_MAX	256
#define NTS_KE_RESPONSE_MAX	(64 + NTS_KE_SERVER_MAX + \
				 NTS_KE_COOKIES * (4 + NTS_KE_COOKIE_MAX))

struct nts_ke_service *
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

void
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
void
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

void
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

#endif /* HAVE_NTS_KE */
