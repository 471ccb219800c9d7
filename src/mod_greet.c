/*
 * mod_greet.c - "Hello <name>!\n", or "Good bye!\n" for the name "exit".
 * Both texts are configurable; the greeting is a template with exactly one
 * %s (and %% for a percent sign), rendered by hand, never by printf.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

#define GREET_TEXT_MAX	1024

struct greet {
	char	*before;	/* greeting text before %s, %% resolved */
	size_t	 before_len;
	char	*after;		/* after %s, then "\n" */
	size_t	 after_len;
	char	*farewell;	/* with "\n" */
	size_t	 farewell_len;
};

static const char *const greet_options[] = { "greeting", "farewell", NULL };

/*
 * Splits template at its one %s into before/after, resolving %%.  Returns
 * NULL on success, else why the template is refused.
 */
static const char *
greet_split(const char *template, struct greet *g)
{
	size_t len = strlen(template), n = 0, o = 0;
	char *out = malloc(len + 2);
	int seen_s = 0;

	if (out == NULL)
		return "out of memory";
	for (size_t i = 0; i < len; i++) {
		if (template[i] != '%') {
			out[o++] = template[i];
			continue;
		}
		if (template[i + 1] == '%') {
			out[o++] = '%';
			i++;
		} else if (template[i + 1] == 's' && !seen_s) {
			seen_s = 1;
			n = o;
			i++;
		} else {
			free(out);
			return template[i + 1] == 's' ? "more than one %s" :
			    "only %s and %% are allowed";
		}
	}
	if (!seen_s) {
		free(out);
		return "must contain exactly one %s";
	}
	out[o++] = '\n';
	g->before = out;
	g->before_len = n;
	g->after = out + n;
	g->after_len = o - n;
	return NULL;
}

static void
greet_free(struct greet *g)
{
	free(g->before);
	free(g->farewell);
	free(g);
}

/* The options are the rendered texts: parse() does all the work. */
static void *
greet_parse(const config_setting_t *service,
    const struct module_parse_ctx *ctx, struct conf_err *err)
{
	const char *greeting = "Hello %s!", *farewell = "Good bye!", *why;
	struct greet *g = calloc(1, sizeof(*g));

	(void)ctx;
	if (g == NULL) {
		conf_error(err, service, "out of memory");
		return NULL;
	}
	if (conf_get_string(service, "greeting", &greeting, err) < 0 ||
	    conf_get_string(service, "farewell", &farewell, err) < 0)
		goto fail;
	if (strlen(greeting) > GREET_TEXT_MAX) {
		conf_error(err, config_setting_get_member(service, "greeting"),
		    "longer than %d bytes", GREET_TEXT_MAX);
		goto fail;
	}
	if (strlen(farewell) > GREET_TEXT_MAX) {
		conf_error(err, config_setting_get_member(service, "farewell"),
		    "longer than %d bytes", GREET_TEXT_MAX);
		goto fail;
	}
	if ((why = greet_split(greeting, g)) != NULL) {
		conf_error(err, config_setting_get_member(service, "greeting"),
		    "'%s': %s", greeting, why);
		goto fail;
	}
	g->farewell_len = strlen(farewell) + 1;
	if ((g->farewell = malloc(g->farewell_len)) == NULL) {
		conf_error(err, service, "out of memory");
		goto fail;
	}
	memcpy(g->farewell, farewell, g->farewell_len - 1);
	g->farewell[g->farewell_len - 1] = '\n';
	return g;
fail:
	greet_free(g);
	return NULL;
}

/* A reply that would not fit in a datagram (a name of ~65 kB). */
static enum udpd_verdict
greet_too_long(struct udpd_reply *rep)
{
	static const char text[] = "error: name too long\n";

	if (sizeof(text) - 1 > rep->cap)
		return UDPD_DROP;
	memcpy(rep->buf, text, sizeof(text) - 1);
	rep->len = sizeof(text) - 1;
	return UDPD_REPLY_ERROR;
}

static enum udpd_verdict
greet_handle(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	const struct greet *g = state;
	const unsigned char *name = req->data;
	size_t len = udpd_line_length(req->data, req->len);
	size_t total;

	if (len == 4 && memcmp(name, "exit", 4) == 0) {
		if (g->farewell_len > rep->cap)
			return greet_too_long(rep);
		memcpy(rep->buf, g->farewell, g->farewell_len);
		rep->len = g->farewell_len;
		return UDPD_REPLY;
	}
	if (len == 0) {
		name = (const unsigned char *)"world";
		len = 5;
	}
	total = g->before_len + len + g->after_len;
	if (total > rep->cap)
		return greet_too_long(rep);
	memcpy(rep->buf, g->before, g->before_len);
	memcpy(rep->buf + g->before_len, name, len);
	memcpy(rep->buf + g->before_len + len, g->after, g->after_len);
	rep->len = total;
	return UDPD_REPLY;
}

static void
greet_destroy(void *state)
{
	greet_free(state);
}

/* The running state: a copy of the options, which may be freed. */
static void *
greet_start(const void *options, const struct module_ctx *ctx,
    void *previous, char *err, size_t errlen)
{
	const struct greet *o = options;
	struct greet *g = calloc(1, sizeof(*g));

	(void)ctx;
	(void)previous;
	if (g == NULL ||
	    (g->before = malloc(o->before_len + o->after_len)) == NULL ||
	    (g->farewell = malloc(o->farewell_len)) == NULL) {
		if (g != NULL)
			greet_free(g);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(g->before, o->before, o->before_len);
	memcpy(g->before + o->before_len, o->after, o->after_len);
	g->before_len = o->before_len;
	g->after = g->before + o->before_len;
	g->after_len = o->after_len;
	memcpy(g->farewell, o->farewell, o->farewell_len);
	g->farewell_len = o->farewell_len;
	return g;
}

const struct udpd_module module_greet = {
	.name = "greet",
	.options = greet_options,
	.parse = greet_parse,
	.free_options = greet_destroy,
	.start = greet_start,
	.handle = greet_handle,
	.destroy = greet_destroy,
};
