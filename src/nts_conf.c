/*
 * nts_conf.c - the nts group of an SNTP service: strict like the rest of
 * the configuration (an unknown setting, a wrong type, a file that cannot
 * be read, a certificate without its key or a key that does not match it
 * are errors at FILE:LINE).  Reads files, writes none: the cookie key file
 * is only named here (the time module makes it when it starts).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nts_conf.h"
#include "nts_cookie.h"
#include "nts_siv.h"
#include "nts_tls.h"

static const char *const nts_conf_names[] = {
	"listen", "certificate", "private_key", "cookie_keys", "ntp_server",
	"ntp_port", NULL
};

/* A file setting: absent (0), read into *out resolved (1), or -1. */
static int
nts_conf_file(const config_setting_t *s, const char *name, const char *dir,
    char **out, struct conf_err *err)
{
	const char *v = NULL;
	int r = conf_get_string(s, name, &v, err);

	if (r != 1)
		return r;
	if (v[0] == '\0')
		return conf_error(err, config_setting_get_member(s, name),
		    "must not be empty");
	if ((*out = conf_path(dir, v)) == NULL)
		return conf_error(err, config_setting_get_member(s, name),
		    "out of memory");
	return 1;
}

/* "host:port", "[v6]:port", "*:port"; without a port, 4460. */
static int
nts_conf_addr(const char *text, struct udpd_sockaddr out[2], char *why,
    size_t whylen)
{
	const char *end = text[0] == '[' ? strchr(text, ']') : text;
	char with_port[300];

	if (end != NULL && strchr(end, ':') == NULL &&
	    strlen(text) < sizeof(with_port) - 8) {
		snprintf(with_port, sizeof(with_port), "%s:%d", text,
		    NTS_KE_PORT_DEFAULT);
		text = with_port;
	}
	return addr_parse_listen(text, out, why, whylen);
}

static int
nts_conf_duplicate(const struct nts_conf *c, const struct udpd_sockaddr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (addr_port(sa) == 0)
		return 0;
	for (size_t i = 0; i < c->nlisten; i++)
		if (addr_equal((const struct sockaddr *)&c->listen[i].ss, sa))
			return 1;
	return 0;
}

static int
nts_conf_listen(const config_setting_t *s, struct nts_conf *c,
    struct conf_err *err)
{
	const config_setting_t *l = config_setting_get_member(s, "listen");
	int n;

	if (l == NULL)
		return 0;
	if (!config_setting_is_array(l) && !config_setting_is_list(l))
		return conf_error(err, l, "must be a list of \"addr:port\"");
	if ((n = config_setting_length(l)) == 0)
		return conf_error(err, l, "must not be empty");
	c->listen = calloc(NTS_LISTEN_MAX, sizeof(*c->listen));
	c->listen_text = calloc(NTS_LISTEN_MAX, sizeof(*c->listen_text));
	if (c->listen == NULL || c->listen_text == NULL)
		return conf_error(err, l, "out of memory");
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l,
		    (unsigned)i);
		const char *text = config_setting_get_string(e);
		struct udpd_sockaddr a[2];
		char why[256];
		int got;

		if (text == NULL)
			return conf_error(err, e, "must be a string");
		if ((got = nts_conf_addr(text, a, why, sizeof(why))) < 0)
			return conf_error(err, e, "%s", why);
		if (c->nlisten + (size_t)got > NTS_LISTEN_MAX)
			return conf_error(err, l, "at most %d addresses (\"*\" "
			    "counts two)", NTS_LISTEN_MAX);
		for (int k = 0; k < got; k++) {
			if (nts_conf_duplicate(c, &a[k]))
				return conf_error(err, e, "address '%s' is "
				    "listed twice", text);
			c->listen[c->nlisten] = a[k];
			if ((c->listen_text[c->nlisten++] = strdup(text)) ==
			    NULL)
				return conf_error(err, e, "out of memory");
		}
	}
	return 0;
}

/* A DNS name or an address: printable ASCII, no space, 1-255 bytes. */
static int
nts_conf_server(const config_setting_t *s, struct nts_conf *c,
    struct conf_err *err)
{
	const config_setting_t *e = config_setting_get_member(s, "ntp_server");
	const char *v = NULL;
	long long port = 0;
	int r;

	if ((r = conf_get_string(s, "ntp_server", &v, err)) == -1)
		return -1;
	if (r == 1) {
		size_t n = strlen(v);

		for (size_t i = 0; i < n; i++)
			if (!isgraph((unsigned char)v[i]))
				return conf_error(err, e, "must be a host "
				    "name or an address (printable, no "
				    "spaces)");
		if (n == 0 || n > 255)
			return conf_error(err, e, "must be 1 to 255 bytes");
		if ((c->ntp_server = strdup(v)) == NULL)
			return conf_error(err, e, "out of memory");
	}
	if (conf_get_int(s, "ntp_port", 1, 65535, &port, err) == -1)
		return -1;
	c->ntp_port = (int)port;
	return 0;
}

/* With listen: the certificate and key, loaded and checked now. */
static int
nts_conf_tls(const config_setting_t *s, struct nts_conf *c,
    const char *service, struct conf_err *err)
{
	const config_setting_t *cert = config_setting_get_member(s,
	    "certificate");
	const config_setting_t *key = config_setting_get_member(s,
	    "private_key");
	int bad_key, others;
	char why[400];

	if (c->nlisten == 0) {
		static const char *const need[] = {
			"certificate", "private_key", "ntp_server", "ntp_port"
		};

		for (size_t i = 0; i < sizeof(need) / sizeof(*need); i++)
			if (config_setting_get_member(s, need[i]) != NULL)
				return conf_error(err,
				    config_setting_get_member(s, need[i]),
				    "needs listen (the NTS-KE addresses)");
		return 0;
	}
	if (!nts_tls_available())
		return conf_error(err, config_setting_get_member(s, "listen"),
		    "service \"%s\": the NTS key exchange is not built in "
		    "(udpd was built without libssl and libevent_openssl)",
		    service);
	if (cert == NULL || key == NULL)
		return conf_error(err, s, "listen needs certificate and "
		    "private_key");
	c->tls = nts_tls_load(c->certificate, c->private_key, &bad_key,
	    &others, why, sizeof(why));
	if (c->tls == NULL)
		return conf_error(err, bad_key ? key : cert, "%s", why);
	if (others)
		log_warning("%s: private key of service \"%s\" is readable by "
		    "others (chmod o-r)", c->private_key, service);
	return 0;
}

/* The cookie key file parses, or is missing where it can be made. */
static int
nts_conf_keys(const config_setting_t *s, const struct nts_conf *c,
    const char *service, struct conf_err *err)
{
	char why[400];

	if (!nts_siv_available())
		return conf_error(err, s, "service \"%s\": NTS is not built "
		    "in (udpd was built without Nettle)", service);
	if (nts_keys_check(c->cookie_keys, why, sizeof(why)) == -1)
		return conf_error(err, config_setting_get_member(s,
		    "cookie_keys"), "%s", why);
	return 0;
}

static int
nts_conf_read(const config_setting_t *s, struct nts_conf *c,
    const char *dir, const char *service, struct conf_err *err)
{
	int r;

	if (conf_check_keys(s, nts_conf_names, NULL, "nts (listen, "
	    "certificate, private_key, cookie_keys, ntp_server, ntp_port)",
	    err) == -1 ||
	    nts_conf_listen(s, c, err) == -1 ||
	    nts_conf_file(s, "certificate", dir, &c->certificate, err) == -1 ||
	    nts_conf_file(s, "private_key", dir, &c->private_key, err) == -1 ||
	    (r = nts_conf_file(s, "cookie_keys", dir, &c->cookie_keys,
	    err)) == -1 ||
	    nts_conf_server(s, c, err) == -1)
		return -1;
	if (r == 0)
		return conf_error(err, s, "cookie_keys is required (the file "
		    "of the keys that seal NTS cookies)");
	if (nts_conf_keys(s, c, service, err) == -1)
		return -1;
	return nts_conf_tls(s, c, service, err);
}

struct nts_conf *
nts_conf_parse(const config_setting_t *s, const char *config_dir,
    const char *service, struct conf_err *err)
{
	struct nts_conf *c;

	if (!config_setting_is_group(s)) {
		conf_error(err, s, "must be a group { cookie_keys = ...; }");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conf_error(err, s, "out of memory");
		return NULL;
	}
	if (nts_conf_read(s, c, config_dir, service != NULL ? service : "?",
	    err) == -1) {
		nts_conf_free(c);
		return NULL;
	}
	return c;
}

void
nts_conf_free(struct nts_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nlisten; i++)
		free(c->listen_text[i]);
	free(c->listen_text);
	free(c->listen);
	free(c->certificate);
	free(c->private_key);
	free(c->cookie_keys);
	free(c->ntp_server);
	nts_tls_free(c->tls);
	free(c);
}
