/*
 * metrics_text.c - the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), of a
 * snapshot of the daemon's counters.  A pure function of the snapshot, so
 * the unit tests compare its output byte for byte.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_text.h"

/* A per-service counter family and the field of udpd_counters it sums. */
struct service_family {
	const char	*name;
	const char	*help;
	size_t		 offset;
};

static const struct service_family service_families[] = {
	{ "udpd_requests_total", "Datagrams received by the service, "
	    "dropped ones included.", offsetof(struct udpd_counters, requests) },
	{ "udpd_replies_total", "Replies sent by the service.",
	    offsetof(struct udpd_counters, replies) },
	{ "udpd_received_bytes_total", "Payload bytes of the datagrams "
	    "received by the service.", offsetof(struct udpd_counters,
	    bytes_in) },
	{ "udpd_sent_bytes_total", "Payload bytes of the replies sent by the "
	    "service.", offsetof(struct udpd_counters, bytes_out) },
	{ "udpd_errors_total", "Error replies and failed sends of the service.",
	    offsetof(struct udpd_counters, errors) },
};

/* The reasons of udpd_dropped_total, in the order the endpoint lists them. */
static const struct {
	const char	*reason;
	size_t		 offset;
} drop_reasons[] = {
	{ "acl", offsetof(struct udpd_counters, drop_acl) },
	{ "rate", offsetof(struct udpd_counters, drop_rate) },
	{ "size", offsetof(struct udpd_counters, drop_size) },
	{ "loop", offsetof(struct udpd_counters, drop_loop) },
	{ "malformed", offsetof(struct udpd_counters, drop_malformed) },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static uint64_t
counter_at(const struct udpd_counters *c, size_t offset)
{
	uint64_t v;

	memcpy(&v, (const char *)c + offset, sizeof(v));
	return v;
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_escape_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		switch (*v) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '"':
			fputs("\\\"", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		default:
			fputc(*v, f);
		}
	}
}

/* `name{service="...",module="..."` without the closing brace. */
static void
service_labels(FILE *f, const char *name, const struct metrics_service *s)
{
	fprintf(f, "%s{service=\"", name);
	metrics_escape_label(f, s->name);
	fputs("\",module=\"", f);
	metrics_escape_label(f, s->module);
	fputc('"', f);
}

static void
format_service_counters(FILE *f, const struct metrics_snapshot *s)
{
	for (size_t k = 0; k < NELEM(service_families); k++) {
		const struct service_family *fam = &service_families[k];

		family(f, fam->name, "counter", fam->help);
		for (size_t i = 0; i < s->nservices; i++) {
			service_labels(f, fam->name, &s->services[i]);
			fprintf(f, "} %" PRIu64 "\n",
			    counter_at(&s->services[i].c, fam->offset));
		}
	}
}

static void
format_drops(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "udpd_dropped_total", "counter", "Datagrams the service "
	    "dropped without a reply, by reason: acl (allow/deny), rate "
	    "(rate_limit), size (max_request or truncated), loop (to a "
	    "looping port), malformed (refused by the module).");
	for (size_t i = 0; i < s->nservices; i++)
		for (size_t k = 0; k < NELEM(drop_reasons); k++) {
			service_labels(f, "udpd_dropped_total",
			    &s->services[i]);
			fprintf(f, ",reason=\"%s\"} %" PRIu64 "\n",
			    drop_reasons[k].reason, counter_at(
			    &s->services[i].c, drop_reasons[k].offset));
		}
}

static void
format_chat(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "udpd_chat_last_seq", "gauge", "The last sequence number "
	    "the chat service handed out.");
	for (size_t i = 0; i < s->nservices; i++) {
		if (!s->services[i].has_last_seq)
			continue;
		fputs("udpd_chat_last_seq{service=\"", f);
		metrics_escape_label(f, s->services[i].name);
		fprintf(f, "\"} %" PRIu64 "\n", s->services[i].last_seq);
	}
	family(f, "udpd_chat_store_up", "gauge", "1 while the chat "
	    "service's store accepts messages, else 0.");
	for (size_t i = 0; i < s->nservices; i++) {
		if (s->services[i].store_up < 0)
			continue;
		fputs("udpd_chat_store_up{service=\"", f);
		metrics_escape_label(f, s->services[i].name);
		fprintf(f, "\"} %d\n", s->services[i].store_up);
	}
}

static void
format_nts_ke(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "udpd_nts_ke_sessions_total", "counter", "NTS key exchange "
	    "sessions of the SNTP service, by how they ended.");
	for (size_t i = 0; i < s->nservices; i++) {
		if (!s->services[i].has_nts_ke)
			continue;
		for (int r = 0; r < NTS_KE_NRESULTS; r++) {
			fputs("udpd_nts_ke_sessions_total{service=\"", f);
			metrics_escape_label(f, s->services[i].name);
			fprintf(f, "\",result=\"%s\"} %" PRIu64 "\n",
			    nts_ke_result_name((enum nts_ke_result)r),
			    s->services[i].nts_ke[r]);
		}
	}
}

/* NTS for NTP: requests by result and the cookie key's age. */
static void
format_nts(FILE *f, const struct metrics_snapshot *s)
{
	static const enum nts_result results[] = { NTS_OK, NTS_BAD_COOKIE,
	    NTS_BAD_AUTH, NTS_MALFORMED };

	family(f, "udpd_nts_requests_total", "counter", "NTP requests with "
	    "NTS fields, by result: ok (answered), bad_cookie (NTS NAK), "
	    "bad_authenticator and malformed (dropped).");
	for (size_t i = 0; i < s->nservices; i++) {
		if (!s->services[i].has_nts)
			continue;
		for (size_t r = 0; r < NELEM(results); r++) {
			fputs("udpd_nts_requests_total{service=\"", f);
			metrics_escape_label(f, s->services[i].name);
			fprintf(f, "\",result=\"%s\"} %" PRIu64 "\n",
			    nts_result_name(results[r]),
			    s->services[i].nts.requests[results[r]]);
		}
	}
	family(f, "udpd_nts_cookie_key_age_seconds", "gauge", "Seconds since "
	    "the cookie key that seals new NTS cookies came into use.");
	for (size_t i = 0; i < s->nservices; i++) {
		if (!s->services[i].has_nts || s->services[i].nts.key_age < 0)
			continue;
		fputs("udpd_nts_cookie_key_age_seconds{service=\"", f);
		metrics_escape_label(f, s->services[i].name);
		fprintf(f, "\"} %ld\n", s->services[i].nts.key_age);
	}
}

static void
format_daemon(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "udpd_build_info", "gauge", "Always 1; the version of udpd "
	    "in a label.");
	fputs("udpd_build_info{version=\"", f);
	metrics_escape_label(f, s->version);
	fputs("\"} 1\n", f);
	family(f, "udpd_start_time_seconds", "gauge", "When the daemon "
	    "started, in seconds since the Unix epoch.");
	fprintf(f, "udpd_start_time_seconds %lld.%03ld\n",
	    (long long)s->start_time.tv_sec, s->start_time.tv_nsec / 1000000);
	family(f, "udpd_config_reloads_total", "counter", "Configuration "
	    "reloads (SIGHUP), by result; a failed one kept the old "
	    "configuration.");
	fprintf(f, "udpd_config_reloads_total{result=\"success\"} %" PRIu64
	    "\n", s->reloads_ok);
	fprintf(f, "udpd_config_reloads_total{result=\"failure\"} %" PRIu64
	    "\n", s->reloads_failed);
}

static void
format_http(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "udpd_metrics_connections", "gauge", "Open connections to "
	    "this metrics endpoint.");
	fprintf(f, "udpd_metrics_connections %" PRIu64 "\n", s->http_open);
	family(f, "udpd_metrics_denied_connections_total", "counter",
	    "Connections to the metrics endpoint refused by its allow/deny.");
	fprintf(f, "udpd_metrics_denied_connections_total %" PRIu64 "\n",
	    s->http_denied);
	family(f, "udpd_metrics_evicted_connections_total", "counter",
	    "Connections to the metrics endpoint closed to make room for a "
	    "new one (max_connections).");
	fprintf(f, "udpd_metrics_evicted_connections_total %" PRIu64 "\n",
	    s->http_evicted);
}

static void
format_process(FILE *f, const struct metrics_process *p)
{
	family(f, "process_cpu_seconds_total", "counter", "Total user and "
	    "system CPU time spent in seconds.");
	if (p->have_cpu)
		fprintf(f, "process_cpu_seconds_total %.3f\n", p->cpu_seconds);
	family(f, "process_resident_memory_bytes", "gauge", "Resident memory "
	    "size in bytes.");
	if (p->have_rss)
		fprintf(f, "process_resident_memory_bytes %" PRIu64 "\n",
		    p->rss_bytes);
	family(f, "process_open_fds", "gauge", "Number of open file "
	    "descriptors.");
	if (p->have_fds)
		fprintf(f, "process_open_fds %" PRIu64 "\n", p->open_fds);
	family(f, "process_max_fds", "gauge", "Maximum number of open file "
	    "descriptors.");
	if (p->have_max_fds)
		fprintf(f, "process_max_fds %" PRIu64 "\n", p->max_fds);
	family(f, "process_start_time_seconds", "gauge", "Start time of the "
	    "process since unix epoch in seconds.");
	if (p->have_start)
		fprintf(f, "process_start_time_seconds %.3f\n", p->start_time);
}

void
metrics_format(FILE *f, const struct metrics_snapshot *s)
{
	format_daemon(f, s);
	format_service_counters(f, s);
	format_drops(f, s);
	format_chat(f, s);
	format_nts_ke(f, s);
	format_nts(f, s);
	format_http(f, s);
	format_process(f, &s->process);
}

int
metrics_parse_proc_stat(const char *text, unsigned long long *cpu_ticks,
    unsigned long long *start_ticks)
{
	/* The command name is "(...)" and may itself hold ") ". */
	const char *p = strrchr(text, ')');
	unsigned long long v, utime = 0, stime = 0;
	char *end;

	if (p == NULL)
		return -1;
	p++;
	/* After ")" come field 3 (state) onwards, separated by spaces. */
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return -1;
		if (field == 3) {		/* state: one letter */
			p++;
			continue;
		}
		/* Some fields (priority, nice) may be negative: strtoull
		 * takes the sign, and those fields are not used. */
		v = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		if (*end != ' ' && *end != '\n' && *end != '\0')
			return -1;
		if (field == 14)
			utime = v;
		else if (field == 15)
			stime = v;
		else if (field == 22)
			*start_ticks = v;
		p = end;
	}
	*cpu_ticks = utime + stime;
	return 0;
}
