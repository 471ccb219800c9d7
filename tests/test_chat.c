/*
 * test_chat.c - the chat module: escaping, the exact line format, messages,
 * the seq across restarts and torn lines, commands, the configuration.
 * The file store's failures: test_chat_file.c; retries: test_chat_retry.c.
 * Every test works in its own mkdtemp directory.
 */
#include "config.h"

#include "chat_unit.h"

/* ---- escaping ------------------------------------------------------- */

static void
ck_escape(const char *in, size_t len, const char *want)
{
	char out[256];
	size_t n;

	ck_assert_uint_lt(4 * len + 1, sizeof(out));
	n = chat_escape((const unsigned char *)in, len, out, 4 * len + 1);
	ck_assert_msg(n == strlen(want) && strcmp(out, want) == 0,
	    "escape gave \"%s\" (%zu), want \"%s\"", out, n, want);
}

#define ESC(lit, want)	ck_escape((lit), sizeof(lit) - 1, (want))

START_TEST(escape_controls)
{
	ESC("\n", "\\x0a");
	ESC("\r", "\\x0d");
	ESC("\x1b[31mred", "\\x1b[31mred");
	ESC("a\\b", "a\\\\b");
	ESC("\\x41", "\\\\x41");
	ESC("\0", "\\x00");
	ESC("a\0b", "a\\x00b");
	ESC("\t", "\\x09");
	ESC("\x7f", "\\x7f");
	ESC("\x1f \x20~", "\\x1f  ~");
	ESC("plain text 123", "plain text 123");
	ESC("", "");
}
END_TEST

START_TEST(escape_utf8)
{
	ESC("\xc3\xa9", "\xc3\xa9");			/* é */
	ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");	/* 😀 */
	ESC("\xe2\x82\xac", "\xe2\x82\xac");		/* € */
	ESC("\xc2\x80", "\xc2\x80");			/* U+0080 */
	ESC("\xed\x9f\xbf", "\xed\x9f\xbf");		/* U+D7FF */
	ESC("\xee\x80\x80", "\xee\x80\x80");		/* U+E000 */
	ESC("\xef\xbf\xbf", "\xef\xbf\xbf");		/* U+FFFF */
	ESC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	ESC("caf\xc3\xa9!", "caf\xc3\xa9!");
}
END_TEST

START_TEST(escape_invalid_utf8)
{
	ESC("\x80", "\\x80");				/* lone continuation */
	ESC("\xbf", "\\xbf");
	ESC("\xc0\xaf", "\\xc0\\xaf");			/* overlong '/' */
	ESC("\xc1\xbf", "\\xc1\\xbf");
	ESC("\xe0\x80\xaf", "\\xe0\\x80\\xaf");		/* overlong */
	ESC("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");	/* overlong */
	ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");		/* surrogate */
	ESC("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
	ESC("\xe2\x82", "\\xe2\\x82");			/* truncated */
	ESC("\xe2\x82" "A", "\\xe2\\x82A");
	ESC("\xe2" "A\xc3\xa9", "\\xe2A\xc3\xa9");
	ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");	/* > U+10FFFF */
	ESC("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	ESC("\xff\xfe", "\\xff\\xfe");
	ESC("\xc3", "\\xc3");
	ESC("\xc3\xc3\xa9", "\\xc3\xc3\xa9");		/* then a valid é */
}
END_TEST

START_TEST(escape_small_cap)
{
	char out[16];

	memset(out, 'Z', sizeof(out));
	ck_assert_uint_eq(chat_escape((const unsigned char *)"abc\x01", 4,
	    out, 5), 7);
	ck_assert_str_eq(out, "abc");		/* no half "\x01" */
	ck_assert_uint_eq(chat_escape((const unsigned char *)"abc\x01", 4,
	    out, 8), 7);
	ck_assert_str_eq(out, "abc\\x01");
	ck_assert_uint_eq(chat_escape((const unsigned char *)"\xc3\xa9", 2,
	    out, 2), 2);
	ck_assert_str_eq(out, "");		/* no half character */
	memset(out, 'Z', sizeof(out));
	ck_assert_uint_eq(chat_escape((const unsigned char *)"ab", 2, out, 0),
	    2);
	ck_assert_int_eq(out[0], 'Z');		/* cap 0: nothing written */
	ck_assert_uint_eq(chat_escape((const unsigned char *)"a\\", 2, out, 3),
	    3);
	ck_assert_str_eq(out, "a");
}
END_TEST

/* Decodes "\\" and "\xhh"; -1 on anything else after a backslash. */
static long
unescape(const char *s, size_t n, unsigned char *out)
{
	size_t i = 0, o = 0;
	unsigned int v;

	while (i < n) {
		if (s[i] != '\\') {
			out[o++] = (unsigned char)s[i++];
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\\') {
			out[o++] = '\\';
			i += 2;
		} else if (i + 3 < n && s[i + 1] == 'x' &&
		    sscanf(s + i + 2, "%2x", &v) == 1) {
			out[o++] = (unsigned char)v;
			i += 4;
		} else
			return -1;
	}
	return (long)o;
}

/* An independent UTF-8 check: every non-ASCII byte is in a valid char. */
static int
utf8_clean(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; ) {
		unsigned long cp;
		size_t k;

		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			k = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			k = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			k = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Random bytes: the output is clean UTF-8 and decodes back exactly. */
START_TEST(escape_random_roundtrip)
{
	unsigned char in[64], back[64];
	char out[4 * 64 + 1];
	unsigned int seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand_r(&seed) % 64), n;

		for (size_t i = 0; i < len; i++) {
			int r = rand_r(&seed);
			/* bias towards bytes that make UTF-8 sequences */
			in[i] = (r & 0x300) ? (unsigned char)(0x80 + r % 0x78) :
			    (unsigned char)r;
		}
		n = chat_escape(in, len, out, sizeof(out));
		ck_assert_uint_eq(n, strlen(out));
		ck_assert_uint_le(n, 4 * len);
		ck_assert_msg(utf8_clean((unsigned char *)out, n),
		    "unclean output in round %d", round);
		ck_assert_int_eq(unescape(out, n, back), (long)len);
		ck_assert(memcmp(in, back, len) == 0);
	}
}
END_TEST

/* ---- line format ---------------------------------------------------- */

static void
ck_line(const void *peer, socklen_t peerlen, const char *text,
    const char *want)
{
	struct timespec ts = { T_SEC, T_NSEC };
	char out[512];
	size_t n;

	n = chat_format_line(out, sizeof(out), 42, &ts, peer, peerlen,
	    (const unsigned char *)text, strlen(text));
	ck_assert_msg(n == strlen(want) && memcmp(out, want, n) == 0,
	    "line \"%.*s\", want \"%s\"", (int)n, out, want);
}

START_TEST(format_line)
{
	struct sockaddr_in6 m = peer6, s6 = peer6;
	struct timespec ts = { T_SEC, T_NSEC };
	char out[64];

	ck_line(&peer4, sizeof(peer4), "hi", "42 " STAMP " " P4 " hi\n");
	ck_line(&peer6, sizeof(peer6), "hi", "42 " STAMP " " P6 " hi\n");
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &m.sin6_addr);
	ck_line(&m, sizeof(m), "x", "42 " STAMP " 192.0.2.7:6000 x\n");
	inet_pton(AF_INET6, "fe80::1", &s6.sin6_addr);
	s6.sin6_scope_id = 3;
	ck_line(&s6, sizeof(s6), "x", "42 " STAMP " [fe80::1%3]:6000 x\n");
	ck_line(NULL, 0, "x", "42 " STAMP " ?:0 x\n");
	ck_line(&peer6, sizeof(peer4), "x", "42 " STAMP " ?:0 x\n");
	ck_line(&peer4, sizeof(peer4), "a\nb", "42 " STAMP " " P4 " a\\x0ab\n");
	ck_line(&peer4, sizeof(peer4), "", "42 " STAMP " " P4 " \n");
	/* too small: 0, never a cut line */
	ck_assert_uint_eq(chat_format_line(out, 20, 1, &ts,
	    (const struct sockaddr *)&peer4, sizeof(peer4),
	    (const unsigned char *)"x", 1), 0);
	ck_assert_uint_eq(chat_format_line(out, 44, 1, &ts,
	    (const struct sockaddr *)&peer4, sizeof(peer4),
	    (const unsigned char *)"xy", 2), 0);
	ck_assert_uint_eq(chat_format_line(out, 45, 1, &ts,
	    (const struct sockaddr *)&peer4, sizeof(peer4),
	    (const unsigned char *)"xy", 2), 45);
	ck_assert(memcmp(out, "1 " STAMP " " P4 " xy\n", 45) == 0);
}
END_TEST

/* ---- messages ------------------------------------------------------- */

START_TEST(message_lines_v4_v6)
{
	void *st = chat_new("log_file = \"chat.log\";");

	ck_reply(send_str(st, "hello\n"), UDPD_REPLY, "ok 1\n");
	ck_reply(send_to(st, "h\xc3\xa9 \x1b[2J\\", 9, &peer6, sizeof(peer6),
	    sizeof(rbuf)), UDPD_REPLY, "ok 2\n");
	ck_file(logpath,
	    "1 " STAMP " " P4 " hello\n"
	    "2 " STAMP " " P6 " h\xc3\xa9 \\x1b[2J\\\\\n");
	module_chat.destroy(st);
}
END_TEST

START_TEST(message_strip)
{
	void *st = chat_new("log_file = \"chat.log\";");

	ck_reply(send_str(st, "a\r\n"), UDPD_REPLY, "ok 1\n");
	ck_reply(send_str(st, "b\n"), UDPD_REPLY, "ok 2\n");
	ck_reply(send_str(st, "c\r"), UDPD_REPLY, "ok 3\n");
	ck_reply(send_str(st, "d\n\n"), UDPD_REPLY, "ok 4\n");
	ck_reply(send_str(st, "e\r\n\r\n"), UDPD_REPLY, "ok 5\n");
	ck_reply(send_str(st, "f"), UDPD_REPLY, "ok 6\n");
	ck_file(logpath,
	    "1 " STAMP " " P4 " a\n"
	    "2 " STAMP " " P4 " b\n"
	    "3 " STAMP " " P4 " c\\x0d\n"
	    "4 " STAMP " " P4 " d\\x0a\n"
	    "5 " STAMP " " P4 " e\\x0d\\x0a\n"
	    "6 " STAMP " " P4 " f\n");
	module_chat.destroy(st);
}
END_TEST

START_TEST(message_empty)
{
	void *st = chat_new("log_file = \"chat.log\";");

	ck_reply(send_len(st, NULL, 0), UDPD_REPLY_ERROR,
	    "error: not stored: empty message\n");
	ck_reply(send_str(st, "\n"), UDPD_REPLY_ERROR,
	    "error: not stored: empty message\n");
	ck_reply(send_str(st, "\r\n"), UDPD_REPLY_ERROR,
	    "error: not stored: empty message\n");
	ck_reply(send_str(st, " "), UDPD_REPLY, "ok 1\n");
	ck_file(logpath, "1 " STAMP " " P4 "  \n");
	module_chat.destroy(st);
}
END_TEST

START_TEST(message_too_long)
{
	static unsigned char big[UDPD_MAX_DATAGRAM];
	void *st = chat_new("log_file = \"chat.log\";");

	memset(big, 'a', sizeof(big));
	ck_reply(send_len(st, big, sizeof(big)), UDPD_REPLY_ERROR,
	    "error: not stored: message too long (max 1024 bytes)\n");
	ck_reply(send_len(st, big, 1025), UDPD_REPLY_ERROR,
	    "error: not stored: message too long (max 1024 bytes)\n");
	ck_reply(send_len(st, big, 1024), UDPD_REPLY, "ok 1\n");
	module_chat.destroy(st);
	/* A fresh log: the saved sequence goes too. */
	ck_assert_int_eq(unlink(logpath), 0);
	ck_assert_int_eq(unlink(in_dir("chat.log.seq")), 0);

	st = chat_new("log_file = \"chat.log\"; max_message = 4;");
	ck_reply(send_str(st, "abcde"), UDPD_REPLY_ERROR,
	    "error: not stored: message too long (max 4 bytes)\n");
	ck_reply(send_str(st, "abcde\n"), UDPD_REPLY_ERROR,
	    "error: not stored: message too long (max 4 bytes)\n");
	ck_reply(send_str(st, "abcd\r\n"), UDPD_REPLY, "ok 1\n");
	ck_reply(send_str(st, "\x01\x02\x03\x04"), UDPD_REPLY, "ok 2\n");
	ck_file(logpath, "1 " STAMP " " P4 " abcd\n"
	    "2 " STAMP " " P4 " \\x01\\x02\\x03\\x04\n");
	module_chat.destroy(st);
}
END_TEST

/* The largest message with every byte escaped fits the line buffer. */
START_TEST(message_max_escaped)
{
	static unsigned char big[UDPD_MAX_DATAGRAM];
	size_t len;
	char *got;
	void *st = chat_new("log_file = \"chat.log\"; max_message = 65507;");

	memset(big, 0xff, sizeof(big));
	ck_reply(send_len(st, big, sizeof(big)), UDPD_REPLY, "ok 1\n");
	got = slurp(logpath, &len);
	ck_assert_uint_eq(len, strlen("1 " STAMP " " P4 " ") + 4 * 65507 + 1);
	ck_assert(memcmp(got + len - 5, "\\xff\n", 5) == 0);
	free(got);
	module_chat.destroy(st);
}
END_TEST

START_TEST(message_clock_fallback)
{
	struct udpd_request req = {
		.data = (const unsigned char *)"x", .len = 1,
		.peer = (const struct sockaddr *)&peer4,
		.peerlen = sizeof(peer4), .now = fixed_now,
	};
	struct udpd_reply rep = { rbuf, sizeof(rbuf), 0, 0 };
	void *st = chat_new("log_file = \"chat.log\";");

	ck_assert_int_eq(module_chat.handle(st, &req, &rep), UDPD_REPLY);
	ck_file(logpath, "1 2026-11-22T00:01:01.005Z " P4 " x\n");
	module_chat.destroy(st);
}
END_TEST

/* ---- seq across restarts ------------------------------------------- */

START_TEST(seq_continues)
{
	void *st = chat_new("log_file = \"chat.log\";");

	ck_reply(send_str(st, "one"), UDPD_REPLY, "ok 1\n");
	ck_reply(send_str(st, "two"), UDPD_REPLY, "ok 2\n");
	module_chat.destroy(st);
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "three"), UDPD_REPLY, "ok 3\n");
	module_chat.destroy(st);
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "four"), UDPD_REPLY, "ok 4\n");
	module_chat.destroy(st);
	ck_file(logpath,
	    "1 " STAMP " " P4 " one\n"
	    "2 " STAMP " " P4 " two\n"
	    "3 " STAMP " " P4 " three\n"
	    "4 " STAMP " " P4 " four\n");
}
END_TEST

/* The seq of a big log is read from its tail, across chunk boundaries. */
START_TEST(seq_big_log)
{
	FILE *f = fopen(logpath, "w");
	char pad[9000];
	void *st;

	ck_assert_ptr_nonnull(f);
	for (int i = 1; i <= 3000; i++)
		fprintf(f, "%d " STAMP " " P4 " message %d\n", i, i);
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	fprintf(f, "18446744073709551614 " STAMP " " P4 " %s\n", pad);
	fclose(f);
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "next"), UDPD_REPLY, "ok 18446744073709551615\n");
	ck_reply(send_str(st, "no more"), UDPD_REPLY_ERROR,
	    "error: not stored: sequence exhausted\n");
	module_chat.destroy(st);
}
END_TEST

START_TEST(seq_torn_last_line)
{
	const char *good =
	    "1 " STAMP " " P4 " a\n"
	    "2 " STAMP " " P4 " b\n";
	char *want;
	void *st;

	put_file(logpath, "1 " STAMP " " P4 " a\n"
	    "2 " STAMP " " P4 " b\n"
	    "3 " STAMP " " P4 " torn mid-li");
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "c"), UDPD_REPLY, "ok 3\n");
	module_chat.destroy(st);
	ck_assert_int_ne(asprintf(&want, "%s3 " STAMP " " P4 " c\n", good), -1);
	ck_file(logpath, want);
	free(want);
	ck_file(in_dir("chat.log.torn"), "3 " STAMP " " P4 " torn mid-li\n");

	/* a second torn line is appended to the side file */
	put_file(logpath, "7 x\n8 y");
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "z"), UDPD_REPLY, "ok 8\n");
	module_chat.destroy(st);
	ck_file(logpath, "7 x\n8 " STAMP " " P4 " z\n");
	ck_file(in_dir("chat.log.torn"), "3 " STAMP " " P4 " torn mid-li\n"
	    "8 y\n");
}
END_TEST

START_TEST(seq_only_torn)
{
	void *st;

	put_file(logpath, "1 2026-11-22T00:");
	st = chat_new("log_file = \"chat.log\";");
	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	module_chat.destroy(st);
	ck_file(logpath, "1 " STAMP " " P4 " a\n");
	ck_file(in_dir("chat.log.torn"), "1 2026-11-22T00:\n");
}
END_TEST

START_TEST(seq_not_a_chat_log)
{
	static const char *bad[] = {
		"hello world\n",
		"1 a\nlast line\n",
		"1 a\n\n",
		"01 leading zero\n",
		"18446744073709551616 overflow\n",
		"123\n",
		"-1 x\n",
		" 1 x\n",
	};
	static char pad[CHAT_LINE_MAX + 100];
	FILE *f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_file(logpath, bad[i]);
		ck_create_fails("log_file = \"chat.log\";",
		    "/chat.log: its last line");
		ck_create_fails("log_file = \"chat.log\";",
		    "does not start with a sequence number");
		ck_file(logpath, bad[i]);	/* untouched */
	}
	/* an unterminated tail longer than any chat line */
	memset(pad, 'x', sizeof(pad));
	f = fopen(logpath, "w");
	ck_assert_ptr_nonnull(f);
	fputs("1 a\n", f);
	fwrite(pad, 1, sizeof(pad), f);
	fclose(f);
	ck_create_fails("log_file = \"chat.log\";", "without a newline");
	ck_assert_int_eq(access(in_dir("chat.log.torn"), F_OK), -1);
}
END_TEST

START_TEST(seq_recover_fn)
{
	uint64_t seq = 99;
	off_t end = 99;
	int fd;

	put_file(logpath, "5 a\n6 b\n7 c");
	fd = open(logpath, O_RDONLY);
	ck_assert_int_eq(chat_recover(fd, &seq, &end), 0);
	ck_assert_uint_eq(seq, 6);
	ck_assert_int_eq(end, 8);
	close(fd);
	put_file(logpath, "");
	fd = open(logpath, O_RDONLY);
	ck_assert_int_eq(chat_recover(fd, &seq, &end), 0);
	ck_assert_uint_eq(seq, 0);
	ck_assert_int_eq(end, 0);
	close(fd);
	put_file(logpath, "x y\n");
	fd = open(logpath, O_RDONLY);
	ck_assert_int_eq(chat_recover(fd, &seq, &end), -1);
	ck_assert_int_eq(errno, EBADMSG);
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(chat_recover(fd, &seq, &end), 0);
	ck_assert_uint_eq(seq, 0);
	close(fd);
}
END_TEST

/* ---- commands ------------------------------------------------------- */

START_TEST(history_counts)
{
	void *st = chat_new("log_file = \"chat.log\"; max_reply = 65507;");
	char *log = post_n(st, 1, 120);

	ck_reply(send_str(st, "/history"), UDPD_REPLY, last_lines(log, 10));
	ck_reply(send_str(st, "/history\n"), UDPD_REPLY, last_lines(log, 10));
	ck_reply(send_str(st, "/history 3"), UDPD_REPLY, last_lines(log, 3));
	ck_reply(send_str(st, "/history 1\r\n"), UDPD_REPLY,
	    last_lines(log, 1));
	ck_reply(send_str(st, "/history   2  "), UDPD_REPLY,
	    last_lines(log, 2));
	ck_reply(send_str(st, "/history 007"), UDPD_REPLY, last_lines(log, 7));
	ck_assert_str_eq(last_lines(log, 1), "120 " STAMP " " P4 " m120\n");
	/* more than history_max (100) is clamped */
	ck_reply(send_str(st, "/history 100"), UDPD_REPLY,
	    last_lines(log, 100));
	ck_reply(send_str(st, "/history 999"), UDPD_REPLY,
	    last_lines(log, 100));
	ck_reply(send_str(st, "/history 99999999999999999999999999"),
	    UDPD_REPLY, last_lines(log, 100));
	/* commands use no seq and are not logged */
	ck_reply(send_str(st, "m121"), UDPD_REPLY, "ok 121\n");
	free(log);
	module_chat.destroy(st);
}
END_TEST

START_TEST(history_bad_count)
{
	static const char *bad[] = {
		"/history 0", "/history abc", "/history -1", "/history 3 4",
		"/history 1x", "/history +3", "/history 00", "/history 3\t",
	};
	void *st = chat_new("log_file = \"chat.log\";");

	free(post_n(st, 1, 2));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_reply(send_str(st, bad[i]), UDPD_REPLY_ERROR,
		    "error: bad count\n");
	module_chat.destroy(st);
}
END_TEST

START_TEST(history_few_lines)
{
	void *st = chat_new("log_file = \"chat.log\"; history_max = 5;");
	char *log;

	/* an empty log: an empty reply */
	ck_reply(send_str(st, "/history"), UDPD_REPLY, "");
	log = post_n(st, 1, 3);
	ck_reply(send_str(st, "/history"), UDPD_REPLY, log);
	ck_reply(send_str(st, "/history 5"), UDPD_REPLY, log);
	free(log);
	log = post_n(st, 4, 11);
	ck_reply(send_str(st, "/history"), UDPD_REPLY, last_lines(log, 5));
	ck_reply(send_str(st, "/history 2"), UDPD_REPLY, last_lines(log, 2));
	free(log);
	module_chat.destroy(st);
}
END_TEST

START_TEST(history_trim)
{
	/* lines here are 45 bytes ("N STAMP 127.0.0.1:5000 mN\n", N < 10) */
	void *st = chat_new("log_file = \"chat.log\"; max_reply = 100;");
	char *log = post_n(st, 1, 5);
	const char *two = last_lines(log, 2);

	ck_assert_uint_eq(strlen(last_lines(log, 1)), 45);
	ck_assert_uint_eq(strlen(two), 90);
	ck_reply(send_str(st, "/history"), UDPD_REPLY, two);
	ck_reply(send_str(st, "/history 2"), UDPD_REPLY, two);
	ck_reply(send_str(st, "/history 1"), UDPD_REPLY, last_lines(log, 1));
	/* the reply buffer is smaller still */
	ck_reply(send_to(st, "/history", 8, &peer4, sizeof(peer4), 90),
	    UDPD_REPLY, two);
	ck_reply(send_to(st, "/history", 8, &peer4, sizeof(peer4), 89),
	    UDPD_REPLY, last_lines(log, 1));
	ck_reply(send_to(st, "/history", 8, &peer4, sizeof(peer4), 45),
	    UDPD_REPLY, last_lines(log, 1));
	ck_reply(send_to(st, "/history", 8, &peer4, sizeof(peer4), 44),
	    UDPD_REPLY, "");
	free(log);
	module_chat.destroy(st);
}
END_TEST

START_TEST(history_long_newest)
{
	char msg[200];
	void *st = chat_new("log_file = \"chat.log\"; max_reply = 64;");

	ck_reply(send_str(st, "short"), UDPD_REPLY, "ok 1\n");
	memset(msg, 'L', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	ck_reply(send_str(st, msg), UDPD_REPLY, "ok 2\n");
	/* the newest line alone is over max_reply: no line fits */
	ck_reply(send_str(st, "/history"), UDPD_REPLY, "");
	ck_reply(send_str(st, "x"), UDPD_REPLY, "ok 3\n");
	ck_reply(send_str(st, "/history"), UDPD_REPLY,
	    "3 " STAMP " " P4 " x\n");
	module_chat.destroy(st);
}
END_TEST

/* /history ignores a torn tail that is not a line yet. */
START_TEST(history_torn_tail)
{
	void *st = chat_new("log_file = \"chat.log\";");
	int fd;

	ck_reply(send_str(st, "a"), UDPD_REPLY, "ok 1\n");
	fd = open(logpath, O_WRONLY | O_APPEND);
	ck_assert_int_eq(write(fd, "2 half", 6), 6);
	close(fd);
	ck_reply(send_str(st, "/history"), UDPD_REPLY,
	    "1 " STAMP " " P4 " a\n");
	module_chat.destroy(st);
}
END_TEST

START_TEST(unknown_command)
{
	static const char *cmds[] = {
		"/", "/\n", "/foo", "/historyx", "/HISTORY", "/history\t3",
		"//history", "/ history", "/help me",
	};
	void *st = chat_new("log_file = \"chat.log\";");

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		ck_reply(send_str(st, cmds[i]), UDPD_REPLY_ERROR,
		    "error: unknown command\n");
	ck_reply(send_str(st, " /foo"), UDPD_REPLY, "ok 1\n");
	ck_file(logpath, "1 " STAMP " " P4 "  /foo\n");
	module_chat.destroy(st);
}
END_TEST

/* ---- configuration -------------------------------------------------- */

START_TEST(config_errors)
{
	ck_create_fails("", "log_file is required");
	ck_create_fails("log_file = 5;", "log_file: must be a string");
	ck_create_fails("log_file = \"\";", "log_file: must not be empty");
	ck_create_fails("log_file = \"c.log\"; max_message = 0;",
	    "max_message: must be between 1 and 65507");
	ck_create_fails("log_file = \"c.log\"; max_message = 65508;",
	    "max_message: must be between 1 and 65507");
	ck_create_fails("log_file = \"c.log\"; max_message = \"1\";",
	    "max_message: must be an integer");
	ck_create_fails("log_file = \"c.log\"; history_max = 0;",
	    "history_max: must be between 1 and 65507");
	ck_create_fails("log_file = \"c.log\"; max_reply = 63;",
	    "max_reply: must be between 64 and 65507");
	ck_create_fails("log_file = \"c.log\"; max_reply = 65508;",
	    "max_reply: must be between 64 and 65507");
	ck_create_fails("log_file = \"c.log\"; fsync = \"yes\";",
	    "fsync: must be true or false");
	ck_create_fails("log_file = \"c.log\"; fsync = 1;",
	    "fsync: must be true or false");
	ck_create_fails("log_file = \"c.log\"; retry_window_ms = -1;",
	    "retry_window_ms: must be between 0 and 3600000");
	ck_create_fails("log_file = \"c.log\"; retry_window_ms = 3600001;",
	    "retry_window_ms: must be between 0 and 3600000");
	ck_create_fails("log_file = \"c.log\"; store = \"tape\";",
	    "store: unknown store 'tape'");
	ck_create_fails("log_file = \"c.log\"; store = 1;",
	    "store: must be a string");
	/* the file itself, at start */
	ck_create_fails("log_file = \"no/such/dir/c.log\";",
	    "/no/such/dir/c.log: ");
	ck_create_fails("log_file = \"no/such/dir/c.log\";",
	    strerror(ENOENT));
	ck_create_fails("log_file = \"/\";", "/: ");
	ck_assert_int_eq(mkfifo(in_dir("fifo"), 0600), 0);
	ck_create_fails("log_file = \"fifo\";", "not a regular file");
	ck_assert_int_eq(access(in_dir("c.log"), F_OK), -1);
}
END_TEST

START_TEST(config_paths)
{
	char abs[256];
	void *st;

	st = chat_new("log_file = \"rel.log\"; max_message = 65507; "
	    "history_max = 65507; max_reply = 64; fsync = false;");
	module_chat.destroy(st);
	ck_assert_int_eq(access(in_dir("rel.log"), F_OK), 0);
	snprintf(abs, sizeof(abs), "log_file = \"%s/abs.log\";", tmpdir);
	st = chat_new(abs);
	module_chat.destroy(st);
	ck_assert_int_eq(access(in_dir("abs.log"), F_OK), 0);
}
END_TEST

/*
 * udpd -t and reload planning: parse() checks the options and touches no
 * file: nothing created, opened for writing or cut, whatever is there.
 */
START_TEST(config_parse_touches_nothing)
{
	struct conf_err err;
	struct stat before, after;
	void *o;

	o = parse_only("log_file = \"chat.log\"; fsync = true;", &err);
	ck_assert_msg(o != NULL, "%s", err.msg);
	module_chat.free_options(o);
	ck_assert_int_eq(access(logpath, F_OK), -1);

	o = parse_only("log_file = \"no/dir/chat.log\";", &err);
	ck_assert_msg(o != NULL, "%s", err.msg);
	module_chat.free_options(o);

	put_file(logpath, "1 a\n2 torn");
	ck_assert_int_eq(stat(logpath, &before), 0);
	o = parse_only("log_file = \"chat.log\";", &err);
	ck_assert_msg(o != NULL, "%s", err.msg);
	module_chat.free_options(o);
	ck_assert_int_eq(stat(logpath, &after), 0);
	ck_assert_int_eq(after.st_size, before.st_size);
	ck_assert_int_eq(access(in_dir("chat.log.torn"), F_OK), -1);
	ck_assert_int_eq(access(in_dir("chat.log.seq"), F_OK), -1);

	o = parse_only("log_file = \"c.log\"; max_reply = 1;", &err);
	ck_assert_ptr_null(o);
	ck_assert_msg(strstr(err.msg, "max_reply") != NULL, "%s", err.msg);
}
END_TEST

static Suite *
chat_suite(void)
{
	Suite *s = suite_create("chat");
	TCase *tc;

	tc = tcase_create("escape");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, escape_controls);
	tcase_add_test(tc, escape_utf8);
	tcase_add_test(tc, escape_invalid_utf8);
	tcase_add_test(tc, escape_small_cap);
	tcase_add_test(tc, escape_random_roundtrip);
	tcase_add_test(tc, format_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, message_lines_v4_v6);
	tcase_add_test(tc, message_strip);
	tcase_add_test(tc, message_empty);
	tcase_add_test(tc, message_too_long);
	tcase_add_test(tc, message_max_escaped);
	tcase_add_test(tc, message_clock_fallback);
	tcase_add_test(tc, seq_continues);
	tcase_add_test(tc, seq_big_log);
	tcase_add_test(tc, seq_torn_last_line);
	tcase_add_test(tc, seq_only_torn);
	tcase_add_test(tc, seq_not_a_chat_log);
	tcase_add_test(tc, seq_recover_fn);
	tcase_add_test(tc, history_counts);
	tcase_add_test(tc, history_bad_count);
	tcase_add_test(tc, history_few_lines);
	tcase_add_test(tc, history_trim);
	tcase_add_test(tc, history_long_newest);
	tcase_add_test(tc, history_torn_tail);
	tcase_add_test(tc, unknown_command);
	tcase_add_test(tc, config_errors);
	tcase_add_test(tc, config_paths);
	tcase_add_test(tc, config_parse_touches_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(chat_suite());
}

