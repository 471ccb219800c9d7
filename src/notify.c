/*
 * notify.c - readiness notification (sd_notify(3)) and the sockets of
 * socket activation (sd_listen_fds(3)): through libsystemd when built with
 * it, otherwise by hand, so a Type=notify unit works either way.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "notify.h"

#define LISTEN_FDS_START	3	/* SD_LISTEN_FDS_START */

/*
 * The datagram protocol of sd_notify(3): one datagram to the AF_UNIX
 * socket named by $NOTIFY_SOCKET, a leading '@' meaning the abstract
 * namespace (whose name may fill sun_path: no NUL).  No $NOTIFY_SOCKET:
 * not started by systemd, nothing to do.  Another kind of address (vsock:)
 * is said once, not ignored: the service manager would wait for READY=1.
 */
static void
notify_send_unix(const char *msg)
{
	static int said;
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (path == NULL)
		return;
	if (path[0] != '/' && path[0] != '@') {
		if (!said++)
			log_warnx("NOTIFY_SOCKET %s: not supported (an AF_UNIX "
			    "path or @name is): readiness is not reported",
			    path);
		return;
	}
	len = strlen(path);
	if (len > sizeof(sun.sun_path) ||
	    (len == sizeof(sun.sun_path) && path[0] != '@')) {
		log_warnx("NOTIFY_SOCKET %s: path too long", path);
		return;
	}
	memcpy(sun.sun_path, path, len);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("NOTIFY_SOCKET: socket");
		return;
	}
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (const struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_warn("NOTIFY_SOCKET %s", path);
	close(fd);
}

#ifdef HAVE_SYSTEMD
/* What libsystemd refuses (an abstract name that fills sun_path, with
 * libsystemd 252) is tried by hand. */
static void
notify_send(const char *msg)
{
	if (sd_notify(0, msg) < 0)
		notify_send_unix(msg);
}

static int
notify_passed_fds(void)
{
	return sd_listen_fds(1);
}

static int
notify_is_dgram(int fd)
{
	return sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0;
}

int
notify_fd_matches(int fd, const void *sa, size_t salen)
{
	return sd_is_socket_sockaddr(fd, SOCK_DGRAM, sa, (unsigned)salen,
	    -1) > 0;
}
#else
static void
notify_send(const char *msg)
{
	notify_send_unix(msg);
}

/* sd_listen_fds(1): the fds from 3 on, if LISTEN_PID names us; LISTEN_*
 * are cleared either way (a child must not take them for its own). */
static int
notify_passed_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long n;

	int ours;

	if (pid == NULL || fds == NULL)
		return 0;
	errno = 0;
	ours = strtol(pid, &end, 10) == (long)getpid() && *end == '\0';
	n = strtol(fds, &end, 10);
	if (errno != 0 || *end != '\0' || n <= 0 || n > 1024)
		ours = 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (!ours)
		return 0;
	for (int fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + n; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return (int)n;
}

static int
notify_is_dgram(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_DGRAM;
}

/* sd_is_socket_sockaddr(): same family, port and address. */
int
notify_fd_matches(int fd, const void *sa, size_t salen)
{
	const struct sockaddr *want = sa;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!notify_is_dgram(fd) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    salen < sizeof(sa_family_t) || ss.ss_family != want->sa_family)
		return 0;
	if (want->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *a = sa, *b = (void *)&ss;

		return a->sin_port == b->sin_port &&
		    a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (want->sa_family == AF_INET6 &&
	    salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *a = sa, *b = (void *)&ss;

		return a->sin6_port == b->sin6_port &&
		    memcmp(&a->sin6_addr, &b->sin6_addr,
		    sizeof(a->sin6_addr)) == 0;
	}
	return 0;
}
#endif

static void notify_sendf(const char *fmt, ...) LOG_FMT(1, 2);

static void
notify_sendf(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	notify_send(msg);
}

void
notify_ready(const char *status)
{
	notify_sendf("READY=1\nSTATUS=%s", status);
}

/* systemd 253+ wants MONOTONIC_USEC with RELOADING=1; older ignore it. */
void
notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_sendf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping");
}

size_t
notify_listen_fds(int **fds)
{
	int n = notify_passed_fds();
	int *out;

	*fds = NULL;
	if (n <= 0)
		return 0;
	if ((out = calloc((size_t)n, sizeof(*out))) == NULL)
		fatal("calloc");
	for (int i = 0; i < n; i++) {
		out[i] = LISTEN_FDS_START + i;
		if (!notify_is_dgram(out[i]))
			log_warnx("passed file descriptor %d is not a datagram "
			    "socket: ignored", out[i]);
	}
	*fds = out;
	return (size_t)n;
}
