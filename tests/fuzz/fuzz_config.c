/*
 * fuzz_config.c - whole configuration files through the strict loader,
 * as `udpd -t` reads them (modules only parse: nothing is opened).  The input
 * is written to udpd.conf in a temporary directory made once.  Whatever
 * the file, conf_load() either returns a config that conf_free() releases
 * (LeakSanitizer checks every byte) or fails with one message of the form
 * "FILE:LINE: ..." (or "FILE: cannot read: ...").
 *
 * Leaks are checked here rather than by libFuzzer (fuzz_config.options
 * turns its check off): libconfig 1.5 itself leaks a string after some
 * syntax errors (see lsan.supp), and LeakSanitizer's full heap scan and
 * symbolisation for each such input slowed this target to ~200 runs/s.
 * Instead the heap in use is compared around conf_load() + conf_free():
 * any growth, outside libconfig's syntax errors, is run once more (to
 * let libc caches such as NSS settle) and then reported.  LeakSanitizer
 * still checks the whole run at exit.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#ifdef FUZZ_ASAN
/* From <sanitizer/allocator_interface.h>, which gcc does not ship. */
size_t	__sanitizer_get_current_allocated_bytes(void);
#define allocated_bytes()	__sanitizer_get_current_allocated_bytes()
#else
/* A plain build (make check's replay): no allocator to ask. */
#define allocated_bytes()	((size_t)0)
#endif

#include "conf.h"
#include "fuzz.h"

static char dir[256], path[300];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/udpd-fuzz-config.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/udpd.conf", dir);
	atexit(cleanup);
	return 0;
}

/* "<file>:<line>: " somewhere at the start, or "<file>: cannot read". */
static int
well_formed(const char *msg)
{
	const char *p = msg;

	if (*p == '\0')
		return 0;
	while ((p = strchr(p, ':')) != NULL) {
		const char *q = p + 1;

		if (p > msg && isdigit((unsigned char)*q)) {
			while (isdigit((unsigned char)*q))
				q++;
			if (q[0] == ':' && q[1] == ' ')
				return 1;
		}
		p++;
	}
	return strstr(msg, ": cannot read: ") != NULL;
}

/* Loads the file; 1 if it failed with a libconfig syntax error. */
static int
load(void)
{
	struct udpd_conf *conf;
	struct conf_err err;

	memset(&err, 0, sizeof(err));
	conf = conf_load(path, &err);
	if (conf == NULL) {
		FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		if (!well_formed(err.msg)) {
			fprintf(stderr, "malformed error: %s\n", err.msg);
			abort();
		}
		return strstr(err.msg, ": syntax: ") != NULL;
	}
	FUZZ_CHECK(conf->workers >= 1);
	for (size_t i = 0; i < conf->nservices; i++) {
		const struct service_conf *sc = &conf->services[i];

		FUZZ_CHECK(sc->name != NULL && sc->module != NULL);
		/* Loading parses; nothing is started before the bind. */
		FUZZ_CHECK(sc->options != NULL && sc->instance == NULL);
		FUZZ_CHECK(sc->nlisten >= 1);
		FUZZ_CHECK(sc->max_request >= 1 &&
		    sc->max_request <= UDPD_MAX_DATAGRAM);
		if (sc->rate_limit.enabled)
			FUZZ_CHECK(sc->rate_limit.rate >= 1 &&
			    sc->rate_limit.burst >= 1);
	}
	conf_free(conf);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t before;
	int fd;

	/* Rewritten in place: truncating to 0 first would make ext4 flush
	 * the file on close (auto_da_alloc), a disk write per input. */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd != -1);
	FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
	FUZZ_CHECK(ftruncate(fd, (off_t)size) == 0);
	close(fd);

	before = allocated_bytes();
	if (load() || allocated_bytes() == before)
		return 0;
	before = allocated_bytes();
	load();
	if (allocated_bytes() != before) {
		fprintf(stderr, "leak: %zu bytes still allocated after "
		    "conf_load() + conf_free()\n",
		    allocated_bytes() - before);
		abort();
	}
	return 0;
}
