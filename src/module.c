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

/* A stateless module's instance: a non-NULL token, nothing to free. */
void *
module_no_state(const config_setting_t *service, const struct module_ctx *ctx,
    struct conf_err *err)
{
	static int token;

	(void)service;
	(void)ctx;
	(void)err;
	return &token;
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
