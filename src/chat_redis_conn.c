/*
 * chat_redis_conn.c - one worker's connection to Redis for the chat room
 * (chat_redis_conn.h): where to connect, the handshake, reconnection with
 * backoff, the deadlines of the requests in flight.
 *
 * Failure model: every request has a deadline; when one passes, or the
 * connection breaks, the connection is dropped, every request in flight
 * gets an error (its outcome is unknown), and a new connection is tried
 * with backoff.  While there is none, requests are refused at once, so a
 * dead Redis costs a caller nothing but an error.
 *
 * With Sentinel every connection starts with asking the sentinels where
 * the primary is (chat_redis_sentinel.c), and the handshake checks ROLE
 * before anything is sent: a sentinel that names a replica, or a primary
 * demoted since, is never written to.  A failover is followed by asking
 * again: at once on +switch-master, and after a READONLY or MASTERDOWN
 * reply or a lost connection, with the backoff.
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

#include "chat_redis_conn.h"
#include "chat_redis_sentinel.h"
#include "log.h"

#define CHAT_REDIS_BACKOFF_MIN	100	/* ms */
#define CHAT_REDIS_BACKOFF_MAX	5000

static void	chat_redis_connect(struct chat_redis *r);
static void	chat_redis_on_reply(redisAsyncContext *ac, void *reply,
		    void *privdata);
static void	chat_redis_handshake_reply(struct chat_redis *r,
		    struct chat_redis_req *req, const redisReply *reply);

uint64_t
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
		__atomic_store_n(&h->outage, 1, __ATOMIC_RELAXED);
		h->since = chat_redis_now_ms();
		h->refused = 0;
		log_warnx("chat %s: redis %s: store unavailable: %s; messages "
		    "get \"error: not stored\" until it is back",
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
		__atomic_store_n(&h->outage, 0, __ATOMIC_RELAXED);
		log_notice("chat %s: redis %s: store back after %.1f s; %"
		    PRIu64 " request(s) refused meanwhile", h->service,
		    h->label, (double)(chat_redis_now_ms() - h->since) / 1000,
		    h->refused);
	}
	pthread_mutex_unlock(&h->lock);
}

/* A failover to primary: one log line for every worker that follows it. */
static void
chat_redis_health_failover(struct chat_redis *r, const char *primary)
{
	struct chat_redis_health *h = r->health;

	pthread_mutex_lock(&h->lock);
	if (strcmp(h->primary, primary) != 0) {
		snprintf(h->primary, sizeof(h->primary), "%s", primary);
		log_notice("chat %s: redis %s: failover: the primary is now %s",
		    h->service, h->label, primary);
	}
	pthread_mutex_unlock(&h->lock);
}

void
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
void
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

struct chat_redis_req *
chat_redis_req_new(struct chat_redis *r, enum chat_redis_kind kind,
    chat_redis_reply_fn on_reply, size_t extra)
{
	struct chat_redis_req *req = calloc(1, sizeof(*req) + extra);

	if (req == NULL)
		return NULL;
	req->r = r;
	req->kind = kind;
	req->on_reply = on_reply;
	req->deadline = r->timers.ops->now_ms(r->timers.ctx) +
	    (uint64_t)r->conf.timeout_ms;
	chat_redis_req_link(r, req);
	if (!r->deadline_armed &&
	    r->timers.ops->arm(r->deadline_t, (unsigned)r->conf.timeout_ms) == 0)
		r->deadline_armed = 1;
	return req;
}

/* Puts req at the end of the line of requests sent on r. */
void
chat_redis_req_link(struct chat_redis *r, struct chat_redis_req *req)
{
	req->prev = r->tail;
	req->next = NULL;
	if (r->tail != NULL)
		r->tail->next = req;
	else
		r->head = req;
	r->tail = req;
	r->inflight++;
}

void
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

void
chat_redis_req_done(struct chat_redis_req *req, enum chat_outcome outcome,
    uint64_t seq, const char *text, size_t len, const char *why)
{
	int ok = outcome == CHAT_STORED;

	chat_redis_req_unlink(req);
	if (req->kind == REQ_APPEND && ok && req->r->health != NULL)
		chat_redis_note_seq(req->r->health, seq);
	if (req->kind == REQ_APPEND && req->append_cb != NULL)
		req->append_cb(req->arg, outcome, ok ? seq : 0, ok ? NULL : why);
	else if (req->kind == REQ_HISTORY && req->history_cb != NULL)
		req->history_cb(req->arg, ok ? text : NULL, ok ? len : 0,
		    ok ? NULL : why);
	free(req);
}

void
chat_redis_req_fail(struct chat_redis_req *req, enum chat_outcome outcome,
    const char *why)
{
	chat_redis_req_done(req, outcome, 0, NULL, 0, why);
}

/* The appends that have their seq but not their WAIT: stored on the
 * primary, no reply is coming for them from a dead connection. */
static void
chat_redis_fail_stored(struct chat_redis *r, const char *why)
{
	struct chat_redis_req *req, *next;

	for (req = r->head; req != NULL; req = next) {
		next = req->next;
		if (req->stored)
			chat_redis_req_fail(req, CHAT_UNKNOWN, why);
	}
}

/* ---- the connection ------------------------------------------------- */

static void
chat_redis_schedule_retry(struct chat_redis *r)
{
	unsigned ms = r->backoff_ms;

	/* +-25% so that many workers and hosts do not come back in step */
	ms = ms * 3 / 4 + (unsigned)rand_r(&r->seed) % (ms / 2 + 1);
	r->timers.ops->arm(r->retry_t, ms);
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
	chat_redis_fail_stored(r, "connection lost before the replicas "
	    "confirmed it");
	chat_redis_schedule_retry(r);
}

/* Ends the session ourselves: everything in flight fails. */
void
chat_redis_drop(struct chat_redis *r, const char *why)
{
	redisAsyncContext *ac = r->ac;

	if (ac == NULL)
		return;
	chat_redis_lost(r, ac, why);
	redisAsyncFree(ac);	/* deferred by hiredis inside its callbacks */
}

/* Sends req's command; -1 when hiredis refuses it. */
int
chat_redis_send(struct chat_redis *r, struct chat_redis_req *req, int argc,
    const char **argv, const size_t *lens)
{
	if (r->ac == NULL || redisAsyncCommandArgv(r->ac, chat_redis_on_reply,
	    req, argc, argv, lens) != REDIS_OK)
		return -1;
	req->conn_id = r->conn_id;
	return 0;
}

/* AUTH, ROLE (with Sentinel) and SCRIPT LOAD, queued behind the
 * connect. */
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
		if ((req = chat_redis_req_new(r, REQ_AUTH,
		    chat_redis_handshake_reply, 0)) == NULL ||
		    chat_redis_send(r, req, n, argv, lens) == -1)
			goto fail;
	}
	argv[0] = "ROLE";
	lens[0] = 4;
	if (r->sentinel != NULL && ((req = chat_redis_req_new(r, REQ_ROLE,
	    chat_redis_handshake_reply, 0)) == NULL ||
	    chat_redis_send(r, req, 1, argv, lens) == -1))
		goto fail;
	if (r->on_handshake != NULL && r->on_handshake(r) == -1) {
		req = NULL;
		goto fail;
	}
	argv[0] = "SCRIPT";
	argv[1] = "LOAD";
	argv[2] = r->script;
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	if ((req = chat_redis_req_new(r, REQ_SCRIPT,
	    chat_redis_handshake_reply, 0)) == NULL ||
	    chat_redis_send(r, req, 3, argv, lens) == -1)
		goto fail;
	return 0;
fail:
	if (req != NULL)
		chat_redis_req_fail(req, CHAT_NOT_STORED, "cannot send");
	return -1;
}

static void
chat_redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct chat_redis *r = ac->data;

	if (status != REDIS_OK)		/* hiredis frees ac after this */
		chat_redis_lost(r, ac, ac->c.errstr);
	else
		r->connected_id = r->conn_id;
}

static void
chat_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct chat_redis *r = ac->data;

	(void)status;
	chat_redis_lost(r, ac, ac->c.err != 0 ? ac->c.errstr :
	    "connection closed by the server");
}

/* ---- replies nobody asked for -------------------------------------- */

/*
 * hiredis asserts (and the process dies) when a reply that is not an
 * error comes with no request waiting for it.  Each context's reader goes
 * through these functions, which hiredis calls as it parses: a reply that
 * begins when no callback is queued is refused (NULL), hiredis takes that
 * as a protocol error and closes the connection, failing what was in
 * flight.  Nested elements (parent set) belong to a solicited reply.
 */
struct chat_redis_hooks {
	struct chat_redis		*r;
	redisAsyncContext		*ac;
	redisReplyObjectFunctions	 fn;	/* ours, wrapping orig */
	redisReplyObjectFunctions	*orig;	/* hiredis's */
	void				*data;	/* the libevent adapter's */
	void				(*add_read)(void *);
	void				(*del_read)(void *);
	void				(*add_write)(void *);
	void				(*del_write)(void *);
	void				(*cleanup)(void *);
};

/* The hooks of the context that is parsing task's reply. */
static const struct chat_redis_hooks *
chat_redis_task_hooks(const redisReadTask *task)
{
	const redisAsyncContext *ac = task->privdata;

	return ac->ev.data;
}

/* A reply that starts with no request waiting for it is refused. */
static int
chat_redis_solicited(const redisReadTask *task)
{
	const struct chat_redis_hooks *h = chat_redis_task_hooks(task);

	if (task->parent != NULL || h->ac->replies.head != NULL)
		return 1;
	h->r->fail_why = "unexpected reply from the store";
	return 0;
}

static void *
chat_redis_create_string(const redisReadTask *task, char *str, size_t len)
{
	if (!chat_redis_solicited(task))
		return NULL;
	return chat_redis_task_hooks(task)->orig->createString(task, str,
	    len);
}

static void *
chat_redis_create_array(const redisReadTask *task, int elements)
{
	if (!chat_redis_solicited(task))
		return NULL;
	return chat_redis_task_hooks(task)->orig->createArray(task, elements);
}

static void *
chat_redis_create_integer(const redisReadTask *task, long long value)
{
	if (!chat_redis_solicited(task))
		return NULL;
	return chat_redis_task_hooks(task)->orig->createInteger(task, value);
}

static void *
chat_redis_create_nil(const redisReadTask *task)
{
	if (!chat_redis_solicited(task))
		return NULL;
	return chat_redis_task_hooks(task)->orig->createNil(task);
}

/*
 * hiredis re-arms reading after each read: past CHAT_REDIS_REPLY_MAX
 * bytes not yet parsed (a huge bulk, or a flood) it is not, and the
 * connection is dropped from the loop (not from inside hiredis).
 */
static void
chat_redis_hook_add_read(void *p)
{
	struct chat_redis_hooks *h = p;
	const redisReader *rd = h->ac->c.reader;

	if (rd != NULL && rd->len - rd->pos > CHAT_REDIS_REPLY_MAX) {
		h->r->kill_id = h->r->conn_id;
		event_active(h->r->kill_ev, EV_TIMEOUT, 0);
		return;
	}
	h->add_read(h->data);
}

static void
chat_redis_hook_del_read(void *p)
{
	struct chat_redis_hooks *h = p;

	h->del_read(h->data);
}

static void
chat_redis_hook_add_write(void *p)
{
	struct chat_redis_hooks *h = p;

	h->add_write(h->data);
}

static void
chat_redis_hook_del_write(void *p)
{
	struct chat_redis_hooks *h = p;

	h->del_write(h->data);
}

static void
chat_redis_hook_cleanup(void *p)
{
	struct chat_redis_hooks *h = p;

	if (h->cleanup != NULL)
		h->cleanup(h->data);
	/* hiredis frees the reader (and a reply half read) after this */
	if (h->ac->c.reader != NULL)
		h->ac->c.reader->fn = h->orig;
	free(h);
}

/* Puts the guards between hiredis and ac's events and reader; -1: memory. */
static int
chat_redis_guard(struct chat_redis *r, redisAsyncContext *ac)
{
	struct chat_redis_hooks *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -1;
	h->r = r;
	h->ac = ac;
	h->data = ac->ev.data;
	h->add_read = ac->ev.addRead;
	h->del_read = ac->ev.delRead;
	h->add_write = ac->ev.addWrite;
	h->del_write = ac->ev.delWrite;
	h->cleanup = ac->ev.cleanup;
	ac->ev.data = h;
	ac->ev.addRead = chat_redis_hook_add_read;
	ac->ev.delRead = chat_redis_hook_del_read;
	ac->ev.addWrite = chat_redis_hook_add_write;
	ac->ev.delWrite = chat_redis_hook_del_write;
	ac->ev.cleanup = chat_redis_hook_cleanup;
	h->orig = ac->c.reader->fn;
	h->fn = *h->orig;
	h->fn.createString = chat_redis_create_string;
	h->fn.createArray = chat_redis_create_array;
	h->fn.createInteger = chat_redis_create_integer;
	h->fn.createNil = chat_redis_create_nil;
	ac->c.reader->fn = &h->fn;
	ac->c.reader->privdata = ac;
	return 0;
}

/* A reply too large: the connection goes (its requests' outcome unknown). */
static void
chat_redis_on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct chat_redis *r = arg;

	(void)fd;
	(void)what;
	if (r->kill_id == r->conn_id && r->ac != NULL) {
		r->fail_why = "unexpected reply from the store";
		chat_redis_drop(r, "a reply larger than the limit");
	}
}

/* A connection to host:port, or to conf's unix socket (host NULL). */
static void
chat_redis_connect_to(struct chat_redis *r, const char *host, int port)
{
	redisAsyncContext *ac;
	char why[160];

	if (host == NULL)
		ac = redisAsyncConnectUnix(r->conf.unix_path);
	else
		ac = redisAsyncConnect(host, port);
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
	if (redisLibeventAttach(ac, r->base) != REDIS_OK ||
	    chat_redis_guard(r, ac) == -1) {
		redisAsyncFree(ac);
		chat_redis_health_down(r, "out of memory");
		chat_redis_schedule_retry(r);
		return;
	}
	redisAsyncSetConnectCallback(ac, chat_redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, chat_redis_on_disconnect);
	r->ac = ac;
	r->state = CONN_CONNECTING;
	r->conn_id++;
	r->conn_seq = 0;	/* another server (a failover) may go on lower:
				 * only the acknowledged seqs bind it */
	r->fail_why = NULL;
	if (chat_redis_handshake(r) == -1)
		chat_redis_drop(r, "cannot send the handshake");
}

/* Where to connect: conf's address, or the one the sentinels name. */
static void
chat_redis_connect(struct chat_redis *r)
{
	if (r->sentinel != NULL)
		chat_redis_sentinel_ask(r->sentinel);
	else
		chat_redis_connect_to(r, r->conf.host, r->conf.port);
}

/* A sentinel named the primary (or none did: why). */
static void
chat_redis_on_primary(void *arg, const char *host, int port,
    const char *sentinel, const char *why)
{
	struct chat_redis *r = arg;

	if (host == NULL) {
		chat_redis_health_down(r, why);
		chat_redis_schedule_retry(r);
		return;
	}
	snprintf(r->primary, sizeof(r->primary), strchr(host, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", host, port);
	snprintf(r->named_by, sizeof(r->named_by), "%s", sentinel);
	if (r->ac == NULL)
		chat_redis_connect_to(r, host, port);
}

/*
 * A failover (+switch-master): the session on the old primary ends now
 * (what is in flight there gets its error) and the sentinels are asked
 * at once, not after the backoff.
 */
static void
chat_redis_on_switch(void *arg, const char *host, int port)
{
	struct chat_redis *r = arg;
	char to[80];

	snprintf(to, sizeof(to), strchr(host, ':') != NULL ? "[%s]:%d" :
	    "%s:%d", host, port);
	if (r->ac != NULL && strcmp(to, r->primary) == 0)
		return;			/* already there */
	chat_redis_health_failover(r, to);
	r->fail_why = "failover: the primary changed before it answered";
	chat_redis_drop(r, "failover");
	r->timers.ops->disarm(r->retry_t);
	r->backoff_ms = CHAT_REDIS_BACKOFF_MIN;
	chat_redis_connect(r);
}

static void
chat_redis_on_retry(void *arg)
{
	chat_redis_connect(arg);
}

/*
 * A request past its deadline: Redis is gone or too slow, and the replies
 * come in order, so nothing behind it can come sooner.  The connection is
 * dropped; otherwise the timer waits for the earliest deadline left.
 */
static void
chat_redis_on_deadline(void *arg)
{
	struct chat_redis *r = arg;
	struct chat_redis_req *req;
	uint64_t now = r->timers.ops->now_ms(r->timers.ctx), first = UINT64_MAX;

	r->deadline_armed = 0;
	for (req = r->head; req != NULL; req = req->next)
		if (req->deadline < first)
			first = req->deadline;
	if (first == UINT64_MAX)
		return;
	if (first <= now) {
		r->fail_why = "no answer from the store in time";
		chat_redis_drop(r, "no answer within timeout_ms");
		return;
	}
	if (r->timers.ops->arm(r->deadline_t, (unsigned)(first - now)) == 0)
		r->deadline_armed = 1;
}

/*
 * ROLE on the server a sentinel named: anything but "master" (a replica,
 * a sentinel) ends the session before a write is sent, and the next
 * question goes to another sentinel.
 */
static void
chat_redis_role_reply(struct chat_redis *r, const redisReply *reply)
{
	const redisReply *role = reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements > 0 ? reply->element[0] : NULL;
	char why[256], safe[32];

	if (role != NULL && (role->type == REDIS_REPLY_STRING ||
	    role->type == REDIS_REPLY_STATUS) && strcmp(role->str, "master") == 0)
		return;
	snprintf(why, sizeof(why), "%s, named by sentinel %s, is not the "
	    "primary (ROLE: %s): not used", r->primary, r->named_by,
	    role != NULL && role->type == REDIS_REPLY_STRING ?
	    log_escape(role->str, role->len, safe, sizeof(safe)) :
	    "unexpected reply");
	chat_redis_log_error(r, "sentinel", why);
	chat_redis_sentinel_distrust(r->sentinel);
	chat_redis_drop(r, why);
}

/* AUTH, ROLE or SCRIPT LOAD: the session is ready once the script is in. */
static void
chat_redis_handshake_reply(struct chat_redis *r, struct chat_redis_req *req,
    const redisReply *reply)
{
	enum chat_redis_kind kind = req->kind;
	char why[192], safe[160];

	chat_redis_req_done(req, CHAT_STORED, 0, NULL, 0, NULL);
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "%s: %s", kind == REQ_AUTH ?
		    "AUTH" : kind == REQ_ROLE ? "ROLE" : "SCRIPT LOAD",
		    log_escape(reply->str, reply->len, safe, sizeof(safe)));
		chat_redis_drop(r, why);
		return;
	}
	if (kind == REQ_ROLE)
		chat_redis_role_reply(r, reply);
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

/* READONLY or MASTERDOWN: the server is no longer (or not yet) the
 * primary a writer needs; with Sentinel, ask where it is now. */
static int
chat_redis_demoted(const redisReply *reply)
{
	return reply->type == REDIS_REPLY_ERROR &&
	    (strncmp(reply->str, "READONLY", 8) == 0 ||
	    strncmp(reply->str, "MASTERDOWN", 10) == 0);
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
		/* Written only once connected: before, it never left. */
		if (req->conn_id != r->connected_id)
			chat_redis_req_fail(req, CHAT_NOT_STORED,
			    "no connection to the store");
		else
			chat_redis_req_fail(req, CHAT_UNKNOWN, r->fail_why !=
			    NULL ? r->fail_why : "connection lost");
		return;
	}
	req->on_reply(r, req, reply);
	if (r->sentinel != NULL && r->ac == ac && chat_redis_demoted(reply)) {
		r->fail_why = "failover: the primary became a replica";
		chat_redis_drop(r, "the primary is a replica now (failover)");
	}
}

/* With libhiredis, chat_redis_library() names it (udpd -V). */
const char *
chat_redis_library(void)
{
#define CHAT_REDIS_STR2(x)	#x
#define CHAT_REDIS_STR(x)	CHAT_REDIS_STR2(x)
	return "hiredis " CHAT_REDIS_STR(HIREDIS_MAJOR) "."
	    CHAT_REDIS_STR(HIREDIS_MINOR) "." CHAT_REDIS_STR(HIREDIS_PATCH);
}

/* ---- life ----------------------------------------------------------- */

struct chat_redis *
chat_redis_conn_new(struct event_base *base,
    const struct chat_redis_conf *conf, const char *service,
    struct chat_redis_health *health, const char *script)
{
	struct chat_redis *r = calloc(1, sizeof(*r));
	struct chat_redis_conf *c;

	if (r == NULL)
		return NULL;
	r->base = base;
	r->script = script;
	c = &r->conf;
	r->backoff_ms = CHAT_REDIS_BACKOFF_MIN;
	r->seed = (unsigned)chat_redis_now_ms() ^ (unsigned)(uintptr_t)r;
	if (chat_redis_conf_copy(c, conf) == -1 ||
	    (r->service = strdup(service)) == NULL)
		goto fail;
	if (health == NULL) {
		if ((health = chat_redis_health_new(service, c->label)) == NULL)
			goto fail;
		r->own_health = 1;
	}
	r->health = health;
	r->timers = udpd_timers_event(base);
	r->deadline_t = r->timers.ops->create(r->timers.ctx,
	    chat_redis_on_deadline, r);
	r->retry_t = r->timers.ops->create(r->timers.ctx, chat_redis_on_retry,
	    r);
	r->kill_ev = event_new(base, -1, 0, chat_redis_on_kill, r);
	if (r->deadline_t == NULL || r->retry_t == NULL || r->kill_ev == NULL)
		goto fail;
	if (c->nsentinels > 0 && (r->sentinel = chat_redis_sentinel_new(base,
	    c, r->service, chat_redis_on_primary, chat_redis_on_switch,
	    r)) == NULL)
		goto fail;
	return r;
fail:
	chat_redis_conn_free(r);
	return NULL;
}

void
chat_redis_conn_start(struct chat_redis *r)
{
	chat_redis_connect(r);
}

void
chat_redis_conn_free(struct chat_redis *r)
{
	redisAsyncContext *ac;

	if (r == NULL)
		return;
	r->fail_why = "udpd stopped the store before it answered";
	chat_redis_sentinel_free(r->sentinel);
	r->sentinel = NULL;
	if ((ac = r->ac) != NULL) {
		r->ac = NULL;
		redisAsyncFree(ac);	/* fails what hiredis holds */
	}
	while (r->head != NULL)		/* stored, awaiting WAIT */
		chat_redis_req_fail(r->head, CHAT_UNKNOWN, r->fail_why);
	if (r->health != NULL && r->down) {
		pthread_mutex_lock(&r->health->lock);
		r->health->down--;
		pthread_mutex_unlock(&r->health->lock);
	}
	if (r->own_health)
		chat_redis_health_free(r->health);
	if (r->deadline_t != NULL)
		r->timers.ops->destroy(r->deadline_t);
	if (r->retry_t != NULL)
		r->timers.ops->destroy(r->retry_t);
	if (r->kill_ev != NULL)
		event_free(r->kill_ev);
	chat_redis_conf_free(&r->conf);
	free(r->service);
	free(r);
}
