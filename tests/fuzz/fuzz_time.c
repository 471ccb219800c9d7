/*
 * fuzz_time.c - the time module in each protocol, and the SNTP
 * Kiss-o'-Death builder.  Input:
 *   byte 0	protocol (low 3 bits: format local, format utc, sntp with
 *		stratum 10, sntp asking the kernel, rfc868, daytime utc,
 *		daytime local, KoD), bit 3 the faked kernel sync state (for
 *		sntp without stratum), bit 4
 *		a receive time taken from bytes 2-9 (else a fixed 2026 time)
 *   byte 1	the reply capacity
 *   [2-9]	receive time seconds (when bit 4), bounded to +-2^40 s
 *   rest	the datagram
 * The invariants are the SPEC's (section 2, `time`).
 */
#include "config.h"

#include "fuzz.h"
#include "ntp.h"

enum { T_FMT_LOCAL, T_FMT_UTC, T_SNTP_VOUCHED, T_SNTP_KERNEL, T_RFC868,
	T_DAY_UTC, T_DAY_LOCAL, T_KOD, T_SNTP_KERNEL_SYNCED = T_KOD };

static const char *const bodies[] = {
	[T_FMT_LOCAL] = "protocol = \"format\";",
	[T_FMT_UTC] = "protocol = \"format\"; utc = true;",
	[T_SNTP_VOUCHED] = ("protocol = \"sntp\"; stratum = 10; "
	    "refid = \"GPS\";"),
	[T_SNTP_KERNEL] = "protocol = \"sntp\";",
	[T_RFC868] = "protocol = \"rfc868\";",
	[T_DAY_UTC] = "protocol = \"daytime\"; utc = true;",
	[T_DAY_LOCAL] = "protocol = \"daytime\";",
	/* The module caches the kernel's answer for a second: one instance
	 * per faked kernel state keeps the cache and the fake in step. */
	[T_SNTP_KERNEL_SYNCED] = "protocol = \"sntp\";",
};
static void *inst[T_KOD + 1];
static int kernel_synced;

static int
fake_kernel(struct ntp_kstate *ks)
{
	ks->synced = kernel_synced;
	ks->maxerror_us = kernel_synced ? 12345 : 16000000;
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A POSIX TZ with DST, so "local" differs from UTC without tzdata. */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	ntp_set_kernel_hook(fake_kernel);
	for (int i = 0; i <= T_KOD; i++)
		inst[i] = fuzz_instance(&module_time, bodies[i], NULL);
	return 0;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* A printable line ending in end (e.g. "\n"), nothing else below 0x20. */
static int
text_line(const unsigned char *p, size_t len, const char *end)
{
	size_t el = strlen(end);

	if (len < el || memcmp(p + len - el, end, el) != 0)
		return 0;
	for (size_t i = 0; i + el < len; i++)
		if (p[i] == '\n' || p[i] == '\r')
			return 0;
	return 1;
}

static void
check_format(const uint8_t *req, size_t len, size_t cap, int fixed_utc,
    const struct fuzz_reply *r)
{
	size_t flen = len;

	if (flen > 0 && req[flen - 1] == '\n') {
		flen--;
		if (flen > 0 && req[flen - 1] == '\r')
			flen--;
	}
	if (r->verdict == UDPD_REPLY_ERROR) {
		FUZZ_CHECK(fuzz_is_error_line(r->buf, r->len));
		return;
	}
	if (r->verdict != UDPD_REPLY) {
		/* Only a reply that does not fit may be dropped. */
		FUZZ_CHECK(r->verdict == UDPD_DROP);
		FUZZ_CHECK(cap < 1024 + 1);
		return;
	}
	FUZZ_CHECK(flen <= 256);
	FUZZ_CHECK(flen == 0 || memchr(req, '\0', flen) == NULL);
	FUZZ_CHECK(r->len >= 1 && r->len <= 1024 + 1);
	FUZZ_CHECK(r->buf[r->len - 1] == '\n');
	if (flen == 0 && fixed_utc) {
		static const char want[] = "2026-11-21 23:36:47\n";

		FUZZ_CHECK(r->len == sizeof(want) - 1);
		FUZZ_CHECK(memcmp(r->buf, want, r->len) == 0);
	}
	/* Without a conversion the format is its own output. */
	if (flen > 0 && memchr(req, '%', flen) == NULL) {
		FUZZ_CHECK(r->len == flen + 1);
		FUZZ_CHECK(memcmp(r->buf, req, flen) == 0);
	}
}

static void
check_sntp(const uint8_t *req, size_t len, size_t cap, int vouched,
    const struct timespec *rx, const struct fuzz_reply *r)
{
	int valid = len >= 48 && (req[0] & 7) == 3 &&
	    ((req[0] >> 3) & 7) >= 1 && ((req[0] >> 3) & 7) <= 4;
	uint32_t rec;

	if (!valid || cap < 48) {
		FUZZ_CHECK(r->verdict == UDPD_DROP ||
		    r->verdict == UDPD_DROP_SILENT);
		return;
	}
	FUZZ_CHECK(r->verdict == UDPD_REPLY);
	FUZZ_CHECK(r->len == 48);
	FUZZ_CHECK((r->buf[0] & 7) == 4);				/* mode */
	FUZZ_CHECK(((r->buf[0] >> 3) & 7) == ((req[0] >> 3) & 7));	/* vn */
	FUZZ_CHECK(memcmp(r->buf + 24, req + 40, 8) == 0);		/* org */
	if (vouched || kernel_synced) {
		FUZZ_CHECK(r->buf[0] >> 6 == 0);
		FUZZ_CHECK(r->buf[1] == 10);
		/* A reference timestamp (the Unix epoch itself encodes as
		 * the "unknown" zero timestamp: no real clock says that). */
		FUZZ_CHECK(be32(r->buf + 16) != 0 || rx->tv_sec == 0);
	} else {
		FUZZ_CHECK(r->buf[0] >> 6 == 3);
		FUZZ_CHECK(r->buf[1] == 16);
	}
	if (vouched)
		FUZZ_CHECK(memcmp(r->buf + 12, "GPS\0", 4) == 0);
	rec = (uint32_t)((uint64_t)(rx->tv_sec + 2208988800LL));
	FUZZ_CHECK(be32(r->buf + 32) == rec);
	FUZZ_CHECK(be32(r->buf + 40) ==
	    (uint32_t)((uint64_t)(fuzz_now.tv_sec + 2208988800LL)));
}

static void
check_kod(const uint8_t *req, size_t len, size_t cap)
{
	int valid = len >= 48 && (req[0] & 7) == 3 &&
	    ((req[0] >> 3) & 7) >= 1 && ((req[0] >> 3) & 7) <= 4;
	unsigned char *out = malloc(cap);
	size_t n;

	FUZZ_CHECK(out != NULL || cap == 0);
	n = ntp_build_kod(req, len, out, cap);
	if (!valid || cap < 48)
		FUZZ_CHECK(n == 0);
	else {
		FUZZ_CHECK(n == 48);
		FUZZ_CHECK((out[0] & 7) == 4);
		FUZZ_CHECK(((out[0] >> 3) & 7) == ((req[0] >> 3) & 7));
		FUZZ_CHECK(out[1] == 0);			/* stratum 0 */
		FUZZ_CHECK(memcmp(out + 12, "RATE", 4) == 0);
		FUZZ_CHECK(memcmp(out + 24, req + 40, 8) == 0);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct timespec rx = fuzz_now;
	struct fuzz_reply r;
	socklen_t plen;
	const struct sockaddr *peer = fuzz_peer_v4(&plen);
	int proto, fixed = 1;
	size_t cap;

	if (size < 2)
		return 0;
	proto = data[0] & 7;
	kernel_synced = (data[0] >> 3) & 1;
	cap = fuzz_cap(data[1]);
	if (data[0] & 0x10) {
		uint64_t v = 0;

		if (size < 10)
			return 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | data[2 + i];
		rx.tv_sec = (time_t)((int64_t)(v << 23) >> 23);	/* +-2^40 */
		rx.tv_nsec = (long)(v % 1000000000);
		data += 8;
		size -= 8;
		fixed = 0;
	}
	data += 2;
	size -= 2;
	if (proto == T_KOD) {
		check_kod(data, size, cap);
		return 0;
	}
	fuzz_handle(&module_time, inst[proto == T_SNTP_KERNEL &&
	    kernel_synced ? T_SNTP_KERNEL_SYNCED : proto], data, size, cap,
	    peer, plen, &rx, &r);
	switch (proto) {
	case T_FMT_LOCAL:
	case T_FMT_UTC:
		check_format(data, size, cap, fixed && proto == T_FMT_UTC,
		    &r);
		break;
	case T_SNTP_VOUCHED:
	case T_SNTP_KERNEL:
		check_sntp(data, size, cap, proto == T_SNTP_VOUCHED, &rx, &r);
		break;
	case T_RFC868:
		if (cap < 4)
			FUZZ_CHECK(r.verdict == UDPD_DROP);
		else {
			FUZZ_CHECK(r.verdict == UDPD_REPLY && r.len == 4);
			FUZZ_CHECK(be32(r.buf) == (uint32_t)(uint64_t)
			    (rx.tv_sec + 2208988800LL));
		}
		break;
	case T_DAY_UTC:
	case T_DAY_LOCAL:
		if (r.verdict == UDPD_REPLY) {
			FUZZ_CHECK(text_line(r.buf, r.len, "\r\n"));
			if (fixed && proto == T_DAY_UTC)
				FUZZ_CHECK(r.len == 26 && memcmp(r.buf,
				    "Sat Nov 21 23:36:47 2026\r\n", 26) == 0);
			if (fixed && proto == T_DAY_LOCAL)
				FUZZ_CHECK(r.len == 26 && memcmp(r.buf,
				    "Sun Nov 22 00:36:47 2026\r\n", 26) == 0);
		} else if (r.verdict == UDPD_REPLY_ERROR)
			FUZZ_CHECK(fuzz_is_error_line(r.buf, r.len));
		else
			FUZZ_CHECK(r.verdict == UDPD_DROP && cap < 64 + 2);
		break;
	}
	free(r.buf);
	return 0;
}
