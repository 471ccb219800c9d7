/*
 * conf.h - the configuration file (libconfig syntax) turned into a
 * validated struct udpd_conf.  Loading is strict: anything unknown, of the
 * wrong type or duplicated is an error naming FILE:LINE and the setting.
 */
#ifndef UDPD_CONF_H
#define UDPD_CONF_H

#include <stddef.h>

#include "acl.h"
#include "addr.h"
#include "conf_util.h"
#include "module.h"

/*
 * The per-source limit a service gets when it sets none: every service
 * whose reply can provoke a reply (all but SNTP) has one, so that a loop
 * started by one spoofed datagram dies, and amplification is bounded
 * (SECURITY in udpd(8)).
 */
#define RATE_LIMIT_DEFAULT_RATE		1
#define RATE_LIMIT_DEFAULT_BURST	50
#define RATE_LIMIT_DEFAULT_PREFIX	64

struct rate_limit_conf {
	int		enabled;
	int		is_default;	/* not written: the default above */
	unsigned	rate;		/* tokens per second */
	unsigned	burst;		/* bucket size */
	unsigned	ipv6_prefix;	/* IPv6 sources grouped by this (0: 64) */
};

struct service_conf {
	char			*name;
	const struct udpd_module *module;
	void			*options;	/* module->parse()'s */
	void			*instance;	/* module->start()'s, or NULL */
	int			 enabled;
	struct udpd_sockaddr	*listen;
	char			**listen_text;	/* as written, for messages */
	/* Written "-addr:port": skipped when the host lacks the address. */
	unsigned char		*listen_optional;
	size_t			 nlisten;
	struct acl		 acl;		/* allow, deny */
	struct rate_limit_conf	 rate_limit;
	int			 invalid;	/* in error (conf_load_all) */
	/* module->reply_is_terminal(options): its replies provoke none. */
	int			 reply_is_terminal;
	size_t			 max_request;
	/* Canonical text of every setting, to see if a reload changed it. */
	char			*fingerprint;
	/* SO_BINDTODEVICE for every socket: a device or VRF, or NULL. */
	char			*interface;
	/* What sockets this service no longer has counted (server.c), so
	 * that its counters never go down at a reload. */
	struct udpd_counters	 retired;
};

/* The most daemon.metrics.max_connections can be. */
#define METRICS_CONNECTIONS_MAX		1024
/* The most addresses daemon.metrics.listen can hold ("*" counts two). */
#define METRICS_LISTEN_MAX		64

/* daemon.metrics: the Prometheus endpoint (metrics.c), TCP. */
struct metrics_conf {
	struct udpd_sockaddr	*listen;
	char			**listen_text;	/* as written, for messages */
	size_t			 nlisten;
	struct acl		 acl;		/* allow, deny */
	int			 max_connections;
};

struct udpd_conf {
	char			*path;
	char			*dir;		/* for relative paths */
	char			*user;		/* NULL: stay as started */
	char			*group;
	int			 facility;
	int			 log_level;
	int			 workers;	/* resolved: >= 1 */
	struct service_conf	*services;
	size_t			 nservices;
	struct metrics_conf	*metrics;	/* NULL: no endpoint */
};

/*
 * Loads and validates path, modules' options included, with no side
 * effect: no file opened but the config, nothing created (the server
 * starts the instances later).  Returns NULL with a message in err.
 */
struct udpd_conf *conf_load(const char *path, struct conf_err *err);
/*
 * The same, going on after an error where it can (the next service), so
 * that every error is found: report() is called for each, at most max
 * times; *nerr is the number found.  NULL if there was any.
 */
struct udpd_conf *conf_load_all(const char *path, size_t max,
	    void (*report)(const char *msg, void *arg), void *arg,
	    size_t *nerr);
void	conf_free(struct udpd_conf *conf);

#endif
