/*
 * fuzz_stats.c - the stats module over a fake view of the daemon whose
 * services (names as the config loader allows them, counters up to
 * 2^64-1) come from the input.  Input: byte 0 the reply capacity, byte 1
 * the number of services, then per service a name length, a module and
 * ten 8-byte counters, then 8 bytes of uptime (missing bytes are zero).  The reply must be one
 * JSON object and a newline, flagged "truncated" exactly when some
 * services were left out, and fit the buffer; with fewer than 128 bytes
 * of room it is dropped.
 */
#include "config.h"

#include "fuzz.h"

#define NSVC	400	/* > the 355 an input can ask for */

static const char *const mods[] = { "greet", "echo", "upper", "time",
	"chat", "stats" };
static char names[NSVC][65];
static const char *svc_names[NSVC], *svc_mods[NSVC];
static struct udpd_counters svc_c[NSVC];
static size_t nsvc;
static long long uptime_value;
static struct udpd_stats_view view;
static void *inst;

static size_t
list(void *arg, const char **n, const char **m, struct udpd_counters *c,
    size_t max)
{
	(void)arg;
	for (size_t i = 0; i < nsvc && i < max; i++) {
		n[i] = svc_names[i];
		m[i] = svc_mods[i];
		c[i] = svc_c[i];
	}
	return nsvc;
}

static long long
uptime(void *arg)
{
	(void)arg;
	return uptime_value;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const config_setting_t *s;
	struct module_ctx ctx = { 0 };
	struct module_parse_ctx pctx = { "stats", "." };
	struct conf_err err;
	void *options;

	(void)argc;
	(void)argv;
	view.list = list;
	view.uptime = uptime;
	view.arg = NULL;
	s = fuzz_setting(&module_stats, "");
	ctx.service = "stats";
	ctx.stats = &view;
	options = module_stats.parse(s, &pctx, &err);
	FUZZ_CHECK(options != NULL);
	inst = module_stats.start(options, &ctx, NULL, err.msg,
	    sizeof(err.msg));
	module_stats.free_options(options);
	FUZZ_CHECK(inst != NULL);
	return 0;
}

/* ---- a strict little JSON checker ------------------------------------ */

static const char *json_value(const char *p, const char *end, int depth);

static const char *
json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

static const char *
json_string(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\' && ++p >= end)
			return NULL;
	}
	return NULL;
}

static const char *
json_number(const char *p, const char *end)
{
	const char *start;

	if (p < end && *p == '-')
		p++;
	start = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == start || (*start == '0' && p - start > 1))
		return NULL;
	return p;
}

static const char *
json_object(const char *p, const char *end, int depth, size_t *members)
{
	*members = 0;
	p = json_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		if ((p = json_string(json_ws(p, end), end)) == NULL)
			return NULL;
		p = json_ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		if ((p = json_value(p + 1, end, depth + 1)) == NULL)
			return NULL;
		(*members)++;
		p = json_ws(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			return p + 1;
		return NULL;
	}
}

static const char *
json_value(const char *p, const char *end, int depth)
{
	size_t members;

	if (depth > 8)
		return NULL;
	p = json_ws(p, end);
	if (p >= end)
		return NULL;
	if (*p == '{')
		return json_object(p, end, depth, &members);
	if (*p == '"')
		return json_string(p, end);
	if (end - p >= 4 && memcmp(p, "true", 4) == 0)
		return p + 4;
	if (end - p >= 5 && memcmp(p, "false", 5) == 0)
		return p + 5;
	return json_number(p, end);
}

/* ---------------------------------------------------------------------- */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
	struct fuzz_reply r;
	socklen_t plen;
	const struct sockaddr *peer = fuzz_peer_v4(&plen);
	const char *p, *end;
	size_t cap, pos = 2, members, shown = 0;
	char text[64];
	int truncated;

	if (size < 2)
		return 0;
	cap = data[0] < 0x40 ? UDPD_MAX_DATAGRAM : (size_t)data[0] * 8;
	nsvc = data[1] + (data[1] > 200 ? 100 : 0);	/* up to 355 > 256 */
	for (size_t i = 0; i < nsvc; i++) {
		size_t nl = pos < size ? (size_t)data[pos++] % 64 + 1 : 1;
		uint64_t *ctr = &svc_c[i].requests;

		for (size_t k = 0; k < nl; k++)
			names[i][k] = alphabet[(pos < size ? data[pos++] :
			    i + k) % (sizeof(alphabet) - 1)];
		names[i][nl] = '\0';
		svc_names[i] = names[i];
		svc_mods[i] = mods[(pos < size ? data[pos++] : 0) % 6];
		for (size_t k = 0; k < 10; k++) {
			uint64_t v = 0;

			for (int b = 0; b < 8; b++)
				v = v << 8 | (pos < size ? data[pos++] : 0);
			ctr[k] = v;
		}
	}
	/* Any uptime the daemon could report, and some it could not. */
	uptime_value = 0;
	for (int b = 0; b < 8; b++)
		uptime_value = (long long)((unsigned long long)uptime_value <<
		    8 | (pos < size ? data[pos++] : 0));
	fuzz_handle(&module_stats, inst, NULL, 0, cap, peer, plen, &fuzz_now,
	    &r);
	if (cap < 128) {
		FUZZ_CHECK(r.verdict == UDPD_DROP);
		free(r.buf);
		return 0;
	}
	FUZZ_CHECK(r.verdict == UDPD_REPLY);
	p = (const char *)r.buf;
	end = p + r.len;
	FUZZ_CHECK(r.len >= 2 && r.buf[r.len - 1] == '\n');
	FUZZ_CHECK(json_value(p, end - 1, 0) == end - 1);
	snprintf(text, sizeof(text), "{\"uptime\": %lld, ", uptime_value < 0 ?
	    0 : uptime_value);
	FUZZ_CHECK(r.len > strlen(text) &&
	    memcmp(p, text, strlen(text)) == 0);
	/* Count the services shown: members of the "services" object. */
	p = memmem(p, r.len, "\"services\": {", 13);
	FUZZ_CHECK(p != NULL && p < end);
	FUZZ_CHECK(json_object(p + 12, end, 1, &members) != NULL);
	shown = members;
	truncated = memmem(r.buf, r.len, "\"truncated\": true", 17) != NULL;
	FUZZ_CHECK(shown <= nsvc);
	FUZZ_CHECK(truncated == (shown < nsvc));
	free(r.buf);
	return 0;
}
