/*
 * chat_file_state.c - the state file beside a chat log, "<log_file>.seq":
 * the last seq handed out, so a restart on a rotated (empty) log goes on
 * from it.  Its records (pure, for the unit tests too) and the writing of
 * them, crash-safe: see chat_file.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chat_file.h"
#include "chat_line.h"
#include "log.h"

/* ---- its records (pure) -------------------------------------------- */

#define CHAT_STATE_DIGITS	20

/* FNV-1a, 32 bits: enough to tell a torn slot from a whole one. */
static uint32_t
chat_state_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

void
chat_state_format(char out[CHAT_STATE_SLOT], uint64_t seq)
{
	char tmp[CHAT_STATE_SLOT + 1];

	snprintf(tmp, sizeof(tmp), "%020" PRIu64 " ", seq);
	snprintf(tmp + CHAT_STATE_DIGITS + 1, sizeof(tmp) -
	    CHAT_STATE_DIGITS - 1, "%08" PRIx32 "\n",
	    chat_state_hash(tmp, CHAT_STATE_DIGITS));
	memcpy(out, tmp, CHAT_STATE_SLOT);
}

/* A whole slot at p: 0 with *seq, or -1. */
static int
chat_state_slot(const char *p, uint64_t *seq)
{
	char want[CHAT_STATE_SLOT];
	uint64_t v = 0;

	for (int i = 0; i < CHAT_STATE_DIGITS; i++) {
		if (p[i] < '0' || p[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	chat_state_format(want, v);
	if (memcmp(p, want, CHAT_STATE_SLOT) != 0)
		return -1;
	*seq = v;
	return 0;
}

/* The old format's digits at the start of buf, even cut short: 0 if none. */
static uint64_t
chat_state_old_digits(const char *buf, size_t n)
{
	char tmp[CHAT_SEQ_DIGITS + 1];
	size_t k = 0;
	uint64_t v;

	while (k < n && k < CHAT_SEQ_DIGITS && buf[k] >= '0' && buf[k] <= '9')
		k++;
	memcpy(tmp, buf, k);
	tmp[k] = '\n';
	return chat_parse_seq(tmp, k + 1, '\n', &v) == 0 ? v : 0;
}

enum chat_state
chat_state_parse(const char *buf, size_t n, uint64_t *seq, int *next_slot)
{
	uint64_t v[2];
	int ok[2];

	*seq = 0;
	*next_slot = 0;
	if (n == 0)
		return CHAT_STATE_NONE;
	for (int i = 0; i < 2; i++)
		ok[i] = n >= (size_t)(i + 1) * CHAT_STATE_SLOT &&
		    chat_state_slot(buf + i * CHAT_STATE_SLOT, &v[i]) == 0;
	if (ok[0] || ok[1]) {
		int hi = !ok[0] || (ok[1] && v[1] > v[0]);

		*seq = v[hi];
		*next_slot = !hi;
		return CHAT_STATE_GOOD;
	}
	if (n <= CHAT_SEQ_DIGITS + 1 && memchr(buf, '\n', n) == buf + n - 1 &&
	    chat_parse_seq(buf, n, '\n', seq) == 0)
		return CHAT_STATE_OLD;
	*seq = chat_state_old_digits(buf, n);
	return CHAT_STATE_DAMAGED;
}

/* ---- the file ------------------------------------------------------- */

/* Makes a rename in path's directory survive a power cut. */
static void
chat_file_state_sync_dir(const char *path)
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
 * "<log_file>.seq" holds the last seq handed out (at most: with fsync on,
 * the last one synced), rewritten after every batch, at a rotation and at
 * the stop.  A rotation leaves the log empty; without this file, a
 * restart after one (or after a kill -9 and a rotation while udpd was
 * stopped) would start the sequence again.  It is opened with the log,
 * before udpd drops root, so it stays writable.  Its two fixed-size slots
 * (above) are written in turn, so a write cut short by a crash
 * leaves the other one whole: a damaged file is a warning, never a start
 * that fails.  The old format's file is kept until the first record is
 * whole beside it (the first write goes to slot 1).
 */
int
chat_file_state_open(struct chat_file_state *st, char *err, size_t errlen)
{
	char path[PATH_MAX], text[CHAT_STATE_SIZE + 8];
	struct stat sb;
	ssize_t n = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s.seq", st->log) >=
	    sizeof(path)) {
		snprintf(err, errlen, "%s.seq: name too long", st->log);
		return -1;
	}
	st->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK, 0640);
	if (st->fd == -1 || fstat(st->fd, &sb) == -1 ||
	    (S_ISREG(sb.st_mode) && (n = pread(st->fd, text, sizeof(text),
	    0)) == -1)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	switch (chat_state_parse(text, (size_t)n, &st->saved,
	    &st->slot)) {
	case CHAT_STATE_NONE:			/* new: make its name last */
		chat_file_state_sync_dir(path);
		break;
	case CHAT_STATE_OLD:
		st->slot = 1;
		break;
	case CHAT_STATE_DAMAGED:
		st->slot = 1;
		log_warnx("chat %s: %s: damaged (a write cut short?); the "
		    "sequence goes on from the log's last line%s", st->service,
		    path, st->saved > 0 ? " or the number it starts with" :
		    "");
		break;
	case CHAT_STATE_GOOD:
		break;
	}
	return 0;
}

/*
 * A run of failed writes is one warning, and its end one line: the log
 * goes on meanwhile, and the acks with it (its last line holds the seq).
 */
static void
chat_file_state_failed(struct chat_file_state *st)
{
	if (st->failed++ == 0)
		log_warn("chat %s: cannot save the sequence to %s.seq; "
		    "messages are still acknowledged", st->service, st->log);
}

/*
 * Records seq in the state file if it is new, synced with dosync (fsync =
 * true, a rotation, the stop).  f->sync held.  0, or -1 if it could not
 * be saved (warned).
 */
int
chat_file_state_save(struct chat_file_state *st, uint64_t seq, int dosync)
{
	char rec[CHAT_STATE_SLOT];
	off_t at = (off_t)st->slot * CHAT_STATE_SLOT;

	if (st->fd == -1 || seq <= st->saved)
		return 0;
	chat_state_format(rec, seq);
	errno = 0;
	if (chat_file_sys.pwrite(st->fd, rec, sizeof(rec), at) !=
	    (ssize_t)sizeof(rec) ||
	    (dosync && chat_file_sys.fdatasync(st->fd) == -1)) {
		if (errno == 0)
			errno = EIO;		/* a short pwrite */
		chat_file_state_failed(st);
		return -1;
	}
	st->saved = seq;
	st->slot = !st->slot;
	if (st->failed > 0) {
		log_notice("chat %s: saving the sequence again after %" PRIu64
		    " failed write(s)", st->service, st->failed);
		st->failed = 0;
	}
	return 0;
}

void
chat_file_state_close(struct chat_file_state *st)
{
	if (st->fd != -1)
		close(st->fd);
	st->fd = -1;
}
