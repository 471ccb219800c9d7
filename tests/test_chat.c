/*
 * test_chat.c - the chat module: escaping, the exact line format, the seq
 * across restarts and torn lines, commands, write and fsync failures.
 * Every test works in its own mkdtemp directory.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_file.h"
#include "chat_recover.h"
#include "chat_window.h"
#include "log.h"
#include "chat_line.h"
#include "module.h"
#include "unit.h"

#define T_SEC		1795305601	/* 2026-11-22T00:00:01Z */
#define T_NSEC		234999999
#define STAMP		"2026-11-22T00:00:01.234Z"
#define P4		"127.0.0.1:5000"
#define P6		"[2001:db8::1]:6000"

static char tmpdir[64];
static char logpath[128];
static unsigned char rbuf[UDPD_MAX_DATAGRAM];
static size_t rlen;
static struct sockaddr_in peer4;
static struct sockaddr_in6 peer6;

/* A failing test leaves its directory behind, for a look at the log. */
static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_chat.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(logpath, sizeof(logpath), "%s/chat.log", tmpdir);
	memset(&peer4, 0, sizeof(peer4));
	peer4.sin_family = AF_INET;
	peer4.sin_port = htons(5000);
	inet_pton(AF_INET, "127.0.0.1", &peer4.sin_addr);
	memset(&peer6, 0, sizeof(peer6));
	peer6.sin6_family = AF_INET6;
	peer6.sin6_port = htons(6000);
	inet_pton(AF_INET6, "2001:db8::1", &peer6.sin6_addr);
}

/* Removes the files (never following links) and the directory. */
static void
teardown(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	if (tmpdir[0] == '\0' || (d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

#define THREADS		4

/* parse() and start() from a libconfig text; the config is gone before
 * use.  Each of THREADS workers may call handle(). */
static void *
try_new(const char *text, struct conf_err *err)
{
	struct module_ctx ctx = { .service = "chat", .nworkers = THREADS };

	return unit_create(&module_chat, text, "", tmpdir, &ctx, err);
}

/* parse() only, as `udpd -t` does; NULL with err. */
static void *
parse_only(const char *text, struct conf_err *err)
{
	struct module_parse_ctx pctx = { "chat", tmpdir };
	config_t cfg;
	void *o;

	memset(err, 0, sizeof(*err));
	config_init(&cfg);
	ck_assert_int_eq(config_read_string(&cfg, text), CONFIG_TRUE);
	o = module_chat.parse(config_root_setting(&cfg), &pctx, err);
	config_destroy(&cfg);
	return o;
}

/* The instance a reload starts from text while prev still runs. */
static void *
chat_next(void *prev, const char *text)
{
	struct module_ctx ctx = { .service = "chat", .nworkers = THREADS };
	struct conf_err err;
	void *o = parse_only(text, &err), *st;

	ck_assert_msg(o != NULL, "parse failed: %s", err.msg);
	st = module_chat.start(o, &ctx, prev, err.msg, sizeof(err.msg));
	module_chat.free_options(o);
	ck_assert_msg(st != NULL, "start failed: %s", err.msg);
	return st;
}

static void *
chat_new(const char *text)
{
	struct conf_err err;
	void *st = try_new(text, &err);

	ck_assert_msg(st != NULL, "create failed: %s", err.msg);
	return st;
}

/* parse() or start() must fail with a message holding want. */
static void
ck_create_fails(const char *text, const char *want)
{
	struct conf_err err;
	void *st = try_new(text, &err);

	ck_assert_msg(st == NULL, "create accepted: %s", text);
	ck_assert_msg(strstr(err.msg, want) != NULL,
	    "error \"%s\" lacks \"%s\"", err.msg, want);
}

static enum udpd_verdict
send_to(void *st, const void *data, size_t len, const void *peer,
    socklen_t peerlen, size_t cap)
{
	struct udpd_request req = {
		.data = data, .len = len, .peer = peer, .peerlen = peerlen,
		.rx_time = { T_SEC, T_NSEC }, .now = NULL,
	};
	struct udpd_reply rep = { rbuf, cap, 12345, 0 };
	enum udpd_verdict v;

	memset(rbuf, 0xa5, sizeof(rbuf));
	v = module_chat.handle(st, &req, &rep);
	ck_assert_uint_le(rep.len, cap);
	rlen = rep.len;
	return v;
}

static enum udpd_verdict
send_len(void *st, const void *data, size_t len)
{
	return send_to(st, data, len, &peer4, sizeof(peer4), sizeof(rbuf));
}

static enum udpd_verdict
send_str(void *st, const char *s)
{
	return send_len(st, s, strlen(s));
}

/* The last reply is exactly want, with verdict v. */
#define ck_reply(got, v, want) do {					\
	ck_assert_int_eq((got), (v));					\
	ck_assert_uint_eq(rlen, strlen(want));				\
	ck_assert_msg(memcmp(rbuf, (want), rlen) == 0,			\
	    "reply \"%.*s\", want \"%s\"", (int)rlen, (char *)rbuf,	\
	    (want));							\
} while (0)

/* The whole file, NUL-terminated (NULL if it does not exist). */
static char *
slurp(const char *path, size_t *lenp)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return NULL;
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	if (lenp != NULL)
		*lenp = (size_t)st.st_size;
	return buf;
}

static void
ck_file(const char *path, const char *want)
{
	size_t len;
	char *got = slurp(path, &len);

	ck_assert_msg(got != NULL, "%s missing", path);
	ck_assert_msg(len == strlen(want) && memcmp(got, want, len) == 0,
	    "%s holds \"%s\", want \"%s\"", path, got, want);
	free(got);
}

static void
put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A path in the test directory (four in use at once at most). */
static const char *
in_dir(const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

/* The state file "chat.log.seq" holds seq, whole, in its new format. */
static void
ck_state(uint64_t want)
{
	size_t len;
	char *got = slurp(in_dir("chat.log.seq"), &len);
	uint64_t seq;
	int next;

	ck_assert_msg(got != NULL, "no state file");
	ck_assert_int_eq(chat_state_parse(got, len, &seq, &next),
	    CHAT_STATE_GOOD);
	ck_assert_msg(seq == want, "state holds %llu, want %llu",
	    (unsigned long long)seq, (unsigned long long)want);
	free(got);
}

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

/* No clock stamp from the daemon: the module asks req->now. */
static void
fixed_now(struct timespec *ts)
{
	ts->tv_sec = T_SEC + 60;
	ts->tv_nsec = 5000000;
}

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

/* Posts messages "m<from>".."m<to>" (their seqs) and returns the log. */
static char *
post_n(void *st, int from, int to)
{
	char msg[32], ok[32];

	for (int i = from; i <= to; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		send_str(st, msg);
		snprintf(ok, sizeof(ok), "ok %d\n", i);
		ck_assert(rlen == strlen(ok) && memcmp(rbuf, ok, rlen) == 0);
	}
	return slurp(logpath, NULL);
}

/* The log's last n (>= 1) lines, as /history must give them. */
static const char *
last_lines(const char *log, int n)
{
	const char *p = log + strlen(log);

	if (p == log)
		return p;
	for (p--; p > log; p--)
		if (p[-1] == '\n' && --n == 0)
			return p;
	return log;
}

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

/* ---- failures ------------------------------------------------------- */

/* Points the symlink chat.log at target. */
static void
relink(const char *target)
{
	unlink(logpath);
	ck_assert_int_eq(symlink(target, logpath), 0);
}

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

/* One read batch of n messages "m<k>", each new, through batch_end like
 * the listener. */
static void
batch_of(void *st, int n)
{
	static int k;
	struct udpd_reply reps[8];
	enum udpd_verdict v[8];
	unsigned char b[8][64];
	char m[8][16];

	ck_assert_int_le(n, 8);
	for (int i = 0; i < n; i++) {
		struct udpd_request req = {
			.data = (const unsigned char *)m[i],
			.len = (size_t)snprintf(m[i], sizeof(m[i]), "m%d", k++),
			.peer = (const struct sockaddr *)&peer4,
			.peerlen = sizeof(peer4), .rx_time = { T_SEC, T_NSEC },
		};
		reps[i] = (struct udpd_reply){ b[i], sizeof(b[i]), 0, 0 };
		v[i] = module_chat.handle(st, &req, &reps[i]);
		ck_assert_int_eq(v[i], UDPD_REPLY);
	}
	module_chat.batch_end(st, reps, v, (size_t)n);
}

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

static int fail_pwrite;		/* pwrite of the state file: EIO */
static int fail_fdatasync;	/* fdatasync: EIO */
static int fail_writev;		/* 1: writev EIO; 2: half, then write EIO */

static ssize_t
flaky_writev(int fd, const struct iovec *iov, int n)
{
	if (fail_writev == 1) {
		errno = EIO;
		return -1;
	}
	if (fail_writev == 2)		/* the "<seq> " only */
		return write(fd, iov[0].iov_base, iov[0].iov_len);
	return writev(fd, iov, n);
}

static ssize_t
flaky_write(int fd, const void *buf, size_t n)
{
	if (fail_writev == 2) {
		errno = EIO;
		return -1;
	}
	return write(fd, buf, n);
}

static ssize_t
flaky_pwrite(int fd, const void *buf, size_t n, off_t at)
{
	if (fail_pwrite) {
		errno = EIO;
		return -1;
	}
	return pwrite(fd, buf, n, at);
}

static int
flaky_fdatasync(int fd)
{
	if (fail_fdatasync) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

/* stderr into a file, with udpd's log lines; how many hold what. */
static int saved_stderr = -1;

static void
capture_log(void)
{
	int fd = open(in_dir("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ne(fd, -1);
	fflush(stderr);
	saved_stderr = dup(2);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
	log_init(1, LOG_DAEMON);
	chat_file_sys.pwrite = flaky_pwrite;
	chat_file_sys.fdatasync = flaky_fdatasync;
	chat_file_sys.writev = flaky_writev;
	chat_file_sys.write = flaky_write;
}

static int
log_count(const char *what)
{
	char *all = slurp(in_dir("stderr"), NULL), *p;
	int n = 0;

	ck_assert_ptr_nonnull(all);
	for (p = all; (p = strstr(p, what)) != NULL; p++)
		n++;
	free(all);
	return n;
}

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

/* A reply as handle() leaves it: text, and the seq it acknowledges. */
static void
set_reply(struct udpd_reply *r, unsigned char *buf, size_t cap,
    const char *text, uint64_t seq)
{
	r->buf = buf;
	r->cap = cap;
	r->len = strlen(text);
	r->mark = seq;
	memcpy(buf, text, r->len);
}

static void
ck_buf(const struct udpd_reply *r, const char *want)
{
	ck_assert_msg(r->len == strlen(want) &&
	    memcmp(r->buf, want, r->len) == 0, "reply \"%.*s\", want \"%s\"",
	    (int)r->len, (const char *)r->buf, want);
}

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

/* ---- threads -------------------------------------------------------- */

#define PER_THREAD	250

struct worker {
	void		*st;
	int		 id;
	int		 failed;
	unsigned char	 seen[THREADS * PER_THREAD + 1];
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned char buf[128];
	char msg[32];

	for (int i = 0; i < PER_THREAD; i++) {
		struct udpd_reply rep = { buf, sizeof(buf), 0, 0 };
		struct udpd_request req = {
			.peer = (const struct sockaddr *)&peer4,
			.peerlen = sizeof(peer4), .rx_time = { T_SEC, T_NSEC },
			.worker = w->id,
		};
		unsigned long seq;

		snprintf(msg, sizeof(msg), "t%d-%d", w->id, i);
		req.data = (const unsigned char *)msg;
		req.len = strlen(msg);
		if (module_chat.handle(w->st, &req, &rep) != UDPD_REPLY ||
		    rep.len < 5 || sscanf((char *)buf, "ok %lu", &seq) != 1 ||
		    seq == 0 || seq > THREADS * PER_THREAD)
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
	unsigned char buf[128];
	char msg[32];

	for (int i = 0; i < RETRY_TEXTS; i++) {
		struct udpd_reply rep = { buf, sizeof(buf), 0, 0 };
		struct udpd_request req = {
			.peer = (const struct sockaddr *)&peer4,
			.peerlen = sizeof(peer4), .rx_time = { T_SEC, T_NSEC },
			.worker = w->id,
		};
		unsigned long seq;

		snprintf(msg, sizeof(msg), "same %d", i);
		req.data = (const unsigned char *)msg;
		req.len = strlen(msg);
		if (module_chat.handle(w->st, &req, &rep) != UDPD_REPLY ||
		    sscanf((char *)buf, "ok %lu", &seq) != 1 || seq == 0 ||
		    seq > RETRY_TEXTS)
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
