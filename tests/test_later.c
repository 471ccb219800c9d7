/*
 * test_later.c - replies that come later: the per-worker pending table
 * (bound, deadline, an answer after the listener closed) and the chat
 * protocol over a test-only store that answers on the event loop, as a
 * store on the network does.  The store is linked in through this file's
 * own chat_stores[] (the daemon's list is in chat_stores.c).  Deadlines
 * run on a clock the test advances (fake_timer.h): nothing here waits.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chat_store.h"
#include "fake_timer.h"
#include "module.h"
#include "pending.h"
#include "unit.h"

/* ---- a sender that records what the table sends --------------------- */

#define MAX_SENT	16

struct sent {
	char			 data[256];
	size_t			 len;
	enum udpd_verdict	 v;
	struct sockaddr_in	 peer;
	int			 had_pktinfo;
	int			 pktinfo_ifindex;
};

static struct sent sent[MAX_SENT];
static int nsent;
static int sender_token;		/* stands for a listener */
static int owner_token;			/* and for its service */

static void
record_send(void *sender, const void *owner, const struct sockaddr *peer,
    socklen_t peerlen,
    const struct cmsghdr *pktinfo, const void *data, size_t len,
    enum udpd_verdict v)
{
	struct sent *s = &sent[nsent < MAX_SENT ? nsent : MAX_SENT - 1];

	ck_assert_ptr_eq(sender, &sender_token);
	ck_assert_ptr_eq(owner, &owner_token);
	ck_assert_uint_eq(peerlen, sizeof(s->peer));
	ck_assert_uint_lt(len, sizeof(s->data));
	memcpy(&s->peer, peer, sizeof(s->peer));
	memcpy(s->data, data, len);
	s->data[len] = '\0';
	s->len = len;
	s->v = v;
	s->had_pktinfo = pktinfo != NULL;
	if (pktinfo != NULL) {
		struct in_pktinfo pi;

		memcpy(&pi, CMSG_DATA(pktinfo), sizeof(pi));
		s->pktinfo_ifindex = pi.ipi_ifindex;
	}
	nsent++;
}

static struct event_base *base;
static struct pending_table *table;
static struct sockaddr_in peer;
static struct udpd_origin origin;

static void
setup(void)
{
	nsent = 0;
	memset(sent, 0, sizeof(sent));
	fake_arm_fails = 0;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_port = htons(4321);
	inet_pton(AF_INET, "127.0.0.7", &peer.sin_addr);
}

static void
teardown(void)
{
	pending_free(table);
	table = NULL;
	event_base_free(base);
}

static void
make_table(size_t max)
{
	table = pending_new(fake_timers_get(), max, record_send);
	ck_assert_ptr_nonnull(table);
	origin = (struct udpd_origin){ table, &sender_token, &owner_token,
	    NULL };
}

static struct udpd_request
request(const char *text)
{
	struct udpd_request req = {
		.data = (const unsigned char *)text, .len = strlen(text),
		.peer = (const struct sockaddr *)&peer,
		.peerlen = sizeof(peer), .rx_time = { 1795305601, 0 },
		.worker = 0, .origin = &origin,
	};

	return req;
}

static void
loop_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until n datagrams were sent, or 5 s passed. */
static void
run_until_sent(int n)
{
	struct timeval limit = { 5, 0 };
	int expired = 0;
	struct event *guard = evtimer_new(base, loop_stop, &expired);

	evtimer_add(guard, &limit);
	while (nsent < n && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	ck_assert_msg(nsent >= n, "%d sent after 5 s, want %d", nsent, n);
}

/* Runs whatever is ready now, without waiting. */
static void
run_ready(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

#define ck_sent(i, verdict, text) do {					\
	ck_assert_int_eq(sent[i].v, (verdict));				\
	ck_assert_str_eq(sent[i].data, (text));				\
	ck_assert_int_eq(sent[i].peer.sin_port, htons(4321));		\
} while (0)

/* ---- the table -------------------------------------------------------- */

START_TEST(table_bound)
{
	struct udpd_request req = request("x");
	struct udpd_later *a, *b;

	make_table(2);
	a = udpd_later_take(&req, 1000, "error: late\n");
	b = udpd_later_take(&req, 1000, "error: late\n");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_null(udpd_later_take(&req, 1000, "error: late\n"));
	ck_assert_uint_eq(pending_in_use(table), 2);
	udpd_later_reply(a, UDPD_REPLY, "one\n", 4);
	ck_assert_int_eq(nsent, 1);
	ck_sent(0, UDPD_REPLY, "one\n");
	ck_assert_uint_eq(pending_in_use(table), 1);
	a = udpd_later_take(&req, 1000, "error: late\n");
	ck_assert_ptr_nonnull(a);
	udpd_later_reply(a, UDPD_DROP_SILENT, NULL, 0);	/* nothing sent */
	udpd_later_reply(b, UDPD_REPLY_ERROR, "error: two\n", 11);
	ck_assert_int_eq(nsent, 2);
	ck_sent(1, UDPD_REPLY_ERROR, "error: two\n");
	ck_assert_uint_eq(pending_in_use(table), 0);
	/* no origin: nothing can be kept */
	req.origin = NULL;
	ck_assert_ptr_null(udpd_later_take(&req, 1000, "error: late\n"));
}
END_TEST

/* Past the deadline the timeout reply goes out once; the answer that
 * comes after only frees the slot, and the timer never fires again. */
START_TEST(table_deadline)
{
	struct udpd_request req = request("x");
	struct udpd_later *a, *b;

	make_table(4);
	a = udpd_later_take(&req, 20, "error: late\n");
	b = udpd_later_take(&req, 60000, "error: never\n");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(fake_advance(19), 0);
	ck_assert_int_eq(nsent, 0);
	ck_assert_int_eq(fake_advance(1), 1);
	ck_assert_int_eq(nsent, 1);
	ck_sent(0, UDPD_REPLY_ERROR, "error: late\n");
	ck_assert_uint_eq(pending_in_use(table), 2);
	udpd_later_reply(a, UDPD_REPLY, "too late\n", 9);
	ck_assert_int_eq(nsent, 1);
	ck_assert_uint_eq(pending_in_use(table), 1);
	udpd_later_reply(b, UDPD_REPLY, "in time\n", 8);
	ck_assert_int_eq(nsent, 2);
	ck_sent(1, UDPD_REPLY, "in time\n");
	ck_assert_int_eq(fake_advance(120000), 0);	/* no timer left */
	ck_assert_int_eq(nsent, 2);
}
END_TEST

/* A listener closed (reload, exit) before the answer: each waiting client
 * gets its timeout reply then, once; the answer is dropped and the slot
 * comes back. */
START_TEST(table_sender_gone)
{
	struct udpd_request req = request("x");
	struct udpd_later *a, *b;

	make_table(2);
	a = udpd_later_take(&req, 1000, "error: late\n");
	b = udpd_later_take(&req, 10, "error: late\n");
	pending_forget_sender(table, &sender_token);
	ck_assert_int_eq(nsent, 2);
	ck_sent(0, UDPD_REPLY_ERROR, "error: late\n");
	ck_sent(1, UDPD_REPLY_ERROR, "error: late\n");
	udpd_later_reply(a, UDPD_REPLY, "answer\n", 7);
	ck_assert_int_eq(nsent, 2);
	ck_assert_uint_eq(pending_in_use(table), 1);
	(void)b;
	/* b's deadline passes with no listener: still nothing sent */
	ck_assert_int_eq(fake_advance(10), 0);	/* disarmed when forgotten */
	ck_assert_int_eq(nsent, 2);
	udpd_later_reply(b, UDPD_REPLY, "answer\n", 7);
	ck_assert_int_eq(nsent, 2);
	ck_assert_uint_eq(pending_in_use(table), 0);
}
END_TEST

/* A module that answers twice holds a stale handle by the second time,
 * and the slot may serve another client by then: the second answer is
 * dropped, never sent to that client. */
START_TEST(table_stale_handle)
{
	struct udpd_request req = request("x");
	struct udpd_later *a, *b;

	make_table(1);
	a = udpd_later_take(&req, 1000, "error: late\n");
	udpd_later_reply(a, UDPD_REPLY, "for a\n", 6);
	ck_assert_int_eq(nsent, 1);
	b = udpd_later_take(&req, 1000, "error: late\n");	/* a's slot */
	ck_assert_ptr_nonnull(b);
	udpd_later_reply(a, UDPD_REPLY, "for a again\n", 12);
	ck_assert_int_eq(nsent, 1);
	ck_assert_uint_eq(pending_in_use(table), 1);
	udpd_later_reply(b, UDPD_REPLY, "for b\n", 6);
	ck_assert_int_eq(nsent, 2);
	ck_sent(1, UDPD_REPLY, "for b\n");
	ck_assert_uint_eq(pending_in_use(table), 0);
}
END_TEST

/* A deadline that cannot be set: no slot is taken (the module answers
 * "busy" at once), rather than a slot that would wait for ever. */
START_TEST(table_timer_fails)
{
	struct udpd_request req = request("x");

	make_table(2);
	fake_arm_fails = 1;
	ck_assert_ptr_null(udpd_later_take(&req, 1000, "error: late\n"));
	ck_assert_uint_eq(pending_in_use(table), 0);
	fake_arm_fails = 0;
	ck_assert_ptr_nonnull(udpd_later_take(&req, 1000, "error: late\n"));
	ck_assert_ptr_nonnull(udpd_later_take(&req, 1000, "error: late\n"));
	ck_assert_uint_eq(pending_in_use(table), 2);
	ck_assert_int_eq(fake_advance(1000), 2);
	ck_assert_int_eq(nsent, 2);
}
END_TEST

/* The reply leaves from the local address the request was sent to. */
START_TEST(table_keeps_pktinfo)
{
	union {
		char		 buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr	 align;
	} ctl;
	struct in_pktinfo pi = { .ipi_ifindex = 7 };
	struct udpd_request req = request("x");
	struct udpd_later *a;

	make_table(1);
	ctl.align.cmsg_level = IPPROTO_IP;
	ctl.align.cmsg_type = IP_PKTINFO;
	ctl.align.cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(&ctl.align), &pi, sizeof(pi));
	origin.pktinfo = &ctl.align;
	a = udpd_later_take(&req, 1000, "error: late\n");
	memset(&ctl, 0, sizeof(ctl));		/* the batch's buffer is reused */
	udpd_later_reply(a, UDPD_REPLY, "ok\n", 3);
	ck_assert_int_eq(nsent, 1);
	ck_assert_int_eq(sent[0].had_pktinfo, 1);
	ck_assert_int_eq(sent[0].pktinfo_ifindex, 7);
}
END_TEST

/* ---- a store that answers on the event loop --------------------------- */

enum fake_mode { FAKE_OK, FAKE_FAIL, FAKE_NEVER };
static enum fake_mode fake_mode;
static int fake_token;

/* One request in flight. */
struct fake_op {
	struct fake_store	*store;
	chat_append_done	 append_done;
	chat_history_done	 history_done;
	void			*arg;
	uint64_t		 seq;
	struct fake_op		*next;
};

struct fake_store {
	struct chat_store	 base;
	struct event_base	*loop;
	uint64_t		 seq;
	struct fake_op		*never;		/* FAKE_NEVER: held until stop */
};

static void *
fake_parse(const config_setting_t *service,
    const struct module_parse_ctx *ctx, struct conf_err *err)
{
	(void)service;
	(void)ctx;
	(void)err;
	return &fake_token;
}

static void
fake_free_options(void *options)
{
	(void)options;
}

static struct chat_store *
fake_start(const void *options, const struct module_ctx *ctx,
    struct chat_store *previous, char *err, size_t errlen)
{
	struct fake_store *s = calloc(1, sizeof(*s));

	(void)options;
	(void)previous;
	(void)err;
	(void)errlen;
	ck_assert_ptr_nonnull(s);
	ck_assert_int_ge(ctx->nworkers, 1);
	s->base.ops = chat_stores[1];
	s->base.timeout_ms = 30;
	s->loop = ctx->bases[0];
	return &s->base;
}

/* On the loop: the store's answer. */
static void
fake_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_op *op = arg;

	(void)fd;
	(void)what;
	if (op->append_done != NULL)
		op->append_done(op->arg, fake_mode == FAKE_OK ? CHAT_STORED :
		    CHAT_UNKNOWN, fake_mode == FAKE_OK ? op->seq : 0,
		    fake_mode == FAKE_OK ? NULL : "connection lost");
	else if (fake_mode == FAKE_OK)
		op->history_done(op->arg, "1 a\n2 b\n", 8, NULL);
	else
		op->history_done(op->arg, NULL, 0, "store unavailable");
	free(op);
}

static void
fake_queue(struct fake_store *s, struct fake_op *op)
{
	struct timeval now = { 0, 0 };

	op->store = s;
	if (fake_mode == FAKE_NEVER) {
		op->next = s->never;
		s->never = op;
		return;
	}
	ck_assert_int_eq(event_base_once(s->loop, -1, EV_TIMEOUT, fake_fire,
	    op, &now), 0);
}

static enum chat_store_status
fake_append(struct chat_store *store, struct chat_append *a)
{
	struct fake_store *s = (struct fake_store *)store;
	struct fake_op *op = calloc(1, sizeof(*op));

	ck_assert_ptr_nonnull(op);
	ck_assert_ptr_nonnull(a->done);
	/* the line's tail, formatted by the protocol before the store */
	ck_assert_uint_ge(a->len, 1);
	ck_assert_int_eq(a->suffix[a->len - 1], '\n');
	op->append_done = a->done;
	op->arg = a->arg;
	op->seq = ++s->seq;
	fake_queue(s, op);
	return CHAT_STORE_LATER;
}

static enum chat_store_status
fake_history(struct chat_store *store, struct chat_history *h)
{
	struct fake_op *op = calloc(1, sizeof(*op));

	ck_assert_ptr_nonnull(op);
	op->history_done = h->done;
	op->arg = h->arg;
	fake_queue((struct fake_store *)store, op);
	return CHAT_STORE_LATER;
}

/* What a stopped store owes is answered now (with an error). */
static void
fake_stop(struct chat_store *store)
{
	struct fake_store *s = (struct fake_store *)store;

	while (s->never != NULL) {
		struct fake_op *op = s->never;

		s->never = op->next;
		fake_mode = FAKE_FAIL;
		fake_fire(-1, 0, op);
	}
	free(s);
}

static const struct chat_store_ops fake_store = {
	.name = "fake",
	.answers_later = 1,
	.options = (const char *const[]){ NULL },
	.parse = fake_parse,
	.free_options = fake_free_options,
	.start = fake_start,
	.stop = fake_stop,
	.append = fake_append,
	.history = fake_history,
};

/* This test's registry: the file store, and the fake one. */
const struct chat_store_ops *const chat_stores[] = {
	&chat_file_store,
	&fake_store,
	NULL
};

static void *
fake_chat(void)
{
	struct event_base *bases[1] = { base };
	struct module_ctx ctx = { .service = "room", .bases = bases,
	    .nworkers = 1 };
	struct conf_err err;
	void *st = unit_create(&module_chat, "store = \"fake\";", "", "/tmp",
	    &ctx, &err);

	ck_assert_msg(st != NULL, "%s", err.msg);
	return st;
}

static enum udpd_verdict
post(void *st, const char *text)
{
	static unsigned char buf[UDPD_MAX_DATAGRAM];
	struct udpd_reply rep = { buf, sizeof(buf), 0, 0 };
	struct udpd_request req = request(text);
	enum udpd_verdict v = module_chat.handle(st, &req, &rep);

	if (v == UDPD_REPLY || v == UDPD_REPLY_ERROR) {
		/* an answer at once: recorded like a sent one */
		record_send(&sender_token, &owner_token, req.peer,
		    req.peerlen, NULL,
		    buf, rep.len, v);
	}
	return v;
}

START_TEST(chat_acked_later)
{
	void *st;

	make_table(8);
	fake_mode = FAKE_OK;
	st = fake_chat();
	ck_assert_int_eq(post(st, "hello\n"), UDPD_LATER);
	ck_assert_int_eq(post(st, "again"), UDPD_LATER);
	ck_assert_int_eq(nsent, 0);		/* nothing before the store */
	run_until_sent(2);
	ck_sent(0, UDPD_REPLY, "ok 1\n");
	ck_sent(1, UDPD_REPLY, "ok 2\n");
	ck_assert_uint_eq(pending_in_use(table), 0);
	ck_assert_int_eq(post(st, "/history 2"), UDPD_LATER);
	run_until_sent(3);
	ck_sent(2, UDPD_REPLY, "1 a\n2 b\n");
	/* errors found before the store are answered at once */
	ck_assert_int_eq(post(st, ""), UDPD_REPLY_ERROR);
	ck_sent(3, UDPD_REPLY_ERROR, "error: not stored: empty message\n");
	module_chat.destroy(st);
}
END_TEST

START_TEST(chat_store_fails_later)
{
	void *st;

	make_table(8);
	fake_mode = FAKE_FAIL;
	st = fake_chat();
	ck_assert_int_eq(post(st, "hello"), UDPD_LATER);
	ck_assert_int_eq(post(st, "/history"), UDPD_LATER);
	run_until_sent(2);
	ck_sent(0, UDPD_REPLY_ERROR, "error: outcome unknown: connection "
	    "lost\n");
	ck_sent(1, UDPD_REPLY_ERROR, "error: store unavailable\n");
	module_chat.destroy(st);
}
END_TEST

/* A full table: "error: not stored: busy" at once, the store never asked; a stop
 * (shutdown, reload) answers what the store still owes. */
START_TEST(chat_busy)
{
	void *st;

	make_table(1);
	fake_mode = FAKE_NEVER;
	st = fake_chat();
	ck_assert_int_eq(post(st, "first"), UDPD_LATER);
	ck_assert_int_eq(post(st, "second"), UDPD_REPLY_ERROR);
	ck_assert_int_eq(nsent, 1);
	ck_sent(0, UDPD_REPLY_ERROR, "error: not stored: busy\n");
	/* stopping the store answers "first", the listener still open */
	module_chat.destroy(st);
	ck_assert_int_eq(nsent, 2);
	ck_sent(1, UDPD_REPLY_ERROR, "error: outcome unknown: connection "
	    "lost\n");
	ck_assert_uint_eq(pending_in_use(table), 0);
}
END_TEST

/*
 * A store that does not answer within its timeout: the client gets
 * "error: outcome unknown: ..." at the deadline, once; the store's answer
 * when it is stopped (shutdown, reload) is dropped, and the slot freed.
 */
START_TEST(chat_deadline_then_stop)
{
	void *st;

	make_table(4);
	fake_mode = FAKE_NEVER;
	st = fake_chat();
	ck_assert_int_eq(post(st, "slow"), UDPD_LATER);
	ck_assert_int_eq(fake_advance(29), 0);
	ck_assert_int_eq(fake_advance(1), 1);
	ck_assert_int_eq(nsent, 1);
	ck_sent(0, UDPD_REPLY_ERROR, "error: outcome unknown: no answer "
	    "from the store\n");
	ck_assert_uint_eq(pending_in_use(table), 1);
	module_chat.destroy(st);
	ck_assert_int_eq(nsent, 1);
	ck_assert_uint_eq(pending_in_use(table), 0);
}
END_TEST

/* The reload or exit closed the listener first: the client hears "outcome
 * unknown" then, and the store's answer goes nowhere. */
START_TEST(chat_answer_after_close)
{
	void *st;

	make_table(4);
	fake_mode = FAKE_OK;
	st = fake_chat();
	ck_assert_int_eq(post(st, "hello"), UDPD_LATER);
	pending_forget_sender(table, &sender_token);
	ck_assert_int_eq(nsent, 1);		/* answered while open */
	ck_sent(0, UDPD_REPLY_ERROR, "error: outcome unknown: no answer "
	    "from the store\n");
	module_chat.destroy(st);		/* the instance is gone too */
	run_ready();
	ck_assert_int_eq(nsent, 1);
	ck_assert_uint_eq(pending_in_use(table), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("later");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, table_bound);
	tcase_add_test(tc, table_deadline);
	tcase_add_test(tc, table_sender_gone);
	tcase_add_test(tc, table_timer_fails);
	tcase_add_test(tc, table_stale_handle);
	tcase_add_test(tc, table_keeps_pktinfo);
	suite_add_tcase(s, tc);
	tc = tcase_create("chat");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, chat_acked_later);
	tcase_add_test(tc, chat_store_fails_later);
	tcase_add_test(tc, chat_busy);
	tcase_add_test(tc, chat_deadline_then_stop);
	tcase_add_test(tc, chat_answer_after_close);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
