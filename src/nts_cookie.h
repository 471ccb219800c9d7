/*
 * nts_cookie.h - NTS cookies (RFC 8915 section 6) and the cookie keys
 * they are sealed with.  The NTS-KE server makes cookies (nts_cookie_make)
 * and the SNTP service opens them (nts_cookie_open) and makes fresh ones,
 * from any thread at once.
 *
 * The keys of one file (nts.cookie_keys) are held once per process:
 * nts_keys_open() of the same path returns the same holder, so the NTS-KE
 * server and the SNTP service always agree.  The file holds key lines
 * only, "ID NOT_BEFORE KEY" (8 hex digits, Unix seconds, 64 hex digits),
 * oldest first; cookies are made with the newest key whose NOT_BEFORE has
 * come and opened with any key of the file, so hosts that read the same
 * file accept each other's cookies.  A rotating holder adds the next key
 * ahead of its time (readers pick it up before anyone uses it) and keeps
 * the two before the current one.
 *
 * A cookie is ID (4) | nonce (16) | AES-SIV(ID as associated data,
 * AEAD id (2) | 0 (2) | C2S key | S2C key): 104 bytes for AES-SIV-CMAC-256.
 */
#ifndef UDPD_NTS_COOKIE_H
#define UDPD_NTS_COOKIE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NTS_AEAD_AES_SIV_CMAC_256	15
#define NTS_AEAD_KEY_LEN		32	/* per direction, for id 15 */
#define NTS_COOKIE_LEN			104	/* what nts_cookie_make writes */
#define NTS_COOKIE_MAX			256	/* the largest nts_cookie_open takes */
#define NTS_KEYS_MAX			8	/* keys one file may hold */
#define NTS_KEYS_ROTATE_DEFAULT		86400	/* seconds between new keys */

struct nts_keys;	/* the cookie keys of one file: shared, refcounted */

struct nts_keys_conf {
	const char	*path;
	/* Seconds between new keys; 0: never rotate (read only);
	 * NTS_KEYS_ROTATE_AUTO: daily when udpd may write the file. */
	long		 rotate;
	/* Owner of a file made here (root only); (uid_t)-1 keeps ours. */
	uid_t		 uid;
	gid_t		 gid;
};
#define NTS_KEYS_ROTATE_AUTO		(-1L)

/*
 * Checks without writing anything (udpd -t, config parse): the file
 * parses, or it is missing and its directory exists.  0, or -1 with a
 * message in err ("PATH:LINE: ..." for a bad line, never a key byte).
 */
int	nts_keys_check(const char *path, char *err, size_t errlen);

/*
 * Loads the keys of c->path, making the file (mode 0600, one new key) if
 * missing.  Opening a path already open returns the same holder with one
 * more reference, re-read from disk (a reload).  NULL with err set.
 */
struct nts_keys *nts_keys_open(const struct nts_keys_conf *c, char *err,
	    size_t errlen);
/* One more holder; returns k. */
struct nts_keys *nts_keys_ref(struct nts_keys *k);
/* Drops a reference; the last wipes every key and frees. */
void	nts_keys_free(struct nts_keys *k);

/*
 * The periodic work of a holder (once a minute from the main thread):
 * re-reads the file when it changed on disk, adds the next key when this
 * holder rotates and it is due, and moves to a key whose time has come.
 * 0, or -1 with err set (the keys in memory stay in use).
 */
int	nts_keys_tick(struct nts_keys *k, time_t now, char *err,
	    size_t errlen);
/* Seconds since the current key's NOT_BEFORE. */
long	nts_keys_age(struct nts_keys *k, time_t now);
/* The number of keys held and the current key's id (tests, logs). */
size_t	nts_keys_count(struct nts_keys *k);
uint32_t nts_keys_current_id(struct nts_keys *k);

/*
 * A cookie for (aead, c2s, s2c) sealed with the current key: the bytes
 * written (NTS_COOKIE_LEN), or 0 when outlen is too small, aead is not
 * 15, or the library fails.  Thread-safe.
 */
size_t	nts_cookie_make(struct nts_keys *k, uint16_t aead, const uint8_t *c2s,
	    const uint8_t *s2c, uint8_t *out, size_t outlen);
/*
 * Opens a cookie: 0 with *aead and the two keys (NTS_AEAD_KEY_LEN bytes
 * each), or -1 (unknown key id, wrong length, does not decrypt).
 * Thread-safe.
 */
int	nts_cookie_open(struct nts_keys *k, const uint8_t *cookie, size_t len,
	    uint16_t *aead, uint8_t *c2s, uint8_t *s2c);

/* Fills buf with random bytes (getrandom, buffered per thread); -1 on
 * failure. */
int	nts_random(void *buf, size_t len);

#endif
