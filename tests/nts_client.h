/*
 * nts_client.h - the client's side of NTS for NTP (RFC 8915 section 5),
 * as far as the unit tests and the fuzz target need it: requests with a
 * Unique Identifier, a cookie, placeholders in the clear and encrypted,
 * and an authenticator; replies checked and their cookies taken out.
 */
#ifndef UDPD_TESTS_NTS_CLIENT_H
#define UDPD_TESTS_NTS_CLIENT_H

#include <stdint.h>
#include <string.h>

#include "ntp.h"
#include "nts.h"
#include "nts_siv.h"

struct ntsc {
	uint8_t		c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN];
	uint8_t		cookie[NTS_COOKIE_LEN];
	uint8_t		uid[32];
};

static inline void
ntsc_put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A field at out + off of type and body (len bytes, a multiple of 4). */
static inline size_t
ntsc_field(uint8_t *out, size_t off, uint16_t type, const uint8_t *body,
    size_t len)
{
	ntsc_put16(out + off, type);
	ntsc_put16(out + off + 2, 4 + len);
	if (body != NULL)
		memcpy(out + off + 4, body, len);
	else
		memset(out + off + 4, 0, len);
	return off + 4 + len;
}

/* A client keyed by (c2s, s2c) with a cookie made by k. */
static inline int
ntsc_init(struct ntsc *c, struct nts_keys *k, uint8_t seed)
{
	for (size_t i = 0; i < sizeof(c->c2s); i++) {
		c->c2s[i] = (uint8_t)(seed + i);
		c->s2c[i] = (uint8_t)(seed * 3 + i);
	}
	memset(c->uid, seed ^ 0x5a, sizeof(c->uid));
	return nts_cookie_make(k, NTS_AEAD_AES_SIV_CMAC_256, c->c2s, c->s2c,
	    c->cookie, sizeof(c->cookie)) == NTS_COOKIE_LEN ? 0 : -1;
}

/* The 48-byte header of an NTPv4 client request. */
static inline size_t
ntsc_header(uint8_t *out)
{
	memset(out, 0, NTP_PACKET_LEN);
	out[0] = 4 << 3 | 3;
	memcpy(out + 40, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	return NTP_PACKET_LEN;
}

/* Seals the authenticator at off over out[0, off) with enc encrypted
 * placeholders; the request's length. */
static inline size_t
ntsc_auth(const struct ntsc *c, uint8_t *out, size_t off, unsigned enc)
{
	uint8_t pt[8 * (4 + NTS_COOKIE_LEN)] = { 0 }, nonce[16];
	size_t ptlen = 0, ct;

	for (unsigned i = 0; i < enc && i < 8; i++)
		ptlen = ntsc_field(pt, ptlen, NTS_EF_PLACEHOLDER, NULL,
		    NTS_COOKIE_LEN);
	memset(nonce, 0x77, sizeof(nonce));
	ntsc_put16(out + off, NTS_EF_AUTH);
	ntsc_put16(out + off + 2, 4 + 4 + 16 + 16 + ptlen);
	ntsc_put16(out + off + 4, 16);
	ntsc_put16(out + off + 6, 16 + ptlen);
	memcpy(out + off + 8, nonce, 16);
	ct = nts_siv_seal_once(c->c2s, nonce, 16, out, off, pt, ptlen,
	    out + off + 24);
	return ct == 0 ? 0 : off + 24 + ct;
}

/* A whole request: header, UID, cookie, ph placeholders, authenticator
 * over them with enc encrypted placeholders. */
static inline size_t
ntsc_request(const struct ntsc *c, unsigned ph, unsigned enc, uint8_t *out)
{
	size_t off = ntsc_header(out);

	off = ntsc_field(out, off, NTS_EF_UNIQUE_ID, c->uid, sizeof(c->uid));
	off = ntsc_field(out, off, NTS_EF_COOKIE, c->cookie, NTS_COOKIE_LEN);
	for (unsigned i = 0; i < ph; i++)
		off = ntsc_field(out, off, NTS_EF_PLACEHOLDER, NULL,
		    NTS_COOKIE_LEN);
	return ntsc_auth(c, out, off, enc);
}

/*
 * Checks a reply as a client does: the UID it sent echoed, the authenticator
 * last and verifying under S2C over everything before it.  Returns the
 * number of cookies it seals (copied to cookies, up to 8), or -1.
 */
static inline int
ntsc_reply(const struct ntsc *c, const uint8_t *uid_sent, size_t uid_len,
    const uint8_t *rep, size_t len, uint8_t cookies[][NTS_COOKIE_LEN])
{
	uint8_t pt[2048];
	struct ntp_ef ef;
	int uid = 0, n = -1;

	for (size_t off = NTP_PACKET_LEN; off < len; off += ef.len) {
		size_t nl, cl;

		if (ntp_ef_at(rep, len, off, &ef) == -1)
			return -1;
		if (ef.type == NTS_EF_UNIQUE_ID)
			uid = ef.body_len == uid_len &&
			    memcmp(ef.body, uid_sent, uid_len) == 0;
		if (ef.type != NTS_EF_AUTH)
			continue;
		if (off + ef.len != len || ef.body_len < 4)
			return -1;
		nl = (size_t)ef.body[0] << 8 | ef.body[1];
		cl = (size_t)ef.body[2] << 8 | ef.body[3];
		if (4 + ((nl + 3) & ~(size_t)3) + cl > ef.body_len ||
		    cl < 16 || cl - 16 > sizeof(pt) ||
		    nts_siv_open_once(c->s2c, ef.body + 4, nl, rep, off,
		    ef.body + 4 + ((nl + 3) & ~(size_t)3), cl, pt) == -1)
			return -1;
		n = 0;
		for (size_t p = 0; p < cl - 16; p += ef.len) {
			if (ntp_ef_at(pt, cl - 16, p, &ef) == -1)
				return -1;
			if (ef.type == NTS_EF_COOKIE &&
			    ef.body_len == NTS_COOKIE_LEN && n < 8)
				memcpy(cookies[n++], ef.body, NTS_COOKIE_LEN);
		}
		break;
	}
	return uid ? n : -1;
}

#endif
