/*
 * chat_redis_conf.c - the options of the chat store on Redis, read without
 * connecting (udpd -t): the server or the sentinels that name it, and the
 * password files.  Built with or without
 * libhiredis, so that a build without it can refuse store = "redis" with
 * a reason.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_redis_conf.h"
#include "chat_store.h"
#include "log.h"

#define CHAT_REDIS_PASSWORD_MAX	4096

const char *const chat_redis_options[] = {
	"redis", "key", "password_file", "wait_replicas", "timeout_ms",
	"sentinels", "master", "sentinel_password_file", NULL
};

int
chat_redis_available(void)
{
#ifdef HAVE_HIREDIS
	return 1;
#else
	return 0;
#endif
}

/* A decimal port, 1-65535, and nothing after it. */
static int
chat_redis_port(const char *p, int *port)
{
	long v = 0;

	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = (int)v;
	return 0;
}

/*
 * "unix:/path": the path fits in sun_path (with its NUL).  A relative
 * path is resolved like every other file of the config.
 */
static int
chat_redis_addr_unix(const char *path, const char *dir,
    struct chat_redis_conf *c, const char **why)
{
	struct sockaddr_un sun;

	if (*path == '\0') {
		*why = "the unix socket path is empty";
		return -1;
	}
	if ((c->unix_path = conf_path(dir, path)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (strlen(c->unix_path) >= sizeof(sun.sun_path)) {
		*why = "the unix socket path is too long";
		return -1;
	}
	return 0;
}

/*
 * A numeric address only: a worker must never wait on DNS, and a name
 * resolved once would go stale.
 */
static int
chat_redis_addr_tcp(const char *text, char **hostp, int *port,
    const char **why)
{
	char host[INET6_ADDRSTRLEN + 2], buf[16];
	const char *colon, *end;
	size_t n;
	int v6 = text[0] == '[';

	if (v6) {
		if ((end = strchr(text, ']')) == NULL || end[1] != ':') {
			*why = "expected \"[v6address]:port\"";
			return -1;
		}
		n = (size_t)(end - text - 1);
		colon = end + 1;
		text++;
	} else {
		if ((colon = strrchr(text, ':')) == NULL) {
			*why = "expected \"host:port\", \"[v6]:port\" or "
			    "\"unix:/path\"";
			return -1;
		}
		n = (size_t)(colon - text);
	}
	if (n == 0 || n >= sizeof(host)) {
		*why = "bad address";
		return -1;
	}
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) != 1) {
		*why = v6 ? "not a numeric IPv6 address" :
		    "not a numeric IPv4 address (names are not resolved)";
		return -1;
	}
	if (chat_redis_port(colon + 1, port) == -1) {
		*why = "bad port (1-65535)";
		return -1;
	}
	if ((*hostp = strdup(host)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

int
chat_redis_conf_addr(const char *text, const char *config_dir,
    struct chat_redis_conf *c, const char **why)
{
	snprintf(c->label, sizeof(c->label), "%s", text);
	if (strncmp(text, "unix:", 5) == 0)
		return chat_redis_addr_unix(text + 5, config_dir, c, why);
	return chat_redis_addr_tcp(text, &c->host, &c->port, why);
}

/* ---- Sentinel: sentinels = [ ... ]; master = "name"; --------------- */

/* The master's name: sent to the sentinels, written in logs. */
static int
chat_redis_master_ok(const char *name, const char **why)
{
	size_t n = strlen(name);

	if (n == 0) {
		*why = "must not be empty";
		return -1;
	}
	if (n > CHAT_REDIS_MASTER_MAX) {
		*why = "too long";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= 0x20 || name[i] == 0x7f) {
			*why = "must not hold spaces or control characters";
			return -1;
		}
	return 0;
}

/* One "host:port" of the list into c->sentinels[i], not seen before. */
static int
chat_redis_conf_sentinel_addr(const config_setting_t *list, int i,
    struct chat_redis_conf *c, struct conf_err *err)
{
	const config_setting_t *e = config_setting_get_elem(list,
	    (unsigned)i);
	struct chat_redis_hostport *hp = &c->sentinels[i];
	const char *text, *why;

	if (config_setting_type(e) != CONFIG_TYPE_STRING)
		return conf_error(err, list, "must be a list of \"host:port\"");
	text = config_setting_get_string(e);
	if (chat_redis_addr_tcp(text, &hp->host, &hp->port, &why) == -1)
		return conf_error(err, list, "%s: %s", text, why);
	c->nsentinels = i + 1;
	for (int j = 0; j < i; j++)
		if (strcmp(c->sentinels[j].host, hp->host) == 0 &&
		    c->sentinels[j].port == hp->port)
			return conf_error(err, list, "%s is listed twice", text);
	return 0;
}

/* The list of sentinels: 1 to CHAT_REDIS_SENTINELS_MAX numeric addresses. */
static int
chat_redis_conf_sentinel_list(const config_setting_t *list,
    struct chat_redis_conf *c, struct conf_err *err)
{
	int n;

	if (!config_setting_is_aggregate(list) ||
	    config_setting_type(list) == CONFIG_TYPE_GROUP)
		return conf_error(err, list, "must be a list of \"host:port\"");
	n = config_setting_length(list);
	if (n < 1 || n > CHAT_REDIS_SENTINELS_MAX)
		return conf_error(err, list, "from 1 to %d addresses",
		    CHAT_REDIS_SENTINELS_MAX);
	if ((c->sentinels = calloc((size_t)n, sizeof(*c->sentinels))) == NULL)
		return conf_error(err, list, "out of memory");
	for (int i = 0; i < n; i++)
		if (chat_redis_conf_sentinel_addr(list, i, c, err) == -1)
			return -1;
	return 0;
}

/*
 * sentinels, master and sentinel_password_file: all or nothing, and
 * never with redis (has_redis).  Nothing set: 0, c untouched.
 */
static int
chat_redis_conf_sentinel(const config_setting_t *service, int has_redis,
    const char *dir, struct chat_redis_conf *c, struct conf_err *err)
{
	const config_setting_t *list = config_setting_get_member(service,
	    "sentinels");
	const char *master = NULL, *pw = NULL, *why;

	if (conf_get_string(service, "master", &master, err) < 0 ||
	    conf_get_string(service, "sentinel_password_file", &pw, err) < 0)
		return -1;
	if (list == NULL && master != NULL)
		return conf_error(err, config_setting_get_member(service,
		    "master"), "only with sentinels");
	if (list == NULL && pw != NULL)
		return conf_error(err, config_setting_get_member(service,
		    "sentinel_password_file"), "only with sentinels");
	if (list == NULL)
		return 0;
	if (has_redis)
		return conf_error(err, list, "redis and sentinels exclude each "
		    "other: the sentinels name the server");
	if (master == NULL)
		return conf_error(err, list, "needs master = \"name\" (the "
		    "name the sentinels monitor)");
	if (chat_redis_master_ok(master, &why) == -1)
		return conf_error(err, config_setting_get_member(service,
		    "master"), "%s", why);
	if (pw != NULL && pw[0] == '\0')
		return conf_error(err, config_setting_get_member(service,
		    "sentinel_password_file"), "must not be empty");
	if (chat_redis_conf_sentinel_list(list, c, err) == -1)
		return -1;
	if ((c->master = strdup(master)) == NULL || (pw != NULL &&
	    (c->sentinel_password_file = conf_path(dir, pw)) == NULL))
		return conf_error(err, service, "out of memory");
	snprintf(c->label, sizeof(c->label), "master \"%s\"", master);
	return 0;
}

/* The key: not empty, bounded, and printable, so logs can name it. */
static int
chat_redis_key_ok(const char *key, const char **why)
{
	size_t n = strlen(key);

	if (n == 0) {
		*why = "must not be empty";
		return -1;
	}
	if (n > CHAT_REDIS_KEY_MAX) {
		*why = "too long";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) {
			*why = "must not hold control characters";
			return -1;
		} else if (key[i] == '{' || key[i] == '}') {
			/* udpd puts the key in braces: one hash tag */
			*why = "must not hold \"{\" or \"}\"";
			return -1;
		}
	return 0;
}

/* The string options: redis (required), key, password_file. */
static int
chat_redis_conf_strings(const config_setting_t *service,
    const char *service_name, const char *dir, struct chat_redis_conf *c,
    struct conf_err *err)
{
	const char *addr = NULL, *key = NULL, *pw = NULL, *why;

	if (conf_get_string(service, "redis", &addr, err) < 0 ||
	    conf_get_string(service, "key", &key, err) < 0 ||
	    conf_get_string(service, "password_file", &pw, err) < 0)
		return -1;
	if (chat_redis_conf_sentinel(service, addr != NULL, dir, c, err) == -1)
		return -1;
	if (addr == NULL && c->nsentinels == 0)
		return conf_error(err, service, "store = \"redis\" needs "
		    "redis = \"host:port\" (or \"[v6]:port\", "
		    "\"unix:/path\"), or sentinels = [ \"host:port\", ... ] "
		    "and master = \"name\"");
	if (addr != NULL && chat_redis_conf_addr(addr, dir, c, &why) == -1)
		return conf_error(err, config_setting_get_member(service,
		    "redis"), "%s", why);
	if (key != NULL && chat_redis_key_ok(key, &why) == -1)
		return conf_error(err, config_setting_get_member(service,
		    "key"), "%s", why);
	if (key != NULL)
		c->key = strdup(key);
	else if (asprintf(&c->key, "udpd:%s", service_name) == -1)
		c->key = NULL;
	if (pw != NULL && pw[0] == '\0')
		return conf_error(err, config_setting_get_member(service,
		    "password_file"), "must not be empty");
	if (c->key == NULL || (pw != NULL &&
	    (c->password_file = conf_path(dir, pw)) == NULL))
		return conf_error(err, service, "out of memory");
	return 0;
}

int
chat_redis_conf_parse(const config_setting_t *service,
    const char *service_name, const char *config_dir,
    struct chat_redis_conf *c, struct conf_err *err)
{
	long long wait = 0, timeout = CHAT_REDIS_TIMEOUT_DEFAULT;
	long long window = CHAT_RETRY_WINDOW_MS;

	memset(c, 0, sizeof(*c));
	if (chat_redis_conf_strings(service, service_name, config_dir, c,
	    err) == -1 ||
	    conf_get_int(service, "wait_replicas", 0, CHAT_REDIS_WAIT_MAX,
	    &wait, err) < 0 ||
	    conf_get_int(service, "timeout_ms", CHAT_REDIS_TIMEOUT_MIN,
	    CHAT_REDIS_TIMEOUT_MAX, &timeout, err) < 0 ||
	    conf_get_int(service, "retry_window_ms", 0,
	    CHAT_RETRY_WINDOW_MAX_MS, &window, err) < 0) {
		chat_redis_conf_free(c);
		return -1;
	}
	c->wait_replicas = (int)wait;
	c->timeout_ms = (int)timeout;
	c->retry_window_ms = (int)window;
	return 0;
}

/* A copy of n bytes of p as a string; NULL on no memory. */
static char *
chat_redis_strndup(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

int
chat_redis_auth_parse(const char *text, size_t len, char **user,
    char **password, const char **why)
{
	const char *sp;

	*user = *password = NULL;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
			*why = text[i] == '\n' ? "more than one line" :
			    "control characters";
			return -1;
		}
	if (len == 0) {
		*why = "no password in it";
		return -1;
	}
	if ((sp = memchr(text, ' ', len)) != NULL &&
	    (sp == text || (size_t)(sp - text) == len - 1)) {
		*why = "expected \"password\" or \"user password\"";
		return -1;
	}
	if (sp != NULL) {
		*user = chat_redis_strndup(text, (size_t)(sp - text));
		*password = chat_redis_strndup(sp + 1, len -
		    (size_t)(sp - text) - 1);
	} else
		*password = chat_redis_strndup(text, len);
	if (*password == NULL || (sp != NULL && *user == NULL)) {
		free(*user);
		free(*password);
		*user = *password = NULL;
		*why = "out of memory";
		return -1;
	}
	return 0;
}

/* Up to cap - 1 bytes of fd; -1 with errno, EFBIG when there are more. */
static ssize_t
chat_redis_read_small(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, buf + got, cap - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return (ssize_t)got;
		got += (size_t)r;
		if (got == cap) {
			errno = EFBIG;
			return -1;
		}
	}
}

/*
 * The whole of a small regular file into buf; its mode in *mode.  -1 with
 * a reason in *why.
 */
static int
chat_redis_read_file(const char *path, char *buf, size_t cap, size_t *len,
    mode_t *mode, const char **why)
{
	struct stat st;
	ssize_t n = -1;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1) {
		*why = strerror(errno);
	} else if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
	} else if ((n = chat_redis_read_small(fd, buf, cap)) == -1) {
		*why = errno == EFBIG ? "too big for a password file" :
		    strerror(errno);
	} else {
		*len = (size_t)n;
		*mode = st.st_mode;
	}
	if (fd != -1)
		close(fd);
	return n == -1 ? -1 : 0;
}

/* err: "FILE:LINE: SETTING: PATH: ..." with the service, else plain. */
static int
chat_redis_auth_error(const config_setting_t *service, const char *setting,
    const char *path, const char *why, struct conf_err *err)
{
	if (service != NULL)
		return conf_error(err, config_setting_get_member(service,
		    setting), "%s: %s", path, why);
	snprintf(err->msg, sizeof(err->msg), "%s %s: %s", setting, path, why);
	return -1;
}

/* One password file (setting names it) into *user and *password. */
static int
chat_redis_conf_auth_file(const char *path, const char *setting,
    char **user, char **password, const config_setting_t *service,
    struct conf_err *err)
{
	char buf[CHAT_REDIS_PASSWORD_MAX + 1];
	const char *why = NULL;
	size_t n = 0;
	mode_t mode = 0;
	int rc;

	if (chat_redis_read_file(path, buf, sizeof(buf), &n, &mode,
	    &why) == -1)
		return chat_redis_auth_error(service, setting, path, why, err);
	if (mode & S_IROTH)
		log_warning("%s: readable by others: the Redis password "
		    "should not be", path);
	free(*user);
	if (*password != NULL)
		explicit_bzero(*password, strlen(*password));
	free(*password);
	rc = chat_redis_auth_parse(buf, n, user, password, &why);
	explicit_bzero(buf, sizeof(buf));
	if (rc == -1)
		return chat_redis_auth_error(service, setting, path, why, err);
	return 0;
}

int
chat_redis_conf_auth(struct chat_redis_conf *c,
    const config_setting_t *service, struct conf_err *err)
{
	if (c->password_file != NULL && chat_redis_conf_auth_file(
	    c->password_file, "password_file", &c->user, &c->password,
	    service, err) == -1)
		return -1;
	if (c->sentinel_password_file != NULL && chat_redis_conf_auth_file(
	    c->sentinel_password_file, "sentinel_password_file",
	    &c->sentinel_user, &c->sentinel_password, service, err) == -1)
		return -1;
	return 0;
}

/* Both NULL, or the same string. */
static int
chat_redis_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The same sentinels in the same order, master and credentials. */
static int
chat_redis_sentinels_equal(const struct chat_redis_conf *a,
    const struct chat_redis_conf *b)
{
	if (a->nsentinels != b->nsentinels ||
	    !chat_redis_str_eq(a->master, b->master) ||
	    !chat_redis_str_eq(a->sentinel_user, b->sentinel_user) ||
	    !chat_redis_str_eq(a->sentinel_password, b->sentinel_password))
		return 0;
	for (int i = 0; i < a->nsentinels; i++)
		if (strcmp(a->sentinels[i].host, b->sentinels[i].host) != 0 ||
		    a->sentinels[i].port != b->sentinels[i].port)
			return 0;
	return 1;
}

int
chat_redis_conf_equal(const struct chat_redis_conf *a,
    const struct chat_redis_conf *b)
{
	return chat_redis_str_eq(a->host, b->host) && a->port == b->port &&
	    chat_redis_str_eq(a->unix_path, b->unix_path) &&
	    chat_redis_str_eq(a->key, b->key) &&
	    chat_redis_str_eq(a->user, b->user) &&
	    chat_redis_str_eq(a->password, b->password) &&
	    a->wait_replicas == b->wait_replicas &&
	    a->retry_window_ms == b->retry_window_ms &&
	    a->timeout_ms == b->timeout_ms &&
	    chat_redis_sentinels_equal(a, b);
}

/* A copy of s (NULL stays NULL); -1 on no memory. */
static int
chat_redis_strdup_or_null(char **dst, const char *s)
{
	*dst = NULL;
	return s != NULL && (*dst = strdup(s)) == NULL ? -1 : 0;
}

int
chat_redis_conf_copy(struct chat_redis_conf *dst,
    const struct chat_redis_conf *src)
{
	int rc = 0;

	*dst = *src;
	dst->sentinels = NULL;
	rc |= chat_redis_strdup_or_null(&dst->host, src->host);
	rc |= chat_redis_strdup_or_null(&dst->unix_path, src->unix_path);
	rc |= chat_redis_strdup_or_null(&dst->key, src->key);
	rc |= chat_redis_strdup_or_null(&dst->password_file,
	    src->password_file);
	rc |= chat_redis_strdup_or_null(&dst->user, src->user);
	rc |= chat_redis_strdup_or_null(&dst->password, src->password);
	rc |= chat_redis_strdup_or_null(&dst->master, src->master);
	rc |= chat_redis_strdup_or_null(&dst->sentinel_password_file,
	    src->sentinel_password_file);
	rc |= chat_redis_strdup_or_null(&dst->sentinel_user,
	    src->sentinel_user);
	rc |= chat_redis_strdup_or_null(&dst->sentinel_password,
	    src->sentinel_password);
	dst->nsentinels = 0;
	if (src->nsentinels > 0 && (dst->sentinels = calloc(
	    (size_t)src->nsentinels, sizeof(*dst->sentinels))) == NULL)
		rc = -1;
	for (int i = 0; rc == 0 && i < src->nsentinels; i++) {
		dst->nsentinels = i + 1;
		dst->sentinels[i].port = src->sentinels[i].port;
		rc |= chat_redis_strdup_or_null(&dst->sentinels[i].host,
		    src->sentinels[i].host);
	}
	if (rc != 0)
		chat_redis_conf_free(dst);
	return rc != 0 ? -1 : 0;
}

void
chat_redis_conf_free(struct chat_redis_conf *c)
{
	free(c->host);
	free(c->unix_path);
	free(c->key);
	free(c->password_file);
	free(c->user);
	if (c->password != NULL)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	c->host = c->unix_path = c->key = c->password_file = NULL;
	c->user = c->password = NULL;
	for (int i = 0; c->sentinels != NULL && i < c->nsentinels; i++)
		free(c->sentinels[i].host);
	free(c->sentinels);
	free(c->master);
	free(c->sentinel_password_file);
	free(c->sentinel_user);
	if (c->sentinel_password != NULL)
		explicit_bzero(c->sentinel_password,
		    strlen(c->sentinel_password));
	free(c->sentinel_password);
	c->sentinels = NULL;
	c->nsentinels = 0;
	c->master = c->sentinel_password_file = NULL;
	c->sentinel_user = c->sentinel_password = NULL;
}

/* ---- the store's options (chat_store.h) ----------------------------- */

void *
chat_redis_store_parse(const config_setting_t *service,
    const struct module_parse_ctx *ctx, struct conf_err *err)
{
	struct chat_redis_conf *c;

	if (!chat_redis_available()) {
		conf_error(err, config_setting_get_member(service, "store"),
		    "service '%s': the Redis store is not built in (udpd "
		    "was built without libhiredis)", ctx->service);
		return NULL;
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		conf_error(err, service, "out of memory");
		return NULL;
	}
	if (chat_redis_conf_parse(service, ctx->service, ctx->config_dir, c,
	    err) == -1) {
		free(c);
		return NULL;
	}
	/* The password files too, so that udpd -t finds a missing or
	 * unreadable one (FILE:LINE); start() reads them again. */
	if (chat_redis_conf_auth(c, service, err) == -1) {
		chat_redis_store_free_options(c);
		return NULL;
	}
	return c;
}

void
chat_redis_store_free_options(void *options)
{
	if (options != NULL)
		chat_redis_conf_free(options);
	free(options);
}

#ifndef HAVE_HIREDIS
const char *
chat_redis_library(void)
{
	return "not built in";
}

/* Without libhiredis the name is known, and refused by parse(). */
const struct chat_store_ops chat_redis_store = {
	.name = "redis",
	.options = chat_redis_options,
	.parse = chat_redis_store_parse,
	.free_options = chat_redis_store_free_options,
};
#endif
