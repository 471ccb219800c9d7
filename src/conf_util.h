/*
 * conf_util.h - strict, typed look-ups in a libconfig group, with errors
 * of the form "FILE:LINE: setting: message".  Shared by the config loader
 * and the modules (which read their own options with it).
 */
#ifndef UDPD_CONF_UTIL_H
#define UDPD_CONF_UTIL_H

#include <stddef.h>
#include <libconfig.h>

struct conf_err {
	char	msg[512];
};

/* Formats "FILE:LINE: <path of s>: <fmt...>" into err; returns -1. */
int	conf_error(struct conf_err *err, const config_setting_t *s,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Each getter returns 0 when the setting is absent (out untouched),
 * 1 when it was read into out, -1 on a wrong type or value (err set).
 */
int	conf_get_string(const config_setting_t *group, const char *name,
	    const char **out, struct conf_err *err);
int	conf_get_bool(const config_setting_t *group, const char *name,
	    int *out, struct conf_err *err);
/* An integer within [min, max]. */
int	conf_get_int(const config_setting_t *group, const char *name,
	    long long min, long long max, long long *out,
	    struct conf_err *err);

/* "name" of a service group or "services.[i]" path, for messages. */
const char *conf_setting_label(const config_setting_t *s, char *buf,
	    size_t len);

/* Every member of group must be in list a or list b (either may be
 * NULL); else "unknown setting in <where>" at the member's line, -1. */
int	conf_check_keys(const config_setting_t *group, const char *const *a,
	    const char *const *b, const char *where, struct conf_err *err);
/* A file named by a setting: file itself when absolute (or without dir),
 * else dir/file (dir: the configuration file's directory).  Allocated;
 * NULL when out of memory. */
char	*conf_path(const char *dir, const char *file);

#endif
