/*
 * fake_backend.h - an in-memory backend for unit tests: domains with a
 * state, a per-call delay, injected failures and concurrency counters.
 */
#ifndef VSF_FAKE_BACKEND_H
#define VSF_FAKE_BACKEND_H

#include <pthread.h>

#include "backend.h"

#define FAKE_MAX_VMS 16

struct fake_vm {
	char name[64];
	char uuid[40];
	int running;
	int calls;		/* power() calls that reached this VM */
	int active;		/* calls running on it now */
};

struct fake_backend {
	struct vsf_backend base;	/* first */
	pthread_mutex_t lock;		/* protects everything below */
	struct fake_vm vms[FAKE_MAX_VMS];
	int nvms;
	unsigned int delay_ms;		/* every call sleeps this long */
	int fail_rc;			/* nonzero: every power() returns it */
	int active, max_active;		/* concurrent calls now / at most */
	int max_same;			/* most concurrent calls on one VM */
	int total_calls;
};

void fake_backend_init(struct fake_backend *fb);
void fake_backend_add(struct fake_backend *fb, const char *name,
		      const char *uuid, int running);
struct fake_vm *fake_backend_vm(struct fake_backend *fb, const char *name);

#endif /* VSF_FAKE_BACKEND_H */
