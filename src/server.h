/*
 * server.h - the running daemon: the loaded configuration, its module
 * instances and every socket, and the switch to a new configuration.
 */
#ifndef UDPD_SERVER_H
#define UDPD_SERVER_H

#include <event2/event.h>
#include <time.h>

#include "conf.h"
#include "listener.h"

struct server {
	struct udpd_conf	*conf;
	struct event_base	*base;
	struct batch		*batch;
	struct listener		*listeners;
	struct loop_guard	 guard;
	struct udpd_stats_view	 stats;
};

void	server_init(struct server *srv, struct event_base *base);
/*
 * Binds every enabled service of conf (keeping the sockets of services that
 * srv already runs unchanged) and switches to it.  On failure nothing
 * changes, conf is not taken, and err names the service and address.
 */
int	server_apply(struct server *srv, struct udpd_conf *conf, char *err,
	    size_t errlen);
void	server_reopen(struct server *srv);	/* SIGHUP for modules */
void	server_log_stats(const struct server *srv);
/* Writes "service addr:port" per socket to path (tests use port 0). */
int	server_write_ports(const struct server *srv, const char *path);
void	server_free(struct server *srv);

#endif
