/*
 * test_nts_ke_records.c - NTS-KE records (RFC 8915 section 4): a chrony
 * request parsed, every malformed request refused with the right error
 * (truncated, oversized, duplicate or unknown critical records,
 * zero-length fields, bytes after End of Message), the response, Error
 * and Warning written byte for byte, and the exporter context.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "nts_ke_records.h"
#include "unit.h"

/* A request as chrony 4.3 sends it: Next Protocol NTPv4, AEAD 15 and 30
 * offered (30 first), End of Message; every record critical. */
static const uint8_t chrony_req[] = {
	0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
	0x80, 0x04, 0x00, 0x04, 0x00, 0x1e, 0x00, 0x0f,
	0x80, 0x00, 0x00, 0x00
};

static enum nts_ke_status
parse(const uint8_t *b, size_t len, struct nts_ke_request *r)
{
	return nts_ke_parse_request(b, len, r);
}

START_TEST(test_chrony_request)
{
	struct nts_ke_request r;

	ck_assert_int_eq(parse(chrony_req, sizeof(chrony_req), &r),
	    NTS_KE_COMPLETE);
	ck_assert_int_eq(r.ntpv4, 1);
	ck_assert_uint_eq(r.aead, NTS_KE_AEAD_SIV_CMAC_256);
	ck_assert_uint_eq(r.len, sizeof(chrony_req));
}
END_TEST

/* Every prefix of a good request asks for more, none is complete. */
START_TEST(test_truncated)
{
	struct nts_ke_request r;

	for (size_t n = 0; n < sizeof(chrony_req); n++)
		ck_assert_int_eq(parse(chrony_req, n, &r), NTS_KE_MORE);
}
END_TEST

static void
expect(const uint8_t *b, size_t len, enum nts_ke_status want)
{
	struct nts_ke_request r;

	ck_assert_int_eq(parse(b, len, &r), want);
}

START_TEST(test_after_end)
{
	uint8_t b[sizeof(chrony_req) + 1];

	memcpy(b, chrony_req, sizeof(chrony_req));
	b[sizeof(chrony_req)] = 0;
	expect(b, sizeof(b), NTS_KE_BAD);
}
END_TEST

START_TEST(test_duplicates)
{
	static const uint8_t two_next[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
		0x80, 0x00, 0x00, 0x00 };
	static const uint8_t two_aead[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
		0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
		0x80, 0x00, 0x00, 0x00 };

	expect(two_next, sizeof(two_next), NTS_KE_BAD);
	expect(two_aead, sizeof(two_aead), NTS_KE_BAD);
}
END_TEST

START_TEST(test_unknown_records)
{
	/* An unknown critical record: Error 0, even before End. */
	static const uint8_t crit[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0xc0, 0x00, 0x00, 0x01, 0x55 };
	/* The same, not critical: ignored. */
	static const uint8_t plain[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x40, 0x00, 0x00, 0x01, 0x55,
		0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
		0x80, 0x00, 0x00, 0x00 };
	struct nts_ke_request r;

	expect(crit, sizeof(crit), NTS_KE_UNRECOGNIZED);
	ck_assert_int_eq(parse(plain, sizeof(plain), &r), NTS_KE_COMPLETE);
	ck_assert_uint_eq(r.aead, 15);
}
END_TEST

START_TEST(test_zero_length_and_odd)
{
	static const uint8_t empty_next[] = {
		0x80, 0x01, 0x00, 0x00,
		0x80, 0x00, 0x00, 0x00 };
	static const uint8_t empty_aead[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x04, 0x00, 0x00,
		0x80, 0x00, 0x00, 0x00 };
	static const uint8_t odd_aead[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x04, 0x00, 0x03, 0x00, 0x0f, 0x00,
		0x80, 0x00, 0x00, 0x00 };
	static const uint8_t end_body[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
		0x80, 0x00, 0x00, 0x01, 0x00 };
	static const uint8_t bad_port[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x00, 0x07, 0x00, 0x01, 0x00 };
	static const uint8_t empty_server[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x00, 0x06, 0x00, 0x00 };

	expect(empty_next, sizeof(empty_next), NTS_KE_BAD);
	expect(empty_aead, sizeof(empty_aead), NTS_KE_BAD);
	expect(odd_aead, sizeof(odd_aead), NTS_KE_BAD);
	expect(end_body, sizeof(end_body), NTS_KE_BAD);
	expect(bad_port, sizeof(bad_port), NTS_KE_BAD);
	expect(empty_server, sizeof(empty_server), NTS_KE_BAD);
}
END_TEST

START_TEST(test_missing_records)
{
	static const uint8_t only_end[] = { 0x80, 0x00, 0x00, 0x00 };
	static const uint8_t no_aead[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x00, 0x00, 0x00 };
	/* Another protocol, no AEAD: complete, NTPv4 not offered. */
	static const uint8_t other[] = {
		0x80, 0x01, 0x00, 0x02, 0x12, 0x34,
		0x80, 0x00, 0x00, 0x00 };
	struct nts_ke_request r;

	expect(only_end, sizeof(only_end), NTS_KE_BAD);
	expect(no_aead, sizeof(no_aead), NTS_KE_BAD);
	ck_assert_int_eq(parse(other, sizeof(other), &r), NTS_KE_COMPLETE);
	ck_assert_int_eq(r.ntpv4, 0);
}
END_TEST

START_TEST(test_server_records_from_client)
{
	static const uint8_t error[] = {
		0x80, 0x02, 0x00, 0x02, 0x00, 0x01 };
	static const uint8_t warning[] = {
		0x80, 0x03, 0x00, 0x02, 0x00, 0x01 };
	/* New Cookie, Server and Port from a client: ignored. */
	static const uint8_t hints[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x00, 0x05, 0x00, 0x03, 1, 2, 3,
		0x80, 0x06, 0x00, 0x01, 'x',
		0x80, 0x07, 0x00, 0x02, 0x00, 0x7b,
		0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
		0x80, 0x00, 0x00, 0x00 };
	struct nts_ke_request r;

	expect(error, sizeof(error), NTS_KE_BAD);
	expect(warning, sizeof(warning), NTS_KE_BAD);
	ck_assert_int_eq(parse(hints, sizeof(hints), &r), NTS_KE_COMPLETE);
}
END_TEST

/* No AEAD udpd has: complete, aead 0 (the response says none). */
START_TEST(test_unsupported_aead)
{
	static const uint8_t b[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x04, 0x00, 0x04, 0x00, 0x01, 0x00, 0x1e,
		0x80, 0x00, 0x00, 0x00 };
	struct nts_ke_request r;

	ck_assert_int_eq(parse(b, sizeof(b), &r), NTS_KE_COMPLETE);
	ck_assert_uint_eq(r.aead, 0);
	ck_assert_int_eq(r.has_aead, 1);
}
END_TEST

START_TEST(test_oversized)
{
	static uint8_t big[NTS_KE_REQUEST_MAX + 8];
	struct nts_ke_request r;

	/* One record announcing a body past the limit: refused at once. */
	big[0] = 0x00;
	big[1] = 0x20;
	big[2] = 0x04;
	big[3] = 0x00;
	ck_assert_int_eq(parse(big, 4, &r), NTS_KE_BAD);
	/* Small non-critical records filling the limit, no End. */
	memset(big, 0, sizeof(big));
	for (size_t off = 0; off + 4 <= NTS_KE_REQUEST_MAX; off += 4)
		big[off + 1] = 0x20;	/* type 32, empty body */
	ck_assert_int_eq(parse(big, NTS_KE_REQUEST_MAX - 4, &r),
	    NTS_KE_MORE);
	ck_assert_int_eq(parse(big, NTS_KE_REQUEST_MAX, &r), NTS_KE_BAD);
	ck_assert_int_eq(parse(big, sizeof(big), &r), NTS_KE_BAD);
}
END_TEST

START_TEST(test_write_response)
{
	uint8_t cookies[2 * 3] = { 1, 2, 3, 4, 5, 6 };
	struct nts_ke_response resp = {
		.ntpv4 = 1, .aead = 15, .server = "ts", .port = 123,
		.cookies = cookies, .cookie_len = 3, .ncookies = 2 };
	static const uint8_t want[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x04, 0x00, 0x02, 0x00, 0x0f,
		0x80, 0x06, 0x00, 0x02, 't', 's',
		0x80, 0x07, 0x00, 0x02, 0x00, 0x7b,
		0x00, 0x05, 0x00, 0x03, 1, 2, 3,
		0x00, 0x05, 0x00, 0x03, 4, 5, 6,
		0x80, 0x00, 0x00, 0x00 };
	uint8_t buf[sizeof(want) + UNIT_GUARD];
	size_t n;

	memset(buf, 0xee, sizeof(buf));
	n = nts_ke_write_response(&resp, buf, sizeof(want));
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_uint_eq(buf[sizeof(want)], 0xee);
	/* One byte short: nothing usable. */
	ck_assert_uint_eq(nts_ke_write_response(&resp, buf,
	    sizeof(want) - 1), 0);
}
END_TEST

START_TEST(test_write_refusals)
{
	/* NTPv4 not offered: empty Next Protocol, no cookies. */
	struct nts_ke_response none = { .ntpv4 = 0, .ncookies = 8,
	    .cookie_len = 1, .cookies = (const uint8_t *)"12345678" };
	static const uint8_t want_none[] = {
		0x80, 0x01, 0x00, 0x00,
		0x80, 0x00, 0x00, 0x00 };
	/* No AEAD in common: empty AEAD record, no cookies. */
	struct nts_ke_response noaead = { .ntpv4 = 1, .aead = 0,
	    .ncookies = 8, .cookie_len = 1,
	    .cookies = (const uint8_t *)"12345678" };
	static const uint8_t want_noaead[] = {
		0x80, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x80, 0x04, 0x00, 0x00,
		0x80, 0x00, 0x00, 0x00 };
	static const uint8_t want_error[] = {
		0x80, 0x02, 0x00, 0x02, 0x00, 0x01,
		0x80, 0x00, 0x00, 0x00 };
	static const uint8_t want_warning[] = {
		0x80, 0x03, 0x00, 0x02, 0x00, 0x07,
		0x80, 0x00, 0x00, 0x00 };
	uint8_t buf[64];

	ck_assert_uint_eq(nts_ke_write_response(&none, buf, sizeof(buf)),
	    sizeof(want_none));
	ck_assert_mem_eq(buf, want_none, sizeof(want_none));
	ck_assert_uint_eq(nts_ke_write_response(&noaead, buf, sizeof(buf)),
	    sizeof(want_noaead));
	ck_assert_mem_eq(buf, want_noaead, sizeof(want_noaead));
	ck_assert_uint_eq(nts_ke_write_error(NTS_KE_ERR_BAD_REQUEST, buf,
	    sizeof(buf)), sizeof(want_error));
	ck_assert_mem_eq(buf, want_error, sizeof(want_error));
	ck_assert_uint_eq(nts_ke_write_warning(7, buf, sizeof(buf)),
	    sizeof(want_warning));
	ck_assert_mem_eq(buf, want_warning, sizeof(want_warning));
	ck_assert_uint_eq(nts_ke_write_error(0, buf, 9), 0);
}
END_TEST

START_TEST(test_server_name_limits)
{
	char longname[NTS_KE_SERVER_MAX + 2];
	uint8_t buf[1024];
	struct nts_ke_response r = { .ntpv4 = 1, .aead = 15,
	    .server = longname };

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_uint_eq(nts_ke_write_response(&r, buf, sizeof(buf)), 0);
	longname[NTS_KE_SERVER_MAX] = '\0';
	ck_assert_uint_gt(nts_ke_write_response(&r, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(test_exporter_context)
{
	uint8_t c[NTS_KE_CONTEXT_LEN];
	static const uint8_t c2s[] = { 0, 0, 0, 15, 0 };
	static const uint8_t s2c[] = { 0, 0, 0, 15, 1 };

	nts_ke_exporter_context(15, 0, c);
	ck_assert_mem_eq(c, c2s, sizeof(c2s));
	nts_ke_exporter_context(15, 1, c);
	ck_assert_mem_eq(c, s2c, sizeof(s2c));
}
END_TEST

static Suite *
nts_ke_records_suite(void)
{
	Suite *s = suite_create("nts_ke_records");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_chrony_request);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_after_end);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_unknown_records);
	tcase_add_test(tc, test_zero_length_and_odd);
	tcase_add_test(tc, test_missing_records);
	tcase_add_test(tc, test_server_records_from_client);
	tcase_add_test(tc, test_unsupported_aead);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_write_response);
	tcase_add_test(tc, test_write_refusals);
	tcase_add_test(tc, test_server_name_limits);
	tcase_add_test(tc, test_exporter_context);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(nts_ke_records_suite());
}
