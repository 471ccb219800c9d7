/*
 * ratelimit.h - per-source token buckets in a fixed-size table.
 *
 * A source is an IPv4 address or an IPv6 prefix, /64 unless set (an
 * IPv4-mapped IPv6 source is its IPv4 address).  Each source has a bucket of `burst` tokens that
 * refills at `rate` tokens per second; a packet takes one token or is
 * dropped.  The table never grows: a new source takes a free slot in its
 * probe window or evicts the least recently seen source there, so a flood
 * of spoofed sources costs neither memory nor time (at most
 * RATELIMIT_WINDOW slots are looked at per packet).
 *
 * Pure code: no sockets, no clock reads.  Time is passed in as monotonic
 * nanoseconds, so tests inject it.  No locks: each worker thread owns its
 * own table (SO_REUSEPORT hashes a source to one worker).
 */
#ifndef UDPD_RATELIMIT_H
#define UDPD_RATELIMIT_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SLOTS_DEFAULT	4096
#define RATELIMIT_SLOTS_MAX	(1U << 24)
/* Slots looked at per packet. */
#define RATELIMIT_WINDOW	8
/* A limited source is sent at most one Kiss-o'-Death per this interval. */
#define RATELIMIT_KOD_INTERVAL_NS	(8ULL * 1000000000ULL)
/* Sources listed by name in one summary; the rest are "and N more". */
#define RATELIMIT_TOP		10
/* Room for any IPv6 text + "/128". */
#define RATELIMIT_SOURCE_MAX	52

struct ratelimit;

struct ratelimit_offender {
	char		source[RATELIMIT_SOURCE_MAX];	/* "192.0.2.1",
							   "2001:db8::/64" */
	uint64_t	dropped;
};

/* Drops since the previous summary. */
struct ratelimit_summary {
	struct ratelimit_offender top[RATELIMIT_TOP];	/* most drops first */
	size_t		ntop;
	uint64_t	more_sources;	/* limited sources not listed */
	uint64_t	more_dropped;	/* their drops */
	uint64_t	dropped;	/* all drops */
};

struct ratelimit_stats {
	size_t		slots;
	size_t		used;		/* slots holding a source */
	size_t		bytes;		/* memory of the table, constant */
	uint64_t	lookups;
	uint64_t	probes;		/* slots examined, <= WINDOW * lookups */
	uint64_t	evictions;
};

/*
 * A table of slots buckets (0: RATELIMIT_SLOTS_DEFAULT; rounded up to a
 * power of two, at least RATELIMIT_WINDOW, at most RATELIMIT_SLOTS_MAX)
 * with a fresh random hash key, grouping IPv6 sources by /64.  Memory:
 * sizeof(struct ratelimit) + slots * 48 bytes, 192 KiB for the default
 * 4096 slots.  Returns NULL with
 * errno EINVAL when rate or burst is 0 or slots is too large, or ENOMEM.
 */
struct ratelimit *ratelimit_new(unsigned rate, unsigned burst, size_t slots);
void	ratelimit_free(struct ratelimit *rl);

/*
 * Groups IPv6 sources by their first prefix bits (RATELIMIT_V6_PREFIX_MIN
 * to 128) instead of 64; call it before the first packet.  -1 (EINVAL)
 * when out of range.
 */
#define RATELIMIT_V6_PREFIX_MIN	32
int	ratelimit_set_ipv6_prefix(struct ratelimit *rl, unsigned prefix);

/* Takes one token of src's bucket at now_ns: 1 pass, 0 drop (counted). */
int	ratelimit_allow(struct ratelimit *rl, const struct sockaddr *src,
	    uint64_t now_ns);

/*
 * After ratelimit_allow() dropped src's packet: 1 when a Kiss-o'-Death
 * may be sent to it now (at most one per source per
 * RATELIMIT_KOD_INTERVAL_NS, and it is counted as sent), else 0.  Always
 * 0 for a source whose last packet passed or that the table does not hold.
 */
int	ratelimit_should_kod(struct ratelimit *rl, const struct sockaddr *src,
	    uint64_t now_ns);

/*
 * Fills sum with the drops since the previous call (the most limited
 * sources first) and starts a new interval.  Returns the number of
 * limited sources.  Sources evicted with drops pending are counted in
 * more_sources / more_dropped.  O(slots): meant for a timer (every 10 s).
 */
size_t	ratelimit_take_summary(struct ratelimit *rl,
	    struct ratelimit_summary *sum);

/*
 * Takes the summary and calls line(arg, text) once per listed source,
 * "192.0.2.1: 12 dropped", then once "and 3 more sources: 40 dropped" if
 * some were not listed: at most RATELIMIT_TOP + 1 lines, none longer than
 * RATELIMIT_LINE_MAX - 1 bytes.  Returns the number of lines.
 */
#define RATELIMIT_LINE_MAX	96
size_t	ratelimit_report(struct ratelimit *rl,
	    void (*line)(void *arg, const char *text), void *arg);

void	ratelimit_get_stats(const struct ratelimit *rl,
	    struct ratelimit_stats *st);

/* SipHash-1-3 with key (k0, k1) of the 16-byte message whose
 * little-endian words are m0, m1: the table's hash. */
uint64_t ratelimit_siphash13(uint64_t k0, uint64_t k1, uint64_t m0,
	    uint64_t m1);

#endif
