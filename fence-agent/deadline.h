/*
 * deadline.h - monotonic milliseconds for "timeout bounds the whole call".
 *
 * main() computes one absolute deadline from `timeout` and hands it down;
 * every wait below (open retries, poll, the host's reply) is bounded by
 * what is left of it, so no single step can stretch the call.
 */
#ifndef AGENT_DEADLINE_H
#define AGENT_DEADLINE_H

#include <stdint.h>

#include "vsf_time.h"

static inline int64_t agent_now_ms(void)
{
	return (int64_t)vsf_monotonic_ms();
}

/* Milliseconds left before @deadline, clamped to [0, INT32_MAX] for poll. */
static inline int agent_ms_left(int64_t deadline)
{
	int64_t left = deadline - agent_now_ms();

	if (left < 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

#endif /* AGENT_DEADLINE_H */
