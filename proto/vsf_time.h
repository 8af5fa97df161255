/*
 * vsf_time.h - the one clock of every deadline in agent and daemon.
 *
 * CLOCK_MONOTONIC in milliseconds: wall-clock steps (NTP, an admin's
 * `date`) must neither fire nor stretch a fencing timeout.  Cannot fail on
 * Linux, so there is no error return.
 */
#ifndef VSF_TIME_H
#define VSF_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t vsf_monotonic_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif /* VSF_TIME_H */
