/*
 * nts_tls.h - the TLS side of NTS-KE: a server certificate and its
 * private key read and checked (at parse time: udpd -t refuses a missing
 * file or a key that does not match), the server context made from them
 * (TLS 1.3 only, ALPN "ntske/1" or nothing), and the c2s/s2c keys a
 * finished handshake exports (RFC 8915 section 4.3).  With nts_ke.c the
 * only files that include OpenSSL's libssl headers.
 */
#ifndef UDPD_NTS_TLS_H
#define UDPD_NTS_TLS_H

#include <stddef.h>
#include <stdint.h>

/* The ALPN protocol id of NTS-KE. */
#define NTS_TLS_ALPN		"ntske/1"
/* The largest certificate chain or key file read, bytes. */
#define NTS_TLS_FILE_MAX	(256 * 1024)

/* A server context (an SSL_CTX), shared by reference. */
struct nts_tls;

/* Was udpd built with libssl and libevent_openssl? */
int	nts_tls_available(void);
/* "OpenSSL 3.0.x ..." or "not built in", for udpd -V. */
const char *nts_tls_library(void);

/*
 * Reads the PEM certificate chain at cert and the private key at key and
 * makes a TLS 1.3 server context of them.  On failure returns NULL with
 * err set and *bad_key 1 when the key file is at fault (unreadable,
 * malformed, or not the certificate's), 0 when the certificate is.
 * *key_others is set when others may read the key file.
 */
struct nts_tls *nts_tls_load(const char *cert, const char *key,
	    int *bad_key, int *key_others, char *err, size_t errlen);
struct nts_tls *nts_tls_ref(struct nts_tls *t);
void	nts_tls_free(struct nts_tls *t);
/* The SSL_CTX *, for nts_ke.c. */
void	*nts_tls_ctx(const struct nts_tls *t);

/*
 * The key of one direction (s2c 0: client to server) for aead, keylen
 * bytes, from the finished handshake of ssl (an SSL *).  0, or -1.
 */
int	nts_tls_export(void *ssl, uint16_t aead, int s2c, uint8_t *out,
	    size_t keylen);
/* Did the handshake of ssl agree on ALPN "ntske/1"? */
int	nts_tls_alpn_ok(void *ssl);

#endif
