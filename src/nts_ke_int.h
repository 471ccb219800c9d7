/*
 * nts_ke_int.h - what the NTS-KE server's two files share and nothing else
 * includes: its state (nts_ke.c owns the listeners, the reloads and the
 * thread; nts_ke_session.c the TLS sessions they accept).
 */
#ifndef UDPD_NTS_KE_INT_H
#define UDPD_NTS_KE_INT_H

#include <sys/socket.h>
#include <pthread.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "acl.h"
#include "addr.h"
#include "nts_ke.h"
#include "ratelimit.h"

/* One service that serves NTS-KE: what a session needs of it. */
struct nts_ke_service {
	char			*name;
	const struct udpd_module *module;
	void			*instance;	/* the running one */
	struct nts_tls		*tls;		/* for new sessions */
	char			*ntp_server;
	int			 ntp_port;
	struct acl		 acl;
	struct ratelimit	*rl;
	uint64_t		 results[NTS_KE_NRESULTS];
	struct nts_ke_service	*next;
};

/* One listening address. */
struct nts_ke_sock {
	struct nts_ke		*k;
	char			*service;
	struct udpd_sockaddr	 want;		/* as configured */
	struct udpd_sockaddr	 local;		/* as bound */
	struct evconnlistener	*l;
	int			 keep;
	int			 logged;	/* "listening" said */
	struct nts_ke_sock	*next;
};

/* One session. */
struct nts_ke_conn {
	struct nts_ke		*k;
	char			*service;
	struct bufferevent	*bev;
	struct event		*deadline;
	int			 handshaken;
	int			 answered;	/* response queued */
	enum nts_ke_result	 result;
	struct sockaddr_storage	 peer;
	size_t			 len;
	uint8_t			 in[NTS_KE_REQUEST_MAX];
	struct nts_ke_conn	*prev, *next;
};

struct nts_ke {
	struct event_base	*base;		/* the thread's own */
	int			 wake[2];	/* 'p' park, 'q' quit */
	struct event		*wake_ev;
	pthread_t		 thread;
	int			 may_start;	/* nts_ke_start() was called */
	int			 started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 parked;	/* in nts_ke_park, under mu */
	int			 go;		/* main says: leave the park */
	int			 exited;	/* its loop ended */
	struct nts_ke_service	*services;
	struct nts_ke_sock	*socks;		/* serving */
	struct nts_ke_sock	*next;		/* prepared */
	struct nts_ke_conn	*conns;
	size_t			 nconns;
};

/* The service called name, or NULL (nts_ke_session.c). */
struct nts_ke_service *nts_ke_find(const struct nts_ke *, const char *);
/* Ends a session, counting r against its service. */
void	nts_ke_close(struct nts_ke_conn *, enum nts_ke_result);
/* The listeners' callbacks: a new connection, an accept error. */
void	nts_ke_accept(struct evconnlistener *, evutil_socket_t,
	    struct sockaddr *, int, void *);
void	nts_ke_accept_error(struct evconnlistener *, void *);

#endif
