/*
 * nts_ke.h - the NTS key exchange server (RFC 8915 section 4): TLS 1.3
 * over TCP in a thread of its own with its own event loop (libevent's
 * bufferevent_openssl), one listener set per SNTP service with
 * nts.listen, handing each client the keys its TLS session exports and
 * eight cookies the service seals.  Never in a UDP worker's way: the
 * workers only share the service's cookie keys.
 *
 * A reload changes it in two phases, like the metrics endpoint:
 * nts_ke_prepare() binds the new addresses (nothing served yet, nothing
 * closed), then nts_ke_commit() serves them with the started instances or
 * nts_ke_abort() forgets them.  Sessions in flight keep their own TLS
 * context (a renewed certificate serves new sessions only).  Once the
 * thread runs (nts_ke_start), the main thread calls prepare, commit and
 * abort only between nts_ke_pause() and nts_ke_resume(), and pauses before
 * it frees any instance NTS-KE may be using.
 */
#ifndef UDPD_NTS_KE_H
#define UDPD_NTS_KE_H

#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "conf.h"
#include "nts_ke_records.h"

/* Open sessions, all services together; past it a new one is refused. */
#define NTS_KE_SESSIONS_MAX	256
/* Open sessions from one address (IPv6: one /64), so that a few sources
 * cannot hold every session. */
#define NTS_KE_PER_SOURCE_MAX	16
/* Seconds a client has for its TLS handshake, then for its request. */
#define NTS_KE_HANDSHAKE_SECS	5
#define NTS_KE_REQUEST_SECS	5
/* New sessions per source when the service sets no rate_limit. */
#define NTS_KE_RATE_DEFAULT	4
#define NTS_KE_BURST_DEFAULT	32

struct nts_ke;

struct nts_ke	*nts_ke_new(void);
/* After fork(2), before nts_ke_start(): 0, or -1. */
int	nts_ke_after_fork(struct nts_ke *k);
/* Lets the thread "udpd-ntske" that accepts and runs every session start:
 * at once when an address is served, else at the commit that serves one
 * (after fork(2): not before). */
void	nts_ke_start(struct nts_ke *k);
/* Parks the thread (it returns once parked) and lets it go on; no-ops
 * before nts_ke_start(). */
void	nts_ke_pause(struct nts_ke *k);
void	nts_ke_resume(struct nts_ke *k);
/* Stops the thread and waits for it (SIGTERM); nts_ke_free() does too. */
void	nts_ke_stop(struct nts_ke *k);
/*
 * Binds the NTS-KE addresses of conf's enabled services that are not bound
 * already.  On failure nothing changes and err names the address.
 */
int	nts_ke_prepare(struct nts_ke *k, const struct udpd_conf *conf,
	    char *err, size_t errlen);
/* Serves what nts_ke_prepare() bound with conf's started instances. */
void	nts_ke_commit(struct nts_ke *k, const struct udpd_conf *conf);
void	nts_ke_abort(struct nts_ke *k);
/*
 * The sessions of service name by result, counted since it first served
 * NTS-KE; -1 when it serves none.
 */
int	nts_ke_counts(const struct nts_ke *k, const char *name,
	    uint64_t out[NTS_KE_NRESULTS]);
/* "@nts <service> addr:port" per bound address (the tests' port file). */
void	nts_ke_write_ports(const struct nts_ke *k, FILE *f);
/* Stops the thread, closes every listener and session. */
void	nts_ke_free(struct nts_ke *k);

#endif
