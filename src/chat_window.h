/*
 * chat_window.h - the file store's retry window: the messages stored
 * lately, by a hash of their retry key (source address, port and text:
 * chat_store.h), so that a repeat gets the first one's seq.  A fixed-size
 * table (CHAT_WINDOW_SIZE entries, allocated once): it never grows with
 * traffic; when a set is full the entry stored first makes room.  Not
 * locked: the store holds its append lock around every call.
 */
#ifndef UDPD_CHAT_WINDOW_H
#define UDPD_CHAT_WINDOW_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define CHAT_WINDOW_WAYS	8
#define CHAT_WINDOW_SETS	1024
#define CHAT_WINDOW_SIZE	(CHAT_WINDOW_WAYS * CHAT_WINDOW_SETS)

struct chat_window_entry {
	uint64_t	 hash;		/* of the retry key */
	uint64_t	 seq;		/* 0: an empty entry */
	int64_t		 ms;		/* the line's time, ms since the epoch */
	off_t		 off;		/* where the line starts ... */
	uint32_t	 len;		/* ... its length, "\n" included ... */
	uint32_t	 gen;		/* ... in this file (chat_file.c) */
};

struct chat_window;

struct chat_window *chat_window_new(void);
void	chat_window_free(struct chat_window *w);
/* The hash of a retry key. */
uint64_t chat_window_hash(const char *key, size_t len);
/*
 * The newest entry for hash whose time is within window_ms of now_ms
 * (either way: a clock stepped back does not make old entries new
 * forever), or NULL.
 */
const struct chat_window_entry *chat_window_find(const struct chat_window *w,
	    uint64_t hash, int64_t now_ms, unsigned window_ms);
/* Records e; the oldest entry of its set (lowest seq) makes room, unless
 * e is older still. */
void	chat_window_add(struct chat_window *w,
	    const struct chat_window_entry *e);

#endif
