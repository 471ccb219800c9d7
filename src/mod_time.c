/*
 * mod_time.c - the time service, in one of four protocols per instance:
 *
 *   format   the request is a strftime(3) format, the reply that text + "\n"
 *   sntp     an SNTP server (RFC 4330, RFC 5905 server mode), via ntp.c
 *   rfc868   4 bytes, big-endian seconds since 1900 (RFC 868)
 *   daytime  the 24 characters of ctime(3) + "\r\n" (RFC 867, as BSD inetd)
 *
 * Every protocol reports the time the datagram was received (rx_time, the
 * kernel's receive timestamp where available); only the SNTP transmit
 * timestamp is read later, just before the reply is written.
 *
 * SNTP with a key file (keys, trusted_keys, require_auth) authenticates
 * through ntp_auth.c: a request whose MAC verifies under a trusted key is
 * answered with a reply signed by that key; any other MAC is dropped (as
 * ntpsec and chrony do: a crypto-NAK would be unauthenticated anyway).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "module.h"
#include "ntp.h"
#include "ntp_auth.h"
#include "nts_conf.h"
#include "nts_cookie.h"
#include "nts_sntp.h"

#define TIME_FORMAT_MAX		256	/* bytes of strftime format */
#define TIME_OUTPUT_MAX		1024	/* bytes of formatted text */
#define TIME_FORMAT_DEFAULT	"%Y-%m-%d %X"

/* The stratum claimed when the kernel says the clock is synchronised but
 * udpd cannot know how far it is from a reference clock. */
#define TIME_KERNEL_STRATUM	10

enum time_proto {
	TIME_FORMAT,
	TIME_SNTP,
	TIME_RFC868,
	TIME_DAYTIME
};

struct time_state {
	enum time_proto	 proto;
	int		 utc;
	int		 stratum;	/* 1-15 vouched; 0 ask the kernel */
	unsigned char	 refid[4];
	int8_t		 precision;
	/* The kernel's clock state, read at most once per second. */
	pthread_mutex_t	 lock;
	int		 ks_valid;
	time_t		 ks_sec;
	struct ntp_kstate ks;
	/* SNTP authentication: NULL without a key file. */
	struct ntp_keys	*keys;
	int		 require_auth;
	/* The nts group (options only): NULL without NTS. */
	struct nts_conf	*nts;
	/* NTS: the cookie keys and counts (running state only); NULL
	 * without NTS. */
	struct nts_sntp	*nts_run;
};

static const char *const time_proto_names[] = {
	[TIME_FORMAT] = "format",
	[TIME_SNTP] = "sntp",
	[TIME_RFC868] = "rfc868",
	[TIME_DAYTIME] = "daytime"
};

static const char *const time_options[] = {
	"protocol", "utc", "stratum", "refid", "keys", "trusted_keys",
	"require_auth", "nts", NULL
};

/* Rejects an option that the instance's protocol would silently ignore. */
static int
time_check_scope(const config_setting_t *svc, const char *name, int valid,
    const char *protocols, struct conf_err *err)
{
	const config_setting_t *s = config_setting_get_member(svc, name);

	if (s == NULL || valid)
		return 0;
	return conf_error(err, s, "only valid with protocol %s", protocols);
}

static int
time_read_protocol(const config_setting_t *svc, enum time_proto *proto,
    struct conf_err *err)
{
	const char *name = NULL;
	size_t i;

	*proto = TIME_FORMAT;
	switch (conf_get_string(svc, "protocol", &name, err)) {
	case -1:
		return -1;
	case 0:
		return 0;
	}
	for (i = 0; i < sizeof(time_proto_names) / sizeof(*time_proto_names);
	    i++) {
		if (strcmp(name, time_proto_names[i]) == 0) {
			*proto = (enum time_proto)i;
			return 0;
		}
	}
	return conf_error(err, config_setting_get_member(svc, "protocol"),
	    "unknown protocol \"%.64s\" (format, sntp, rfc868 or daytime)",
	    name);
}

/*
 * The reference id is 1-4 printable ASCII characters (stratum 1 style,
 * e.g. "GPS", NUL-padded) or, for a server with an upstream, that
 * server's IPv4 address as RFC 5905 prescribes for stratum 2 and above.
 */
static int
time_read_refid(const config_setting_t *svc, unsigned char refid[4],
    struct conf_err *err)
{
	const char *s = NULL;
	struct in_addr a;
	size_t i, len;
	int r;

	memcpy(refid, "LOCL", 4);
	if ((r = conf_get_string(svc, "refid", &s, err)) != 1)
		return r;
	if (inet_pton(AF_INET, s, &a) == 1) {
		memcpy(refid, &a, 4);
		return 0;
	}
	len = strlen(s);
	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			break;
	if (len < 1 || len > 4 || i < len)
		return conf_error(err, config_setting_get_member(svc, "refid"),
		    "must be 1 to 4 printable ASCII characters or an IPv4 "
		    "address");
	memset(refid, 0, 4);
	memcpy(refid, s, len);
	return 0;
}

/* The ids listed in trusted_keys (1 to 65535, at least one). */
static int
time_read_trusted(const config_setting_t *svc, struct ntp_keys *keys,
    const char *path, struct conf_err *err)
{
	const config_setting_t *t = config_setting_get_member(svc,
	    "trusted_keys");
	uint32_t ids[64], missing;
	int n;

	if (t == NULL)
		return 0;
	if (!config_setting_is_aggregate(t) || config_setting_is_group(t))
		return conf_error(err, t, "must be a list of key ids");
	n = config_setting_length(t);
	if (n < 1 || n > (int)(sizeof(ids) / sizeof(*ids)))
		return conf_error(err, t, "must list 1 to %zu key ids",
		    sizeof(ids) / sizeof(*ids));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(t,
		    (unsigned)i);
		long long id;

		if (config_setting_type(e) != CONFIG_TYPE_INT &&
		    config_setting_type(e) != CONFIG_TYPE_INT64)
			return conf_error(err, e, "must be a key id (integer)");
		id = config_setting_get_int64(e);
		if (id < 1 || id > NTP_AUTH_KEYID_MAX)
			return conf_error(err, e, "key id %lld is not from 1 "
			    "to %d", id, NTP_AUTH_KEYID_MAX);
		ids[i] = (uint32_t)id;
	}
	if (ntp_keys_trust(keys, ids, (size_t)n, &missing) == -1)
		return conf_error(err, t, "key %u is not in %s",
		    (unsigned)missing, path);
	return 0;
}

/*
 * Reads the key file now, while the configuration is parsed: a bad file
 * must fail "udpd -t" and a reload before anything is replaced, and
 * reading changes nothing on disk.
 */
static int
time_read_keys(const config_setting_t *svc,
    const struct module_parse_ctx *ctx,
    struct time_state *st, struct conf_err *err)
{
	const config_setting_t *ks = config_setting_get_member(svc, "keys");
	const char *file = NULL, *service = ctx != NULL ? ctx->service : "?";
	char label[128], *path;
	int others = 0, at_line = 0;

	if (conf_get_bool(svc, "require_auth", &st->require_auth, err) == -1 ||
	    conf_get_string(svc, "keys", &file, err) == -1)
		return -1;
	if (file == NULL) {
		if (config_setting_get_member(svc, "trusted_keys") != NULL)
			return conf_error(err, config_setting_get_member(svc,
			    "trusted_keys"), "needs keys (a key file)");
		if (st->require_auth && config_setting_get_member(svc,
		    "nts") == NULL)
			return conf_error(err, config_setting_get_member(svc,
			    "require_auth"), "needs keys (a key file) or nts");
		return 0;
	}
	if (!ntp_auth_available())
		return conf_error(err, ks, "service \"%s\": udpd was built "
		    "without OpenSSL (libcrypto): no NTP authentication",
		    service);
	if ((path = conf_path(ctx != NULL ? ctx->config_dir : NULL,
	    file)) == NULL)
		return conf_error(err, ks, "out of memory");
	snprintf(label, sizeof(label), "keys of service \"%s\"", service);
	st->keys = ntp_keys_load(path, label, &others, &at_line, err);
	if (st->keys == NULL && !at_line) {
		struct conf_err whole = *err;

		conf_error(err, ks, "%s", whole.msg);
	}
	if (st->keys != NULL && others)
		log_warning("%s: key file of service \"%s\" is readable by "
		    "others (chmod o-r)", path, service);
	if (st->keys == NULL || time_read_trusted(svc, st->keys, path,
	    err) == -1) {
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/* The nts group: NTS-KE and the cookie keys (nts_conf.c). */
static int
time_read_nts(const config_setting_t *svc, const struct module_parse_ctx *ctx,
    struct time_state *st, struct conf_err *err)
{
	const config_setting_t *s = config_setting_get_member(svc, "nts");

	if (s == NULL)
		return 0;
	st->nts = nts_conf_parse(s, ctx != NULL ? ctx->config_dir : NULL,
	    ctx != NULL ? ctx->service : NULL, err);
	return st->nts == NULL ? -1 : 0;
}

static int
time_read_options(const config_setting_t *svc,
    const struct module_parse_ctx *ctx,
    struct time_state *st, struct conf_err *err)
{
	long long stratum = 0;
	int sntp, text;

	if (time_read_protocol(svc, &st->proto, err) == -1)
		return -1;
	sntp = st->proto == TIME_SNTP;
	text = st->proto == TIME_FORMAT || st->proto == TIME_DAYTIME;
	if (time_check_scope(svc, "utc", text, "\"format\" or \"daytime\"",
	    err) == -1 ||
	    time_check_scope(svc, "stratum", sntp, "\"sntp\"", err) == -1 ||
	    time_check_scope(svc, "refid", sntp, "\"sntp\"", err) == -1 ||
	    time_check_scope(svc, "keys", sntp, "\"sntp\"", err) == -1 ||
	    time_check_scope(svc, "trusted_keys", sntp, "\"sntp\"",
	    err) == -1 ||
	    time_check_scope(svc, "require_auth", sntp, "\"sntp\"", err) == -1 ||
	    time_check_scope(svc, "nts", sntp, "\"sntp\"", err) == -1)
		return -1;
	if (conf_get_bool(svc, "utc", &st->utc, err) == -1)
		return -1;
	if (conf_get_int(svc, "stratum", 1, 15, &stratum, err) == -1)
		return -1;
	st->stratum = (int)stratum;
	if (time_read_refid(svc, st->refid, err) == -1 ||
	    time_read_keys(svc, ctx, st, err) == -1)
		return -1;
	return time_read_nts(svc, ctx, st, err);
}

/* The options are the settings part of the state (no lock, no clock). */
static void *
time_parse(const config_setting_t *svc, const struct module_parse_ctx *ctx,
    struct conf_err *err)
{
	struct time_state *o;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		conf_error(err, svc, "out of memory");
		return NULL;
	}
	if (time_read_options(svc, ctx, o, err) == -1) {
		ntp_keys_free(o->keys);
		nts_conf_free(o->nts);
		free(o);
		return NULL;
	}
	return o;
}

static void
time_free_options(void *options)
{
	struct time_state *o = options;

	if (o != NULL) {
		ntp_keys_free(o->keys);
		nts_conf_free(o->nts);
	}
	free(options);
}

static void time_destroy(void *arg);

/* The cookie keys of the nts group, made if missing (a side effect:
 * start, not parse), ticked on the main thread's loop. */
static int
time_open_nts(struct time_state *st, const struct nts_conf *nc,
    const struct module_ctx *ctx, const struct time_state *previous,
    char *err, size_t errlen)
{
	char why[400];

	st->nts_run = nts_sntp_new(nc->cookie_keys, ctx != NULL &&
	    ctx->bases != NULL ? ctx->bases[0] : NULL, ctx != NULL ?
	    ctx->user : NULL, ctx != NULL ? ctx->group : NULL,
	    previous != NULL ? previous->nts_run : NULL, why, sizeof(why));
	if (st->nts_run == NULL) {
		snprintf(err, errlen, "cookie_keys: %s", why);
		return -1;
	}
	return 0;
}

static void *
time_start(const void *options, const struct module_ctx *ctx,
    void *previous, char *err, size_t errlen)
{
	const struct time_state *o = options;
	struct time_state *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->proto = o->proto;
	st->utc = o->utc;
	st->stratum = o->stratum;
	memcpy(st->refid, o->refid, sizeof(st->refid));
	/* The keys are read-only once parsed: shared, not copied. */
	st->keys = ntp_keys_ref(o->keys);
	st->require_auth = o->require_auth;
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		ntp_keys_free(st->keys);
		snprintf(err, errlen, "cannot create a mutex");
		free(st);
		return NULL;
	}
	if (o->nts != NULL && time_open_nts(st, o->nts, ctx, previous,
	    err, errlen) == -1) {
		time_destroy(st);
		return NULL;
	}
	st->precision = ntp_precision();
	/* Load the time zone now, before udpd may chroot or drop root. */
	tzset();
	return st;
}

static void
time_destroy(void *arg)
{
	struct time_state *st = arg;

	if (st == NULL)
		return;
	pthread_mutex_destroy(&st->lock);
	ntp_keys_free(st->keys);
	nts_sntp_free(st->nts_run);
	free(st);
}

/* "error: <reason>\n", or a drop if even that does not fit. */
static enum udpd_verdict
time_error(struct udpd_reply *rep, const char *reason)
{
	int n;

	rep->len = 0;
	if (rep->cap == 0)
		return UDPD_DROP;
	n = snprintf((char *)rep->buf, rep->cap, "error: %s\n", reason);
	if (n < 0 || (size_t)n >= rep->cap)
		return UDPD_DROP;
	rep->len = (size_t)n;
	return UDPD_REPLY_ERROR;
}

static enum udpd_verdict
time_put(struct udpd_reply *rep, const void *data, size_t len)
{
	rep->len = 0;
	if (len > rep->cap)
		return UDPD_DROP;
	memcpy(rep->buf, data, len);
	rep->len = len;
	return UDPD_REPLY;
}

static int
time_tm(const struct time_state *st, const struct timespec *ts,
    struct tm *tm)
{
	time_t t = ts->tv_sec;

	if (st->utc)
		return gmtime_r(&t, tm) == NULL ? -1 : 0;
	return localtime_r(&t, tm) == NULL ? -1 : 0;
}

/* The format comes from the network by design; strftime() bounds the
 * output and takes no arguments, so a hostile format cannot harm it. */
static size_t
time_strftime(char *out, size_t cap, const char *fmt, const struct tm *tm)
{
	size_t n;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(out, cap, fmt, tm);
#pragma GCC diagnostic pop
	return n;
}

/*
 * glibc's strftime() takes a field width ("%999c" pads to 999 bytes), which
 * would let a 5-byte request fill the whole 1024-byte output: a 200-fold
 * amplification for a spoofed source.  Widths are refused; the flags alone
 * (_-0^#) are not.
 */
static int
time_has_width(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '%')
			continue;
		while (++i < len && p[i] != '\0' &&
		    strchr("_-0^#", p[i]) != NULL)
			;
		if (i < len && p[i] >= '1' && p[i] <= '9')
			return 1;
	}
	return 0;
}

/*
 * strftime() returns 0 both when the output does not fit and when it is
 * legitimately empty ("%p" in some locales), so the format gets a
 * one-byte prefix: a prefix, unlike a suffix, can never complete a
 * conversion left open at the end ("abc%").
 */
static enum udpd_verdict
time_format(const struct time_state *st, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	char fmt[1 + TIME_FORMAT_MAX + 1], out[1 + TIME_OUTPUT_MAX + 1];
	size_t len = udpd_line_length(req->data, req->len), n;
	struct tm tm;

	if (len > TIME_FORMAT_MAX)
		return time_error(rep, "format too long");
	if (len > 0 && memchr(req->data, '\0', len) != NULL)
		return time_error(rep, "format contains NUL");
	if (time_has_width(req->data, len))
		return time_error(rep, "field widths are not allowed");
	fmt[0] = 'x';
	if (len == 0) {
		len = strlen(TIME_FORMAT_DEFAULT);
		memcpy(fmt + 1, TIME_FORMAT_DEFAULT, len);
	} else
		memcpy(fmt + 1, req->data, len);
	fmt[1 + len] = '\0';
	if (time_tm(st, &req->rx_time, &tm) == -1)
		return time_error(rep, "time out of range");
	n = time_strftime(out, sizeof(out), fmt, &tm);
	if (n == 0)
		return time_error(rep, "output too long");
	out[n] = '\n';
	return time_put(rep, out + 1, n);
}

/*
 * ctime(3)'s "Sat Nov 21 23:36:47 2026" followed by "\r\n", as BSD inetd
 * answers; built by hand because ctime() is not thread-safe and strftime()
 * would translate the names under a non-C LC_TIME.
 */
static enum udpd_verdict
time_daytime(const struct time_state *st, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	char line[64];
	struct tm tm;
	int n;

	if (time_tm(st, &req->rx_time, &tm) == -1 ||
	    tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return time_error(rep, "time out of range");
	n = snprintf(line, sizeof(line), "%s %s %2d %02d:%02d:%02d %lld\r\n",
	    days[tm.tm_wday], months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long long)tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= sizeof(line))
		return time_error(rep, "time out of range");
	return time_put(rep, line, (size_t)n);
}

static enum udpd_verdict
time_rfc868(const struct udpd_request *req, struct udpd_reply *rep)
{
	unsigned char b[4];

	ntp_rfc868_encode(req->rx_time.tv_sec, b);
	return time_put(rep, b, sizeof(b));
}

/* The kernel's clock state, cached per second of rx_time: adjtimex is a
 * system call (about 1 us here) and the answer changes slowly. */
static void
time_kstate(struct time_state *st, time_t sec, struct ntp_kstate *ks)
{
	pthread_mutex_lock(&st->lock);
	if (!st->ks_valid || st->ks_sec != sec) {
		ntp_kernel_state(&st->ks);
		st->ks_sec = sec;
		st->ks_valid = 1;
	}
	*ks = st->ks;
	pthread_mutex_unlock(&st->lock);
}

/*
 * What the reply says about our clock.  With `stratum` set the operator
 * vouches for it (as chrony's `local stratum N`): LI 0 and that stratum.
 * Otherwise the kernel decides: synchronised gives LI 0, stratum 10;
 * unsynchronised gives LI 3, stratum 16, which clients reject.  Root
 * delay is 0 (udpd is its own reference); root dispersion is the kernel's
 * maxerror when it is synchronised (the time daemon's root distance,
 * grown by the kernel since), else for a vouched clock its precision,
 * the only error udpd itself knows.  The reference timestamp is the start
 * of the current second, when the sync state was last confirmed.
 */
static void
time_server_info(struct time_state *st, const struct timespec *rx,
    struct ntp_server_info *si)
{
	struct ntp_kstate ks;

	time_kstate(st, rx->tv_sec, &ks);
	memset(si, 0, sizeof(*si));
	si->precision = st->precision;
	memcpy(si->refid, st->refid, 4);
	si->root_delay = 0;
	if (ks.synced)
		si->root_dispersion = ntp_short_from_us(ks.maxerror_us);
	else if (st->stratum != 0)
		si->root_dispersion = ntp_short_from_log2(st->precision);
	else
		si->root_dispersion = ntp_short_from_us(ks.maxerror_us);
	if (st->stratum != 0 || ks.synced) {
		si->li = NTP_LI_NONE;
		si->stratum = st->stratum != 0 ? (uint8_t)st->stratum :
		    TIME_KERNEL_STRATUM;
		si->reftime.tv_sec = rx->tv_sec;
	} else {
		si->li = NTP_LI_UNSYNC;
		si->stratum = NTP_STRATUM_UNSYNC;
	}
}

/*
 * With a key file: the key that will sign the reply to req (*key NULL: an
 * unsigned one), or -1 when req gets no answer: a MAC that does not
 * verify under a trusted key, a malformed trailer, or no MAC at all when
 * require_auth is set.
 */
static int
time_auth(const struct time_state *st, const struct udpd_request *req,
    const struct ntp_key **key)
{
	struct ntp_mac mac;

	*key = NULL;
	if (st->keys == NULL)		/* NTS alone: require_auth is NTS's */
		return st->require_auth ? -1 : 0;
	switch (ntp_auth_parse(req->data, req->len, &mac)) {
	case NTP_MAC_NONE:
		return st->require_auth ? -1 : 0;
	case NTP_MAC_PRESENT:
		*key = ntp_auth_verify(st->keys, req->data, &mac);
		return *key != NULL ? 0 : -1;
	case NTP_MAC_NAK:
	case NTP_MAC_INVALID:
	default:
		return -1;
	}
}

/* Appends the MAC of key (if any) to the rep->len bytes in rep. */
static enum udpd_verdict
time_sign(const struct ntp_key *key, struct udpd_reply *rep)
{
	if (rep->len == 0)
		return UDPD_DROP;
	if (key == NULL)
		return UDPD_REPLY;
	rep->len = ntp_auth_sign(key, rep->buf, rep->len, rep->cap);
	return rep->len == 0 ? UDPD_DROP : UDPD_REPLY;
}

/*
 * The answer to an NTS request (RFC 8915 section 5): the reply, or when
 * rate-limited a KoD RATE, each with the NTS fields; an NTS NAK (KoD
 * NTSN) when the cookie does not open; nothing for a bad authenticator
 * or malformed fields.
 */
static enum udpd_verdict
time_nts_answer(struct time_state *st, const struct udpd_request *req,
    const struct ntp_packet *q, enum nts_result res, struct nts_request *r,
    int limited, struct udpd_reply *rep)
{
	struct ntp_server_info si;
	struct nts_cookies c;

	rep->len = 0;
	/* The cookies first: only the sealing follows the transmit time. */
	if (res == NTS_OK && nts_sntp_prepare(st->nts_run, r, req->len,
	    &c) == -1)
		res = NTS_MALFORMED;
	if (res == NTS_OK && limited)
		rep->len = ntp_build_kod(req->data, req->len, rep->buf,
		    rep->cap);
	else if (res == NTS_OK) {
		time_server_info(st, &req->rx_time, &si);
		rep->len = ntp_build_reply(q, &si, &req->rx_time, req->now,
		    rep->buf, rep->cap);
	} else if (res == NTS_BAD_COOKIE)
		rep->len = ntp_build_kod_code(req->data, req->len, "NTSN",
		    rep->buf, rep->cap);
	/* Without a header (cap 0) it only wipes what it was given. */
	rep->len = nts_sntp_finish(res, r, &c, req->len, rep->buf,
	    rep->len != 0 ? rep->cap : 0);
	nts_request_wipe(r);
	if (rep->len == 0)
		return limited ? UDPD_DROP_SILENT : UDPD_DROP;
	return UDPD_REPLY;
}

static enum udpd_verdict
time_sntp(struct time_state *st, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	const struct ntp_key *key;
	struct ntp_packet q;
	struct ntp_server_info si;
	struct nts_request r;
	enum nts_result res;

	rep->len = 0;
	if (ntp_parse_request(req->data, req->len, &q) == -1)
		return UDPD_DROP;
	if (st->nts_run != NULL && (res = nts_sntp_check(st->nts_run,
	    req->data, req->len, &r)) != NTS_NONE)
		return time_nts_answer(st, req, &q, res, &r, 0, rep);
	if (time_auth(st, req, &key) == -1)
		return UDPD_DROP;
	time_server_info(st, &req->rx_time, &si);
	rep->len = ntp_build_reply(&q, &si, &req->rx_time, req->now, rep->buf,
	    rep->cap);
	return time_sign(key, rep);
}

static enum udpd_verdict
time_handle(void *arg, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	struct time_state *st = arg;

	switch (st->proto) {
	case TIME_SNTP:
		return time_sntp(st, req, rep);
	case TIME_RFC868:
		return time_rfc868(req, rep);
	case TIME_DAYTIME:
		return time_daytime(st, req, rep);
	case TIME_FORMAT:
	default:
		return time_format(st, req, rep);
	}
}

/* Only an SNTP reply (mode 4, which no NTP server answers) can never
 * provoke a reply, so ntpd clients on port 123 may be answered.  Given
 * the options, which are a time_state too. */
static int
time_reply_is_terminal(const void *arg)
{
	const struct time_state *st = arg;

	return st != NULL && st->proto == TIME_SNTP;
}

/*
 * A rate-limited SNTP client gets, now and then, a Kiss-o'-Death RATE
 * (RFC 5905 section 7.4) telling it to back off, rather than silence that
 * it would answer by retrying.  An authenticated client only heeds a
 * signed KoD, so it gets one signed with its key, or nothing when its MAC
 * does not verify.  Other protocols stay silent.
 */
static enum udpd_verdict
time_limited(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	struct time_state *ts = state;
	const struct ntp_key *key;
	struct ntp_packet q;
	struct nts_request r;
	enum nts_result res;

	rep->len = 0;
	if (ts->proto != TIME_SNTP ||
	    ntp_parse_request(req->data, req->len, &q) == -1)
		return UDPD_DROP_SILENT;
	if (ts->nts_run != NULL && (res = nts_sntp_check(ts->nts_run,
	    req->data, req->len, &r)) != NTS_NONE)
		return time_nts_answer(ts, req, &q, res, &r, 1, rep);
	if (time_auth(ts, req, &key) == -1)
		return UDPD_DROP_SILENT;
	rep->len = ntp_build_kod(req->data, req->len, rep->buf, rep->cap);
	return time_sign(key, rep) == UDPD_REPLY ? UDPD_REPLY :
	    UDPD_DROP_SILENT;
}

/* The nts group, for the NTS-KE server. */
static const struct nts_conf *
time_nts(const void *options)
{
	const struct time_state *o = options;

	return o != NULL ? o->nts : NULL;
}

/* One cookie for NTS-KE, sealed with the instance's cookie keys. */
static size_t
time_nts_cookie(void *state, uint16_t aead, const uint8_t *c2s,
    const uint8_t *s2c, size_t keylen, uint8_t *out, size_t cap)
{
	struct time_state *st = state;

	if (st == NULL || st->nts_run == NULL || keylen != NTS_AEAD_KEY_LEN)
		return 0;
	return nts_cookie_make(nts_sntp_keys(st->nts_run), aead, c2s, s2c,
	    out, cap);
}

static int
time_nts_stats(void *state, struct nts_sntp_stats *s)
{
	struct time_state *st = state;

	if (st == NULL || st->nts_run == NULL)
		return -1;
	nts_sntp_stats(st->nts_run, s);
	return 0;
}

const struct udpd_module module_time = {
	.name = "time",
	.options = time_options,
	.max_request = 0,
	.wants_rx_timestamp = 1,
	.reply_is_terminal = time_reply_is_terminal,
	.parse = time_parse,
	.free_options = time_free_options,
	.start = time_start,
	.handle = time_handle,
	.destroy = time_destroy,
	.limited = time_limited,
	.nts = time_nts,
	.nts_cookie = time_nts_cookie,
	.nts_stats = time_nts_stats,
};
