/*
 * fuzz_ratelimit.c - the rate limiter against a reference model.  Input:
 * 4 bytes rate, 4 bytes burst (any non-zero values), then operations of
 * 6 bytes: source (low 3 bits of byte 0: one of 8 addresses, some of
 * them one source: IPv4 and its IPv4-mapped form, two addresses of one
 * IPv6 /64), flags (bit 3: ask for a KoD after a drop, bit 4: take the
 * summary, bit 5: time steps back), and a 5-byte time step in ns.  With
 * at most 5 sources nothing is ever evicted, so every verdict, KoD and
 * summary must equal the model's: an exact, 128-bit token bucket.
 */
#include "config.h"

#include "fuzz.h"
#include "ratelimit.h"

#define UNIT	1000000000ULL
#define NSRC	8

static struct sockaddr_storage src[NSRC];
static const int key_of[NSRC] = { 0, 0, 1, 2, 2, 3, 4, 4 };
static const char *const key_text[5] = { "192.0.2.1", "192.0.2.2",
	"2001:db8:0:1::/64", "2001:db8::/64", "10.0.0.1" };

struct model {
	unsigned __int128	tokens;
	uint64_t		last;
	uint64_t		kod;
	int			kod_sent, seen, limited;
	uint64_t		dropped;
};

static void
set(int i, const char *text)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&src[i];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&src[i];

	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		FUZZ_CHECK(inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1);
		sin6->sin6_family = AF_INET6;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	set(0, "192.0.2.1");
	set(1, "::ffff:192.0.2.1");
	set(2, "192.0.2.2");
	set(3, "2001:db8:0:1::1");
	set(4, "2001:db8:0:1:8000::77");
	set(5, "2001:db8::1");
	set(6, "10.0.0.1");
	set(7, "::ffff:10.0.0.1");
	return 0;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
check_summary(struct ratelimit *rl, struct model *m)
{
	struct ratelimit_summary sum;
	uint64_t total = 0, listed = 0;
	size_t limited = 0, got;

	got = ratelimit_take_summary(rl, &sum);
	for (int k = 0; k < 5; k++)
		if (m[k].dropped > 0) {
			limited++;
			total += m[k].dropped;
		}
	FUZZ_CHECK(got == limited);
	FUZZ_CHECK(sum.ntop == limited);	/* 5 < RATELIMIT_TOP */
	FUZZ_CHECK(sum.dropped == total);
	FUZZ_CHECK(sum.more_sources == 0);
	for (size_t i = 0; i < sum.ntop; i++) {
		int found = 0;

		for (int k = 0; k < 5; k++)
			if (strcmp(sum.top[i].source, key_text[k]) == 0) {
				FUZZ_CHECK(sum.top[i].dropped == m[k].dropped);
				found = 1;
			}
		FUZZ_CHECK(found);
		if (i > 0)
			FUZZ_CHECK(sum.top[i - 1].dropped >=
			    sum.top[i].dropped);
		listed += sum.top[i].dropped;
	}
	FUZZ_CHECK(listed == total);
	for (int k = 0; k < 5; k++)
		m[k].dropped = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m[5];
	struct ratelimit *rl;
	unsigned __int128 cap;
	uint32_t rate, burst;
	uint64_t now = 1;

	if (size < 8)
		return 0;
	rate = get32(data);
	burst = get32(data + 4);
	rl = ratelimit_new(rate, burst, 64);
	if (rate == 0 || burst == 0) {
		FUZZ_CHECK(rl == NULL);
		return 0;
	}
	FUZZ_CHECK(rl != NULL);
	cap = (unsigned __int128)burst * UNIT;
	memset(m, 0, sizeof(m));
	for (size_t pos = 8; pos + 6 <= size; pos += 6) {
		int s = data[pos] & 7, k = key_of[s], got, want, kod;
		uint64_t step = (uint64_t)data[pos + 1] << 32 |
		    get32(data + pos + 2);
		struct model *e = &m[k];

		if (data[pos] & 0x20)
			now = now > step ? now - step : 0;
		else
			now = now + step < now ? UINT64_MAX : now + step;
		if (!e->seen) {
			e->seen = 1;
			e->tokens = cap;
			e->last = now;
		} else if (now > e->last) {
			e->tokens += (unsigned __int128)(now - e->last) * rate;
			if (e->tokens > cap)
				e->tokens = cap;
			e->last = now;
		}
		want = e->tokens >= UNIT;
		if (want)
			e->tokens -= UNIT;
		else
			e->dropped++;
		e->limited = !want;
		got = ratelimit_allow(rl, (const struct sockaddr *)&src[s],
		    now);
		FUZZ_CHECK(got == want);
		if (data[pos] & 0x08) {
			int may = e->limited && (!e->kod_sent ||
			    (now >= e->kod && now - e->kod >=
			    RATELIMIT_KOD_INTERVAL_NS));

			kod = ratelimit_should_kod(rl,
			    (const struct sockaddr *)&src[s], now);
			FUZZ_CHECK(kod == may);
			if (may) {
				e->kod_sent = 1;
				e->kod = now;
			}
		}
		if (data[pos] & 0x10)
			check_summary(rl, m);
	}
	check_summary(rl, m);
	ratelimit_free(rl);
	return 0;
}
