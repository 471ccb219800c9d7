/*
 * chat_file.h - the system calls with which the file store (chat_file.c)
 * writes and syncs the log and its state file.  udpd never changes them;
 * a unit test replaces them to make a disk fail on demand (EIO from
 * fdatasync, a write that stops half way).
 */
#ifndef UDPD_CHAT_FILE_H
#define UDPD_CHAT_FILE_H

#include <sys/types.h>
#include <sys/uio.h>

struct chat_file_sys {
	ssize_t	(*writev)(int, const struct iovec *, int);
	ssize_t	(*write)(int, const void *, size_t);
	ssize_t	(*pwrite)(int, const void *, size_t, off_t);
	int	(*fdatasync)(int);
};

extern struct chat_file_sys chat_file_sys;

#endif
