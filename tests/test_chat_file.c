/*
 * test_chat_file.c - the chat file store when the disk misbehaves: write
 * and fsync failures, rotation, the state file, reloads sharing a log.
 * Every test works in its own mkdtemp directory.
 */
#include "config.h"

#include "chat_unit.h"

/* ---- failures ------------------------------------------------------- */

START_TEST(write_fails_disk_full)
{
	char want[128];
	void *st;

	relink("real.log");
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	relink("/dev/full");
	module_chat.reopen(st);
	snprintf(want, sizeof(want), "error: not stored: write failed: %s\n",
	    strerror(ENOSPC));
	ck_reply(send_str(st, "b"), UDPD_REPLY_ERROR, want);
	ck_reply(send_str(st, "c"), UDPD_REPLY_ERROR, want);
	ck_reply(send_str(st, "/history"), UDPD_REPLY, "");
	relink("real.log");
	module_chat.reopen(st);
	ck_reply(send_str(st, "d"), UDPD_REPLY, "ok 2\n");
	module_chat.destroy(st);
	ck_file(in_dir("real.log"), "1 " STAMP " " P4 " a\n"
	    "2 " STAMP " " P4 " d\n");
}
END_TEST

START_TEST(write_fails_removed)
{
	void *st = chat_new("log_file = \"chat.log\";");

	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	ck_assert_int_eq(unlink(logpath), 0);
	ck_reply(send_str(st, "b"), UDPD_REPLY_ERROR,
	    "error: not stored: log file was removed\n");
	module_chat.reopen(st);			/* recreates it */
	ck_reply(send_str(st, "c"), UDPD_REPLY, "ok 2\n");
	ck_file(logpath, "2 " STAMP " " P4 " c\n");
	module_chat.destroy(st);
}
END_TEST

/* A write cut short (RLIMIT_FSIZE here) leaves no half line behind, and
 * says why. */
START_TEST(write_short_is_cut_back)
{
	struct rlimit old, lim;
	struct stat sb;
	enum udpd_verdict v;
	void *st = chat_new("log_file = \"chat.log\";");

	signal(SIGXFSZ, SIG_IGN);
	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	ck_assert_int_eq(stat(logpath, &sb), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size + 10;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	v = send_str(st, "this line is cut after ten bytes");
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	/* The reason write(2) gives for the rest, not "short write". */
	ck_reply(v, UDPD_REPLY_ERROR,
	    "error: not stored: write failed: File too large\n");
	ck_file(logpath, "1 " STAMP " " P4 " a\n");
	ck_reply(send_str(st, "b"), UDPD_REPLY, "ok 2\n");
	ck_file(logpath, "1 " STAMP " " P4 " a\n2 " STAMP " " P4 " b\n");
	signal(SIGXFSZ, SIG_DFL);
	module_chat.destroy(st);
}
END_TEST

START_TEST(reopen_rotation)
{
	void *st = chat_new("log_file = \"chat.log\";");

	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.1")), 0);
	ck_reply(send_str(st, "b"), UDPD_REPLY, "ok 2\n");	/* old file */
	module_chat.reopen(st);
	ck_reply(send_str(st, "c"), UDPD_REPLY, "ok 3\n");
	ck_reply(send_str(st, "/history"), UDPD_REPLY,
	    "3 " STAMP " " P4 " c\n");
	module_chat.reopen(st);		/* same file again: still appends */
	ck_reply(send_str(st, "d"), UDPD_REPLY, "ok 4\n");
	module_chat.destroy(st);
	ck_file(in_dir("chat.log.1"), "1 " STAMP " " P4 " a\n"
	    "2 " STAMP " " P4 " b\n");
	ck_file(logpath, "3 " STAMP " " P4 " c\n4 " STAMP " " P4 " d\n");
}
END_TEST

/*
 * Rotation, then a restart before any new message: the new log is empty,
 * and the sequence goes on from the one saved at reopen ("chat.log.seq").
 */
START_TEST(rotation_then_restart)
{
	void *st = chat_new("log_file = \"chat.log\";");

	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	ck_reply(send_str(st, "b"), UDPD_REPLY, "ok 2\n");
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.1")), 0);
	module_chat.reopen(st);
	module_chat.destroy(st);
	ck_state(2);
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "c"), UDPD_REPLY, "ok 3\n");
	module_chat.destroy(st);
	ck_file(logpath, "3 " STAMP " " P4 " c\n");
	/* The log, when it is ahead of the saved seq, wins. */
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "d"), UDPD_REPLY, "ok 4\n");
	module_chat.destroy(st);
}
END_TEST

/*
 * kill -9, the log rotated while udpd is stopped, a start: the seq goes on
 * from the last one acknowledged.  The crashed instance is simply never
 * destroyed (nothing saved at a stop); its batches saved the seq.
 */
START_TEST(seq_after_kill_and_rotation)
{
	void *st = chat_new("log_file = \"chat.log\";");
	void *st2, *st3;

	batch_of(st, 5);
	batch_of(st, 5);
	ck_state(10);
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.1")), 0);
	st2 = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st2, "after"), UDPD_REPLY, "ok 11\n");
	/* A rotation by SIGHUP, 9 more, a crash, another rotation. */
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.2")), 0);
	module_chat.reopen(st2);
	batch_of(st2, 8);
	batch_of(st2, 1);
	ck_state(20);
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.3")), 0);
	st3 = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st3, "again"), UDPD_REPLY, "ok 21\n");
	/* The "killed" ones go last (a stop would save nothing new). */
	module_chat.destroy(st3);
	module_chat.destroy(st2);
	module_chat.destroy(st);
	ck_state(21);
}
END_TEST

/* With fsync = true the state file holds what is synced, and is synced. */
START_TEST(seq_fsync_follows_sync)
{
	void *st = chat_new("log_file = \"chat.log\"; fsync = true;");

	batch_of(st, 3);
	ck_state(3);
	ck_reply(send_str(st, "not flushed"), UDPD_REPLY, "ok 4\n");
	ck_state(3);
	module_chat.destroy(st);
	ck_state(4);
}
END_TEST

/* syslog is a boolean; with the file store it is accepted. */
START_TEST(syslog_option)
{
	void *st;

	ck_create_fails("log_file = \"chat.log\"; syslog = 1;", "true or false");
	st = chat_new("log_file = \"chat.log\"; syslog = true;");
	ck_reply(send_str(st, "x"), UDPD_REPLY, "ok 1\n");
	module_chat.destroy(st);
}
END_TEST

/* The state file's records: two slots, the old "<seq>\n", damage. */
START_TEST(state_parse)
{
	static const struct {
		const char *text;
		enum chat_state st;
		uint64_t seq;
	} old[] = {
		{ "", CHAT_STATE_NONE, 0 },
		{ "41\n", CHAT_STATE_OLD, 41 },
		{ "18446744073709551615\n", CHAT_STATE_OLD, UINT64_MAX },
		{ "abc\n", CHAT_STATE_DAMAGED, 0 },
		{ "12", CHAT_STATE_DAMAGED, 12 },	/* "123\n" cut */
		{ "012\n", CHAT_STATE_DAMAGED, 0 },
		{ "18446744073709551616\n", CHAT_STATE_DAMAGED, 0 },
		{ "7\n\n", CHAT_STATE_DAMAGED, 7 },
		{ "\n", CHAT_STATE_DAMAGED, 0 },
		{ " 5\n", CHAT_STATE_DAMAGED, 0 },
		{ "00000000000000000123", CHAT_STATE_DAMAGED, 0 },
	};
	char buf[CHAT_STATE_SIZE];
	uint64_t seq;
	int next;

	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		ck_assert_msg(chat_state_parse(old[i].text, strlen(old[i].text),
		    &seq, &next) == old[i].st, "state of \"%s\"", old[i].text);
		ck_assert_msg(seq == old[i].seq, "seq of \"%s\"", old[i].text);
	}
	chat_state_format(buf, 5);
	ck_assert(memcmp(buf, "00000000000000000005 ", 21) == 0);
	ck_assert_int_eq(buf[CHAT_STATE_SLOT - 1], '\n');
	chat_state_format(buf + CHAT_STATE_SLOT, 7);
	ck_assert_int_eq(chat_state_parse(buf, sizeof(buf), &seq, &next),
	    CHAT_STATE_GOOD);
	ck_assert_uint_eq(seq, 7);
	ck_assert_int_eq(next, 0);
	ck_assert_int_eq(chat_state_parse(buf, CHAT_STATE_SLOT, &seq, &next),
	    CHAT_STATE_GOOD);
	ck_assert_uint_eq(seq, 5);
	ck_assert_int_eq(next, 1);
	/* A torn slot (new digits, the old hash) is not trusted. */
	buf[CHAT_STATE_SLOT + 19] = '8';
	ck_assert_int_eq(chat_state_parse(buf, sizeof(buf), &seq, &next),
	    CHAT_STATE_GOOD);
	ck_assert_uint_eq(seq, 5);
	ck_assert_int_eq(next, 1);
	buf[3] = 'x';
	ck_assert_int_eq(chat_state_parse(buf, sizeof(buf), &seq, &next),
	    CHAT_STATE_DAMAGED);
	ck_assert_uint_eq(seq, 0);
	/* The old text with the first new slot half written after it. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "99\n", 3);
	chat_state_format(buf + CHAT_STATE_SLOT, 100);
	ck_assert_int_eq(chat_state_parse(buf, CHAT_STATE_SLOT + 10, &seq,
	    &next), CHAT_STATE_DAMAGED);
	ck_assert_uint_eq(seq, 99);
}
END_TEST

/* Starts on the state file text[0..n) and an empty log: the first ack
 * must be want, and the state file after the stop whole. */
static void
ck_state_start(const char *text, size_t n, uint64_t want)
{
	char reply[32];
	int fd = open(in_dir("chat.log.seq"), O_WRONLY | O_CREAT | O_TRUNC,
	    0600);
	void *st;

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	close(fd);
	unlink(logpath);
	st = chat_new("log_file = \"chat.log\";");
	snprintf(reply, sizeof(reply), "ok %llu\n", (unsigned long long)want);
	ck_reply(send_str(st, "x"), UDPD_REPLY, reply);
	batch_of(st, 1);
	module_chat.destroy(st);
	ck_state(want + 1);
}

/*
 * A state file cut at every length (a crash while it was written) never
 * stops the start: a whole slot is taken, the digits of a torn one are
 * not, and a cut old "<seq>\n" still gives its digits.
 */
START_TEST(state_cut_every_length)
{
	char buf[CHAT_STATE_SIZE];
	const char *old = "12345\n";

	chat_state_format(buf, 6);
	chat_state_format(buf + CHAT_STATE_SLOT, 7);
	for (size_t n = 0; n <= CHAT_STATE_SIZE; n++)
		ck_state_start(buf, n, n < CHAT_STATE_SLOT ? 1 :
		    n < CHAT_STATE_SIZE ? 7 : 8);
	for (size_t n = 0; n <= strlen(old); n++) {
		uint64_t v = 0;

		for (size_t k = 0; k < n && old[k] != '\n'; k++)
			v = v * 10 + (uint64_t)(old[k] - '0');
		ck_state_start(old, n, v + 1);
	}
}
END_TEST

/* The old format is read, and the first new record leaves it intact
 * until it is whole (slot 1 first). */
START_TEST(state_old_format)
{
	char *got;
	size_t len;
	void *st;

	put_file(in_dir("chat.log.seq"), "41\n");
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "x"), UDPD_REPLY, "ok 42\n");
	batch_of(st, 1);
	got = slurp(in_dir("chat.log.seq"), &len);
	ck_assert_uint_eq(len, CHAT_STATE_SIZE);
	ck_assert(memcmp(got, "41\n", 3) == 0);
	free(got);
	ck_state(43);
	module_chat.destroy(st);
	/* UINT64_MAX: the sequence is exhausted, the start goes on. */
	unlink(logpath);
	put_file(in_dir("chat.log.seq"), "18446744073709551615\n");
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "x"), UDPD_REPLY_ERROR,
	    "error: not stored: sequence exhausted\n");
	module_chat.destroy(st);
	/* Not a regular file: refused. */
	ck_assert_int_eq(unlink(in_dir("chat.log.seq")), 0);
	ck_assert_int_eq(mkfifo(in_dir("chat.log.seq"), 0600), 0);
	ck_create_fails("log_file = \"chat.log\";", "not a regular file");
}
END_TEST

/* ---- a disk that fails on demand ------------------------------------ */

/*
 * A state file that cannot be written: the acks go on (the log has the
 * seq), one warning for the whole episode, also over a rotation, and one
 * line when it works again.
 */
START_TEST(state_write_fails)
{
	void *st;

	capture_log();
	st = chat_new("log_file = \"chat.log\";");
	batch_of(st, 2);
	fail_pwrite = 1;
	batch_of(st, 3);
	batch_of(st, 3);
	batch_of(st, 3);
	ck_assert_int_eq(log_count("cannot save the sequence"), 1);
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.1")), 0);
	module_chat.reopen(st);
	ck_reply(send_str(st, "new"), UDPD_REPLY, "ok 12\n");
	ck_file(logpath, "12 " STAMP " " P4 " new\n");
	ck_assert_int_eq(log_count("cannot save the sequence"), 1);
	ck_assert_int_eq(log_count("saving the sequence again"), 0);
	fail_pwrite = 0;
	batch_of(st, 1);
	ck_assert_int_eq(log_count("saving the sequence again"), 1);
	ck_state(13);
	module_chat.destroy(st);
	fflush(stderr);
	dup2(saved_stderr, 2);
}
END_TEST

/* A torn tail in the file reopened is set aside too, seq unchanged. */
START_TEST(reopen_torn_tail)
{
	void *st = chat_new("log_file = \"chat.log\";");

	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.1")), 0);
	put_file(logpath, "not ours\nhalf a li");
	module_chat.reopen(st);
	ck_reply(send_str(st, "b"), UDPD_REPLY, "ok 2\n");
	module_chat.destroy(st);
	ck_file(logpath, "not ours\n2 " STAMP " " P4 " b\n");
	ck_file(in_dir("chat.log.torn"), "half a li\n");
}
END_TEST

/* A reopen that fails keeps the old file. */
START_TEST(reopen_fails_keeps_old)
{
	void *st;

	ck_assert_int_eq(mkdir(in_dir("d"), 0700), 0);
	st = chat_new("log_file = \"d/chat.log\";");
	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	ck_assert_int_eq(rename(in_dir("d/chat.log"), in_dir("old.log")), 0);
	ck_assert_int_eq(unlink(in_dir("d/chat.log.seq")), 0);
	ck_assert_int_eq(rmdir(in_dir("d")), 0);
	module_chat.reopen(st);
	ck_reply(send_str(st, "b"), UDPD_REPLY, "ok 2\n");
	module_chat.destroy(st);
	ck_file(in_dir("old.log"), "1 " STAMP " " P4 " a\n"
	    "2 " STAMP " " P4 " b\n");
}
END_TEST

/*
 * A reload starts the new instance from the one it replaces, which may
 * still serve if the reload fails: both share the open log and its seq,
 * whatever spelling of the path.
 */
START_TEST(reload_shares_log)
{
	void *a = chat_new("log_file = \"chat.log\";");
	void *b, *c;

	ck_reply(send_str(a, "a1"), UDPD_REPLY, "ok 1\n");
	b = chat_next(a, "log_file = \"./chat.log\"; max_reply = 100;");
	ck_reply(send_str(b, "b2"), UDPD_REPLY, "ok 2\n");
	ck_reply(send_str(a, "a3"), UDPD_REPLY, "ok 3\n");
	module_chat.destroy(a);
	ck_reply(send_str(b, "b4"), UDPD_REPLY, "ok 4\n");

	/* rotated but not reopened yet when the reload comes */
	ck_assert_int_eq(rename(logpath, in_dir("chat.log.1")), 0);
	c = chat_next(b, "log_file = \"chat.log\"; fsync = true;");
	ck_reply(send_str(c, "c5"), UDPD_REPLY, "ok 5\n");
	module_chat.destroy(b);
	module_chat.reopen(c);
	ck_reply(send_str(c, "c6"), UDPD_REPLY, "ok 6\n");
	module_chat.destroy(c);
	ck_file(in_dir("chat.log.1"),
	    "1 " STAMP " " P4 " a1\n2 " STAMP " " P4 " b2\n"
	    "3 " STAMP " " P4 " a3\n4 " STAMP " " P4 " b4\n"
	    "5 " STAMP " " P4 " c5\n");
	ck_file(logpath, "6 " STAMP " " P4 " c6\n");

	/* all gone: the next instance recovers from the file */
	a = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(a, "a7"), UDPD_REPLY, "ok 7\n");
	module_chat.destroy(a);
}
END_TEST

/* A reload to another file starts afresh: nothing is shared. */
START_TEST(reload_other_file)
{
	void *a = chat_new("log_file = \"chat.log\";");
	void *b;

	ck_reply(send_str(a, "a1"), UDPD_REPLY, "ok 1\n");
	put_file(in_dir("other.log"), "41 " STAMP " " P4 " x\n");
	b = chat_next(a, "log_file = \"other.log\";");
	ck_reply(send_str(b, "b"), UDPD_REPLY, "ok 42\n");
	ck_reply(send_str(a, "a2"), UDPD_REPLY, "ok 2\n");
	module_chat.destroy(a);
	module_chat.destroy(b);
	ck_file(logpath, "1 " STAMP " " P4 " a1\n2 " STAMP " " P4 " a2\n");
}
END_TEST

/* ---- fsync ---------------------------------------------------------- */

START_TEST(fsync_batch_ok)
{
	struct udpd_reply reps[3];
	enum udpd_verdict v[3];
	unsigned char b[3][64];
	void *st = chat_new("log_file = \"chat.log\"; fsync = true;");

	for (int i = 0; i < 3; i++) {
		struct udpd_request req = {
			.data = (const unsigned char *)"hey" + i, .len = 3 - i,
			.peer = (const struct sockaddr *)&peer4,
			.peerlen = sizeof(peer4), .rx_time = { T_SEC, T_NSEC },
		};
		reps[i] = (struct udpd_reply){ b[i], sizeof(b[i]), 0, 0 };
		v[i] = module_chat.handle(st, &req, &reps[i]);
	}
	module_chat.batch_end(st, reps, v, 3);
	for (int i = 0; i < 3; i++) {
		char want[16];

		snprintf(want, sizeof(want), "ok %d\n", i + 1);
		ck_assert_int_eq(v[i], UDPD_REPLY);
		ck_assert_uint_eq(reps[i].len, strlen(want));
		ck_assert(memcmp(b[i], want, reps[i].len) == 0);
	}
	module_chat.destroy(st);
}
END_TEST

/* fdatasync fails on /dev/null: every "ok" of the batch becomes an error. */
START_TEST(fsync_batch_fails)
{
	struct udpd_reply reps[5];
	enum udpd_verdict v[5] = {
		UDPD_REPLY, UDPD_REPLY_ERROR, UDPD_REPLY, UDPD_DROP,
		UDPD_REPLY
	};
	unsigned char b[5][64];
	char want[128];
	void *st;

	relink("/dev/null");
	st = chat_new("log_file = \"chat.log\"; fsync = true;");
	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	ck_reply(send_str(st, "b"), UDPD_REPLY, "ok 2\n");
	set_reply(&reps[0], b[0], sizeof(b[0]), "ok 1\n", 1);
	set_reply(&reps[1], b[1], sizeof(b[1]), "error: bad count\n", 0);
	set_reply(&reps[2], b[2], sizeof(b[2]), "ok 2\n", 2);
	set_reply(&reps[3], b[3], sizeof(b[3]), "ok 1\n", 1);	/* dropped */
	set_reply(&reps[4], b[4], sizeof(b[4]), "1 " STAMP " x\n", 0);
	module_chat.batch_end(st, reps, v, 5);
	snprintf(want, sizeof(want), "error: outcome unknown: fsync failed: %s\n",
	    strerror(EINVAL));
	ck_buf(&reps[0], want);
	ck_buf(&reps[1], "error: bad count\n");
	ck_buf(&reps[2], want);
	ck_buf(&reps[3], "ok 1\n");
	ck_buf(&reps[4], "1 " STAMP " x\n");
	/* a rewritten ack is counted as an error, not a reply */
	ck_assert_int_eq(v[0], UDPD_REPLY_ERROR);
	ck_assert_int_eq(v[2], UDPD_REPLY_ERROR);
	ck_assert_int_eq(v[3], UDPD_DROP);
	ck_assert_int_eq(v[4], UDPD_REPLY);
	v[0] = UDPD_REPLY;

	/* a later batch on a good file is fine; a late one is still not */
	relink("real.log");
	module_chat.reopen(st);
	ck_reply(send_str(st, "c"), UDPD_REPLY, "ok 3\n");
	set_reply(&reps[0], b[0], sizeof(b[0]), "ok 3\n", 3);
	module_chat.batch_end(st, reps, v, 1);
	ck_buf(&reps[0], "ok 3\n");
	ck_assert_int_eq(v[0], UDPD_REPLY);
	set_reply(&reps[0], b[0], sizeof(b[0]), "ok 2\n", 2);
	module_chat.batch_end(st, reps, v, 1);
	ck_assert_int_eq(v[0], UDPD_REPLY_ERROR);
	ck_buf(&reps[0], want);
	module_chat.destroy(st);
	ck_file(in_dir("real.log"), "3 " STAMP " " P4 " c\n");
}
END_TEST

/* Without fsync, batch_end leaves every reply alone. */
START_TEST(fsync_off_untouched)
{
	struct udpd_reply rep;
	enum udpd_verdict v = UDPD_REPLY;
	unsigned char b[64];
	void *st;

	relink("/dev/null");
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	set_reply(&rep, b, sizeof(b), "ok 1\n", 1);
	module_chat.batch_end(st, &rep, &v, 1);
	ck_buf(&rep, "ok 1\n");
	module_chat.destroy(st);
}
END_TEST

static Suite *
chat_file_suite(void)
{
	Suite *s = suite_create("chat_file");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, write_fails_disk_full);
	tcase_add_test(tc, write_fails_removed);
	tcase_add_test(tc, write_short_is_cut_back);
	tcase_add_test(tc, reopen_rotation);
	tcase_add_test(tc, rotation_then_restart);
	tcase_add_test(tc, seq_after_kill_and_rotation);
	tcase_add_test(tc, seq_fsync_follows_sync);
	tcase_add_test(tc, state_parse);
	tcase_add_test(tc, state_cut_every_length);
	tcase_add_test(tc, state_old_format);
	tcase_add_test(tc, state_write_fails);
	tcase_add_test(tc, syslog_option);
	tcase_add_test(tc, reopen_fails_keeps_old);
	tcase_add_test(tc, reopen_torn_tail);
	tcase_add_test(tc, reload_shares_log);
	tcase_add_test(tc, reload_other_file);
	tcase_add_test(tc, fsync_batch_ok);
	tcase_add_test(tc, fsync_batch_fails);
	tcase_add_test(tc, fsync_off_untouched);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(chat_file_suite());
}
