/* result_test.c - outcomes to exit codes: fence_virt's four plus ours. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "check.h"
#include "result.h"
#include "vsf_v2.h"
#include "vsf_wire.h"

static int exit_for(int rc, int version, int code)
{
	struct agent_call c = { .version = version, .code = code };

	return agent_exit_code(rc, &c);
}

TEST(v1_results_keep_fence_virt_codes)
{
	CHECK_ERR(exit_for(0, 1, VSF_RESULT_SUCCESS), 0);
	CHECK_ERR(exit_for(0, 1, VSF_RESULT_FAIL), 1);
	CHECK_ERR(exit_for(0, 1, VSF_RESULT_OFF), 2);
	CHECK_ERR(exit_for(0, 1, VSF_RESULT_DENIED), 3);
	CHECK_ERR(exit_for(0, 1, VSF_RESULT_HOSTLIST), 0);
	CHECK_ERR(exit_for(0, 1, 77), 1);	/* unknown byte: failure */
}

TEST(v2_results_are_distinct)
{
	CHECK_ERR(exit_for(0, 2, VSF_V2_RESULT_OK), 0);
	CHECK_ERR(exit_for(0, 2, VSF_V2_RESULT_OFF), 2);
	CHECK_ERR(exit_for(0, 2, VSF_V2_RESULT_DENIED), 3);
	CHECK_ERR(exit_for(0, 2, VSF_V2_RESULT_NOT_FOUND), 4);
	CHECK_ERR(exit_for(0, 2, VSF_V2_RESULT_BAD_AUTH), 5);
	CHECK_ERR(exit_for(0, 2, VSF_V2_RESULT_TIMED_OUT), 1);
	CHECK_ERR(exit_for(0, 2, VSF_V2_RESULT_REPLAY), 1);
}

TEST(transport_failures)
{
	CHECK_ERR(exit_for(-EBADMSG, 0, -1), 5);	/* wrong key */
	CHECK_ERR(exit_for(-ECONNRESET, 0, -1), 5);	/* tcp hang-up */
	CHECK_ERR(exit_for(-ETIMEDOUT, 0, -1), 6);
	CHECK_ERR(exit_for(-ENOTCONN, 0, -1), 6);
	CHECK_ERR(exit_for(-EBUSY, 0, -1), 6);
	CHECK_ERR(exit_for(-ECONNREFUSED, 0, -1), 6);
	CHECK_ERR(exit_for(-EREMOTEIO, 0, VSF_V2_RESULT_BAD_AUTH), 5);
	CHECK_ERR(exit_for(-ENAMETOOLONG, 0, -1), 1);
	CHECK_ERR(exit_for(-ENOMEM, 0, -1), 125);
}

TEST(messages_name_the_cause)
{
	struct agent_call c = { .version = 2, .code = VSF_V2_RESULT_NOT_FOUND };
	char buf[128];

	CHECK(strstr(agent_outcome_text(0, &c, buf, sizeof(buf)),
		     "no such domain") != NULL);
	CHECK(strstr(agent_outcome_text(-EBADMSG, &c, buf, sizeof(buf)),
		     "key") != NULL);
	CHECK(strstr(agent_outcome_text(-ENOTCONN, &c, buf, sizeof(buf)),
		     "not connected") != NULL);
	CHECK(strstr(agent_outcome_text(-EREMOTEIO, &c, buf, sizeof(buf)),
		     "unauthenticated") != NULL);
}

int main(void)
{
	return RUN_TESTS();
}
