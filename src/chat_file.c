/*
 * chat_file.c - the durable chat store in a file: each message one line
 * appended with one write(2) to an O_APPEND descriptor, the seq going on
 * from the file's last complete line at start (read by chat_recover.c),
 * a torn last line set aside, the seq saved beside the log
 * (chat_file_state.c), a retry within the window answered with its first
 * seq (chat_window.c), and with fsync = true one fdatasync per read batch
 * (group commit) before the acks go out.
 *
 * Locks: `append` covers the descriptor and the seq, and is held only for
 * the write(2) of a line already formatted (and for the bounded read of
 * /history); `sync` covers what is on disk, and is held across fdatasync
 * and across the switch to a new file at rotation, so that appends go on
 * while a batch is being synced.  Order: sync, then append.
 *
 * Options: chat_file_conf.c.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_file.h"
#include "chat_line.h"
#include "chat_recover.h"
#include "chat_store.h"
#include "chat_window.h"
#include "log.h"

/*
 * One open log.  A reload's new instance shares it with the instance it
 * replaces (reference counted, by the main thread only), so the sequence
 * goes on from memory, never from a second recovery of a file being
 * written (or already rotated away).
 */
struct chat_file {
	int		 refs;
	char		*path;
	char		*service;	/* for logs */

	pthread_mutex_t	 sync;		/* synced, bad_*, state; taken first */
	struct chat_file_state state;	/* "<log_file>.seq", from the start */
	uint64_t	 synced;	/* every seq <= synced is on disk ... */
	uint64_t	 bad_lo;	/* ... but those in (bad_lo, bad_hi]: */
	uint64_t	 bad_hi;	/* a failed fdatasync; 0: none */
	int		 bad_errno;

	pthread_mutex_t	 append;	/* everything below */
	int		 fd;
	int		 regular;	/* fd is a regular file */
	dev_t		 dev;		/* of fd */
	ino_t		 ino;
	uint64_t	 seq;		/* the last seq written */
	off_t		 repair_to;	/* -1, or where to cut a torn write */
	uint32_t	 gen;		/* fd's number: one more per reopen */
	struct chat_window *window;	/* stored lately, for retries */
	uint64_t	 refused;	/* messages refused since a success */
	char		 fail_why[64];	/* the reason last logged */
};

/* One chat instance's store: its options over the shared file. */
struct file_store {
	struct chat_store	 base;
	struct chat_file	*f;
	int			 fsync;
	unsigned		 retry_ms;	/* 0: every post is new */
};

struct chat_file_sys chat_file_sys = { writev, write, pwrite, fdatasync };

/* ---- reading the log ------------------------------------------------ */

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
chat_set_aside(const struct chat_file *lg, int fd, off_t good_end, off_t size)
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
	if (chat_recover_pread(fd, buf, n, good_end) == -1)
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
chat_clean_tail(const struct chat_file *lg, int fd)
{
	off_t size, good_end;

	if (chat_recover_tail(fd, &size, &good_end) == -1)
		return -1;
	if (size > good_end && chat_set_aside(lg, fd, good_end, size) == -1)
		return -1;
	return 0;
}

/* ---- opening and closing -------------------------------------------- */

/* The start error for a chat_recover failure (errno). */
static void
file_recover_error(const char *path, char *err, size_t errlen)
{
	if (errno == EBADMSG)
		snprintf(err, errlen, "%s: its last line does not start with "
		    "a sequence number; not a chat log?", path);
	else if (errno == EOVERFLOW)
		snprintf(err, errlen, "%s: ends with over %d bytes without a "
		    "newline; not a chat log?", path, CHAT_LINE_MAX);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
}

static void
file_free(struct chat_file *f)
{
	if (f->fd != -1)
		close(f->fd);
	chat_file_state_close(&f->state);
	pthread_mutex_destroy(&f->sync);
	pthread_mutex_destroy(&f->append);
	chat_window_free(f->window);
	free(f->path);
	free(f->service);
	free(f);
}

/*
 * The seq goes on from the file's last complete line, or from the one
 * saved at the last rotation if that is higher (the file was rotated
 * while udpd was stopped).  A torn tail is set aside first.
 */
static int
file_recover(struct chat_file *f, char *err, size_t errlen)
{
	off_t good_end;

	if (chat_recover(f->fd, &f->seq, &good_end) == -1) {
		file_recover_error(f->path, err, errlen);
		return -1;
	}
	if (!f->regular)
		return 0;
	if (chat_clean_tail(f, f->fd) == -1) {
		snprintf(err, errlen, "%s: cannot set its torn last line "
		    "aside: %s", f->path, strerror(errno));
		return -1;
	}
	f->state.log = f->path;
	f->state.service = f->service;
	if (chat_file_state_open(&f->state, err, errlen) == -1)
		return -1;
	if (f->state.saved > f->seq) {
		log_notice("chat %s: %s: the sequence goes on from %" PRIu64
		    " (%s.seq), not %" PRIu64 " (its last line)", f->service,
		    f->path, f->state.saved, f->path, f->seq);
		f->seq = f->state.saved;
	}
	return 0;
}

/*
 * The retry window from the log's last lines, so a retry after a restart
 * (kill -9 included) gets the seq its first try was given.  A log that
 * cannot be read for it only costs that: a warning.
 */
static void
file_rebuild_window(struct chat_file *f, unsigned retry_ms)
{
	struct timespec now;

	if (!f->regular || retry_ms == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (chat_recover_window(f->fd, f->window, (int64_t)now.tv_sec * 1000 +
	    now.tv_nsec / 1000000, retry_ms, f->gen) == -1)
		log_warn("chat %s: %s: cannot read the last lines for the "
		    "retry window", f->service, f->path);
}

/* Opens and recovers a log; NULL with err naming it. */
static struct chat_file *
file_open(const char *path, const char *service, unsigned retry_ms,
    char *err, size_t errlen)
{
	struct chat_file *f = calloc(1, sizeof(*f));
	struct stat st;
	const char *why;

	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->fd = -1;
	f->state.fd = -1;
	f->repair_to = -1;
	pthread_mutex_init(&f->sync, NULL);
	pthread_mutex_init(&f->append, NULL);
	if ((f->path = strdup(path)) == NULL ||
	    (f->service = strdup(service)) == NULL ||
	    (f->window = chat_window_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((f->fd = chat_open_fd(path, &st, &why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	f->regular = S_ISREG(st.st_mode);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	if (file_recover(f, err, errlen) == -1)
		goto fail;
	file_rebuild_window(f, retry_ms);
	f->synced = f->seq;
	f->refs = 1;
	return f;
fail:
	file_free(f);
	return NULL;
}

/* Is path the log f has open (under this name, or another)? */
static int
file_is(const struct chat_file *f, const char *path)
{
	struct stat st;

	if (strcmp(f->path, path) == 0)
		return 1;
	return stat(path, &st) == 0 && st.st_dev == f->dev &&
	    st.st_ino == f->ino;
}

/* The last reference closes: a partial line cut, the seq saved. */
static void
file_put(struct chat_file *f)
{
	if (--f->refs > 0)
		return;
	if (f->repair_to >= 0 && ftruncate(f->fd, f->repair_to) == -1)
		log_warn("chat %s: %s: cannot cut a partial line back",
		    f->service, f->path);
	/* A rotation while udpd is stopped must not restart the sequence. */
	pthread_mutex_lock(&f->sync);
	chat_file_state_save(&f->state, f->seq, 1);
	pthread_mutex_unlock(&f->sync);
	file_free(f);
}

/*
 * fdatasync for every line written so far.  A failure marks the seqs it
 * leaves in doubt for good: after a failed fsync Linux may report later
 * ones as successful although the dirty pages are gone (PostgreSQL's
 * "fsyncgate"), so those lines must never be acked.  The doubtful range
 * only grows, which at worst turns a stored message's ack into an error.
 * Called with f->sync held: appends go on meanwhile.
 */
static void
file_sync(struct chat_file *f)
{
	uint64_t target;
	int fd;

	pthread_mutex_lock(&f->append);
	target = f->seq;
	fd = f->fd;
	pthread_mutex_unlock(&f->append);
	if (target <= f->synced)
		return;
	if (chat_file_sys.fdatasync(fd) == 0) {
		f->synced = target;
		return;
	}
	f->bad_errno = errno;
	log_warn("chat %s: %s: fdatasync", f->service, f->path);
	if (f->bad_hi == 0)
		f->bad_lo = f->synced;
	f->bad_hi = target;
}

static struct chat_store *
file_start(const void *options, const struct module_ctx *ctx,
    struct chat_store *previous, char *err, size_t errlen)
{
	const struct chat_file_options *o = options;
	struct file_store *s = calloc(1, sizeof(*s));
	struct file_store *prev = (struct file_store *)previous;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &chat_file_store;
	s->fsync = o->fsync;
	s->retry_ms = o->retry_ms;
	if (prev != NULL && prev->base.ops == &chat_file_store &&
	    file_is(prev->f, o->path)) {
		s->f = prev->f;
		s->f->refs++;
		return &s->base;
	}
	s->f = file_open(o->path, ctx != NULL && ctx->service != NULL ?
	    ctx->service : "chat", o->retry_ms, err, errlen);
	if (s->f == NULL) {
		free(s);
		return NULL;
	}
	return &s->base;
}

/* With fsync on, what this instance acknowledged is synced on the way out. */
static void
file_stop(struct chat_store *store)
{
	struct file_store *s = (struct file_store *)store;

	if (s->fsync) {
		pthread_mutex_lock(&s->f->sync);
		file_sync(s->f);
		pthread_mutex_unlock(&s->f->sync);
	}
	file_put(s->f);
	free(s);
}

/* ---- appending ------------------------------------------------------ */

/*
 * After a short write (a full disk, a file size limit), the rest of the
 * line: either it goes too, or write(2) fails and errno says why, which a
 * short count never does.  0, or -1 with errno.
 */
static int
file_write_rest(int fd, const struct iovec iov[2], size_t done)
{
	for (int i = 0; i < 2; i++) {
		const char *p = iov[i].iov_base;
		size_t n = iov[i].iov_len, skip = done < n ? done : n;
		ssize_t w;

		done -= skip;
		for (p += skip, n -= skip; n > 0; p += w, n -= (size_t)w) {
			do
				w = chat_file_sys.write(fd, p, n);
			while (w == -1 && errno == EINTR);
			if (w == -1)
				return -1;
			if (w == 0) {
				errno = EIO;
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Appends "<seq> " and the suffix with one writev(2): with O_APPEND the
 * line lands whole at the end.  A short write (disk full in mid-line) is
 * cut back with ftruncate so the log never holds half a line; if even
 * that fails, the cut is retried before the next write, which is refused
 * until it works, and the reason given is the one write(2) reports for
 * the rest of the line.  A removed log (no links left) is refused: what went
 * there would be lost.  Every failure leaves the line out of the room:
 * the log never holds it whole (a part that could not be cut back has no
 * "\n", and is cut before the next line or set aside at the next start).
 * Appends locked; NULL with *at where the line starts (-1: not a regular
 * file), or why nothing was stored ("write failed: ..." for a failed
 * write(2)) in buf.
 */
static const char *
file_write_line(struct chat_file *f, const char *suffix, size_t len,
    off_t *at, char *buf, size_t cap)
{
	char head[CHAT_SEQ_DIGITS + 2];
	struct iovec iov[2];
	struct stat st;
	ssize_t w;
	size_t n;

	*at = -1;
	if (f->repair_to >= 0) {
		if (ftruncate(f->fd, f->repair_to) == -1)
			goto failed;
		f->repair_to = -1;
	}
	if (f->regular) {
		if (fstat(f->fd, &st) == -1)
			goto failed;
		if (st.st_nlink == 0)
			return "log file was removed";
		*at = st.st_size;
	}
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)snprintf(head, sizeof(head), "%" PRIu64 " ",
	    f->seq + 1);
	iov[1].iov_base = (void *)(uintptr_t)suffix;
	iov[1].iov_len = len;
	n = iov[0].iov_len + len;
	do
		w = chat_file_sys.writev(f->fd, iov, 2);
	while (w == -1 && errno == EINTR);
	if (w == -1)
		goto failed;
	if ((size_t)w == n || file_write_rest(f->fd, iov, (size_t)w) == 0)
		return NULL;
	snprintf(buf, cap, "write failed: %s", strerror(errno));
	if (*at >= 0 && ftruncate(f->fd, *at) == -1) {
		log_warn("chat %s: %s: cannot cut a partial line back",
		    f->service, f->path);
		f->repair_to = *at;
	}
	return buf;
failed:
	snprintf(buf, cap, "write failed: %s", strerror(errno));
	return buf;
}

/*
 * Failures come in runs (a full disk refuses every message): the first
 * one and each change of reason are logged, the end of the run with a
 * count, never one line per message.  Appends locked.
 */
static void
file_failed(struct chat_file *f, const char *why)
{
	f->refused++;
	if (strncmp(f->fail_why, why, sizeof(f->fail_why) - 1) == 0)
		return;
	snprintf(f->fail_why, sizeof(f->fail_why), "%s", why);
	log_warnx("chat %s: %s: cannot append: %s; messages are refused",
	    f->service, f->path, why);
}

static void
file_succeeded(struct chat_file *f)
{
	if (f->refused == 0)
		return;
	log_notice("chat %s: %s: appending again after %" PRIu64
	    " refused message(s)", f->service, f->path, f->refused);
	f->refused = 0;
	f->fail_why[0] = '\0';
}

/*
 * Is e (same hash) the line of this retry key?  Read back from the log
 * when it is still the file e was written to (a hash is not proof);
 * after a rotation the hash alone says so.  Appends locked.
 */
static int
file_window_same(const struct chat_file *f, const struct chat_window_entry *e,
    const char *key, size_t keylen)
{
	char buf[512];
	off_t at;
	size_t n;

	if (!f->regular || e->gen != f->gen)
		return 1;
	if (e->len < keylen + 2)
		return 0;
	at = e->off + (off_t)(e->len - keylen - 2);
	for (size_t done = 0; done < keylen + 2; done += n) {
		n = keylen + 2 - done < sizeof(buf) ? keylen + 2 - done :
		    sizeof(buf);
		if (chat_recover_pread(f->fd, buf, n, at + (off_t)done) == -1)
			return 0;
		for (size_t i = 0; i < n; i++) {
			size_t k = done + i;	/* ' ', the key, '\n' */
			char want = k == 0 ? ' ' : k == keylen + 1 ? '\n' :
			    key[k - 1];

			if (buf[i] != want)
				return 0;
		}
	}
	return 1;
}

/* A repeat within the window: the first one's seq, or 0.  Appends locked. */
static uint64_t
file_window_seq(const struct chat_file *f, const struct chat_append *a,
    uint64_t hash, int64_t ms, unsigned retry_ms)
{
	const struct chat_window_entry *e;

	e = chat_window_find(f->window, hash, ms, retry_ms);
	if (e == NULL || !file_window_same(f, e, a->retry_key,
	    a->retry_keylen))
		return 0;
	return e->seq;
}

/*
 * A new line with the next seq, recorded in the window when e is given
 * (e->hash and e->ms set).  Appends locked; NULL, or why not.
 */
static const char *
file_append_new(struct chat_file *f, struct chat_append *a,
    struct chat_window_entry *e)
{
	const char *why;
	off_t at;

	if (f->seq == UINT64_MAX)
		return "sequence exhausted";
	why = file_write_line(f, a->suffix, a->len, &at, a->why, a->whylen);
	if (why != NULL)
		return why;
	/* Atomic: file_last_seq() reads it without the lock. */
	a->seq = f->seq + 1;
	__atomic_store_n(&f->seq, a->seq, __ATOMIC_RELAXED);
	file_succeeded(f);
	if (e != NULL) {
		e->seq = a->seq;
		e->off = at;
		e->len = (uint32_t)((size_t)snprintf(NULL, 0, "%" PRIu64 " ",
		    a->seq) + a->len);
		e->gen = f->gen;
		chat_window_add(f->window, e);
	}
	return NULL;
}

/*
 * The line, or with a retry window the first one's seq for a repeat (the
 * batch's flush then confirms it as it did the first: fdatasync).  The
 * key is hashed before the lock is taken.
 */
static enum chat_store_status
file_append(struct chat_store *store, struct chat_append *a)
{
	struct file_store *s = (struct file_store *)store;
	struct chat_file *f = s->f;
	struct chat_window_entry e = { 0 };
	int retry = s->retry_ms > 0 && a->retry_key != NULL &&
	    chat_recover_time(a->suffix, a->len, &e.ms) == 0;
	const char *why = NULL;

	if (retry)
		e.hash = chat_window_hash(a->retry_key, a->retry_keylen);
	pthread_mutex_lock(&f->append);
	if (retry && (a->seq = file_window_seq(f, a, e.hash, e.ms,
	    s->retry_ms)) != 0)
		a->repeat = 1;
	else
		why = file_append_new(f, a, retry ? &e : NULL);
	if (why == NULL) {
		pthread_mutex_unlock(&f->append);
		a->outcome = CHAT_STORED;
		return CHAT_STORE_OK;
	}
	file_failed(f, why);
	pthread_mutex_unlock(&f->append);
	a->outcome = CHAT_NOT_STORED;
	if (why != a->why)
		snprintf(a->why, a->whylen, "%s", why);
	return CHAT_STORE_FAILED;
}

static enum chat_store_status
file_history(struct chat_store *store, struct chat_history *h)
{
	struct chat_file *f = ((struct file_store *)store)->f;
	const char *why = NULL;

	h->len = 0;
	pthread_mutex_lock(&f->append);
	if (f->regular && chat_recover_lines(f->fd, h->count, h->out,
	    h->max_bytes, &h->len) == -1)
		why = strerror(errno);
	pthread_mutex_unlock(&f->append);
	if (why == NULL)
		return CHAT_STORE_OK;
	log_warnx("chat %s: %s: cannot read history: %s", f->service,
	    f->path, why);
	snprintf(h->why, h->whylen, "cannot read log: %s", why);
	return CHAT_STORE_FAILED;
}

/*
 * fsync = true: one fdatasync covers every message of the batch (unless
 * another worker's already did, or does while this one waits).
 */
static void
file_flush(struct chat_store *store, uint64_t upto, struct chat_doubt *d)
{
	struct file_store *s = (struct file_store *)store;
	struct chat_file *f = s->f;

	d->lo = d->hi = 0;
	pthread_mutex_lock(&f->sync);
	if (!s->fsync) {
		/* Before the acks: an acked seq survives a kill -9 even if
		 * the log is rotated while udpd is stopped. */
		chat_file_state_save(&f->state, __atomic_load_n(&f->seq, __ATOMIC_RELAXED),
		    0);
		pthread_mutex_unlock(&f->sync);
		return;
	}
	if (upto > f->synced)
		file_sync(f);
	/* Only what is on disk: after a power loss no seq is reused, and
	 * none is skipped either. */
	chat_file_state_save(&f->state, f->synced, 1);
	d->lo = f->bad_lo;
	d->hi = f->bad_hi;
	snprintf(d->why, sizeof(d->why), "fsync failed: %s",
	    strerror(f->bad_errno));
	pthread_mutex_unlock(&f->sync);
}

/* ---- rotation ------------------------------------------------------- */

/* The new file under f->path, its torn tail set aside; -1 with *why. */
static int
file_open_new(struct chat_file *f, struct stat *st, const char **why)
{
	int fd;

	if ((fd = chat_open_fd(f->path, st, why)) == -1)
		return -1;
	if (S_ISREG(st->st_mode) && chat_clean_tail(f, fd) == -1) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * SIGHUP, after a log rotation: the path is opened afresh and the seq goes
 * on from memory (the new file is normally empty; it is not recovered
 * from).  Appends go to the new file from the switch on; the old one is
 * synced up to the switch (with f->sync held, so no batch's flush can
 * slip between), and the seq of the switch saved beside the log.  If the
 * path cannot be opened the old file stays in use: losing messages is
 * worse than not rotating.  (A state file that cannot be written does not
 * hold the switch back: the old file is already renamed, and whatever is
 * written to it may be compressed away.)
 */
static void
file_reopen(struct chat_store *store)
{
	struct chat_file *f = ((struct file_store *)store)->f;
	struct stat st;
	const char *why;
	uint64_t at;
	int fd, old;

	if (stat(f->path, &st) == 0 && st.st_dev == f->dev &&
	    st.st_ino == f->ino)
		return;			/* not rotated: nothing to switch */
	if ((fd = file_open_new(f, &st, &why)) == -1) {
		log_warnx("chat %s: cannot reopen %s: %s; still appending to "
		    "the old file", f->service, f->path, why);
		return;
	}
	pthread_mutex_lock(&f->sync);
	pthread_mutex_lock(&f->append);
	if (f->repair_to >= 0 && ftruncate(f->fd, f->repair_to) == -1)
		log_warnx("chat %s: %s: the old file keeps a partial line",
		    f->service, f->path);
	old = f->fd;
	f->fd = fd;
	f->regular = S_ISREG(st.st_mode);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->repair_to = -1;
	f->gen++;
	at = f->seq;
	pthread_mutex_unlock(&f->append);
	if (at > f->synced) {
		if (chat_file_sys.fdatasync(old) == 0)
			f->synced = at;
		else {
			f->bad_errno = errno;
			log_warn("chat %s: %s: fdatasync of the old file",
			    f->service, f->path);
			if (f->bad_hi == 0)
				f->bad_lo = f->synced;
			f->bad_hi = at;
		}
	}
	chat_file_state_save(&f->state, at, 1);
	pthread_mutex_unlock(&f->sync);
	close(old);
	log_info("chat %s: reopened %s", f->service, f->path);
}

/* For the metrics (main thread): lock-free, a scrape never waits on a
 * disk. */
static int
file_last_seq(struct chat_store *store, uint64_t *seq)
{
	const struct chat_file *f = ((struct file_store *)store)->f;

	*seq = __atomic_load_n(&f->seq, __ATOMIC_RELAXED);
	return 0;
}

const struct chat_store_ops chat_file_store = {
	.name = "file",
	.options = chat_file_option_names,
	.parse = chat_file_parse,
	.free_options = chat_file_free_options,
	.claim = chat_file_claim,
	.start = file_start,
	.stop = file_stop,
	.append = file_append,
	.history = file_history,
	.flush = file_flush,
	.reopen = file_reopen,
	.last_seq = file_last_seq,
};
