/*
 * test_ntp_auth.c - NTP symmetric-key authentication (SPEC 9): MACs
 * against values the openssl command line computed (tests/ntp_auth/
 * vectors.txt, made by mkvectors.sh) and published ones (RFC 1321,
 * FIPS 180, RFC 4493); the key file's syntax and its errors; the MAC
 * trailer's lengths; and the time module answering signed, unsigned or
 * not at all.
 */
#include "config.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"
#include "ntp.h"
#include "ntp_auth.h"
#include "unit.h"

#define VECTORS		TEST_SRCDIR "/ntp_auth/vectors.txt"
#define MAX_VECTORS	32

struct vector {
	uint32_t	id;
	char		line[160];	/* "<id> <type> <key>" */
	unsigned char	pkt[NTP_PACKET_LEN];
	unsigned char	mac[NTP_AUTH_MAC_MAX];
	size_t		maclen;
};

static struct vector vec[MAX_VECTORS];
static size_t nvec;
static char keyfile_text[MAX_VECTORS * 160];

static size_t
unhex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	unsigned int b;

	ck_assert_uint_le(n, cap);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &b), 1);
		out[i] = (unsigned char)b;
	}
	return n;
}

static void
load_vectors(void)
{
	char buf[512], type[32], key[80], pkt[128], mac[64];
	FILE *f = fopen(VECTORS, "r");
	unsigned long id;

	ck_assert_msg(f != NULL, "cannot open %s", VECTORS);
	nvec = 0;
	keyfile_text[0] = '\0';
	while (fgets(buf, sizeof(buf), f) != NULL) {
		struct vector *v = &vec[nvec];

		if (buf[0] == '#')
			continue;
		ck_assert_int_eq(sscanf(buf, "%lu %31s %79s %127s %63s", &id,
		    type, key, pkt, mac), 5);
		ck_assert_uint_lt(nvec, MAX_VECTORS);
		v->id = (uint32_t)id;
		snprintf(v->line, sizeof(v->line), "%lu %s %s", id, type, key);
		ck_assert_uint_eq(unhex(pkt, v->pkt, sizeof(v->pkt)),
		    NTP_PACKET_LEN);
		v->maclen = unhex(mac, v->mac, sizeof(v->mac));
		strcat(keyfile_text, v->line);
		strcat(keyfile_text, "   # a comment\n");
		nvec++;
	}
	fclose(f);
	ck_assert_uint_ge(nvec, 12);
}

static struct ntp_keys *
parse_ok(const char *text)
{
	struct conf_err err;
	struct ntp_keys *k;
	int at_line;

	memset(&err, 0, sizeof(err));
	k = ntp_keys_parse(text, strlen(text), "t.keys", "keys", &at_line,
	    &err);
	ck_assert_msg(k != NULL, "parse failed: %s", err.msg);
	return k;
}

/* Every vector: udpd signs the packet with the key file's key exactly as
 * openssl computed it, and verifies its own and only its own MAC. */
START_TEST(test_openssl_vectors)
{
	struct ntp_keys *keys;

	load_vectors();
	keys = parse_ok(keyfile_text);
	ck_assert_uint_eq(ntp_keys_count(keys), nvec);
	for (size_t i = 0; i < nvec; i++) {
		const struct vector *v = &vec[i];
		const struct ntp_key *k = ntp_keys_find(keys, v->id, 1);
		unsigned char buf[NTP_PACKET_LEN + NTP_AUTH_TRAILER_MAX];
		struct ntp_mac mac;
		size_t n;

		ck_assert_msg(k != NULL, "key %u missing", (unsigned)v->id);
		memcpy(buf, v->pkt, NTP_PACKET_LEN);
		n = ntp_auth_sign(k, buf, NTP_PACKET_LEN, sizeof(buf));
		ck_assert_uint_eq(n, NTP_PACKET_LEN + 4 + v->maclen);
		ck_assert_uint_eq(buf[48] << 24 | buf[49] << 16 | buf[50] << 8 |
		    buf[51], v->id);
		ck_assert_msg(memcmp(buf + 52, v->mac, v->maclen) == 0,
		    "%s: MAC differs from openssl's", v->line);
		ck_assert_int_eq(ntp_auth_parse(buf, n, &mac), NTP_MAC_PRESENT);
		ck_assert_ptr_eq(ntp_auth_verify(keys, buf, &mac), k);
		/* One bit anywhere, header or MAC, and it no longer verifies. */
		for (size_t b = 0; b < n; b++) {
			if (b >= 48 && b < 52)
				continue;	/* the key id: another key */
			buf[b] ^= 0x01;
			ck_assert_msg(ntp_auth_parse(buf, n, &mac) !=
			    NTP_MAC_PRESENT || ntp_auth_verify(keys, buf,
			    &mac) == NULL, "%s: byte %zu flipped still "
			    "verifies", v->line, b);
			buf[b] ^= 0x01;
		}
	}
	ntp_keys_free(keys);
}
END_TEST

/* Published digests: MD5 RFC 1321 and SHA1 FIPS 180 "abc" (key "a",
 * data "bc": H(key || data)); AES-CMAC RFC 4493 examples 1 and 2. */
START_TEST(test_published_vectors)
{
	static const unsigned char cmac_key[16] = {
		0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
		0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c
	};
	static const unsigned char msg2[16] = {
		0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
		0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a
	};
	unsigned char out[NTP_AUTH_MAC_MAX], want[NTP_AUTH_MAC_MAX];

	ck_assert_uint_eq(ntp_auth_mac(NTP_AUTH_MD5,
	    (const unsigned char *)"a", 1, (const unsigned char *)"bc", 2,
	    out), 16);
	unhex("900150983cd24fb0d6963f7d28e17f72", want, sizeof(want));
	ck_assert_mem_eq(out, want, 16);
	ck_assert_uint_eq(ntp_auth_mac(NTP_AUTH_SHA1,
	    (const unsigned char *)"a", 1, (const unsigned char *)"bc", 2,
	    out), 20);
	unhex("a9993e364706816aba3e25717850c26c9cd0d89d", want, sizeof(want));
	ck_assert_mem_eq(out, want, 20);
	ck_assert_uint_eq(ntp_auth_mac(NTP_AUTH_AES128, cmac_key, 16,
	    (const unsigned char *)"", 0, out), 16);
	unhex("bb1d6929e95937287fa37d129b756746", want, sizeof(want));
	ck_assert_mem_eq(out, want, 16);
	ck_assert_uint_eq(ntp_auth_mac(NTP_AUTH_AES128, cmac_key, 16, msg2,
	    sizeof(msg2), out), 16);
	unhex("070a16b46b4d4144f79bdd9dd04a287c", want, sizeof(want));
	ck_assert_mem_eq(out, want, 16);
	/* AES-128 needs exactly 16 bytes of key here. */
	ck_assert_uint_eq(ntp_auth_mac(NTP_AUTH_AES128, cmac_key, 15, msg2,
	    sizeof(msg2), out), 0);
}
END_TEST

/* A bad key file: the line it names and what it says; never the key. */
struct bad_keys {
	const char	*text;
	int		 line;
	const char	*words;
};

static const struct bad_keys bad_keys[] = {
	{ "1 md5\n", 1, "expected \"<id> <type> <key>\"" },
	{ "# c\n\n1 md5 SecretOne extra\n", 3, "text after the key" },
	{ "0 md5 SecretTwo\n", 1, "key id is not a number from 1 to 65535" },
	{ "65536 md5 SecretTwo\n", 1, "key id is not a number" },
	{ "-1 md5 SecretTwo\n", 1, "key id is not a number" },
	{ "1x md5 SecretTwo\n", 1, "key id is not a number" },
	{ "1 md5 SecretOne\n1 sha1 SecretTwo\n", 2, "duplicate key id 1" },
	/* The first line that repeats an id, whatever the ids' order. */
	{ "5 md5 a\n2 md5 b\n9 md5 c\n2 md5 d\n5 md5 e\n", 4,
	    "duplicate key id 2" },
	{ "1 sha256 SecretTwo\n", 1, "key 1: unsupported type "
	    "(md5, sha1 or aes-128)" },
	{ "1 MX SecretTwo\n", 1, "unsupported type" },
	/* Columns swapped: the key is in the type's or the id's place. */
	{ "1 SecretTwo md5\n", 1, "key 1: unsupported type" },
	{ "SecretTwo md5 1\n", 1, "key id is not a number from 1 to 65535" },
	{ "2 sha1 00112233445566778899aabbccddeeff0011223\n", 1,
	    "key 2: the key must be" },			/* odd hex */
	{ "2 sha1 0011223344556677889zaabbccddeeff00112233\n", 1,
	    "key 2: the key must be" },			/* not hex */
	{ "2 sha1 00112233445566778899aabbccddeeff00112233445566778899aabbcc"
	    "ddeeff0011\n", 1, "key 2: the key must be" },	/* > 64 digits */
	{ "3 md5 Secr\001t\n", 1, "key 3: the key must be" },
	{ "3 md5 S\xe9\x63ret\n", 1, "key 3: the key must be" },
	{ "# only comments\n   \n", 0, "t.keys: no key in the file" },
	{ "", 0, "t.keys: no key in the file" },
};

START_TEST(test_bad_key_file)
{
	const struct bad_keys *b = &bad_keys[_i];
	struct conf_err err;
	char want[128];
	int at_line = -1;

	memset(&err, 0, sizeof(err));
	ck_assert_ptr_null(ntp_keys_parse(b->text, strlen(b->text), "t.keys",
	    "keys of service \"ntp\"", &at_line, &err));
	if (b->line > 0) {
		snprintf(want, sizeof(want), "t.keys:%d: keys of service "
		    "\"ntp\": ", b->line);
		ck_assert_int_eq(at_line, 1);
		ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0,
		    "got \"%s\", want prefix \"%s\"", err.msg, want);
	} else
		ck_assert_int_eq(at_line, 0);
	ck_assert_msg(strstr(err.msg, b->words) != NULL,
	    "\"%s\" lacks \"%s\"", err.msg, b->words);
	ck_assert_ptr_null(strstr(err.msg, "Secr"));
	ck_assert_ptr_null(strstr(err.msg, "00112233"));
}
END_TEST

/* Every id from 1 to 65535, in a shuffled order: read, sorted and found
 * in a small fraction of a second (it took seconds when each line looked
 * for its id among those before it); one more line repeating an id is an
 * error at that line. */
START_TEST(test_many_keys)
{
	enum { N = 65535 };
	static uint32_t ids[N];
	size_t cap = (size_t)N * 16 + 32, len = 0;
	char *text = malloc(cap);
	struct ntp_keys *k;
	struct conf_err err;
	uint32_t r = 12345;
	int at_line;
	clock_t t0;

	ck_assert_ptr_nonnull(text);
	for (uint32_t i = 0; i < N; i++)
		ids[i] = i + 1;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j, t;

		r = r * 1103515245u + 12345u;
		j = (r >> 8) % (i + 1);
		t = ids[i];
		ids[i] = ids[j];
		ids[j] = t;
	}
	for (size_t i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "%u md5 k%u\n",
		    ids[i], ids[i] % 1000);
	memset(&err, 0, sizeof(err));
	t0 = clock();
	k = ntp_keys_parse(text, len, "t.keys", "keys", &at_line, &err);
	ck_assert_msg(k != NULL, "%s", err.msg);
	ck_assert_msg(clock() - t0 < CLOCKS_PER_SEC / 2, "%.2f s of CPU",
	    (double)(clock() - t0) / CLOCKS_PER_SEC);
	ck_assert_uint_eq(ntp_keys_count(k), N);
	for (uint32_t id = 1; id <= N; id += 97)
		ck_assert_ptr_nonnull(ntp_keys_find(k, id, 0));
	ntp_keys_free(k);
	len += (size_t)snprintf(text + len, cap - len, "%u sha1 again\n",
	    ids[N / 2]);
	ck_assert_ptr_null(ntp_keys_parse(text, len, "t.keys", "keys",
	    &at_line, &err));
	ck_assert_msg(strstr(err.msg, "t.keys:65536: keys: duplicate key "
	    "id") != NULL, "%s", err.msg);
	free(text);
}
END_TEST

/* What ntpsec accepts: names in any case, "#" anywhere, CRLF, tabs. */
START_TEST(test_key_file_syntax)
{
	struct ntp_keys *k = parse_ok(
	    "# ntpsec's ntpkeygen output looks like this\r\n"
	    "\t7 MD5 abc#comment glued to the key\r\n"
	    "8\tsHa-1\tSecret  \n"
	    "  9 Aes128Cmac 000102030405060708090a0b0c0d0e0f\n"
	    "10 m x");
	unsigned char out[NTP_AUTH_MAC_MAX];
	unsigned char buf[NTP_PACKET_LEN + NTP_AUTH_TRAILER_MAX] = { 0x23 };

	ck_assert_uint_eq(ntp_keys_count(k), 4);
	ck_assert_int_eq(ntp_key_type(ntp_keys_find(k, 7, 1)), NTP_AUTH_MD5);
	ck_assert_int_eq(ntp_key_type(ntp_keys_find(k, 8, 1)), NTP_AUTH_SHA1);
	ck_assert_int_eq(ntp_key_type(ntp_keys_find(k, 9, 1)),
	    NTP_AUTH_AES128);
	ck_assert_int_eq(ntp_key_type(ntp_keys_find(k, 10, 1)), NTP_AUTH_MD5);
	/* Key 7 is "abc": the comment is no part of it. */
	ck_assert_uint_eq(ntp_auth_sign(ntp_keys_find(k, 7, 1), buf, 48,
	    sizeof(buf)), 68);
	ck_assert_uint_eq(ntp_auth_mac(NTP_AUTH_MD5,
	    (const unsigned char *)"abc", 3, buf, 48, out), 16);
	ck_assert_mem_eq(buf + 52, out, 16);
	ck_assert_ptr_null(ntp_keys_find(k, 1, 0));
	ntp_keys_free(k);
}
END_TEST

START_TEST(test_trusted_keys)
{
	struct ntp_keys *a = parse_ok("1 md5 one\n2 sha1 two\n3 aes three\n");
	struct ntp_keys *b = parse_ok("3 aes three\n2 sha1 two\n1 md5 one\n");
	struct ntp_keys *c = parse_ok("1 md5 one\n2 sha1 TWO\n3 aes three\n");
	const uint32_t two[] = { 2 }, bad[] = { 2, 4 };
	uint32_t missing = 0;

	ck_assert_int_eq(ntp_keys_equal(a, b), 1);
	ck_assert_int_eq(ntp_keys_equal(a, c), 0);	/* one key changed */
	ck_assert_int_eq(ntp_keys_trust(a, bad, 2, &missing), -1);
	ck_assert_uint_eq(missing, 4);
	ck_assert_ptr_nonnull(ntp_keys_find(a, 1, 1));	/* unchanged */
	ck_assert_int_eq(ntp_keys_trust(a, two, 1, &missing), 0);
	ck_assert_ptr_null(ntp_keys_find(a, 1, 1));
	ck_assert_ptr_nonnull(ntp_keys_find(a, 1, 0));
	ck_assert_ptr_nonnull(ntp_keys_find(a, 2, 1));
	ck_assert_int_eq(ntp_keys_equal(a, b), 0);	/* trust differs */
	ntp_keys_free(a);
	ntp_keys_free(b);
	ntp_keys_free(c);
}
END_TEST

/* The trailer after the header, as ntpsec's parse_packet() reads it. */
START_TEST(test_trailer_lengths)
{
	static const struct {
		int			vn;
		size_t			rest;
		enum ntp_mac_kind	kind;
		size_t			digest;
	} cases[] = {
		{ 4, 0, NTP_MAC_NONE, 0 }, { 4, 4, NTP_MAC_NAK, 0 },
		{ 4, 20, NTP_MAC_PRESENT, 16 }, { 4, 24, NTP_MAC_PRESENT, 20 },
		{ 3, 20, NTP_MAC_PRESENT, 16 }, { 3, 24, NTP_MAC_PRESENT, 20 },
		{ 4, 8, NTP_MAC_INVALID, 0 }, { 4, 16, NTP_MAC_INVALID, 0 },
		{ 4, 21, NTP_MAC_INVALID, 0 }, { 3, 28, NTP_MAC_INVALID, 0 },
		/* Not an extension field (its length says 0x5678). */
		{ 4, 28, NTP_MAC_INVALID, 0 }, { 4, 1000, NTP_MAC_INVALID, 0 },
		{ 3, 72, NTP_MAC_NONE, 0 },	/* MS-SNTP */
		{ 2, 6, NTP_MAC_NONE, 0 },	/* NTPv2 authenticator */
		{ 2, 20, NTP_MAC_INVALID, 0 }, { 1, 24, NTP_MAC_INVALID, 0 },
	};
	unsigned char pkt[NTP_PACKET_LEN + 1000];
	struct ntp_mac mac;

	memset(pkt, 0, sizeof(pkt));
	pkt[48] = 0x12, pkt[49] = 0x34, pkt[50] = 0x56, pkt[51] = 0x78;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		pkt[0] = (unsigned char)(cases[i].vn << 3 | 3);
		ck_assert_msg(ntp_auth_parse(pkt, 48 + cases[i].rest, &mac) ==
		    cases[i].kind, "v%d +%zu", cases[i].vn, cases[i].rest);
		ck_assert_uint_eq(mac.digest_len, cases[i].digest);
		if (cases[i].kind == NTP_MAC_PRESENT ||
		    cases[i].kind == NTP_MAC_NAK)
			ck_assert_uint_eq(mac.keyid, 0x12345678);
	}
	ck_assert_int_eq(ntp_auth_parse(pkt, 47, &mac), NTP_MAC_INVALID);
}
END_TEST

/* An extension field of type 0x0104, len bytes, at p. */
static void
put_field(unsigned char *p, size_t len)
{
	memset(p, 0xab, len);
	p[0] = 0x01, p[1] = 0x04;
	p[2] = (unsigned char)(len >> 8), p[3] = (unsigned char)len;
}

/* RFC 7822: fields are walked, and what follows them is the MAC. */
START_TEST(test_trailer_after_fields)
{
	static const struct {
		size_t			field1, field2, rest;
		enum ntp_mac_kind	kind;
	} cases[] = {
		{ 28, 0, 0, NTP_MAC_NONE }, { 36, 0, 0, NTP_MAC_NONE },
		{ 16, 16, 0, NTP_MAC_NONE }, { 500, 0, 0, NTP_MAC_NONE },
		{ 16, 0, 20, NTP_MAC_PRESENT }, { 36, 0, 24, NTP_MAC_PRESENT },
		{ 16, 36, 24, NTP_MAC_PRESENT },
		{ 28, 0, 4, NTP_MAC_INVALID },	/* no crypto-NAK after fields */
		{ 28, 0, 8, NTP_MAC_INVALID }, { 28, 0, 21, NTP_MAC_INVALID },
		{ 28, 0, 28, NTP_MAC_INVALID },	/* not a field */
	};
	unsigned char pkt[NTP_PACKET_LEN + 600];
	struct ntp_mac mac;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t at = 48 + cases[i].field1 + cases[i].field2;

		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 4 << 3 | 3;
		put_field(pkt + 48, cases[i].field1);
		if (cases[i].field2 > 0)
			put_field(pkt + 48 + cases[i].field1, cases[i].field2);
		memcpy(pkt + at, "\x00\x00\x00\x07", 4);
		ck_assert_msg(ntp_auth_parse(pkt, at + cases[i].rest, &mac) ==
		    cases[i].kind, "case %zu", i);
		if (cases[i].kind == NTP_MAC_PRESENT) {
			ck_assert_uint_eq(mac.start, at);
			ck_assert_uint_eq(mac.keyid, 7);
			ck_assert_uint_eq(mac.digest_len, cases[i].rest - 4);
		}
	}
	/* Malformed fields: a length below 16, not a multiple of 4, past
	 * the end, or 0. */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 4 << 3 | 3;
	put_field(pkt + 48, 40);
	for (size_t bad = 0; bad < 4; bad++) {
		static const unsigned lens[] = { 12, 30, 44, 0 };

		pkt[50] = 0;
		pkt[51] = (unsigned char)lens[bad];
		ck_assert_int_eq(ntp_auth_parse(pkt, 48 + 40, &mac),
		    NTP_MAC_INVALID);
	}
}
END_TEST

/* ---- the time module with a key file ---------------------------------- */

static char tmpdir[PATH_MAX];
static struct timespec fake_now = { 1795304207, 250000000 };

static void
fake_clock(struct timespec *ts)
{
	*ts = fake_now;
}

static int
k_unsynced(struct ntp_kstate *ks)
{
	ks->synced = 0;
	return 0;
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/udpd-auth.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	write_file("ntp.keys", "1 md5 one\n2 sha1 two\n3 aes three\n"
	    "4 sha1 untrusted\n", 0600);
	ntp_set_kernel_hook(k_unsynced);
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	ntp_set_kernel_hook(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void *
mk(const char *opts, struct conf_err *err)
{
	struct module_ctx ctx = { .service = "ntp" };
	char text[512];

	snprintf(text, sizeof(text), "svc = { protocol = \"sntp\"; "
	    "stratum = 10; %s };", opts);
	return unit_create(&module_time, text, "svc", tmpdir, &ctx, err);
}

static void *
mk_ok(const char *opts)
{
	struct conf_err err;
	void *st = mk(opts, &err);

	ck_assert_msg(st != NULL, "create failed: %s", err.msg);
	return st;
}

static unsigned char rbuf[UDPD_MAX_DATAGRAM + 16];

/* A 48-byte v4 client request, signed with (id, type, key) unless id 0. */
static size_t
request(unsigned char *buf, uint32_t id, enum ntp_auth_type type,
    const char *key)
{
	size_t n;

	memset(buf, 0, NTP_PACKET_LEN);
	buf[0] = 0x23;
	memcpy(buf + 40, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	if (id == 0)
		return NTP_PACKET_LEN;
	buf[48] = (unsigned char)(id >> 24), buf[49] = (unsigned char)(id >> 16);
	buf[50] = (unsigned char)(id >> 8), buf[51] = (unsigned char)id;
	if (type == NTP_AUTH_AES128) {
		unsigned char k[16] = { 0 };

		memcpy(k, key, strlen(key));
		n = ntp_auth_mac(type, k, 16, buf, NTP_PACKET_LEN, buf + 52);
	} else
		n = ntp_auth_mac(type, (const unsigned char *)key, strlen(key),
		    buf, NTP_PACKET_LEN, buf + 52);
	ck_assert_uint_gt(n, 0);
	return NTP_PACKET_LEN + 4 + n;
}

static enum udpd_verdict
ask(void *st, const unsigned char *data, size_t len, int limited,
    size_t *outlen)
{
	struct udpd_request req;
	struct udpd_reply rep;
	enum udpd_verdict v;

	memset(&req, 0, sizeof(req));
	req.data = data;
	req.len = len;
	req.rx_time = fake_now;
	req.now = fake_clock;
	memset(rbuf, 0xee, sizeof(rbuf));
	rep.buf = rbuf;
	rep.cap = UDPD_MAX_DATAGRAM;
	rep.len = 0;
	v = limited ? module_time.limited(st, &req, &rep) :
	    module_time.handle(st, &req, &rep);
	*outlen = rep.len;
	return v;
}

/* The reply's trailer: key id and a MAC of its 48 bytes under the key. */
static void
check_signed(size_t len, uint32_t id, enum ntp_auth_type type,
    const char *key)
{
	unsigned char want[NTP_AUTH_MAC_MAX], k[16] = { 0 };
	size_t n;

	if (type == NTP_AUTH_AES128) {
		memcpy(k, key, strlen(key));
		n = ntp_auth_mac(type, k, 16, rbuf, 48, want);
	} else
		n = ntp_auth_mac(type, (const unsigned char *)key, strlen(key),
		    rbuf, 48, want);
	ck_assert_uint_eq(len, 48 + 4 + n);
	ck_assert_uint_eq((uint32_t)rbuf[48] << 24 | rbuf[49] << 16 |
	    rbuf[50] << 8 | rbuf[51], id);
	ck_assert_mem_eq(rbuf + 52, want, n);
	ck_assert_uint_eq(rbuf[len], 0xee);
}

/* A MAC after extension fields covers them, and signs the reply. */
START_TEST(test_module_fields_before_mac)
{
	void *st = mk_ok("keys = \"ntp.keys\";");
	unsigned char req[NTP_PACKET_LEN + 36 + 24];
	size_t n, len;

	request(req, 0, NTP_AUTH_MD5, NULL);
	put_field(req + 48, 36);
	req[84] = 0, req[85] = 0, req[86] = 0, req[87] = 2;
	n = ntp_auth_mac(NTP_AUTH_SHA1, (const unsigned char *)"two", 3, req,
	    84, req + 88);
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(ask(st, req, sizeof(req), 0, &len), UDPD_REPLY);
	check_signed(len, 2, NTP_AUTH_SHA1, "two");
	/* The field is covered: changing it fails the MAC. */
	req[60] ^= 1;
	ck_assert_int_eq(ask(st, req, sizeof(req), 0, &len), UDPD_DROP);
	module_time.destroy(st);
}
END_TEST

START_TEST(test_module_signs_replies)
{
	static const struct {
		uint32_t		id;
		enum ntp_auth_type	type;
		const char		*key;
	} ok[] = {
		{ 1, NTP_AUTH_MD5, "one" }, { 2, NTP_AUTH_SHA1, "two" },
		{ 3, NTP_AUTH_AES128, "three" },
	};
	void *st = mk_ok("keys = \"ntp.keys\"; trusted_keys = [ 1, 2, 3 ];");
	unsigned char req[128];
	size_t len, n;

	for (size_t i = 0; i < 3; i++) {
		n = request(req, ok[i].id, ok[i].type, ok[i].key);
		ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_REPLY);
		ck_assert_uint_eq(rbuf[0] & 7, 4);	/* mode 4 */
		ck_assert_mem_eq(rbuf + 24, req + 40, 8);	/* origin */
		check_signed(len, ok[i].id, ok[i].type, ok[i].key);
		/* Rate limited: a Kiss-o'-Death RATE, signed too. */
		ck_assert_int_eq(ask(st, req, n, 1, &len), UDPD_REPLY);
		ck_assert_mem_eq(rbuf + 12, "RATE", 4);
		check_signed(len, ok[i].id, ok[i].type, ok[i].key);
	}
	/* Without a MAC: an unsigned reply (require_auth is off). */
	ck_assert_int_eq(ask(st, req, request(req, 0, 0, NULL), 0, &len),
	    UDPD_REPLY);
	ck_assert_uint_eq(len, 48);
	module_time.destroy(st);
}
END_TEST

/* Nothing signed, ever, for a MAC that does not verify. */
START_TEST(test_module_refuses)
{
	void *st = mk_ok("keys = \"ntp.keys\"; trusted_keys = [ 1, 2, 3 ];");
	unsigned char req[128];
	size_t len, n;

	/* Wrong key, unknown id, untrusted key, a tampered MAC. */
	n = request(req, 1, NTP_AUTH_MD5, "ONE");
	ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_DROP);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(ask(st, req, n, 1, &len), UDPD_DROP_SILENT);
	n = request(req, 9, NTP_AUTH_MD5, "one");
	ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_DROP);
	n = request(req, 4, NTP_AUTH_SHA1, "untrusted");
	ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_DROP);
	n = request(req, 2, NTP_AUTH_SHA1, "two");
	req[n - 1] ^= 0x80;
	ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_DROP);
	/* The right MAC of another type's length (SHA1 id, MD5 digest). */
	n = request(req, 2, NTP_AUTH_MD5, "two");
	ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_DROP);
	/* A key id alone, and a trailer of no valid length. */
	n = request(req, 2, NTP_AUTH_SHA1, "two");
	ck_assert_int_eq(ask(st, req, 52, 0, &len), UDPD_DROP);
	ck_assert_int_eq(ask(st, req, 60, 0, &len), UDPD_DROP);
	module_time.destroy(st);
}
END_TEST

START_TEST(test_module_require_auth)
{
	void *st = mk_ok("keys = \"ntp.keys\"; require_auth = true;");
	unsigned char req[128];
	size_t len, n;

	n = request(req, 0, 0, NULL);
	ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_DROP);
	ck_assert_int_eq(ask(st, req, n, 1, &len), UDPD_DROP_SILENT);
	/* Every key in the file is trusted by default. */
	n = request(req, 4, NTP_AUTH_SHA1, "untrusted");
	ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_REPLY);
	check_signed(len, 4, NTP_AUTH_SHA1, "untrusted");
	module_time.destroy(st);
}
END_TEST

/* Without keys a trailer is ignored, as before (SPEC 2). */
START_TEST(test_module_without_keys)
{
	void *st = mk_ok("");
	unsigned char req[128];
	size_t len, n;

	n = request(req, 1, NTP_AUTH_MD5, "one");
	ck_assert_int_eq(ask(st, req, n, 0, &len), UDPD_REPLY);
	ck_assert_uint_eq(len, 48);
	module_time.destroy(st);
}
END_TEST

/* Each load reads the key file again (a reload picks up new keys), and
 * the running instance keeps the keys it was started with. */
START_TEST(test_module_reload_keys)
{
	void *old = mk_ok("keys = \"ntp.keys\";"), *fresh;
	unsigned char req[128];
	size_t len, n;

	write_file("ntp.keys", "1 md5 one\n2 sha1 two\n3 aes THREE\n", 0600);
	fresh = mk_ok("keys = \"ntp.keys\";");
	n = request(req, 3, NTP_AUTH_AES128, "three");
	ck_assert_int_eq(ask(old, req, n, 0, &len), UDPD_REPLY);
	check_signed(len, 3, NTP_AUTH_AES128, "three");
	ck_assert_int_eq(ask(fresh, req, n, 0, &len), UDPD_DROP);
	n = request(req, 3, NTP_AUTH_AES128, "THREE");
	ck_assert_int_eq(ask(fresh, req, n, 0, &len), UDPD_REPLY);
	check_signed(len, 3, NTP_AUTH_AES128, "THREE");
	ck_assert_int_eq(ask(old, req, n, 0, &len), UDPD_DROP);
	module_time.destroy(old);
	module_time.destroy(fresh);
}
END_TEST

/* Reading the file: its mode, and what is not a regular file. */
START_TEST(test_load_file)
{
	char path[PATH_MAX + 16];
	struct conf_err err;
	struct ntp_keys *k;
	int others = -1, at_line = -1;

	snprintf(path, sizeof(path), "%s/ntp.keys", tmpdir);
	ck_assert_ptr_nonnull(k = ntp_keys_load(path, "keys", &others,
	    &at_line, &err));
	ck_assert_int_eq(others, 0);
	ck_assert_uint_eq(ntp_keys_count(k), 4);
	ntp_keys_free(k);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_ptr_nonnull(k = ntp_keys_load(path, "keys", &others,
	    &at_line, &err));
	ck_assert_int_eq(others, 1);
	ntp_keys_free(k);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_ptr_nonnull(k = ntp_keys_load(path, "keys", &others,
	    &at_line, &err));
	ck_assert_int_eq(others, 0);
	/* A second holder keeps the keys alive after the first lets go. */
	ck_assert_ptr_eq(ntp_keys_ref(k), k);
	ntp_keys_free(k);
	ck_assert_ptr_nonnull(ntp_keys_find(k, 4, 1));
	ntp_keys_free(k);
	ck_assert_ptr_null(ntp_keys_load(tmpdir, "keys", &others, &at_line,
	    &err));
	ck_assert_int_eq(at_line, 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
	/* A FIFO with no writer: refused at once, not waited on forever
	 * (udpd -t and a reload would hang; the fixture's timeout fails). */
	snprintf(path, sizeof(path), "%s/fifo.keys", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_ptr_null(ntp_keys_load(path, "keys", &others, &at_line,
	    &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
}
END_TEST

static const struct {
	const char	*opts;
	const char	*msg;		/* after "(config):0: " or the path */
} bad_opts[] = {
	{ "keys = \"nope.keys\";", "keys: %s/nope.keys: cannot read: No such "
	    "file or directory" },
	{ "keys = \"bad.keys\";", "%s/bad.keys:2: keys of service \"ntp\": "
	    "key 2: unsupported type (md5, sha1 or aes-128)" },
	{ "keys = \"ntp.keys\"; trusted_keys = [ 1, 5 ];", "trusted_keys: "
	    "key 5 is not in %s/ntp.keys" },
	{ "keys = \"ntp.keys\"; trusted_keys = [ ];", "trusted_keys: must "
	    "list 1 to 64 key ids" },
	{ "keys = \"ntp.keys\"; trusted_keys = [ 0 ];", "trusted_keys[0]: "
	    "key id 0 is not from 1 to 65535" },
	{ "keys = \"ntp.keys\"; trusted_keys = 1;", "trusted_keys: must be "
	    "a list of key ids" },
	{ "trusted_keys = [ 1 ];", "trusted_keys: needs keys (a key file)" },
	{ "require_auth = true;", "require_auth: needs keys (a key file)" },
	{ "keys = 1;", "keys: must be a string" },
};

START_TEST(test_module_bad_options)
{
	struct conf_err err;
	char want[PATH_MAX + 256];
	const char *msg = bad_opts[_i].msg, *hole = strstr(msg, "%s");

	write_file("bad.keys", "1 md5 one\n2 sha512 two\n", 0600);
	memset(&err, 0, sizeof(err));
	ck_assert_ptr_null(mk(bad_opts[_i].opts, &err));
	/* The message with the test directory in its "%s", if any. */
	if (hole == NULL)
		snprintf(want, sizeof(want), "%s", msg);
	else
		snprintf(want, sizeof(want), "%.*s%s%s", (int)(hole - msg), msg,
		    tmpdir, hole + 2);
	ck_assert_msg(strstr(err.msg, want) != NULL, "got \"%s\", want \"%s\"",
	    err.msg, want);
	ck_assert_ptr_null(strstr(err.msg, "two\n"));
}
END_TEST

/* Scope: the settings belong to protocol "sntp" only. */
START_TEST(test_module_scope)
{
	struct module_ctx ctx = { .service = "ntp" };
	struct conf_err err;

	ck_assert_ptr_null(unit_create(&module_time, "svc = { protocol = "
	    "\"daytime\"; keys = \"ntp.keys\"; };", "svc", tmpdir, &ctx,
	    &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "keys: only valid with "
	    "protocol \"sntp\""));
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("ntp_auth");
	TCase *tc = tcase_create("mac");
	TCase *tm = tcase_create("module");

	tcase_add_test(tc, test_openssl_vectors);
	tcase_add_test(tc, test_published_vectors);
	tcase_add_loop_test(tc, test_bad_key_file, 0,
	    (int)(sizeof(bad_keys) / sizeof(*bad_keys)));
	tcase_add_test(tc, test_key_file_syntax);
	tcase_add_test(tc, test_many_keys);
	tcase_add_test(tc, test_trusted_keys);
	tcase_add_test(tc, test_trailer_lengths);
	tcase_add_test(tc, test_trailer_after_fields);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tm, setup, teardown);
	tcase_add_test(tm, test_module_signs_replies);
	tcase_add_test(tm, test_module_fields_before_mac);
	tcase_add_test(tm, test_module_refuses);
	tcase_add_test(tm, test_module_require_auth);
	tcase_add_test(tm, test_module_without_keys);
	tcase_add_test(tm, test_module_reload_keys);
	tcase_add_test(tm, test_load_file);
	tcase_add_loop_test(tm, test_module_bad_options, 0,
	    (int)(sizeof(bad_opts) / sizeof(*bad_opts)));
	tcase_add_test(tm, test_module_scope);
	suite_add_tcase(s, tm);
	return s;
}

/* Built without libcrypto: "keys" is a config error naming the service. */
START_TEST(test_without_libcrypto)
{
	struct conf_err err;

	ck_assert_ptr_null(mk("keys = \"ntp.keys\";", &err));
	ck_assert_str_eq(err.msg, "(config):1: keys: service \"ntp\": udpd "
	    "was built without OpenSSL (libcrypto): no NTP authentication");
	ck_assert_str_eq(ntp_auth_library(), "no");
}
END_TEST

static Suite *
without_suite(void)
{
	Suite *s = suite_create("ntp_auth without libcrypto");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_without_libcrypto);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(ntp_auth_available() ? auth_suite() : without_suite());
}
