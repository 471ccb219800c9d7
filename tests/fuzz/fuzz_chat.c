/*
 * fuzz_chat.c - the chat module on real log files in a temporary
 * directory made once.  Input:
 *   byte 0	bit 0: instance (defaults, or max_message 16, history_max 3,
 *		max_reply 64); bits 1-2: the peer (IPv4, IPv6, scoped IPv6,
 *		IPv4-mapped); bit 3: receive time unset (the clock is read)
 *   byte 1	the reply capacity
 *   rest	the datagram: a message or a command such as "/history 2"
 * After each message the log must have grown by exactly one line,
 * "<seq> <time> <peer> <escaped text>\n", with the next seq, no control
 * byte, and text that unescapes to the message; the reply is "ok <seq>\n".
 * Or, for a repeat of a stored message from the same peer (the retry
 * window), the log must not have grown and the reply is that line's seq.
 * A /history reply must be the log's last whole lines, no more than
 * asked or than fit.  Every 2048 messages the log is cut to its last line
 * and the instance made again: the seq must go on.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "fuzz.h"

#define RESET_EVERY	2048

struct chat_case {
	const char		*body;
	const char		*file;
	size_t			 max_message, history_max, max_reply;
	const config_setting_t	*setting;
	void			*inst;
	char			 path[512];
	uint64_t		 seq;		/* the last seq in the log */
	unsigned		 posts;		/* since the last reset */
};

static struct chat_case cases[2] = {
	{ "log_file = \"a.log\";", "a.log", 1024, 100, 1200, NULL, NULL,
	    "", 0, 0 },
	{ "log_file = \"b.log\"; max_message = 16; history_max = 3; "
	    "max_reply = 64;", "b.log", 16, 3, 64, NULL, NULL, "", 0, 0 },
};
static char dir[256];

static const char *const peer_text[4] = {
	"127.0.0.1:40000", "[2001:db8::1]:40001", "[fe80::1%3]:40002",
	"192.0.2.7:40003"
};

static const struct sockaddr *
peer(int kind, socklen_t *len)
{
	static struct sockaddr_in sin;
	static struct sockaddr_in6 sin6;

	if (kind == 0) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(40000);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(sin);
		return (const struct sockaddr *)&sin;
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)(40000 + kind));
	inet_pton(AF_INET6, kind == 1 ? "2001:db8::1" : kind == 2 ?
	    "fe80::1" : "::ffff:192.0.2.7", &sin6.sin6_addr);
	sin6.sin6_scope_id = kind == 2 ? 3 : 0;
	*len = sizeof(sin6);
	return (const struct sockaddr *)&sin6;
}

static void
cleanup(void)
{
	char p[600];

	for (size_t i = 0; i < 2; i++) {
		unlink(cases[i].path);
		snprintf(p, sizeof(p), "%s.torn", cases[i].path);
		unlink(p);
	}
	rmdir(dir);
}

/* The whole log. */
static unsigned char *
slurp(const struct chat_case *c, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);

	FUZZ_CHECK(fd != -1 && fstat(fd, &st) == 0);
	buf = malloc((size_t)st.st_size + 1);
	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(pread(fd, buf, (size_t)st.st_size, 0) == st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static off_t
log_size(const struct chat_case *c)
{
	struct stat st;

	FUZZ_CHECK(stat(c->path, &st) == 0);
	return st.st_size;
}

/* Cuts the log to one line holding the current seq; a new instance. */
static void
reset(struct chat_case *c)
{
	char line[128];
	int fd, n;

	if (c->inst != NULL)
		module_chat.destroy(c->inst);
	n = snprintf(line, sizeof(line), "%" PRIu64 " 2026-11-21T23:36:47.123Z "
	    "127.0.0.1:1 reset\n", c->seq);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd != -1 && write(fd, line, (size_t)n) == n);
	close(fd);
	c->inst = fuzz_create(&module_chat, c->setting, dir);
	c->posts = 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/udpd-fuzz-chat.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < 2; i++) {
		snprintf(cases[i].path, sizeof(cases[i].path), "%s/%s", dir,
		    cases[i].file);
		cases[i].setting = fuzz_setting(&module_chat, cases[i].body);
		cases[i].seq = 41;
		reset(&cases[i]);
	}
	atexit(cleanup);
	return 0;
}

/* Whether the log line [line, line + llen) holds msg from peer kind. */
static int
line_is(const unsigned char *line, size_t llen, const uint8_t *msg,
    size_t len, int kind, uint64_t *seq)
{
	const unsigned char *p = memchr(line, ' ', llen), *q;
	size_t plen = strlen(peer_text[kind]), rest;
	unsigned char *back;
	long blen;
	int same;

	if (p == NULL || (q = memchr(p + 1, ' ', llen - (size_t)(p + 1 -
	    line))) == NULL)
		return 0;
	q++;
	rest = llen - (size_t)(q - line);
	if (rest < plen + 2 || memcmp(q, peer_text[kind], plen) != 0 ||
	    q[plen] != ' ')
		return 0;
	back = malloc(rest);
	FUZZ_CHECK(back != NULL);
	blen = fuzz_unescape((const char *)q + plen + 1, rest - plen - 2,
	    back);
	same = blen == (long)len && memcmp(back, msg, len) == 0;
	free(back);
	*seq = strtoull((const char *)line, NULL, 10);
	return same;
}

/* A repeat: the log did not grow; some line holds this peer's message,
 * and the reply names that line's seq. */
static void
check_repeat(const unsigned char *file, size_t flen, const uint8_t *msg,
    size_t len, int kind, const struct fuzz_reply *r)
{
	const unsigned char *line = file, *end;
	char ok[32];
	uint64_t seq;
	int found = 0, named = r->verdict != UDPD_REPLY;

	while (line < file + flen &&
	    (end = memchr(line, '\n', flen - (size_t)(line - file))) != NULL) {
		if (line_is(line, (size_t)(end - line) + 1, msg, len, kind,
		    &seq)) {
			found = 1;
			snprintf(ok, sizeof(ok), "ok %" PRIu64 "\n", seq);
			if (r->verdict == UDPD_REPLY && r->len == strlen(ok) &&
			    memcmp(r->buf, ok, r->len) == 0)
				named = 1;
		}
		line = end + 1;
	}
	FUZZ_CHECK(found && named);
	if (r->verdict != UDPD_REPLY)
		FUZZ_CHECK(r->verdict == UDPD_DROP);
}

static void
check_post(struct chat_case *c, const uint8_t *msg, size_t len, int kind,
    off_t before, const struct fuzz_reply *r)
{
	size_t flen, llen, plen;
	unsigned char *file = slurp(c, &flen), *line, *back;
	char prefix[128], ok[32];
	long blen;

	if ((off_t)flen == before) {
		check_repeat(file, flen, msg, len, kind, r);
		free(file);
		return;
	}
	FUZZ_CHECK((off_t)flen > before);
	line = file + before;
	llen = flen - (size_t)before;
	c->seq++;
	c->posts++;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%" PRIu64
	    " 2026-11-21T23:36:47.123Z %s ", c->seq, peer_text[kind]);
	FUZZ_CHECK(llen > plen && memcmp(line, prefix, plen) == 0);
	FUZZ_CHECK(line[llen - 1] == '\n');
	for (size_t i = 0; i + 1 < llen; i++)
		FUZZ_CHECK(line[i] >= 0x20 && line[i] != 0x7f);
	back = malloc(llen);
	FUZZ_CHECK(back != NULL);
	blen = fuzz_unescape((const char *)line + plen, llen - plen - 1, back);
	FUZZ_CHECK(blen == (long)len && memcmp(back, msg, len) == 0);
	free(back);
	snprintf(ok, sizeof(ok), "ok %" PRIu64 "\n", c->seq);
	if (strlen(ok) < r->cap) {
		FUZZ_CHECK(r->verdict == UDPD_REPLY);
		FUZZ_CHECK(r->len == strlen(ok) &&
		    memcmp(r->buf, ok, r->len) == 0);
	} else
		FUZZ_CHECK(r->verdict == UDPD_DROP);
	free(file);
}

/* "/history" or "/history <digits>": the count asked, else 0. */
static size_t
history_count(const struct chat_case *c, const uint8_t *cmd, size_t len)
{
	size_t v = 0;

	if (len == 8 && memcmp(cmd, "/history", 8) == 0)
		return 10 < c->history_max ? 10 : c->history_max;
	if (len < 10 || len > 14 || memcmp(cmd, "/history ", 9) != 0)
		return 0;
	for (size_t i = 9; i < len; i++) {
		if (cmd[i] < '0' || cmd[i] > '9')
			return 0;
		v = v * 10 + (size_t)(cmd[i] - '0');
	}
	return v < c->history_max ? v : c->history_max;
}

static void
check_history(const struct chat_case *c, const uint8_t *cmd, size_t len,
    const struct fuzz_reply *r)
{
	size_t want = history_count(c, cmd, len), flen, lines = 0, limit;
	unsigned char *file;
	size_t start;

	/* Not /history at all: the SPEC's unknown command. */
	if (!(len == 8 || (len > 8 && cmd[8] == ' ')) ||
	    memcmp(cmd, "/history", 8) != 0) {
		static const char unknown[] = "error: unknown command\n";

		if (sizeof(unknown) - 1 < r->cap) {
			FUZZ_CHECK(r->verdict == UDPD_REPLY_ERROR);
			FUZZ_CHECK(r->len == sizeof(unknown) - 1 &&
			    memcmp(r->buf, unknown, r->len) == 0);
		} else
			FUZZ_CHECK(r->verdict == UDPD_DROP);
		return;
	}
	if (r->verdict != UDPD_REPLY) {
		FUZZ_CHECK(want == 0);		/* a good command is answered */
		if (r->verdict == UDPD_REPLY_ERROR)
			FUZZ_CHECK(fuzz_is_error_line(r->buf, r->len));
		return;
	}
	file = slurp(c, &flen);
	limit = c->max_reply < r->cap ? c->max_reply : r->cap;
	/* The last whole lines of the log, newest last, within limits. */
	FUZZ_CHECK(r->len <= limit && r->len <= flen);
	start = flen - r->len;
	FUZZ_CHECK(memcmp(file + start, r->buf, r->len) == 0);
	FUZZ_CHECK(start == 0 || file[start - 1] == '\n');
	for (size_t i = 0; i < r->len; i++)
		if (r->buf[i] == '\n')
			lines++;
	FUZZ_CHECK(r->len == 0 || r->buf[r->len - 1] == '\n');
	FUZZ_CHECK(lines <= c->history_max);
	if (want > 0) {
		FUZZ_CHECK(lines <= want);
		/* Fewer than asked only when the next older line would not
		 * fit, or there is none. */
		if (lines < want && start > 0) {
			size_t prev = start - 1;

			while (prev > 0 && file[prev - 1] != '\n')
				prev--;
			FUZZ_CHECK(flen - prev > limit);
		}
	}
	free(file);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chat_case *c;
	struct timespec rx = fuzz_now;
	struct fuzz_reply r;
	const struct sockaddr *pa;
	socklen_t plen;
	size_t cap, len;
	off_t before;
	int kind;
	char want[96];

	if (size < 2)
		return 0;
	c = &cases[data[0] & 1];
	kind = (data[0] >> 1) & 3;
	if (data[0] & 8)
		rx.tv_sec = rx.tv_nsec = 0;
	cap = fuzz_cap(data[1]);
	data += 2;
	size -= 2;
	pa = peer(kind, &plen);
	if (c->posts >= RESET_EVERY)
		reset(c);

	before = log_size(c);
	fuzz_handle(&module_chat, c->inst, data, size, cap, pa, plen, &rx, &r);
	len = udpd_line_length(data, size);
	if (len > 0 && data[0] != '/' && len <= c->max_message)
		check_post(c, data, len, kind, before, &r);
	else {
		FUZZ_CHECK(log_size(c) == before);	/* nothing written */
		if (len == 0)
			snprintf(want, sizeof(want), "error: not stored: "
			    "empty message\n");
		else if (data[0] != '/')
			snprintf(want, sizeof(want), "error: not stored: "
			    "message too long (max %zu bytes)\n",
			    c->max_message);
		if (len > 0 && data[0] == '/')
			check_history(c, data, len, &r);
		else if (strlen(want) < cap) {
			FUZZ_CHECK(r.verdict == UDPD_REPLY_ERROR);
			FUZZ_CHECK(r.len == strlen(want) &&
			    memcmp(r.buf, want, r.len) == 0);
		} else
			FUZZ_CHECK(r.verdict == UDPD_DROP);
	}
	free(r.buf);
	return 0;
}
