/* unit.h - small helpers shared by the check unit tests. */
#ifndef UDPD_TESTS_UNIT_H
#define UDPD_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>

#include "module.h"

/* Runs one suite with CK_ENV verbosity; the exit status automake expects. */
static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * Runs mod->create() on the setting at path ("" for the root group) of a
 * libconfig text.  The config is destroyed before the instance is used, so
 * an instance that kept pointers into it shows up under ASan.
 */
static inline void *
unit_create(const struct udpd_module *mod, const char *text,
    const char *path, const struct module_ctx *ctx, struct conf_err *err)
{
	const config_setting_t *s;
	config_t cfg;
	void *st;

	memset(err, 0, sizeof(*err));
	config_init(&cfg);
	ck_assert_msg(config_read_string(&cfg, text) == CONFIG_TRUE,
	    "bad test config: line %d: %s", config_error_line(&cfg),
	    config_error_text(&cfg));
	s = *path == '\0' ? config_root_setting(&cfg) :
	    config_lookup(&cfg, path);
	ck_assert_ptr_nonnull(s);
	st = mod->create(s, ctx, err);
	config_destroy(&cfg);
	return st;
}

#endif
