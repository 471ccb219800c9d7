/*
 * mod_echo.c - RFC 862 echo: the reply is the request, byte for byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "module.h"

static enum udpd_verdict
echo_handle(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	(void)state;
	if (req->len > rep->cap)
		return UDPD_DROP;
	memcpy(rep->buf, req->data, req->len);
	rep->len = req->len;
	return UDPD_REPLY;
}

const struct udpd_module module_echo = {
	.name = "echo",
	.options = NULL,
	.parse = module_no_options,
	.free_options = module_no_options_free,
	.start = module_no_state,
	.handle = echo_handle,
	.destroy = module_no_state_free,
};
