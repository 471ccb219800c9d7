/*
 * test_nts_cookie.c - AES-SIV-CMAC-256 through Nettle (nts_siv.c) and the
 * NTS cookie keys and cookies (nts_cookie.c): RFC 5297's vectors, empty
 * plaintexts, cookies that round-trip, fail when tampered with, outlive
 * two rotations and no more, are shared through a copied key file, and
 * key files that are refused with their line.
 */
#include "config.h"

#include <sys/stat.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

#include "nts_cookie.h"
#include "nts_siv.h"
#include "unit.h"

static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned b;

	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		ck_assert_uint_lt(n, cap);
		ck_assert_int_eq(sscanf(s, "%2x", &b), 1);
		out[n++] = (uint8_t)b;
		s += 2;
	}
	return n;
}

/* Seals with the wrapper and checks the known answer, then opens it. */
static void
check_siv(const char *key, const char *nonce, const char *ad, const char *pt,
    const char *want)
{
	uint8_t k[32], n[64], a[64], p[128], w[160], out[160], back[128];
	size_t kl = unhex(key, k, sizeof(k)), nl = unhex(nonce, n, sizeof(n));
	size_t al = unhex(ad, a, sizeof(a)), pl = unhex(pt, p, sizeof(p));
	size_t wl = unhex(want, w, sizeof(w));
	struct nts_siv *s;

	ck_assert_uint_eq(kl, 32);
	ck_assert_ptr_nonnull(s = nts_siv_new(k));
	ck_assert_uint_eq(nts_siv_seal(s, n, nl, a, al, p, pl, out), pl + 16);
	ck_assert_uint_eq(wl, pl + 16);
	ck_assert_mem_eq(out, w, wl);
	ck_assert_int_eq(nts_siv_open(s, n, nl, a, al, out, wl, back), 0);
	if (pl > 0)
		ck_assert_mem_eq(back, p, pl);
	out[wl - 1] ^= 1;
	ck_assert_int_eq(nts_siv_open(s, n, nl, a, al, out, wl, back), -1);
	out[wl - 1] ^= 1;
	out[0] ^= 0x80;
	ck_assert_int_eq(nts_siv_open(s, n, nl, a, al, out, wl, back), -1);
	nts_siv_free(s);
}

#define RFC5297_KEY_A2	"7f7e7d7c7b7a797877767574737271704041424344454647" \
			"48494a4b4c4d4e4f"
#define RFC5297_AD1_A2	"00112233445566778899aabbccddeeffdeaddadadeaddada" \
			"ffeeddccbbaa99887766554433221100"
#define RFC5297_NONCE_A2 "09f911029d74e35bd84156c5635688c0"
#define RFC5297_PT_A2	"7468697320697320736f6d6520706c61696e7465787420746f" \
			"20656e6372797074207573696e67205349562d414553"

/*
 * RFC 8915 seals with one associated-data string and a nonce: S2V over
 * (AD, nonce, plaintext), the shape of RFC 5297 A.2 with one AD
 * instead of two.  The answers below come from implementations checked
 * against RFC 5297 (Nettle's and chrony's test suites, libaes_siv).
 */
START_TEST(siv_known_answers)
{
	/* RFC 5297 A.2's key, first AD, nonce and plaintext. */
	check_siv(RFC5297_KEY_A2, RFC5297_NONCE_A2, RFC5297_AD1_A2,
	    RFC5297_PT_A2,
	    "85825e22e90cf2ddda2c548dc7c1b6310dcdaca0cebf9dc6cb90583f5bf1506e"
	    "02cd48832b00e4e598b2b22a53e6199d4df0c1666a35a0433b250dc134d776");
	/* An empty plaintext (every NTS request's) and no AD. */
	check_siv("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	    "01", "", "", "c696f84fdf92aba3c31c23d5f2087513");
	/* chrony's: an empty plaintext, a 16-byte nonce. */
	check_siv("0123456789abcdeff0123456789abcdeef0123456789abcdde0f123456789abc",
	    "101112131415161718191a1b1c1d1e1f", "", "",
	    "223eb594e0e0254b00258e219a1ca421");
}
END_TEST

#ifdef HAVE_LIBCRYPTO
/* OpenSSL's AES-SIV, which takes any number of AD strings: the nonce is
 * the last one (RFC 5297 section 3). */
static size_t
ossl_siv(const uint8_t *key, const uint8_t **ad, const size_t *adl, int nad,
    const uint8_t *pt, size_t pl, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, "AES-128-SIV", NULL);
	int l;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(ciph);
	ck_assert_int_eq(EVP_EncryptInit_ex2(c, ciph, key, NULL, NULL), 1);
	for (int i = 0; i < nad; i++)
		ck_assert_int_eq(EVP_EncryptUpdate(c, NULL, &l, ad[i],
		    (int)adl[i]), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(c, out + 16, &l, pt, (int)pl), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(c, out + 16 + l, &l), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16,
	    out), 1);
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(ciph);
	return pl + 16;
}

/* RFC 5297 A.1 and A.2 as published, through OpenSSL: the reference the
 * Nettle wrapper is then held to on NTS-shaped inputs. */
START_TEST(siv_rfc5297_vectors)
{
	uint8_t k[32], ad1[64], ad2[16], n[16], p[64], w[80], out[80];
	const uint8_t *ads[3];
	size_t adl[3], pl, wl;

	unhex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	    k, sizeof(k));
	adl[0] = unhex("101112131415161718191a1b1c1d1e1f2021222324252627",
	    ad1, sizeof(ad1));
	pl = unhex("112233445566778899aabbccddee", p, sizeof(p));
	wl = unhex("85632d07c6e8f37f950acd320a2ecc93"
	    "40c02b9690c4dc04daef7f6afe5c", w, sizeof(w));
	ads[0] = ad1;
	ck_assert_uint_eq(ossl_siv(k, ads, adl, 1, p, pl, out), wl);
	ck_assert_mem_eq(out, w, wl);

	unhex(RFC5297_KEY_A2, k, sizeof(k));
	adl[0] = unhex(RFC5297_AD1_A2, ad1, sizeof(ad1));
	adl[1] = unhex("102030405060708090a0", ad2, sizeof(ad2));
	adl[2] = unhex(RFC5297_NONCE_A2, n, sizeof(n));
	pl = unhex(RFC5297_PT_A2, p, sizeof(p));
	wl = unhex("7bdb6e3b432667eb06f4d14bff2fbd0f"
	    "cb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829"
	    "ea64ad544a272e9c485b62a3fd5c0d", w, sizeof(w));
	ads[0] = ad1;
	ads[1] = ad2;
	ads[2] = n;
	ck_assert_uint_eq(ossl_siv(k, ads, adl, 3, p, pl, out), wl);
	ck_assert_mem_eq(out, w, wl);
}
END_TEST

/* Nettle (one AD, then the nonce) agrees with OpenSSL given the same
 * two AD strings, for every plaintext length OpenSSL takes. */
START_TEST(siv_nettle_matches_openssl)
{
	uint8_t k[32], ad[40], n[16], p[120], a[140], b[140];
	const uint8_t *ads[2] = { ad, n };
	size_t adl[2] = { sizeof(ad), sizeof(n) };
	struct nts_siv *s;

	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)(i * 7 + 1);
	memset(ad, 0xa5, sizeof(ad));
	memset(n, 0x3c, sizeof(n));
	for (size_t i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)i;
	ck_assert_ptr_nonnull(s = nts_siv_new(k));
	for (size_t pl = 1; pl <= sizeof(p); pl++) {
		ck_assert_uint_eq(nts_siv_seal(s, n, sizeof(n), ad, sizeof(ad),
		    p, pl, a), pl + 16);
		ossl_siv(k, ads, adl, 2, p, pl, b);
		ck_assert_mem_eq(a, b, pl + 16);
	}
	nts_siv_free(s);
}
END_TEST
#endif

START_TEST(siv_empty_plaintext_roundtrip)
{
	uint8_t k[32] = { 1 }, n[16] = { 2 }, ad[68] = { 3 }, tag[16], pt[1];
	struct nts_siv *s;

	ck_assert_ptr_nonnull(s = nts_siv_new(k));
	ck_assert_uint_eq(nts_siv_seal(s, n, sizeof(n), ad, sizeof(ad), NULL, 0,
	    tag), 16);
	ck_assert_int_eq(nts_siv_open(s, n, sizeof(n), ad, sizeof(ad), tag, 16,
	    pt), 0);
	ad[67] ^= 1;		/* the header and fields it authenticates */
	ck_assert_int_eq(nts_siv_open(s, n, sizeof(n), ad, sizeof(ad), tag, 16,
	    pt), -1);
	ck_assert_int_eq(nts_siv_open(s, n, sizeof(n), ad, sizeof(ad), tag, 15,
	    pt), -1);
	ck_assert_uint_eq(nts_siv_seal(s, n, 0, ad, sizeof(ad), NULL, 0, tag),
	    0);
	nts_siv_free(s);
}
END_TEST

/* ---- key files ------------------------------------------------------ */

static char dir[64];

static void
setup_dir(void)
{
	strcpy(dir, "/tmp/udpd-nts-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *
path_in(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static struct nts_keys *
open_keys(const char *path, long rotate)
{
	struct nts_keys_conf c = { path, rotate, (uid_t)-1, (gid_t)-1 };
	char err[256];
	struct nts_keys *k = nts_keys_open(&c, err, sizeof(err));

	ck_assert_msg(k != NULL, "%s", err);
	return k;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[4096];
	FILE *f = fopen(from, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	write_file(to, buf, mode);
}

static const uint8_t c2s[32] = { 0x11, 0x22 }, s2c[32] = { 0x33, [31] = 0x44 };

static size_t
make(struct nts_keys *k, uint8_t *cookie)
{
	return nts_cookie_make(k, NTS_AEAD_AES_SIV_CMAC_256, c2s, s2c, cookie,
	    NTS_COOKIE_MAX);
}

static int
opens(struct nts_keys *k, const uint8_t *cookie, size_t len)
{
	uint8_t a[32], b[32];
	uint16_t aead = 0;

	if (nts_cookie_open(k, cookie, len, &aead, a, b) == -1)
		return 0;
	ck_assert_uint_eq(aead, NTS_AEAD_AES_SIV_CMAC_256);
	ck_assert_mem_eq(a, c2s, 32);
	ck_assert_mem_eq(b, s2c, 32);
	return 1;
}

START_TEST(keys_made_if_missing)
{
	const char *p = path_in("nts.keys");
	struct nts_keys *k;
	struct stat st;
	char err[256];

	ck_assert_int_eq(nts_keys_check(p, err, sizeof(err)), 0);
	ck_assert_int_eq(access(p, F_OK), -1);	/* -t writes nothing */
	k = open_keys(p, 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(nts_keys_count(k), 1);
	ck_assert_int_le(nts_keys_age(k, time(NULL)), 1);
	ck_assert_int_eq(nts_keys_check(p, err, sizeof(err)), 0);
	ck_assert_int_eq(nts_keys_check("/nonexistent-dir/nts.keys", err,
	    sizeof(err)), -1);
	nts_keys_free(k);
}
END_TEST

/* RFC 8915 section 6: a cookie opens to the AEAD and both keys; any
 * change to it, or another key, and it does not. */
START_TEST(cookie_round_trip)
{
	struct nts_keys *k = open_keys(path_in("a.keys"), 0), *other;
	uint8_t cookie[NTS_COOKIE_MAX], again[NTS_COOKIE_MAX], a[32], b[32];
	uint16_t aead;
	size_t n;

	ck_assert_uint_eq(n = make(k, cookie), NTS_COOKIE_LEN);
	ck_assert(opens(k, cookie, n));
	/* Unlinkable: two cookies for the same keys differ. */
	ck_assert_uint_eq(make(k, again), n);
	ck_assert_mem_ne(cookie, again, n);
	for (size_t i = 0; i < n; i++) {
		cookie[i] ^= 0x01;
		ck_assert_msg(!opens(k, cookie, n), "byte %zu", i);
		cookie[i] ^= 0x01;
	}
	ck_assert(!opens(k, cookie, n - 1));
	ck_assert(!opens(k, cookie, 0));
	ck_assert_uint_eq(nts_cookie_make(k, 30, c2s, s2c, again,
	    sizeof(again)), 0);
	ck_assert_uint_eq(nts_cookie_make(k, 15, c2s, s2c, again,
	    NTS_COOKIE_LEN - 1), 0);
	other = open_keys(path_in("b.keys"), 0);
	ck_assert_int_eq(nts_cookie_open(other, cookie, n, &aead, a, b), -1);
	nts_keys_free(other);
	nts_keys_free(k);
}
END_TEST

/* Hosts that read the same file accept each other's cookies. */
START_TEST(keys_shared_by_copy)
{
	struct nts_keys *a = open_keys(path_in("a.keys"), 0), *b, *same;
	uint8_t cookie[NTS_COOKIE_MAX];
	size_t n;

	copy_file(path_in("a.keys"), path_in("copy.keys"), 0400);
	b = open_keys(path_in("copy.keys"), NTS_KEYS_ROTATE_AUTO);
	ck_assert_uint_eq(nts_keys_current_id(a), nts_keys_current_id(b));
	n = make(b, cookie);
	ck_assert(opens(a, cookie, n));
	/* The same path is one holder in the process. */
	same = open_keys(path_in("a.keys"), 0);
	ck_assert_ptr_eq(same, a);
	nts_keys_free(same);
	nts_keys_free(b);
	nts_keys_free(a);
}
END_TEST

/*
 * A rotating holder adds the next key ahead of its time (a reader of a
 * copy picks it up before it is used), keeps at most four keys, and a
 * cookie stays valid through two rotations, then no longer.  A read-only
 * copy never rotates, and follows the file when it changes.
 */
START_TEST(keys_rotate)
{
	const long day = 86400;
	time_t t = time(NULL), now;
	struct nts_keys *k = open_keys(path_in("r.keys"), day), *ro;
	uint8_t cookie[NTS_COOKIE_MAX];
	uint32_t first = nts_keys_current_id(k);
	char err[256];
	size_t n = make(k, cookie);

	ck_assert_int_eq(nts_keys_tick(k, t + 60, err, sizeof(err)), 0);
	ck_assert_uint_eq(nts_keys_count(k), 1);
	/* Due (within the hour before): published, not used yet. */
	ck_assert_int_eq(nts_keys_tick(k, t + day - 3000, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(nts_keys_count(k), 2);
	ck_assert_uint_eq(nts_keys_current_id(k), first);
	copy_file(path_in("r.keys"), path_in("ro.keys"), 0400);
	ro = open_keys(path_in("ro.keys"), NTS_KEYS_ROTATE_AUTO);
	ck_assert_uint_eq(nts_keys_count(ro), 2);
	ck_assert_uint_eq(nts_keys_current_id(ro), first);
	/* Once a minute, as the service ticks, for four days. */
	for (now = t + day - 2940; now < t + 4 * day + 3600; now += 60) {
		ck_assert_int_eq(nts_keys_tick(k, now, err, sizeof(err)), 0);
		ck_assert_uint_le(nts_keys_count(k), 4);
		ck_assert_int_le(nts_keys_age(k, now), day + 700);
		/* Made when its key came in: it opens for four days less
		 * the hour the next key is written ahead. */
		if (now < t + 4 * day - 3600 - 60)
			ck_assert_msg(opens(k, cookie, n), "at +%ld s",
			    (long)(now - t));
		if (now == t + day + 660)
			ck_assert_uint_ne(nts_keys_current_id(k), first);
	}
	ck_assert(!opens(k, cookie, n));
	/* The read-only copy never rotated, and follows the file only once
	 * the file changes. */
	ck_assert_int_eq(nts_keys_tick(ro, now, err, sizeof(err)), 0);
	ck_assert_uint_eq(nts_keys_count(ro), 2);
	ck_assert(opens(ro, cookie, n));
	copy_file(path_in("r.keys"), path_in("ro.keys"), 0400);
	ck_assert_int_eq(nts_keys_tick(ro, now, err, sizeof(err)), 0);
	ck_assert_uint_eq(nts_keys_current_id(ro), nts_keys_current_id(k));
	ck_assert(!opens(ro, cookie, n));
	nts_keys_free(ro);
	nts_keys_free(k);
}
END_TEST

#define K64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void
refused(const char *text, const char *want)
{
	const char *p = path_in("bad.keys");
	struct nts_keys_conf c = { p, 0, (uid_t)-1, (gid_t)-1 };
	char err[256];

	write_file(p, text, 0600);
	ck_assert_int_eq(nts_keys_check(p, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "%s: want %s", err, want);
	ck_assert_msg(strstr(err, "00112233") == NULL, "key in %s", err);
	ck_assert_ptr_null(nts_keys_open(&c, err, sizeof(err)));
	ck_assert_msg(strstr(err, want) != NULL, "%s: want %s", err, want);
}

START_TEST(keys_malformed)
{
	refused("", "no cookie key");
	refused("# only a comment\n", "no cookie key");
	refused("0000000a 1 " K64 "\nzz 1 " K64 "\n", "bad.keys:2: the key id");
	refused("0000000a 1\n", ":1: expected");
	refused("0000000a 1 " K64 " extra\n", ":1: expected");
	refused("0000000a x " K64 "\n", ":1: NOT_BEFORE");
	refused("0000000a -5 " K64 "\n", ":1: NOT_BEFORE");
	refused("0000000a 1 " K64 "0\n", ":1: the key must be 64");
	refused("0000000a 1 0011223344556677zz99aabbccddeeff00112233445566778899"
	    "aabbccddeeff\n", ":1: the key must be 64");
	refused("0000000a 1 " K64 "\n# c\n0000000a 2 " K64 "\n",
	    ":3: duplicate key id");
	refused("00000001 1 " K64 "\n00000002 1 " K64 "\n00000003 1 " K64 "\n"
	    "00000004 1 " K64 "\n00000005 1 " K64 "\n00000006 1 " K64 "\n"
	    "00000007 1 " K64 "\n00000008 1 " K64 "\n00000009 1 " K64 "\n",
	    ":9: more than 8 keys");
}
END_TEST

START_TEST(keys_oversized_and_odd_files)
{
	const char *p = path_in("big.keys");
	char big[5000], err[256];

	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(p, big, 0600);
	ck_assert_int_eq(nts_keys_check(p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger than"));
	ck_assert_int_eq(nts_keys_check(dir, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	{
		FILE *f = fopen(p, "w");

		ck_assert_ptr_nonnull(f);
		fwrite("0000000a 1 " K64 "\n\0x\n", 1, 79, f);
		fclose(f);
	}
	ck_assert_int_eq(nts_keys_check(p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a text file"));
	ck_assert_int_eq(nts_keys_check("/proc/self/cmdline", err, sizeof(err)),
	    -1);
	/* Accepted: comments, blank lines, tabs, CRLF, upper-case hex. */
	write_file(p, "# keys\n\n\t0000000A\t1700000000 " K64 "\r\n", 0600);
	ck_assert_int_eq(nts_keys_check(p, err, sizeof(err)), 0);
}
END_TEST

/*
 * Workers make and open cookies while the main thread rotates the keys,
 * re-reads a changed file and reopens it (a reload): every cookie opens
 * unless two days of ticks passed between its making and its opening
 * (its key is dropped some 71 hours after it was last used), and
 * ThreadSanitizer sees the locking.
 */
static atomic_int busy_stop, busy_hour;

static void *
busy_worker(void *arg)
{
	uint8_t cookie[NTS_COOKIE_MAX];
	long bad = 0;

	while (!atomic_load(&busy_stop)) {
		int made = atomic_load(&busy_hour);
		size_t n = make(arg, cookie);

		if (n != NTS_COOKIE_LEN || (!opens(arg, cookie, n) &&
		    atomic_load(&busy_hour) - made < 48))
			bad++;
	}
	return (void *)bad;
}

START_TEST(keys_rotate_beside_workers)
{
	const char *p = path_in("busy.keys");
	struct nts_keys *k = open_keys(p, 86400), *again;
	time_t t = time(NULL);
	pthread_t w[3];
	char err[256];
	void *bad;

	atomic_store(&busy_stop, 0);
	atomic_store(&busy_hour, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&w[i], NULL, busy_worker, k), 0);
	/* Four days in ticks of an hour: four rotations, keys dropped. */
	for (int h = 1; h <= 96; h++) {
		ck_assert_int_eq(nts_keys_tick(k, t + h * 3600, err,
		    sizeof(err)), 0);
		atomic_store(&busy_hour, h);
		if (h % 24 == 12) {	/* a reload re-reads the file */
			again = open_keys(p, 86400);
			ck_assert_ptr_eq(again, k);
			nts_keys_free(again);
		}
	}
	atomic_store(&busy_stop, 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(pthread_join(w[i], &bad), 0);
		ck_assert_msg(bad == NULL, "worker %d: %ld cookies did not "
		    "open", i, (long)bad);
	}
	ck_assert_uint_le(nts_keys_count(k), 4);
	nts_keys_free(k);
}
END_TEST

static Suite *
nts_cookie_suite(void)
{
	Suite *s = suite_create("nts_cookie");
	TCase *siv = tcase_create("siv"), *keys = tcase_create("keys");

	tcase_add_test(siv, siv_known_answers);
#ifdef HAVE_LIBCRYPTO
	tcase_add_test(siv, siv_rfc5297_vectors);
	tcase_add_test(siv, siv_nettle_matches_openssl);
#endif
	tcase_add_test(siv, siv_empty_plaintext_roundtrip);
	suite_add_tcase(s, siv);
	tcase_add_checked_fixture(keys, setup_dir, teardown_dir);
	tcase_add_test(keys, keys_made_if_missing);
	tcase_add_test(keys, cookie_round_trip);
	tcase_add_test(keys, keys_shared_by_copy);
	tcase_add_test(keys, keys_rotate);
	tcase_add_test(keys, keys_rotate_beside_workers);
	tcase_add_test(keys, keys_malformed);
	tcase_add_test(keys, keys_oversized_and_odd_files);
	suite_add_tcase(s, keys);
	return s;
}

int
main(void)
{
	if (!nts_siv_available()) {
		fprintf(stderr, "built without Nettle: skipped\n");
		return 77;
	}
	return unit_run(nts_cookie_suite());
}
