/*
 * nts_siv.c - AES-SIV-CMAC-256 through Nettle (see nts_siv.h for why
 * Nettle); without Nettle every call fails and NTS is refused by the
 * configuration.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_NETTLE
#include <nettle/siv-cmac.h>
#include <nettle/version.h>
#endif

#include "nts_siv.h"

void
nts_wipe(void *p, size_t len)
{
	if (p != NULL)
		explicit_bzero(p, len);
}

#ifdef HAVE_NETTLE

struct nts_siv {
	struct siv_cmac_aes128_ctx	ctx;
};

static void
nts_siv_init(struct nts_siv *s, const uint8_t key[NTS_SIV_KEY_LEN])
{
	siv_cmac_aes128_set_key(&s->ctx, key);
}

int
nts_siv_available(void)
{
	return 1;
}

const char *
nts_siv_library(void)
{
	static char name[32];

	if (name[0] == '\0')
		snprintf(name, sizeof(name), "Nettle %d.%d",
		    nettle_version_major(), nettle_version_minor());
	return name;
}

struct nts_siv *
nts_siv_new(const uint8_t key[NTS_SIV_KEY_LEN])
{
	struct nts_siv *s;

	if ((s = malloc(sizeof(*s))) == NULL)
		return NULL;
	nts_siv_init(s, key);
	return s;
}

void
nts_siv_free(struct nts_siv *s)
{
	if (s == NULL)
		return;
	nts_wipe(s, sizeof(*s));
	free(s);
}

size_t
nts_siv_seal(const struct nts_siv *s, const uint8_t *nonce, size_t nlen,
    const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen,
    uint8_t *out)
{
	if (nlen < SIV_MIN_NONCE_SIZE)
		return 0;
	siv_cmac_aes128_encrypt_message(&s->ctx, nlen, nonce, adlen, ad,
	    ptlen + SIV_DIGEST_SIZE, out, pt);
	return ptlen + SIV_DIGEST_SIZE;
}

int
nts_siv_open(const struct nts_siv *s, const uint8_t *nonce, size_t nlen,
    const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen,
    uint8_t *pt)
{
	if (nlen < SIV_MIN_NONCE_SIZE || ctlen < SIV_DIGEST_SIZE)
		return -1;
	if (siv_cmac_aes128_decrypt_message(&s->ctx, nlen, nonce, adlen, ad,
	    ctlen - SIV_DIGEST_SIZE, pt, ct) != 1) {
		nts_wipe(pt, ctlen - SIV_DIGEST_SIZE);
		return -1;
	}
	return 0;
}

#else /* !HAVE_NETTLE */

struct nts_siv {
	int	unused;
};

static void
nts_siv_init(struct nts_siv *s, const uint8_t key[NTS_SIV_KEY_LEN])
{
	(void)key;
	s->unused = 0;
}

int
nts_siv_available(void)
{
	return 0;
}

const char *
nts_siv_library(void)
{
	return "no";
}

struct nts_siv *
nts_siv_new(const uint8_t key[NTS_SIV_KEY_LEN])
{
	(void)key;
	return NULL;
}

void
nts_siv_free(struct nts_siv *s)
{
	free(s);
}

size_t
nts_siv_seal(const struct nts_siv *s, const uint8_t *nonce, size_t nlen,
    const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t ptlen,
    uint8_t *out)
{
	(void)s; (void)nonce; (void)nlen; (void)ad; (void)adlen; (void)pt;
	(void)ptlen; (void)out;
	return 0;
}

int
nts_siv_open(const struct nts_siv *s, const uint8_t *nonce, size_t nlen,
    const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t ctlen,
    uint8_t *pt)
{
	(void)s; (void)nonce; (void)nlen; (void)ad; (void)adlen; (void)ct;
	(void)ctlen; (void)pt;
	return -1;
}

#endif

/* A key used once: its expansion on the stack, wiped before returning. */
size_t
nts_siv_seal_once(const uint8_t key[NTS_SIV_KEY_LEN], const uint8_t *nonce,
    size_t nlen, const uint8_t *ad, size_t adlen, const uint8_t *pt,
    size_t ptlen, uint8_t *out)
{
	struct nts_siv s;
	size_t n;

	nts_siv_init(&s, key);
	n = nts_siv_seal(&s, nonce, nlen, ad, adlen, pt, ptlen, out);
	nts_wipe(&s, sizeof(s));
	return n;
}

int
nts_siv_open_once(const uint8_t key[NTS_SIV_KEY_LEN], const uint8_t *nonce,
    size_t nlen, const uint8_t *ad, size_t adlen, const uint8_t *ct,
    size_t ctlen, uint8_t *pt)
{
	struct nts_siv s;
	int r;

	nts_siv_init(&s, key);
	r = nts_siv_open(&s, nonce, nlen, ad, adlen, ct, ctlen, pt);
	nts_wipe(&s, sizeof(s));
	return r;
}
