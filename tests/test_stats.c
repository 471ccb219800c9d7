/*
 * test_stats.c - the stats module against a fake view of the daemon: the
 * JSON of SPEC section 2 byte for byte, truncation to max_reply, options.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "module.h"
#include "unit.h"

static size_t fake_n = 2;

static size_t
fake_list(void *arg, const char **names, const char **modules,
    struct udpd_counters *c, size_t max)
{
	static char name_buf[300][32];

	(void)arg;
	for (size_t i = 0; i < fake_n && i < max; i++) {
		snprintf(name_buf[i], sizeof(name_buf[i]), "svc%zu", i);
		names[i] = i == 0 ? "greet" : name_buf[i];
		modules[i] = i == 0 ? "greet" : "echo";
		memset(&c[i], 0, sizeof(c[i]));
		c[i].requests = 10 + i;
		c[i].replies = 9;
		c[i].bytes_in = 100;
		c[i].bytes_out = 120;
		c[i].errors = 1;
		c[i].drop_acl = 2;
		c[i].drop_rate = 3;
		c[i].drop_size = 4;
		c[i].drop_loop = 5;
		c[i].drop_malformed = 6;
	}
	return fake_n;
}

static long long
fake_uptime(void *arg)
{
	(void)arg;
	return 42;
}

static const struct udpd_stats_view view = {
	.list = fake_list, .uptime = fake_uptime, .arg = NULL,
};

static void *
mk(const char *text, struct conf_err *err)
{
	struct module_ctx ctx = { .service = "stats", .stats = &view };

	return unit_create(&module_stats, text, "svc", ".", &ctx, err);
}

static unsigned char buf[UDPD_MAX_DATAGRAM];

static enum udpd_verdict
ask(void *st, struct udpd_reply *rep)
{
	struct udpd_request req = { .data = (const unsigned char *)"",
	    .len = 0 };

	rep->buf = buf;
	rep->cap = sizeof(buf);
	rep->len = 0;
	return module_stats.handle(st, &req, rep);
}

START_TEST(test_json_exact)
{
	struct conf_err err;
	struct udpd_reply rep;
	void *st = mk("svc = { };", &err);
	const char *want = "{\"uptime\": 42, \"services\": {"
	    "\"greet\": {\"module\": \"greet\", \"requests\": 10, "
	    "\"replies\": 9, \"bytes_in\": 100, \"bytes_out\": 120, "
	    "\"errors\": 1, \"dropped\": {\"acl\": 2, \"rate\": 3, \"size\": 4, "
	    "\"loop\": 5, \"malformed\": 6}}, "
	    "\"svc1\": {\"module\": \"echo\", \"requests\": 11, "
	    "\"replies\": 9, \"bytes_in\": 100, \"bytes_out\": 120, "
	    "\"errors\": 1, \"dropped\": {\"acl\": 2, \"rate\": 3, \"size\": 4, "
	    "\"loop\": 5, \"malformed\": 6}}}}\n";

	fake_n = 2;
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(ask(st, &rep), UDPD_REPLY);
	ck_assert_uint_eq(rep.len, strlen(want));
	ck_assert(memcmp(rep.buf, want, rep.len) == 0);
	ck_assert_uint_eq(rep.cap, sizeof(buf));	/* buffer not shrunk */
	module_stats.destroy(st);
}
END_TEST

START_TEST(test_truncated_to_max_reply)
{
	struct conf_err err;
	struct udpd_reply rep;
	void *st = mk("svc = { max_reply = 1200; };", &err);
	const char *tail = "}, \"truncated\": true}\n";

	fake_n = 256;
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(ask(st, &rep), UDPD_REPLY);
	ck_assert_uint_le(rep.len, 1200);
	ck_assert_uint_gt(rep.len, 1000);
	ck_assert(memcmp(rep.buf + rep.len - strlen(tail), tail,
	    strlen(tail)) == 0);
	ck_assert_uint_eq(rep.cap, sizeof(buf));
	module_stats.destroy(st);
	/* Without max_reply all 256 services fit in one datagram. */
	st = mk("svc = { };", &err);
	ck_assert_int_eq(ask(st, &rep), UDPD_REPLY);
	ck_assert(memcmp(rep.buf + rep.len - 3, "}}\n", 3) == 0);
	ck_assert_ptr_nonnull(memmem(rep.buf, rep.len, "\"svc255\"", 8));
	module_stats.destroy(st);
	fake_n = 2;
}
END_TEST

START_TEST(test_options)
{
	struct conf_err err;

	ck_assert_ptr_null(mk("svc = {\n max_reply = 100; };", &err));
	ck_assert_str_eq(err.msg, "(config):2: max_reply: must be between "
	    "128 and 65507");
	ck_assert_ptr_null(mk("svc = { max_reply = \"big\"; };", &err));
	ck_assert_str_eq(err.msg, "(config):1: max_reply: must be an integer");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");

	tcase_add_test(tc, test_json_exact);
	tcase_add_test(tc, test_truncated_to_max_reply);
	tcase_add_test(tc, test_options);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
