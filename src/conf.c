/*
 * conf.c - loads udpd.conf (libconfig) into a struct udpd_conf, strictly:
 * every error names FILE:LINE and the setting.  Loading is pure: modules
 * parse their options here and start later, in the server.
 */
#include "config.h"

#include <net/if.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_text.h"
#include "log.h"

#define WORKERS_MAX	256
#define RATE_MAX	1000000
#define METRICS_CONNECTIONS_DEFAULT	16

static const char *const service_common_keys[] = {
	"name", "module", "listen", "enabled", "allow", "deny", "rate_limit",
	"max_request", "interface", NULL
};
static const char *const daemon_keys[] = {
	"user", "group", "syslog_facility", "log_level", "workers", "metrics",
	NULL
};

static int	conf_metrics(const config_setting_t *d, struct udpd_conf *conf,
		    struct conf_err *err);

/* Where conf_load_all() sends each error, and how many it has seen. */
struct conf_report {
	void	(*fn)(const char *msg, void *arg);
	void	*arg;
	size_t	 max;		/* fn is called at most this many times */
	size_t	 n;
};

/*
 * An error that loading can go on after: reported (with a report) and 0
 * returned, so the caller goes on; without one, -1 as before.
 */
static int
conf_report(struct conf_report *rep, const struct conf_err *err)
{
	if (rep == NULL)
		return -1;
	if (rep->n++ < rep->max)
		rep->fn(err->msg, rep->arg);
	return 0;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size);

	if (p == NULL)
		fatal("calloc");
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

static int
user_exists(const char *name)
{
	return getpwnam(name) != NULL;
}

static int
group_exists(const char *name)
{
	return getgrnam(name) != NULL;
}

/* daemon.user or daemon.group: a non-empty name this system knows. */
static int
conf_account(const config_setting_t *d, const char *key,
    int (*exists)(const char *), char **out, struct conf_err *err)
{
	const config_setting_t *s = config_setting_get_member(d, key);
	const char *str;
	int r;

	if ((r = conf_get_string(d, key, &str, err)) <= 0)
		return r;
	if (*str == '\0')
		return conf_error(err, s, "must not be empty");
	if (!exists(str))
		return conf_error(err, s, "no such %s '%s'", key, str);
	*out = xstrdup(str);
	return 1;
}

static int
conf_daemon(const config_setting_t *d, struct udpd_conf *conf,
    struct conf_err *err)
{
	const char *str;
	long long workers;
	int r;

	if (!config_setting_is_group(d))
		return conf_error(err, d, "must be a group { ... }");
	if (conf_check_keys(d, daemon_keys, NULL, "daemon", err) < 0)
		return -1;
	if (conf_account(d, "user", user_exists, &conf->user, err) < 0 ||
	    (r = conf_account(d, "group", group_exists, &conf->group,
	    err)) < 0)
		return -1;
	if (r == 1 && conf->user == NULL)
		return conf_error(err, config_setting_get_member(d, "group"),
		    "needs user (the group is taken when dropping root)");
	if ((r = conf_get_string(d, "syslog_facility", &str, err)) < 0)
		return -1;
	if (r == 1 && (conf->facility = log_facility_from_name(str)) < 0)
		return conf_error(err,
		    config_setting_get_member(d, "syslog_facility"),
		    "unknown facility '%s' (daemon, user, local0-local7)",
		    str);
	if ((r = conf_get_string(d, "log_level", &str, err)) < 0)
		return -1;
	if (r == 1 && (conf->log_level = log_level_from_name(str)) < 0)
		return conf_error(err, config_setting_get_member(d, "log_level"),
		    "unknown level '%s' (err, warning, notice, info, debug)",
		    str);
	workers = 1;
	if (conf_get_int(d, "workers", 0, WORKERS_MAX, &workers, err) < 0)
		return -1;
	if (workers == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		workers = cpus < 1 ? 1 : cpus > WORKERS_MAX ? WORKERS_MAX : cpus;
	}
	conf->workers = (int)workers;
	return conf_metrics(d, conf, err);
}

/* Service names appear in logs and in the stats JSON: keep them plain. */
static int
conf_valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-' && name[i] != '.')
			return 0;
	return 1;
}

/*
 * listen: "addr:port" strings; with optional_ok, a leading '-' marks an
 * address that may be missing on the host (skipped with a warning).
 */
static int
conf_listen(const config_setting_t *svc, struct service_conf *sc,
    int optional_ok, struct conf_err *err)
{
	const config_setting_t *l = config_setting_get_member(svc, "listen");
	char why[256];
	int n;

	if (l == NULL)
		return conf_error(err, svc, "service '%s' has no listen",
		    sc->name);
	if (!config_setting_is_array(l) && !config_setting_is_list(l))
		return conf_error(err, l, "must be a list of \"addr:port\"");
	if ((n = config_setting_length(l)) == 0)
		return conf_error(err, l, "must not be empty");
	sc->listen = xcalloc((size_t)n * 2, sizeof(*sc->listen));
	sc->listen_text = xcalloc((size_t)n * 2, sizeof(char *));
	sc->listen_optional = xcalloc((size_t)n * 2, 1);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l,
		    (unsigned)i);
		const char *text;
		int got, optional;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_error(err, e, "must be a string "
			    "\"addr:port\"");
		text = config_setting_get_string(e);
		if ((optional = text[0] == '-') && !optional_ok)
			return conf_error(err, e, "'%s': only a service's "
			    "listen address can be optional", text);
		got = addr_parse_listen(text + optional,
		    &sc->listen[sc->nlisten], why, sizeof(why));
		if (got < 0)
			return conf_error(err, e, "%s", why);
		for (int k = 0; k < got; k++) {
			sc->listen_optional[sc->nlisten] =
			    (unsigned char)optional;
			sc->listen_text[sc->nlisten++] = xstrdup(text +
			    optional);
		}
	}
	return 0;
}

static int
conf_cidrs(const config_setting_t *svc, const char *key, struct cidr **out,
    size_t *nout, struct conf_err *err)
{
	const config_setting_t *l = config_setting_get_member(svc, key);
	char why[256];
	int n;

	if (l == NULL)
		return 0;
	if (!config_setting_is_array(l) && !config_setting_is_list(l))
		return conf_error(err, l, "must be a list of CIDR blocks");
	n = config_setting_length(l);
	/* "allow = []" reads as "nobody", but would mean "everybody". */
	if (n == 0 && strcmp(key, "allow") == 0)
		return conf_error(err, l, "must not be empty (leave allow out "
		    "to let every source in)");
	*out = xcalloc((size_t)n, sizeof(**out));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l,
		    (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_error(err, e, "must be a string");
		if (cidr_parse(config_setting_get_string(e), &(*out)[i], why,
		    sizeof(why)) < 0)
			return conf_error(err, e, "%s", why);
	}
	*nout = (size_t)n;
	return 0;
}

/*
 * rate_limit = { rate = R; burst = B; ipv6_prefix = P; }, or false for
 * none.  Returns 1 when the setting is there, 0 when it is not.
 */
static int
conf_rate_limit(const config_setting_t *svc, struct rate_limit_conf *rl,
    struct conf_err *err)
{
	static const char *const keys[] = { "rate", "burst", "ipv6_prefix",
	    NULL };
	const config_setting_t *g = config_setting_get_member(svc,
	    "rate_limit");
	long long rate, burst, prefix = RATE_LIMIT_DEFAULT_PREFIX;

	if (g == NULL)
		return 0;
	if (config_setting_type(g) == CONFIG_TYPE_BOOL &&
	    !config_setting_get_bool(g))
		return 1;
	if (!config_setting_is_group(g))
		return conf_error(err, g, "must be a group "
		    "{ rate = R; burst = B; } or false");
	if (conf_check_keys(g, keys, NULL, "rate_limit", err) < 0)
		return -1;
	switch (conf_get_int(g, "rate", 1, RATE_MAX, &rate, err)) {
	case -1:
		return -1;
	case 0:
		return conf_error(err, g, "rate is required");
	}
	burst = rate;
	if (conf_get_int(g, "burst", 1, RATE_MAX, &burst, err) < 0 ||
	    conf_get_int(g, "ipv6_prefix", 32, 128, &prefix, err) < 0)
		return -1;
	rl->enabled = 1;
	rl->rate = (unsigned)rate;
	rl->burst = (unsigned)burst;
	rl->ipv6_prefix = (unsigned)prefix;
	return 1;
}

/* interface = "eth0": a network device or VRF that exists now. */
static int
conf_interface(const config_setting_t *svc, struct service_conf *sc,
    struct conf_err *err)
{
	const config_setting_t *s = config_setting_get_member(svc,
	    "interface");
	const char *name;
	int r;

	if ((r = conf_get_string(svc, "interface", &name, err)) <= 0)
		return r;
	if (*name == '\0' || strlen(name) >= IFNAMSIZ)
		return conf_error(err, s, "'%s': an interface name has 1 to %d "
		    "characters", name, IFNAMSIZ - 1);
	if (if_nametoindex(name) == 0)
		return conf_error(err, s, "no such network interface '%s'",
		    name);
	sc->interface = xstrdup(name);
	return 1;
}

/* A service that set no rate_limit: the default, unless its replies can
 * never provoke one (SNTP), which makes it neither loop nor amplify. */
static void
conf_rate_limit_default(struct service_conf *sc)
{
	if (sc->reply_is_terminal)
		return;
	sc->rate_limit.enabled = 1;
	sc->rate_limit.is_default = 1;
	sc->rate_limit.rate = RATE_LIMIT_DEFAULT_RATE;
	sc->rate_limit.burst = RATE_LIMIT_DEFAULT_BURST;
	sc->rate_limit.ipv6_prefix = RATE_LIMIT_DEFAULT_PREFIX;
}

/* Canonical text of a setting tree (names, types, values), for reloads. */
static void
conf_fingerprint_add(const config_setting_t *s, FILE *f)
{
	const char *name = config_setting_name(s);

	fprintf(f, "%s=", name != NULL ? name : "");
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		fputc(config_setting_type(s) == CONFIG_TYPE_GROUP ? '{' : '[',
		    f);
		for (int i = 0; i < config_setting_length(s); i++)
			conf_fingerprint_add(config_setting_get_elem(s,
			    (unsigned)i), f);
		fputc('}', f);
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		fprintf(f, "i%lld", (long long)config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		fprintf(f, "f%.17g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		fprintf(f, "b%d", config_setting_get_bool(s));
		break;
	case CONFIG_TYPE_STRING:
		fprintf(f, "s%zu:%s", strlen(config_setting_get_string(s)),
		    config_setting_get_string(s));
		break;
	}
	fputc(';', f);
}

static char *
conf_fingerprint(const config_setting_t *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		fatal("open_memstream");
	conf_fingerprint_add(s, f);
	if (fclose(f) != 0)
		fatal("fingerprint");
	return buf;
}

static int
conf_service_module(const config_setting_t *svc, struct service_conf *sc,
    struct conf_err *err)
{
	const char *str;

	switch (conf_get_string(svc, "name", &str, err)) {
	case -1:
		return -1;
	case 0:
		return conf_error(err, svc, "service has no name");
	}
	if (!conf_valid_name(str))
		return conf_error(err, config_setting_get_member(svc, "name"),
		    "'%s': use 1-64 letters, digits, '_', '-' or '.'", str);
	sc->name = xstrdup(str);
	switch (conf_get_string(svc, "module", &str, err)) {
	case -1:
		return -1;
	case 0:
		return conf_error(err, svc, "service '%s' has no module",
		    sc->name);
	}
	if ((sc->module = module_find(str)) == NULL) {
		char names[128] = "";

		for (size_t i = 0; udpd_modules[i] != NULL; i++)
			snprintf(names + strlen(names), sizeof(names) -
			    strlen(names), "%s%s", i > 0 ? ", " : "",
			    udpd_modules[i]->name);
		return conf_error(err, config_setting_get_member(svc, "module"),
		    "unknown module '%s' (%s)", str, names);
	}
	return 0;
}

static int
conf_service(const config_setting_t *svc, struct service_conf *sc,
    const struct module_parse_ctx *base, struct conf_err *err)
{
	struct module_parse_ctx ctx = *base;
	long long max_request;
	char where[160];
	int rl_set;

	if (!config_setting_is_group(svc))
		return conf_error(err, svc, "each service must be a group "
		    "{ name = ...; module = ...; listen = [...]; }");
	if (conf_service_module(svc, sc, err) < 0)
		return -1;
	snprintf(where, sizeof(where), "service '%s' (module %s)", sc->name,
	    sc->module->name);
	if (conf_check_keys(svc, service_common_keys, sc->module->options,
	    where, err) < 0)
		return -1;
	sc->enabled = 1;
	if (conf_get_bool(svc, "enabled", &sc->enabled, err) < 0 ||
	    conf_listen(svc, sc, 1, err) < 0 ||
	    conf_cidrs(svc, "allow", &sc->acl.allow, &sc->acl.nallow,
	    err) < 0 ||
	    conf_cidrs(svc, "deny", &sc->acl.deny, &sc->acl.ndeny, err) < 0 ||
	    (rl_set = conf_rate_limit(svc, &sc->rate_limit, err)) < 0 ||
	    conf_interface(svc, sc, err) < 0)
		return -1;
	max_request = sc->module->max_request != 0 ?
	    (long long)sc->module->max_request : UDPD_MAX_DATAGRAM;
	if (conf_get_int(svc, "max_request", 1, UDPD_MAX_DATAGRAM,
	    &max_request, err) < 0)
		return -1;
	sc->max_request = (size_t)max_request;
	sc->fingerprint = conf_fingerprint(svc);
	ctx.service = sc->name;
	if ((sc->options = sc->module->parse(svc, &ctx, err)) == NULL)
		return -1;
	sc->reply_is_terminal = sc->module->reply_is_terminal != NULL &&
	    sc->module->reply_is_terminal(sc->options);
	if (!rl_set)
		conf_rate_limit_default(sc);
	return 0;
}

/* An address twice in daemon.metrics.listen. */
static int
conf_metrics_duplicates(const config_setting_t *m,
    const struct metrics_conf *mc, struct conf_err *err);

/*
 * daemon.metrics: listen (TCP addresses, written as a service's), allow,
 * deny, max_connections.  Read with the functions that read a service's.
 */
static int
conf_metrics(const config_setting_t *d, struct udpd_conf *conf,
    struct conf_err *err)
{
	static const char *const keys[] = {
		"listen", "allow", "deny", "max_connections", NULL
	};
	const config_setting_t *m = config_setting_get_member(d, "metrics");
	struct service_conf tmp = { 0 };
	struct metrics_conf *mc;
	long long max_connections = METRICS_CONNECTIONS_DEFAULT;
	int r;

	if (m == NULL)
		return 0;
	if (!config_setting_is_group(m))
		return conf_error(err, m, "must be a group { listen = [ "
		    "\"addr:port\" ]; }");
	if (conf_check_keys(m, keys, NULL, "daemon.metrics", err) < 0)
		return -1;
	if (config_setting_get_member(m, "listen") == NULL)
		return conf_error(err, m, "listen is required");
	mc = conf->metrics = xcalloc(1, sizeof(*mc));
	r = conf_listen(m, &tmp, 0, err);
	free(tmp.listen_optional);
	mc->listen = tmp.listen;
	mc->listen_text = tmp.listen_text;
	mc->nlisten = tmp.nlisten;
	/* The endpoint holds that many: more must fail here (exit 1), not
	 * at the start (exit 69) after -t said OK. */
	if (r == 0 && mc->nlisten > METRICS_LISTEN_MAX)
		return conf_error(err, config_setting_get_member(m, "listen"),
		    "at most %d addresses (\"*\" counts two)",
		    METRICS_LISTEN_MAX);
	if (r < 0 || conf_metrics_duplicates(m, mc, err) < 0 ||
	    conf_cidrs(m, "allow", &mc->acl.allow, &mc->acl.nallow, err) < 0 ||
	    conf_cidrs(m, "deny", &mc->acl.deny, &mc->acl.ndeny, err) < 0 ||
	    conf_get_int(m, "max_connections", 1, METRICS_CONNECTIONS_MAX,
	    &max_connections, err) < 0)
		return -1;
	mc->max_connections = (int)max_connections;
	return 0;
}

/*
 * The element of svc's listen list that gave its k-th address ("*" gives
 * two), so that a duplicate is reported at its own line.
 */
static const config_setting_t *
conf_listen_elem(const config_setting_t *svc, size_t k)
{
	const config_setting_t *l = config_setting_get_member(svc, "listen");
	struct udpd_sockaddr tmp[2];
	char why[256];
	size_t seen = 0;

	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l,
		    (unsigned)i);
		const char *text = config_setting_get_string(e);
		int got = addr_parse_listen(text + (text[0] == '-'), tmp,
		    why, sizeof(why));

		seen += got > 0 ? (size_t)got : 1;
		if (k < seen)
			return e;
	}
	return l;
}

/*
 * Would binding both clash or let one socket take the other's traffic?
 * A wildcard overlaps every address of its family on the same port.
 */
static int
conf_addr_overlap(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family || addr_port(a) != addr_port(b))
		return 0;
	return addr_equal(a, b) || addr_is_wildcard(a) || addr_is_wildcard(b);
}

static int
conf_metrics_duplicates(const config_setting_t *m,
    const struct metrics_conf *mc, struct conf_err *err)
{
	for (size_t k = 0; k < mc->nlisten; k++) {
		const struct sockaddr *sa =
		    (const struct sockaddr *)&mc->listen[k].ss;

		if (addr_port(sa) == 0)		/* kernel-chosen: distinct */
			continue;
		for (size_t j = 0; j < k; j++)
			if (conf_addr_overlap((const struct sockaddr *)
			    &mc->listen[j].ss, sa))
				return conf_error(err, conf_listen_elem(m, k),
				    "address '%s' is listed twice",
				    mc->listen_text[k]);
	}
	return 0;
}

/* A name twice, or an address twice among enabled services. */
static int
conf_duplicates(const config_setting_t *list, const struct udpd_conf *conf,
    size_t i, struct conf_err *err)
{
	const config_setting_t *svc = config_setting_get_elem(list,
	    (unsigned)i);
	const struct service_conf *b = &conf->services[i];

	for (size_t j = 0; j < i; j++)
		if (conf->services[j].name != NULL &&
		    strcmp(conf->services[j].name, b->name) == 0)
			return conf_error(err,
			    config_setting_get_member(svc, "name"),
			    "duplicate service name '%s'", b->name);
	if (!b->enabled)
		return 0;
	for (size_t k = 0; k < b->nlisten; k++) {
		const struct sockaddr *sa =
		    (const struct sockaddr *)&b->listen[k].ss;

		if (addr_port(sa) == 0)		/* kernel-chosen: distinct */
			continue;
		for (size_t j = 0; j <= i; j++) {
			const struct service_conf *a = &conf->services[j];
			size_t end = j == i ? k : a->nlisten;

			if (!a->enabled || a->invalid)
				continue;
			for (size_t m = 0; m < end; m++)
				if (conf_addr_overlap((const struct sockaddr *)
				    &a->listen[m].ss, sa))
					return conf_error(err,
					    conf_listen_elem(svc, k),
					    "address '%s' is also used by "
					    "service '%s'",
					    b->listen_text[k], a->name);
		}
	}
	return 0;
}

/* What an enabled service holds for itself, claimed by another before. */
static int
conf_claims(const config_setting_t *list, const struct udpd_conf *conf,
    size_t i, struct conf_err *err)
{
	const struct service_conf *b = &conf->services[i];
	const char *mine;

	if (!b->enabled || b->module->claim == NULL ||
	    (mine = b->module->claim(b->options)) == NULL)
		return 0;
	for (size_t j = 0; j < i; j++) {
		const struct service_conf *a = &conf->services[j];
		const char *theirs;

		if (a->enabled && !a->invalid && a->module->claim != NULL &&
		    (theirs = a->module->claim(a->options)) != NULL &&
		    strcmp(mine, theirs) == 0)
			return conf_error(err, config_setting_get_elem(list,
			    (unsigned)i), "%s is also used by service '%s'",
			    mine, a->name);
	}
	return 0;
}

/*
 * Each service is checked even after an error in another (with rep), so
 * that -t shows them all; a service in error is marked invalid and left
 * out of the checks of the services after it.
 */
static int
conf_services(const config_setting_t *list, struct udpd_conf *conf,
    const struct module_parse_ctx *base, struct conf_err *err,
    struct conf_report *rep)
{
	int n;

	if (!config_setting_is_list(list) && !config_setting_is_array(list))
		return conf_error(err, list, "must be a list ( { ... }, ... )");
	n = config_setting_length(list);
	conf->services = xcalloc((size_t)n, sizeof(*conf->services));
	for (int i = 0; i < n; i++) {
		conf->nservices = (size_t)i + 1;
		if (conf_service(config_setting_get_elem(list, (unsigned)i),
		    &conf->services[i], base, err) < 0 ||
		    conf_duplicates(list, conf, (size_t)i, err) < 0 ||
		    conf_claims(list, conf, (size_t)i, err) < 0) {
			conf->services[i].invalid = 1;
			if (conf_report(rep, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int
conf_root(const config_t *cfg, struct udpd_conf *conf,
    const struct module_parse_ctx *base, struct conf_err *err,
    struct conf_report *rep)
{
	static const char *const root_keys[] = { "daemon", "services", NULL };
	const config_setting_t *root = config_root_setting(cfg);
	const config_setting_t *s;

	if (conf_check_keys(root, root_keys, NULL, "the top level", err) < 0 &&
	    conf_report(rep, err) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "daemon")) != NULL &&
	    conf_daemon(s, conf, err) < 0 && conf_report(rep, err) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "services")) == NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s:1: services: missing "
		    "(a list of services)", conf->path);
		conf_report(rep, err);
		return -1;
	}
	if (conf_services(s, conf, base, err, rep) < 0) {
		conf_report(rep, err);
		return -1;
	}
	return rep != NULL && rep->n > 0 ? -1 : 0;
}

/*
 * A hint for a syntax error: libconfig reports a missing ';' or ',' at
 * the line after the mistake, so look at the end of the line before.
 */
static const char *
conf_syntax_hint(const char *prev)
{
	size_t len = strlen(prev);

	while (len > 0 && isspace((unsigned char)prev[len - 1]))
		len--;
	if (len > 0 && strchr(";,{([", prev[len - 1]) == NULL &&
	    strchr(prev, '#') == NULL && strstr(prev, "//") == NULL)
		return " (is a ';' or ',' missing at the end of the line "
		    "before?)";
	return " (a setting is name = value; and ends with ';', list "
	    "elements are separated by ',', strings are in double quotes)";
}

/*
 * libconfig says only "syntax error" and a line: add the line's text and
 * a hint.
 */
static void
conf_syntax_error(const config_t *cfg, const char *path,
    struct conf_err *err)
{
	const char *file = config_error_file(cfg) != NULL ?
	    config_error_file(cfg) : path;
	int line = config_error_line(cfg), n = 0;
	char *buf = NULL, *text = NULL, *prev = NULL, shown[120];
	size_t cap = 0;
	FILE *f = fopen(file, "r");

	while (f != NULL && n < line && getline(&buf, &cap, f) >= 0) {
		char **keep = ++n == line ? &text : &prev;

		buf[strcspn(buf, "\r\n")] = '\0';
		if (n < line && (buf[strspn(buf, " \t")] == '\0' ||
		    buf[strspn(buf, " \t")] == '#'))
			continue;
		free(*keep);
		*keep = xstrdup(buf);
	}
	if (f != NULL)
		fclose(f);
	log_escape(text != NULL ? text : "", text != NULL ? strlen(text) : 0,
	    shown, sizeof(shown));
	snprintf(err->msg, sizeof(err->msg), "%s:%d: syntax: %s in \"%s\"%s",
	    file, line, config_error_text(cfg), shown,
	    conf_syntax_hint(prev != NULL ? prev : ""));
	free(buf);
	free(text);
	free(prev);
}

static struct udpd_conf *
conf_load_report(const char *path, struct conf_err *err,
    struct conf_report *rep)
{
	struct udpd_conf *conf = xcalloc(1, sizeof(*conf));
	struct module_parse_ctx base = { 0 };
	char *tmp = xstrdup(path);
	config_t cfg;
	int ok;

	conf->path = xstrdup(path);
	/* Absolute, so relative paths still work after a chdir("/"). */
	conf->dir = realpath(dirname(tmp), NULL);
	free(tmp);
	if (conf->dir == NULL)
		conf->dir = xstrdup(".");
	conf->facility = LOG_DAEMON;
	conf->log_level = LOG_INFO;
	conf->workers = 1;
	base.config_dir = conf->dir;

	config_init(&cfg);
	config_set_include_dir(&cfg, conf->dir);
	if (conf_text_check(path, conf->dir, err) < 0)
		ok = 0;
	else if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err->msg, sizeof(err->msg), "%s: cannot read: "
			    "%s", path, errno != 0 ? strerror(errno) :
			    "I/O error");
		else
			conf_syntax_error(&cfg, path, err);
		ok = 0;
	} else
		ok = conf_root(&cfg, conf, &base, err, rep) == 0;
	config_destroy(&cfg);
	if (!ok) {
		/* conf_root reported its own; the others are reported here. */
		if (rep != NULL && rep->n == 0)
			conf_report(rep, err);
		conf_free(conf);
		return NULL;
	}
	return conf;
}

struct udpd_conf *
conf_load(const char *path, struct conf_err *err)
{
	return conf_load_report(path, err, NULL);
}

struct udpd_conf *
conf_load_all(const char *path, size_t max,
    void (*report)(const char *msg, void *arg), void *arg, size_t *nerr)
{
	struct conf_report rep = { report, arg, max, 0 };
	struct conf_err err;
	struct udpd_conf *conf = conf_load_report(path, &err, &rep);

	*nerr = rep.n;
	return conf;
}

static void
service_conf_free(struct service_conf *sc)
{
	if (sc->instance != NULL)
		sc->module->destroy(sc->instance);
	if (sc->options != NULL)
		sc->module->free_options(sc->options);
	for (size_t i = 0; i < sc->nlisten; i++)
		free(sc->listen_text[i]);
	free(sc->listen_text);
	free(sc->listen);
	free(sc->listen_optional);
	acl_clear(&sc->acl);
	free(sc->fingerprint);
	free(sc->interface);
	free(sc->name);
}

static void
metrics_conf_free(struct metrics_conf *mc)
{
	if (mc == NULL)
		return;
	for (size_t i = 0; i < mc->nlisten; i++)
		free(mc->listen_text[i]);
	free(mc->listen_text);
	free(mc->listen);
	acl_clear(&mc->acl);
	free(mc);
}

void
conf_free(struct udpd_conf *conf)
{
	if (conf == NULL)
		return;
	metrics_conf_free(conf->metrics);
	for (size_t i = 0; i < conf->nservices; i++)
		service_conf_free(&conf->services[i]);
	free(conf->services);
	free(conf->user);
	free(conf->group);
	free(conf->dir);
	free(conf->path);
	free(conf);
}
