/*
 * chat_recover.c - reading a chat log's tail (see chat_recover.h): the
 * seq of its last complete line, where a torn tail starts, and its newest
 * lines.  Only the tail is read, backwards, so a big log starts fast.
 * The retry window rebuilt from its last lines.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "chat_line.h"
#include "chat_recover.h"
#include "chat_window.h"

#define CHAT_CHUNK		4096	/* backwards reads of the log */

int
chat_recover_pread(int fd, void *buf, size_t n, off_t at)
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
		if (chat_recover_pread(fd, buf, n, end) == -1)
			return -1;
		if ((p = memrchr(buf, '\n', n)) != NULL) {
			*pos = end + (p - buf);
			return 1;
		}
	}
	return 0;
}

/*
 * No chat line is longer than CHAT_LINE_MAX, so neither is a torn tail:
 * looking no further back keeps a start on a huge foreign file short.
 */
int
chat_recover_tail(int fd, off_t *size, off_t *good_end)
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

int
chat_recover(int fd, uint64_t *last_seq, off_t *good_end)
{
	char head[CHAT_SEQ_DIGITS + 1];
	off_t size, end, start, floor;
	size_t n;
	int r;

	*last_seq = 0;
	if (chat_recover_tail(fd, &size, good_end) == -1)
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
	if (chat_recover_pread(fd, head, n, start) == -1)
		return -1;
	if (chat_parse_seq(head, n, ' ', last_seq) == -1) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
chat_recover_lines(int fd, size_t count, unsigned char *buf, size_t limit,
    size_t *len)
{
	off_t size, end, from;
	size_t w, k, start, lines = 0;
	char before = '\n';

	*len = 0;
	if (chat_recover_tail(fd, &size, &end) == -1)
		return -1;
	from = end > (off_t)limit ? end - (off_t)limit : 0;
	if ((w = (size_t)(end - from)) == 0)
		return 0;
	if (chat_recover_pread(fd, buf, w, from) == -1 ||
	    (from > 0 && chat_recover_pread(fd, &before, 1, from - 1) == -1))
		return -1;
	start = w;
	for (k = w - 1; k > 0 && lines < count; k--)
		if (buf[k - 1] == '\n') {
			start = k;
			lines++;
		}
	if (k == 0 && lines < count && before == '\n')
		start = 0;
	memmove(buf, buf + start, w - start);
	*len = w - start;
	return 0;
}

/* ---- the retry window ---------------------------------------------- */

#define CHAT_TIME_LEN	24		/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
#define CHAT_SLACK_MS	2000

/* n digits at p as a number, or -1. */
static int
chat_recover_digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int
chat_recover_time(const char *p, size_t n, int64_t *ms)
{
	static const char shape[] = "0000-00-00T00:00:00.000Z ";
	struct tm tm = { 0 };
	int year, mon, day, hh, mm, ss, msec;
	time_t t;

	if (n < sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] != '0' && p[i] != shape[i])
			return -1;
	if ((year = chat_recover_digits(p, 4)) < 0 ||
	    (mon = chat_recover_digits(p + 5, 2)) < 1 || mon > 12 ||
	    (day = chat_recover_digits(p + 8, 2)) < 1 || day > 31 ||
	    (hh = chat_recover_digits(p + 11, 2)) < 0 || hh > 23 ||
	    (mm = chat_recover_digits(p + 14, 2)) < 0 || mm > 59 ||
	    (ss = chat_recover_digits(p + 17, 2)) < 0 || ss > 60 ||
	    (msec = chat_recover_digits(p + 20, 3)) < 0)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	if ((t = timegm(&tm)) == (time_t)-1 && year != 1969)
		return -1;
	*ms = (int64_t)t * 1000 + msec;
	return 0;
}

/* One line p[0..n) (its "\n" included) at offset off into the window,
 * unless it is older than oldest or out of format. */
static void
chat_recover_window_line(struct chat_window *w, const char *p, size_t n,
    off_t off, int64_t oldest, uint32_t gen)
{
	struct chat_window_entry e = { .off = off, .len = (uint32_t)n,
	    .gen = gen };
	const char *sp = memchr(p, ' ', n), *key;

	if (sp == NULL || chat_parse_seq(p, n, ' ', &e.seq) == -1 ||
	    chat_recover_time(sp + 1, n - (size_t)(sp + 1 - p), &e.ms) == -1 ||
	    e.ms < oldest)
		return;
	key = sp + 1 + CHAT_TIME_LEN + 1;
	e.hash = chat_window_hash(key, (size_t)(p + n - 1 - key));
	chat_window_add(w, &e);
}

int
chat_recover_window(int fd, struct chat_window *w, int64_t now_ms,
    unsigned window_ms, uint32_t gen)
{
	int64_t oldest = now_ms - (int64_t)window_ms - CHAT_SLACK_MS;
	off_t size, end, from;
	size_t n, k, start, lines = 0;
	char *buf;

	if (chat_recover_tail(fd, &size, &end) == -1)
		return -1;
	from = end > CHAT_RECOVER_WINDOW_BYTES ?
	    end - CHAT_RECOVER_WINDOW_BYTES : 0;
	if ((n = (size_t)(end - from)) == 0)
		return 0;
	if ((buf = malloc(n)) == NULL)
		return -1;
	if (chat_recover_pread(fd, buf, n, from) == -1) {
		free(buf);
		return -1;
	}
	/* buf[0..k) ends with a whole line; from the last one back.  A
	 * first line cut by the bound is not whole. */
	for (k = n; k > 0 && lines++ < CHAT_WINDOW_SIZE; k = start) {
		for (start = k - 1; start > 0 && buf[start - 1] != '\n';)
			start--;
		if (start == 0 && from > 0)
			break;
		chat_recover_window_line(w, buf + start, k - start,
		    from + (off_t)start, oldest, gen);
	}
	free(buf);
	return 0;
}
