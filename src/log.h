/*
 * log.h - syslog logging in the manner of OpenBSD's log.c: a small
 * vocabulary, printf-checked, errno preserved.  With -f every line also goes
 * to stderr.
 */
#ifndef UDPD_LOG_H
#define UDPD_LOG_H

#include <stddef.h>
#include <syslog.h>

/* The exit status of a runtime failure (udpd(8)), which fatal() gives:
 * EX_UNAVAILABLE of sysexits(3), which systemd shows as "69/UNAVAILABLE". */
#define EXIT_RUNTIME	69

#define LOG_FMT(a, b)	__attribute__((format(printf, a, b)))

void	log_init(int to_stderr, int facility);
void	log_set_level(int level);	/* LOG_ERR .. LOG_DEBUG */
int	log_get_level(void);
int	log_level_from_name(const char *name);		/* -1 if unknown */
int	log_facility_from_name(const char *name);	/* -1 if unknown */

void	log_warn(const char *, ...) LOG_FMT(1, 2);	/* + strerror(errno) */
void	log_warnx(const char *, ...) LOG_FMT(1, 2);	/* LOG_ERR */
void	log_warning(const char *, ...) LOG_FMT(1, 2);	/* LOG_WARNING */
void	log_notice(const char *, ...) LOG_FMT(1, 2);
void	log_info(const char *, ...) LOG_FMT(1, 2);
void	log_debug(const char *, ...) LOG_FMT(1, 2);
void	fatal(const char *, ...) LOG_FMT(1, 2) __attribute__((noreturn));
void	fatalx(const char *, ...) LOG_FMT(1, 2) __attribute__((noreturn));

/*
 * Logs "source: msg" at priority, but a message the same as the last one
 * (within a minute) is only counted; the count is logged before the next
 * one that differs.  For a library's messages, which can come in a loop.
 */
void	log_repeated(int priority, const char *source, const char *msg);

/*
 * Copies network bytes into out as printable ASCII (\xhh for anything else,
 * \\ for a backslash), truncating with "..." to fit; always NUL-terminates.
 */
const char *log_escape(const void *data, size_t len, char *out, size_t cap);

#endif
