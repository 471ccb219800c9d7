/*
 * ratelimit.c - per-source token buckets in a fixed-size, open-addressed
 * table keyed by SipHash-1-3 with a random secret, so that nobody outside
 * can choose sources that collide.
 *
 * Tokens are integers scaled by RL_UNIT (10^9 per token): a bucket gains
 * exactly `rate` units per elapsed nanosecond, so refills never drift,
 * however the packets are spaced.
 */
#include "config.h"

#include <sys/random.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ratelimit.h"

#define RL_UNIT		1000000000ULL	/* units per token */

enum rl_family {
	RL_EMPTY = 0,
	RL_V4,		/* key: the address, host order */
	RL_V6,		/* key: the IPv6 prefix (ipv6_prefix bits), host order */
	RL_OTHER	/* any other family: one shared bucket */
};

/* 48 bytes: the table of 4096 slots is 192 KiB. */
struct rl_entry {
	uint64_t	key;		/* IPv4 address, or IPv6 bits 0-63 */
	uint64_t	key_lo;		/* IPv6 bits 64-127 (masked), or 0 */
	uint64_t	tokens;		/* RL_UNIT per token */
	uint64_t	seen_ns;	/* last packet, and last refill */
	uint64_t	kod_ns;		/* last Kiss-o'-Death, if kod_sent */
	uint32_t	dropped;	/* since the last summary, saturating */
	uint8_t		family;		/* enum rl_family */
	uint8_t		limited;	/* the last packet was dropped */
	uint8_t		kod_sent;
};

_Static_assert(sizeof(struct rl_entry) <= 48, "rate limit entry grew");

struct ratelimit {
	uint64_t	 k0, k1;	/* the hash secret */
	uint64_t	 rate;		/* units per ns = tokens per s */
	uint64_t	 cap;		/* burst * RL_UNIT */
	uint64_t	 fill_ns;	/* time to fill an empty bucket */
	unsigned	 v6_prefix;	/* IPv6 sources grouped by this */
	size_t		 mask;		/* slots - 1 */
	uint64_t	 lookups;
	uint64_t	 probes;
	uint64_t	 evictions;
	uint64_t	 evicted_sources;	/* evicted with drops pending */
	uint64_t	 evicted_dropped;
	struct rl_entry	*slots;
};

/* ---- SipHash-1-3 of two 64-bit words --------------------------------- */

static inline uint64_t
rl_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define RL_SIPROUND(v0, v1, v2, v3) do {				\
	v0 += v1; v1 = rl_rotl(v1, 13); v1 ^= v0; v0 = rl_rotl(v0, 32);	\
	v2 += v3; v3 = rl_rotl(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = rl_rotl(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = rl_rotl(v1, 17); v1 ^= v2; v2 = rl_rotl(v2, 32);	\
} while (0)

uint64_t
ratelimit_siphash13(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	const uint64_t m[3] = { m0, m1, (uint64_t)16 << 56 };

	for (int i = 0; i < 3; i++) {
		v3 ^= m[i];
		RL_SIPROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	for (int i = 0; i < 3; i++)
		RL_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* A secret the network cannot guess; the fallbacks are for old kernels. */
static void
rl_seed(uint64_t key[2])
{
	struct timespec ts;
	ssize_t n;
	int fd;

	if (getrandom(key, 2 * sizeof(uint64_t), GRND_NONBLOCK) ==
	    (ssize_t)(2 * sizeof(uint64_t)))
		return;
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, key, 2 * sizeof(uint64_t));
		close(fd);
		if (n == (ssize_t)(2 * sizeof(uint64_t)))
			return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	key[0] ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)getpid();
	clock_gettime(CLOCK_REALTIME, &ts);
	key[1] ^= (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL ^
	    (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)key;
}

/* ---- keys ------------------------------------------------------------- */

static uint64_t
rl_load_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The first bits of a 64-bit half kept by a prefix of `bits` (0-64). */
static uint64_t
rl_mask(uint64_t v, unsigned bits)
{
	return bits >= 64 ? v : bits == 0 ? 0 : v & ~(~0ULL >> bits);
}

/*
 * An IPv4 address, an IPv4-mapped IPv6 one as IPv4, else the IPv6 prefix
 * of v6_prefix bits: key (bits 0-63) and key_lo (bits 64-127).
 */
static enum rl_family
rl_key(const struct ratelimit *rl, const struct sockaddr *sa, uint64_t *key,
    uint64_t *key_lo)
{
	const struct sockaddr_in6 *sin6;

	*key_lo = 0;
	switch (sa->sa_family) {
	case AF_INET:
		*key = rl_load_be((const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return RL_V4;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			*key = rl_load_be(sin6->sin6_addr.s6_addr + 12, 4);
			return RL_V4;
		}
		*key = rl_mask(rl_load_be(sin6->sin6_addr.s6_addr, 8),
		    rl->v6_prefix);
		*key_lo = rl_mask(rl_load_be(sin6->sin6_addr.s6_addr + 8, 8),
		    rl->v6_prefix > 64 ? rl->v6_prefix - 64 : 0);
		return RL_V6;
	default:
		*key = 0;
		return RL_OTHER;
	}
}

static void
rl_format_source(const struct ratelimit *rl, const struct rl_entry *e,
    char *out, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;

	switch (e->family) {
	case RL_V4:
		a4.s_addr = htonl((uint32_t)e->key);
		inet_ntop(AF_INET, &a4, text, sizeof(text));
		snprintf(out, len, "%s", text);
		break;
	case RL_V6:
		memset(&a6, 0, sizeof(a6));
		for (int i = 0; i < 8; i++) {
			a6.s6_addr[i] = (uint8_t)(e->key >> (56 - 8 * i));
			a6.s6_addr[8 + i] = (uint8_t)(e->key_lo >> (56 - 8 * i));
		}
		inet_ntop(AF_INET6, &a6, text, sizeof(text));
		snprintf(out, len, "%s/%u", text, rl->v6_prefix);
		break;
	default:
		snprintf(out, len, "(other family)");
	}
}

/* ---- the table -------------------------------------------------------- */

struct ratelimit *
ratelimit_new(unsigned rate, unsigned burst, size_t slots)
{
	struct ratelimit *rl;
	uint64_t key[2] = { 0, 0 };
	size_t n = RATELIMIT_WINDOW;

	if (rate == 0 || burst == 0 || slots > RATELIMIT_SLOTS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (slots == 0)
		slots = RATELIMIT_SLOTS_DEFAULT;
	while (n < slots)
		n <<= 1;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	if ((rl->slots = calloc(n, sizeof(*rl->slots))) == NULL) {
		free(rl);
		return NULL;
	}
	rl_seed(key);
	rl->k0 = key[0];
	rl->k1 = key[1];
	rl->mask = n - 1;
	rl->rate = rate;
	rl->cap = (uint64_t)burst * RL_UNIT;
	rl->fill_ns = (rl->cap + rl->rate - 1) / rl->rate;
	rl->v6_prefix = 64;
	return rl;
}

int
ratelimit_set_ipv6_prefix(struct ratelimit *rl, unsigned prefix)
{
	if (prefix < RATELIMIT_V6_PREFIX_MIN || prefix > 128) {
		errno = EINVAL;
		return -1;
	}
	rl->v6_prefix = prefix;
	return 0;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->slots);
	free(rl);
}

/*
 * The entry of src in its probe window.  Slots are never emptied (an
 * eviction overwrites), so the first empty slot ends the search.  With
 * insert, a missing source takes that empty slot or the least recently
 * seen entry of the window, with a full bucket; without, NULL.
 */
static struct rl_entry *
rl_lookup(struct ratelimit *rl, const struct sockaddr *src, uint64_t now_ns,
    int insert)
{
	struct rl_entry *e, *victim = NULL;
	uint64_t key, key_lo;
	enum rl_family f = rl_key(rl, src, &key, &key_lo);
	size_t start = (size_t)ratelimit_siphash13(rl->k0, rl->k1, key,
	    key_lo ^ (uint64_t)f);

	rl->lookups++;
	for (size_t i = 0; i < RATELIMIT_WINDOW; i++) {
		e = &rl->slots[(start + i) & rl->mask];
		rl->probes++;
		if (e->family == f && e->key == key && e->key_lo == key_lo)
			return e;
		if (e->family == RL_EMPTY) {
			victim = e;
			break;
		}
		if (victim == NULL || e->seen_ns < victim->seen_ns)
			victim = e;
	}
	if (!insert)
		return NULL;
	if (victim->family != RL_EMPTY) {
		rl->evictions++;
		if (victim->dropped > 0) {
			rl->evicted_sources++;
			rl->evicted_dropped += victim->dropped;
		}
	}
	memset(victim, 0, sizeof(*victim));
	victim->family = (uint8_t)f;
	victim->key = key;
	victim->key_lo = key_lo;
	victim->tokens = rl->cap;
	victim->seen_ns = now_ns;
	return victim;
}

/* Adds what elapsed since the last packet, capped at burst. */
static void
rl_refill(const struct ratelimit *rl, struct rl_entry *e, uint64_t now_ns)
{
	uint64_t elapsed;

	if (now_ns <= e->seen_ns)	/* same instant, or a clock step back */
		return;
	elapsed = now_ns - e->seen_ns;
	e->seen_ns = now_ns;
	/* elapsed < fill_ns keeps elapsed * rate below cap + rate: no
	 * overflow, since cap <= UINT_MAX * 10^9 < 2^63. */
	if (elapsed >= rl->fill_ns)
		e->tokens = rl->cap;
	else {
		e->tokens += elapsed * rl->rate;
		if (e->tokens > rl->cap)
			e->tokens = rl->cap;
	}
}

int
ratelimit_allow(struct ratelimit *rl, const struct sockaddr *src,
    uint64_t now_ns)
{
	struct rl_entry *e = rl_lookup(rl, src, now_ns, 1);

	rl_refill(rl, e, now_ns);
	if (e->tokens >= RL_UNIT) {
		e->tokens -= RL_UNIT;
		e->limited = 0;
		return 1;
	}
	e->limited = 1;
	if (e->dropped < UINT32_MAX)
		e->dropped++;
	return 0;
}

int
ratelimit_should_kod(struct ratelimit *rl, const struct sockaddr *src,
    uint64_t now_ns)
{
	struct rl_entry *e = rl_lookup(rl, src, now_ns, 0);

	if (e == NULL || !e->limited)
		return 0;
	if (e->kod_sent && now_ns >= e->kod_ns &&
	    now_ns - e->kod_ns < RATELIMIT_KOD_INTERVAL_NS)
		return 0;
	if (e->kod_sent && now_ns < e->kod_ns)	/* clock stepped back */
		return 0;
	e->kod_sent = 1;
	e->kod_ns = now_ns;
	return 1;
}

/* More drops first; ties in key order, so summaries are reproducible. */
static int
rl_worse(const struct rl_entry *a, const struct rl_entry *b)
{
	if (a->dropped != b->dropped)
		return a->dropped > b->dropped;
	if (a->family != b->family)
		return a->family < b->family;
	if (a->key != b->key)
		return a->key < b->key;
	return a->key_lo < b->key_lo;
}

size_t
ratelimit_take_summary(struct ratelimit *rl, struct ratelimit_summary *sum)
{
	const struct rl_entry *top[RATELIMIT_TOP];
	size_t ntop = 0, limited = 0;
	uint64_t listed = 0;

	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i <= rl->mask; i++) {
		const struct rl_entry *e = &rl->slots[i];
		size_t k;

		if (e->family == RL_EMPTY || e->dropped == 0)
			continue;
		limited++;
		sum->dropped += e->dropped;
		if (ntop == RATELIMIT_TOP && !rl_worse(e, top[ntop - 1]))
			continue;
		k = ntop < RATELIMIT_TOP ? ntop++ : ntop - 1;
		for (; k > 0 && rl_worse(e, top[k - 1]); k--)
			top[k] = top[k - 1];
		top[k] = e;
	}
	for (size_t i = 0; i < ntop; i++) {
		rl_format_source(rl, top[i], sum->top[i].source,
		    sizeof(sum->top[i].source));
		sum->top[i].dropped = top[i]->dropped;
		listed += top[i]->dropped;
	}
	sum->ntop = ntop;
	sum->more_sources = (limited - ntop) + rl->evicted_sources;
	sum->dropped += rl->evicted_dropped;
	sum->more_dropped = sum->dropped - listed;
	limited += rl->evicted_sources;

	for (size_t i = 0; i <= rl->mask; i++)
		rl->slots[i].dropped = 0;
	rl->evicted_sources = 0;
	rl->evicted_dropped = 0;
	return limited;
}

size_t
ratelimit_report(struct ratelimit *rl,
    void (*line)(void *arg, const char *text), void *arg)
{
	struct ratelimit_summary sum;
	char text[RATELIMIT_LINE_MAX];
	size_t i;

	ratelimit_take_summary(rl, &sum);
	for (i = 0; i < sum.ntop; i++) {
		snprintf(text, sizeof(text), "%s: %" PRIu64 " dropped",
		    sum.top[i].source, sum.top[i].dropped);
		line(arg, text);
	}
	if (sum.more_sources > 0) {
		snprintf(text, sizeof(text), "and %" PRIu64 " more source%s: %"
		    PRIu64 " dropped", sum.more_sources,
		    sum.more_sources == 1 ? "" : "s", sum.more_dropped);
		line(arg, text);
		i++;
	}
	return i;
}

void
ratelimit_get_stats(const struct ratelimit *rl, struct ratelimit_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->slots = rl->mask + 1;
	for (size_t i = 0; i <= rl->mask; i++)
		if (rl->slots[i].family != RL_EMPTY)
			st->used++;
	st->bytes = sizeof(*rl) + st->slots * sizeof(*rl->slots);
	st->lookups = rl->lookups;
	st->probes = rl->probes;
	st->evictions = rl->evictions;
}
