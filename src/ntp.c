/*
 * ntp.c - NTP and RFC 868 wire formats.
 *
 * NTP timestamps count seconds modulo 2^32 from 1900-01-01T00:00:00Z; era 0
 * ends at 2036-02-07T06:28:16Z, when the seconds field wraps to 0 and era 1
 * begins.  Converting to the wire simply reduces modulo 2^32; converting
 * back needs a pivot (a time known to be within 68 years of the answer,
 * such as the local clock) to pick the era, as RFC 5905 section 6 says.
 */
#include "config.h"

#include <sys/timex.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ntp.h"
#include "wire.h"

static ntp_kernel_fn ntp_kernel_hook = ntp_kernel_query;

/* The wire value of a time: reducing modulo 2^32 puts 2036+ in era 1. */
void
ntp_ts_from_timespec(const struct timespec *ts, struct ntp_ts *out)
{
	uint64_t nsec = (uint64_t)ts->tv_nsec;

	if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
		nsec = 0;
	out->sec = (uint32_t)((uint64_t)(int64_t)ts->tv_sec +
	    (uint64_t)NTP_UNIX_OFFSET);
	/* Truncates, so the rounding in ntp_ts_to_timespec() round-trips. */
	out->frac = (uint32_t)((nsec << 32) / 1000000000U);
}

/*
 * The Unix time closest to pivot whose NTP seconds equal t->sec: the
 * difference modulo 2^32, read as signed, is added to the pivot.
 */
void
ntp_ts_to_timespec(const struct ntp_ts *t, time_t pivot, struct timespec *out)
{
	struct ntp_ts p;
	struct timespec pts = { pivot, 0 };
	uint32_t udiff;
	int64_t diff, nsec;

	ntp_ts_from_timespec(&pts, &p);
	udiff = t->sec - p.sec;
	diff = udiff >= 0x80000000U ? (int64_t)udiff - 0x100000000LL :
	    (int64_t)udiff;
	nsec = (int64_t)(((uint64_t)t->frac * 1000000000U + 0x80000000U) >> 32);
	out->tv_sec = (time_t)((int64_t)pivot + diff);
	if (nsec >= 1000000000) {
		nsec -= 1000000000;
		out->tv_sec++;
	}
	out->tv_nsec = (long)nsec;
}

/* Microseconds to the 16.16 fixed-point NTP short format, rounded up so
 * an error bound is never understated, saturating. */
uint32_t
ntp_short_from_us(long us)
{
	uint64_t v;

	if (us <= 0)
		return 0;
	if ((unsigned long)us >= 65536000000ULL)
		return UINT32_MAX;
	v = ((uint64_t)us * 65536U + 999999U) / 1000000U;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* 2^log2s seconds (a precision or poll) in the NTP short format, rounded
 * up to one unit and saturating. */
uint32_t
ntp_short_from_log2(int log2s)
{
	if (log2s >= 16)
		return UINT32_MAX;
	if (log2s >= 0)
		return (uint32_t)65536U << log2s;
	if (log2s <= -16)
		return 1;
	return 65536U >> -log2s;
}

uint32_t
ntp_rfc868_seconds(time_t unix_sec)
{
	return (uint32_t)((uint64_t)(int64_t)unix_sec +
	    (uint64_t)NTP_UNIX_OFFSET);
}

void
ntp_rfc868_encode(time_t unix_sec, unsigned char out[4])
{
	wire_put32(out, ntp_rfc868_seconds(unix_sec));
}

static void
put_ts(unsigned char *p, const struct ntp_ts *t)
{
	wire_put32(p, t->sec);
	wire_put32(p + 4, t->frac);
}

static void
get_ts(const unsigned char *p, struct ntp_ts *t)
{
	t->sec = wire_get32(p);
	t->frac = wire_get32(p + 4);
}

int
ntp_decode(const unsigned char *buf, size_t len, struct ntp_packet *p)
{
	if (buf == NULL || len < NTP_PACKET_LEN)
		return -1;
	p->li = buf[0] >> 6;
	p->vn = (buf[0] >> 3) & 7;
	p->mode = buf[0] & 7;
	p->stratum = buf[1];
	p->poll = (int8_t)buf[2];
	p->precision = (int8_t)buf[3];
	p->root_delay = wire_get32(buf + 4);
	p->root_dispersion = wire_get32(buf + 8);
	memcpy(p->refid, buf + 12, 4);
	get_ts(buf + 16, &p->ref);
	get_ts(buf + 24, &p->org);
	get_ts(buf + 32, &p->rec);
	get_ts(buf + 40, &p->xmt);
	return 0;
}

void
ntp_encode(const struct ntp_packet *p, unsigned char out[NTP_PACKET_LEN])
{
	out[0] = (unsigned char)((p->li & 3) << 6 | (p->vn & 7) << 3 |
	    (p->mode & 7));
	out[1] = p->stratum;
	out[2] = (unsigned char)p->poll;
	out[3] = (unsigned char)p->precision;
	wire_put32(out + 4, p->root_delay);
	wire_put32(out + 8, p->root_dispersion);
	memcpy(out + 12, p->refid, 4);
	put_ts(out + 16, &p->ref);
	put_ts(out + 24, &p->org);
	put_ts(out + 32, &p->rec);
	put_ts(out + 40, &p->xmt);
}

/*
 * Only client-mode requests get answers: a server or broadcast packet
 * (4, 5), a control or private query (6, 7) or a symmetric peer would
 * otherwise let anyone bounce traffic between NTP servers.  Anything
 * after the 48-byte header (extension fields, MAC) is ignored.
 */
int
ntp_parse_request(const unsigned char *buf, size_t len,
    struct ntp_packet *req)
{
	if (ntp_decode(buf, len, req) == -1)
		return -1;
	if (req->mode != NTP_MODE_CLIENT)
		return -1;
	if (req->vn < 1 || req->vn > 4)
		return -1;
	return 0;
}

size_t
ntp_build_reply(const struct ntp_packet *req,
    const struct ntp_server_info *si, const struct timespec *rx,
    ntp_clock_fn clock, unsigned char *out, size_t cap)
{
	struct ntp_packet p;
	struct timespec tx;

	if (cap < NTP_PACKET_LEN)
		return 0;
	memset(&p, 0, sizeof(p));
	p.li = si->li;
	p.vn = req->vn;
	p.mode = NTP_MODE_SERVER;
	p.stratum = si->stratum;
	p.poll = req->poll;
	p.precision = si->precision;
	p.root_delay = si->root_delay;
	p.root_dispersion = si->root_dispersion;
	memcpy(p.refid, si->refid, 4);
	if (si->reftime.tv_sec != 0 || si->reftime.tv_nsec != 0)
		ntp_ts_from_timespec(&si->reftime, &p.ref);
	p.org = req->xmt;
	ntp_ts_from_timespec(rx, &p.rec);
	/* The transmit timestamp is the last thing read. */
	if (clock != NULL)
		clock(&tx);
	else
		tx = *rx;
	ntp_ts_from_timespec(&tx, &p.xmt);
	ntp_encode(&p, out);
	return NTP_PACKET_LEN;
}

/*
 * RFC 5905 section 7.4: LI 3, stratum 0 and the kiss code in refid.  As
 * ntpd does, the reference timestamp is 0 and the three others echo the
 * client's transmit timestamp, so
 * the packet costs no clock read and tells nothing about our time; a
 * client that ignores the kiss still cannot synchronise to it.
 */
size_t
ntp_build_kod(const unsigned char *req, size_t reqlen, unsigned char *out,
    size_t cap)
{
	return ntp_build_kod_code(req, reqlen, "RATE", out, cap);
}

size_t
ntp_build_kod_code(const unsigned char *req, size_t reqlen,
    const char code[4], unsigned char *out, size_t cap)
{
	struct ntp_packet q, p;

	if (cap < NTP_PACKET_LEN || ntp_parse_request(req, reqlen, &q) == -1)
		return 0;
	memset(&p, 0, sizeof(p));
	p.li = NTP_LI_UNSYNC;
	p.vn = q.vn;
	p.mode = NTP_MODE_SERVER;
	p.stratum = NTP_STRATUM_UNSPEC;
	p.poll = q.poll;
	memcpy(p.refid, code, 4);
	p.org = q.xmt;
	p.rec = q.xmt;
	p.xmt = q.xmt;
	ntp_encode(&p, out);
	return NTP_PACKET_LEN;
}

int
ntp_ef_at(const unsigned char *buf, size_t len, size_t off, struct ntp_ef *ef)
{
	size_t flen;

	if (off > len || len - off < NTP_EF_MIN)
		return -1;
	flen = wire_get16(buf + off + 2);
	if (flen < NTP_EF_MIN || flen % 4 != 0 || flen > len - off)
		return -1;
	ef->type = wire_get16(buf + off);
	ef->off = off;
	ef->len = flen;
	ef->body = buf + off + 4;
	ef->body_len = flen - 4;
	return 0;
}

size_t
ntp_ef_end(const unsigned char *pkt, size_t len)
{
	struct ntp_ef ef;
	size_t off = NTP_PACKET_LEN;

	while (off < len) {
		if (len - off >= NTP_EF_MAC_MIN && len - off <= NTP_EF_MAC_MAX)
			break;
		if (ntp_ef_at(pkt, len, off, &ef) == -1)
			return (size_t)-1;
		off += ef.len;
	}
	return off;
}

/* round(log2(resolution in seconds)): doubling until the value reaches
 * 2^-0.5 counts the rounded exponent without libm. */
int8_t
ntp_precision_of(const struct timespec *res)
{
	double x = (double)res->tv_sec + (double)res->tv_nsec / 1e9;
	int p = 0;

	if (x <= 0)
		return -30;
	while (x < M_SQRT1_2 && p > -127) {
		x *= 2;
		p--;
	}
	return (int8_t)p;
}

/*
 * RFC 5905's precision is the time it takes to read the clock, not just
 * its resolution: the larger of the resolution and the smallest step seen
 * between back-to-back reads (step_ns <= 0: none seen).
 */
int8_t
ntp_precision_from(const struct timespec *res, long step_ns)
{
	struct timespec p = *res;

	if (step_ns > 0 && step_ns < 1000000000L && p.tv_sec == 0 &&
	    p.tv_nsec < step_ns)
		p.tv_nsec = step_ns;
	return ntp_precision_of(&p);
}

static int8_t precision;
static pthread_once_t precision_once = PTHREAD_ONCE_INIT;

static void
ntp_precision_measure(void)
{
	struct timespec res, a, b;
	long step = 0;

	if (clock_getres(CLOCK_REALTIME, &res) == -1) {
		precision = -20;		/* a microsecond clock */
		return;
	}
	clock_gettime(CLOCK_REALTIME, &a);
	for (int i = 0; i < 1000; i++) {
		long d;

		clock_gettime(CLOCK_REALTIME, &b);
		d = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
		if (d > 0 && (step == 0 || d < step))
			step = d;
		a = b;
	}
	precision = ntp_precision_from(&res, step);
}

/* Measured once per process: every reply and every reload agree. */
int8_t
ntp_precision(void)
{
	pthread_once(&precision_once, ntp_precision_measure);
	return precision;
}

/*
 * The kernel marks the clock unsynchronised (STA_UNSYNC, reported as
 * TIME_ERROR) until a time daemon such as chrony or ntpd disciplines it;
 * maxerror is that daemon's root distance, grown by the kernel over time.
 */
int
ntp_kernel_query(struct ntp_kstate *ks)
{
	struct timex tx;
	int r;

	memset(&tx, 0, sizeof(tx));
	memset(ks, 0, sizeof(*ks));
	r = ntp_adjtime(&tx);
	if (r == -1) {
		static int said;

		/* Say once why every reply claims an unsynchronised clock
		 * (systemd's ProtectClock= forbids even this read). */
		if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
			log_warning("cannot read the kernel clock state (%s): "
			    "SNTP replies say unsynchronised unless stratum "
			    "is set", strerror(errno));
		return -1;
	}
	ks->synced = r != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
	ks->maxerror_us = tx.maxerror;
	return 0;
}

int
ntp_kernel_state(struct ntp_kstate *ks)
{
	memset(ks, 0, sizeof(*ks));
	if (ntp_kernel_hook(ks) == -1) {
		ks->synced = 0;
		return -1;
	}
	return 0;
}

ntp_kernel_fn
ntp_set_kernel_hook(ntp_kernel_fn fn)
{
	ntp_kernel_fn old = ntp_kernel_hook;

	ntp_kernel_hook = fn != NULL ? fn : ntp_kernel_query;
	return old;
}
