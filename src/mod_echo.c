/*
 * mod_echo.c - RFC 862 echo: the reply is the request, byte for byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "module.h"

/* No options, no state: a non-NULL token stands for the instance. */
static void *
echo_create(const config_setting_t *service, const struct module_ctx *ctx,
    struct conf_err *err)
{
	static int token;

	(void)service;
	(void)ctx;
	(void)err;
	return &token;
}

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

static void
echo_destroy(void *state)
{
	(void)state;
}

const struct udpd_module module_echo = {
	.name = "echo",
	.options = NULL,
	.create = echo_create,
	.handle = echo_handle,
	.destroy = echo_destroy,
};
