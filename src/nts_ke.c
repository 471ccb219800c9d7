/*
 * nts_ke.c - the NTS-KE server: a thread of its own ("udpd-ntske") with its
 * own event loop, so that no handshake delays a UDP worker, and the TCP
 * listeners it accepts on (the sessions are nts_ke_session.c's).
 *
 * The main thread binds the listeners (nts_ke_prepare) and switches the
 * services (nts_ke_commit) only while the thread is parked
 * (nts_ke_pause, a mutex and condition variable rendezvous reached
 * through a pipe), so the thread never sees an instance being freed.
 * The session counters are atomic: the metrics endpoint reads them from
 * the main thread.  Without TLS support the same calls do nothing.
 */
#include "config.h"

#include <string.h>

#include "nts_ke.h"

#ifdef HAVE_NTS_KE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "module.h"
#include "nts_conf.h"
#include "nts_ke_int.h"
#include "nts_tls.h"

#define NTS_KE_BACKLOG		128

static void	nts_ke_run(struct nts_ke *);

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
