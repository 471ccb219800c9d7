/* unit.h - small helpers shared by the check unit tests. */
#ifndef UDPD_TESTS_UNIT_H
#define UDPD_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>

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

#endif
