/*
 * test_log.c - log_repeated(): a message that comes again and again (a
 * library's warning in a loop) is written once, then counted, and the
 * count is written when another message comes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

/* Runs fn with stderr into a file; returns what was written. */
static const char *
captured(void (*fn)(void))
{
	static char text[4096];
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void
flood(void)
{
	for (int i = 0; i < 1000; i++)
		log_repeated(LOG_ERR, "libevent", "Error from accept() call: "
		    "Too many open files");
	log_repeated(LOG_ERR, "libevent", "something else");
}

START_TEST(test_repeated_once)
{
	log_init(1, LOG_DAEMON);
	ck_assert_str_eq(captured(flood),
	    "udpd: libevent: Error from accept() call: Too many open files\n"
	    "udpd: libevent: the last message was repeated 999 times\n"
	    "udpd: libevent: something else\n");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("repeated");

	tcase_add_test(tc, test_repeated_once);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
