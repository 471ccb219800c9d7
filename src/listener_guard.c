/*
 * listener_guard.c - what stands between a datagram and its module: the
 * size, loop, access-list and rate guards, in that order, each drop
 * counted, then the module's handle(); and the summary of what was dropped.
 */
#include "config.h"

#include <string.h>

#include "listener_int.h"
#include "log.h"

void
loop_guard_init(struct loop_guard *g)
{
	/* Services that answer anything: a reply to them could loop. */
	static const uint16_t classic[] = { 0, 7, 13, 19, 37, 123 };

	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < sizeof(classic) / sizeof(classic[0]); i++)
		loop_guard_add(g, classic[i]);
}

void
loop_guard_add(struct loop_guard *g, uint16_t port)
{
	g->ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

static int
loop_guard_has(const struct loop_guard *g, uint16_t port)
{
	return (g->ports[port / 8] >> (port % 8)) & 1;
}

/* (Re)creates the rate-limit table when the service's settings ask. */
void
listener_rate_table(struct listener *l)
{
	const struct rate_limit_conf *want = &l->svc->rate_limit;

	if (l->rl != NULL && want->enabled && want->rate == l->rl_conf.rate &&
	    want->burst == l->rl_conf.burst &&
	    want->ipv6_prefix == l->rl_conf.ipv6_prefix)
		return;
	ratelimit_free(l->rl);
	l->rl = NULL;
	l->rl_conf = *want;
	if (want->enabled &&
	    ((l->rl = ratelimit_new(want->rate, want->burst, 0)) == NULL ||
	    (want->ipv6_prefix != 0 &&
	    ratelimit_set_ipv6_prefix(l->rl, want->ipv6_prefix) < 0)))
		fatal("%s: rate limit table", l->label);
}

void
listener_summarise(struct listener *l,
    void (*rate_line)(void *arg, const char *text))
{
	struct udpd_counters now, *was = &l->summarised;

	if (l->rl != NULL)
		ratelimit_report(l->rl, rate_line, l->label);
	now.drop_acl = __atomic_load_n(&l->counters.drop_acl,
	    __ATOMIC_RELAXED);
	now.drop_size = __atomic_load_n(&l->counters.drop_size,
	    __ATOMIC_RELAXED);
	now.drop_loop = __atomic_load_n(&l->counters.drop_loop,
	    __ATOMIC_RELAXED);
	now.drop_malformed = __atomic_load_n(&l->counters.drop_malformed,
	    __ATOMIC_RELAXED);
	if (now.drop_acl != was->drop_acl || now.drop_size != was->drop_size ||
	    now.drop_loop != was->drop_loop ||
	    now.drop_malformed != was->drop_malformed)
		log_notice("%s: dropped since the last summary: %llu refused "
		    "by allow/deny, %llu too large, %llu to looping ports, "
		    "%llu malformed", l->label,
		    (unsigned long long)(now.drop_acl - was->drop_acl),
		    (unsigned long long)(now.drop_size - was->drop_size),
		    (unsigned long long)(now.drop_loop - was->drop_loop),
		    (unsigned long long)(now.drop_malformed -
		    was->drop_malformed));
	was->drop_acl = now.drop_acl;
	was->drop_size = now.drop_size;
	was->drop_loop = now.drop_loop;
	was->drop_malformed = now.drop_malformed;
}

static void
listener_debug(const struct listener *l, const struct udpd_request *req,
    const char *what)
{
	char peer[INET6_ADDRSTRLEN + 16], text[200];

	log_debug("%s: %s from %s: %s", l->label, what,
	    addr_format(req->peer, peer, sizeof(peer)),
	    log_escape(req->data, req->len < 48 ? req->len : 48, text,
	    sizeof(text)));
}

enum udpd_verdict
listener_process(struct listener *l, const struct udpd_request *req,
    int truncated, struct udpd_reply *rep)
{
	const struct service_conf *svc = l->svc;
	uint16_t port = addr_port(req->peer);
	enum udpd_verdict v;

	COUNT(l, requests, 1);
	COUNT(l, bytes_in, req->len);
	rep->len = 0;
	rep->mark = 0;
	if (truncated || req->len > svc->max_request) {
		COUNT(l, drop_size, 1);
		return UDPD_DROP_SILENT;
	}
	if (loop_guard_has(l->guard, port) && !(port == 123 &&
	    svc->reply_is_terminal)) {
		COUNT(l, drop_loop, 1);
		return UDPD_DROP_SILENT;
	}
	if (!acl_match(&svc->acl, req->peer)) {
		COUNT(l, drop_acl, 1);
		return UDPD_DROP_SILENT;
	}
	if (l->rl != NULL && !ratelimit_allow(l->rl, req->peer, l->mono_ns)) {
		COUNT(l, drop_rate, 1);
		if (svc->module->limited != NULL &&
		    ratelimit_should_kod(l->rl, req->peer, l->mono_ns))
			return svc->module->limited(svc->instance, req, rep);
		return UDPD_DROP_SILENT;
	}
	v = svc->module->handle(svc->instance, req, rep);
	switch (v) {
	case UDPD_REPLY_ERROR:
		COUNT(l, errors, 1);
		break;
	case UDPD_DROP:
		COUNT(l, drop_malformed, 1);
		break;
	default:
		break;
	}
	if (log_get_level() >= LOG_DEBUG)
		listener_debug(l, req, v == UDPD_DROP ? "dropped" : "request");
	return v;
}
