/*
 * nts.h - NTS for NTP (RFC 8915 section 5), the server's side: the
 * extension fields of a request (Unique Identifier, NTS Cookie, Cookie
 * Placeholder, NTS Authenticator and Encrypted Extension Fields) checked
 * and opened, and the fields of the reply sealed.  No socket code, no
 * clock: the time module (mod_time.c) calls it around the NTP header.
 */
#ifndef UDPD_NTS_H
#define UDPD_NTS_H

#include <stddef.h>
#include <stdint.h>

#include "nts_cookie.h"

/* Extension field types (RFC 8915 section 7.5). */
#define NTS_EF_UNIQUE_ID	0x0104
#define NTS_EF_COOKIE		0x0204
#define NTS_EF_PLACEHOLDER	0x0304
#define NTS_EF_AUTH		0x0404

#define NTS_UID_MIN		32	/* bytes of a Unique Identifier */
#define NTS_UID_MAX		1024	/* what udpd echoes at most */
#define NTS_NONCE_LEN		16	/* the nonce of udpd's replies */
#define NTS_REPLY_COOKIES_MAX	8	/* cookies in one reply */

enum nts_result {
	NTS_NONE,		/* no NTS field: a plain request */
	NTS_OK,			/* authenticated: *req holds the keys */
	NTS_BAD_COOKIE,		/* the cookie does not open: NTS NAK */
	NTS_BAD_AUTH,		/* the authenticator does not verify */
	NTS_MALFORMED		/* fields missing, duplicated, misplaced */
};

struct nts_request {
	const uint8_t	*uid;		/* into the packet */
	size_t		 uid_len;
	size_t		 cookie_len;	/* body of the cookie field */
	unsigned	 cookies;	/* cookies asked for (1 + placeholders) */
	uint16_t	 aead;
	uint8_t		 c2s[NTS_AEAD_KEY_LEN];
	uint8_t		 s2c[NTS_AEAD_KEY_LEN];
};

/* "ok", "bad_cookie", "bad_authenticator", "malformed" (metrics). */
const char *nts_result_name(enum nts_result r);

/*
 * Checks the extension fields of an NTPv4 client request (pkt, len >= 48)
 * against the cookie keys k.  NTS_NONE without any NTS field; otherwise
 * every field must be well formed, exactly one Unique Identifier and one
 * cookie, placeholders as long as the cookie, the authenticator last.
 * NTS_OK fills *r (wipe it with nts_request_wipe); NTS_BAD_COOKIE fills
 * r->uid for the NAK.
 */
enum nts_result nts_parse_request(struct nts_keys *k, const uint8_t *pkt,
	    size_t len, struct nts_request *r);

/* The fresh cookies of a reply, as the encrypted fields they go in. */
struct nts_cookies {
	unsigned	n;
	size_t		len;
	uint8_t		fields[NTS_REPLY_COOKIES_MAX * (4 + NTS_COOKIE_LEN)];
};

/*
 * Makes the cookies of the reply to r: one per cookie and placeholder (at
 * most 8), fewer if the reply would outgrow the request (reqlen bytes).
 * Done before the reply's transmit timestamp is read, as chrony does, so
 * that only the sealing comes after it.  0, or -1 (no cookie made).
 */
int	nts_make_cookies(struct nts_keys *k, const struct nts_request *r,
	    size_t reqlen, struct nts_cookies *c);
/*
 * Appends to the 48-byte reply header in out the Unique Identifier and an
 * authenticator sealing c under the S2C key, padded so that the reply is
 * as long as the request; wipes c.  The reply's length, or 0 (cap).
 */
size_t	nts_seal_reply(const struct nts_request *r, struct nts_cookies *c,
	    size_t reqlen, uint8_t *out, size_t cap);

/*
 * Both at once: appends to the 48-byte reply header in out the request's Unique
 * Identifier and an authenticator sealing fresh cookies (one per cookie
 * and placeholder, fewer if the reply would outgrow the request), padded
 * so that the reply is as long as the request (reqlen) and never longer.
 * Returns the reply's length, or 0 (cap too small, no cookie made).
 */
size_t	nts_build_reply(struct nts_keys *k, const struct nts_request *r,
	    size_t reqlen, uint8_t *out, size_t cap);
/* Appends the Unique Identifier alone to a 48-byte NTS NAK (KoD NTSN);
 * returns the length or 0. */
size_t	nts_build_nak(const struct nts_request *r, uint8_t *out, size_t cap);
/* Wipes the keys of a request. */
void	nts_request_wipe(struct nts_request *r);

#endif
