/*
 * addr.c - parsing of listen addresses and CIDR blocks, and printing of
 * socket addresses.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* A port number or an /etc/services name for udp; -1 if neither. */
static int
addr_parse_port(const char *text)
{
	struct servent *se;
	char *end;
	long v;

	if (*text == '\0')
		return -1;
	if (text[0] >= '0' && text[0] <= '9') {
		errno = 0;
		v = strtol(text, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
			return -1;
		return (int)v;
	}
	se = getservbyname(text, "udp");
	endservent();
	if (se == NULL)
		return -1;
	return ntohs((uint16_t)se->s_port);
}

static void
addr_set_v4(struct udpd_sockaddr *a, const struct in_addr *in, int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_addr = *in;
	sin->sin_port = htons((uint16_t)port);
	a->len = sizeof(*sin);
}

static void
addr_set_v6(struct udpd_sockaddr *a, const struct in6_addr *in6, int port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = *in6;
	sin6->sin6_port = htons((uint16_t)port);
	a->len = sizeof(*sin6);
}

/* The errors of addr_parse_listen(): each says so in err, returns -1. */
static int
addr_bad_host(const char *spec, char *err, size_t errlen)
{
	snprintf(err, errlen, "'%s': bad address (a numeric IPv4 address, "
	    "[IPv6] or *)", spec);
	return -1;
}

static int
addr_bad_port(const char *spec, const char *portstr, char *err,
    size_t errlen)
{
	snprintf(err, errlen, "'%s': bad port '%s' (a number 0-65535 or a "
	    "udp service name)", spec, portstr);
	return -1;
}

static int
addr_multicast(const char *spec, char *err, size_t errlen)
{
	/* A reply leaves from the request's destination: a group address
	 * can never be the source of a unicast reply. */
	snprintf(err, errlen, "'%s': a multicast address cannot serve "
	    "replies (use a unicast address or \"*\")", spec);
	return -1;
}

/* "[IPv6]:port" into out[0]: 1, or -1. */
static int
addr_parse_bracketed(const char *spec, struct udpd_sockaddr out[2],
    char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *close = strchr(spec, ']');
	struct in6_addr in6;
	size_t hlen;
	int port;

	if (close == NULL || close[1] != ':') {
		snprintf(err, errlen, "'%s': expected [IPv6]:port", spec);
		return -1;
	}
	hlen = (size_t)(close - spec - 1);
	if (hlen >= sizeof(host))
		return addr_bad_host(spec, err, errlen);
	memcpy(host, spec + 1, hlen);
	host[hlen] = '\0';
	if ((port = addr_parse_port(close + 2)) < 0)
		return addr_bad_port(spec, close + 2, err, errlen);
	if (inet_pton(AF_INET6, host, &in6) != 1)
		return addr_bad_host(spec, err, errlen);
	/* Sockets are IPv6-only: such a socket never gets IPv4. */
	if (IN6_IS_ADDR_V4MAPPED(&in6)) {
		snprintf(err, errlen, "'%s': an IPv4-mapped address "
		    "cannot be bound (write the IPv4 address)", spec);
		return -1;
	}
	if (IN6_IS_ADDR_MULTICAST(&in6))
		return addr_multicast(spec, err, errlen);
	addr_set_v6(&out[0], &in6, port);
	return 1;
}

/* "IPv4:port" into out[0] (1), "*:port" into both (2), or -1. */
static int
addr_parse_plain(const char *spec, struct udpd_sockaddr out[2], char *err,
    size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(spec, ':');
	struct in_addr in;
	size_t hlen;
	int port;

	if (colon == NULL || strchr(spec, ':') != colon) {
		snprintf(err, errlen, "'%s': expected address:port "
		    "(IPv6 in brackets)", spec);
		return -1;
	}
	hlen = (size_t)(colon - spec);
	if (hlen == 0 || hlen >= sizeof(host))
		return addr_bad_host(spec, err, errlen);
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if ((port = addr_parse_port(colon + 1)) < 0)
		return addr_bad_port(spec, colon + 1, err, errlen);
	if (strcmp(host, "*") == 0) {
		in.s_addr = htonl(INADDR_ANY);
		addr_set_v4(&out[0], &in, port);
		addr_set_v6(&out[1], &in6addr_any, port);
		return 2;
	}
	if (inet_pton(AF_INET, host, &in) != 1)
		return addr_bad_host(spec, err, errlen);
	if (IN_MULTICAST(ntohl(in.s_addr)))
		return addr_multicast(spec, err, errlen);
	addr_set_v4(&out[0], &in, port);
	return 1;
}

int
addr_parse_listen(const char *spec, struct udpd_sockaddr out[2], char *err,
    size_t errlen)
{
	if (spec[0] == '[')
		return addr_parse_bracketed(spec, out, err, errlen);
	return addr_parse_plain(spec, out, err, errlen);
}

/* The IPv4 address inside an IPv4-mapped IPv6 one, or NULL. */
static const uint8_t *
addr_mapped_v4(const struct sockaddr_in6 *sin6)
{
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return sin6->sin6_addr.s6_addr + 12;
	return NULL;
}

const char *
addr_format_host(const struct sockaddr *sa, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	const struct sockaddr_in6 *sin6;
	const uint8_t *v4;

	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    tmp, sizeof(tmp));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if ((v4 = addr_mapped_v4(sin6)) != NULL)
			inet_ntop(AF_INET, v4, tmp, sizeof(tmp));
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, tmp,
			    sizeof(tmp));
		break;
	default:
		snprintf(tmp, sizeof(tmp), "(family %d)", sa->sa_family);
	}
	snprintf(buf, len, "%s", tmp);
	return buf;
}

const char *
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char host[INET6_ADDRSTRLEN + 16];

	addr_format_host(sa, host, sizeof(host));
	if (sa->sa_family != AF_INET6 || addr_mapped_v4(sin6) != NULL)
		snprintf(buf, len, "%s:%u", host, addr_port(sa));
	else if (sin6->sin6_scope_id != 0)	/* link-local: which link */
		snprintf(buf, len, "[%s%%%u]:%u", host,
		    (unsigned)sin6->sin6_scope_id, addr_port(sa));
	else
		snprintf(buf, len, "[%s]:%u", host, addr_port(sa));
	return buf;
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

int
addr_is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

int
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family || addr_port(a) != addr_port(b))
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return IN6_ARE_ADDR_EQUAL(
		    &((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr);
	return 0;
}

int
cidr_parse(const char *text, struct cidr *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	int maxbits, bits;
	long v;
	char *end;

	memset(out, 0, sizeof(*out));
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		maxbits = 128;
	} else
		goto bad;
	out->prefix = maxbits;
	if (slash != NULL) {
		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    errno != 0 || v < 0 || v > maxbits)
			goto bad;
		out->prefix = (int)v;
	}
	/* Clear host bits so that matching is a plain comparison. */
	for (bits = 0; bits < maxbits; bits++)
		if (bits >= out->prefix)
			out->addr[bits / 8] &= (uint8_t)~(0x80 >> (bits % 8));
	/* Sources are matched as IPv4, so such a block would never match. */
	if (out->family == AF_INET6 && out->prefix >= 96 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)out->addr)) {
		snprintf(err, errlen, "'%s': an IPv4-mapped block never "
		    "matches (write the IPv4 form)", text);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "'%s': bad CIDR block (address/prefix, e.g. "
	    "192.0.2.0/24 or 2001:db8::/32)", text);
	return -1;
}

/* IPv4 in one comparison: this runs for every datagram. */
static int
cidr_match_v4(const struct cidr *c, const uint8_t *addr)
{
	uint32_t a, net, mask;

	memcpy(&a, addr, 4);
	memcpy(&net, c->addr, 4);
	mask = c->prefix == 0 ? 0 : htonl(0xffffffffu << (32 - c->prefix));
	return ((a ^ net) & mask) == 0;
}

static int
cidr_match_bytes(const struct cidr *c, const uint8_t *addr)
{
	int full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((addr[full] ^ c->addr[full]) & (0xff00 >> rest)) == 0;
}

int
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6;
	const uint8_t *v4;

	if (sa->sa_family == AF_INET)
		return c->family == AF_INET && cidr_match_v4(c,
		    (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family != AF_INET6)
		return 0;
	sin6 = (const struct sockaddr_in6 *)sa;
	if (c->family == AF_INET6)
		return cidr_match_bytes(c, sin6->sin6_addr.s6_addr);
	v4 = addr_mapped_v4(sin6);
	return v4 != NULL && cidr_match_v4(c, v4);
}
