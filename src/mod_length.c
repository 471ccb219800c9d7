/*
 * mod_length.c - the length service: "Your data was <N> bytes long\n",
 * N being the datagram's size as received (nothing stripped).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "module.h"

static enum udpd_verdict
length_handle(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	char text[64];
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "Your data was %zu bytes long\n",
	    req->len);
	if (n < 0 || (size_t)n > rep->cap)
		return UDPD_DROP;
	memcpy(rep->buf, text, (size_t)n);
	rep->len = (size_t)n;
	return UDPD_REPLY;
}

const struct udpd_module module_length = {
	.name = "length",
	.options = NULL,
	.parse = module_no_options,
	.free_options = module_no_options_free,
	.start = module_no_state,
	.handle = length_handle,
	.destroy = module_no_state_free,
};
