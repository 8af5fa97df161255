/*
 * backend_cpg.c - the "cpg" backend: worker threads <-> one CPG thread.
 *
 * Call lifetime: power() allocates a call, queues it and waits.  The CPG
 * thread submits it to the route and, when the route answers (exactly
 * once: result, deadline, disconnect or shutdown), finishes it.  If the
 * worker gave up first it marked the call abandoned, and whoever finishes
 * an abandoned call frees it.  Both sides touch the flags only under lock.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backend_cpg.h"
#include "chan_watch.h"
#include "log.h"
#include "util.h"
#include "vsf_cpg.h"

#define SLACK_MS 500		/* the route answers at the deadline itself */
#define RETRY_MS 1000		/* corosync not reachable: try again */

enum call_kind { CALL_POWER, CALL_EXEC_DONE, CALL_EVENT };

struct call {
	enum call_kind kind;
	int op, state, rc;
	char target[VSF_CPG_NAME_MAX + 1];	/* POWER target / EVENT name */
	uint8_t uuid[VSF_CPG_UUID_LEN];		/* EVENT */
	uint64_t deadline;			/* POWER */
	uint64_t id;		/* POWER: route id; EXEC_DONE: handle */
	bool finished, abandoned;		/* under cb->lock */
	pthread_cond_t cond;			/* POWER */
	struct call *next;
};

struct cpg_backend {
	struct vsf_backend base;		/* first */
	struct vsf_backend *local;
	char *uri;
	char group[128];
	uint64_t grace_ms;
	pthread_t thread;
	bool started;
	int efd;
	pthread_mutex_t lock;	/* protects queue, stop, nexec, call flags */
	pthread_cond_t idle;	/* nexec reached 0 */
	struct call *queue;
	bool stop;
	int nexec;		/* owner actions still running */
	/* CPG thread only: */
	struct vsf_cpg *cpg;
	struct chan_watch *watch;
	struct call *waiting;	/* POWER calls the route holds */
	uint8_t (*scan)[VSF_CPG_UUID_LEN];	/* running before SCAN_BEGIN */
	size_t nscan;
};

struct exec_arg {
	struct cpg_backend *cb;
	uint64_t handle, deadline, start;
	uint32_t from;		/* the requester's node id */
	int op;
	char target[VSF_CPG_NAME_MAX + 1];
};

static struct cpg_backend *to_cpg(struct vsf_backend *b)
{
	return (struct cpg_backend *)b;
}

static void wake(struct cpg_backend *cb)
{
	uint64_t one = 1;

	(void)!write(cb->efd, &one, sizeof(one));
}

static void push(struct cpg_backend *cb, struct call *c)
{
	struct call **p;

	pthread_mutex_lock(&cb->lock);
	for (p = &cb->queue; *p; p = &(*p)->next)
		;
	c->next = NULL;
	*p = c;
	pthread_mutex_unlock(&cb->lock);
	wake(cb);
}

static void call_free(struct call *c)
{
	if (c->kind == CALL_POWER)
		pthread_cond_destroy(&c->cond);
	free(c);
}

/* Hand a POWER result to its worker, or free it if the worker left. */
static void finish(struct cpg_backend *cb, struct call *c, int rc)
{
	bool gone;

	pthread_mutex_lock(&cb->lock);
	gone = c->abandoned;
	c->finished = true;
	c->rc = rc;
	if (!gone)
		pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&cb->lock);
	if (gone)
		call_free(c);
}

/*
 * The owner's audit line, as request.c's for requests from channels: no
 * pipeline sees an action done for another host, so without it the admin
 * of the host whose domain was destroyed only has libvirt's event.  A
 * failure is the same line at WARNING.  Any thread.
 */
static void log_exec(struct cpg_backend *cb, const struct exec_arg *a,
		     int rc)
{
	bool fence = a->op == VSF_OP_OFF || a->op == VSF_OP_ON ||
		     a->op == VSF_OP_REBOOT;
	int prio = rc < 0 ? LOG_WARNING : fence ? LOG_NOTICE : LOG_INFO;
	char buf[128];
	const char *res = buf;

	if (rc == 0)
		res = "ok";
	else if (rc == VSF_BACKEND_OFF)
		res = "off";
	else if (rc < 0)
		res = strerror_r(-rc, buf, sizeof(buf));	/* GNU */
	else
		snprintf(buf, sizeof(buf), "result %d", rc);
	vsf_logf(cb->base.log, prio,
		 "cpg request from node %u: %s %s -> %s (%llu ms)",
		 (unsigned)a->from, vsf_op_name(a->op), a->target, res,
		 (unsigned long long)(vsf_now_ms() - a->start));
}

/* ---- route callbacks (CPG thread) ---- */

static void *exec_main(void *arg)
{
	struct exec_arg *a = arg;
	struct cpg_backend *cb = a->cb;
	struct call *c = calloc(1, sizeof(*c));
	int rc = cb->local->ops->power(cb->local, a->op, a->target,
				       a->deadline);

	log_exec(cb, a, rc);
	if (c) {
		c->kind = CALL_EXEC_DONE;
		c->id = a->handle;
		c->rc = rc;
		push(cb, c);
	}	/* else the requester times out: never a guess */
	free(a);
	pthread_mutex_lock(&cb->lock);
	if (--cb->nexec == 0)
		pthread_cond_broadcast(&cb->idle);
	pthread_mutex_unlock(&cb->lock);
	return NULL;
}

static void on_exec(void *ctx, uint64_t handle, int op, const char *target,
		    uint64_t deadline)
{
	struct cpg_backend *cb = ctx;
	struct exec_arg *a = calloc(1, sizeof(*a));
	struct exec_arg me = {
		.cb = cb, .handle = handle, .deadline = deadline,
		.start = vsf_now_ms(), .op = op,
		.from = vsf_cpg_route_exec_from(vsf_cpg_route(cb->cpg), handle),
	};
	pthread_attr_t at;
	pthread_t t;
	int r = a ? 0 : ENOMEM;

	vsf_strlcpy(me.target, target, sizeof(me.target));
	if (a) {
		*a = me;
		pthread_mutex_lock(&cb->lock);
		cb->nexec++;
		pthread_mutex_unlock(&cb->lock);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&t, &at, exec_main, a);
		pthread_attr_destroy(&at);
	}
	if (r) {
		if (a) {
			pthread_mutex_lock(&cb->lock);
			cb->nexec--;
			pthread_mutex_unlock(&cb->lock);
		}
		free(a);
		log_exec(cb, &me, -r);	/* refused: could not act at all */
		vsf_cpg_route_exec_done(vsf_cpg_route(cb->cpg), handle, -r);
	}
}

static void on_done(void *ctx, uint64_t id, int rc)
{
	struct cpg_backend *cb = ctx;

	for (struct call **p = &cb->waiting; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			struct call *c = *p;

			*p = c->next;
			finish(cb, c, rc);
			return;
		}
}

/* ---- the CPG thread ---- */

static void handle_call(struct cpg_backend *cb, struct call *c)
{
	struct vsf_cpg_route *r = cb->cpg ? vsf_cpg_route(cb->cpg) : NULL;
	uint64_t now = vsf_now_ms();
	int64_t id;

	switch (c->kind) {
	case CALL_POWER:
		if (!r || c->deadline <= now) {
			finish(cb, c, r ? -ETIMEDOUT : -EAGAIN);
			return;
		}
		id = vsf_cpg_route_submit(r, c->op, c->target,
					  (uint32_t)(c->deadline - now), now);
		if (id < 0) {
			finish(cb, c, (int)id);
			return;
		}
		c->id = (uint64_t)id;
		c->next = cb->waiting;
		cb->waiting = c;
		return;
	case CALL_EXEC_DONE:
		if (r)
			vsf_cpg_route_exec_done(r, c->id, c->rc);
		break;
	case CALL_EVENT:
		if (r)
			(void)vsf_cpg_route_local(r, c->uuid, c->target,
						  c->state, now);
		break;
	}
	free(c);
}

static void take_calls(struct cpg_backend *cb)
{
	struct call *c, *next;
	uint64_t v;

	(void)!read(cb->efd, &v, sizeof(v));
	pthread_mutex_lock(&cb->lock);
	c = cb->queue;
	cb->queue = NULL;
	pthread_mutex_unlock(&cb->lock);
	for (; c; c = next) {
		next = c->next;
		handle_call(cb, c);
	}
}

/* Our RUNNING domains that a libvirt rescan did not list are off. */
static void scan_begin(struct cpg_backend *cb, struct vsf_cpg_map *m)
{
	size_t n = vsf_cpg_map_count(m);

	free(cb->scan);
	cb->nscan = 0;
	cb->scan = calloc(n ? n : 1, sizeof(*cb->scan));
	for (size_t i = 0; cb->scan && i < n; i++) {
		const struct vsf_cpg_entry *e = vsf_cpg_map_at(m, i);

		if (e->owner == vsf_cpg_map_self(m) &&
		    e->state == VSF_CPG_DOM_RUNNING)
			memcpy(cb->scan[cb->nscan++], e->uuid,
			       VSF_CPG_UUID_LEN);
	}
}

static void scan_seen(struct cpg_backend *cb, const uint8_t *uuid)
{
	for (size_t i = 0; i < cb->nscan; i++)
		if (memcmp(cb->scan[i], uuid, VSF_CPG_UUID_LEN) == 0) {
			memcpy(cb->scan[i], cb->scan[--cb->nscan],
			       VSF_CPG_UUID_LEN);
			return;
		}
}

static void scan_end(struct cpg_backend *cb, struct vsf_cpg_route *r)
{
	struct vsf_cpg_map *m = vsf_cpg_route_map(r);

	for (size_t k = 0; k < cb->nscan; k++)
		for (size_t i = 0; i < vsf_cpg_map_count(m); i++) {
			struct vsf_cpg_entry e = *vsf_cpg_map_at(m, i);

			if (e.owner == vsf_cpg_map_self(m) &&
			    memcmp(e.uuid, cb->scan[k], VSF_CPG_UUID_LEN) == 0) {
				(void)vsf_cpg_route_local(r, e.uuid, e.name,
							  VSF_CPG_DOM_OFF,
							  vsf_now_ms());
				break;
			}
		}
	cb->nscan = 0;
}

static void watch_msg(struct cpg_backend *cb, const struct chan_msg *m)
{
	struct vsf_cpg_route *r = vsf_cpg_route(cb->cpg);
	uint8_t u[VSF_CPG_UUID_LEN];
	bool up = m->type == CHAN_MSG_UP;

	switch (m->type) {
	case CHAN_MSG_SCAN_BEGIN:
		scan_begin(cb, vsf_cpg_route_map(r));
		return;
	case CHAN_MSG_SCAN_END:
		scan_end(cb, r);
		return;
	case CHAN_MSG_UP:
	case CHAN_MSG_DOWN:
		if (vsf_cpg_uuid_parse(m->uuid, u) < 0 ||
		    vsf_cpg_name_check(m->name) < 0)
			return;	/* a name we cannot carry: not fenceable */
		if (up)
			scan_seen(cb, u);
		(void)vsf_cpg_route_local(r, u, m->name,
					  up ? VSF_CPG_DOM_RUNNING
					     : VSF_CPG_DOM_OFF, vsf_now_ms());
		return;
	case CHAN_MSG_LOST:
		return;	/* libvirt away: keep our claims, actions will fail */
	}
}

static void take_watch(struct cpg_backend *cb)
{
	struct chan_msg *m = chan_watch_take(cb->watch), *next;

	for (; m; m = next) {
		next = m->next;
		m->next = NULL;
		if (cb->cpg)
			watch_msg(cb, m);
		chan_msg_free(m);
	}
}

static bool stopping(struct cpg_backend *cb)
{
	bool s;

	pthread_mutex_lock(&cb->lock);
	s = cb->stop;
	pthread_mutex_unlock(&cb->lock);
	return s;
}

/* (Re)start the libvirt watcher: its first scan restates every domain. */
static void restart_watch(struct cpg_backend *cb)
{
	static const struct vsf_chan_select none;

	if (strcmp(cb->local->ops->name, "libvirt") != 0)
		return;
	if (cb->watch)
		cb->watch = chan_watch_stop(cb->watch);
	cb->watch = chan_watch_start(cb->uri, &none);
}

static void try_connect(struct cpg_backend *cb)
{
	struct vsf_cpg_cfg cfg = {
		.group = cb->group[0] ? cb->group : NULL,
		.grace_ms = cb->grace_ms,
		.ctx = cb,
		.exec = on_exec,
		.done = on_done,
	};
	char err[256];

	cb->cpg = vsf_cpg_new(&cfg, err, sizeof(err));
	if (cb->cpg)
		restart_watch(cb);
}

static int poll_timeout(struct cpg_backend *cb)
{
	uint64_t next, now = vsf_now_ms();

	if (!cb->cpg)
		return RETRY_MS;
	next = vsf_cpg_next(cb->cpg);
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void *cpg_main(void *arg)
{
	struct cpg_backend *cb = arg;

	while (!stopping(cb)) {
		struct pollfd p[3];

		if (!cb->cpg)
			try_connect(cb);
		/* after connecting: a just-made connection must be watched */
		p[0] = (struct pollfd){ cb->efd, POLLIN, 0 };
		p[1] = (struct pollfd){ cb->cpg ? vsf_cpg_fd(cb->cpg) : -1,
					POLLIN, 0 };
		p[2] = (struct pollfd){ cb->watch ? chan_watch_fd(cb->watch)
						  : -1, POLLIN, 0 };
		(void)poll(p, 3, poll_timeout(cb));
		if (cb->cpg)
			vsf_cpg_dispatch(cb->cpg);
		if (p[2].revents)
			take_watch(cb);
		if (p[0].revents)
			take_calls(cb);
	}
	return NULL;
}

/* ---- backend ops ---- */

static int parse_ms(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * A second URI (uri1...) is refused: the map carries this host's domains
 * and the host-fencing argument covers only those, while a second URI may
 * well name another machine's libvirt (docs/cluster.md).
 */
static const struct vsf_conf_node *extra_uri(const struct vsf_conf_node *cfg)
{
	for (const struct vsf_conf_node *n = cfg ? cfg->child : NULL; n;
	     n = n->next)
		if (!strncasecmp(n->name, "uri", 3) && n->name[3])
			return n;
	return NULL;
}

static int cpg_open(struct vsf_backend *b, const struct vsf_conf_node *cfg,
		    char *err, size_t errlen)
{
	struct cpg_backend *cb = to_cpg(b);
	const char *g = vsf_conf_get(cfg, "group");
	const struct vsf_conf_node *x = extra_uri(cfg);
	int r;

	if (x) {
		snprintf(err, errlen, "backends/cpg: %s is not supported: the "
			 "cpg backend takes one libvirt URI, this host's own "
			 "(uri)", x->name);
		return -EINVAL;
	}
	if (parse_ms(vsf_conf_get(cfg, "grace_ms"), &cb->grace_ms) < 0) {
		snprintf(err, errlen, "backends/cpg: grace_ms '%s' is not a "
			 "number of milliseconds",
			 vsf_conf_get(cfg, "grace_ms"));
		return -EINVAL;
	}
	if (g && (strlen(g) >= sizeof(cb->group) || !g[0])) {
		snprintf(err, errlen, "backends/cpg: bad group '%s'", g);
		return -EINVAL;
	}
	if (g)
		vsf_strlcpy(cb->group, g, sizeof(cb->group));
	if (vsf_conf_get(cfg, "uri") &&
	    !(cb->uri = strdup(vsf_conf_get(cfg, "uri"))))
		return -ENOMEM;
	r = cb->local->ops->open ? cb->local->ops->open(cb->local, cfg, err,
							  errlen) : 0;
	if (r < 0)
		return r;
	if (pthread_create(&cb->thread, NULL, cpg_main, cb) != 0) {
		snprintf(err, errlen, "backends/cpg: cannot start its thread");
		return -EAGAIN;
	}
	cb->started = true;
	return r;
}

/*
 * Everything goes here, because vsf_backend_free() calls close() and then
 * just free()s the struct: stop the thread, let owner actions finish,
 * leave the group (the route cancels waiters), fail what is still queued,
 * free the local backend.  Idempotent.
 */
static void cpg_close(struct vsf_backend *b)
{
	struct cpg_backend *cb = to_cpg(b);

	if (cb->efd < 0)
		return;
	if (cb->started) {
		pthread_mutex_lock(&cb->lock);
		cb->stop = true;
		pthread_mutex_unlock(&cb->lock);
		wake(cb);
		pthread_join(cb->thread, NULL);
		cb->started = false;
	}
	pthread_mutex_lock(&cb->lock);
	while (cb->nexec > 0)
		pthread_cond_wait(&cb->idle, &cb->lock);
	pthread_mutex_unlock(&cb->lock);
	cb->watch = cb->watch ? chan_watch_stop(cb->watch) : NULL;
	cb->cpg = vsf_cpg_free(cb->cpg);
	take_calls(cb);
	cb->local = vsf_backend_free(cb->local);
	free(cb->uri);
	free(cb->scan);
	cb->uri = NULL;
	cb->scan = NULL;
	close(cb->efd);
	cb->efd = -1;
	pthread_mutex_destroy(&cb->lock);
	pthread_cond_destroy(&cb->idle);
}

static int cpg_power(struct vsf_backend *b, int op, const char *target,
		     uint64_t deadline_ms)
{
	struct cpg_backend *cb = to_cpg(b);
	struct call *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	struct timespec ts;
	uint64_t until = deadline_ms + SLACK_MS;
	int rc;

	if (!c)
		return -ENOMEM;
	if (vsf_cpg_name_check(target) < 0) {
		free(c);
		return -ENOENT;	/* cannot be a domain any host reports */
	}
	c->kind = CALL_POWER;
	c->op = op;
	c->deadline = deadline_ms;
	vsf_strlcpy(c->target, target, sizeof(c->target));
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	push(cb, c);
	ts.tv_sec = (time_t)(until / 1000);
	ts.tv_nsec = (long)(until % 1000) * 1000000L;
	pthread_mutex_lock(&cb->lock);
	while (!c->finished &&
	       pthread_cond_timedwait(&c->cond, &cb->lock, &ts) != ETIMEDOUT)
		;
	rc = c->finished ? c->rc : -ETIMEDOUT;
	c->abandoned = !c->finished;
	pthread_mutex_unlock(&cb->lock);
	if (!c->abandoned)
		call_free(c);
	return rc;
}

static int cpg_hostlist(struct vsf_backend *b, struct vsf_hostlist *out,
			uint64_t deadline_ms)
{
	struct cpg_backend *cb = to_cpg(b);

	return cb->local->ops->hostlist(cb->local, out, deadline_ms);
}

static const struct vsf_backend_ops cpg_ops = {
	.version = VSF_BACKEND_OPS_V1,
	.name = "cpg",
	.open = cpg_open,
	.close = cpg_close,
	.power = cpg_power,
	.hostlist = cpg_hostlist,
};

struct vsf_backend *vsf_cpg_backend_new(struct vsf_backend *local)
{
	struct cpg_backend *cb;

	if (!local)
		return NULL;
	cb = calloc(1, sizeof(*cb));
	if (!cb) {
		vsf_backend_free(local);
		return NULL;
	}
	cb->base.ops = &cpg_ops;
	cb->local = local;
	cb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cb->efd < 0) {
		vsf_backend_free(local);
		free(cb);
		return NULL;
	}
	pthread_mutex_init(&cb->lock, NULL);
	pthread_cond_init(&cb->idle, NULL);
	return &cb->base;
}

int vsf_cpg_backend_event(struct vsf_backend *b, const char *uuid,
			  const char *name, int state)
{
	struct cpg_backend *cb = to_cpg(b);
	struct call *c;

	if (b->ops != &cpg_ops || state < VSF_CPG_DOM_RUNNING ||
	    state > VSF_CPG_DOM_GONE || vsf_cpg_name_check(name) < 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (vsf_cpg_uuid_parse(uuid, c->uuid) < 0) {
		free(c);
		return -EINVAL;
	}
	c->kind = CALL_EVENT;
	c->state = state;
	vsf_strlcpy(c->target, name, sizeof(c->target));
	push(cb, c);
	return 0;
}
