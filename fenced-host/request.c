/*
 * request.c - the request pipeline (request.h).  Loop thread only, except
 * run_job() which runs on a worker and touches nothing but its own request
 * and the backend.
 *
 * Objects: a "req" is one submit.  An owner req runs the backend; a
 * duplicate that arrives while its owner runs becomes a waiter on the
 * owner's list and gets the owner's result (v1), or is answered
 * -EINPROGRESS at once (VSF_SUBMIT_IN_PROGRESS: v2).  Every req has a
 * deadline timer of its own.  An owner lives until its backend job
 * finishes (the backend call cannot be abandoned); a waiter lives until
 * it is answered.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "request.h"

/* Requests for one target, in arrival order; the head is running. */
struct target {
	char name[VSF_DOMAIN_LEN];
	struct vsf_req *head, *tail;
	struct target *next;
};

struct vsf_pipeline {
	struct vsf_pipeline_cfg cfg;
	struct vsf_history *hist;
	struct target *targets;		/* targets with queued requests */
	uint64_t next_id;
	unsigned int inflight;
	bool freeing;
};

struct vsf_req {
	struct vsf_job job;		/* first: workers hand it back */
	struct vsf_pipeline *p;
	uint64_t id;
	struct vsf_peer peer;
	int op;
	char target[VSF_DOMAIN_LEN];
	uint32_t seqno;
	unsigned int flags;		/* enum vsf_submit_flags */
	uint64_t start_ms, deadline_ms;
	vsf_reply_fn *fn;		/* NULL once detached */
	void *ctx;
	bool answered;
	bool running;			/* backend job submitted, not done */
	int rc;				/* backend result, set by run_job */
	struct vsf_hostlist hl;
	uint64_t timer;
	struct vsf_history_entry *hent;
	struct vsf_req *owner;		/* set on waiters */
	struct vsf_req *waiters;	/* on owners */
	struct vsf_req *next;		/* in a target queue or waiter list */
	struct target *tq;
};

uint8_t vsf_v1_result(int op, int rc)
{
	if (rc == 0 || rc == VSF_BACKEND_OFF)
		return (uint8_t)rc;
	if (rc == -EACCES)
		return VSF_RESULT_DENIED;
	if (rc == -ENOENT && op == VSF_OP_STATUS)
		return VSF_RESULT_OFF;	/* stock: unknown domain = off */
	return VSF_RESULT_FAIL;
}

/* @buf (caller's, >= 32 bytes) is used only for a positive @rc. */
static const char *rc_text(int rc, char *buf, size_t len)
{
	if (rc == 0)
		return "ok";
	if (rc == VSF_BACKEND_OFF)
		return "off";
	if (rc < 0)
		return strerror(-rc);
	snprintf(buf, len, "result %d", rc);
	return buf;
}

static bool is_fence_action(int op)
{
	return op == VSF_OP_OFF || op == VSF_OP_ON || op == VSF_OP_REBOOT;
}

struct vsf_pipeline *vsf_pipeline_new(const struct vsf_pipeline_cfg *cfg)
{
	struct vsf_pipeline *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->hist = vsf_history_new(cfg->history_ms,
				  cfg->history_cap ? cfg->history_cap : 1024);
	if (!p->hist) {
		free(p);
		return NULL;
	}
	return p;
}

static void req_free(struct vsf_req *req)
{
	if (req->timer)
		(void)vsf_loop_del_timer(req->p->cfg.loop, req->timer);
	vsf_hostlist_done(&req->hl);
	free(req);
}

/* Keep only the host list entries @req's source may see. */
static void filter_hostlist(struct vsf_req *req, struct vsf_hostlist *out)
{
	const struct vsf_acl *acl = req->p->cfg.acl;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < req->hl.n; i++) {
		const struct vsf_host_record *r = &req->hl.recs[i];

		if (!acl || vsf_acl_may_list(acl, req->peer.src, r->name,
					     r->uuid))
			(void)vsf_hostlist_add(out, r->name, r->uuid,
					       r->state);
	}
}

/* Answer one req (owner or waiter) once. */
static void answer(struct vsf_req *req, int rc, const struct vsf_req *from)
{
	struct vsf_hostlist hl = { 0 };

	if (req->answered)
		return;
	req->answered = true;
	if (!req->fn)
		return;
	if (req->op == VSF_OP_HOSTLIST && rc == 0) {
		req->hl = from->hl;	/* borrow for filtering */
		filter_hostlist(req, &hl);
		if (req != from)
			memset(&req->hl, 0, sizeof(req->hl));
	}
	req->fn(req->ctx, req, rc, &hl);
	vsf_hostlist_done(&hl);
}

static void unlink_waiter(struct vsf_req *w)
{
	struct vsf_req **pp;

	for (pp = &w->owner->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
}

static void on_deadline(struct vsf_loop *loop, uint64_t id, void *data)
{
	struct vsf_req *req = data;
	struct vsf_pipeline *p = req->p;

	(void)loop;
	(void)id;
	req->timer = 0;
	if (!req->answered)
		vsf_logf(p->cfg.log, LOG_WARNING,
			 "request #%llu from %s: %s %s: no result after %llu "
			 "ms, answering failure",
			 (unsigned long long)req->id, req->peer.desc,
			 vsf_op_name(req->op), req->target,
			 (unsigned long long)p->cfg.timeout_ms);
	answer(req, -ETIMEDOUT, req);
	if (req->owner) {
		unlink_waiter(req);
		req_free(req);
	}
}

static void run_job(struct vsf_job *job)
{
	struct vsf_req *req = (struct vsf_req *)job;
	struct vsf_backend *b = req->p->cfg.backend;

	if (req->op == VSF_OP_HOSTLIST)
		req->rc = b->ops->hostlist(b, &req->hl, req->deadline_ms);
	else
		req->rc = b->ops->power(b, req->op, req->target,
					req->deadline_ms);
}

static void job_done(struct vsf_job *job);

static void start(struct vsf_req *req)
{
	if (req->p->freeing)
		return;	/* shutting down: vsf_pipeline_free() frees it */
	req->running = true;
	req->p->inflight++;
	req->job.run = run_job;
	req->job.done = job_done;
	vsf_workers_submit(req->p->cfg.workers, &req->job);
}

static struct target *target_get(struct vsf_pipeline *p, const char *name,
				 bool create)
{
	struct target *t;

	for (t = p->targets; t; t = t->next)
		if (!strcasecmp(t->name, name))
			return t;
	if (!create || !(t = calloc(1, sizeof(*t))))
		return NULL;
	vsf_strlcpy(t->name, name, sizeof(t->name));
	t->next = p->targets;
	p->targets = t;
	return t;
}

static void skip_expired(struct vsf_req *req)
{
	struct vsf_pipeline *p = req->p;

	vsf_logf(p->cfg.log, LOG_WARNING,
		 "request #%llu from %s: %s %s expired while queued behind "
		 "another request for the same domain, not run",
		 (unsigned long long)req->id, req->peer.desc,
		 vsf_op_name(req->op), req->target);
	if (req->hent)
		vsf_history_done(req->hent, -ETIMEDOUT,
				 vsf_loop_now(p->cfg.loop));
	while (req->waiters) {
		struct vsf_req *w = req->waiters;

		req->waiters = w->next;
		answer(w, -ETIMEDOUT, req);
		req_free(w);
	}
	req_free(req);
}

/* The head finished: start the next live request for this target. */
static void target_pop(struct vsf_pipeline *p, struct target *t)
{
	struct target **pp;

	t->head = t->head->next;
	while (t->head && t->head->answered) {
		struct vsf_req *dead = t->head;

		t->head = dead->next;
		skip_expired(dead);
	}
	if (t->head) {
		start(t->head);
		return;
	}
	for (pp = &p->targets; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	free(t);
}

static void log_result(struct vsf_req *req, int rc)
{
	struct vsf_pipeline *p = req->p;
	uint64_t ms = vsf_loop_now(p->cfg.loop) - req->start_ms;
	int prio = is_fence_action(req->op) ? LOG_NOTICE : LOG_INFO;
	char buf[32];

	vsf_logf(p->cfg.log, prio,
		 "request #%llu from %s: %s %s -> %s (%llu ms)",
		 (unsigned long long)req->id, req->peer.desc,
		 vsf_op_name(req->op), req->target[0] ? req->target : "-",
		 rc_text(rc, buf, sizeof(buf)), (unsigned long long)ms);
}

static void job_done(struct vsf_job *job)
{
	struct vsf_req *req = (struct vsf_req *)job;
	struct vsf_pipeline *p = req->p;
	int rc = job->cancelled ? -ECANCELED : req->rc;

	req->running = false;
	p->inflight--;
	log_result(req, rc);
	if (req->hent)
		vsf_history_done(req->hent, rc, vsf_loop_now(p->cfg.loop));
	answer(req, rc, req);
	while (req->waiters) {
		struct vsf_req *w = req->waiters;

		req->waiters = w->next;
		answer(w, rc, req);
		req_free(w);
	}
	if (req->tq)
		target_pop(p, req->tq);
	req_free(req);
}

/* Synchronous answer for requests that never reach the backend. */
static struct vsf_req *answer_now(struct vsf_req *req, int rc)
{
	answer(req, rc, req);
	req_free(req);
	return NULL;
}

enum { DEDUPE_NEW, DEDUPE_ANSWERED, DEDUPE_WAITING };

static int dedupe(struct vsf_req *req)
{
	struct vsf_pipeline *p = req->p;
	uint64_t now = vsf_loop_now(p->cfg.loop);
	struct vsf_history_entry *e;

	e = vsf_history_find(p->hist, req->peer.src, req->op, req->seqno,
			     req->target, now);
	if (!e) {
		req->hent = vsf_history_add(p->hist, req->peer.src, req->op,
					    req->seqno, req->target, req, now);
		return DEDUPE_NEW;
	}
	vsf_logf(p->cfg.log, LOG_INFO,
		 "request #%llu from %s: %s %s seqno %u is a retransmit, "
		 "%s", (unsigned long long)req->id, req->peer.desc,
		 vsf_op_name(req->op), req->target, req->seqno,
		 !e->pending ? "answering the cached result"
		 : req->flags & VSF_SUBMIT_IN_PROGRESS
			     ? "answering in progress"
			     : "joining the running request");
	if (!e->pending || req->flags & VSF_SUBMIT_IN_PROGRESS) {
		answer_now(req, e->pending ? -EINPROGRESS : e->result);
		return DEDUPE_ANSWERED;
	}
	req->owner = e->owner;
	req->next = req->owner->waiters;
	req->owner->waiters = req;
	req->timer = vsf_loop_add_timer(p->cfg.loop, p->cfg.timeout_ms,
					on_deadline, NULL, req);
	return DEDUPE_WAITING;
}

static struct vsf_req *req_new(struct vsf_pipeline *p,
			       const struct vsf_peer *peer, int op,
			       const char *target, uint32_t seqno,
			       unsigned int flags, vsf_reply_fn *fn, void *ctx)
{
	struct vsf_req *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	req->p = p;
	req->id = ++p->next_id;
	req->peer = *peer;
	req->op = op;
	vsf_strlcpy(req->target, target ? target : "", sizeof(req->target));
	req->seqno = seqno;
	req->flags = flags;
	req->fn = fn;
	req->ctx = ctx;
	req->start_ms = vsf_loop_now(p->cfg.loop);
	req->deadline_ms = vsf_now_ms() + p->cfg.timeout_ms;
	return req;
}

static bool needs_acl(int op)
{
	return is_fence_action(op) || op == VSF_OP_STATUS;
}

struct vsf_req *vsf_pipeline_submit(struct vsf_pipeline *p,
				    const struct vsf_peer *peer, int op,
				    const char *target, uint32_t seqno,
				    unsigned int flags,
				    vsf_reply_fn *fn, void *ctx)
{
	struct vsf_req *req = req_new(p, peer, op, target, seqno, flags, fn,
				      ctx);
	struct target *t;

	if (!req) {
		fn(ctx, NULL, -ENOMEM, NULL);
		return NULL;
	}
	/*
	 * Stopping: nothing new starts.  A request that started nothing is
	 * on no list vsf_pipeline_free() walks (a HOSTLIST never is), so it
	 * is answered and freed here.
	 */
	if (p->freeing)
		return answer_now(req, -ECANCELED);
	if (op == VSF_OP_NULL)
		return answer_now(req, -EOPNOTSUPP);	/* stock: 1 */
	if (op == VSF_OP_DEVSTATUS)
		return answer_now(req, 0);
	if (op != VSF_OP_HOSTLIST && !vsf_op_needs_domain(op))
		return answer_now(req, -EOPNOTSUPP);
	if (needs_acl(op) && p->cfg.acl &&
	    vsf_acl_check(p->cfg.acl, peer->src, req->target) < 0) {
		vsf_logf(p->cfg.log, LOG_WARNING,
			 "request #%llu from %s (source %s): %s %s denied by "
			 "groups", (unsigned long long)req->id, peer->desc,
			 peer->src, vsf_op_name(op), req->target);
		return answer_now(req, -EACCES);
	}
	if (op != VSF_OP_HOSTLIST) {
		switch (dedupe(req)) {
		case DEDUPE_ANSWERED:
			return NULL;
		case DEDUPE_WAITING:
			return req;
		}
	}
	req->timer = vsf_loop_add_timer(p->cfg.loop, p->cfg.timeout_ms,
					on_deadline, NULL, req);
	if (op == VSF_OP_HOSTLIST) {
		start(req);
		return req;
	}
	t = target_get(p, req->target, true);
	if (!t) {
		if (req->hent)
			vsf_history_done(req->hent, -ENOMEM, req->start_ms);
		return answer_now(req, -ENOMEM);
	}
	req->tq = t;
	if (t->tail)
		t->tail->next = req;
	else
		t->head = req;
	t->tail = req;
	if (t->head == req)
		start(req);
	return req;
}

void vsf_req_detach(struct vsf_req *req)
{
	if (req)
		req->fn = NULL;
}

uint64_t vsf_req_id(const struct vsf_req *req)
{
	return req ? req->id : 0;
}

int vsf_req_op(const struct vsf_req *req)
{
	return req ? req->op : -1;
}

uint32_t vsf_req_seqno(const struct vsf_req *req)
{
	return req ? req->seqno : 0;
}

void vsf_pipeline_stop(struct vsf_pipeline *p)
{
	p->freeing = true;
}

unsigned int vsf_pipeline_inflight(const struct vsf_pipeline *p)
{
	return p->inflight;
}

struct vsf_pipeline *vsf_pipeline_free(struct vsf_pipeline *p)
{
	if (!p)
		return NULL;
	/*
	 * Running requests belong to the workers, whose done() still uses
	 * the pipeline: callers free the workers first, then us.  What is
	 * left is only requests queued behind them.
	 */
	while (p->targets) {
		struct target *t = p->targets;

		p->targets = t->next;
		while (t->head) {
			struct vsf_req *req = t->head;

			t->head = req->next;
			while (req->waiters) {
				struct vsf_req *w = req->waiters;

				req->waiters = w->next;
				req_free(w);
			}
			req_free(req);
		}
		free(t);
	}
	vsf_history_free(p->hist);
	free(p);
	return NULL;
}
