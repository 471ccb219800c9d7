/*
 * nts_sntp.h - NTS on a running SNTP service: the cookie keys it holds,
 * their tick on the main thread's loop (a changed file re-read, the next
 * key added when due), and its NTS requests counted by result.  The time
 * module asks it about each request and has it append the NTS fields to
 * the header it wrote; nts.c does the fields, nts_cookie.c the keys.
 */
#ifndef UDPD_NTS_SNTP_H
#define UDPD_NTS_SNTP_H

#include <stddef.h>
#include <stdint.h>

#include "nts.h"

#define NTS_SNTP_TICK_SECS	60	/* how often the key file is looked at */
#define NTS_NRESULTS		(NTS_MALFORMED + 1)

struct event_base;
struct nts_sntp;

/*
 * Opens the cookie keys of path (made if missing, owned by user and group
 * when udpd runs as root) and ticks them every minute on base (NULL: no
 * tick, for tests).  previous (or NULL) is the same service's before a
 * reload: its counts go on in the new one, shared, so that a reload
 * never makes a counter go down.  NULL with err set.
 */
struct nts_sntp *nts_sntp_new(const char *path, struct event_base *base,
	    const char *user, const char *group, struct nts_sntp *previous,
	    char *err, size_t errlen);
void	nts_sntp_free(struct nts_sntp *n);
/* The cookie keys, for NTS-KE's cookies. */
struct nts_keys *nts_sntp_keys(struct nts_sntp *n);

/* Classifies an NTPv4 request and counts the result (NTS_NONE, a plain
 * request, is not counted).  Thread-safe. */
enum nts_result nts_sntp_check(struct nts_sntp *n, const uint8_t *pkt,
	    size_t len, struct nts_request *r);
/* For NTS_OK, before the reply's header is written: makes its cookies
 * (nts_make_cookies).  0, or -1. */
int	nts_sntp_prepare(struct nts_sntp *n, const struct nts_request *r,
	    size_t reqlen, struct nts_cookies *c);
/*
 * Appends the NTS fields to the 48-byte header in buf: for NTS_OK the
 * Unique Identifier and the authenticator sealing c, for NTS_BAD_COOKIE
 * (a NAK) the Unique Identifier alone (c unused, may be NULL).  Wipes
 * r's keys.  Returns the reply's length, never more than reqlen, or 0.
 */
size_t	nts_sntp_finish(enum nts_result res, struct nts_request *r,
	    struct nts_cookies *c, size_t reqlen, uint8_t *buf, size_t cap);

struct nts_sntp_stats {
	uint64_t	requests[NTS_NRESULTS];	/* by enum nts_result */
	long		key_age;		/* seconds; -1 unknown */
};
/* Counters and the current cookie key's age (for /metrics). */
void	nts_sntp_stats(struct nts_sntp *n, struct nts_sntp_stats *s);

#endif
