/*
 * fake_backend.h - an in-memory backend for unit tests: domains with a
 * state, a per-call delay, injected failures and concurrency counters.
 */
#ifndef VSF_FAKE_BACKEND_H
#define VSF_FAKE_BACKEND_H

#include <pthread.h>
#include <stdio.h>

#include "acl.h"
#include "backend.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "request.h"
#include "workers.h"

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

/*
 * A request pipeline on the fake backend, as vserial-fenced wires it: the
 * loop, 4 workers, the groups of @groups (config text, or NULL for none),
 * and a log kept in memory (logbuf, after fflush(logf)).  The backend starts
 * with no domains: add them with fake_backend_add(&rig->fb, ...).
 */
struct fake_rig {
	struct vsf_loop *loop;
	struct vsf_workers *workers;
	struct fake_backend fb;
	struct vsf_acl acl;
	struct vsf_log log;
	struct vsf_pipeline *p;
	struct vsf_conf_node *conf;	/* parsed @groups */
	char *logbuf;
	size_t loglen;
	FILE *logf;
};

/* 0, or a negative errno (a bad @groups text: -EINVAL). */
int fake_rig_up(struct fake_rig *r, const char *groups, uint64_t timeout_ms);
void fake_rig_down(struct fake_rig *r);

#endif /* VSF_FAKE_BACKEND_H */
