/*
 * module.h - the interface between the daemon and its services.
 *
 * A module is a const table of functions.  Each configured service is one
 * instance of a module, made in two phases: parse() reads the service's
 * config group into options (pure: `udpd -t` and reload planning), start()
 * turns them into the running state once the sockets are bound.  handle()
 * turns one request into at most one reply, destroy() frees the state.
 * Modules never touch sockets: handle() is a pure function of (state,
 * request, clock), so unit tests call it with no network at all; a reply
 * that waits on I/O is given later through the worker's pending table
 * (udpd_later_take below), the I/O itself being a store's.
 *
 * Threading: one instance is shared by every worker thread, so handle()
 * must be safe to call concurrently (stateless modules are; chat formats
 * in a buffer per worker and its store locks).
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
	int			 worker;	/* index of the worker handling it */
	/* Where a reply given later goes (udpd_later_take); NULL when none
	 * can be (unit tests of pure modules). */
	const struct udpd_origin *origin;
};

struct udpd_reply {
	unsigned char	*buf;		/* owned by the caller */
	size_t		 cap;		/* bytes available in buf */
	size_t		 len;		/* bytes written by handle() */
	/* The module's own mark on a reply, for its batch_end (chat: the
	 * seq acknowledged); 0 when handle() sets none. */
	uint64_t	 mark;
};

enum udpd_verdict {
	UDPD_REPLY,		/* send reply.len bytes (0 is a valid reply) */
	UDPD_REPLY_ERROR,	/* send the reply, count it as an error */
	UDPD_DROP,		/* no reply, counted as a malformed request */
	UDPD_DROP_SILENT,	/* no reply, not an error (e.g. rate limited) */
	UDPD_LATER		/* the reply comes later: udpd_later_reply() */
};

/*
 * Replies that come later.  In handle(), a module whose answer waits on
 * I/O (a store on the network) takes a slot of the worker's table, starts
 * the I/O and returns UDPD_LATER; when the I/O completes, on the worker's
 * event loop, it gives the answer with udpd_later_reply(), exactly once.
 * If timeout_ms pass first, timeout_reply (a static text, e.g. "error:
 * store unavailable\n") is sent as an error, and the answer that comes
 * after only frees the slot.  take() returns NULL when the table is full
 * (the module answers "error: busy\n" at once) or req has no origin.
 * udpd_later_reply() with UDPD_DROP or UDPD_DROP_SILENT sends nothing
 * (a slot taken but answered at once after all).  Both run on the
 * worker's thread.  Implemented in pending.c: no socket code in modules.
 */
struct udpd_origin;
struct udpd_later;
struct udpd_later *udpd_later_take(const struct udpd_request *req,
	    unsigned timeout_ms, const char *timeout_reply);
void	udpd_later_reply(struct udpd_later *p, enum udpd_verdict v,
	    const void *data, size_t len);

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

/* Every field of udpd_counters, for code that walks them all
 * (X(field) once each); the assertion below keeps the two in step. */
#define UDPD_COUNTERS(X) X(requests) X(replies) X(bytes_in) X(bytes_out) \
	X(errors) X(drop_acl) X(drop_rate) X(drop_size) X(drop_loop) \
	X(drop_malformed)
#define UDPD_COUNTER_ONE(f) + 1
_Static_assert(sizeof(struct udpd_counters) ==
    (0 UDPD_COUNTERS(UDPD_COUNTER_ONE)) * sizeof(uint64_t),
    "a counter added to struct udpd_counters must be added to UDPD_COUNTERS");
#undef UDPD_COUNTER_ONE

/* to += c, field by field. */
void	udpd_counters_add(struct udpd_counters *to,
	    const struct udpd_counters *c);

/* What the stats module can see of the running daemon. */
struct udpd_stats_view {
	/* Fills at most max entries; returns the number of services. */
	size_t		(*list)(void *arg, const char **names,
			    const char **modules, struct udpd_counters *c,
			    size_t max);
	/* Seconds since the daemon started (monotonic: immune to clock
	 * steps). */
	long long	(*uptime)(void *arg);
	/* The last seq a chat service acknowledged: 0, or -1 when it has
	 * none to tell (another module, nothing stored yet). */
	int		(*last_seq)(void *arg, const char *service,
			    uint64_t *seq);
	void		*arg;
};

/* What parse() is given: nothing that writes to disk or the network. */
struct module_parse_ctx {
	const char			*service;	/* service name */
	const char			*config_dir;	/* for relative paths */
};

struct event_base;
struct udpd_timers;
struct nts_conf;
struct nts_sntp_stats;

/* What start() is given: the running daemon around the instance. */
struct module_ctx {
	const char			*service;	/* service name */
	const struct udpd_stats_view	*stats;		/* may be NULL */
	/* Each worker's event loop, for what waits on I/O (a store's
	 * connection); udpd_request.worker indexes it.  NULL in tests that
	 * run no loop. */
	struct event_base *const	*bases;
	/* The same loops' timers (timer.h), for a store's deadlines and
	 * backoff; a unit test may give fake ones.  NULL when bases is. */
	const struct udpd_timers	*timers;
	int				 nworkers;
	/* daemon.user and daemon.group (NULL: none), the owners of a file
	 * start() makes while udpd still runs as root. */
	const char			*user;
	const char			*group;
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
	 * Optional: true when a service with these options (parse()'s) can
	 * never send a reply that provokes a reply (an SNTP mode-4 answer):
	 * requests from port 123 (ntpd clients) are answered despite the
	 * loop guard, and no default rate limit is needed.
	 */
	int		 (*reply_is_terminal)(const void *options);

	/*
	 * Phase 1, pure: reads and checks the options of a service group
	 * (nothing created or written, no socket).  `udpd -t` stops here.
	 * The one file it may read is one the options name as input whose
	 * errors are configuration errors: the SNTP key file, read here so
	 * that -t and a reload fail on a bad key before anything changes,
	 * and read once, so start() uses exactly the keys that were checked.
	 * Returns the options, or NULL with err filled in.
	 */
	void		*(*parse)(const config_setting_t *service,
			    const struct module_parse_ctx *ctx,
			    struct conf_err *err);
	void		 (*free_options)(void *options);
	/*
	 * Phase 2, side effects: called by the server once every socket of
	 * the new configuration is bound.  The state keeps no pointer into
	 * options (they may be freed after start).  previous is the running
	 * state of the service of the same name and module in the
	 * configuration being replaced, or NULL: start may share its
	 * resources (chat goes on with the same open log and seq), but must
	 * leave previous working, since the reload may still fail and then
	 * previous serves on; the server destroys previous after the switch.
	 * Returns the state, or NULL with a message in err.
	 */
	void		*(*start)(const void *options,
			    const struct module_ctx *ctx, void *previous,
			    char *err, size_t errlen);
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
	/*
	 * Optional: what an instance with these options holds for itself
	 * (chat: its log file), as text; two enabled services that claim the
	 * same are a configuration error.  NULL for nothing.
	 */
	const char	*(*claim)(const void *options);
	/*
	 * Optional: the last sequence number the instance handed out (chat),
	 * for the udpd_chat_last_seq metric.  Called from the main thread
	 * while the workers run: it must not wait for their locks.  Returns
	 * 0 with *seq set, or -1 when there is nothing to report.
	 */
	int		 (*last_seq)(const void *state, uint64_t *seq);
	/*
	 * Optional (time, protocol sntp): the nts group of a service with
	 * these options (nts_conf.h), for the NTS-KE server; NULL for none.
	 */
	const struct nts_conf *(*nts)(const void *options);
	/*
	 * Optional: one NTS cookie sealing the keys c2s and s2c (keylen
	 * bytes each) of AEAD algorithm aead with the running instance's
	 * cookie keys, for NTS-KE.  Called from the NTS-KE thread while the
	 * workers run (never while a reload switches instances).  Returns its length, or 0 when none fits in cap.
	 */
	size_t		 (*nts_cookie)(void *state, uint16_t aead,
			    const uint8_t *c2s, const uint8_t *s2c,
			    size_t keylen, uint8_t *out, size_t cap);
	/*
	 * Optional: the instance's NTS requests by result and its cookie
	 * key's age (nts_sntp.h), for /metrics, from the main thread.
	 * Returns 0, or -1 when the instance serves no NTS.
	 */
	int		 (*nts_stats)(void *state, struct nts_sntp_stats *s);
	/*
	 * Optional (chat): 1 while the instance's store accepts appends, 0
	 * while it does not, for udpd_chat_store_up; from the main thread,
	 * without waiting for a worker's lock.  -1: nothing to report.
	 */
	int		 (*store_up)(const void *state);
};

/*
 * Text services take lines from `nc -u`: the request's length without one
 * trailing "\n" or "\r\n".
 */
static inline size_t
udpd_line_length(const unsigned char *data, size_t len)
{
	if (len > 0 && data[len - 1] == '\n') {
		len--;
		if (len > 0 && data[len - 1] == '\r')
			len--;
	}
	return len;
}

/* parse(), start() and destroy() of a module with no options, no state. */
void	*module_no_options(const config_setting_t *service,
	    const struct module_parse_ctx *ctx, struct conf_err *err);
void	 module_no_options_free(void *options);
void	*module_no_state(const void *options, const struct module_ctx *ctx,
	    void *previous, char *err, size_t errlen);
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
