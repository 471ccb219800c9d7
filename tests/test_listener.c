/*
 * test_listener.c - listener_process(), the guarded path every datagram
 * takes, on a listener with no socket and a probe module that records
 * whether it was reached: the guards run in the order size -> loop ->
 * access list -> rate (a datagram failing several is counted once, by the
 * first), the port-123 exception holds only for terminal replies, and the
 * counters say what happened.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "listener.h"
#include "unit.h"

/* The probe module: counts its calls; its verdict is set by each test, and
 * so is the service's reply_is_terminal (the loader asks the module). */
struct probe {
	int			calls;
	int			limited_calls;
	enum udpd_verdict	verdict;
};

static enum udpd_verdict
probe_handle(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	struct probe *p = state;

	(void)req;
	p->calls++;
	memcpy(rep->buf, "handled", 7);
	rep->len = 7;
	return p->verdict;
}

static enum udpd_verdict
probe_limited(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	struct probe *p = state;

	(void)req;
	p->limited_calls++;
	memcpy(rep->buf, "kod", 3);
	rep->len = 3;
	return UDPD_REPLY;
}

static const struct udpd_module probe_module = {
	.name = "probe",
	.handle = probe_handle,
};

static const struct udpd_module probe_module_kod = {
	.name = "probe",
	.handle = probe_handle,
	.limited = probe_limited,
};

static const struct udpd_module probe_module_plain = {
	.name = "probe",
	.handle = probe_handle,
};

#define OWN_PORT	7000
#define MAX_REQUEST	100

static struct probe probe;
static struct udpd_sockaddr listen_addr;
static char *listen_text[] = { "127.0.0.1:7000" };
static struct cidr allow, deny;
static struct service_conf svc;
static struct loop_guard guard;
static struct listener *listener;
static unsigned char reply_buf[256];
static struct udpd_reply reply;

static void
setup(void)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&listen_addr.ss;
	char err[128];

	memset(&probe, 0, sizeof(probe));
	probe.verdict = UDPD_REPLY;
	memset(&listen_addr, 0, sizeof(listen_addr));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(OWN_PORT);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_addr.len = sizeof(*sin);
	ck_assert_int_eq(cidr_parse("192.0.2.0/24", &allow, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(cidr_parse("192.0.2.66", &deny, err, sizeof(err)), 0);
	memset(&svc, 0, sizeof(svc));
	svc.name = "probe";
	svc.module = &probe_module;
	svc.instance = &probe;
	svc.enabled = 1;
	svc.listen = &listen_addr;
	svc.listen_text = listen_text;
	svc.nlisten = 1;
	svc.max_request = MAX_REQUEST;
	loop_guard_init(&guard);
	loop_guard_add(&guard, OWN_PORT);
	listener = NULL;
	reply.buf = reply_buf;
	reply.cap = sizeof(reply_buf);
}

static void
teardown(void)
{
	listener_close(listener);
}

/* The listener over svc as set up so far (ACL, rate limit, module). */
static void
make_listener(void)
{
	listener = listener_new_unbound(&svc, 0, &guard);
	ck_assert_ptr_nonnull(listener);
}

/* One datagram of len bytes from ip:port; returns the verdict. */
static enum udpd_verdict
send_from(const char *ip, uint16_t port, size_t len, int truncated)
{
	static const unsigned char data[MAX_REQUEST + 10];
	struct sockaddr_in peer = { .sin_family = AF_INET };
	struct udpd_request req = { .data = data, .len = len };

	ck_assert_uint_le(len, sizeof(data));
	peer.sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &peer.sin_addr), 1);
	req.peer = (const struct sockaddr *)&peer;
	req.peerlen = sizeof(peer);
	reply.len = 99;		/* listener_process must reset it */
	return listener_process(listener, &req, truncated, &reply);
}

/* Every drop counter, as one comparable string. */
static const char *
drops(void)
{
	static char text[128];
	struct udpd_counters snap;
	const struct udpd_counters *c = &snap;

	listener_counters(listener, &snap);
	snprintf(text, sizeof(text), "size %llu loop %llu acl %llu rate %llu "
	    "malformed %llu", (unsigned long long)c->drop_size,
	    (unsigned long long)c->drop_loop, (unsigned long long)c->drop_acl,
	    (unsigned long long)c->drop_rate,
	    (unsigned long long)c->drop_malformed);
	return text;
}

/* A rate limit of one datagram per source (the clock stands still). */
static void
limit_to_one(void)
{
	svc.rate_limit.enabled = 1;
	svc.rate_limit.rate = 1;
	svc.rate_limit.burst = 1;
}

START_TEST(passes_to_the_module)
{
	make_listener();
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 5, 0), UDPD_REPLY);
	ck_assert_int_eq(probe.calls, 1);
	ck_assert_uint_eq(reply.len, 7);
	ck_assert_mem_eq(reply.buf, "handled", 7);
	ck_assert_str_eq(drops(), "size 0 loop 0 acl 0 rate 0 malformed 0");
}
END_TEST

/* Each guard on its own: the datagram is dropped silently, counted once,
 * and the module never sees it. */
START_TEST(size_guard)
{
	make_listener();
	ck_assert_int_eq(send_from("192.0.2.1", 40000, MAX_REQUEST, 0),
	    UDPD_REPLY);
	ck_assert_int_eq(send_from("192.0.2.1", 40000, MAX_REQUEST + 1, 0),
	    UDPD_DROP_SILENT);
	ck_assert_uint_eq(reply.len, 0);
	/* Truncated by the kernel (MSG_TRUNC): dropped whatever its length. */
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 3, 1),
	    UDPD_DROP_SILENT);
	ck_assert_int_eq(probe.calls, 1);
	ck_assert_str_eq(drops(), "size 2 loop 0 acl 0 rate 0 malformed 0");
}
END_TEST

START_TEST(loop_guard_ports)
{
	static const uint16_t looping[] = { 0, 7, 13, 19, 37, 123, OWN_PORT };

	svc.module = &probe_module_plain;
	make_listener();
	for (size_t i = 0; i < sizeof(looping) / sizeof(looping[0]); i++)
		ck_assert_msg(send_from("192.0.2.1", looping[i], 5, 0) ==
		    UDPD_DROP_SILENT, "port %u answered", looping[i]);
	ck_assert_int_eq(send_from("192.0.2.1", 8, 5, 0), UDPD_REPLY);
	ck_assert_int_eq(send_from("192.0.2.1", 124, 5, 0), UDPD_REPLY);
	ck_assert_int_eq(probe.calls, 2);
	ck_assert_str_eq(drops(), "size 0 loop 7 acl 0 rate 0 malformed 0");
}
END_TEST

START_TEST(acl_guard)
{
	svc.acl.allow = &allow;
	svc.acl.nallow = 1;
	svc.acl.deny = &deny;
	svc.acl.ndeny = 1;
	make_listener();
	ck_assert_int_eq(send_from("192.0.2.65", 40000, 5, 0), UDPD_REPLY);
	ck_assert_int_eq(send_from("192.0.2.66", 40000, 5, 0),
	    UDPD_DROP_SILENT);		/* allowed block, but denied: deny wins */
	ck_assert_int_eq(send_from("198.51.100.1", 40000, 5, 0),
	    UDPD_DROP_SILENT);		/* not in the allow list */
	ck_assert_int_eq(probe.calls, 1);
	ck_assert_str_eq(drops(), "size 0 loop 0 acl 2 rate 0 malformed 0");
}
END_TEST

START_TEST(rate_guard)
{
	limit_to_one();
	make_listener();
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 5, 0), UDPD_REPLY);
	ck_assert_int_eq(send_from("192.0.2.1", 40001, 5, 0),
	    UDPD_DROP_SILENT);		/* same source, other port: one bucket */
	ck_assert_int_eq(send_from("192.0.2.2", 40000, 5, 0), UDPD_REPLY);
	ck_assert_int_eq(probe.calls, 2);
	ck_assert_str_eq(drops(), "size 0 loop 0 acl 0 rate 1 malformed 0");
}
END_TEST

/* A datagram failing every guard at once is counted by the first of
 * size, loop, ACL, rate; removing the first failure each time shows the
 * next one. */
START_TEST(guard_order)
{
	svc.acl.deny = &deny;
	svc.acl.ndeny = 1;
	limit_to_one();
	make_listener();
	/* Empty the bucket of 192.0.2.66 while it is still allowed. */
	svc.acl.ndeny = 0;
	ck_assert_int_eq(send_from("192.0.2.66", 40000, 5, 0), UDPD_REPLY);
	svc.acl.ndeny = 1;

	send_from("192.0.2.66", 7, MAX_REQUEST + 1, 0);	/* fails all four */
	ck_assert_str_eq(drops(), "size 1 loop 0 acl 0 rate 0 malformed 0");
	send_from("192.0.2.66", 7, 5, 0);		/* loop, ACL, rate */
	ck_assert_str_eq(drops(), "size 1 loop 1 acl 0 rate 0 malformed 0");
	send_from("192.0.2.66", 40000, 5, 0);		/* ACL, rate */
	ck_assert_str_eq(drops(), "size 1 loop 1 acl 1 rate 0 malformed 0");
	svc.acl.ndeny = 0;
	send_from("192.0.2.66", 40000, 5, 0);		/* rate */
	ck_assert_str_eq(drops(), "size 1 loop 1 acl 1 rate 1 malformed 0");
	ck_assert_int_eq(probe.calls, 1);
}
END_TEST

/* Port 123: an SNTP client's requests are answered when the service's
 * replies are terminal (mode 4 provokes nothing), and only then. */
START_TEST(port_123_terminal)
{
	make_listener();
	svc.reply_is_terminal = 1;
	ck_assert_int_eq(send_from("192.0.2.1", 123, 48, 0), UDPD_REPLY);
	ck_assert_int_eq(probe.calls, 1);
	/* The exception is for 123 alone: other looping ports stay shut. */
	ck_assert_int_eq(send_from("192.0.2.1", 37, 48, 0), UDPD_DROP_SILENT);
	ck_assert_int_eq(send_from("192.0.2.1", OWN_PORT, 48, 0),
	    UDPD_DROP_SILENT);
	svc.reply_is_terminal = 0;
	ck_assert_int_eq(send_from("192.0.2.1", 123, 48, 0), UDPD_DROP_SILENT);
	ck_assert_int_eq(probe.calls, 1);
	ck_assert_str_eq(drops(), "size 0 loop 3 acl 0 rate 0 malformed 0");
}
END_TEST

START_TEST(port_123_without_terminal_hook)
{
	svc.module = &probe_module_plain;
	make_listener();
	ck_assert_int_eq(send_from("192.0.2.1", 123, 48, 0), UDPD_DROP_SILENT);
	ck_assert_int_eq(probe.calls, 0);
	ck_assert_str_eq(drops(), "size 0 loop 1 acl 0 rate 0 malformed 0");
}
END_TEST

/* Port 123 passes the loop guard, not the others. */
START_TEST(port_123_still_guarded)
{
	svc.acl.deny = &deny;
	svc.acl.ndeny = 1;
	make_listener();
	svc.reply_is_terminal = 1;
	ck_assert_int_eq(send_from("192.0.2.66", 123, 48, 0),
	    UDPD_DROP_SILENT);
	ck_assert_int_eq(send_from("192.0.2.1", 123, MAX_REQUEST + 1, 0),
	    UDPD_DROP_SILENT);
	ck_assert_int_eq(probe.calls, 0);
	ck_assert_str_eq(drops(), "size 1 loop 0 acl 1 rate 0 malformed 0");
}
END_TEST

/* A rate-limited source gets the module's limited() answer (SNTP's KoD)
 * once, then nothing until the KoD interval passes. */
START_TEST(rate_limited_answer)
{
	svc.module = &probe_module_kod;
	limit_to_one();
	make_listener();
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 48, 0), UDPD_REPLY);
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 48, 0), UDPD_REPLY);
	ck_assert_uint_eq(reply.len, 3);
	ck_assert_mem_eq(reply.buf, "kod", 3);
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 48, 0),
	    UDPD_DROP_SILENT);
	ck_assert_uint_eq(reply.len, 0);
	ck_assert_int_eq(probe.calls, 1);
	ck_assert_int_eq(probe.limited_calls, 1);
	ck_assert_str_eq(drops(), "size 0 loop 0 acl 0 rate 2 malformed 0");
}
END_TEST

/* requests and bytes_in count every datagram, dropped or not; errors and
 * malformed follow the module's verdict; replies are counted when sent,
 * not here. */
START_TEST(counters)
{
	struct udpd_counters snap;
	const struct udpd_counters *c = &snap;

	make_listener();
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 10, 0), UDPD_REPLY);
	probe.verdict = UDPD_REPLY_ERROR;
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 20, 0),
	    UDPD_REPLY_ERROR);
	probe.verdict = UDPD_DROP;
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 30, 0), UDPD_DROP);
	probe.verdict = UDPD_DROP_SILENT;
	ck_assert_int_eq(send_from("192.0.2.1", 40000, 40, 0),
	    UDPD_DROP_SILENT);
	send_from("192.0.2.1", 40000, MAX_REQUEST + 1, 0);
	send_from("192.0.2.1", 7, 1, 0);
	listener_counters(listener, &snap);
	ck_assert_uint_eq(c->requests, 6);
	ck_assert_uint_eq(c->bytes_in, 10 + 20 + 30 + 40 + MAX_REQUEST + 1 + 1);
	ck_assert_uint_eq(c->errors, 1);
	ck_assert_uint_eq(c->replies, 0);
	ck_assert_uint_eq(c->bytes_out, 0);
	ck_assert_str_eq(drops(), "size 1 loop 1 acl 0 rate 0 malformed 1");
}
END_TEST

/* A reply that cannot be sent is one error, whether or not the module
 * already called it an error reply (the socket here is none: EBADF). */
START_TEST(failed_send_counted_once)
{
	struct udpd_counters snap;
	struct sockaddr_in peer = { .sin_family = AF_INET };

	make_listener();
	peer.sin_port = htons(40000);
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener_send_later(listener, &svc, (struct sockaddr *)&peer,
	    sizeof(peer), NULL, "error: x\n", 9, UDPD_REPLY_ERROR);
	listener_counters(listener, &snap);
	ck_assert_uint_eq(snap.errors, 1);
	listener_send_later(listener, &svc, (struct sockaddr *)&peer,
	    sizeof(peer), NULL, "ok\n", 3, UDPD_REPLY);
	listener_counters(listener, &snap);
	ck_assert_uint_eq(snap.errors, 2);
	ck_assert_uint_eq(snap.replies, 0);
}
END_TEST

/* A late reply owed by the service that had the socket before a reload
 * gave it to another is sent, but counted on neither: the new service's
 * counters say what it did (here the send fails: no error counted). */
START_TEST(late_reply_of_previous_service)
{
	struct udpd_counters snap;
	struct sockaddr_in peer = { .sin_family = AF_INET };
	struct service_conf other = svc;

	other.name = "other";
	make_listener();
	listener_retarget(listener, &other, 0);
	peer.sin_port = htons(40000);
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener_send_later(listener, &svc, (struct sockaddr *)&peer,
	    sizeof(peer), NULL, "ok 1\n", 5, UDPD_REPLY);
	listener_counters(listener, &snap);
	ck_assert_uint_eq(snap.errors, 0);
	ck_assert_uint_eq(snap.replies, 0);
	listener_send_later(listener, &other, (struct sockaddr *)&peer,
	    sizeof(peer), NULL, "ok 2\n", 5, UDPD_REPLY);
	listener_counters(listener, &snap);
	ck_assert_uint_eq(snap.errors, 1);
}
END_TEST

/* udpd_counters_add sums every field, each into its own. */
START_TEST(counters_add_every_field)
{
	struct udpd_counters a, b;
	uint64_t v = 1;

#define SET(f) a.f = v; b.f = v * 1000; v++;
	UDPD_COUNTERS(SET)
#undef SET
	udpd_counters_add(&a, &b);
	v = 1;
#define CHECK(f) ck_assert_uint_eq(a.f, v * 1001); v++;
	UDPD_COUNTERS(CHECK)
#undef CHECK
	ck_assert_uint_eq(v, 11);
	ck_assert_uint_eq(a.drop_malformed, 10010);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("process");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, passes_to_the_module);
	tcase_add_test(tc, size_guard);
	tcase_add_test(tc, loop_guard_ports);
	tcase_add_test(tc, acl_guard);
	tcase_add_test(tc, rate_guard);
	tcase_add_test(tc, guard_order);
	tcase_add_test(tc, port_123_terminal);
	tcase_add_test(tc, port_123_without_terminal_hook);
	tcase_add_test(tc, port_123_still_guarded);
	tcase_add_test(tc, rate_limited_answer);
	tcase_add_test(tc, counters);
	tcase_add_test(tc, failed_send_counted_once);
	tcase_add_test(tc, late_reply_of_previous_service);
	tcase_add_test(tc, counters_add_every_field);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
