/*
 * vsf_cpg_route.c - request routing and map upkeep over an abstract group.
 *
 * Why the requester answers itself through the group: its own REQUEST comes
 * back in agreed order like everyone else's, so "the members when the
 * REQUEST was delivered" is one cut that every node agrees on, and the
 * requester's own verdict is taken at that same point.
 */
#include "vsf_cpg_route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vsf_wire.h"

#define RESYNC_RETRY_MS 200

struct pending {
	bool used;
	bool delivered;			/* our REQUEST came back: cut known */
	bool disturbed;			/* left/joined/domain appeared */
	uint64_t id;
	int op;
	char target[VSF_CPG_NAME_MAX + 1];
	size_t nclaim;			/* hosts running it at the cut */
	uint32_t claim[VSF_CPG_NODES_MAX];
	uint64_t deadline;
	size_t nawait;
	uint32_t await[VSF_CPG_NODES_MAX];
	bool answered[VSF_CPG_NODES_MAX];
	int err;			/* first FAILED, positive errno */
	bool done, blocked, off;
};

struct exec {
	bool used;
	uint64_t handle;
	uint64_t req_id;
	uint32_t to_node;
};

struct vsf_cpg_route {
	struct vsf_cpg_route_cfg cfg;
	struct vsf_cpg_map *map;
	bool connected;
	uint64_t next_id;
	uint64_t next_handle;
	uint64_t resync_at;		/* 0: no SYNC owed */
	size_t nmembers;
	uint32_t members[VSF_CPG_NODES_MAX];
	struct pending pend[VSF_CPG_PENDING_MAX];
	struct exec ex[VSF_CPG_EXEC_MAX];
	struct vsf_cpg_msg scratch;	/* SYNC is big: not on the stack */
	uint8_t buf[VSF_CPG_MSG_MAX];
};

struct vsf_cpg_route *vsf_cpg_route_new(const struct vsf_cpg_route_cfg *cfg)
{
	struct vsf_cpg_route *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = *cfg;
	r->next_id = cfg->first_id ? cfg->first_id : 1;
	r->next_handle = 1;
	r->map = vsf_cpg_map_new(cfg->self);
	if (!r->map) {
		free(r);
		return NULL;
	}
	return r;
}

static void domain_appeared(struct vsf_cpg_route *r, uint32_t owner,
			    const struct vsf_cpg_entry *e);

static void finish(struct vsf_cpg_route *r, struct pending *p, int rc)
{
	uint64_t id = p->id;

	p->used = false;
	r->cfg.cb.done(r->cfg.cb.ctx, id, rc);
}

struct vsf_cpg_route *vsf_cpg_route_free(struct vsf_cpg_route *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++)
		if (r->pend[i].used)
			finish(r, &r->pend[i], -ECANCELED);
	vsf_cpg_map_free(r->map);
	free(r);
	return NULL;
}

struct vsf_cpg_map *vsf_cpg_route_map(struct vsf_cpg_route *r)
{
	return r->map;
}

bool vsf_cpg_route_connected(const struct vsf_cpg_route *r)
{
	return r->connected;
}

static int send_msg(struct vsf_cpg_route *r, const struct vsf_cpg_msg *m)
{
	int n = vsf_cpg_msg_encode(m, r->buf, sizeof(r->buf));

	if (n < 0)
		return n;
	return r->cfg.cb.send(r->cfg.cb.ctx, r->buf, (size_t)n);
}

/* Should @e go into our SYNC: our own, or a departed host's we remember? */
static int sync_status(const struct vsf_cpg_route *r,
		       const struct vsf_cpg_entry *e)
{
	const struct vsf_cpg_node *n;

	if (e->owner == r->cfg.self)
		return VSF_CPG_OWNER_MEMBER;
	n = vsf_cpg_map_node(r->map, e->owner);
	if (n && n->status != VSF_CPG_NODE_MEMBER)
		return n->status;
	return -1;
}

static int flush_chunk(struct vsf_cpg_route *r, struct vsf_cpg_msg *m,
		       bool last)
{
	int rc;

	if (last)
		m->flags |= VSF_CPG_SYNC_LAST;
	rc = send_msg(r, m);
	m->flags = 0;
	m->u.sync.n = 0;
	return rc;
}

/* Our whole map (own domains + departed hosts' ones), chunked. */
static int send_sync(struct vsf_cpg_route *r)
{
	struct vsf_cpg_msg *m = &r->scratch;
	size_t n = vsf_cpg_map_count(r->map);
	int rc = 0;

	memset(m, 0, offsetof(struct vsf_cpg_msg, u.sync.e));
	m->type = VSF_CPG_SYNC;
	m->flags = VSF_CPG_SYNC_FIRST;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct vsf_cpg_entry *e = vsf_cpg_map_at(r->map, i);
		int st = sync_status(r, e);

		if (st < 0)
			continue;
		if (m->u.sync.n == VSF_CPG_SYNC_MAX)
			rc = flush_chunk(r, m, false);
		m->u.sync.e[m->u.sync.n] = *e;
		m->u.sync.e[m->u.sync.n++].owner_status = (uint8_t)st;
	}
	if (rc == 0)
		rc = flush_chunk(r, m, true);
	return rc;
}

static void sync_or_retry(struct vsf_cpg_route *r, uint64_t now)
{
	r->resync_at = send_sync(r) < 0 ? now + RESYNC_RETRY_MS : 0;
}

int vsf_cpg_route_local(struct vsf_cpg_route *r,
			const uint8_t uuid[VSF_CPG_UUID_LEN], const char *name,
			int state, uint64_t now)
{
	struct vsf_cpg_msg m = { .type = VSF_CPG_STATE };
	int rc = vsf_cpg_map_set(r->map, r->cfg.self, uuid, name, state);

	if (rc < 0)
		return rc;
	if (!r->connected)
		return 0;	/* the SYNC after rejoin carries it */
	m.u.state.owner = r->cfg.self;
	strcpy(m.u.state.name, name);
	memcpy(m.u.state.uuid, uuid, VSF_CPG_UUID_LEN);
	if (state == VSF_CPG_DOM_RUNNING)
		domain_appeared(r, r->cfg.self, &m.u.state);
	m.u.state.state = (uint8_t)state;
	memcpy(m.u.state.uuid, uuid, VSF_CPG_UUID_LEN);
	strcpy(m.u.state.name, name);
	if (send_msg(r, &m) < 0 && !r->resync_at)
		r->resync_at = now + RESYNC_RETRY_MS;
	return 0;
}

static struct pending *pending_find(struct vsf_cpg_route *r, uint64_t id)
{
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++)
		if (r->pend[i].used && r->pend[i].id == id)
			return &r->pend[i];
	return NULL;
}

static struct pending *pending_alloc(struct vsf_cpg_route *r)
{
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++)
		if (!r->pend[i].used)
			return &r->pend[i];
	return NULL;
}

int64_t vsf_cpg_route_submit(struct vsf_cpg_route *r, int op,
			     const char *target, uint32_t timeout_ms,
			     uint64_t now)
{
	struct vsf_cpg_msg m = { .type = VSF_CPG_REQUEST };
	struct pending *p;

	if (op != VSF_OP_OFF && op != VSF_OP_ON && op != VSF_OP_REBOOT &&
	    op != VSF_OP_STATUS)
		return -EINVAL;
	if (vsf_cpg_name_check(target) < 0 || timeout_ms == 0)
		return -EINVAL;
	if (!r->connected)
		return -EAGAIN;
	p = pending_alloc(r);
	if (!p)
		return -ENOSPC;
	m.u.req.id = r->next_id;
	m.u.req.timeout_ms = timeout_ms;
	m.u.req.op = (uint8_t)op;
	strcpy(m.u.req.target, target);
	if (send_msg(r, &m) < 0)
		return -EAGAIN;
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->id = r->next_id++;
	p->op = op;
	strcpy(p->target, target);
	p->deadline = now + timeout_ms;
	return (int64_t)p->id;
}

/* The answer once every awaited member replied, or 1 to keep waiting. */
static int outcome(const struct vsf_cpg_route *r, const struct pending *p)
{
	if (p->disturbed)
		return -EAGAIN;
	for (size_t i = 0; i < p->nawait; i++)
		if (!p->answered[i])
			return 1;
	if (p->err)
		return -p->err;
	if (p->done)
		return 0;
	if (p->blocked || !vsf_cpg_map_quorate(r->map))
		return -EAGAIN;
	if (!p->off)
		return -ENOENT;
	switch (p->op) {
	case VSF_OP_STATUS:
		return VSF_CPG_RC_OFF;
	case VSF_OP_ON:
		return -EOPNOTSUPP;	/* start guests on their own host */
	default:
		return 0;		/* OFF/REBOOT: it is off everywhere */
	}
}

static void settle(struct vsf_cpg_route *r, struct pending *p)
{
	int rc = outcome(r, p);

	if (rc != 1)
		finish(r, p, rc);
}

static void send_reply(struct vsf_cpg_route *r, uint64_t id, uint32_t to,
		       int verdict, int err)
{
	struct vsf_cpg_msg m = { .type = VSF_CPG_REPLY };

	m.u.reply.id = id;
	m.u.reply.to_node = to;
	m.u.reply.verdict = (uint8_t)verdict;
	m.u.reply.err = err;
	/* A lost reply shows up as the requester's timeout, never a guess. */
	(void)send_msg(r, &m);
}

static struct exec *exec_alloc(struct vsf_cpg_route *r)
{
	for (size_t i = 0; i < VSF_CPG_EXEC_MAX; i++)
		if (!r->ex[i].used)
			return &r->ex[i];
	return NULL;
}

/* Which hosts run the target at the cut (the REQUEST's delivery). */
static void record_claims(struct vsf_cpg_route *r, struct pending *p)
{
	size_t n = vsf_cpg_map_count(r->map);

	p->nclaim = 0;
	for (size_t i = 0; i < n && p->nclaim < VSF_CPG_NODES_MAX; i++) {
		const struct vsf_cpg_entry *e = vsf_cpg_map_at(r->map, i);

		if (e->state == VSF_CPG_DOM_RUNNING &&
		    vsf_cpg_entry_matches(e, p->target))
			p->claim[p->nclaim++] = e->owner;
	}
}

/*
 * @owner now runs @e's domain.  A request for it that was cut when @owner
 * did not run it may have missed it (a migration landing, a start): such
 * a request answers -EAGAIN rather than "done" or "off".  A host that ran
 * it at the cut and starts it again (REBOOT) disturbs nothing.
 */
static void domain_appeared(struct vsf_cpg_route *r, uint32_t owner,
			    const struct vsf_cpg_entry *e)
{
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++) {
		struct pending *p = &r->pend[i];
		bool claimed = false;

		if (!p->used || !p->delivered ||
		    !vsf_cpg_entry_matches(e, p->target))
			continue;
		for (size_t k = 0; k < p->nclaim; k++)
			claimed |= p->claim[k] == owner;
		if (!claimed) {
			p->disturbed = true;
			settle(r, p);
		}
	}
}

static void on_request(struct vsf_cpg_route *r, uint32_t sender,
		       const struct vsf_cpg_request *q, uint64_t now)
{
	int v = vsf_cpg_map_verdict(r->map, q->target, r->cfg.grace_ms, now);
	struct pending *p;
	struct exec *x;

	if (sender == r->cfg.self && (p = pending_find(r, q->id))) {
		p->delivered = true;
		p->nawait = r->nmembers;
		memcpy(p->await, r->members, sizeof(p->await));
		record_claims(r, p);
	}
	if (v != VSF_CPG_V_DONE) {
		send_reply(r, q->id, sender, v, 0);
		return;
	}
	x = exec_alloc(r);
	if (!x) {
		send_reply(r, q->id, sender, VSF_CPG_V_FAILED, EBUSY);
		return;
	}
	*x = (struct exec){ true, r->next_handle++, q->id, sender };
	r->cfg.cb.exec(r->cfg.cb.ctx, x->handle, q->op, q->target,
		       now + q->timeout_ms);
}

uint32_t vsf_cpg_route_exec_from(const struct vsf_cpg_route *r,
				 uint64_t handle)
{
	for (size_t i = 0; i < VSF_CPG_EXEC_MAX; i++)
		if (r->ex[i].used && r->ex[i].handle == handle)
			return r->ex[i].to_node;
	return 0;
}

void vsf_cpg_route_exec_done(struct vsf_cpg_route *r, uint64_t handle,
			     int rc)
{
	for (size_t i = 0; i < VSF_CPG_EXEC_MAX; i++) {
		struct exec *x = &r->ex[i];

		if (!x->used || x->handle != handle)
			continue;
		x->used = false;
		if (!r->connected)
			return;
		if (rc == 0)
			send_reply(r, x->req_id, x->to_node, VSF_CPG_V_DONE, 0);
		else if (rc == VSF_CPG_RC_OFF || rc == -ENOENT)
			send_reply(r, x->req_id, x->to_node, VSF_CPG_V_OFF, 0);
		else
			send_reply(r, x->req_id, x->to_node, VSF_CPG_V_FAILED,
				   rc < 0 && rc >= -4095 ? -rc : EIO);
		return;
	}
}

static void on_reply(struct vsf_cpg_route *r, uint32_t sender,
		     const struct vsf_cpg_reply *a)
{
	struct pending *p;

	if (a->to_node != r->cfg.self)
		return;
	p = pending_find(r, a->id);
	if (!p || !p->delivered)
		return;
	for (size_t i = 0; i < p->nawait; i++) {
		if (p->await[i] != sender || p->answered[i])
			continue;
		p->answered[i] = true;
		if (a->verdict == VSF_CPG_V_FAILED && !p->err)
			p->err = a->err;
		p->done |= a->verdict == VSF_CPG_V_DONE;
		p->blocked |= a->verdict == VSF_CPG_V_BLOCKED;
		p->off |= a->verdict == VSF_CPG_V_OFF;
		settle(r, p);
		return;
	}
}

static void on_state(struct vsf_cpg_route *r, uint32_t sender,
		     const struct vsf_cpg_entry *e)
{
	if (sender == r->cfg.self || e->owner != sender)
		return;	/* a host speaks only for itself */
	(void)vsf_cpg_map_set(r->map, sender, e->uuid, e->name, e->state);
	if (e->state == VSF_CPG_DOM_RUNNING)
		domain_appeared(r, sender, e);
}

static bool is_member(const struct vsf_cpg_route *r, uint32_t nodeid)
{
	for (size_t i = 0; i < r->nmembers; i++)
		if (r->members[i] == nodeid)
			return true;
	return false;
}

static void sync_entry(struct vsf_cpg_route *r, uint32_t sender,
		       const struct vsf_cpg_entry *e, uint64_t now)
{
	const struct vsf_cpg_node *n;

	if (e->owner_status == VSF_CPG_OWNER_MEMBER) {
		if (e->owner == sender)
			(void)vsf_cpg_map_set(r->map, sender, e->uuid, e->name,
					      e->state);
		return;
	}
	/* Hearsay about a departed host: the living speak for themselves. */
	if (e->owner == r->cfg.self || is_member(r, e->owner))
		return;
	(void)vsf_cpg_map_hearsay(r->map, e->owner, e->owner_status, now);
	n = vsf_cpg_map_node(r->map, e->owner);
	if (n && n->status != VSF_CPG_NODE_MEMBER)
		(void)vsf_cpg_map_set(r->map, e->owner, e->uuid, e->name,
				      e->state);
}

static void on_sync(struct vsf_cpg_route *r, uint32_t sender,
		    const struct vsf_cpg_msg *m, uint64_t now)
{
	if (sender == r->cfg.self)
		return;
	if (m->flags & VSF_CPG_SYNC_FIRST)
		vsf_cpg_map_clear_owner(r->map, sender);
	for (uint16_t i = 0; i < m->u.sync.n; i++)
		sync_entry(r, sender, &m->u.sync.e[i], now);
}

int vsf_cpg_route_deliver(struct vsf_cpg_route *r, uint32_t sender,
			  const void *buf, size_t len, uint64_t now)
{
	struct vsf_cpg_msg *m = &r->scratch;
	int rc = vsf_cpg_msg_decode(buf, len, m);

	if (rc < 0)
		return rc;
	if (!r->connected || !is_member(r, sender))
		return 0;
	switch (m->type) {
	case VSF_CPG_STATE:
		on_state(r, sender, &m->u.state);
		break;
	case VSF_CPG_SYNC:
		on_sync(r, sender, m, now);
		break;
	case VSF_CPG_REQUEST:
		on_request(r, sender, &m->u.req, now);
		break;
	case VSF_CPG_REPLY:
		on_reply(r, sender, &m->u.reply);
		break;
	}
	return 0;
}

/* A member left: its unanswered requests can no longer be trusted. */
static void member_left(struct vsf_cpg_route *r, uint32_t nodeid)
{
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++) {
		struct pending *p = &r->pend[i];

		if (!p->used || !p->delivered)
			continue;
		for (size_t k = 0; k < p->nawait; k++)
			if (p->await[k] == nodeid && !p->answered[k])
				p->disturbed = true;
	}
}

static void member_joined(struct vsf_cpg_route *r)
{
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++)
		if (r->pend[i].used && r->pend[i].delivered)
			r->pend[i].disturbed = true;
}

static void set_members(struct vsf_cpg_route *r, const uint32_t *members,
			size_t n)
{
	r->nmembers = 0;
	for (size_t i = 0; i < n && r->nmembers < VSF_CPG_NODES_MAX; i++) {
		const struct vsf_cpg_node *nd =
			vsf_cpg_map_node(r->map, members[i]);

		r->members[r->nmembers++] = members[i];
		/* Back from LOST/ABSENT, or unknown: its SYNC restates it. */
		if (members[i] != r->cfg.self &&
		    (!nd || nd->status != VSF_CPG_NODE_MEMBER))
			vsf_cpg_map_clear_owner(r->map, members[i]);
		(void)vsf_cpg_map_member(r->map, members[i]);
	}
}

void vsf_cpg_route_confchg(struct vsf_cpg_route *r, const uint32_t *members,
			   size_t nmembers, const struct vsf_cpg_left *left,
			   size_t nleft, const uint32_t *joined,
			   size_t njoined, uint64_t now)
{
	for (size_t i = 0; i < njoined; i++)
		if (joined[i] == r->cfg.self)
			r->connected = true;
	if (!r->connected)
		return;
	for (size_t i = 0; i < nleft; i++) {
		(void)vsf_cpg_map_left(r->map, left[i].nodeid, left[i].crashed,
				       now);
		member_left(r, left[i].nodeid);
	}
	if (njoined)
		member_joined(r);
	set_members(r, members, nmembers);
	if (njoined)
		sync_or_retry(r, now);
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++)
		if (r->pend[i].used && r->pend[i].delivered)
			settle(r, &r->pend[i]);
}

void vsf_cpg_route_quorum(struct vsf_cpg_route *r, bool quorate,
			  uint64_t now)
{
	vsf_cpg_map_quorum(r->map, quorate, now);
}

/* Forget the hosts that were members: on rejoin they restate themselves. */
static void drop_members(struct vsf_cpg_route *r)
{
	for (size_t i = 0; i < r->nmembers; i++) {
		const struct vsf_cpg_node *n =
			vsf_cpg_map_node(r->map, r->members[i]);

		if (r->members[i] != r->cfg.self && n &&
		    n->status == VSF_CPG_NODE_MEMBER)
			vsf_cpg_map_forget_node(r->map, r->members[i]);
	}
	r->nmembers = 0;
}

void vsf_cpg_route_disconnected(struct vsf_cpg_route *r)
{
	r->connected = false;
	r->resync_at = 0;
	drop_members(r);
	memset(r->ex, 0, sizeof(r->ex));
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++)
		if (r->pend[i].used)
			finish(r, &r->pend[i], -EAGAIN);
}

void vsf_cpg_route_tick(struct vsf_cpg_route *r, uint64_t now)
{
	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++)
		if (r->pend[i].used && now >= r->pend[i].deadline)
			finish(r, &r->pend[i], -ETIMEDOUT);
	if (r->connected && r->resync_at && now >= r->resync_at)
		sync_or_retry(r, now);
}

uint64_t vsf_cpg_route_next(const struct vsf_cpg_route *r)
{
	uint64_t t = r->resync_at ? r->resync_at : UINT64_MAX;

	for (size_t i = 0; i < VSF_CPG_PENDING_MAX; i++)
		if (r->pend[i].used && r->pend[i].deadline < t)
			t = r->pend[i].deadline;
	return t;
}

void vsf_cpg_route_forget(struct vsf_cpg_route *r, uint32_t nodeid)
{
	if (nodeid != r->cfg.self && !is_member(r, nodeid))
		vsf_cpg_map_forget_node(r->map, nodeid);
}
