/*
 * chat_redis_conn.h - one worker's connection to Redis (chat_redis_conn.c),
 * internal to the Redis store: where to connect, the hiredis async
 * context on the worker's event_base, the handshake (AUTH, SCRIPT LOAD),
 * reconnection with backoff, each request's deadline, and the list of
 * requests in flight, answered in the order they were sent.  What a
 * request means and what its reply says is the room's (chat_redis.c):
 * each request carries the function that reads its reply.
 */
#ifndef UDPD_CHAT_REDIS_CONN_H
#define UDPD_CHAT_REDIS_CONN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "chat_redis.h"
#include "timer.h"

struct chat_redis_health {
	pthread_mutex_t	 lock;
	char		*service;
	char		*label;
	int		 down;		/* connections without a session */
	int		 outage;	/* "unavailable" was logged */
	uint64_t	 since;		/* ms, when it was */
	uint64_t	 refused;	/* requests refused since */
	uint64_t	 last_seq;	/* highest acked (atomic, no lock) */
	uint64_t	 seq_behind;	/* appends refused: seq went back */
	int		 behind;	/* that was logged (atomic) */
	char		 primary[80];	/* the last failover's, logged */
};

enum chat_redis_kind { REQ_APPEND, REQ_HISTORY, REQ_WAIT, REQ_AUTH,
	REQ_SCRIPT, REQ_SETUP, REQ_ROLE };

struct chat_redis;
struct chat_redis_req;
struct chat_redis_sentinel;

/* Reads the reply to req (never NULL: a lost connection fails req). */
typedef void (*chat_redis_reply_fn)(struct chat_redis *r,
	    struct chat_redis_req *req, const redisReply *reply);

struct chat_redis_req {
	struct chat_redis_req	*prev, *next;	/* r's list, sending order */
	struct chat_redis	*r;
	enum chat_redis_kind	 kind;
	chat_redis_reply_fn	 on_reply;
	unsigned		 conn_id;	/* the connection it was sent on */
	int			 stored;	/* append: has its seq, awaits WAIT */
	int			 resent;	/* append: sent again after NOSCRIPT */
	uint64_t		 seq;
	uint64_t		 deadline;	/* ms, monotonic */
	chat_redis_append_cb	 append_cb;
	chat_redis_history_cb	 history_cb;
	void			*arg;
	size_t			 count;		/* history */
	size_t			 max_reply;
	size_t			 len;		/* append: of suffix */
	size_t			 keylen;	/* append: of the retry key */
	char			 suffix[];	/* kept to send it again, then
						 * the retry key */
};

enum chat_redis_state { CONN_WAITING, CONN_CONNECTING, CONN_UP };

struct chat_redis {
	struct event_base	*base;
	struct chat_redis_conf	 conf;
	char			*service;
	const char		*script;	/* loaded at each handshake */
	/* The room's commands sent after AUTH, before SCRIPT LOAD, at each
	 * handshake; -1 when one cannot be sent. */
	int			(*on_handshake)(struct chat_redis *r);
	char			*streamkey;	/* "{<key>}" */
	char			*seqkey;	/* "{<key>}:seq" */
	char			*retryprefix;	/* "{<key>}:r:" */
	uint64_t		 conn_seq;	/* highest new seq this session */
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
	struct udpd_timers	 timers;	/* on base (timer.h) */
	struct udpd_timer	*deadline_t;	/* the earliest request's */
	int			 deadline_armed;
	struct udpd_timer	*retry_t;	/* the next connection try */
	struct event		*kill_ev;	/* drops a connection from the loop */
	unsigned		 kill_id;	/* ... if it is still this one */
	struct event		*flush_ev;	/* sends the WAIT of a batch */
	unsigned		 backoff_ms;
	unsigned		 seed;
	char			 last_err[96];	/* the error reply last logged */
	char			 refused_err[96]; /* appends refused (OOM...) */
	unsigned		 conn_id;	/* counts connection attempts */
	unsigned		 connected_id;	/* the last one that connected */
	/* Why requests sent on a dropped connection have no answer; NULL:
	 * "connection lost". */
	const char		*fail_why;
	char			*histbuf;
	struct chat_redis_sentinel *sentinel;	/* NULL: conf's address */
	char			 primary[80];	/* "host:port" it named */
	char			 named_by[80];	/* the sentinel that did */
};

uint64_t chat_redis_now_ms(void);

/*
 * A connection that is not connected yet: conf is copied, script is
 * loaded at each handshake (kept, not copied).  NULL on no memory.
 */
struct chat_redis *chat_redis_conn_new(struct event_base *base,
	    const struct chat_redis_conf *conf, const char *service,
	    struct chat_redis_health *health, const char *script);
/* Connects now (and again after each loss, with backoff). */
void	chat_redis_conn_start(struct chat_redis *r);
/* Closes the connection; every request in flight fails first. */
void	chat_redis_conn_free(struct chat_redis *r);

/* A request at the end of r's list, with its deadline; NULL: no memory. */
struct chat_redis_req *chat_redis_req_new(struct chat_redis *r,
	    enum chat_redis_kind kind, chat_redis_reply_fn on_reply,
	    size_t extra);
/* The line of requests sent on r: req joins its end, or leaves it. */
void	chat_redis_req_link(struct chat_redis *r,
	    struct chat_redis_req *req);
void	chat_redis_req_unlink(struct chat_redis_req *req);
/*
 * Takes req off the list, then calls its callback (which may add more):
 * CHAT_STORED with seq (an append) or text (a history), else why.
 */
void	chat_redis_req_done(struct chat_redis_req *req,
	    enum chat_outcome outcome, uint64_t seq, const char *text,
	    size_t len, const char *why);
void	chat_redis_req_fail(struct chat_redis_req *req,
	    enum chat_outcome outcome, const char *why);
/* Sends req's command; -1 when hiredis refuses it. */
int	chat_redis_send(struct chat_redis *r, struct chat_redis_req *req,
	    int argc, const char **argv, const size_t *lens);
/* Ends the session ourselves: everything in flight fails. */
void	chat_redis_drop(struct chat_redis *r, const char *why);
/* A request refused for want of a session, counted for the outage log. */
void	chat_redis_health_refused(struct chat_redis *r);
/* An error reply, logged once per run of the same reason (escaped). */
void	chat_redis_log_error(struct chat_redis *r, const char *what,
	    const char *why);

#endif
