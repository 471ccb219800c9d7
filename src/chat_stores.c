/*
 * chat_stores.c - the chat stores built in, looked up by `store = "..."`.
 * The first is the default.  In a file of its own so that a unit test can
 * link its own list (a fake store that answers later) instead.
 */
#include "config.h"

#include <stddef.h>

#include "chat_store.h"

const struct chat_store_ops *const chat_stores[] = {
	&chat_file_store,
	&chat_redis_store,	/* without libhiredis: "not built in" */
	NULL
};
