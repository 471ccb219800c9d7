/*
 * acl.h - an access list (allow and deny CIDR blocks), one type and one
 * match for every listener: the UDP services and the metrics endpoint.
 */
#ifndef UDPD_ACL_H
#define UDPD_ACL_H

#include <stddef.h>

#include "addr.h"

struct acl {
	struct cidr	*allow;		/* none: everyone allowed */
	size_t		 nallow;
	struct cidr	*deny;
	size_t		 ndeny;
};

/* Does peer pass?  Deny wins; with an allow list, only its blocks pass. */
int	acl_match(const struct acl *a, const struct sockaddr *peer);
/* dst becomes a copy of src (or an empty list when src is NULL); dst's
 * old blocks are freed. */
void	acl_copy(struct acl *dst, const struct acl *src);
/* Frees the blocks; a is empty afterwards. */
void	acl_clear(struct acl *a);

#endif
