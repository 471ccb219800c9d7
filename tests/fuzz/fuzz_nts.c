/*
 * fuzz_nts.c - NTS extension fields of NTP requests (nts.c).  Input:
 *   byte 0	bit 0: every 104-byte NTS Cookie field gets a valid cookie;
 *		bit 1: a last NTS Authenticator field whose lengths parse is
 *		sealed for real (the bytes after its tag taken as the
 *		plaintext), so the fuzzer reaches the encrypted fields and
 *		the reply; bit 2: the cookie keys are another host's
 *   rest	the extension fields after a fixed NTPv4 client header
 * Invariants: a request is parsed in a buffer of exactly its size; an
 * accepted one gets a reply no longer than itself that a client verifies
 * (its Unique Identifier echoed, its cookies opening to the client's
 * keys, one per cookie asked for, at most 8); a cookie that does not
 * open gets a NAK no longer than the request.
 */
#include "config.h"

#include <unistd.h>

#include "fuzz.h"
#include "nts.h"
#include "../nts_client.h"

static struct nts_keys *keys[2];
static struct ntsc cl;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[256], path[300], err[256];
	struct nts_keys_conf c = { path, 0, (uid_t)-1, (gid_t)-1 };

	(void)argc;
	(void)argv;
	if (!nts_siv_available())
		return 0;		/* built without Nettle: nothing to fuzz */
	snprintf(dir, sizeof(dir), "%s/fuzz-nts.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%d.keys", dir, i);
		keys[i] = nts_keys_open(&c, err, sizeof(err));
		if (keys[i] == NULL)
			fprintf(stderr, "%s\n", err);
		FUZZ_CHECK(keys[i] != NULL);
		unlink(path);
	}
	rmdir(dir);
	FUZZ_CHECK(ntsc_init(&cl, keys[0], 7) == 0);
	return 0;
}

/* Bit 0 and bit 1 of the input's first byte, applied to pkt. */
static void
fix_up(uint8_t *pkt, size_t len, int cookies, int seal)
{
	struct ntp_ef ef;

	for (size_t off = NTP_PACKET_LEN; off < len; off += ef.len) {
		size_t nl, ctl, padded;
		uint8_t *nonce, *ct;

		if (ntp_ef_at(pkt, len, off, &ef) == -1)
			return;
		if (cookies && ef.type == NTS_EF_COOKIE &&
		    ef.body_len == NTS_COOKIE_LEN)
			memcpy(pkt + off + 4, cl.cookie, NTS_COOKIE_LEN);
		if (!seal || ef.type != NTS_EF_AUTH || off + ef.len != len ||
		    ef.body_len < 4)
			continue;
		nl = (size_t)ef.body[0] << 8 | ef.body[1];
		ctl = (size_t)ef.body[2] << 8 | ef.body[3];
		padded = (nl + 3) & ~(size_t)3;
		if (nl < 1 || ctl < 16 || 4 + padded + ((ctl + 3) &
		    ~(size_t)3) > ef.body_len)
			return;
		nonce = pkt + off + 8;
		ct = nonce + padded;
		{
			uint8_t pt[4096];

			memcpy(pt, ct + 16, ctl - 16);
			nts_siv_seal_once(cl.c2s, nonce, nl, pkt, off, pt,
			    ctl - 16, ct);
		}
	}
}

static void
check_ok(struct nts_keys *k, const struct nts_request *r, size_t reqlen)
{
	uint8_t out[4200], cookies[8][NTS_COOKIE_LEN], c2s[32], s2c[32];
	size_t n;
	uint16_t aead;
	int got;

	FUZZ_CHECK(r->cookies >= 1);
	ntsc_header(out);
	n = nts_build_reply(k, r, reqlen, out, sizeof(out));
	FUZZ_CHECK(n > 0 && n <= reqlen);
	got = ntsc_reply(&cl, r->uid, r->uid_len, out, n, cookies);
	FUZZ_CHECK(got >= 0);
	FUZZ_CHECK((unsigned)got <= r->cookies && got <= 8);
	/* Fewer than asked only when more would outgrow the request. */
	if ((unsigned)got < r->cookies && got < 8)
		FUZZ_CHECK(n + 4 + NTS_COOKIE_LEN > reqlen);
	for (int i = 0; i < got; i++) {
		FUZZ_CHECK(nts_cookie_open(k, cookies[i], NTS_COOKIE_LEN, &aead,
		    c2s, s2c) == 0);
		FUZZ_CHECK(memcmp(c2s, cl.c2s, 32) == 0 &&
		    memcmp(s2c, cl.s2c, 32) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nts_keys *k;
	struct nts_request r;
	enum nts_result res;
	uint8_t *pkt, nak[4200];
	size_t len;

	if (size < 1 || size > 4096 || keys[0] == NULL)
		return 0;
	k = keys[(data[0] >> 2) & 1];
	len = NTP_PACKET_LEN + size - 1;
	pkt = malloc(len);
	FUZZ_CHECK(pkt != NULL);
	ntsc_header(pkt);
	memcpy(pkt + NTP_PACKET_LEN, data + 1, size - 1);
	fix_up(pkt, len, data[0] & 1, data[0] & 2);
	res = nts_parse_request(k, pkt, len, &r);
	FUZZ_CHECK(res >= NTS_NONE && res <= NTS_MALFORMED);
	if (res == NTS_OK)
		check_ok(k, &r, len);
	if (res == NTS_BAD_COOKIE) {
		size_t n = nts_build_nak(&r, nak, sizeof(nak));

		FUZZ_CHECK(n > NTP_PACKET_LEN && n <= len);
	}
	nts_request_wipe(&r);
	free(pkt);
	return 0;
}
