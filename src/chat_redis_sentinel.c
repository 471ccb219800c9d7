/*
 * chat_redis_sentinel.c - asks Redis Sentinel where the chat room's
 * primary is (SENTINEL get-master-addr-by-name) and listens on the
 * sentinel that answered for +switch-master, for one worker's connection
 * (chat_redis_sentinel.h).
 *
 * One question at a time: the sentinels are asked in turn, each with
 * timeout_ms to answer, until one names the primary.  A sentinel that is
 * down, does not know the name, or refuses us is logged and the next one
 * is asked; when none named a primary the
 * connection hears why and tries again later, with its backoff.  The
 * answer is a hint: the connection checks ROLE on the server it names.
 * Once one answered, every sentinel is watched for +switch-master.
 */
#include "config.h"

#include <arpa/inet.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "chat_redis_sentinel.h"
#include "log.h"

struct chat_redis_sentinel {
	struct event_base		*base;
	const struct chat_redis_conf	*conf;
	const char			*service;
	chat_redis_sentinel_found_fn	 found;
	chat_redis_sentinel_switch_fn	 switched;
	void				*arg;
	redisAsyncContext		*ask;	/* the question out, or NULL */
	/* Each sentinel's subscribed connection, or NULL: the leader of a
	 * failover announces it first, the others up to seconds later. */
	redisAsyncContext		*watch[CHAT_REDIS_SENTINELS_MAX];
	int				 cur;	/* the sentinel asked */
	int				 tried;	/* asked in this round */
	struct event			*timer;	/* the question's deadline */
	char				 why[192];	/* the last failure */
	int				 warned;	/* since one answered */
};

static void	chat_redis_sentinel_next(struct chat_redis_sentinel *s);
static void	chat_redis_sentinel_on_connect(const redisAsyncContext *ac,
		    int status);
static void	chat_redis_sentinel_on_disconnect(const redisAsyncContext *ac,
		    int status);

/* The index of the sentinel ac watches, or -1. */
static int
chat_redis_sentinel_watching(const struct chat_redis_sentinel *s,
    const redisAsyncContext *ac)
{
	for (int i = 0; i < s->conf->nsentinels; i++)
		if (s->watch[i] == ac)
			return i;
	return -1;
}

/* "host:port" of sentinel i ("[v6]:port" for IPv6), for logs. */
static void
chat_redis_sentinel_label(const struct chat_redis_sentinel *s, int i,
    char *buf, size_t len)
{
	const struct chat_redis_hostport *hp = &s->conf->sentinels[i];

	snprintf(buf, len, strchr(hp->host, ':') != NULL ? "[%s]:%d" :
	    "%s:%d", hp->host, hp->port);
}

/* Why sentinel cur failed (detail came over the network: escaped).  The
 * first reason that may be ours to fix (a wrong name, a wrong password)
 * is a warning until a sentinel answers again; the rest is debug. */
static void
chat_redis_sentinel_failed(struct chat_redis_sentinel *s, int warn,
    const char *detail)
{
	char label[80], safe[96];

	chat_redis_sentinel_label(s, s->cur, label, sizeof(label));
	snprintf(s->why, sizeof(s->why), "sentinel %s: master \"%s\": %s",
	    label, s->conf->master, log_escape(detail, strlen(detail), safe,
	    sizeof(safe)));
	if (warn && !s->warned) {
		s->warned = 1;
		log_warnx("chat %s: %s", s->service, s->why);
	} else
		log_debug("chat %s: %s", s->service, s->why);
}

/* Ends the question on ac (inside its callbacks hiredis defers it). */
static void
chat_redis_sentinel_close_ask(struct chat_redis_sentinel *s)
{
	redisAsyncContext *ac = s->ask;

	s->ask = NULL;
	evtimer_del(s->timer);
	if (ac != NULL)
		redisAsyncFree(ac);
}

/* The question to sentinel cur failed: the next one, or give up. */
static void
chat_redis_sentinel_give_up(struct chat_redis_sentinel *s)
{
	chat_redis_sentinel_close_ask(s);
	s->cur = (s->cur + 1) % s->conf->nsentinels;
	chat_redis_sentinel_next(s);
}

/* A numeric IPv4 or IPv6 address: the workers never wait on DNS, and
 * what a sentinel sends is never logged unchecked. */
static int
chat_redis_sentinel_numeric(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* +switch-master "<name> <old ip> <old port> <new ip> <new port>". */
static void
chat_redis_sentinel_on_message(redisAsyncContext *ac, void *reply_,
    void *privdata)
{
	struct chat_redis_sentinel *s = privdata;
	const redisReply *reply = reply_, *m;
	char name[CHAT_REDIS_MASTER_MAX + 1], host[64];
	int port;

	if (reply == NULL || chat_redis_sentinel_watching(s, ac) < 0 ||
	    reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
		return;
	m = reply->element[2];
	if (reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message") != 0 ||
	    m->type != REDIS_REPLY_STRING || m->len > 512 ||
	    sscanf(m->str, "%128s %*s %*s %63s %d", name, host, &port) != 3 ||
	    strcmp(name, s->conf->master) != 0 || port < 1 || port > 65535 ||
	    !chat_redis_sentinel_numeric(host))
		return;
	s->switched(s->arg, host, port);
}

/* Subscribes ac (connected to sentinel i) to +switch-master. */
static void
chat_redis_sentinel_subscribe(struct chat_redis_sentinel *s, int i,
    redisAsyncContext *ac)
{
	redisAsyncContext *old = s->watch[i];

	s->watch[i] = NULL;
	if (old != NULL && old != ac)
		redisAsyncFree(old);
	if (redisAsyncCommand(ac, chat_redis_sentinel_on_message, s,
	    "SUBSCRIBE +switch-master") == REDIS_OK)
		s->watch[i] = ac;
	else
		redisAsyncFree(ac);
}

/* A connection to sentinel hp on s's loop, or NULL with why (if given). */
static redisAsyncContext *
chat_redis_sentinel_connect(struct chat_redis_sentinel *s,
    const struct chat_redis_hostport *hp, char *why, size_t whylen)
{
	redisAsyncContext *ac = redisAsyncConnect(hp->host, hp->port);

	if (ac == NULL || ac->err != 0) {
		if (why != NULL)
			snprintf(why, whylen, "%s",
			    ac != NULL ? ac->c.errstr : "cannot connect");
		if (ac != NULL)
			redisAsyncFree(ac);
		return NULL;
	}
	ac->data = s;
	redisLibeventAttach(ac, s->base);
	redisAsyncSetConnectCallback(ac, chat_redis_sentinel_on_connect);
	redisAsyncSetDisconnectCallback(ac, chat_redis_sentinel_on_disconnect);
	return ac;
}

/* Every sentinel without a watching connection gets one (AUTH first
 * when there is a password: a refusal only leaves it unwatched). */
static void
chat_redis_sentinel_watch_all(struct chat_redis_sentinel *s)
{
	const struct chat_redis_conf *c = s->conf;
	redisAsyncContext *ac;

	for (int i = 0; i < c->nsentinels; i++) {
		if (s->watch[i] != NULL)
			continue;
		if ((ac = chat_redis_sentinel_connect(s, &c->sentinels[i],
		    NULL, 0)) == NULL)
			continue;
		if (c->sentinel_user != NULL)
			(void)redisAsyncCommand(ac, NULL, NULL, "AUTH %s %s",
			    c->sentinel_user, c->sentinel_password);
		else if (c->sentinel_password != NULL)
			(void)redisAsyncCommand(ac, NULL, NULL, "AUTH %s",
			    c->sentinel_password);
		s->watch[i] = ac;
		chat_redis_sentinel_subscribe(s, i, ac);
	}
}

/* Is reply the [host, port] of a primary, host a numeric address?  Into
 * host and *port. */
static int
chat_redis_sentinel_addr(const redisReply *reply, char *host, size_t len,
    int *port)
{
	const redisReply *h, *p;
	char *end;
	long v;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
		return -1;
	h = reply->element[0];
	p = reply->element[1];
	if (h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_STRING ||
	    h->len == 0 || h->len >= len || memchr(h->str, '\0', h->len))
		return -1;
	v = strtol(p->str, &end, 10);
	if (*end != '\0' || end == p->str || v < 1 || v > 65535)
		return -1;
	memcpy(host, h->str, h->len + 1);
	*port = (int)v;
	return chat_redis_sentinel_numeric(host) ? 0 : -1;
}

/* The answer to SENTINEL get-master-addr-by-name. */
static void
chat_redis_sentinel_on_addr(redisAsyncContext *ac, void *reply_,
    void *privdata)
{
	struct chat_redis_sentinel *s = privdata;
	const redisReply *reply = reply_;
	char host[64], label[80];
	int port;

	if (reply == NULL || ac != s->ask)
		return;			/* closed: handled where it was */
	if (chat_redis_sentinel_addr(reply, host, sizeof(host), &port) == 0) {
		s->ask = NULL;
		evtimer_del(s->timer);
		s->warned = 0;
		chat_redis_sentinel_label(s, s->cur, label, sizeof(label));
		chat_redis_sentinel_subscribe(s, s->cur, ac);
		chat_redis_sentinel_watch_all(s);
		s->found(s->arg, host, port, label, NULL);
		return;
	}
	if (reply->type == REDIS_REPLY_NIL)
		chat_redis_sentinel_failed(s, 1, "unknown to this sentinel "
		    "(is master the name it monitors?)");
	else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING)
		chat_redis_sentinel_failed(s, 1, "it names no numeric address "
		    "and port (resolve-hostnames?)");
	else if (reply->type == REDIS_REPLY_ERROR)
		chat_redis_sentinel_failed(s, 1, reply->str);
	else
		chat_redis_sentinel_failed(s, 1, "unexpected reply to SENTINEL "
		    "get-master-addr-by-name");
	chat_redis_sentinel_give_up(s);
}

/* AUTH to a sentinel: only a refusal matters (the question follows). */
static void
chat_redis_sentinel_on_auth(redisAsyncContext *ac, void *reply_,
    void *privdata)
{
	struct chat_redis_sentinel *s = privdata;
	const redisReply *reply = reply_;

	if (reply == NULL || ac != s->ask || reply->type != REDIS_REPLY_ERROR)
		return;
	chat_redis_sentinel_failed(s, 1, reply->str);
	chat_redis_sentinel_give_up(s);
}

static void
chat_redis_sentinel_on_connect(const redisAsyncContext *ac, int status)
{
	struct chat_redis_sentinel *s = ac->data;
	int i;

	if (status != REDIS_OK && (i = chat_redis_sentinel_watching(s,
	    ac)) >= 0)
		s->watch[i] = NULL;	/* hiredis frees ac after this */
	if (status == REDIS_OK || ac != s->ask)
		return;
	s->ask = NULL;		/* hiredis frees ac after this */
	chat_redis_sentinel_failed(s, 0, ac->c.errstr);
	chat_redis_sentinel_give_up(s);
}

static void
chat_redis_sentinel_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct chat_redis_sentinel *s = ac->data;
	int i;

	(void)status;
	if ((i = chat_redis_sentinel_watching(s, ac)) >= 0) {
		s->watch[i] = NULL;
		return;
	}
	if (ac != s->ask)
		return;
	s->ask = NULL;
	chat_redis_sentinel_failed(s, 0, ac->c.err != 0 ? ac->c.errstr :
	    "connection closed");
	chat_redis_sentinel_give_up(s);
}

static void
chat_redis_sentinel_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct chat_redis_sentinel *s = arg;

	(void)fd;
	(void)what;
	chat_redis_sentinel_failed(s, 0, "no answer within timeout_ms");
	chat_redis_sentinel_give_up(s);
}

/* AUTH (with a sentinel password) and the question, queued. */
static int
chat_redis_sentinel_send(struct chat_redis_sentinel *s,
    redisAsyncContext *ac)
{
	const struct chat_redis_conf *c = s->conf;
	int rc = REDIS_OK;

	if (c->sentinel_password != NULL && c->sentinel_user != NULL)
		rc = redisAsyncCommand(ac, chat_redis_sentinel_on_auth, s,
		    "AUTH %s %s", c->sentinel_user, c->sentinel_password);
	else if (c->sentinel_password != NULL)
		rc = redisAsyncCommand(ac, chat_redis_sentinel_on_auth, s,
		    "AUTH %s", c->sentinel_password);
	if (rc == REDIS_OK)
		rc = redisAsyncCommand(ac, chat_redis_sentinel_on_addr, s,
		    "SENTINEL get-master-addr-by-name %s", c->master);
	return rc == REDIS_OK ? 0 : -1;
}

/* Asks sentinel cur, or, when every one was asked, says why none named
 * a primary.  A sentinel that cannot be asked at all is skipped here. */
static void
chat_redis_sentinel_next(struct chat_redis_sentinel *s)
{
	const struct chat_redis_hostport *hp;
	struct timeval tv = { s->conf->timeout_ms / 1000,
	    (s->conf->timeout_ms % 1000) * 1000 };
	redisAsyncContext *ac;
	char why[128];

	for (; s->tried < s->conf->nsentinels; s->tried++) {
		hp = &s->conf->sentinels[s->cur];
		ac = chat_redis_sentinel_connect(s, hp, why, sizeof(why));
		if (ac == NULL)
			chat_redis_sentinel_failed(s, 0, why);
		else {
			s->ask = ac;
			if (chat_redis_sentinel_send(s, ac) == 0) {
				s->tried++;
				evtimer_add(s->timer, &tv);
				return;
			}
			s->ask = NULL;
			chat_redis_sentinel_failed(s, 0, ac->err != 0 ?
			    ac->c.errstr : "cannot connect");
			redisAsyncFree(ac);
		}
		s->cur = (s->cur + 1) % s->conf->nsentinels;
	}
	s->found(s->arg, NULL, 0, NULL, s->why);
}

void
chat_redis_sentinel_ask(struct chat_redis_sentinel *s)
{
	if (s->ask != NULL)
		return;
	s->tried = 0;
	chat_redis_sentinel_next(s);
}

void
chat_redis_sentinel_distrust(struct chat_redis_sentinel *s)
{
	s->cur = (s->cur + 1) % s->conf->nsentinels;
}

struct chat_redis_sentinel *
chat_redis_sentinel_new(struct event_base *base,
    const struct chat_redis_conf *conf, const char *service,
    chat_redis_sentinel_found_fn found, chat_redis_sentinel_switch_fn switched,
    void *arg)
{
	struct chat_redis_sentinel *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base = base;
	s->conf = conf;
	s->service = service;
	s->found = found;
	s->switched = switched;
	s->arg = arg;
	if ((s->timer = evtimer_new(base, chat_redis_sentinel_on_timeout,
	    s)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
chat_redis_sentinel_free(struct chat_redis_sentinel *s)
{
	redisAsyncContext *watch;

	if (s == NULL)
		return;
	chat_redis_sentinel_close_ask(s);
	for (int i = 0; i < s->conf->nsentinels; i++)
		if ((watch = s->watch[i]) != NULL) {
			s->watch[i] = NULL;
			redisAsyncFree(watch);
		}
	event_free(s->timer);
	free(s);
}
