/*
 * chat_recover.h - reading a chat log's tail, for the file store
 * (chat_file.c) and its unit tests: where the sequence goes on, and the
 * newest lines, and the retry window rebuilt from the last ones.  Reads
 * only; never writes or locks.
 */
#ifndef UDPD_CHAT_RECOVER_H
#define UDPD_CHAT_RECOVER_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Finds where a chat log's sequence continues.  *good_end is set to the
 * offset just after the last "\n" (0 if none): bytes past it are a torn
 * last line that the caller must set aside before appending.  *last_seq is
 * the seq of the last complete line, 0 for a file without one.  Files that
 * are not regular (/dev/null) count as empty.
 *
 * Returns 0, or -1 with errno: EBADMSG when the last complete line does
 * not start with "<seq> " (1 to 20 digits, no leading zero, at most
 * 2^64-1), EOVERFLOW when the torn tail is longer than CHAT_LINE_MAX (no
 * chat log ends like that), or a read error.
 */
int	chat_recover(int fd, uint64_t *last_seq, off_t *good_end);

/*
 * Size of a regular file and the end of its last complete line (0, 0 for
 * anything else).  0, or -1 with errno (EOVERFLOW: a tail longer than any
 * chat line).
 */
int	chat_recover_tail(int fd, off_t *size, off_t *good_end);

/* pread of exactly n bytes; a file that shrank under us is EIO.  0 or -1. */
int	chat_recover_pread(int fd, void *buf, size_t n, off_t at);

/*
 * The last whole lines of a regular file (at most count, at most limit
 * bytes) into buf, which holds limit bytes: only the window that can be
 * sent is read, whatever the size of the log.  Bytes after the last "\n"
 * are not a line yet.  *len is what buf holds.  0, or -1 with errno.
 */
int	chat_recover_lines(int fd, size_t count, unsigned char *buf,
	    size_t limit, size_t *len);

/* The time a line's suffix starts with, "YYYY-MM-DDTHH:MM:SS.mmmZ ", in
 * ms since the epoch: 0, or -1 if p[0..n) does not start with one. */
int	chat_recover_time(const char *p, size_t n, int64_t *ms);

/* The most the rebuild of the retry window reads from a log's end. */
#define CHAT_RECOVER_WINDOW_BYTES	(8 << 20)

struct chat_window;

/*
 * Rebuilds the retry window from the last lines of a regular file, so a
 * retry after a restart is recognised: each whole line "<seq> <time>
 * <key>\n" from the newest back, CHAT_WINDOW_SIZE lines at most and
 * CHAT_RECOVER_WINDOW_BYTES, that is at most window_ms older than now_ms
 * (with 2 s to spare: workers write in arrival order each, not across
 * them; older lines are skipped, not an end, as a clock stepped back
 * puts them anywhere).  Lines out of format are skipped.  Each entry is
 * of file generation gen.  0, or -1 with errno.
 */
int	chat_recover_window(int fd, struct chat_window *w, int64_t now_ms,
	    unsigned window_ms, uint32_t gen);

#endif
