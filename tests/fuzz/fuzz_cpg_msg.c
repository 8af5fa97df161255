/*
 * fuzz_cpg_msg - the CPG message decoder (cluster/vsf_cpg_msg.c): bytes a
 * peer daemon multicast to the group.  Input: one raw message.  Whatever
 * decodes must re-encode to the same bytes (the format has no slack: every
 * reserved field is zero and every length exact).
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "vsf_cpg_msg.h"

static struct vsf_cpg_msg m;
static uint8_t again[VSF_CPG_MSG_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n;

	memset(&m, 0, sizeof(m));
	if (vsf_cpg_msg_decode(data, size, &m) < 0)
		return 0;
	FUZZ_ASSERT(size <= VSF_CPG_MSG_MAX);
	FUZZ_ASSERT(m.type >= VSF_CPG_STATE && m.type <= VSF_CPG_REPLY);
	if (m.type == VSF_CPG_SYNC)
		FUZZ_ASSERT(m.u.sync.n <= VSF_CPG_SYNC_MAX);
	n = vsf_cpg_msg_encode(&m, again, sizeof(again));
	FUZZ_ASSERT(n >= 0 && (size_t)n == size);
	FUZZ_ASSERT(memcmp(again, data, size) == 0);
	return 0;
}
