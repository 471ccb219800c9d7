/*
 * chat_store.h - where the chat room keeps its messages.  mod_chat.c speaks
 * the protocol; a store appends lines and reads the newest back.  The
 * file store (chat_file.c) is the default; a store selected with
 * `store = "<name>"` is one entry of chat_stores[] (mod_chat.c).
 *
 * A store may answer at once (the file store: a write(2) under a lock) or
 * later (a store on a network server): it then returns CHAT_STORE_LATER
 * and calls the request's done callback exactly once, on the event loop
 * of the worker that asked (ctx->bases[worker]), never from another
 * thread and never before returning.  The chat module passes as arg a
 * slot of the worker's pending-reply table (pending.h), never its own
 * state: done() may come after the chat instance that asked was replaced
 * by a reload, as long as the worker lives.
 */
#ifndef UDPD_CHAT_STORE_H
#define UDPD_CHAT_STORE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "conf_util.h"
#include "module.h"

enum chat_store_status {
	CHAT_STORE_OK,		/* done: the result is filled in */
	CHAT_STORE_FAILED,	/* done: nothing stored or read; why says */
	CHAT_STORE_LATER	/* done() will be called on the worker's loop */
};

/*
 * What became of an append, the client's answer (mod_chat.c writes it):
 * every path where an append ends gives exactly one of these, and the
 * true one.  A refusal is never worded as an unknown outcome, and a
 * stored message is never answered CHAT_NOT_STORED.
 */
enum chat_outcome {
	CHAT_STORED,		/* "ok <seq>\n": in the room, as the store
				 * promises (write(2), fdatasync, WAIT) */
	CHAT_NOT_STORED,	/* "error: not stored: <why>\n": certainly
				 * not in the room (refused, never sent) */
	CHAT_UNKNOWN		/* "error: outcome unknown: <why>\n": may be
				 * in the room (sent, not confirmed) */
};

/*
 * Completion of an append: outcome, the seq when CHAT_STORED (else 0),
 * and why when not (a short reason for the client's reply, safe to send:
 * printable, no newline; the details go to the log).
 */
typedef void	(*chat_append_done)(void *arg, enum chat_outcome outcome,
		    uint64_t seq, const char *why);
/* Completion of a history read: the whole lines, newest last, len bytes
 * (valid during the call only), or error. */
typedef void	(*chat_history_done)(void *arg, const char *lines,
		    size_t len, const char *error);

/*
 * One append.  append() returns CHAT_STORE_OK (outcome CHAT_STORED, seq
 * set), CHAT_STORE_FAILED (outcome CHAT_NOT_STORED or CHAT_UNKNOWN, why
 * filled in) or CHAT_STORE_LATER (done() gives all three later).
 *
 * Retries (retry_window_ms): a repeat of a message is the same text from
 * the same source address and port.  retry_key is that identity as the
 * log line writes it: the suffix after its timestamp and space, without
 * the "\n", i.e. "<ip>:<port> <escaped text>" with the source as
 * "a.b.c.d:port", "[v6]:port" or "[v6%scope]:port" (an IPv4-mapped peer as
 * IPv4; see chat_line.h).  Escaping is one-to-one, so equal keys are equal
 * raw texts from the same source, and a store can rebuild its window from
 * its own lines.  peer is the same source as a socket address.
 */
struct chat_append {
	int		 worker;	/* udpd_request.worker */
	const char	*suffix;	/* the line after "<seq> " (chat_line.h) */
	size_t		 len;		/* ends with its "\n" */
	const char	*retry_key;	/* points into suffix; see above */
	size_t		 retry_keylen;
	const struct sockaddr *peer;	/* the request's source */
	socklen_t	 peerlen;
	enum chat_outcome outcome;	/* out, CHAT_STORE_OK / _FAILED */
	uint64_t	 seq;		/* out, CHAT_STORED */
	int		 repeat;	/* out, CHAT_STORED: seq is an earlier
					 * try's (a retry), nothing was added */
	char		*why;		/* out, not CHAT_STORED */
	size_t		 whylen;
	chat_append_done done;		/* CHAT_STORE_LATER */
	void		*arg;
};

struct chat_history {
	int		 worker;
	size_t		 count;		/* the last count lines ... */
	size_t		 max_bytes;	/* ... dropping whole oldest to fit */
	unsigned char	*out;		/* out, CHAT_STORE_OK: max_bytes */
	size_t		 len;		/* out */
	char		*why;		/* out, CHAT_STORE_FAILED */
	size_t		 whylen;
	chat_history_done done;		/* CHAT_STORE_LATER */
	void		*arg;
};

/* fsync-style group commit: seqs in (lo, hi] may be lost (hi 0: none);
 * their clients get "error: outcome unknown: <why>". */
struct chat_doubt {
	uint64_t	 lo;
	uint64_t	 hi;
	char		 why[80];
};

/*
 * retry_window_ms, one setting for every store (each reads it in its
 * parse()): a repeat of a message within it is the same message.  0: off.
 */
#define CHAT_RETRY_WINDOW_MS		10000
#define CHAT_RETRY_WINDOW_MAX_MS	3600000

/* One started store, the first member of each implementation's state. */
struct chat_store {
	const struct chat_store_ops *ops;
	/* A store that answers later: how long the client's reply may wait
	 * for done() (past it, an append gets "error: outcome unknown: ..."
	 * and /history an error); 0: 1000 ms. */
	unsigned		 timeout_ms;
};

struct chat_store_ops {
	const char	*name;		/* the value of `store` */
	/* append() and history() may return CHAT_STORE_LATER. */
	int		 answers_later;
	/* The settings this store reads (NULL-ended); others' are refused. */
	const char *const *options;

	/* Pure, as a module's parse(): options, or NULL with err. */
	void		*(*parse)(const config_setting_t *service,
			    const struct module_parse_ctx *ctx,
			    struct conf_err *err);
	void		 (*free_options)(void *options);
	/* Optional: what only one service may use (module.h's claim()). */
	const char	*(*claim)(const void *options);
	/*
	 * Opens the store (file, connections).  previous is the store of the
	 * instance this one replaces on reload (same service, maybe other
	 * options, maybe another kind: check ops), or NULL; whatever of it is
	 * shared must stay usable by previous until it is stopped, since a
	 * failed reload keeps it.  ctx->bases holds each worker's event_base.
	 * NULL with err on failure.
	 */
	struct chat_store *(*start)(const void *options,
			    const struct module_ctx *ctx,
			    struct chat_store *previous, char *err,
			    size_t errlen);
	/*
	 * Closes it (main thread, workers paused).  A store that completes
	 * later calls every pending done() (with an error) before it
	 * returns, or never: what they point at may be gone after.
	 */
	void		 (*stop)(struct chat_store *s);

	/* Appends "<seq> " + suffix with the next seq.  Any worker thread. */
	enum chat_store_status (*append)(struct chat_store *s,
			    struct chat_append *a);
	/* The newest lines.  Any worker thread. */
	enum chat_store_status (*history)(struct chat_store *s,
			    struct chat_history *h);
	/*
	 * Optional: makes every seq <= upto durable, once per read batch
	 * (the file store's fdatasync with fsync = true); says which seqs
	 * are in doubt.  Any worker thread.
	 */
	void		 (*flush)(struct chat_store *s, uint64_t upto,
			    struct chat_doubt *doubt);
	/* Optional: SIGHUP (log rotation).  Main thread. */
	void		 (*reopen)(struct chat_store *s);
	/*
	 * Optional: the last seq this store handed out or knows of, for the
	 * udpd_chat_last_seq metric; 0, or -1 when it has none to tell.
	 * Main thread, while workers append: must not wait for their locks.
	 */
	int		 (*last_seq)(struct chat_store *s, uint64_t *seq);
	/*
	 * Optional: 1 while the store accepts appends, else 0, for
	 * udpd_chat_store_up (without it: 1).  Main thread, while workers
	 * append: must not wait for their locks.
	 */
	int		 (*up)(struct chat_store *s);
};

/* Every store built in, NULL-ended, the first the default (chat_stores.c:
 * a test binary may link its own list). */
extern const struct chat_store_ops *const chat_stores[];

extern const struct chat_store_ops chat_file_store;
/* store = "redis" (chat_redis.c; without libhiredis a parse() that
 * says it is not built in). */
extern const struct chat_store_ops chat_redis_store;

#endif
