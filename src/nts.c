/*
 * nts.c - the NTS extension fields of NTP requests and replies (RFC 8915
 * section 5), for the SNTP service.  A request is walked once for its
 * structure (RFC 7822 field rules, each NTS field where and how often it
 * may be), then its cookie is opened with the service's cookie keys, then
 * its authenticator is checked with the cookie's C2S key over the header
 * and every field before it.  The reply echoes the Unique Identifier and
 * seals fresh cookies under the S2C key, never longer than the request
 * (no amplification).  Key bytes are wiped once used.
 */
#include "config.h"

#include <string.h>

#include "ntp.h"
#include "nts.h"
#include "nts_siv.h"
#include "wire.h"

#define NTS_PLAINTEXT_MAX	2048	/* encrypted fields udpd reads */
#define NTS_AUTH_HEAD		4	/* nonce length, ciphertext length */

static const char *const nts_result_names[] = {
	[NTS_NONE] = "none",
	[NTS_OK] = "ok",
	[NTS_BAD_COOKIE] = "bad_cookie",
	[NTS_BAD_AUTH] = "bad_authenticator",
	[NTS_MALFORMED] = "malformed",
};

const char *
nts_result_name(enum nts_result r)
{
	if ((size_t)r >= sizeof(nts_result_names) / sizeof(*nts_result_names))
		return "?";
	return nts_result_names[r];
}

static size_t
nts_pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* What the walk of a request's fields found. */
struct nts_fields {
	int			 any;		/* an NTS field was seen */
	struct ntp_ef		 uid_ef, cookie_ef, auth_ef;
	int			 has_uid, has_cookie, has_auth;
	unsigned		 placeholders;
	size_t			 placeholder_len;	/* 0: none seen */
	int			 bad;
};

static void
nts_note(struct nts_fields *f, const struct ntp_ef *ef, size_t pktlen)
{
	switch (ef->type) {
	case NTS_EF_UNIQUE_ID:
		f->any = 1;
		if (f->has_uid++ || ef->body_len < NTS_UID_MIN ||
		    ef->body_len > NTS_UID_MAX)
			f->bad = 1;
		f->uid_ef = *ef;
		break;
	case NTS_EF_COOKIE:
		f->any = 1;
		if (f->has_cookie++ || ef->body_len > NTS_COOKIE_MAX)
			f->bad = 1;
		f->cookie_ef = *ef;
		break;
	case NTS_EF_PLACEHOLDER:
		f->any = 1;
		if (f->placeholder_len != 0 &&
		    f->placeholder_len != ef->body_len)
			f->bad = 1;
		f->placeholder_len = ef->body_len;
		f->placeholders++;
		break;
	case NTS_EF_AUTH:
		f->any = 1;
		/* Last, so that it covers everything before it. */
		if (f->has_auth++ || ef->off + ef->len != pktlen)
			f->bad = 1;
		f->auth_ef = *ef;
		break;
	default:
		break;		/* RFC 7822: unknown fields are ignored */
	}
}

/* Walks every field after the header; -1 when one is malformed. */
static int
nts_walk(const uint8_t *pkt, size_t len, struct nts_fields *f)
{
	struct ntp_ef ef;

	memset(f, 0, sizeof(*f));
	for (size_t off = NTP_PACKET_LEN; off < len; off += ef.len) {
		if (ntp_ef_at(pkt, len, off, &ef) == -1)
			return -1;
		nts_note(f, &ef, len);
	}
	return 0;
}

/* Counts the placeholders among the decrypted fields; -1 if malformed. */
static int
nts_walk_encrypted(const uint8_t *pt, size_t len, size_t cookie_len,
    unsigned *placeholders)
{
	struct ntp_ef ef;

	for (size_t off = 0; off < len; off += ef.len) {
		if (ntp_ef_at(pt, len, off, &ef) == -1)
			return -1;
		if (ef.type == NTS_EF_PLACEHOLDER) {
			if (ef.body_len != cookie_len)
				return -1;
			(*placeholders)++;
		}
	}
	return 0;
}

/*
 * The authenticator's body: nonce length, ciphertext length, the nonce
 * and the ciphertext each padded to 4 bytes, then any padding.
 */
static int
nts_auth_split(const struct ntp_ef *ef, const uint8_t **nonce, size_t *nlen,
    const uint8_t **ct, size_t *ctlen)
{
	if (ef->body_len < NTS_AUTH_HEAD)
		return -1;
	*nlen = wire_get16(ef->body);
	*ctlen = wire_get16(ef->body + 2);
	if (*nlen < 1 || *ctlen < NTS_SIV_TAG_LEN ||
	    NTS_AUTH_HEAD + nts_pad4(*nlen) + nts_pad4(*ctlen) > ef->body_len)
		return -1;
	*nonce = ef->body + NTS_AUTH_HEAD;
	*ct = *nonce + nts_pad4(*nlen);
	return 0;
}

/* Checks the authenticator with the C2S key and reads what it seals. */
static enum nts_result
nts_check_auth(const uint8_t *pkt, const struct nts_fields *f,
    struct nts_request *r)
{
	uint8_t pt[NTS_PLAINTEXT_MAX];
	const uint8_t *nonce, *ct;
	size_t nlen, ctlen;
	unsigned extra = 0;
	int bad;

	if (nts_auth_split(&f->auth_ef, &nonce, &nlen, &ct, &ctlen) == -1 ||
	    ctlen - NTS_SIV_TAG_LEN > sizeof(pt))
		return NTS_MALFORMED;
	if (nts_siv_open_once(r->c2s, nonce, nlen, pkt, f->auth_ef.off, ct,
	    ctlen, pt) == -1)
		return NTS_BAD_AUTH;
	bad = nts_walk_encrypted(pt, ctlen - NTS_SIV_TAG_LEN, r->cookie_len,
	    &extra);
	nts_wipe(pt, ctlen - NTS_SIV_TAG_LEN);
	if (bad == -1)
		return NTS_MALFORMED;
	r->cookies += extra;
	return NTS_OK;
}

enum nts_result
nts_parse_request(struct nts_keys *k, const uint8_t *pkt, size_t len,
    struct nts_request *r)
{
	struct nts_fields f;
	enum nts_result res;

	memset(r, 0, sizeof(*r));
	if (len < NTP_PACKET_LEN || ((pkt[0] >> 3) & 7) != 4)
		return NTS_NONE;
	if (nts_walk(pkt, len, &f) == -1)
		return f.any ? NTS_MALFORMED : NTS_NONE;
	if (!f.any)
		return NTS_NONE;
	if (f.bad || !f.has_uid || !f.has_cookie || !f.has_auth ||
	    (f.placeholders > 0 &&
	    f.placeholder_len != f.cookie_ef.body_len))
		return NTS_MALFORMED;
	r->uid = f.uid_ef.body;
	r->uid_len = f.uid_ef.body_len;
	r->cookie_len = f.cookie_ef.body_len;
	r->cookies = 1 + f.placeholders;
	if (k == NULL || nts_cookie_open(k, f.cookie_ef.body,
	    f.cookie_ef.body_len, &r->aead, r->c2s, r->s2c) == -1)
		return NTS_BAD_COOKIE;
	if ((res = nts_check_auth(pkt, &f, r)) != NTS_OK)
		nts_request_wipe(r);
	return res;
}

void
nts_request_wipe(struct nts_request *r)
{
	nts_wipe(r->c2s, sizeof(r->c2s));
	nts_wipe(r->s2c, sizeof(r->s2c));
}

/* The Unique Identifier field at out + off; the offset after it. */
static size_t
nts_put_uid(const struct nts_request *r, uint8_t *out, size_t off)
{
	wire_put16(out + off, NTS_EF_UNIQUE_ID);
	wire_put16(out + off + 2, (uint16_t)(4 + r->uid_len));
	memcpy(out + off + 4, r->uid, r->uid_len);
	return off + 4 + r->uid_len;
}

size_t
nts_build_nak(const struct nts_request *r, uint8_t *out, size_t cap)
{
	if (r->uid == NULL || cap < NTP_PACKET_LEN + 4 + r->uid_len)
		return 0;
	return nts_put_uid(r, out, NTP_PACKET_LEN);
}

/* The length of a reply carrying n cookies, its authenticator at at. */
static size_t
nts_reply_len(size_t at, unsigned n)
{
	return at + 4 + NTS_AUTH_HEAD + NTS_NONCE_LEN + NTS_SIV_TAG_LEN +
	    n * (4 + NTS_COOKIE_LEN);
}

int
nts_make_cookies(struct nts_keys *k, const struct nts_request *r,
    size_t reqlen, struct nts_cookies *c)
{
	size_t at = NTP_PACKET_LEN + 4 + r->uid_len, off = 0;
	unsigned n = r->cookies < NTS_REPLY_COOKIES_MAX ? r->cookies :
	    NTS_REPLY_COOKIES_MAX;

	while (n > 0 && nts_reply_len(at, n) > reqlen)
		n--;
	for (unsigned i = 0; i < n; i++) {
		wire_put16(c->fields + off, NTS_EF_COOKIE);
		wire_put16(c->fields + off + 2, 4 + NTS_COOKIE_LEN);
		if (nts_cookie_make(k, r->aead, r->c2s, r->s2c,
		    c->fields + off + 4, NTS_COOKIE_LEN) != NTS_COOKIE_LEN) {
			nts_wipe(c->fields, off);
			return -1;
		}
		off += 4 + NTS_COOKIE_LEN;
	}
	c->n = n;
	c->len = off;
	return 0;
}

size_t
nts_seal_reply(const struct nts_request *r, struct nts_cookies *c,
    size_t reqlen, uint8_t *out, size_t cap)
{
	size_t at = NTP_PACKET_LEN + 4 + r->uid_len, len, body;
	uint8_t *a = out + at;

	len = nts_reply_len(at, c->n);
	if (len < reqlen)
		len = reqlen & ~(size_t)3;	/* padded as long as the request */
	if (len > cap || len < nts_reply_len(at, c->n)) {
		nts_wipe(c->fields, c->len);
		return 0;
	}
	nts_put_uid(r, out, NTP_PACKET_LEN);
	body = len - at - 4;
	memset(a, 0, len - at);
	wire_put16(a, NTS_EF_AUTH);
	wire_put16(a + 2, (uint16_t)(4 + body));
	wire_put16(a + 4, NTS_NONCE_LEN);
	wire_put16(a + 6, (uint16_t)(NTS_SIV_TAG_LEN + c->len));
	if (nts_random(a + 8, NTS_NONCE_LEN) == -1 ||
	    nts_siv_seal_once(r->s2c, a + 8, NTS_NONCE_LEN, out, at, c->fields,
	    c->len, a + 8 + NTS_NONCE_LEN) == 0)
		len = 0;
	nts_wipe(c->fields, c->len);
	return len;
}

size_t
nts_build_reply(struct nts_keys *k, const struct nts_request *r,
    size_t reqlen, uint8_t *out, size_t cap)
{
	struct nts_cookies c;

	if (nts_make_cookies(k, r, reqlen, &c) == -1)
		return 0;
	return nts_seal_reply(r, &c, reqlen, out, cap);
}
