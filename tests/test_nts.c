/*
 * test_nts.c - NTS for NTP (nts.c): requests walked, opened and checked,
 * replies that echo the Unique Identifier and seal fresh cookies, never
 * longer than the request; every malformed shape (truncated, oversized,
 * duplicated, misplaced, zero-length, unknown fields) refused without
 * touching a byte past the packet.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nts.h"
#include "nts_client.h"
#include "nts_cookie.h"
#include "nts_sntp.h"
#include "unit.h"

static char dir[64];
static struct nts_keys *keys;
static struct ntsc cl;
static uint8_t pkt[4096], out[4096];

static void
setup(void)
{
	struct nts_keys_conf c = { NULL, 0, (uid_t)-1, (gid_t)-1 };
	char path[128], err[256];

	strcpy(dir, "/tmp/udpd-nts-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nts.keys", dir);
	c.path = path;
	keys = nts_keys_open(&c, err, sizeof(err));
	ck_assert_msg(keys != NULL, "%s", err);
	ck_assert_int_eq(ntsc_init(&cl, keys, 1), 0);
}

static void
teardown(void)
{
	char cmd[128];

	nts_keys_free(keys);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Parses len bytes of pkt copied to a buffer of exactly that size, so
 * ASan catches a read past the datagram. */
static enum nts_result
parse(size_t len, struct nts_request *r)
{
	uint8_t *exact = malloc(len > 0 ? len : 1);
	enum nts_result res;

	ck_assert_ptr_nonnull(exact);
	memcpy(exact, pkt, len);
	res = nts_parse_request(keys, exact, len, r);
	if (res == NTS_OK || res == NTS_BAD_COOKIE)
		r->uid = r->uid - exact + pkt;	/* exact is freed */
	free(exact);
	return res;
}

/* A reply to a request with ph placeholders and enc encrypted ones. */
static void
round_trip(unsigned ph, unsigned enc, unsigned want_cookies)
{
	uint8_t cookies[8][NTS_COOKIE_LEN], c2s[32], s2c[32];
	struct nts_request r;
	size_t len = ntsc_request(&cl, ph, enc, pkt), rlen;
	uint16_t aead;

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(parse(len, &r), NTS_OK);
	ck_assert_uint_eq(r.cookies, 1 + ph + enc);
	memset(out, 0xee, sizeof(out));
	ntsc_header(out);		/* stands for the server's header */
	rlen = nts_build_reply(keys, &r, len, out, sizeof(out));
	ck_assert_uint_gt(rlen, 0);
	ck_assert_uint_le(rlen, len);
	ck_assert_uint_eq(out[rlen], 0xee);
	ck_assert_int_eq(ntsc_reply(&cl, cl.uid, 32, out, rlen, cookies),
	    (int)want_cookies);
	for (unsigned i = 0; i < want_cookies; i++) {
		ck_assert_int_eq(nts_cookie_open(keys, cookies[i],
		    NTS_COOKIE_LEN, &aead, c2s, s2c), 0);
		ck_assert_mem_eq(c2s, cl.c2s, 32);
		ck_assert_mem_eq(s2c, cl.s2c, 32);
	}
	nts_request_wipe(&r);
}

START_TEST(request_round_trip)
{
	round_trip(0, 0, 1);
	round_trip(3, 0, 4);
	round_trip(0, 2, 3);
	round_trip(7, 0, 8);
	round_trip(9, 0, 8);	/* at most 8, and the reply is padded */
	round_trip(2, 8, 8);
}
END_TEST

/* Exactly as long as the request with one cookie per cookie asked. */
START_TEST(reply_as_long_as_request)
{
	struct nts_request r;
	size_t len;

	for (unsigned ph = 0; ph < 8; ph++) {
		len = ntsc_request(&cl, ph, 0, pkt);
		ck_assert_int_eq(parse(len, &r), NTS_OK);
		ntsc_header(out);
		ck_assert_uint_eq(nts_build_reply(keys, &r, len, out,
		    sizeof(out)), len);
		ck_assert_uint_eq(nts_build_reply(keys, &r, len, out, len - 1),
		    0);
	}
}
END_TEST

START_TEST(not_nts)
{
	struct nts_request r;
	size_t len = ntsc_header(pkt);

	ck_assert_int_eq(parse(len, &r), NTS_NONE);
	/* An unknown field alone, or a MAC after it: not NTS. */
	len = ntsc_field(pkt, len, 0x2005, NULL, 28);
	ck_assert_int_eq(parse(len, &r), NTS_NONE);
	memset(pkt + len, 0, 20);
	ck_assert_int_eq(parse(len + 20, &r), NTS_NONE);
	/* NTPv3 never carries fields. */
	len = ntsc_request(&cl, 0, 0, pkt);
	pkt[0] = 3 << 3 | 3;
	ck_assert_int_eq(parse(len, &r), NTS_NONE);
}
END_TEST

START_TEST(bad_cookie_gets_nak)
{
	struct nts_request r;
	size_t len = ntsc_request(&cl, 1, 0, pkt), n;

	pkt[48 + 36 + 4 + 30] ^= 1;	/* inside the cookie */
	ck_assert_int_eq(parse(len, &r), NTS_BAD_COOKIE);
	ck_assert_ptr_eq(r.uid, pkt + 52);
	ntsc_header(out);
	n = nts_build_nak(&r, out, sizeof(out));
	ck_assert_uint_eq(n, 48 + 36);
	ck_assert_mem_eq(out + 48, pkt + 48, 36);
	ck_assert_uint_eq(nts_build_nak(&r, out, 48 + 35), 0);
	/* A cookie of another length never opens. */
	len = ntsc_header(pkt);
	len = ntsc_field(pkt, len, NTS_EF_UNIQUE_ID, cl.uid, 32);
	len = ntsc_field(pkt, len, NTS_EF_COOKIE, cl.cookie, 100);
	len = ntsc_auth(&cl, pkt, len, 0);
	ck_assert_int_eq(parse(len, &r), NTS_BAD_COOKIE);
}
END_TEST

START_TEST(bad_authenticator)
{
	struct nts_request r;
	size_t len = ntsc_request(&cl, 1, 1, pkt);

	for (size_t i = 0; i < len; i++) {
		/* Every byte is covered but the cookie's (a NAK) and the
		 * lengths (malformed). */
		enum nts_result res;

		if (i >= 88 && i < 88 + 104)
			continue;
		pkt[i] ^= 0x40;
		res = parse(len, &r);
		ck_assert_msg(res == NTS_BAD_AUTH || res == NTS_MALFORMED ||
		    res == NTS_NONE || (i == 0 && res == NTS_NONE),
		    "byte %zu: %s", i, nts_result_name(res));
		pkt[i] ^= 0x40;
	}
	/* A client with other keys and the same cookie. */
	memset(cl.c2s, 0x99, 32);
	len = ntsc_request(&cl, 0, 0, pkt);
	ck_assert_int_eq(parse(len, &r), NTS_BAD_AUTH);
}
END_TEST

/* Every prefix of a good request is refused, and never read past. */
START_TEST(truncated)
{
	struct nts_request r;
	size_t len = ntsc_request(&cl, 2, 1, pkt);

	for (size_t n = 0; n < len; n++) {
		enum nts_result res = parse(n, &r);

		ck_assert_msg(res == NTS_NONE || res == NTS_MALFORMED,
		    "%zu: %s", n, nts_result_name(res));
	}
	ck_assert_int_eq(parse(len, &r), NTS_OK);
}
END_TEST

static enum nts_result
parse_fields(const uint16_t *types, const size_t *lens, size_t n, int auth)
{
	struct nts_request r;
	size_t off = ntsc_header(pkt);

	for (size_t i = 0; i < n; i++)
		off = ntsc_field(pkt, off, types[i],
		    types[i] == NTS_EF_COOKIE && lens[i] == NTS_COOKIE_LEN ?
		    cl.cookie : types[i] == NTS_EF_UNIQUE_ID && lens[i] == 32 ?
		    cl.uid : NULL, lens[i]);
	if (auth)
		off = ntsc_auth(&cl, pkt, off, 0);
	return parse(off, &r);
}

START_TEST(malformed_shapes)
{
	static const struct {
		uint16_t	types[4];
		size_t		lens[4];
		size_t		n;
		int		auth;
		enum nts_result	want;
	} cases[] = {
		/* the good one, and unknown fields around it ignored */
		{ { 0x0104, 0x0204 }, { 32, 104 }, 2, 1, NTS_OK },
		{ { 0x7777, 0x0104, 0x0204, 0xf00d }, { 12, 32, 104, 100 }, 4, 1,
		  NTS_OK },
		/* missing pieces */
		{ { 0x0204 }, { 104 }, 1, 1, NTS_MALFORMED },
		{ { 0x0104 }, { 32 }, 1, 1, NTS_MALFORMED },
		{ { 0x0104, 0x0204 }, { 32, 104 }, 2, 0, NTS_MALFORMED },
		/* duplicates */
		{ { 0x0104, 0x0104, 0x0204 }, { 32, 32, 104 }, 3, 1,
		  NTS_MALFORMED },
		{ { 0x0104, 0x0204, 0x0204 }, { 32, 104, 104 }, 3, 1,
		  NTS_MALFORMED },
		/* a UID too short or oversized */
		{ { 0x0104, 0x0204 }, { 28, 104 }, 2, 1, NTS_MALFORMED },
		{ { 0x0104, 0x0204 }, { 1028, 104 }, 2, 1, NTS_MALFORMED },
		/* an oversized cookie */
		{ { 0x0104, 0x0204 }, { 32, 260 }, 2, 1, NTS_MALFORMED },
		/* placeholders not as long as the cookie */
		{ { 0x0104, 0x0204, 0x0304 }, { 32, 104, 100 }, 3, 1,
		  NTS_MALFORMED },
		{ { 0x0104, 0x0304, 0x0204, 0x0304 }, { 32, 104, 104, 108 }, 4,
		  1, NTS_MALFORMED },
		/* fields of 12 bytes (no body): too short a UID */
		{ { 0x0104, 0x0204 }, { 12, 104 }, 2, 1, NTS_MALFORMED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		ck_assert_msg(parse_fields(cases[i].types, cases[i].lens,
		    cases[i].n, cases[i].auth) == cases[i].want, "case %zu", i);
}
END_TEST

START_TEST(malformed_lengths)
{
	struct nts_request r;
	size_t len = ntsc_request(&cl, 0, 0, pkt), auth = 48 + 36 + 108;
	static const unsigned bad[] = { 0, 4, 12, 14, 37, 38 };

	/* The cookie field's length: 0, below 16, not a multiple of 4,
	 * past the end. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ntsc_put16(pkt + 86, bad[i]);
		ck_assert_msg(parse(len, &r) == NTS_MALFORMED, "%u", bad[i]);
	}
	ntsc_put16(pkt + 86, 0xfffc);
	ck_assert_int_eq(parse(len, &r), NTS_MALFORMED);
	ntsc_put16(pkt + 86, 108);
	ck_assert_int_eq(parse(len, &r), NTS_OK);
	/* The first field broken: nothing says it is NTS. */
	ntsc_put16(pkt + 50, 0);
	ck_assert_int_eq(parse(len, &r), NTS_NONE);
	ntsc_put16(pkt + 50, 36);
	/* The authenticator: nonce or ciphertext past the field, nonce 0,
	 * ciphertext shorter than a tag, not last. */
	ntsc_put16(pkt + auth + 4, 200);
	ck_assert_int_eq(parse(len, &r), NTS_MALFORMED);
	ntsc_put16(pkt + auth + 4, 0);
	ck_assert_int_eq(parse(len, &r), NTS_MALFORMED);
	ntsc_put16(pkt + auth + 4, 16);
	ntsc_put16(pkt + auth + 6, 15);
	ck_assert_int_eq(parse(len, &r), NTS_MALFORMED);
	ntsc_put16(pkt + auth + 6, 100);
	ck_assert_int_eq(parse(len, &r), NTS_MALFORMED);
	ntsc_put16(pkt + auth + 6, 16);
	ck_assert_int_eq(parse(len, &r), NTS_OK);
	len = ntsc_field(pkt, len, 0x7777, NULL, 12);
	ck_assert_int_eq(parse(len, &r), NTS_MALFORMED);
}
END_TEST

/* Fields inside the encrypted part are walked by the same rules. */
START_TEST(malformed_encrypted)
{
	struct nts_request r;
	uint8_t pt[64], nonce[16] = { 1 };
	size_t off = ntsc_header(pkt), ct;

	off = ntsc_field(pkt, off, NTS_EF_UNIQUE_ID, cl.uid, 32);
	off = ntsc_field(pkt, off, NTS_EF_COOKIE, cl.cookie, 104);
	ntsc_field(pt, 0, NTS_EF_PLACEHOLDER, NULL, 12);	/* 16 != 108 */
	ntsc_put16(pkt + off, NTS_EF_AUTH);
	ntsc_put16(pkt + off + 2, 4 + 4 + 16 + 16 + 16);
	ntsc_put16(pkt + off + 4, 16);
	ntsc_put16(pkt + off + 6, 16 + 16);
	memcpy(pkt + off + 8, nonce, 16);
	ct = nts_siv_seal_once(cl.c2s, nonce, 16, pkt, off, pt, 16,
	    pkt + off + 24);
	ck_assert_int_eq(parse(off + 24 + ct, &r), NTS_MALFORMED);
	ntsc_put16(pt + 2, 10);			/* a broken field */
	ct = nts_siv_seal_once(cl.c2s, nonce, 16, pkt, off, pt, 16,
	    pkt + off + 24);
	ck_assert_int_eq(parse(off + 24 + ct, &r), NTS_MALFORMED);
	ntsc_field(pt, 0, 0x4321, NULL, 12);	/* unknown: ignored */
	ct = nts_siv_seal_once(cl.c2s, nonce, 16, pkt, off, pt, 16,
	    pkt + off + 24);
	ck_assert_int_eq(parse(off + 24 + ct, &r), NTS_OK);
	ck_assert_uint_eq(r.cookies, 1);
}
END_TEST

START_TEST(result_names)
{
	ck_assert_str_eq(nts_result_name(NTS_OK), "ok");
	ck_assert_str_eq(nts_result_name(NTS_BAD_COOKIE), "bad_cookie");
	ck_assert_str_eq(nts_result_name(NTS_BAD_AUTH), "bad_authenticator");
	ck_assert_str_eq(nts_result_name((enum nts_result)99), "?");
}
END_TEST

/* ---- the time module with nts ---------------------------------------- */

static void *
time_nts_instance(const char *extra)
{
	struct module_ctx ctx = { .service = "ntp" };
	struct conf_err err;
	char text[512];
	void *st;

	snprintf(text, sizeof(text), "svc = { protocol = \"sntp\"; stratum = "
	    "10; nts = { cookie_keys = \"nts.keys\"; }; %s };", extra);
	st = unit_create(&module_time, text, "svc", dir, &ctx, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	return st;
}

static enum udpd_verdict
ask(void *st, size_t len, int limited, size_t *outlen)
{
	struct udpd_request req = { .data = pkt, .len = len,
	    .rx_time = unit_now, .now = unit_clock };
	struct udpd_reply rep = { .buf = out, .cap = sizeof(out) };
	enum udpd_verdict v;

	memset(out, 0xee, sizeof(out));
	v = limited ? module_time.limited(st, &req, &rep) :
	    module_time.handle(st, &req, &rep);
	*outlen = rep.len;
	return v;
}

static struct nts_sntp_stats
stats_of(void *st)
{
	struct nts_sntp_stats s;

	ck_assert_int_eq(module_time.nts_stats(st, &s), 0);
	return s;
}

START_TEST(module_answers_nts)
{
	uint8_t cookies[8][NTS_COOKIE_LEN];
	void *st = time_nts_instance("");
	size_t len = ntsc_request(&cl, 2, 0, pkt), n;

	ck_assert_int_eq(ask(st, len, 0, &n), UDPD_REPLY);
	ck_assert_uint_eq(n, len);
	ck_assert_uint_eq(out[0] & 7, 4);		/* server mode */
	ck_assert_uint_eq(out[1], 10);			/* stratum */
	ck_assert_mem_eq(out + 24, pkt + 40, 8);	/* origin */
	ck_assert_int_eq(ntsc_reply(&cl, cl.uid, 32, out, n, cookies), 3);
	/* Plain SNTP beside it. */
	ck_assert_int_eq(ask(st, 48, 0, &n), UDPD_REPLY);
	ck_assert_uint_eq(n, 48);
	ck_assert_uint_eq(stats_of(st).requests[NTS_OK], 1);
	ck_assert_int_ge(stats_of(st).key_age, 0);
	module_time.destroy(st);
}
END_TEST

START_TEST(module_nak_and_drops)
{
	void *st = time_nts_instance("");
	size_t len = ntsc_request(&cl, 0, 0, pkt), n;
	struct nts_sntp_stats s;

	pkt[48 + 36 + 4 + 50] ^= 1;		/* the cookie */
	ck_assert_int_eq(ask(st, len, 0, &n), UDPD_REPLY);
	ck_assert_uint_eq(n, 48 + 36);
	ck_assert_uint_eq(out[1], 0);			/* KoD */
	ck_assert_mem_eq(out + 12, "NTSN", 4);
	ck_assert_mem_eq(out + 48, pkt + 48, 36);
	pkt[48 + 36 + 4 + 50] ^= 1;
	pkt[20] ^= 1;				/* the header: bad authenticator */
	ck_assert_int_eq(ask(st, len, 0, &n), UDPD_DROP);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ask(st, len, 1, &n), UDPD_DROP_SILENT);
	pkt[20] ^= 1;
	ntsc_put16(pkt + 86, 3);		/* a broken field after the UID */
	ck_assert_int_eq(ask(st, len, 0, &n), UDPD_DROP);
	s = stats_of(st);
	ck_assert_uint_eq(s.requests[NTS_BAD_COOKIE], 1);
	ck_assert_uint_eq(s.requests[NTS_BAD_AUTH], 2);
	ck_assert_uint_eq(s.requests[NTS_MALFORMED], 1);
	module_time.destroy(st);
}
END_TEST

/* A rate-limited NTS client gets an authenticated KoD RATE, cookies in. */
START_TEST(module_rate_kod)
{
	uint8_t cookies[8][NTS_COOKIE_LEN];
	void *st = time_nts_instance("");
	size_t len = ntsc_request(&cl, 0, 0, pkt), n;

	ck_assert_int_eq(ask(st, len, 1, &n), UDPD_REPLY);
	ck_assert_uint_eq(n, len);
	ck_assert_mem_eq(out + 12, "RATE", 4);
	ck_assert_int_eq(ntsc_reply(&cl, cl.uid, 32, out, n, cookies), 1);
	module_time.destroy(st);
}
END_TEST

/* require_auth with NTS alone: NTS answered, plain SNTP dropped. */
START_TEST(module_require_auth)
{
	void *st = time_nts_instance("require_auth = true;");
	size_t len = ntsc_request(&cl, 0, 0, pkt), n;

	ck_assert_int_eq(ask(st, len, 0, &n), UDPD_REPLY);
	ck_assert_int_eq(ask(st, 48, 0, &n), UDPD_DROP);
	ck_assert_int_eq(ask(st, 48, 1, &n), UDPD_DROP_SILENT);
	module_time.destroy(st);
}
END_TEST

/* A reload's new instance goes on counting where the old one was. */
START_TEST(module_reload_keeps_counts)
{
	struct module_ctx ctx = { .service = "ntp" };
	struct module_parse_ctx pctx = { "ntp", dir };
	void *old = time_nts_instance(""), *options, *st;
	size_t len = ntsc_request(&cl, 0, 0, pkt), n;
	config_t cfg;
	char why[256];

	ck_assert_int_eq(ask(old, len, 0, &n), UDPD_REPLY);
	config_init(&cfg);
	ck_assert_int_eq(config_read_string(&cfg, "svc = { protocol = "
	    "\"sntp\"; nts = { cookie_keys = \"nts.keys\"; }; };"),
	    CONFIG_TRUE);
	options = module_time.parse(config_lookup(&cfg, "svc"), &pctx,
	    &(struct conf_err){ { 0 } });
	ck_assert_ptr_nonnull(options);
	config_destroy(&cfg);
	st = module_time.start(options, &ctx, old, why, sizeof(why));
	ck_assert_msg(st != NULL, "%s", why);
	module_time.free_options(options);
	module_time.destroy(old);
	ck_assert_uint_eq(stats_of(st).requests[NTS_OK], 1);
	ck_assert_int_eq(ask(st, len, 0, &n), UDPD_REPLY);
	ck_assert_uint_eq(stats_of(st).requests[NTS_OK], 2);
	module_time.destroy(st);
}
END_TEST

static Suite *
nts_suite(void)
{
	Suite *s = suite_create("nts");
	TCase *tc = tcase_create("fields");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, request_round_trip);
	tcase_add_test(tc, reply_as_long_as_request);
	tcase_add_test(tc, not_nts);
	tcase_add_test(tc, bad_cookie_gets_nak);
	tcase_add_test(tc, bad_authenticator);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, malformed_shapes);
	tcase_add_test(tc, malformed_lengths);
	tcase_add_test(tc, malformed_encrypted);
	tcase_add_test(tc, result_names);
	tcase_add_test(tc, module_answers_nts);
	tcase_add_test(tc, module_nak_and_drops);
	tcase_add_test(tc, module_rate_kod);
	tcase_add_test(tc, module_require_auth);
	tcase_add_test(tc, module_reload_keeps_counts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (!nts_siv_available()) {
		fprintf(stderr, "built without Nettle: skipped\n");
		return 77;
	}
	return unit_run(nts_suite());
}
