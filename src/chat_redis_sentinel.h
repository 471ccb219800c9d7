/*
 * chat_redis_sentinel.h - finding the chat room's Redis primary through
 * Redis Sentinel (chat_redis_sentinel.c), for one worker's connection
 * (chat_redis_conn.c), on that worker's event loop.  Internal to the
 * Redis store.
 */
#ifndef UDPD_CHAT_REDIS_SENTINEL_H
#define UDPD_CHAT_REDIS_SENTINEL_H

#include <event2/event.h>

#include "chat_redis_conf.h"

struct chat_redis_sentinel;

/*
 * The answer to chat_redis_sentinel_ask(): the primary's numeric address
 * as sentinel (its "host:port") named it, or host NULL and why when no
 * sentinel named one.  The strings are valid during the call only.
 */
typedef void (*chat_redis_sentinel_found_fn)(void *arg, const char *host,
	    int port, const char *sentinel, const char *why);
/* A sentinel announced a failover of our master (+switch-master). */
typedef void (*chat_redis_sentinel_switch_fn)(void *arg, const char *host,
	    int port);

/* conf (sentinels, master, sentinel password, timeout_ms) must outlive
 * the result.  NULL on no memory. */
struct chat_redis_sentinel *chat_redis_sentinel_new(struct event_base *base,
	    const struct chat_redis_conf *conf, const char *service,
	    chat_redis_sentinel_found_fn found,
	    chat_redis_sentinel_switch_fn switched, void *arg);
/*
 * Asks the sentinels in turn (the last one that answered first) for the
 * primary of conf->master; found is called once, later, on this loop.
 * The sentinel that answers is then watched for +switch-master.  A call
 * while a question is out does nothing.
 */
void	chat_redis_sentinel_ask(struct chat_redis_sentinel *s);
/* The sentinel that answered last named a server that is no primary: ask
 * the next one first. */
void	chat_redis_sentinel_distrust(struct chat_redis_sentinel *s);
/* Closes its connections; found and switched are not called again. */
void	chat_redis_sentinel_free(struct chat_redis_sentinel *s);

#endif
