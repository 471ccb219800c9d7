/*
 * chat_redis.c - one worker's connection to the chat room in Redis: the
 * only file that includes hiredis.
 *
 * Each message is one call of a server-side script that reads the room's
 * counter, adds the stream entry {seq, line} and stores the new counter:
 * the seq and the append happen together or not at all, in arrival order
 * at Redis, whatever the number of hosts and workers.  Requests are
 * pipelined on the connection and answered in order (hiredis keeps the
 * callbacks in a FIFO); with wait_replicas, one WAIT after each batch of
 * appends covers all of them (a group commit, as one fdatasync covers a
 * batch of the file store).
 *
 * Failure model: every request has a deadline; when one passes, or the
 * connection breaks, the connection is dropped, every request in flight
 * gets an error (its outcome is unknown), and a new connection is tried
 * with backoff.  While there is none, requests are refused at once, so a
 * dead Redis costs a caller nothing but an error.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "chat_redis.h"
#include "chat_store.h"
#include "log.h"
#include "module.h"

#define CHAT_REDIS_BACKOFF_MIN	100	/* ms */
#define CHAT_REDIS_BACKOFF_MAX	5000

/*
 * KEYS[1] the stream, KEYS[2] its counter, ARGV[1] the line after
 * "<seq> " (without its newline).  Nothing is written before every check passed, and XADD (the only
 * write that could fail) comes before SET, so an error leaves no gap.  A
 * lost counter goes on from the stream's last seq.
 */
static const char chat_redis_script[] =
    "local t = redis.call('TYPE', KEYS[1])['ok']\n"
    "if t ~= 'stream' and t ~= 'none' then\n"
    "  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. "
    "' is not a stream')\n"
    "end\n"
    "local last = redis.call('GET', KEYS[2])\n"
    "if not last then\n"
    "  last = '0'\n"
    "  local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]\n"
    "  if e then\n"
    "    for i = 1, #e[2], 2 do\n"
    "      if e[2][i] == 'seq' then last = e[2][i + 1] end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local n = tonumber(last)\n"
    "if not n or n < 0 or n ~= math.floor(n) or n >= 2^53 then\n"
    "  return redis.error_reply('ERR ' .. KEYS[2] .. "
    "' does not hold a sequence number')\n"
    "end\n"
    "local seq = string.format('%d', n + 1)\n"
    "redis.call('XADD', KEYS[1], '*', 'seq', seq, 'line', "
    "seq .. ' ' .. ARGV[1])\n"
    "redis.call('SET', KEYS[2], seq)\n"
    "return n + 1\n";

struct chat_redis_health {
	pthread_mutex_t	 lock;
	char		*service;
	char		*label;
	int		 down;		/* connections without a session */
	int		 outage;	/* "unavailable" was logged */
	uint64_t	 since;		/* ms, when it was */
	uint64_t	 refused;	/* requests refused since */
	uint64_t	 last_seq;	/* highest acked (atomic, no lock) */
};

enum chat_redis_kind { REQ_APPEND, REQ_HISTORY, REQ_WAIT, REQ_AUTH,
	REQ_SCRIPT };

struct chat_redis_req {
	struct chat_redis_req	*prev, *next;	/* r's list, sending order */
	struct chat_redis	*r;
	enum chat_redis_kind	 kind;
	int			 stored;	/* append: has its seq, awaits WAIT */
	uint64_t		 seq;
	uint64_t		 deadline;	/* ms, monotonic */
	chat_redis_append_cb	 append_cb;
	chat_redis_history_cb	 history_cb;
	void			*arg;
	size_t			 count;		/* history */
	size_t			 max_reply;
	size_t			 len;		/* append: of suffix */
	char			 suffix[];	/* kept to send it again */
};

enum chat_redis_state { CONN_WAITING, CONN_CONNECTING, CONN_UP };

struct chat_redis {
	struct event_base	*base;
	struct chat_redis_conf	 conf;
	char			*service;
	char			*seqkey;	/* "<key>:seq" */
	struct chat_redis_health *health;
	int			 own_health;
	int			 down;		/* counted in health->down */
	redisAsyncContext	*ac;		/* NULL while waiting */
	enum chat_redis_state	 state;
	char			 sha[48];	/* the script's, once loaded */
	struct chat_redis_req	*head, *tail;	/* every request not done */
	size_t			 inflight;
	int			 need_wait;	/* appends sent since a WAIT */
	int			 wait_out;	/* a WAIT is in flight */
	struct event		*deadline_ev;
	struct event		*retry_ev;
	struct event		*flush_ev;	/* sends the WAIT of a batch */
	unsigned		 backoff_ms;
	unsigned		 seed;
	char			 last_err[96];	/* the error reply last logged */
	int			 plain_errors;	/* callbacks say "store unavailable" */
	char			*histbuf;
};

static void	chat_redis_connect(struct chat_redis *r);
static void	chat_redis_on_reply(redisAsyncContext *ac, void *reply,
		    void *privdata);

static uint64_t
chat_redis_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- health: one log line per outage -------------------------------- */

struct chat_redis_health *
chat_redis_health_new(const char *service, const char *label)
{
	struct chat_redis_health *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->service = strdup(service);
	h->label = strdup(label);
	if (h->service == NULL || h->label == NULL) {
		chat_redis_health_free(h);
		return NULL;
	}
	return h;
}

void
chat_redis_health_free(struct chat_redis_health *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h->service);
	free(h->label);
	free(h);
}

/* This connection has no session: the first one down logs the outage. */
static void
chat_redis_health_down(struct chat_redis *r, const char *why)
{
	struct chat_redis_health *h = r->health;

	pthread_mutex_lock(&h->lock);
	if (!r->down) {
		r->down = 1;
		h->down++;
	}
	if (!h->outage) {
		h->outage = 1;
		h->since = chat_redis_now_ms();
		h->refused = 0;
		log_warnx("chat %s: redis %s: store unavailable: %s; messages "
		    "get \"error: store unavailable\" until it is back",
		    h->service, h->label, why);
	}
	pthread_mutex_unlock(&h->lock);
}

/* A session again: the last connection back logs the end of the outage. */
static void
chat_redis_health_up(struct chat_redis *r)
{
	struct chat_redis_health *h = r->health;

	pthread_mutex_lock(&h->lock);
	if (r->down) {
		r->down = 0;
		h->down--;
	}
	if (h->outage && h->down == 0) {
		h->outage = 0;
		log_notice("chat %s: redis %s: store back after %.1f s; %"
		    PRIu64 " request(s) refused meanwhile", h->service,
		    h->label, (double)(chat_redis_now_ms() - h->since) / 1000,
		    h->refused);
	}
	pthread_mutex_unlock(&h->lock);
}

static void
chat_redis_health_refused(struct chat_redis *r)
{
	pthread_mutex_lock(&r->health->lock);
	r->health->refused++;
	pthread_mutex_unlock(&r->health->lock);
}

/*
 * Error replies come in runs: each new reason is logged once, escaped
 * (it came over the network).
 */
static void
chat_redis_log_error(struct chat_redis *r, const char *what,
    const char *why)
{
	char safe[192];

	if (strncmp(r->last_err, why, sizeof(r->last_err) - 1) == 0)
		return;
	snprintf(r->last_err, sizeof(r->last_err), "%s", why);
	log_warnx("chat %s: redis %s: %s: %s", r->service, r->conf.label,
	    what, log_escape(why, strlen(why), safe, sizeof(safe)));
}

/* ---- requests ------------------------------------------------------- */

static struct chat_redis_req *
chat_redis_req_new(struct chat_redis *r, enum chat_redis_kind kind,
    size_t extra)
{
	struct chat_redis_req *req = calloc(1, sizeof(*req) + extra);

	if (req == NULL)
		return NULL;
	req->r = r;
	req->kind = kind;
	req->deadline = chat_redis_now_ms() + (uint64_t)r->conf.timeout_ms;
	req->prev = r->tail;
	if (r->tail != NULL)
		r->tail->next = req;
	else
		r->head = req;
	r->tail = req;
	r->inflight++;
	if (!evtimer_pending(r->deadline_ev, NULL)) {
		struct timeval tv = { r->conf.timeout_ms / 1000,
		    (r->conf.timeout_ms % 1000) * 1000 };

		evtimer_add(r->deadline_ev, &tv);
	}
	return req;
}

static void
chat_redis_req_unlink(struct chat_redis_req *req)
{
	struct chat_redis *r = req->r;

	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		r->head = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	else
		r->tail = req->prev;
	req->prev = req->next = NULL;
	r->inflight--;
}

/*
 * The highest seq a worker of this room got acknowledged, for the metrics
 * (read by the main thread): an atomic maximum, no lock.
 */
static void
chat_redis_note_seq(struct chat_redis_health *h, uint64_t seq)
{
	uint64_t cur = __atomic_load_n(&h->last_seq, __ATOMIC_RELAXED);

	while (seq > cur && !__atomic_compare_exchange_n(&h->last_seq, &cur,
	    seq, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Takes req off the list, then calls its callback (which may add more). */
static void
chat_redis_req_done(struct chat_redis_req *req, uint64_t seq,
    const char *text, size_t len, const char *err)
{
	if (err != NULL && req->r->plain_errors)
		err = "store unavailable";	/* the details are logged */
	chat_redis_req_unlink(req);
	if (req->kind == REQ_APPEND && err == NULL && req->r->health != NULL)
		chat_redis_note_seq(req->r->health, seq);
	if (req->kind == REQ_APPEND && req->append_cb != NULL)
		req->append_cb(req->arg, err == NULL ? seq : 0, err);
	else if (req->kind == REQ_HISTORY && req->history_cb != NULL)
		req->history_cb(req->arg, err == NULL ? text : NULL,
		    err == NULL ? len : 0, err);
	free(req);
}

static void
chat_redis_req_fail(struct chat_redis_req *req, const char *err)
{
	chat_redis_req_done(req, 0, NULL, 0, err);
}

/* The appends that have their seq but not their WAIT fail (no reply is
 * coming for them from a dead connection). */
static void
chat_redis_fail_stored(struct chat_redis *r, const char *why)
{
	struct chat_redis_req *req, *next;

	for (req = r->head; req != NULL; req = next) {
		next = req->next;
		if (req->stored)
			chat_redis_req_fail(req, why);
	}
}

/* ---- the connection ------------------------------------------------- */

static void
chat_redis_schedule_retry(struct chat_redis *r)
{
	unsigned ms = r->backoff_ms;
	struct timeval tv;

	/* +-25% so that many workers and hosts do not come back in step */
	ms = ms * 3 / 4 + (unsigned)rand_r(&r->seed) % (ms / 2 + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(r->retry_ev, &tv);
	r->backoff_ms = r->backoff_ms * 2 > CHAT_REDIS_BACKOFF_MAX ?
	    CHAT_REDIS_BACKOFF_MAX : r->backoff_ms * 2;
}

/*
 * The session on ac is over (hiredis frees ac itself, or the caller
 * does next): requests still in hiredis get a NULL reply and fail there;
 * those waiting for a WAIT fail here.
 */
static void
chat_redis_lost(struct chat_redis *r, const redisAsyncContext *ac,
    const char *why)
{
	if (r->ac != ac || ac == NULL)
		return;
	r->ac = NULL;
	r->state = CONN_WAITING;
	r->need_wait = 0;
	r->wait_out = 0;
	log_debug("chat %s: redis %s: connection lost: %s", r->service,
	    r->conf.label, why);
	chat_redis_health_down(r, why);
	chat_redis_fail_stored(r, "connection lost before WAIT");
	chat_redis_schedule_retry(r);
}

/* Ends the session ourselves: everything in flight fails. */
static void
chat_redis_drop(struct chat_redis *r, const char *why)
{
	redisAsyncContext *ac = r->ac;

	if (ac == NULL)
		return;
	chat_redis_lost(r, ac, why);
	redisAsyncFree(ac);	/* deferred by hiredis inside its callbacks */
}

/* Sends req's command; -1 when hiredis refuses it. */
static int
chat_redis_send(struct chat_redis *r, struct chat_redis_req *req, int argc,
    const char **argv, const size_t *lens)
{
	if (r->ac == NULL || redisAsyncCommandArgv(r->ac, chat_redis_on_reply,
	    req, argc, argv, lens) != REDIS_OK)
		return -1;
	return 0;
}

/*
 * EVALSHA once the script is known; EVAL (which loads it again) before
 * that, and for a message that found it gone (with_script).
 */
static int
chat_redis_send_append(struct chat_redis *r, struct chat_redis_req *req,
    int with_script)
{
	const char *argv[6];
	size_t lens[6];

	if (r->sha[0] != '\0' && !with_script) {
		argv[0] = "EVALSHA";
		argv[1] = r->sha;
	} else {
		argv[0] = "EVAL";
		argv[1] = chat_redis_script;
	}
	argv[2] = "2";
	argv[3] = r->conf.key;
	argv[4] = r->seqkey;
	argv[5] = req->suffix;
	for (int i = 0; i < 5; i++)
		lens[i] = strlen(argv[i]);
	lens[5] = req->len;
	if (chat_redis_send(r, req, 6, argv, lens) == -1)
		return -1;
	if (r->conf.wait_replicas > 0) {
		r->need_wait = 1;
		event_active(r->flush_ev, EV_TIMEOUT, 0);
	}
	return 0;
}

/* AUTH and SCRIPT LOAD, queued behind the connect. */
static int
chat_redis_handshake(struct chat_redis *r)
{
	struct chat_redis_req *req = NULL;
	const char *argv[3];
	size_t lens[3];
	int n = 0;

	if (r->conf.password != NULL) {
		argv[n++] = "AUTH";
		if (r->conf.user != NULL)
			argv[n++] = r->conf.user;
		argv[n++] = r->conf.password;
		for (int i = 0; i < n; i++)
			lens[i] = strlen(argv[i]);
		if ((req = chat_redis_req_new(r, REQ_AUTH, 0)) == NULL ||
		    chat_redis_send(r, req, n, argv, lens) == -1)
			goto fail;
	}
	argv[0] = "SCRIPT";
	argv[1] = "LOAD";
	argv[2] = chat_redis_script;
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	if ((req = chat_redis_req_new(r, REQ_SCRIPT, 0)) == NULL ||
	    chat_redis_send(r, req, 3, argv, lens) == -1)
		goto fail;
	return 0;
fail:
	if (req != NULL)
		chat_redis_req_fail(req, "cannot send");
	return -1;
}

static void
chat_redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct chat_redis *r = ac->data;

	if (status != REDIS_OK)		/* hiredis frees ac after this */
		chat_redis_lost(r, ac, ac->c.errstr);
}

static void
chat_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct chat_redis *r = ac->data;

	(void)status;
	chat_redis_lost(r, ac, ac->c.err != 0 ? ac->c.errstr :
	    "connection closed by the server");
}

static void
chat_redis_connect(struct chat_redis *r)
{
	redisAsyncContext *ac;
	char why[160];

	if (r->conf.unix_path != NULL)
		ac = redisAsyncConnectUnix(r->conf.unix_path);
	else
		ac = redisAsyncConnect(r->conf.host, r->conf.port);
	if (ac == NULL || ac->err != 0) {
		snprintf(why, sizeof(why), "%s", ac != NULL ?
		    ac->c.errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		chat_redis_health_down(r, why);
		chat_redis_schedule_retry(r);
		return;
	}
	ac->data = r;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, chat_redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, chat_redis_on_disconnect);
	r->ac = ac;
	r->state = CONN_CONNECTING;
	if (chat_redis_handshake(r) == -1)
		chat_redis_drop(r, "cannot send the handshake");
}

static void
chat_redis_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chat_redis_connect(arg);
}

/*
 * A request past its deadline: Redis is gone or too slow, and the replies
 * come in order, so nothing behind it can come sooner.  The connection is
 * dropped; otherwise the timer waits for the earliest deadline left.
 */
static void
chat_redis_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct chat_redis *r = arg;
	struct chat_redis_req *req;
	uint64_t now = chat_redis_now_ms(), first = UINT64_MAX;
	struct timeval tv;

	(void)fd;
	(void)what;
	for (req = r->head; req != NULL; req = req->next)
		if (req->deadline < first)
			first = req->deadline;
	if (first == UINT64_MAX)
		return;
	if (first <= now) {
		chat_redis_drop(r, "no answer within timeout_ms");
		return;
	}
	tv.tv_sec = (time_t)((first - now) / 1000);
	tv.tv_usec = (suseconds_t)((first - now) % 1000) * 1000;
	evtimer_add(r->deadline_ev, &tv);
}

/*
 * One WAIT covers every append sent before it (all of this batch).  At
 * most one is in flight: Redis holds the connection's later commands
 * behind it anyway, and the appends sent meanwhile share the next one
 * (sent when it answers), so a slow replica means bigger batches, not a
 * queue of WAITs.
 */
static void
chat_redis_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct chat_redis *r = arg;
	struct chat_redis_req *req;
	char n[16], ms[16];
	const char *argv[3] = { "WAIT", n, ms };
	size_t lens[3];
	int half = r->conf.timeout_ms / 2;

	(void)fd;
	(void)what;
	if (!r->need_wait || r->ac == NULL || r->wait_out)
		return;
	r->need_wait = 0;
	/* Half the deadline: a WAIT that waits in line behind the previous
	 * one still answers (with a count) before the deadline. */
	snprintf(n, sizeof(n), "%d", r->conf.wait_replicas);
	snprintf(ms, sizeof(ms), "%d", half > 0 ? half : 1);
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	if ((req = chat_redis_req_new(r, REQ_WAIT, 0)) == NULL ||
	    chat_redis_send(r, req, 3, argv, lens) == -1) {
		if (req != NULL)
			chat_redis_req_fail(req, "cannot send");
		chat_redis_drop(r, "cannot send WAIT");
		return;
	}
	r->wait_out = 1;
}

/* ---- replies -------------------------------------------------------- */

/* The "line" field of one XREVRANGE entry, or NULL. */
static const redisReply *
chat_redis_entry_line(const redisReply *e)
{
	const redisReply *f;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return NULL;
	f = e->element[1];
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    f->element[i]->len == 4 &&
		    memcmp(f->element[i]->str, "line", 4) == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING)
			return f->element[i + 1];
	return NULL;
}

/*
 * The newest entries come first: as many lines as fit in limit, then
 * written out oldest first, each with its "\n" (the file store's
 * /history: whole oldest lines dropped; a newest line too long for the
 * reply leaves it empty).
 */
static size_t
chat_redis_history_text(const redisReply *rep, size_t count, size_t limit,
    char *out)
{
	const redisReply *line;
	size_t total = 0, taken = 0, i, o = 0;

	for (i = 0; i < rep->elements && taken < count; i++) {
		if ((line = chat_redis_entry_line(rep->element[i])) == NULL)
			continue;
		if (total + line->len + 1 > limit)
			break;
		total += line->len + 1;
		taken++;
	}
	while (i-- > 0) {
		if ((line = chat_redis_entry_line(rep->element[i])) == NULL)
			continue;
		memcpy(out + o, line->str, line->len);
		o += line->len;
		out[o++] = '\n';
	}
	return o;
}

static void
chat_redis_append_reply(struct chat_redis *r, struct chat_redis_req *req,
    const redisReply *reply)
{
	if (reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		/* Redis restarted or SCRIPT FLUSH: this one ran nothing.
		 * Send it again with the script, at the end of the line. */
		chat_redis_req_unlink(req);
		req->prev = r->tail;
		req->next = NULL;
		if (r->tail != NULL)
			r->tail->next = req;
		else
			r->head = req;
		r->tail = req;
		r->inflight++;
		if (chat_redis_send_append(r, req, 1) == -1)
			chat_redis_req_fail(req, "cannot send");
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		chat_redis_log_error(r, "append refused", reply->str);
		chat_redis_req_fail(req, reply->str);
	} else if (reply->type != REDIS_REPLY_INTEGER || reply->integer <= 0) {
		chat_redis_log_error(r, "append", "unexpected reply");
		chat_redis_req_fail(req, "unexpected reply");
	} else if (r->conf.wait_replicas > 0) {
		req->stored = 1;
		req->seq = (uint64_t)reply->integer;
	} else {
		r->last_err[0] = '\0';
		chat_redis_req_done(req, (uint64_t)reply->integer, NULL, 0,
		    NULL);
	}
}

/* Every append stored before this WAIT ran is acked or fails with it. */
static void
chat_redis_wait_reply(struct chat_redis *r, struct chat_redis_req *wait,
    const redisReply *reply)
{
	struct chat_redis_req *req, *next;
	const char *err = NULL;
	char why[96];

	if (reply->type != REDIS_REPLY_INTEGER) {
		err = reply->type == REDIS_REPLY_ERROR ? reply->str :
		    "unexpected reply to WAIT";
		chat_redis_log_error(r, "WAIT", err);
	} else if (reply->integer < r->conf.wait_replicas) {
		snprintf(why, sizeof(why), "only %lld of %d replica(s) took "
		    "it in time", reply->integer, r->conf.wait_replicas);
		chat_redis_log_error(r, "not replicated", why);
		err = "not replicated";
	} else
		r->last_err[0] = '\0';
	r->wait_out = 0;
	chat_redis_req_done(wait, 0, NULL, 0, NULL);
	for (req = r->head; req != NULL; req = next) {
		next = req->next;
		if (req->stored)
			chat_redis_req_done(req, req->seq, NULL, 0, err);
	}
	if (r->need_wait && r->ac != NULL)
		event_active(r->flush_ev, EV_TIMEOUT, 0);
}

static void
chat_redis_history_reply(struct chat_redis *r, struct chat_redis_req *req,
    const redisReply *reply)
{
	size_t limit = req->max_reply < UDPD_MAX_DATAGRAM ? req->max_reply :
	    UDPD_MAX_DATAGRAM, n;

	if (reply->type != REDIS_REPLY_ARRAY) {
		chat_redis_log_error(r, "history", reply->type ==
		    REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		chat_redis_req_fail(req, reply->type == REDIS_REPLY_ERROR ?
		    reply->str : "unexpected reply");
		return;
	}
	n = chat_redis_history_text(reply, req->count, limit, r->histbuf);
	chat_redis_req_done(req, 0, r->histbuf, n, NULL);
}

/* AUTH or SCRIPT LOAD: the session is ready once the script is in. */
static void
chat_redis_handshake_reply(struct chat_redis *r, struct chat_redis_req *req,
    const redisReply *reply)
{
	enum chat_redis_kind kind = req->kind;
	char why[192], safe[160];

	chat_redis_req_done(req, 0, NULL, 0, NULL);
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "%s: %s", kind == REQ_AUTH ?
		    "AUTH" : "SCRIPT LOAD", log_escape(reply->str, reply->len,
		    safe, sizeof(safe)));
		chat_redis_drop(r, why);
		return;
	}
	if (kind != REQ_SCRIPT)
		return;
	if (reply->type != REDIS_REPLY_STRING || reply->len >= sizeof(r->sha)) {
		chat_redis_drop(r, "SCRIPT LOAD: unexpected reply");
		return;
	}
	memcpy(r->sha, reply->str, reply->len);
	r->sha[reply->len] = '\0';
	r->state = CONN_UP;
	r->backoff_ms = CHAT_REDIS_BACKOFF_MIN;
	chat_redis_health_up(r);
}

static void
chat_redis_on_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
	struct chat_redis_req *req = privdata;
	struct chat_redis *r = req->r;
	const redisReply *reply = reply_;

	if (reply == NULL) {		/* the context is being freed */
		chat_redis_lost(r, ac, ac->c.err != 0 ? ac->c.errstr :
		    "connection lost");
		chat_redis_req_fail(req, "connection lost");
		return;
	}
	switch (req->kind) {
	case REQ_APPEND:
		chat_redis_append_reply(r, req, reply);
		break;
	case REQ_HISTORY:
		chat_redis_history_reply(r, req, reply);
		break;
	case REQ_WAIT:
		chat_redis_wait_reply(r, req, reply);
		break;
	case REQ_AUTH:
	case REQ_SCRIPT:
		chat_redis_handshake_reply(r, req, reply);
		break;
	}
}

/* ---- the API -------------------------------------------------------- */

const char *
chat_redis_hiredis_version(void)
{
#define CHAT_REDIS_STR2(x)	#x
#define CHAT_REDIS_STR(x)	CHAT_REDIS_STR2(x)
	return "hiredis " CHAT_REDIS_STR(HIREDIS_MAJOR) "."
	    CHAT_REDIS_STR(HIREDIS_MINOR) "." CHAT_REDIS_STR(HIREDIS_PATCH);
}

struct chat_redis *
chat_redis_new(struct event_base *base, const struct chat_redis_conf *conf,
    const char *service, struct chat_redis_health *health)
{
	struct chat_redis *r = calloc(1, sizeof(*r));
	struct chat_redis_conf *c;

	if (r == NULL)
		return NULL;
	r->base = base;
	c = &r->conf;
	*c = *conf;
	c->host = c->unix_path = c->key = c->password_file = NULL;
	c->user = c->password = NULL;
	r->backoff_ms = CHAT_REDIS_BACKOFF_MIN;
	r->seed = (unsigned)chat_redis_now_ms() ^ (unsigned)(uintptr_t)r;
	if ((conf->host != NULL && (c->host = strdup(conf->host)) == NULL) ||
	    (conf->unix_path != NULL &&
	    (c->unix_path = strdup(conf->unix_path)) == NULL) ||
	    (c->key = strdup(conf->key)) == NULL ||
	    (conf->user != NULL && (c->user = strdup(conf->user)) == NULL) ||
	    (conf->password != NULL &&
	    (c->password = strdup(conf->password)) == NULL) ||
	    (r->service = strdup(service)) == NULL ||
	    asprintf(&r->seqkey, "%s:seq", conf->key) == -1 ||
	    (r->histbuf = malloc(UDPD_MAX_DATAGRAM)) == NULL)
		goto fail;
	if (health == NULL) {
		if ((health = chat_redis_health_new(service, c->label)) == NULL)
			goto fail;
		r->own_health = 1;
	}
	r->health = health;
	r->deadline_ev = evtimer_new(base, chat_redis_on_deadline, r);
	r->retry_ev = evtimer_new(base, chat_redis_on_retry, r);
	r->flush_ev = event_new(base, -1, 0, chat_redis_on_flush, r);
	if (r->deadline_ev == NULL || r->retry_ev == NULL ||
	    r->flush_ev == NULL)
		goto fail;
	chat_redis_connect(r);
	return r;
fail:
	chat_redis_free(r);
	return NULL;
}

/* Can a request be taken now?  No session after a failure: no. */
static int
chat_redis_accepting(struct chat_redis *r, const char **why)
{
	if (r->ac == NULL || (r->state != CONN_UP && r->down)) {
		chat_redis_health_refused(r);
		*why = "store unavailable";
		return 0;
	}
	if (r->inflight >= CHAT_REDIS_INFLIGHT_MAX) {
		*why = "busy";
		return 0;
	}
	return 1;
}

int
chat_redis_append(struct chat_redis *r, const char *suffix, size_t len,
    chat_redis_append_cb done, void *arg, const char **why)
{
	struct chat_redis_req *req;

	if (len > 0 && suffix[len - 1] == '\n')
		len--;
	if (len == 0 || memchr(suffix, '\n', len) != NULL) {
		*why = "not a line";
		return -1;
	}
	if (!chat_redis_accepting(r, why))
		return -1;
	if ((req = chat_redis_req_new(r, REQ_APPEND, len)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	memcpy(req->suffix, suffix, len);
	req->len = len;
	req->append_cb = done;
	req->arg = arg;
	if (chat_redis_send_append(r, req, 0) == -1) {
		chat_redis_req_unlink(req);
		free(req);
		*why = "store unavailable";
		return -1;
	}
	return 0;
}

int
chat_redis_history(struct chat_redis *r, size_t count, size_t max_reply,
    chat_redis_history_cb done, void *arg, const char **why)
{
	struct chat_redis_req *req;
	char n[24];
	const char *argv[6] = { "XREVRANGE", r->conf.key, "+", "-", "COUNT",
	    n };
	size_t lens[6];

	if (!chat_redis_accepting(r, why))
		return -1;
	snprintf(n, sizeof(n), "%zu", count > 0 ? count : 1);
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	if ((req = chat_redis_req_new(r, REQ_HISTORY, 0)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	req->count = count;
	req->max_reply = max_reply;
	req->history_cb = done;
	req->arg = arg;
	if (chat_redis_send(r, req, 6, argv, lens) == -1) {
		chat_redis_req_unlink(req);
		free(req);
		*why = "store unavailable";
		return -1;
	}
	return 0;
}

void
chat_redis_plain_errors(struct chat_redis *r)
{
	r->plain_errors = 1;
}

size_t
chat_redis_inflight(const struct chat_redis *r)
{
	return r->inflight;
}

int
chat_redis_ready(const struct chat_redis *r)
{
	return r->state == CONN_UP;
}

void
chat_redis_free(struct chat_redis *r)
{
	redisAsyncContext *ac;

	if (r == NULL)
		return;
	if ((ac = r->ac) != NULL) {
		r->ac = NULL;
		redisAsyncFree(ac);	/* fails what hiredis holds */
	}
	while (r->head != NULL)
		chat_redis_req_fail(r->head, "store closed");
	if (r->health != NULL && r->down) {
		pthread_mutex_lock(&r->health->lock);
		r->health->down--;
		pthread_mutex_unlock(&r->health->lock);
	}
	if (r->own_health)
		chat_redis_health_free(r->health);
	if (r->deadline_ev != NULL)
		event_free(r->deadline_ev);
	if (r->retry_ev != NULL)
		event_free(r->retry_ev);
	if (r->flush_ev != NULL)
		event_free(r->flush_ev);
	chat_redis_conf_free(&r->conf);
	free(r->service);
	free(r->seqkey);
	free(r->histbuf);
	free(r);
}

/* ---- the chat store (chat_store.h) ---------------------------------- */

/*
 * One room: a connection per worker.  A reload with the same options
 * takes the running room over (refs), so no connection is dropped.
 */
struct chat_redis_room {
	struct chat_store	  store;	/* first: what mod_chat holds */
	int			  refs;		/* main thread only */
	struct chat_redis_conf	  conf;		/* with the password */
	struct event_base *const *bases;
	int			  nworkers;
	struct chat_redis	**conns;
	struct chat_redis_health *health;
};

static void
chat_redis_room_free(struct chat_redis_room *room)
{
	for (int i = 0; room->conns != NULL && i < room->nworkers; i++)
		chat_redis_free(room->conns[i]);
	free(room->conns);
	chat_redis_health_free(room->health);
	chat_redis_conf_free(&room->conf);
	free(room);
}

/* The running room of previous, if it can go on as this one. */
static struct chat_redis_room *
chat_redis_room_reusable(struct chat_store *previous,
    const struct chat_redis_conf *conf, const struct module_ctx *ctx)
{
	struct chat_redis_room *prev = (struct chat_redis_room *)previous;

	if (previous == NULL || previous->ops != &chat_redis_store ||
	    prev->nworkers != ctx->nworkers || prev->bases != ctx->bases ||
	    !chat_redis_conf_equal(&prev->conf, conf))
		return NULL;
	return prev;
}

static int
chat_redis_room_connect(struct chat_redis_room *room,
    const struct module_ctx *ctx)
{
	room->health = chat_redis_health_new(ctx->service, room->conf.label);
	room->conns = calloc((size_t)room->nworkers, sizeof(*room->conns));
	if (room->health == NULL || room->conns == NULL)
		return -1;
	for (int i = 0; i < room->nworkers; i++) {
		room->conns[i] = chat_redis_new(ctx->bases[i], &room->conf,
		    ctx->service, room->health);
		if (room->conns[i] == NULL)
			return -1;
		chat_redis_plain_errors(room->conns[i]);
	}
	return 0;
}

/*
 * Reads the password file (at start and at each reload), then goes on
 * with the previous room when nothing changed, or connects one
 * connection per worker, without waiting: Redis may be down.
 */
static struct chat_store *
chat_redis_start(const void *options, const struct module_ctx *ctx,
    struct chat_store *previous, char *err, size_t errlen)
{
	const struct chat_redis_conf *opts = options;
	struct chat_redis_room *room, *prev;
	struct conf_err cerr;

	if (ctx == NULL || ctx->bases == NULL || ctx->nworkers < 1) {
		snprintf(err, errlen, "the Redis store needs the workers' "
		    "event loops");
		return NULL;
	}
	if ((room = calloc(1, sizeof(*room))) == NULL)
		goto nomem;
	room->store.ops = &chat_redis_store;
	/* The client's slot outlives our own deadline a little, so that the
	 * reply normally comes from here (and the connection is reset). */
	room->store.timeout_ms = (unsigned)opts->timeout_ms +
	    (opts->timeout_ms / 10 > 100 ? (unsigned)opts->timeout_ms / 10 :
	    100);
	room->refs = 1;
	room->bases = ctx->bases;
	room->nworkers = ctx->nworkers;
	room->conf = *opts;
	room->conf.host = opts->host != NULL ? strdup(opts->host) : NULL;
	room->conf.unix_path = opts->unix_path != NULL ?
	    strdup(opts->unix_path) : NULL;
	room->conf.key = strdup(opts->key);
	room->conf.password_file = opts->password_file != NULL ?
	    strdup(opts->password_file) : NULL;
	room->conf.user = room->conf.password = NULL;
	if (room->conf.key == NULL || (opts->host != NULL &&
	    room->conf.host == NULL) || (opts->unix_path != NULL &&
	    room->conf.unix_path == NULL) || (opts->password_file != NULL &&
	    room->conf.password_file == NULL))
		goto nomem;
	if (chat_redis_conf_auth(&room->conf, NULL, &cerr) == -1) {
		snprintf(err, errlen, "%s", cerr.msg);
		chat_redis_room_free(room);
		return NULL;
	}
	if ((prev = chat_redis_room_reusable(previous, &room->conf, ctx))
	    != NULL) {
		chat_redis_room_free(room);
		prev->refs++;
		return &prev->store;
	}
	if (chat_redis_room_connect(room, ctx) == -1)
		goto nomem;
	return &room->store;
nomem:
	snprintf(err, errlen, "out of memory");
	if (room != NULL)
		chat_redis_room_free(room);
	return NULL;
}

/* The last user closes the connections: what is in flight fails. */
static void
chat_redis_stop(struct chat_store *s)
{
	struct chat_redis_room *room = (struct chat_redis_room *)s;

	if (--room->refs == 0)
		chat_redis_room_free(room);
}

static struct chat_redis *
chat_redis_room_conn(struct chat_redis_room *room, int worker)
{
	return room->conns[worker >= 0 && worker < room->nworkers ? worker :
	    0];
}

/* A request refused at once: the client hears "busy" or, whatever else
 * went wrong, "store unavailable". */
static enum chat_store_status
chat_redis_refused(const char *why, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", strcmp(why, "busy") == 0 ? "busy" :
	    "store unavailable");
	return CHAT_STORE_FAILED;
}

static enum chat_store_status
chat_redis_store_append(struct chat_store *s, struct chat_append *a)
{
	struct chat_redis_room *room = (struct chat_redis_room *)s;
	const char *why = "store unavailable";

	/* Nothing to answer later with: refuse rather than store unacked. */
	if (a->done == NULL || chat_redis_append(chat_redis_room_conn(room,
	    a->worker), a->suffix, a->len, a->done, a->arg, &why) == -1) {
		return chat_redis_refused(why, a->why, a->whylen);
	}
	return CHAT_STORE_LATER;
}

static enum chat_store_status
chat_redis_store_history(struct chat_store *s, struct chat_history *h)
{
	struct chat_redis_room *room = (struct chat_redis_room *)s;
	const char *why = "store unavailable";

	if (h->done == NULL || chat_redis_history(chat_redis_room_conn(room,
	    h->worker), h->count, h->max_bytes, h->done, h->arg, &why) == -1) {
		return chat_redis_refused(why, h->why, h->whylen);
	}
	return CHAT_STORE_LATER;
}

/* udpd_chat_last_seq: none until this host stored a message. */
static int
chat_redis_store_last_seq(struct chat_store *s, uint64_t *seq)
{
	const struct chat_redis_room *room = (struct chat_redis_room *)s;

	if (room->health == NULL)
		return -1;
	*seq = __atomic_load_n(&room->health->last_seq, __ATOMIC_RELAXED);
	return *seq > 0 ? 0 : -1;
}

const struct chat_store_ops chat_redis_store = {
	.name = "redis",
	.answers_later = 1,
	.options = chat_redis_options,
	.parse = chat_redis_store_parse,
	.free_options = chat_redis_store_free_options,
	.start = chat_redis_start,
	.stop = chat_redis_stop,
	.append = chat_redis_store_append,
	.history = chat_redis_store_history,
	.last_seq = chat_redis_store_last_seq,
};
