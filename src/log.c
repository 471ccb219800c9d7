/*
 * log.c - logging to syslog (ident "udpd", LOG_PID) and, in the
 * foreground, to stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <time.h>

#include "log.h"

/* Set by the main thread (start, SIGHUP), read by every worker per
 * packet: relaxed atomics, as no other memory hangs on them. */
static atomic_int log_to_stderr;
static atomic_int log_level = LOG_INFO;

#define LOAD(v)		atomic_load_explicit(&(v), memory_order_relaxed)
#define STORE(v, x)	atomic_store_explicit(&(v), (x), memory_order_relaxed)

static const struct {
	const char	*name;
	int		 value;
} log_levels[] = {
	{ "err", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
}, log_facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

void
log_init(int to_stderr, int facility)
{
	STORE(log_to_stderr, to_stderr);
	closelog();
	openlog("udpd", LOG_PID | LOG_NDELAY, facility);
}

void
log_set_level(int level)
{
	STORE(log_level, level);
}

int
log_get_level(void)
{
	return LOAD(log_level);
}

int
log_level_from_name(const char *name)
{
	for (size_t i = 0; i < NITEMS(log_levels); i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return log_levels[i].value;
	return -1;
}

int
log_facility_from_name(const char *name)
{
	for (size_t i = 0; i < NITEMS(log_facilities); i++)
		if (strcasecmp(name, log_facilities[i].name) == 0)
			return log_facilities[i].value;
	return -1;
}

static void log_vwrite(int, const char *, va_list) LOG_FMT(2, 0);
static void log_vwrite_errno(int, const char *, va_list) LOG_FMT(2, 0);

static void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	char line[1024];
	int saved_errno = errno;

	if (pri > LOAD(log_level))
		goto out;
	vsnprintf(line, sizeof(line), fmt, ap);
	syslog(pri, "%s", line);
	if (LOAD(log_to_stderr))
		fprintf(stderr, "udpd: %s\n", line);
out:
	errno = saved_errno;
}

/* Appends ": strerror(errno)" the way warn(3) does. */
static void
log_vwrite_errno(int pri, const char *fmt, va_list ap)
{
	char line[900];
	int saved_errno = errno;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (pri <= LOAD(log_level)) {
		syslog(pri, "%s: %s", line, strerror(saved_errno));
		if (LOAD(log_to_stderr))
			fprintf(stderr, "udpd: %s: %s\n", line,
			    strerror(saved_errno));
	}
	errno = saved_errno;
}

#define LOG_BODY(pri, writer) do {	\
	va_list ap;			\
	va_start(ap, fmt);		\
	writer(pri, fmt, ap);		\
	va_end(ap);			\
} while (0)

void log_warn(const char *fmt, ...) { LOG_BODY(LOG_ERR, log_vwrite_errno); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_ERR, log_vwrite); }
void log_warning(const char *fmt, ...) { LOG_BODY(LOG_WARNING, log_vwrite); }
void log_notice(const char *fmt, ...) { LOG_BODY(LOG_NOTICE, log_vwrite); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_INFO, log_vwrite); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_DEBUG, log_vwrite); }

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, log_vwrite_errno);
	exit(EXIT_RUNTIME);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, log_vwrite);
	exit(EXIT_RUNTIME);
}

const char *
log_escape(const void *data, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t o = 0;

	if (cap == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		if (o + 4 + 4 > cap) {		/* room for \xhh and "..." */
			if (cap >= 4) {
				o = o + 3 < cap ? o : cap - 4;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (p[i] == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			out[o++] = (char)p[i];
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

#define LOG_REPEAT_SECONDS	60

/* The last message log_repeated() wrote; workers may call it too. */
static struct {
	pthread_mutex_t	 lock;
	char		 msg[256];
	time_t		 at;		/* monotonic seconds */
	unsigned long long repeats;
} log_last = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void log_at(int priority, const char *fmt, ...) LOG_FMT(2, 3);

static void
log_at(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(priority, fmt, ap);
	va_end(ap);
}

void
log_repeated(int priority, const char *source, const char *msg)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&log_last.lock);
	if (strncmp(msg, log_last.msg, sizeof(log_last.msg) - 1) == 0 &&
	    now.tv_sec - log_last.at < LOG_REPEAT_SECONDS) {
		log_last.repeats++;
		pthread_mutex_unlock(&log_last.lock);
		return;
	}
	if (log_last.repeats > 0)
		log_at(priority, "%s: the last message was repeated %llu times",
		    source, log_last.repeats);
	snprintf(log_last.msg, sizeof(log_last.msg), "%s", msg);
	log_last.at = now.tv_sec;
	log_last.repeats = 0;
	pthread_mutex_unlock(&log_last.lock);
	log_at(priority, "%s: %s", source, msg);
}
