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
	NULL
};

const struct udpd_module *
module_find(const char *name)
{
	for (size_t i = 0; udpd_modules[i] != NULL; i++)
		if (strcmp(udpd_modules[i]->name, name) == 0)
			return udpd_modules[i];
	return NULL;
}
