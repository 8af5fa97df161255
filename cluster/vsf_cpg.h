/*
 * vsf_cpg.h - the thin adapter between corosync (libcpg + libquorum) and
 * the routing logic of vsf_cpg_route.h.  No threads: the caller's event
 * loop owns one fd.
 *
 *	c = vsf_cpg_new(&cfg, err, sizeof(err));
 *	loop: watch vsf_cpg_fd(c) for reading, and call vsf_cpg_dispatch(c,
 *	      now) when it is readable AND when vsf_cpg_next(c) is reached
 *	      (deadlines, reconnect backoff).
 *	requests:  vsf_cpg_route_submit(vsf_cpg_route(c), ...)
 *	libvirt:   vsf_cpg_route_local(vsf_cpg_route(c), ...)
 *
 * The fd is an epoll fd of our own holding the CPG and quorum fds, so it
 * stays the same number across corosync restarts.  When the local corosync
 * goes away (cpg_dispatch returns CS_ERR_LIBRARY or CS_ERR_BAD_HANDLE, or
 * a send finds the handle dead) the adapter finalizes both handles, tells
 * the route (pending requests fail with -EAGAIN, submit returns -EAGAIN),
 * and retries the connection from dispatch() with backoff 100 ms doubling
 * to 5 s.  On rejoin every member resends its map (vsf_cpg_route.h).
 *
 * All callbacks run inside vsf_cpg_dispatch() or vsf_cpg_route_*() on the
 * caller's thread and must not block.
 */
#ifndef VSF_CPG_H
#define VSF_CPG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsf_cpg_route.h"

enum vsf_cpg_event {
	VSF_CPG_EV_UP = 1,	/* joined the group; a = our node id */
	VSF_CPG_EV_DOWN,	/* lost the local corosync; a = cs_error_t */
	VSF_CPG_EV_JOINED,	/* a = node id */
	VSF_CPG_EV_LEFT,	/* a = node id, b = 1 if NODEDOWN */
	VSF_CPG_EV_MEMBERS,	/* a = number of members */
	VSF_CPG_EV_QUORUM,	/* a = 1 quorate, 0 not */
};

struct vsf_cpg_cfg {
	const char *group;	/* NULL = VSF_CPG_GROUP */
	uint64_t grace_ms;	/* see vsf_cpg_map.h; 0 = never */
	void *ctx;
	/* The route's exec and done (vsf_cpg_route.h). */
	void (*exec)(void *ctx, uint64_t handle, int op, const char *target,
		     uint64_t deadline);
	void (*done)(void *ctx, uint64_t id, int rc);
	/* Optional: membership and link news, for logs. */
	void (*event)(void *ctx, int ev, uint32_t a, uint32_t b);
	/* Optional: the clock (ms); default CLOCK_MONOTONIC. */
	uint64_t (*now)(void *ctx);
};

struct vsf_cpg;

/*
 * Connect, join and start quorum tracking.  NULL with @err filled if the
 * local corosync cannot be reached now (the caller retries; once running,
 * reconnection is ours).
 */
struct vsf_cpg *vsf_cpg_new(const struct vsf_cpg_cfg *cfg, char *err,
			    size_t errlen);
struct vsf_cpg *vsf_cpg_free(struct vsf_cpg *c);

int vsf_cpg_fd(const struct vsf_cpg *c);
/* Dispatch whatever is ready, run deadlines, reconnect when due. */
void vsf_cpg_dispatch(struct vsf_cpg *c);
/* Absolute time (the cfg clock) by which dispatch() must run again. */
uint64_t vsf_cpg_next(const struct vsf_cpg *c);

struct vsf_cpg_route *vsf_cpg_route(struct vsf_cpg *c);
uint32_t vsf_cpg_nodeid(const struct vsf_cpg *c);
uint64_t vsf_cpg_now(const struct vsf_cpg *c);

#endif /* VSF_CPG_H */
