/*
 * notify.h - talking to systemd: readiness notification (Type=notify) and
 * the sockets of socket activation, with or without libsystemd.
 */
#ifndef UDPD_NOTIFY_H
#define UDPD_NOTIFY_H

#include <stddef.h>

void	notify_ready(const char *status);
void	notify_reloading(void);
void	notify_stopping(void);
/* Datagram sockets passed by systemd (LISTEN_FDS); count, fds in *fds. */
size_t	notify_listen_fds(int **fds);
/* Does fd (a passed socket) have this local address? */
int	notify_fd_matches(int fd, const void *sa, size_t salen);

#endif
