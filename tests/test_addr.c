/*
 * test_addr.c - listen addresses ("127.0.0.1:6000", "[::1]:echo", "*:123"),
 * printing of peers, and CIDR blocks for allow/deny (SPEC 3).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "unit.h"

/* The reasons addr_parse_listen gives, and the expected messages. */
enum why { BAD_PORT, BAD_HOST, NO_PORT, NO_BRACKET };

static void
why_text(enum why w, const char *spec, const char *port, char *buf,
    size_t len)
{
	switch (w) {
	case BAD_PORT:
		snprintf(buf, len, "'%s': bad port '%s' (a number 0-65535 or "
		    "a udp service name)", spec, port);
		break;
	case BAD_HOST:
		snprintf(buf, len, "'%s': bad address (a numeric IPv4 "
		    "address, [IPv6] or *)", spec);
		break;
	case NO_PORT:
		snprintf(buf, len, "'%s': expected address:port (IPv6 in "
		    "brackets)", spec);
		break;
	case NO_BRACKET:
		snprintf(buf, len, "'%s': expected [IPv6]:port", spec);
		break;
	}
}

static struct sockaddr_in
sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return sin;
}

static struct sockaddr_in6
sin6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 s6;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6.sin6_addr), 1);
	return s6;
}

/* ---- addr_parse_listen ---------------------------------------------- */

static void
parse_v4(const char *spec, const char *ip, uint16_t port)
{
	struct udpd_sockaddr out[2];
	struct sockaddr_in want = sin4(ip, port);
	char err[256] = "";

	ck_assert_msg(addr_parse_listen(spec, out, err, sizeof(err)) == 1,
	    "%s: %s", spec, err);
	ck_assert_uint_eq(out[0].len, sizeof(struct sockaddr_in));
	ck_assert_int_eq(out[0].ss.ss_family, AF_INET);
	ck_assert_msg(addr_equal((const struct sockaddr *)&out[0].ss,
	    (const struct sockaddr *)&want), "%s", spec);
	ck_assert_uint_eq(addr_port((const struct sockaddr *)&out[0].ss),
	    port);
}

static void
parse_v6(const char *spec, const char *ip, uint16_t port)
{
	struct udpd_sockaddr out[2];
	struct sockaddr_in6 want = sin6(ip, port);
	const struct sockaddr_in6 *got;
	char err[256] = "";

	ck_assert_msg(addr_parse_listen(spec, out, err, sizeof(err)) == 1,
	    "%s: %s", spec, err);
	ck_assert_uint_eq(out[0].len, sizeof(struct sockaddr_in6));
	got = (const struct sockaddr_in6 *)&out[0].ss;
	ck_assert_int_eq(got->sin6_family, AF_INET6);
	ck_assert_mem_eq(&got->sin6_addr, &want.sin6_addr,
	    sizeof(want.sin6_addr));
	ck_assert_uint_eq(ntohs(got->sin6_port), port);
	ck_assert_uint_eq(got->sin6_scope_id, 0);
	ck_assert_uint_eq(got->sin6_flowinfo, 0);
}

/* spec must be refused with exactly the message for w. */
static void
parse_fails(const char *spec, enum why w, const char *port)
{
	struct udpd_sockaddr out[2];
	char err[256], want[256];

	memset(err, 0, sizeof(err));
	ck_assert_msg(addr_parse_listen(spec, out, err, sizeof(err)) == -1,
	    "'%s' accepted", spec);
	why_text(w, spec, port, want, sizeof(want));
	ck_assert_str_eq(err, want);
}

START_TEST(test_listen_ipv4)
{
	parse_v4("127.0.0.1:6000", "127.0.0.1", 6000);
	parse_v4("192.0.2.255:1", "192.0.2.255", 1);
	parse_v4("0.0.0.0:65535", "0.0.0.0", 65535);
}
END_TEST

START_TEST(test_listen_ipv6)
{
	parse_v6("[::1]:6000", "::1", 6000);
	parse_v6("[::]:123", "::", 123);
	parse_v6("[2001:db8::42]:65535", "2001:db8::42", 65535);
	parse_v6("[2001:db8:0:1:2:3:4:5]:9", "2001:db8:0:1:2:3:4:5", 9);
	parse_v6("[fe80::1]:1", "fe80::1", 1);
}
END_TEST

/* "*" is every IPv4 and every IPv6 address: two sockets. */
START_TEST(test_listen_wildcard)
{
	struct udpd_sockaddr out[2];
	struct sockaddr_in v4 = sin4("0.0.0.0", 123);
	struct sockaddr_in6 v6 = sin6("::", 123);
	char err[256] = "";

	ck_assert_int_eq(addr_parse_listen("*:123", out, err, sizeof(err)),
	    2);
	ck_assert_uint_eq(out[0].len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(out[1].len, sizeof(struct sockaddr_in6));
	ck_assert(addr_equal((const struct sockaddr *)&out[0].ss,
	    (const struct sockaddr *)&v4));
	ck_assert(addr_equal((const struct sockaddr *)&out[1].ss,
	    (const struct sockaddr *)&v6));
	ck_assert(addr_is_wildcard((const struct sockaddr *)&out[0].ss));
	ck_assert(addr_is_wildcard((const struct sockaddr *)&out[1].ss));

	ck_assert_int_eq(addr_parse_listen("*:0", out, err, sizeof(err)), 2);
	ck_assert_uint_eq(addr_port((const struct sockaddr *)&out[0].ss), 0);
	ck_assert_uint_eq(addr_port((const struct sockaddr *)&out[1].ss), 0);
	ck_assert_int_eq(addr_parse_listen("*:echo", out, err, sizeof(err)),
	    2);
	ck_assert_uint_eq(addr_port((const struct sockaddr *)&out[0].ss), 7);
	ck_assert_uint_eq(addr_port((const struct sockaddr *)&out[1].ss), 7);
}
END_TEST

/* Ports by /etc/services name (udp), and port 0 (the kernel chooses). */
START_TEST(test_listen_port_names)
{
	parse_v4("127.0.0.1:echo", "127.0.0.1", 7);
	parse_v4("127.0.0.1:daytime", "127.0.0.1", 13);
	parse_v6("[::1]:ntp", "::1", 123);
	parse_v4("127.0.0.1:0", "127.0.0.1", 0);
	parse_v6("[::1]:0", "::1", 0);
}
END_TEST

START_TEST(test_listen_bad_port)
{
	parse_fails("127.0.0.1:70000", BAD_PORT, "70000");
	parse_fails("127.0.0.1:65536", BAD_PORT, "65536");
	parse_fails("127.0.0.1:-1", BAD_PORT, "-1");
	parse_fails("127.0.0.1:+80", BAD_PORT, "+80");
	parse_fails("127.0.0.1: 80", BAD_PORT, " 80");
	parse_fails("127.0.0.1:80 ", BAD_PORT, "80 ");
	parse_fails("127.0.0.1:0x50", BAD_PORT, "0x50");
	parse_fails("127.0.0.1:6000x", BAD_PORT, "6000x");
	parse_fails("127.0.0.1:99999999999999999999999",
	    BAD_PORT, "99999999999999999999999");
	parse_fails("127.0.0.1:", BAD_PORT, "");
	parse_fails("127.0.0.1:nosuchservice", BAD_PORT, "nosuchservice");
	parse_fails("*:nosuchservice", BAD_PORT, "nosuchservice");
	parse_fails("[::1]:", BAD_PORT, "");
	parse_fails("[::1]:70000", BAD_PORT, "70000");
	parse_fails("[::1]:nosuchservice", BAD_PORT, "nosuchservice");
}
END_TEST

START_TEST(test_listen_bad_host)
{
	parse_fails("256.1.2.3:80", BAD_HOST, NULL);
	parse_fails("1.2.3:80", BAD_HOST, NULL);
	parse_fails("1.2.3.4.5:80", BAD_HOST, NULL);
	parse_fails("localhost:80", BAD_HOST, NULL);
	parse_fails(":80", BAD_HOST, NULL);
	parse_fails("**:80", BAD_HOST, NULL);
	parse_fails(" 127.0.0.1:80", BAD_HOST, NULL);
	parse_fails("111111111111111111111111111111111111111111111111111:80",
	    BAD_HOST, NULL);
	parse_fails("[127.0.0.1]:80", BAD_HOST, NULL);
	parse_fails("[]:80", BAD_HOST, NULL);
	parse_fails("[*]:80", BAD_HOST, NULL);
	parse_fails("[2001:db8::g]:80", BAD_HOST, NULL);
	parse_fails("[1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20]:80",
	    BAD_HOST, NULL);
}
END_TEST

/* Addresses that bind but can never send a unicast reply. */
static void
refused(const char *spec, const char *word)
{
	struct udpd_sockaddr out[2];
	char err[256];

	memset(err, 0, sizeof(err));
	ck_assert_msg(addr_parse_listen(spec, out, err, sizeof(err)) == -1,
	    "'%s' accepted", spec);
	ck_assert_msg(strncmp(err, "'", 1) == 0 && strstr(err, spec) != NULL &&
	    strstr(err, word) != NULL, "'%s': %s", spec, err);
}

START_TEST(test_listen_no_unicast)
{
	refused("[::ffff:127.0.0.1]:17001", "IPv4-mapped");
	refused("[::ffff:0.0.0.0]:17001", "IPv4-mapped");
	refused("[ff02::1]:17001", "multicast");
	refused("[ff05::1:3]:547", "multicast");
	refused("224.0.0.1:17001", "multicast");
	refused("239.255.255.250:1900", "multicast");
	/* Either side of the multicast blocks is unicast. */
	parse_v4("223.255.255.255:1", "223.255.255.255", 1);
	parse_v4("240.0.0.1:1", "240.0.0.1", 1);
	parse_v6("[fe00::1]:1", "fe00::1", 1);
	parse_v6("[::fffe:0:1]:1", "::fffe:0:1", 1);
}
END_TEST

START_TEST(test_listen_bad_form)
{
	/* IPv6 needs brackets; a bare address has no port. */
	parse_fails("::1:6000", NO_PORT, NULL);
	parse_fails("::1", NO_PORT, NULL);
	parse_fails("2001:db8::1:53", NO_PORT, NULL);
	parse_fails("127.0.0.1", NO_PORT, NULL);
	parse_fails("127.0.0.1:80:81", NO_PORT, NULL);
	parse_fails("*", NO_PORT, NULL);
	parse_fails("", NO_PORT, NULL);
	parse_fails("[::1]", NO_BRACKET, NULL);
	parse_fails("[::1]6000", NO_BRACKET, NULL);
	parse_fails("[::1:6000", NO_BRACKET, NULL);
	parse_fails("[", NO_BRACKET, NULL);
}
END_TEST

/* A short error buffer is filled, NUL-terminated, never overrun. */
START_TEST(test_listen_short_err)
{
	struct udpd_sockaddr out[2];
	char err[16];

	memset(err, 'Z', sizeof(err));
	ck_assert_int_eq(addr_parse_listen("127.0.0.1:70000", out, err, 8),
	    -1);
	ck_assert_str_eq(err, "'127.0.");
	for (size_t i = 8; i < sizeof(err); i++)
		ck_assert_int_eq(err[i], 'Z');
}
END_TEST

/* ---- printing -------------------------------------------------------- */

START_TEST(test_format)
{
	struct sockaddr_in a = sin4("192.0.2.1", 53);
	struct sockaddr_in6 b = sin6("2001:db8::1", 6000);
	struct sockaddr_in6 m = sin6("::ffff:192.0.2.7", 40000);
	struct sockaddr_in6 any = sin6("::", 0);
	struct sockaddr_in zero = sin4("0.0.0.0", 65535);
	struct sockaddr_in6 ll;
	struct sockaddr_un un;
	char buf[128];

	ck_assert_str_eq(addr_format((const struct sockaddr *)&a, buf,
	    sizeof(buf)), "192.0.2.1:53");
	ck_assert_str_eq(buf, "192.0.2.1:53");
	ck_assert_str_eq(addr_format((const struct sockaddr *)&b, buf,
	    sizeof(buf)), "[2001:db8::1]:6000");
	/* IPv4-mapped IPv6 is printed as plain IPv4. */
	ck_assert_str_eq(addr_format((const struct sockaddr *)&m, buf,
	    sizeof(buf)), "192.0.2.7:40000");
	ck_assert_str_eq(addr_format((const struct sockaddr *)&any, buf,
	    sizeof(buf)), "[::]:0");
	ck_assert_str_eq(addr_format((const struct sockaddr *)&zero, buf,
	    sizeof(buf)), "0.0.0.0:65535");
	/* A link-local peer says which link. */
	ll = sin6("fe80::1", 123);
	ll.sin6_scope_id = 3;
	ck_assert_str_eq(addr_format((const struct sockaddr *)&ll, buf,
	    sizeof(buf)), "[fe80::1%3]:123");

	ck_assert_str_eq(addr_format_host((const struct sockaddr *)&a, buf,
	    sizeof(buf)), "192.0.2.1");
	ck_assert_str_eq(addr_format_host((const struct sockaddr *)&b, buf,
	    sizeof(buf)), "2001:db8::1");
	ck_assert_str_eq(addr_format_host((const struct sockaddr *)&m, buf,
	    sizeof(buf)), "192.0.2.7");

	/* Not an IP family: printed, not crashed on. */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	addr_format((const struct sockaddr *)&un, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "family"));
	ck_assert_uint_eq(addr_port((const struct sockaddr *)&un), 0);
}
END_TEST

START_TEST(test_format_truncates)
{
	struct sockaddr_in6 b = sin6("2001:db8::1", 6000);
	char buf[12];

	memset(buf, 'Z', sizeof(buf));
	addr_format((const struct sockaddr *)&b, buf, 6);
	ck_assert_str_eq(buf, "[2001");
	for (size_t i = 6; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 'Z');
}
END_TEST

START_TEST(test_port_wildcard)
{
	struct sockaddr_in a = sin4("127.0.0.1", 6000);
	struct sockaddr_in6 b = sin6("::1", 123);
	struct sockaddr_in any4 = sin4("0.0.0.0", 1);
	struct sockaddr_in6 any6 = sin6("::", 1);

	ck_assert_uint_eq(addr_port((const struct sockaddr *)&a), 6000);
	ck_assert_uint_eq(addr_port((const struct sockaddr *)&b), 123);
	ck_assert(!addr_is_wildcard((const struct sockaddr *)&a));
	ck_assert(!addr_is_wildcard((const struct sockaddr *)&b));
	ck_assert(addr_is_wildcard((const struct sockaddr *)&any4));
	ck_assert(addr_is_wildcard((const struct sockaddr *)&any6));
}
END_TEST

START_TEST(test_equal)
{
	struct sockaddr_in a = sin4("127.0.0.1", 6000);
	struct sockaddr_in a2 = sin4("127.0.0.1", 6000);
	struct sockaddr_in a_port = sin4("127.0.0.1", 6001);
	struct sockaddr_in a_ip = sin4("127.0.0.2", 6000);
	struct sockaddr_in6 m = sin6("::ffff:127.0.0.1", 6000);
	struct sockaddr_in6 b = sin6("::1", 6000);
	struct sockaddr_in6 b2 = sin6("::1", 6000);
	struct sockaddr_in6 b_port = sin6("::1", 6001);
	struct sockaddr_in6 b_ip = sin6("::2", 6000);
	struct sockaddr_in6 b_scope = sin6("::1", 6000);

	/* Padding bytes must not matter. */
	memset(a2.sin_zero, 0xaa, sizeof(a2.sin_zero));
	ck_assert(addr_equal((const struct sockaddr *)&a,
	    (const struct sockaddr *)&a2));
	ck_assert(!addr_equal((const struct sockaddr *)&a,
	    (const struct sockaddr *)&a_port));
	ck_assert(!addr_equal((const struct sockaddr *)&a,
	    (const struct sockaddr *)&a_ip));
	/* Same family only: a mapped address is another socket address. */
	ck_assert(!addr_equal((const struct sockaddr *)&a,
	    (const struct sockaddr *)&m));
	ck_assert(!addr_equal((const struct sockaddr *)&m,
	    (const struct sockaddr *)&a));
	ck_assert(addr_equal((const struct sockaddr *)&b,
	    (const struct sockaddr *)&b2));
	ck_assert(!addr_equal((const struct sockaddr *)&b,
	    (const struct sockaddr *)&b_port));
	ck_assert(!addr_equal((const struct sockaddr *)&b,
	    (const struct sockaddr *)&b_ip));
	ck_assert(!addr_equal((const struct sockaddr *)&a,
	    (const struct sockaddr *)&b));
	b_scope.sin6_flowinfo = htonl(5);
	ck_assert(addr_equal((const struct sockaddr *)&b,
	    (const struct sockaddr *)&b_scope));
}
END_TEST

/* ---- CIDR ------------------------------------------------------------ */

static struct cidr
cidr(const char *text)
{
	struct cidr c;
	char err[256] = "";

	ck_assert_msg(cidr_parse(text, &c, err, sizeof(err)) == 0, "%s: %s",
	    text, err);
	return c;
}

static int
match4(const struct cidr *c, const char *ip)
{
	struct sockaddr_in sin = sin4(ip, 4000);

	return cidr_match(c, (const struct sockaddr *)&sin);
}

static int
match6(const struct cidr *c, const char *ip)
{
	struct sockaddr_in6 s6 = sin6(ip, 4000);

	return cidr_match(c, (const struct sockaddr *)&s6);
}

static void
cidr_fails(const char *text)
{
	struct cidr c;
	char err[256], want[256];

	memset(err, 0, sizeof(err));
	ck_assert_msg(cidr_parse(text, &c, err, sizeof(err)) == -1,
	    "'%s' accepted", text);
	snprintf(want, sizeof(want), "'%s': bad CIDR block (address/prefix, "
	    "e.g. 192.0.2.0/24 or 2001:db8::/32)", text);
	ck_assert_str_eq(err, want);
}

START_TEST(test_cidr_parse)
{
	struct cidr c;
	const uint8_t net8[16] = { 10 };
	const uint8_t net23[16] = { 10, 1, 2, 0 };
	const uint8_t host[16] = { 192, 0, 2, 7 };
	const uint8_t v6net[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0xff, 0 };
	const uint8_t zero[16] = { 0 };

	c = cidr("10.0.0.0/8");
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 8);
	ck_assert_mem_eq(c.addr, net8, 16);
	/* Host bits are cleared. */
	c = cidr("10.1.2.3/8");
	ck_assert_mem_eq(c.addr, net8, 16);
	c = cidr("10.1.3.77/23");
	ck_assert_int_eq(c.prefix, 23);
	ck_assert_mem_eq(c.addr, net23, 16);
	c = cidr("255.255.255.255/0");
	ck_assert_int_eq(c.prefix, 0);
	ck_assert_mem_eq(c.addr, zero, 16);
	/* A bare address is a /32 or a /128. */
	c = cidr("192.0.2.7");
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 32);
	ck_assert_mem_eq(c.addr, host, 16);
	c = cidr("::1");
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.prefix, 128);
	c = cidr("2001:db8::ffff/120");
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.prefix, 120);
	ck_assert_mem_eq(c.addr, v6net, 16);
	c = cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0");
	ck_assert_mem_eq(c.addr, zero, 16);
}
END_TEST

START_TEST(test_cidr_bad)
{
	cidr_fails("10.0.0.0/33");
	cidr_fails("1.2.3.4/");
	cidr_fails("::/129");
	cidr_fails("2001:db8::/");
	cidr_fails("/8");
	cidr_fails("");
	cidr_fails("10.0.0.0/-1");
	cidr_fails("10.0.0.0/+8");
	cidr_fails("10.0.0.0/8x");
	cidr_fails("10.0.0.0/ 8");
	cidr_fails("10.0.0.0/8 ");
	cidr_fails("10.0.0.0/8/8");
	cidr_fails("10.0.0/8");
	cidr_fails("10.0.0.0/99999999999999999999999");
	cidr_fails("example.org/8");
	cidr_fails("*");
	cidr_fails("[::1]/128");
	cidr_fails("1111111111111111111111111111111111111111111111111/8");
}
END_TEST

/* An IPv4-mapped block would never match (sources are matched as IPv4):
 * refused, as a mapped listen address is. */
START_TEST(test_cidr_mapped)
{
	static const char *const bad[] = {
		"::ffff:127.0.0.2", "::ffff:10.0.0.0/104", "::ffff:0:0/96",
	};
	struct cidr c;
	char err[256], want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(cidr_parse(bad[i], &c, err, sizeof(err)) == -1,
		    "'%s' accepted", bad[i]);
		snprintf(want, sizeof(want), "'%s': an IPv4-mapped block never "
		    "matches (write the IPv4 form)", bad[i]);
		ck_assert_str_eq(err, want);
	}
	/* Shorter blocks that hold the mapped range are plain IPv6. */
	c = cidr("::/80");
	ck_assert_int_eq(c.family, AF_INET6);
	c = cidr("::ffff:0:0/95");
	ck_assert_int_eq(c.prefix, 95);
}
END_TEST

START_TEST(test_cidr_match_v4)
{
	struct cidr all = cidr("0.0.0.0/0");
	struct cidr c8 = cidr("10.0.0.0/8");
	struct cidr c24 = cidr("192.0.2.0/24");
	struct cidr c32 = cidr("192.0.2.7/32");
	struct cidr c23 = cidr("198.51.100.0/23");
	struct cidr c9 = cidr("10.128.0.0/9");
	struct cidr c1 = cidr("128.0.0.0/1");
	struct cidr c31 = cidr("192.0.2.6/31");

	ck_assert(match4(&all, "0.0.0.0"));
	ck_assert(match4(&all, "255.255.255.255"));
	ck_assert(match4(&c8, "10.0.0.0"));
	ck_assert(match4(&c8, "10.255.255.255"));
	ck_assert(!match4(&c8, "11.0.0.0"));
	ck_assert(!match4(&c8, "9.255.255.255"));
	ck_assert(match4(&c24, "192.0.2.0"));
	ck_assert(match4(&c24, "192.0.2.255"));
	ck_assert(!match4(&c24, "192.0.3.0"));
	ck_assert(!match4(&c24, "192.0.1.255"));
	ck_assert(match4(&c32, "192.0.2.7"));
	ck_assert(!match4(&c32, "192.0.2.6"));
	ck_assert(!match4(&c32, "192.0.2.8"));
	ck_assert(!match4(&c32, "193.0.2.7"));
	ck_assert(match4(&c23, "198.51.100.1"));
	ck_assert(match4(&c23, "198.51.101.254"));
	ck_assert(!match4(&c23, "198.51.102.0"));
	ck_assert(!match4(&c23, "198.51.99.255"));
	ck_assert(match4(&c9, "10.200.0.1"));
	ck_assert(match4(&c9, "10.128.0.0"));
	ck_assert(!match4(&c9, "10.127.255.255"));
	ck_assert(match4(&c1, "200.1.1.1"));
	ck_assert(!match4(&c1, "127.255.255.255"));
	ck_assert(match4(&c31, "192.0.2.6"));
	ck_assert(match4(&c31, "192.0.2.7"));
	ck_assert(!match4(&c31, "192.0.2.5"));
	ck_assert(!match4(&c31, "192.0.2.8"));
}
END_TEST

START_TEST(test_cidr_match_v6)
{
	struct cidr all = cidr("::/0");
	struct cidr c64 = cidr("2001:db8:1:2::/64");
	struct cidr c128 = cidr("::1/128");
	struct cidr c127 = cidr("2001:db8::5/127");
	struct cidr c33 = cidr("2001:db8:8000::/33");

	ck_assert(match6(&all, "::"));
	ck_assert(match6(&all, "ffff::1"));
	ck_assert(match6(&c64, "2001:db8:1:2::"));
	ck_assert(match6(&c64, "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	ck_assert(!match6(&c64, "2001:db8:1:3::"));
	ck_assert(!match6(&c64, "2001:db8:1:1:ffff:ffff:ffff:ffff"));
	ck_assert(match6(&c128, "::1"));
	ck_assert(!match6(&c128, "::2"));
	ck_assert(!match6(&c128, "::"));
	ck_assert(!match6(&c128, "1::1"));
	ck_assert(match6(&c127, "2001:db8::4"));
	ck_assert(match6(&c127, "2001:db8::5"));
	ck_assert(!match6(&c127, "2001:db8::3"));
	ck_assert(!match6(&c127, "2001:db8::6"));
	ck_assert(match6(&c33, "2001:db8:ffff::1"));
	ck_assert(!match6(&c33, "2001:db8:7fff::1"));
}
END_TEST

/* IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d. */
START_TEST(test_cidr_match_mixed)
{
	struct cidr v4 = cidr("10.0.0.0/8");
	struct cidr v4host = cidr("192.0.2.7");
	struct cidr v4all = cidr("0.0.0.0/0");
	struct cidr v6all = cidr("::/0");
	/* cidr_parse refuses it (test_cidr_mapped); made by hand. */
	struct cidr v6mapped = { AF_INET6, { [10] = 0xff, [11] = 0xff,
	    [12] = 10 }, 104 };
	struct cidr v6lo = cidr("::1");
	struct sockaddr_un un;

	ck_assert(match6(&v4, "::ffff:10.1.2.3"));
	ck_assert(!match6(&v4, "::ffff:11.1.2.3"));
	ck_assert(match6(&v4host, "::ffff:192.0.2.7"));
	ck_assert(!match6(&v4host, "::ffff:192.0.2.8"));
	ck_assert(match6(&v4all, "::ffff:1.2.3.4"));
	/* A native IPv6 address is not in an IPv4 block. */
	ck_assert(!match6(&v4all, "::1"));
	ck_assert(!match6(&v4all, "2001:db8::1"));
	ck_assert(!match6(&v4, "::10.1.2.3"));		/* compatible, not mapped */
	ck_assert(!match6(&v4, "64:ff9b::10.1.2.3"));	/* NAT64 */
	/* An IPv4 source never matches an IPv6 block. */
	ck_assert(!match4(&v6all, "10.1.2.3"));
	ck_assert(!match4(&v6mapped, "10.1.2.3"));
	ck_assert(!match4(&v6lo, "127.0.0.1"));
	ck_assert(match6(&v6mapped, "::ffff:10.1.2.3"));
	/* Neither family. */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	ck_assert(!cidr_match(&v4all, (const struct sockaddr *)&un));
	ck_assert(!cidr_match(&v6all, (const struct sockaddr *)&un));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;

	tc = tcase_create("listen");
	tcase_add_test(tc, test_listen_ipv4);
	tcase_add_test(tc, test_listen_ipv6);
	tcase_add_test(tc, test_listen_no_unicast);
	tcase_add_test(tc, test_listen_wildcard);
	tcase_add_test(tc, test_listen_port_names);
	tcase_add_test(tc, test_listen_bad_port);
	tcase_add_test(tc, test_listen_bad_host);
	tcase_add_test(tc, test_listen_bad_form);
	tcase_add_test(tc, test_listen_short_err);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_truncates);
	tcase_add_test(tc, test_port_wildcard);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr");
	tcase_add_test(tc, test_cidr_parse);
	tcase_add_test(tc, test_cidr_bad);
	tcase_add_test(tc, test_cidr_mapped);
	tcase_add_test(tc, test_cidr_match_v4);
	tcase_add_test(tc, test_cidr_match_v6);
	tcase_add_test(tc, test_cidr_match_mixed);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
