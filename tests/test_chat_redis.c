/*
 * test_chat_redis.c - chat_redis.c against a real, private redis-server
 * (tests/redis.sh: a temp dir, a unix socket, a 127.0.0.1 port, AOF with
 * appendfsync always), driven by its own event_base: the seq and the
 * append in one script, the stream's fields, pipelining, two connections
 * on one sequence, /history, SCRIPT FLUSH, a lost counter, a restart, a
 * deadline, AUTH with a password and an ACL user, WAIT with and without a
 * replica, and free() failing what is in flight.  Exits 77 without
 * redis-server or without libhiredis.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat_redis.h"
#include "log.h"
#include "unit.h"

#ifdef HAVE_HIREDIS
#include <event2/event.h>

#include "chat_redis_conn.h"

#define MAXN	8192

static char top[64];			/* every server's directory is in it */
static struct event_base *base;

/* What the callbacks saw, in the order they came. */
static struct {
	int		 n;
	uint64_t	 seq[MAXN];
	enum chat_outcome outcome[MAXN];
	intptr_t	 arg[MAXN];
	char		 err[MAXN][96];
	char		 text[UDPD_MAX_DATAGRAM];
	size_t		 textlen;
	int		 history_done;
	char		 history_err[96];
} got;

/* ---- servers -------------------------------------------------------- */

/* tests/redis.sh CMD top/NAME [options]; its exit status. */
static int
redis_sh(const char *cmd, const char *name, const char *opts)
{
	char line[1024];
	int st;

	snprintf(line, sizeof(line), "%s/redis.sh %s %s/%s %s", TEST_SRCDIR,
	    cmd, top, name, opts != NULL ? opts : "");
	st = system(line);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
redis_up(const char *name, const char *opts)
{
	ck_assert_msg(redis_sh("start", name, opts) == 0,
	    "redis-server %s did not start", name);
}

/* redis-cli on NAME's socket; its output in out (trailing newline cut). */
static void __attribute__((format(printf, 3, 4)))
cli(const char *name, char *out, const char *fmt, ...)
{
	char cmd[1024], args[768];
	size_t n = 0;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "redis-cli -s %s/%s/redis.sock %s", top,
	    name, args);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	if (out != NULL) {
		n = fread(out, 1, 8191, p);
		out[n] = '\0';
		while (n > 0 && out[n - 1] == '\n')
			out[--n] = '\0';
	} else {
		char sink[256];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	pclose(p);
}

static int
redis_port(const char *name)
{
	char path[128];
	int port = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/redis.port", top, name);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_int_eq(fscanf(f, "%d", &port), 1);
	fclose(f);
	return port;
}

/* A conf for NAME's unix socket and the room key. */
static void
conf_for(struct chat_redis_conf *c, const char *name, const char *key)
{
	memset(c, 0, sizeof(*c));
	ck_assert_int_ne(asprintf(&c->unix_path, "%s/%s/redis.sock", top,
	    name), -1);
	c->key = strdup(key);
	c->timeout_ms = 1000;
	snprintf(c->label, sizeof(c->label), "unix:%s", c->unix_path);
}

static void
servers_start(void)
{
	snprintf(top, sizeof(top), "/tmp/test_chat_redis.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	redis_up("main", NULL);
}

/* Runs in the parent: every server any test started is stopped. */
static void
servers_stop(void)
{
	char cmd[256];
	int st;

	snprintf(cmd, sizeof(cmd), "for d in %s/*/; do %s/redis.sh stop "
	    "\"$d\"; done; rm -rf %s", top, TEST_SRCDIR, top);
	st = system(cmd);
	(void)st;
}

/* ---- the loop ------------------------------------------------------- */

static int (*until)(void);
static struct timespec until_deadline;

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct timespec now;

	(void)fd;
	(void)what;
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (until() || now.tv_sec > until_deadline.tv_sec ||
	    (now.tv_sec == until_deadline.tv_sec &&
	    now.tv_nsec >= until_deadline.tv_nsec))
		event_base_loopbreak(base);
}

/* Runs the loop until cond() holds, at most ms; returns cond(). */
static int
run_until(int (*cond)(void), int ms)
{
	struct timeval tv = { 0, 2000 };
	struct event *t;

	until = cond;
	clock_gettime(CLOCK_MONOTONIC, &until_deadline);
	until_deadline.tv_sec += ms / 1000;
	until_deadline.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until_deadline.tv_nsec >= 1000000000) {
		until_deadline.tv_sec++;
		until_deadline.tv_nsec -= 1000000000;
	}
	t = event_new(base, -1, EV_PERSIST, tick, NULL);
	event_add(t, &tv);
	if (!cond())
		event_base_dispatch(base);
	event_free(t);
	return cond();
}

static struct chat_redis *cur;
static int want;

static int is_ready(void) { return chat_redis_ready(cur); }
static int not_ready(void) { return !chat_redis_ready(cur); }
static int have_all(void) { return got.n >= want; }
static int history_in(void) { return got.history_done; }

static void
on_append(void *arg, enum chat_outcome outcome, uint64_t seq,
    const char *err)
{
	ck_assert_int_lt(got.n, MAXN);
	got.seq[got.n] = seq;
	got.outcome[got.n] = outcome;
	ck_assert((outcome == CHAT_STORED) == (seq > 0));
	ck_assert((outcome == CHAT_STORED) == (err == NULL));
	got.arg[got.n] = (intptr_t)arg;
	snprintf(got.err[got.n], sizeof(got.err[0]), "%s",
	    err != NULL ? err : "");
	got.n++;
}

static void
on_history(void *arg, const char *text, size_t len, const char *err)
{
	(void)arg;
	ck_assert_int_lt(len, sizeof(got.text));
	if (text != NULL)
		memcpy(got.text, text, len);
	got.textlen = len;
	snprintf(got.history_err, sizeof(got.history_err), "%s",
	    err != NULL ? err : "");
	got.history_done = 1;
}

/* A connection that is up, or the test fails. */
static struct chat_redis *
connect_ready(const struct chat_redis_conf *c)
{
	struct chat_redis *r = chat_redis_new(base, c, "chat", NULL);

	ck_assert_ptr_nonnull(r);
	cur = r;
	ck_assert_msg(run_until(is_ready, 5000), "not ready in 5 s");
	return r;
}

static void
post(struct chat_redis *r, const char *suffix, intptr_t tag)
{
	const char *why = NULL;

	ck_assert_msg(chat_redis_append(r, suffix, strlen(suffix), on_append,
	    (void *)tag, &why) == 0, "append refused: %s", why);
}

/* Posts n messages and waits for every answer. */
static void
post_wait(struct chat_redis *r, int n)
{
	int first = got.n;

	for (int i = 0; i < n; i++)
		post(r, "2026-11-22T00:00:01.234Z 127.0.0.1:5000 m", i);
	want = first + n;
	ck_assert_msg(run_until(have_all, 5000), "%d of %d answers",
	    got.n - first, n);
}

static void
setup(void)
{
	memset(&got, 0, sizeof(got));
	ck_assert_ptr_nonnull(base = event_base_new());
}

static void
teardown(void)
{
	event_base_free(base);
}

/* ---- tests ---------------------------------------------------------- */

/* seq 1, 2, 3; each entry {seq, line} with line "<seq><suffix>". */
START_TEST(append_writes_the_stream)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	char out[8192];

	conf_for(&c, "main", "t:append");
	r = connect_ready(&c);
	post(r, "2026-11-22T00:00:01.234Z 127.0.0.1:5000 hello", 0);
	post(r, "2026-11-22T00:00:01.234Z [::1]:6000 caf\xc3\xa9 \\x01", 1);
	post(r, "2026-11-22T00:00:02.000Z 127.0.0.1:5000 bye\n", 2);
	want = 3;
	ck_assert(run_until(have_all, 5000));
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(got.err[i], "");
		ck_assert_int_eq(got.seq[i], i + 1);
	}
	cli("main", out, "--no-raw XRANGE {t:append} - +");
	ck_assert_msg(strstr(out, "\"seq\"\n") != NULL, "%s", out);
	/* the line without its newline */
	ck_assert_msg(strstr(out, "\"3 2026-11-22T00:00:02.000Z "
	    "127.0.0.1:5000 bye\"") != NULL, "%s", out);
	cli("main", out, "XRANGE {t:append} - +");
	ck_assert_msg(strstr(out, "\nseq\n1\nline\n1 2026-11-22T00:00:01.234Z "
	    "127.0.0.1:5000 hello\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\nseq\n2\nline\n2 2026-11-22T00:00:01.234Z "
	    "[::1]:6000 caf\xc3\xa9 \\x01\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\nseq\n3\nline\n3 2026-11-22T00:00:02.000Z "
	    "127.0.0.1:5000 bye") != NULL, "%s", out);
	cli("main", out, "GET {t:append}:seq");
	ck_assert_str_eq(out, "3");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* A line that is not one is refused before anything is sent. */
START_TEST(append_refuses_non_lines)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	const char *why = NULL;

	conf_for(&c, "main", "t:nonline");
	r = connect_ready(&c);
	ck_assert_int_eq(chat_redis_append(r, "\n", 1, on_append, NULL, &why),
	    -1);
	ck_assert_int_eq(chat_redis_append(r, "a\nb", 3, on_append, NULL,
	    &why), -1);
	ck_assert_int_eq(chat_redis_append(r, "a\nb\n", 4, on_append, NULL,
	    &why), -1);
	ck_assert_str_eq(why, "not a line");
	ck_assert_int_eq(chat_redis_inflight(r), 0);
	chat_redis_free(r);
	ck_assert_int_eq(got.n, 0);
	chat_redis_conf_free(&c);
}
END_TEST

/* Over TCP, 500 messages in flight at once, answered in order. */
START_TEST(pipelined_in_order)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	memset(&c, 0, sizeof(c));
	c.host = strdup("127.0.0.1");
	c.port = redis_port("main");
	c.key = strdup("t:pipe");
	c.timeout_ms = 5000;
	snprintf(c.label, sizeof(c.label), "127.0.0.1:%d", c.port);
	r = connect_ready(&c);
	for (int i = 0; i < 500; i++)
		post(r, "t 127.0.0.1:1 x", i);
	ck_assert_int_eq(chat_redis_inflight(r), 500);
	want = 500;
	ck_assert(run_until(have_all, 10000));
	for (int i = 0; i < 500; i++) {
		ck_assert_str_eq(got.err[i], "");
		ck_assert_int_eq(got.arg[i], i);
		ck_assert_int_eq(got.seq[i], i + 1);
	}
	ck_assert_int_eq(chat_redis_inflight(r), 0);
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* Two connections (two workers, or two hosts) share one sequence. */
START_TEST(two_connections_one_sequence)
{
	struct chat_redis_conf c;
	struct chat_redis *a, *b;
	int seen[201] = { 0 };

	conf_for(&c, "main", "t:two");
	a = connect_ready(&c);
	b = connect_ready(&c);
	for (int i = 0; i < 100; i++) {
		post(a, "t 127.0.0.1:1 from a", i);
		post(b, "t 127.0.0.1:2 from b", 1000 + i);
	}
	want = 200;
	ck_assert(run_until(have_all, 10000));
	for (int i = 0; i < 200; i++) {
		ck_assert_str_eq(got.err[i], "");
		ck_assert(got.seq[i] >= 1 && got.seq[i] <= 200);
		ck_assert_int_eq(seen[got.seq[i]]++, 0);
	}
	chat_redis_free(a);
	chat_redis_free(b);
	chat_redis_conf_free(&c);
}
END_TEST

static void
history(struct chat_redis *r, size_t count, size_t max_reply)
{
	const char *why = NULL;

	got.history_done = 0;
	ck_assert_msg(chat_redis_history(r, count, max_reply, on_history,
	    NULL, &why) == 0, "%s", why);
	ck_assert(run_until(history_in, 5000));
	ck_assert_str_eq(got.history_err, "");
	got.text[got.textlen] = '\0';
}

/* Newest last, whole oldest lines dropped to fit, as the file store. */
START_TEST(history_like_the_file)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	conf_for(&c, "main", "t:history");
	r = connect_ready(&c);
	history(r, 10, 1200);
	ck_assert_str_eq(got.text, "");		/* no stream yet */
	for (int i = 1; i <= 5; i++) {
		char s[32];

		snprintf(s, sizeof(s), "line%d\n", i);
		post(r, s, i);
	}
	want = 5;
	ck_assert(run_until(have_all, 5000));
	history(r, 3, 1200);
	ck_assert_str_eq(got.text, "3 line3\n4 line4\n5 line5\n");
	history(r, 10, 1200);
	ck_assert_str_eq(got.text,
	    "1 line1\n2 line2\n3 line3\n4 line4\n5 line5\n");
	/* These lines are shorter than any real one (33 bytes at least):
	 * Redis is asked for max_reply / 33 entries, at least one. */
	history(r, 5, 66);		/* two asked, two fit */
	ck_assert_str_eq(got.text, "4 line4\n5 line5\n");
	history(r, 5, 17);		/* one asked */
	ck_assert_str_eq(got.text, "5 line5\n");
	history(r, 1, 7);		/* the newest does not fit: nothing */
	ck_assert_str_eq(got.text, "");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* After SCRIPT FLUSH (or a Redis restart) the script is sent again. */
START_TEST(script_flushed)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	conf_for(&c, "main", "t:flush");
	r = connect_ready(&c);
	post_wait(r, 1);
	cli("main", NULL, "SCRIPT FLUSH");
	post_wait(r, 10);
	for (int i = 0; i < 11; i++) {
		ck_assert_str_eq(got.err[i], "");
		ck_assert_int_eq(got.seq[i], i + 1);
	}
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* A lost counter goes on from the stream; a wrong type writes nothing. */
START_TEST(counter_lost_or_wrong)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	char out[8192];

	conf_for(&c, "main", "t:lost");
	r = connect_ready(&c);
	post_wait(r, 3);
	cli("main", NULL, "DEL {t:lost}:seq");
	post_wait(r, 1);
	ck_assert_int_eq(got.seq[3], 4);
	chat_redis_free(r);
	chat_redis_conf_free(&c);

	cli("main", NULL, "SET {t:string} notastream");
	conf_for(&c, "main", "t:string");
	r = connect_ready(&c);
	post_wait(r, 1);
	ck_assert_int_eq(got.seq[4], 0);
	ck_assert_int_eq(got.outcome[4], CHAT_NOT_STORED);
	ck_assert_str_eq(got.err[4], "refused by the store: WRONGTYPE");
	cli("main", out, "EXISTS {t:string}:seq");
	ck_assert_str_eq(out, "0");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* Stopped: refused at once; restarted: acks again, no gap, no loss. */
START_TEST(restart)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	const char *why = NULL;
	char out[8192];

	redis_up("restart", NULL);
	conf_for(&c, "restart", "t:restart");
	r = connect_ready(&c);
	post_wait(r, 2);
	ck_assert_int_eq(redis_sh("stop", "restart", NULL), 0);
	ck_assert(run_until(not_ready, 5000));
	ck_assert_int_eq(chat_redis_append(r, "x", 1, on_append, NULL, &why),
	    -1);
	ck_assert_str_eq(why, "no connection to the store");
	ck_assert_int_eq(redis_sh("restart", "restart", NULL), 0);
	ck_assert_msg(run_until(is_ready, 10000), "no reconnection");
	post_wait(r, 1);
	ck_assert_str_eq(got.err[2], "");
	ck_assert_int_eq(got.seq[2], 3);
	cli("restart", out, "XLEN {t:restart}");
	ck_assert_str_eq(out, "3");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
	redis_sh("stop", "restart", NULL);
}
END_TEST

/* No answer within timeout_ms: an error, then a new session. */
START_TEST(deadline)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	char out[8192];

	conf_for(&c, "main", "t:deadline");
	c.timeout_ms = 200;
	r = connect_ready(&c);
	post_wait(r, 1);
	cli("main", NULL, "CLIENT PAUSE 10000 WRITE");
	post_wait(r, 1);
	ck_assert_int_eq(got.seq[1], 0);
	ck_assert_int_eq(got.outcome[1], CHAT_UNKNOWN);
	ck_assert_str_eq(got.err[1], "no answer from the store in time");
	cli("main", NULL, "CLIENT UNPAUSE");
	ck_assert(run_until(is_ready, 10000));
	post_wait(r, 1);
	ck_assert_str_eq(got.err[2], "");
	ck_assert_int_ge(got.seq[2], 2);
	/* whatever became of the unanswered one, the stream has no gap */
	cli("main", out, "XLEN {t:deadline}");
	ck_assert_int_eq(atoi(out), (int)got.seq[2]);
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* AUTH with a password, with an ACL user; a wrong one never gets in. */
START_TEST(auth)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	const char *why = NULL;

	redis_up("auth", "--requirepass sekret");
	conf_for(&c, "auth", "t:auth");
	c.password = strdup("sekret");
	r = connect_ready(&c);
	post_wait(r, 1);
	ck_assert_int_eq(got.seq[0], 1);
	chat_redis_free(r);

	cli("auth", NULL, "-a sekret --no-auth-warning ACL SETUSER alice on "
	    "'>pw2' '~{t:*' '~t:*' +@all");
	c.user = strdup("alice");
	free(c.password);
	c.password = strdup("pw2");
	r = connect_ready(&c);
	post_wait(r, 1);
	ck_assert_int_eq(got.seq[1], 2);
	chat_redis_free(r);

	free(c.password);
	c.password = strdup("wrong");
	cur = r = chat_redis_new(base, &c, "chat", NULL);
	ck_assert(!run_until(is_ready, 500));
	ck_assert_int_eq(chat_redis_append(r, "x", 1, on_append, NULL, &why),
	    -1);
	chat_redis_free(r);
	chat_redis_conf_free(&c);
	redis_sh("stop", "auth", NULL);
}
END_TEST

/* Polls "INCR; WAIT 1 100" on NAME until a replica took the write. */
static int
replica_acks(const char *name)
{
	char cmd[256], out[64];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "printf 'INCR t:probe\\nWAIT 1 100\\n' | "
	    "redis-cli -s %s/%s/redis.sock", top, name);
	for (int i = 0; i < 100; i++) {
		ck_assert_ptr_nonnull(p = popen(cmd, "r"));
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		pclose(p);
		if (n >= 2 && strcmp(out + n - 2, "1\n") == 0 &&
		    strchr(out, '\n') < out + n - 2)
			return 1;
	}
	return 0;
}

/* wait_replicas: no replica, an error; with one, acks it has. */
START_TEST(wait_replicas)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	char opts[64], out[8192];

	redis_up("primary", "--repl-diskless-sync-delay 0");
	conf_for(&c, "primary", "t:wait");
	c.wait_replicas = 1;
	c.timeout_ms = 400;
	r = connect_ready(&c);
	post_wait(r, 1);
	ck_assert_int_eq(got.seq[0], 0);
	ck_assert_int_eq(got.outcome[0], CHAT_UNKNOWN);
	ck_assert_str_eq(got.err[0], "stored on the primary, on 0 of 1 "
	    "replica(s)");
	ck_assert(chat_redis_ready(r));		/* the session stays */

	snprintf(opts, sizeof(opts), "--replicaof 127.0.0.1 %d --appendonly no",
	    redis_port("primary"));
	redis_up("replica", opts);
	/* polled: the replica takes writes (a write then WAIT on one
	 * connection answers 1) */
	ck_assert_msg(replica_acks("primary"), "the replica never acked");
	post_wait(r, 20);
	for (int i = 1; i <= 20; i++) {
		ck_assert_msg(got.err[i][0] == '\0', "%d: %s", i, got.err[i]);
		ck_assert_int_eq(got.seq[i], i + 1);
	}
	cli("replica", out, "XLEN {t:wait}");
	ck_assert_str_eq(out, "21");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
	redis_sh("stop", "replica", NULL);
	redis_sh("stop", "primary", NULL);
}
END_TEST

/* free() answers every request in flight: sent, so the outcome is
 * unknown (Redis may have run them). */
START_TEST(free_fails_inflight)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	conf_for(&c, "main", "t:free");
	r = connect_ready(&c);
	for (int i = 0; i < 20; i++)
		post(r, "x", i);
	chat_redis_free(r);
	ck_assert_int_eq(got.n, 20);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(got.seq[i], 0);
		ck_assert_int_eq(got.outcome[i], CHAT_UNKNOWN);
		ck_assert_str_eq(got.err[i], "udpd stopped the store before "
		    "it answered");
	}
	chat_redis_conf_free(&c);
}
END_TEST

/* No Redis at all: start anyway, refuse at once, never hang. */
START_TEST(no_server)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	const char *why = NULL;

	conf_for(&c, "nothing-here", "t:none");
	cur = r = chat_redis_new(base, &c, "chat", NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert(!run_until(is_ready, 300));
	ck_assert_int_eq(chat_redis_append(r, "x", 1, on_append, NULL, &why),
	    -1);
	ck_assert_str_eq(why, "no connection to the store");
	ck_assert_int_eq(chat_redis_history(r, 1, 100, on_history, NULL,
	    &why), -1);
	chat_redis_free(r);
	ck_assert_int_eq(got.n, 0);
	chat_redis_conf_free(&c);
}
END_TEST

/* Posts suffix and waits for its answer; the index of the answer. */
static int
post_one(struct chat_redis *r, const char *suffix)
{
	int i = got.n;

	post(r, suffix, i);
	want = i + 1;
	ck_assert_msg(run_until(have_all, 5000), "no answer");
	return i;
}

/*
 * The retry window: the same text from the same source within it is the
 * same message (the first's seq, written once); another source, another
 * text, or the window off: a new message.
 */
START_TEST(retry_window)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	char out[8192];
	int i;

	conf_for(&c, "main", "t:retry");
	c.retry_window_ms = 10000;
	r = connect_ready(&c);
	i = post_one(r, "2026-11-22T00:00:01.000Z 127.0.0.1:5000 hello");
	ck_assert_int_eq(got.seq[i], 1);
	/* a retry: another timestamp, same source and text */
	i = post_one(r, "2026-11-22T00:00:02.000Z 127.0.0.1:5000 hello");
	ck_assert_int_eq(got.outcome[i], CHAT_STORED);
	ck_assert_int_eq(got.seq[i], 1);
	i = post_one(r, "2026-11-22T00:00:02.000Z 127.0.0.1:5001 hello");
	ck_assert_int_eq(got.seq[i], 2);
	i = post_one(r, "2026-11-22T00:00:02.000Z 127.0.0.1:5000 hello!");
	ck_assert_int_eq(got.seq[i], 3);
	i = post_one(r, "2026-11-22T00:00:02.000Z [::1]:5000 hello");
	ck_assert_int_eq(got.seq[i], 4);
	cli("main", out, "XLEN {t:retry}");
	ck_assert_str_eq(out, "4");
	/* the key: under the room's hash tag, expiring with the window */
	cli("main", out, "PTTL \"{t:retry}:r:127.0.0.1:5000 hello\"");
	ck_assert_msg(atoi(out) > 0 && atoi(out) <= 10000, "%s", out);
	/* expired: a new message */
	cli("main", NULL, "DEL \"{t:retry}:r:127.0.0.1:5000 hello\"");
	i = post_one(r, "2026-11-22T00:00:03.000Z 127.0.0.1:5000 hello");
	ck_assert_int_eq(got.seq[i], 5);
	chat_redis_free(r);

	/* window 0: every post is new, no retry key is written */
	c.retry_window_ms = 0;
	r = connect_ready(&c);
	i = post_one(r, "2026-11-22T00:00:04.000Z 127.0.0.1:6000 same");
	ck_assert_int_eq(got.seq[i], 6);
	i = post_one(r, "2026-11-22T00:00:04.000Z 127.0.0.1:6000 same");
	ck_assert_int_eq(got.seq[i], 7);
	cli("main", out, "EXISTS \"{t:retry}:r:127.0.0.1:6000 same\"");
	ck_assert_str_eq(out, "0");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/*
 * A retry after "outcome unknown" on another connection (another host):
 * it learns the first's seq; a first that was never stored is stored now.
 */
START_TEST(retry_across_connections)
{
	struct chat_redis_conf c;
	struct chat_redis *a, *b;
	int i;

	conf_for(&c, "main", "t:retry2");
	c.retry_window_ms = 10000;
	a = connect_ready(&c);
	b = connect_ready(&c);
	i = post_one(a, "2026-11-22T00:00:01.000Z 10.0.0.1:7 m");
	ck_assert_int_eq(got.seq[i], 1);
	i = post_one(b, "2026-11-22T00:00:01.500Z 10.0.0.1:7 m");
	ck_assert_int_eq(got.seq[i], 1);
	i = post_one(b, "2026-11-22T00:00:01.500Z 10.0.0.1:7 never-sent");
	ck_assert_int_eq(got.seq[i], 2);
	chat_redis_free(a);
	chat_redis_free(b);
	chat_redis_conf_free(&c);
}
END_TEST

/*
 * The sequence never goes back: the larger of the counter and the
 * stream's last seq; a seq at or below one udpd acknowledged is refused
 * before anything is written.
 */
START_TEST(sequence_never_goes_back)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	char out[8192];
	int i;

	conf_for(&c, "main", "t:back");
	r = connect_ready(&c);
	post_wait(r, 3);
	cli("main", NULL, "SET {t:back}:seq 1");		/* set back */
	i = post_one(r, "t 1.2.3.4:5 after-set");
	ck_assert_int_eq(got.seq[i], 4);
	cli("main", NULL, "DEL {t:back} {t:back}:seq");	/* flushed */
	i = post_one(r, "t 1.2.3.4:5 after-del");
	ck_assert_int_eq(got.outcome[i], CHAT_NOT_STORED);
	ck_assert_str_eq(got.err[i], "the store's sequence went back");
	i = post_one(r, "t 1.2.3.4:5 again");
	ck_assert_int_eq(got.outcome[i], CHAT_NOT_STORED);
	cli("main", out, "EXISTS {t:back}");
	ck_assert_str_eq(out, "0");			/* nothing written */
	ck_assert_int_eq(r->health->seq_behind, 2);
	/* the operator sets the counter above what was acknowledged */
	cli("main", NULL, "SET {t:back}:seq 100");
	i = post_one(r, "t 1.2.3.4:5 resumed");
	ck_assert_int_eq(got.seq[i], 101);
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/*
 * Within one session the seqs Redis gives only go up: stored but never
 * acknowledged (WAIT fell short) and then the room flushed, the next seq
 * is below one this connection was given: "outcome unknown" (it is in
 * the stream), flagged; a new session starts afresh.
 */
START_TEST(sequence_back_in_session)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	int i;

	conf_for(&c, "main", "t:session");
	c.wait_replicas = 1;
	c.timeout_ms = 400;
	r = connect_ready(&c);
	i = post_one(r, "t 1.2.3.4:5 a");
	ck_assert_int_eq(got.outcome[i], CHAT_UNKNOWN);	/* no replica */
	i = post_one(r, "t 1.2.3.4:5 b");
	ck_assert_int_eq(got.outcome[i], CHAT_UNKNOWN);
	cli("main", NULL, "DEL {t:session} {t:session}:seq");
	i = post_one(r, "t 1.2.3.4:5 c");
	ck_assert_int_eq(got.outcome[i], CHAT_UNKNOWN);
	ck_assert_str_eq(got.err[i], "the store's sequence went back");
	ck_assert_int_eq(r->health->seq_behind, 1);
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* A room under the old key names moves to the hash-tagged ones, once. */
START_TEST(old_keys_migrate)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	char out[8192];
	int i;

	cli("main", NULL, "XADD t:old '*' seq 1 line \"1 old line\"");
	cli("main", NULL, "XADD t:old '*' seq 2 line \"2 old line\"");
	cli("main", NULL, "SET t:old:seq 2");
	conf_for(&c, "main", "t:old");
	r = connect_ready(&c);
	i = post_one(r, "t 1.2.3.4:5 new");
	ck_assert_int_eq(got.seq[i], 3);
	cli("main", out, "EXISTS t:old t:old:seq");
	ck_assert_str_eq(out, "0");
	cli("main", out, "XLEN {t:old}");
	ck_assert_str_eq(out, "3");
	chat_redis_free(r);
	/* the old names again (an old udpd still running): left alone */
	cli("main", NULL, "XADD t:old '*' seq 1 line \"1 stray\"");
	r = connect_ready(&c);
	i = post_one(r, "t 1.2.3.4:5 newer");
	ck_assert_int_eq(got.seq[i], 4);
	cli("main", out, "XLEN t:old");
	ck_assert_str_eq(out, "1");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* ---- a fake Redis: hostile replies ---------------------------------- */

enum fake_mode { FK_TWICE, FK_UNSOLICITED, FK_NIL, FK_STATUS, FK_ARRAY,
	FK_NESTED, FK_HUGE, FK_DRIP, FK_CLOSE, FK_NOSCRIPT, FK_OOM };

static pid_t fake_pid;
static char fake_sock[128], fake_log[128];

/* One RESP command: its first two arguments and its last (cut), -1 at
 * EOF. */
static int
fake_read_cmd(FILE *in, char *name, char *arg1, char *last, size_t cap)
{
	char line[64];
	long n, len;

	if (fgets(line, sizeof(line), in) == NULL || line[0] != '*')
		return -1;
	n = strtol(line + 1, NULL, 10);
	name[0] = arg1[0] = '\0';
	for (long i = 0; i < n; i++) {
		char *buf;

		if (fgets(line, sizeof(line), in) == NULL || line[0] != '$')
			return -1;
		len = strtol(line + 1, NULL, 10);
		if ((buf = malloc((size_t)len + 2)) == NULL ||
		    fread(buf, 1, (size_t)len + 2, in) != (size_t)len + 2) {
			free(buf);
			return -1;
		}
		if (i < 2)
			snprintf(i == 0 ? name : arg1, cap, "%.*s", (int)len,
			    buf);
		if (i == n - 1)
			snprintf(last, cap, "%.*s", (int)len, buf);
		free(buf);
	}
	return 0;
}

static void
fake_put(int fd, const char *s)
{
	size_t n = strlen(s);

	if (write(fd, s, n) != (ssize_t)n)
		_exit(0);
}

/* What the fake answers to the append script. */
static void
fake_answer(int fd, enum fake_mode mode)
{
	static char big[1 << 16];

	switch (mode) {
	case FK_TWICE:		fake_put(fd, ":1\r\n+x\r\n"); break;
	case FK_UNSOLICITED:	break;
	case FK_NIL:		fake_put(fd, "$-1\r\n"); break;
	case FK_STATUS:		fake_put(fd, "+OK\r\n"); break;
	case FK_ARRAY:		fake_put(fd, "*2\r\n:1\r\n:7\r\n"); break;
	case FK_NESTED:
		for (int i = 0; i < 20; i++)
			fake_put(fd, "*1\r\n");
		fake_put(fd, ":1\r\n");
		break;
	case FK_HUGE:
		fake_put(fd, "$2000000000\r\n");
		memset(big, 'x', sizeof(big));
		for (int i = 0; i < 2048; i++)	/* 128 MiB at most */
			if (write(fd, big, sizeof(big)) <= 0)
				break;
		break;
	case FK_DRIP:
		for (const char *p = ":1\r\n"; *p != '\0'; p++) {
			struct timespec ts = { 0, 30000000 };

			if (write(fd, p, 1) != 1)
				_exit(0);
			nanosleep(&ts, NULL);
		}
		break;
	case FK_CLOSE:		_exit(0);
	case FK_NOSCRIPT:
		fake_put(fd, "-NOSCRIPT No matching script.\r\n");
		break;
	case FK_OOM:
		fake_put(fd, "-OOM command not allowed when used memory > "
		    "'maxmemory'.\r\n");
		break;
	}
}

/* The child: each connection in turn, each command logged by name. */
static void
fake_serve(int lfd, enum fake_mode mode)
{
	char name[32], arg1[32], last[32];
	FILE *log = fopen(fake_log, "a");
	int fd;

	signal(SIGPIPE, SIG_IGN);
	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		FILE *in = fdopen(fd, "r");

		while (in != NULL && fake_read_cmd(in, name, arg1, last,
		    sizeof(name)) == 0) {
			fprintf(log, "%s\n", name);
			if (strcmp(name, "XREVRANGE") == 0)
				fprintf(log, "COUNT %s\n", last);
			fflush(log);
			if (strcmp(name, "XREVRANGE") == 0)
				fake_put(fd, "*0\r\n");
			else if (strcmp(name, "SCRIPT") == 0) {
				fake_put(fd, "$40\r\n"
				    "0123456789012345678901234567890123456789"
				    "\r\n");
				if (mode == FK_UNSOLICITED)
					fake_put(fd, "+x\r\n");
			} else if (strcmp(name, "EVAL") == 0 &&
			    strstr(arg1, "EXISTS") != NULL)
				fake_put(fd, ":0\r\n");	/* the migration */
			else
				fake_answer(fd, mode);
		}
		if (in != NULL)
			fclose(in);
	}
	_exit(0);
}

/* A fake Redis on top/fake.sock that answers the append with mode. */
static void
fake_start(enum fake_mode mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd;

	snprintf(fake_sock, sizeof(fake_sock), "%s/fake.sock", top);
	snprintf(fake_log, sizeof(fake_log), "%s/fake.log", top);
	unlink(fake_sock);
	unlink(fake_log);
	ck_assert_uint_lt(strlen(fake_sock), sizeof(sun.sun_path));
	memcpy(sun.sun_path, fake_sock, strlen(fake_sock) + 1);
	ck_assert_int_ne(lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_ne(fake_pid = fork(), -1);
	if (fake_pid == 0)
		fake_serve(lfd, mode);
	close(lfd);
}

static void
fake_stop(void)
{
	kill(fake_pid, SIGKILL);
	waitpid(fake_pid, NULL, 0);
}

/* Commands named name the fake received. */
static int
fake_count(const char *name)
{
	char line[64];
	int n = 0;
	FILE *f = fopen(fake_log, "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, strlen(name)) == 0 &&
		    line[strlen(name)] == '\n')
			n++;
	if (f != NULL)
		fclose(f);
	return n;
}

/* A conf for the fake. */
static void
conf_fake(struct chat_redis_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->unix_path = strdup(fake_sock);
	c->key = strdup("t:fake");
	c->timeout_ms = 1000;
	snprintf(c->label, sizeof(c->label), "unix:%s", fake_sock);
}

static struct {
	enum fake_mode	 mode;
	enum chat_outcome outcome;
	const char	*why;
} hostile[] = {
	{ FK_TWICE, CHAT_STORED, NULL },
	{ FK_NIL, CHAT_UNKNOWN, "unexpected reply from the store" },
	{ FK_STATUS, CHAT_UNKNOWN, "unexpected reply from the store" },
	{ FK_ARRAY, CHAT_UNKNOWN, "unexpected reply from the store" },
	{ FK_NESTED, CHAT_UNKNOWN, "connection lost" },
	{ FK_HUGE, CHAT_UNKNOWN, "unexpected reply from the store" },
	{ FK_DRIP, CHAT_STORED, NULL },
	{ FK_CLOSE, CHAT_UNKNOWN, "connection lost" },
	{ FK_NOSCRIPT, CHAT_NOT_STORED, "refused by the store: NOSCRIPT" },
	{ FK_OOM, CHAT_NOT_STORED, "refused by the store: OOM" },
};

/*
 * Whatever a server answers, the process lives: an answer of the wrong
 * shape is an unknown outcome and ends the connection, a reply nobody
 * asked for ends the connection, NOSCRIPT is answered with one EVAL.
 */
START_TEST(hostile_replies)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	fake_start(hostile[_i].mode);
	conf_fake(&c);
	c.timeout_ms = 20000;	/* 64 MiB under a sanitizer take a while */
	r = connect_ready(&c);
	post(r, "t 1.2.3.4:5 x", 0);
	want = 1;
	ck_assert_msg(run_until(have_all, 25000), "no answer");
	ck_assert_int_eq(got.outcome[0], hostile[_i].outcome);
	if (hostile[_i].why != NULL)
		ck_assert_str_eq(got.err[0], hostile[_i].why);
	else
		ck_assert_int_eq(got.seq[0], 1);
	if (hostile[_i].mode == FK_NOSCRIPT) {
		ck_assert_int_eq(fake_count("EVALSHA"), 1);
		ck_assert_int_eq(fake_count("EVAL"), 2);  /* migration + 1 */
	}
	if (hostile[_i].mode == FK_TWICE) {
		/* the extra reply ended that connection: a new one */
		ck_assert(run_until(not_ready, 2000));
		ck_assert(run_until(is_ready, 5000));
	}
	chat_redis_free(r);
	chat_redis_conf_free(&c);
	fake_stop();
}
END_TEST

static int two_handshakes(void) { return fake_count("SCRIPT") >= 2; }

/* /history asks for no more entries than max_reply can hold. */
START_TEST(history_count_bounded)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	fake_start(FK_DRIP);
	conf_fake(&c);
	r = connect_ready(&c);
	history(r, 1000, 1200);		/* 1200 / 33: 36 at most */
	history(r, 5, 1200);
	history(r, 1000, 65507);
	ck_assert_int_eq(fake_count("COUNT 36"), 1);
	ck_assert_int_eq(fake_count("COUNT 5"), 1);
	ck_assert_int_eq(fake_count("COUNT 1000"), 1);
	chat_redis_free(r);
	chat_redis_conf_free(&c);
	fake_stop();
}
END_TEST

/* An entry written by something else: its control bytes come escaped. */
START_TEST(history_escapes_raw_bytes)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	static const char raw[] = "1 a\nb\rc\0d\x1b[2J";
	char path[128];
	FILE *f;

	/* redis-cli -x: the last argument, raw, from stdin */
	snprintf(path, sizeof(path), "%s/raw", top);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fwrite(raw, 1, sizeof(raw) - 1, f), sizeof(raw) - 1);
	fclose(f);
	cli("main", NULL, "-x XADD {t:raw} '*' seq 1 line <%s", path);
	cli("main", NULL, "XADD {t:raw} '*' seq 2 line '2 caf\xc3\xa9 \\x'");
	conf_for(&c, "main", "t:raw");
	r = connect_ready(&c);
	history(r, 10, 1200);
	ck_assert_str_eq(got.text, "1 a\\x0ab\\x0dc\\x00d\\x1b[2J\n"
	    "2 caf\xc3\xa9 \\x\n");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* Past CHAT_REDIS_INFLIGHT_MAX in flight: "busy" at once, nothing sent. */
START_TEST(inflight_busy)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	const char *why = NULL;

	conf_for(&c, "main", "t:busy");
	r = connect_ready(&c);
	for (int i = 0; i < CHAT_REDIS_INFLIGHT_MAX; i++)
		post(r, "t 1.2.3.4:5 x", i);
	ck_assert_int_eq(chat_redis_append(r, "t 1.2.3.4:5 y", 13, on_append,
	    NULL, &why), -1);
	ck_assert_str_eq(why, "busy");
	want = CHAT_REDIS_INFLIGHT_MAX;
	ck_assert(run_until(have_all, 20000));
	chat_redis_free(r);
	chat_redis_conf_free(&c);
}
END_TEST

/* A reply with no request at all (right after the handshake). */
START_TEST(unsolicited_reply)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	fake_start(FK_UNSOLICITED);
	conf_fake(&c);
	cur = r = chat_redis_new(base, &c, "chat", NULL);
	ck_assert_ptr_nonnull(r);
	/* the handshake's reply, then "+x": the connection ends, and the
	 * next one does the handshake again */
	ck_assert_msg(run_until(two_handshakes, 5000), "%d handshake(s)",
	    fake_count("SCRIPT"));
	chat_redis_free(r);
	chat_redis_conf_free(&c);
	fake_stop();
}
END_TEST

/*
 * Stopped with requests pending: those sent may have run (unknown), those
 * never sent (no connection yet) certainly did not.
 */
START_TEST(stop_before_connected)
{
	struct chat_redis_conf c;
	struct chat_redis *r;

	conf_for(&c, "main", "t:unsent");
	r = chat_redis_new(base, &c, "chat", NULL);
	ck_assert_ptr_nonnull(r);
	post(r, "t 1.2.3.4:5 unsent", 0);	/* queued behind the connect */
	chat_redis_free(r);
	ck_assert_int_eq(got.n, 1);
	ck_assert_int_eq(got.outcome[0], CHAT_NOT_STORED);
	ck_assert_str_eq(got.err[0], "no connection to the store");
	chat_redis_conf_free(&c);
}
END_TEST

/*
 * Redis refuses the script's first write (OOM, NOREPLICAS, READONLY):
 * nothing is written, the answer is "not stored", and once appends work
 * again the sequence goes on without a gap.
 */
START_TEST(refused_writes)
{
	struct chat_redis_conf c;
	struct chat_redis *r;
	char out[8192], opts[96];
	int i;

	conf_for(&c, "main", "t:refused");
	c.retry_window_ms = 10000;
	r = connect_ready(&c);
	i = post_one(r, "t 1.2.3.4:5 first");
	ck_assert_int_eq(got.seq[i], 1);
	cli("main", NULL, "CONFIG SET maxmemory 1");
	i = post_one(r, "t 1.2.3.4:5 oom");
	cli("main", NULL, "CONFIG SET maxmemory 0");
	ck_assert_int_eq(got.outcome[i], CHAT_NOT_STORED);
	ck_assert_str_eq(got.err[i], "refused by the store: OOM");
	cli("main", NULL, "CONFIG SET min-replicas-to-write 1");
	i = post_one(r, "t 1.2.3.4:5 noreplicas");
	cli("main", NULL, "CONFIG SET min-replicas-to-write 0");
	ck_assert_int_eq(got.outcome[i], CHAT_NOT_STORED);
	ck_assert_str_eq(got.err[i], "refused by the store: NOREPLICAS");
	cli("main", out, "XLEN {t:refused}");
	ck_assert_str_eq(out, "1");
	cli("main", out, "EXISTS \"{t:refused}:r:1.2.3.4:5 oom\"");
	ck_assert_str_eq(out, "0");
	/* the retry of a refused one is stored now, no gap */
	i = post_one(r, "t 1.2.3.4:5 oom");
	ck_assert_int_eq(got.seq[i], 2);
	chat_redis_free(r);
	chat_redis_conf_free(&c);

	/* a replica: READONLY */
	snprintf(opts, sizeof(opts), "--replicaof 127.0.0.1 %d --appendonly no",
	    redis_port("main"));
	redis_up("ro", opts);
	conf_for(&c, "ro", "t:refused");
	r = connect_ready(&c);
	i = post_one(r, "t 1.2.3.4:5 on-replica");
	ck_assert_int_eq(got.outcome[i], CHAT_NOT_STORED);
	ck_assert_str_eq(got.err[i], "refused by the store: READONLY");
	chat_redis_free(r);
	chat_redis_conf_free(&c);
	redis_sh("stop", "ro", NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chat_redis");
	TCase *tc = tcase_create("redis");

	if (system("command -v redis-server >/dev/null 2>&1 && "
	    "command -v redis-cli >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: redis-server or redis-cli is not "
		    "installed\n");
		return 77;
	}
	log_init(1, LOG_DAEMON);		/* the module's log lines to stderr */
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, servers_start, servers_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, append_writes_the_stream);
	tcase_add_test(tc, append_refuses_non_lines);
	tcase_add_test(tc, pipelined_in_order);
	tcase_add_test(tc, two_connections_one_sequence);
	tcase_add_test(tc, history_like_the_file);
	tcase_add_test(tc, script_flushed);
	tcase_add_test(tc, counter_lost_or_wrong);
	tcase_add_test(tc, restart);
	tcase_add_test(tc, deadline);
	tcase_add_test(tc, auth);
	tcase_add_test(tc, wait_replicas);
	tcase_add_test(tc, free_fails_inflight);
	tcase_add_test(tc, no_server);
	tcase_add_test(tc, retry_window);
	tcase_add_test(tc, retry_across_connections);
	tcase_add_test(tc, sequence_never_goes_back);
	tcase_add_test(tc, old_keys_migrate);
	tcase_add_test(tc, sequence_back_in_session);
	tcase_add_loop_test(tc, hostile_replies, 0,
	    (int)(sizeof(hostile) / sizeof(hostile[0])));
	tcase_add_test(tc, unsolicited_reply);
	tcase_add_test(tc, inflight_busy);
	tcase_add_test(tc, history_count_bounded);
	tcase_add_test(tc, history_escapes_raw_bytes);
	tcase_add_test(tc, stop_before_connected);
	tcase_add_test(tc, refused_writes);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

#else

int
main(void)
{
	fprintf(stderr, "SKIP: built without libhiredis\n");
	return 77;
}

#endif
