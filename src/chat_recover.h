/*
 * chat_recover.h - reading a chat log's tail, for the file store
 * (chat_file.c) and its unit tests: where the sequence goes on, and the
 * newest lines; and the records of the state file "<log_file>.seq".
 * Reads and formats only; never writes or locks.
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

/*
 * The state file "<log_file>.seq": two slots of CHAT_STATE_SLOT bytes,
 * "<seq, 20 digits> <hash, 8 hex digits>\n", written in place in turn
 * (same size, same offset: the file never changes length once whole), so
 * a write cut short by a crash damages one slot and the other still holds
 * the value before it.  The hash (FNV-1a over the digits) tells a torn
 * slot.  Older versions wrote "<seq>\n" alone, which is still read.
 */
#define CHAT_STATE_SLOT		30
#define CHAT_STATE_SIZE		(2 * CHAT_STATE_SLOT)

enum chat_state {
	CHAT_STATE_NONE,	/* an empty file: no value yet */
	CHAT_STATE_GOOD,	/* a whole slot: *seq its value (the higher) */
	CHAT_STATE_OLD,		/* exactly "<seq>\n", the old format */
	CHAT_STATE_DAMAGED	/* neither: *seq a lower bound, maybe 0 */
};

/* One slot's record for seq (no NUL). */
void	chat_state_format(char out[CHAT_STATE_SLOT], uint64_t seq);

/*
 * Reads the first n bytes of a state file.  *next_slot is the slot the
 * next write goes to (0 or 1): the one that does not hold *seq.  For a
 * damaged file, the lower bound is the old format's digits when the file
 * starts with "<seq>" cut short (a torn rewrite of "99\n" to "100\n"),
 * else 0: the digits of a torn slot are not trusted.
 */
enum chat_state chat_state_parse(const char *buf, size_t n, uint64_t *seq,
	    int *next_slot);

#endif
