/*
 * notify.c - sd_notify(3) and sd_listen_fds(3) when built with libsystemd.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/socket.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "notify.h"

#ifdef HAVE_SYSTEMD
void
notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

/* systemd 253+ wants MONOTONIC_USEC with RELOADING=1; older ignore it. */
void
notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

size_t
notify_listen_fds(int **fds)
{
	int n = sd_listen_fds(1);
	int *out;

	*fds = NULL;
	if (n <= 0)
		return 0;
	if ((out = calloc((size_t)n, sizeof(*out))) == NULL)
		fatal("calloc");
	for (int i = 0; i < n; i++) {
		out[i] = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(out[i], AF_UNSPEC, SOCK_DGRAM, -1) <= 0)
			log_warnx("passed file descriptor %d is not a datagram "
			    "socket: ignored", out[i]);
	}
	*fds = out;
	return (size_t)n;
}

int
notify_fd_matches(int fd, const void *sa, size_t salen)
{
	return sd_is_socket_sockaddr(fd, SOCK_DGRAM, sa, (unsigned)salen,
	    -1) > 0;
}
#else
void notify_ready(const char *status) { (void)status; }
void notify_reloading(void) { }
void notify_stopping(void) { }

size_t
notify_listen_fds(int **fds)
{
	*fds = NULL;
	return 0;
}

int
notify_fd_matches(int fd, const void *sa, size_t salen)
{
	(void)fd;
	(void)sa;
	(void)salen;
	return 0;
}
#endif
