/*
 * fuzz_addr.c - listen addresses and CIDR blocks from arbitrary strings
 * (the input up to its first NUL).  A refused string gets a reason; an
 * accepted listen address prints and parses back to itself; an accepted
 * CIDR block has its host bits clear, prints and parses back to itself,
 * contains its own network address (as IPv4 and IPv4-mapped IPv6), and
 * matches the addresses made from the input's bytes exactly as a plain
 * bit-by-bit comparison does.
 */
#include "config.h"

#include "addr.h"
#include "fuzz.h"

#define ERRLEN	80

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
check_listen(const char *s)
{
	struct udpd_sockaddr out[2], again[2];
	char *err = malloc(ERRLEN), text[128];
	int n, m;

	FUZZ_CHECK(err != NULL);
	memset(out, 0xa5, sizeof(out));
	n = addr_parse_listen(s, out, err, ERRLEN);
	FUZZ_CHECK(n == -1 || n == 1 || n == 2);
	if (n == -1) {
		FUZZ_CHECK(strnlen(err, ERRLEN) > 0 &&
		    strnlen(err, ERRLEN) < ERRLEN);
		free(err);
		return;
	}
	if (n == 2) {
		FUZZ_CHECK(s[0] == '*' && s[1] == ':');
		FUZZ_CHECK(out[0].ss.ss_family == AF_INET &&
		    out[1].ss.ss_family == AF_INET6);
		FUZZ_CHECK(addr_is_wildcard((struct sockaddr *)&out[0].ss) &&
		    addr_is_wildcard((struct sockaddr *)&out[1].ss));
		FUZZ_CHECK(addr_port((struct sockaddr *)&out[0].ss) ==
		    addr_port((struct sockaddr *)&out[1].ss));
	}
	for (int i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&out[i].ss;

		if (sa->sa_family == AF_INET)
			FUZZ_CHECK(out[i].len == sizeof(struct sockaddr_in));
		else {
			FUZZ_CHECK(sa->sa_family == AF_INET6);
			FUZZ_CHECK(out[i].len == sizeof(struct sockaddr_in6));
			/* Printed as IPv4: it would not come back as IPv6. */
			if (IN6_IS_ADDR_V4MAPPED(
			    &((const struct sockaddr_in6 *)sa)->sin6_addr))
				continue;
		}
		addr_format(sa, text, sizeof(text));
		m = addr_parse_listen(text, again, err, ERRLEN);
		if (m != 1)
			fprintf(stderr, "'%s' -> '%s' does not parse\n", s,
			    text);
		FUZZ_CHECK(m == 1);
		FUZZ_CHECK(addr_equal(sa, (struct sockaddr *)&again[0].ss));
	}
	free(err);
}

/* The reference: the first prefix bits of a and b are equal. */
static int
bits_equal(const uint8_t *a, const uint8_t *b, int prefix)
{
	for (int i = 0; i < prefix; i++)
		if (((a[i / 8] >> (7 - i % 8)) & 1) !=
		    ((b[i / 8] >> (7 - i % 8)) & 1))
			return 0;
	return 1;
}

static void
sa_v4(struct sockaddr_in *sin, const uint8_t a[4])
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, a, 4);
}

static void
sa_v6(struct sockaddr_in6 *sin6, const uint8_t a[16])
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, a, 16);
}

static void
check_cidr(const char *s, const uint8_t *data, size_t size)
{
	struct cidr c, again;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	uint8_t probe[16] = { 0 }, mapped[16] = { 0 };
	char *err = malloc(ERRLEN), text[INET6_ADDRSTRLEN + 8];
	char host[INET6_ADDRSTRLEN];
	int maxbits;

	FUZZ_CHECK(err != NULL);
	if (cidr_parse(s, &c, err, ERRLEN) == -1) {
		FUZZ_CHECK(strnlen(err, ERRLEN) > 0 &&
		    strnlen(err, ERRLEN) < ERRLEN);
		free(err);
		return;
	}
	free(err);
	FUZZ_CHECK(c.family == AF_INET || c.family == AF_INET6);
	maxbits = c.family == AF_INET ? 32 : 128;
	FUZZ_CHECK(c.prefix >= 0 && c.prefix <= maxbits);
	for (int i = c.prefix; i < 128; i++)
		FUZZ_CHECK(((c.addr[i / 8] >> (7 - i % 8)) & 1) == 0);

	/* Printed and parsed again: the same block. */
	FUZZ_CHECK(inet_ntop(c.family, c.addr, host, sizeof(host)) != NULL);
	snprintf(text, sizeof(text), "%s/%d", host, c.prefix);
	FUZZ_CHECK(cidr_parse(text, &again, host, sizeof(host)) == 0);
	FUZZ_CHECK(again.family == c.family && again.prefix == c.prefix &&
	    memcmp(again.addr, c.addr, sizeof(c.addr)) == 0);

	/* The network address itself, and addresses from the input. */
	memcpy(probe, c.addr, 16);
	for (size_t k = 0; k <= size / 16 && k < 8; k++) {
		if (k > 0)
			memcpy(probe, data + (k - 1) * 16, 16);
		if (c.family == AF_INET) {
			sa_v4(&sin, probe);
			FUZZ_CHECK(cidr_match(&c, (struct sockaddr *)&sin) ==
			    bits_equal(c.addr, probe, c.prefix));
			mapped[10] = mapped[11] = 0xff;
			memcpy(mapped + 12, probe, 4);
			sa_v6(&sin6, mapped);
			FUZZ_CHECK(cidr_match(&c, (struct sockaddr *)&sin6) ==
			    bits_equal(c.addr, probe, c.prefix));
			/* Not mapped: an IPv4 block never matches. */
			sa_v6(&sin6, probe);
			if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
				FUZZ_CHECK(!cidr_match(&c,
				    (struct sockaddr *)&sin6));
		} else {
			sa_v6(&sin6, probe);
			FUZZ_CHECK(cidr_match(&c, (struct sockaddr *)&sin6) ==
			    bits_equal(c.addr, probe, c.prefix));
			sa_v4(&sin, probe);
			FUZZ_CHECK(!cidr_match(&c, (struct sockaddr *)&sin));
		}
		if (k == 0)
			FUZZ_CHECK(bits_equal(c.addr, probe, c.prefix));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	check_listen(s);
	check_cidr(s, data, size);
	free(s);
	return 0;
}
