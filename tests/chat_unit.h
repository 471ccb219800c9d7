/*
 * chat_unit.h - what the chat module's unit tests share (test_chat.c,
 * test_chat_file.c, test_chat_retry.c): a mkdtemp directory per test, a
 * module made from a config text, datagrams sent to it, files read back,
 * and a disk that fails on demand.  Static: each test program its copy.
 */
#ifndef UDPD_TESTS_CHAT_UNIT_H
#define UDPD_TESTS_CHAT_UNIT_H

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

static __attribute__((unused)) char tmpdir[64];
static __attribute__((unused)) char logpath[128];
static __attribute__((unused)) unsigned char rbuf[UDPD_MAX_DATAGRAM];
static __attribute__((unused)) size_t rlen;
static __attribute__((unused)) struct sockaddr_in peer4;
static __attribute__((unused)) struct sockaddr_in6 peer6;

/* A failing test leaves its directory behind, for a look at the log. */
static __attribute__((unused)) void
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
static __attribute__((unused)) void
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
static __attribute__((unused)) void *
try_new(const char *text, struct conf_err *err)
{
	struct module_ctx ctx = { .service = "chat", .nworkers = THREADS };

	return unit_create(&module_chat, text, "", tmpdir, &ctx, err);
}

/* parse() only, as `udpd -t` does; NULL with err. */
static __attribute__((unused)) void *
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
static __attribute__((unused)) void *
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

static __attribute__((unused)) void *
chat_new(const char *text)
{
	struct conf_err err;
	void *st = try_new(text, &err);

	ck_assert_msg(st != NULL, "create failed: %s", err.msg);
	return st;
}

/* parse() or start() must fail with a message holding want. */
static __attribute__((unused)) void
ck_create_fails(const char *text, const char *want)
{
	struct conf_err err;
	void *st = try_new(text, &err);

	ck_assert_msg(st == NULL, "create accepted: %s", text);
	ck_assert_msg(strstr(err.msg, want) != NULL,
	    "error \"%s\" lacks \"%s\"", err.msg, want);
}

static __attribute__((unused)) enum udpd_verdict
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

static __attribute__((unused)) enum udpd_verdict
send_len(void *st, const void *data, size_t len)
{
	return send_to(st, data, len, &peer4, sizeof(peer4), sizeof(rbuf));
}

static __attribute__((unused)) enum udpd_verdict
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
static __attribute__((unused)) char *
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

static __attribute__((unused)) void
ck_file(const char *path, const char *want)
{
	size_t len;
	char *got = slurp(path, &len);

	ck_assert_msg(got != NULL, "%s missing", path);
	ck_assert_msg(len == strlen(want) && memcmp(got, want, len) == 0,
	    "%s holds \"%s\", want \"%s\"", path, got, want);
	free(got);
}

static __attribute__((unused)) void
put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A path in the test directory (four in use at once at most). */
static __attribute__((unused)) const char *
in_dir(const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

/* The state file "chat.log.seq" holds seq, whole, in its new format. */
static __attribute__((unused)) void
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


/* No clock stamp from the daemon: the module asks req->now. */
static __attribute__((unused)) void
fixed_now(struct timespec *ts)
{
	ts->tv_sec = T_SEC + 60;
	ts->tv_nsec = 5000000;
}

/* Posts messages "m<from>".."m<to>" (their seqs) and returns the log. */
static __attribute__((unused)) char *
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
static __attribute__((unused)) const char *
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

/* Points the symlink chat.log at target. */
static __attribute__((unused)) void
relink(const char *target)
{
	unlink(logpath);
	ck_assert_int_eq(symlink(target, logpath), 0);
}

/* One read batch of n messages "m<k>", each new, through batch_end like
 * the listener. */
static __attribute__((unused)) void
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

static __attribute__((unused)) int fail_pwrite;		/* pwrite of the state file: EIO */
static __attribute__((unused)) int fail_fdatasync;	/* fdatasync: EIO */
static __attribute__((unused)) int fail_writev;		/* 1: writev EIO; 2: half, then write EIO */

static __attribute__((unused)) ssize_t
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

static __attribute__((unused)) ssize_t
flaky_write(int fd, const void *buf, size_t n)
{
	if (fail_writev == 2) {
		errno = EIO;
		return -1;
	}
	return write(fd, buf, n);
}

static __attribute__((unused)) ssize_t
flaky_pwrite(int fd, const void *buf, size_t n, off_t at)
{
	if (fail_pwrite) {
		errno = EIO;
		return -1;
	}
	return pwrite(fd, buf, n, at);
}

static __attribute__((unused)) int
flaky_fdatasync(int fd)
{
	if (fail_fdatasync) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

/* stderr into a file, with udpd's log lines; how many hold what. */
static __attribute__((unused)) int saved_stderr = -1;

static __attribute__((unused)) void
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

static __attribute__((unused)) int
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

/* A reply as handle() leaves it: text, and the seq it acknowledges. */
static __attribute__((unused)) void
set_reply(struct udpd_reply *r, unsigned char *buf, size_t cap,
    const char *text, uint64_t seq)
{
	r->buf = buf;
	r->cap = cap;
	r->len = strlen(text);
	r->mark = seq;
	memcpy(buf, text, r->len);
}

static __attribute__((unused)) void
ck_buf(const struct udpd_reply *r, const char *want)
{
	ck_assert_msg(r->len == strlen(want) &&
	    memcmp(r->buf, want, r->len) == 0, "reply \"%.*s\", want \"%s\"",
	    (int)r->len, (const char *)r->buf, want);
}

#endif
