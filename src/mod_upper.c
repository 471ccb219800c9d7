/*
 * mod_upper.c - the request with ASCII a-z turned to A-Z; every other byte
 * (newlines, UTF-8, NUL) unchanged.  Byte-exact: nothing stripped or added.
 */
#include "config.h"

#include <stdlib.h>

#include "module.h"

static enum udpd_verdict
upper_handle(void *state, const struct udpd_request *req,
    struct udpd_reply *rep)
{
	(void)state;
	if (req->len > rep->cap)
		return UDPD_DROP;
	/* Not toupper(3): its result depends on the locale. */
	for (size_t i = 0; i < req->len; i++) {
		unsigned char c = req->data[i];

		rep->buf[i] = (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) :
		    c;
	}
	rep->len = req->len;
	return UDPD_REPLY;
}

const struct udpd_module module_upper = {
	.name = "upper",
	.options = NULL,
	.parse = module_no_options,
	.free_options = module_no_options_free,
	.start = module_no_state,
	.handle = upper_handle,
	.destroy = module_no_state_free,
};
