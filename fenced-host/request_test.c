/*
 * request_test.c - the pipeline with the fake backend and real workers:
 * dedupe, ACL, serialisation per target, deadlines, host list filtering.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_backend.h"
#include "request.h"

#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

struct got {
	int n;
	int rc[32];
	size_t hl_n;
	char hl_first[64];
};

static void on_reply(void *ctx, struct vsf_req *req, int rc,
		     const struct vsf_hostlist *hl)
{
	struct got *g = ctx;

	(void)req;
	if (g->n < 32)
		g->rc[g->n] = rc;
	g->n++;
	if (hl && hl->n) {
		g->hl_n = hl->n;
		strcpy(g->hl_first, hl->recs[0].name);
	}
}

static void rig_up(struct fake_rig *r, const char *groups, uint64_t timeout_ms)
{
	CHECK_ERR(fake_rig_up(r, groups, timeout_ms), 0);
	fake_backend_add(&r->fb, "guest1", U1, 1);
	fake_backend_add(&r->fb, "guest2", U2, 1);
	fake_backend_add(&r->fb, "guest3", "33333333-2222-3333-4444-555555555555", 0);
}

/* Run the loop until @g has @n replies or 5 s pass. */
static void wait_replies(struct fake_rig *r, struct got *g, int n)
{
	uint64_t end = vsf_now_ms() + 5000;

	while (g->n < n && vsf_now_ms() < end)
		vsf_loop_run_once(r->loop, 100);
}

static struct vsf_peer peer(const char *src)
{
	struct vsf_peer p = { { 0 }, { 0 } };

	strcpy(p.src, src);
	snprintf(p.desc, sizeof(p.desc), "test:%s", src);
	return p;
}

TEST(off_then_status_goes_through_the_backend)
{
	struct fake_rig r;
	struct got g = { 0 };
	struct vsf_peer pe = peer(U1);

	rig_up(&r, NULL, 5000);
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest2", 1, 0,
				  on_reply,
				  &g) != NULL);
	wait_replies(&r, &g, 1);
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_STATUS, "guest2", 2,
				  0, on_reply, &g) != NULL);
	wait_replies(&r, &g, 2);
	CHECK_ERR(g.n, 2);
	CHECK_ERR(g.rc[0], 0);
	CHECK_ERR(g.rc[1], VSF_BACKEND_OFF);
	CHECK_ERR(vsf_v1_result(VSF_OP_STATUS, g.rc[1]), 2);
	fflush(r.logf);
	CHECK(strstr(r.logbuf, "notice: request #1 from test:" U1
		     ": off guest2 -> ok (") != NULL);
	fake_rig_down(&r);
}

TEST(duplicate_gets_cached_reply_without_a_second_backend_call)
{
	struct fake_rig r;
	struct got g = { 0 };
	struct vsf_peer pe = peer(U1);

	rig_up(&r, NULL, 5000);
	vsf_pipeline_submit(r.p, &pe, VSF_OP_REBOOT, "guest1", 77, 0,
			    on_reply, &g);
	wait_replies(&r, &g, 1);
	/* retransmit after completion: cached, synchronous */
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_REBOOT, "GUEST1", 77,
				  0, on_reply, &g) == NULL);
	CHECK_ERR(g.n, 2);
	CHECK_ERR(g.rc[1], 0);
	CHECK_ERR(r.fb.total_calls, 1);
	/* another source with the same seqno is not a duplicate */
	pe = peer(U2);
	vsf_pipeline_submit(r.p, &pe, VSF_OP_REBOOT, "guest1", 77, 0,
			    on_reply, &g);
	wait_replies(&r, &g, 3);
	CHECK_ERR(r.fb.total_calls, 2);
	fake_rig_down(&r);
}

TEST(duplicate_while_running_joins_the_original)
{
	struct fake_rig r;
	struct got g1 = { 0 }, g2 = { 0 };
	struct vsf_peer pe = peer(U1);

	rig_up(&r, NULL, 5000);
	r.fb.delay_ms = 100;
	vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest1", 5, 0,
			    on_reply, &g1);
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest1", 5, 0,
				  on_reply, &g2) != NULL);
	wait_replies(&r, &g2, 1);
	wait_replies(&r, &g1, 1);
	CHECK_ERR(g1.n, 1);
	CHECK_ERR(g2.n, 1);
	CHECK_ERR(g2.rc[0], 0);
	CHECK_ERR(r.fb.total_calls, 1);
	fake_rig_down(&r);
}

TEST(v2_duplicate_while_running_is_answered_in_progress_then_cached)
{
	struct fake_rig r;
	struct got g1 = { 0 }, g2 = { 0 }, g3 = { 0 };
	struct vsf_peer pe = peer(U1);

	rig_up(&r, NULL, 5000);
	r.fb.delay_ms = 100;
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest1", 5,
				  VSF_SUBMIT_IN_PROGRESS, on_reply,
				  &g1) != NULL);
	/* the retry is answered at once, before the original finishes */
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest1", 5,
				  VSF_SUBMIT_IN_PROGRESS, on_reply,
				  &g2) == NULL);
	CHECK_ERR(g2.n, 1);
	CHECK_ERR(g2.rc[0], -EINPROGRESS);
	CHECK_ERR(g1.n, 0);
	wait_replies(&r, &g1, 1);
	CHECK_ERR(g1.rc[0], 0);
	CHECK_ERR(g2.n, 1);	/* nothing more for the answered retry */
	/* the next retry gets the final result from the cache */
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest1", 5,
				  VSF_SUBMIT_IN_PROGRESS, on_reply,
				  &g3) == NULL);
	CHECK_ERR(g3.n, 1);
	CHECK_ERR(g3.rc[0], 0);
	CHECK_ERR(r.fb.total_calls, 1);
	fflush(r.logf);
	CHECK(strstr(r.logbuf, "retransmit, answering in progress") != NULL);
	fake_rig_down(&r);
}

/* Under ASan, LeakSanitizer fails this test if the request is leaked. */
TEST(hostlist_submitted_while_stopping_is_answered_and_freed)
{
	struct fake_rig r;
	struct got g = { 0 }, h = { 0 };
	struct vsf_peer pe = peer(U1);

	rig_up(&r, NULL, 5000);
	vsf_pipeline_submit(r.p, &pe, VSF_OP_HOSTLIST, "", 1, 0, on_reply, &g);
	wait_replies(&r, &g, 1);
	CHECK_ERR(g.rc[0], 0);
	vsf_pipeline_stop(r.p);
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_HOSTLIST, "", 2, 0,
				  on_reply, &h) == NULL);
	CHECK_ERR(h.n, 1);
	CHECK_ERR(h.rc[0], -ECANCELED);
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest1", 3, 0,
				  on_reply, &h) == NULL);
	CHECK_ERR(h.n, 2);
	CHECK_ERR(h.rc[1], -ECANCELED);
	CHECK_ERR(r.fb.total_calls, 0);
	CHECK_ERR(vsf_pipeline_inflight(r.p), 0);
	fake_rig_down(&r);
}

TEST(groups_deny_with_3_and_filter_the_host_list)
{
	struct fake_rig r;
	struct got g = { 0 }, h = { 0 };
	struct vsf_peer pe = peer(U1);

	rig_up(&r, "groups { group { uuid = \"" U1 "\"; uuid = \"guest2\"; } }",
	       5000);
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest3", 1, 0,
				  on_reply,
				  &g) == NULL);
	CHECK_ERR(g.rc[0], -EACCES);
	CHECK_ERR(vsf_v1_result(VSF_OP_OFF, g.rc[0]), 3);
	CHECK_ERR(r.fb.total_calls, 0);
	vsf_pipeline_submit(r.p, &pe, VSF_OP_HOSTLIST, "", 2, 0, on_reply, &h);
	wait_replies(&r, &h, 1);
	CHECK_ERR(h.rc[0], 0);
	/* guest1 is listed by its UUID (the source's own entry), guest2 by
	 * name, guest3 not at all */
	CHECK_ERR(h.hl_n, 2);
	CHECK_STR(h.hl_first, "guest1");
	fflush(r.logf);
	CHECK(strstr(r.logbuf, "off guest3 denied by groups") != NULL);
	fake_rig_down(&r);
}

TEST(same_target_is_serialised_different_targets_run_concurrently)
{
	struct fake_rig r;
	struct got g = { 0 };
	struct vsf_peer pe = peer(U1);

	rig_up(&r, NULL, 5000);
	r.fb.delay_ms = 50;
	for (uint32_t i = 0; i < 3; i++) {
		vsf_pipeline_submit(r.p, &pe, VSF_OP_REBOOT, "guest1", 10 + i,
				    0, on_reply, &g);
		vsf_pipeline_submit(r.p, &pe, VSF_OP_REBOOT, "guest2", 20 + i,
				    0, on_reply, &g);
	}
	wait_replies(&r, &g, 6);
	CHECK_ERR(g.n, 6);
	CHECK_ERR(r.fb.max_same, 1);
	CHECK_ERR(r.fb.max_active, 2);
	fake_rig_down(&r);
}

TEST(backend_deadline_replies_timeout_and_frees_the_target_later)
{
	struct fake_rig r;
	struct got g = { 0 };
	struct vsf_peer pe = peer(U1);

	rig_up(&r, NULL, 50);
	r.fb.delay_ms = 300;
	vsf_pipeline_submit(r.p, &pe, VSF_OP_OFF, "guest1", 1, 0, on_reply, &g);
	wait_replies(&r, &g, 1);
	CHECK_ERR(g.n, 1);
	CHECK_ERR(g.rc[0], -ETIMEDOUT);
	CHECK_ERR(vsf_pipeline_inflight(r.p), 1);
	/* the backend still finishes; no second reply */
	while (vsf_pipeline_inflight(r.p))
		vsf_loop_run_once(r.loop, 100);
	CHECK_ERR(g.n, 1);
	fake_rig_down(&r);
}

TEST(unknown_domain_and_trivial_ops)
{
	struct fake_rig r;
	struct got g = { 0 };
	struct vsf_peer pe = peer("127.0.0.1");

	rig_up(&r, NULL, 5000);
	vsf_pipeline_submit(r.p, &pe, VSF_OP_STATUS, "nosuch", 1, 0,
			    on_reply, &g);
	vsf_pipeline_submit(r.p, &pe, VSF_OP_REBOOT, "nosuch", 2, 0,
			    on_reply, &g);
	wait_replies(&r, &g, 2);
	CHECK_ERR(g.rc[0], -ENOENT);
	CHECK_ERR(vsf_v1_result(VSF_OP_STATUS, g.rc[0]), 2);
	CHECK_ERR(vsf_v1_result(VSF_OP_REBOOT, g.rc[1]), 1);
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_DEVSTATUS, "", 3, 0,
				  on_reply,
				  &g) == NULL);
	CHECK_ERR(g.rc[2], 0);
	CHECK(vsf_pipeline_submit(r.p, &pe, VSF_OP_NULL, "", 4, 0, on_reply,
				  &g) == NULL);
	CHECK_ERR(vsf_v1_result(VSF_OP_NULL, g.rc[3]), 1);
	fake_rig_down(&r);
}

TEST(detached_listener_gets_no_reply)
{
	struct fake_rig r;
	struct got g = { 0 };
	struct vsf_peer pe = peer(U1);
	struct vsf_req *req;

	rig_up(&r, NULL, 5000);
	r.fb.delay_ms = 20;
	req = vsf_pipeline_submit(r.p, &pe, VSF_OP_ON, "guest3", 1, 0,
				  on_reply, &g);
	vsf_req_detach(req);
	while (vsf_pipeline_inflight(r.p))
		vsf_loop_run_once(r.loop, 100);
	CHECK_ERR(g.n, 0);
	CHECK_ERR(fake_backend_vm(&r.fb, "guest3")->running, 1);
	fake_rig_down(&r);
}

int main(void)
{
	return RUN_TESTS();
}
