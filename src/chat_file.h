/*
 * chat_file.h - inside the file store: its options (chat_file_conf.c),
 * its state file (chat_file_state.c), and the system calls with which
 * chat_file.c writes and syncs the log and the state file.  udpd never changes those; a unit test replaces them to
 * make a disk fail on demand (EIO from fdatasync, a write that stops half
 * way).
 */
#ifndef UDPD_CHAT_FILE_H
#define UDPD_CHAT_FILE_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include "conf_util.h"
#include "module.h"

struct chat_file_options {
	char		*path;		/* log_file, resolved */
	int		 fsync;
	unsigned	 retry_ms;	/* retry_window_ms (chat_store.h) */
};

extern const char *const chat_file_option_names[];
/* As a store's parse(), free_options() and claim() (chat_store.h). */
void	*chat_file_parse(const config_setting_t *service,
	    const struct module_parse_ctx *ctx, struct conf_err *err);
void	 chat_file_free_options(void *options);
const char *chat_file_claim(const void *options);

struct chat_file_sys {
	ssize_t	(*writev)(int, const struct iovec *, int);
	ssize_t	(*write)(int, const void *, size_t);
	ssize_t	(*pwrite)(int, const void *, size_t, off_t);
	int	(*fdatasync)(int);
};

extern struct chat_file_sys chat_file_sys;

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

/* The state file of one log: chat_file_state_open() fills the rest. */
struct chat_file_state {
	const char	*log;		/* the log's path */
	const char	*service;	/* for messages */
	int		 fd;		/* -1: not open */
	uint64_t	 saved;		/* what it holds */
	int		 slot;		/* where the next record goes (0, 1) */
	uint64_t	 failed;	/* failed writes since the last good one */
};

/*
 * Opens "<log>.seq" (created if missing) and reads it: a damaged file is
 * a warning, never an error.  -1 with err (not a regular file, a system
 * error).
 */
int	chat_file_state_open(struct chat_file_state *st, char *err,
	    size_t errlen);
/* Records seq if it is higher than what the file holds (synced with
 * dosync); 0, or -1 when it could not (warned once per run). */
int	chat_file_state_save(struct chat_file_state *st, uint64_t seq,
	    int dosync);
void	chat_file_state_close(struct chat_file_state *st);

#endif
