/*
 * backend.h - what acts on domains: libvirt in production, a fake in tests.
 *
 * Contract.  The pipeline (request.h) never calls a backend from the loop
 * thread: every power/hostlist call runs on a worker thread (workers.h), so
 * a backend MAY block, up to the @deadline_ms it is given (CLOCK_MONOTONIC
 * ms; vsf_now_ms()).  Calls for the same target are never concurrent; calls
 * for different targets are, so a backend must be thread-safe across
 * targets.  open/close run on the main thread with no worker active.
 *
 * Return values of power(): 0 = done (STATUS: on), VSF_BACKEND_OFF = STATUS
 * off, or a negative errno: -ENOENT no such domain, -ETIMEDOUT the deadline
 * passed, -EOPNOTSUPP op not supported, -EIO/-ECONNREFUSED etc. for other
 * failures.  The pipeline turns these into wire results, once, per protocol.
 *
 * Logging.  A backend does not log what the pipeline logs (every request
 * it hands over).  It may log what only it sees, e.g. the cpg backend
 * acting for another host, through the logger vsf_backend_set_log() gave
 * it, from any of its threads (vsf_logf() is thread-safe).  Without one it
 * stays silent.
 */
#ifndef VSF_BACKEND_H
#define VSF_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "vsf_wire.h"

#define VSF_BACKEND_OPS_V1 1
#define VSF_BACKEND_OFF 2	/* STATUS result: the domain is off */

struct vsf_backend;
struct vsf_log;

/* A host list, owned by whoever holds it; free with vsf_hostlist_done(). */
struct vsf_hostlist {
	struct vsf_host_record *recs;
	size_t n;
};

int vsf_hostlist_add(struct vsf_hostlist *hl, const char *name,
		     const char *uuid, uint8_t state);
void vsf_hostlist_sort(struct vsf_hostlist *hl);	/* by name */
void vsf_hostlist_done(struct vsf_hostlist *hl);

struct vsf_backend_ops {
	unsigned int version;	/* VSF_BACKEND_OPS_V1; new members at the end */
	const char *name;	/* "libvirt", "fake" */
	/* Main thread.  Fills @err on failure (<0), or with a warning when
	 * it returns 1: started, but the hypervisor is not reachable yet. */
	int (*open)(struct vsf_backend *b, const struct vsf_conf_node *cfg,
		    char *err, size_t errlen);
	void (*close)(struct vsf_backend *b);
	/* Worker threads.  @op is OFF, ON, REBOOT or STATUS. */
	int (*power)(struct vsf_backend *b, int op, const char *target,
		     uint64_t deadline_ms);
	/* Worker threads.  All domains, sorted by name. */
	int (*hostlist)(struct vsf_backend *b, struct vsf_hostlist *out,
			uint64_t deadline_ms);
};

/* Implementations embed this as their first member. */
struct vsf_backend {
	const struct vsf_backend_ops *ops;
	const struct vsf_log *log;	/* NULL: silent */
};

/* CLOCK_MONOTONIC in ms, the clock of every deadline above. */
uint64_t vsf_now_ms(void);

/* Static table of compiled-in backends; NULL if unknown. */
struct vsf_backend *vsf_backend_new(const char *name);
struct vsf_backend *vsf_backend_free(struct vsf_backend *b);

/* Main thread, before open(); @log must outlive the backend. */
void vsf_backend_set_log(struct vsf_backend *b, const struct vsf_log *log);

#endif /* VSF_BACKEND_H */
