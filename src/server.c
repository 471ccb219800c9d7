/*
 * server.c - the running set of services: worker threads, binding a
 * configuration's sockets, switching to a new configuration atomically
 * (reload), and the counters seen by the stats module and SIGUSR1.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <event2/thread.h>

#include "log.h"
#include "notify.h"
#include "server.h"
#include "server_pause.h"

#define SUMMARY_INTERVAL	10	/* seconds between drop summaries */
#define PENDING_MAX		1024	/* late replies per worker */

/* One socket the new configuration needs, and whose it will be. */
struct plan {
	struct listener		*l;
	struct service_conf	*svc;
	size_t			 index;
	int			 worker;
	int			 reused;	/* was the worker's already */
};

/* Sums the counters of svc over every worker's sockets. */
static void
server_sum(const struct server *srv, const struct service_conf *svc,
    struct udpd_counters *c)
{
	*c = svc->retired;
	for (int w = 0; w < srv->nworkers; w++)
		for (const struct listener *l = srv->workers[w].listeners;
		    l != NULL; l = listener_next(l)) {
			struct udpd_counters one;

			if (listener_service(l) != svc)
				continue;
			listener_counters(l, &one);
			udpd_counters_add(c, &one);
		}
}

static size_t
server_stats_list(void *arg, const char **names, const char **modules,
    struct udpd_counters *c, size_t max)
{
	const struct server *srv = arg;
	size_t n = 0;

	for (size_t i = 0; i < srv->conf->nservices; i++) {
		const struct service_conf *svc = &srv->conf->services[i];

		if (!svc->enabled)
			continue;
		if (n < max) {
			names[n] = svc->name;
			modules[n] = svc->module->name;
			server_sum(srv, svc, &c[n]);
		}
		n++;
	}
	return n;
}

static int
server_last_seq(void *arg, const char *service, uint64_t *seq)
{
	const struct server *srv = arg;

	for (size_t i = 0; srv->conf != NULL && i < srv->conf->nservices;
	    i++) {
		const struct service_conf *svc = &srv->conf->services[i];

		if (svc->enabled && strcmp(svc->name, service) == 0)
			return svc->module->last_seq != NULL ?
			    svc->module->last_seq(svc->instance, seq) : -1;
	}
	return -1;
}

static long long
server_uptime(void *arg)
{
	const struct server *srv = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - srv->started.tv_sec);
}

void
server_init(struct server *srv, struct event_base *base)
{
	memset(srv, 0, sizeof(*srv));
	srv->base = base;
	loop_guard_init(&srv->guard);
	srv->stats.list = server_stats_list;
	srv->stats.arg = srv;
	srv->stats.uptime = server_uptime;
	srv->stats.last_seq = server_last_seq;
	srv->pause_timeout_ms = SERVER_PAUSE_TIMEOUT_MS;
	clock_gettime(CLOCK_MONOTONIC, &srv->started);
	clock_gettime(CLOCK_REALTIME, &srv->started_real);
}

static void
server_summary_line(void *arg, const char *text)
{
	log_notice("%s: rate limit: %s", (const char *)arg, text);
}

/*
 * Every SUMMARY_INTERVAL seconds: one line per rate-limited source and one
 * per kind of drop, never a line per packet.
 */
static void
server_summary(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	for (struct listener *l = w->listeners; l != NULL;
	    l = listener_next(l))
		listener_summarise(l, server_summary_line);
}

static void
server_create_workers(struct server *srv, int n)
{
	struct timeval every = { SUMMARY_INTERVAL, 0 };

	srv->nworkers = n;
	if ((srv->workers = calloc((size_t)n, sizeof(*srv->workers))) == NULL ||
	    (srv->bases = calloc((size_t)n, sizeof(*srv->bases))) == NULL ||
	    (srv->timers = calloc((size_t)n, sizeof(*srv->timers))) == NULL)
		fatal("calloc");
	for (int i = 0; i < n; i++) {
		struct worker *w = &srv->workers[i];

		w->srv = srv;
		w->index = i;
		w->base = i == 0 ? srv->base : event_base_new();
		if (w->base == NULL || (w->batch = batch_new()) == NULL ||
		    (w->pending = pending_new(udpd_timers_event(w->base), PENDING_MAX,
		    listener_send_later)) == NULL)
			fatalx("worker %d: out of memory", i);
		srv->bases[i] = w->base;
		srv->timers[i] = udpd_timers_event(w->base);
		w->park_ev = event_new(w->base, -1, 0, server_park, w);
		w->summary_ev = event_new(w->base, -1, EV_PERSIST,
		    server_summary, w);
		if (w->park_ev == NULL || w->summary_ev == NULL ||
		    event_add(w->summary_ev, &every) < 0)
			fatalx("worker %d: cannot create events", i);
	}
	server_pause_init(srv);
}

static void
server_rollback(struct server *srv, struct plan *plan, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct worker *w = &srv->workers[plan[k].worker];

		if (plan[k].l == NULL)
			continue;
		if (plan[k].reused) {
			listener_push(&w->listeners, plan[k].l);
			continue;
		}
		/* systemd's socket is not closed, but free again */
		if (listener_passed(plan[k].l) >= 0)
			srv->passed_used[listener_passed(plan[k].l)] = 0;
		listener_close(plan[k].l);
	}
	free(plan);
}

/*
 * A socket passed by systemd bound to this service's address: 1 with it in
 * *l, 0 if there is none, -1 with err if it cannot be used.
 */
static int
server_adopt_passed(struct server *srv, struct service_conf *svc, size_t k,
    struct listener **l, char *err, size_t errlen)
{
	const struct udpd_sockaddr *a = &svc->listen[k];

	/* sd_is_socket_sockaddr() takes port 0 as "any port". */
	if (addr_port((const struct sockaddr *)&a->ss) == 0)
		return 0;
	for (size_t i = 0; i < srv->npassed; i++) {
		if (srv->passed_used[i] ||
		    !notify_fd_matches(srv->passed[i], &a->ss, a->len))
			continue;
		if ((*l = listener_adopt(svc, k, srv->passed[i], err,
		    errlen)) == NULL)
			return -1;
		/* Taken now, so no other address of this plan matches it. */
		srv->passed_used[i] = 1;
		listener_mark_passed(*l, (int)i);
		return 1;
	}
	return 0;
}

void
server_take_passed(struct server *srv)
{
	srv->npassed = notify_listen_fds(&srv->passed);
	srv->passed_used = calloc(srv->npassed + 1, 1);
	if (srv->passed_used == NULL)
		fatal("calloc");
}

void
server_warn_unused_passed(const struct server *srv)
{
	for (size_t i = 0; i < srv->npassed; i++)
		if (!srv->passed_used[i])
			log_warning("socket passed by systemd (fd %d) matches no "
			    "service's listen address: unused", srv->passed[i]);
}

static size_t
conf_count_sockets(const struct udpd_conf *conf)
{
	size_t n = 0;

	for (size_t i = 0; i < conf->nservices; i++)
		if (conf->services[i].enabled)
			n += conf->services[i].nlisten;
	return n;
}

/*
 * The running instance of the service of old with svc's name and module:
 * start() may go on with its resources (chat's open log and seq).
 */
static void *
server_previous(const struct udpd_conf *old, const struct service_conf *svc)
{
	if (old == NULL)
		return NULL;
	for (size_t j = 0; j < old->nservices; j++) {
		const struct service_conf *o = &old->services[j];

		if (o->instance != NULL && o->module == svc->module &&
		    strcmp(o->name, svc->name) == 0)
			return o->instance;
	}
	return NULL;
}

static void
server_stop_instances(struct udpd_conf *conf)
{
	for (size_t i = 0; i < conf->nservices; i++) {
		struct service_conf *svc = &conf->services[i];

		if (svc->instance != NULL)
			svc->module->destroy(svc->instance);
		svc->instance = NULL;
	}
}

/*
 * Phase 2 of loading: starts every enabled service of conf, once all its
 * sockets are bound.  On failure the instances started are stopped again
 * and err names the service.
 */
static int
server_start_instances(struct server *srv, struct udpd_conf *conf,
    char *err, size_t errlen)
{
	char why[400];

	for (size_t i = 0; i < conf->nservices; i++) {
		struct service_conf *svc = &conf->services[i];
		struct module_ctx ctx = {
			.service = svc->name,
			.stats = &srv->stats,
			.bases = srv->bases,
			.timers = srv->timers,
			.nworkers = srv->nworkers,
			.user = conf->user,
			.group = conf->group,
		};

		if (!svc->enabled)
			continue;
		why[0] = '\0';
		svc->instance = svc->module->start(svc->options, &ctx,
		    server_previous(srv->conf, svc), why, sizeof(why));
		if (svc->instance == NULL) {
			snprintf(err, errlen, "service %s: %s", svc->name, why);
			server_stop_instances(conf);
			return -1;
		}
	}
	return 0;
}

/* Finds or opens the socket of listen address k of svc for worker w. */
static int
server_plan_one(struct server *srv, struct plan *p, const struct plan *first,
    char *err, size_t errlen)
{
	struct worker *w = &srv->workers[p->worker];
	const struct udpd_sockaddr *at = NULL;

	int r;

	p->l = listener_take_bound_to(&w->listeners, p->svc, p->index);
	p->reused = p->l != NULL;
	if (p->l != NULL)
		return 0;
	if (p->worker == 0 && (r = server_adopt_passed(srv, p->svc, p->index,
	    &p->l, err, errlen)) != 0)
		return r > 0 ? 0 : -1;
	/*
	 * A socket from systemd belongs to root: an unprivileged udpd cannot
	 * join its reuseport group, so the other workers share it.
	 */
	if (first != NULL && listener_passed(first->l) >= 0) {
		int fd = listener_dup_socket(first->l);

		if (fd < 0) {
			snprintf(err, errlen, "service %s: dup of a passed "
			    "socket: %s", p->svc->name, strerror(errno));
			return -1;
		}
		if ((p->l = listener_adopt(p->svc, p->index, fd, err,
		    errlen)) == NULL)
			close(fd);
		return p->l != NULL ? 0 : -1;
	}
	/* Port 0: every worker binds the port the first one was given. */
	if (first != NULL)
		at = listener_local(first->l);
	p->l = listener_open(p->svc, p->index, at, srv->nworkers > 1, err,
	    errlen);
	return p->l != NULL ? 0 : -1;
}

/*
 * An optional address ("-[::1]:6000") that failed because the host lacks
 * its family or the address itself is skipped, with one warning.
 */
static int
server_skip_optional(const struct service_conf *svc, size_t k,
    const char *why)
{
	if (!svc->listen_optional[k] ||
	    (errno != EADDRNOTAVAIL && errno != EAFNOSUPPORT))
		return 0;
	log_warning("%s (optional address: skipped)", why);
	return 1;
}

static int
server_plan(struct server *srv, struct udpd_conf *conf, struct plan *plan,
    size_t *np, char *err, size_t errlen)
{
	size_t n = 0;

	for (size_t i = 0; i < conf->nservices; i++) {
		struct service_conf *svc = &conf->services[i];

		if (!svc->enabled)
			continue;
		for (size_t k = 0; k < svc->nlisten; k++) {
			size_t first = n;

			for (int w = 0; w < srv->nworkers; w++, n++) {
				plan[n].svc = svc;
				plan[n].index = k;
				plan[n].worker = w;
				errno = 0;
				if (server_plan_one(srv, &plan[n], w == 0 ?
				    NULL : &plan[first], err, errlen) == 0)
					continue;
				if (w == 0 && server_skip_optional(svc, k, err))
					break;
				*np = n + 1;	/* rolled back too */
				return -1;
			}
			if (n == first)		/* skipped */
				continue;
			if (srv->nworkers > 1 && !plan[first].reused &&
			    listener_passed(plan[first].l) < 0)
				listener_steer(plan[first].l, srv->nworkers);
		}
	}
	*np = n;
	return 0;
}

/* Two optional settings (NULL: not set) say the same. */
static int
same_optional_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every worker's listeners, taken out into one list. */
static struct listener *
server_take_all(struct server *srv)
{
	struct listener *all = NULL;

	for (int i = 0; i < srv->nworkers; i++) {
		struct listener *l = srv->workers[i].listeners;

		while (l != NULL) {
			struct listener *next = listener_next(l);

			listener_push(&all, l);
			l = next;
		}
		srv->workers[i].listeners = NULL;
	}
	return all;
}

/* The service of conf named name (enabled or not), or NULL. */
static struct service_conf *
server_service_named(struct udpd_conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, name) == 0)
			return &conf->services[i];
	return NULL;
}

/*
 * l leaves its service (closed, or given to another): what it counted
 * stays in the service's total in conf, if conf still has the service.
 */
static void
server_retire_counters(struct udpd_conf *conf, const struct listener *l)
{
	struct service_conf *svc = server_service_named(conf,
	    listener_service(l)->name);
	struct udpd_counters c;

	if (svc == NULL)
		return;
	listener_counters(l, &c);
	udpd_counters_add(&svc->retired, &c);
}

/* Closes what the new configuration did not keep. */
static void
server_close_unused(struct server *srv, struct udpd_conf *conf,
    struct listener *old)
{
	while (old != NULL) {
		struct listener *next = listener_next(old);

		server_retire_counters(conf, old);

		if (listener_worker(old) == 0)
			log_notice("%s: closed", listener_label(old));
		/* systemd's socket stays open, free for a later reload. */
		if (listener_passed(old) >= 0)
			srv->passed_used[listener_passed(old)] = 0;
		listener_close(old);
		old = next;
	}
}

/* Puts the planned sockets in place.  Fails only by exiting (memory). */
static void
server_switch(struct server *srv, struct udpd_conf *conf, struct plan *plan,
    size_t n)
{
	struct listener *old = server_take_all(srv);

	/* What the old services' closed sockets counted goes on. */
	for (size_t i = 0; srv->conf != NULL && i < conf->nservices; i++) {
		const struct service_conf *was = server_service_named(
		    srv->conf, conf->services[i].name);

		if (was != NULL)
			udpd_counters_add(&conf->services[i].retired,
			    &was->retired);
	}
	loop_guard_init(&srv->guard);
	for (size_t k = 0; k < n; k++) {
		struct worker *w = &srv->workers[plan[k].worker];
		struct listener *l = plan[k].l;

		if (plan[k].reused && strcmp(listener_service(l)->name,
		    plan[k].svc->name) != 0) {
			server_retire_counters(conf, l);
			listener_reset_counters(l);
		}
		listener_retarget(l, plan[k].svc, plan[k].index);
		loop_guard_add(&srv->guard, addr_port((const struct sockaddr *)
		    &listener_local(l)->ss));
		if (!plan[k].reused) {
			if (listener_attach(l, w->base, w->batch, w->pending,
			    &srv->guard) < 0)
				fatalx("%s: cannot add event",
				    listener_label(l));
			if (plan[k].worker == 0)
				log_notice("%s: listening%s", listener_label(l),
				    listener_passed(l) >= 0 ?
				    " (socket from systemd)" : "");
		}
		listener_push(&w->listeners, l);
	}
	server_close_unused(srv, conf, old);
}

int
server_apply(struct server *srv, struct udpd_conf *conf, char *err,
    size_t errlen)
{
	struct plan *plan;
	size_t n;

	if (srv->workers == NULL)
		server_create_workers(srv, conf->workers);
	else if (conf->workers != srv->nworkers)
		log_warning("workers = %d takes effect at the next restart; "
		    "keeping %d", conf->workers, srv->nworkers);
	if (srv->conf != NULL && (!same_optional_text(conf->user,
	    srv->conf->user) || !same_optional_text(conf->group,
	    srv->conf->group)))
		log_warning("user and group take effect at the next restart");
	plan = calloc(conf_count_sockets(conf) * (size_t)srv->nworkers + 1,
	    sizeof(*plan));
	if (plan == NULL)
		fatal("calloc");
	/* Planning takes sockets out of the workers' lists: pause them
	 * first (stats and summaries walk those lists). */
	if (server_pause(srv, err, errlen) < 0) {
		free(plan);
		return -1;
	}
	if (server_plan(srv, conf, plan, &n, err, errlen) < 0) {
		server_rollback(srv, plan, n);
		server_resume(srv);
		return -1;
	}
	if (server_start_instances(srv, conf, err, errlen) < 0) {
		server_rollback(srv, plan, n);
		server_resume(srv);
		return -1;
	}
	for (size_t k = 0; k < n; k++)
		listener_set_worker(plan[k].l, plan[k].worker);
	server_switch(srv, conf, plan, n);
	conf_free(srv->conf);
	srv->conf = conf;
	server_resume(srv);
	free(plan);
	return 0;
}

static void *
server_worker_main(void *arg)
{
	struct worker *w = arg;

	struct server *srv = w->srv;
	int failed;

	/* A dead worker would leave its sockets unread: the main loop stops
	 * the daemon (exit 69); exit(3) from here would run atexit handlers
	 * under the others.  A reload waiting for it gives up at once. */
	failed = event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0;
	if (failed) {
		log_warnx("worker %d: event loop failed: stopping", w->index);
		atomic_store(&srv->worker_failed, 1);
		event_base_loopbreak(srv->base);
	}
	server_worker_gone(w);
	return NULL;
}

int
server_after_fork(struct server *srv)
{
	if (srv->base != NULL && event_reinit(srv->base) < 0)
		return -1;
	for (int i = 0; i < srv->nworkers; i++)
		if (srv->workers[i].base != NULL &&
		    srv->workers[i].base != srv->base &&
		    event_reinit(srv->workers[i].base) < 0)
			return -1;
	return 0;
}

void
server_start_workers(struct server *srv)
{
	for (int i = 1; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		if (pthread_create(&w->thread, NULL, server_worker_main, w))
			fatalx("cannot start worker %d", i);
		w->running = 1;
	}
	if (srv->nworkers > 1)
		log_notice("%d workers", srv->nworkers);
}

void
server_stop_workers(struct server *srv)
{
	for (int i = 1; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		if (!w->running)
			continue;
		/* loopexit, not loopbreak: a break asked before the thread
		 * entered its loop would be forgotten, and join would hang. */
		event_base_loopexit(w->base, NULL);
		pthread_join(w->thread, NULL);
		w->running = 0;
	}
}

void
server_reopen(struct server *srv)
{
	for (size_t i = 0; i < srv->conf->nservices; i++) {
		const struct service_conf *svc = &srv->conf->services[i];

		if (svc->enabled && svc->module->reopen != NULL)
			svc->module->reopen(svc->instance);
	}
}

void
server_log_stats(const struct server *srv)
{
	struct udpd_counters c;

	for (size_t i = 0; i < srv->conf->nservices; i++) {
		const struct service_conf *svc = &srv->conf->services[i];

		if (!svc->enabled)
			continue;
		server_sum(srv, svc, &c);
		log_notice("stats %s (%s): requests %llu replies %llu "
		    "bytes_in %llu bytes_out %llu errors %llu dropped acl %llu "
		    "rate %llu size %llu loop %llu malformed %llu", svc->name,
		    svc->module->name, (unsigned long long)c.requests,
		    (unsigned long long)c.replies,
		    (unsigned long long)c.bytes_in,
		    (unsigned long long)c.bytes_out,
		    (unsigned long long)c.errors,
		    (unsigned long long)c.drop_acl,
		    (unsigned long long)c.drop_rate,
		    (unsigned long long)c.drop_size,
		    (unsigned long long)c.drop_loop,
		    (unsigned long long)c.drop_malformed);
	}
}

void
server_foreach_service(const struct server *srv,
    void (*fn)(void *arg, const struct service_conf *svc,
    const struct udpd_counters *c), void *arg)
{
	struct udpd_counters c;

	for (size_t i = 0; srv->conf != NULL && i < srv->conf->nservices;
	    i++) {
		const struct service_conf *svc = &srv->conf->services[i];

		if (!svc->enabled)
			continue;
		server_sum(srv, svc, &c);
		fn(arg, svc, &c);
	}
}

size_t
server_socket_count(const struct server *srv)
{
	size_t n = 0;

	for (int w = 0; w < srv->nworkers; w++)
		for (const struct listener *l = srv->workers[w].listeners;
		    l != NULL; l = listener_next(l))
			n++;
	return n;
}

int
server_write_ports(const struct server *srv, const char *path)
{
	char tmp[4096], addr[INET6_ADDRSTRLEN + 16];
	FILE *f;

	if (srv->nworkers == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	for (const struct listener *l = srv->workers[0].listeners; l != NULL;
	    l = listener_next(l))
		fprintf(f, "%s %s\n", listener_service(l)->name, addr_format(
		    (const struct sockaddr *)&listener_local(l)->ss, addr,
		    sizeof(addr)));
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);	/* readers never see half a file */
}

void
server_free(struct server *srv)
{
	/* Instances first: a store that answers later answers its pending
	 * requests now, while their sockets are still open. */
	if (srv->conf != NULL)
		server_stop_instances(srv->conf);
	for (int i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		while (w->listeners != NULL) {
			struct listener *next = listener_next(w->listeners);

			listener_close(w->listeners);
			w->listeners = next;
		}
	}
	conf_free(srv->conf);
	srv->conf = NULL;
	for (int i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		event_free(w->park_ev);
		event_free(w->summary_ev);
		batch_free(w->batch);
		pending_free(w->pending);
		if (i > 0)
			event_base_free(w->base);
	}
	if (srv->workers != NULL)
		server_pause_free(srv);
	free(srv->workers);
	free(srv->bases);
	free(srv->timers);
	srv->workers = NULL;
	srv->bases = NULL;
	srv->timers = NULL;
	srv->nworkers = 0;
	free(srv->passed);
	free(srv->passed_used);
	srv->passed = NULL;
	srv->passed_used = NULL;
	srv->npassed = 0;
}
