/*
 * backend_cpg.h - the "cpg" backend: fence domains wherever they run in a
 * corosync cluster (docs/cluster.md).  It wraps a local backend (libvirt)
 * that acts on this host's domains, and routes every request through the
 * CPG group so that the host running the target acts and answers.
 *
 * Threads.  backend.h calls power()/hostlist() on worker threads and lets
 * them block; the cluster library (cluster/vsf_cpg.h) is single-threaded.
 * So this backend runs one thread of its own that owns the CPG connection:
 * workers hand it requests through a queue + eventfd and wait on a
 * condition variable up to their deadline.  The owner's libvirt action
 * runs on a short-lived thread so the CPG thread never blocks.
 *
 * Config (backends { cpg { ... } }):
 *	uri       libvirt URI of this host (required, as for "libvirt")
 *	grace_ms  LOST-host grace (default "0" = never report a lost host's
 *	          domains off; set it >= the host cluster's fencing time)
 *	group     CPG group (default VSF_CPG_GROUP)
 * hostlist() lists this host's domains only (as stock's cpg backend).
 *
 * Logging (backend.h): with a logger, each request executed here for any
 * node is one line, "cpg request from node N: off NAME -> ok (T ms)",
 * notice (status: info; a failure: warning), logged before the reply.
 */
#ifndef VSF_BACKEND_CPG_H
#define VSF_BACKEND_CPG_H

#include "backend.h"

/*
 * A cpg backend acting locally through @local (owned from now on; freed
 * with the cpg backend).  With @local = the "libvirt" backend, open() also
 * follows libvirt lifecycle events (chan_watch.h) to keep the map.
 */
struct vsf_backend *vsf_cpg_backend_new(struct vsf_backend *local);

/*
 * Feed a lifecycle event by hand (tests, or a host without the libvirt
 * watcher): @state is VSF_CPG_DOM_RUNNING, _OFF or _GONE.  Any thread.
 * 0, -EINVAL (bad UUID/name/state), -ENOMEM.
 */
int vsf_cpg_backend_event(struct vsf_backend *b, const char *uuid,
			  const char *name, int state);

#endif /* VSF_BACKEND_CPG_H */
