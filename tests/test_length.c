/*
 * test_length.c - seed 003's length module (SPEC 2): the reply is
 * "Your data was <N> bytes long\n", N the datagram's size as received,
 * nothing stripped (a trailing newline counts).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "module.h"
#include "unit.h"

static unsigned char rbuf[128 + UNIT_GUARD];
static unsigned char big[UDPD_MAX_DATAGRAM];

static void *
mk(void)
{
	struct module_ctx ctx = { .service = "length" };
	struct conf_err err;
	void *st = unit_create(&module_length, "services = ( { name = \"x\"; "
	    "module = \"length\"; listen = [ \"127.0.0.1:0\" ]; } );",
	    "services.[0]", "/tmp", &ctx, &err);

	ck_assert_msg(st != NULL, "%s", err.msg);
	return st;
}

/* Runs handle() with a reply buffer of cap bytes and a guard zone. */
static enum udpd_verdict
run(const void *data, size_t len, size_t cap, size_t *outlen)
{
	void *st = mk();
	enum udpd_verdict v = unit_handle(&module_length, st, data, len, NULL,
	    rbuf, cap, outlen);

	module_length.destroy(st);
	return v;
}

static void
expect(const void *data, size_t len, const char *want)
{
	size_t got;

	ck_assert_int_eq(run(data, len, 128, &got), UDPD_REPLY);
	ck_assert_uint_eq(got, strlen(want));
	ck_assert_msg(memcmp(rbuf, want, got) == 0, "reply '%.*s', want '%s'",
	    (int)got, rbuf, want);
}

START_TEST(test_length_counts_every_byte)
{
	expect("hello", 5, "Your data was 5 bytes long\n");
	/* The newline of nc -u is part of the datagram: not stripped. */
	expect("hello\n", 6, "Your data was 6 bytes long\n");
	expect("hello\r\n", 7, "Your data was 7 bytes long\n");
	expect("", 0, "Your data was 0 bytes long\n");
	expect("a\0b", 3, "Your data was 3 bytes long\n");
	/* UTF-8: bytes, not characters. */
	expect("\xc3\xa9", 2, "Your data was 2 bytes long\n");
}
END_TEST

START_TEST(test_length_largest)
{
	memset(big, 'x', sizeof(big));
	expect(big, sizeof(big), "Your data was 65507 bytes long\n");
}
END_TEST

/* A reply that does not fit is not cut: no reply at all. */
START_TEST(test_length_small_buffer)
{
	size_t got;
	const char *want = "Your data was 5 bytes long\n";

	ck_assert_int_eq(run("hello", 5, strlen(want), &got), UDPD_REPLY);
	ck_assert_int_eq(run("hello", 5, strlen(want) - 1, &got), UDPD_DROP);
}
END_TEST

START_TEST(test_length_table)
{
	ck_assert_ptr_eq(module_find("length"), &module_length);
	ck_assert(module_length.options == NULL ||
	    module_length.options[0] == NULL);
	ck_assert_uint_eq(module_length.max_request, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("length");
	TCase *tc = tcase_create("length");

	tcase_add_test(tc, test_length_counts_every_byte);
	tcase_add_test(tc, test_length_largest);
	tcase_add_test(tc, test_length_small_buffer);
	tcase_add_test(tc, test_length_table);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
