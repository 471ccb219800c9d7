/*
 * fuzz_ntp_auth.c - NTP authentication: the MAC trailer of SNTP requests
 * through the time module with a key file, and key files themselves.
 * Input:
 *   byte 0	bit 0: the rest is a key file (else an SNTP datagram);
 *		bit 1: the service has require_auth; bit 2: the request
 *		was rate limited (the Kiss-o'-Death path)
 *   rest	the datagram or the key file
 * Invariants (SPEC 9): a reply is signed exactly when the request's MAC
 * verifies under a trusted key, with that key, and its MAC is the one
 * ntp_auth_sign() makes; a request with any other trailer, or with none
 * under require_auth, gets nothing; a key file is parsed or refused with
 * "FILE:LINE: ..." or "FILE: ..." and one line of message.
 */
#include "config.h"

#include <sys/stat.h>

#include <unistd.h>

#include "fuzz.h"
#include "ntp.h"
#include "ntp_auth.h"

/* Keys 1-3 trusted by the service, 4 in the file but not trusted. */
static const char keyfile[] =
    "1 md5 one\n"
    "2 sha1 00112233445566778899aabbccddeeff00112233\n"
    "3 aes-128 000102030405060708090a0b0c0d0e0f\n"
    "4 sha1 untrusted\n";
static void *open_inst, *strict_inst;
static struct ntp_keys *keys;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[4096], path[4200], body[4400];
	const char *tmp = getenv("TMPDIR");
	struct conf_err err;
	FILE *f;
	int at_line;

	(void)argc;
	(void)argv;
	if (!ntp_auth_available())
		return 0;	/* only the key file syntax can be fuzzed */
	snprintf(dir, sizeof(dir), "%s/fuzz-auth.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ntp.keys", dir);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	fputs(keyfile, f);
	fclose(f);
	FUZZ_CHECK(chmod(path, 0600) == 0);
	snprintf(body, sizeof(body), "protocol = \"sntp\"; stratum = 10; "
	    "keys = \"%s\"; trusted_keys = [ 1, 2, 3 ];", path);
	open_inst = fuzz_instance(&module_time, body, NULL);
	snprintf(body, sizeof(body), "protocol = \"sntp\"; stratum = 10; "
	    "keys = \"%s\"; trusted_keys = [ 1, 2, 3 ]; require_auth = true;",
	    path);
	strict_inst = fuzz_instance(&module_time, body, NULL);
	keys = ntp_keys_parse(keyfile, sizeof(keyfile) - 1, "k", "k",
	    &at_line, &err);
	FUZZ_CHECK(keys != NULL);
	FUZZ_CHECK(ntp_keys_trust(keys, (const uint32_t[]){ 1, 2, 3 }, 3,
	    &(uint32_t){ 0 }) == 0);
	return 0;
}

static void
fuzz_key_file(const uint8_t *data, size_t size)
{
	struct conf_err err;
	struct ntp_keys *k;
	int at_line = -1;

	memset(&err, 0, sizeof(err));
	k = ntp_keys_parse((const char *)data, size, "fuzz.keys", "keys",
	    &at_line, &err);
	if (k != NULL) {
		FUZZ_CHECK(ntp_keys_count(k) >= 1);
		FUZZ_CHECK(ntp_keys_count(k) <= NTP_AUTH_KEYID_MAX);
		ntp_keys_free(k);
		return;
	}
	FUZZ_CHECK(at_line == 0 || at_line == 1);
	FUZZ_CHECK(strncmp(err.msg, at_line ? "fuzz.keys:" : "fuzz.keys: ",
	    at_line ? 10 : 11) == 0);
	FUZZ_CHECK(strchr(err.msg, '\n') == NULL);
}

/* What the module must have done with a well-formed client request. */
static void
check_answer(const uint8_t *pkt, size_t len, int strict, int limited,
    const struct fuzz_reply *r)
{
	const struct ntp_key *key = NULL;
	unsigned char want[NTP_PACKET_LEN + NTP_AUTH_TRAILER_MAX];
	struct ntp_mac mac;
	enum ntp_mac_kind kind = ntp_auth_parse(pkt, len, &mac);
	int answer = 0;

	if (kind == NTP_MAC_NONE)
		answer = !strict;
	else if (kind == NTP_MAC_PRESENT)
		answer = (key = ntp_auth_verify(keys, pkt, &mac)) != NULL;
	if (!answer) {
		FUZZ_CHECK(r->verdict == (limited ? UDPD_DROP_SILENT :
		    UDPD_DROP));
		FUZZ_CHECK(r->len == 0);
		return;
	}
	FUZZ_CHECK(r->verdict == UDPD_REPLY);
	FUZZ_CHECK((r->buf[0] & 7) == NTP_MODE_SERVER);
	if (key == NULL) {
		FUZZ_CHECK(r->len == NTP_PACKET_LEN);
		return;
	}
	/* Signed with the request's key id, its MAC over the header. */
	FUZZ_CHECK(r->len == NTP_PACKET_LEN + 4 + mac.digest_len);
	memcpy(want, r->buf, NTP_PACKET_LEN);
	FUZZ_CHECK(ntp_auth_sign(key, want, NTP_PACKET_LEN, sizeof(want)) ==
	    r->len);
	FUZZ_CHECK(memcmp(want, r->buf, r->len) == 0);
	FUZZ_CHECK(memcmp(r->buf + 48, pkt + 48, 4) == 0);
}

/* The rate-limited path: module->limited() instead of handle(). */
static void
fuzz_limited(void *inst, const uint8_t *data, size_t len,
    struct fuzz_reply *out)
{
	struct udpd_request req;
	struct udpd_reply rep;

	memset(&req, 0, sizeof(req));
	req.data = data;
	req.len = len;
	req.rx_time = fuzz_now;
	req.now = fuzz_clock;
	FUZZ_CHECK((rep.buf = malloc(UDPD_MAX_DATAGRAM)) != NULL);
	rep.cap = UDPD_MAX_DATAGRAM;
	rep.len = 0;
	out->verdict = module_time.limited(inst, &req, &rep);
	out->buf = rep.buf;
	out->cap = rep.cap;
	out->len = rep.len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntp_packet q;
	struct fuzz_reply r;
	int strict, limited;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		fuzz_key_file(data + 1, size - 1);
		return 0;
	}
	if (keys == NULL)
		return 0;
	strict = (data[0] & 2) != 0;
	limited = (data[0] & 4) != 0;
	data++, size--;
	if (limited)
		fuzz_limited(strict ? strict_inst : open_inst, data, size, &r);
	else
		fuzz_handle(&module_time, strict ? strict_inst : open_inst,
		    data, size, UDPD_MAX_DATAGRAM, NULL, 0, &fuzz_now, &r);
	if (ntp_parse_request(data, size, &q) == -1)
		FUZZ_CHECK(r.verdict == (limited ? UDPD_DROP_SILENT :
		    UDPD_DROP) && r.len == 0);
	else
		check_answer(data, size, strict, limited, &r);
	if (limited && r.verdict == UDPD_REPLY)
		FUZZ_CHECK(memcmp(r.buf + 12, "RATE", 4) == 0);
	free(r.buf);
	return 0;
}
