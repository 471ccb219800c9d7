#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* recvmmsg, sendmmsg */
#endif

/*
 * ref_mmsg - an echo server as fast as a plain loop gets: a blocking
 * recvmmsg() of up to 64 datagrams (MSG_WAITFORONE: return as soon as
 * one is there) and one sendmmsg() of all the replies.  A yardstick for
 * bench/run, not a daemon.
 *
 * usage: ref_mmsg [-D seconds] ADDR PORT
 */

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH	64
#define BUFSZ	65536

static volatile sig_atomic_t	stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ref_mmsg [-D seconds] ADDR PORT\n");
	exit(2);
}

/* Bind a UDP socket to ADDR PORT (numeric). */
static int
bind_udp(const char *addr, const char *port)
{
	struct addrinfo	 hints, *res;
	int		 e, fd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((e = getaddrinfo(addr, port, &hints, &res)) != 0) {
		fprintf(stderr, "ref_mmsg: %s %s: %s\n", addr, port,
		    gai_strerror(e));
		exit(1);
	}
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		fprintf(stderr, "ref_mmsg: bind %s %s: %s\n", addr, port,
		    strerror(errno));
		exit(1);
	}
	freeaddrinfo(res);
	return fd;
}

int
main(int argc, char *argv[])
{
	static struct mmsghdr		 msg[BATCH];
	static struct iovec		 iov[BATCH];
	static struct sockaddr_storage	 peer[BATCH];
	struct sigaction		 sa;
	unsigned char			*buf;
	long				 secs = 0;
	char				*end;
	int				 ch, fd, i, n, done, r;

	while ((ch = getopt(argc, argv, "D:")) != -1) {
		switch (ch) {
		case 'D':
			secs = strtol(optarg, &end, 10);
			if (*end != '\0' || secs < 1 || secs > 31536000)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	fd = bind_udp(argv[optind], argv[optind + 1]);

	/* allocated once; only the pages touched count in the RSS */
	if ((buf = malloc((size_t)BATCH * BUFSZ)) == NULL) {
		fprintf(stderr, "ref_mmsg: out of memory\n");
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (secs > 0)
		alarm((unsigned int)secs);

	while (!stop_flag) {
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf + (size_t)i * BUFSZ;
			iov[i].iov_len = BUFSZ;
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
			msg[i].msg_hdr.msg_name = &peer[i];
			msg[i].msg_hdr.msg_namelen = sizeof(peer[i]);
		}
		n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;	/* EINTR, or an ICMP error */
		for (i = 0; i < n; i++)
			iov[i].iov_len = msg[i].msg_len;
		for (done = 0; done < n; ) {
			r = sendmmsg(fd, msg + done, (unsigned int)(n - done),
			    0);
			if (r < 0) {
				if (errno == EINTR && !stop_flag)
					continue;
				done++;		/* skip the one that failed */
			} else
				done += r;
		}
	}
	close(fd);
	return 0;
}
