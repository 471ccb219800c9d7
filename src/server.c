/*
 * server.c - the running set of services: binding a configuration's
 * sockets, switching to a new configuration atomically (reload), and the
 * counters seen by the stats module and SIGUSR1.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

/* One socket the new configuration needs, and whose it will be. */
struct plan {
	struct listener		*l;
	struct service_conf	*svc;
	size_t			 index;
	int			 reused;
};

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
			memset(&c[n], 0, sizeof(c[n]));
			for (const struct listener *l = srv->listeners;
			    l != NULL; l = l->next) {
				const uint64_t *src, *end;
				uint64_t *dst = (uint64_t *)&c[n];

				if (l->svc != svc)
					continue;
				src = (const uint64_t *)&l->counters;
				end = src + sizeof(l->counters) / sizeof(*src);
				for (; src < end; src++, dst++)
					*dst += __atomic_load_n(src,
					    __ATOMIC_RELAXED);
			}
		}
		n++;
	}
	return n;
}

void
server_init(struct server *srv, struct event_base *base)
{
	memset(srv, 0, sizeof(*srv));
	srv->base = base;
	if ((srv->batch = batch_new()) == NULL)
		fatal("batch buffers");
	loop_guard_init(&srv->guard);
	srv->stats.list = server_stats_list;
	srv->stats.arg = srv;
	clock_gettime(CLOCK_REALTIME, &srv->stats.started);
}

/* Takes out of srv the open socket for the same address, if any. */
static struct listener *
server_take(struct server *srv, const struct service_conf *svc, size_t i)
{
	const struct sockaddr *want = (const struct sockaddr *)&svc->listen[i].ss;

	for (struct listener **pp = &srv->listeners; *pp != NULL;
	    pp = &(*pp)->next) {
		struct listener *l = *pp;
		const struct sockaddr *have =
		    (const struct sockaddr *)&l->svc->listen[l->listen_index].ss;

		if (!addr_equal(have, want))
			continue;
		/* Port 0 means "any": only the same service keeps it. */
		if (addr_port(want) == 0 && strcmp(l->svc->name, svc->name))
			continue;
		*pp = l->next;
		l->next = NULL;
		return l;
	}
	return NULL;
}

static void
server_rollback(struct server *srv, struct plan *plan, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (plan[k].reused) {
			plan[k].l->next = srv->listeners;
			srv->listeners = plan[k].l;
		} else
			listener_close(plan[k].l);
	}
	free(plan);
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

/* Keeps the module state of services whose settings did not change. */
static void
server_keep_instances(struct udpd_conf *old, struct udpd_conf *conf)
{
	if (old == NULL)
		return;
	for (size_t i = 0; i < conf->nservices; i++) {
		struct service_conf *n = &conf->services[i];

		for (size_t j = 0; j < old->nservices; j++) {
			struct service_conf *o = &old->services[j];

			if (o->instance == NULL || !o->enabled || !n->enabled ||
			    strcmp(o->name, n->name) != 0 ||
			    strcmp(o->fingerprint, n->fingerprint) != 0)
				continue;
			n->module->destroy(n->instance);
			n->instance = o->instance;
			o->instance = NULL;
		}
	}
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
		for (size_t k = 0; k < svc->nlisten; k++, n++) {
			plan[n].svc = svc;
			plan[n].index = k;
			plan[n].l = server_take(srv, svc, k);
			plan[n].reused = plan[n].l != NULL;
			if (plan[n].l == NULL)
				plan[n].l = listener_open(svc, k,
				    conf->workers > 1, err, errlen);
			if (plan[n].l == NULL) {
				*np = n;
				return -1;
			}
		}
	}
	*np = n;
	return 0;
}

int
server_apply(struct server *srv, struct udpd_conf *conf, char *err,
    size_t errlen)
{
	size_t total = conf_count_sockets(conf), n;
	struct plan *plan = calloc(total + 1, sizeof(*plan));
	struct listener *old;

	if (plan == NULL)
		fatal("calloc");
	if (server_plan(srv, conf, plan, &n, err, errlen) < 0) {
		server_rollback(srv, plan, n);
		return -1;
	}
	/* Everything is bound: switch.  Nothing below can fail. */
	server_keep_instances(srv->conf, conf);
	loop_guard_init(&srv->guard);
	old = srv->listeners;
	srv->listeners = NULL;
	for (size_t k = 0; k < n; k++) {
		struct listener *l = plan[k].l;

		if (plan[k].reused && strcmp(l->svc->name, plan[k].svc->name))
			memset(&l->counters, 0, sizeof(l->counters));
		listener_retarget(l, plan[k].svc, plan[k].index);
		loop_guard_add(&srv->guard,
		    addr_port((struct sockaddr *)&l->local.ss));
		if (!plan[k].reused) {
			if (listener_attach(l, srv->base, srv->batch,
			    &srv->guard) < 0)
				fatalx("%s: cannot add event", l->label);
			log_notice("%s: listening", l->label);
		}
		l->next = srv->listeners;
		srv->listeners = l;
	}
	free(plan);
	while (old != NULL) {
		struct listener *next = old->next;

		log_notice("%s: closed", old->label);
		listener_close(old);
		old = next;
	}
	conf_free(srv->conf);
	srv->conf = conf;
	return 0;
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
	const char *names[256], *modules[256];
	struct udpd_counters c[256];
	size_t n = server_stats_list((void *)(uintptr_t)srv, names, modules,
	    c, 256);

	for (size_t i = 0; i < n && i < 256; i++)
		log_notice("stats %s (%s): requests %llu replies %llu "
		    "bytes_in %llu bytes_out %llu errors %llu dropped acl %llu "
		    "rate %llu size %llu loop %llu malformed %llu", names[i],
		    modules[i], (unsigned long long)c[i].requests,
		    (unsigned long long)c[i].replies,
		    (unsigned long long)c[i].bytes_in,
		    (unsigned long long)c[i].bytes_out,
		    (unsigned long long)c[i].errors,
		    (unsigned long long)c[i].drop_acl,
		    (unsigned long long)c[i].drop_rate,
		    (unsigned long long)c[i].drop_size,
		    (unsigned long long)c[i].drop_loop,
		    (unsigned long long)c[i].drop_malformed);
}

int
server_write_ports(const struct server *srv, const char *path)
{
	char tmp[4096], addr[INET6_ADDRSTRLEN + 16];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	for (const struct listener *l = srv->listeners; l != NULL; l = l->next)
		fprintf(f, "%s %s\n", l->svc->name, addr_format(
		    (const struct sockaddr *)&l->local.ss, addr, sizeof(addr)));
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);	/* readers never see half a file */
}

void
server_free(struct server *srv)
{
	while (srv->listeners != NULL) {
		struct listener *next = srv->listeners->next;

		listener_close(srv->listeners);
		srv->listeners = next;
	}
	conf_free(srv->conf);
	srv->conf = NULL;
	batch_free(srv->batch);
	srv->batch = NULL;
}
