/*
 * vsf_cpg_route.h - the cpg backend's logic: map upkeep, request routing,
 * reply matching, deadlines and the failure rules.  No I/O: messages leave
 * through cb->send and arrive through vsf_cpg_route_deliver(); the clock is
 * whatever @now the caller passes (ms, monotonic).  One thread (the loop).
 *
 * Request protocol (docs/cluster.md):
 *   1. The requester multicasts REQUEST{id, op, target, timeout} to the
 *      group, itself included, and waits for a REPLY from every node that
 *      was a member when the REQUEST was delivered (CPG agreed order gives
 *      every member the same cut).
 *   2. Every member, the requester too, answers from its own map: a host
 *      that runs the domain acts (cb->exec) and replies DONE or FAILED; the
 *      others reply OFF, UNKNOWN or BLOCKED (vsf_cpg_map_verdict()).
 *   3. A REPLY counts only if its id is ours, its to_node is us and its
 *      sender is an awaited member that has not answered yet.
 *   4. The result, once every awaited member answered:
 *        any FAILED          -> that error
 *        any DONE            -> 0 (acted; STATUS: running)
 *        any BLOCKED, or we are not quorate, or a member left or joined
 *        while we waited     -> -EAGAIN (retry later; never a guess)
 *        any OFF             -> OFF/REBOOT 0 ("already off"),
 *                               STATUS VSF_CPG_RC_OFF, ON -EOPNOTSUPP
 *        all UNKNOWN         -> -ENOENT
 *      At the deadline: -ETIMEDOUT.  Not connected: -EAGAIN at once.
 *
 * Every result arrives through cb->done exactly once per accepted submit,
 * never from inside vsf_cpg_route_submit() itself.
 */
#ifndef VSF_CPG_ROUTE_H
#define VSF_CPG_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "vsf_cpg_map.h"

#define VSF_CPG_RC_OFF 2	/* STATUS: off (== VSF_BACKEND_OFF) */
#define VSF_CPG_PENDING_MAX 256	/* our requests in flight */
#define VSF_CPG_EXEC_MAX 256	/* others' requests we are acting on */

struct vsf_cpg_route;

struct vsf_cpg_route_cb {
	void *ctx;
	/* Multicast @len bytes to the group in agreed order: 0 or -errno. */
	int (*send)(void *ctx, const void *buf, size_t len);
	/*
	 * Act on a domain this host runs.  Must not block: finish later with
	 * vsf_cpg_route_exec_done(@handle, rc) where rc is 0, VSF_CPG_RC_OFF
	 * (STATUS), -ENOENT (not here after all) or another -errno.
	 */
	void (*exec)(void *ctx, uint64_t handle, int op, const char *target,
		     uint64_t deadline);
	/* Our request @id finished with @rc (see the table above). */
	void (*done)(void *ctx, uint64_t id, int rc);
};

struct vsf_cpg_route_cfg {
	uint32_t self;		/* our node id (cpg_local_get) */
	uint64_t grace_ms;	/* LOST-host grace; 0 = until it returns */
	uint64_t first_id;	/* request ids start here: random per start */
	struct vsf_cpg_route_cb cb;
};

struct vsf_cpg_route *vsf_cpg_route_new(const struct vsf_cpg_route_cfg *cfg);
/* Pending requests are finished with -ECANCELED first. */
struct vsf_cpg_route *vsf_cpg_route_free(struct vsf_cpg_route *r);

struct vsf_cpg_map *vsf_cpg_route_map(struct vsf_cpg_route *r);
bool vsf_cpg_route_connected(const struct vsf_cpg_route *r);

/*
 * Start a request.  Returns its id (> 0) or a negative errno:
 * -EAGAIN not connected (or the send failed), -EINVAL bad op/target,
 * -ENOSPC too many in flight.
 */
int64_t vsf_cpg_route_submit(struct vsf_cpg_route *r, int op,
			     const char *target, uint32_t timeout_ms,
			     uint64_t now);

/* A libvirt lifecycle event on this host; broadcast at once. */
int vsf_cpg_route_local(struct vsf_cpg_route *r,
			const uint8_t uuid[VSF_CPG_UUID_LEN], const char *name,
			int state, uint64_t now);

/*
 * Who asked for exec @handle (CPG node id), for the owner's audit log;
 * 0 if the handle is not (or no longer) in flight.
 */
uint32_t vsf_cpg_route_exec_from(const struct vsf_cpg_route *r,
				 uint64_t handle);

/* cb->exec finished. Unknown handles are ignored. */
void vsf_cpg_route_exec_done(struct vsf_cpg_route *r, uint64_t handle,
			     int rc);

/* A message from @sender (CPG's node id).  Returns the decode error. */
int vsf_cpg_route_deliver(struct vsf_cpg_route *r, uint32_t sender,
			  const void *buf, size_t len, uint64_t now);

struct vsf_cpg_left {
	uint32_t nodeid;
	bool crashed;		/* CPG_REASON_NODEDOWN */
};

/*
 * CPG configuration change.  @members is the new membership; if @self
 * is in @joined we have just (re)joined.
 */
void vsf_cpg_route_confchg(struct vsf_cpg_route *r, const uint32_t *members,
			   size_t nmembers, const struct vsf_cpg_left *left,
			   size_t nleft, const uint32_t *joined,
			   size_t njoined, uint64_t now);

void vsf_cpg_route_quorum(struct vsf_cpg_route *r, bool quorate,
			  uint64_t now);

/*
 * The local corosync connection is gone: every pending request finishes
 * with -EAGAIN, other hosts' entries are dropped (we will be resynced on
 * rejoin) and submit fails until the next confchg with us in it.
 */
void vsf_cpg_route_disconnected(struct vsf_cpg_route *r);

/* Deadlines, grace ends, a SYNC retry after a failed send. */
void vsf_cpg_route_tick(struct vsf_cpg_route *r, uint64_t now);
/* When tick() next has work: the earliest deadline, or UINT64_MAX. */
uint64_t vsf_cpg_route_next(const struct vsf_cpg_route *r);

/* Operator: @nodeid will not come back (its guests are off). */
void vsf_cpg_route_forget(struct vsf_cpg_route *r, uint32_t nodeid);

#endif /* VSF_CPG_ROUTE_H */
