/*
 * test_echo_upper.c - the byte-exact modules (SPEC 2): echo returns the
 * request unchanged (RFC 862); upper turns ASCII a-z into A-Z and leaves
 * every other byte alone.  Neither strips nor adds anything.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "unit.h"

/* An instance of mod built from an in-memory service group. */
static void *
mk(const struct udpd_module *mod)
{
	struct module_ctx ctx = { .service = mod->name };
	struct conf_err err;
	void *st = unit_create(mod, "services = ( { name = \"x\"; "
	    "module = \"x\"; listen = [ \"127.0.0.1:0\" ]; } );",
	    "services.[0]", "/tmp", &ctx, &err);

	ck_assert_msg(st != NULL, "%s: %s", mod->name, err.msg);
	return st;
}

static unsigned char rbuf[UDPD_MAX_DATAGRAM + UNIT_GUARD];
static unsigned char big[UDPD_MAX_DATAGRAM + 1];
static unsigned char big_want[UDPD_MAX_DATAGRAM + 1];

/* Byte-exact modules: the peer is IPv6, to show it does not matter. */
static enum udpd_verdict
run_cap(const struct udpd_module *mod, void *st, const void *data,
    size_t len, size_t cap, size_t *outlen)
{
	struct sockaddr_in6 peer = { .sin6_family = AF_INET6,
	    .sin6_port = htons(40000), .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	return unit_handle(mod, st, data, len, (const struct sockaddr *)&peer,
	    rbuf, cap, outlen);
}

static void
expect(const struct udpd_module *mod, const void *req, size_t len,
    const void *want, size_t wlen)
{
	void *st = mk(mod);
	size_t got;
	enum udpd_verdict v = run_cap(mod, st, req, len, UDPD_MAX_DATAGRAM,
	    &got);

	ck_assert_int_eq(v, UDPD_REPLY);
	ck_assert_uint_eq(got, wlen);
	ck_assert_msg(memcmp(rbuf, want, wlen) == 0, "%s: reply differs",
	    mod->name);
	/* Not one byte more than the reply was touched. */
	ck_assert_int_eq(rbuf[wlen], 0xee);
	mod->destroy(st);
}

#define EXPECT(mod, req, want) \
	expect((mod), (req), sizeof(req) - 1, (want), sizeof(want) - 1)

/* ---- echo ------------------------------------------------------------ */

START_TEST(test_echo_small)
{
	/* An empty datagram gets an empty reply (0 is a valid reply). */
	expect(&module_echo, "", 0, "", 0);
	EXPECT(&module_echo, "x", "x");
	EXPECT(&module_echo, "\0", "\0");
	EXPECT(&module_echo, "\n", "\n");
	EXPECT(&module_echo, "hello\n", "hello\n");
	EXPECT(&module_echo, "hello\r\n", "hello\r\n");
	EXPECT(&module_echo, "a\0b\0\0c", "a\0b\0\0c");
	EXPECT(&module_echo, "exit", "exit");
	EXPECT(&module_echo, "Gr\xc3\xbc\xc3\x9f \xff\x80",
	    "Gr\xc3\xbc\xc3\x9f \xff\x80");
}
END_TEST

START_TEST(test_echo_all_bytes)
{
	unsigned char all[256];

	for (size_t i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	expect(&module_echo, all, sizeof(all), all, sizeof(all));
}
END_TEST

/* The largest UDP payload comes back whole. */
START_TEST(test_echo_max)
{
	for (size_t i = 0; i < UDPD_MAX_DATAGRAM; i++)
		big[i] = (unsigned char)(i * 7 + i / 251);
	expect(&module_echo, big, UDPD_MAX_DATAGRAM, big, UDPD_MAX_DATAGRAM);
}
END_TEST

/* A request bigger than the reply buffer is not answered (truncated). */
START_TEST(test_echo_over_cap)
{
	void *st = mk(&module_echo);
	enum udpd_verdict v;
	size_t got;

	memset(big, 'e', sizeof(big));
	v = run_cap(&module_echo, st, big, 100, 99, &got);
	ck_assert_int_ne(v, UDPD_REPLY);
	ck_assert_int_ne(v, UDPD_REPLY_ERROR);
	v = run_cap(&module_echo, st, big, 99, 99, &got);
	ck_assert_int_eq(v, UDPD_REPLY);
	ck_assert_uint_eq(got, 99);
	module_echo.destroy(st);
}
END_TEST

/* ---- upper ----------------------------------------------------------- */

START_TEST(test_upper_ascii)
{
	expect(&module_upper, "", 0, "", 0);
	EXPECT(&module_upper, "a", "A");
	EXPECT(&module_upper, "hello, world", "HELLO, WORLD");
	EXPECT(&module_upper, "abcdefghijklmnopqrstuvwxyz",
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	EXPECT(&module_upper, "ABC xyz 0123 !@#[]`{}~",
	    "ABC XYZ 0123 !@#[]`{}~");
	/* Newlines are kept, not stripped or added. */
	EXPECT(&module_upper, "hi\n", "HI\n");
	EXPECT(&module_upper, "hi\r\n", "HI\r\n");
	EXPECT(&module_upper, "hi\n\n", "HI\n\n");
	EXPECT(&module_upper, "\r\n", "\r\n");
	EXPECT(&module_upper, "a\0b", "A\0B");
	EXPECT(&module_upper, "\0", "\0");
}
END_TEST

/* UTF-8 stays as it is: no case mapping beyond ASCII, no byte changed. */
START_TEST(test_upper_utf8)
{
	/* caf\u00e9, stra\u00dfe, \u00ff */
	EXPECT(&module_upper, "caf\xc3\xa9", "CAF\xc3\xa9");
	EXPECT(&module_upper, "stra\xc3\x9f" "e", "STRA\xc3\x9f" "E");
	EXPECT(&module_upper, "\xc3\xbf", "\xc3\xbf");
	EXPECT(&module_upper, "\xc3\xa9t\xc3\xa9\n", "\xc3\xa9T\xc3\xa9\n");
	/* Latin-1 bytes that a locale-aware toupper(3) might change. */
	EXPECT(&module_upper, "\xe9\xdf\xff\xe0", "\xe9\xdf\xff\xe0");
	/* Invalid UTF-8 is bytes like any other. */
	EXPECT(&module_upper, "\x80q\xbf", "\x80Q\xbf");
}
END_TEST

/* Each of the 256 byte values, alone and all in one datagram. */
START_TEST(test_upper_all_bytes)
{
	unsigned char all[256], want[256];
	int changed = 0;

	for (int i = 0; i < 256; i++) {
		unsigned char b = (unsigned char)i;
		unsigned char w = (i >= 'a' && i <= 'z') ?
		    (unsigned char)(i - 'a' + 'A') : b;

		all[i] = b;
		want[i] = w;
		expect(&module_upper, &b, 1, &w, 1);
		changed += w != b;
	}
	ck_assert_int_eq(changed, 26);
	expect(&module_upper, all, sizeof(all), want, sizeof(want));
}
END_TEST

START_TEST(test_upper_max)
{
	for (size_t i = 0; i < UDPD_MAX_DATAGRAM; i++) {
		big[i] = (unsigned char)(i * 13 + i / 256);
		big_want[i] = (big[i] >= 'a' && big[i] <= 'z') ?
		    (unsigned char)(big[i] - 32) : big[i];
	}
	expect(&module_upper, big, UDPD_MAX_DATAGRAM, big_want,
	    UDPD_MAX_DATAGRAM);
}
END_TEST

START_TEST(test_upper_over_cap)
{
	void *st = mk(&module_upper);
	enum udpd_verdict v;
	size_t got;

	memset(big, 'u', sizeof(big));
	v = run_cap(&module_upper, st, big, 100, 99, &got);
	ck_assert_int_ne(v, UDPD_REPLY);
	ck_assert_int_ne(v, UDPD_REPLY_ERROR);
	module_upper.destroy(st);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("echo_upper");
	TCase *tc;

	tc = tcase_create("echo");
	tcase_add_test(tc, test_echo_small);
	tcase_add_test(tc, test_echo_all_bytes);
	tcase_add_test(tc, test_echo_max);
	tcase_add_test(tc, test_echo_over_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("upper");
	tcase_add_test(tc, test_upper_ascii);
	tcase_add_test(tc, test_upper_utf8);
	tcase_add_test(tc, test_upper_all_bytes);
	tcase_add_test(tc, test_upper_max);
	tcase_add_test(tc, test_upper_over_cap);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
