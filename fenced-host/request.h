/*
 * request.h - one request's life, written once for every listener.
 *
 *   listener decodes (and verifies) the frame, names the peer
 *     -> vsf_pipeline_submit()
 *        -> dedupe: the same (source, op, seqno, target) within the history
 *           window is answered with the cached result; while the original
 *           has not finished, a duplicate joins it and gets its result,
 *           or, if submitted with VSF_SUBMIT_IN_PROGRESS (v2), is answered
 *           -EINPROGRESS at once (stock drops duplicates)
 *        -> ACL (groups): OFF/ON/REBOOT/STATUS checked, HOSTLIST filtered,
 *           NULL/DEVSTATUS not checked
 *        -> backend on a worker thread; requests for one target run one at
 *           a time in arrival order, different targets concurrently
 *        -> reply callback on the loop thread, exactly once per submit
 *           (unless the listener detached first)
 *
 * Every OFF/ON/REBOOT leaves one NOTICE line: request id, source, target,
 * op, result and milliseconds; denials are logged as warnings.
 *
 * The reply @rc is the pipeline's result: 0 (STATUS: on), VSF_BACKEND_OFF,
 * or a negative errno (-EACCES denied, -ENOENT no such domain, -ETIMEDOUT
 * deadline passed, others = failure).  Each protocol maps it once:
 * vsf_v1_result() for the stock wire.  For HOSTLIST, @hl holds the records
 * the peer may see (owned by the pipeline, valid during the callback).
 */
#ifndef VSF_REQUEST_H
#define VSF_REQUEST_H

#include <stdint.h>

#include "acl.h"
#include "backend.h"
#include "history.h"
#include "log.h"
#include "loop.h"
#include "workers.h"

/* Who sent a request, as the listener knows it. */
struct vsf_peer {
	char src[VSF_HISTORY_SRC_LEN];	/* ACL identity: domain UUID, IP, CID */
	char desc[128];			/* for logs: "serial:<name> (<path>)" */
};

struct vsf_req;
struct vsf_pipeline;

typedef void vsf_reply_fn(void *ctx, struct vsf_req *req, int rc,
			  const struct vsf_hostlist *hl);

struct vsf_pipeline_cfg {
	struct vsf_loop *loop;
	struct vsf_workers *workers;
	struct vsf_backend *backend;
	const struct vsf_acl *acl;
	const struct vsf_log *log;
	uint64_t timeout_ms;		/* per request, from submit */
	uint64_t history_ms;		/* dedupe window (stock: 10 s) */
	unsigned int history_cap;
};

/* Flags for vsf_pipeline_submit(). */
enum vsf_submit_flags {
	/*
	 * The protocol can say "still running" (v2 IN_PROGRESS, which ends
	 * that attempt; the guest asks again with the same id): answer a
	 * duplicate of an unfinished request -EINPROGRESS now.  Without it
	 * (v1, whose result byte has no such value) the duplicate waits
	 * for the original's result.
	 */
	VSF_SUBMIT_IN_PROGRESS = 1u << 0,
};

struct vsf_pipeline *vsf_pipeline_new(const struct vsf_pipeline_cfg *cfg);
/*
 * Shutdown order: vsf_pipeline_stop() (nothing new starts), free the
 * listeners (they detach), free the workers (running requests finish),
 * then vsf_pipeline_free().
 */
void vsf_pipeline_stop(struct vsf_pipeline *p);
struct vsf_pipeline *vsf_pipeline_free(struct vsf_pipeline *p);

/*
 * Submit a decoded request (@flags: enum vsf_submit_flags).  Returns the
 * request while it is pending, or NULL when @fn was already called
 * (cached, in progress, denied, trivial op, OOM, or -ECANCELED after
 * vsf_pipeline_stop()).  The listener must keep the pointer only to
 * vsf_req_detach() it.
 */
struct vsf_req *vsf_pipeline_submit(struct vsf_pipeline *p,
				    const struct vsf_peer *peer, int op,
				    const char *target, uint32_t seqno,
				    unsigned int flags,
				    vsf_reply_fn *fn, void *ctx);

/* The listener's context is going away: never call its reply function. */
void vsf_req_detach(struct vsf_req *req);

/* Accessors for reply callbacks. */
uint64_t vsf_req_id(const struct vsf_req *req);
int vsf_req_op(const struct vsf_req *req);
uint32_t vsf_req_seqno(const struct vsf_req *req);

/* Requests started and not yet finished by the backend. */
unsigned int vsf_pipeline_inflight(const struct vsf_pipeline *p);

/* The stock one-byte result for @rc of an @op. */
uint8_t vsf_v1_result(int op, int rc);

#endif /* VSF_REQUEST_H */
