/*
 * chat_redis.h - the chat room kept in Redis (SPEC 7, store = "redis").
 *
 * Two halves.  The options (chat_redis_conf_*) are pure and always built,
 * so `udpd -t` checks them without connecting and a build without
 * libhiredis can say why store = "redis" is refused.  The connection
 * (chat_redis_*) exists only with HAVE_HIREDIS: one hiredis async
 * connection per worker, on that worker's event_base, and every callback
 * runs on that loop.
 */
#ifndef UDPD_CHAT_REDIS_H
#define UDPD_CHAT_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <libconfig.h>

#include "conf_util.h"

#define CHAT_REDIS_TIMEOUT_DEFAULT	1000	/* ms */
#define CHAT_REDIS_TIMEOUT_MIN		10
#define CHAT_REDIS_TIMEOUT_MAX		60000
#define CHAT_REDIS_WAIT_MAX		100	/* wait_replicas */
#define CHAT_REDIS_KEY_MAX		512
/* Requests in flight on one connection; past it, errors at once. */
#define CHAT_REDIS_INFLIGHT_MAX		4096

/* The options of one service with store = "redis". */
struct chat_redis_conf {
	char	*host;		/* numeric IPv4 or IPv6, NULL for unix */
	int	 port;
	char	*unix_path;	/* NULL for TCP */
	char	*key;		/* the stream; its counter is "<key>:seq" */
	char	*password_file;	/* NULL: no AUTH */
	char	*user;		/* from password_file (NULL: no user) */
	char	*password;	/* from password_file (NULL: no AUTH) */
	int	 wait_replicas;
	int	 timeout_ms;
	char	 label[160];	/* the address as written, for logs */
};

/* The settings this half owns in a chat service group (NULL-ended). */
extern const char *const chat_redis_options[];

/*
 * Reads "redis", "key", "password_file", "wait_replicas" and
 * "timeout_ms" of a chat service into c.  Pure: nothing is read from
 * disk or the network (the password is read by chat_redis_conf_auth()).
 * A relative unix socket or password_file is taken from config_dir.
 * Returns 0, or -1 with err naming the setting (c is then freed).
 */
int	chat_redis_conf_parse(const config_setting_t *service,
	    const char *service_name, const char *config_dir,
	    struct chat_redis_conf *c, struct conf_err *err);

/*
 * "host:port" (IPv4), "[v6]:port" or "unix:/path" into c; -1 with a
 * static reason in *why.
 */
int	chat_redis_conf_addr(const char *text, const char *config_dir,
	    struct chat_redis_conf *c, const char **why);

/*
 * The text of a password file: one line, "password" or "user password"
 * (the first space separates them; the password may hold more), an
 * optional trailing newline.  Pure; -1 with a static reason in *why.
 */
int	chat_redis_auth_parse(const char *text, size_t len, char **user,
	    char **password, const char **why);

/*
 * Reads c->password_file (if any) into c->user and c->password; a file
 * others can read is a warning.  -1 with err naming password_file (with
 * FILE:LINE when the service group is given, NULL at start).
 */
int	chat_redis_conf_auth(struct chat_redis_conf *c,
	    const config_setting_t *service, struct conf_err *err);

/* Same server, key, credentials and limits: a reload can keep the
 * connections. */
int	chat_redis_conf_equal(const struct chat_redis_conf *a,
	    const struct chat_redis_conf *b);

/* Frees the strings of c (not c). */
void	chat_redis_conf_free(struct chat_redis_conf *c);

struct module_parse_ctx;

/* The store's parse() and free_options() (chat_store.h): the options,
 * with "not built in" as the error without libhiredis. */
void	*chat_redis_store_parse(const config_setting_t *service,
	    const struct module_parse_ctx *ctx, struct conf_err *err);
void	 chat_redis_store_free_options(void *options);

/* Is the connection half built in (configure found libhiredis)? */
int	chat_redis_available(void);
/* "hiredis X.Y.Z", or "not built in" (for udpd -V). */
const char *chat_redis_library(void);

#ifdef HAVE_HIREDIS
const char *chat_redis_hiredis_version(void);

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
 * The outcome of an append: seq > 0 and err NULL once Redis confirmed it
 * (and WAIT saw wait_replicas replicas take it), else seq 0 and a reason
 * for the log (the message may or may not have been stored).
 */
typedef void (*chat_redis_append_cb)(void *arg, uint64_t seq,
	    const char *err);
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
 * cannot be taken now ("store unavailable": no connection; "busy": too
 * many in flight): done is then never called.
 */
int	chat_redis_append(struct chat_redis *r, const char *suffix,
	    size_t len, chat_redis_append_cb done, void *arg,
	    const char **why);

/* The last count lines of the stream; as chat_redis_append. */
int	chat_redis_history(struct chat_redis *r, size_t count,
	    size_t max_reply, chat_redis_history_cb done, void *arg,
	    const char **why);

/* From now on callbacks get "store unavailable" for every failure, the
 * reply a client sees (the reason is logged). */
void	chat_redis_plain_errors(struct chat_redis *r);
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
