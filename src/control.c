/*
 * control.c - the control channel of a running udpd: an AF_UNIX datagram
 * socket in the abstract namespace, "udpd-control-PID", on which "udpd
 * --reload" and "udpd --reopen" ask and the daemon answers.  The abstract
 * namespace needs no writable directory (udpd runs with a read-only file
 * system); the kernel tells who sent each request (SCM_CREDENTIALS), and
 * only root and udpd's own user are heard.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "control.h"
#include "log.h"

/* The abstract address of pid's socket; its length in *len. */
static void
control_address(pid_t pid, struct sockaddr_un *sun, socklen_t *len)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1,
	    "udpd-control-%ld", (long)pid);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    (size_t)n);
}

int
control_open(void)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd, on = 1;

	control_address(getpid(), &sun, &len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
control_receive(int fd, char *cmd, size_t cmdlen, struct control_peer *peer)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = { .iov_base = cmd, .iov_len = cmdlen - 1 };
	struct msghdr msg = {
		.msg_name = peer->addr, .msg_namelen = sizeof(peer->addr),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	const struct ucred *cred = NULL;
	ssize_t n;

	if ((n = recvmsg(fd, &msg, MSG_DONTWAIT)) < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	cmd[n] = '\0';
	peer->len = msg.msg_namelen;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL;
	    c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS)
			cred = (const struct ucred *)CMSG_DATA(c);
	if (cred == NULL || (cred->uid != 0 && cred->uid != geteuid())) {
		log_warning("control request from uid %ld refused (only root "
		    "and udpd's user may ask)", cred != NULL ?
		    (long)cred->uid : -1L);
		control_reply(fd, peer, "failed refused: only root and "
		    "udpd's own user may ask");
		return 0;
	}
	return 1;
}

void
control_reply(int fd, const struct control_peer *peer, const char *answer)
{
	if (peer->len <= sizeof(sa_family_t))
		return;		/* an unnamed sender cannot be answered */
	if (sendto(fd, answer, strlen(answer), MSG_DONTWAIT,
	    (const struct sockaddr *)peer->addr, peer->len) < 0)
		log_warn("control: answer not sent");
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int
control_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Autobound (an abstract name the kernel picks), so the daemon can answer. */
static int
control_client_socket(void)
{
	struct sockaddr_un me = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&me,
	    sizeof(sa_family_t)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
control_ask(pid_t pid, const char *cmd, int timeout, char *answer,
    size_t answerlen)
{
	struct sockaddr_un sun;
	struct timespec deadline;
	struct pollfd pfd;
	socklen_t len;
	ssize_t n;
	int fd;

	control_address(pid, &sun, &len);
	if ((fd = control_client_socket()) < 0) {
		snprintf(answer, answerlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (sendto(fd, cmd, strlen(cmd), 0, (struct sockaddr *)&sun,
	    len) < 0) {
		snprintf(answer, answerlen, "no udpd with PID %ld answers: %s",
		    (long)pid, errno == ECONNREFUSED ? "not running (or "
		    "started before this udpd was installed)" :
		    strerror(errno));
		close(fd);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		int r = poll(&pfd, 1, control_left(&deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(answer, answerlen, "udpd (PID %ld) did not "
			    "answer within %d s", (long)pid, timeout);
			close(fd);
			return -1;
		}
		break;
	}
	n = recv(fd, answer, answerlen - 1, 0);
	close(fd);
	if (n < 0) {
		snprintf(answer, answerlen, "recv: %s", strerror(errno));
		return -1;
	}
	answer[n] = '\0';
	return 0;
}
