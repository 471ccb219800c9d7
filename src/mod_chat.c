/*
 * mod_chat.c - the chat room's protocol: a message is formatted into a log
 * line and handed to the room's store (chat_store.h; the file store by
 * default) for the next seq, "/history [N]" reads the newest lines back.
 * The options and replies are those of udpd.conf(5); the store decides
 * what an acknowledgement means (a write(2), an fdatasync, a remote ack).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "chat_line.h"
#include "chat_store.h"
#include "log.h"
#include "module.h"

#define CHAT_HISTORY_DEFAULT	10
#define CHAT_LATER_MS		1000	/* default wait for a late store */

/* What a client hears when the store's answer does not come in time. */
static const char chat_append_timeout[] =
    "error: outcome unknown: no answer from the store\n";
static const char chat_history_timeout[] =
    "error: store unavailable\n";

/* The protocol's settings, then every store's (each store checks its own). */
static const char *const chat_options[] = {
	"store", "max_message", "history_max", "max_reply", "syslog",
	"retry_window_ms",		/* read by each store */
	"log_file", "fsync",
	"redis", "key", "password_file", "wait_replicas", "timeout_ms",
	"sentinels", "master", "sentinel_password_file",
	NULL
};

struct chat_options {
	const struct chat_store_ops *store;
	void		*store_options;
	size_t		 max_message;
	size_t		 history_max;
	size_t		 max_reply;
	int		 syslog;
};

/* One service's instance. */
struct chat {
	struct chat_store *store;
	char		**lines;	/* one line buffer per worker */
	int		 nlines;
	size_t		 linecap;
	size_t		 max_message;
	size_t		 history_max;
	size_t		 max_reply;
	int		 syslog;	/* each acked message at info too */
};

/* ---- options (pure) ------------------------------------------------- */

static int
chat_option_of(const struct chat_store_ops *store, const char *name)
{
	for (const char *const *o = store->options; *o != NULL; o++)
		if (strcmp(*o, name) == 0)
			return 1;
	return 0;
}

/* The store named by `store`; a setting of another store is an error. */
static const struct chat_store_ops *
chat_parse_store(const config_setting_t *service, struct conf_err *err)
{
	const struct chat_store_ops *store = NULL;
	const char *name = chat_stores[0]->name;

	if (conf_get_string(service, "store", &name, err) < 0)
		return NULL;
	for (size_t i = 0; chat_stores[i] != NULL; i++)
		if (strcmp(chat_stores[i]->name, name) == 0)
			store = chat_stores[i];
	if (store == NULL) {
		conf_error(err, config_setting_get_member(service, "store"),
		    "unknown store '%s'", name);
		return NULL;
	}
	for (size_t i = 0; chat_stores[i] != NULL; i++)
		for (const char *const *o = chat_stores[i]->options;
		    chat_stores[i] != store && *o != NULL; o++)
			if (!chat_option_of(store, *o) &&
			    config_setting_get_member(service, *o) != NULL) {
				conf_error(err, config_setting_get_member(
				    service, *o), "only valid with store = "
				    "\"%s\"", chat_stores[i]->name);
				return NULL;
			}
	return store;
}

static void
chat_free_options(void *options)
{
	struct chat_options *o = options;

	if (o == NULL)
		return;
	if (o->store_options != NULL)
		o->store->free_options(o->store_options);
	free(o);
}

static void *
chat_parse(const config_setting_t *service,
    const struct module_parse_ctx *ctx, struct conf_err *err)
{
	long long max_message = 1024, history_max = 100, max_reply = 1200;
	long long retry_ms;	/* checked here for every store; each reads it */
	struct chat_options *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		conf_error(err, service, "out of memory");
		return NULL;
	}
	if ((o->store = chat_parse_store(service, err)) == NULL ||
	    conf_get_int(service, "max_message", 1, UDPD_MAX_DATAGRAM,
	    &max_message, err) < 0 ||
	    conf_get_int(service, "history_max", 1, UDPD_MAX_DATAGRAM,
	    &history_max, err) < 0 ||
	    conf_get_int(service, "max_reply", 64, UDPD_MAX_DATAGRAM,
	    &max_reply, err) < 0 ||
	    conf_get_bool(service, "syslog", &o->syslog, err) < 0 ||
	    conf_get_int(service, "retry_window_ms", 0,
	    CHAT_RETRY_WINDOW_MAX_MS, &retry_ms, err) < 0 ||
	    (o->store_options = o->store->parse(service, ctx, err)) == NULL) {
		chat_free_options(o);
		return NULL;
	}
	/* A late ack comes without the message: nothing to log then. */
	if (o->syslog && o->store->answers_later) {
		conf_error(err, config_setting_get_member(service, "syslog"),
		    "not available with store = \"%s\"", o->store->name);
		chat_free_options(o);
		return NULL;
	}
	o->max_message = (size_t)max_message;
	o->history_max = (size_t)history_max;
	o->max_reply = (size_t)max_reply;
	return o;
}

static const char *
chat_claim(const void *options)
{
	const struct chat_options *o = options;

	return o->store->claim != NULL ? o->store->claim(o->store_options) :
	    NULL;
}

/* ---- start and stop ------------------------------------------------- */

static void
chat_destroy(void *state)
{
	struct chat *c = state;

	if (c == NULL)
		return;
	if (c->store != NULL)
		c->store->ops->stop(c->store);
	for (int i = 0; c->lines != NULL && i < c->nlines; i++)
		free(c->lines[i]);
	free(c->lines);
	free(c);
}

/*
 * Opens the store, going on with the previous instance's when it is the
 * same (a reload), and makes each worker a line buffer: lines are
 * formatted and escaped before the store is asked, outside its locks.
 */
static void *
chat_start(const void *options, const struct module_ctx *ctx,
    void *previous, char *err, size_t errlen)
{
	const struct chat_options *o = options;
	const struct chat *prev = previous;
	struct chat *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->max_message = o->max_message;
	c->history_max = o->history_max;
	c->max_reply = o->max_reply;
	c->syslog = o->syslog;
	c->linecap = CHAT_PREFIX_MAX + 4 * c->max_message + 1;
	c->nlines = ctx != NULL && ctx->nworkers > 0 ? ctx->nworkers : 1;
	if ((c->lines = calloc((size_t)c->nlines, sizeof(char *))) == NULL)
		goto nomem;
	for (int i = 0; i < c->nlines; i++)
		if ((c->lines[i] = malloc(c->linecap)) == NULL)
			goto nomem;
	c->store = o->store->start(o->store_options, ctx,
	    prev != NULL ? prev->store : NULL, err, errlen);
	if (c->store == NULL) {
		chat_destroy(c);
		return NULL;
	}
	return c;
nomem:
	snprintf(err, errlen, "out of memory");
	chat_destroy(c);
	return NULL;
}

/* ---- handling requests ---------------------------------------------- */

/* A formatted reply; one that does not fit in the buffer is dropped. */
static enum udpd_verdict __attribute__((format(printf, 3, 4)))
chat_reply(struct udpd_reply *rep, enum udpd_verdict v, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)rep->buf, rep->cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= rep->cap) {
		rep->len = 0;
		return UDPD_DROP;
	}
	rep->len = (size_t)n;
	return v;
}

/*
 * The answer to an append: "ok <seq>\n", "error: not stored: <why>\n" or
 * "error: outcome unknown: <why>\n" (chat_store.h).  A stored message
 * without its seq (a store's bug) is an unknown outcome, never an ok.
 */
static enum udpd_verdict
chat_outcome_text(char *out, size_t cap, size_t *len,
    enum chat_outcome outcome, uint64_t seq, const char *why)
{
	int n;

	if (outcome == CHAT_STORED && seq > 0)
		n = snprintf(out, cap, "ok %" PRIu64 "\n", seq);
	else if (outcome == CHAT_NOT_STORED)
		n = snprintf(out, cap, "error: not stored: %s\n",
		    why != NULL && why[0] != '\0' ? why : "refused");
	else
		n = snprintf(out, cap, "error: outcome unknown: %s\n",
		    why != NULL && why[0] != '\0' ? why : "no answer");
	if (n < 0 || (size_t)n >= cap) {	/* a long why: cut */
		*len = cap > 0 ? cap - 1 : 0;
		if (*len > 0)
			out[*len - 1] = '\n';
	} else
		*len = (size_t)n;
	return outcome == CHAT_STORED && seq > 0 ? UDPD_REPLY :
	    UDPD_REPLY_ERROR;
}

/* A store's late answer to an append; arg is the reply's slot. */
static void
chat_appended(void *arg, enum chat_outcome outcome, uint64_t seq,
    const char *why)
{
	char text[160];
	size_t n;
	enum udpd_verdict v = chat_outcome_text(text, sizeof(text), &n,
	    outcome, seq, why);

	udpd_later_reply(arg, v, text, n);
}

/* "error: <why>\n" for a /history reply given later. */
static void
chat_later_error(struct udpd_later *p, const char *why)
{
	char text[160];
	int n = snprintf(text, sizeof(text), "error: %s\n",
	    why != NULL ? why : "store unavailable");

	if (n < 0 || (size_t)n >= sizeof(text))
		udpd_later_reply(p, UDPD_REPLY_ERROR, chat_history_timeout,
		    sizeof(chat_history_timeout) - 1);
	else
		udpd_later_reply(p, UDPD_REPLY_ERROR, text, (size_t)n);
}

/* A store's late answer to /history; arg is the reply's slot. */
static void
chat_history_read(void *arg, const char *lines, size_t len,
    const char *error)
{
	if (error != NULL)
		chat_later_error(arg, error);
	else
		udpd_later_reply(arg, UDPD_REPLY, lines, len);
}

/*
 * For a store that may answer later, the slot its answer will fill, taken
 * before the store is asked; NULL for a store that answers at once.
 * *busy when the worker's table is full.
 */
static struct udpd_later *
chat_later(const struct chat *c, const struct udpd_request *req,
    const char *timeout_reply, int *busy)
{
	struct udpd_later *p;

	*busy = 0;
	if (!c->store->ops->answers_later)
		return NULL;
	p = udpd_later_take(req, c->store->timeout_ms != 0 ?
	    c->store->timeout_ms : CHAT_LATER_MS, timeout_reply);
	*busy = p == NULL;
	return p;
}

/* The store answered at once after all: the slot goes back unused. */
static void
chat_later_unused(struct udpd_later *p)
{
	if (p != NULL)
		udpd_later_reply(p, UDPD_DROP_SILENT, NULL, 0);
}

/*
 * syslog = true: an acknowledged message in the console form,
 * "[<ctime>] <ip>: <text>", the text escaped as in the log line (the
 * suffix "<time> <ip>:<port> <text>\n" is where it is taken from).
 */
static void
chat_syslog(const struct udpd_request *req, const struct timespec *ts,
    const char *suffix, size_t len)
{
	char when[32], host[INET6_ADDRSTRLEN + 16];
	const char *text = memchr(suffix, ' ', len);
	time_t t = ts->tv_sec;

	if (text == NULL || (text = memchr(text + 1, ' ', len - (size_t)(text +
	    1 - suffix))) == NULL || ctime_r(&t, when) == NULL)
		return;
	text++;
	when[strcspn(when, "\n")] = '\0';
	log_info("[%s] %s: %.*s", when, addr_format_host(req->peer, host,
	    sizeof(host)), (int)(len - (size_t)(text - suffix) - 1), text);
}

static enum udpd_verdict
chat_post(struct chat *c, const struct udpd_request *req, size_t len,
    struct udpd_reply *rep)
{
	char why[128], *line = c->lines[req->worker < c->nlines &&
	    req->worker >= 0 ? req->worker : 0];
	struct timespec ts = req->rx_time;
	struct chat_append a = {
		.worker = req->worker, .why = why, .whylen = sizeof(why),
		.peer = req->peer, .peerlen = req->peerlen,
		.done = chat_appended,
	};
	const char *sp;
	int busy;

	if (ts.tv_sec == 0 && ts.tv_nsec == 0 && req->now != NULL)
		req->now(&ts);
	a.suffix = line;
	if ((a.len = chat_format_suffix(line, c->linecap, &ts, req->peer,
	    req->peerlen, req->data, len)) == 0)	/* cannot happen */
		return chat_reply(rep, UDPD_REPLY_ERROR, "error: not stored: "
		    "line too long\n");
	/* the retry key: the suffix after "<time> ", without its "\n" */
	sp = memchr(line, ' ', a.len);
	a.retry_key = sp != NULL ? sp + 1 : line;
	a.retry_keylen = a.len - 1 - (size_t)(a.retry_key - line);
	if ((a.arg = chat_later(c, req, chat_append_timeout, &busy)) == NULL &&
	    busy)
		return chat_reply(rep, UDPD_REPLY_ERROR, "error: not stored: "
		    "busy\n");
	switch (c->store->ops->append(c->store, &a)) {
	case CHAT_STORE_LATER:
		if (a.arg != NULL)
			return UDPD_LATER;
		break;				/* a store's bug */
	case CHAT_STORE_OK:
		chat_later_unused(a.arg);
		if (c->syslog && !a.repeat)	/* logged at its first try */
			chat_syslog(req, &ts, a.suffix, a.len);
		rep->mark = a.seq;
		return chat_reply(rep, UDPD_REPLY, "ok %" PRIu64 "\n", a.seq);
	case CHAT_STORE_FAILED:
		chat_later_unused(a.arg);
		return chat_outcome_text((char *)rep->buf, rep->cap,
		    &rep->len, a.outcome == CHAT_STORED ? CHAT_UNKNOWN :
		    a.outcome, 0, why);
	}
	/* LATER without a slot: a store's bug, nothing can answer later */
	return chat_reply(rep, UDPD_REPLY_ERROR, "%s", chat_append_timeout);
}

/*
 * The N of "/history N": default 10, 0 or anything but digits is an error,
 * more than history_max is clamped to it (as tail -n takes any count).
 * Surrounding spaces are allowed.  -1 on a bad count.
 */
static int
chat_parse_count(const unsigned char *p, size_t n, size_t max,
    size_t *count)
{
	size_t i = 0, v = 0, digits = 0;

	while (i < n && p[i] == ' ')
		i++;
	if (i == n) {
		*count = CHAT_HISTORY_DEFAULT < max ? CHAT_HISTORY_DEFAULT :
		    max;
		return 0;
	}
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++)
		if (v <= max)
			v = v * 10 + (size_t)(p[i] - '0');
	while (i < n && p[i] == ' ')
		i++;
	if (digits == 0 || i != n || v == 0)
		return -1;
	*count = v < max ? v : max;
	return 0;
}

/*
 * "/history [N]": the log's last N lines as they are, newest last, the
 * oldest whole lines dropped to fit max_reply.  No line (an empty log, or
 * a newest line longer than max_reply) is an empty reply.
 */
static enum udpd_verdict
chat_history(struct chat *c, const struct udpd_request *req, size_t count,
    struct udpd_reply *rep)
{
	char why[128];
	struct chat_history h = {
		.worker = req->worker, .count = count,
		.max_bytes = c->max_reply < rep->cap ? c->max_reply : rep->cap,
		.out = rep->buf, .why = why, .whylen = sizeof(why),
		.done = chat_history_read,
	};
	int busy;

	if ((h.arg = chat_later(c, req, chat_history_timeout, &busy)) == NULL &&
	    busy)
		return chat_reply(rep, UDPD_REPLY_ERROR, "error: busy\n");
	switch (c->store->ops->history(c->store, &h)) {
	case CHAT_STORE_LATER:
		if (h.arg != NULL)
			return UDPD_LATER;
		break;				/* a store's bug */
	case CHAT_STORE_OK:
		chat_later_unused(h.arg);
		rep->len = h.len;
		return UDPD_REPLY;
	case CHAT_STORE_FAILED:
		chat_later_unused(h.arg);
		return chat_reply(rep, UDPD_REPLY_ERROR, "error: %s\n", why);
	}
	return chat_reply(rep, UDPD_REPLY_ERROR, "%s", chat_history_timeout);
}

static enum udpd_verdict
chat_command(struct chat *c, const struct udpd_request *req, size_t len,
    struct udpd_reply *rep)
{
	static const char history[] = "/history";
	const unsigned char *cmd = req->data;
	const size_t hl = sizeof(history) - 1;
	size_t count;

	if (len < hl || memcmp(cmd, history, hl) != 0 ||
	    (len > hl && cmd[hl] != ' '))
		return chat_reply(rep, UDPD_REPLY_ERROR,
		    "error: unknown command\n");
	if (chat_parse_count(cmd + hl, len - hl, c->history_max, &count) == -1)
		return chat_reply(rep, UDPD_REPLY_ERROR, "error: bad count\n");
	return chat_history(c, req, count, rep);
}

static enum udpd_verdict
chat_handle(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	struct chat *c = state;
	size_t len = udpd_line_length(req->data, req->len);

	rep->len = 0;
	if (len == 0)
		return chat_reply(rep, UDPD_REPLY_ERROR,
		    "error: not stored: empty message\n");
	if (req->data[0] == '/')
		return chat_command(c, req, len, rep);
	if (len > c->max_message)
		return chat_reply(rep, UDPD_REPLY_ERROR,
		    "error: not stored: message too long (max %zu bytes)\n",
		    c->max_message);
	return chat_post(c, req, len, rep);
}

/* ---- batches, rotation ---------------------------------------------- */

/*
 * Group commit: the store makes every seq acknowledged in the batch
 * durable at once (the file store's fdatasync with fsync = true); each
 * "ok" it leaves in doubt becomes an error before it is sent.
 */
static void
chat_batch_end(void *state, struct udpd_reply *replies,
    enum udpd_verdict *verdicts, size_t n)
{
	struct chat *c = state;
	struct chat_doubt d;
	uint64_t hi = 0;

	if (c->store->ops->flush == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (verdicts[i] == UDPD_REPLY && replies[i].mark > hi)
			hi = replies[i].mark;
	if (hi == 0)
		return;
	c->store->ops->flush(c->store, hi, &d);
	for (size_t i = 0; i < n; i++)
		if (verdicts[i] == UDPD_REPLY && replies[i].mark > d.lo &&
		    replies[i].mark <= d.hi)
			verdicts[i] = chat_reply(&replies[i],
			    UDPD_REPLY_ERROR, "error: outcome unknown: %s\n",
			    d.why);
}

static void
chat_reopen(void *state)
{
	struct chat *c = state;

	if (c->store->ops->reopen != NULL)
		c->store->ops->reopen(c->store);
}

static int
chat_last_seq(const void *state, uint64_t *seq)
{
	const struct chat *c = state;

	if (c == NULL || c->store == NULL || c->store->ops->last_seq == NULL)
		return -1;
	return c->store->ops->last_seq(c->store, seq);
}

/* udpd_chat_store_up: a store that cannot tell is up while it runs. */
static int
chat_store_up(const void *state)
{
	const struct chat *c = state;

	if (c == NULL || c->store == NULL)
		return -1;
	return c->store->ops->up != NULL ? c->store->ops->up(c->store) : 1;
}

const struct udpd_module module_chat = {
	.name = "chat",
	.options = chat_options,
	.max_request = 0,		/* a too-long message gets an error */
	.wants_rx_timestamp = 1,
	.reply_is_terminal = NULL,	/* two chats could ack each other */
	.parse = chat_parse,
	.free_options = chat_free_options,
	.start = chat_start,
	.handle = chat_handle,
	.destroy = chat_destroy,
	.batch_end = chat_batch_end,
	.reopen = chat_reopen,
	.claim = chat_claim,
	.last_seq = chat_last_seq,
	.store_up = chat_store_up,
};
