/*
 * metrics_proc.h - the process_* metrics of the running udpd, read from
 * /proc/self and the clocks.
 */
#ifndef UDPD_METRICS_PROC_H
#define UDPD_METRICS_PROC_H

#include <stdint.h>

#include "metrics_text.h"

/* The boot time in Unix seconds, for process_start_time_seconds; -1 if
 * the clocks cannot tell. */
int	metrics_proc_boot_time(double *t);
/* Fills p (what cannot be read is left out). */
void	metrics_proc_read(struct metrics_process *p, int have_boot_time,
	    double boot_time);
/* Open file descriptors, not counting the one that counts them. */
int	metrics_proc_count_fds(uint64_t *n);

#endif
