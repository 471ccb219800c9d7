/*
 * fuzz.h - shared helpers of the libFuzzer targets (script/fuzz builds
 * them): module instances from config text, a fake clock, a reply buffer
 * of exactly the capacity handed to the module (so ASan sees any byte
 * written past it), and invariant checks that abort, which libFuzzer
 * reports as a crash with the input that caused it.
 */
#ifndef UDPD_FUZZ_H
#define UDPD_FUZZ_H

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libconfig.h>

#include "module.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* 2026-11-21T23:36:47.123456789Z */
static struct timespec fuzz_now = { 1795304207, 123456789 };

static void __attribute__((unused))
fuzz_clock(struct timespec *ts)
{
	*ts = fuzz_now;
}

/*
 * The setting of a service of module m whose group holds body ("greeting
 * = \"Hi %s\";"), as conf.c would hand it over.  The parsed config is
 * kept for the life of the process, so instances may point into it.
 */
static __attribute__((unused)) const config_setting_t *
fuzz_setting(const struct udpd_module *m, const char *body)
{
	static config_t cfgs[16];
	static size_t ncfgs;
	config_setting_t *svc;
	char text[1024];

	FUZZ_CHECK(ncfgs < sizeof(cfgs) / sizeof(cfgs[0]));
	snprintf(text, sizeof(text), "svc = { name = \"fuzz\"; module = "
	    "\"%s\"; listen = [ \"127.0.0.1:0\" ]; %s };", m->name, body);
	config_init(&cfgs[ncfgs]);
	if (config_read_string(&cfgs[ncfgs], text) != CONFIG_TRUE) {
		fprintf(stderr, "fuzz config: line %d: %s\n%s\n",
		    config_error_line(&cfgs[ncfgs]),
		    config_error_text(&cfgs[ncfgs]), text);
		abort();
	}
	svc = config_lookup(&cfgs[ncfgs], "svc");
	FUZZ_CHECK(svc != NULL);
	ncfgs++;
	return svc;
}

/* An instance from a setting; any error aborts (fuzz configs are valid). */
static __attribute__((unused)) void *
fuzz_create(const struct udpd_module *m, const config_setting_t *svc,
    const char *config_dir)
{
	struct module_parse_ctx pctx = { "fuzz", config_dir };
	struct module_ctx ctx = { .service = "fuzz" };
	struct conf_err err = { { 0 } };
	void *options, *inst = NULL;

	if ((options = m->parse(svc, &pctx, &err)) != NULL) {
		inst = m->start(options, &ctx, NULL, err.msg,
		    sizeof(err.msg));
		m->free_options(options);
	}
	if (inst == NULL) {
		fprintf(stderr, "fuzz instance of %s: %s\n", m->name,
		    err.msg);
		abort();
	}
	return inst;
}

static __attribute__((unused)) void *
fuzz_instance(const struct udpd_module *m, const char *body,
    const char *config_dir)
{
	return fuzz_create(m, fuzz_setting(m, body), config_dir);
}

/*
 * Undoes the chat escaping ("\\" and "\xhh", lower-case hex, everything
 * else literal) into out (room for len bytes).  Returns the length, or -1
 * for a lone or malformed backslash sequence.
 */
static long __attribute__((unused))
fuzz_unescape(const char *in, size_t len, unsigned char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		const char *hi, *lo;

		if (in[i] != '\\') {
			out[o++] = (unsigned char)in[i];
			continue;
		}
		if (i + 1 < len && in[i + 1] == '\\') {
			out[o++] = '\\';
			i++;
			continue;
		}
		if (i + 3 >= len || in[i + 1] != 'x' || in[i + 2] == '\0' ||
		    in[i + 3] == '\0' ||
		    (hi = strchr(hex, in[i + 2])) == NULL ||
		    (lo = strchr(hex, in[i + 3])) == NULL)
			return -1;
		out[o++] = (unsigned char)((hi - hex) << 4 | (lo - hex));
		i += 3;
	}
	return (long)o;
}

struct fuzz_reply {
	enum udpd_verdict	 verdict;
	unsigned char		*buf;	/* exactly cap bytes, freed by the caller */
	size_t			 cap;
	size_t			 len;
};

/*
 * Calls m->handle on len bytes of data (an exact heap copy, so reads past
 * the request are caught too) from peer, with a reply buffer of cap
 * bytes, and checks what every handler promises: a known verdict and
 * rep.len <= cap.
 */
static void __attribute__((unused))
fuzz_handle(const struct udpd_module *m, void *inst, const uint8_t *data,
    size_t len, size_t cap, const struct sockaddr *peer, socklen_t peerlen,
    const struct timespec *rx, struct fuzz_reply *out)
{
	struct udpd_request req;
	struct udpd_reply rep;
	unsigned char *copy = malloc(len);

	FUZZ_CHECK(copy != NULL || len == 0);
	if (len > 0)
		memcpy(copy, data, len);
	memset(&req, 0, sizeof(req));
	req.data = copy;
	req.len = len;
	req.peer = peer;
	req.peerlen = peerlen;
	req.rx_time = *rx;
	req.now = fuzz_clock;
	rep.buf = malloc(cap);
	FUZZ_CHECK(rep.buf != NULL || cap == 0);
	rep.cap = cap;
	rep.len = 0;
	out->verdict = m->handle(inst, &req, &rep);
	FUZZ_CHECK(out->verdict == UDPD_REPLY ||
	    out->verdict == UDPD_REPLY_ERROR || out->verdict == UDPD_DROP ||
	    out->verdict == UDPD_DROP_SILENT);
	FUZZ_CHECK(rep.len <= cap);
	out->buf = rep.buf;
	out->cap = cap;
	out->len = rep.len;
	free(copy);
}

/* 127.0.0.1:40000 */
static __attribute__((unused)) const struct sockaddr *
fuzz_peer_v4(socklen_t *len)
{
	static struct sockaddr_in sin;

	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(sin);
	return (const struct sockaddr *)&sin;
}

/*
 * The reply capacity picked by one input byte: usually the daemon's
 * (65507), sometimes small, to reach the "does not fit" paths.
 */
static size_t __attribute__((unused))
fuzz_cap(uint8_t b)
{
	if (b < 0x80)
		return UDPD_MAX_DATAGRAM;
	return (size_t)(b & 0x7f) * 3;
}

/* Is the reply "error: <something>\n" with no other control bytes? */
static int __attribute__((unused))
fuzz_is_error_line(const unsigned char *p, size_t len)
{
	if (len < 8 || memcmp(p, "error: ", 7) != 0 || p[len - 1] != '\n')
		return 0;
	for (size_t i = 0; i + 1 < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * The body of a byte-for-byte module's target (echo, upper): byte 0 picks
 * the reply capacity, the rest is the datagram; whenever it fits the reply
 * is as long as the request and byte i is want(request byte i), else the
 * datagram is dropped.
 */
static void __attribute__((unused))
fuzz_bytewise(const struct udpd_module *m, void *inst, const uint8_t *data,
    size_t size, uint8_t (*want)(uint8_t))
{
	struct fuzz_reply r;
	socklen_t plen;
	const struct sockaddr *peer = fuzz_peer_v4(&plen);
	size_t cap;

	if (size == 0)
		return;
	cap = fuzz_cap(data[0]);
	data++;
	size--;
	fuzz_handle(m, inst, data, size, cap, peer, plen, &fuzz_now, &r);
	if (size <= cap) {
		FUZZ_CHECK(r.verdict == UDPD_REPLY);
		FUZZ_CHECK(r.len == size);
		for (size_t i = 0; i < size; i++)
			FUZZ_CHECK(r.buf[i] == want(data[i]));
	} else
		FUZZ_CHECK(r.verdict == UDPD_DROP ||
		    r.verdict == UDPD_DROP_SILENT);
	free(r.buf);
}

#endif
