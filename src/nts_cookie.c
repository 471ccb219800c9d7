/*
 * nts_cookie.c - NTS cookie keys (the nts.cookie_keys file: read, made,
 * rotated, shared by path within the process) and the cookies sealed with
 * them.  The layout and the rotation are in nts_cookie.h.
 *
 * A holder's key set is immutable: a re-read or a rotation builds a new
 * set and swaps it in under the write lock, so cookie calls from worker
 * threads only ever take the read lock.  Key bytes never reach a log
 * message, and every copy is wiped before it is freed.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nts_cookie.h"
#include "nts_siv.h"
#include "wire.h"

#define NTS_KEYS_FILE_MAX	4096	/* bytes: 8 lines of 84 and comments */
#define NTS_KEYS_KEEP_BEFORE	2	/* keys kept before the current one */
#define NTS_COOKIE_NONCE_LEN	16
#define NTS_COOKIE_PT_LEN	(4 + 2 * NTS_AEAD_KEY_LEN)

struct nts_ckey {
	uint32_t	 id;
	int64_t		 not_before;
	uint8_t		 key[NTS_SIV_KEY_LEN];
	struct nts_siv	*siv;
};

struct nts_keyset {
	size_t		 n;
	size_t		 cur;		/* index of the key cookies use */
	struct nts_ckey	 keys[NTS_KEYS_MAX];	/* by not_before */
};

struct nts_keys {
	struct nts_keys		*next;		/* in the registry */
	char			*path;
	int			 refs;		/* under reg_lock */
	long			 rotate;
	uid_t			 uid;
	gid_t			 gid;
	pthread_rwlock_t	 lock;
	struct nts_keyset	*set;		/* under lock */
	struct stat		 seen;		/* the file as last read */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nts_keys *reg_head;

/* ---- randomness ---------------------------------------------------- */

int
nts_random(void *buf, size_t len)
{
	static __thread uint8_t pool[1024];
	static __thread size_t avail;
	uint8_t *p = buf;

	if (len > 64) {
		while (len > 0) {
			ssize_t r = getrandom(p, len, 0);

			if (r < 0 && errno != EINTR)
				return -1;
			if (r > 0) {
				p += r;
				len -= (size_t)r;
			}
		}
		return 0;
	}
	if (avail < len) {
		size_t got = 0;

		while (got < sizeof(pool)) {
			ssize_t r = getrandom(pool + got, sizeof(pool) - got, 0);

			if (r < 0 && errno != EINTR)
				return -1;
			if (r > 0)
				got += (size_t)r;
		}
		avail = sizeof(pool);
	}
	avail -= len;
	memcpy(p, pool + avail, len);
	nts_wipe(pool + avail, len);
	return 0;
}

/* ---- key sets ------------------------------------------------------ */

static void
nts_set_free(struct nts_keyset *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		nts_siv_free(set->keys[i].siv);
	nts_wipe(set, sizeof(*set));
	free(set);
}

/* The newest key whose time has come, else the oldest. */
static size_t
nts_set_current(const struct nts_keyset *set, time_t now)
{
	size_t cur = 0;

	for (size_t i = 0; i < set->n; i++)
		if (set->keys[i].not_before <= (int64_t)now)
			cur = i;
	return cur;
}

static int
nts_set_expand(struct nts_keyset *set, char *err, size_t errlen)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->keys[i].siv != NULL)
			continue;
		if ((set->keys[i].siv = nts_siv_new(set->keys[i].key)) == NULL) {
			snprintf(err, errlen, "%s", nts_siv_available() ?
			    "out of memory" : "udpd was built without Nettle");
			return -1;
		}
	}
	return 0;
}

static int
nts_hex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + (size_t)j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* One "ID NOT_BEFORE KEY" line (NUL-terminated, no newline). */
static int
nts_parse_line(char *line, struct nts_ckey *k, const char **why)
{
	char *tok[4], *save = NULL, *end;
	uint8_t id[4];
	long long nb;
	int n = 0;

	for (char *t = strtok_r(line, " \t\r", &save); t != NULL;
	    t = strtok_r(NULL, " \t\r", &save))
		if (n < 4)
			tok[n++] = t;
		else
			n++;
	*why = "expected \"ID NOT_BEFORE KEY\"";
	if (n != 3)
		return -1;
	*why = "the key id must be 8 hex digits";
	if (strlen(tok[0]) != 8 || nts_hex(tok[0], 4, id) == -1)
		return -1;
	k->id = wire_get32(id);
	*why = "NOT_BEFORE must be Unix seconds";
	errno = 0;
	nb = strtoll(tok[1], &end, 10);
	if (errno != 0 || *end != '\0' || end == tok[1] || nb < 0)
		return -1;
	k->not_before = nb;
	*why = "the key must be 64 hex digits";
	if (strlen(tok[2]) != 2 * NTS_SIV_KEY_LEN ||
	    nts_hex(tok[2], NTS_SIV_KEY_LEN, k->key) == -1)
		return -1;
	return 0;
}

static int
nts_set_add(struct nts_keyset *set, const struct nts_ckey *k,
    const char **why)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->keys[i].id == k->id) {
			*why = "duplicate key id";
			return -1;
		}
	if (set->n == NTS_KEYS_MAX) {
		*why = "more than 8 keys";
		return -1;
	}
	/* Insertion by not_before, stable. */
	for (i = set->n; i > 0 && set->keys[i - 1].not_before > k->not_before;
	    i--)
		set->keys[i] = set->keys[i - 1];
	set->keys[i] = *k;
	set->n++;
	return 0;
}

/* Parses the text of a key file (text is modified, then wiped). */
static struct nts_keyset *
nts_set_parse(char *text, const char *path, char *err, size_t errlen)
{
	struct nts_keyset *set;
	struct nts_ckey k;
	char *line = text, *nl;
	const char *why;
	int lineno = 0;

	if ((set = calloc(1, sizeof(*set))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	for (; line != NULL && *line != '\0'; line = nl) {
		char *p;

		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		for (p = line; *p == ' ' || *p == '\t' || *p == '\r'; p++)
			;
		if (*p == '#' || *p == '\0')
			continue;
		memset(&k, 0, sizeof(k));
		if (nts_parse_line(p, &k, &why) == -1 ||
		    nts_set_add(set, &k, &why) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			nts_wipe(&k, sizeof(k));
			nts_set_free(set);
			return NULL;
		}
	}
	nts_wipe(&k, sizeof(k));
	if (set->n == 0) {
		snprintf(err, errlen, "%s: no cookie key in the file", path);
		nts_set_free(set);
		return NULL;
	}
	return set;
}

/* Reads and parses path; ENOENT is reported through *missing. */
static struct nts_keyset *
nts_set_read(const char *path, struct stat *st, int *missing, char *err,
    size_t errlen)
{
	char buf[NTS_KEYS_FILE_MAX + 1];
	struct nts_keyset *set = NULL;
	ssize_t n;
	size_t len = 0;
	int fd;

	*missing = 0;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		*missing = errno == ENOENT;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0 &&
	    (len += (size_t)n) < sizeof(buf))
		;
	if (n < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (len > NTS_KEYS_FILE_MAX)
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    NTS_KEYS_FILE_MAX);
	else if (memchr(buf, '\0', len) != NULL)
		snprintf(err, errlen, "%s: not a text file", path);
	else {
		buf[len] = '\0';
		set = nts_set_parse(buf, path, err, errlen);
	}
	close(fd);
	nts_wipe(buf, sizeof(buf));
	return set;
}

/* ---- writing ------------------------------------------------------- */

static int
nts_set_format(const struct nts_keyset *set, char *buf, size_t cap)
{
	size_t len;
	int n;

	n = snprintf(buf, cap, "# udpd NTS cookie keys: ID NOT_BEFORE KEY, "
	    "oldest first. Secret: keep it mode 0600 or 0640.\n");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	len = (size_t)n;
	for (size_t i = 0; i < set->n; i++) {
		const struct nts_ckey *k = &set->keys[i];

		n = snprintf(buf + len, cap - len, "%08x %lld ", (unsigned)k->id,
		    (long long)k->not_before);
		if (n < 0 || (size_t)n >= cap - len)
			return -1;
		len += (size_t)n;
		if (cap - len < 2 * NTS_SIV_KEY_LEN + 2)
			return -1;
		for (size_t j = 0; j < NTS_SIV_KEY_LEN; j++) {
			static const char hex[] = "0123456789abcdef";

			buf[len++] = hex[k->key[j] >> 4];
			buf[len++] = hex[k->key[j] & 15];
		}
		buf[len++] = '\n';
		buf[len] = '\0';
	}
	return (int)len;
}

/* Writes set to path through a new file renamed over it (mode 0600). */
static int
nts_set_write(const struct nts_keys *k, const struct nts_keyset *set,
    char *err, size_t errlen)
{
	char buf[NTS_KEYS_FILE_MAX], *tmp = NULL;
	int fd = -1, len, ok = 0;

	if ((len = nts_set_format(set, buf, sizeof(buf))) < 0 ||
	    asprintf(&tmp, "%s.XXXXXX", k->path) == -1) {
		snprintf(err, errlen, "%s: out of memory", k->path);
		tmp = NULL;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) == -1 ||
	    (k->uid != (uid_t)-1 && geteuid() == 0 &&
	    fchown(fd, k->uid, k->gid) == -1) ||
	    write(fd, buf, (size_t)len) != len || fsync(fd) == -1 ||
	    rename(tmp, k->path) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", k->path,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	ok = 1;
out:
	nts_wipe(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	free(tmp);
	return ok ? 0 : -1;
}

/* A new random key with a fresh id, valid from not_before. */
static int
nts_new_key(const struct nts_keyset *set, int64_t not_before,
    struct nts_ckey *k)
{
	int unique;

	memset(k, 0, sizeof(*k));
	k->not_before = not_before;
	do {
		if (nts_random(&k->id, sizeof(k->id)) == -1)
			return -1;
		unique = 1;
		for (size_t i = 0; i < set->n; i++)
			if (set->keys[i].id == k->id)
				unique = 0;
	} while (!unique);
	return nts_random(k->key, sizeof(k->key));
}

/* ---- holders ------------------------------------------------------- */

static void
nts_keys_swap(struct nts_keys *k, struct nts_keyset *set, time_t now)
{
	struct nts_keyset *old;

	set->cur = nts_set_current(set, now);
	pthread_rwlock_wrlock(&k->lock);
	old = k->set;
	k->set = set;
	pthread_rwlock_unlock(&k->lock);
	nts_set_free(old);
}

/* Reads the file (making it when missing) into k. */
static int
nts_keys_load(struct nts_keys *k, int may_create, char *err, size_t errlen)
{
	struct nts_keyset *set;
	struct nts_ckey nk;
	struct stat st;
	int missing;

	set = nts_set_read(k->path, &st, &missing, err, errlen);
	if (set == NULL && missing && may_create) {
		if ((set = calloc(1, sizeof(*set))) == NULL ||
		    nts_new_key(set, (int64_t)time(NULL), &nk) == -1 ||
		    nts_set_add(set, &nk, &(const char *){NULL}) == -1 ||
		    nts_set_write(k, set, err, errlen) == -1 ||
		    stat(k->path, &st) == -1) {
			nts_wipe(&nk, sizeof(nk));
			nts_set_free(set);
			return -1;
		}
		nts_wipe(&nk, sizeof(nk));
	}
	if (set == NULL || nts_set_expand(set, err, errlen) == -1) {
		nts_set_free(set);
		return -1;
	}
	k->seen = st;
	nts_keys_swap(k, set, time(NULL));
	return 0;
}

int
nts_keys_check(const char *path, char *err, size_t errlen)
{
	struct nts_keyset *set;
	struct stat st;
	int missing;
	char *dir, *slash;

	if ((set = nts_set_read(path, &st, &missing, err, errlen)) != NULL) {
		nts_set_free(set);
		return 0;
	}
	if (!missing)
		return -1;
	/* Missing: made at start, so its directory must be there. */
	if ((dir = strdup(path)) == NULL)
		return -1;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: missing, and its directory %s "
		    "does not exist", path, dir);
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

static struct nts_keys *
nts_keys_new(const struct nts_keys_conf *c)
{
	struct nts_keys *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->path = strdup(c->path)) == NULL ||
	    pthread_rwlock_init(&k->lock, NULL) != 0) {
		free(k->path);
		free(k);
		return NULL;
	}
	k->refs = 1;
	return k;
}

struct nts_keys *
nts_keys_open(const struct nts_keys_conf *c, char *err, size_t errlen)
{
	struct nts_keys *k;
	int fresh = 0;

	pthread_mutex_lock(&reg_lock);
	for (k = reg_head; k != NULL; k = k->next)
		if (strcmp(k->path, c->path) == 0)
			break;
	if (k == NULL) {
		if ((k = nts_keys_new(c)) == NULL) {
			pthread_mutex_unlock(&reg_lock);
			snprintf(err, errlen, "%s: out of memory", c->path);
			return NULL;
		}
		fresh = 1;
	}
	k->rotate = c->rotate;
	k->uid = c->uid;
	k->gid = c->gid;
	if (nts_keys_load(k, 1, err, errlen) == -1) {
		if (fresh) {
			pthread_rwlock_destroy(&k->lock);
			free(k->path);
			free(k);
		}
		pthread_mutex_unlock(&reg_lock);
		return NULL;
	}
	if (fresh) {
		k->next = reg_head;
		reg_head = k;
	} else
		k->refs++;
	pthread_mutex_unlock(&reg_lock);
	return k;
}

struct nts_keys *
nts_keys_ref(struct nts_keys *k)
{
	if (k != NULL) {
		pthread_mutex_lock(&reg_lock);
		k->refs++;
		pthread_mutex_unlock(&reg_lock);
	}
	return k;
}

void
nts_keys_free(struct nts_keys *k)
{
	struct nts_keys **pp;

	if (k == NULL)
		return;
	pthread_mutex_lock(&reg_lock);
	if (--k->refs > 0) {
		pthread_mutex_unlock(&reg_lock);
		return;
	}
	for (pp = &reg_head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	nts_set_free(k->set);
	pthread_rwlock_destroy(&k->lock);
	free(k->path);
	free(k);
}

/* ---- rotation ------------------------------------------------------ */

/* Whether this holder adds keys, and every how many seconds. */
static long
nts_keys_period(const struct nts_keys *k)
{
	struct stat st;

	if (k->rotate != NTS_KEYS_ROTATE_AUTO)
		return k->rotate;
	/* Auto: a file installed read-only is a copy that another host
	 * rotates; one udpd may write (as it makes them) is its own. */
	if (stat(k->path, &st) == -1 || (st.st_mode & S_IWUSR) == 0 ||
	    access(k->path, W_OK) == -1)
		return 0;
	return NTS_KEYS_ROTATE_DEFAULT;
}

/* A copy of the current set with the next key added and the keys more
 * than NTS_KEYS_KEEP_BEFORE before the current one dropped. */
static struct nts_keyset *
nts_set_rotated(const struct nts_keyset *old, long period, time_t now)
{
	struct nts_keyset *set;
	const struct nts_ckey *newest = &old->keys[old->n - 1];
	int64_t lead = period / 4 < 3600 ? period / 4 : 3600, nb;
	struct nts_ckey nk;
	size_t cur, drop = 0;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	cur = nts_set_current(old, now);
	if (cur > NTS_KEYS_KEEP_BEFORE)
		drop = cur - NTS_KEYS_KEEP_BEFORE;
	for (size_t i = drop; i < old->n && set->n < NTS_KEYS_MAX - 1; i++) {
		set->keys[set->n] = old->keys[i];
		set->keys[set->n++].siv = NULL;
	}
	nb = newest->not_before + period;
	if (nb < (int64_t)now + lead)
		nb = (int64_t)now + lead;
	if (nts_new_key(set, nb, &nk) == -1 ||
	    nts_set_add(set, &nk, &(const char *){NULL}) == -1) {
		nts_wipe(&nk, sizeof(nk));
		nts_set_free(set);
		return NULL;
	}
	nts_wipe(&nk, sizeof(nk));
	return set;
}

static int
nts_keys_rotate(struct nts_keys *k, long period, time_t now, char *err,
    size_t errlen)
{
	struct nts_keyset *set;
	const struct nts_ckey *newest;
	int64_t lead = period / 4 < 3600 ? period / 4 : 3600;
	struct stat st;

	pthread_rwlock_rdlock(&k->lock);
	newest = &k->set->keys[k->set->n - 1];
	if ((int64_t)now < newest->not_before + period - lead) {
		pthread_rwlock_unlock(&k->lock);
		return 0;
	}
	set = nts_set_rotated(k->set, period, now);
	pthread_rwlock_unlock(&k->lock);
	if (set == NULL) {
		snprintf(err, errlen, "%s: cannot make a new key", k->path);
		return -1;
	}
	if (nts_set_write(k, set, err, errlen) == -1 ||
	    nts_set_expand(set, err, errlen) == -1) {
		nts_set_free(set);
		return -1;
	}
	if (stat(k->path, &st) == 0)
		k->seen = st;
	nts_keys_swap(k, set, now);
	return 0;
}

static int
nts_keys_changed(const struct nts_keys *k, const struct stat *st)
{
	return st->st_ino != k->seen.st_ino || st->st_dev != k->seen.st_dev ||
	    st->st_size != k->seen.st_size ||
	    st->st_mtim.tv_sec != k->seen.st_mtim.tv_sec ||
	    st->st_mtim.tv_nsec != k->seen.st_mtim.tv_nsec;
}

int
nts_keys_tick(struct nts_keys *k, time_t now, char *err, size_t errlen)
{
	struct stat st;
	long period;
	size_t cur;
	int r = 0;

	/* One tick at a time per process: the registry lock. */
	pthread_mutex_lock(&reg_lock);
	if (stat(k->path, &st) == -1) {
		snprintf(err, errlen, "%s: %s (the keys read before stay in "
		    "use)", k->path, strerror(errno));
		r = -1;
	} else if (nts_keys_changed(k, &st))
		r = nts_keys_load(k, 0, err, errlen);
	if (r == 0 && (period = nts_keys_period(k)) > 0)
		r = nts_keys_rotate(k, period, now, err, errlen);
	pthread_rwlock_wrlock(&k->lock);
	cur = nts_set_current(k->set, now);
	k->set->cur = cur;
	pthread_rwlock_unlock(&k->lock);
	pthread_mutex_unlock(&reg_lock);
	return r;
}

long
nts_keys_age(struct nts_keys *k, time_t now)
{
	int64_t nb;

	pthread_rwlock_rdlock(&k->lock);
	nb = k->set->keys[k->set->cur].not_before;
	pthread_rwlock_unlock(&k->lock);
	return nb <= 0 ? -1 : (long)((int64_t)now - nb);
}

size_t
nts_keys_count(struct nts_keys *k)
{
	size_t n;

	pthread_rwlock_rdlock(&k->lock);
	n = k->set->n;
	pthread_rwlock_unlock(&k->lock);
	return n;
}

uint32_t
nts_keys_current_id(struct nts_keys *k)
{
	uint32_t id;

	pthread_rwlock_rdlock(&k->lock);
	id = k->set->keys[k->set->cur].id;
	pthread_rwlock_unlock(&k->lock);
	return id;
}

/* ---- cookies ------------------------------------------------------- */

size_t
nts_cookie_make(struct nts_keys *k, uint16_t aead, const uint8_t *c2s,
    const uint8_t *s2c, uint8_t *out, size_t outlen)
{
	uint8_t pt[NTS_COOKIE_PT_LEN];
	const struct nts_ckey *key;
	size_t n;

	if (outlen < NTS_COOKIE_LEN || aead != NTS_AEAD_AES_SIV_CMAC_256 ||
	    nts_random(out + 4, NTS_COOKIE_NONCE_LEN) == -1)
		return 0;
	pt[0] = (uint8_t)(aead >> 8);
	pt[1] = (uint8_t)aead;
	pt[2] = pt[3] = 0;
	memcpy(pt + 4, c2s, NTS_AEAD_KEY_LEN);
	memcpy(pt + 4 + NTS_AEAD_KEY_LEN, s2c, NTS_AEAD_KEY_LEN);
	pthread_rwlock_rdlock(&k->lock);
	key = &k->set->keys[k->set->cur];
	wire_put32(out, key->id);
	n = nts_siv_seal(key->siv, out + 4, NTS_COOKIE_NONCE_LEN, out, 4,
	    pt, sizeof(pt), out + 4 + NTS_COOKIE_NONCE_LEN);
	pthread_rwlock_unlock(&k->lock);
	nts_wipe(pt, sizeof(pt));
	return n == 0 ? 0 : NTS_COOKIE_LEN;
}

int
nts_cookie_open(struct nts_keys *k, const uint8_t *cookie, size_t len,
    uint16_t *aead, uint8_t *c2s, uint8_t *s2c)
{
	uint8_t pt[NTS_COOKIE_PT_LEN];
	uint32_t id;
	int r = -1;

	if (len != NTS_COOKIE_LEN)
		return -1;
	id = wire_get32(cookie);
	pthread_rwlock_rdlock(&k->lock);
	for (size_t i = 0; i < k->set->n; i++) {
		if (k->set->keys[i].id != id)
			continue;
		r = nts_siv_open(k->set->keys[i].siv, cookie + 4,
		    NTS_COOKIE_NONCE_LEN, cookie, 4,
		    cookie + 4 + NTS_COOKIE_NONCE_LEN,
		    len - 4 - NTS_COOKIE_NONCE_LEN, pt);
		break;
	}
	pthread_rwlock_unlock(&k->lock);
	if (r == 0 && (wire_get16(pt) != NTS_AEAD_AES_SIV_CMAC_256 ||
	    pt[2] != 0 || pt[3] != 0))
		r = -1;
	if (r == 0) {
		*aead = wire_get16(pt);
		memcpy(c2s, pt + 4, NTS_AEAD_KEY_LEN);
		memcpy(s2c, pt + 4 + NTS_AEAD_KEY_LEN, NTS_AEAD_KEY_LEN);
	}
	nts_wipe(pt, sizeof(pt));
	return r;
}
