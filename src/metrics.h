/*
 * metrics.h - the Prometheus endpoint: GET/HEAD /metrics over HTTP/1.1,
 * served by libevent's evhttp in the main thread.  The only
 * file that uses evhttp.
 *
 * A reload changes it in two phases, like the services: metrics_prepare()
 * binds the new addresses (nothing served yet, nothing closed), then
 * metrics_commit() switches to them or metrics_abort() forgets them.
 */
#ifndef UDPD_METRICS_H
#define UDPD_METRICS_H

#include <stdio.h>

#include <event2/event.h>

#include "conf.h"
#include "server.h"

struct metrics;

/* An endpoint with no address yet, reading srv's counters at each scrape. */
struct metrics	*metrics_new(struct event_base *base, const struct server *srv);
/*
 * Binds the addresses of mc (NULL: none) that are not bound already.  On
 * failure nothing changes and err names the address.
 */
int	metrics_prepare(struct metrics *m, const struct metrics_conf *mc,
	    char *err, size_t errlen);
/* Serves what metrics_prepare() bound, closes the rest, takes mc's ACL. */
void	metrics_commit(struct metrics *m, const struct metrics_conf *mc);
/* The reload failed: closes what metrics_prepare() opened. */
void	metrics_abort(struct metrics *m);
/* udpd_config_reloads_total. */
void	metrics_count_reload(struct metrics *m, int ok);
/* "@metrics addr:port" per bound address (the tests' port file). */
void	metrics_write_ports(const struct metrics *m, FILE *f);
/* Where the NTS-KE sessions are counted (udpd_nts_ke_sessions_total). */
struct nts_ke;
void	metrics_set_nts_ke(struct metrics *m, const struct nts_ke *k);
void	metrics_free(struct metrics *m);

#endif
