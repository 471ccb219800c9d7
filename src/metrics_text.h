/*
 * metrics_text.h - the Prometheus text exposition format (0.0.4) of a
 * snapshot of the daemon's counters, and the parser of /proc/self/stat for
 * the process_* metrics.  Pure: no sockets, no clock, no /proc reads;
 * metrics.c gathers the snapshot and serves the text.
 */
#ifndef UDPD_METRICS_TEXT_H
#define UDPD_METRICS_TEXT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "module.h"
#include "nts_ke_records.h"
#include "nts_sntp.h"

/* The Content-Type of the text format. */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* One enabled service: its counters summed over every worker. */
struct metrics_service {
	const char		*name;
	const char		*module;
	struct udpd_counters	 c;
	int			 has_last_seq;	/* chat: last_seq is known */
	uint64_t		 last_seq;
	int			 store_up;	/* chat: 1, 0; -1: none */
	int			 has_nts_ke;	/* serves NTS-KE */
	uint64_t		 nts_ke[NTS_KE_NRESULTS]; /* sessions by result */
	int			 has_nts;	/* serves NTS for NTP */
	struct nts_sntp_stats	 nts;
};

/* What the process_* metrics report; have_* = 0 leaves a sample out. */
struct metrics_process {
	int		have_cpu;
	double		cpu_seconds;		/* user + system */
	int		have_rss;
	uint64_t	rss_bytes;
	int		have_fds;
	uint64_t	open_fds;
	int		have_max_fds;
	uint64_t	max_fds;
	int		have_start;
	double		start_time;		/* Unix seconds */
};

struct metrics_snapshot {
	const struct metrics_service	*services;
	size_t				 nservices;
	uint64_t			 reloads_ok;
	uint64_t			 reloads_failed;
	struct timespec			 start_time;	/* realtime */
	const char			*version;
	/* The HTTP endpoint itself. */
	uint64_t			 http_open;
	uint64_t			 http_denied;
	uint64_t			 http_evicted;
	struct metrics_process		 process;
};

/*
 * Writes the exposition text of s to f: every family with its # HELP and
 * # TYPE lines (also when it has no sample), in a fixed order, services in
 * the order given.  Label values are escaped as the format requires.
 */
void	metrics_format(FILE *f, const struct metrics_snapshot *s);

/* Writes v as a label value: \ -> \\, " -> \", newline -> \n. */
void	metrics_escape_label(FILE *f, const char *v);

/*
 * From the text of /proc/self/stat: utime + stime in clock ticks and the
 * start time in ticks after boot (fields 14, 15 and 22, counted after the
 * ")" that ends the command name, which may hold spaces and parentheses).
 * Returns 0, or -1 if the text does not have them.
 */
int	metrics_parse_proc_stat(const char *text, unsigned long long *cpu_ticks,
	    unsigned long long *start_ticks);

#endif
