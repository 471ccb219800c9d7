/*
 * test_time.c - the time module (format, sntp, rfc868, daytime) and the
 * NTP wire format, with an injected clock and an injected kernel state.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "module.h"
#include "ntp.h"
#include "unit.h"

/* 2026-11-21T23:36:47Z and the NTP seconds of that instant. */
#define T_2026		1795304207
#define T_2026_NTP	0xeeaca98fU
/* 2026-11-01T05:06:07Z, a single-digit day. */
#define T_2026_NOV1	1793509567
/* 2036-02-07T06:28:16Z: NTP era 1 begins. */
#define T_ERA1		2085978496
/* 2040-01-01T00:00:00Z */
#define T_2040		2208988800

static int kernel_calls;

static int
k_synced(struct ntp_kstate *ks)
{
	kernel_calls++;
	ks->synced = 1;
	ks->maxerror_us = 250000;
	return 0;
}

static int
k_unsynced(struct ntp_kstate *ks)
{
	kernel_calls++;
	ks->synced = 0;
	ks->maxerror_us = 16000000;
	return 0;
}

static int
k_fails(struct ntp_kstate *ks)
{
	kernel_calls++;
	ks->synced = 1;		/* must be ignored */
	return -1;
}

static void
setup(void)
{
	kernel_calls = 0;
	ntp_set_kernel_hook(k_unsynced);
	setenv("TZ", "UTC0", 1);
	tzset();
}

static void
teardown(void)
{
	ntp_set_kernel_hook(NULL);
}

/* Creates an instance from the text of a "svc" group; NULL on error. */
static void *
mk(const char *text, struct conf_err *err)
{
	struct module_ctx ctx = { .service = "t" };

	return unit_create(&module_time, text, "svc", "/tmp", &ctx, err);
}

static void *
mk_ok(const char *text)
{
	struct conf_err err;
	void *st = mk(text, &err);

	ck_assert_msg(st != NULL, "create failed: %s", err.msg);
	return st;
}

static void
mk_fails(const char *text, const char *msg)
{
	struct conf_err err;
	void *st = mk(text, &err);

	ck_assert_ptr_null(st);
	ck_assert_str_eq(err.msg, msg);
}

static unsigned char rbuf[UDPD_MAX_DATAGRAM + 16];

/* Runs one request received at rx; the reply is in rbuf. */
static enum udpd_verdict
run(void *st, const void *data, size_t len, time_t rx_sec, long rx_nsec,
    size_t *outlen)
{
	struct udpd_request req;
	struct udpd_reply rep;
	enum udpd_verdict v;

	memset(&req, 0, sizeof(req));
	req.data = data;
	req.len = len;
	req.rx_time.tv_sec = rx_sec;
	req.rx_time.tv_nsec = rx_nsec;
	req.now = unit_clock;
	memset(rbuf, 0xee, sizeof(rbuf));
	rep.buf = rbuf;
	rep.cap = UDPD_MAX_DATAGRAM;
	rep.len = 0;
	v = module_time.handle(st, &req, &rep);
	*outlen = rep.len;
	ck_assert_uint_le(rep.len, UDPD_MAX_DATAGRAM);
	ck_assert_uint_eq(rbuf[UDPD_MAX_DATAGRAM], 0xee);
	return v;
}

/* A text request and its exact reply. */
static void
check_text(void *st, const char *req, size_t reqlen, time_t rx,
    enum udpd_verdict want_v, const char *want)
{
	size_t len;
	enum udpd_verdict v = run(st, req, reqlen, rx, 123456789, &len);

	ck_assert_msg(v == want_v, "verdict %d for \"%.*s\": \"%.*s\"",
	    (int)v, (int)(reqlen > 40 ? 40 : reqlen), req, (int)len, rbuf);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_msg(memcmp(rbuf, want, len) == 0, "reply \"%.*s\", want "
	    "\"%s\"", (int)len, rbuf, want);
}

static void
check_str(void *st, const char *req, time_t rx, const char *want)
{
	check_text(st, req, strlen(req), rx, UDPD_REPLY, want);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* A client request of len bytes; bytes past 48 look like extensions. */
static void
mkreq(unsigned char *b, size_t len, int vn, int mode, int poll)
{
	memset(b, 0, len);
	if (len > NTP_PACKET_LEN)
		memset(b + NTP_PACKET_LEN, 0xab, len - NTP_PACKET_LEN);
	if (len < 1)
		return;
	b[0] = (unsigned char)(vn << 3 | mode);
	if (len >= NTP_PACKET_LEN) {
		b[2] = (unsigned char)poll;
		b[3] = 0xfa;			/* client precision */
		memcpy(b + 12, "XXXX", 4);	/* must not be echoed */
		put32(b + 40, 0x12345678);	/* transmit: a cookie */
		put32(b + 44, 0x9abcdef0);
	}
}

/* ---- timestamps ------------------------------------------------------ */

START_TEST(test_ts_unix_epoch)
{
	struct timespec ts = { 0, 500000000 };
	struct ntp_ts t;

	ntp_ts_from_timespec(&ts, &t);
	ck_assert_uint_eq(t.sec, 2208988800U);
	ck_assert_uint_eq(t.frac, 0x80000000U);
	ts.tv_sec = T_2026;
	ts.tv_nsec = 250000000;
	ntp_ts_from_timespec(&ts, &t);
	ck_assert_uint_eq(t.sec, T_2026_NTP);
	ck_assert_uint_eq(t.frac, 0x40000000U);
}
END_TEST

START_TEST(test_ts_era_boundary)
{
	struct timespec ts = { T_ERA1 - 1, 999999999 };
	struct ntp_ts t;

	ntp_ts_from_timespec(&ts, &t);
	ck_assert_uint_eq(t.sec, 0xffffffffU);
	ck_assert_uint_eq(t.frac, 0xfffffffbU);
	ts.tv_sec = T_ERA1;
	ts.tv_nsec = 0;
	ntp_ts_from_timespec(&ts, &t);
	ck_assert_uint_eq(t.sec, 0);
	ck_assert_uint_eq(t.frac, 0);
	ts.tv_sec = T_ERA1 + 1;
	ntp_ts_from_timespec(&ts, &t);
	ck_assert_uint_eq(t.sec, 1);
	ts.tv_sec = T_2040;
	ntp_ts_from_timespec(&ts, &t);
	ck_assert_uint_eq(t.sec, 0x0754fd00U);
}
END_TEST

START_TEST(test_ts_back_with_pivot)
{
	struct ntp_ts t;
	struct timespec ts;

	/* Era 0's last second, seen from either side of the boundary. */
	t.sec = 0xffffffffU;
	t.frac = 0;
	ntp_ts_to_timespec(&t, T_2026, &ts);
	ck_assert_int_eq(ts.tv_sec, T_ERA1 - 1);
	ntp_ts_to_timespec(&t, T_2040, &ts);
	ck_assert_int_eq(ts.tv_sec, T_ERA1 - 1);
	/* Era 1's first seconds: a small value, read in 2026 or 2040. */
	t.sec = 0;
	ntp_ts_to_timespec(&t, T_2026, &ts);
	ck_assert_int_eq(ts.tv_sec, T_ERA1);
	ntp_ts_to_timespec(&t, T_2040, &ts);
	ck_assert_int_eq(ts.tv_sec, T_ERA1);
	t.sec = 5;
	ntp_ts_to_timespec(&t, T_ERA1 - 10, &ts);
	ck_assert_int_eq(ts.tv_sec, T_ERA1 + 5);
	/* An old era 0 value stays in era 0 when the pivot allows it. */
	t.sec = 2208988800U;
	ntp_ts_to_timespec(&t, T_2026, &ts);
	ck_assert_int_eq(ts.tv_sec, 0);
	t.sec = T_2026_NTP;
	t.frac = 0x40000000U;
	ntp_ts_to_timespec(&t, T_2040, &ts);
	ck_assert_int_eq(ts.tv_sec, T_2026);
	ck_assert_int_eq(ts.tv_nsec, 250000000);
}
END_TEST

START_TEST(test_ts_round_trip)
{
	static const long ns[] = { 0, 1, 2, 232, 233, 499999999, 500000000,
	    999999998, 999999999 };
	static const time_t secs[] = { 0, T_2026, T_ERA1 - 1, T_ERA1,
	    T_2040 };
	struct timespec in, out;
	struct ntp_ts t;
	size_t i, j;

	for (i = 0; i < sizeof(secs) / sizeof(*secs); i++) {
		for (j = 0; j < sizeof(ns) / sizeof(*ns); j++) {
			in.tv_sec = secs[i];
			in.tv_nsec = ns[j];
			ntp_ts_from_timespec(&in, &t);
			ntp_ts_to_timespec(&t, T_2026, &out);
			ck_assert_int_eq(out.tv_sec, in.tv_sec);
			ck_assert_int_eq(out.tv_nsec, in.tv_nsec);
		}
	}
	/* The largest fraction rounds up into the next second. */
	t.sec = 0xffffffffU;
	t.frac = 0xffffffffU;
	ntp_ts_to_timespec(&t, T_2026, &out);
	ck_assert_int_eq(out.tv_sec, T_ERA1);
	ck_assert_int_eq(out.tv_nsec, 0);
}
END_TEST

START_TEST(test_short_format)
{
	ck_assert_uint_eq(ntp_short_from_us(0), 0);
	ck_assert_uint_eq(ntp_short_from_us(-5), 0);
	ck_assert_uint_eq(ntp_short_from_us(1), 1);	/* rounded up */
	ck_assert_uint_eq(ntp_short_from_us(250000), 0x4000);
	ck_assert_uint_eq(ntp_short_from_us(1000000), 0x10000);
	ck_assert_uint_eq(ntp_short_from_us(16000000), 0x100000);
	ck_assert_uint_eq(ntp_short_from_us(0x7fffffffL), 140737489U);
	ck_assert_uint_eq(ntp_short_from_us(LONG_MAX), UINT32_MAX);
	ck_assert_uint_eq(ntp_short_from_log2(0), 0x10000);
	ck_assert_uint_eq(ntp_short_from_log2(3), 0x80000);
	ck_assert_uint_eq(ntp_short_from_log2(15), 0x80000000U);
	ck_assert_uint_eq(ntp_short_from_log2(16), UINT32_MAX);
	ck_assert_uint_eq(ntp_short_from_log2(-8), 0x100);
	ck_assert_uint_eq(ntp_short_from_log2(-16), 1);
	ck_assert_uint_eq(ntp_short_from_log2(-30), 1);	/* rounded up */
	ck_assert_uint_eq(ntp_short_from_log2(-128), 1);
}
END_TEST

START_TEST(test_precision)
{
	struct timespec r = { 0, 1 };

	ck_assert_int_eq(ntp_precision_of(&r), -30);
	r.tv_nsec = 1000;
	ck_assert_int_eq(ntp_precision_of(&r), -20);
	r.tv_nsec = 1000000;
	ck_assert_int_eq(ntp_precision_of(&r), -10);
	r.tv_nsec = 4000000;			/* HZ=250 coarse clock */
	ck_assert_int_eq(ntp_precision_of(&r), -8);
	r.tv_nsec = 0;
	r.tv_sec = 1;
	ck_assert_int_eq(ntp_precision_of(&r), 0);
}
END_TEST

/* The precision is the slower of the resolution and the read time. */
START_TEST(test_precision_from)
{
	struct timespec ns = { 0, 1 }, coarse = { 0, 4000000 };

	ck_assert_int_eq(ntp_precision_from(&ns, 0), -30);	/* no step */
	ck_assert_int_eq(ntp_precision_from(&ns, 30), -25);	/* 30 ns */
	ck_assert_int_eq(ntp_precision_from(&ns, 1000), -20);
	ck_assert_int_eq(ntp_precision_from(&coarse, 30), -8);
	ck_assert_int_eq(ntp_precision_from(&coarse, 8000000), -7);
	ck_assert_int_eq(ntp_precision_from(&ns, 1000000000L), -30);
}
END_TEST


/* ---- rfc868 ---------------------------------------------------------- */

START_TEST(test_rfc868_seconds)
{
	unsigned char b[4];

	ck_assert_uint_eq(ntp_rfc868_seconds(0), 2208988800U);
	ck_assert_uint_eq(ntp_rfc868_seconds(T_2026), T_2026_NTP);
	ck_assert_uint_eq(ntp_rfc868_seconds(T_ERA1 - 1), 0xffffffffU);
	ck_assert_uint_eq(ntp_rfc868_seconds(T_ERA1), 0);
	ck_assert_uint_eq(ntp_rfc868_seconds(T_ERA1 + 1), 1);
	ck_assert_uint_eq(ntp_rfc868_seconds(T_2040), 0x0754fd00U);
	ntp_rfc868_encode(T_2026, b);
	ck_assert_mem_eq(b, "\xee\xac\xa9\x8f", 4);
}
END_TEST

START_TEST(test_rfc868_module)
{
	void *st = mk_ok("svc = { protocol = \"rfc868\"; };");
	unsigned char junk[100];
	size_t len;

	ck_assert_int_eq(run(st, "", 0, T_2026, 999999999, &len), UDPD_REPLY);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(rbuf, "\xee\xac\xa9\x8f", 4);
	memset(junk, 0x5a, sizeof(junk));
	ck_assert_int_eq(run(st, junk, sizeof(junk), T_ERA1 - 1, 0, &len),
	    UDPD_REPLY);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(rbuf, "\xff\xff\xff\xff", 4);
	ck_assert_int_eq(run(st, "x\n", 2, T_ERA1, 0, &len), UDPD_REPLY);
	ck_assert_mem_eq(rbuf, "\x00\x00\x00\x00", 4);
	ck_assert_int_eq(run(st, NULL, 0, T_ERA1 + 1, 0, &len), UDPD_REPLY);
	ck_assert_mem_eq(rbuf, "\x00\x00\x00\x01", 4);
	module_time.destroy(st);
}
END_TEST

/* ---- daytime --------------------------------------------------------- */

START_TEST(test_daytime_utc)
{
	void *st = mk_ok("svc = { protocol = \"daytime\"; utc = true; };");

	setenv("TZ", "EST5", 1);
	tzset();
	check_text(st, "", 0, T_2026, UDPD_REPLY,
	    "Sat Nov 21 23:36:47 2026\r\n");
	check_text(st, "anything\n", 9, T_2026_NOV1, UDPD_REPLY,
	    "Sun Nov  1 05:06:07 2026\r\n");
	check_text(st, "", 0, T_ERA1, UDPD_REPLY,
	    "Thu Feb  7 06:28:16 2036\r\n");
	module_time.destroy(st);
}
END_TEST

START_TEST(test_daytime_local)
{
	void *st = mk_ok("svc = { protocol = \"daytime\"; };");

	setenv("TZ", "EST5", 1);
	tzset();
	check_text(st, NULL, 0, T_2026, UDPD_REPLY,
	    "Sat Nov 21 18:36:47 2026\r\n");
	check_text(st, "", 0, T_2026_NOV1, UDPD_REPLY,
	    "Sun Nov  1 00:06:07 2026\r\n");
	module_time.destroy(st);
}
END_TEST

/* The line is ctime(3)'s, whatever the instant. */
START_TEST(test_daytime_matches_ctime)
{
	void *st = mk_ok("svc = { protocol = \"daytime\"; };");
	char want[64];
	time_t t;
	size_t len;

	for (t = 0; t < 4000000000LL; t += 86400 * 37 + 3671) {
		ck_assert_ptr_nonnull(ctime_r(&t, want));
		ck_assert_uint_eq(strlen(want), 25);
		want[24] = '\0';
		strcat(want, "\r\n");
		ck_assert_int_eq(run(st, "", 0, t, 0, &len), UDPD_REPLY);
		ck_assert_uint_eq(len, 26);
		ck_assert_mem_eq(rbuf, want, 26);
	}
	module_time.destroy(st);
}
END_TEST

/* ---- format ---------------------------------------------------------- */

START_TEST(test_format_default)
{
	void *st = mk_ok("svc = { module = \"time\"; };");

	check_str(st, "", T_2026, "2026-11-21 23:36:47\n");
	check_str(st, "\n", T_2026, "2026-11-21 23:36:47\n");
	check_str(st, "\r\n", T_2026, "2026-11-21 23:36:47\n");
	check_text(st, NULL, 0, T_2026, UDPD_REPLY, "2026-11-21 23:36:47\n");
	module_time.destroy(st);
	st = mk_ok("svc = { protocol = \"format\"; };");
	check_str(st, "", T_2026, "2026-11-21 23:36:47\n");
	module_time.destroy(st);
}
END_TEST

START_TEST(test_format_custom)
{
	void *st = mk_ok("svc = { protocol = \"format\"; };");

	check_str(st, "%H:%M", T_2026, "23:36\n");
	check_str(st, "%H:%M\n", T_2026, "23:36\n");
	check_str(st, "%H:%M\r\n", T_2026, "23:36\n");
	/* Only one line end is stripped; a lone \r is kept. */
	check_str(st, "%H:%M\n\n", T_2026, "23:36\n\n");
	check_str(st, "%H:%M\r", T_2026, "23:36\r\n");
	check_str(st, "%s", T_2026, "1795304207\n");
	check_str(st, "%%", T_2026, "%\n");
	check_str(st, "%j %a %b", T_2026, "325 Sat Nov\n");
	/* A conversion left open at the end is not completed by anything. */
	check_str(st, "abc%", T_2026, "abc%\n");
	check_str(st, "%E", T_2026, "%E\n");
	module_time.destroy(st);
}
END_TEST

START_TEST(test_format_local_and_utc)
{
	void *st = mk_ok("svc = { protocol = \"format\"; };");
	void *su = mk_ok("svc = { protocol = \"format\"; utc = true; };");

	setenv("TZ", "EST5", 1);
	tzset();
	check_str(st, "%H:%M %Z", T_2026, "18:36 EST\n");
	check_str(su, "%H:%M %Z", T_2026, "23:36 GMT\n");
	module_time.destroy(st);
	module_time.destroy(su);
}
END_TEST

/* strftime() returns 0 for an empty result too: that is not an error. */
START_TEST(test_format_empty_output)
{
	void *st = mk_ok("svc = { protocol = \"format\"; };");

	setenv("TZ", "<>5", 1);
	tzset();
	check_str(st, "%Z", T_2026, "\n");
	check_str(st, "%Z\r\n", T_2026, "\n");
	module_time.destroy(st);
}
END_TEST

START_TEST(test_format_limits)
{
	void *st = mk_ok("svc = { protocol = \"format\"; };");
	char fmt[400], want[1100];
	size_t i;

	/* 256 bytes of format are fine, with or without a line end. */
	memset(fmt, 'a', 256);
	strcpy(fmt + 256, "\r\n");
	memset(want, 'a', 256);
	strcpy(want + 256, "\n");
	check_str(st, fmt, T_2026, want);
	fmt[256] = '\0';
	check_str(st, fmt, T_2026, want);
	/* 257 are not. */
	strcpy(fmt + 256, "a\n");
	check_text(st, fmt, 258, T_2026, UDPD_REPLY_ERROR,
	    "error: format too long\n");
	fmt[257] = '\0';
	check_text(st, fmt, 257, T_2026, UDPD_REPLY_ERROR,
	    "error: format too long\n");
	/* Exactly 1024 bytes of output: 42 x 24 ("%c") + 16. */
	fmt[0] = '\0';
	for (i = 0; i < 42; i++)
		strcat(fmt, "%c");
	strcat(fmt, "bbbbbbbbbbbbbbbb");
	want[0] = '\0';
	for (i = 0; i < 42; i++)
		strcat(want, "Sat Nov 21 23:36:47 2026");
	strcat(want, "bbbbbbbbbbbbbbbb\n");
	ck_assert_uint_eq(strlen(want), 1025);
	check_str(st, fmt, T_2026, want);
	/* 1025 bytes of output are too many. */
	strcat(fmt, "b");
	check_text(st, fmt, strlen(fmt), T_2026, UDPD_REPLY_ERROR,
	    "error: output too long\n");
	/* Field widths would amplify a tiny request: refused. */
	strcpy(fmt, "%2000Y");
	check_text(st, fmt, strlen(fmt), T_2026, UDPD_REPLY_ERROR,
	    "error: field widths are not allowed\n");
	strcpy(fmt, "%_999c");
	check_text(st, fmt, strlen(fmt), T_2026, UDPD_REPLY_ERROR,
	    "error: field widths are not allowed\n");
	/* A literal "%%999c" and the flags alone are fine. */
	check_str(st, "%%999c %_d|%-d", T_2026, "%999c 21|21\n");
	module_time.destroy(st);
}
END_TEST

START_TEST(test_format_nul)
{
	void *st = mk_ok("svc = { protocol = \"format\"; };");

	check_text(st, "%H\0%M", 5, T_2026, UDPD_REPLY_ERROR,
	    "error: format contains NUL\n");
	check_text(st, "\0\n", 2, T_2026, UDPD_REPLY_ERROR,
	    "error: format contains NUL\n");
	module_time.destroy(st);
}
END_TEST

/* Hostile formats: whatever they say, the reply is bounded and sane. */
START_TEST(test_format_hostile)
{
	static const char *const fmts[] = {
		"%2147483647Y", "%99999999999999999999c", "%-2147483648d",
		"%", "%%%", "%E%O%", "%#Z%^a%_5H%05e", "%+", "%Ey%Oy%EC",
		"%1024c", "%1023Y", "\xff\xfe%c\x01", NULL
	};
	void *st = mk_ok("svc = { protocol = \"format\"; };");
	enum udpd_verdict v;
	size_t i, len;

	for (i = 0; fmts[i] != NULL; i++) {
		v = run(st, fmts[i], strlen(fmts[i]), T_2026, 0, &len);
		ck_assert(v == UDPD_REPLY || v == UDPD_REPLY_ERROR);
		ck_assert_uint_le(len, 1025);
		ck_assert_uint_ge(len, 1);
		ck_assert_uint_eq(rbuf[len - 1], '\n');
	}
	module_time.destroy(st);
}
END_TEST

/* A reply buffer smaller than the reply: nothing is written past it. */
START_TEST(test_small_buffer)
{
	static const char *const protos[] = { "format", "daytime", "rfc868",
	    "sntp" };
	struct udpd_request req;
	struct udpd_reply rep;
	unsigned char q[48];
	char cfg[100];
	size_t i;
	void *st;

	mkreq(q, sizeof(q), 4, 3, 6);
	for (i = 0; i < 4; i++) {
		snprintf(cfg, sizeof(cfg), "svc = { protocol = \"%s\"; };",
		    protos[i]);
		st = mk_ok(cfg);
		memset(&req, 0, sizeof(req));
		req.data = q;
		req.len = sizeof(q);
		req.rx_time.tv_sec = T_2026;
		req.now = unit_clock;
		memset(rbuf, 0xee, 64);
		rep.buf = rbuf;
		rep.cap = 3;
		rep.len = 99;
		ck_assert_int_eq(module_time.handle(st, &req, &rep),
		    UDPD_DROP);
		ck_assert_uint_eq(rep.len, 0);
		ck_assert_uint_eq(rbuf[3], 0xee);
		module_time.destroy(st);
	}
}
END_TEST

/* ---- sntp ------------------------------------------------------------ */

static void
check_sntp_drop(void *st, const unsigned char *q, size_t len)
{
	size_t n;

	ck_assert_int_eq(run(st, q, len, T_2026, 0, &n), UDPD_DROP);
	ck_assert_uint_eq(n, 0);
}

START_TEST(test_sntp_drops)
{
	void *st = mk_ok("svc = { protocol = \"sntp\"; stratum = 10; };");
	unsigned char q[64];
	int mode, vn;

	check_sntp_drop(st, NULL, 0);
	mkreq(q, 47, 4, 3, 6);
	check_sntp_drop(st, q, 47);
	mkreq(q, 1, 4, 3, 6);
	check_sntp_drop(st, q, 1);
	for (mode = 0; mode < 8; mode++) {
		if (mode == 3)
			continue;
		mkreq(q, 48, 4, mode, 6);
		check_sntp_drop(st, q, 48);
	}
	for (vn = 0; vn < 8; vn++) {
		if (vn >= 1 && vn <= 4)
			continue;
		mkreq(q, 48, vn, 3, 6);
		check_sntp_drop(st, q, 48);
	}
	module_time.destroy(st);
}
END_TEST

/* Every field of a reply from a synchronised kernel, byte by byte. */
START_TEST(test_sntp_reply_fields)
{
	void *st;
	unsigned char q[48];
	struct ntp_packet p;
	struct timespec ts;
	size_t len;

	ntp_set_kernel_hook(k_synced);
	st = mk_ok("svc = { protocol = \"sntp\"; };");
	mkreq(q, sizeof(q), 4, 3, 6);
	q[0] |= 2 << 6;			/* client LI must not be copied */
	unit_now.tv_sec = T_2026;
	unit_now.tv_nsec = 750000000;
	ck_assert_int_eq(run(st, q, sizeof(q), T_2026, 500000000, &len),
	    UDPD_REPLY);
	ck_assert_uint_eq(len, 48);
	ck_assert_uint_eq(rbuf[0], 0x24);	/* LI 0, VN 4, mode 4 */
	ck_assert_uint_eq(rbuf[1], 10);		/* stratum */
	ck_assert_uint_eq(rbuf[2], 6);		/* poll copied */
	ck_assert_int_eq((int8_t)rbuf[3], ntp_precision());
	ck_assert_uint_eq(get32(rbuf + 4), 0);	/* root delay */
	ck_assert_uint_eq(get32(rbuf + 8), 0x4000); /* 250 ms maxerror */
	ck_assert_mem_eq(rbuf + 12, "LOCL", 4);
	ck_assert_uint_eq(get32(rbuf + 16), T_2026_NTP);	/* reference */
	ck_assert_uint_eq(get32(rbuf + 20), 0);
	ck_assert_uint_eq(get32(rbuf + 24), 0x12345678);	/* origin */
	ck_assert_uint_eq(get32(rbuf + 28), 0x9abcdef0);
	ck_assert_uint_eq(get32(rbuf + 32), T_2026_NTP);	/* receive */
	ck_assert_uint_eq(get32(rbuf + 36), 0x80000000U);
	ck_assert_uint_eq(get32(rbuf + 40), T_2026_NTP);	/* transmit */
	ck_assert_uint_eq(get32(rbuf + 44), 0xc0000000U);
	ck_assert_uint_eq(rbuf[48], 0xee);

	/* The same, parsed back. */
	ck_assert_int_eq(ntp_decode(rbuf, len, &p), 0);
	ck_assert_uint_eq(p.li, 0);
	ck_assert_uint_eq(p.vn, 4);
	ck_assert_uint_eq(p.mode, 4);
	ck_assert_uint_eq(p.stratum, 10);
	ck_assert_int_eq(p.poll, 6);
	ck_assert_int_eq(p.precision, ntp_precision());
	ck_assert_uint_eq(p.root_delay, 0);
	ck_assert_uint_eq(p.root_dispersion, 0x4000);
	ck_assert_mem_eq(p.refid, "LOCL", 4);
	ntp_ts_to_timespec(&p.ref, T_2026, &ts);
	ck_assert_int_eq(ts.tv_sec, T_2026);
	ck_assert_int_eq(ts.tv_nsec, 0);
	ck_assert_uint_eq(p.org.sec, 0x12345678);
	ck_assert_uint_eq(p.org.frac, 0x9abcdef0);
	ntp_ts_to_timespec(&p.rec, T_2026, &ts);
	ck_assert_int_eq(ts.tv_sec, T_2026);
	ck_assert_int_eq(ts.tv_nsec, 500000000);
	ntp_ts_to_timespec(&p.xmt, T_2026, &ts);
	ck_assert_int_eq(ts.tv_sec, T_2026);
	ck_assert_int_eq(ts.tv_nsec, 750000000);
	module_time.destroy(st);
}
END_TEST

START_TEST(test_sntp_version_and_poll_copied)
{
	void *st = mk_ok("svc = { protocol = \"sntp\"; stratum = 2; };");
	unsigned char q[48];
	size_t len;
	int vn;

	for (vn = 1; vn <= 4; vn++) {
		mkreq(q, sizeof(q), vn, 3, -6);
		ck_assert_int_eq(run(st, q, sizeof(q), T_2026, 0, &len),
		    UDPD_REPLY);
		ck_assert_uint_eq(len, 48);
		ck_assert_uint_eq(rbuf[0], (unsigned)(vn << 3 | 4));
		ck_assert_uint_eq(rbuf[2], 0xfa);
	}
	module_time.destroy(st);
}
END_TEST

/* Extension fields and MACs are never echoed: no amplification. */
START_TEST(test_sntp_extensions_ignored)
{
	void *st = mk_ok("svc = { protocol = \"sntp\"; stratum = 10; };");
	static const size_t sizes[] = { 48, 52, 68, 120, 1024 };
	unsigned char q[1024];
	size_t i, len;

	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		mkreq(q, sizes[i], 4, 3, 10);
		ck_assert_int_eq(run(st, q, sizes[i], T_2026, 0, &len),
		    UDPD_REPLY);
		ck_assert_uint_eq(len, 48);
		ck_assert_uint_eq(get32(rbuf + 24), 0x12345678);
		ck_assert_uint_eq(rbuf[48], 0xee);
	}
	module_time.destroy(st);
}
END_TEST

START_TEST(test_sntp_unsynced)
{
	void *st = mk_ok("svc = { protocol = \"sntp\"; };");
	unsigned char q[48];
	struct ntp_packet p;
	size_t len;

	ntp_set_kernel_hook(k_unsynced);
	mkreq(q, sizeof(q), 3, 3, 6);
	ck_assert_int_eq(run(st, q, sizeof(q), T_2026, 0, &len), UDPD_REPLY);
	ck_assert_uint_eq(len, 48);
	ck_assert_uint_eq(rbuf[0], 0xdc);	/* LI 3, VN 3, mode 4 */
	ck_assert_int_eq(ntp_decode(rbuf, len, &p), 0);
	ck_assert_uint_eq(p.li, 3);
	ck_assert_uint_eq(p.stratum, 16);
	ck_assert_uint_eq(p.ref.sec, 0);	/* never synchronised */
	ck_assert_uint_eq(p.ref.frac, 0);
	ck_assert_uint_eq(p.root_dispersion, 16 * 65536);
	ck_assert_uint_eq(p.org.sec, 0x12345678);
	module_time.destroy(st);

	/* A failing adjtimex() is no evidence of sync either. */
	ntp_set_kernel_hook(k_fails);
	st = mk_ok("svc = { protocol = \"sntp\"; };");
	ck_assert_int_eq(run(st, q, sizeof(q), T_2026, 0, &len), UDPD_REPLY);
	ck_assert_uint_eq(rbuf[0] >> 6, 3);
	ck_assert_uint_eq(rbuf[1], 16);
	module_time.destroy(st);
}
END_TEST

/* The operator vouches: LI 0 and that stratum even if the kernel says no. */
START_TEST(test_sntp_stratum_override)
{
	void *st;
	unsigned char q[48];
	struct ntp_packet p;
	size_t len;

	ntp_set_kernel_hook(k_unsynced);
	st = mk_ok("svc = { protocol = \"sntp\"; stratum = 1; "
	    "refid = \"GPS\"; };");
	mkreq(q, sizeof(q), 4, 3, 6);
	ck_assert_int_eq(run(st, q, sizeof(q), T_2026, 0, &len), UDPD_REPLY);
	ck_assert_int_eq(ntp_decode(rbuf, len, &p), 0);
	ck_assert_uint_eq(p.li, 0);
	ck_assert_uint_eq(p.stratum, 1);
	ck_assert_mem_eq(p.refid, "GPS\0", 4);
	ck_assert_uint_eq(p.ref.sec, T_2026_NTP);	/* non-zero */
	/* The dispersion is the clock's precision. */
	ck_assert_uint_eq(p.root_dispersion,
	    ntp_short_from_log2(ntp_precision()));
	module_time.destroy(st);

	/* With a synchronised kernel its maxerror is the dispersion. */
	ntp_set_kernel_hook(k_synced);
	st = mk_ok("svc = { protocol = \"sntp\"; stratum = 15; "
	    "refid = \"192.0.2.1\"; };");
	ck_assert_int_eq(run(st, q, sizeof(q), T_2026, 0, &len), UDPD_REPLY);
	ck_assert_int_eq(ntp_decode(rbuf, len, &p), 0);
	ck_assert_uint_eq(p.li, 0);
	ck_assert_uint_eq(p.stratum, 15);
	ck_assert_mem_eq(p.refid, "\xc0\x00\x02\x01", 4);
	ck_assert_uint_eq(p.root_dispersion, 0x4000);
	module_time.destroy(st);
}
END_TEST

/* The kernel is asked at most once per second of receive time. */
START_TEST(test_sntp_kernel_cached)
{
	void *st;
	unsigned char q[48];
	size_t len;

	ntp_set_kernel_hook(k_synced);
	st = mk_ok("svc = { protocol = \"sntp\"; };");
	mkreq(q, sizeof(q), 4, 3, 6);
	kernel_calls = 0;
	run(st, q, sizeof(q), T_2026, 100, &len);
	run(st, q, sizeof(q), T_2026, 999999999, &len);
	ck_assert_int_eq(kernel_calls, 1);
	ntp_set_kernel_hook(k_unsynced);
	run(st, q, sizeof(q), T_2026 + 1, 0, &len);
	ck_assert_int_eq(kernel_calls, 2);
	ck_assert_uint_eq(rbuf[1], 16);
	module_time.destroy(st);
}
END_TEST

/* Receive and transmit after 2036 carry era 1 seconds. */
START_TEST(test_sntp_era1)
{
	void *st = mk_ok("svc = { protocol = \"sntp\"; stratum = 10; };");
	unsigned char q[48];
	size_t len;

	mkreq(q, sizeof(q), 4, 3, 6);
	unit_now.tv_sec = T_ERA1 + 2;
	unit_now.tv_nsec = 0;
	ck_assert_int_eq(run(st, q, sizeof(q), T_ERA1 + 1, 0, &len),
	    UDPD_REPLY);
	ck_assert_uint_eq(get32(rbuf + 16), 1);		/* reference */
	ck_assert_uint_eq(get32(rbuf + 32), 1);		/* receive */
	ck_assert_uint_eq(get32(rbuf + 40), 2);		/* transmit */
	unit_now.tv_sec = T_ERA1;
	ck_assert_int_eq(run(st, q, sizeof(q), T_ERA1 - 1, 0, &len),
	    UDPD_REPLY);
	ck_assert_uint_eq(get32(rbuf + 32), 0xffffffffU);
	ck_assert_uint_eq(get32(rbuf + 40), 0);
	module_time.destroy(st);
}
END_TEST

START_TEST(test_parse_request)
{
	unsigned char q[48];
	struct ntp_packet p;

	mkreq(q, sizeof(q), 2, 3, 4);
	ck_assert_int_eq(ntp_parse_request(q, 48, &p), 0);
	ck_assert_uint_eq(p.vn, 2);
	ck_assert_uint_eq(p.mode, 3);
	ck_assert_int_eq(p.poll, 4);
	ck_assert_int_eq(p.precision, -6);
	ck_assert_mem_eq(p.refid, "XXXX", 4);
	ck_assert_uint_eq(p.xmt.sec, 0x12345678);
	ck_assert_uint_eq(p.xmt.frac, 0x9abcdef0);
	ck_assert_int_eq(ntp_parse_request(q, 47, &p), -1);
	ck_assert_int_eq(ntp_parse_request(NULL, 48, &p), -1);
}
END_TEST

START_TEST(test_encode_decode)
{
	struct ntp_packet a, b;
	unsigned char buf[48];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));	/* decode leaves the padding alone */
	a.li = 1;
	a.vn = 4;
	a.mode = 4;
	a.stratum = 2;
	a.poll = -3;
	a.precision = -29;
	a.root_delay = 0x00010002;
	a.root_dispersion = 0x00030004;
	memcpy(a.refid, "ABCD", 4);
	a.ref.sec = 1;
	a.ref.frac = 2;
	a.org.sec = 3;
	a.org.frac = 4;
	a.rec.sec = 5;
	a.rec.frac = 6;
	a.xmt.sec = 0xfffffffe;
	a.xmt.frac = 0xffffffff;
	ntp_encode(&a, buf);
	ck_assert_uint_eq(buf[0], 0x64);
	ck_assert_uint_eq(buf[3], 0xe3);
	ck_assert_mem_eq(buf + 4, "\x00\x01\x00\x02\x00\x03\x00\x04" "ABCD", 12);
	ck_assert_int_eq(ntp_decode(buf, 48, &b), 0);
	ck_assert_mem_eq(&a, &b, sizeof(a));
}
END_TEST

/* ---- Kiss-o'-Death ---------------------------------------------------- */

START_TEST(test_kod)
{
	unsigned char q[120], out[64];
	struct ntp_packet p;

	mkreq(q, sizeof(q), 3, 3, 6);
	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(ntp_build_kod(q, sizeof(q), out, sizeof(out)), 48);
	ck_assert_uint_eq(out[48], 0xee);
	ck_assert_uint_eq(out[0], 0xdc);	/* LI 3, VN 3, mode 4 */
	ck_assert_uint_eq(out[1], 0);		/* stratum 0: kiss */
	ck_assert_uint_eq(out[2], 6);
	ck_assert_mem_eq(out + 12, "RATE", 4);
	ck_assert_int_eq(ntp_decode(out, 48, &p), 0);
	ck_assert_uint_eq(p.li, 3);
	ck_assert_uint_eq(p.vn, 3);
	ck_assert_uint_eq(p.mode, 4);
	ck_assert_uint_eq(p.stratum, 0);
	ck_assert_uint_eq(p.root_delay, 0);
	ck_assert_uint_eq(p.root_dispersion, 0);
	ck_assert_uint_eq(p.ref.sec, 0);		/* reference: 0 */
	ck_assert_uint_eq(p.ref.frac, 0);
	ck_assert_uint_eq(p.org.sec, 0x12345678);	/* origin copied */
	ck_assert_uint_eq(p.org.frac, 0x9abcdef0);
	ck_assert_uint_eq(p.rec.sec, 0x12345678);
	ck_assert_uint_eq(p.xmt.sec, 0x12345678);
	ck_assert_uint_eq(p.xmt.frac, 0x9abcdef0);
	/* No kiss for what is not a client request, or without room. */
	ck_assert_uint_eq(ntp_build_kod(q, 47, out, sizeof(out)), 0);
	ck_assert_uint_eq(ntp_build_kod(q, 48, out, 47), 0);
	mkreq(q, 48, 4, 4, 6);
	ck_assert_uint_eq(ntp_build_kod(q, 48, out, sizeof(out)), 0);
	mkreq(q, 48, 0, 3, 6);
	ck_assert_uint_eq(ntp_build_kod(q, 48, out, sizeof(out)), 0);
}
END_TEST

/* ---- configuration ---------------------------------------------------- */

START_TEST(test_config_errors)
{
	mk_fails("svc = {\n protocol = \"bogus\";\n};",
	    "(config):2: protocol: unknown protocol \"bogus\" "
	    "(format, sntp, rfc868 or daytime)");
	mk_fails("svc = { protocol = 123; };",
	    "(config):1: protocol: must be a string");
	mk_fails("svc = { protocol = \"sntp\";\n\n stratum = 0; };",
	    "(config):3: stratum: must be between 1 and 15");
	mk_fails("svc = { protocol = \"sntp\"; stratum = 16; };",
	    "(config):1: stratum: must be between 1 and 15");
	mk_fails("svc = { protocol = \"sntp\"; stratum = \"10\"; };",
	    "(config):1: stratum: must be an integer");
	mk_fails("svc = { protocol = \"format\"; stratum = 10; };",
	    "(config):1: stratum: only valid with protocol \"sntp\"");
	mk_fails("svc = { stratum = 10; };",
	    "(config):1: stratum: only valid with protocol \"sntp\"");
	mk_fails("svc = { protocol = \"rfc868\"; refid = \"GPS\"; };",
	    "(config):1: refid: only valid with protocol \"sntp\"");
	mk_fails("svc = { protocol = \"sntp\"; utc = true; };",
	    "(config):1: utc: only valid with protocol \"format\" or "
	    "\"daytime\"");
	mk_fails("svc = { protocol = \"rfc868\"; utc = false; };",
	    "(config):1: utc: only valid with protocol \"format\" or "
	    "\"daytime\"");
	mk_fails("svc = { utc = 1; };", "(config):1: utc: must be true or "
	    "false");
	mk_fails("svc = { protocol = \"sntp\"; refid = \"LOCAL\"; };",
	    "(config):1: refid: must be 1 to 4 printable ASCII characters "
	    "or an IPv4 address");
	mk_fails("svc = { protocol = \"sntp\"; refid = \"\"; };",
	    "(config):1: refid: must be 1 to 4 printable ASCII characters "
	    "or an IPv4 address");
	mk_fails("svc = { protocol = \"sntp\"; refid = \"A B\"; };",
	    "(config):1: refid: must be 1 to 4 printable ASCII characters "
	    "or an IPv4 address");
	mk_fails("svc = { protocol = \"sntp\"; refid = 7; };",
	    "(config):1: refid: must be a string");
}
END_TEST

START_TEST(test_config_ok)
{
	static const char *const ok[] = {
		"svc = { };",
		"svc = { protocol = \"format\"; utc = false; };",
		"svc = { protocol = \"daytime\"; utc = true; };",
		"svc = { protocol = \"rfc868\"; };",
		"svc = { protocol = \"sntp\"; };",
		"svc = { protocol = \"sntp\"; stratum = 1; refid = \"PPS\"; };",
		"svc = { protocol = \"sntp\"; stratum = 15; refid = \"X\"; };",
		"svc = { protocol = \"sntp\"; stratum = 3L; "
		    "refid = \"10.0.0.1\"; };",
		NULL
	};
	size_t i;

	for (i = 0; ok[i] != NULL; i++)
		module_time.destroy(mk_ok(ok[i]));
	module_time.destroy(NULL);
}
END_TEST

/* Only SNTP replies are terminal (answerable to port 123 peers). */
START_TEST(test_reply_is_terminal)
{
	static const char *const cfg[] = {
		"svc = { protocol = \"sntp\"; };",
		"svc = { protocol = \"format\"; };",
		"svc = { protocol = \"rfc868\"; };",
		"svc = { protocol = \"daytime\"; };",
	};
	size_t i;
	void *st;

	for (i = 0; i < 4; i++) {
		st = mk_ok(cfg[i]);
		ck_assert_int_eq(module_time.reply_is_terminal(st), i == 0);
		module_time.destroy(st);
	}
}
END_TEST

static Suite *
time_suite(void)
{
	Suite *s = suite_create("time");
	TCase *tc;

	tc = tcase_create("ntp");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ts_unix_epoch);
	tcase_add_test(tc, test_ts_era_boundary);
	tcase_add_test(tc, test_ts_back_with_pivot);
	tcase_add_test(tc, test_ts_round_trip);
	tcase_add_test(tc, test_short_format);
	tcase_add_test(tc, test_precision);
	tcase_add_test(tc, test_precision_from);
	tcase_add_test(tc, test_parse_request);
	tcase_add_test(tc, test_encode_decode);
	tcase_add_test(tc, test_kod);
	suite_add_tcase(s, tc);

	tc = tcase_create("rfc868");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rfc868_seconds);
	tcase_add_test(tc, test_rfc868_module);
	suite_add_tcase(s, tc);

	tc = tcase_create("daytime");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_daytime_utc);
	tcase_add_test(tc, test_daytime_local);
	tcase_add_test(tc, test_daytime_matches_ctime);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_format_default);
	tcase_add_test(tc, test_format_custom);
	tcase_add_test(tc, test_format_local_and_utc);
	tcase_add_test(tc, test_format_empty_output);
	tcase_add_test(tc, test_format_limits);
	tcase_add_test(tc, test_format_nul);
	tcase_add_test(tc, test_format_hostile);
	tcase_add_test(tc, test_small_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("sntp");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sntp_drops);
	tcase_add_test(tc, test_sntp_reply_fields);
	tcase_add_test(tc, test_sntp_version_and_poll_copied);
	tcase_add_test(tc, test_sntp_extensions_ignored);
	tcase_add_test(tc, test_sntp_unsynced);
	tcase_add_test(tc, test_sntp_stratum_override);
	tcase_add_test(tc, test_sntp_kernel_cached);
	tcase_add_test(tc, test_sntp_era1);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_config_ok);
	tcase_add_test(tc, test_reply_is_terminal);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(time_suite());
}
