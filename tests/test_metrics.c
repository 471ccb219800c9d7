/*
 * test_metrics.c - the Prometheus exposition text (metrics_text.c): byte
 * for byte for a fixed set of counters, every family of SPEC 8 with its
 * # HELP and # TYPE, label escaping, and the /proc/self/stat parser behind
 * the process_* metrics.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_text.h"
#include "unit.h"

/* metrics_format() of s, as a string the caller frees. */
static char *
format(const struct metrics_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	metrics_format(f, s);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

static char *
escape(const char *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	metrics_escape_label(f, v);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

static struct metrics_service two[2];

/* A greet service, a chat one with the largest seq, every field distinct. */
static struct metrics_snapshot
fixed_snapshot(void)
{
	struct metrics_snapshot s;

	memset(two, 0, sizeof(two));
	two[0].name = "greet";
	two[0].module = "greet";
	two[0].has_nts_ke = 1;
	two[0].nts_ke[NTS_KE_OK] = 5;
	two[0].nts_ke[NTS_KE_REFUSED] = 2;
	two[0].has_nts = 1;
	two[0].nts.requests[NTS_OK] = 11;
	two[0].nts.requests[NTS_BAD_COOKIE] = 12;
	two[0].nts.requests[NTS_BAD_AUTH] = 13;
	two[0].nts.requests[NTS_MALFORMED] = 14;
	two[0].nts.key_age = 3600;
	two[0].c = (struct udpd_counters){ .requests = 10, .replies = 9,
	    .bytes_in = 100, .bytes_out = 120, .errors = 1, .drop_acl = 2,
	    .drop_rate = 3, .drop_size = 4, .drop_loop = 5,
	    .drop_malformed = 6 };
	two[1].name = "chat";
	two[1].module = "chat";
	two[1].c = (struct udpd_counters){ .requests = 7, .replies = 6,
	    .bytes_in = 70, .bytes_out = 60, .errors = 1 };
	two[1].has_last_seq = 1;
	two[1].last_seq = UINT64_MAX;
	two[0].store_up = -1;
	two[1].store_up = 0;
	memset(&s, 0, sizeof(s));
	s.services = two;
	s.nservices = 2;
	s.reloads_ok = 3;
	s.reloads_failed = 1;
	s.start_time = (struct timespec){ 1700000000, 123456789 };
	s.version = "1.2.3";
	s.http_open = 2;
	s.http_denied = 5;
	s.http_evicted = 6;
	s.process = (struct metrics_process){ .have_cpu = 1,
	    .cpu_seconds = 1.5, .have_rss = 1, .rss_bytes = 4096,
	    .have_fds = 1, .open_fds = 7, .have_max_fds = 1, .max_fds = 1024,
	    .have_start = 1, .start_time = 1699999999.5 };
	return s;
}

START_TEST(test_byte_exact)
{
	struct metrics_snapshot s = fixed_snapshot();
	char *text = format(&s);

	ck_assert_str_eq(text,
	    "# HELP udpd_build_info Always 1; the version of udpd in a label.\n"
	    "# TYPE udpd_build_info gauge\n"
	    "udpd_build_info{version=\"1.2.3\"} 1\n"
	    "# HELP udpd_start_time_seconds When the daemon started, in "
	    "seconds since the Unix epoch.\n"
	    "# TYPE udpd_start_time_seconds gauge\n"
	    "udpd_start_time_seconds 1700000000.123\n"
	    "# HELP udpd_config_reloads_total Configuration reloads (SIGHUP), "
	    "by result; a failed one kept the old configuration.\n"
	    "# TYPE udpd_config_reloads_total counter\n"
	    "udpd_config_reloads_total{result=\"success\"} 3\n"
	    "udpd_config_reloads_total{result=\"failure\"} 1\n"
	    "# HELP udpd_requests_total Datagrams received by the service, "
	    "dropped ones included.\n"
	    "# TYPE udpd_requests_total counter\n"
	    "udpd_requests_total{service=\"greet\",module=\"greet\"} 10\n"
	    "udpd_requests_total{service=\"chat\",module=\"chat\"} 7\n"
	    "# HELP udpd_replies_total Replies sent by the service.\n"
	    "# TYPE udpd_replies_total counter\n"
	    "udpd_replies_total{service=\"greet\",module=\"greet\"} 9\n"
	    "udpd_replies_total{service=\"chat\",module=\"chat\"} 6\n"
	    "# HELP udpd_received_bytes_total Payload bytes of the datagrams "
	    "received by the service.\n"
	    "# TYPE udpd_received_bytes_total counter\n"
	    "udpd_received_bytes_total{service=\"greet\",module=\"greet\"} "
	    "100\n"
	    "udpd_received_bytes_total{service=\"chat\",module=\"chat\"} 70\n"
	    "# HELP udpd_sent_bytes_total Payload bytes of the replies sent by "
	    "the service.\n"
	    "# TYPE udpd_sent_bytes_total counter\n"
	    "udpd_sent_bytes_total{service=\"greet\",module=\"greet\"} 120\n"
	    "udpd_sent_bytes_total{service=\"chat\",module=\"chat\"} 60\n"
	    "# HELP udpd_errors_total Error replies and failed sends of the "
	    "service.\n"
	    "# TYPE udpd_errors_total counter\n"
	    "udpd_errors_total{service=\"greet\",module=\"greet\"} 1\n"
	    "udpd_errors_total{service=\"chat\",module=\"chat\"} 1\n"
	    "# HELP udpd_dropped_total Datagrams the service dropped without a "
	    "reply, by reason: acl (allow/deny), rate (rate_limit), size "
	    "(max_request or truncated), loop (to a looping port), malformed "
	    "(refused by the module).\n"
	    "# TYPE udpd_dropped_total counter\n"
	    "udpd_dropped_total{service=\"greet\",module=\"greet\",reason=\"acl"
	    "\"} 2\n"
	    "udpd_dropped_total{service=\"greet\",module=\"greet\",reason=\"rat"
	    "e\"} 3\n"
	    "udpd_dropped_total{service=\"greet\",module=\"greet\",reason=\"siz"
	    "e\"} 4\n"
	    "udpd_dropped_total{service=\"greet\",module=\"greet\",reason=\"loo"
	    "p\"} 5\n"
	    "udpd_dropped_total{service=\"greet\",module=\"greet\",reason=\"mal"
	    "formed\"} 6\n"
	    "udpd_dropped_total{service=\"chat\",module=\"chat\",reason=\"acl\""
	    "} 0\n"
	    "udpd_dropped_total{service=\"chat\",module=\"chat\",reason=\"rate"
	    "\"} 0\n"
	    "udpd_dropped_total{service=\"chat\",module=\"chat\",reason=\"size"
	    "\"} 0\n"
	    "udpd_dropped_total{service=\"chat\",module=\"chat\",reason=\"loop"
	    "\"} 0\n"
	    "udpd_dropped_total{service=\"chat\",module=\"chat\",reason=\"malfo"
	    "rmed\"} 0\n"
	    "# HELP udpd_chat_last_seq The last sequence number the chat "
	    "service handed out.\n"
	    "# TYPE udpd_chat_last_seq gauge\n"
	    "udpd_chat_last_seq{service=\"chat\"} 18446744073709551615\n"
	    "# HELP udpd_chat_store_up 1 while the chat service's store "
	    "accepts messages, else 0.\n"
	    "# TYPE udpd_chat_store_up gauge\n"
	    "udpd_chat_store_up{service=\"chat\"} 0\n"
	    "# HELP udpd_nts_ke_sessions_total NTS key exchange sessions of "
	    "the SNTP service, by how they ended.\n"
	    "# TYPE udpd_nts_ke_sessions_total counter\n"
	    "udpd_nts_ke_sessions_total{service=\"greet\",result=\"ok\"} 5\n"
	    "udpd_nts_ke_sessions_total{service=\"greet\",result=\"tls\"} 0\n"
	    "udpd_nts_ke_sessions_total{service=\"greet\","
	    "result=\"bad_request\"} 0\n"
	    "udpd_nts_ke_sessions_total{service=\"greet\","
	    "result=\"timeout\"} 0\n"
	    "udpd_nts_ke_sessions_total{service=\"greet\","
	    "result=\"refused\"} 2\n"
	    "udpd_nts_ke_sessions_total{service=\"greet\","
	    "result=\"internal\"} 0\n"
	    "# HELP udpd_nts_requests_total NTP requests with NTS fields, by "
	    "result: ok (answered), bad_cookie (NTS NAK), bad_authenticator "
	    "and malformed (dropped).\n"
	    "# TYPE udpd_nts_requests_total counter\n"
	    "udpd_nts_requests_total{service=\"greet\",result=\"ok\"} 11\n"
	    "udpd_nts_requests_total{service=\"greet\","
	    "result=\"bad_cookie\"} 12\n"
	    "udpd_nts_requests_total{service=\"greet\","
	    "result=\"bad_authenticator\"} 13\n"
	    "udpd_nts_requests_total{service=\"greet\","
	    "result=\"malformed\"} 14\n"
	    "# HELP udpd_nts_cookie_key_age_seconds Seconds since the cookie "
	    "key that seals new NTS cookies came into use.\n"
	    "# TYPE udpd_nts_cookie_key_age_seconds gauge\n"
	    "udpd_nts_cookie_key_age_seconds{service=\"greet\"} 3600\n"
	    "# HELP udpd_metrics_connections Open connections to this metrics "
	    "endpoint.\n"
	    "# TYPE udpd_metrics_connections gauge\n"
	    "udpd_metrics_connections 2\n"
	    "# HELP udpd_metrics_denied_connections_total Connections to the "
	    "metrics endpoint refused by its allow/deny.\n"
	    "# TYPE udpd_metrics_denied_connections_total counter\n"
	    "udpd_metrics_denied_connections_total 5\n"
	    "# HELP udpd_metrics_evicted_connections_total Connections to the "
	    "metrics endpoint closed to make room for a new one "
	    "(max_connections).\n"
	    "# TYPE udpd_metrics_evicted_connections_total counter\n"
	    "udpd_metrics_evicted_connections_total 6\n"
	    "# HELP process_cpu_seconds_total Total user and system CPU time "
	    "spent in seconds.\n"
	    "# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total 1.500\n"
	    "# HELP process_resident_memory_bytes Resident memory size in "
	    "bytes.\n"
	    "# TYPE process_resident_memory_bytes gauge\n"
	    "process_resident_memory_bytes 4096\n"
	    "# HELP process_open_fds Number of open file descriptors.\n"
	    "# TYPE process_open_fds gauge\n"
	    "process_open_fds 7\n"
	    "# HELP process_max_fds Maximum number of open file descriptors.\n"
	    "# TYPE process_max_fds gauge\n"
	    "process_max_fds 1024\n"
	    "# HELP process_start_time_seconds Start time of the process since "
	    "unix epoch in seconds.\n"
	    "# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds 1699999999.500\n");
	free(text);
}
END_TEST

/* The families of SPEC 8 (and the endpoint's own), with their types. */
static const char *const families[][2] = {
	{ "udpd_requests_total", "counter" },
	{ "udpd_replies_total", "counter" },
	{ "udpd_received_bytes_total", "counter" },
	{ "udpd_sent_bytes_total", "counter" },
	{ "udpd_errors_total", "counter" },
	{ "udpd_dropped_total", "counter" },
	{ "udpd_chat_last_seq", "gauge" },
	{ "udpd_chat_store_up", "gauge" },
	{ "udpd_nts_ke_sessions_total", "counter" },
	{ "udpd_nts_requests_total", "counter" },
	{ "udpd_nts_cookie_key_age_seconds", "gauge" },
	{ "udpd_config_reloads_total", "counter" },
	{ "udpd_start_time_seconds", "gauge" },
	{ "udpd_build_info", "gauge" },
	{ "udpd_metrics_connections", "gauge" },
	{ "udpd_metrics_denied_connections_total", "counter" },
	{ "udpd_metrics_evicted_connections_total", "counter" },
	{ "process_cpu_seconds_total", "counter" },
	{ "process_resident_memory_bytes", "gauge" },
	{ "process_open_fds", "gauge" },
	{ "process_max_fds", "gauge" },
	{ "process_start_time_seconds", "gauge" },
};

#define NFAMILIES	(sizeof(families) / sizeof(families[0]))

/* Each family once, HELP then TYPE, at the start of a line. */
static void
check_families(const char *text)
{
	char help[128], type[128];

	for (size_t i = 0; i < NFAMILIES; i++) {
		const char *h, *t;

		snprintf(help, sizeof(help), "\n# HELP %s ", families[i][0]);
		snprintf(type, sizeof(type), "\n# TYPE %s %s\n", families[i][0],
		    families[i][1]);
		/* The text starts with a HELP line: look from its "\n"-less
		 * start by searching with the leading "\n" skipped there. */
		h = strncmp(text, help + 1, strlen(help + 1)) == 0 ? text :
		    strstr(text, help);
		t = strstr(text, type);
		ck_assert_msg(h != NULL, "no # HELP for %s", families[i][0]);
		ck_assert_msg(t != NULL, "no # TYPE %s %s", families[i][0],
		    families[i][1]);
		ck_assert_msg(h < t, "# TYPE before # HELP for %s",
		    families[i][0]);
		ck_assert_msg(strstr(t + 1, type) == NULL, "%s twice",
		    families[i][0]);
	}
}

/* Every family is announced even with nothing to report. */
START_TEST(test_every_family_when_empty)
{
	struct metrics_snapshot s;
	char *text;

	memset(&s, 0, sizeof(s));
	s.version = "0";
	text = format(&s);
	check_families(text);
	/* Nothing per service, no process sample that was not read. */
	ck_assert_ptr_null(strstr(text, "service="));
	ck_assert_ptr_null(strstr(text, "\nprocess_"));
	free(text);
}
END_TEST

START_TEST(test_every_family_with_samples)
{
	struct metrics_snapshot s = fixed_snapshot();
	char *text = format(&s);
	char sample[128];

	check_families(text);
	/* Each family has a sample: "name{" or "name " at a line start. */
	for (size_t i = 0; i < NFAMILIES; i++) {
		snprintf(sample, sizeof(sample), "\n%s", families[i][0]);
		ck_assert_msg(strstr(text, sample) != NULL, "no sample of %s",
		    families[i][0]);
	}
	free(text);
}
END_TEST

/* Only services that report a seq get udpd_chat_last_seq. */
START_TEST(test_last_seq_only_when_known)
{
	struct metrics_snapshot s = fixed_snapshot();
	char *text;

	two[1].has_last_seq = 0;
	text = format(&s);
	ck_assert_ptr_null(strstr(text, "\nudpd_chat_last_seq"));
	free(text);
}
END_TEST

START_TEST(test_escape_label)
{
	char *e;

	e = escape("plain-name_1.x");
	ck_assert_str_eq(e, "plain-name_1.x");
	free(e);
	e = escape("a\"b\\c\nd");
	ck_assert_str_eq(e, "a\\\"b\\\\c\\nd");
	free(e);
	e = escape("\\\\\"\"\n\n");
	ck_assert_str_eq(e, "\\\\\\\\\\\"\\\"\\n\\n");
	free(e);
	/* UTF-8 is valid in a label value and stays as it is. */
	e = escape("caf\xc3\xa9");
	ck_assert_str_eq(e, "caf\xc3\xa9");
	free(e);
}
END_TEST

/* Hostile names are escaped in every family that carries them. */
START_TEST(test_escaped_in_every_family)
{
	struct metrics_snapshot s = fixed_snapshot();
	char *text;
	const char *p;
	int n = 0;

	two[1].name = "x\"} 1\nfake_total 2";
	two[1].module = "m\\";
	s.version = "v\n";
	text = format(&s);
	ck_assert_ptr_null(strstr(text, "\nfake_total"));
	for (p = text; (p = strstr(p, "service=\"x\\\"} 1\\nfake_total 2\""))
	    != NULL; p++)
		n++;
	/* 5 counters, 5 drop reasons, the seq, store up. */
	ck_assert_int_eq(n, 12);
	ck_assert_ptr_nonnull(strstr(text, "module=\"m\\\\\""));
	ck_assert_ptr_nonnull(strstr(text,
	    "udpd_build_info{version=\"v\\n\"} 1\n"));
	free(text);
}
END_TEST

START_TEST(test_proc_stat)
{
	/* A command name with spaces and ")" in it, a negative nice. */
	const char *stat = "4242 (udp d) x) S 1 4242 4242 0 -1 4194560 "
	    "300 0 0 0 1234 567 0 0 20 -5 3 0 98765 123456 789 "
	    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	unsigned long long cpu = 0, start = 0;

	ck_assert_int_eq(metrics_parse_proc_stat(stat, &cpu, &start), 0);
	ck_assert_uint_eq(cpu, 1234 + 567);
	ck_assert_uint_eq(start, 98765);
	ck_assert_int_eq(metrics_parse_proc_stat("4242 udpd S 1 2", &cpu,
	    &start), -1);
	ck_assert_int_eq(metrics_parse_proc_stat("4242 (udpd) S 1 2 3",
	    &cpu, &start), -1);
	ck_assert_int_eq(metrics_parse_proc_stat("1 (a) S 1 2 3 4 5 6 7 8 9 "
	    "x 11 12 13 14 15 16 17 18 19 20", &cpu, &start), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_byte_exact);
	tcase_add_test(tc, test_every_family_when_empty);
	tcase_add_test(tc, test_every_family_with_samples);
	tcase_add_test(tc, test_last_seq_only_when_known);
	tcase_add_test(tc, test_escape_label);
	tcase_add_test(tc, test_escaped_in_every_family);
	tcase_add_test(tc, test_proc_stat);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
