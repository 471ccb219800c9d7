/*
 * control.h - the control channel between a running udpd and "udpd
 * --reload" / "udpd --reopen": one AF_UNIX datagram socket in the
 * abstract namespace, named after the daemon's PID, so that a reload
 * returns the daemon's verdict instead of only sending a signal.
 */
#ifndef UDPD_CONTROL_H
#define UDPD_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

/* How long "udpd --reload" waits for the daemon's answer, seconds. */
#define CONTROL_TIMEOUT		60

/*
 * Daemon side: opens the socket of this process (getpid()).  Returns the
 * descriptor, or -1 with errno.
 */
int	control_open(void);

/*
 * Daemon side: reads one request from fd into cmd (NUL-terminated), and
 * the sender's address into *peer.  Returns 1 for a request from root or
 * from this process's own user, 0 for none or one refused (logged and
 * answered), -1 on a read error.
 */
struct control_peer {
	unsigned char	addr[128];
	unsigned	len;
};
int	control_receive(int fd, char *cmd, size_t cmdlen,
	    struct control_peer *peer);
/* Daemon side: the answer to a request ("ok ..." or "failed ..."). */
void	control_reply(int fd, const struct control_peer *peer,
	    const char *answer);

/*
 * Client side: sends cmd to the udpd of pid and waits up to timeout
 * seconds for its answer, copied into answer.  Returns 0, or -1 with a
 * reason in answer (no such daemon, no answer in time).
 */
int	control_ask(pid_t pid, const char *cmd, int timeout, char *answer,
	    size_t answerlen);

#endif
