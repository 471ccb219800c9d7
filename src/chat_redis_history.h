/*
 * chat_redis_history.h - the text of a /history reply from Redis's answer
 * (chat_redis_history.c), for chat_redis.c.
 */
#ifndef UDPD_CHAT_REDIS_HISTORY_H
#define UDPD_CHAT_REDIS_HISTORY_H

#include <stddef.h>

struct redisReply;

/*
 * From rep, XREVRANGE's entries (newest first): at most count lines and
 * at most limit bytes, written to out oldest first, each with its "\n";
 * returns the length written.
 */
size_t	chat_redis_history_text(const struct redisReply *rep, size_t count,
	    size_t limit, char *out);

#endif
