/*
 * module.c - the registry of modules, looked up by name.
 */
#include "config.h"

#include <string.h>

#include "module.h"

const struct udpd_module *const udpd_modules[] = {
	&module_greet,
	&module_echo,
	&module_upper,
	&module_time,
	&module_chat,
	&module_stats,
	&module_length,
	NULL
};

/* A module without options or state: non-NULL tokens, nothing to free. */
static int	no_options_token, no_state_token;

void *
module_no_options(const config_setting_t *service,
    const struct module_parse_ctx *ctx, struct conf_err *err)
{
	(void)service;
	(void)ctx;
	(void)err;
	return &no_options_token;
}

void
module_no_options_free(void *options)
{
	(void)options;
}

void *
module_no_state(const void *options, const struct module_ctx *ctx,
    void *previous, char *err, size_t errlen)
{
	(void)options;
	(void)ctx;
	(void)previous;
	(void)err;
	(void)errlen;
	return &no_state_token;
}

void
module_no_state_free(void *state)
{
	(void)state;
}

const struct udpd_module *
module_find(const char *name)
{
	for (size_t i = 0; udpd_modules[i] != NULL; i++)
		if (strcmp(udpd_modules[i]->name, name) == 0)
			return udpd_modules[i];
	return NULL;
}

void
udpd_counters_add(struct udpd_counters *to, const struct udpd_counters *c)
{
#define ADD(f) to->f += c->f;
	UDPD_COUNTERS(ADD)
#undef ADD
}
