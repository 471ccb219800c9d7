/*
 * test_chat_retry.c - the chat file store's workers and retry window: no
 * gaps across threads, a retry answered with its first seq, bounded.
 * Every test works in its own mkdtemp directory.
 */
#include "config.h"

#include "chat_unit.h"

/* ---- threads -------------------------------------------------------- */

#define PER_THREAD	250

struct worker {
	void		*st;
	int		 id;
	int		 failed;
	unsigned char	 seen[THREADS * PER_THREAD + 1];
};

/* Worker w posts msg; its ack's seq, or 0 when it was not "ok <seq>". */
static unsigned long
worker_post(const struct worker *w, const char *msg)
{
	unsigned char buf[128];
	struct udpd_reply rep = { buf, sizeof(buf), 0, 0 };
	struct udpd_request req = {
		.data = (const unsigned char *)msg, .len = strlen(msg),
		.peer = (const struct sockaddr *)&peer4,
		.peerlen = sizeof(peer4), .rx_time = { T_SEC, T_NSEC },
		.worker = w->id,
	};
	unsigned long seq;

	if (module_chat.handle(w->st, &req, &rep) != UDPD_REPLY ||
	    rep.len < 5 || rep.len >= sizeof(buf))
		return 0;
	buf[rep.len] = '\0';
	return sscanf((char *)buf, "ok %lu", &seq) == 1 ? seq : 0;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char msg[32];

	for (int i = 0; i < PER_THREAD; i++) {
		unsigned long seq;

		snprintf(msg, sizeof(msg), "t%d-%d", w->id, i);
		seq = worker_post(w, msg);
		if (seq == 0 || seq > THREADS * PER_THREAD)
			w->failed++;
		else
			w->seen[seq] = 1;
	}
	return NULL;
}

START_TEST(threads_no_gaps)
{
	static struct worker w[THREADS];
	pthread_t t[THREADS];
	char *log, *p;
	long expect = 1;
	void *st = chat_new("log_file = \"chat.log\";");

	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = st;
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int s = 1; s <= THREADS * PER_THREAD; s++) {
		int owners = 0;

		for (int i = 0; i < THREADS; i++)
			owners += w[i].seen[s];
		ck_assert_msg(owners == 1, "seq %d acked %d times", s, owners);
	}
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(w[i].failed, 0);
	module_chat.destroy(st);
	/* the file: seqs 1..N in order, one per line */
	log = slurp(logpath, NULL);
	for (p = log; *p != '\0'; p = strchr(p, '\n') + 1)
		ck_assert_int_eq(strtol(p, NULL, 10), expect++);
	ck_assert_int_eq(expect, THREADS * PER_THREAD + 1);
	free(log);
}
END_TEST

/* ---- the retry window ----------------------------------------------- */

/* A post of text from peer, received sec seconds after T_SEC (+ ms). */
static enum udpd_verdict
post_at(void *st, const char *text, const void *peer, int sec, int ms)
{
	const struct sockaddr *sa = peer;
	struct udpd_request req = {
		.data = (const unsigned char *)text, .len = strlen(text),
		.peer = sa, .peerlen = sa->sa_family == AF_INET6 ?
		    sizeof(peer6) : sizeof(peer4),
		.rx_time = { T_SEC + sec, ms * 1000000L },
	};
	struct udpd_reply rep = { rbuf, sizeof(rbuf), 0, 0 };
	enum udpd_verdict v = module_chat.handle(st, &req, &rep);

	rlen = rep.len;
	return v;
}

/* How many lines of the log hold text (at their end). */
static int
log_has(const char *text)
{
	char *log = slurp(logpath, NULL), *p, want[256];
	int n = 0;

	ck_assert_ptr_nonnull(log);
	snprintf(want, sizeof(want), " %s\n", text);
	for (p = log; (p = strstr(p, want)) != NULL; p++)
		n++;
	free(log);
	return n;
}

/* The same text from the same address and port within the window is the
 * same message; anything else is a new one. */
START_TEST(retry_same_seq)
{
	struct sockaddr_in other = peer4;
	void *st = chat_new("log_file = \"chat.log\";");

	other.sin_port = htons(5001);
	ck_reply(post_at(st, "hello", &peer4, 0, 0), UDPD_REPLY, "ok 1\n");
	ck_reply(post_at(st, "hello", &peer4, 0, 500), UDPD_REPLY, "ok 1\n");
	ck_reply(post_at(st, "hello", &peer4, 9, 999), UDPD_REPLY, "ok 1\n");
	ck_reply(post_at(st, "hello", &other, 1, 0), UDPD_REPLY, "ok 2\n");
	ck_reply(post_at(st, "hello!", &peer4, 1, 0), UDPD_REPLY, "ok 3\n");
	ck_reply(post_at(st, "hello", &peer6, 1, 0), UDPD_REPLY, "ok 4\n");
	ck_reply(post_at(st, "hello", &peer6, 2, 0), UDPD_REPLY, "ok 4\n");
	/* past the window (10 s): a new message */
	ck_reply(post_at(st, "hello", &peer4, 10, 1), UDPD_REPLY, "ok 5\n");
	ck_reply(post_at(st, "hello", &peer4, 11, 0), UDPD_REPLY, "ok 5\n");
	ck_assert_int_eq(log_has("hello"), 4);
	module_chat.destroy(st);
	/* retry_window_ms = 0: every post is new */
	st = chat_new("log_file = \"chat.log\"; retry_window_ms = 0;");
	ck_reply(post_at(st, "hi", &peer4, 0, 0), UDPD_REPLY, "ok 6\n");
	ck_reply(post_at(st, "hi", &peer4, 0, 0), UDPD_REPLY, "ok 7\n");
	module_chat.destroy(st);
	/* a short window */
	st = chat_new("log_file = \"chat.log\"; retry_window_ms = 100;");
	ck_reply(post_at(st, "yo", &peer4, 0, 0), UDPD_REPLY, "ok 8\n");
	ck_reply(post_at(st, "yo", &peer4, 0, 100), UDPD_REPLY, "ok 8\n");
	ck_reply(post_at(st, "yo", &peer4, 0, 101), UDPD_REPLY, "ok 9\n");
	module_chat.destroy(st);
}
END_TEST

/*
 * kill -9 and a restart (the old instance never stopped), a stop and a
 * start, a rotation: a retry still gets the first seq; the window is
 * rebuilt from the log's last lines, as far back as the window goes.
 */
START_TEST(retry_after_restart)
{
	void *st = chat_new("log_file = \"chat.log\";"), *st2;
	time_t now = time(NULL);

	/* Lines stamped now: the rebuild reads the window back from now. */
	ck_reply(post_at(st, "old", &peer4, (int)(now - T_SEC - 30), 0),
	    UDPD_REPLY, "ok 1\n");
	ck_reply(post_at(st, "a", &peer4, (int)(now - T_SEC), 0), UDPD_REPLY,
	    "ok 2\n");
	ck_reply(post_at(st, "b", &peer6, (int)(now - T_SEC), 0), UDPD_REPLY,
	    "ok 3\n");
	st2 = chat_new("log_file = \"chat.log\";");	/* st was "killed" */
	ck_reply(post_at(st2, "a", &peer4, (int)(now - T_SEC + 1), 0),
	    UDPD_REPLY, "ok 2\n");
	ck_reply(post_at(st2, "b", &peer6, (int)(now - T_SEC + 1), 0),
	    UDPD_REPLY, "ok 3\n");
	ck_reply(post_at(st2, "old", &peer4, (int)(now - T_SEC - 29), 0),
	    UDPD_REPLY, "ok 4\n");		/* older than the rebuild */
	module_chat.destroy(st2);
	module_chat.destroy(st);
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(post_at(st, "a", &peer4, (int)(now - T_SEC + 2), 0),
	    UDPD_REPLY, "ok 2\n");
	/* a rotation: the old file's entries are trusted by their hash */
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.1")), 0);
	module_chat.reopen(st);
	ck_reply(post_at(st, "b", &peer6, (int)(now - T_SEC + 2), 0),
	    UDPD_REPLY, "ok 3\n");
	ck_reply(post_at(st, "c", &peer6, (int)(now - T_SEC + 2), 0),
	    UDPD_REPLY, "ok 5\n");
	module_chat.destroy(st);
	ck_assert_int_eq(log_has("a"), 0);	/* the new file */
	ck_assert_int_eq(log_has("c"), 1);
	/* off: nothing is rebuilt, nothing recognised */
	st = chat_new("log_file = \"chat.log\"; retry_window_ms = 0;");
	ck_reply(post_at(st, "c", &peer6, (int)(now - T_SEC + 2), 0),
	    UDPD_REPLY, "ok 6\n");
	module_chat.destroy(st);
}
END_TEST

/* A first try that was not stored leaves nothing to recognise: its retry
 * is stored now. */
START_TEST(retry_first_not_stored)
{
	void *st;

	relink("real.log");
	st = chat_new("log_file = \"chat.log\";");
	relink("/dev/full");
	module_chat.reopen(st);
	ck_assert_int_eq(post_at(st, "x", &peer4, 0, 0), UDPD_REPLY_ERROR);
	ck_assert(memcmp(rbuf, "error: not stored: ", 19) == 0);
	relink("real.log");
	module_chat.reopen(st);
	ck_reply(post_at(st, "x", &peer4, 1, 0), UDPD_REPLY, "ok 1\n");
	ck_reply(post_at(st, "x", &peer4, 2, 0), UDPD_REPLY, "ok 1\n");
	module_chat.destroy(st);
	ck_file(in_dir("real.log"), "1 2026-11-22T00:00:02.000Z " P4 " x\n");
}
END_TEST

/* A line that is not what the window's hash says (a collision, here a
 * line rewritten behind udpd's back) is not taken for the first try. */
START_TEST(retry_checks_the_line)
{
	void *st = chat_new("log_file = \"chat.log\";");
	int fd;

	ck_reply(post_at(st, "abc", &peer4, 0, 0), UDPD_REPLY, "ok 1\n");
	fd = open(logpath, O_WRONLY);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(pwrite(fd, "x", 1, 42), 1);	/* "abc" -> "xbc" */
	close(fd);
	ck_assert_int_eq(log_has("xbc"), 1);
	ck_reply(post_at(st, "abc", &peer4, 1, 0), UDPD_REPLY, "ok 2\n");
	ck_reply(post_at(st, "abc", &peer4, 1, 0), UDPD_REPLY, "ok 2\n");
	module_chat.destroy(st);
}
END_TEST

/* One batch: texts[i] from peer4 through handle() and batch_end(). */
static void
batch_texts(void *st, const char *const *texts, int n, const char **want)
{
	struct udpd_reply reps[4];
	enum udpd_verdict v[4];
	unsigned char b[4][128];

	for (int i = 0; i < n; i++) {
		struct udpd_request req = {
			.data = (const unsigned char *)texts[i],
			.len = strlen(texts[i]),
			.peer = (const struct sockaddr *)&peer4,
			.peerlen = sizeof(peer4), .rx_time = { T_SEC, 0 },
		};
		reps[i] = (struct udpd_reply){ b[i], sizeof(b[i]), 0, 0 };
		v[i] = module_chat.handle(st, &req, &reps[i]);
	}
	module_chat.batch_end(st, reps, v, (size_t)n);
	for (int i = 0; i < n; i++)
		ck_buf(&reps[i], want[i]);
}

/*
 * fsync = true: a repeat is confirmed by the same fdatasync as its first
 * try (in the same batch or a later one), and a first try left in doubt
 * by a failed fdatasync leaves its repeat in doubt too, never stored
 * twice.
 */
START_TEST(retry_fsync)
{
	static const char *const two[] = { "p", "p" };
	static const char *const one[] = { "p" };
	const char *ok1[] = { "ok 1\n", "ok 1\n" };
	char unknown[128];
	const char *doubt[] = { unknown };
	void *st = chat_new("log_file = \"chat.log\"; fsync = true;");

	batch_texts(st, two, 2, ok1);
	batch_texts(st, one, 1, ok1);
	module_chat.destroy(st);
	capture_log();
	st = chat_new("log_file = \"chat.log\"; fsync = true;");
	fail_fdatasync = 1;
	snprintf(unknown, sizeof(unknown), "error: outcome unknown: fsync "
	    "failed: %s\n", strerror(EIO));
	{
		static const char *const q[] = { "q" };

		batch_texts(st, q, 1, doubt);
		fail_fdatasync = 0;
		batch_texts(st, q, 1, doubt);
	}
	ck_assert_int_eq(log_has("q"), 1);
	module_chat.destroy(st);
	fflush(stderr);
	dup2(saved_stderr, 2);
}
END_TEST

/*
 * Every way an append ends on a disk that fails, with the answer that
 * says what happened: a write that fails (nothing written, or cut short
 * and cut back) is "not stored" and the log is unchanged; a failed
 * fdatasync, of the batch or of the old file at a rotation, is "outcome
 * unknown" (the line is in the file, maybe not on disk).
 */
START_TEST(answers_per_path)
{
	static const char *const one[] = { "w" };
	char want[128];
	const char *wants[] = { want };
	void *st;

	capture_log();
	st = chat_new("log_file = \"chat.log\"; fsync = true;");
	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	fail_writev = 1;
	snprintf(want, sizeof(want), "error: not stored: write failed: %s\n",
	    strerror(EIO));
	ck_reply(send_str(st, "b"), UDPD_REPLY_ERROR, want);
	fail_writev = 2;
	ck_reply(send_str(st, "c"), UDPD_REPLY_ERROR, want);
	ck_file(logpath, "1 " STAMP " " P4 " a\n");
	fail_writev = 0;
	ck_reply(send_str(st, "d"), UDPD_REPLY, "ok 2\n");
	/* the batch's fdatasync */
	fail_fdatasync = 1;
	snprintf(want, sizeof(want), "error: outcome unknown: fsync failed: "
	    "%s\n", strerror(EIO));
	batch_texts(st, one, 1, wants);
	fail_fdatasync = 0;
	/* the old file's at a rotation: what it held is in doubt */
	ck_reply(send_str(st, "x"), UDPD_REPLY, "ok 4\n");
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.1")), 0);
	fail_fdatasync = 1;
	module_chat.reopen(st);
	fail_fdatasync = 0;
	{
		struct udpd_reply rep;
		enum udpd_verdict v = UDPD_REPLY;
		unsigned char b[128];

		set_reply(&rep, b, sizeof(b), "ok 4\n", 4);
		module_chat.batch_end(st, &rep, &v, 1);
		ck_buf(&rep, want);
	}
	ck_assert_int_eq(log_count("cannot append"), 1);
	module_chat.destroy(st);
	fflush(stderr);
	dup2(saved_stderr, 2);
}
END_TEST

/* syslog = true logs a message once: its retry is not a new message. */
START_TEST(retry_syslog_once)
{
	void *st;

	capture_log();
	st = chat_new("log_file = \"chat.log\"; syslog = true;");
	ck_reply(post_at(st, "hi there", &peer4, 0, 0), UDPD_REPLY, "ok 1\n");
	ck_reply(post_at(st, "hi there", &peer4, 1, 0), UDPD_REPLY, "ok 1\n");
	ck_reply(post_at(st, "again", &peer4, 1, 0), UDPD_REPLY, "ok 2\n");
	fflush(stderr);
	ck_assert_int_eq(log_count("] 127.0.0.1: hi there"), 1);
	ck_assert_int_eq(log_count("] 127.0.0.1: again"), 1);
	module_chat.destroy(st);
	dup2(saved_stderr, 2);
}
END_TEST

/* The table is bounded: a flood of new messages pushes the oldest out
 * (a retry of it is then stored again), never the memory up. */
START_TEST(retry_table_bounded)
{
	void *st = chat_new("log_file = \"chat.log\";");
	char text[32];
	int n = 4 * CHAT_WINDOW_SIZE;

	for (int i = 1; i <= n; i++) {
		snprintf(text, sizeof(text), "flood %d", i);
		ck_assert_int_eq(post_at(st, text, &peer4, 0, 0), UDPD_REPLY);
	}
	ck_reply(post_at(st, "flood 1", &peer4, 1, 0), UDPD_REPLY,
	    "ok 32769\n");
	snprintf(text, sizeof(text), "flood %d", n);
	ck_reply(post_at(st, text, &peer4, 1, 0), UDPD_REPLY, "ok 32768\n");
	module_chat.destroy(st);
}
END_TEST

#define RETRY_TEXTS	100

static void *
retry_worker(void *arg)
{
	struct worker *w = arg;
	char msg[32];

	for (int i = 0; i < RETRY_TEXTS; i++) {
		unsigned long seq;

		snprintf(msg, sizeof(msg), "same %d", i);
		seq = worker_post(w, msg);
		if (seq == 0 || seq > RETRY_TEXTS)
			w->failed++;
		else
			w->seen[i] = (unsigned char)seq;
	}
	return NULL;
}

/* Workers posting the same texts at once: each text stored once, every
 * worker told its one seq. */
START_TEST(retry_threads)
{
	static struct worker w[THREADS];
	pthread_t t[THREADS];
	void *st = chat_new("log_file = \"chat.log\";");
	char text[32];

	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = st;
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, retry_worker,
		    &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int k = 0; k < RETRY_TEXTS; k++) {
		for (int i = 0; i < THREADS; i++) {
			ck_assert_int_eq(w[i].failed, 0);
			ck_assert_int_eq(w[i].seen[k], w[0].seen[k]);
		}
		snprintf(text, sizeof(text), "same %d", k);
		ck_assert_int_eq(log_has(text), 1);
	}
	module_chat.destroy(st);
}
END_TEST

static Suite *
chat_retry_suite(void)
{
	Suite *s = suite_create("chat_retry");
	TCase *tc = tcase_create("retry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, threads_no_gaps);
	tcase_add_test(tc, answers_per_path);
	tcase_add_test(tc, retry_same_seq);
	tcase_add_test(tc, retry_syslog_once);
	tcase_add_test(tc, retry_after_restart);
	tcase_add_test(tc, retry_first_not_stored);
	tcase_add_test(tc, retry_checks_the_line);
	tcase_add_test(tc, retry_fsync);
	tcase_add_test(tc, retry_table_bounded);
	tcase_add_test(tc, retry_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(chat_retry_suite());
}
