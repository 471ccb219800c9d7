/*
 * chat_recover.c - reading a chat log's tail (see chat_recover.h): the
 * seq of its last complete line, where a torn tail starts, and its newest
 * lines.  Only the tail is read, backwards, so a big log starts fast.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "chat_line.h"
#include "chat_recover.h"

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
