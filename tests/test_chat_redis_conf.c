/*
 * test_chat_redis_conf.c - the options of store = "redis", read without
 * connecting (what udpd -t checks), and the password file.  Built with or
 * without libhiredis.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_redis_conf.h"
#include "unit.h"

static config_t cfg;
static struct chat_redis_conf rc;
static struct conf_err err;

/* Parses the group "s" of text into rc; returns chat_redis_conf_parse's. */
static int
parse(const char *text)
{
	const config_setting_t *s;
	int r;

	memset(&err, 0, sizeof(err));
	config_init(&cfg);
	ck_assert_msg(config_read_string(&cfg, text) == CONFIG_TRUE,
	    "bad test config: %s", config_error_text(&cfg));
	s = config_lookup(&cfg, "s");
	ck_assert_ptr_nonnull(s);
	r = chat_redis_conf_parse(s, "chat", "/etc/udpd", &rc, &err);
	config_destroy(&cfg);
	return r;
}

START_TEST(defaults)
{
	ck_assert_int_eq(parse("s = { redis = \"127.0.0.1:6379\"; };"), 0);
	ck_assert_str_eq(rc.host, "127.0.0.1");
	ck_assert_int_eq(rc.port, 6379);
	ck_assert_ptr_null(rc.unix_path);
	ck_assert_str_eq(rc.key, "udpd:chat");
	ck_assert_ptr_null(rc.password_file);
	ck_assert_int_eq(rc.wait_replicas, 0);
	ck_assert_int_eq(rc.timeout_ms, 1000);
	chat_redis_conf_free(&rc);
}
END_TEST

START_TEST(every_option)
{
	ck_assert_int_eq(parse("s = { redis = \"[::1]:7000\"; key = \"room\"; "
	    "password_file = \"redis.pass\"; wait_replicas = 2; "
	    "timeout_ms = 250; };"), 0);
	ck_assert_str_eq(rc.host, "::1");
	ck_assert_int_eq(rc.port, 7000);
	ck_assert_str_eq(rc.key, "room");
	ck_assert_str_eq(rc.password_file, "/etc/udpd/redis.pass");
	ck_assert_int_eq(rc.wait_replicas, 2);
	ck_assert_int_eq(rc.timeout_ms, 250);
	chat_redis_conf_free(&rc);
}
END_TEST

START_TEST(unix_socket)
{
	ck_assert_int_eq(parse("s = { redis = \"unix:/run/redis/r.sock\"; };"),
	    0);
	ck_assert_str_eq(rc.unix_path, "/run/redis/r.sock");
	ck_assert_ptr_null(rc.host);
	chat_redis_conf_free(&rc);
	ck_assert_int_eq(parse("s = { redis = \"unix:r.sock\"; };"), 0);
	ck_assert_str_eq(rc.unix_path, "/etc/udpd/r.sock");
	chat_redis_conf_free(&rc);
}
END_TEST

/* Each bad setting: an error with the file's line and the setting. */
static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "s = {\n};", ":1: s: store = \"redis\" needs redis" },
	{ "s = {\n redis = 6379; };", ":2: redis: must be a string" },
	{ "s = {\n redis = \"localhost:6379\"; };",
	    ":2: redis: not a numeric IPv4 address" },
	{ "s = { redis = \"127.0.0.1\"; };", "redis: expected \"host:port\"" },
	{ "s = { redis = \"127.0.0.1:0\"; };", "redis: bad port" },
	{ "s = { redis = \"127.0.0.1:65536\"; };", "redis: bad port" },
	{ "s = { redis = \"127.0.0.1:63x\"; };", "redis: bad port" },
	{ "s = { redis = \"[::1:6379\"; };", "redis: expected \"[v6address]" },
	{ "s = { redis = \"[127.0.0.1]:6379\"; };",
	    "redis: not a numeric IPv6" },
	{ "s = { redis = \"unix:\"; };", "redis: the unix socket path is empty" },
	{ "s = { redis = \"unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; };",
	    "redis: the unix socket path is too long" },
	{ "s = { redis = \"127.0.0.1:6379\";\n key = \"\"; };",
	    ":2: key: must not be empty" },
	{ "s = { redis = \"127.0.0.1:6379\"; key = \"a\\nb\"; };",
	    "key: must not hold control characters" },
	{ "s = { redis = \"127.0.0.1:6379\";\n key = \"kk}:x\"; };",
	    ":2: key: must not hold \"{\" or \"}\"" },
	{ "s = { redis = \"127.0.0.1:6379\"; key = \"{kk\"; };",
	    "key: must not hold \"{\" or \"}\"" },
	{ "s = { redis = \"127.0.0.1:6379\";\n retry_window_ms = -1; };",
	    ":2: retry_window_ms" },
	{ "s = { redis = \"127.0.0.1:6379\"; retry_window_ms = 3600001; };",
	    "retry_window_ms" },
	{ "s = { redis = \"127.0.0.1:6379\"; password_file = \"\"; };",
	    "password_file: must not be empty" },
	{ "s = { redis = \"127.0.0.1:6379\"; wait_replicas = -1; };",
	    "wait_replicas" },
	{ "s = { redis = \"127.0.0.1:6379\"; wait_replicas = 101; };",
	    "wait_replicas" },
	{ "s = { redis = \"127.0.0.1:6379\"; timeout_ms = 9; };",
	    "timeout_ms" },
	{ "s = { redis = \"127.0.0.1:6379\"; timeout_ms = 60001; };",
	    "timeout_ms" },
	{ "s = { redis = \"127.0.0.1:6379\"; timeout_ms = \"1s\"; };",
	    "timeout_ms" },
};

START_TEST(bad_options)
{
	ck_assert_int_eq(parse(bad[_i].text), -1);
	ck_assert_msg(strstr(err.msg, bad[_i].msg) != NULL,
	    "%s: got \"%s\", expected \"%s\"", bad[_i].text, err.msg,
	    bad[_i].msg);
	/* a failed parse leaves nothing allocated (ASan would say) */
	ck_assert_ptr_null(rc.host);
	ck_assert_ptr_null(rc.key);
}
END_TEST

static void
auth_ok(const char *text, const char *user, const char *password)
{
	char *u, *p;
	const char *why = NULL;

	ck_assert_msg(chat_redis_auth_parse(text, strlen(text), &u, &p,
	    &why) == 0, "%s: %s", text, why);
	if (user == NULL)
		ck_assert_ptr_null(u);
	else
		ck_assert_str_eq(u, user);
	ck_assert_str_eq(p, password);
	free(u);
	free(p);
}

static void
auth_bad(const char *text, size_t len, const char *why_expected)
{
	char *u = (char *)"x", *p = (char *)"x";
	const char *why = NULL;

	ck_assert_int_eq(chat_redis_auth_parse(text, len, &u, &p, &why), -1);
	ck_assert_ptr_null(u);
	ck_assert_ptr_null(p);
	ck_assert_str_eq(why, why_expected);
}

START_TEST(password_text)
{
	auth_ok("s3cret", NULL, "s3cret");
	auth_ok("s3cret\n", NULL, "s3cret");
	auth_ok("s3cret\r\n", NULL, "s3cret");
	auth_ok("alice pass word\n", "alice", "pass word");
	auth_bad("", 0, "no password in it");
	auth_bad("\n", 1, "no password in it");
	auth_bad("a\nb\n", 4, "more than one line");
	auth_bad("a\tb", 3, "control characters");
	auth_bad("a\0b", 3, "control characters");
	auth_bad(" pw", 3, "expected \"password\" or \"user password\"");
	auth_bad("alice ", 6, "expected \"password\" or \"user password\"");
}
END_TEST

/* The file is read at start and reload; a broken one names itself. */
START_TEST(password_file)
{
	char dir[] = "/tmp/test_chat_redis_conf.XXXXXX", path[96], text[160];
	const config_setting_t *s;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pass", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("bob hunter2\n", f);
	fclose(f);
	chmod(path, 0600);
	snprintf(text, sizeof(text), "s = { redis = \"127.0.0.1:1\";\n"
	    "password_file = \"%s\"; };", path);
	config_init(&cfg);
	ck_assert(config_read_string(&cfg, text) == CONFIG_TRUE);
	s = config_lookup(&cfg, "s");
	ck_assert_int_eq(chat_redis_conf_parse(s, "chat", dir, &rc, &err), 0);
	ck_assert_int_eq(chat_redis_conf_auth(&rc, s, &err), 0);
	ck_assert_str_eq(rc.user, "bob");
	ck_assert_str_eq(rc.password, "hunter2");
	chat_redis_conf_free(&rc);
	unlink(path);
	ck_assert_int_eq(chat_redis_conf_parse(s, "chat", dir, &rc, &err), 0);
	ck_assert_int_eq(chat_redis_conf_auth(&rc, s, &err), -1);
	ck_assert_msg(strstr(err.msg, ":2: password_file: ") != NULL &&
	    strstr(err.msg, "No such file") != NULL, "%s", err.msg);
	chat_redis_conf_free(&rc);
	config_destroy(&cfg);
	rmdir(dir);
}
END_TEST

START_TEST(equal_for_reload)
{
	struct chat_redis_conf a, b;

	ck_assert_int_eq(parse("s = { redis = \"127.0.0.1:6379\"; };"), 0);
	a = rc;
	ck_assert_int_eq(parse("s = { redis = \"127.0.0.1:6379\"; };"), 0);
	b = rc;
	ck_assert(chat_redis_conf_equal(&a, &b));
	chat_redis_conf_free(&b);
	ck_assert_int_eq(parse("s = { redis = \"127.0.0.1:6379\"; "
	    "key = \"other\"; };"), 0);
	b = rc;
	ck_assert(!chat_redis_conf_equal(&a, &b));
	chat_redis_conf_free(&b);
	ck_assert_int_eq(parse("s = { redis = \"127.0.0.1:6380\"; };"), 0);
	b = rc;
	ck_assert(!chat_redis_conf_equal(&a, &b));
	chat_redis_conf_free(&b);
	chat_redis_conf_free(&a);
}
END_TEST

START_TEST(library_named)
{
	const char *lib = chat_redis_library();

	if (chat_redis_available())
		ck_assert_msg(strncmp(lib, "hiredis ", 8) == 0, "%s", lib);
	else
		ck_assert_str_eq(lib, "not built in");
}
END_TEST

/* ---- Sentinel: sentinels + master instead of redis ------------------ */

START_TEST(sentinel_options)
{
	ck_assert_int_eq(parse("s = { sentinels = [ \"10.0.0.1:26379\", "
	    "\"[::1]:26380\" ]; master = \"room\"; "
	    "sentinel_password_file = \"s.pass\"; };"), 0);
	ck_assert_int_eq(rc.nsentinels, 2);
	ck_assert_str_eq(rc.sentinels[0].host, "10.0.0.1");
	ck_assert_int_eq(rc.sentinels[0].port, 26379);
	ck_assert_str_eq(rc.sentinels[1].host, "::1");
	ck_assert_int_eq(rc.sentinels[1].port, 26380);
	ck_assert_str_eq(rc.master, "room");
	ck_assert_str_eq(rc.sentinel_password_file, "/etc/udpd/s.pass");
	ck_assert_ptr_null(rc.host);
	ck_assert_ptr_null(rc.unix_path);
	ck_assert_str_eq(rc.label, "master \"room\"");
	chat_redis_conf_free(&rc);
}
END_TEST

static const struct {
	const char *text;
	const char *msg;
} bad_sentinel[] = {
	{ "s = { redis = \"127.0.0.1:6379\";\n sentinels = [ \"127.0.0.1:1\" ]; "
	    "master = \"m\"; };", ":2: sentinels: redis and sentinels exclude "
	    "each other" },
	{ "s = {\n sentinels = [ \"127.0.0.1:1\" ]; };",
	    ":2: sentinels: needs master" },
	{ "s = {\n master = \"m\"; };", ":2: master: only with sentinels" },
	{ "s = { redis = \"127.0.0.1:6379\";\n sentinel_password_file = "
	    "\"p\"; };", ":2: sentinel_password_file: only with sentinels" },
	{ "s = {\n sentinels = [ ]; master = \"m\"; };",
	    ":2: sentinels: from 1 to 16 addresses" },
	{ "s = {\n sentinels = \"127.0.0.1:1\"; master = \"m\"; };",
	    ":2: sentinels: must be a list of \"host:port\"" },
	{ "s = {\n sentinels = [ 26379 ]; master = \"m\"; };",
	    ":2: sentinels: must be a list of \"host:port\"" },
	{ "s = {\n sentinels = [ \"localhost:26379\" ]; master = \"m\"; };",
	    ":2: sentinels: localhost:26379: not a numeric IPv4 address" },
	{ "s = {\n sentinels = [ \"unix:/run/s.sock\" ]; master = \"m\"; };",
	    ":2: sentinels: unix:/run/s.sock: not a numeric IPv4" },
	{ "s = {\n sentinels = [ \"127.0.0.1:0\" ]; master = \"m\"; };",
	    ":2: sentinels: 127.0.0.1:0: bad port" },
	{ "s = { sentinels = [ \"127.0.0.1:1\", \"127.0.0.1:1\" ];\n"
	    " master = \"m\"; };", "sentinels: 127.0.0.1:1 is listed twice" },
	{ "s = { sentinels = [ \"127.0.0.1:1\" ];\n master = \"\"; };",
	    ":2: master: must not be empty" },
	{ "s = { sentinels = [ \"127.0.0.1:1\" ];\n master = \"a b\"; };",
	    ":2: master: must not hold spaces or control characters" },
	{ "s = { sentinels = [ \"127.0.0.1:1\" ];\n master = 1; };",
	    ":2: master: must be a string" },
	{ "s = { sentinels = [ \"127.0.0.1:1\" ]; master = \"m\";\n"
	    " sentinel_password_file = \"\"; };",
	    ":2: sentinel_password_file: must not be empty" },
};

START_TEST(sentinel_bad_options)
{
	ck_assert_int_eq(parse(bad_sentinel[_i].text), -1);
	ck_assert_msg(strstr(err.msg, bad_sentinel[_i].msg) != NULL,
	    "%s: got \"%s\", expected \"%s\"", bad_sentinel[_i].text, err.msg,
	    bad_sentinel[_i].msg);
	ck_assert_ptr_null(rc.sentinels);
	ck_assert_ptr_null(rc.master);
}
END_TEST

/* 17 sentinels: one too many. */
START_TEST(sentinel_too_many)
{
	char text[1024];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "s = {\n sentinels = [ ");
	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "%s\"127.0.0.1:%d\"", i > 0 ? ", " : "", 26379 + i);
	snprintf(text + n, sizeof(text) - n, " ]; master = \"m\"; };");
	ck_assert_int_eq(parse(text), -1);
	ck_assert_msg(strstr(err.msg, ":2: sentinels: from 1 to 16") != NULL,
	    "%s", err.msg);
}
END_TEST

/* The sentinel password file is read with the other one, at start. */
START_TEST(sentinel_password)
{
	char dir[] = "/tmp/test_chat_redis_conf.XXXXXX", path[96], text[200];
	const config_setting_t *s;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.pass", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("watcher s3cret\n", f);
	fclose(f);
	chmod(path, 0600);
	snprintf(text, sizeof(text), "s = { sentinels = [ \"127.0.0.1:1\" ];\n"
	    " master = \"m\";\n sentinel_password_file = \"s.pass\"; };");
	config_init(&cfg);
	ck_assert(config_read_string(&cfg, text) == CONFIG_TRUE);
	s = config_lookup(&cfg, "s");
	ck_assert_int_eq(chat_redis_conf_parse(s, "chat", dir, &rc, &err), 0);
	ck_assert_int_eq(chat_redis_conf_auth(&rc, s, &err), 0);
	ck_assert_str_eq(rc.sentinel_user, "watcher");
	ck_assert_str_eq(rc.sentinel_password, "s3cret");
	ck_assert_ptr_null(rc.password);
	chat_redis_conf_free(&rc);
	unlink(path);
	ck_assert_int_eq(chat_redis_conf_parse(s, "chat", dir, &rc, &err), 0);
	ck_assert_int_eq(chat_redis_conf_auth(&rc, s, &err), -1);
	ck_assert_msg(strstr(err.msg, ":3: sentinel_password_file: ") != NULL &&
	    strstr(err.msg, "No such file") != NULL, "%s", err.msg);
	chat_redis_conf_free(&rc);
	config_destroy(&cfg);
	rmdir(dir);
}
END_TEST

/* A reload keeps the connections only with the same sentinels and name. */
START_TEST(sentinel_equal)
{
	static const char *const other[] = {
		"s = { sentinels = [ \"127.0.0.1:1\" ]; master = \"n\"; };",
		"s = { sentinels = [ \"127.0.0.1:2\" ]; master = \"m\"; };",
		"s = { sentinels = [ \"127.0.0.1:1\", \"127.0.0.1:2\" ]; "
		    "master = \"m\"; };",
		"s = { redis = \"127.0.0.1:1\"; };",
	};
	struct chat_redis_conf a, b;

	ck_assert_int_eq(parse("s = { sentinels = [ \"127.0.0.1:1\" ]; "
	    "master = \"m\"; };"), 0);
	a = rc;
	ck_assert_int_eq(parse("s = { sentinels = [ \"127.0.0.1:1\" ]; "
	    "master = \"m\"; };"), 0);
	ck_assert(chat_redis_conf_equal(&a, &rc));
	chat_redis_conf_free(&rc);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		ck_assert_int_eq(parse(other[i]), 0);
		ck_assert_msg(!chat_redis_conf_equal(&a, &rc), "%s", other[i]);
		ck_assert_msg(!chat_redis_conf_equal(&rc, &a), "%s", other[i]);
		chat_redis_conf_free(&rc);
	}
	/* a deep copy: equal, and freed on its own (ASan) */
	ck_assert_int_eq(chat_redis_conf_copy(&b, &a), 0);
	ck_assert(chat_redis_conf_equal(&a, &b));
	ck_assert_ptr_ne(b.sentinels, a.sentinels);
	chat_redis_conf_free(&a);
	chat_redis_conf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chat_redis_conf");
	TCase *tc = tcase_create("options");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, every_option);
	tcase_add_test(tc, unix_socket);
	tcase_add_loop_test(tc, bad_options, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, password_text);
	tcase_add_test(tc, password_file);
	tcase_add_test(tc, equal_for_reload);
	tcase_add_test(tc, library_named);
	tcase_add_test(tc, sentinel_options);
	tcase_add_loop_test(tc, sentinel_bad_options, 0,
	    sizeof(bad_sentinel) / sizeof(bad_sentinel[0]));
	tcase_add_test(tc, sentinel_too_many);
	tcase_add_test(tc, sentinel_password);
	tcase_add_test(tc, sentinel_equal);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
