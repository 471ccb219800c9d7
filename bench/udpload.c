#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* recvmmsg, sendmmsg, epoll_pwait2 */
#endif

/*
 * udpload - a UDP load generator for udpd and its peers, loopback only.
 *
 * Closed loop (-n requests kept in flight) or open loop (-r packets per
 * second), over one or many source sockets.  Every request carries a
 * sequence id so its reply is matched to it and checked (-e); latency is
 * taken from CLOCK_MONOTONIC and kept in a log-linear histogram.  All
 * memory is allocated before the first packet is sent.
 *
 * Output: one line of key=value pairs on stdout, one line for humans on
 * stderr.
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD	65507
#define MAX_DURATION	600.0
#define BATCH		64
#define RXBUF		65536
#define TOKEN_LEN	16		/* "#" 14 digits "#" */
#define TOKEN_DIGITS	14
#define MAX_RING	(1U << 20)
#define MAX_SOCKETS	4096
#define MAX_INFLIGHT	(1 << 16)
#define MIN_RING	(1U << 16)

#if defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 35)
#define HAVE_EPOLL_PWAIT2 1
#endif
#endif

/* Histogram: 8 significant bits, values in ns, up to 2^40 ns. */
#define HIST_SUB_BITS	8
#define HIST_HALF	(1U << (HIST_SUB_BITS - 1))
#define HIST_BUCKETS	((40 - HIST_SUB_BITS + 2) * HIST_HALF)

enum mode { M_ECHO, M_UPPER, M_GREET, M_PREFIX, M_ANY, M_LEN };

struct slot {
	uint64_t	seq;		/* the request this slot waits for */
	uint64_t	sent_ns;
	uint32_t	sock;
	uint8_t		busy;
};

struct fifo {				/* per socket, for modes without ids */
	uint64_t	*seq;
	uint32_t	 mask;
	uint32_t	 head, tail;
};

struct pending {			/* requests queued for one sendmmsg */
	struct mmsghdr	 msg[BATCH];
	struct iovec	 iov[BATCH];
	uint64_t	 seq[BATCH];
	unsigned char	*buf;		/* BATCH * paylen bytes */
	unsigned int	 n;
};

static struct {
	/* options */
	struct sockaddr_storage	 target;
	socklen_t		 targetlen;
	char			 target_str[128];
	unsigned int		 inflight;
	double			 rate;
	unsigned int		 nsock;
	int			 spread;	/* -S: 127.0.0.(1 + i) */
	size_t			 len;
	double			 duration;
	double			 warmup;
	const char		*text;
	const char		*hex;		/* -x: binary payload */
	enum mode		 mode;
	size_t			 replylen;	/* len:N */
	const char		*prefix;
	size_t			 prefixlen;
	const char		*mode_str;
	int			 busy;
	unsigned int		 timeout_ms;
	int			 quiet;

	/* request template */
	unsigned char		*tmpl;
	size_t			 tmpllen;
	int			 has_token;
	size_t			 token_off;	/* in the request */
	size_t			 reply_token_off;
	int			 by_id;		/* match replies by token */

	/* state */
	int			*fd;
	int			 epfd;
	struct slot		*ring;
	uint32_t		 ringmask;
	struct fifo		*fifo;
	struct pending		*pend;
	struct mmsghdr		 rxmsg[BATCH];	/* shared by every socket */
	struct iovec		 rxiov[BATCH];
	unsigned char		*rxbuf;
	uint64_t		 next_seq;	/* next global sequence number */
	uint64_t		 oldest;	/* no busy slot below this seq */
	uint64_t		 epoch;		/* seqs below are warm-up */
	unsigned int		 nbusy;
	unsigned int		 rr;		/* round-robin socket cursor */
	uint64_t		 timeout_ns;

	/* results */
	uint64_t		 sent, replies, lost, mismatches, late, stray;
	uint64_t		 send_errors, recv_errors, refused;
	uint64_t		 hist[HIST_BUCKETS];
	uint64_t		 lat_min, lat_max, lat_sum;
} U;

static volatile sig_atomic_t	 stop_flag;

static void	 usage(void) __attribute__((noreturn));
static void	 fatal(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
usage(void)
{
	fprintf(stderr,
"usage: udpload -t HOST:PORT [-b] [-d seconds] [-e mode] [-l bytes]\n"
"               [-n inflight] [-p text] [-q] [-r pps] [-s sockets] [-S]\n"
"               [-T timeout_ms] [-w warmup_seconds]\n"
"  -t  target, loopback only: 127.0.0.0/8, [::1] or localhost\n"
"  -n  requests kept in flight (closed loop, default 1)\n"
"  -r  open loop at this many requests per second (-n ignored)\n"
"  -s  source sockets, requests spread round-robin (default 1)\n"
"  -S  socket i sends from 127.0.0.(1 + i) (an IPv4 target): sources a\n"
"      server steering by source address spreads over its workers\n"
"  -l  payload bytes (default 32, at least %d: the id token)\n"
"  -p  fixed payload text; \"{id}\" in it is replaced by the id token\n"
"  -x  fixed binary payload in hex (an SNTP request), no id token\n"
"  -e  expected reply: echo (default), upper, greet, prefix:STR, len:N\n"
"      (exactly N bytes), any\n"
"  -d  duration in seconds (default 5, at most %.0f)\n"
"  -w  warm-up seconds not counted (default 0)\n"
"  -T  a request unanswered after this many ms is lost (default 200)\n"
"  -b  busy-poll: spin on non-blocking recv instead of epoll\n"
"  -q  no human-readable line on stderr\n",
	    TOKEN_LEN, MAX_DURATION);
	exit(2);
}

static void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fputs("udpload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double
parse_num(const char *s, const char *what, double lo, double hi)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v != v || v < lo ||
	    v > hi)
		fatal("bad %s \"%s\" (expected %g..%g)", what, s, lo, hi);
	return v;
}

/* Parse HOST:PORT and refuse anything that is not a loopback address. */
static void
parse_target(const char *arg)
{
	struct addrinfo	 hints, *res;
	char		 host[INET6_ADDRSTRLEN + 2];
	const char	*colon, *h, *port;
	size_t		 hlen;
	int		 e;

	if (arg[0] == '[') {
		colon = strchr(arg, ']');
		if (colon == NULL || colon[1] != ':')
			fatal("bad target \"%s\"", arg);
		h = arg + 1;
		hlen = (size_t)(colon - h);
		port = colon + 2;
	} else {
		colon = strrchr(arg, ':');
		if (colon == NULL)
			fatal("bad target \"%s\" (HOST:PORT)", arg);
		h = arg;
		hlen = (size_t)(colon - arg);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		fatal("bad target host in \"%s\"", arg);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	(void)parse_num(port, "port", 1, 65535);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		fatal("target \"%s\": %s", arg, gai_strerror(e));
	if (res->ai_family == AF_INET) {
		const struct sockaddr_in *sin = (void *)res->ai_addr;

		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			fatal("refusing non-loopback target %s", arg);
	} else if (res->ai_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (void *)res->ai_addr;

		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			fatal("refusing non-loopback target %s", arg);
	} else
		fatal("refusing target %s", arg);
	memcpy(&U.target, res->ai_addr, res->ai_addrlen);
	U.targetlen = res->ai_addrlen;
	snprintf(U.target_str, sizeof(U.target_str), "%s", arg);
	freeaddrinfo(res);
}

static void
parse_mode(const char *s)
{
	U.mode_str = s;
	if (strcmp(s, "echo") == 0)
		U.mode = M_ECHO;
	else if (strcmp(s, "upper") == 0)
		U.mode = M_UPPER;
	else if (strcmp(s, "greet") == 0)
		U.mode = M_GREET;
	else if (strcmp(s, "any") == 0)
		U.mode = M_ANY;
	else if (strncmp(s, "prefix:", 7) == 0) {
		U.mode = M_PREFIX;
		U.prefix = s + 7;
		U.prefixlen = strlen(U.prefix);
	} else if (strncmp(s, "len:", 4) == 0) {
		U.mode = M_LEN;
		U.replylen = (size_t)parse_num(s + 4, "reply length", 0,
		    MAX_PAYLOAD);
	} else
		fatal("bad mode \"%s\" (echo, upper, greet, prefix:STR, "
		    "len:N, any)", s);
}

/* Build the request template: -p text with {id}, or the id and filler. */
static void
make_template(void)
{
	const char	*p;
	size_t		 i, tl;

	if (U.hex != NULL) {
		tl = strlen(U.hex);
		if (tl == 0 || tl % 2 != 0 || tl / 2 > MAX_PAYLOAD)
			fatal("-x needs an even number of hex digits");
		if ((U.tmpl = malloc(tl / 2 + 1)) == NULL)
			fatal("out of memory");
		for (i = 0; i < tl / 2; i++) {
			unsigned int b;

			if (!isxdigit((unsigned char)U.hex[2 * i]) ||
			    !isxdigit((unsigned char)U.hex[2 * i + 1]) ||
			    sscanf(U.hex + 2 * i, "%2x", &b) != 1)
				fatal("-x: bad hex");
			U.tmpl[i] = (unsigned char)b;
		}
		U.tmpllen = tl / 2;
		U.has_token = 0;
	} else if (U.text != NULL) {
		tl = strlen(U.text);
		p = strstr(U.text, "{id}");
		U.has_token = p != NULL;
		U.tmpllen = U.has_token ? tl - 4 + TOKEN_LEN : tl;
		if (U.tmpllen > MAX_PAYLOAD)
			fatal("payload too long");
		if ((U.tmpl = malloc(U.tmpllen + 1)) == NULL)
			fatal("out of memory");
		if (U.has_token) {
			U.token_off = (size_t)(p - U.text);
			memcpy(U.tmpl, U.text, U.token_off);
			memset(U.tmpl + U.token_off, '#', TOKEN_LEN);
			memcpy(U.tmpl + U.token_off + TOKEN_LEN, p + 4,
			    tl - U.token_off - 4);
		} else
			memcpy(U.tmpl, U.text, tl);
	} else {
		if (U.len < TOKEN_LEN)
			fatal("-l must be at least %d (the id token), or use -p",
			    TOKEN_LEN);
		U.tmpllen = U.len;
		if ((U.tmpl = malloc(U.tmpllen + 1)) == NULL)
			fatal("out of memory");
		U.has_token = 1;
		U.token_off = 0;
		memset(U.tmpl, '#', TOKEN_LEN);
		/* lower case so that "upper" has work to do */
		for (i = TOKEN_LEN; i < U.tmpllen; i++)
			U.tmpl[i] = (unsigned char)('a' + (i - TOKEN_LEN) % 26);
	}
	U.tmpl[U.tmpllen] = '\0';
	U.len = U.tmpllen;

	/* Which modes give the token back at a known place? */
	U.by_id = U.has_token &&
	    (U.mode == M_ECHO || U.mode == M_UPPER || U.mode == M_GREET);
	U.reply_token_off = U.token_off + (U.mode == M_GREET ? 6 : 0);
}

static void
put_token(unsigned char *p, uint64_t seq)
{
	int	i;

	p[0] = '#';
	for (i = TOKEN_DIGITS; i >= 1; i--) {
		p[i] = (unsigned char)('0' + seq % 10);
		seq /= 10;
	}
	p[TOKEN_LEN - 1] = '#';
}

static int
get_token(const unsigned char *p, size_t len, size_t off, uint64_t *seq)
{
	uint64_t	v = 0;
	int		i;

	if (off + TOKEN_LEN > len || p[off] != '#' ||
	    p[off + TOKEN_LEN - 1] != '#')
		return -1;
	for (i = 1; i <= TOKEN_DIGITS; i++) {
		if (p[off + i] < '0' || p[off + i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[off + i] - '0');
	}
	*seq = v;
	return 0;
}

/* Write request seq into buf (tmpllen bytes). */
static void
make_request(unsigned char *buf, uint64_t seq)
{
	memcpy(buf, U.tmpl, U.tmpllen);
	if (U.has_token)
		put_token(buf + U.token_off, seq);
}

/* Does this reply answer request seq? */
static int
reply_ok(const unsigned char *r, size_t rlen, uint64_t seq)
{
	static unsigned char	 req[MAX_PAYLOAD + 1];
	size_t			 i;

	switch (U.mode) {
	case M_ANY:
		return 1;
	case M_LEN:
		return rlen == U.replylen;
	case M_PREFIX:
		return rlen >= U.prefixlen &&
		    memcmp(r, U.prefix, U.prefixlen) == 0;
	default:
		break;
	}
	make_request(req, seq);
	if (U.mode == M_ECHO)
		return rlen == U.tmpllen && memcmp(r, req, rlen) == 0;
	if (U.mode == M_UPPER) {
		if (rlen != U.tmpllen)
			return 0;
		for (i = 0; i < rlen; i++)
			if (r[i] != (unsigned char)toupper(req[i]))
				return 0;
		return 1;
	}
	/* greet: "Hello <name>!\n", "exit" -> "Good bye!\n" */
	if (U.tmpllen == 4 && memcmp(req, "exit", 4) == 0)
		return rlen == 10 && memcmp(r, "Good bye!\n", 10) == 0;
	return rlen == U.tmpllen + 8 && memcmp(r, "Hello ", 6) == 0 &&
	    memcmp(r + 6, req, U.tmpllen) == 0 &&
	    memcmp(r + 6 + U.tmpllen, "!\n", 2) == 0;
}

static unsigned int
hist_index(uint64_t v)
{
	unsigned int	msb, shift;

	if (v < 2 * HIST_HALF)
		return (unsigned int)v;
	msb = 63U - (unsigned int)__builtin_clzll(v);
	shift = msb - (HIST_SUB_BITS - 1);
	if (shift >= HIST_BUCKETS / HIST_HALF - 1)
		return HIST_BUCKETS - 1;
	return shift * HIST_HALF + (unsigned int)(v >> shift);
}

/* The middle of bucket i, in ns. */
static double
hist_value(unsigned int i)
{
	unsigned int	shift;
	uint64_t	lo;

	if (i < 2 * HIST_HALF)
		return (double)i;
	shift = i / HIST_HALF - 1;
	lo = (uint64_t)(i % HIST_HALF + HIST_HALF) << shift;
	return (double)lo + (double)(1ULL << shift) / 2.0;
}

static double
hist_pct(double pct)
{
	uint64_t	n, want, acc = 0;
	unsigned int	i;
	double		v;

	n = U.replies;
	if (n == 0)
		return 0.0;
	want = (uint64_t)((double)n * pct / 100.0 + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		acc += U.hist[i];
		if (acc >= want) {
			v = hist_value(i);
			if (v > (double)U.lat_max)
				v = (double)U.lat_max;
			if (v < (double)U.lat_min)
				v = (double)U.lat_min;
			return v;
		}
	}
	return (double)U.lat_max;
}

static void
record(uint64_t lat)
{
	U.hist[hist_index(lat)]++;
	if (U.replies == 0 || lat < U.lat_min)
		U.lat_min = lat;
	if (lat > U.lat_max)
		U.lat_max = lat;
	U.lat_sum += lat;
	U.replies++;
}

static void
release(struct slot *s)
{
	s->busy = 0;
	U.nbusy--;
}

/* Count the unanswered requests older than the timeout as lost. */
static void
expire(uint64_t now, int all)
{
	struct slot	*s;

	while (U.oldest < U.next_seq) {
		s = &U.ring[U.oldest & U.ringmask];
		if (s->busy && s->seq == U.oldest) {
			if (!all && now - s->sent_ns < U.timeout_ns)
				break;
			release(s);
			if (U.oldest >= U.epoch)
				U.lost++;
		}
		U.oldest++;
	}
}

static void
fifo_push(unsigned int sock, uint64_t seq)
{
	struct fifo	*f = &U.fifo[sock];

	if (f->tail - f->head > f->mask)	/* full: forget the oldest */
		f->head++;
	f->seq[f->tail++ & f->mask] = seq;
}

/* The oldest request still waiting on this socket, for modes without ids. */
static int
fifo_pop(unsigned int sock, uint64_t *seq)
{
	struct fifo	*f = &U.fifo[sock];
	struct slot	*s;
	uint64_t	 q;

	while (f->head != f->tail) {
		q = f->seq[f->head++ & f->mask];
		s = &U.ring[q & U.ringmask];
		if (s->busy && s->seq == q) {
			*seq = q;
			return 0;
		}
	}
	return -1;
}

static void
flush(unsigned int sock)
{
	struct pending	*p = &U.pend[sock];
	struct slot	*s;
	unsigned int	 i, done = 0;
	int		 r;

	while (done < p->n) {
		r = sendmmsg(U.fd[sock], p->msg + done, p->n - done, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				U.refused++;
				continue;
			}
			if (errno != EAGAIN && errno != ENOBUFS)
				U.send_errors++;
			break;
		}
		done += (unsigned int)r;
	}
	for (i = 0; i < p->n; i++) {
		s = &U.ring[p->seq[i] & U.ringmask];
		if (i < done) {
			if (p->seq[i] >= U.epoch)
				U.sent++;
			if (!U.by_id)
				fifo_push(sock, p->seq[i]);
		} else
			release(s);	/* not sent: a hole in the sequence */
	}
	p->n = 0;
}

static void
flush_all(void)
{
	unsigned int	i;

	for (i = 0; i < U.nsock; i++)
		if (U.pend[i].n > 0)
			flush(i);
}

/* Queue one new request; returns -1 if the ring is full of live requests. */
static int
queue_request(uint64_t now)
{
	struct slot	*s;
	struct pending	*p;
	unsigned int	 sock;
	uint64_t	 seq;
	unsigned int	 tries;

	/*
	 * A slot still busy holds a request that is probably lost but not
	 * yet timed out: skip its number (sequence holes are harmless).
	 */
	for (tries = 0;; tries++) {
		seq = U.next_seq;
		s = &U.ring[seq & U.ringmask];
		if (!s->busy)
			break;
		if (now - s->sent_ns >= U.timeout_ns) {
			release(s);
			if (s->seq >= U.epoch)
				U.lost++;
			break;
		}
		if (tries == 1024)
			return -1;
		U.next_seq++;
	}
	sock = U.rr;
	if (++U.rr == U.nsock)
		U.rr = 0;
	p = &U.pend[sock];
	make_request(p->buf + (size_t)p->n * U.tmpllen, seq);
	p->seq[p->n] = seq;
	s->seq = seq;
	s->sent_ns = now;
	s->sock = sock;
	s->busy = 1;
	U.nbusy++;
	U.next_seq++;
	if (++p->n == BATCH)
		flush(sock);
	return 0;
}

static void
handle_reply(unsigned int sock, const unsigned char *r, size_t rlen,
    uint64_t now)
{
	struct slot	*s;
	uint64_t	 seq;

	if (U.by_id) {
		if (get_token(r, rlen, U.reply_token_off, &seq) != 0) {
			U.stray++;
			return;
		}
		s = &U.ring[seq & U.ringmask];
		if (!s->busy || s->seq != seq) {
			if (seq < U.next_seq)
				U.late++;
			else
				U.stray++;
			return;
		}
	} else {
		if (fifo_pop(sock, &seq) != 0) {
			U.late++;
			return;
		}
		s = &U.ring[seq & U.ringmask];
	}
	release(s);
	if (seq < U.epoch)
		return;
	if (!reply_ok(r, rlen, seq)) {
		U.mismatches++;
		return;
	}
	record(now - s->sent_ns);
}

/* Read whatever is waiting on one socket; returns datagrams read. */
static unsigned int
drain(unsigned int sock)
{
	struct mmsghdr		*msg = U.rxmsg;
	struct iovec		*iov = U.rxiov;
	uint64_t		 now;
	unsigned int		 i, total = 0;
	int			 r;

	for (;;) {
		r = recvmmsg(U.fd[sock], msg, BATCH, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				U.refused++;
				continue;
			}
			if (errno != EAGAIN)
				U.recv_errors++;
			return total;
		}
		now = now_ns();
		for (i = 0; i < (unsigned int)r; i++)
			handle_reply(sock, iov[i].iov_base, msg[i].msg_len,
			    now);
		total += (unsigned int)r;
		if (r < BATCH)
			return total;
	}
}

/* -S: socket i sends from 127.0.0.(1 + i % 254), still loopback. */
static void
bind_spread(int fd, unsigned int i)
{
	struct sockaddr_in	sin;

	if (U.target.ss_family != AF_INET)
		fatal("-S needs an IPv4 target");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001u + i % 254);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fatal("bind 127.0.0.%u: %s", 1 + i % 254, strerror(errno));
}

static void
open_sockets(void)
{
	struct epoll_event	ev;
	unsigned int		i;
	int			sz = 1 << 21;

	if ((U.fd = calloc(U.nsock, sizeof(*U.fd))) == NULL)
		fatal("out of memory");
	if (!U.busy && (U.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	for (i = 0; i < U.nsock; i++) {
		U.fd[i] = socket(U.target.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (U.fd[i] == -1)
			fatal("socket: %s", strerror(errno));
		/* best effort: a deeper queue absorbs bursts at -n 64 */
		(void)setsockopt(U.fd[i], SOL_SOCKET, SO_RCVBUF, &sz,
		    sizeof(sz));
		(void)setsockopt(U.fd[i], SOL_SOCKET, SO_SNDBUF, &sz,
		    sizeof(sz));
		if (U.spread)
			bind_spread(U.fd[i], i);
		if (connect(U.fd[i], (struct sockaddr *)&U.target,
		    U.targetlen) == -1)
			fatal("connect %s: %s", U.target_str, strerror(errno));
		if (!U.busy) {
			ev.events = EPOLLIN;
			ev.data.u32 = i;
			if (epoll_ctl(U.epfd, EPOLL_CTL_ADD, U.fd[i], &ev) == -1)
				fatal("epoll_ctl: %s", strerror(errno));
		}
	}
}

static void
alloc_state(void)
{
	uint64_t	want;
	uint32_t	size = 64, fsize;
	unsigned int	i, j;

	/*
	 * The ring holds every request not yet answered nor expired: in
	 * flight plus what a timeout's worth of traffic can leave behind.
	 */
	want = (uint64_t)U.inflight * 4 + MIN_RING;
	if (U.rate > 0)
		want = (uint64_t)(U.rate * (double)U.timeout_ms / 1000.0 * 2) +
		    MIN_RING;
	while (size < want && size < MAX_RING)
		size <<= 1;
	if ((U.ring = calloc(size, sizeof(*U.ring))) == NULL)
		fatal("out of memory");
	U.ringmask = size - 1;

	if ((U.rxbuf = malloc((size_t)BATCH * RXBUF)) == NULL)
		fatal("out of memory");
	for (i = 0; i < BATCH; i++) {
		U.rxiov[i].iov_base = U.rxbuf + (size_t)i * RXBUF;
		U.rxiov[i].iov_len = RXBUF;
		U.rxmsg[i].msg_hdr.msg_iov = &U.rxiov[i];
		U.rxmsg[i].msg_hdr.msg_iovlen = 1;
	}
	if ((U.pend = calloc(U.nsock, sizeof(*U.pend))) == NULL)
		fatal("out of memory");
	for (i = 0; i < U.nsock; i++) {
		struct pending *p = &U.pend[i];

		if ((p->buf = malloc((size_t)BATCH * U.tmpllen + 1)) == NULL)
			fatal("out of memory");
		for (j = 0; j < BATCH; j++) {
			p->iov[j].iov_base = p->buf + (size_t)j * U.tmpllen;
			p->iov[j].iov_len = U.tmpllen;
			p->msg[j].msg_hdr.msg_iov = &p->iov[j];
			p->msg[j].msg_hdr.msg_iovlen = 1;
		}
	}
	if (!U.by_id) {
		if ((U.fifo = calloc(U.nsock, sizeof(*U.fifo))) == NULL)
			fatal("out of memory");
		fsize = 16;
		while (fsize < size / U.nsock + BATCH)
			fsize <<= 1;
		for (i = 0; i < U.nsock; i++) {
			U.fifo[i].seq = calloc(fsize, sizeof(uint64_t));
			if (U.fifo[i].seq == NULL)
				fatal("out of memory");
			U.fifo[i].mask = fsize - 1;
		}
	}
}

static void
wait_events(uint64_t now, uint64_t until)
{
	struct epoll_event	ev[64];
	uint64_t		d;
	int			i, n;
#ifdef HAVE_EPOLL_PWAIT2
	static int		have_pwait2 = 1;
	struct timespec		ts;
#endif

	d = until > now ? until - now : 0;
#ifdef HAVE_EPOLL_PWAIT2
	if (have_pwait2) {
		ts.tv_sec = (time_t)(d / 1000000000ULL);
		ts.tv_nsec = (long)(d % 1000000000ULL);
		n = epoll_pwait2(U.epfd, ev, 64, &ts, NULL);
		if (n == -1 && errno == ENOSYS)
			have_pwait2 = 0;
		else
			goto got;
	}
#endif
	n = epoll_wait(U.epfd, ev, 64, (int)((d + 999999) / 1000000));
#ifdef HAVE_EPOLL_PWAIT2
got:
#endif
	if (n == -1) {
		if (errno != EINTR)
			fatal("epoll_wait: %s", strerror(errno));
		return;
	}
	for (i = 0; i < n; i++)
		(void)drain(ev[i].data.u32);
}

static void
run(void)
{
	uint64_t	start, now, end, warm_end, drain_end = 0, next_send;
	uint64_t	interval = 0, next_expire, until, t_begin;
	unsigned int	i, burst;
	int		stopping = 0, warm = U.warmup > 0;

	start = now_ns();
	warm_end = start + (uint64_t)(U.warmup * 1e9);
	end = warm_end + (uint64_t)(U.duration * 1e9);
	t_begin = warm ? warm_end : start;
	next_send = start;
	if (U.rate > 0)
		interval = (uint64_t)(1e9 / U.rate);
	if (interval == 0 && U.rate > 0)
		interval = 1;
	next_expire = start;

	for (;;) {
		now = now_ns();
		if (warm && now >= warm_end) {
			/* forget everything sent so far */
			warm = 0;
			U.epoch = U.next_seq;
			U.sent = U.replies = U.lost = U.mismatches = 0;
			U.late = U.stray = U.send_errors = U.recv_errors = 0;
			U.refused = U.lat_sum = U.lat_max = U.lat_min = 0;
			memset(U.hist, 0, sizeof(U.hist));
		}
		if (!stopping && (now >= end || stop_flag)) {
			stopping = 1;
			drain_end = now + U.timeout_ns;
		}
		if (stopping && (U.nbusy == 0 || now >= drain_end))
			break;
		if (now >= next_expire) {
			expire(now, 0);
			next_expire = now + U.timeout_ns / 20 + 1;
		}
		if (!stopping) {
			if (U.rate > 0) {
				/* catch up at most a few batches at a time */
				for (burst = 0; next_send <= now &&
				    burst < 4 * BATCH; burst++) {
					if (queue_request(now) != 0)
						break;
					next_send += interval;
				}
				if (next_send + U.timeout_ns < now) {
					/* hopelessly behind: skip ahead */
					next_send = now;
				}
			} else {
				while (U.nbusy < U.inflight)
					if (queue_request(now) != 0)
						break;
			}
			flush_all();
		}
		if (U.busy) {
			for (i = 0; i < U.nsock; i++)
				(void)drain(i);
			continue;
		}
		until = next_expire;
		if (stopping && drain_end < until)
			until = drain_end;
		if (!stopping) {
			if (end < until)
				until = end;
			if (U.rate > 0 && next_send < until)
				until = next_send;
			if (warm && warm_end < until)
				until = warm_end;
		}
		wait_events(now, until);
	}
	expire(0, 1);
	if (stop_flag)
		now = now_ns();
	else
		now = end;
	/* elapsed time of the measured part: from start (or warm-up end) */
	U.duration = (double)(now - t_begin) / 1e9;
}

static void
report(void)
{
	struct rusage	ru;
	double		cpu, rps, loss, p50, p90, p99, p999, mean;
	uint64_t	answered;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	rps = U.duration > 0 ? (double)U.replies / U.duration : 0.0;
	answered = U.replies + U.mismatches;
	loss = U.sent > 0 ? 100.0 * (double)U.lost / (double)U.sent : 0.0;
	p50 = hist_pct(50) / 1e3;
	p90 = hist_pct(90) / 1e3;
	p99 = hist_pct(99) / 1e3;
	p999 = hist_pct(99.9) / 1e3;
	mean = U.replies ? (double)U.lat_sum / (double)U.replies / 1e3 : 0.0;

	printf("target=%s mode=%s inflight=%u rate=%.0f sockets=%u len=%zu "
	    "busy_poll=%d timeout_ms=%u duration_s=%.3f sent=%llu "
	    "replies=%llu lost=%llu mismatches=%llu late=%llu stray=%llu "
	    "refused=%llu send_errors=%llu recv_errors=%llu rps=%.0f "
	    "loss_pct=%.3f min_us=%.1f mean_us=%.1f p50_us=%.1f p90_us=%.1f "
	    "p99_us=%.1f p999_us=%.1f max_us=%.1f client_cpu_s=%.3f\n",
	    U.target_str, U.mode_str, U.rate > 0 ? 0 : U.inflight, U.rate,
	    U.nsock, U.len, U.busy, U.timeout_ms, U.duration,
	    (unsigned long long)U.sent, (unsigned long long)U.replies,
	    (unsigned long long)U.lost, (unsigned long long)U.mismatches,
	    (unsigned long long)U.late, (unsigned long long)U.stray,
	    (unsigned long long)U.refused, (unsigned long long)U.send_errors,
	    (unsigned long long)U.recv_errors, rps, loss,
	    (double)U.lat_min / 1e3, mean, p50, p90, p99, p999,
	    (double)U.lat_max / 1e3, cpu);
	fflush(stdout);
	if (U.quiet)
		return;
	fprintf(stderr, "%s %s: %llu sent, %llu answered (%llu wrong), "
	    "%llu lost (%.2f%%), %.0f replies/s; latency us p50 %.1f "
	    "p99 %.1f p99.9 %.1f max %.1f\n",
	    U.target_str, U.mode_str, (unsigned long long)U.sent,
	    (unsigned long long)answered, (unsigned long long)U.mismatches,
	    (unsigned long long)U.lost, loss, rps, p50, p99, p999,
	    (double)U.lat_max / 1e3);
}

int
main(int argc, char *argv[])
{
	struct sigaction	sa;
	int			ch, have_target = 0, have_n = 0;

	U.inflight = 1;
	U.nsock = 1;
	U.len = 32;
	U.duration = 5;
	U.timeout_ms = 200;
	U.mode = M_ECHO;
	U.mode_str = "echo";

	while ((ch = getopt(argc, argv, "bd:e:hl:n:p:qr:s:St:T:w:x:")) != -1) {
		switch (ch) {
		case 'b':
			U.busy = 1;
			break;
		case 'd':
			U.duration = parse_num(optarg, "duration", 0.001,
			    MAX_DURATION);
			break;
		case 'e':
			parse_mode(optarg);
			break;
		case 'l':
			U.len = (size_t)parse_num(optarg, "length", 0,
			    MAX_PAYLOAD);
			break;
		case 'n':
			U.inflight = (unsigned int)parse_num(optarg,
			    "in-flight count", 1, MAX_INFLIGHT);
			have_n = 1;
			break;
		case 'p':
			U.text = optarg;
			break;
		case 'x':
			U.hex = optarg;
			break;
		case 'q':
			U.quiet = 1;
			break;
		case 'r':
			U.rate = parse_num(optarg, "rate", 0, 1e8);
			break;
		case 's':
			U.nsock = (unsigned int)parse_num(optarg, "sockets", 1,
			    MAX_SOCKETS);
			break;
		case 'S':
			U.spread = 1;
			break;
		case 't':
			parse_target(optarg);
			have_target = 1;
			break;
		case 'T':
			U.timeout_ms = (unsigned int)parse_num(optarg,
			    "timeout", 1, 60000);
			break;
		case 'w':
			U.warmup = parse_num(optarg, "warm-up", 0, 60);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !have_target)
		usage();
	if (U.rate > 0 && have_n && !U.quiet)
		fprintf(stderr, "udpload: -n is ignored with -r\n");
	if (U.duration + U.warmup > MAX_DURATION)
		fatal("duration plus warm-up over %.0f s", MAX_DURATION);
	U.timeout_ns = (uint64_t)U.timeout_ms * 1000000ULL;

	make_template();
	alloc_state();
	open_sockets();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	run();
	report();
	return 0;
}
