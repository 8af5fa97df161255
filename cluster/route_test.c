/*
 * route_test.c - routing rules on a fake group: agreed-order delivery from
 * one queue, membership changes by hand, a fake clock, a fake executor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vsf_cpg_route.h"
#include "vsf_wire.h"

#define N 4		/* node ids 1..4 */
#define GRACE 3000
#define QMAX 512

struct qmsg {
	uint32_t sender;
	size_t len;
	uint8_t buf[VSF_CPG_MSG_MAX];
};

struct node {
	uint32_t id;
	bool in_group;
	struct vsf_cpg_route *r;
	int nexec;
	uint64_t exec_handle[16];
	int exec_op[16];
	int ndone;
	uint64_t done_id[16];
	int done_rc[16];
};

static struct node nodes[N + 1];
static struct qmsg *queue;
static size_t qhead, qtail;
static uint64_t now;
static int send_fail;

static int fake_send(void *ctx, const void *buf, size_t len)
{
	struct node *n = ctx;

	if (!n->in_group || send_fail || qtail == QMAX)
		return -EAGAIN;
	queue[qtail].sender = n->id;
	queue[qtail].len = len;
	memcpy(queue[qtail++].buf, buf, len);
	return 0;
}

static void fake_exec(void *ctx, uint64_t handle, int op, const char *target,
		      uint64_t deadline)
{
	struct node *n = ctx;

	(void)target;
	(void)deadline;
	n->exec_handle[n->nexec] = handle;
	n->exec_op[n->nexec++] = op;
}

static void fake_done(void *ctx, uint64_t id, int rc)
{
	struct node *n = ctx;

	n->done_id[n->ndone] = id;
	n->done_rc[n->ndone++] = rc;
}

/* Deliver one queued message to every member; false if the queue is empty. */
static bool step(void)
{
	struct qmsg *q;

	if (qhead == qtail)
		return false;
	q = &queue[qhead++];
	for (int i = 1; i <= N; i++)
		if (nodes[i].in_group)
			CHECK_ERR(vsf_cpg_route_deliver(nodes[i].r, q->sender,
							q->buf, q->len, now), 0);
	return true;
}

static void pump(void)
{
	while (step())
		;
}

static void members(uint32_t *out, size_t *n)
{
	*n = 0;
	for (int i = 1; i <= N; i++)
		if (nodes[i].in_group)
			out[(*n)++] = (uint32_t)i;
}

/* CPG: everything sent before the change is delivered before it. */
static void join(int id)
{
	uint32_t m[N], j = (uint32_t)id;
	size_t nm;

	pump();
	nodes[id].in_group = true;
	members(m, &nm);
	for (int i = 1; i <= N; i++)
		if (nodes[i].in_group)
			vsf_cpg_route_confchg(nodes[i].r, m, nm, NULL, 0, &j, 1,
					      now);
	pump();
}

static void leave(int id, bool crashed)
{
	struct vsf_cpg_left l = { (uint32_t)id, crashed };
	uint32_t m[N];
	size_t nm;

	pump();
	nodes[id].in_group = false;
	members(m, &nm);
	for (int i = 1; i <= N; i++)
		if (nodes[i].in_group)
			vsf_cpg_route_confchg(nodes[i].r, m, nm, &l, 1, NULL, 0,
					      now);
}

static void quorum(bool q)
{
	for (int i = 1; i <= N; i++)
		vsf_cpg_route_quorum(nodes[i].r, q, now);
}

static void setup(int members_up)
{
	if (!queue)
		queue = calloc(QMAX, sizeof(*queue));
	for (int i = 1; i <= N; i++) {
		struct vsf_cpg_route_cfg cfg = {
			.self = (uint32_t)i,
			.grace_ms = GRACE,
			.first_id = (uint64_t)i * 1000,
			.cb = { &nodes[i], fake_send, fake_exec, fake_done },
		};

		vsf_cpg_route_free(nodes[i].r);
		memset(&nodes[i], 0, sizeof(nodes[i]));
		nodes[i].id = (uint32_t)i;
		nodes[i].r = vsf_cpg_route_new(&cfg);
	}
	qhead = qtail = 0;
	now = 1000;
	send_fail = 0;
	quorum(true);
	for (int i = 1; i <= members_up; i++)
		join(i);
}

static const uint8_t UA[16] = { 0xa }, UB[16] = { 0xb };

static void start(int id, const uint8_t *u, const char *name)
{
	CHECK_ERR(vsf_cpg_route_local(nodes[id].r, u, name,
				      VSF_CPG_DOM_RUNNING, now), 0);
}

static void stop(int id, const uint8_t *u, const char *name)
{
	CHECK_ERR(vsf_cpg_route_local(nodes[id].r, u, name, VSF_CPG_DOM_OFF,
				      now), 0);
}

/* How many entries node @at holds for (@owner, @name) in @state. */
static int has(int at, uint32_t owner, const char *name, int state)
{
	struct vsf_cpg_map *m = vsf_cpg_route_map(nodes[at].r);
	int k = 0;

	for (size_t i = 0; i < vsf_cpg_map_count(m); i++) {
		const struct vsf_cpg_entry *e = vsf_cpg_map_at(m, i);

		k += e->owner == owner && strcmp(e->name, name) == 0 &&
		     e->state == state;
	}
	return k;
}

static int64_t submit(int id, int op, const char *target)
{
	return vsf_cpg_route_submit(nodes[id].r, op, target, 5000, now);
}

TEST(events_are_broadcast_at_once)
{
	setup(3);
	start(2, UA, "a");
	pump();
	CHECK(has(1, 2, "a", VSF_CPG_DOM_RUNNING) && has(3, 2, "a", VSF_CPG_DOM_RUNNING));
	stop(2, UA, "a");
	pump();
	CHECK(has(1, 2, "a", VSF_CPG_DOM_OFF) && has(3, 2, "a", VSF_CPG_DOM_OFF));
	CHECK_ERR(vsf_cpg_route_local(nodes[2].r, UA, "a", VSF_CPG_DOM_GONE, now), 0);
	pump();
	CHECK_ERR(vsf_cpg_map_count(vsf_cpg_route_map(nodes[1].r)), 0);
}

TEST(joiner_receives_the_full_map)
{
	setup(2);
	start(1, UA, "a");
	start(2, UB, "b");
	pump();
	join(3);
	CHECK(has(3, 1, "a", VSF_CPG_DOM_RUNNING) && has(3, 2, "b", VSF_CPG_DOM_RUNNING));
	start(3, UA, "a");	/* and the joiner's own map reaches the others */
	pump();
	CHECK(has(1, 3, "a", VSF_CPG_DOM_RUNNING) && has(2, 3, "a", VSF_CPG_DOM_RUNNING));
}

TEST(sync_larger_than_one_message_arrives_whole)
{
	uint8_t u[16] = { 0 };
	char name[16];
	int n = 0;

	setup(1);
	for (int i = 0; i < 3 * VSF_CPG_SYNC_MAX; i++) {
		u[0] = (uint8_t)i;
		u[1] = (uint8_t)(i >> 8);
		snprintf(name, sizeof(name), "vm%d", i);
		CHECK_ERR(vsf_cpg_route_local(nodes[1].r, u, name, VSF_CPG_DOM_RUNNING, now), 0);
	}
	pump();
	join(2);
	for (size_t i = 0; i < vsf_cpg_map_count(vsf_cpg_route_map(nodes[2].r)); i++)
		n += vsf_cpg_map_at(vsf_cpg_route_map(nodes[2].r), i)->owner == 1;
	CHECK_ERR(n, 3 * VSF_CPG_SYNC_MAX);
}

TEST(request_reaches_owner_and_reply_is_matched)
{
	int64_t id;

	setup(3);
	start(3, UA, "a");
	pump();
	id = submit(1, VSF_OP_OFF, "a");
	CHECK(id == 1000);
	pump();
	CHECK_ERR(nodes[3].nexec, 1);
	CHECK_ERR(nodes[1].nexec + nodes[2].nexec, 0);
	CHECK_ERR(nodes[1].ndone, 0);	/* owner has not acted yet */
	CHECK(vsf_cpg_route_exec_from(nodes[3].r,
				      nodes[3].exec_handle[0]) == 1);
	vsf_cpg_route_exec_done(nodes[3].r, nodes[3].exec_handle[0], 0);
	CHECK(vsf_cpg_route_exec_from(nodes[3].r,
				      nodes[3].exec_handle[0]) == 0);
	pump();
	CHECK_ERR(nodes[1].ndone, 1);
	CHECK(nodes[1].done_id[0] == 1000);
	CHECK_ERR(nodes[1].done_rc[0], 0);
	CHECK_ERR(nodes[2].ndone + nodes[3].ndone, 0);
}

TEST(owner_failure_is_reported)
{
	setup(3);
	start(2, UA, "a");
	pump();
	submit(1, VSF_OP_REBOOT, "a");
	pump();
	vsf_cpg_route_exec_done(nodes[2].r, nodes[2].exec_handle[0], -EIO);
	pump();
	CHECK_ERR(nodes[1].done_rc[0], -EIO);
}

/* A forged or stray REPLY must never complete a request. */
TEST(replies_match_id_node_and_sender)
{
	struct vsf_cpg_msg m = { .type = VSF_CPG_REPLY };
	uint8_t b[64];
	int n;

	setup(3);
	submit(1, VSF_OP_OFF, "nosuch");
	CHECK(step());	/* REQUEST delivered: 3 replies queued */
	m.u.reply.id = 1000;
	m.u.reply.verdict = VSF_CPG_V_DONE;
	m.u.reply.to_node = 2;	/* addressed to someone else */
	n = vsf_cpg_msg_encode(&m, b, sizeof(b));
	vsf_cpg_route_deliver(nodes[1].r, 3, b, (size_t)n, now);
	m.u.reply.to_node = 1;
	m.u.reply.id = 999;	/* wrong id */
	n = vsf_cpg_msg_encode(&m, b, sizeof(b));
	vsf_cpg_route_deliver(nodes[1].r, 3, b, (size_t)n, now);
	m.u.reply.id = 1000;	/* right, but from a non-member */
	n = vsf_cpg_msg_encode(&m, b, sizeof(b));
	vsf_cpg_route_deliver(nodes[1].r, 4, b, (size_t)n, now);
	CHECK(step() && step());	/* replies of 1 and 2 */
	CHECK_ERR(nodes[1].ndone, 0);
	/* a second reply from node 2 does not stand in for node 3 */
	vsf_cpg_route_deliver(nodes[1].r, 2, b, (size_t)n, now);
	CHECK_ERR(nodes[1].ndone, 0);
	CHECK(step());
	CHECK_ERR(nodes[1].ndone, 1);
	CHECK_ERR(nodes[1].done_rc[0], -ENOENT);
}

TEST(not_running_only_after_every_member_replied)
{
	setup(3);
	start(2, UA, "a");
	stop(2, UA, "a");
	pump();
	submit(1, VSF_OP_OFF, "a");
	CHECK(step());	/* the REQUEST */
	CHECK(step() && step());
	CHECK_ERR(nodes[1].ndone, 0);	/* two of three answered */
	CHECK(step());
	CHECK_ERR(nodes[1].ndone, 1);
	CHECK_ERR(nodes[1].done_rc[0], 0);	/* known and off everywhere */
	submit(1, VSF_OP_STATUS, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[1], VSF_CPG_RC_OFF);
	submit(1, VSF_OP_ON, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[2], -EOPNOTSUPP);
	submit(1, VSF_OP_OFF, "never-heard-of");
	pump();
	CHECK_ERR(nodes[1].done_rc[3], -ENOENT);
}

/* Stock's hazard: a just-started domain reported fenced while it runs. */
TEST(just_started_domain_is_acted_on_not_reported_off)
{
	setup(3);
	start(3, UA, "a");	/* STATE still queued, nobody else knows */
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[3].nexec, 1);
	CHECK_ERR(nodes[1].ndone, 0);
	vsf_cpg_route_exec_done(nodes[3].r, nodes[3].exec_handle[0], 0);
	pump();
	CHECK_ERR(nodes[1].done_rc[0], 0);
}

TEST(mid_migration_both_hosts_act)
{
	setup(3);
	start(2, UA, "a");
	start(3, UA, "a");	/* destination resumed, source not stopped */
	pump();
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[2].nexec, 1);
	CHECK_ERR(nodes[3].nexec, 1);
	vsf_cpg_route_exec_done(nodes[3].r, nodes[3].exec_handle[0], 0);
	pump();
	CHECK_ERR(nodes[1].ndone, 0);	/* the source is still acting */
	vsf_cpg_route_exec_done(nodes[2].r, nodes[2].exec_handle[0], -ENOENT);
	pump();
	CHECK_ERR(nodes[1].done_rc[0], 0);
}

/* The destination's "started" lands after the cut: we may have missed it. */
TEST(migration_landing_during_a_request_means_retry)
{
	setup(3);
	start(2, UA, "a");
	pump();
	submit(1, VSF_OP_OFF, "a");
	CHECK(step());	/* the cut: only 2 runs it */
	start(3, UA, "a");	/* incoming migration on 3 */
	pump();
	CHECK_ERR(nodes[1].ndone, 1);
	CHECK_ERR(nodes[1].done_rc[0], -EAGAIN);
	/* the retry sees both hosts and both act */
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[2].nexec, 2);
	CHECK_ERR(nodes[3].nexec, 1);
}

TEST(owner_restarting_its_domain_is_not_a_race)
{
	setup(3);
	start(2, UA, "a");
	pump();
	submit(1, VSF_OP_REBOOT, "a");
	pump();
	stop(2, UA, "a");	/* the reboot's own lifecycle events */
	start(2, UA, "a");
	vsf_cpg_route_exec_done(nodes[2].r, nodes[2].exec_handle[0], 0);
	pump();
	CHECK_ERR(nodes[1].done_rc[0], 0);
}

TEST(every_wait_has_a_deadline)
{
	setup(3);
	start(3, UA, "a");
	pump();
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(vsf_cpg_route_next(nodes[1].r), now + 5000);
	now += 4999;
	vsf_cpg_route_tick(nodes[1].r, now);
	CHECK_ERR(nodes[1].ndone, 0);
	now += 1;
	vsf_cpg_route_tick(nodes[1].r, now);
	CHECK_ERR(nodes[1].done_rc[0], -ETIMEDOUT);
	/* the late reply is ignored */
	vsf_cpg_route_exec_done(nodes[3].r, nodes[3].exec_handle[0], 0);
	pump();
	CHECK_ERR(nodes[1].ndone, 1);
}

TEST(owner_crash_mid_request_fails_then_grace_then_off)
{
	setup(3);
	start(3, UA, "a");
	pump();
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[3].nexec, 1);
	leave(3, true);	/* NODEDOWN */
	CHECK_ERR(nodes[1].done_rc[0], -EAGAIN);
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[1], -EAGAIN);	/* in grace: BLOCKED */
	submit(2, VSF_OP_OFF, "other");
	pump();
	CHECK_ERR(nodes[2].done_rc[0], -EAGAIN);	/* nothing is "off" now */
	now += GRACE;
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[2], 0);	/* host gone: its guests are off */
	submit(1, VSF_OP_STATUS, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[3], VSF_CPG_RC_OFF);
}

TEST(grace_counts_only_quorate_time)
{
	setup(3);
	start(3, UA, "a");
	pump();
	leave(3, true);
	quorum(false);
	now += 10 * GRACE;
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[0], -EAGAIN);
	quorum(true);
	now += GRACE - 1;
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[1], -EAGAIN);
	now += 1;
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[2], 0);
}

TEST(not_quorate_never_answers_off_but_owner_still_acts)
{
	setup(3);
	start(2, UA, "a");
	stop(1, UB, "b");
	pump();
	quorum(false);
	submit(1, VSF_OP_OFF, "b");
	pump();
	CHECK_ERR(nodes[1].done_rc[0], -EAGAIN);
	submit(1, VSF_OP_OFF, "a");
	pump();
	vsf_cpg_route_exec_done(nodes[2].r, nodes[2].exec_handle[0], 0);
	pump();
	CHECK_ERR(nodes[1].done_rc[1], 0);
}

TEST(clean_leave_blocks_until_the_host_returns)
{
	setup(3);
	start(3, UA, "a");
	pump();
	leave(3, false);	/* PROCDOWN: guests may still run */
	now += 100 * GRACE;
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[0], -EAGAIN);
	/* it comes back with the domain still running: it acts */
	vsf_cpg_route_disconnected(nodes[3].r);
	join(3);
	CHECK(has(1, 3, "a", VSF_CPG_DOM_RUNNING));
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[3].nexec, 1);
	vsf_cpg_route_exec_done(nodes[3].r, nodes[3].exec_handle[0], 0);
	pump();
	CHECK_ERR(nodes[1].done_rc[1], 0);
}

TEST(operator_forget_releases_a_clean_leaver)
{
	setup(3);
	start(3, UA, "a");
	pump();
	leave(3, false);
	vsf_cpg_route_forget(nodes[1].r, 3);
	vsf_cpg_route_forget(nodes[2].r, 3);
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[1].done_rc[0], -ENOENT);	/* no longer known */
}

TEST(join_during_a_request_means_retry)
{
	setup(2);
	start(2, UA, "a");
	pump();
	submit(1, VSF_OP_OFF, "a");
	CHECK(step());	/* REQUEST delivered to 1 and 2 */
	join(3);	/* 3 never saw it */
	vsf_cpg_route_exec_done(nodes[2].r, nodes[2].exec_handle[0], 0);
	pump();
	CHECK_ERR(nodes[1].ndone, 1);
	CHECK_ERR(nodes[1].done_rc[0], -EAGAIN);
}

TEST(local_disconnect_fails_cleanly_and_resyncs)
{
	int before;

	setup(3);
	start(2, UA, "a");
	start(1, UB, "b");
	pump();
	submit(1, VSF_OP_OFF, "a");
	vsf_cpg_route_disconnected(nodes[1].r);
	nodes[1].in_group = false;
	CHECK_ERR(nodes[1].done_rc[0], -EAGAIN);
	CHECK_ERR(submit(1, VSF_OP_OFF, "a"), -EAGAIN);
	CHECK(!has(1, 2, "a", VSF_CPG_DOM_RUNNING));
	leave(1, false);	/* the others see our corosync go */
	stop(1, UB, "b");	/* an event during the gap */
	start(2, UB, "b2");
	join(1);
	CHECK(has(1, 2, "a", VSF_CPG_DOM_RUNNING));
	CHECK(has(1, 2, "b2", VSF_CPG_DOM_RUNNING));
	CHECK(has(2, 1, "b", VSF_CPG_DOM_OFF));	/* our gap event arrived */
	CHECK(vsf_cpg_route_connected(nodes[1].r));
	before = nodes[2].nexec;	/* the orphaned REQUEST may have run */
	submit(1, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[2].nexec, before + 1);
	vsf_cpg_route_exec_done(nodes[2].r, nodes[2].exec_handle[before], 0);
	pump();
	CHECK_ERR(nodes[1].done_rc[1], 0);
}

TEST(newcomer_learns_of_a_lost_host_by_hearsay)
{
	setup(3);
	start(3, UA, "a");
	pump();
	leave(3, true);
	now += GRACE - 500;
	join(4);
	CHECK_ERR(vsf_cpg_map_node(vsf_cpg_route_map(nodes[4].r), 3)->status,
		  VSF_CPG_NODE_LOST);
	CHECK(has(4, 3, "a", VSF_CPG_DOM_RUNNING));
	now += 500;	/* 1 and 2 are past grace; 4's grace began at its join */
	submit(4, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[4].done_rc[0], -EAGAIN);
	now += GRACE;
	submit(4, VSF_OP_OFF, "a");
	pump();
	CHECK_ERR(nodes[4].done_rc[1], 0);
}

TEST(failed_state_send_is_retried_as_sync)
{
	setup(2);
	send_fail = 1;
	start(2, UA, "a");
	send_fail = 0;
	pump();
	CHECK(!has(1, 2, "a", VSF_CPG_DOM_RUNNING));
	CHECK(vsf_cpg_route_next(nodes[2].r) <= now + 200);
	now += 200;
	vsf_cpg_route_tick(nodes[2].r, now);
	pump();
	CHECK(has(1, 2, "a", VSF_CPG_DOM_RUNNING));
	CHECK_ERR(vsf_cpg_route_next(nodes[2].r), UINT64_MAX);
}

TEST(submit_checks_its_arguments)
{
	setup(1);
	CHECK_ERR(submit(1, VSF_OP_HOSTLIST, "a"), -EINVAL);
	CHECK_ERR(submit(1, VSF_OP_OFF, ""), -EINVAL);
	CHECK_ERR(vsf_cpg_route_submit(nodes[1].r, VSF_OP_OFF, "a", 0, now), -EINVAL);
	send_fail = 1;
	CHECK_ERR(submit(1, VSF_OP_OFF, "a"), -EAGAIN);
	send_fail = 0;
	CHECK_ERR(vsf_cpg_route_deliver(nodes[1].r, 1, "junk", 4, now), -EPROTO);
}

int main(void)
{
	int rc = RUN_TESTS();

	for (int i = 1; i <= N; i++)
		vsf_cpg_route_free(nodes[i].r);
	free(queue);
	return rc;
}
