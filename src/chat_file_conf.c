/*
 * chat_file_conf.c - the file store's options, pure (no file is touched:
 * `udpd -t` runs this):
 *   log_file	string, required; relative to the config file's directory
 *   fsync	bool, default false
 *   retry_window_ms  0 to 3600000, default 10000 (chat_store.h)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_file.h"
#include "chat_store.h"

const char *const chat_file_option_names[] = { "log_file", "fsync", NULL };

/*
 * log_file relative to the config file's directory, with "." components
 * and repeated slashes dropped, so that two spellings of one path compare
 * equal without asking the file system.
 */
static char *
chat_file_resolve(const char *dir, const char *file)
{
	size_t cap = (dir != NULL ? strlen(dir) : 0) + strlen(file) + 2;
	char *joined = malloc(cap), *out = malloc(cap), *p, *save = NULL;
	size_t o = 0;

	if (joined == NULL || out == NULL) {
		free(joined);
		free(out);
		return NULL;
	}
	if (file[0] == '/' || dir == NULL || dir[0] == '\0')
		snprintf(joined, cap, "%s", file);
	else
		snprintf(joined, cap, "%s/%s", dir, file);
	if (joined[0] == '/')
		out[o++] = '/';
	for (p = strtok_r(joined, "/", &save); p != NULL;
	    p = strtok_r(NULL, "/", &save)) {
		if (strcmp(p, ".") == 0)
			continue;
		if (o > 0 && out[o - 1] != '/')
			out[o++] = '/';
		memcpy(out + o, p, strlen(p));
		o += strlen(p);
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	free(joined);
	return out;
}

void
chat_file_free_options(void *options)
{
	struct chat_file_options *o = options;

	if (o == NULL)
		return;
	free(o->path);
	free(o);
}

void *
chat_file_parse(const config_setting_t *service,
    const struct module_parse_ctx *ctx, struct conf_err *err)
{
	struct chat_file_options *o = calloc(1, sizeof(*o));
	const char *log_file = NULL;
	long long retry_ms = CHAT_RETRY_WINDOW_MS;

	if (o == NULL) {
		conf_error(err, service, "out of memory");
		return NULL;
	}
	if (conf_get_string(service, "log_file", &log_file, err) < 0 ||
	    conf_get_bool(service, "fsync", &o->fsync, err) < 0 ||
	    conf_get_int(service, "retry_window_ms", 0,
	    CHAT_RETRY_WINDOW_MAX_MS, &retry_ms, err) < 0)
		goto fail;
	o->retry_ms = (unsigned)retry_ms;
	if (log_file == NULL) {
		conf_error(err, service, "log_file is required");
		goto fail;
	}
	if (log_file[0] == '\0') {
		conf_error(err, config_setting_get_member(service, "log_file"),
		    "must not be empty");
		goto fail;
	}
	if ((o->path = chat_file_resolve(ctx != NULL ? ctx->config_dir : NULL,
	    log_file)) == NULL) {
		conf_error(err, service, "out of memory");
		goto fail;
	}
	return o;
fail:
	chat_file_free_options(o);
	return NULL;
}

/* Two services appending to one file would each count their own seq. */
const char *
chat_file_claim(const void *options)
{
	return ((const struct chat_file_options *)options)->path;
}
