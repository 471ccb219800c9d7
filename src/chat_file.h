/*
 * chat_file.h - inside the file store: its options (chat_file_conf.c) and
 * the system calls with which chat_file.c writes and syncs the log and
 * its state file.  udpd never changes those; a unit test replaces them to
 * make a disk fail on demand (EIO from fdatasync, a write that stops half
 * way).
 */
#ifndef UDPD_CHAT_FILE_H
#define UDPD_CHAT_FILE_H

#include <sys/types.h>
#include <sys/uio.h>

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

#endif
