#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

/*
 * ref_blocking - the simplest echo server there is: a blocking
 * recvfrom()/sendto() loop on one socket.  A yardstick for bench/run,
 * not a daemon.
 *
 * usage: ref_blocking [-D seconds] ADDR PORT
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
	fprintf(stderr, "usage: ref_blocking [-D seconds] ADDR PORT\n");
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
		fprintf(stderr, "ref_blocking: %s %s: %s\n", addr, port,
		    gai_strerror(e));
		exit(1);
	}
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		fprintf(stderr, "ref_blocking: bind %s %s: %s\n", addr, port,
		    strerror(errno));
		exit(1);
	}
	freeaddrinfo(res);
	return fd;
}

int
main(int argc, char *argv[])
{
	static unsigned char	 buf[65536];
	struct sockaddr_storage	 peer;
	struct sigaction	 sa;
	socklen_t		 plen;
	ssize_t			 n;
	long			 secs = 0;
	char			*end;
	int			 ch, fd;

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

	/* no SA_RESTART: a signal must interrupt the blocking recvfrom */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (secs > 0)
		alarm((unsigned int)secs);

	while (!stop_flag) {
		plen = sizeof(peer);
		n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&peer, &plen);
		if (n < 0)
			continue;	/* EINTR, or an ICMP error */
		(void)sendto(fd, buf, (size_t)n, 0,
		    (struct sockaddr *)&peer, plen);
	}
	close(fd);
	return 0;
}
