/*
 * nts_conf.h - the nts group of an SNTP service (Network Time Security,
 * RFC 8915): the NTS-KE listener, its certificate and private key, the
 * cookie key file, and what NTS-KE announces (ntp_server, ntp_port).
 * Read by the time module's parse(); the certificate and key are loaded
 * and checked there, so udpd -t refuses a missing file or a key that does
 * not match, and a reload picks up a renewed certificate.
 */
#ifndef UDPD_NTS_CONF_H
#define UDPD_NTS_CONF_H

#include <stddef.h>
#include <libconfig.h>

#include "addr.h"
#include "conf_util.h"

/* The NTS-KE port (RFC 8915), for an address written without one. */
#define NTS_KE_PORT_DEFAULT	4460
/* The most addresses nts.listen can hold ("*" counts two). */
#define NTS_LISTEN_MAX		16

struct nts_tls;

struct nts_conf {
	struct udpd_sockaddr	*listen;	/* NTS-KE, TCP; none: no KE */
	char			**listen_text;	/* as written */
	size_t			 nlisten;
	char			*certificate;	/* resolved paths */
	char			*private_key;
	char			*cookie_keys;
	char			*ntp_server;	/* announced, or NULL */
	int			 ntp_port;	/* announced, or 0 */
	struct nts_tls		*tls;		/* with listen: the context */
};

/*
 * Reads the nts group s of service (paths relative to config_dir).
 * Returns the settings, or NULL with err naming FILE:LINE.
 */
struct nts_conf *nts_conf_parse(const config_setting_t *s,
	    const char *config_dir, const char *service,
	    struct conf_err *err);
void	nts_conf_free(struct nts_conf *c);

#endif
