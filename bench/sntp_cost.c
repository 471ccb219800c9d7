/*
 * sntp_cost - what one SNTP reply costs the time module, paired in one
 * process: plain SNTP, AES-128-CMAC symmetric keys and NTS (RFC 8915),
 * each request answered through module_time.handle() as a worker does,
 * with no socket (the kernel's share is the same for all three and is
 * measured by bench/run's udpd-sntp* rows).
 *
 *   sntp_cost [-r REPS] [-n N]      interleaved timing: medians of REPS
 *                                   batches of N replies, ns per reply,
 *                                   ratios to plain, bytes on the wire
 *   sntp_cost -k plain|aes|nts -n N  only N replies of one kind (for
 *                                   valgrind --tool=callgrind)
 *   sntp_cost -q KEYFILE            prints, in hex, an NTS request with a
 *                                   cookie sealed by the cookie keys of
 *                                   KEYFILE (made if missing), for
 *                                   bench/run's udpd-sntp-nts row
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "module.h"
#include "ntp.h"
#include "ntp_auth.h"
#include "nts.h"
#include "nts_client.h"

enum { K_PLAIN, K_AES, K_NTS, K_N };
static const char *const names[K_N] = { "plain", "aes", "nts" };
static void *inst[K_N];
static uint8_t reqs[K_N][1024];
static size_t reqlen[K_N];
static uint8_t out[4096];
static char dir[64];

static void
fake_clock(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static size_t
answer(int k)
{
	struct udpd_request req = { .data = reqs[k], .len = reqlen[k],
	    .now = fake_clock };
	struct udpd_reply rep = { .buf = out, .cap = sizeof(out) };

	clock_gettime(CLOCK_REALTIME, &req.rx_time);
	if (module_time.handle(inst[k], &req, &rep) != UDPD_REPLY) {
		fprintf(stderr, "sntp_cost: %s: no reply\n", names[k]);
		exit(1);
	}
	return rep.len;
}

/* An SNTP instance of the time module with these settings. */
static void *
bench_instance(const char *settings, const char *confdir)
{
	struct module_parse_ctx pctx = { "ntp", confdir };
	struct module_ctx ctx = { .service = "ntp" };
	struct conf_err err = { { 0 } };
	char text[512], why[512];
	void *options, *st;
	config_t cfg;

	snprintf(text, sizeof(text), "svc = { protocol = \"sntp\"; %s };",
	    settings);
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE ||
	    (options = module_time.parse(config_lookup(&cfg, "svc"), &pctx,
	    &err)) == NULL) {
		fprintf(stderr, "sntp_cost: %s\n", err.msg);
		exit(1);
	}
	config_destroy(&cfg);
	if ((st = module_time.start(options, &ctx, NULL, why,
	    sizeof(why))) == NULL) {
		fprintf(stderr, "sntp_cost: %s\n", why);
		exit(1);
	}
	module_time.free_options(options);
	return st;
}

/* The cookie keys the NTS instance uses (the same file, one holder). */
static struct nts_keys *
bench_nts_keys(const char *confdir)
{
	struct nts_keys_conf c = { NULL, 0, (uid_t)-1, (gid_t)-1 };
	struct nts_keys *k;
	char path[128], err[256];

	snprintf(path, sizeof(path), "%s/nts.keys", confdir);
	c.path = path;
	if ((k = nts_keys_open(&c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sntp_cost: %s\n", err);
		exit(1);
	}
	return k;
}

static void
bench_cleanup(const char *d)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/ntp.keys", d);
	unlink(path);
	snprintf(path, sizeof(path), "%s/nts.keys", d);
	unlink(path);
	rmdir(d);
}

static void
setup(void)
{
	static const uint8_t aes[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	    11, 12, 13, 14, 15 };
	struct nts_keys *keys;
	struct ntsc cl;
	char path[128];
	FILE *f;

	strcpy(dir, "/tmp/udpd-sntp-cost-XXXXXX");
	if (mkdtemp(dir) == NULL)
		exit(1);
	snprintf(path, sizeof(path), "%s/ntp.keys", dir);
	if ((f = fopen(path, "w")) == NULL)
		exit(1);
	fprintf(f, "3 aes-128 000102030405060708090a0b0c0d0e0f\n");
	fclose(f);
	inst[K_PLAIN] = bench_instance("stratum = 10;", dir);
	inst[K_AES] = bench_instance("stratum = 10; keys = \"ntp.keys\";",
	    dir);
	inst[K_NTS] = bench_instance("stratum = 10; nts = { cookie_keys = "
	    "\"nts.keys\"; };", dir);
	reqlen[K_PLAIN] = ntsc_header(reqs[K_PLAIN]);
	reqlen[K_AES] = ntsc_header(reqs[K_AES]);
	memcpy(reqs[K_AES] + 48, "\0\0\0\3", 4);
	reqlen[K_AES] = 52 + ntp_auth_mac(NTP_AUTH_AES128, aes, 16,
	    reqs[K_AES], 48, reqs[K_AES] + 52);
	/* A client holding the cookie NTS-KE gave it, asking for one. */
	keys = bench_nts_keys(dir);
	if (ntsc_init(&cl, keys, 9) == -1)
		exit(1);
	reqlen[K_NTS] = ntsc_request(&cl, 0, 0, reqs[K_NTS]);
}

static double
batch(int k, long n)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		answer(k);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}

/* An NTS request (one cookie, no placeholder) for the keys of path. */
static int
print_request(const char *path)
{
	struct nts_keys_conf c = { path, 0, (uid_t)-1, (gid_t)-1 };
	struct nts_keys *k;
	struct ntsc cl;
	uint8_t req[1024];
	char err[256];
	size_t n;

	if ((k = nts_keys_open(&c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sntp_cost: %s\n", err);
		return 1;
	}
	if (ntsc_init(&cl, k, 9) == -1 ||
	    (n = ntsc_request(&cl, 0, 0, req)) == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		printf("%02x", req[i]);
	printf("\n");
	nts_keys_free(k);
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	long n = 20000, reps = 9;
	int only = -1, c;
	double t[K_N][64], ratio[K_N][64];

	while ((c = getopt(argc, argv, "k:n:q:r:")) != -1) {
		switch (c) {
		case 'q':
			return print_request(optarg);
		case 'k':
			for (int k = 0; k < K_N; k++)
				if (strcmp(optarg, names[k]) == 0)
					only = k;
			break;
		case 'n': n = atol(optarg); break;
		case 'r': reps = atol(optarg); break;
		default:
			fprintf(stderr, "usage: sntp_cost [-k plain|aes|nts] "
			    "[-n N] [-r REPS] | -q KEYFILE\n");
			return 2;
		}
	}
	if (n < 1 || reps < 1 || reps > 64)
		return 2;
	setup();
	if (only >= 0) {
		for (long i = 0; i < n; i++)
			answer(only);
		bench_cleanup(dir);
		return 0;
	}
	for (int k = 0; k < K_N; k++)
		batch(k, n / 10 + 1);		/* warm up */
	for (long r = 0; r < reps; r++) {
		for (int k = 0; k < K_N; k++)
			t[k][r] = batch(k, n);
		for (int k = 0; k < K_N; k++)
			ratio[k][r] = t[k][r] / t[K_PLAIN][r];
	}
	printf("| kind | ns/reply (median of %ld x %ld) | x plain (paired) | "
	    "request bytes | reply bytes |\n|---|---|---|---|---|\n", reps, n);
	for (int k = 0; k < K_N; k++) {
		qsort(t[k], (size_t)reps, sizeof(double), cmp);
		qsort(ratio[k], (size_t)reps, sizeof(double), cmp);
		printf("| %s | %.0f | %.2f | %zu | %zu |\n", names[k],
		    t[k][reps / 2], ratio[k][reps / 2], reqlen[k], answer(k));
	}
	bench_cleanup(dir);
	return 0;
}
