/*
 * test_notify.c - readiness notification and socket activation, with or
 * without libsystemd: a 108-byte abstract NOTIFY_SOCKET name is reached,
 * a vsock: address is said to be unusable (the hand-written path) rather
 * than ignored, and LISTEN_* are cleared even when LISTEN_PID is another
 * process's (a child must not take them for its own).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "unit.h"

START_TEST(test_abstract_108)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char name[sizeof(sun.sun_path) + 1], got[256];
	struct timeval tv = { 2, 0 };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	/* "@" and 107 bytes: the whole of sun_path, no NUL. */
	memset(name, 'u', sizeof(name) - 1);
	name[0] = '@';
	snprintf(name + 1, 12, "%010d", (int)getpid());
	name[11] = 'u';
	name[sizeof(name) - 1] = '\0';
	ck_assert_uint_eq(strlen(name), sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, sizeof(sun.sun_path));
	sun.sun_path[0] = '\0';
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", name, 1);
	notify_ready("test");
	n = recv(fd, got, sizeof(got) - 1, 0);
	ck_assert_msg(n > 0, "nothing received on a 108-byte abstract name");
	got[n] = '\0';
	ck_assert_str_eq(got, "READY=1\nSTATUS=test");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}
END_TEST

START_TEST(test_listen_pid_other)
{
	int *fds = NULL;

	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "a:b", 1);
	ck_assert_uint_eq(notify_listen_fds(&fds), 0);
	ck_assert_ptr_null(fds);
	ck_assert_ptr_null(getenv("LISTEN_PID"));
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	ck_assert_ptr_null(getenv("LISTEN_FDNAMES"));
}
END_TEST

#ifndef HAVE_SYSTEMD
/* libsystemd speaks vsock; by hand udpd says it cannot. */
START_TEST(test_vsock_said)
{
	char buf[512];
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	ck_assert_ptr_nonnull(f);
	log_init(1, LOG_DAEMON);
	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	notify_ready("test");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_msg(strstr(buf, "NOTIFY_SOCKET vsock:2:1234: not supported")
	    != NULL, "got \"%s\"", buf);
}
END_TEST
#endif

int
main(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_add_test(tc, test_abstract_108);
	tcase_add_test(tc, test_listen_pid_other);
#ifndef HAVE_SYSTEMD
	tcase_add_test(tc, test_vsock_said);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
