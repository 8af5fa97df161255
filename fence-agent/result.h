/*
 * result.h - from a call's outcome to the exit code pacemaker sees.
 *
 * The first four are fence_virt's; the rest are ours, so a wrapper can
 * tell "the host refused" from "the host was never reached":
 *
 *   0    success; for status: the domain is on
 *   1    failure (also: bad arguments, as fence_virt)
 *   2    status: the domain is off
 *   3    permission denied by the host's groups
 *   4    unknown target domain (only a v2 host can say so; a stock host
 *        answers 1, or 2 for status)
 *   5    authentication failed: wrong key, key refused, or no key where
 *        the host demands one
 *   6    no answer: port missing or busy, host side not connected, or the
 *        timeout expired before a reply
 *   125  internal error of the agent itself (a bug or a broken system)
 */
#ifndef AGENT_RESULT_H
#define AGENT_RESULT_H

#include "channel.h"

enum agent_exit {
	AGENT_EXIT_OK = 0,
	AGENT_EXIT_FAIL = 1,
	AGENT_EXIT_OFF = 2,
	AGENT_EXIT_DENIED = 3,
	AGENT_EXIT_NOT_FOUND = 4,
	AGENT_EXIT_AUTH = 5,
	AGENT_EXIT_NO_ANSWER = 6,
	AGENT_EXIT_INTERNAL = 125,
};

/* Exit code for a completed exchange (rc == 0) or a failed one (rc < 0). */
int agent_exit_code(int rc, const struct agent_call *c);

/* One line describing the outcome, for stderr; never NULL. */
const char *agent_outcome_text(int rc, const struct agent_call *c,
			       char *buf, size_t len);

#endif /* AGENT_RESULT_H */
