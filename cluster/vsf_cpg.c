/*
 * vsf_cpg.c - libcpg/libquorum adapter: handles, fds, callbacks, reconnect.
 * Everything with a decision in it lives in vsf_cpg_route.c.
 */
#define _GNU_SOURCE
#include "vsf_cpg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <corosync/quorum.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define OUTBOX_MAX 512		/* messages waiting for corosync */
#define FLUSH_RETRY_MS 20	/* corosync said "try again" */

/* A message the route sent from inside a callback, or that corosync
 * refused for now (CS_ERR_TRY_AGAIN): sent after dispatch, in order. */
struct outmsg {
	struct outmsg *next;
	size_t len;
	uint8_t buf[];
};

struct vsf_cpg {
	struct vsf_cpg_cfg cfg;
	struct cpg_name group;
	struct vsf_cpg_route *route;
	int epfd;
	cpg_handle_t cpg;		/* 0 while disconnected */
	quorum_handle_t quorum;		/* 0 while disconnected */
	int cpg_fd, quorum_fd;
	uint32_t nodeid;
	uint32_t pid;
	bool broken;			/* a send saw a dead handle */
	bool in_dispatch;		/* inside cpg/quorum_dispatch */
	struct outmsg *out, **out_tail;	/* FIFO, flushed after dispatch */
	unsigned int nout;
	uint64_t flush_at;		/* 0: nothing refused */
	uint64_t backoff;
	uint64_t reconnect_at;		/* 0 while connected */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t vsf_cpg_now(const struct vsf_cpg *c)
{
	return c->cfg.now ? c->cfg.now(c->cfg.ctx) : mono_ms();
}

static void event(struct vsf_cpg *c, int ev, uint32_t a, uint32_t b)
{
	if (c->cfg.event)
		c->cfg.event(c->cfg.ctx, ev, a, b);
}

static bool handle_dead(cs_error_t e)
{
	return e == CS_ERR_LIBRARY || e == CS_ERR_BAD_HANDLE ||
	       e == CS_ERR_NOT_EXIST;
}

static int mcast(struct vsf_cpg *c, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	cs_error_t e = cpg_mcast_joined(c->cpg, CPG_TYPE_AGREED, &iov, 1);

	if (e == CS_OK)
		return 0;
	if (handle_dead(e)) {
		c->broken = true;	/* dispatch() reconnects */
		return -ENOTCONN;
	}
	return e == CS_ERR_TRY_AGAIN ? -EAGAIN : -EIO;
}

static void outbox_clear(struct vsf_cpg *c)
{
	while (c->out) {
		struct outmsg *m = c->out;

		c->out = m->next;
		free(m);
	}
	c->out_tail = &c->out;
	c->nout = 0;
	c->flush_at = 0;
}

/* Send what waits, in order; stop at the first refusal. */
static void outbox_flush(struct vsf_cpg *c, uint64_t now)
{
	while (c->out && c->cpg && !c->broken) {
		struct outmsg *m = c->out;
		int rc = mcast(c, m->buf, m->len);

		if (rc == -EAGAIN) {
			c->flush_at = now + FLUSH_RETRY_MS;
			return;
		}
		/* sent, or failed for good: a lost reply is a timeout */
		c->out = m->next;
		if (!c->out)
			c->out_tail = &c->out;
		c->nout--;
		free(m);
	}
	c->flush_at = 0;
}

/*
 * Messages the route sends from inside a libcpg callback wait until
 * dispatch returns (callbacks stay short and never re-enter libcpg), and
 * a CS_ERR_TRY_AGAIN (corosync flow control, or a sync in progress) is
 * queued and retried, never dropped: a dropped REPLY would cost the
 * requester its whole timeout.
 */
static int route_send(void *ctx, const void *buf, size_t len)
{
	struct vsf_cpg *c = ctx;
	struct outmsg *m;
	int rc;

	if (!c->cpg || c->broken)
		return -ENOTCONN;
	if (!c->in_dispatch && !c->out) {
		rc = mcast(c, buf, len);
		if (rc != -EAGAIN)
			return rc;
	}
	if (c->nout == OUTBOX_MAX)
		return -EAGAIN;
	m = malloc(sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	memcpy(m->buf, buf, len);
	*c->out_tail = m;
	c->out_tail = &m->next;
	c->nout++;
	if (!c->in_dispatch && !c->flush_at)
		c->flush_at = vsf_cpg_now(c) + FLUSH_RETRY_MS;
	return 0;
}

/* The route calls us with our own context; the user wants theirs. */
static void route_exec(void *ctx, uint64_t handle, int op, const char *target,
		       uint64_t deadline)
{
	struct vsf_cpg *c = ctx;

	c->cfg.exec(c->cfg.ctx, handle, op, target, deadline);
}

static void route_done(void *ctx, uint64_t id, int rc)
{
	struct vsf_cpg *c = ctx;

	c->cfg.done(c->cfg.ctx, id, rc);
}

static struct vsf_cpg *from_cpg(cpg_handle_t h)
{
	void *ctx = NULL;

	(void)cpg_context_get(h, &ctx);
	return ctx;
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *group,
		       uint32_t nodeid, uint32_t pid, void *msg, size_t len)
{
	struct vsf_cpg *c = from_cpg(h);

	(void)group;
	(void)pid;
	/* A malformed message is dropped; the sender's requests time out. */
	(void)vsf_cpg_route_deliver(c->route, nodeid, msg, len,
				    vsf_cpg_now(c));
}

/* Our own process: same node id and our pid (a second daemon is not us). */
static bool is_self(const struct vsf_cpg *c, const struct cpg_address *a)
{
	return a->nodeid == c->nodeid && a->pid == c->pid;
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *group,
		       const struct cpg_address *mem, size_t nmem,
		       const struct cpg_address *left, size_t nleft,
		       const struct cpg_address *joined, size_t njoined)
{
	struct vsf_cpg *c = from_cpg(h);
	uint32_t m[VSF_CPG_NODES_MAX], j[VSF_CPG_NODES_MAX];
	struct vsf_cpg_left l[VSF_CPG_NODES_MAX];
	size_t nm = 0, nj = 0, nl = 0;

	(void)group;
	for (size_t i = 0; i < nmem && nm < VSF_CPG_NODES_MAX; i++)
		m[nm++] = mem[i].nodeid;
	for (size_t i = 0; i < njoined && nj < VSF_CPG_NODES_MAX; i++) {
		j[nj++] = joined[i].nodeid;
		event(c, is_self(c, &joined[i]) ? VSF_CPG_EV_UP
						: VSF_CPG_EV_JOINED,
		      joined[i].nodeid, 0);
	}
	for (size_t i = 0; i < nleft && nl < VSF_CPG_NODES_MAX; i++) {
		if (left[i].nodeid == c->nodeid)
			continue;
		l[nl].nodeid = left[i].nodeid;
		l[nl].crashed = left[i].reason == CPG_REASON_NODEDOWN;
		event(c, VSF_CPG_EV_LEFT, l[nl].nodeid, l[nl].crashed);
		nl++;
	}
	vsf_cpg_route_confchg(c->route, m, nm, l, nl, j, nj, vsf_cpg_now(c));
	event(c, VSF_CPG_EV_MEMBERS, (uint32_t)nm, 0);
}

static void on_quorum(quorum_handle_t h, uint32_t quorate, uint64_t seq,
		      uint32_t n, uint32_t *view)
{
	void *ctx = NULL;
	struct vsf_cpg *c;

	(void)seq;
	(void)n;
	(void)view;
	(void)quorum_context_get(h, (const void **)&ctx);
	c = ctx;
	vsf_cpg_route_quorum(c->route, quorate != 0, vsf_cpg_now(c));
	event(c, VSF_CPG_EV_QUORUM, quorate != 0, 0);
}

static void close_handles(struct vsf_cpg *c)
{
	if (c->cpg) {
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->cpg_fd, NULL);
		(void)cpg_finalize(c->cpg);
	}
	if (c->quorum) {
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->quorum_fd, NULL);
		(void)quorum_finalize(c->quorum);
	}
	c->cpg = 0;
	c->quorum = 0;
	c->broken = false;
	outbox_clear(c);
}

static int watch(struct vsf_cpg *c, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int open_quorum(struct vsf_cpg *c, char *err, size_t errlen)
{
	quorum_callbacks_t qcb = { .quorum_notify_fn = on_quorum };
	uint32_t type;
	cs_error_t e = quorum_initialize(&c->quorum, &qcb, &type);

	if (e != CS_OK) {
		c->quorum = 0;
		snprintf(err, errlen, "quorum_initialize: cs_error %d", e);
		return -ENOTCONN;
	}
	(void)quorum_context_set(c->quorum, c);
	e = quorum_trackstart(c->quorum, CS_TRACK_CHANGES | CS_TRACK_CURRENT);
	if (e == CS_OK)
		e = quorum_fd_get(c->quorum, &c->quorum_fd);
	if (e != CS_OK || watch(c, c->quorum_fd) < 0) {
		snprintf(err, errlen, "quorum tracking: cs_error %d", e);
		return -ENOTCONN;
	}
	return 0;
}

static int open_cpg(struct vsf_cpg *c, char *err, size_t errlen)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = on_deliver,
		.cpg_confchg_fn = on_confchg,
	};
	unsigned int nodeid;
	cs_error_t e = cpg_model_initialize(&c->cpg, CPG_MODEL_V1,
					    (cpg_model_data_t *)&model, c);

	if (e != CS_OK) {
		c->cpg = 0;
		snprintf(err, errlen,
			 "cpg_initialize: cs_error %d (is corosync running?)", e);
		return -ENOTCONN;
	}
	e = cpg_local_get(c->cpg, &nodeid);
	if (e == CS_OK && c->nodeid && nodeid != c->nodeid) {
		snprintf(err, errlen, "node id changed from %u to %u",
			 c->nodeid, nodeid);
		return -EINVAL;	/* our map is keyed by the old id */
	}
	c->nodeid = nodeid;
	if (e == CS_OK)
		e = cpg_fd_get(c->cpg, &c->cpg_fd);
	if (e == CS_OK)
		e = cpg_join(c->cpg, &c->group);
	if (e != CS_OK || watch(c, c->cpg_fd) < 0) {
		snprintf(err, errlen, "cpg_join '%s': cs_error %d",
			 c->group.value, e);
		return -ENOTCONN;
	}
	return 0;
}

static int connect_all(struct vsf_cpg *c, char *err, size_t errlen)
{
	int rc = open_cpg(c, err, errlen);

	if (rc == 0)
		rc = open_quorum(c, err, errlen);
	if (rc < 0)
		close_handles(c);
	return rc;
}

static void go_down(struct vsf_cpg *c, int why, uint64_t now)
{
	close_handles(c);
	vsf_cpg_route_disconnected(c->route);
	c->reconnect_at = now + c->backoff;
	event(c, VSF_CPG_EV_DOWN, (uint32_t)why, 0);
}

static void try_reconnect(struct vsf_cpg *c, uint64_t now)
{
	char err[128];

	if (connect_all(c, err, sizeof(err)) == 0) {
		c->reconnect_at = 0;
		c->backoff = BACKOFF_MIN_MS;
		return;
	}
	c->backoff = c->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
						      : c->backoff * 2;
	c->reconnect_at = now + c->backoff;
}

struct vsf_cpg *vsf_cpg_new(const struct vsf_cpg_cfg *cfg, char *err,
			    size_t errlen)
{
	struct vsf_cpg *c = calloc(1, sizeof(*c));
	const char *g = cfg->group ? cfg->group : VSF_CPG_GROUP;
	struct vsf_cpg_route_cfg rc = { 0 };
	uint64_t id = 0;

	if (!c || strlen(g) >= sizeof(c->group.value)) {
		snprintf(err, errlen, "out of memory or group name too long");
		free(c);
		return NULL;
	}
	c->cfg = *cfg;
	c->group.length = (uint32_t)strlen(g);
	memcpy(c->group.value, g, c->group.length);
	c->pid = (uint32_t)getpid();
	c->out_tail = &c->out;
	c->backoff = BACKOFF_MIN_MS;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0 || connect_all(c, err, errlen) < 0)
		return vsf_cpg_free(c);
	/* Ids must not repeat across restarts: replies may still be in flight. */
	(void)getrandom(&id, sizeof(id), 0);
	rc.self = c->nodeid;
	rc.grace_ms = cfg->grace_ms;
	rc.first_id = (id >> 16) | 1;
	rc.cb = (struct vsf_cpg_route_cb){ c, route_send, route_exec,
					   route_done };
	c->route = vsf_cpg_route_new(&rc);
	if (!c->route) {
		snprintf(err, errlen, "out of memory");
		return vsf_cpg_free(c);
	}
	return c;
}

struct vsf_cpg *vsf_cpg_free(struct vsf_cpg *c)
{
	if (!c)
		return NULL;
	close_handles(c);
	vsf_cpg_route_free(c->route);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
	return NULL;
}

int vsf_cpg_fd(const struct vsf_cpg *c)
{
	return c->epfd;
}

struct vsf_cpg_route *vsf_cpg_route(struct vsf_cpg *c)
{
	return c->route;
}

uint32_t vsf_cpg_nodeid(const struct vsf_cpg *c)
{
	return c->nodeid;
}

static void dispatch_ready(struct vsf_cpg *c, uint64_t now)
{
	struct epoll_event evs[2];
	int n = epoll_wait(c->epfd, evs, 2, 0);
	cs_error_t e = CS_OK;

	c->in_dispatch = true;
	for (int i = 0; i < n && e == CS_OK && c->cpg; i++) {
		if (evs[i].data.fd == c->cpg_fd)
			e = cpg_dispatch(c->cpg, CS_DISPATCH_ALL);
		else if (evs[i].data.fd == c->quorum_fd)
			e = quorum_dispatch(c->quorum, CS_DISPATCH_ALL);
		if (e == CS_ERR_TRY_AGAIN)
			e = CS_OK;
	}
	c->in_dispatch = false;
	if (e == CS_OK)
		outbox_flush(c, now);
	if (e != CS_OK || c->broken)
		go_down(c, e != CS_OK ? (int)e : CS_ERR_LIBRARY, now);
}

void vsf_cpg_dispatch(struct vsf_cpg *c)
{
	uint64_t now = vsf_cpg_now(c);

	if (c->cpg)
		dispatch_ready(c, now);
	else if (now >= c->reconnect_at)
		try_reconnect(c, now);
	if (c->cpg && c->flush_at && now >= c->flush_at)
		outbox_flush(c, now);
	vsf_cpg_route_tick(c->route, vsf_cpg_now(c));
}

uint64_t vsf_cpg_next(const struct vsf_cpg *c)
{
	uint64_t t = vsf_cpg_route_next(c->route);

	if (c->broken)
		return 0;
	if (!c->cpg && c->reconnect_at < t)
		t = c->reconnect_at;
	if (c->flush_at && c->flush_at < t)
		t = c->flush_at;
	return t;
}
