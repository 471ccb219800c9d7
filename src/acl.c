/*
 * acl.c - access lists: does a source pass a service's or the metrics
 * endpoint's allow/deny?  Runs for every datagram, so it allocates nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "log.h"

int
acl_match(const struct acl *a, const struct sockaddr *peer)
{
	for (size_t i = 0; i < a->ndeny; i++)
		if (cidr_match(&a->deny[i], peer))
			return 0;
	if (a->nallow == 0)
		return 1;
	for (size_t i = 0; i < a->nallow; i++)
		if (cidr_match(&a->allow[i], peer))
			return 1;
	return 0;
}

static struct cidr *
acl_copy_blocks(const struct cidr *c, size_t n)
{
	struct cidr *copy = calloc(n + 1, sizeof(*copy));

	if (copy == NULL)
		fatal("calloc");
	if (n > 0)
		memcpy(copy, c, n * sizeof(*c));
	return copy;
}

void
acl_copy(struct acl *dst, const struct acl *src)
{
	static const struct acl none;

	if (src == NULL)
		src = &none;
	acl_clear(dst);
	dst->allow = acl_copy_blocks(src->allow, src->nallow);
	dst->nallow = src->nallow;
	dst->deny = acl_copy_blocks(src->deny, src->ndeny);
	dst->ndeny = src->ndeny;
}

void
acl_clear(struct acl *a)
{
	free(a->allow);
	free(a->deny);
	memset(a, 0, sizeof(*a));
}
