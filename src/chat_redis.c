/*
 * chat_redis.c - the chat room in Redis (chat_redis.h): the script that
 * appends, what each reply means for the client, /history, and the
 * store's operations (chat_store.h).  The connections are
 * chat_redis_conn.c's.
 *
 * Each message is one call of a server-side script that reads the room's
 * counter, adds the stream entry {seq, line} and stores the new counter:
 * the seq and the append happen together or not at all, in arrival order
 * at Redis, whatever the number of hosts and workers.  Requests are
 * pipelined on the connection and answered in order (hiredis keeps the
 * callbacks in a FIFO); with wait_replicas, one WAIT after each batch of
 * appends covers all of them (a group commit, as one fdatasync covers a
 * batch of the file store).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "chat_redis.h"
#include "chat_redis_conn.h"
#include "chat_redis_history.h"
#include "chat_store.h"
#include "log.h"
#include "module.h"

static void	chat_redis_wait_reply(struct chat_redis *r,
		    struct chat_redis_req *wait, const redisReply *reply);

/*
 * The append, one atomic script.  KEYS[1] the stream "{key}", KEYS[2] its
 * counter "{key}:seq", KEYS[3] the message's retry key "{key}:r:<source>
 * <text>" (one hash tag: one slot, Redis Cluster too); ARGV[1] the line
 * after "<seq> " (without its newline), ARGV[2] the retry window in ms (0:
 * off), ARGV[3] the highest seq this room's udpd acknowledged (0: none).
 *
 * A retry (the retry key exists) returns {seq, 1}: the first one's seq,
 * nothing written.  A stream key of another type makes XREVRANGE fail
 * (WRONGTYPE) before anything is written.  Else the next seq is one
 * above the larger of the counter and the stream's last seq (a counter
 * set back, or lost, never makes the sequence go back); one at or below
 * ARGV[3] means Redis lost what udpd acknowledged, and is refused with
 * SEQBEHIND.  Every check
 * comes before the first write, and Redis refuses a script's first write
 * (OOM, NOREPLICAS, READONLY) before it happens: an error reply means
 * nothing was written.  Returns the new seq.
 */
static const char chat_redis_script[] =
    "local window = tonumber(ARGV[2])\n"
    "local v\n"
    "if window > 0 then\n"
    "  v = redis.call('MGET', KEYS[2], KEYS[3])\n"
    "  if v[2] then return {tonumber(v[2]), 1} end\n"
    "else\n"
    "  v = {redis.call('GET', KEYS[2])}\n"
    "end\n"
    "local function seqof(s)\n"
    "  local n = tonumber(s)\n"
    "  if not n or n < 0 or n ~= math.floor(n) or n >= 2^53 then\n"
    "    return nil\n"
    "  end\n"
    "  return n\n"
    "end\n"
    "local n = seqof(v[1] or '0')\n"
    "if not n then\n"
    "  return redis.error_reply('ERR ' .. KEYS[2] .. "
    "' does not hold a sequence number')\n"
    "end\n"
    "local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]\n"
    "if e then\n"
    "  for i = 1, #e[2], 2 do\n"
    "    if e[2][i] == 'seq' then\n"
    "      local s = seqof(e[2][i + 1])\n"
    "      if s and s > n then n = s end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if n + 1 <= tonumber(ARGV[3]) then\n"
    "  return redis.error_reply(string.format('SEQBEHIND next seq %d, '"
    " .. 'udpd acknowledged %s', n + 1, ARGV[3]))\n"
    "end\n"
    "local seq = string.format('%d', n + 1)\n"
    "redis.call('XADD', KEYS[1], '*', 'seq', seq, 'line', "
    "seq .. ' ' .. ARGV[1])\n"
    "redis.call('SET', KEYS[2], seq)\n"
    "if window > 0 then\n"
    "  redis.call('SET', KEYS[3], seq, 'PX', window)\n"
    "end\n"
    "return n + 1\n";

/*
 * EVALSHA once the script is known; EVAL (which loads it again) before
 * that, and for a message that found it gone (with_script).
 */
static int
chat_redis_send_append(struct chat_redis *r, struct chat_redis_req *req,
    int with_script)
{
	char window[16], floor[24];
	const char *argv[9];
	size_t lens[9];

	if (r->sha[0] != '\0' && !with_script) {
		argv[0] = "EVALSHA";
		argv[1] = r->sha;
	} else {
		argv[0] = "EVAL";
		argv[1] = chat_redis_script;
	}
	snprintf(window, sizeof(window), "%d", r->conf.retry_window_ms);
	snprintf(floor, sizeof(floor), "%" PRIu64, __atomic_load_n(
	    &r->health->last_seq, __ATOMIC_RELAXED));
	argv[2] = "3";
	argv[3] = r->streamkey;
	argv[4] = r->seqkey;
	argv[5] = req->suffix + req->len;	/* the retry key */
	argv[6] = req->suffix;
	argv[7] = window;
	argv[8] = floor;
	for (int i = 0; i < 9; i++)
		lens[i] = i == 5 ? req->keylen : i == 6 ? req->len :
		    strlen(argv[i]);
	if (chat_redis_send(r, req, 9, argv, lens) == -1)
		return -1;
	if (r->conf.wait_replicas > 0) {
		r->need_wait = 1;
		event_active(r->flush_ev, EV_TIMEOUT, 0);
	}
	return 0;
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
	if ((req = chat_redis_req_new(r, REQ_WAIT,
	    chat_redis_wait_reply, 0)) == NULL ||
	    chat_redis_send(r, req, 3, argv, lens) == -1) {
		if (req != NULL)
			chat_redis_req_fail(req, CHAT_STORED, NULL);
		chat_redis_drop(r, "cannot send WAIT");
		return;
	}
	r->wait_out = 1;
}

/* ---- replies -------------------------------------------------------- */

/*
 * "refused by Redis: <CODE>" for an error reply: its first word when it
 * is one (OOM, NOREPLICAS, READONLY...; the whole text is logged), so the
 * client's reply never carries what came over the network.
 */
static const char *
chat_redis_refusal(const redisReply *reply, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < reply->len && n < 24 && ((reply->str[n] >= 'A' &&
	    reply->str[n] <= 'Z') || reply->str[n] == '_'))
		n++;
	if (n == 0 || (n < reply->len && reply->str[n] != ' '))
		snprintf(buf, cap, "refused by the store");
	else
		snprintf(buf, cap, "refused by the store: %.*s", (int)n,
		    reply->str);
	return buf;
}

/* The seq of the script's answer: n (a new message) or {n, 1} (a retry). */
static int
chat_redis_append_seq(const redisReply *reply, uint64_t *seq, int *retry)
{
	*retry = 0;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[1]->type == REDIS_REPLY_INTEGER &&
	    reply->element[1]->integer == 1) {
		*retry = 1;
		reply = reply->element[0];
	}
	if (reply->type != REDIS_REPLY_INTEGER || reply->integer <= 0)
		return -1;
	*seq = (uint64_t)reply->integer;
	return 0;
}

/* The sequence went back: logged once per episode, counted. */
static void
chat_redis_seq_behind(struct chat_redis *r, uint64_t seq)
{
	struct chat_redis_health *h = r->health;

	__atomic_add_fetch(&h->seq_behind, 1, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&h->behind, 1, __ATOMIC_RELAXED))
		return;
	log_warnx("chat %s: redis %s: the room's sequence went back (%s%"
	    PRIu64 ", udpd acknowledged up to %" PRIu64 "): Redis lost "
	    "acknowledged messages; appends are refused until the sequence "
	    "is above it again (udpd.conf(5): after losing Redis's data)",
	    r->service, r->conf.label, seq > 0 ? "got seq " : "",
	    seq, __atomic_load_n(&h->last_seq, __ATOMIC_RELAXED));
}

/* An append went through: an error run (OOM...) is over, said once. */
static void
chat_redis_append_works(struct chat_redis *r)
{
	char safe[160];

	if (r->refused_err[0] != '\0') {
		log_notice("chat %s: redis %s: appending again after: %s",
		    r->service, r->conf.label, log_escape(r->refused_err,
		    strlen(r->refused_err), safe, sizeof(safe)));
		r->refused_err[0] = '\0';
		r->last_err[0] = '\0';
	}
	/* read first: no shared write per append */
	if (__atomic_load_n(&r->health->behind, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&r->health->behind, 0, __ATOMIC_RELAXED))
		log_notice("chat %s: redis %s: the sequence is above what udpd "
		    "acknowledged again; %" PRIu64 " append(s) refused since "
		    "udpd started because it went back", r->service,
		    r->conf.label, __atomic_load_n(&r->health->seq_behind,
		    __ATOMIC_RELAXED));
}

/* An error reply to the script: it wrote nothing. */
static void
chat_redis_append_refused(struct chat_redis *r, struct chat_redis_req *req,
    const redisReply *reply)
{
	char why[64];

	if (strncmp(reply->str, "SEQBEHIND", 9) == 0) {
		chat_redis_seq_behind(r, 0);
		chat_redis_req_fail(req, CHAT_NOT_STORED, "the store's "
		    "sequence went back");
		return;
	}
	chat_redis_log_error(r, "append refused", reply->str);
	snprintf(r->refused_err, sizeof(r->refused_err), "%s", reply->str);
	chat_redis_req_fail(req, CHAT_NOT_STORED,
	    chat_redis_refusal(reply, why, sizeof(why)));
}

/*
 * The script's answer.  An error means it wrote nothing: every check
 * comes before the first write, and Redis refuses a script's first write
 * (OOM, NOREPLICAS, READONLY) before it happens, so CHAT_NOT_STORED.  A
 * reply of another shape is no answer from our script: unknown.
 */
static void
chat_redis_append_reply(struct chat_redis *r, struct chat_redis_req *req,
    const redisReply *reply)
{
	uint64_t seq;
	int retry;

	if (reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0 && !req->resent) {
		/* Redis restarted or SCRIPT FLUSH: this one ran nothing.
		 * Send it again with the script (once: EVAL cannot answer
		 * NOSCRIPT), at the end of the line. */
		req->resent = 1;
		chat_redis_req_unlink(req);
		chat_redis_req_link(r, req);
		if (chat_redis_send_append(r, req, 1) == -1)
			chat_redis_req_fail(req, CHAT_NOT_STORED,
			    "no connection to the store");
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		chat_redis_append_refused(r, req, reply);
		return;
	}
	if (chat_redis_append_seq(reply, &seq, &retry) == -1) {
		/* not our script's answer: this connection cannot be trusted */
		chat_redis_req_fail(req, CHAT_UNKNOWN,
		    "unexpected reply from the store");
		chat_redis_drop(r, "unexpected reply to the append script");
		return;
	}
	if (!retry && seq <= r->conn_seq) {
		/* the script's own check let it through: another writer set
		 * the sequence back meanwhile; it is in the stream */
		chat_redis_seq_behind(r, seq);
		chat_redis_req_fail(req, CHAT_UNKNOWN, "the store's sequence "
		    "went back");
		return;
	}
	if (!retry)
		r->conn_seq = seq;
	chat_redis_append_works(r);
	if (r->conf.wait_replicas > 0) {
		req->stored = 1;
		req->seq = seq;
	} else
		chat_redis_req_done(req, CHAT_STORED, seq, NULL, 0, NULL);
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
		chat_redis_log_error(r, "WAIT", reply->type ==
		    REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		err = "stored on the primary, replication not confirmed";
	} else if (reply->integer < r->conf.wait_replicas) {
		snprintf(why, sizeof(why), "only %lld of %d replica(s) took "
		    "it in time", reply->integer, r->conf.wait_replicas);
		chat_redis_log_error(r, "not replicated", why);
		snprintf(why, sizeof(why), "stored on the primary, on %lld of "
		    "%d replica(s)", reply->integer < 0 ? 0 : reply->integer,
		    r->conf.wait_replicas);
		err = why;
	} else
		r->last_err[0] = '\0';
	r->wait_out = 0;
	chat_redis_req_done(wait, CHAT_STORED, 0, NULL, 0, NULL);
	for (req = r->head; req != NULL; req = next) {
		next = req->next;
		if (req->stored)
			chat_redis_req_done(req, err == NULL ? CHAT_STORED :
			    CHAT_UNKNOWN, req->seq, NULL, 0, err);
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
		chat_redis_req_fail(req, CHAT_NOT_STORED, "store unavailable");
		return;
	}
	n = chat_redis_history_text(reply, req->count, limit, r->histbuf);
	chat_redis_req_done(req, CHAT_STORED, 0, r->histbuf, n, NULL);
}

/* ---- moving a room to its hash-tagged keys --------------------------- */

/*
 * KEYS[1], KEYS[2] the stream and counter under their old names ("<key>",
 * "<key>:seq"), KEYS[3], KEYS[4] the new ones.  Renamed only when the old
 * stream exists and neither new key does; atomic, so every worker of every
 * host may run it at each connection, and the first one moves the room.
 */
static const char chat_redis_migrate_script[] =
    "if redis.call('EXISTS', KEYS[3]) == 1 or "
    "redis.call('EXISTS', KEYS[4]) == 1 or "
    "redis.call('TYPE', KEYS[1])['ok'] ~= 'stream' then\n"
    "  return 0\n"
    "end\n"
    "redis.call('RENAME', KEYS[1], KEYS[3])\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "  redis.call('RENAME', KEYS[2], KEYS[4])\n"
    "end\n"
    "return 1\n";

static void
chat_redis_migrate_reply(struct chat_redis *r, struct chat_redis_req *req,
    const redisReply *reply)
{
	chat_redis_req_done(req, CHAT_STORED, 0, NULL, 0, NULL);
	if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
		log_notice("chat %s: redis %s: the room moved from the keys "
		    "%s and %s:seq to %s and %s", r->service, r->conf.label,
		    r->conf.key, r->conf.key, r->streamkey, r->seqkey);
	else if (reply->type == REDIS_REPLY_ERROR) {
		char safe[160];

		log_warnx("chat %s: redis %s: moving the room to %s failed "
		    "(udpd.conf(5) says how to do it by hand): %s", r->service,
		    r->conf.label, r->streamkey, log_escape(reply->str,
		    reply->len, safe, sizeof(safe)));
	}
}

static int
chat_redis_migrate(struct chat_redis *r)
{
	struct chat_redis_req *req;
	char *old = NULL;
	const char *argv[7];
	size_t lens[7];
	int rc = -1;

	if (asprintf(&old, "%s:seq", r->conf.key) == -1)
		return -1;
	argv[0] = "EVAL";
	argv[1] = chat_redis_migrate_script;
	argv[2] = "4";
	argv[3] = r->conf.key;
	argv[4] = old;
	argv[5] = r->streamkey;
	argv[6] = r->seqkey;
	for (int i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	if ((req = chat_redis_req_new(r, REQ_SETUP, chat_redis_migrate_reply,
	    0)) != NULL) {
		rc = chat_redis_send(r, req, 7, argv, lens);
		if (rc == -1)
			chat_redis_req_fail(req, CHAT_NOT_STORED, NULL);
	}
	free(old);
	return rc;
}

/* ---- the API -------------------------------------------------------- */

struct chat_redis *
chat_redis_new(struct event_base *base, const struct chat_redis_conf *conf,
    const char *service, struct chat_redis_health *health)
{
	struct chat_redis *r = chat_redis_conn_new(base, conf, service, health,
	    chat_redis_script);

	if (r == NULL)
		return NULL;
	if (asprintf(&r->streamkey, "{%s}", conf->key) == -1)
		r->streamkey = NULL;
	if (asprintf(&r->seqkey, "{%s}:seq", conf->key) == -1)
		r->seqkey = NULL;
	if (asprintf(&r->retryprefix, "{%s}:r:", conf->key) == -1)
		r->retryprefix = NULL;
	if (r->streamkey == NULL || r->seqkey == NULL ||
	    r->retryprefix == NULL)
		goto fail;
	r->on_handshake = chat_redis_migrate;
	if ((r->histbuf = malloc(UDPD_MAX_DATAGRAM)) == NULL ||
	    (r->flush_ev = event_new(base, -1, 0, chat_redis_on_flush, r)) ==
	    NULL)
		goto fail;
	chat_redis_conn_start(r);
	return r;
fail:
	chat_redis_free(r);
	return NULL;
}

/* Can a request be taken now?  No session after a failure: no. */
static int
chat_redis_accepting(struct chat_redis *r, const char **why)
{
	/* With Sentinel, not before ROLE said it is the primary. */
	if (r->ac == NULL || (r->state != CONN_UP && (r->down ||
	    r->sentinel != NULL))) {
		chat_redis_health_refused(r);
		*why = "no connection to the store";
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
	const char *id;
	size_t plen, idlen;

	if (len > 0 && suffix[len - 1] == '\n')
		len--;
	if (len == 0 || memchr(suffix, '\n', len) != NULL) {
		*why = "not a line";
		return -1;
	}
	if (!chat_redis_accepting(r, why))
		return -1;
	/* the retry key: "{key}:r:" and the suffix after its timestamp */
	id = memchr(suffix, ' ', len);
	id = id != NULL ? id + 1 : suffix;
	idlen = len - (size_t)(id - suffix);
	plen = strlen(r->retryprefix);
	if ((req = chat_redis_req_new(r, REQ_APPEND,
	    chat_redis_append_reply, len + plen + idlen)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	memcpy(req->suffix, suffix, len);
	memcpy(req->suffix + len, r->retryprefix, plen);
	memcpy(req->suffix + len + plen, id, idlen);
	req->keylen = plen + idlen;
	req->len = len;
	req->append_cb = done;
	req->arg = arg;
	if (chat_redis_send_append(r, req, 0) == -1) {
		chat_redis_req_unlink(req);
		free(req);
		*why = "no connection to the store";
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
	const char *argv[6] = { "XREVRANGE", r->streamkey, "+", "-", "COUNT",
	    n };
	size_t lens[6];

	if (!chat_redis_accepting(r, why))
		return -1;
	/* no more entries than max_reply can hold: the shortest line is
	 * CHAT_REDIS_LINE_MIN bytes */
	if (count > max_reply / CHAT_REDIS_LINE_MIN)
		count = max_reply / CHAT_REDIS_LINE_MIN;
	if (count == 0)
		count = 1;
	snprintf(n, sizeof(n), "%zu", count);
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	if ((req = chat_redis_req_new(r, REQ_HISTORY,
	    chat_redis_history_reply, 0)) == NULL) {
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
		*why = "no connection to the store";
		return -1;
	}
	return 0;
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
	if (r == NULL)
		return;
	/* Before the requests fail: a WAIT is never sent from here. */
	if (r->flush_ev != NULL)
		event_free(r->flush_ev);
	r->flush_ev = NULL;
	free(r->streamkey);
	free(r->seqkey);
	free(r->retryprefix);
	r->streamkey = r->seqkey = r->retryprefix = NULL;
	free(r->histbuf);
	r->histbuf = NULL;
	chat_redis_conn_free(r);
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
	if (chat_redis_conf_copy(&room->conf, opts) == -1)
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

/* A request refused at once (nothing was sent): why, for the client. */
static enum chat_store_status
chat_redis_refused(const char *why, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", why);
	return CHAT_STORE_FAILED;
}

static enum chat_store_status
chat_redis_store_append(struct chat_store *s, struct chat_append *a)
{
	struct chat_redis_room *room = (struct chat_redis_room *)s;
	const char *why = "no connection to the store";

	/* Nothing to answer later with: refuse rather than store unacked. */
	a->outcome = CHAT_NOT_STORED;
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
		return chat_redis_refused(strcmp(why, "busy") == 0 ? why :
		    "store unavailable", h->why, h->whylen);
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

/*
 * udpd_chat_store_up: 0 while a connection of the room has no session
 * (an outage is logged) or the sequence went back (appends refused).
 */
static int
chat_redis_store_up(struct chat_store *s)
{
	const struct chat_redis_room *room = (struct chat_redis_room *)s;

	if (room->health == NULL)
		return 0;
	return !__atomic_load_n(&room->health->outage, __ATOMIC_RELAXED) &&
	    !__atomic_load_n(&room->health->behind, __ATOMIC_RELAXED);
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
	.up = chat_redis_store_up,
};
