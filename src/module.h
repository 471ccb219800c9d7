/*
 * module.h - the interface between the daemon and its services.
 *
 * A module is a const table of functions.  Each configured service is one
 * instance of a module: create() builds the instance's private state from
 * the service's config group, handle() turns one request into at most one
 * reply, destroy() frees the state.  Modules never touch sockets or
 * libevent: handle() is a pure function of (state, request, clock), so
 * unit tests call it with no network at all.
 *
 * Threading: one instance is shared by every worker thread, so handle()
 * must be safe to call concurrently (stateless modules are; chat locks).
 */
#ifndef UDPD_MODULE_H
#define UDPD_MODULE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <libconfig.h>

#include "conf_util.h"

/* The largest UDP payload over IPv4, and the size of every reply buffer. */
#define UDPD_MAX_DATAGRAM	65507

/* Reads CLOCK_REALTIME; injected so tests control time. */
typedef void (*udpd_clock_fn)(struct timespec *now);

struct udpd_request {
	const unsigned char	*data;
	size_t			 len;
	const struct sockaddr	*peer;		/* the sender */
	socklen_t		 peerlen;
	struct timespec		 rx_time;	/* when it arrived (realtime) */
	udpd_clock_fn		 now;		/* current realtime, for late stamps */
};

struct udpd_reply {
	unsigned char	*buf;		/* owned by the caller */
	size_t		 cap;		/* bytes available in buf */
	size_t		 len;		/* bytes written by handle() */
};

enum udpd_verdict {
	UDPD_REPLY,		/* send reply.len bytes (0 is a valid reply) */
	UDPD_REPLY_ERROR,	/* send the reply, count it as an error */
	UDPD_DROP,		/* no reply, counted as a malformed request */
	UDPD_DROP_SILENT	/* no reply, not an error (e.g. rate limited) */
};

/* Counters of one service (summed over workers for the stats module). */
struct udpd_counters {
	uint64_t	requests;
	uint64_t	replies;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	uint64_t	errors;
	uint64_t	drop_acl;
	uint64_t	drop_rate;
	uint64_t	drop_size;
	uint64_t	drop_loop;
	uint64_t	drop_malformed;
};

/* What the stats module can see of the running daemon. */
struct udpd_stats_view {
	/* Fills at most max entries; returns the number of services. */
	size_t		(*list)(void *arg, const char **names,
			    const char **modules, struct udpd_counters *c,
			    size_t max);
	/* Seconds since the daemon started (monotonic: immune to clock
	 * steps). */
	long long	(*uptime)(void *arg);
	void		*arg;
};

/* What a module instance is given at creation. */
struct module_ctx {
	const char			*service;	/* service name */
	const char			*config_dir;	/* for relative paths */
	const struct udpd_stats_view	*stats;		/* may be NULL */
	/* Set by `udpd -t`: validate options, but open no file, change
	 * nothing on disk. */
	int				 check_only;
};

struct udpd_module {
	const char	*name;
	/* Module-specific settings accepted in the service group (NULL-ended). */
	const char *const *options;
	/* Default max_request for services of this module (0: 65507). */
	size_t		 max_request;
	/* Wants the kernel receive timestamp in rx_time (SO_TIMESTAMPNS). */
	int		 wants_rx_timestamp;
	/*
	 * Optional: true when this instance's replies can never provoke a
	 * reply (an SNTP mode-4 answer), so requests from port 123 (ntpd
	 * clients) are answered despite the loop guard.
	 */
	int		 (*reply_is_terminal)(const void *state);

	/* Returns the instance, or NULL with err filled in. */
	void		*(*create)(const config_setting_t *service,
			    const struct module_ctx *ctx, struct conf_err *err);
	enum udpd_verdict (*handle)(void *state,
			    const struct udpd_request *req,
			    struct udpd_reply *rep);
	void		 (*destroy)(void *state);

	/* Optional: called once after each read batch, before its replies
	 * are sent (chat's group fdatasync); may rewrite those replies. */
	void		 (*batch_end)(void *state, struct udpd_reply *replies,
			    enum udpd_verdict *verdicts, size_t n);
	/*
	 * Optional: the answer to a request the rate limit dropped, asked for
	 * at most occasionally per source (SNTP's Kiss-o'-Death RATE).
	 * UDPD_DROP_SILENT for none.
	 */
	enum udpd_verdict (*limited)(void *state,
			    const struct udpd_request *req,
			    struct udpd_reply *rep);
	/* Optional: SIGHUP (chat reopens its log). */
	void		 (*reopen)(void *state);
};

/*
 * Text services take lines from `nc -u`: the request's length without one
 * trailing "\n" or "\r\n".
 */
static inline size_t
udpd_strip_line(const unsigned char *data, size_t len)
{
	if (len > 0 && data[len - 1] == '\n') {
		len--;
		if (len > 0 && data[len - 1] == '\r')
			len--;
	}
	return len;
}

/* create() and destroy() of a module with no options and no state. */
void	*module_no_state(const config_setting_t *service,
	    const struct module_ctx *ctx, struct conf_err *err);
void	 module_no_state_free(void *state);

/* The registry: NULL when no module has that name. */
const struct udpd_module *module_find(const char *name);
/* NULL-terminated list of every module, for help texts. */
extern const struct udpd_module *const udpd_modules[];

extern const struct udpd_module module_greet;
extern const struct udpd_module module_echo;
extern const struct udpd_module module_upper;
extern const struct udpd_module module_time;
extern const struct udpd_module module_chat;
extern const struct udpd_module module_stats;
extern const struct udpd_module module_length;

#endif
