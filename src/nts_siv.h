/*
 * nts_siv.h - AEAD_AES_SIV_CMAC_256 (RFC 5297, the AEAD that NTS requires)
 * through Nettle's siv-cmac; nts_siv.c is the only file that includes
 * Nettle.  One associated-data string, a nonce and a plaintext, as RFC
 * 8915 uses it (S2V over AD, nonce, plaintext); the output is the 16-byte
 * synthetic IV followed by the ciphertext.
 *
 * Why Nettle and not OpenSSL, which udpd links already: OpenSSL before
 * 3.5 refuses AES-SIV with an empty plaintext, and every NTS request
 * authenticates an empty one (it carries no encrypted fields).  Nettle
 * handles it and is in every Debian release.
 */
#ifndef UDPD_NTS_SIV_H
#define UDPD_NTS_SIV_H

#include <stddef.h>
#include <stdint.h>

#define NTS_SIV_KEY_LEN		32	/* two AES-128 keys */
#define NTS_SIV_TAG_LEN		16

struct nts_siv;		/* a keyed context: immutable once made */

/* 1 when udpd was built with Nettle. */
int	nts_siv_available(void);
/* "Nettle 3.8" or "no", for udpd -V. */
const char *nts_siv_library(void);

/* A context for a 32-byte key, or NULL (no memory, no Nettle). */
struct nts_siv *nts_siv_new(const uint8_t key[NTS_SIV_KEY_LEN]);
/* Wipes the expanded key and frees the context. */
void	nts_siv_free(struct nts_siv *s);

/*
 * Encrypts ptlen bytes of pt into out (ptlen + 16 bytes: tag, then
 * ciphertext).  The nonce must be at least 1 byte.  Thread-safe on the
 * same context.  Returns ptlen + 16, or 0 (no Nettle, empty nonce).
 */
size_t	nts_siv_seal(const struct nts_siv *s, const uint8_t *nonce,
	    size_t nlen, const uint8_t *ad, size_t adlen, const uint8_t *pt,
	    size_t ptlen, uint8_t *out);
/*
 * Checks and decrypts ctlen bytes (tag, ciphertext) into pt (ctlen - 16
 * bytes).  Returns 0, or -1 when the tag does not verify (pt is then
 * zeroed) or ctlen < 16.
 */
int	nts_siv_open(const struct nts_siv *s, const uint8_t *nonce,
	    size_t nlen, const uint8_t *ad, size_t adlen, const uint8_t *ct,
	    size_t ctlen, uint8_t *pt);

/* The same with a key used once (a client's C2S or S2C key): the
 * expanded key lives on the stack and is wiped before returning. */
size_t	nts_siv_seal_once(const uint8_t key[NTS_SIV_KEY_LEN],
	    const uint8_t *nonce, size_t nlen, const uint8_t *ad, size_t adlen,
	    const uint8_t *pt, size_t ptlen, uint8_t *out);
int	nts_siv_open_once(const uint8_t key[NTS_SIV_KEY_LEN],
	    const uint8_t *nonce, size_t nlen, const uint8_t *ad, size_t adlen,
	    const uint8_t *ct, size_t ctlen, uint8_t *pt);

/* Wipes len bytes where the compiler cannot drop it. */
void	nts_wipe(void *p, size_t len);

#endif
