/*
 * chat_redis.h - the chat room kept in Redis (store = "redis",
 * chat_redis.c): the script that appends, the answers, /history, and the
 * store's operations.  Each worker has one connection (chat_redis_conn.h),
 * on that worker's event_base, and every callback runs on that loop.
 * The options are chat_redis_conf.h's.
 */
#ifndef UDPD_CHAT_REDIS_H
#define UDPD_CHAT_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "chat_redis_conf.h"
#include "chat_store.h"

#ifdef HAVE_HIREDIS
struct event_base;
struct chat_redis;
struct chat_redis_health;

/*
 * What the connections of one service share: the outage bookkeeping, so
 * an outage seen by every worker is still one log line when it starts
 * and one when it ends.  Thread-safe.
 */
struct chat_redis_health *chat_redis_health_new(const char *service,
	    const char *label);
void	chat_redis_health_free(struct chat_redis_health *h);

/*
 * The outcome of an append (chat_store.h): CHAT_STORED with its seq once
 * Redis confirmed it (and WAIT saw wait_replicas replicas take it), else
 * CHAT_NOT_STORED or CHAT_UNKNOWN with a short reason a client may read
 * (the details are logged).
 */
typedef chat_append_done chat_redis_append_cb;
/*
 * The answer to a history request: the lines, oldest first, each with
 * its "\n", at most count of them and at most max_reply bytes (older
 * whole lines dropped); text is valid during the call only.  err non-NULL
 * on failure.
 */
typedef void (*chat_redis_history_cb)(void *arg, const char *text,
	    size_t len, const char *err);

/*
 * A connection for one worker.  It connects at once (without waiting)
 * and reconnects by itself with backoff; conf is copied.  health may be
 * shared by every worker of the service, or NULL.  NULL on no memory.
 */
struct chat_redis *chat_redis_new(struct event_base *base,
	    const struct chat_redis_conf *conf, const char *service,
	    struct chat_redis_health *health);

/*
 * Appends one line: suffix is what follows "<seq> " (chat_line.h's
 * chat_format_suffix(), its trailing "\n" optional); the script in Redis
 * allocates the seq and writes "<seq> <suffix>" atomically, without the
 * "\n".  Returns 0 and later calls done exactly once on this loop (never
 * from inside this call), or -1 with a reason in *why when the request
 * cannot be taken now (nothing was sent: the message is not stored):
 * done is then never called.
 */
int	chat_redis_append(struct chat_redis *r, const char *suffix,
	    size_t len, chat_redis_append_cb done, void *arg,
	    const char **why);

/* The last count lines of the stream; as chat_redis_append. */
int	chat_redis_history(struct chat_redis *r, size_t count,
	    size_t max_reply, chat_redis_history_cb done, void *arg,
	    const char **why);

/* Requests in flight (for tests and the shutdown drain). */
size_t	chat_redis_inflight(const struct chat_redis *r);
/* Is the connection up and ready (handshake done)? */
int	chat_redis_ready(const struct chat_redis *r);

/*
 * Closes the connection: every request in flight gets its callback with
 * an error first.  Not from inside one of this connection's callbacks.
 */
void	chat_redis_free(struct chat_redis *r);
#endif

#endif
