/*
 * vsf_cpg_map.c - the domain -> host map and the host table.
 *
 * Plain arrays searched linearly: a cluster has tens of hosts and hundreds
 * of domains, and every change is O(entries) at most.
 */
#include "vsf_cpg_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vsf_cpg_map {
	uint32_t self;
	bool quorate;
	size_t n;
	struct vsf_cpg_entry e[VSF_CPG_MAP_MAX];
	size_t nnodes;
	struct vsf_cpg_node nodes[VSF_CPG_NODES_MAX];
};

struct vsf_cpg_map *vsf_cpg_map_new(uint32_t self)
{
	struct vsf_cpg_map *m = calloc(1, sizeof(*m));

	if (m)
		m->self = self;
	return m;
}

struct vsf_cpg_map *vsf_cpg_map_free(struct vsf_cpg_map *m)
{
	free(m);
	return NULL;
}

uint32_t vsf_cpg_map_self(const struct vsf_cpg_map *m)
{
	return m->self;
}

static struct vsf_cpg_entry *find(struct vsf_cpg_map *m, uint32_t owner,
				  const uint8_t uuid[VSF_CPG_UUID_LEN])
{
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].owner == owner &&
		    memcmp(m->e[i].uuid, uuid, VSF_CPG_UUID_LEN) == 0)
			return &m->e[i];
	return NULL;
}

static void remove_at(struct vsf_cpg_map *m, size_t i)
{
	m->e[i] = m->e[--m->n];
}

int vsf_cpg_map_set(struct vsf_cpg_map *m, uint32_t owner,
		    const uint8_t uuid[VSF_CPG_UUID_LEN], const char *name,
		    int state)
{
	struct vsf_cpg_entry *e = find(m, owner, uuid);

	if (owner == 0 || state < VSF_CPG_DOM_RUNNING ||
	    state > VSF_CPG_DOM_GONE || vsf_cpg_name_check(name) < 0)
		return -EINVAL;
	if (state == VSF_CPG_DOM_GONE) {
		if (e)
			remove_at(m, (size_t)(e - m->e));
		return 0;
	}
	if (!e) {
		if (m->n == VSF_CPG_MAP_MAX)
			return -ENOSPC;
		e = &m->e[m->n++];
		memset(e, 0, sizeof(*e));
		e->owner = owner;
		memcpy(e->uuid, uuid, VSF_CPG_UUID_LEN);
	}
	e->state = (uint8_t)state;
	strcpy(e->name, name);	/* checked: at most VSF_CPG_NAME_MAX */
	return 0;
}

void vsf_cpg_map_clear_owner(struct vsf_cpg_map *m, uint32_t owner)
{
	for (size_t i = m->n; i-- > 0;)
		if (m->e[i].owner == owner)
			remove_at(m, i);
}

void vsf_cpg_map_clear_remote(struct vsf_cpg_map *m)
{
	for (size_t i = m->n; i-- > 0;)
		if (m->e[i].owner != m->self)
			remove_at(m, i);
}

size_t vsf_cpg_map_count(const struct vsf_cpg_map *m)
{
	return m->n;
}

const struct vsf_cpg_entry *vsf_cpg_map_at(const struct vsf_cpg_map *m,
					   size_t i)
{
	return i < m->n ? &m->e[i] : NULL;
}

static struct vsf_cpg_node *node_get(struct vsf_cpg_map *m, uint32_t nodeid,
				     bool create)
{
	for (size_t i = 0; i < m->nnodes; i++)
		if (m->nodes[i].nodeid == nodeid)
			return &m->nodes[i];
	if (!create || m->nnodes == VSF_CPG_NODES_MAX)
		return NULL;
	m->nodes[m->nnodes] = (struct vsf_cpg_node){ .nodeid = nodeid };
	return &m->nodes[m->nnodes++];
}

const struct vsf_cpg_node *vsf_cpg_map_node(const struct vsf_cpg_map *m,
					    uint32_t nodeid)
{
	return node_get((struct vsf_cpg_map *)m, nodeid, false);
}

int vsf_cpg_map_member(struct vsf_cpg_map *m, uint32_t nodeid)
{
	struct vsf_cpg_node *n = node_get(m, nodeid, true);

	if (!n)
		return -ENOSPC;
	n->status = VSF_CPG_NODE_MEMBER;
	n->since = 0;
	return 0;
}

int vsf_cpg_map_left(struct vsf_cpg_map *m, uint32_t nodeid, bool crashed,
		     uint64_t now)
{
	struct vsf_cpg_node *n;

	if (nodeid == m->self)
		return 0;	/* we speak for ourselves, present or not */
	n = node_get(m, nodeid, true);
	if (!n)
		return -ENOSPC;
	n->status = crashed ? VSF_CPG_NODE_LOST : VSF_CPG_NODE_ABSENT;
	n->since = now;
	return 0;
}

int vsf_cpg_map_hearsay(struct vsf_cpg_map *m, uint32_t nodeid, int status,
			uint64_t now)
{
	struct vsf_cpg_node *n = node_get(m, nodeid, false);

	if (nodeid == m->self || n)
		return 0;	/* first-hand knowledge wins */
	if (status != VSF_CPG_NODE_LOST && status != VSF_CPG_NODE_ABSENT)
		return -EINVAL;
	n = node_get(m, nodeid, true);
	if (!n)
		return -ENOSPC;
	n->status = (uint8_t)status;
	n->since = now;	/* our own grace starts when we hear of it */
	return 0;
}

void vsf_cpg_map_forget_node(struct vsf_cpg_map *m, uint32_t nodeid)
{
	vsf_cpg_map_clear_owner(m, nodeid);
	for (size_t i = 0; i < m->nnodes; i++)
		if (m->nodes[i].nodeid == nodeid) {
			m->nodes[i] = m->nodes[--m->nnodes];
			return;
		}
}

void vsf_cpg_map_quorum(struct vsf_cpg_map *m, bool quorate, uint64_t now)
{
	if (quorate && !m->quorate)
		for (size_t i = 0; i < m->nnodes; i++)
			if (m->nodes[i].status == VSF_CPG_NODE_LOST)
				m->nodes[i].since = now;
	m->quorate = quorate;
}

bool vsf_cpg_map_quorate(const struct vsf_cpg_map *m)
{
	return m->quorate;
}

bool vsf_cpg_entry_matches(const struct vsf_cpg_entry *e, const char *target)
{
	uint8_t u[VSF_CPG_UUID_LEN];

	if (strcmp(e->name, target) == 0)
		return true;
	return vsf_cpg_uuid_parse(target, u) == 0 &&
	       memcmp(u, e->uuid, VSF_CPG_UUID_LEN) == 0;
}

/* Could a departed host be running something we do not know about? */
static bool departed_may_run(const struct vsf_cpg_map *m, uint64_t grace_ms,
			     uint64_t now)
{
	for (size_t i = 0; i < m->nnodes; i++) {
		const struct vsf_cpg_node *n = &m->nodes[i];

		if (n->status == VSF_CPG_NODE_ABSENT)
			return true;
		if (n->status != VSF_CPG_NODE_LOST)
			continue;
		if (!m->quorate || grace_ms == 0 || now - n->since < grace_ms)
			return true;
	}
	return false;
}

int vsf_cpg_map_verdict(const struct vsf_cpg_map *m, const char *target,
			uint64_t grace_ms, uint64_t now)
{
	bool known = false;

	for (size_t i = 0; i < m->n; i++) {
		const struct vsf_cpg_entry *e = &m->e[i];

		if (!vsf_cpg_entry_matches(e, target))
			continue;
		known = true;
		if (e->owner == m->self && e->state == VSF_CPG_DOM_RUNNING)
			return VSF_CPG_V_DONE;
	}
	if (departed_may_run(m, grace_ms, now))
		return VSF_CPG_V_BLOCKED;
	return known ? VSF_CPG_V_OFF : VSF_CPG_V_UNKNOWN;
}

uint64_t vsf_cpg_map_next_grace(const struct vsf_cpg_map *m,
				uint64_t grace_ms)
{
	uint64_t t = UINT64_MAX;

	if (grace_ms == 0 || !m->quorate)
		return t;
	for (size_t i = 0; i < m->nnodes; i++)
		if (m->nodes[i].status == VSF_CPG_NODE_LOST &&
		    m->nodes[i].since + grace_ms < t)
			t = m->nodes[i].since + grace_ms;
	return t;
}
