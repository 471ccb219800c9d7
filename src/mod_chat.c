/*
 * mod_chat.c - a chat room whose every message is kept: each message is
 * appended to log_file as one escaped line with a gap-free sequence number
 * that survives restarts, and "/history [N]" reads the last lines back.
 *
 * Durability: a message is acknowledged ("ok <seq>\n") only once its whole
 * line went to the kernel in one write(2) on an O_APPEND descriptor; with
 * fsync = true only once an fdatasync covering it succeeded too (one per
 * read batch, in batch_end).  A failed write leaves neither a seq nor half
 * a line behind.
 *
 * The open file, its seq and its lock live in a struct chat_log shared by
 * every instance naming the same file, so that the instance a SIGHUP
 * reload creates goes on with the live one's seq instead of recovering
 * the file again while it is being written.
 *
 * Options (the SPEC's, with the limits chosen here):
 *   log_file	string, required; relative to the config file's directory
 *   max_message	1..65507, default 1024: message bytes after
 *		stripping one trailing "\n" or "\r\n", before escaping
 *   history_max	1..65507, default 100: the largest N of "/history N"; a
 *		bigger N is clamped to it (no more lines fit in a datagram)
 *   max_reply	64..65507, default 1200: the largest /history reply
 *   fsync	bool, default false
 */
#include "config.h"

#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "mod_chat.h"
#include "module.h"

#define CHAT_CHUNK		4096	/* backwards reads of the log */
#define CHAT_SEQ_DIGITS		20	/* UINT64_MAX */
#define CHAT_HISTORY_DEFAULT	10

/*
 * One open log file, shared by every instance that names it: on a SIGHUP
 * reload the new configuration's instance is created while the old one
 * still serves, and both must append with one seq and one lock (a second
 * recovery would reuse seqs the old instance goes on writing, or even
 * take a line being written for a torn one).
 */
struct chat_log {
	struct chat_log	*next;		/* registry, under chat_registry */
	int		 refs;
	char		*path;
	char		*service;	/* of the first instance, for logs */

	pthread_mutex_t	 lock;		/* everything below */
	int		 fd;
	int		 regular;	/* fd is a regular file */
	dev_t		 dev;		/* of fd */
	ino_t		 ino;
	uint64_t	 seq;		/* the last seq written */
	off_t		 repair_to;	/* -1, or where to cut a torn write */
	uint64_t	 refused;	/* messages refused since a success */
	char		 fail_why[64];	/* the reason last logged */
	int		 fsync_users;	/* instances with fsync = true */

	/* fsync = true: every seq <= synced is on disk, except those in
	 * (bad_lo, bad_hi] that a failed fdatasync left in doubt. */
	uint64_t	 synced;
	uint64_t	 bad_lo;
	uint64_t	 bad_hi;	/* 0: no failure */
	int		 bad_errno;
};

/* One service's instance. */
struct chat {
	struct chat_log	*log;		/* NULL with check_only */
	char		*line;		/* the line being written, log locked */
	size_t		 linecap;
	size_t		 max_message;
	size_t		 history_max;
	size_t		 max_reply;
	int		 fsync;
	int		 check_only;	/* udpd -t or disabled: no file */
};

static pthread_mutex_t	 chat_registry = PTHREAD_MUTEX_INITIALIZER;
static struct chat_log	*chat_logs;

static const char *const chat_options[] = {
	"log_file", "max_message", "history_max", "max_reply", "fsync", NULL
};

/* ---- escaping and formatting (pure) --------------------------------- */

/*
 * Length (2 to 4) of the well-formed UTF-8 sequence at p, or 0: the
 * ranges of RFC 3629's table, which leave out overlongs (C0, C1, E0 80-9F,
 * F0 80-8F), surrogates (ED A0-BF) and code points past U+10FFFF (F4 90-,
 * F5-FF).
 */
static size_t
chat_utf8_len(const unsigned char *p, size_t left)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

size_t
chat_escape(const unsigned char *in, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0, total = 0, n, take;
	int full = cap == 0;
	char esc[4];
	const char *src;

	while (i < len) {
		src = (const char *)in + i;
		take = 1;
		if (in[i] == '\\') {
			src = "\\\\";
			n = 2;
		} else if (in[i] >= 0x20 && in[i] < 0x7f) {
			n = 1;
		} else if (in[i] >= 0x80 &&
		    (take = chat_utf8_len(in + i, len - i)) != 0) {
			n = take;
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[in[i] >> 4];
			esc[3] = hex[in[i] & 0xf];
			src = esc;
			n = 4;
			take = 1;
		}
		if (!full && o + n < cap) {
			memcpy(out + o, src, n);
			o += n;
		} else
			full = 1;
		total += n;
		i += take;
	}
	if (cap > 0)
		out[o] = '\0';
	return total;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC, milliseconds truncated. */
static void
chat_format_time(const struct timespec *ts, char *out, size_t cap)
{
	time_t t = ts->tv_sec;
	long ms = ts->tv_nsec / 1000000;
	struct tm tm;

	if (ms < 0 || ms > 999)
		ms = 0;
	if (gmtime_r(&t, &tm) == NULL) {
		t = 0;
		ms = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(out, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/*
 * "ip:port", "[ip6]:port" or "[ip6%scope]:port"; an IPv4-mapped address
 * (a v4 client on a dual-stack socket) as the IPv4 address it is.
 */
static void
chat_format_peer(const struct sockaddr *sa, socklen_t salen, char *out,
    size_t cap)
{
	if (sa != NULL && ((sa->sa_family == AF_INET &&
	    salen >= (socklen_t)sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 &&
	    salen >= (socklen_t)sizeof(struct sockaddr_in6))))
		addr_format(sa, out, cap);
	else
		snprintf(out, cap, "?:0");
}

size_t
chat_format_line(char *out, size_t cap, uint64_t seq,
    const struct timespec *ts, const struct sockaddr *peer,
    socklen_t peerlen, const unsigned char *text, size_t len)
{
	char when[64], who[INET6_ADDRSTRLEN + 32];
	size_t n, e;
	int r;

	chat_format_time(ts, when, sizeof(when));
	chat_format_peer(peer, peerlen, who, sizeof(who));
	r = snprintf(out, cap, "%" PRIu64 " %s %s ", seq, when, who);
	if (r < 0 || (size_t)r >= cap)
		return 0;
	n = (size_t)r;
	e = chat_escape(text, len, out + n, cap - n);
	if (e >= cap - n)
		return 0;
	out[n + e] = '\n';		/* over the NUL */
	return n + e + 1;
}

/* ---- reading the log ------------------------------------------------ */

/* pread of exactly n bytes; a file that shrank under us is EIO. */
static int
chat_pread_all(int fd, void *buf, size_t n, off_t at)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, (char *)buf + got, n - got, at + (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/*
 * Finds the last "\n" in [floor, end) of fd, reading backwards in chunks,
 * so only the tail of a big log is read.  Returns 1 with *pos, 0 when
 * there is none, -1 on a read error.
 */
static int
chat_rfind_nl(int fd, off_t floor, off_t end, off_t *pos)
{
	char buf[CHAT_CHUNK];
	const char *p;
	size_t n;

	while (end > floor) {
		n = end - floor < CHAT_CHUNK ? (size_t)(end - floor) :
		    CHAT_CHUNK;
		end -= (off_t)n;
		if (chat_pread_all(fd, buf, n, end) == -1)
			return -1;
		if ((p = memrchr(buf, '\n', n)) != NULL) {
			*pos = end + (p - buf);
			return 1;
		}
	}
	return 0;
}

/*
 * Size of a regular file and the end of its last complete line.  No chat
 * line is longer than CHAT_LINE_MAX, so neither is a torn tail: looking
 * no further back keeps a start on a huge foreign file short.
 */
static int
chat_tail(int fd, off_t *size, off_t *good_end)
{
	struct stat st;
	off_t floor, nl;
	int r;

	*size = *good_end = 0;
	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return 0;
	*size = st.st_size;
	floor = st.st_size > CHAT_LINE_MAX + 1 ?
	    st.st_size - CHAT_LINE_MAX - 1 : 0;
	if ((r = chat_rfind_nl(fd, floor, st.st_size, &nl)) == -1)
		return -1;
	if (r == 0 && floor > 0) {
		errno = EOVERFLOW;
		return -1;
	}
	*good_end = r == 1 ? nl + 1 : 0;
	return 0;
}

/* A seq followed by term: 1-20 digits, no leading zero, no overflow. */
static int
chat_parse_seq(const char *p, size_t n, char term, uint64_t *seq)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || p[0] < '1' || p[0] > '9')
		return -1;
	for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (i >= n || p[i] != term)
		return -1;
	*seq = v;
	return 0;
}

int
chat_recover(int fd, uint64_t *last_seq, off_t *good_end)
{
	char head[CHAT_SEQ_DIGITS + 1];
	off_t size, end, start, floor;
	size_t n;
	int r;

	*last_seq = 0;
	if (chat_tail(fd, &size, good_end) == -1)
		return -1;
	if ((end = *good_end) == 0)
		return 0;
	end--;					/* its "\n" */
	floor = end > CHAT_LINE_MAX ? end - CHAT_LINE_MAX : 0;
	if ((r = chat_rfind_nl(fd, floor, end, &start)) == -1)
		return -1;
	if (r == 0 && floor > 0) {
		errno = EBADMSG;		/* too long to be a chat line */
		return -1;
	}
	start = r == 1 ? start + 1 : 0;
	n = end - start < (off_t)sizeof(head) ? (size_t)(end - start) :
	    sizeof(head);
	if (chat_pread_all(fd, head, n, start) == -1)
		return -1;
	if (chat_parse_seq(head, n, ' ', last_seq) == -1) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* ---- opening the log ------------------------------------------------ */

/*
 * Opens the log for appending.  O_RDWR rather than O_WRONLY because the
 * start-up recovery and /history read the very file that is written
 * (even after it was renamed by a rotation).  Anything but a regular file
 * or a character device (/dev/null) is refused: a FIFO would block the
 * workers.  Returns the fd with its stat, or -1 with *why.
 */
static int
chat_open_fd(const char *path, struct stat *st, const char **why)
{
	int fd;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0640);
	if (fd == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, st) == -1) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode) && !S_ISCHR(st->st_mode)) {
		*why = "not a regular file";
		close(fd);
		return -1;
	}
	return fd;
}

/* write(2) until done, for the side file only (the log gets one write). */
static int
chat_write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, buf, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * A torn last line (a write cut short by a crash or a full disk) must not
 * have the next line glued to it, and must not be destroyed either: its
 * bytes go, with a "\n", to "<log_file>.torn" and are synced there, and
 * only then is the log cut back to its last complete line.  A crash in
 * between copies the fragment twice but never loses it.  (Writing a "\n"
 * after it instead would leave a line out of format for /history to show
 * and for the next recovery to trip over.)  Returns 0 or -1 with errno.
 */
static int
chat_set_aside(const struct chat_log *lg, int fd, off_t good_end, off_t size)
{
	size_t n = (size_t)(size - good_end);
	char *buf = NULL, *tpath = NULL;
	int tfd = -1, rc = -1, saved;

	if ((buf = malloc(n + 1)) == NULL ||
	    asprintf(&tpath, "%s.torn", lg->path) == -1) {
		tpath = NULL;
		errno = ENOMEM;
		goto done;
	}
	if (chat_pread_all(fd, buf, n, good_end) == -1)
		goto done;
	buf[n] = '\n';
	tfd = open(tpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0640);
	if (tfd == -1 || chat_write_all(tfd, buf, n + 1) == -1 ||
	    fdatasync(tfd) == -1 || ftruncate(fd, good_end) == -1)
		goto done;
	log_warnx("chat %s: %s: moved a torn last line of %zu bytes to %s",
	    lg->service, lg->path, n, tpath);
	rc = 0;
done:
	saved = errno;
	if (tfd != -1)
		close(tfd);
	free(tpath);
	free(buf);
	errno = saved;
	return rc;
}

/* A torn tail of fd set aside (regular files only); -1 with errno. */
static int
chat_clean_tail(const struct chat_log *lg, int fd)
{
	off_t size, good_end;

	if (chat_tail(fd, &size, &good_end) == -1)
		return -1;
	if (size > good_end && chat_set_aside(lg, fd, good_end, size) == -1)
		return -1;
	return 0;
}

/* The create error for a chat_recover failure (errno). */
static int
chat_recover_error(const char *path, const config_setting_t *s,
    struct conf_err *err)
{
	if (errno == EBADMSG)
		return conf_error(err, s, "%s: its last line does not start "
		    "with a sequence number; not a chat log?", path);
	if (errno == EOVERFLOW)
		return conf_error(err, s, "%s: ends with over %d bytes "
		    "without a newline; not a chat log?", path,
		    CHAT_LINE_MAX);
	return conf_error(err, s, "%s: %s", path, strerror(errno));
}

/*
 * udpd -t (and disabled services): the checks of a real start with
 * nothing opened for writing, created or cut: an existing log must be a
 * regular file or a character device whose seq can be recovered, a
 * missing one must have a directory to be created in.
 */
static int
chat_check(const char *path, const config_setting_t *s,
    struct conf_err *err)
{
	struct stat st;
	uint64_t seq;
	off_t good_end;
	char *dir, *slash;
	int fd, rc = 0;

	if (stat(path, &st) == -1) {
		if (errno != ENOENT)
			return conf_error(err, s, "%s: %s", path,
			    strerror(errno));
		if ((dir = strdup(path)) == NULL)
			return conf_error(err, s, "out of memory");
		if ((slash = strrchr(dir, '/')) != NULL)
			slash[slash == dir ? 1 : 0] = '\0';
		if (stat(slash != NULL ? dir : ".", &st) == -1)
			rc = conf_error(err, s, "%s: %s", dir, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			rc = conf_error(err, s, "%s: not a directory", dir);
		free(dir);
		return rc;
	}
	if (S_ISCHR(st.st_mode))
		return 0;
	if (!S_ISREG(st.st_mode))
		return conf_error(err, s, "%s: not a regular file", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return conf_error(err, s, "%s: %s", path, strerror(errno));
	if (chat_recover(fd, &seq, &good_end) == -1)
		rc = chat_recover_error(path, s, err);
	close(fd);
	return rc;
}

/* The live log with this path, or this file under another name. */
static struct chat_log *
chat_log_find(const char *path)
{
	struct chat_log *lg;
	struct stat st;
	int have_st = stat(path, &st) == 0;

	for (lg = chat_logs; lg != NULL; lg = lg->next)
		if (strcmp(lg->path, path) == 0 || (have_st &&
		    lg->dev == st.st_dev && lg->ino == st.st_ino))
			return lg;
	return NULL;
}

static void
chat_log_free(struct chat_log *lg)
{
	if (lg->fd != -1)
		close(lg->fd);
	pthread_mutex_destroy(&lg->lock);
	free(lg->path);
	free(lg->service);
	free(lg);
}

/* Makes a rename in path's directory survive a power cut. */
static void
chat_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
}

/*
 * "<log_file>.seq" holds the last seq handed out when the log was last
 * reopened.  A rotation leaves the log empty; without this, a restart right
 * after it would recover nothing and start the sequence again at 1.
 */
static void
chat_seq_save(const struct chat_log *lg)
{
	char path[PATH_MAX], tmp[PATH_MAX], text[32];
	int fd, len;

	if ((size_t)snprintf(path, sizeof(path), "%s.seq", lg->path) >=
	    sizeof(path) || (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp",
	    path) >= sizeof(tmp))
		return;
	len = snprintf(text, sizeof(text), "%" PRIu64 "\n", lg->seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY |
	    O_NOFOLLOW, 0640);
	if (fd == -1 || chat_write_all(fd, text, (size_t)len) == -1 ||
	    fsync(fd) == -1 || rename(tmp, path) == -1)
		log_warn("chat %s: cannot save the sequence to %s",
		    lg->service, path);
	else
		chat_sync_dir(path);
	if (fd != -1)
		close(fd);
}

/* The seq saved by chat_seq_save(), or 0. */
static uint64_t
chat_seq_load(const char *log_path)
{
	char path[PATH_MAX], text[32];
	uint64_t seq = 0;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s.seq", log_path) >=
	    sizeof(path) || (fd = open(path, O_RDONLY | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK)) == -1)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	/* UINT64_MAX would refuse every message: not a seq we gave out. */
	if (n <= 0 || chat_parse_seq(text, (size_t)n, '\n', &seq) == -1 ||
	    seq == UINT64_MAX)
		return 0;
	return seq;
}

/*
 * Opens a log not open yet: the seq is recovered from its last complete
 * line (or the saved one, if higher) and a torn tail set aside.  NULL with
 * err naming log_file.
 */
static struct chat_log *
chat_log_open(const char *path, const char *service,
    const config_setting_t *s, struct conf_err *err)
{
	struct chat_log *lg;
	struct stat st;
	const char *why;
	off_t good_end;

	if ((lg = calloc(1, sizeof(*lg))) == NULL) {
		conf_error(err, s, "out of memory");
		return NULL;
	}
	lg->fd = -1;
	lg->repair_to = -1;
	pthread_mutex_init(&lg->lock, NULL);
	if ((lg->path = strdup(path)) == NULL ||
	    (lg->service = strdup(service)) == NULL) {
		conf_error(err, s, "out of memory");
		goto fail;
	}
	if ((lg->fd = chat_open_fd(path, &st, &why)) == -1) {
		conf_error(err, s, "%s: %s", path, why);
		goto fail;
	}
	lg->regular = S_ISREG(st.st_mode);
	lg->dev = st.st_dev;
	lg->ino = st.st_ino;
	if (chat_recover(lg->fd, &lg->seq, &good_end) == -1) {
		chat_recover_error(path, s, err);
		goto fail;
	}
	if (lg->regular && chat_clean_tail(lg, lg->fd) == -1) {
		conf_error(err, s, "%s: cannot set its torn last line aside: "
		    "%s", path, strerror(errno));
		goto fail;
	}
	if (lg->regular) {
		uint64_t saved = chat_seq_load(path);

		if (saved > lg->seq) {
			log_notice("chat %s: %s: the sequence goes on from %"
			    PRIu64 " (%s.seq), not %" PRIu64 " (its last line)",
			    service, path, saved, path, lg->seq);
			lg->seq = saved;
		}
	}
	lg->synced = lg->seq;
	lg->refs = 1;
	return lg;
fail:
	chat_log_free(lg);
	return NULL;
}

/* The shared log for path, opened on first use. */
static struct chat_log *
chat_log_get(const char *path, const char *service,
    const config_setting_t *s, struct conf_err *err)
{
	struct chat_log *lg;

	pthread_mutex_lock(&chat_registry);
	if ((lg = chat_log_find(path)) != NULL)
		lg->refs++;
	else if ((lg = chat_log_open(path, service, s, err)) != NULL) {
		lg->next = chat_logs;
		chat_logs = lg;
	}
	pthread_mutex_unlock(&chat_registry);
	return lg;
}

static void
chat_log_put(struct chat_log *lg)
{
	struct chat_log **pp;

	pthread_mutex_lock(&chat_registry);
	if (--lg->refs > 0) {
		pthread_mutex_unlock(&chat_registry);
		return;
	}
	for (pp = &chat_logs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == lg) {
			*pp = lg->next;
			break;
		}
	pthread_mutex_unlock(&chat_registry);
	if (lg->repair_to >= 0 && ftruncate(lg->fd, lg->repair_to) == -1)
		log_warn("chat %s: %s: cannot cut a partial line back",
		    lg->service, lg->path);
	/* A rotation while udpd is stopped must not restart the sequence. */
	if (lg->regular && lg->fd != -1)
		chat_seq_save(lg);
	chat_log_free(lg);
}

/* log_file relative to the config file's directory. */
static char *
chat_resolve(const char *dir, const char *file)
{
	char *path;

	if (file[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(file);
	if (asprintf(&path, "%s/%s", dir, file) == -1)
		return NULL;
	return path;
}

/* Reads and checks the options into c; -1 with err set. */
static int
chat_options_read(struct chat *c, const config_setting_t *service,
    const char **log_file, struct conf_err *err)
{
	long long max_message = 1024, history_max = 100, max_reply = 1200;
	int fsync_on = 0;

	*log_file = NULL;
	if (conf_get_string(service, "log_file", log_file, err) < 0 ||
	    conf_get_int(service, "max_message", 1, UDPD_MAX_DATAGRAM,
	    &max_message, err) < 0 ||
	    conf_get_int(service, "history_max", 1, UDPD_MAX_DATAGRAM,
	    &history_max, err) < 0 ||
	    conf_get_int(service, "max_reply", 64, UDPD_MAX_DATAGRAM,
	    &max_reply, err) < 0 ||
	    conf_get_bool(service, "fsync", &fsync_on, err) < 0)
		return -1;
	if (*log_file == NULL)
		return conf_error(err, service, "log_file is required");
	if ((*log_file)[0] == '\0')
		return conf_error(err,
		    config_setting_get_member(service, "log_file"),
		    "must not be empty");
	c->max_message = (size_t)max_message;
	c->history_max = (size_t)history_max;
	c->max_reply = (size_t)max_reply;
	c->fsync = fsync_on;
	return 0;
}

/*
 * Checks the options, then joins the log (opening and recovering it if no
 * live instance has it yet).  With check_only nothing is opened: the file
 * is only checked, unless a live instance has it open already.
 */
static void *
chat_create(const config_setting_t *service, const struct module_ctx *ctx,
    struct conf_err *err)
{
	const config_setting_t *s;
	const char *log_file, *name;
	struct chat *c;
	char *path = NULL;
	int live;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conf_error(err, service, "out of memory");
		return NULL;
	}
	if (chat_options_read(c, service, &log_file, err) == -1)
		goto fail;
	s = config_setting_get_member(service, "log_file");
	name = ctx != NULL && ctx->service != NULL ? ctx->service : "chat";
	c->check_only = ctx != NULL && ctx->check_only;
	if ((path = chat_resolve(ctx != NULL ? ctx->config_dir : NULL,
	    log_file)) == NULL) {
		conf_error(err, s, "out of memory");
		goto fail;
	}
	if (c->check_only) {
		pthread_mutex_lock(&chat_registry);
		live = chat_log_find(path) != NULL;
		pthread_mutex_unlock(&chat_registry);
		if (!live && chat_check(path, s, err) == -1)
			goto fail;
		free(path);
		return c;
	}
	c->linecap = CHAT_PREFIX_MAX + 4 * c->max_message + 1;
	if ((c->line = malloc(c->linecap)) == NULL) {
		conf_error(err, s, "out of memory");
		goto fail;
	}
	if ((c->log = chat_log_get(path, name, s, err)) == NULL)
		goto fail;
	if (c->fsync) {
		pthread_mutex_lock(&c->log->lock);
		c->log->fsync_users++;
		pthread_mutex_unlock(&c->log->lock);
	}
	free(path);
	return c;
fail:
	free(path);
	free(c->line);
	free(c);
	return NULL;
}

/* ---- handling requests ---------------------------------------------- */

/* A formatted reply; one that does not fit in the buffer is dropped. */
static enum udpd_verdict __attribute__((format(printf, 3, 4)))
chat_reply(struct udpd_reply *rep, enum udpd_verdict v, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)rep->buf, rep->cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= rep->cap) {
		rep->len = 0;
		return UDPD_DROP;
	}
	rep->len = (size_t)n;
	return v;
}

/*
 * fdatasync for every line written so far.  A failure marks the seqs it
 * leaves in doubt for good: after a failed fsync Linux may report later
 * ones as successful although the dirty pages are gone (PostgreSQL's
 * "fsyncgate"), so those lines must never be acked.  The doubtful range
 * only grows, which at worst turns a stored message's ack into an error.
 * Called with the log locked.
 */
static void
chat_sync_locked(struct chat_log *lg)
{
	uint64_t target = lg->seq;

	if (target <= lg->synced)
		return;
	if (fdatasync(lg->fd) == 0) {
		lg->synced = target;
		return;
	}
	lg->bad_errno = errno;
	log_warn("chat %s: %s: fdatasync", lg->service, lg->path);
	if (lg->bad_hi == 0)
		lg->bad_lo = lg->synced;
	lg->bad_hi = target;
}

/*
 * Appends n bytes of line with one write(2): with O_APPEND it lands whole
 * at the end.  A short write (disk full in mid-line) is cut back with
 * ftruncate so the log never holds half a line; if even that fails, the
 * cut is retried before the next write, which is refused until it works.
 * A removed log (no links left) is refused: what went there would be
 * lost.  Log locked; NULL, or why nothing was stored.
 */
static const char *
chat_append(struct chat_log *lg, const char *line, size_t n)
{
	struct stat st;
	off_t before = -1;
	ssize_t w;

	if (lg->repair_to >= 0) {
		if (ftruncate(lg->fd, lg->repair_to) == -1)
			return strerror(errno);
		lg->repair_to = -1;
	}
	if (lg->regular) {
		if (fstat(lg->fd, &st) == -1)
			return strerror(errno);
		if (st.st_nlink == 0)
			return "log file was removed";
		before = st.st_size;
	}
	do
		w = write(lg->fd, line, n);
	while (w == -1 && errno == EINTR);
	if (w == -1)
		return strerror(errno);
	if ((size_t)w == n)
		return NULL;
	if (before >= 0 && w > 0 && ftruncate(lg->fd, before) == -1) {
		log_warn("chat %s: %s: cannot cut a partial line back",
		    lg->service, lg->path);
		lg->repair_to = before;
	}
	return "short write";
}

/*
 * Failures come in runs (a full disk refuses every message): the first
 * one and each change of reason are logged, the end of the run with a
 * count, never one line per message.  Log locked.
 */
static void
chat_failed(struct chat_log *lg, const char *why)
{
	lg->refused++;
	if (strncmp(lg->fail_why, why, sizeof(lg->fail_why) - 1) == 0)
		return;
	snprintf(lg->fail_why, sizeof(lg->fail_why), "%s", why);
	log_warnx("chat %s: %s: cannot append: %s; messages are refused",
	    lg->service, lg->path, why);
}

static void
chat_succeeded(struct chat_log *lg)
{
	if (lg->refused == 0)
		return;
	log_notice("chat %s: %s: appending again after %" PRIu64
	    " refused message(s)", lg->service, lg->path, lg->refused);
	lg->refused = 0;
	lg->fail_why[0] = '\0';
}

static enum udpd_verdict
chat_post(struct chat *c, const struct udpd_request *req, size_t len,
    struct udpd_reply *rep)
{
	struct chat_log *lg = c->log;
	struct timespec ts = req->rx_time;
	const char *why;
	uint64_t seq;
	size_t n;

	if (ts.tv_sec == 0 && ts.tv_nsec == 0 && req->now != NULL)
		req->now(&ts);
	pthread_mutex_lock(&lg->lock);
	if (lg->seq == UINT64_MAX)
		why = "sequence exhausted";
	else if ((n = chat_format_line(c->line, c->linecap, lg->seq + 1, &ts,
	    req->peer, req->peerlen, req->data, len)) == 0)
		why = "line too long";		/* cannot happen: linecap */
	else if ((why = chat_append(lg, c->line, n)) == NULL) {
		seq = ++lg->seq;
		chat_succeeded(lg);
		pthread_mutex_unlock(&lg->lock);
		return chat_reply(rep, UDPD_REPLY, "ok %" PRIu64 "\n", seq);
	}
	chat_failed(lg, why);
	pthread_mutex_unlock(&lg->lock);
	return chat_reply(rep, UDPD_REPLY_ERROR, "error: write failed: %s\n",
	    why);
}

/*
 * The N of "/history N": default 10, 0 or anything but digits is an error,
 * more than history_max is clamped to it (as tail -n takes any count).
 * Surrounding spaces are allowed.  -1 on a bad count.
 */
static int
chat_parse_count(const unsigned char *p, size_t n, size_t max,
    size_t *count)
{
	size_t i = 0, v = 0, digits = 0;

	while (i < n && p[i] == ' ')
		i++;
	if (i == n) {
		*count = CHAT_HISTORY_DEFAULT < max ? CHAT_HISTORY_DEFAULT :
		    max;
		return 0;
	}
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++)
		if (v <= max)
			v = v * 10 + (size_t)(p[i] - '0');
	while (i < n && p[i] == ' ')
		i++;
	if (digits == 0 || i != n || v == 0)
		return -1;
	*count = v < max ? v : max;
	return 0;
}

/*
 * Reads the last whole lines of the log (at most count, at most limit
 * bytes) straight into the reply: only the window that can be sent is
 * read, whatever the size of the log.  Bytes after the last "\n" are not
 * a line yet.  Log locked; NULL, or why the log could not be read.
 */
static const char *
chat_history_read(const struct chat_log *lg, size_t count, size_t limit,
    struct udpd_reply *rep)
{
	unsigned char *buf = rep->buf;
	off_t size, end, from;
	size_t w, k, start, lines = 0;
	char before = '\n';

	rep->len = 0;
	if (!lg->regular)
		return NULL;
	if (chat_tail(lg->fd, &size, &end) == -1)
		return strerror(errno);
	from = end > (off_t)limit ? end - (off_t)limit : 0;
	if ((w = (size_t)(end - from)) == 0)
		return NULL;
	if (chat_pread_all(lg->fd, buf, w, from) == -1 ||
	    (from > 0 && chat_pread_all(lg->fd, &before, 1, from - 1) == -1))
		return strerror(errno);
	start = w;
	for (k = w - 1; k > 0 && lines < count; k--)
		if (buf[k - 1] == '\n') {
			start = k;
			lines++;
		}
	if (k == 0 && lines < count && before == '\n')
		start = 0;
	memmove(buf, buf + start, w - start);
	rep->len = w - start;
	return NULL;
}

/*
 * "/history [N]": the log's last N lines as they are, newest last, the
 * oldest whole lines dropped to fit max_reply.  No line (an empty log, or
 * a newest line longer than max_reply) is an empty reply.
 */
static enum udpd_verdict
chat_history(struct chat *c, size_t count, struct udpd_reply *rep)
{
	size_t limit = c->max_reply < rep->cap ? c->max_reply : rep->cap;
	struct chat_log *lg = c->log;
	const char *why;

	pthread_mutex_lock(&lg->lock);
	why = chat_history_read(lg, count, limit, rep);
	pthread_mutex_unlock(&lg->lock);
	if (why == NULL)
		return UDPD_REPLY;
	log_warnx("chat %s: %s: cannot read history: %s", lg->service,
	    lg->path, why);
	return chat_reply(rep, UDPD_REPLY_ERROR, "error: cannot read log: "
	    "%s\n", why);
}

static enum udpd_verdict
chat_command(struct chat *c, const unsigned char *cmd, size_t len,
    struct udpd_reply *rep)
{
	static const char history[] = "/history";
	const size_t hl = sizeof(history) - 1;
	size_t count;

	if (len < hl || memcmp(cmd, history, hl) != 0 ||
	    (len > hl && cmd[hl] != ' '))
		return chat_reply(rep, UDPD_REPLY_ERROR,
		    "error: unknown command\n");
	if (chat_parse_count(cmd + hl, len - hl, c->history_max, &count) == -1)
		return chat_reply(rep, UDPD_REPLY_ERROR, "error: bad count\n");
	return chat_history(c, count, rep);
}

static enum udpd_verdict
chat_handle(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	struct chat *c = state;
	size_t len = udpd_strip_line(req->data, req->len);

	rep->len = 0;
	if (c->check_only)
		return UDPD_DROP_SILENT;
	if (len == 0)
		return chat_reply(rep, UDPD_REPLY_ERROR,
		    "error: empty message\n");
	if (req->data[0] == '/')
		return chat_command(c, req->data, len, rep);
	if (len > c->max_message)
		return chat_reply(rep, UDPD_REPLY_ERROR,
		    "error: message too long (max %zu bytes)\n",
		    c->max_message);
	return chat_post(c, req, len, rep);
}

/* ---- batches, rotation, end ----------------------------------------- */

/* The seq of an "ok <seq>\n" reply. */
static int
chat_parse_ok(const struct udpd_reply *rep, uint64_t *seq)
{
	const char *p = (const char *)rep->buf;

	if (rep->len < 3 || memcmp(p, "ok ", 3) != 0)
		return -1;
	return chat_parse_seq(p + 3, rep->len - 3, '\n', seq);
}

/*
 * fsync = true: one fdatasync covers every message acknowledged in the
 * batch (unless another worker's already did); if it fails, each "ok"
 * of the batch that it leaves in doubt becomes an error before it is sent.
 */
static void
chat_batch_end(void *state, struct udpd_reply *replies,
    enum udpd_verdict *verdicts, size_t n)
{
	struct chat *c = state;
	struct chat_log *lg = c->log;
	uint64_t seq, hi = 0, bad_lo, bad_hi;
	int bad_errno;

	if (!c->fsync || c->check_only)
		return;
	for (size_t i = 0; i < n; i++)
		if (verdicts[i] == UDPD_REPLY &&
		    chat_parse_ok(&replies[i], &seq) == 0 && seq > hi)
			hi = seq;
	if (hi == 0)
		return;
	pthread_mutex_lock(&lg->lock);
	if (hi > lg->synced)
		chat_sync_locked(lg);
	bad_lo = lg->bad_lo;
	bad_hi = lg->bad_hi;
	bad_errno = lg->bad_errno;
	pthread_mutex_unlock(&lg->lock);
	for (size_t i = 0; i < n; i++)
		if (verdicts[i] == UDPD_REPLY &&
		    chat_parse_ok(&replies[i], &seq) == 0 &&
		    seq > bad_lo && seq <= bad_hi)
			verdicts[i] = chat_reply(&replies[i],
			    UDPD_REPLY_ERROR, "error: fsync failed: %s\n",
			    strerror(bad_errno));
}

/*
 * SIGHUP, after a log rotation: the path is opened afresh and the seq goes
 * on from memory (the new file is normally empty; it is not recovered
 * from).  A torn tail in it is set aside as at start.  If any instance
 * has fsync on, the old file is synced first: the batch_end of lines
 * written there (maybe by a worker's batch in flight) syncs the new one.
 * If anything fails the old file stays in use: losing messages is worse
 * than not rotating.
 */
static void
chat_reopen(void *state)
{
	struct chat *c = state;
	struct chat_log *lg = c->log;
	struct stat st;
	const char *why;
	int fd;

	if (c->check_only)
		return;
	pthread_mutex_lock(&lg->lock);
	if (lg->repair_to >= 0 && ftruncate(lg->fd, lg->repair_to) == 0)
		lg->repair_to = -1;
	if ((fd = chat_open_fd(lg->path, &st, &why)) == -1)
		goto fail;
	if (S_ISREG(st.st_mode) && chat_clean_tail(lg, fd) == -1) {
		why = strerror(errno);
		close(fd);
		goto fail;
	}
	if (lg->fsync_users > 0)
		chat_sync_locked(lg);
	if (lg->repair_to >= 0)
		log_warnx("chat %s: %s: the old file keeps a partial line",
		    lg->service, lg->path);
	close(lg->fd);
	lg->fd = fd;
	lg->regular = S_ISREG(st.st_mode);
	lg->dev = st.st_dev;
	lg->ino = st.st_ino;
	lg->repair_to = -1;
	if (lg->regular)
		chat_seq_save(lg);
	pthread_mutex_unlock(&lg->lock);
	log_info("chat %s: reopened %s", lg->service, lg->path);
	return;
fail:
	pthread_mutex_unlock(&lg->lock);
	log_warnx("chat %s: cannot reopen %s: %s; still appending to the "
	    "old file", lg->service, lg->path, why);
}

/* With fsync on, what this instance acknowledged is synced on the way out. */
static void
chat_destroy(void *state)
{
	struct chat *c = state;

	if (c == NULL)
		return;
	if (c->log != NULL) {
		if (c->fsync) {
			pthread_mutex_lock(&c->log->lock);
			chat_sync_locked(c->log);
			c->log->fsync_users--;
			pthread_mutex_unlock(&c->log->lock);
		}
		chat_log_put(c->log);
	}
	free(c->line);
	free(c);
}

const struct udpd_module module_chat = {
	.name = "chat",
	.options = chat_options,
	.max_request = 0,		/* a too-long message gets an error */
	.wants_rx_timestamp = 1,
	.reply_is_terminal = NULL,	/* two chats could ack each other */
	.create = chat_create,
	.handle = chat_handle,
	.destroy = chat_destroy,
	.batch_end = chat_batch_end,
	.reopen = chat_reopen,
};
