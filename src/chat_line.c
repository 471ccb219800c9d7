/*
 * chat_line.c - the chat log's line format and escaping (see chat_line.h):
 * pure functions, no I/O.
 */
#include "config.h"

#include <netinet/in.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "chat_line.h"

/*
 * Length (2 to 4) of the well-formed UTF-8 sequence at p, or 0: the
 * ranges of RFC 3629's table, which leave out overlongs (C0, C1, E0 80-9F,
 * F0 80-8F), surrogates (ED A0-BF) and code points past U+10FFFF (F4 90-,
 * F5-FF).
 */
static size_t
chat_utf8_len(const unsigned char *p, size_t left)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

size_t
chat_escape(const unsigned char *in, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0, total = 0, n, take;
	int full = cap == 0;
	char esc[4];
	const char *src;

	while (i < len) {
		src = (const char *)in + i;
		take = 1;
		if (in[i] == '\\') {
			src = "\\\\";
			n = 2;
		} else if (in[i] >= 0x20 && in[i] < 0x7f) {
			n = 1;
		} else if (in[i] >= 0x80 &&
		    (take = chat_utf8_len(in + i, len - i)) != 0) {
			n = take;
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[in[i] >> 4];
			esc[3] = hex[in[i] & 0xf];
			src = esc;
			n = 4;
			take = 1;
		}
		if (!full && o + n < cap) {
			memcpy(out + o, src, n);
			o += n;
		} else
			full = 1;
		total += n;
		i += take;
	}
	if (cap > 0)
		out[o] = '\0';
	return total;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC, milliseconds truncated. */
static void
chat_format_time(const struct timespec *ts, char *out, size_t cap)
{
	time_t t = ts->tv_sec;
	long ms = ts->tv_nsec / 1000000;
	struct tm tm;

	if (ms < 0 || ms > 999)
		ms = 0;
	if (gmtime_r(&t, &tm) == NULL) {
		t = 0;
		ms = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(out, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/*
 * "ip:port", "[ip6]:port" or "[ip6%scope]:port"; an IPv4-mapped address
 * (a v4 client on a dual-stack socket) as the IPv4 address it is.
 */
static void
chat_format_peer(const struct sockaddr *sa, socklen_t salen, char *out,
    size_t cap)
{
	if (sa != NULL && ((sa->sa_family == AF_INET &&
	    salen >= (socklen_t)sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 &&
	    salen >= (socklen_t)sizeof(struct sockaddr_in6))))
		addr_format(sa, out, cap);
	else
		snprintf(out, cap, "?:0");
}

size_t
chat_format_suffix(char *out, size_t cap, const struct timespec *ts,
    const struct sockaddr *peer, socklen_t peerlen,
    const unsigned char *text, size_t len)
{
	char when[64], who[INET6_ADDRSTRLEN + 32];
	size_t n, e;
	int r;

	chat_format_time(ts, when, sizeof(when));
	chat_format_peer(peer, peerlen, who, sizeof(who));
	r = snprintf(out, cap, "%s %s ", when, who);
	if (r < 0 || (size_t)r >= cap)
		return 0;
	n = (size_t)r;
	e = chat_escape(text, len, out + n, cap - n);
	if (e >= cap - n)
		return 0;
	out[n + e] = '\n';		/* over the NUL */
	return n + e + 1;
}

size_t
chat_format_line(char *out, size_t cap, uint64_t seq,
    const struct timespec *ts, const struct sockaddr *peer,
    socklen_t peerlen, const unsigned char *text, size_t len)
{
	int r = snprintf(out, cap, "%" PRIu64 " ", seq);
	size_t n;

	if (r < 0 || (size_t)r >= cap)
		return 0;
	n = chat_format_suffix(out + r, cap - (size_t)r, ts, peer, peerlen,
	    text, len);
	return n == 0 ? 0 : (size_t)r + n;
}

int
chat_parse_seq(const char *p, size_t n, char term, uint64_t *seq)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || p[0] < '1' || p[0] > '9')
		return -1;
	for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (i >= n || p[i] != term)
		return -1;
	*seq = v;
	return 0;
}
