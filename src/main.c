/*
 * main.c - command line, start-up, detaching, signals and the event loop.
 *
 * Exit status (udpd(8)): 0 success, 1 an invalid configuration for -t and
 * a reload refused by the daemon, 2 usage error, 78 (EX_CONFIG) an invalid
 * configuration at start, 69 (EX_UNAVAILABLE) a runtime failure (a port in
 * use, a pidfile held by another instance...).  sysexits(3)'s numbers, so
 * that systemd shows "78/CONFIG" and "69/UNAVAILABLE".
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "chat_redis_conf.h"
#include "conf.h"
#include "control.h"
#include "log.h"
#include "metrics.h"
#include "nts_ke.h"
#include "nts_tls.h"
#include "notify.h"
#include "nts_siv.h"
#include "ntp_auth.h"
#include "server.h"

#define EXIT_CONFIG	1	/* -t, and a reload the daemon refused */
#define EXIT_USAGE	2
#define EXIT_CONFIG_START 78	/* EX_CONFIG: the daemon does not start */
/* -t and a start report at most this many errors. */
#define CONF_ERRORS_MAX	20

static void	notify_status_ready(void);
static char	*absolute_path(const char *path);
static void	warn_if_idle(const struct udpd_conf *conf, int to_stderr);

enum command { CMD_RUN, CMD_RELOAD, CMD_REOPEN };

struct options {
	enum command	 command;	/* --reload, --reopen: ask the daemon */
	int		 foreground;
	int		 check_only;
	int		 debug;
	const char	*config;
	const char	*pidfile;
	char		*config_path;	/* absolute copies, freed at exit */
	char		*pidfile_path;
};

static struct server server;
static struct metrics *metrics;		/* the Prometheus endpoint */
static struct nts_ke *nts_ke;		/* NTS key exchange (TLS) */
static struct options opts;
static int control_fd = -1;		/* the daemon's control channel */

static void
usage(FILE *f)
{
	fprintf(f, "usage: udpd [-fdtVh] [-c config] [-p pidfile]\n"
	    "       udpd --reload | --reopen [-p pidfile]\n"
	    "  -f, --foreground     stay in the foreground, log to stderr too\n"
	    "  -c, --config=FILE    configuration file (default %s/udpd.conf)\n"
	    "  -t, --test           check the configuration and exit\n"
	    "  -d, --debug          debug logging\n"
	    "  -p, --pidfile=FILE   write and lock a pidfile\n"
	    "  -V, --version        print the version and exit\n"
	    "  -h, --help           this help\n"
	    "  --reload             make the running udpd reload and wait for "
	    "its verdict\n"
	    "  --reopen             make the running udpd reopen its log files\n"
	    "  (--reload and --reopen find the daemon by -p pidfile or, under "
	    "systemd,\n  $MAINPID)\n", SYSCONFDIR);
}

/* Exits 2 with why (if any) and the usage text on stderr. */
static void
usage_error(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "udpd: %s\n", why);
	usage(stderr);
	exit(EXIT_USAGE);
}

static const struct option long_options[] = {
	{ "foreground",	no_argument,		NULL, 'f' },
	{ "config",	required_argument,	NULL, 'c' },
	{ "test",	no_argument,		NULL, 't' },
	{ "debug",	no_argument,		NULL, 'd' },
	{ "pidfile",	required_argument,	NULL, 'p' },
	{ "version",	no_argument,		NULL, 'V' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "reload",	no_argument,		NULL, 'R' },
	{ "reopen",	no_argument,		NULL, 'O' },
	{ NULL, 0, NULL, 0 }
};

static void
set_command(enum command c)
{
	if (opts.command != CMD_RUN && opts.command != c)
		usage_error("--reload and --reopen exclude each other");
	opts.command = c;
}

/* --reload and --reopen talk to a daemon: -f, -t and -d have no sense. */
static void
check_command(void)
{
	if (opts.command != CMD_RUN &&
	    (opts.foreground || opts.check_only || opts.debug))
		usage_error("--reload and --reopen take only -p and -c");
}

/*
 * The whole line is checked before -V or -h is acted on: a stray argument
 * or an unknown option is a usage error whatever else is there.
 */
static void
parse_options(int argc, char **argv)
{
	int ch, version = 0, help = 0;

	opts.config = SYSCONFDIR "/udpd.conf";
	while ((ch = getopt_long(argc, argv, "fc:tdp:Vh", long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'f': opts.foreground = 1; break;
		case 'c': opts.config = optarg; break;
		case 't': opts.check_only = 1; break;
		case 'd': opts.debug = 1; break;
		case 'p': opts.pidfile = optarg; break;
		case 'V': version = 1; break;
		case 'h': help = 1; break;
		case 'R': set_command(CMD_RELOAD); break;
		case 'O': set_command(CMD_REOPEN); break;
		default: usage_error(NULL);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "udpd: unexpected argument '%s'\n",
		    argv[optind]);
		usage_error(NULL);
	}
	if (*opts.config == '\0')
		usage_error("-c needs a file name");
	if (opts.pidfile != NULL && *opts.pidfile == '\0')
		usage_error("-p needs a file name");
	check_command();
	if (help) {
		usage(stdout);
		exit(0);
	}
	if (version) {
		printf("udpd %s\nNTP authentication (libcrypto): %s\n",
		    PACKAGE_VERSION, ntp_auth_library());
		printf("Chat store on Redis (libhiredis): %s\n",
		    chat_redis_library());
		printf("NTS (AES-SIV-CMAC, Nettle): %s\n", nts_siv_library());
		printf("NTS key exchange (libssl): %s\n", nts_tls_library());
		exit(0);
	}
	opts.config = opts.config_path = absolute_path(opts.config);
	if (opts.pidfile != NULL)
		opts.pidfile = opts.pidfile_path = absolute_path(opts.pidfile);
}

/*
 * Paths from the command line are made absolute: after detaching, the
 * working directory is "/", and a reload must still find the config.
 */
static char *
absolute_path(const char *path)
{
	char cwd[4096], *out;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		out = strdup(path);
	else if (asprintf(&out, "%s/%s", cwd, path) < 0)
		out = NULL;
	if (out == NULL) {
		fprintf(stderr, "udpd: out of memory\n");
		exit(EXIT_RUNTIME);
	}
	return out;
}

/*
 * Opens and locks the pidfile; a second instance is refused (exit 69).  A
 * symbolic link is not followed and anything but a regular file refused:
 * root must not be led into writing over another file.
 */
static int
pidfile_lock(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0644);
	struct stat st;

	if (fd < 0 && errno == ELOOP) {
		fprintf(stderr, "udpd: pidfile %s: is a symbolic link "
		    "(refused)\n", path);
		exit(EXIT_RUNTIME);
	}
	if (fd < 0) {
		fprintf(stderr, "udpd: pidfile %s: %s\n", path,
		    strerror(errno));
		exit(EXIT_RUNTIME);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "udpd: pidfile %s: not a regular file "
		    "(refused)\n", path);
		exit(EXIT_RUNTIME);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "udpd: pidfile %s is locked: another udpd is "
		    "running\n", path);
		exit(EXIT_RUNTIME);
	}
	return fd;
}

static void
pidfile_write(int fd)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len)
		log_warn("pidfile %s", opts.pidfile);
}

/* The classic double fork: no controlling terminal, cwd "/". */
static void
detach(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() < 0)
		fatal("setsid");
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (chdir("/") < 0)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/*
 * Under systemd, stderr is the journal, which already gets our syslog
 * lines: writing both would show every line twice.
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

static void
apply_log_settings(const struct udpd_conf *conf)
{
	log_init(opts.foreground && !stderr_is_journal(), conf->facility);
	log_set_level(opts.debug ? LOG_DEBUG : conf->log_level);
}

/* The services' ports, then the metrics', shown whole by one rename. */
static void
write_port_file(void)
{
	const char *path = getenv("UDPD_PORT_FILE");
	char all[4096];
	FILE *f;

	if (path == NULL)
		return;
	snprintf(all, sizeof(all), "%s.all", path);
	if (server_write_ports(&server, all) < 0 ||
	    (f = fopen(all, "a")) == NULL) {
		log_warn("UDPD_PORT_FILE %s", path);
		return;
	}
	metrics_write_ports(metrics, f);
	nts_ke_write_ports(nts_ke, f);
	if (fclose(f) != 0 || rename(all, path) < 0)
		log_warn("UDPD_PORT_FILE %s", path);
}

/*
 * Drops root for the configured user after binding.  Failing to drop is
 * fatal: udpd never goes on as root when told not to.
 */
static void
drop_privileges(const struct udpd_conf *conf)
{
	const struct passwd *pw;
	gid_t gid;

	if (conf->user == NULL) {
		if (geteuid() == 0)
			log_warning("running as root: set daemon.user in %s",
			    opts.config);
		return;
	}
	/* The loader checked that they exist; they may have gone since. */
	if ((pw = getpwnam(conf->user)) == NULL)
		fatalx("user %s: no such user", conf->user);
	gid = pw->pw_gid;
	if (conf->group != NULL) {
		const struct group *gr = getgrnam(conf->group);

		if (gr == NULL)
			fatalx("group %s: no such group", conf->group);
		gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		if (geteuid() != pw->pw_uid)
			fatalx("cannot become user %s: not started as root",
			    conf->user);
		return;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		fatal("cannot drop privileges to %s", conf->user);
	if (pw->pw_uid != 0 && setuid(0) == 0)
		fatalx("privilege drop to %s did not stick", conf->user);
	log_notice("running as user %s", conf->user);
}

/*
 * SIGHUP or "udpd --reload": parse and bind the new configuration whole,
 * or keep the old.  The verdict goes into answer ("ok ..." or "failed
 * ..."), for the control channel.
 */
static void
reload(char *answer, size_t len)
{
	struct conf_err err;
	struct udpd_conf *conf;
	char why[512];

	log_notice("reloading %s", opts.config);
	notify_reloading();
	if ((conf = conf_load(opts.config, &err)) == NULL) {
		snprintf(why, sizeof(why), "%s", err.msg);
		goto failed;
	}
	/* The endpoint's new addresses are bound before the services
	 * switch, so either both change or neither.  The NTS-KE thread
	 * waits meanwhile: the switch frees the instances it uses. */
	nts_ke_pause(nts_ke);
	if (metrics_prepare(metrics, conf->metrics, why, sizeof(why)) < 0 ||
	    nts_ke_prepare(nts_ke, conf, why, sizeof(why)) < 0 ||
	    server_apply(&server, conf, why, sizeof(why)) < 0) {
		metrics_abort(metrics);
		nts_ke_abort(nts_ke);
		nts_ke_resume(nts_ke);
		conf_free(conf);
		goto failed;
	}
	metrics_commit(metrics, server.conf->metrics);
	nts_ke_commit(nts_ke, server.conf);
	nts_ke_resume(nts_ke);
	metrics_count_reload(metrics, 1);
	server_reopen(&server);
	apply_log_settings(server.conf);
	warn_if_idle(server.conf, 0);
	write_port_file();
	log_notice("reloaded %s", opts.config);
	snprintf(answer, len, "ok reloaded %s", opts.config);
	notify_status_ready();
	return;
failed:
	log_warnx("reload failed, old configuration kept: %s", why);
	snprintf(answer, len, "failed reload failed, old configuration "
	    "kept: %s", why);
	metrics_count_reload(metrics, 0);
	server_reopen(&server);		/* an old logrotate still needs it */
	notify_ready("reload failed, old configuration kept");
}

/* SIGUSR2 or "udpd --reopen": log files only, the configuration stays. */
static void
reopen(void)
{
	log_notice("reopening log files");
	server_reopen(&server);
}

/* A request on the control channel: "reload" or "reopen". */
static void
on_control(evutil_socket_t fd, short what, void *arg)
{
	struct control_peer peer;
	char cmd[64], answer[700];

	(void)what;
	(void)arg;
	/* A few per wake-up: requests never starve the services. */
	for (int i = 0; i < 8; i++) {
		int r = control_receive(fd, cmd, sizeof(cmd), &peer);

		if (r < 0)
			log_warn("control channel");
		if (r <= 0)
			return;
		if (strcmp(cmd, "reload") == 0)
			reload(answer, sizeof(answer));
		else if (strcmp(cmd, "reopen") == 0) {
			reopen();
			snprintf(answer, sizeof(answer), "ok log files "
			    "reopened");
		} else
			snprintf(answer, sizeof(answer), "failed unknown "
			    "request");
		control_reply(fd, &peer, answer);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;
	char answer[700];

	(void)what;
	switch (sig) {
	case SIGHUP:
		reload(answer, sizeof(answer));
		break;
	case SIGUSR1:
		server_log_stats(&server);
		break;
	case SIGUSR2:
		reopen();
		break;
	default:
		log_notice("signal %d: stopping", (int)sig);
		event_base_loopbreak(base);
	}
}

/* libevent's own complaints go to our log, a repeated one counted. */
static void
on_libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_repeated(LOG_ERR, "libevent", msg);
	else
		log_debug("libevent: %s", msg);
}

/* READY=1 with a one-line summary for systemctl status. */
static void
notify_status_ready(void)
{
	char status[128];

	snprintf(status, sizeof(status), "serving %zu service(s) on %zu "
	    "socket(s)", server.conf->nservices, server_socket_count(&server));
	notify_ready(status);
}

/* A config that serves nothing is valid, but rarely what was meant. */
static void
warn_if_idle(const struct udpd_conf *conf, int to_stderr)
{
	for (size_t i = 0; i < conf->nservices; i++)
		if (conf->services[i].enabled)
			return;
	if (to_stderr)
		fprintf(stderr, "udpd: warning: %s: no enabled service: udpd "
		    "would serve nothing\n", conf->path);
	else
		log_warning("%s: no enabled service: serving nothing",
		    conf->path);
}

/* One error of the configuration, on stderr (-t, or the journal). */
static void
print_conf_error(const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "udpd: %s\n", msg);
}

/*
 * Every error found (at most CONF_ERRORS_MAX), then exit: 1 for -t, 78
 * (EX_CONFIG) for a start, which systemd does not retry.
 */
static struct udpd_conf *
load_or_exit(void)
{
	struct udpd_conf *conf;
	size_t nerr;

	conf = conf_load_all(opts.config, CONF_ERRORS_MAX, print_conf_error,
	    NULL, &nerr);
	if (conf != NULL)
		return conf;
	if (nerr > CONF_ERRORS_MAX)
		fprintf(stderr, "udpd: %s: %zu errors, the first %d shown\n",
		    opts.config, nerr, CONF_ERRORS_MAX);
	else if (nerr > 1)
		fprintf(stderr, "udpd: %s: %zu errors\n", opts.config, nerr);
	exit(opts.check_only ? EXIT_CONFIG : EXIT_CONFIG_START);
}

/* The PID of the running daemon: -p's pidfile, else systemd's $MAINPID. */
static pid_t
daemon_pid(void)
{
	const char *env = getenv("MAINPID");
	char buf[32] = "", *end;
	long pid;
	FILE *f;

	if (opts.pidfile != NULL) {
		if ((f = fopen(opts.pidfile, "r")) == NULL) {
			fprintf(stderr, "udpd: pidfile %s: %s\n", opts.pidfile,
			    strerror(errno));
			exit(EXIT_RUNTIME);
		}
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
		env = buf;
	} else if (env == NULL)
		usage_error("--reload and --reopen need -p pidfile (or "
		    "$MAINPID, which systemd sets)");
	pid = strtol(env, &end, 10);
	if (end == env || (*end != '\0' && *end != '\n') || pid <= 0) {
		fprintf(stderr, "udpd: %s: no PID of a running udpd\n",
		    opts.pidfile != NULL ? opts.pidfile : "$MAINPID");
		exit(EXIT_RUNTIME);
	}
	return (pid_t)pid;
}

/*
 * udpd --reload / --reopen: asks the daemon and says its verdict.  Exit 0
 * when done, 1 when the daemon kept its old configuration, 69 when no
 * daemon answered.
 */
static int
ask_daemon(void)
{
	const char *cmd = opts.command == CMD_RELOAD ? "reload" : "reopen";
	char answer[700];
	pid_t pid = daemon_pid();

	if (control_ask(pid, cmd, CONTROL_TIMEOUT, answer,
	    sizeof(answer)) < 0) {
		fprintf(stderr, "udpd: %s: %s\n", cmd, answer);
		return EXIT_RUNTIME;
	}
	if (strncmp(answer, "ok ", 3) == 0) {
		printf("udpd: %s\n", answer + 3);
		return 0;
	}
	fprintf(stderr, "udpd: %s\n", strncmp(answer, "failed ", 7) == 0 ?
	    answer + 7 : answer);
	return EXIT_CONFIG;
}

/* The signals the daemon acts on (on_signal). */
static const int main_sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2 };
#define MAIN_NSIGS	(sizeof(main_sigs) / sizeof(main_sigs[0]))

/* Before the configuration loads: signals ignored, logging on. */
static void
init_process(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit must fail a chat write, not kill the daemon. */
	signal(SIGXFSZ, SIG_IGN);
	event_set_log_callback(on_libevent_log);
	/* Modules may log while the config loads (a torn chat line, a key
	 * file others can read): -t shows those warnings on stderr too. */
	log_init((opts.foreground || opts.check_only) && !stderr_is_journal(),
	    LOG_DAEMON);
}

/* udpd -t: the configuration loaded, checked and said OK. */
static int
check_config(struct udpd_conf *conf)
{
	warn_if_idle(conf, 1);
	fprintf(stderr, "udpd: %s: configuration OK\n", opts.config);
	conf_free(conf);
	server_free(&server);
	return 0;
}

/* The main thread's event base, or NULL (said on stderr). */
static struct event_base *
new_base(const struct udpd_conf *conf)
{
	struct event_base *base;

	/*
	 * With several workers the main thread pokes their bases (reload,
	 * stop), which needs libevent's locks; one worker runs without them.
	 * The number of workers is fixed until a restart.
	 */
	if (conf->workers > 1 && evthread_use_pthreads() < 0) {
		fprintf(stderr, "udpd: evthread_use_pthreads failed\n");
		return NULL;
	}
	if ((base = event_base_new()) == NULL)
		fprintf(stderr, "udpd: event_base_new failed\n");
	return base;
}

/*
 * The first configuration bound and switched on: the metrics endpoint,
 * NTS-KE, the services.  On failure all of it is undone (and the
 * pidfile removed), -1.
 */
static int
apply_first(struct event_base *base, struct udpd_conf *conf, int pidfd)
{
	char why[512];

	apply_log_settings(conf);
	server_take_passed(&server);
	metrics = metrics_new(base, &server);
	nts_ke = nts_ke_new();
	metrics_set_nts_ke(metrics, nts_ke);
	if (metrics_prepare(metrics, conf->metrics, why, sizeof(why)) < 0 ||
	    nts_ke_prepare(nts_ke, conf, why, sizeof(why)) < 0 ||
	    server_apply(&server, conf, why, sizeof(why)) < 0) {
		log_warnx("%s", why);
		if (!opts.foreground)
			fprintf(stderr, "udpd: %s\n", why);
		metrics_abort(metrics);
		metrics_free(metrics);
		nts_ke_free(nts_ke);
		conf_free(conf);
		server_free(&server);
		event_base_free(base);
		if (pidfd >= 0)
			unlink(opts.pidfile);
		return -1;
	}
	metrics_commit(metrics, server.conf->metrics);
	nts_ke_commit(nts_ke, server.conf);
	server_warn_unused_passed(&server);
	warn_if_idle(server.conf, 0);
	return 0;
}

/* The signals and the control channel watched on base. */
static void
watch_events(struct event_base *base, struct event **sigev,
    struct event **controlev)
{
	for (size_t i = 0; i < MAIN_NSIGS; i++) {
		sigev[i] = evsignal_new(base, main_sigs[i], on_signal, base);
		if (sigev[i] == NULL || event_add(sigev[i], NULL) < 0)
			fatalx("cannot watch signal %d", main_sigs[i]);
	}
	/* After detaching: the channel is named after the final PID. */
	if ((control_fd = control_open()) < 0)
		log_warn("control channel: udpd --reload will not reach this "
		    "udpd (SIGHUP still reloads)");
	else if ((*controlev = event_new(base, control_fd,
	    EV_READ | EV_PERSIST, on_control, NULL)) == NULL ||
	    event_add(*controlev, NULL) < 0)
		fatalx("cannot watch the control channel");
}

/* After the loop: everything stopped and freed; the exit status. */
static int
shut_down(struct event_base *base, struct event **sigev,
    struct event *controlev, int pidfd)
{
	notify_stopping();
	server_stop_workers(&server);
	nts_ke_stop(nts_ke);
	log_notice("stopped");
	for (size_t i = 0; i < MAIN_NSIGS; i++)
		event_free(sigev[i]);
	if (controlev != NULL)
		event_free(controlev);
	if (control_fd >= 0)
		close(control_fd);
	metrics_free(metrics);
	nts_ke_free(nts_ke);
	server_free(&server);
	event_base_free(base);
	/* After a privilege drop the directory may not let us unlink: an
	 * empty pidfile then says nobody runs. */
	if (opts.pidfile != NULL && unlink(opts.pidfile) < 0 && pidfd >= 0 &&
	    ftruncate(pidfd, 0) < 0)
		log_warn("pidfile %s", opts.pidfile);
	free(opts.config_path);
	free(opts.pidfile_path);
	return atomic_load(&server.worker_failed) ? EXIT_RUNTIME : 0;
}

int
main(int argc, char **argv)
{
	struct event *sigev[MAIN_NSIGS], *controlev = NULL;
	struct event_base *base;
	struct udpd_conf *conf;
	int pidfd = -1;

	parse_options(argc, argv);
	if (opts.command != CMD_RUN)
		return ask_daemon();
	init_process();
	server_init(&server, NULL);
	conf = load_or_exit();
	if (opts.check_only)
		return check_config(conf);
	if ((base = new_base(conf)) == NULL)
		return EXIT_RUNTIME;
	server.base = base;
	if (opts.pidfile != NULL)
		pidfd = pidfile_lock(opts.pidfile);
	if (apply_first(base, conf, pidfd) < 0)
		return EXIT_RUNTIME;
	drop_privileges(server.conf);
	if (!opts.foreground) {
		detach();
		if (server_after_fork(&server) < 0 ||
		    nts_ke_after_fork(nts_ke) < 0)
			fatalx("event_reinit after detaching failed");
	}
	watch_events(base, sigev, &controlev);
	/* Only now: whoever reads the pidfile may send SIGHUP at once. */
	if (pidfd >= 0)
		pidfile_write(pidfd);
	write_port_file();
	server_start_workers(&server);
	nts_ke_start(nts_ke);
	log_notice("started, %zu service(s) from %s", server.conf->nservices,
	    opts.config);
	notify_status_ready();
	event_base_dispatch(base);
	return shut_down(base, sigev, controlev, pidfd);
}
