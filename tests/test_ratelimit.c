/*
 * test_ratelimit.c - the per-source token bucket table, with injected
 * monotonic time: bursts, exact refills, source keying (IPv4, IPv6 /64,
 * IPv4-mapped), bounded memory and LRU eviction under a flood of sources,
 * Kiss-o'-Death pacing and the bounded drop summary.
 */
#include "config.h"

/* Under ASan, malloc is not glibc's: mallinfo2() says nothing. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define HAVE_ASAN 0
#endif

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "unit.h"

#define NS	1000000000ULL
#define MS	1000000ULL

/* A sockaddr for a numeric IPv4 or IPv6 address (port 4242). */
static const struct sockaddr *
sa(const char *text)
{
	static struct sockaddr_storage ring[8];
	static unsigned next;
	struct sockaddr_storage *ss = &ring[next++ % 8];
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4242);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(4242);
	} else
		ck_abort_msg("bad test address %s", text);
	return (const struct sockaddr *)ss;
}

static struct sockaddr_in
sa4(uint32_t host_order)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(host_order);
	sin.sin_port = htons(53);
	return sin;
}

/* Packets that pass out of n sent by src at now. */
static unsigned
send_n(struct ratelimit *rl, const struct sockaddr *src, uint64_t now,
    unsigned n)
{
	unsigned pass = 0;

	for (unsigned i = 0; i < n; i++)
		pass += (unsigned)ratelimit_allow(rl, src, now);
	return pass;
}

START_TEST(test_new_invalid)
{
	struct ratelimit_stats st;
	struct ratelimit *rl;

	errno = 0;
	ck_assert_ptr_null(ratelimit_new(0, 10, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(ratelimit_new(10, 0, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(ratelimit_new(10, 10, RATELIMIT_SLOTS_MAX + 1));
	ck_assert_int_eq(errno, EINVAL);

	rl = ratelimit_new(1, 1, 0);
	ck_assert_ptr_nonnull(rl);
	ratelimit_get_stats(rl, &st);
	ck_assert_uint_eq(st.slots, 4096);
	ck_assert_uint_eq(st.used, 0);
	/* The documented 48 bytes per slot. */
	ck_assert_uint_le(st.bytes, 4096 * 48 + 256);
	ck_assert_uint_ge(st.bytes, 4096 * 48);
	ratelimit_free(rl);

	rl = ratelimit_new(1, 1, 1000);		/* rounded up */
	ratelimit_get_stats(rl, &st);
	ck_assert_uint_eq(st.slots, 1024);
	ratelimit_free(rl);
	rl = ratelimit_new(1, 1, 1);		/* at least one window */
	ratelimit_get_stats(rl, &st);
	ck_assert_uint_eq(st.slots, RATELIMIT_WINDOW);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}
END_TEST

START_TEST(test_burst_then_drop)
{
	struct ratelimit *rl = ratelimit_new(16, 32, 0);
	const struct sockaddr *a = sa("192.0.2.1");
	const struct sockaddr *b = sa("192.0.2.2");

	/* 32 pass at one instant, the 33rd and later are dropped... */
	ck_assert_uint_eq(send_n(rl, a, 5 * NS, 32), 32);
	ck_assert_int_eq(ratelimit_allow(rl, a, 5 * NS), 0);
	ck_assert_uint_eq(send_n(rl, a, 5 * NS, 100), 0);
	/* ...for that source only. */
	ck_assert_uint_eq(send_n(rl, b, 5 * NS, 32), 32);
	ck_assert_int_eq(ratelimit_allow(rl, b, 5 * NS), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_refill)
{
	struct ratelimit *rl = ratelimit_new(16, 32, 0);
	const struct sockaddr *a = sa("198.51.100.7");
	uint64_t t = 1000 * NS;

	ck_assert_uint_eq(send_n(rl, a, t, 40), 32);
	/* 16 tokens per second: one every 62.5 ms. */
	ck_assert_int_eq(ratelimit_allow(rl, a, t + 62 * MS), 0);
	ck_assert_int_eq(ratelimit_allow(rl, a, t + 63 * MS), 1);
	ck_assert_int_eq(ratelimit_allow(rl, a, t + 63 * MS), 0);
	/* Half a second later: 8 more (0.5 ms left over from before). */
	ck_assert_uint_eq(send_n(rl, a, t + 563 * MS, 20), 8);
	/* 7 tokens by now; one spent, then 1.9 s (30.4 tokens) later the
	 * bucket holds 32, not 36. */
	ck_assert_uint_eq(send_n(rl, a, t + 1000 * MS, 1), 1);
	ck_assert_uint_eq(send_n(rl, a, t + 2900 * MS, 100), 32);
	/* An hour idle refills to the burst, not beyond. */
	ck_assert_uint_eq(send_n(rl, a, t + 3600 * NS, 100), 32);
	/* A huge gap must not overflow the arithmetic. */
	ck_assert_uint_eq(send_n(rl, a, UINT64_MAX - 1, 100), 32);
	/* A clock that steps back refills nothing and breaks nothing. */
	ck_assert_uint_eq(send_n(rl, a, t, 10), 0);
	ratelimit_free(rl);
}
END_TEST

/*
 * 7 tokens/s, a packet every millisecond for 10 s after the burst is
 * spent: exactly 70 pass.  Rounding each refill down to whole tokens
 * (0.007 per packet) would give 0; a floating-point bucket would drift.
 */
START_TEST(test_refill_no_drift)
{
	struct ratelimit *rl = ratelimit_new(7, 100, 0);
	const struct sockaddr *a = sa("203.0.113.9");
	unsigned pass = 0;

	ck_assert_uint_eq(send_n(rl, a, 77 * NS, 101), 100);
	for (uint64_t i = 1; i <= 10000; i++)
		pass += (unsigned)ratelimit_allow(rl, a, 77 * NS + i * MS);
	ck_assert_uint_eq(pass, 70);
	ratelimit_free(rl);

	/* 3 tokens/s sampled every 333333333 ns: each step brings 1 unit
	 * less than a token, and the shortfall is carried, not lost. */
	rl = ratelimit_new(3, 10, 0);
	ck_assert_uint_eq(send_n(rl, a, 0, 11), 10);
	pass = 0;
	for (uint64_t i = 1; i <= 9; i++)
		pass += (unsigned)ratelimit_allow(rl, a, i * 333333333ULL);
	/* 9 * 333333333 ns * 3 = 8 tokens and 999999991 / 10^9 */
	ck_assert_uint_eq(pass, 8);
	ck_assert_int_eq(ratelimit_allow(rl, a, 3 * NS - 1), 0);
	ck_assert_int_eq(ratelimit_allow(rl, a, 3 * NS), 1);
	ck_assert_int_eq(ratelimit_allow(rl, a, 3 * NS), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_ipv6_slash64)
{
	struct ratelimit *rl = ratelimit_new(1, 4, 0);
	uint64_t t = 3 * NS;

	/* Two addresses of one /64 share a bucket of 4. */
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:1:2::1"), t, 3), 3);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:1:2:ffff:ffff:ffff:fffe"),
	    t, 3), 1);
	ck_assert_int_eq(ratelimit_allow(rl, sa("2001:db8:1:2::1"), t), 0);
	/* The next /64, and a /64 differing only in its first bits, don't. */
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:1:3::1"), t, 5), 4);
	ck_assert_uint_eq(send_n(rl, sa("a001:db8:1:2::1"), t, 5), 4);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:1:2::1"), t, 1), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_ipv4_mapped)
{
	struct ratelimit *rl = ratelimit_new(1, 4, 0);
	uint64_t t = 3 * NS;

	ck_assert_uint_eq(send_n(rl, sa("192.0.2.1"), t, 2), 2);
	ck_assert_uint_eq(send_n(rl, sa("::ffff:192.0.2.1"), t, 5), 2);
	ck_assert_int_eq(ratelimit_allow(rl, sa("192.0.2.1"), t), 0);
	/* Another IPv4 address in the same ::/64 is still its own source;
	 * and ::1 (also in ::/64, not mapped) is not an IPv4 source. */
	ck_assert_uint_eq(send_n(rl, sa("::ffff:192.0.2.2"), t, 5), 4);
	ck_assert_uint_eq(send_n(rl, sa("::1"), t, 5), 4);
	ck_assert_uint_eq(send_n(rl, sa("::2"), t, 5), 0);
	/* 0.0.0.0 and ::/64 have the same key bits, not the same bucket. */
	ck_assert_uint_eq(send_n(rl, sa("0.0.0.0"), t, 5), 4);
	ratelimit_free(rl);

	/* The same in a full table of one window, where they must meet. */
	rl = ratelimit_new(1, 4, RATELIMIT_WINDOW);
	ck_assert_uint_eq(send_n(rl, sa("::1"), t, 5), 4);
	for (uint32_t i = 1; i < RATELIMIT_WINDOW; i++) {
		struct sockaddr_in s = sa4(0x0a000000 + i);

		ck_assert_uint_eq(send_n(rl, (const struct sockaddr *)&s,
		    t + 1, 1), 1);
	}
	ck_assert_uint_eq(send_n(rl, sa("0.0.0.0"), t + 2, 5), 4);
	ck_assert_uint_eq(send_n(rl, sa("::ffff:0.0.0.0"), t + 2, 5), 0);
	ratelimit_free(rl);
}
END_TEST

/*
 * A known answer of SipHash-1-3 (the 64 published vectors of the
 * reference implementation's key 00 01 .. 0f and messages 00 01 .. of
 * length 0 to 63, as rust-lang's and the siphasher crate's tests carry
 * them): the 16-byte message 00 01 .. 0f hashes to 66 8b 90 7d 1a dd 4f cc
 * (little-endian).
 */
START_TEST(test_siphash13_vector)
{
	const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;

	ck_assert_uint_eq(ratelimit_siphash13(k0, k1, 0x0706050403020100ULL,
	    0x0f0e0d0c0b0a0908ULL), 0xcc4fdd1a7d908b66ULL);
	/* Every input word counts. */
	ck_assert_uint_ne(ratelimit_siphash13(k0, k1, 0x0706050403020101ULL,
	    0x0f0e0d0c0b0a0908ULL), 0xcc4fdd1a7d908b66ULL);
	ck_assert_uint_ne(ratelimit_siphash13(k0 ^ 1, k1, 0x0706050403020100ULL,
	    0x0f0e0d0c0b0a0908ULL), 0xcc4fdd1a7d908b66ULL);
}
END_TEST

/*
 * A table of one window (8 slots): the 9th source evicts the least
 * recently seen one, which comes back with a fresh bucket, while the
 * others keep their (empty) buckets.
 */
START_TEST(test_evict_lru)
{
	struct ratelimit *rl = ratelimit_new(1, 1, RATELIMIT_WINDOW);
	struct ratelimit_stats st;
	struct sockaddr_in s[RATELIMIT_WINDOW + 1];
	uint64_t t = 100 * NS;

	for (unsigned i = 0; i <= RATELIMIT_WINDOW; i++)
		s[i] = sa4(0x0a000001 + i);
	/* Sources 0-7 each spend their one token at t+0..t+7 ns. */
	for (unsigned i = 0; i < RATELIMIT_WINDOW; i++)
		ck_assert_int_eq(ratelimit_allow(rl,
		    (const struct sockaddr *)&s[i], t + i), 1);
	/* Source 0 is seen again (dropped): 1 is now the oldest. */
	ck_assert_int_eq(ratelimit_allow(rl, (const struct sockaddr *)&s[0],
	    t + 10), 0);
	ratelimit_get_stats(rl, &st);
	ck_assert_uint_eq(st.used, RATELIMIT_WINDOW);
	ck_assert_uint_eq(st.evictions, 0);
	/* Source 8 is new: it evicts 1. */
	ck_assert_int_eq(ratelimit_allow(rl, (const struct sockaddr *)&s[8],
	    t + 11), 1);
	ratelimit_get_stats(rl, &st);
	ck_assert_uint_eq(st.used, RATELIMIT_WINDOW);
	ck_assert_uint_eq(st.evictions, 1);
	/* 0 and 2-8 still hold empty buckets (a token takes 1 s). */
	for (unsigned i = 0; i <= RATELIMIT_WINDOW; i++)
		if (i != 1)
			ck_assert_msg(ratelimit_allow(rl,
			    (const struct sockaddr *)&s[i], t + 20) == 0,
			    "source %u lost its bucket", i);
	/* 1 was forgotten: a fresh bucket (and it evicts someone else). */
	ck_assert_int_eq(ratelimit_allow(rl, (const struct sockaddr *)&s[1],
	    t + 30), 1);
	ratelimit_free(rl);
}
END_TEST

/*
 * A million spoofed sources, one packet each: every one passes (a new
 * source has a full bucket), the table neither grows nor allocates, at
 * most one window of slots is looked at per packet, and a legitimate
 * source that had been limited before the flood is served after it.
 */
START_TEST(test_flood)
{
	struct ratelimit *rl = ratelimit_new(10, 20, 0);
	const struct sockaddr *legit = sa("192.0.2.200");
	struct ratelimit_stats before, after;
	struct mallinfo2 m0, m1;
	uint64_t t = 50 * NS;
	unsigned pass = 0;
	const unsigned flood = 1000000;

	ck_assert_uint_eq(send_n(rl, legit, t, 30), 20);
	ratelimit_get_stats(rl, &before);
	m0 = mallinfo2();
	/* 1e6 distinct sources over one second (10.0.0.0/8 and up). */
	for (unsigned i = 0; i < flood; i++) {
		struct sockaddr_in s = sa4(0x0a000000 + i);

		pass += (unsigned)ratelimit_allow(rl,
		    (const struct sockaddr *)&s, t + (uint64_t)i * 1000);
	}
	m1 = mallinfo2();
	ratelimit_get_stats(rl, &after);
	ck_assert_uint_eq(pass, flood);
	/* glibc's count of bytes in use; ASan's allocator is not glibc's, so
	 * there it would compare two constants. */
#if !HAVE_ASAN
	ck_assert_uint_eq(m1.uordblks, m0.uordblks);
#else
	(void)m0;
	(void)m1;
#endif
	ck_assert_uint_eq(after.bytes, before.bytes);
	ck_assert_uint_eq(after.slots, 4096);
	ck_assert_uint_eq(after.used, 4096);
	ck_assert_uint_ge(after.evictions, flood - 4096);
	ck_assert_uint_le(after.probes - before.probes,
	    (uint64_t)RATELIMIT_WINDOW * flood);
	ck_assert_uint_eq(after.lookups - before.lookups, flood);
	/* The legitimate source: 1 s later it is served again. */
	ck_assert_int_eq(ratelimit_allow(rl, legit, t + 1 * NS), 1);
	ratelimit_free(rl);
}
END_TEST

/*
 * 10 packets/s against rate 1, burst 1 for 20 s: 20 pass, 180 are
 * dropped, and Kiss-o'-Death goes out at 0.1 s, 8.1 s and 16.1 s only.
 */
START_TEST(test_kod_pacing)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 0);
	const struct sockaddr *a = sa("192.0.2.50");
	uint64_t kod_at[8];
	unsigned pass = 0, drop = 0, kods = 0;

	/* Unknown source, or one that is not limited: no KoD. */
	ck_assert_int_eq(ratelimit_should_kod(rl, a, 0), 0);
	for (uint64_t k = 0; k < 200; k++) {
		uint64_t now = k * 100 * MS;

		if (ratelimit_allow(rl, a, now)) {
			pass++;
			ck_assert_int_eq(ratelimit_should_kod(rl, a, now), 0);
		} else {
			drop++;
			if (ratelimit_should_kod(rl, a, now)) {
				ck_assert_uint_lt(kods, 8);
				kod_at[kods++] = now;
			}
		}
	}
	ck_assert_uint_eq(pass, 20);
	ck_assert_uint_eq(drop, 180);
	ck_assert_uint_eq(kods, 3);
	ck_assert(kod_at[0] == 100 * MS);
	ck_assert(kod_at[1] == 8100 * MS);
	ck_assert(kod_at[2] == 16100 * MS);
	/* Another limited source has its own pacing. */
	ck_assert_int_eq(ratelimit_allow(rl, sa("192.0.2.51"), 16100 * MS), 1);
	ck_assert_int_eq(ratelimit_allow(rl, sa("192.0.2.51"), 16100 * MS), 0);
	ck_assert_int_eq(ratelimit_should_kod(rl, sa("192.0.2.51"),
	    16100 * MS), 1);
	ck_assert_int_eq(ratelimit_should_kod(rl, sa("192.0.2.51"),
	    16100 * MS), 0);
	ratelimit_free(rl);
}
END_TEST

struct lines {
	char	text[2 * RATELIMIT_TOP][RATELIMIT_LINE_MAX];
	size_t	n;
};

static void
collect(void *arg, const char *text)
{
	struct lines *l = arg;

	ck_assert_uint_lt(strlen(text), RATELIMIT_LINE_MAX - 1);
	ck_assert_uint_lt(l->n, 2 * RATELIMIT_TOP);
	snprintf(l->text[l->n++], RATELIMIT_LINE_MAX, "%s", text);
}

/* ipv6_prefix: a /56 is one source, a /128 each address its own. */
START_TEST(test_ipv6_prefix)
{
	struct ratelimit *rl = ratelimit_new(1, 4, 0);
	struct lines l = { .n = 0 };
	uint64_t t = 3 * NS;

	ck_assert_int_eq(ratelimit_set_ipv6_prefix(rl, 31), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ratelimit_set_ipv6_prefix(rl, 129), -1);
	ck_assert_int_eq(ratelimit_set_ipv6_prefix(rl, 56), 0);
	/* Two /64s of one /56 share a bucket; the next /56 does not. */
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:1:200::1"), t, 3), 3);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:1:2ff:ffff::1"), t, 3), 1);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:1:300::1"), t, 5), 4);
	/* The summary names the /56. */
	ck_assert_uint_eq(ratelimit_report(rl, collect, &l), 2);
	ck_assert_str_eq(l.text[0], "2001:db8:1:200::/56: 2 dropped");
	/* IPv4 sources are addresses whatever the IPv6 prefix. */
	ck_assert_uint_eq(send_n(rl, sa("192.0.2.1"), t, 5), 4);
	ck_assert_uint_eq(send_n(rl, sa("192.0.2.2"), t, 5), 4);
	ratelimit_free(rl);

	rl = ratelimit_new(1, 4, 0);
	ck_assert_int_eq(ratelimit_set_ipv6_prefix(rl, 128), 0);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8::1"), t, 5), 4);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8::2"), t, 5), 4);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8::1"), t, 1), 0);
	ratelimit_free(rl);

	/* /32, the shortest: everything in 2001:db8::/32 together. */
	rl = ratelimit_new(1, 4, 0);
	ck_assert_int_eq(ratelimit_set_ipv6_prefix(rl, 32), 0);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8::1"), t, 2), 2);
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:ffff:ffff::1"), t, 5), 2);
	ck_assert_uint_eq(send_n(rl, sa("2001:db9::1"), t, 5), 4);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_summary)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 0);
	struct ratelimit_summary sum;
	struct lines l = { .n = 0 };
	char name[64];
	size_t n;

	/* Sources 192.0.2.1-12: source i is dropped i times. */
	for (unsigned i = 1; i <= 12; i++) {
		snprintf(name, sizeof(name), "192.0.2.%u", i);
		ck_assert_uint_eq(send_n(rl, sa(name), NS, i + 1), 1);
	}
	/* An IPv6 /64 dropped 11 times, tied with 192.0.2.11. */
	ck_assert_uint_eq(send_n(rl, sa("2001:db8:7:8::9"), NS, 12), 1);
	/* A source that was never limited is not listed. */
	ck_assert_uint_eq(send_n(rl, sa("198.51.100.1"), NS, 1), 1);

	n = ratelimit_report(rl, collect, &l);
	ck_assert_uint_eq(n, RATELIMIT_TOP + 1);
	ck_assert_uint_eq(l.n, RATELIMIT_TOP + 1);
	ck_assert_str_eq(l.text[0], "192.0.2.12: 12 dropped");
	ck_assert_str_eq(l.text[1], "192.0.2.11: 11 dropped");
	ck_assert_str_eq(l.text[2], "2001:db8:7:8::/64: 11 dropped");
	ck_assert_str_eq(l.text[3], "192.0.2.10: 10 dropped");
	ck_assert_str_eq(l.text[9], "192.0.2.4: 4 dropped");
	ck_assert_str_eq(l.text[10], "and 3 more sources: 6 dropped");

	/* The interval restarted: nothing to report. */
	l.n = 0;
	ck_assert_uint_eq(ratelimit_report(rl, collect, &l), 0);
	ck_assert_uint_eq(ratelimit_take_summary(rl, &sum), 0);
	ck_assert_uint_eq(sum.dropped, 0);
	ck_assert_uint_eq(sum.ntop, 0);

	/* One source, one line; singular "source" for one more. */
	ck_assert_uint_eq(send_n(rl, sa("192.0.2.1"), NS, 3), 0);
	ck_assert_uint_eq(ratelimit_take_summary(rl, &sum), 1);
	ck_assert_uint_eq(sum.ntop, 1);
	ck_assert_str_eq(sum.top[0].source, "192.0.2.1");
	ck_assert_uint_eq(sum.top[0].dropped, 3);
	ck_assert_uint_eq(sum.more_sources, 0);
	ck_assert_uint_eq(sum.dropped, 3);
	for (unsigned i = 1; i <= 11; i++) {
		snprintf(name, sizeof(name), "192.0.2.%u", i);
		ck_assert_uint_eq(send_n(rl, sa(name), NS, 1), 0);
	}
	l.n = 0;
	ck_assert_uint_eq(ratelimit_report(rl, collect, &l), 11);
	ck_assert_str_eq(l.text[10], "and 1 more source: 1 dropped");
	ratelimit_free(rl);
}
END_TEST

/*
 * 50000 limited sources in a 4096-slot table, most evicted with drops
 * pending: still at most 11 lines, and every drop is accounted for.
 */
START_TEST(test_summary_bounded)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 0);
	struct ratelimit_summary sum;
	struct lines l = { .n = 0 };
	uint64_t listed = 0;
	size_t limited;

	for (uint32_t i = 0; i < 50000; i++) {
		struct sockaddr_in s = sa4(0xc6120000 + i);

		ck_assert_uint_eq(send_n(rl, (const struct sockaddr *)&s,
		    NS + i, 3), 1);
	}
	limited = ratelimit_take_summary(rl, &sum);
	ck_assert_uint_eq(limited, 50000);
	ck_assert_uint_eq(sum.dropped, 100000);
	ck_assert_uint_eq(sum.ntop, RATELIMIT_TOP);
	for (size_t i = 0; i < sum.ntop; i++) {
		ck_assert_uint_eq(sum.top[i].dropped, 2);
		listed += sum.top[i].dropped;
	}
	ck_assert_uint_eq(sum.more_sources, 50000 - RATELIMIT_TOP);
	ck_assert_uint_eq(sum.more_dropped + listed, 100000);

	for (uint32_t i = 0; i < 50000; i++) {
		struct sockaddr_in s = sa4(0xc6130000 + i);

		send_n(rl, (const struct sockaddr *)&s, 2 * NS + i, 2);
	}
	ck_assert_uint_eq(ratelimit_report(rl, collect, &l), RATELIMIT_TOP + 1);
	ck_assert_str_eq(l.text[RATELIMIT_TOP],
	    "and 49990 more sources: 49990 dropped");
	ratelimit_free(rl);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_new_invalid);
	tcase_add_test(tc, test_burst_then_drop);
	tcase_add_test(tc, test_refill);
	tcase_add_test(tc, test_refill_no_drift);
	tcase_add_test(tc, test_ipv6_slash64);
	tcase_add_test(tc, test_ipv6_prefix);
	tcase_add_test(tc, test_ipv4_mapped);
	tcase_add_test(tc, test_siphash13_vector);
	tcase_add_test(tc, test_evict_lru);
	tcase_add_test(tc, test_flood);
	tcase_add_test(tc, test_kod_pacing);
	tcase_add_test(tc, test_summary);
	tcase_add_test(tc, test_summary_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(ratelimit_suite());
}
