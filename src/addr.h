/*
 * addr.h - listen addresses ("127.0.0.1:6000", "[::1]:echo", "*:123"),
 * CIDR blocks for access lists, and printing peers.  No sockets here.
 */
#ifndef UDPD_ADDR_H
#define UDPD_ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct udpd_sockaddr {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

struct cidr {
	int	family;		/* AF_INET or AF_INET6 */
	uint8_t	addr[16];	/* network byte order, host bits cleared */
	int	prefix;
};

/*
 * Parses "host:port".  "*" yields two addresses (0.0.0.0 and ::).  The port
 * is a number (0-65535; 0 lets the kernel choose) or an /etc/services name.
 * Returns the number of addresses (1 or 2), or -1 with a reason in err.
 */
int	addr_parse_listen(const char *spec, struct udpd_sockaddr out[2],
	    char *err, size_t errlen);

/*
 * "a.b.c.d:port" or "[v6]:port" ("[fe80::1%3]:port" with a scope);
 * IPv4-mapped IPv6 printed as IPv4.
 */
const char *addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* Just the address, no port. */
const char *addr_format_host(const struct sockaddr *sa, char *buf,
	    size_t len);

uint16_t addr_port(const struct sockaddr *sa);
int	addr_is_wildcard(const struct sockaddr *sa);
/* Same family, address and port. */
int	addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128). */
int	cidr_parse(const char *text, struct cidr *out, char *err,
	    size_t errlen);
/* Does sa fall in c?  IPv4-mapped IPv6 sources match IPv4 blocks. */
int	cidr_match(const struct cidr *c, const struct sockaddr *sa);

#endif
