/*
 * test_server.c - reload planning and rollback (server_apply): the
 * sockets of unchanged addresses are kept, a plan that cannot bind or a
 * service that cannot start changes nothing (sockets, files), and the
 * kept sockets go on serving.  Real sockets on 127.0.0.1, one worker's
 * event loop run by the test; no thread.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>

#include "server.h"
#include "unit.h"

static char dir[64];
static struct event_base *base;
static struct server srv;

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_server.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	server_init(&srv, base);
}

static void
teardown(void)
{
	char path[128];

	server_free(&srv);
	event_base_free(base);
	snprintf(path, sizeof(path), "%s/udpd.conf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ports", dir);
	unlink(path);
	rmdir(dir);
}

/* The configuration of text, loaded (parsed only). */
static struct udpd_conf *
load(const char *text)
{
	char path[128];
	struct conf_err err;
	struct udpd_conf *conf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/udpd.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	conf = conf_load(path, &err);
	ck_assert_msg(conf != NULL, "%s", err.msg);
	return conf;
}

static void
apply_ok(const char *text)
{
	char err[512];

	ck_assert_msg(server_apply(&srv, load(text), err, sizeof(err)) == 0,
	    "%s", err);
}

/* Applies text, which must fail with a message holding want. */
static void
apply_fails(const char *text, const char *want)
{
	struct udpd_conf *conf = load(text);
	char err[512] = "";

	ck_assert_int_eq(server_apply(&srv, conf, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err,
	    want);
	conf_free(conf);		/* not taken on failure */
}

/* The port service name listens on (0 if it does not). */
static int
port_of(const char *name)
{
	char path[128], line[256], svc[128], addr[128];
	int port = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ports", dir);
	ck_assert_int_eq(server_write_ports(&srv, path), 0);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%127s %127s", svc, addr) == 2 &&
		    strcmp(svc, name) == 0)
			port = atoi(strrchr(addr, ':') + 1);
	fclose(f);
	return port;
}

/* A datagram to port, answered by the workers' loops: the reply. */
static const char *
ask(int port, const char *text)
{
	static char reply[256];
	struct sockaddr_in to = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ssize_t n = -1;

	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sendto(fd, text, strlen(text), 0,
	    (struct sockaddr *)&to, sizeof(to)), (ssize_t)strlen(text));
	for (int i = 0; i < 500 && n < 0; i++) {	/* at most ~5 s */
		for (int w = 0; w < srv.nworkers; w++)
			event_base_loop(srv.bases[w], EVLOOP_NONBLOCK);
		if ((n = recv(fd, reply, sizeof(reply) - 1, 0)) < 0)
			usleep(10000);
	}
	close(fd);
	ck_assert_msg(n >= 0, "no reply from port %d", port);
	reply[n] = '\0';
	return reply;
}

/* A port of 127.0.0.1 held by a socket of the test's (fd in *held). */
static int
hold_port(int *held)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	*held = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(*held, 0);
	ck_assert_int_eq(bind(*held, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(*held, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

#define ECHO	"{ name = \"echo\"; module = \"echo\"; " \
		"listen = [ \"127.0.0.1:0\" ]; }"
#define GREET(g) "{ name = \"greet\"; module = \"greet\"; " \
		"listen = [ \"127.0.0.1:0\" ]; greeting = \"" g "\"; }"
#define UPPER	"{ name = \"upper\"; module = \"upper\"; " \
		"listen = [ \"127.0.0.1:0\" ]; }"

/* Unchanged addresses keep their sockets (a port 0 one, for the same
 * service); a changed service takes its new settings on the same socket. */
START_TEST(reload_keeps_sockets)
{
	int echo, greet;

	apply_ok("services = ( " ECHO ", " GREET("Hi %s") " );");
	echo = port_of("echo");
	greet = port_of("greet");
	ck_assert_int_ne(echo, 0);
	ck_assert_str_eq(ask(greet, "a"), "Hi a\n");
	apply_ok("services = ( " ECHO ", " GREET("Yo %s") ", " UPPER " );");
	ck_assert_int_eq(port_of("echo"), echo);
	ck_assert_int_eq(port_of("greet"), greet);
	ck_assert_uint_eq(server_socket_count(&srv), 3);
	ck_assert_str_eq(ask(greet, "b"), "Yo b\n");
	ck_assert_str_eq(ask(port_of("upper"), "c"), "C");
	apply_ok("services = ( " ECHO " );");
	ck_assert_uint_eq(server_socket_count(&srv), 1);
	ck_assert_int_eq(port_of("echo"), echo);
	ck_assert_int_eq(port_of("greet"), 0);
}
END_TEST

/*
 * A port in use: nothing changes, the sockets taken out for the plan are
 * back and serving, the new services' sockets are closed, and the chat
 * service of the refused plan never created its log.
 */
START_TEST(rollback_on_bind_failure)
{
	char text[1024], log[128];
	int echo, greet, held, busy = hold_port(&held);

	apply_ok("services = ( " ECHO ", " GREET("Hi %s") " );");
	echo = port_of("echo");
	greet = port_of("greet");
	snprintf(log, sizeof(log), "%s/room.log", dir);
	snprintf(text, sizeof(text), "services = ( " ECHO ", "
	    GREET("Yo %%s") ", " UPPER ", { name = \"room\"; module = "
	    "\"chat\"; listen = [ \"127.0.0.1:0\" ]; log_file = \"room.log\"; "
	    "}, { name = \"busy\"; module = \"echo\"; listen = [ "
	    "\"127.0.0.1:%d\" ]; } );", busy);
	apply_fails(text, "service busy: cannot bind");
	close(held);
	ck_assert_int_eq(access(log, F_OK), -1);
	ck_assert_uint_eq(server_socket_count(&srv), 2);
	ck_assert_int_eq(port_of("echo"), echo);
	ck_assert_int_eq(port_of("greet"), greet);
	ck_assert_int_eq(port_of("upper"), 0);
	ck_assert_str_eq(ask(greet, "x"), "Hi x\n");
	ck_assert_str_eq(ask(echo, "e"), "e");
}
END_TEST

/* Every socket bound, but a service cannot start: rolled back the same. */
START_TEST(rollback_on_start_failure)
{
	int echo;

	apply_ok("services = ( " ECHO " );");
	echo = port_of("echo");
	apply_fails("services = ( " ECHO ", " UPPER ", { name = \"room\"; "
	    "module = \"chat\"; listen = [ \"127.0.0.1:0\" ]; "
	    "log_file = \"no/such/dir/room.log\"; } );",
	    "service room: ");
	ck_assert_uint_eq(server_socket_count(&srv), 1);
	ck_assert_int_eq(port_of("echo"), echo);
	ck_assert_int_eq(port_of("upper"), 0);
	ck_assert_str_eq(ask(echo, "still"), "still");
}
END_TEST

/* Each of two workers has a socket per address; a reload keeps them all. */
START_TEST(two_workers_plan)
{
	int echo;

	apply_ok("daemon = { workers = 2; }; services = ( " ECHO " );");
	ck_assert_uint_eq(server_socket_count(&srv), 2);
	echo = port_of("echo");
	apply_ok("daemon = { workers = 2; }; services = ( " ECHO ", "
	    UPPER " );");
	ck_assert_uint_eq(server_socket_count(&srv), 4);
	ck_assert_int_eq(port_of("echo"), echo);
	ck_assert_str_eq(ask(echo, "w"), "w");
}
END_TEST

static void
timer_fired(void *arg)
{
	(*(int *)arg)++;
}

/* Each worker's timers (what a store gets in module_ctx) run on that
 * worker's loop, and disarm holds. */
START_TEST(worker_timers)
{
	int fired = 0, other = 0;
	struct udpd_timer *t, *u;
	const struct udpd_timers *tm;

	apply_ok("daemon = { workers = 2; }; services = ( " ECHO " );");
	tm = &srv.timers[1];
	t = tm->ops->create(tm->ctx, timer_fired, &fired);
	u = tm->ops->create(tm->ctx, timer_fired, &other);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(tm->ops->arm(t, 1), 0);
	ck_assert_int_eq(tm->ops->arm(u, 1), 0);
	tm->ops->disarm(u);
	for (int i = 0; i < 500 && fired == 0; i++) {
		event_base_loop(srv.bases[0], EVLOOP_NONBLOCK);
		ck_assert_int_eq(fired, 0);	/* not on worker 0's loop */
		event_base_loop(srv.bases[1], EVLOOP_ONCE);
	}
	ck_assert_int_eq(fired, 1);
	ck_assert_int_eq(other, 0);
	ck_assert_uint_gt(tm->ops->now_ms(tm->ctx), 0);
	tm->ops->destroy(t);
	tm->ops->destroy(u);
}
END_TEST

/* A worker whose loop ended never reaches the pause: a reload then would
 * wait for it for ever.  It is refused (udpd is stopping anyway). */
START_TEST(no_reload_after_a_worker_died)
{
	apply_ok("services = ( " ECHO " );");
	atomic_store(&srv.worker_failed, 1);
	apply_fails("services = ( " ECHO " );", "a worker stopped");
	atomic_store(&srv.worker_failed, 0);
}
END_TEST

/* Reloads while worker threads run: each pauses them all and lets them go
 * again, many times in a row. */
START_TEST(reloads_pause_running_workers)
{
	evthread_use_pthreads();
	apply_ok("daemon = { workers = 3; }; services = ( " ECHO " );");
	server_start_workers(&srv);
	for (int i = 0; i < 50; i++)
		apply_ok(i % 2 ? "daemon = { workers = 3; }; services = ( "
		    ECHO " );" : "daemon = { workers = 3; }; services = ( "
		    ECHO ", " UPPER " );");
	ck_assert_uint_eq(server_socket_count(&srv), 3);
	server_stop_workers(&srv);
}
END_TEST

static int stuck[2] = { -1, -1 };	/* a worker blocks reading [0] */
static int stuck_then_dies;		/* then its loop ends */

static void
block_worker(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *b = arg;
	char c;

	(void)fd;
	(void)what;
	while (read(stuck[0], &c, 1) < 0 && errno == EINTR)
		;
	if (stuck_then_dies)
		event_base_loopbreak(b);	/* before the pause's event */
}

/* Worker 1 runs block_worker until a byte comes down stuck[1]. */
static struct event *
block_worker_1(void)
{
	struct event *ev;

	ck_assert_int_eq(pipe(stuck), 0);
	ev = event_new(srv.workers[1].base, -1, 0, block_worker,
	    srv.workers[1].base);
	ck_assert_ptr_nonnull(ev);
	event_active(ev, EV_READ, 0);
	return ev;
}

static void
unblock_done(struct event *ev)
{
	server_stop_workers(&srv);
	event_free(ev);
	close(stuck[0]);
	close(stuck[1]);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * A worker that does not come to the pause (stuck in a callback) makes the
 * reload fail at the deadline, old configuration kept; once it moves
 * again, it does not stay parked, and reloads work again.
 */
START_TEST(reload_refused_when_a_worker_does_not_pause)
{
	struct event *ev;
	struct timespec t0;

	evthread_use_pthreads();
	apply_ok("daemon = { workers = 2; }; services = ( " ECHO " );");
	srv.pause_timeout_ms = 300;
	server_start_workers(&srv);
	ev = block_worker_1();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	apply_fails("daemon = { workers = 2; }; services = ( " ECHO ", "
	    UPPER " );", "worker 1 did not pause within 300 ms");
	ck_assert_double_lt(seconds_since(&t0), 5);
	ck_assert_uint_eq(server_socket_count(&srv), 2);	/* old kept */
	ck_assert_int_eq(write(stuck[1], "x", 1), 1);	/* moves again */
	apply_ok("daemon = { workers = 2; }; services = ( " ECHO ", "
	    UPPER " );");
	ck_assert_uint_eq(server_socket_count(&srv), 4);
	unblock_done(ev);
}
END_TEST

static void *
unblock_later(void *arg)
{
	struct timespec t = { 0, 200 * 1000 * 1000 };

	(void)arg;
	nanosleep(&t, NULL);	/* main is waiting by then, or not: same */
	if (write(stuck[1], "x", 1) != 1)
		abort();
	return NULL;
}

/* A worker whose loop ends while main waits for it: refused at once,
 * not at the deadline. */
START_TEST(reload_refused_when_a_worker_dies_during_the_pause)
{
	struct event *ev;
	struct timespec t0;
	pthread_t th;

	evthread_use_pthreads();
	apply_ok("daemon = { workers = 2; }; services = ( " ECHO " );");
	srv.pause_timeout_ms = 60000;
	server_start_workers(&srv);
	stuck_then_dies = 1;
	ev = block_worker_1();
	ck_assert_int_eq(pthread_create(&th, NULL, unblock_later, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	apply_fails("daemon = { workers = 2; }; services = ( " ECHO ", "
	    UPPER " );", "worker 1 did not pause: its event loop ended");
	ck_assert_double_lt(seconds_since(&t0), 20);
	ck_assert_uint_eq(server_socket_count(&srv), 2);	/* old kept */
	pthread_join(th, NULL);
	stuck_then_dies = 0;
	unblock_done(ev);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("reload");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, reload_keeps_sockets);
	tcase_add_test(tc, rollback_on_bind_failure);
	tcase_add_test(tc, rollback_on_start_failure);
	tcase_add_test(tc, two_workers_plan);
	tcase_add_test(tc, no_reload_after_a_worker_died);
	tcase_add_test(tc, worker_timers);
	tcase_add_test(tc, reloads_pause_running_workers);
	tcase_add_test(tc, reload_refused_when_a_worker_does_not_pause);
	tcase_add_test(tc, reload_refused_when_a_worker_dies_during_the_pause);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
