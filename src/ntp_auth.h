/*
 * ntp_auth.h - NTP symmetric-key authentication (RFC 5905 section 7.3,
 * AES-128-CMAC from RFC 8573): the ntpd/ntpsec key file, the MAC trailer
 * of a packet, and MACs through OpenSSL's libcrypto.  ntp_auth.c is the
 * only file that includes OpenSSL headers; without libcrypto the key file
 * is refused and ntp_auth_available() is 0.
 *
 * A MAC follows the 48-byte header: a 4-byte key id, then 16 bytes (MD5,
 * AES-128-CMAC) or 20 bytes (SHA1).  Digests are H(key || packet) as
 * ntpd computes them; CMAC is keyed with the 16-byte AES key.
 */
#ifndef UDPD_NTP_AUTH_H
#define UDPD_NTP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "conf_util.h"

#define NTP_AUTH_KEYID_MAX	65535	/* ntpsec's NTP_MAXKEY */
#define NTP_AUTH_KEY_MAX	32	/* bytes: 64 hex digits */
#define NTP_AUTH_MAC_MAX	20	/* bytes of digest on the wire */
/* The largest trailer: key id and digest. */
#define NTP_AUTH_TRAILER_MAX	(4 + NTP_AUTH_MAC_MAX)

enum ntp_auth_type {
	NTP_AUTH_MD5,
	NTP_AUTH_SHA1,
	NTP_AUTH_AES128		/* AES-128-CMAC */
};

/* What follows the 48-byte header of a request. */
enum ntp_mac_kind {
	NTP_MAC_NONE,		/* nothing, or fields udpd ignores */
	NTP_MAC_PRESENT,	/* key id and a 16- or 20-byte digest */
	NTP_MAC_NAK,		/* a key id alone (crypto-NAK shape) */
	NTP_MAC_INVALID		/* a length no NTP version allows */
};

struct ntp_mac {
	size_t			 start;		/* offset of the key id */
	uint32_t		 keyid;
	const unsigned char	*digest;	/* into the packet */
	size_t			 digest_len;
};

struct ntp_keys;	/* opaque: the keys of one key file */
struct ntp_key;		/* one key */

/* 1 when udpd was built with libcrypto. */
int	ntp_auth_available(void);
/* "OpenSSL 3.0.x ..." or "no", for udpd -V. */
const char *ntp_auth_library(void);

/*
 * Classifies the bytes after the header the way ntpsec does: 0 none;
 * 20 or 24 a MAC (NTPv3 and v4); 4 a key id alone; NTPv4 with more than
 * 24 bytes carries extension fields (RFC 7822), walked as chrony does:
 * a 20- or 24-byte MAC after them is PRESENT (mac->start past them),
 * nothing after them NONE, a malformed field INVALID; NTPv2's
 * 6-byte and NTPv3's 72-byte MS-SNTP trailers are ignored (NONE); any
 * other length is INVALID.  Needs len >= 48.
 */
enum ntp_mac_kind ntp_auth_parse(const unsigned char *pkt, size_t len,
	    struct ntp_mac *mac);

/*
 * Parses key file text.  NULL with err set, never quoting a key: with
 * *at_line 1 as "PATH:LINE: LABEL: message" (label names the setting,
 * e.g. "keys of service \"ntp\""), with *at_line 0 as "PATH: message"
 * about the file as a whole, for the caller to place.
 */
struct ntp_keys *ntp_keys_parse(const char *text, size_t len,
	    const char *path, const char *label, int *at_line,
	    struct conf_err *err);
/* Reads and parses the file; *others_can_read tells whether its mode
 * lets anyone but owner and group read it. */
struct ntp_keys *ntp_keys_load(const char *path, const char *label,
	    int *others_can_read, int *at_line, struct conf_err *err);
/* One more holder of keys (parsed options and running instances share
 * them: nothing changes a key set once parsed); returns keys. */
struct ntp_keys *ntp_keys_ref(struct ntp_keys *keys);
/* Drops a holder; the last one wipes and frees the keys. */
void	ntp_keys_free(struct ntp_keys *keys);
size_t	ntp_keys_count(const struct ntp_keys *keys);
/* Marks only these ids trusted (default: all); -1 and *missing set when
 * one is not in the file. */
int	ntp_keys_trust(struct ntp_keys *keys, const uint32_t *ids, size_t n,
	    uint32_t *missing);
/* 1 when both hold the same keys, types and trust (reload decisions). */
int	ntp_keys_equal(const struct ntp_keys *a, const struct ntp_keys *b);
/* The key with that id, or NULL; trusted_only skips untrusted ones. */
const struct ntp_key *ntp_keys_find(const struct ntp_keys *keys,
	    uint32_t id, int trusted_only);
enum ntp_auth_type ntp_key_type(const struct ntp_key *key);

/*
 * The trusted key under which pkt[0, mac->start) carries mac, or NULL
 * (unknown or untrusted key, wrong digest length or value).  Compared
 * in constant time.
 */
const struct ntp_key *ntp_auth_verify(const struct ntp_keys *keys,
	    const unsigned char *pkt, const struct ntp_mac *mac);

/* Appends key id and MAC of buf[0, len) to buf; the new length, or 0
 * when cap is too small or libcrypto fails. */
size_t	ntp_auth_sign(const struct ntp_key *key, unsigned char *buf,
	    size_t len, size_t cap);

/* The wire MAC (at most 20 bytes) of data under a raw key; 0 on error.
 * For tests and the bench: no key file needed. */
size_t	ntp_auth_mac(enum ntp_auth_type type, const unsigned char *key,
	    size_t keylen, const unsigned char *data, size_t len,
	    unsigned char out[NTP_AUTH_MAC_MAX]);

#endif
