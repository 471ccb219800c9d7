/*
 * metrics_proc.c - the process_* metrics of the running udpd (CPU, memory,
 * descriptors, start time), read from /proc/self and the clocks.
 */
#include "config.h"

#include <sys/resource.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics_proc.h"

/*
 * The boot time, for process_start_time_seconds, from the clocks rather
 * than /proc/stat, which the shipped unit hides (ProcSubset=pid).
 */
int
metrics_proc_boot_time(double *t)
{
	struct timespec rt, bt;

	if (clock_gettime(CLOCK_REALTIME, &rt) < 0 ||
	    clock_gettime(CLOCK_BOOTTIME, &bt) < 0)
		return -1;
	*t = (double)(rt.tv_sec - bt.tv_sec) +
	    (double)(rt.tv_nsec - bt.tv_nsec) / 1e9;
	return 0;
}

/* A small /proc file into buf; -1 if it cannot be read. */
static int
metrics_proc_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Entries of /proc/self/fd, not counting the one that reads it. */
int
metrics_proc_count_fds(uint64_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	const struct dirent *e;

	if (d == NULL)
		return -1;
	*n = 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			(*n)++;
	if (*n > 0)
		(*n)--;
	closedir(d);
	return 0;
}

void
metrics_proc_read(struct metrics_process *p, int have_boot_time,
    double boot_time)
{
	unsigned long long cpu, start, pages;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	char buf[1024];

	memset(p, 0, sizeof(*p));
	if (tick > 0 && metrics_proc_file("/proc/self/stat", buf,
	    sizeof(buf)) == 0 && metrics_parse_proc_stat(buf, &cpu,
	    &start) == 0) {
		p->have_cpu = 1;
		p->cpu_seconds = (double)cpu / (double)tick;
		p->have_start = have_boot_time;
		p->start_time = boot_time + (double)start / (double)tick;
	}
	if (page > 0 && metrics_proc_file("/proc/self/statm", buf,
	    sizeof(buf)) == 0 && sscanf(buf, "%*u %llu", &pages) == 1) {
		p->have_rss = 1;
		p->rss_bytes = (uint64_t)pages * (uint64_t)page;
	}
	p->have_fds = metrics_proc_count_fds(&p->open_fds) == 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		p->have_max_fds = 1;
		p->max_fds = (uint64_t)rl.rlim_cur;
	}
}
