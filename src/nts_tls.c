/*
 * nts_tls.c - the TLS context of NTS-KE (OpenSSL libssl): certificate
 * chain and private key read from files and checked against each other,
 * TLS 1.3 only, ALPN "ntske/1" required (any other offer is refused with
 * the no_application_protocol alert), no session tickets (a key exchange
 * is one request; resuming it would only keep state), and the keys
 * exported from a finished handshake.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nts_ke_records.h"
#include "nts_tls.h"

#ifdef HAVE_NTS_KE

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

struct nts_tls {
	SSL_CTX		*ctx;
	atomic_int	 refs;
};

int
nts_tls_available(void)
{
	return 1;
}

const char *
nts_tls_library(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

/*
 * Reads path whole into a memory BIO.  O_NONBLOCK: a FIFO in place of the
 * file would block udpd -t or a reload; fstat() refuses it.
 */
static BIO *
nts_tls_read(const char *path, int *others, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	ssize_t got = 0;
	BIO *bio = NULL;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > NTS_TLS_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", path, NTS_TLS_FILE_MAX);
		goto out;
	}
	if (others != NULL)
		*others = (st.st_mode & S_IROTH) != 0;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL ||
	    (got = read(fd, buf, (size_t)st.st_size + 1)) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    buf == NULL ? "out of memory" : strerror(errno));
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    BIO_write(bio, buf, (int)got) != (int)got) {
		BIO_free(bio);
		bio = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
	}
out:
	if (buf != NULL)
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
	free(buf);
	close(fd);
	return bio;
}

/* The leaf certificate, then its chain, from a PEM file. */
static int
nts_tls_use_chain(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	BIO *bio = nts_tls_read(path, NULL, err, errlen);
	X509 *x;

	if (bio == NULL)
		return -1;
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1) {
		snprintf(err, errlen, "%s: no PEM certificate in it", path);
		X509_free(x);
		BIO_free(bio);
		return -1;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			break;
		}
	}
	ERR_clear_error();	/* the end of the file */
	BIO_free(bio);
	return 0;
}

static int
nts_tls_use_key(SSL_CTX *ctx, const char *path, int *others, char *err,
    size_t errlen)
{
	BIO *bio = nts_tls_read(path, others, err, errlen);
	EVP_PKEY *pk;
	int r = -1;

	if (bio == NULL)
		return -1;
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		snprintf(err, errlen, "%s: no PEM private key in it", path);
	else if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		snprintf(err, errlen, "%s: private key does not match the "
		    "certificate", path);
	else
		r = 0;
	EVP_PKEY_free(pk);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

/* ALPN: "ntske/1" among the client's offers, or the handshake fails. */
static int
nts_tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char want[] = "\x07" NTS_TLS_ALPN;
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, want, sizeof(want) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* A client that offers no ALPN at all is refused in the handshake too
 * (the ALPN callback is only called when there is an offer). */
static int
nts_tls_hello(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *p;
	size_t len;

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl,
	    TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
	    &len) == 1)
		return SSL_CLIENT_HELLO_SUCCESS;
	*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
	return SSL_CLIENT_HELLO_ERROR;
}

static SSL_CTX *
nts_tls_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_alpn_select_cb(ctx, nts_tls_alpn, NULL);
	SSL_CTX_set_client_hello_cb(ctx, nts_tls_hello, NULL);
	return ctx;
}

struct nts_tls *
nts_tls_load(const char *cert, const char *key, int *bad_key,
    int *key_others, char *err, size_t errlen)
{
	struct nts_tls *t;
	SSL_CTX *ctx;

	*bad_key = 0;
	*key_others = 0;
	if ((ctx = nts_tls_ctx_new()) == NULL) {
		snprintf(err, errlen, "cannot make a TLS 1.3 context");
		return NULL;
	}
	if (nts_tls_use_chain(ctx, cert, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (nts_tls_use_key(ctx, key, key_others, err, errlen) == -1) {
		*bad_key = 1;
		SSL_CTX_free(ctx);
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		SSL_CTX_free(ctx);
		return NULL;
	}
	t->ctx = ctx;
	atomic_init(&t->refs, 1);
	return t;
}

struct nts_tls *
nts_tls_ref(struct nts_tls *t)
{
	if (t != NULL)
		atomic_fetch_add(&t->refs, 1);
	return t;
}

void
nts_tls_free(struct nts_tls *t)
{
	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

void *
nts_tls_ctx(const struct nts_tls *t)
{
	return t->ctx;
}

int
nts_tls_export(void *ssl, uint16_t aead, int s2c, uint8_t *out,
    size_t keylen)
{
	uint8_t context[NTS_KE_CONTEXT_LEN];

	nts_ke_exporter_context(aead, s2c, context);
	return SSL_export_keying_material(ssl, out, keylen,
	    NTS_KE_EXPORTER_LABEL, strlen(NTS_KE_EXPORTER_LABEL), context,
	    sizeof(context), 1) == 1 ? 0 : -1;
}

int
nts_tls_alpn_ok(void *ssl)
{
	const unsigned char *p;
	unsigned int len;

	SSL_get0_alpn_selected(ssl, &p, &len);
	return len == strlen(NTS_TLS_ALPN) &&
	    memcmp(p, NTS_TLS_ALPN, len) == 0;
}

#else /* !HAVE_NTS_KE */

int
nts_tls_available(void)
{
	return 0;
}

const char *
nts_tls_library(void)
{
	return "not built in";
}

struct nts_tls *
nts_tls_load(const char *cert, const char *key, int *bad_key,
    int *key_others, char *err, size_t errlen)
{
	(void)cert;
	(void)key;
	*bad_key = 0;
	*key_others = 0;
	snprintf(err, errlen, "udpd was built without the NTS key exchange "
	    "(libssl, libevent_openssl)");
	return NULL;
}

struct nts_tls *
nts_tls_ref(struct nts_tls *t)
{
	return t;
}

void
nts_tls_free(struct nts_tls *t)
{
	(void)t;
}

void *
nts_tls_ctx(const struct nts_tls *t)
{
	(void)t;
	return NULL;
}

int
nts_tls_export(void *ssl, uint16_t aead, int s2c, uint8_t *out,
    size_t keylen)
{
	(void)ssl;
	(void)aead;
	(void)s2c;
	(void)out;
	(void)keylen;
	return -1;
}

int
nts_tls_alpn_ok(void *ssl)
{
	(void)ssl;
	return 0;
}

#endif /* HAVE_NTS_KE */
