/*
 * vsf_cpg_map.h - which host runs which domain, and what we know of hosts.
 *
 * Pure data, no I/O, no clock of its own (callers pass @now, ms on any
 * monotonic clock).  One map per daemon, used only from the loop thread.
 *
 * Entries are keyed by (owner node id, domain UUID): every host speaks only
 * for its own domains, so claims from different hosts never overwrite each
 * other.  During a live migration the source and the destination both
 * claim the domain for a moment, and that is the truth: it exists on both.
 *
 * Hosts.  Every node id ever seen in the group has a status:
 *   MEMBER  in the current CPG membership (it answers for itself);
 *   LOST    left with CPG_REASON_NODEDOWN: crashed, or cut off from us;
 *   ABSENT  left cleanly (PROCDOWN/LEAVE): its daemon or corosync stopped,
 *           which says nothing about its guests.
 * A departed host's entries stay until it rejoins (its SYNC replaces them)
 * or vsf_cpg_map_forget_node() is called on an operator's word.
 *
 * The verdict rule (docs/cluster.md, "No premature success"):
 * vsf_cpg_map_verdict() says OFF or UNKNOWN for a target only if no
 * departed host could be running it: every departed host is LOST and has
 * been LOST for at least @grace_ms of quorate time (vsf_cpg_map_quorum()).
 * Otherwise BLOCKED.  @grace_ms == 0 means "never": LOST hosts block until
 * they rejoin or are forgotten.
 */
#ifndef VSF_CPG_MAP_H
#define VSF_CPG_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsf_cpg_msg.h"

#define VSF_CPG_MAP_MAX 4096	/* entries, all hosts together */
#define VSF_CPG_NODES_MAX 64	/* hosts ever seen */

enum vsf_cpg_node_status {
	VSF_CPG_NODE_MEMBER = 0,
	VSF_CPG_NODE_LOST = 1,		/* == VSF_CPG_OWNER_LOST */
	VSF_CPG_NODE_ABSENT = 2,	/* == VSF_CPG_OWNER_ABSENT */
};

struct vsf_cpg_node {
	uint32_t nodeid;
	uint8_t status;			/* enum vsf_cpg_node_status */
	uint64_t since;			/* LOST: start of the quorate grace */
};

struct vsf_cpg_map;

struct vsf_cpg_map *vsf_cpg_map_new(uint32_t self);
struct vsf_cpg_map *vsf_cpg_map_free(struct vsf_cpg_map *m);
uint32_t vsf_cpg_map_self(const struct vsf_cpg_map *m);

/*
 * Record @owner's claim about a domain.  GONE removes the entry; RUNNING
 * and OFF insert or update it (the name follows the latest claim).
 * 0, or -ENOSPC when the map is full, -EINVAL for a bad state/name.
 */
int vsf_cpg_map_set(struct vsf_cpg_map *m, uint32_t owner,
		    const uint8_t uuid[VSF_CPG_UUID_LEN], const char *name,
		    int state);
/* Drop every entry of @owner (its SYNC is about to restate them). */
void vsf_cpg_map_clear_owner(struct vsf_cpg_map *m, uint32_t owner);
/* Drop every entry not owned by us (local corosync went away). */
void vsf_cpg_map_clear_remote(struct vsf_cpg_map *m);

size_t vsf_cpg_map_count(const struct vsf_cpg_map *m);
/* The @i-th entry, i < count; order is stable only between changes. */
const struct vsf_cpg_entry *vsf_cpg_map_at(const struct vsf_cpg_map *m,
					   size_t i);

/*
 * Host status.  member(): @nodeid is in the membership now.  left(): it
 * left, @crashed = NODEDOWN.  A self-entry is never LOST/ABSENT.
 * -ENOSPC when VSF_CPG_NODES_MAX hosts are already known.
 */
int vsf_cpg_map_member(struct vsf_cpg_map *m, uint32_t nodeid);
int vsf_cpg_map_left(struct vsf_cpg_map *m, uint32_t nodeid, bool crashed,
		     uint64_t now);
/* Learned from a peer's SYNC: adopt only if we have no opinion yet. */
int vsf_cpg_map_hearsay(struct vsf_cpg_map *m, uint32_t nodeid, int status,
			uint64_t now);
/* The operator says @nodeid is gone for good: drop it and its entries. */
void vsf_cpg_map_forget_node(struct vsf_cpg_map *m, uint32_t nodeid);
/* NULL if never seen. */
const struct vsf_cpg_node *vsf_cpg_map_node(const struct vsf_cpg_map *m,
					    uint32_t nodeid);

/*
 * Quorum changed.  Losing quorum stops every LOST host's grace; getting it
 * back restarts each grace from @now (quorate time only, never summed).
 */
void vsf_cpg_map_quorum(struct vsf_cpg_map *m, bool quorate, uint64_t now);
bool vsf_cpg_map_quorate(const struct vsf_cpg_map *m);

/*
 * This host's answer for @target (a name, or a UUID string in any case),
 * as a vsf_cpg_verdict: DONE means "it runs here, act on it"; OFF, UNKNOWN
 * or BLOCKED otherwise (see the rule above).
 */
int vsf_cpg_map_verdict(const struct vsf_cpg_map *m, const char *target,
			uint64_t grace_ms, uint64_t now);

/* True if @e matches @target (name exactly, or UUID in any case). */
bool vsf_cpg_entry_matches(const struct vsf_cpg_entry *e, const char *target);

/* The earliest time a LOST host's grace ends, or UINT64_MAX. */
uint64_t vsf_cpg_map_next_grace(const struct vsf_cpg_map *m,
				uint64_t grace_ms);

#endif /* VSF_CPG_MAP_H */
