/*
 * nts_sntp.c - NTS on a running SNTP service (see nts_sntp.h): the
 * cookie keys, their periodic tick in the main thread, and the counts of
 * NTS requests by result.  Worker threads only read the keys (under
 * their lock in nts_cookie.c) and add to relaxed atomic counters.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "nts_sntp.h"

/* Requests by result, shared by a service's instances across reloads. */
struct nts_counts {
	int		 refs;		/* main thread only */
	uint64_t	 count[NTS_NRESULTS];
};

struct nts_sntp {
	struct nts_keys		*keys;
	struct event		*tick;
	struct nts_counts	*counts;
	int			 failing;	/* the last tick failed: said once */
};

static void
nts_sntp_tick(evutil_socket_t fd, short what, void *arg)
{
	struct nts_sntp *n = arg;
	char err[512];

	(void)fd;
	(void)what;
	if (nts_keys_tick(n->keys, time(NULL), err, sizeof(err)) == -1) {
		if (!n->failing)
			log_warnx("NTS cookie keys: %s", err);
		n->failing = 1;
	} else if (n->failing) {
		log_notice("NTS cookie keys: the file is usable again");
		n->failing = 0;
	}
}

/* Who owns a key file made while udpd still runs as root. */
static void
nts_sntp_owner(const char *user, const char *group, struct nts_keys_conf *c)
{
	const struct passwd *pw;
	const struct group *gr;

	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	if (geteuid() != 0 || user == NULL || (pw = getpwnam(user)) == NULL)
		return;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	if (group != NULL && (gr = getgrnam(group)) != NULL)
		c->gid = gr->gr_gid;
}

struct nts_sntp *
nts_sntp_new(const char *path, struct event_base *base, const char *user,
    const char *group, struct nts_sntp *previous, char *err, size_t errlen)
{
	struct nts_keys_conf c = { path, NTS_KEYS_ROTATE_AUTO, 0, 0 };
	struct timeval every = { NTS_SNTP_TICK_SECS, 0 };
	struct nts_sntp *n;

	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->counts = previous != NULL ? previous->counts :
	    calloc(1, sizeof(*n->counts))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(n);
		return NULL;
	}
	n->counts->refs++;
	nts_sntp_owner(user, group, &c);
	if ((n->keys = nts_keys_open(&c, err, errlen)) == NULL) {
		nts_sntp_free(n);
		return NULL;
	}
	if (base != NULL && ((n->tick = event_new(base, -1, EV_PERSIST,
	    nts_sntp_tick, n)) == NULL || event_add(n->tick, &every) == -1)) {
		snprintf(err, errlen, "cannot start the cookie key timer");
		nts_sntp_free(n);
		return NULL;
	}
	return n;
}

void
nts_sntp_free(struct nts_sntp *n)
{
	if (n == NULL)
		return;
	if (n->tick != NULL)
		event_free(n->tick);
	nts_keys_free(n->keys);
	if (--n->counts->refs == 0)
		free(n->counts);
	free(n);
}

struct nts_keys *
nts_sntp_keys(struct nts_sntp *n)
{
	return n != NULL ? n->keys : NULL;
}

enum nts_result
nts_sntp_check(struct nts_sntp *n, const uint8_t *pkt, size_t len,
    struct nts_request *r)
{
	enum nts_result res = nts_parse_request(n->keys, pkt, len, r);

	if (res != NTS_NONE)
		__atomic_add_fetch(&n->counts->count[res], 1,
		    __ATOMIC_RELAXED);
	return res;
}

int
nts_sntp_prepare(struct nts_sntp *n, const struct nts_request *r,
    size_t reqlen, struct nts_cookies *c)
{
	return nts_make_cookies(n->keys, r, reqlen, c);
}

size_t
nts_sntp_finish(enum nts_result res, struct nts_request *r,
    struct nts_cookies *c, size_t reqlen, uint8_t *buf, size_t cap)
{
	size_t len = 0;

	if (res == NTS_OK && c != NULL)
		len = nts_seal_reply(r, c, reqlen, buf, cap);
	else if (res == NTS_BAD_COOKIE)
		len = nts_build_nak(r, buf, cap);
	nts_request_wipe(r);
	return len;
}

void
nts_sntp_stats(struct nts_sntp *n, struct nts_sntp_stats *s)
{
	for (size_t i = 0; i < NTS_NRESULTS; i++)
		s->requests[i] = __atomic_load_n(&n->counts->count[i],
		    __ATOMIC_RELAXED);
	s->key_age = nts_keys_age(n->keys, time(NULL));
}
