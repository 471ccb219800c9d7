/*
 * test_greet.c - the greet module: "Hello <name>!\n", "Good bye!\n" for
 * "exit", "world" for an empty name, one trailing "\n" or "\r\n" stripped,
 * and the greeting/farewell templates (SPEC 2).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "unit.h"

/*
 * Creates an instance from a config text whose first service group is the
 * greet service; NULL with err filled in on a config error.
 */
static void *
mk(const char *text, struct conf_err *err)
{
	struct module_ctx ctx = { .service = "greet" };

	return unit_create(&module_greet, text, "services.[0]", "/tmp", &ctx,
	    err);
}

static void *
mk_ok(const char *text)
{
	struct conf_err err;
	void *st = mk(text, &err);

	ck_assert_msg(st != NULL, "create failed: %s", err.msg);
	return st;
}

static void *
mk_default(void)
{
	return mk_ok("services = ( { name = \"greet\"; module = \"greet\";\n"
	    "  listen = [ \"127.0.0.1:6000\" ]; } );\n");
}

static void
mk_fails(const char *text, const char *msg)
{
	struct conf_err err;
	void *st = mk(text, &err);

	ck_assert_msg(st == NULL, "accepted: %s", text);
	ck_assert_str_eq(err.msg, msg);
}

static unsigned char rbuf[UDPD_MAX_DATAGRAM + UNIT_GUARD];

static enum udpd_verdict
run_cap(void *st, const void *data, size_t len, size_t cap, size_t *outlen)
{
	return unit_handle(&module_greet, st, data, len, NULL, rbuf, cap,
	    outlen);
}

/* request (len bytes) must give exactly the reply want (wlen bytes). */
static void
expect(void *st, const void *req, size_t len, const void *want, size_t wlen)
{
	size_t got;
	enum udpd_verdict v = run_cap(st, req, len, UDPD_MAX_DATAGRAM, &got);

	ck_assert_int_eq(v, UDPD_REPLY);
	ck_assert_uint_eq(got, wlen);
	ck_assert_mem_eq(rbuf, want, wlen);
}

#define EXPECT(st, req, want) \
	expect((st), (req), sizeof(req) - 1, (want), sizeof(want) - 1)

START_TEST(test_hello)
{
	void *st = mk_default();

	EXPECT(st, "Alice", "Hello Alice!\n");
	EXPECT(st, "Bob Smith", "Hello Bob Smith!\n");
	EXPECT(st, "%s%n%x", "Hello %s%n%x!\n");
	EXPECT(st, "a", "Hello a!\n");
	module_greet.destroy(st);
}
END_TEST

/* Exactly one trailing "\n" or "\r\n" is stripped; nothing else. */
START_TEST(test_strip_once)
{
	void *st = mk_default();

	EXPECT(st, "Alice\n", "Hello Alice!\n");
	EXPECT(st, "Alice\r\n", "Hello Alice!\n");
	EXPECT(st, "Alice\n\n", "Hello Alice\n!\n");
	EXPECT(st, "Alice\r\n\r\n", "Hello Alice\r\n!\n");
	EXPECT(st, "Alice\n\r\n", "Hello Alice\n!\n");
	EXPECT(st, "Alice\r", "Hello Alice\r!\n");
	EXPECT(st, "Alice\n\r", "Hello Alice\n\r!\n");
	EXPECT(st, "Alice\r\r\n", "Hello Alice\r!\n");
	EXPECT(st, " Alice ", "Hello  Alice !\n");
	EXPECT(st, "\tAlice\n", "Hello \tAlice!\n");
	module_greet.destroy(st);
}
END_TEST

START_TEST(test_world)
{
	void *st = mk_default();

	EXPECT(st, "", "Hello world!\n");
	EXPECT(st, "\n", "Hello world!\n");
	EXPECT(st, "\r\n", "Hello world!\n");
	EXPECT(st, "\n\n", "Hello \n!\n");
	EXPECT(st, "\r", "Hello \r!\n");
	EXPECT(st, " ", "Hello  !\n");
	module_greet.destroy(st);
}
END_TEST

START_TEST(test_exit)
{
	void *st = mk_default();

	EXPECT(st, "exit", "Good bye!\n");
	EXPECT(st, "exit\n", "Good bye!\n");
	EXPECT(st, "exit\r\n", "Good bye!\n");
	/* Anything else is a name. */
	EXPECT(st, "exit ", "Hello exit !\n");
	EXPECT(st, " exit", "Hello  exit!\n");
	EXPECT(st, "EXIT", "Hello EXIT!\n");
	EXPECT(st, "Exit", "Hello Exit!\n");
	EXPECT(st, "exi", "Hello exi!\n");
	EXPECT(st, "exitt", "Hello exitt!\n");
	EXPECT(st, "exit\n\n", "Hello exit\n!\n");
	EXPECT(st, "exit\r", "Hello exit\r!\n");
	EXPECT(st, "exit\0", "Hello exit\0!\n");
	module_greet.destroy(st);
}
END_TEST

/* NUL bytes and non-ASCII bytes are names like any other: kept as bytes. */
START_TEST(test_binary_names)
{
	void *st = mk_default();
	unsigned char all[256], want[256 + 8];

	EXPECT(st, "A\0B", "Hello A\0B!\n");
	EXPECT(st, "\0", "Hello \0!\n");
	EXPECT(st, "\0\n", "Hello \0!\n");
	EXPECT(st, "Zo\xc3\xab", "Hello Zo\xc3\xab!\n");
	EXPECT(st, "\xe4\xb8\x96\xe7\x95\x8c\r\n",
	    "Hello \xe4\xb8\x96\xe7\x95\x8c!\n");
	EXPECT(st, "\xff\xfe\x80", "Hello \xff\xfe\x80!\n");

	/* Every byte value but a final "\n" passes through. */
	for (size_t i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);	/* ends with 0x00 */
	memcpy(want, "Hello ", 6);
	memcpy(want + 6, all, 256);
	memcpy(want + 262, "!\n", 2);
	expect(st, all, sizeof(all), want, 264);
	module_greet.destroy(st);
}
END_TEST

/* The reply buffer holds UDPD_MAX_DATAGRAM bytes: longer names are refused. */
START_TEST(test_too_long)
{
	static unsigned char name[UDPD_MAX_DATAGRAM + 1];
	static const char err_text[] = "error: name too long\n";
	const size_t fits = UDPD_MAX_DATAGRAM - 8;	/* "Hello " + "!\n" */
	void *st = mk_default();
	enum udpd_verdict v;
	size_t got;

	memset(name, 'n', sizeof(name));
	v = run_cap(st, name, UDPD_MAX_DATAGRAM, UDPD_MAX_DATAGRAM, &got);
	ck_assert_int_eq(v, UDPD_REPLY_ERROR);
	ck_assert_uint_eq(got, sizeof(err_text) - 1);
	ck_assert_mem_eq(rbuf, err_text, sizeof(err_text) - 1);

	/* The longest name that fits gives a full-size reply. */
	v = run_cap(st, name, fits, UDPD_MAX_DATAGRAM, &got);
	ck_assert_int_eq(v, UDPD_REPLY);
	ck_assert_uint_eq(got, UDPD_MAX_DATAGRAM);
	ck_assert_mem_eq(rbuf, "Hello nnn", 9);
	ck_assert_mem_eq(rbuf + UDPD_MAX_DATAGRAM - 3, "n!\n", 3);

	/* One more byte does not; a stripped "\r\n" does not count. */
	v = run_cap(st, name, fits + 1, UDPD_MAX_DATAGRAM, &got);
	ck_assert_int_eq(v, UDPD_REPLY_ERROR);
	ck_assert_uint_eq(got, sizeof(err_text) - 1);
	ck_assert_mem_eq(rbuf, err_text, sizeof(err_text) - 1);
	name[fits] = '\r';
	name[fits + 1] = '\n';
	v = run_cap(st, name, fits + 2, UDPD_MAX_DATAGRAM, &got);
	ck_assert_int_eq(v, UDPD_REPLY);
	ck_assert_uint_eq(got, UDPD_MAX_DATAGRAM);
	ck_assert_mem_eq(rbuf + UDPD_MAX_DATAGRAM - 3, "n!\n", 3);

	/* A buffer too small even for the error: dropped, nothing sent. */
	v = run_cap(st, "Alice", 5, 8, &got);
	ck_assert_int_ne(v, UDPD_REPLY);
	ck_assert_int_ne(v, UDPD_REPLY_ERROR);
	module_greet.destroy(st);
}
END_TEST

START_TEST(test_custom_texts)
{
	void *st = mk_ok("services = ( { name = \"g\"; module = \"greet\";\n"
	    "  greeting = \"Hi %s, 100%% sure\"; farewell = \"Bye\"; } );\n");

	EXPECT(st, "Alice", "Hi Alice, 100% sure\n");
	EXPECT(st, "Alice\r\n", "Hi Alice, 100% sure\n");
	EXPECT(st, "", "Hi world, 100% sure\n");
	EXPECT(st, "exit", "Bye\n");
	EXPECT(st, "exit\n", "Bye\n");
	/* A name is never a template. */
	EXPECT(st, "%s%%", "Hi %s%%, 100% sure\n");
	module_greet.destroy(st);

	st = mk_ok("services = ( { greeting = \"%s\"; farewell = \"\"; } );");
	EXPECT(st, "Alice", "Alice\n");
	EXPECT(st, "", "world\n");
	EXPECT(st, "exit", "\n");
	module_greet.destroy(st);

	/* "%%s" is a percent sign and an "s", not the placeholder. */
	st = mk_ok("services = ( { greeting = \"%%s%%%s%%\"; } );");
	EXPECT(st, "X", "%s%X%\n");
	EXPECT(st, "exit", "Good bye!\n");
	module_greet.destroy(st);

	st = mk_ok("services = ( { farewell = \"See you, 100% sure\"; } );");
	EXPECT(st, "exit", "See you, 100% sure\n");
	EXPECT(st, "Al", "Hello Al!\n");
	module_greet.destroy(st);

	st = mk_ok("services = ( { greeting = \"\xc3\xa9 %s \xc3\xa9\"; } );");
	EXPECT(st, "Al", "\xc3\xa9 Al \xc3\xa9\n");
	module_greet.destroy(st);
}
END_TEST

/* Each template error names "greeting" and its line (SPEC 2). */
START_TEST(test_template_errors)
{
	mk_fails("services = (\n  { name = \"g\";\n    greeting = \"Hi %d\"; }"
	    ");\n", "(config):3: greeting: 'Hi %d': only %s and %% are "
	    "allowed");
	mk_fails("services = (\n  {\n\n    greeting = \"no placeholder\"; }"
	    ");\n", "(config):4: greeting: 'no placeholder': must contain "
	    "exactly one %s");
	mk_fails("services = ( { greeting = \"two %s %s\"; } );\n",
	    "(config):1: greeting: 'two %s %s': more than one %s");
	mk_fails("services = ( {\n greeting = \"%5s\"; } );\n",
	    "(config):2: greeting: '%5s': only %s and %% are allowed");
	mk_fails("services = ( {\n greeting = \"Hello %s %\"; } );\n",
	    "(config):2: greeting: 'Hello %s %': only %s and %% are "
	    "allowed");
	mk_fails("services = ( {\n greeting = \"%\"; } );\n",
	    "(config):2: greeting: '%': only %s and %% are allowed");
	mk_fails("services = ( {\n greeting = \"%S\"; } );\n",
	    "(config):2: greeting: '%S': only %s and %% are allowed");
	mk_fails("services = ( {\n greeting = \"%%%\"; } );\n",
	    "(config):2: greeting: '%%%': only %s and %% are allowed");
	mk_fails("services = ( {\n greeting = \"%%s\"; } );\n",
	    "(config):2: greeting: '%%s': must contain exactly one %s");
	mk_fails("services = ( {\n greeting = \"\"; } );\n",
	    "(config):2: greeting: '': must contain exactly one %s");
	mk_fails("services = ( {\n\n greeting = 3; } );\n",
	    "(config):3: greeting: must be a string");
	mk_fails("services = ( {\n farewell = 3; } );\n",
	    "(config):2: farewell: must be a string");
	mk_fails("services = ( {\n farewell = true; } );\n",
	    "(config):2: farewell: must be a string");
}
END_TEST

/* Over-long templates are refused rather than truncated. */
START_TEST(test_template_too_long)
{
	char text[4096], big[1100];

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text), "services = ( {\n greeting = \"%%s%s\";"
	    " } );\n", big);
	mk_fails(text, "(config):2: greeting: longer than 1024 bytes");
	snprintf(text, sizeof(text), "services = ( {\n\n farewell = \"%s\";"
	    " } );\n", big);
	mk_fails(text, "(config):3: farewell: longer than 1024 bytes");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("greet");
	TCase *tc;

	tc = tcase_create("replies");
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_strip_once);
	tcase_add_test(tc, test_world);
	tcase_add_test(tc, test_exit);
	tcase_add_test(tc, test_binary_names);
	tcase_add_test(tc, test_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, test_custom_texts);
	tcase_add_test(tc, test_template_errors);
	tcase_add_test(tc, test_template_too_long);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
