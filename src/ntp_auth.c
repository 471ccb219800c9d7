/*
 * ntp_auth.c - NTP symmetric-key authentication: the ntpsec key file, the
 * MAC trailer, and MD5, SHA1 and AES-128-CMAC through libcrypto's EVP.
 *
 * The key file follows ntpsec's authreadkeys(): "<id> <type> <key>" per
 * line, "#" starts a comment; the type is case-insensitive (MD5 or M,
 * SHA1 or SHA-1, AES, AES-128 or AES128CMAC); a key of up to 20
 * characters is used as ASCII text, a longer one is hex (at most 64
 * digits); an AES key is cut or zero-padded to 16 bytes as ntpsec does.
 * Where ntpsec logs and skips a bad line, udpd refuses the whole file, so
 * that a typo never silently disables a key.
 *
 * Secrets: keys live in this file's structures only, are wiped before
 * they are freed, and no message ever quotes one.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBCRYPTO
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#endif

#include "ntp.h"
#include "wire.h"
#include "ntp_auth.h"

#define KEYS_FILE_MAX	(1024 * 1024)	/* bytes of key file */
#define KEYS_LINE_MAX	1024		/* bytes of one line */
#define AES128_KEY_LEN	16

struct ntp_key {
	uint32_t		 id;
	enum ntp_auth_type	 type;
	int			 trusted;
	int			 line;		/* in the file, for messages */
	size_t			 len;
	unsigned char		 key[NTP_AUTH_KEY_MAX];
#ifdef HAVE_LIBCRYPTO
	const EVP_MD		*md;	/* digests: fetched once per file */
	EVP_MAC_CTX		*cmac;	/* AES: keyed once, copied per use */
#endif
};

struct ntp_keys {
	struct ntp_key		*v;
	size_t			 n;
	size_t			 cap;		/* of v, while parsing */
	int			 sorted;	/* by id, once parsed */
	unsigned int		 refs;		/* holders; read-only once shared */
#ifdef HAVE_LIBCRYPTO
	EVP_MD			*md5;
	EVP_MD			*sha1;
	EVP_MAC			*cmac;
#endif
};

/* ---- the MAC trailer (no libcrypto needed) ----------------------------- */

enum ntp_mac_kind
ntp_auth_parse(const unsigned char *pkt, size_t len, struct ntp_mac *mac)
{
	size_t rest;
	int vn;

	memset(mac, 0, sizeof(*mac));
	if (pkt == NULL || len < NTP_PACKET_LEN)
		return NTP_MAC_INVALID;
	rest = len - NTP_PACKET_LEN;
	vn = (pkt[0] >> 3) & 7;
	if (rest == 0)
		return NTP_MAC_NONE;
	mac->start = NTP_PACKET_LEN;
	/* An NTPv4 packet longer than header + the largest MAC carries
	 * extension fields (RFC 7822), maybe with a MAC after them: walk
	 * them, as chrony does; the MAC covers them too. */
	if (vn == 4 && rest > NTP_AUTH_TRAILER_MAX) {
		if ((mac->start = ntp_ef_end(pkt, len)) == (size_t)-1) {
			mac->start = 0;
			return NTP_MAC_INVALID;
		}
		if ((rest = len - mac->start) == 0)
			return NTP_MAC_NONE;
		if (rest == 4)
			return NTP_MAC_INVALID;
	}
	if ((vn == 2 && rest == 6) || (vn == 3 && rest == 72))
		return NTP_MAC_NONE;	/* NTPv2 / MS-SNTP: stripped */
	if (vn < 3 || (rest != 4 && rest != 20 && rest != 24))
		return NTP_MAC_INVALID;
	mac->keyid = wire_get32(pkt + mac->start);
	if (rest == 4)
		return NTP_MAC_NAK;
	mac->digest = pkt + mac->start + 4;
	mac->digest_len = rest - 4;
	return NTP_MAC_PRESENT;
}

/* ---- messages ---------------------------------------------------------- */

static int
keys_error(struct conf_err *err, const char *path, int line,
    const char *label, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
keys_error(struct conf_err *err, const char *path, int line,
    const char *label, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* A line's error is the key file's own; one about the whole file
	 * is placed by the caller at the setting that named it. */
	if (line > 0)
		snprintf(err->msg, sizeof(err->msg), "%s:%d: %s: %s", path,
		    line, label, text);
	else
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, text);
	return -1;
}

/* ---- key file parsing -------------------------------------------------- */

static int
keys_type(const char *tok, enum ntp_auth_type *type)
{
	static const struct {
		const char		*name;
		enum ntp_auth_type	 type;
	} names[] = {
		{ "MD5", NTP_AUTH_MD5 }, { "M", NTP_AUTH_MD5 },
		{ "SHA1", NTP_AUTH_SHA1 }, { "SHA-1", NTP_AUTH_SHA1 },
		{ "AES", NTP_AUTH_AES128 }, { "AES-128", NTP_AUTH_AES128 },
		{ "AES128CMAC", NTP_AUTH_AES128 }
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		if (strcasecmp(tok, names[i].name) == 0) {
			*type = names[i].type;
			return 0;
		}
	}
	return -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ASCII up to 20 characters, else hex; -1 when it is neither. */
static int
keys_decode(const char *tok, struct ntp_key *k)
{
	size_t len = strlen(tok);

	if (len <= 20) {
		for (size_t i = 0; i < len; i++)
			if (tok[i] < 0x21 || tok[i] > 0x7e)
				return -1;
		memcpy(k->key, tok, len);
		k->len = len;
		return 0;
	}
	if (len % 2 != 0 || len > 2 * NTP_AUTH_KEY_MAX)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval((unsigned char)tok[i]);
		int lo = hexval((unsigned char)tok[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		k->key[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	k->len = len / 2;
	return 0;
}

/* Splits a line into at most max tokens at blanks, up to a "#". */
static size_t
keys_tokens(char *line, char **tok, size_t max)
{
	size_t n = 0;
	char *p, *save = NULL;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	for (p = strtok_r(line, " \t\r\v\f", &save); p != NULL;
	    p = strtok_r(NULL, " \t\r\v\f", &save)) {
		if (n == max)
			return max + 1;
		tok[n++] = p;
	}
	return n;
}

/* Frees an array of n keys, wiped first. */
static void
keys_wipe_free(struct ntp_key *v, size_t n)
{
	if (v != NULL)
		explicit_bzero(v, n * sizeof(*v));
	free(v);
}

/*
 * Room for one more key: the array doubles (not realloc, which may leave
 * a copy of the keys in memory it frees), the old one is wiped.
 */
static int
keys_add(struct ntp_keys *keys, const struct ntp_key *k)
{
	struct ntp_key *v;
	size_t cap;

	if (keys->n > NTP_AUTH_KEYID_MAX)
		return -1;
	if (keys->n == keys->cap) {
		cap = keys->cap == 0 ? 64 : keys->cap * 2;
		if ((v = calloc(cap, sizeof(*v))) == NULL)
			return -1;
		if (keys->n > 0)
			memcpy(v, keys->v, keys->n * sizeof(*v));
		keys_wipe_free(keys->v, keys->cap);
		keys->v = v;
		keys->cap = cap;
	}
	keys->v[keys->n++] = *k;
	return 0;
}

/* One line: nothing, a comment, or "<id> <type> <key> [# comment]". */
static int
keys_line(struct ntp_keys *keys, char *line, const char *path, int lineno,
    const char *label, struct conf_err *err)
{
	char *tok[3], *end;
	struct ntp_key k;
	unsigned long id;
	size_t n;

	n = keys_tokens(line, tok, 3);
	if (n == 0)
		return 0;
	if (n != 3)
		return keys_error(err, path, lineno, label, n > 3 ?
		    "text after the key (a comment starts with #)" :
		    "expected \"<id> <type> <key>\"");
	memset(&k, 0, sizeof(k));
	errno = 0;
	id = strtoul(tok[0], &end, 10);
	if (!isdigit((unsigned char)tok[0][0]) || *end != '\0' ||
	    errno != 0 || id < 1 || id > NTP_AUTH_KEYID_MAX)
		/* The token is not quoted: with the columns swapped it
		 * would be the key. */
		return keys_error(err, path, lineno, label,
		    "key id is not a number from 1 to %d", NTP_AUTH_KEYID_MAX);
	k.id = (uint32_t)id;
	k.trusted = 1;
	k.line = lineno;
	if (keys_type(tok[1], &k.type) == -1)
		return keys_error(err, path, lineno, label,
		    "key %lu: unsupported type (md5, sha1 or aes-128)", id);
	if (keys_decode(tok[2], &k) == -1) {
		explicit_bzero(&k, sizeof(k));
		return keys_error(err, path, lineno, label,
		    "key %lu: the key must be 1 to 20 printable ASCII "
		    "characters or 22 to 64 hex digits", id);
	}
	if (k.type == NTP_AUTH_AES128)
		k.len = AES128_KEY_LEN;	/* cut, or padded with the zeros */
	if (keys_add(keys, &k) == -1) {
		explicit_bzero(&k, sizeof(k));
		return keys_error(err, path, lineno, label, "out of memory");
	}
	explicit_bzero(&k, sizeof(k));
	return 0;
}

static int
keys_cmp(const void *a, const void *b)
{
	const struct ntp_key *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

const struct ntp_key *
ntp_keys_find(const struct ntp_keys *keys, uint32_t id, int trusted_only)
{
	const struct ntp_key *k = NULL;
	struct ntp_key probe;

	if (keys == NULL || keys->n == 0)
		return NULL;
	if (keys->sorted) {
		probe.id = id;
		k = bsearch(&probe, keys->v, keys->n, sizeof(*keys->v),
		    keys_cmp);
	}
	if (k != NULL && trusted_only && !k->trusted)
		return NULL;
	return k;
}

/* ---- libcrypto --------------------------------------------------------- */

#ifdef HAVE_LIBCRYPTO

int
ntp_auth_available(void)
{
	return 1;
}

const char *
ntp_auth_library(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

static EVP_MAC_CTX *
cmac_keyed(EVP_MAC *mac, const unsigned char *key)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
	    (char *)(uintptr_t)"AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL || !EVP_MAC_init(ctx, key, AES128_KEY_LEN, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* CMAC of data from a keyed context, which stays untouched. */
static size_t
cmac_run(const EVP_MAC_CTX *keyed, const unsigned char *data, size_t len,
    unsigned char out[NTP_AUTH_MAC_MAX])
{
	unsigned char m[EVP_MAX_MD_SIZE];
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed);
	size_t n = 0;
	int ok;

	ok = ctx != NULL && EVP_MAC_update(ctx, data, len) &&
	    EVP_MAC_final(ctx, m, &n, sizeof(m));
	EVP_MAC_CTX_free(ctx);
	if (!ok || n == 0)
		return 0;
	n = n > NTP_AUTH_MAC_MAX ? NTP_AUTH_MAC_MAX : n;
	memcpy(out, m, n);
	return n;
}

/* H(key || data), truncated to 20 bytes as ntpd does. */
static size_t
digest_run(const EVP_MD *md, const unsigned char *key, size_t keylen,
    const unsigned char *data, size_t len, unsigned char out[NTP_AUTH_MAC_MAX])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL && EVP_DigestInit_ex2(ctx, md, NULL) &&
	    EVP_DigestUpdate(ctx, key, keylen) &&
	    EVP_DigestUpdate(ctx, data, len) &&
	    EVP_DigestFinal_ex(ctx, d, &n);
	EVP_MD_CTX_free(ctx);
	if (!ok || n == 0)
		return 0;
	n = n > NTP_AUTH_MAC_MAX ? NTP_AUTH_MAC_MAX : n;
	memcpy(out, d, n);
	return n;
}

static size_t
key_mac(const struct ntp_key *k, const unsigned char *data, size_t len,
    unsigned char out[NTP_AUTH_MAC_MAX])
{
	if (k->type == NTP_AUTH_AES128)
		return k->cmac != NULL ? cmac_run(k->cmac, data, len, out) : 0;
	return k->md != NULL ? digest_run(k->md, k->key, k->len, data, len,
	    out) : 0;
}

size_t
ntp_auth_mac(enum ntp_auth_type type, const unsigned char *key,
    size_t keylen, const unsigned char *data, size_t len,
    unsigned char out[NTP_AUTH_MAC_MAX])
{
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	EVP_MD *md;
	size_t n = 0;

	if (type == NTP_AUTH_AES128) {
		if (keylen != AES128_KEY_LEN ||
		    (mac = EVP_MAC_fetch(NULL, "CMAC", NULL)) == NULL)
			return 0;
		if ((ctx = cmac_keyed(mac, key)) != NULL)
			n = cmac_run(ctx, data, len, out);
		EVP_MAC_CTX_free(ctx);
		EVP_MAC_free(mac);
		return n;
	}
	md = EVP_MD_fetch(NULL, type == NTP_AUTH_MD5 ? "MD5" : "SHA1", NULL);
	if (md == NULL)
		return 0;
	n = digest_run(md, key, keylen, data, len, out);
	EVP_MD_free(md);
	return n;
}

/* Fetches what the keys need once, and keys each AES context. */
static int
keys_prepare(struct ntp_keys *keys, const char *path, const char *label,
    struct conf_err *err)
{
	for (size_t i = 0; i < keys->n; i++) {
		struct ntp_key *k = &keys->v[i];
		EVP_MD **md = k->type == NTP_AUTH_MD5 ? &keys->md5 :
		    &keys->sha1;

		if (k->type == NTP_AUTH_AES128) {
			if (keys->cmac == NULL)
				keys->cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
			if (keys->cmac == NULL ||
			    (k->cmac = cmac_keyed(keys->cmac, k->key)) == NULL)
				return keys_error(err, path, 0, label,
				    "key %u: AES-128-CMAC is not available "
				    "from OpenSSL", (unsigned)k->id);
			continue;
		}
		if (*md == NULL)
			*md = EVP_MD_fetch(NULL, k->type == NTP_AUTH_MD5 ?
			    "MD5" : "SHA1", NULL);
		if (*md == NULL)
			return keys_error(err, path, 0, label,
			    "key %u: %s is not available from OpenSSL "
			    "(FIPS mode?)", (unsigned)k->id,
			    k->type == NTP_AUTH_MD5 ? "MD5" : "SHA1");
		k->md = *md;
	}
	return 0;
}

static void
keys_release(struct ntp_keys *keys)
{
	for (size_t i = 0; i < keys->n; i++)
		EVP_MAC_CTX_free(keys->v[i].cmac);
	EVP_MD_free(keys->md5);
	EVP_MD_free(keys->sha1);
	EVP_MAC_free(keys->cmac);
}

static int
mac_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

#else /* !HAVE_LIBCRYPTO */

int
ntp_auth_available(void)
{
	return 0;
}

const char *
ntp_auth_library(void)
{
	return "no";
}

static size_t
key_mac(const struct ntp_key *k, const unsigned char *data, size_t len,
    unsigned char out[NTP_AUTH_MAC_MAX])
{
	(void)k, (void)data, (void)len, (void)out;
	return 0;
}

size_t
ntp_auth_mac(enum ntp_auth_type type, const unsigned char *key,
    size_t keylen, const unsigned char *data, size_t len,
    unsigned char out[NTP_AUTH_MAC_MAX])
{
	(void)type, (void)key, (void)keylen, (void)data, (void)len, (void)out;
	return 0;
}

static int
keys_prepare(struct ntp_keys *keys, const char *path, const char *label,
    struct conf_err *err)
{
	(void)keys;
	return keys_error(err, path, 0, label, "udpd was built without "
	    "OpenSSL (libcrypto): no NTP authentication");
}

static void
keys_release(struct ntp_keys *keys)
{
	(void)keys;
}

/* Never reached without keys; kept constant-time all the same. */
static int
mac_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

#endif /* HAVE_LIBCRYPTO */

/* ---- key sets ---------------------------------------------------------- */

struct ntp_keys *
ntp_keys_ref(struct ntp_keys *keys)
{
	if (keys != NULL)
		__atomic_add_fetch(&keys->refs, 1, __ATOMIC_RELAXED);
	return keys;
}

void
ntp_keys_free(struct ntp_keys *keys)
{
	if (keys == NULL ||
	    __atomic_sub_fetch(&keys->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	keys_release(keys);
	keys_wipe_free(keys->v, keys->cap);
	free(keys);
}

size_t
ntp_keys_count(const struct ntp_keys *keys)
{
	return keys != NULL ? keys->n : 0;
}

enum ntp_auth_type
ntp_key_type(const struct ntp_key *key)
{
	return key->type;
}

/* Feeds each line (NUL-terminated in a private copy) to keys_line(). */
static int
keys_lines(struct ntp_keys *keys, const char *text, size_t len,
    const char *path, const char *label, struct conf_err *err)
{
	char line[KEYS_LINE_MAX + 2];
	size_t pos = 0;
	int lineno = 0, r = 0;

	while (pos < len && r == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = (nl != NULL ? (size_t)(nl - text) : len) - pos;

		lineno++;
		if (n > KEYS_LINE_MAX)
			r = keys_error(err, path, lineno, label,
			    "line too long");
		else if (memchr(text + pos, '\0', n) != NULL)
			r = keys_error(err, path, lineno, label,
			    "NUL byte in the line");
		else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			r = keys_line(keys, line, path, lineno, label, err);
		}
		pos += n + 1;
	}
	explicit_bzero(line, sizeof(line));
	return r;
}

/* Where each key is, sorted by id (then line): no key bytes in it, so
 * what qsort copies and frees holds no secret. */
struct keys_order {
	uint32_t	id;
	int		line;
	size_t		at;
};

static int
keys_order_cmp(const void *a, const void *b)
{
	const struct keys_order *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * Sorts the keys by id once, all read: a duplicate id is then a
 * neighbour (the error names the first line that repeats an id).  The
 * sorted array is a new one; the old one is wiped.
 */
static int
keys_sort(struct ntp_keys *keys, const char *path, const char *label,
    struct conf_err *err)
{
	struct keys_order *o = calloc(keys->n, sizeof(*o));
	struct ntp_key *v = calloc(keys->n, sizeof(*v));
	const struct keys_order *dup = NULL;

	if (o == NULL || v == NULL) {
		free(o);
		free(v);
		return keys_error(err, path, 0, label, "out of memory");
	}
	for (size_t i = 0; i < keys->n; i++)
		o[i] = (struct keys_order){ keys->v[i].id, keys->v[i].line, i };
	qsort(o, keys->n, sizeof(*o), keys_order_cmp);
	for (size_t i = 1; i < keys->n; i++)
		if (o[i].id == o[i - 1].id &&
		    (dup == NULL || o[i].line < dup->line))
			dup = &o[i];
	if (dup != NULL) {
		int r = keys_error(err, path, dup->line, label,
		    "duplicate key id %lu", (unsigned long)dup->id);

		free(o);
		free(v);
		return r;
	}
	for (size_t i = 0; i < keys->n; i++)
		v[i] = keys->v[o[i].at];
	free(o);
	keys_wipe_free(keys->v, keys->cap);
	keys->v = v;
	keys->cap = keys->n;
	keys->sorted = 1;
	return 0;
}

struct ntp_keys *
ntp_keys_parse(const char *text, size_t len, const char *path,
    const char *label, int *at_line, struct conf_err *err)
{
	struct ntp_keys *keys = calloc(1, sizeof(*keys));

	*at_line = 0;
	if (keys == NULL) {
		keys_error(err, path, 0, label, "out of memory");
		return NULL;
	}
	keys->refs = 1;
	if (keys_lines(keys, text, len, path, label, err) == -1) {
		*at_line = 1;
		goto fail;
	}
	if (keys->n == 0) {
		keys_error(err, path, 0, label, "no key in the file");
		goto fail;
	}
	if (keys_sort(keys, path, label, err) == -1) {
		*at_line = 1;
		goto fail;
	}
	if (keys_prepare(keys, path, label, err) == -1)
		goto fail;
	return keys;
fail:
	ntp_keys_free(keys);
	return NULL;
}

struct ntp_keys *
ntp_keys_load(const char *path, const char *label, int *others_can_read,
    int *at_line, struct conf_err *err)
{
	struct ntp_keys *keys = NULL;
	struct stat st;
	char *buf = NULL;
	ssize_t got = 0;
	int fd;

	*others_can_read = 0;
	*at_line = 0;
	/* O_NONBLOCK: a FIFO without a writer would block udpd -t or a
	 * reload forever; fstat() refuses it below.  A regular file reads
	 * the same either way. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		keys_error(err, path, 0, label, "cannot read: %s",
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > KEYS_FILE_MAX) {
		keys_error(err, path, 0, label, "not a regular file of at "
		    "most %d bytes", KEYS_FILE_MAX);
		goto out;
	}
	*others_can_read = (st.st_mode & S_IROTH) != 0;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		keys_error(err, path, 0, label, "out of memory");
		goto out;
	}
	/* One byte more than fstat() said, to notice a file that grew. */
	while (got <= st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)(st.st_size + 1 - got));

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			keys_error(err, path, 0, label, "read: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += n;
	}
	if (got > st.st_size)
		keys_error(err, path, 0, label, "the file grew while read");
	else
		keys = ntp_keys_parse(buf, (size_t)got, path, label, at_line,
		    err);
out:
	if (buf != NULL) {
		explicit_bzero(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return keys;
}

int
ntp_keys_trust(struct ntp_keys *keys, const uint32_t *ids, size_t n,
    uint32_t *missing)
{
	for (size_t i = 0; i < n; i++) {
		if (ntp_keys_find(keys, ids[i], 0) == NULL) {
			*missing = ids[i];
			return -1;
		}
	}
	for (size_t i = 0; i < keys->n; i++)
		keys->v[i].trusted = 0;
	for (size_t i = 0; i < n; i++)
		((struct ntp_key *)(uintptr_t)ntp_keys_find(keys, ids[i],
		    0))->trusted = 1;
	return 0;
}

int
ntp_keys_equal(const struct ntp_keys *a, const struct ntp_keys *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct ntp_key *x = &a->v[i], *y = &b->v[i];

		if (x->id != y->id || x->type != y->type ||
		    x->trusted != y->trusted || x->len != y->len ||
		    !mac_equal(x->key, y->key, x->len))
			return 0;
	}
	return 1;
}

const struct ntp_key *
ntp_auth_verify(const struct ntp_keys *keys, const unsigned char *pkt,
    const struct ntp_mac *mac)
{
	unsigned char want[NTP_AUTH_MAC_MAX];
	const struct ntp_key *k = ntp_keys_find(keys, mac->keyid, 1);
	size_t n;

	if (k == NULL || mac->digest == NULL)
		return NULL;
	n = key_mac(k, pkt, mac->start, want);
	if (n == 0 || n != mac->digest_len ||
	    !mac_equal(want, mac->digest, n))
		return NULL;
	return k;
}

size_t
ntp_auth_sign(const struct ntp_key *key, unsigned char *buf, size_t len,
    size_t cap)
{
	unsigned char mac[NTP_AUTH_MAC_MAX];
	size_t n;

	if (key == NULL || cap < len || cap - len < NTP_AUTH_TRAILER_MAX)
		return 0;
	if ((n = key_mac(key, buf, len, mac)) == 0)
		return 0;
	wire_put32(buf + len, key->id);
	memcpy(buf + len + 4, mac, n);
	return len + 4 + n;
}
