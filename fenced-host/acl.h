/*
 * acl.h - the stock fence_virtd "groups" authorisation, as a value.
 *
 * groups { group { name = "g"; uuid = "<uuid or name>"; ip = "<ip or cid>"; } }
 *
 * A request from @src for @target is allowed when one group lists @src
 * (among its uuid entries if @src is a canonical UUID, else among its ip
 * entries) and the same group lists @target among its uuid entries.  All
 * comparisons are case-insensitive; @target is compared exactly as the
 * client sent it (name or UUID).  Host list entries are kept when the group
 * lists either the domain's name or its UUID.  With no groups at all,
 * everything is allowed (stock behaviour; the daemon warns at start-up).
 *
 * The ACL copies what it needs from the config; it owns its strings.
 */
#ifndef VSF_ACL_H
#define VSF_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

struct vsf_acl_group {
	char *name;		/* may be NULL: stock groups need no name */
	char **uuids;		/* targets (and UUID sources) */
	size_t nuuids;
	char **ips;		/* network sources: IP or vsock CID */
	size_t nips;
};

struct vsf_acl {
	struct vsf_acl_group *groups;
	size_t ngroups;
};

/* True for a canonical 8-4-4-4-12 hex UUID string. */
bool vsf_is_uuid(const char *s);

/* Build from the "groups" node (NULL = no groups).  0 or -ENOMEM. */
int vsf_acl_load(struct vsf_acl *acl, const struct vsf_conf_node *groups);

/* Release the contents; the struct itself is the caller's. */
void vsf_acl_done(struct vsf_acl *acl);

static inline bool vsf_acl_is_open(const struct vsf_acl *acl)
{
	return acl->ngroups == 0;
}

/* 0 if @src may act on @target, else -EACCES. */
int vsf_acl_check(const struct vsf_acl *acl, const char *src,
		  const char *target);

/* True if @src may see the domain @name / @uuid in a host list. */
bool vsf_acl_may_list(const struct vsf_acl *acl, const char *src,
		      const char *name, const char *uuid);

#endif /* VSF_ACL_H */
