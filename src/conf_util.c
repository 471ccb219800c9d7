/*
 * conf_util.c - strict, typed look-ups in libconfig groups with errors that
 * name the file, the line and the setting.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_util.h"

/* The setting's name, or "parent[i]" for an element of a list or array. */
const char *
conf_setting_label(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent;
	const char *name = config_setting_name(s);

	if (name != NULL) {
		snprintf(buf, len, "%s", name);
		return buf;
	}
	parent = config_setting_parent(s);
	if (parent != NULL && config_setting_name(parent) != NULL)
		snprintf(buf, len, "%s[%d]", config_setting_name(parent),
		    config_setting_index(s));
	else if (parent != NULL)
		snprintf(buf, len, "[%d]", config_setting_index(s));
	else
		snprintf(buf, len, "(top level)");
	return buf;
}

int
conf_error(struct conf_err *err, const config_setting_t *s,
    const char *fmt, ...)
{
	char label[128], text[384];
	const char *file = NULL;
	int line = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (err == NULL)
		return -1;
	if (s != NULL) {
		file = config_setting_source_file(s);
		line = config_setting_source_line(s);
	}
	snprintf(err->msg, sizeof(err->msg), "%s:%d: %s: %s",
	    file != NULL ? file : "(config)", line,
	    s != NULL ? conf_setting_label(s, label, sizeof(label)) : "config",
	    text);
	return -1;
}

int
conf_get_string(const config_setting_t *group, const char *name,
    const char **out, struct conf_err *err)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return conf_error(err, s, "must be a string");
	*out = config_setting_get_string(s);
	return 1;
}

int
conf_get_bool(const config_setting_t *group, const char *name, int *out,
    struct conf_err *err)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return conf_error(err, s, "must be true or false");
	*out = config_setting_get_bool(s);
	return 1;
}

int
conf_get_int(const config_setting_t *group, const char *name, long long min,
    long long max, long long *out, struct conf_err *err)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else
		return conf_error(err, s, "must be an integer");
	if (v < min || v > max)
		return conf_error(err, s, "must be between %lld and %lld",
		    min, max);
	*out = v;
	return 1;
}

char *
conf_path(const char *dir, const char *file)
{
	char *path;

	if (file[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(file);
	if (asprintf(&path, "%s/%s", dir, file) == -1)
		return NULL;
	return path;
}

static int
conf_key_in(const char *key, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(key, *list) == 0)
			return 1;
	return 0;
}

int
conf_check_keys(const config_setting_t *group, const char *const *a,
    const char *const *b, const char *where, struct conf_err *err)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group,
		    (unsigned)i);
		const char *key = config_setting_name(s);

		if (!conf_key_in(key, a) && !conf_key_in(key, b))
			return conf_error(err, s, "unknown setting in %s",
			    where);
	}
	return 0;
}
