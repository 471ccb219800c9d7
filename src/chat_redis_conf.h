/*
 * chat_redis_conf.h - the options of the chat store on Redis
 * (chat_redis_conf.c): pure and always built, so `udpd -t` checks them
 * without connecting and a build without libhiredis can say why
 * store = "redis" is refused.  The room (chat_redis.h) and its
 * connections (chat_redis_conn.h) exist only with HAVE_HIREDIS.
 */
#ifndef UDPD_CHAT_REDIS_CONF_H
#define UDPD_CHAT_REDIS_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <libconfig.h>

#include "conf_util.h"

#define CHAT_REDIS_TIMEOUT_DEFAULT	1000	/* ms */
#define CHAT_REDIS_TIMEOUT_MIN		10
#define CHAT_REDIS_TIMEOUT_MAX		60000
#define CHAT_REDIS_WAIT_MAX		100	/* wait_replicas */
#define CHAT_REDIS_KEY_MAX		512
/* The shortest line, "1 <24-byte time> ?:0 x\n": /history asks Redis for
 * at most max_reply / CHAT_REDIS_LINE_MIN entries. */
#define CHAT_REDIS_LINE_MIN		33
/* Unparsed reply bytes one connection may hold; past it, it is closed. */
#define CHAT_REDIS_REPLY_MAX		(64u << 20)
/* Requests in flight on one connection; past it, errors at once. */
#define CHAT_REDIS_INFLIGHT_MAX		4096
#define CHAT_REDIS_SENTINELS_MAX	16
#define CHAT_REDIS_MASTER_MAX		128	/* bytes of a master name */

/* A numeric TCP address: a sentinel, or the primary one named. */
struct chat_redis_hostport {
	char	*host;		/* numeric IPv4 or IPv6 */
	int	 port;
};

/* The options of one service with store = "redis". */
struct chat_redis_conf {
	char	*host;		/* numeric IPv4 or IPv6, NULL for unix */
	int	 port;
	char	*unix_path;	/* NULL for TCP */
	char	*key;		/* the room: the stream "{<key>}", its counter
				 * "{<key>}:seq", retry keys "{<key>}:r:..." */
	char	*password_file;	/* NULL: no AUTH */
	char	*user;		/* from password_file (NULL: no user) */
	char	*password;	/* from password_file (NULL: no AUTH) */
	int	 wait_replicas;
	int	 retry_window_ms;	/* chat_store.h; 0: off */
	int	 timeout_ms;
	char	 label[160];	/* the address as written, for logs */
	/* Sentinel, instead of host/unix_path: the primary named master. */
	struct chat_redis_hostport *sentinels;
	int	 nsentinels;	/* 0: no Sentinel */
	char	*master;
	char	*sentinel_password_file;	/* NULL: no AUTH to sentinels */
	char	*sentinel_user;
	char	*sentinel_password;
};

/* The settings this half owns in a chat service group (NULL-ended). */
extern const char *const chat_redis_options[];

/*
 * Reads "redis" (or "sentinels", "master" and "sentinel_password_file"),
 * "key", "password_file", "wait_replicas" and "timeout_ms" of a chat
 * service into c.  Pure: nothing is read from
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
 * Reads c->password_file (if any) into c->user and c->password, and
 * c->sentinel_password_file into c->sentinel_user and
 * c->sentinel_password; a file others can read is a warning.  -1 with err naming password_file (with
 * FILE:LINE when the service group is given, NULL at start).
 */
int	chat_redis_conf_auth(struct chat_redis_conf *c,
	    const config_setting_t *service, struct conf_err *err);

/* Same server, key, credentials and limits: a reload can keep the
 * connections. */
int	chat_redis_conf_equal(const struct chat_redis_conf *a,
	    const struct chat_redis_conf *b);

/* dst: a deep copy of src (passwords included); -1 on no memory, with
 * dst freed. */
int	chat_redis_conf_copy(struct chat_redis_conf *dst,
	    const struct chat_redis_conf *src);

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

#endif
