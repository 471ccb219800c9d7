/*
 * test_metrics_http.c - the metrics endpoint's connection checks in one
 * process: when libevent cannot make the bufferevent of a new connection,
 * the access list still applies (a spare one is used), so a denied source
 * is closed unserved rather than handed to evhttp's own, unchecked one.
 * libevent's allocator is ours here, so one allocation can be made to fail.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "metrics.h"
#include "unit.h"

/* The next n libevent allocations of a bufferevent's size (256 bytes or
 * more: the small ones before it are evhttp's copies of the peer's name)
 * fail. */
static int fail_allocs;

static void *
test_malloc(size_t n)
{
	if (fail_allocs > 0 && n >= 256) {
		fail_allocs--;
		errno = ENOMEM;
		return NULL;
	}
	return malloc(n);
}

static void *
test_realloc(void *p, size_t n)
{
	return realloc(p, n);
}

/* The port of the endpoint, from its port-file lines. */
static int
endpoint_port(const struct metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	const char *colon;
	int port;

	ck_assert_ptr_nonnull(f);
	metrics_write_ports(m, f);
	ck_assert_int_eq(fclose(f), 0);
	colon = strrchr(text, ':');
	ck_assert_ptr_nonnull(colon);
	port = atoi(colon + 1);
	free(text);
	return port;
}

START_TEST(test_fail_closed)
{
	struct event_base *base = event_base_new();
	struct server srv;
	struct metrics_conf mc;
	struct udpd_sockaddr at[2];
	struct cidr deny;
	struct metrics *m;
	struct sockaddr_in to = { .sin_family = AF_INET };
	char err[256], buf[512];
	ssize_t n = -1;
	int fd;

	ck_assert_ptr_nonnull(base);
	memset(&srv, 0, sizeof(srv));
	memset(&mc, 0, sizeof(mc));
	ck_assert_int_eq(addr_parse_listen("127.0.0.1:0", at, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(cidr_parse("127.0.0.1", &deny, err, sizeof(err)), 0);
	mc.listen = at;
	mc.nlisten = 1;
	mc.acl.deny = &deny;
	mc.acl.ndeny = 1;
	mc.max_connections = 4;
	m = metrics_new(base, &srv);
	ck_assert_int_eq(metrics_prepare(m, &mc, err, sizeof(err)), 0);
	metrics_commit(m, &mc);

	to.sin_port = htons((uint16_t)endpoint_port(m));
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	ck_assert_int_gt(write(fd, "GET /metrics HTTP/1.0\r\n\r\n", 25), 0);
	/* At the accept, the connection's bufferevent cannot be made. */
	fail_allocs = 1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 300 && n < 0; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0)
			usleep(10000);
	}
	ck_assert_int_eq(fail_allocs, 0);
	ck_assert_msg(n == 0, "denied source served: %zd bytes", n);
	close(fd);
	metrics_free(m);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics_http");
	TCase *tc = tcase_create("connections");

	/* Before any other libevent call. */
	event_set_mem_functions(test_malloc, test_realloc, free);
	tcase_add_test(tc, test_fail_closed);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
