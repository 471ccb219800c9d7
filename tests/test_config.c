/*
 * test_config.c - the strict configuration loader: a valid file parsed
 * into the right struct, and every kind of invalid file refused with
 * "FILE:LINE: setting: message" (SPEC 3), FILE being the path as passed.
 */
#include "config.h"

#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "module.h"
#include "nts_conf.h"
#include "nts_siv.h"
#include "nts_tls.h"
#include "unit.h"

#define CONF_DIR	TEST_SRCDIR "/conf"

/* One invalid fixture: where the error must point, and what it must say. */
struct bad_case {
	const char	*file;		/* under tests/conf/ */
	int		 line;
	const char	*label;		/* as conf_setting_label prints it */
	const char	*words[3];	/* each must appear in the message */
};

static const struct bad_case bad_cases[] = {
	{ "bad-top-key.conf", 5, "servers",
	    { "unknown setting", "top level" } },
	{ "bad-daemon-key.conf", 4, "colour",
	    { "unknown setting", "daemon" } },
	{ "bad-service-key.conf", 4, "greating",
	    { "unknown setting", "'hello'", "greet" } },
	{ "bad-other-module-key.conf", 5, "protocol",
	    { "unknown setting", "'e'", "echo" } },
	{ "bad-type-listen.conf", 4, "listen", { "must be a list" } },
	{ "bad-type-listen-elem.conf", 5, "listen[1]",
	    { "must be a string" } },
	{ "bad-type-enabled.conf", 4, "enabled", { "true or false" } },
	{ "bad-type-workers.conf", 2, "workers", { "must be an integer" } },
	{ "bad-type-name.conf", 4, "name", { "must be a string" } },
	{ "bad-no-name.conf", 5, "services[1]", { "no name" } },
	{ "bad-no-module.conf", 3, "services[0]",
	    { "'nomod'", "no module" } },
	{ "bad-no-listen.conf", 3, "services[0]", { "'deaf'", "no listen" } },
	{ "bad-empty-listen.conf", 4, "listen", { "must not be empty" } },
	{ "bad-dup-name.conf", 6, "name", { "duplicate", "'twin'" } },
	/* A duplicate points at its second occurrence (SPEC 3). */
	{ "bad-dup-addr.conf", 8, "listen[1]",
	    { "'127.0.0.1:7000'", "service 'a'" } },
	{ "bad-dup-addr-same.conf", 6, "listen[2]", { "'[::1]:7000'" } },
	{ "bad-dup-addr-wild.conf", 4, "listen[0]",
	    { "'[::]:7000'", "service 'all'" } },
	/* A wildcard overlaps every address of its family on that port. */
	{ "bad-dup-addr-overlap.conf", 6, "listen[0]",
	    { "'127.0.0.1:7000'", "service 'a'" } },
	{ "bad-ipv4.conf", 4, "listen[1]",
	    { "'256.1.2.3:7001'", "bad address" } },
	{ "bad-ipv6-brackets.conf", 3, "listen[0]",
	    { "'::1:7000'", "IPv6 in brackets" } },
	{ "bad-port-range.conf", 3, "listen[0]", { "bad port '70000'" } },
	{ "bad-port-name.conf", 3, "listen[0]",
	    { "bad port 'nosuchservice'" } },
	{ "bad-port-negative.conf", 3, "listen[0]", { "bad port '-1'" } },
	{ "bad-no-port.conf", 3, "listen[0]",
	    { "'127.0.0.1'", "address:port" } },
	{ "bad-allow-prefix.conf", 5, "allow[1]",
	    { "'10.0.0.0/33'", "bad CIDR" } },
	{ "bad-allow-slash.conf", 4, "allow[0]",
	    { "'1.2.3.4/'", "bad CIDR" } },
	{ "bad-allow-type.conf", 4, "allow", { "must be a list" } },
	{ "bad-deny-cidr.conf", 4, "deny[1]",
	    { "'2001:db8::/129'", "bad CIDR" } },
	{ "bad-module.conf", 4, "module", { "unknown module 'gret'" } },
	{ "bad-greeting-d.conf", 4, "greeting", { "'Hi %d'", "only %s" } },
	{ "bad-greeting-none.conf", 4, "greeting",
	    { "'no placeholder'", "exactly one %s" } },
	{ "bad-greeting-two.conf", 4, "greeting",
	    { "'two %s %s'", "more than one %s" } },
	{ "bad-greeting-width.conf", 4, "greeting", { "'%5s'", "only %s" } },
	{ "bad-greeting-lone.conf", 4, "greeting",
	    { "'Hello %s 100%'", "only %s" } },
	{ "bad-farewell-type.conf", 4, "farewell", { "must be a string" } },
	{ "bad-time-protocol.conf", 4, "protocol",
	    { "unknown protocol", "bogus" } },
	{ "bad-time-scope.conf", 5, "stratum", { "only valid", "sntp" } },
	{ "bad-chat-no-log.conf", 4, "services[1]", { "log_file" } },
	{ "bad-chat-same-log.conf", 5, "services[1]",
	    { "/room.log is also used by service 'a'" } },
	{ "bad-chat-store.conf", 4, "store", { "unknown store 'tape'" } },
	{ "bad-chat-retry-window.conf", 4, "retry_window_ms",
	    { "between 0 and 3600000" } },
	{ "bad-rate-no-rate.conf", 4, "rate_limit", { "rate is required" } },
	{ "bad-rate-key.conf", 5, "brust",
	    { "unknown setting", "rate_limit" } },
	{ "bad-rate-zero.conf", 4, "rate", { "between 1 and" } },
	{ "bad-rate-type.conf", 4, "rate_limit", { "must be a group" } },
	{ "bad-rate-true.conf", 4, "rate_limit", { "or false" } },
	{ "bad-interface.conf", 4, "interface",
	    { "no such network interface 'udpd-no-such0'" } },
	{ "bad-interface-long.conf", 4, "interface", { "1 to 15 characters" } },
	{ "bad-rate-prefix.conf", 4, "ipv6_prefix", { "between 32 and 128" } },
	{ "bad-workers-negative.conf", 3, "workers", { "between 0 and" } },
	{ "bad-log-level.conf", 4, "log_level", { "'loud'" } },
	{ "bad-facility.conf", 4, "syslog_facility", { "'kern2'" } },
	{ "bad-user-empty.conf", 2, "user", { "must not be empty" } },
	{ "bad-user-unknown.conf", 3, "user", { "no such user",
	    "'no-such-user-udpd'" } },
	{ "bad-group-without-user.conf", 3, "group", { "needs user" } },
	{ "bad-allow-empty.conf", 4, "allow", { "must not be empty" } },
	{ "bad-daemon-type.conf", 2, "daemon", { "must be a group" } },
	/* libconfig stops at the token after the missing ';'. */
	{ "bad-syntax.conf", 3, "syntax", { "syntax error" } },
	{ "bad-services-type.conf", 2, "services", { "must be a list" } },
	{ "bad-no-services.conf", 1, "services", { "missing" } },
	{ "bad-service-type.conf", 4, "services[1]", { "must be a group" } },
	{ "bad-max-request-zero.conf", 4, "max_request",
	    { "between 1 and 65507" } },
	{ "bad-max-request-big.conf", 4, "max_request",
	    { "between 1 and 65507" } },
	{ "bad-listen-mapped.conf", 4, "listen[1]",
	    { "'[::ffff:127.0.0.1]:7001'", "IPv4-mapped" } },
	{ "bad-listen-mcast6.conf", 3, "listen[0]",
	    { "'[ff02::1]:7001'", "multicast" } },
	{ "bad-listen-mcast4.conf", 4, "listen[0]",
	    { "'224.0.0.1:7001'", "multicast" } },
	{ "bad-string-nul.conf", 5, "syntax", { "NUL", "\\x00", "string" } },
	{ "bad-include-missing.conf", 5, "syntax",
	    { "@include \"no-such-include.conf\"",
	    "/no-such-include.conf: No such file or directory" } },
	{ "bad-name-space.conf", 3, "name", { "'my echo'" } },
	{ "bad-metrics-key.conf", 5, "port",
	    { "unknown setting", "daemon.metrics" } },
	{ "bad-metrics-type.conf", 3, "metrics", { "must be a group" } },
	{ "bad-metrics-no-listen.conf", 3, "metrics",
	    { "listen is required" } },
	{ "bad-metrics-addr.conf", 5, "listen[1]",
	    { "'127.0.0.300:9477'", "bad address" } },
	{ "bad-metrics-dup.conf", 5, "listen[1]",
	    { "'[::1]:9477'", "listed twice" } },
	{ "bad-metrics-max-connections.conf", 5, "max_connections",
	    { "between 1 and 1024" } },
	{ "bad-metrics-allow.conf", 5, "allow[0]", { "'10.0.0.0/33'" } },
	{ "bad-allow-mapped.conf", 4, "deny[0]",
	    { "'::ffff:127.0.0.2'", "IPv4-mapped" } },
	{ "bad-metrics-allow-mapped.conf", 5, "allow[0]",
	    { "'::ffff:127.0.0.0/104'", "IPv4-mapped" } },
	{ "bad-metrics-many.conf", 4, "listen", { "at most 64" } },
	{ "bad-nts-key.conf", 8, "cookie_key", { "unknown setting", "nts" } },
	{ "bad-nts-type.conf", 4, "nts", { "must be a group" } },
	{ "bad-nts-scope.conf", 4, "nts", { "only valid", "sntp" } },
	{ "bad-nts-cert-missing.conf", 6, "certificate",
	    { "nts/missing.pem", "cannot read", "No such file" } },
	{ "bad-nts-cert-garbage.conf", 6, "certificate",
	    { "nts/garbage.pem", "no PEM certificate" } },
	{ "bad-nts-key-mismatch.conf", 7, "private_key",
	    { "nts/other.key", "does not match the certificate" } },
	{ "bad-nts-key-dir.conf", 7, "private_key", { "not a regular file" } },
	{ "bad-nts-no-cert.conf", 4, "nts",
	    { "needs certificate and private_key" } },
	{ "bad-nts-no-cookie-keys.conf", 4, "nts",
	    { "cookie_keys is required" } },
	{ "bad-nts-cookie-dir.conf", 8, "cookie_keys",
	    { "no-such-dir", "does not exist" } },
	{ "bad-nts-cookie-keys.conf", 5, "cookie_keys",
	    { "nts/bad-cookies.keys:3: the key must be 64 hex digits" } },
	{ "bad-nts-needs-listen.conf", 5, "certificate", { "needs listen" } },
	{ "bad-nts-listen.conf", 5, "listen[0]", { "bad address" } },
	{ "bad-nts-port.conf", 8, "ntp_port", { "between 1 and 65535" } },
	{ "bad-nts-server.conf", 8, "ntp_server", { "no spaces" } },
	{ "bad-name-long.conf", 4, "name", {
	    "'a234567890b234567890c234567890d234567890e234567890f234567890"
	    "g2345'" } },
};

#define NBAD	((int)(sizeof(bad_cases) / sizeof(bad_cases[0])))

START_TEST(test_bad_file)
{
	const struct bad_case *bc = &bad_cases[_i];
	struct conf_err err;
	struct udpd_conf *conf;
	char path[PATH_MAX], prefix[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s", CONF_DIR, bc->file);
	ck_assert_msg(access(path, R_OK) == 0, "fixture %s missing", path);
	memset(&err, 0, sizeof(err));
	conf = conf_load(path, &err);
	ck_assert_msg(conf == NULL, "%s was accepted", bc->file);
	/* A build without TLS or Nettle refuses NTS before the fault. */
	if (strncmp(bc->file, "bad-nts-", 8) == 0 &&
	    (!nts_tls_available() || !nts_siv_available()) &&
	    strstr(err.msg, "not built in") != NULL)
		return;
	snprintf(prefix, sizeof(prefix), "%s:%d: %s: ", path, bc->line,
	    bc->label);
	ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0,
	    "%s: got \"%s\", want prefix \"%s\"", bc->file, err.msg, prefix);
	ck_assert_msg(strlen(err.msg) > strlen(prefix),
	    "%s: no message after the prefix", bc->file);
	for (size_t w = 0; w < 3 && bc->words[w] != NULL; w++)
		ck_assert_msg(strstr(err.msg + strlen(prefix), bc->words[w]) !=
		    NULL, "%s: \"%s\" lacks \"%s\"", bc->file, err.msg,
		    bc->words[w]);
	ck_assert_msg(strchr(err.msg, '\n') == NULL, "%s: newline in \"%s\"",
	    bc->file, err.msg);
}
END_TEST

/* Every bad-*.conf fixture is in the table, and each only once. */
START_TEST(test_bad_files_listed)
{
	DIR *d = opendir(CONF_DIR);
	const struct dirent *de;
	int seen[NBAD] = { 0 }, nfiles = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		int found = 0;

		if (strncmp(de->d_name, "bad-", 4) != 0 || len < 5 ||
		    strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		nfiles++;
		for (int i = 0; i < NBAD; i++)
			if (strcmp(bad_cases[i].file, de->d_name) == 0) {
				seen[i]++;
				found = 1;
			}
		ck_assert_msg(found, "fixture %s has no test", de->d_name);
	}
	closedir(d);
	for (int i = 0; i < NBAD; i++)
		ck_assert_msg(seen[i] == 1, "%s listed %d times",
		    bad_cases[i].file, seen[i]);
	ck_assert_int_eq(nfiles, NBAD);
	ck_assert_int_ge(nfiles, 24);
}
END_TEST

START_TEST(test_missing_file)
{
	const char *path = CONF_DIR "/no-such-file.conf";
	struct conf_err err;
	char want[PATH_MAX + 64];

	memset(&err, 0, sizeof(err));
	ck_assert_ptr_null(conf_load(path, &err));
	snprintf(want, sizeof(want), "%s: cannot read: %s", path,
	    strerror(ENOENT));
	ck_assert_str_eq(err.msg, want);
}
END_TEST

/* A directory is not a config file: say so (not "Success"). */
START_TEST(test_directory)
{
	struct conf_err err;
	char want[PATH_MAX + 64];

	memset(&err, 0, sizeof(err));
	ck_assert_ptr_null(conf_load(CONF_DIR, &err));
	snprintf(want, sizeof(want), "%s: cannot read: %s", CONF_DIR,
	    strerror(EISDIR));
	ck_assert_str_eq(err.msg, want);
}
END_TEST

/* Writes len bytes of text to dir/name; returns the path (static). */
static const char *
put_file(const char *dir, const char *name, const char *text, size_t len)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static void
load_fails_with(const char *path, const char *want)
{
	struct conf_err err;

	memset(&err, 0, sizeof(err));
	ck_assert_ptr_null(conf_load(path, &err));
	ck_assert_str_eq(err.msg, want);
}

#define SVC	"services = ( { name = \"g\"; module = \"greet\"; " \
		"listen = [ \"127.0.0.1:0\" ];\n"

/* NULs libconfig would drop or cut at, and @include failures, by name. */
START_TEST(test_text_checks)
{
	char dir[] = "/tmp/udpd-conf-XXXXXX", want[PATH_MAX * 2 + 128];
	char path[PATH_MAX];
	static const char raw[] = SVC "greeting = \"Hi\0 %s!\"; } );\n";
	static const char fine[] = SVC "# \\x00 in a comment\n"
	    "greeting = \"Hi \\\\x00 %s\"; } );\n";
	struct udpd_conf *c;
	struct conf_err err;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s", put_file(dir, "raw.conf", raw,
	    sizeof(raw) - 1));
	snprintf(want, sizeof(want), "%s:2: syntax: a NUL byte in a string is "
	    "not allowed: it would cut the string short", path);
	load_fails_with(path, want);

	/* An escape is only one inside a string, and "\\x00" is none. */
	snprintf(path, sizeof(path), "%s", put_file(dir, "ok.conf", fine,
	    sizeof(fine) - 1));
	c = conf_load(path, &err);
	ck_assert_msg(c != NULL, "%s", err.msg);
	conf_free(c);

	/* An error in an included file names that file and its line. */
	put_file(dir, "inc.conf", "\n\"\\X00\"\n", 8);
	snprintf(path, sizeof(path), "%s", put_file(dir, "top.conf",
	    "\n@include \"inc.conf\"\n", 21));
	snprintf(want, sizeof(want), "%s/inc.conf:2: syntax: a NUL (\\x00) in "
	    "a string is not allowed: libconfig would drop it", dir);
	load_fails_with(path, want);

	/* An include that cannot be read: its name and the reason. */
	snprintf(path, sizeof(path), "%s/sub", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s", put_file(dir, "d.conf",
	    "@include \"sub\"\n", 15));
	snprintf(want, sizeof(want), "%s:1: syntax: @include \"sub\": cannot "
	    "open %s/sub: %s", path, dir, strerror(EISDIR));
	load_fails_with(path, want);
}
END_TEST

/* conf_load_all: each call of the report, joined by newlines. */
static void
collect(const char *msg, void *arg)
{
	char *all = arg;

	strcat(all, msg);
	strcat(all, "\n");
}

/* Every service is checked, a bad one is left out of later checks. */
START_TEST(test_all_errors)
{
	char dir[] = "/tmp/udpd-conf-XXXXXX", path[PATH_MAX], all[4096] = "";
	static const char text[] =
	    "daemon = { log_level = \"loud\"; };\n"
	    "services = (\n"
	    " { name = \"a\"; module = \"greet\"; listen = [ \"127.0.0.1:7\" ]; x = 1; },\n"
	    " { name = \"b\"; module = \"echo\"; listen = [ \"127.0.0.1:7\" ]; },\n"
	    " { name = \"a\"; module = \"upper\"; listen = [ \"127.0.0.1:8\" ]; }\n"
	    ");\n";
	size_t n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s", put_file(dir, "all.conf", text,
	    sizeof(text) - 1));
	ck_assert_ptr_null(conf_load_all(path, 10, collect, all, &n));
	ck_assert_uint_eq(n, 3);
	ck_assert_msg(strstr(all, "all.conf:1: log_level") != NULL, "%s", all);
	ck_assert_msg(strstr(all, "all.conf:3: x: unknown") != NULL, "%s", all);
	/* 127.0.0.1:7 of the bad service "a" is no duplicate... */
	ck_assert_msg(strstr(all, "also used") == NULL, "%s", all);
	/* ...but its name still is. */
	ck_assert_msg(strstr(all, "all.conf:5: name: duplicate") != NULL, "%s",
	    all);
	/* A bound: the count goes on, the report stops. */
	all[0] = '\0';
	ck_assert_ptr_null(conf_load_all(path, 1, collect, all, &n));
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_eq(strchr(all, '\n') + 1, all + strlen(all));
}
END_TEST

/* A syntax error quotes its line and hints at a missing ';' or ','. */
START_TEST(test_syntax_hint)
{
	char dir[] = "/tmp/udpd-conf-XXXXXX", path[PATH_MAX], want[PATH_MAX + 256];
	static const char text[] = "services = (\n"
	    " { name = \"a\"; module = \"echo\"; listen = [ \"127.0.0.1:7\" ]; }\n"
	    "\n # a comment\n"
	    " { name = \"b\"; }\n);\n";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s", put_file(dir, "s.conf", text,
	    sizeof(text) - 1));
	snprintf(want, sizeof(want), "%s:5: syntax: syntax error in \" "
	    "{ name = \"b\"; }\" (is a ';' or ',' missing at the end of the "
	    "line before?)", path);
	load_fails_with(path, want);
}
END_TEST

/* "-addr:port" marks an optional address; only a service's. */
START_TEST(test_optional_listen)
{
	char dir[] = "/tmp/udpd-conf-XXXXXX", path[PATH_MAX];
	static const char text[] = "services = ( { name = \"a\"; module = "
	    "\"echo\"; listen = [ \"127.0.0.1:7\", \"-[::1]:7\", \"-*:9\" ]; } );\n";
	static const char metrics[] = "daemon = { metrics = { listen = "
	    "[ \"-127.0.0.1:0\" ]; }; };\nservices = ( );\n";
	struct udpd_conf *c;
	struct conf_err err;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s", put_file(dir, "o.conf", text,
	    sizeof(text) - 1));
	c = conf_load(path, &err);
	ck_assert_msg(c != NULL, "%s", err.msg);
	ck_assert_uint_eq(c->services[0].nlisten, 4);
	ck_assert_int_eq(c->services[0].listen_optional[0], 0);
	ck_assert_int_eq(c->services[0].listen_optional[1], 1);
	ck_assert_int_eq(c->services[0].listen_optional[2], 1);
	ck_assert_int_eq(c->services[0].listen_optional[3], 1);
	ck_assert_str_eq(c->services[0].listen_text[1], "[::1]:7");
	conf_free(c);
	snprintf(path, sizeof(path), "%s", put_file(dir, "m.conf", metrics,
	    sizeof(metrics) - 1));
	ck_assert_ptr_null(conf_load(path, &err));
	ck_assert_msg(strstr(err.msg, "only a service's listen address can "
	    "be optional") != NULL, "%s", err.msg);
}
END_TEST

/* FILE in a message is the path as given, relative or not. */
START_TEST(test_relative_path_in_message)
{
	struct conf_err err;
	int cwd = open(".", O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(cwd, 0);
	ck_assert_int_eq(chdir(TEST_SRCDIR), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_ptr_null(conf_load("conf/bad-module.conf", &err));
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
	ck_assert_str_eq(err.msg, "conf/bad-module.conf:4: module: unknown "
	    "module 'gret' (greet, echo, upper, time, chat, stats, length)");
}
END_TEST

static const struct service_conf *
find_service(const struct udpd_conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, name) == 0)
			return &conf->services[i];
	ck_abort_msg("no service %s", name);
	return NULL;
}

static void
check_v4(const struct udpd_sockaddr *a, const char *ip, uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	struct in_addr want;

	ck_assert_int_eq(inet_pton(AF_INET, ip, &want), 1);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(a->len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(sin->sin_addr.s_addr, want.s_addr);
	ck_assert_uint_eq(ntohs(sin->sin_port), port);
}

static void
check_v6(const struct udpd_sockaddr *a, const char *ip, uint16_t port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
	struct in6_addr want;

	ck_assert_int_eq(inet_pton(AF_INET6, ip, &want), 1);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(a->len, sizeof(struct sockaddr_in6));
	ck_assert_mem_eq(&sin6->sin6_addr, &want, sizeof(want));
	ck_assert_uint_eq(ntohs(sin6->sin6_port), port);
}

/*
 * The CPUs online as the kernel lists them ("0-3,8"), counted here rather
 * than with the loader's own sysconf() call; -1 if the list is unreadable.
 */
static long
online_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	long n = 0, lo, hi;
	int c;

	if (f == NULL)
		return -1;
	while (fscanf(f, "%ld", &lo) == 1) {
		hi = lo;
		if ((c = fgetc(f)) == '-') {
			if (fscanf(f, "%ld", &hi) != 1)
				break;
			c = fgetc(f);
		}
		n += hi - lo + 1;
		if (c != ',')
			break;
	}
	fclose(f);
	return n > 0 ? n : -1;
}

START_TEST(test_good_file)
{
	const char *path = CONF_DIR "/good.conf";
	const struct service_conf *sc;
	const uint8_t net23[4] = { 10, 1, 2, 0 };
	struct udpd_conf *conf;
	struct conf_err err;
	char *dir;
	long cpus = online_cpus();

	memset(&err, 0, sizeof(err));
	conf = conf_load(path, &err);
	ck_assert_msg(conf != NULL, "good.conf refused: %s", err.msg);
	ck_assert_str_eq(conf->path, path);
	dir = realpath(CONF_DIR, NULL);
	ck_assert_ptr_nonnull(dir);
	ck_assert_str_eq(conf->dir, dir);
	free(dir);

	ck_assert_str_eq(conf->user, "nobody");
	ck_assert_str_eq(conf->group, "nogroup");
	ck_assert_int_eq(conf->facility, LOG_LOCAL3);
	ck_assert_int_eq(conf->log_level, LOG_DEBUG);
	/* workers = 0: one per CPU, as the kernel lists them. */
	ck_assert_int_ge(conf->workers, 1);
	if (cpus >= 1 && cpus <= 256)
		ck_assert_int_eq(conf->workers, cpus);

	ck_assert_uint_eq(conf->nservices, 7);
	ck_assert_str_eq(conf->services[0].name, "greet");
	ck_assert_str_eq(conf->services[1].name, "echo");
	ck_assert_str_eq(conf->services[2].name, "upper");
	ck_assert_str_eq(conf->services[3].name, "clock");
	ck_assert_str_eq(conf->services[4].name, "ntp.local");
	ck_assert_str_eq(conf->services[5].name, "chat_room");
	ck_assert_str_eq(conf->services[6].name, "old-greet");
	for (size_t i = 0; i < conf->nservices; i++) {
		ck_assert_ptr_nonnull(conf->services[i].options);
		ck_assert_ptr_null(conf->services[i].instance);
		ck_assert_ptr_nonnull(conf->services[i].fingerprint);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(conf->services[i].fingerprint,
			    conf->services[j].fingerprint);
	}

	sc = find_service(conf, "greet");
	ck_assert_ptr_eq(sc->module, &module_greet);
	ck_assert_int_eq(sc->enabled, 1);
	ck_assert_uint_eq(sc->nlisten, 2);
	check_v4(&sc->listen[0], "127.0.0.1", 6000);
	check_v6(&sc->listen[1], "::1", 6000);
	ck_assert_str_eq(sc->listen_text[0], "127.0.0.1:6000");
	ck_assert_str_eq(sc->listen_text[1], "[::1]:6000");
	ck_assert_uint_eq(sc->acl.nallow, 3);
	ck_assert_int_eq(sc->acl.allow[0].family, AF_INET);
	ck_assert_int_eq(sc->acl.allow[0].prefix, 8);
	ck_assert_int_eq(sc->acl.allow[1].family, AF_INET6);
	ck_assert_int_eq(sc->acl.allow[1].prefix, 128);
	ck_assert_int_eq(sc->acl.allow[2].prefix, 23);
	ck_assert_mem_eq(sc->acl.allow[2].addr, net23, 4);
	ck_assert_uint_eq(sc->acl.ndeny, 2);
	ck_assert_int_eq(sc->acl.deny[0].prefix, 32);
	ck_assert_int_eq(sc->acl.deny[1].family, AF_INET6);
	ck_assert_int_eq(sc->acl.deny[1].prefix, 32);
	ck_assert_int_eq(sc->rate_limit.enabled, 1);
	ck_assert_uint_eq(sc->rate_limit.rate, 16);
	ck_assert_uint_eq(sc->rate_limit.burst, 32);
	ck_assert_uint_eq(sc->rate_limit.ipv6_prefix, 56);
	ck_assert_ptr_null(sc->interface);
	ck_assert_int_eq(sc->rate_limit.is_default, 0);
	ck_assert_uint_eq(sc->max_request, 512);

	/* A port given by its /etc/services name. */
	sc = find_service(conf, "echo");
	ck_assert_ptr_eq(sc->module, &module_echo);
	ck_assert_int_eq(sc->enabled, 1);
	ck_assert_uint_eq(sc->nlisten, 1);
	check_v4(&sc->listen[0], "127.0.0.1", 7);
	ck_assert_str_eq(sc->listen_text[0], "127.0.0.1:echo");
	ck_assert_uint_eq(sc->max_request, UDPD_MAX_DATAGRAM);
	ck_assert_uint_eq(sc->max_request, 65507);
	/* No rate_limit written: the default (SECURITY in udpd(8)). */
	ck_assert_int_eq(sc->rate_limit.enabled, 1);
	ck_assert_int_eq(sc->rate_limit.is_default, 1);
	ck_assert_uint_eq(sc->rate_limit.rate, 1);
	ck_assert_uint_eq(sc->rate_limit.burst, 50);
	ck_assert_uint_eq(sc->rate_limit.ipv6_prefix, 64);
	ck_assert_uint_eq(sc->acl.nallow, 0);
	ck_assert_uint_eq(sc->acl.ndeny, 0);

	/* "*" is every IPv4 and every IPv6 address. */
	sc = find_service(conf, "upper");
	ck_assert_ptr_eq(sc->module, &module_upper);
	ck_assert_int_eq(sc->enabled, 1);
	ck_assert_uint_eq(sc->nlisten, 2);
	check_v4(&sc->listen[0], "0.0.0.0", 6001);
	check_v6(&sc->listen[1], "::", 6001);
	ck_assert_str_eq(sc->listen_text[0], "*:6001");
	ck_assert_str_eq(sc->listen_text[1], "*:6001");
	ck_assert_int_eq(sc->rate_limit.enabled, 1);
	ck_assert_uint_eq(sc->rate_limit.rate, 5);
	ck_assert_uint_eq(sc->rate_limit.burst, 5);	/* default: rate */
	ck_assert_uint_eq(sc->rate_limit.ipv6_prefix, 64);

	sc = find_service(conf, "clock");
	ck_assert_ptr_eq(sc->module, &module_time);
	ck_assert_uint_eq(sc->nlisten, 2);
	ck_assert_int_eq(sc->rate_limit.enabled, 0);	/* "false" */
	ck_assert_str_eq(sc->interface, "lo");
	ck_assert_int_eq(sc->reply_is_terminal, 0);
	/* SNTP's reply never provokes one: no default limit. */
	sc = find_service(conf, "ntp.local");
	ck_assert_ptr_eq(sc->module, &module_time);
	ck_assert_int_eq(sc->reply_is_terminal, 1);
	ck_assert_int_eq(sc->rate_limit.enabled, 0);
	check_v4(&sc->listen[0], "127.0.0.1", 0);
	check_v6(&sc->listen[1], "::1", 0);

	sc = find_service(conf, "chat_room");
	ck_assert_ptr_eq(sc->module, &module_chat);
	ck_assert_uint_eq(sc->max_request, module_chat.max_request != 0 ?
	    module_chat.max_request : UDPD_MAX_DATAGRAM);
	check_v6(&sc->listen[0], "::1", 6003);
	ck_assert_int_eq(sc->rate_limit.is_default, 1);

	/* Disabled, sharing 127.0.0.1:6000 and *:6001: fine. */
	sc = find_service(conf, "old-greet");
	ck_assert_ptr_eq(sc->module, &module_greet);
	ck_assert_int_eq(sc->enabled, 0);
	ck_assert_uint_eq(sc->nlisten, 3);
	conf_free(conf);
}
END_TEST

/* Loading (udpd -t, a reload) opens no file: the chat log of good.conf is
 * not created. */
START_TEST(test_load_opens_nothing)
{
	const char *log = CONF_DIR "/good-chat.log";
	struct udpd_conf *conf;
	struct conf_err err;
	int created;

	ck_assert_msg(access(log, F_OK) != 0, "%s exists before the test",
	    log);
	memset(&err, 0, sizeof(err));
	conf = conf_load(CONF_DIR "/good.conf", &err);
	ck_assert_msg(conf != NULL, "%s", err.msg);
	conf_free(conf);
	created = access(log, F_OK) == 0;
	if (created)
		unlink(log);		/* keep the source tree clean */
	ck_assert_msg(!created, "conf_load created %s", log);
}
END_TEST

START_TEST(test_defaults)
{
	struct udpd_conf *conf;
	struct conf_err err;

	memset(&err, 0, sizeof(err));
	conf = conf_load(CONF_DIR "/good-minimal.conf", &err);
	ck_assert_msg(conf != NULL, "%s", err.msg);
	ck_assert_ptr_null(conf->user);
	ck_assert_ptr_null(conf->group);
	ck_assert_int_eq(conf->facility, LOG_DAEMON);
	ck_assert_int_eq(conf->log_level, LOG_INFO);
	ck_assert_int_eq(conf->workers, 1);
	ck_assert_uint_eq(conf->nservices, 1);
	ck_assert_str_eq(conf->services[0].name, "e");
	ck_assert_int_eq(conf->services[0].enabled, 1);
	ck_assert_uint_eq(conf->services[0].max_request, 65507);
	ck_assert_int_eq(conf->services[0].rate_limit.enabled, 1);
	ck_assert_uint_eq(conf->services[0].rate_limit.rate, 1);
	ck_assert_uint_eq(conf->services[0].rate_limit.burst, 50);
	ck_assert_ptr_null(conf->metrics);	/* off unless configured */
	conf_free(conf);
}
END_TEST


/* The nts group: the default NTS-KE port, paths against the config's
 * directory, what NTS-KE announces; cookie_keys alone is valid. */
START_TEST(test_nts_settings)
{
	const struct nts_conf *nc;
	struct udpd_conf *conf;
	struct conf_err err;

	memset(&err, 0, sizeof(err));
	conf = conf_load(CONF_DIR "/good-nts.conf", &err);
	if (!nts_tls_available() || !nts_siv_available()) {
		/* Refused, with the setting that needs what is missing. */
		ck_assert_ptr_null(conf);
		ck_assert_msg(strstr(err.msg, "good-nts.conf:6: listen: ") !=
		    NULL || strstr(err.msg, "good-nts.conf:5: nts: ") != NULL,
		    "%s", err.msg);
		ck_assert_msg(strstr(err.msg, "not built in") != NULL, "%s",
		    err.msg);
		return;
	}
	ck_assert_msg(conf != NULL, "%s", err.msg);
	ck_assert_uint_eq(conf->nservices, 2);
	ck_assert_ptr_nonnull(conf->services[0].module->nts);
	nc = conf->services[0].module->nts(conf->services[0].options);
	ck_assert_ptr_nonnull(nc);
	ck_assert_uint_eq(nc->nlisten, 2);
	check_v4(&nc->listen[0], "127.0.0.1", 4460);
	check_v6(&nc->listen[1], "::1", 0);
	ck_assert_ptr_nonnull(strstr(nc->certificate, "/conf/nts/server.pem"));
	ck_assert_ptr_nonnull(strstr(nc->private_key, "/conf/nts/server.key"));
	ck_assert_ptr_nonnull(strstr(nc->cookie_keys, "/conf/nts/cookies.keys"));
	ck_assert_str_eq(nc->ntp_server, "time.example.com");
	ck_assert_int_eq(nc->ntp_port, 1123);
	ck_assert_ptr_nonnull(nc->tls);
	nc = conf->services[1].module->nts(conf->services[1].options);
	ck_assert_ptr_nonnull(nc);
	ck_assert_uint_eq(nc->nlisten, 0);
	ck_assert_ptr_null(nc->tls);
	ck_assert_ptr_null(nc->ntp_server);
	/* Parsing made nothing: the cookie key file is made at start. */
	ck_assert_int_ne(access(CONF_DIR "/nts/cookies.keys", F_OK), 0);
	conf_free(conf);
}
END_TEST

/* A scratch directory with one config file written from text. */
struct scratch {
	char	dir[64];
	char	conf[128];
};

static void
scratch_make(struct scratch *s, const char *text)
{
	FILE *f;

	snprintf(s->dir, sizeof(s->dir), "/tmp/udpd-test-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->conf, sizeof(s->conf), "%s/udpd.conf", s->dir);
	f = fopen(s->conf, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* daemon.metrics: TCP addresses as a service's, its ACL, its cap. */
START_TEST(test_metrics_settings)
{
	const uint8_t lo[4] = { 127, 0, 0, 0 }, two[4] = { 127, 0, 0, 2 };
	struct udpd_conf *conf;
	struct conf_err err;
	struct scratch s;

	memset(&err, 0, sizeof(err));
	conf = conf_load(CONF_DIR "/good-metrics.conf", &err);
	ck_assert_msg(conf != NULL, "%s", err.msg);
	ck_assert_ptr_nonnull(conf->metrics);
	ck_assert_uint_eq(conf->metrics->nlisten, 2);
	check_v4(&conf->metrics->listen[0], "127.0.0.1", 9477);
	check_v6(&conf->metrics->listen[1], "::1", 9477);
	ck_assert_uint_eq(conf->metrics->acl.nallow, 2);
	ck_assert_int_eq(conf->metrics->acl.allow[0].prefix, 8);
	ck_assert_mem_eq(conf->metrics->acl.allow[0].addr, lo, 4);
	ck_assert_int_eq(conf->metrics->acl.allow[1].family, AF_INET6);
	ck_assert_uint_eq(conf->metrics->acl.ndeny, 1);
	ck_assert_int_eq(conf->metrics->acl.deny[0].prefix, 32);
	ck_assert_mem_eq(conf->metrics->acl.deny[0].addr, two, 4);
	ck_assert_int_eq(conf->metrics->max_connections, 4);
	conf_free(conf);

	/* "*" is both families; the default cap is 16. */
	scratch_make(&s, "daemon = { metrics = { listen = [ \"*:0\" ]; }; };\n"
	    "services = ( { name = \"e\"; module = \"echo\";\n"
	    "  listen = [ \"[::1]:0\" ]; } );\n");
	conf = conf_load(s.conf, &err);
	unlink(s.conf);
	rmdir(s.dir);
	ck_assert_msg(conf != NULL, "%s", err.msg);
	ck_assert_uint_eq(conf->metrics->nlisten, 2);
	check_v4(&conf->metrics->listen[0], "0.0.0.0", 0);
	check_v6(&conf->metrics->listen[1], "::", 0);
	ck_assert_uint_eq(conf->metrics->acl.nallow, 0);
	ck_assert_int_eq(conf->metrics->max_connections, 16);
	conf_free(conf);
}
END_TEST

START_TEST(test_workers_explicit)
{
	struct scratch s;
	struct udpd_conf *conf;
	struct conf_err err;

	scratch_make(&s, "daemon = { workers = 3; log_level = \"ERR\"; };\n"
	    "services = ( { name = \"e\"; module = \"echo\";\n"
	    "  listen = [ \"[::1]:0\" ]; max_request = 1; } );\n");
	memset(&err, 0, sizeof(err));
	conf = conf_load(s.conf, &err);
	unlink(s.conf);
	rmdir(s.dir);
	ck_assert_msg(conf != NULL, "%s", err.msg);
	ck_assert_int_eq(conf->workers, 3);
	ck_assert_int_eq(conf->log_level, LOG_ERR);
	ck_assert_uint_eq(conf->services[0].max_request, 1);
	conf_free(conf);
}
END_TEST

/*
 * Relative paths are resolved against the config file's directory, not
 * the working directory (SPEC 3): loading creates nothing, and starting
 * the chat service creates its log beside the config.
 */
START_TEST(test_relative_log_file)
{
	struct scratch s, elsewhere;
	struct udpd_conf *conf;
	struct conf_err err;
	char log[192], stray[192], why[512] = "";
	int cwd = open(".", O_RDONLY | O_DIRECTORY), in_dir, in_cwd;
	int after_load = 0;
	void *inst = NULL;

	ck_assert_int_ge(cwd, 0);
	scratch_make(&s, "services = ( { name = \"room\"; module = \"chat\";\n"
	    "  log_file = \"room.log\"; listen = [ \"127.0.0.1:0\" ]; } );\n");
	scratch_make(&elsewhere, "# unused\n");
	snprintf(log, sizeof(log), "%s/room.log", s.dir);
	snprintf(stray, sizeof(stray), "%s/room.log", elsewhere.dir);
	ck_assert_int_eq(chdir(elsewhere.dir), 0);
	memset(&err, 0, sizeof(err));
	conf = conf_load(s.conf, &err);
	if (conf != NULL) {
		struct module_ctx ctx = { .service = "room" };
		const struct service_conf *sc = &conf->services[0];

		after_load = access(log, F_OK) == 0;
		inst = sc->module->start(sc->options, &ctx, NULL, why,
		    sizeof(why));
		if (inst != NULL)
			sc->module->destroy(inst);
	}
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
	in_dir = access(log, F_OK) == 0;
	in_cwd = access(stray, F_OK) == 0;
	conf_free(conf);
	unlink(log);
	unlink(stray);
	unlink(s.conf);
	unlink(elsewhere.conf);
	rmdir(s.dir);
	rmdir(elsewhere.dir);
	ck_assert_msg(conf != NULL, "%s", err.msg);
	ck_assert_msg(!after_load, "room.log created by conf_load");
	ck_assert_msg(inst != NULL, "start: %s", why);
	ck_assert_msg(in_dir, "room.log not created beside the config");
	ck_assert_msg(!in_cwd, "room.log created in the working directory");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_load_opens_nothing);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_metrics_settings);
	tcase_add_test(tc, test_nts_settings);
	tcase_add_test(tc, test_workers_explicit);
	tcase_add_test(tc, test_relative_log_file);
	tcase_add_test(tc, test_optional_listen);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_loop_test(tc, test_bad_file, 0, NBAD);
	tcase_add_test(tc, test_bad_files_listed);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_text_checks);
	tcase_add_test(tc, test_relative_path_in_message);
	tcase_add_test(tc, test_all_errors);
	tcase_add_test(tc, test_syntax_hint);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
