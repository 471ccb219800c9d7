/* unit.h - small helpers shared by the check unit tests. */
#ifndef UDPD_TESTS_UNIT_H
#define UDPD_TESTS_UNIT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libconfig.h>

#include "module.h"

/* The injected clock (udpd_request.now) of every unit test: it reads
 * unit_now, which a test sets as it needs (2026-11-21T23:36:47Z). */
static struct timespec unit_now __attribute__((unused)) = { 1795304207, 0 };

static __attribute__((unused)) void
unit_clock(struct timespec *ts)
{
	*ts = unit_now;
}

/* Bytes past a reply buffer's capacity that handle() must leave alone. */
#define UNIT_GUARD	64

/*
 * Runs mod->handle() on len bytes of data from peer (NULL: 127.0.0.1:40000)
 * received at unit_now, with a reply buffer of cap bytes in buf (which has
 * room for cap + UNIT_GUARD).  Checks that a reply fits in cap and that
 * nothing was written past it.  Returns the verdict, the reply length in
 * *outlen.
 */
static inline enum udpd_verdict
unit_handle(const struct udpd_module *mod, void *st, const void *data,
    size_t len, const struct sockaddr *peer, unsigned char *buf, size_t cap,
    size_t *outlen)
{
	struct sockaddr_in lo = { .sin_family = AF_INET,
	    .sin_port = htons(40000), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct udpd_request req = { .data = data, .len = len,
	    .rx_time = unit_now, .now = unit_clock };
	struct udpd_reply rep = { .buf = buf, .cap = cap, .len = 12345 };
	enum udpd_verdict v;

	req.peer = peer != NULL ? peer : (const struct sockaddr *)&lo;
	req.peerlen = peer == NULL ? sizeof(lo) : peer->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	memset(buf, 0xee, cap + UNIT_GUARD);
	v = mod->handle(st, &req, &rep);	/* must set rep.len, even to 0 */
	if (v == UDPD_REPLY || v == UDPD_REPLY_ERROR)
		ck_assert_uint_le(rep.len, cap);
	for (size_t i = cap; i < cap + UNIT_GUARD; i++)
		ck_assert_msg(buf[i] == 0xee, "wrote past cap at %zu", i);
	*outlen = rep.len;
	return v;
}

/* Runs one suite with CK_ENV verbosity; the exit status automake expects. */
static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * Runs mod->parse() on the setting at path ("" for the root group) of a
 * libconfig text, then mod->start() with ctx (previous: none).  The config
 * and the options are freed before the instance is used, so an instance
 * that kept pointers into either shows up under ASan.  A start error is
 * returned in err too.
 */
static inline void *
unit_create(const struct udpd_module *mod, const char *text,
    const char *path, const char *config_dir, const struct module_ctx *ctx,
    struct conf_err *err)
{
	struct module_parse_ctx pctx = { NULL, config_dir };
	const config_setting_t *s;
	config_t cfg;
	void *options, *st = NULL;

	memset(err, 0, sizeof(*err));
	config_init(&cfg);
	ck_assert_msg(config_read_string(&cfg, text) == CONFIG_TRUE,
	    "bad test config: line %d: %s", config_error_line(&cfg),
	    config_error_text(&cfg));
	s = *path == '\0' ? config_root_setting(&cfg) :
	    config_lookup(&cfg, path);
	ck_assert_ptr_nonnull(s);
	pctx.service = ctx != NULL ? ctx->service : mod->name;
	options = mod->parse(s, &pctx, err);
	config_destroy(&cfg);
	if (options == NULL)
		return NULL;
	st = mod->start(options, ctx, NULL, err->msg, sizeof(err->msg));
	mod->free_options(options);
	return st;
}

#endif
