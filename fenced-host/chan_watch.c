/*
 * chan_watch.c - see chan_watch.h.  Thread-side state (conn, callback ids)
 * is touched only by the watcher thread; the queue and the stop flag are
 * shared under @lock.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "chan_watch.h"
#include "util.h"

#define MAX_NAMES 16
#define MAX_RECHECKS 1024	/* queued at once; more wait for a rescan */

struct recheck {
	char uuid[40];
	struct recheck *next;
};

struct chan_watch {
	char *uri;
	struct vsf_chan_select sel;
	char *path;
	char *names[MAX_NAMES + 1];
	int efd;
	pthread_t thread;
	pthread_mutex_t lock;	/* protects head, tail, rechecks, stop */
	pthread_cond_t cond;	/* signalled on stop */
	struct chan_msg *head, **tail;
	struct recheck *rechecks;	/* newest first */
	unsigned int nrechecks;
	bool stop;
	/* watcher thread only */
	virConnectPtr conn;
	bool lost;
};

static bool stopping(struct chan_watch *w)
{
	bool s;

	pthread_mutex_lock(&w->lock);
	s = w->stop;
	pthread_mutex_unlock(&w->lock);
	return s;
}

static void post(struct chan_watch *w, struct chan_msg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	m->next = NULL;
	*w->tail = m;
	w->tail = &m->next;
	pthread_mutex_unlock(&w->lock);
	(void)!write(w->efd, &one, sizeof(one));
}

static void post_simple(struct chan_watch *w, enum chan_msg_type type,
			const char *text)
{
	struct chan_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return;
	m->type = type;
	if (text)
		vsf_strlcpy(m->text, text, sizeof(m->text));
	post(w, m);
}

static void post_domain(struct chan_watch *w, virDomainPtr d,
			enum chan_msg_type type, bool recheck)
{
	struct chan_msg *m = calloc(1, sizeof(*m));
	const char *name = virDomainGetName(d);
	char *xml;

	if (!m)
		return;
	m->type = type;
	m->recheck = recheck;
	(void)virDomainGetUUIDString(d, m->uuid);
	vsf_strlcpy(m->name, name ? name : "?", sizeof(m->name));
	if (type == CHAN_MSG_UP) {
		xml = virDomainGetXMLDesc(d, 0);
		if (!xml || vsf_chan_xml_scan(xml, strlen(xml), &w->sel,
					      &m->socks) < 0)
			m->partial = true;
		free(xml);
	}
	post(w, m);
}

static int on_lifecycle(virConnectPtr c, virDomainPtr d, int event,
			int detail, void *opaque)
{
	struct chan_watch *w = opaque;

	(void)c;
	(void)detail;
	if (event == VIR_DOMAIN_EVENT_STARTED)
		post_domain(w, d, CHAN_MSG_UP, false);
	else if (event == VIR_DOMAIN_EVENT_STOPPED)
		post_domain(w, d, CHAN_MSG_DOWN, false);
	return 0;
}

/*
 * One queued recheck.  Only libvirt's own "no such domain" makes it DOWN:
 * any other failure is the connection's, and the rescan after the
 * reconnect answers for every domain.
 */
static void recheck_one(struct chan_watch *w, const char *uuid)
{
	virDomainPtr d = virDomainLookupByUUIDString(w->conn, uuid);
	struct chan_msg *m;
	virErrorPtr e;
	int active;

	if (!d) {
		e = virGetLastError();
		if (!e || e->code != VIR_ERR_NO_DOMAIN ||
		    !(m = calloc(1, sizeof(*m))))
			return;
		m->type = CHAN_MSG_DOWN;
		vsf_strlcpy(m->uuid, uuid, sizeof(m->uuid));
		post(w, m);
		return;
	}
	active = virDomainIsActive(d);
	if (active == 1)
		post_domain(w, d, CHAN_MSG_UP, true);
	else if (active == 0)
		post_domain(w, d, CHAN_MSG_DOWN, true);
	virDomainFree(d);
}

static struct recheck *take_rechecks(struct chan_watch *w)
{
	struct recheck *list;

	pthread_mutex_lock(&w->lock);
	list = w->rechecks;
	w->rechecks = NULL;
	w->nrechecks = 0;
	pthread_mutex_unlock(&w->lock);
	return list;
}

static void run_rechecks(struct chan_watch *w)
{
	struct recheck *r = take_rechecks(w);

	while (r) {
		struct recheck *next = r->next;

		if (!w->lost)
			recheck_one(w, r->uuid);
		free(r);
		r = next;
	}
}

void chan_watch_recheck(struct chan_watch *w, const char *uuid)
{
	struct recheck *r;

	pthread_mutex_lock(&w->lock);
	for (r = w->rechecks; r; r = r->next)
		if (!strcmp(r->uuid, uuid))
			break;
	if (!r && w->nrechecks < MAX_RECHECKS &&
	    (r = calloc(1, sizeof(*r)))) {
		vsf_strlcpy(r->uuid, uuid, sizeof(r->uuid));
		r->next = w->rechecks;
		w->rechecks = r;
		w->nrechecks++;
	}
	pthread_mutex_unlock(&w->lock);
}

static void on_close(virConnectPtr c, int reason, void *opaque)
{
	struct chan_watch *w = opaque;

	(void)c;
	(void)reason;
	w->lost = true;
}

static void on_tick(int timer, void *opaque)
{
	struct chan_watch *w = opaque;

	(void)timer;
	if (w->conn && virConnectIsAlive(w->conn) != 1)
		w->lost = true;
	run_rechecks(w);
}

static void scan(struct chan_watch *w)
{
	virDomainPtr *doms = NULL;
	int n;

	post_simple(w, CHAN_MSG_SCAN_BEGIN, NULL);
	n = virConnectListAllDomains(w->conn, &doms,
				     VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	for (int i = 0; i < n; i++) {
		post_domain(w, doms[i], CHAN_MSG_UP, false);
		virDomainFree(doms[i]);
	}
	free(doms);
	if (n < 0)
		w->lost = true;
	else
		post_simple(w, CHAN_MSG_SCAN_END, NULL);
}

/*
 * Sleep up to @ms, waking early on stop.  The condition variable runs on
 * CLOCK_MONOTONIC (chan_watch_start): on CLOCK_REALTIME, a clock stepped
 * back by an hour (NTP at boot) would hold off the reconnect for an hour.
 */
static void backoff_wait(struct chan_watch *w, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->stop &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&w->lock);
}

/* One connected session: until the connection drops or we stop. */
static void session(struct chan_watch *w)
{
	int cb, tick;

	w->lost = false;
	(void)virConnectSetKeepAlive(w->conn, 5, 5);	/* test:/// lacks it */
	(void)virConnectRegisterCloseCallback(w->conn, on_close, w, NULL);
	cb = virConnectDomainEventRegisterAny(w->conn, NULL,
				VIR_DOMAIN_EVENT_ID_LIFECYCLE,
				VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), w, NULL);
	tick = virEventAddTimeout(500, on_tick, w, NULL);
	scan(w);
	while (!w->lost && !stopping(w))
		if (virEventRunDefaultImpl() < 0)
			break;
	if (tick >= 0)
		virEventRemoveTimeout(tick);
	if (cb >= 0)
		(void)virConnectDomainEventDeregisterAny(w->conn, cb);
	(void)virConnectUnregisterCloseCallback(w->conn, on_close);
}

static void *watch_main(void *arg)
{
	struct chan_watch *w = arg;
	unsigned int backoff = 0;
	char text[200];

	while (!stopping(w)) {
		w->conn = virConnectOpen(w->uri);
		if (w->conn) {
			backoff = 0;
			session(w);
			virConnectClose(w->conn);
			w->conn = NULL;
			if (stopping(w))
				break;
			snprintf(text, sizeof(text),
				 "libvirt connection to '%s' lost",
				 w->uri ? w->uri : "(default)");
		} else {
			virErrorPtr e = virGetLastError();

			snprintf(text, sizeof(text),
				 "cannot connect to libvirt '%s': %s",
				 w->uri ? w->uri : "(default)",
				 e && e->message ? e->message : "?");
		}
		backoff = backoff ? backoff * 2 : 500;
		if (backoff > 10000)
			backoff = 10000;
		post_simple(w, CHAN_MSG_LOST, text);
		backoff_wait(w, backoff);
	}
	return NULL;
}

static void watch_free(struct chan_watch *w)
{
	struct recheck *r = w->rechecks;

	while (r) {
		struct recheck *next = r->next;

		free(r);
		r = next;
	}
	chan_msg_free(w->head);
	if (w->efd >= 0)
		close(w->efd);
	for (int i = 0; w->names[i]; i++)
		free(w->names[i]);
	free(w->path);
	free(w->uri);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

static int copy_select(struct chan_watch *w, const struct vsf_chan_select *sel)
{
	w->sel = *sel;
	if (sel->path && !(w->path = strdup(sel->path)))
		return -ENOMEM;
	w->sel.path = w->path;
	for (int i = 0; sel->names && sel->names[i] && i < MAX_NAMES; i++)
		if (!(w->names[i] = strdup(sel->names[i])))
			return -ENOMEM;
	w->sel.names = (const char *const *)w->names;
	return 0;
}

struct chan_watch *chan_watch_start(const char *uri,
				    const struct vsf_chan_select *sel)
{
	struct chan_watch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	w->tail = &w->head;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0 || (uri && !(w->uri = strdup(uri))) ||
	    copy_select(w, sel) < 0) {
		watch_free(w);
		return NULL;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&w->thread, NULL, watch_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		watch_free(w);
		return NULL;
	}
	return w;
}

int chan_watch_fd(const struct chan_watch *w)
{
	return w->efd;
}

struct chan_msg *chan_watch_take(struct chan_watch *w)
{
	struct chan_msg *m;
	uint64_t v;

	(void)!read(w->efd, &v, sizeof(v));
	pthread_mutex_lock(&w->lock);
	m = w->head;
	w->head = NULL;
	w->tail = &w->head;
	pthread_mutex_unlock(&w->lock);
	return m;
}

void chan_msg_free(struct chan_msg *m)
{
	while (m) {
		struct chan_msg *next = m->next;

		vsf_chan_socks_done(&m->socks);
		free(m);
		m = next;
	}
}

struct chan_watch *chan_watch_stop(struct chan_watch *w)
{
	if (!w)
		return NULL;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);	/* on_tick wakes the libvirt loop */
	watch_free(w);
	return NULL;
}
