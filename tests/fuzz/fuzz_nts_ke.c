/*
 * fuzz_nts_ke.c - NTS-KE records (RFC 8915 section 4): arbitrary bytes as
 * a client's request.  Invariants: the parser answers one of its four
 * statuses; a complete request used every byte, offers NTPv4 only with
 * an AEAD record and picks only an algorithm udpd has; a prefix of a
 * complete request is never complete nor refused; the response written
 * for it is a well-formed record sequence ending with End of Message.
 */
#include "config.h"

#include "fuzz.h"
#include "nts_ke_records.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Walks the records of a response: whole, End of Message last. */
static void
check_records(const uint8_t *b, size_t len)
{
	size_t off = 0;

	FUZZ_CHECK(len >= 4);
	while (off < len) {
		size_t blen;

		FUZZ_CHECK(len - off >= 4);
		blen = (size_t)(b[off + 2] << 8 | b[off + 3]);
		FUZZ_CHECK(len - off - 4 >= blen);
		off += 4 + blen;
		if (off == len)
			FUZZ_CHECK(b[off - 4] == 0x80 && b[off - 3] == 0 &&
			    blen == 0);
	}
}

static void
check_response(const struct nts_ke_request *r)
{
	static const uint8_t cookies[NTS_KE_COOKIES * 100];
	struct nts_ke_response resp = {
		.ntpv4 = r->ntpv4, .aead = r->aead, .server = "ntp.example",
		.port = 123, .cookies = cookies, .cookie_len = 100,
		.ncookies = NTS_KE_COOKIES };
	uint8_t *out = malloc(2048);
	size_t n;

	FUZZ_CHECK(out != NULL);
	n = nts_ke_write_response(&resp, out, 2048);
	FUZZ_CHECK(n > 0 && n <= 2048);
	check_records(out, n);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nts_ke_request r, p;
	enum nts_ke_status st = nts_ke_parse_request(data, size, &r);

	FUZZ_CHECK(st == NTS_KE_MORE || st == NTS_KE_COMPLETE ||
	    st == NTS_KE_UNRECOGNIZED || st == NTS_KE_BAD);
	if (size > NTS_KE_REQUEST_MAX)
		FUZZ_CHECK(st == NTS_KE_BAD);
	if (st != NTS_KE_COMPLETE)
		return 0;
	FUZZ_CHECK(r.len == size);
	FUZZ_CHECK(r.aead == 0 || r.aead == NTS_KE_AEAD_SIV_CMAC_256);
	FUZZ_CHECK(!r.ntpv4 || r.has_aead);
	FUZZ_CHECK(r.aead == 0 || r.has_aead);
	/* A few prefixes: the request was read record by record. */
	for (size_t n = 0; n < size; n += 1 + size / 16)
		FUZZ_CHECK(nts_ke_parse_request(data, n, &p) == NTS_KE_MORE);
	check_response(&r);
	return 0;
}
