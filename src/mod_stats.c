/*
 * mod_stats.c - the daemon's counters as one JSON object per request:
 * {"uptime": s, "services": {"name": {"module": ..., "requests": n, ...}}}.
 * Service names are restricted by the config loader to [A-Za-z0-9_.-], so
 * they need no JSON escaping.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

#define STATS_MAX_SERVICES	256

struct stats {
	const struct udpd_stats_view *view;
	size_t		 max_reply;
};

static const char *const stats_options[] = { "max_reply", NULL };

static void *
stats_parse(const config_setting_t *service,
    const struct module_parse_ctx *ctx, struct conf_err *err)
{
	struct stats *o = calloc(1, sizeof(*o));
	long long max_reply = UDPD_MAX_DATAGRAM;

	(void)ctx;
	if (o == NULL) {
		conf_error(err, service, "out of memory");
		return NULL;
	}
	/* Bounds the amplification: the JSON grows with the services. */
	if (conf_get_int(service, "max_reply", 128, UDPD_MAX_DATAGRAM,
	    &max_reply, err) < 0) {
		free(o);
		return NULL;
	}
	o->max_reply = (size_t)max_reply;
	return o;
}

static void *
stats_start(const void *options, const struct module_ctx *ctx,
    void *previous, char *err, size_t errlen)
{
	struct stats *st = calloc(1, sizeof(*st));

	(void)previous;
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*st = *(const struct stats *)options;
	st->view = ctx->stats;
	return st;
}

/* Appends to the reply within limit bytes; -1 (nothing kept) if full. */
static int
stats_put(struct udpd_reply *rep, size_t limit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
stats_put(struct udpd_reply *rep, size_t limit, const char *fmt, ...)
{
	size_t room = limit > rep->len ? limit - rep->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)rep->buf + rep->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -1;
	rep->len += (size_t)n;
	return 0;
}

static int
stats_service(struct udpd_reply *rep, size_t limit, int first, const char *name,
    const char *module, const struct udpd_counters *c)
{
	return stats_put(rep, limit, "%s\"%s\": {\"module\": \"%s\", "
	    "\"requests\": %" PRIu64 ", \"replies\": %" PRIu64 ", "
	    "\"bytes_in\": %" PRIu64 ", \"bytes_out\": %" PRIu64 ", "
	    "\"errors\": %" PRIu64 ", \"dropped\": {\"acl\": %" PRIu64 ", "
	    "\"rate\": %" PRIu64 ", \"size\": %" PRIu64 ", \"loop\": %" PRIu64
	    ", \"malformed\": %" PRIu64 "}}", first ? "" : ", ", name, module,
	    c->requests, c->replies, c->bytes_in, c->bytes_out, c->errors,
	    c->drop_acl, c->drop_rate, c->drop_size, c->drop_loop,
	    c->drop_malformed);
}

static enum udpd_verdict
stats_handle(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	const char *names[STATS_MAX_SERVICES], *mods[STATS_MAX_SERVICES];
	struct udpd_counters c[STATS_MAX_SERVICES];
	const struct stats *st = state;
	size_t n = 0, shown = 0, limit, cap;

	(void)req;
	long long uptime = 0;

	/* The reply buffer is the worker's: shrink what we use, not it. */
	cap = rep->cap < st->max_reply ? rep->cap : st->max_reply;
	if (cap < 128)
		return UDPD_DROP;
	/* Keep room for the closing text and a "truncated" flag. */
	limit = cap - 64;
	if (st->view != NULL) {
		n = st->view->list(st->view->arg, names, mods, c,
		    STATS_MAX_SERVICES);
		uptime = st->view->uptime(st->view->arg);
	}
	rep->len = 0;
	stats_put(rep, limit, "{\"uptime\": %lld, \"services\": {",
	    uptime < 0 ? 0 : uptime);
	for (; shown < n && shown < STATS_MAX_SERVICES; shown++)
		if (stats_service(rep, limit, shown == 0, names[shown],
		    mods[shown], &c[shown]) < 0)
			break;
	stats_put(rep, cap, shown < n ? "}, \"truncated\": true}\n" :
	    "}}\n");
	return UDPD_REPLY;
}

static void
stats_destroy(void *state)
{
	free(state);
}

const struct udpd_module module_stats = {
	.name = "stats",
	.options = stats_options,
	.parse = stats_parse,
	.free_options = stats_destroy,
	.start = stats_start,
	.handle = stats_handle,
	.destroy = stats_destroy,
};
