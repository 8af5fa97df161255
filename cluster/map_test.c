/* map_test.c - the domain map, the host table and the verdict rule. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "vsf_cpg_map.h"

#define GRACE 1000

static uint8_t U1[16] = { 1 }, U2[16] = { 2 };
static const char *U1S = "01000000-0000-0000-0000-000000000000";

TEST(each_host_speaks_for_itself)
{
	struct vsf_cpg_map *m = vsf_cpg_map_new(1);

	CHECK_ERR(vsf_cpg_map_set(m, 2, U1, "a", VSF_CPG_DOM_OFF), 0);
	CHECK_ERR(vsf_cpg_map_set(m, 3, U1, "a", VSF_CPG_DOM_RUNNING), 0);
	CHECK_ERR(vsf_cpg_map_count(m), 2);	/* mid-migration: both */
	CHECK_ERR(vsf_cpg_map_set(m, 3, U1, "a", VSF_CPG_DOM_GONE), 0);
	CHECK_ERR(vsf_cpg_map_count(m), 1);
	CHECK_ERR(vsf_cpg_map_at(m, 0)->owner, 2);
	CHECK_ERR(vsf_cpg_map_set(m, 2, U1, "", VSF_CPG_DOM_OFF), -EINVAL);
	CHECK_ERR(vsf_cpg_map_set(m, 2, U1, "a", 7), -EINVAL);
	vsf_cpg_map_free(m);
}

TEST(verdict_done_only_for_own_running_domain)
{
	struct vsf_cpg_map *m = vsf_cpg_map_new(1);

	vsf_cpg_map_quorum(m, true, 0);
	vsf_cpg_map_set(m, 1, U1, "a", VSF_CPG_DOM_RUNNING);
	vsf_cpg_map_set(m, 2, U2, "b", VSF_CPG_DOM_RUNNING);
	CHECK_ERR(vsf_cpg_map_verdict(m, "a", GRACE, 0), VSF_CPG_V_DONE);
	CHECK_ERR(vsf_cpg_map_verdict(m, U1S, GRACE, 0), VSF_CPG_V_DONE);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 0), VSF_CPG_V_OFF);
	CHECK_ERR(vsf_cpg_map_verdict(m, "zz", GRACE, 0), VSF_CPG_V_UNKNOWN);
	vsf_cpg_map_set(m, 1, U1, "a", VSF_CPG_DOM_OFF);
	CHECK_ERR(vsf_cpg_map_verdict(m, "a", GRACE, 0), VSF_CPG_V_OFF);
	vsf_cpg_map_free(m);
}

TEST(lost_host_blocks_until_quorate_grace_passes)
{
	struct vsf_cpg_map *m = vsf_cpg_map_new(1);

	vsf_cpg_map_quorum(m, true, 0);
	vsf_cpg_map_member(m, 2);
	vsf_cpg_map_set(m, 2, U2, "b", VSF_CPG_DOM_RUNNING);
	vsf_cpg_map_left(m, 2, true, 100);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 100), VSF_CPG_V_BLOCKED);
	CHECK_ERR(vsf_cpg_map_verdict(m, "x", GRACE, 100), VSF_CPG_V_BLOCKED);
	CHECK_ERR(vsf_cpg_map_next_grace(m, GRACE), 1100);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 1099), VSF_CPG_V_BLOCKED);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 1100), VSF_CPG_V_OFF);
	CHECK_ERR(vsf_cpg_map_verdict(m, "x", GRACE, 1100), VSF_CPG_V_UNKNOWN);
	/* grace 0 = never decide alone */
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", 0, 999999), VSF_CPG_V_BLOCKED);
	vsf_cpg_map_free(m);
}

TEST(losing_quorum_restarts_the_grace)
{
	struct vsf_cpg_map *m = vsf_cpg_map_new(1);

	vsf_cpg_map_quorum(m, true, 0);
	vsf_cpg_map_set(m, 2, U2, "b", VSF_CPG_DOM_RUNNING);
	vsf_cpg_map_left(m, 2, true, 0);
	vsf_cpg_map_quorum(m, false, 900);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 5000), VSF_CPG_V_BLOCKED);
	CHECK_ERR(vsf_cpg_map_next_grace(m, GRACE), UINT64_MAX);
	vsf_cpg_map_quorum(m, true, 6000);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 6999), VSF_CPG_V_BLOCKED);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 7000), VSF_CPG_V_OFF);
	vsf_cpg_map_free(m);
}

TEST(clean_leave_blocks_until_rejoin_or_forget)
{
	struct vsf_cpg_map *m = vsf_cpg_map_new(1);

	vsf_cpg_map_quorum(m, true, 0);
	vsf_cpg_map_set(m, 2, U2, "b", VSF_CPG_DOM_RUNNING);
	vsf_cpg_map_left(m, 2, false, 0);
	CHECK_ERR(vsf_cpg_map_node(m, 2)->status, VSF_CPG_NODE_ABSENT);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 1000000), VSF_CPG_V_BLOCKED);
	vsf_cpg_map_member(m, 2);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 1000000), VSF_CPG_V_OFF);
	vsf_cpg_map_left(m, 2, false, 0);
	vsf_cpg_map_forget_node(m, 2);
	CHECK(vsf_cpg_map_node(m, 2) == NULL);
	CHECK_ERR(vsf_cpg_map_verdict(m, "b", GRACE, 0), VSF_CPG_V_UNKNOWN);
	vsf_cpg_map_free(m);
}

TEST(hearsay_never_overrides_first_hand)
{
	struct vsf_cpg_map *m = vsf_cpg_map_new(1);

	vsf_cpg_map_member(m, 2);
	CHECK_ERR(vsf_cpg_map_hearsay(m, 2, VSF_CPG_NODE_LOST, 5), 0);
	CHECK_ERR(vsf_cpg_map_node(m, 2)->status, VSF_CPG_NODE_MEMBER);
	CHECK_ERR(vsf_cpg_map_hearsay(m, 3, VSF_CPG_NODE_ABSENT, 5), 0);
	CHECK_ERR(vsf_cpg_map_node(m, 3)->status, VSF_CPG_NODE_ABSENT);
	CHECK_ERR(vsf_cpg_map_hearsay(m, 4, VSF_CPG_NODE_MEMBER, 5), -EINVAL);
	CHECK_ERR(vsf_cpg_map_hearsay(m, 1, VSF_CPG_NODE_LOST, 5), 0);
	CHECK(vsf_cpg_map_node(m, 1) == NULL);
	vsf_cpg_map_left(m, 1, true, 0);	/* never LOST ourselves */
	CHECK(vsf_cpg_map_node(m, 1) == NULL);
	vsf_cpg_map_free(m);
}

TEST(map_and_host_table_are_bounded)
{
	struct vsf_cpg_map *m = vsf_cpg_map_new(1);
	uint8_t u[16] = { 0 };
	int rc = 0;

	for (int i = 0; i < VSF_CPG_MAP_MAX && rc == 0; i++) {
		memcpy(u, &i, sizeof(i));
		rc = vsf_cpg_map_set(m, 2, u, "x", VSF_CPG_DOM_OFF);
	}
	CHECK_ERR(rc, 0);
	u[8] = 1;
	CHECK_ERR(vsf_cpg_map_set(m, 2, u, "x", VSF_CPG_DOM_OFF), -ENOSPC);
	vsf_cpg_map_clear_remote(m);
	CHECK_ERR(vsf_cpg_map_count(m), 0);
	for (uint32_t n = 2; n < 2 + VSF_CPG_NODES_MAX; n++)
		rc = vsf_cpg_map_member(m, n);
	CHECK_ERR(rc, 0);
	CHECK_ERR(vsf_cpg_map_member(m, 999), -ENOSPC);
	vsf_cpg_map_free(m);
}

int main(void)
{
	return RUN_TESTS();
}
